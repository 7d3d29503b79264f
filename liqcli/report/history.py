"""``history``: a regular time series of exact figures per UTC-aligned bucket.

Buckets are whole: the window is widened to bucket boundaries (``--since`` rounded down,
``--until`` — default now — rounded up), every bucket of it is present (empty ones as zeros),
and each bucket's figures come from the store's rollups (``Store.bucket_rollups``): when the
interval is a multiple of the 10-minute slot, rollups and only the small day and hour logs of
sparse periods, never a slot log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Protocol

from liqcli.errors import UsageError
from liqcli.model import split_symbol
from liqcli.report.core import DEFAULT_SYMBOL, normalize_exchanges, resolve_symbols
from liqcli.report.stats import SideSplit
from liqcli.store.rollup import Rollup

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# Bucket lengths; ``1w`` buckets start on Monday 00:00 UTC (1970-01-05 is a Monday).
INTERVALS: dict[str, int] = {
    "1m": MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS, "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS, "4h": 4 * HOUR_MS, "1d": DAY_MS, "1w": WEEK_MS,
}
WEEK_ORIGIN_MS = 4 * DAY_MS
DEFAULT_INTERVAL = "1h"
DEFAULT_SPAN_MS = 24 * HOUR_MS  # the window without --since: the last 24 hours
MAX_BUCKETS = 100_000  # per symbol (and exchange): a larger series is a usage error
_WIDE = Context(prec=100)
_ZERO = Decimal(0)


class BucketSource(Protocol):
    """What history needs from a store (``liqcli.store.Store`` is one)."""

    def bucket_rollups(self, symbol: str, bounds: Sequence[int]) -> list[Rollup]: ...

    def symbols(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class HistoryBucket(SideSplit):
    """Figures of one bucket ``[start_ms, end_ms)`` of one symbol (and exchange, with
    ``by="exchange"``; else ``exchange`` is None: every exchange of the filter). ``qty`` is in
    the symbol's base asset (never summed across symbols)."""

    start_ms: int
    end_ms: int
    symbol: str
    exchange: str | None


@dataclass(frozen=True, slots=True)
class History:
    """A time series: every bucket of ``[since_ms, until_ms)`` for every symbol (and exchange).

    ``since_ms``/``until_ms`` are the bucket-aligned window. Buckets are ordered by symbol (as
    asked; ``--all-symbols``: by name), then exchange (by name), then time. ``multi``: a report
    over several symbols (each bucket row names its symbol). ``by``: ``"exchange"`` or None.
    """

    interval: str
    interval_ms: int
    symbols: tuple[str, ...]
    multi: bool
    by: str | None
    exchange_filter: tuple[str, ...]
    since_ms: int
    until_ms: int
    buckets: tuple[HistoryBucket, ...]

    @property
    def base(self) -> str | None:
        """The base asset of the symbols when they share one, else None."""
        bases = {split_symbol(symbol)[0] for symbol in self.symbols}
        return bases.pop() if len(bases) == 1 else None

    @property
    def events(self) -> int:
        return sum(bucket.events for bucket in self.buckets)


def check_interval(interval: str) -> int:
    """The bucket length in ms of ``interval`` (UsageError for an unknown one)."""
    try:
        return INTERVALS[interval]
    except KeyError:
        raise UsageError(
            f"--interval: {interval!r} is not one of {', '.join(INTERVALS)}"
        ) from None


def align_down(ms: int, step: int) -> int:
    """The start of the UTC-aligned bucket holding ``ms`` (weeks start on Monday)."""
    origin = WEEK_ORIGIN_MS if step == WEEK_MS else 0
    return origin + (ms - origin) // step * step


