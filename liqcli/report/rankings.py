"""Rankings: the symbols of a report ordered by a figure (Coinglass's coin list), top N."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from liqcli.errors import UsageError
from liqcli.report.stats import CumulativeStats

_KEYS: dict[str, Callable[[CumulativeStats], Decimal | int]] = {
    "usd": lambda s: s.totals.usd,
    "events": lambda s: s.totals.events,
    "long_usd": lambda s: s.side("LONG").usd,
    "short_usd": lambda s: s.side("SHORT").usd,
}
SORT_KEYS: tuple[str, ...] = tuple(_KEYS)


def check_sort(sort: str | None, top: int | None) -> None:
    """UsageError for an unknown sort key or a top below 1 (before any store access)."""
    if sort is not None and sort not in _KEYS:
        raise UsageError(f"--sort: {sort!r} is not one of {', '.join(SORT_KEYS)}")
    if top is not None and top < 1:
        raise UsageError(f"--top: {top} is not a positive number")


def rank_symbols(stats: CumulativeStats, sort: str | None, top: int | None) -> CumulativeStats:
    """``stats`` with its one-symbol reports ordered by ``sort`` (largest first; ties by
    symbol name) and cut to the first ``top``.

    With ``sort``, symbols without events in the window are left out (a ranking lists what
    happened). ``sort`` None keeps the order of the report (by name for ``--all-symbols``).
    The combined figures of ``stats`` are left as they were: a ranking shows its rows.
    """
    check_sort(sort, top)
    reports = list(stats.symbol_reports())
    if sort is not None:
        key = _KEYS[sort]
        reports = sorted(
            (one for one in reports if one.totals.events),
            key=lambda one: (-key(one), one.symbols[0]),
        )
    if top is not None:
        reports = reports[:top]
    if not stats.multi:
        if reports:
            return stats
        return replace(stats, per_symbol=(), multi=True, symbols=())
    return replace(stats, per_symbol=tuple(reports), symbols=tuple(r.symbols[0] for r in reports))
