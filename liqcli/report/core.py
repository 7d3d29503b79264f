"""The aggregation core: exact CumulativeStats from the store's rollups.

Every report command and the library build their figures here. No Typer, rich or formatting.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

# records, not dataclasses: no dataclasses import or class-creation cost (liqcli/_record.py)
from liqcli._record import replace
from liqcli.errors import UsageError
from liqcli.model import EXCHANGE_RE, SIDES, normalize_symbol, split_symbol
from liqcli.report.stats import (
    Coverage,
    CoverageGap,
    CumulativeStats,
    ExchangeFigures,
    MatrixCell,
    SideFigures,
    Totals,
)
from liqcli.store.rollup import Rollup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Protocol

    from liqcli.model import Side
    from liqcli.report.completeness import Feed
else:  # the Protocols below are for type checking: no typing import at run time
    Protocol = object

DEFAULT_SYMBOL = "BTCUSDT"
HOUR_MS = 3_600_000
# Derived figures (shares, averages, rates, durations) are rounded half-even to this many
# decimal places; sums are exact.
DERIVED_PLACES = 8
_QUANTUM = Decimal(1).scaleb(-DERIVED_PLACES)
_WIDE = Context(prec=100)
_ZERO = Decimal(0)


class RollupSource(Protocol):
    """What the core needs from a store (``liqcli.store.Store`` is one)."""

    def rollup(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Rollup: ...

    def symbols(self) -> list[str]: ...


def normalize_symbols(symbols: str | Iterable[str] | None) -> tuple[str, ...]:
    """Upper-cased symbols, duplicates dropped, order kept; ``None`` gives the default.

    An item may list several symbols separated by commas (``"ETHUSDT,SOLUSDT"``). Names are
    normalized like stored ones (``model.normalize_symbol``: NFC, upper case where letters
    have case, so ``币安人生usdt`` is ``币安人生USDT``). Raises UsageError for a name that is not a
    symbol, e.g. empty or ``A*``.
    """
    if symbols is None:
        return (DEFAULT_SYMBOL,)
    seen: dict[str, None] = {}
    for name, given in _split_names(symbols):
        try:
            symbol = normalize_symbol(name)
        except ValueError as exc:
            raise UsageError(
                f"not a symbol: {given!r}: {exc} (1-40 letters or digits, then also '.', '_' "
                "or '-', e.g. BTCUSDT; commas separate several)"
            ) from None
        seen.setdefault(symbol, None)
    return tuple(seen) or (DEFAULT_SYMBOL,)


def normalize_exchanges(exchanges: str | Iterable[str] | None) -> tuple[str, ...]:
    """Lower-cased exchange names, sorted, duplicates dropped (commas separate names too).

    Raises UsageError for a name that is not an exchange name (``model.EXCHANGE_RE``).
    """
    found: set[str] = set()
    for name, given in _split_names(exchanges or ()):
        exchange = name.lower()
        if not EXCHANGE_RE.fullmatch(exchange):
            raise UsageError(
                f"not an exchange name: {given!r} (1-32 letters, digits, '.', '_' or '-', "
                "e.g. binance; commas separate several)"
            )
        found.add(exchange)
    return tuple(sorted(found))


class SymbolSource(Protocol):
    def symbols(self) -> list[str]: ...


def resolve_symbols(
    store: SymbolSource, symbols: str | Iterable[str] | None, all_symbols: bool
) -> tuple[tuple[str, ...], bool]:
    """``(names, multi)``: every symbol of the store (``all_symbols``: always multi), else the
    normalized ``symbols`` (multi when more than one); UsageError for a bad name."""
    if all_symbols:
        return tuple(store.symbols()), True
    names = normalize_symbols(symbols)
    return names, len(names) > 1


def _split_names(items: str | Iterable[str]) -> list[tuple[str, str]]:
    """``(name, text it came from)`` for every comma-separated name of ``items``."""
    texts = [items] if isinstance(items, str) else list(items)
    return [(part.strip(), text) for text in texts for part in text.split(",")]


def compute_stats(
    store: RollupSource,
    symbols: str | Iterable[str] | None = DEFAULT_SYMBOL,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    exchanges: Iterable[str] | None = None,
    all_symbols: bool = False,
    coverage: bool = False,
    now_ms: int | None = None,
) -> CumulativeStats:
    """Cumulative figures for ``symbols`` (or every symbol of the store) over [since, until).

    ``symbols`` is one symbol, several (a list, or names separated by commas), or None for
    the default; bad names raise UsageError (before any store access).
    ``exchanges`` keeps only those exchanges (case-insensitive); None or empty keeps all.
    Two or more symbols give a multi-symbol report (``per_symbol`` filled in); so does
    ``all_symbols``, even when the store holds one symbol or none. A list of one symbol gives
    the same one-symbol report as the plain string.
    ``coverage`` also reads the live collector's gaps inside the window (:func:`with_coverage`).
    ``now_ms`` (default the current time) ends an open window: for the coverage and for the
    span of the events-per-hour rate.
    """
    wanted = normalize_exchanges(exchanges)  # validated before any store access
    names, multi = resolve_symbols(store, symbols, all_symbols)
    many = getattr(store, "rollups", None)  # a store reads many symbols in a few round trips
    rollups = (
        many(names, since_ms, until_ms) if many is not None and len(names) > 1
        else [store.rollup(name, since_ms, until_ms) for name in names]
    )
    if now_ms is None:
        from liqcli.report.timeparse import now_ms as current_ms

        now_ms = current_ms()
    stats = stats_from_rollups(
        rollups, since_ms=since_ms, until_ms=until_ms, exchanges=wanted, multi=multi,
        now_ms=now_ms,
    )
    return with_coverage(stats, store, now_ms=now_ms) if coverage else stats


def with_coverage(stats: CumulativeStats, source: object,
                  now_ms: int | None = None) -> CumulativeStats:
    """``stats`` with its ``coverage`` (and that of each ``per_symbol`` report) filled in.

    The records of the relevant exchanges (``stats.exchange_filter``, else all) are read once,
    in at most two round trips. A source without coverage records (no ``client``/``prefix``,
    e.g. a test double) leaves ``stats`` unchanged.
    """
    from liqcli.store.coverage import read_records

    client, prefix = getattr(source, "client", None), getattr(source, "prefix", None)
    if client is None or not isinstance(prefix, str):
        return stats
    if now_ms is None:
        from liqcli.report.timeparse import now_ms as current_ms

        now_ms = current_ms()
    records = read_records(client, prefix, stats.exchange_filter or None)
    return replace(
        stats,
        coverage=coverage_of(records, stats.symbols, stats.since_ms, stats.until_ms, now_ms),
        per_symbol=tuple(
            replace(one, coverage=coverage_of(
                records, one.symbols, one.since_ms, one.until_ms, now_ms))
            for one in stats.per_symbol
        ),
    )


def coverage_of(
    records: Mapping[str, Sequence[tuple[int, int, str]]],
    symbols: Sequence[str],
    since_ms: int | None,
    until_ms: int | None,
    now_ms: int,
) -> Coverage:
    """Pure: the gaps of [since, until) for ``symbols`` from coverage records by exchange.

    An exchange is checked when a record covers one of ``symbols``; a time is a gap when the
    feed of some symbol was not connected. ``since`` None starts each symbol's check at its
    first recorded connection; the window ends at ``until`` but never after ``now_ms``.
    """
    from liqcli.store.coverage import window_gaps

    end = now_ms if until_ms is None else min(until_ms, now_ms)
    exchanges: list[str] = []
    gaps: list[CoverageGap] = []
    for exchange in sorted(records):
        found = window_gaps(records[exchange], symbols, since_ms, until_ms, now_ms)
        if found is None:
            continue
        exchanges.append(exchange)
        gaps += [
            CoverageGap(
                exchange=exchange, start_ms=start, end_ms=stop,
                hours=_hours(stop - start), ongoing=stop == end == now_ms,
            )
            for start, stop in found
        ]
    return Coverage(exchanges=tuple(exchanges), gaps=tuple(gaps), as_of_ms=now_ms)


def stats_from_rollups(
    rollups: Sequence[Rollup],
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    exchanges: Iterable[str] | None = None,
    multi: bool | None = None,
    now_ms: int | None = None,
    feeds: Mapping[str, Feed] | None = None,
) -> CumulativeStats:
    """Pure part of :func:`compute_stats`: build the report from rollups already read.

    ``now_ms`` ends an open window for the events-per-hour span (default: the current time,
    read only when the window is open at its end). ``feeds`` says which exchanges' feeds are
    complete (default: :func:`liqcli.report.completeness.feeds`, the built-in table and the
    user's file).
    """
    if feeds is None:
        from liqcli.report.completeness import feeds as feed_table

        feeds = feed_table()
    wanted = normalize_exchanges(exchanges)
    is_multi = len(rollups) != 1 if multi is None else multi
    if now_ms is None and since_ms is not None and until_ms is None:
        from liqcli.report.timeparse import now_ms as current_ms

        now_ms = current_ms()
    window = (since_ms, until_ms, now_ms)
    with localcontext(_WIDE):
        if not is_multi:
            return _build_one(_SymbolRows(rollups[0], wanted), window, wanted, feeds)
        # each symbol's cells are summed once: its own report, then the combined one from them
        rows = [_SymbolRows(r, wanted) for r in rollups]
        per_symbol = tuple(_build_one(one, window, wanted, feeds) for one in rows)
        return _build_combined(rows, per_symbol, window, wanted, feeds)


# A breakdown row's sums: (events, usd, qty, first_ms, last_ms). Every sum starts at
# Decimal(0), as Decimal arithmetic would (so an amount never gets a positive exponent), and
# is exact (the wide context): its digits and exponent do not depend on the order of adding.
_Row = tuple[int, Decimal, Decimal, int | None, int | None]
_NO_ROW: _Row = (0, _ZERO, _ZERO, None, None)


def _add(a: _Row, b: _Row) -> _Row:
    first_a, first_b, last_a, last_b = a[3], b[3], a[4], b[4]
    return (
        a[0] + b[0], a[1] + b[1], a[2] + b[2],
        first_b if first_a is None or (first_b is not None and first_b < first_a) else first_a,
        last_b if last_a is None or (last_b is not None and last_b > last_a) else last_a,
    )


class _SymbolRows:
    """One symbol's cells (after the exchange filter) summed by exchange × side, exchange,
    side and in total: what its report and its share of the combined report are built from."""

    __slots__ = ("base", "cells", "exchanges", "quote", "sides", "symbol", "total")

    def __init__(self, rollup: Rollup, wanted: tuple[str, ...]) -> None:
        self.symbol = rollup.symbol
        self.base, self.quote = split_symbol(rollup.symbol)
        cells: dict[tuple[str, Side], _Row] = {}
        exchanges: dict[str, _Row] = {}
        sides: dict[Side, _Row] = {"LONG": _NO_ROW, "SHORT": _NO_ROW}
        for key, cell in rollup.cells.items():
            exchange = key[0]
            if cell.events == 0 or (wanted and exchange not in wanted):
                continue
            row = (cell.events, _ZERO + cell.usd, _ZERO + cell.qty, cell.first_ms, cell.last_ms)
            cells[key] = row
            found = exchanges.get(exchange)
            exchanges[exchange] = row if found is None else _add(found, row)
            found = sides[key[1]]
            sides[key[1]] = row if found is _NO_ROW else _add(found, row)
        self.cells = cells
        self.exchanges = exchanges
        self.sides = sides
        long, short = sides["LONG"], sides["SHORT"]
        self.total = long if short is _NO_ROW else short if long is _NO_ROW else _add(long, short)


def _build_one(
    one: _SymbolRows,
    window: tuple[int | None, int | None, int | None],
    wanted: tuple[str, ...],
    feeds: Mapping[str, Feed],
) -> CumulativeStats:
    """The one-symbol report of ``one`` (a single base asset: every row has a quantity)."""
    base = one.base
    total = one.total
    events, usd, qty = total[0], total[1], total[2]
    whole_events = Decimal(events)

    def shares(row: _Row) -> _Shares:
        n, amount, part = row[0], row[1], row[2]
        return (
            n, amount, part, {base: part},
            _pct(Decimal(n), whole_events), _pct(amount, usd), _pct(part, qty),
        )

    exchange_names = sorted(one.exchanges)
    cells = one.cells
    matrix = []
    exchanges = []
    for name in exchange_names:
        for side in SIDES:
            row = cells.get((name, side), _NO_ROW)
            matrix.append(MatrixCell(name, side, row[0], row[1], row[2], {base: row[2]}))
        exchanges.append(_exchange_figures(name, shares(one.exchanges[name]), feeds))
    sides = one.sides
    return _report(
        symbols=(one.symbol,), base=base, quote=one.quote, window=window, wanted=wanted,
        total=total, qty=qty, qty_by_base={base: qty},
        sides=(SideFigures(*shares(sides["LONG"]), side="LONG"),
               SideFigures(*shares(sides["SHORT"]), side="SHORT")),
        exchanges=tuple(exchanges),
        matrix=tuple(matrix),
        multi=False,
    )


def _build_combined(
    rows: Sequence[_SymbolRows],
    per_symbol: tuple[CumulativeStats, ...],
    window: tuple[int | None, int | None, int | None],
    wanted: tuple[str, ...],
    feeds: Mapping[str, Feed],
) -> CumulativeStats:
    """The report over all of ``rows`` (a multi-symbol report), from their row sums.

    Quantities are summed by base asset only; ``qty`` is None unless one base is in the
    report."""
    bases = sorted({one.base for one in rows})
    quotes = sorted({one.quote for one in rows})
    single = bases[0] if len(bases) == 1 else None
    # (exchange, side) and each breakdown: events, usd, first, last (qty left 0: mixed bases),
    # and the quantity by base asset
    cells: dict[tuple[str, Side], _Row] = {}
    cell_qty: dict[tuple[str, Side], dict[str, Decimal]] = {}
    for one in rows:
        base = one.base
        for key, (n, usd, qty, first, last) in one.cells.items():
            row = cells.get(key)
            if row is None:
                cells[key] = (n, usd, _ZERO, first, last)
                cell_qty[key] = {base: qty}
                continue
            cells[key] = _add(row, (n, usd, _ZERO, first, last))
            found = cell_qty[key]
            found[base] = found.get(base, _ZERO) + qty
    exchange_names = sorted({exchange for exchange, _ in cells})
    exchanges: dict[str, _Row] = {}
    exchange_qty: dict[str, dict[str, Decimal]] = {}
    sides: dict[Side, _Row] = {"LONG": _NO_ROW, "SHORT": _NO_ROW}
    side_qty: dict[Side, dict[str, Decimal]] = {side: {} for side in SIDES}
    total_qty: dict[str, Decimal] = {}
    for key, row in cells.items():
        exchange, side = key
        exchanges[exchange] = _add(exchanges.get(exchange, _NO_ROW), row)
        sides[side] = _add(sides[side], row)
        for found in (exchange_qty.setdefault(exchange, {}), side_qty[side], total_qty):
            for base, qty in cell_qty[key].items():
                found[base] = found.get(base, _ZERO) + qty
    total = _add(sides["LONG"], sides["SHORT"])

    def by_base(found: dict[str, Decimal]) -> dict[str, Decimal]:
        return {base: found.get(base, _ZERO) for base in bases}

    whole_qty = None if single is None else total_qty.get(single, _ZERO)
    whole_events = Decimal(total[0])

    def shares_of(qty_of: dict[str, Decimal]) -> Callable[[_Row], _Shares]:
        def shares(row: _Row) -> _Shares:
            qty = None if single is None else qty_of.get(single, _ZERO)
            return (
                row[0], row[1], qty, by_base(qty_of),
                _pct(Decimal(row[0]), whole_events), _pct(row[1], total[1]),
                None if qty is None or whole_qty is None else _pct(qty, whole_qty),
            )
        return shares

    no_qty: dict[str, Decimal] = {}
    return _report(
        symbols=tuple(one.symbol for one in rows), base=single,
        quote=quotes[0] if len(quotes) == 1 else None, window=window, wanted=wanted,
        total=total, qty=whole_qty, qty_by_base=by_base(total_qty),
        sides=tuple(SideFigures(*shares_of(side_qty[side])(sides[side]), side=side)
                    for side in SIDES),
        exchanges=tuple(
            _exchange_figures(name, shares_of(exchange_qty[name])(exchanges[name]), feeds)
            for name in exchange_names
        ),
        matrix=tuple(
            MatrixCell(name, side, row[0], row[1],
                       None if single is None else qty_of.get(single, _ZERO), by_base(qty_of))
            for name in exchange_names
            for side in SIDES
            for row, qty_of in ((cells.get((name, side), _NO_ROW),
                                 cell_qty.get((name, side), no_qty)),)
        ),
        multi=True,
        per_symbol=per_symbol,
    )


# events, usd, qty, qty_by_base, events_pct, usd_pct, qty_pct (the field order of Figures)
_Shares = tuple[
    int, Decimal, Decimal | None, dict[str, Decimal], Decimal | None, Decimal | None,
    Decimal | None,
]


def _report(
    *, symbols: tuple[str, ...], base: str | None, quote: str | None,
    window: tuple[int | None, int | None, int | None], wanted: tuple[str, ...], total: _Row,
    qty: Decimal | None, qty_by_base: dict[str, Decimal], sides: tuple[SideFigures, ...],
    exchanges: tuple[ExchangeFigures, ...], matrix: tuple[MatrixCell, ...], multi: bool,
    per_symbol: tuple[CumulativeStats, ...] = (),
) -> CumulativeStats:
    """A report from its rows; the totals' averages, rate and duration derived here."""
    since_ms, until_ms, now_ms = window
    events, usd, first_ms, last_ms = total[0], total[1], total[3], total[4]
    span_ms = rate_span_ms(since_ms, until_ms, now_ms, first_ms, last_ms)
    count = Decimal(events)
    return CumulativeStats(
        symbols=symbols,
        base=base,
        quote=quote,
        since_ms=since_ms,
        until_ms=until_ms,
        exchange_filter=wanted,
        first_ms=first_ms,
        last_ms=last_ms,
        duration_hours=_duration_hours(first_ms, last_ms),
        totals=Totals(
            events=events,
            usd=usd,
            qty=qty,
            qty_by_base=qty_by_base,
            avg_usd=_ratio(usd, count),
            avg_qty=None if qty is None else _ratio(qty, count),
            events_per_hour=(
                None if span_ms is None else _ratio(Decimal(events * HOUR_MS), Decimal(span_ms))
            ),
            rate_hours=None if span_ms is None else _hours(span_ms),
        ),
        sides=sides,
        exchanges=exchanges,
        matrix=matrix,
        multi=multi,
        per_symbol=per_symbol,
    )


def _exchange_figures(
    name: str, shares: _Shares, feeds: Mapping[str, Feed]
) -> ExchangeFigures:
    feed = feeds.get(name)
    return ExchangeFigures(
        *shares, exchange=name, complete=None if feed is None else feed.complete,
        note="" if feed is None else feed.note,
    )


class PlainDecimal(Decimal):
    """A Decimal whose ``str()`` and ``repr()`` never use exponent notation.

    Decimal prints values below 1e-6 as ``2.8E-7`` whatever their digits; derived figures are
    given to library users as this subclass so they print as ``0.00000028``. Arithmetic on
    it returns plain Decimals; equality and hashing are Decimal's.
    """

    __slots__ = ()

    def __str__(self) -> str:
        return format(self, "f")

    def __repr__(self) -> str:
        return f"Decimal('{self!s}')"


def tidy(value: Decimal) -> PlainDecimal:
    """Round a derived figure to DERIVED_PLACES and drop trailing zeros (no exponent)."""
    # explicit contexts, not ``localcontext``: the same arithmetic, cheaper (many per report)
    text = format(value.quantize(_QUANTUM, context=_WIDE), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return PlainDecimal(text)


_HUNDRED = PlainDecimal(100)
_NOUGHT = PlainDecimal(0)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    """``tidy(part * 100 / whole)``, None when ``whole`` is 0; inside the wide context only.

    (Cheaper, the same figure: a whole or an empty share is a constant; ``format(..., ".8f")``
    rounds half-even like the context's ``quantize``, then the zeros are dropped.)
    """
    if not whole:
        return None
    if part == whole:
        return _HUNDRED
    if not part:
        return _NOUGHT
    text = format(_WIDE.divide(_WIDE.multiply(part, 100), whole), ".8f").rstrip("0")
    return PlainDecimal(text[:-1] if text[-1] == "." else text)


def _ratio(numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    if not denominator:
        return None
    return tidy(_WIDE.divide(numerator, denominator))


def _hours(ms: int) -> Decimal:
    return tidy(_WIDE.divide(Decimal(ms), HOUR_MS))


def rate_span_ms(
    since_ms: int | None, until_ms: int | None, now_ms: int | None,
    first_ms: int | None, last_ms: int | None,
) -> int | None:
    """The span, in ms, that "events per hour" is over; None when there is none.

    With a window: the window, from ``since`` (else the first event) to ``until`` clipped to
    ``now`` (an open end is ``now``); an empty or future window has no span. All time: first
    to last event, but never less than one hour (two events a second apart are not 7,200 an
    hour); no events, no span.
    """
    if since_ms is None and until_ms is None:
        if first_ms is None or last_ms is None:
            return None
        return max(last_ms - first_ms, HOUR_MS)
    start = since_ms if since_ms is not None else first_ms
    end = now_ms if until_ms is None else until_ms if now_ms is None else min(until_ms, now_ms)
    if start is None or end is None or end <= start:
        return None
    return end - start


def _duration_hours(first_ms: int | None, last_ms: int | None) -> Decimal | None:
    if first_ms is None or last_ms is None:
        return None
    return tidy(_WIDE.divide(Decimal(last_ms - first_ms), HOUR_MS))