def history_window(
    interval: str, since_ms: int | None, until_ms: int | None, now_ms: int
) -> tuple[int, int]:
    """The bucket-aligned window ``[since, until)`` of a history request (checked: at most
    MAX_BUCKETS buckets). Without ``since`` the window covers the last 24 hours of ``until``
    (default ``now_ms``)."""
    step = check_interval(interval)
    end = now_ms if until_ms is None else until_ms
    start = end - DEFAULT_SPAN_MS if since_ms is None else since_ms
    if start >= end:
        raise UsageError("--since must be before --until")
    lo = align_down(start, step)
    hi = align_down(end, step)
    if hi < end:
        hi += step
    count = (hi - lo) // step
    if count > MAX_BUCKETS:
        raise UsageError(
            f"{count:,} buckets of {interval} is more than {MAX_BUCKETS:,}: use a larger "
            "--interval or a shorter window"
        )
    return lo, hi


def compute_history(
    store: BucketSource,
    symbols: str | Iterable[str] | None = DEFAULT_SYMBOL,
    *,
    interval: str = DEFAULT_INTERVAL,
    since_ms: int | None = None,
    until_ms: int | None = None,
    exchanges: Iterable[str] | None = None,
    all_symbols: bool = False,
    by_exchange: bool = False,
    now_ms: int | None = None,
) -> History:
    """The exact series of ``symbols`` (or every symbol) per ``interval`` bucket.

    Bad names, intervals and windows raise UsageError before any store access. One symbol
    costs two Redis round trips whatever the number of buckets (``Store.bucket_rollups``).
    """
    if now_ms is None:
        from liqcli.report.timeparse import now_ms as current_ms

        now_ms = current_ms()
    step = check_interval(interval)
    lo, hi = history_window(interval, since_ms, until_ms, now_ms)
    wanted = normalize_exchanges(exchanges)
    names, multi = resolve_symbols(store, symbols, all_symbols)
    bounds = list(range(lo, hi + 1, step))
    buckets: list[HistoryBucket] = []
    for name in names:
        rollups = store.bucket_rollups(name, bounds)
        buckets += _symbol_buckets(name, rollups, wanted, by_exchange)
    return History(
        interval=interval, interval_ms=step, symbols=names, multi=multi,
        by="exchange" if by_exchange else None, exchange_filter=wanted,
        since_ms=lo, until_ms=hi, buckets=tuple(buckets),
    )


def _symbol_buckets(
    symbol: str, rollups: Sequence[Rollup], wanted: tuple[str, ...], by_exchange: bool
) -> list[HistoryBucket]:
    if not by_exchange:
        return [_bucket(symbol, None, r, wanted) for r in rollups]
    exchanges = wanted or tuple(sorted({
        exchange for r in rollups for (exchange, _), cell in r.cells.items() if cell.events
    }))
    return [
        _bucket(symbol, exchange, r, (exchange,)) for exchange in exchanges for r in rollups
    ]


def _bucket(
    symbol: str, exchange: str | None, rollup: Rollup, wanted: tuple[str, ...]
) -> HistoryBucket:
    events = {"LONG": 0, "SHORT": 0}
    usd = {"LONG": _ZERO, "SHORT": _ZERO}
    qty = {"LONG": _ZERO, "SHORT": _ZERO}
    for (name, side), cell in rollup.cells.items():
        if wanted and name not in wanted:
            continue
        events[side] += cell.events
        usd[side] = _WIDE.add(usd[side], cell.usd)
        qty[side] = _WIDE.add(qty[side], cell.qty)
    assert rollup.since_ms is not None and rollup.until_ms is not None
    return HistoryBucket(
        start_ms=rollup.since_ms, end_ms=rollup.until_ms, symbol=symbol, exchange=exchange,
        events=events["LONG"] + events["SHORT"],
        usd=_WIDE.add(usd["LONG"], usd["SHORT"]),
        qty=_WIDE.add(qty["LONG"], qty["SHORT"]),
        long_events=events["LONG"], long_usd=usd["LONG"], long_qty=qty["LONG"],
        short_events=events["SHORT"], short_usd=usd["SHORT"], short_qty=qty["SHORT"],
    )
