"""Random liquidation events for the live/watch tests (reproducible by seed)."""

from __future__ import annotations

import random
from decimal import Decimal

from liqcli.model import Event, default_usd

EXCHANGES = ("binance", "bybit")


def random_events(
    seed: int, n: int, *, newest: int, span_ms: int, symbol: str = "BTCUSDT",
    exchanges: tuple[str, ...] = EXCHANGES,
) -> list[Event]:
    """``n`` events of ``symbol`` with times in ``[newest - span_ms, newest]``, ids ``seed-i``."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        price = Decimal(rng.randint(20_000, 110_000)) + Decimal(rng.randint(0, 99)) / 100
        qty = Decimal(rng.randint(1, 10**8)) / 10**8
        events.append(Event(
            exchange=rng.choice(exchanges), symbol=symbol, side=rng.choice(("LONG", "SHORT")),
            price=price, qty=qty, usd=default_usd(price, qty),
            ts_ms=newest - rng.randint(0, span_ms), id=f"{seed}-{i}",
        ))
    return events


SPLIT_FIGURES = ("events", "usd", "qty", "long_events", "long_usd", "long_qty",
                 "short_events", "short_usd", "short_qty")


def side_split(events: list[Event]) -> dict[str, object]:
    """Events, usd and qty in total and per side, recomputed with Decimal (a history bucket's
    or a levels band's figures)."""
    from decimal import localcontext

    out: dict[str, object] = dict.fromkeys(SPLIT_FIGURES, 0)
    with localcontext() as ctx:
        ctx.prec = 100
        for e in events:
            side = e.side.lower()
            for prefix in ("", f"{side}_"):
                out[f"{prefix}events"] += 1  # type: ignore[operator]
                out[f"{prefix}usd"] += e.usd  # type: ignore[operator]
                out[f"{prefix}qty"] += e.qty  # type: ignore[operator]
    return out


def log_keys(store: object, symbol: str, events: list[Event],
             keep_hour: int | None = None) -> list[str]:
    """The log keys (day, hour and slot logs) that can hold ``events``, except those of
    ``keep_hour`` (tests delete them to show what a read does not need)."""
    key = store.key  # type: ignore[attr-defined]
    names: set[str] = set()
    for e in events:
        hour = e.ts_ms // 3_600_000
        if hour == keep_hour:
            continue
        names |= {f"lh:{hour}", f"ls:{e.ts_ms // 600_000}"}
        if keep_hour is None or hour // 24 != keep_hour // 24:
            names.add(f"ld:{hour // 24}")
    return [key(symbol, name) for name in sorted(names)]


def distinct_ids(events: list[Event]) -> list[Event]:
    """``events`` without a later event reusing the exchange, symbol and id of an earlier,
    different one: which of two such events a store keeps is its own choice (it orders a
    batch by time), so property tests only replay identical events."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for e in events:
        if e.id:
            key = (e.exchange, e.symbol, e.id)
            if key in seen:
                continue
            seen.add(key)
        out.append(e)
    return out
