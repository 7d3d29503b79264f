"""Hints for names the store has never seen: a typo must not pass for "no liquidations".

``-s XRPUSDT`` or ``-e kraken`` on a store without them gives an empty report (correct: there
were none); these notes say so, naming the closest known names. No figures are computed here.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Protocol

    from liqcli.report.stats import CumulativeStats
    from liqcli.store.rollup import Rollup
else:  # a Protocol for type checking only: no typing import at run time
    Protocol = object


class NameSource(Protocol):
    def symbols(self) -> list[str]: ...

    def rollup(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Rollup: ...


def unknown_name_notes(
    source: NameSource, stats: CumulativeStats, asked_symbols: bool
) -> list[str]:
    """One note per asked symbol or exchange that the store has never seen (in any window).

    ``asked_symbols``: the report's symbols were named by the user (not ``--all-symbols``).
    Exchanges are checked only when the report found none of their events, against every
    exchange of the report's symbols over all time.
    """
    notes: list[str] = []
    known_symbols: list[str] | None = None
    if asked_symbols:
        known_symbols = source.symbols()
        stored = set(known_symbols)
        for symbol in stats.symbols:
            if symbol not in stored:
                notes.append(f"symbol {symbol} has no events in the store"
                             f"{_suggest(symbol, known_symbols)}")
    found = {row.exchange for row in stats.exchanges}
    missing = [name for name in stats.exchange_filter if name not in found]
    if missing:
        if known_symbols is None:
            known_symbols = source.symbols()
        wanted = set(known_symbols) & set(stats.symbols) if stats.symbols else set()
        exchanges = _exchanges_of(source, sorted(wanted))
        for name in missing:
            if name not in exchanges:
                notes.append(f"exchange {name} has no events for "
                             f"{_names(stats.symbols)}{_suggest(name, sorted(exchanges))}")
    return notes


def _exchanges_of(source: NameSource, symbols: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for symbol in symbols:
        found |= {exchange for (exchange, _side), cell in source.rollup(symbol).cells.items()
                  if cell.events}
    return found


def _names(symbols: Sequence[str]) -> str:
    if not symbols:
        return "any symbol"
    shown = ", ".join(symbols[:3])
    return shown + (f" (+{len(symbols) - 3} more)" if len(symbols) > 3 else "")


def _suggest(name: str, known: Sequence[str]) -> str:
    if not known:
        return " (the store is empty)"
    import difflib  # only when a name is unknown

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return f" (did you mean {' or '.join(close)}?)"
    listed = ", ".join(known[:5]) + (", …" if len(known) > 5 else "")
    return f" (known: {listed})"
