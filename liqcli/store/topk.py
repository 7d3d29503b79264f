"""The largest single liquidations: the read side of the top-K sets (``Store.top_events``).

Layout (written by the top-K block of ``ingest.lua``, atomically with the rest of a batch and
only for new events): ``<p>:{S}:tu:D:<day>``, ``tu:h:<hour>`` (by USD) and ``tq:D:<day>``,
``tq:h:<hour>`` (by base quantity) are sorted sets holding at least the TOP_K largest events of
the day or hour (all of them when it has fewer), scored by the amount as a double, each member
the event's exact text. Reading ``top -n N`` (N ≤ TOP_K) over a window costs one set per whole
day and per other whole hour, plus the logs of the two partial edge hours: flat in the number
of stored events.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from liqcli.model import Event, default_usd

if TYPE_CHECKING:
    from liqcli.store.store import Store


def _amount(by: str) -> Callable[[Event], Decimal]:
    if by == "usd":
        return lambda e: e.usd
    return lambda e: e.qty


def largest(
    events: Iterable[Event], n: int, by: str, exchanges: Sequence[str] = (),
    side: str | None = None,
) -> list[Event]:
    """The ``n`` largest of ``events`` by ``by`` (``usd`` or ``qty``) after the filters, and
    every event tied with the n-th (the caller orders ties)."""
    chosen = [
        e for e in events
        if (not exchanges or e.exchange in exchanges) and (side is None or e.side == side)
    ]
    if len(chosen) <= n:
        return chosen
    amount = _amount(by)
    cut = amount(heapq.nlargest(n, chosen, key=amount)[-1])
    return [e for e in chosen if amount(e) >= cut]


def read_top(
    store: Store, symbol: str, since_ms: int | None, until_ms: int | None, n: int, by: str,
    exchanges: Sequence[str] = (), side: str | None = None,
) -> list[Event]:
    """:meth:`Store.top_events` for ``n`` ≤ TOP_K: two round trips (the hour index, then one
    pipeline of ``topk_read.lua`` and ``read.lua``), O(days + hours + edge logs).

    The days and hours lying wholly inside the window give their top-K set (unfiltered: only
    the members scoring at least the set's n-th score); the partial edge hours give their log.
    With a filter (``exchanges``, ``side``) a set whose members left after the filter are fewer
    than ``n`` and fewer than the unit's events left after the filter (from its rollup) may
    miss some: that unit's log is read instead (exact, and rare for a broad filter).
    """
    from liqcli.store.store import (
        DAY_MS,
        HOUR_MS,
        SLOT_MS,
        _decode_entries,
        _inside,
        _plan_hours,
        _script_source,
    )

    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        return []
    days, hours, slots, edges = _plan_hours(store._hours(symbol, since_ms, until_ms),
                                            since_ms, until_ms)
    prefix = "tu" if by == "usd" else "tq"
    units = [("D", day, day * DAY_MS, (day + 1) * DAY_MS) for day in days]
    units += [("h", hour, hour * HOUR_MS, (hour + 1) * HOUR_MS) for hour in hours]
    filtered = bool(exchanges) or side is not None
    sets = [store.key(symbol, f"{prefix}:{level}:{unit}") for level, unit, _, _ in units]
    hashes = [store.key(symbol, f"{level}:{unit}") for level, unit, _, _ in units] if (
        filtered) else []
    logs = sorted(slots + edges)
    others = hashes + [store.key(symbol, f"l:{slot}") for slot in logs]
    if not sets and not others:
        return []
    pipe = store.client.pipeline(transaction=False)
    if sets:
        top_script = store.client.register_script(_script_source("topk_read.lua"))
        top_script(keys=sets, args=[0 if filtered else n], client=pipe)
    if others:
        read_script = store.client.register_script(_script_source("read.lua"))
        read_script(keys=others, args=[len(hashes)], client=pipe)
    replies = pipe.execute()
    set_blobs = replies[0] if sets else []
    other_blobs = replies[-1] if others else []
    wanted = _filter(exchanges, side)
    candidates: list[Event] = []
    for index, (_, _, start, end) in enumerate(units):
        members = [e for e in _members(symbol, set_blobs[index]) if wanted(e)]
        if filtered and len(members) < n:
            events = _filtered_count(other_blobs[index], exchanges, side)
            if len(members) < events:  # trimmed: the log of the unit has the rest
                members = [e for e in store.events(symbol, start, end) if wanted(e)]
        candidates += members
    for slot, blob in zip(logs, other_blobs[len(hashes) :], strict=True):
        if blob:
            for event in _decode_entries(symbol, slot * SLOT_MS, [(b"", {b"v": blob})]):
                if _inside(event.ts_ms, since_ms, until_ms) and wanted(event):
                    candidates.append(event)
    return largest(candidates, n, by)


def _filter(exchanges: Sequence[str], side: str | None) -> Callable[[Event], bool]:
    return lambda e: (not exchanges or e.exchange in exchanges) and (
        side is None or e.side == side)


def _members(symbol: str, blob: bytes) -> Iterator[Event]:
    """The events of a top-K set (members: ts, exchange, L/S, price, qty, usd, id)."""
    if not blob:
        return
    for line in blob.decode().split("\n"):
        ts, exchange, code, price_text, qty_text, usd_text, id_ = line.split("\t")
        price, qty = Decimal(price_text), Decimal(qty_text)
        yield Event(
            exchange=exchange, symbol=symbol, side="LONG" if code == "L" else "SHORT",
            price=price, qty=qty, usd=Decimal(usd_text) if usd_text else default_usd(price, qty),
            ts_ms=int(ts), id=id_ or None,
        )


def _filtered_count(blob: bytes, exchanges: Sequence[str], side: str | None) -> int:
    """Events of a rollup hash (``read.lua`` blob) on ``exchanges`` and ``side``."""
    if not blob:
        return 0
    parts = blob.split(b"\n")
    count = 0
    code = None if side is None else ("L" if side == "LONG" else "S")
    for field, value in zip(parts[::2], parts[1::2], strict=True):
        exchange, cell_side, figure = field.decode().split("|")
        if figure == "n" and (not exchanges or exchange in exchanges) and (
                code is None or cell_side == code):
            count += int(value)
    return count
