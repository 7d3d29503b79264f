"""``top``: the N largest single liquidations of a window, by USD or by base quantity.

Exact: candidates come from the store (``Store.top_events``: the per-day top-K sets kept at
ingest with the events of each whole day's day log, and the events of the window's partial edge
days), and the final order is decided on the exact Decimal amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from liqcli.errors import UsageError
from liqcli.model import SIDES, Event, Side, split_symbol
from liqcli.report.core import DEFAULT_SYMBOL, normalize_exchanges, resolve_symbols

BY_KEYS: tuple[str, ...] = ("usd", "qty")
DEFAULT_N = 10
MAX_N = 1000


class TopSource(Protocol):
    """What ``top`` needs from a store (``liqcli.store.Store`` is one)."""

    def top_events(
        self, symbol: str, since_ms: int | None, until_ms: int | None, n: int, by: str,
        exchanges: Sequence[str] = (), side: str | None = None,
    ) -> list[Event]: ...

    def symbols(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class TopList:
    """The ``n`` largest liquidations (by ``by``: ``usd`` or ``qty``) of the window, largest
    first; equal amounts: earlier first (:func:`order_key`). ``side_filter``: LONG, SHORT or
    None (both)."""

    by: str
    n: int
    symbols: tuple[str, ...]
    multi: bool
    exchange_filter: tuple[str, ...]
    side_filter: Side | None
    since_ms: int | None
    until_ms: int | None
    entries: tuple[Event, ...]


def order_key(by: str) -> Callable[[Event], tuple[Any, ...]]:
    """Sort key: amount descending, then the other amount descending, time, exchange, symbol,
    side, price and id: a total order of distinct stored events."""
    if by == "usd":
        return lambda e: (-e.usd, -e.qty, e.ts_ms, e.exchange, e.symbol, e.side, e.price,
                          e.id or "")
    return lambda e: (-e.qty, -e.usd, e.ts_ms, e.exchange, e.symbol, e.side, e.price,
                      e.id or "")


def check_top(n: int, by: str, side: str | None) -> Side | None:
    """Validated options (UsageError before any store access); the side upper-cased."""
    if by not in BY_KEYS:
        raise UsageError(f"--by: {by!r} is not one of {', '.join(BY_KEYS)}")
    if not 1 <= n <= MAX_N:
        raise UsageError(f"-n: {n} is not between 1 and {MAX_N}")
    if side is None:
        return None
    upper = side.upper()
    if upper not in SIDES:
        raise UsageError(f"--side: {side!r} is not LONG or SHORT")
    return upper


def compute_top(
    store: TopSource,
    symbols: str | Iterable[str] | None = DEFAULT_SYMBOL,
    *,
    n: int = DEFAULT_N,
    by: str = "usd",
    since_ms: int | None = None,
    until_ms: int | None = None,
    exchanges: Iterable[str] | None = None,
    side: str | None = None,
    all_symbols: bool = False,
) -> TopList:
    """The ``n`` largest liquidations of ``symbols`` (or every symbol) in [since, until)."""
    side_filter = check_top(n, by, side)
    wanted = normalize_exchanges(exchanges)
    names, multi = resolve_symbols(store, symbols, all_symbols)
    bases = {split_symbol(name)[0] for name in names}
    if by == "qty" and len(bases) > 1:
        raise UsageError(
            "--by qty compares base quantities: the symbols must share one base asset "
            f"(these have {', '.join(sorted(bases))}); use --by usd"
        )
    candidates: list[Event] = []
    if since_ms is None or until_ms is None or since_ms < until_ms:
        for name in names:
            candidates += store.top_events(name, since_ms, until_ms, n, by, wanted, side_filter)
    key = order_key(by)
    entries = sorted(candidates, key=key)[:n]
    return TopList(
        by=by, n=n, symbols=names, multi=multi, exchange_filter=wanted,
        side_filter=side_filter, since_ms=since_ms, until_ms=until_ms, entries=tuple(entries),
    )
