"""Stored events of a selection and window, in event-time order (``export``'s source).

Each symbol's log is read one UTC day at a time through :meth:`Store.events` and sorted within
the day, then the symbols are merged by time: memory stays bounded by one day of one symbol
per selected symbol, whatever the window, and the order does not depend on how the store
partitions its log. Order: time, then symbol, exchange, side, id, price, qty (a total order,
so two exports of the same store are byte-identical).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from liqcli.model import Event, Side
from liqcli.store.rollup import Rollup

DAY_MS = 86_400_000


class EventSource(Protocol):
    def rollup(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Rollup: ...

    def events(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Iterator[Event]: ...


def _key(event: Event) -> tuple[int, str, str, str, str, str, str]:
    return (event.ts_ms, event.symbol, event.exchange, event.side, event.id or "",
            str(event.price), str(event.qty))


def _span(rollup: Rollup) -> tuple[int, int] | None:
    firsts = [c.first_ms for c in rollup.cells.values() if c.first_ms is not None]
    lasts = [c.last_ms for c in rollup.cells.values() if c.last_ms is not None]
    return (min(firsts), max(lasts)) if firsts and lasts else None


def symbol_events(
    store: EventSource,
    symbol: str,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> Iterator[Event]:
    """One symbol's events in ``[since_ms, until_ms)`` in event-time order."""
    span = _span(store.rollup(symbol))  # all time: one round trip, tells where the log lies
    if span is None:
        return
    low = span[0] if since_ms is None else max(since_ms, span[0])
    high = span[1] + 1 if until_ms is None else min(until_ms, span[1] + 1)
    day = low - low % DAY_MS
    while day < high:
        start, end = max(low, day), min(high, day + DAY_MS)
        if start < end:
            yield from sorted(store.events(symbol, start, end), key=_key)
        day += DAY_MS


def ordered_events(
    store: EventSource,
    symbols: Sequence[str],
    since_ms: int | None = None,
    until_ms: int | None = None,
    *,
    exchanges: Iterable[str] = (),
    side: Side | None = None,
) -> Iterator[Event]:
    """The events of ``symbols`` in the window, merged across symbols in event-time order,
    keeping only ``exchanges`` (when given) and ``side`` (when given)."""
    wanted = frozenset(exchanges)
    streams = [symbol_events(store, symbol, since_ms, until_ms) for symbol in symbols]
    for event in heapq.merge(*streams, key=_key):
        if (not wanted or event.exchange in wanted) and (side is None or event.side == side):
            yield event
