"""The aggregation core: exact CumulativeStats from the store's rollups.

Every report command and the library build their figures here. No Typer, rich or formatting.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from itertools import repeat

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
from liqcli.store.rollup import UNIT_PLACES, Cell, CellUnits, Rollup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Final, Protocol

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
    read_units = getattr(store, "rollup_units", None)  # a store's sums as integers
    if read_units is not None:
        unit = _UNIT
        rows = _rows_of_units(read_units(names, since_ms, until_ms), wanted)
    else:
        many = getattr(store, "rollups", None)  # many symbols in a few round trips
        rows, unit = _rows_of_rollups(
            many(names, since_ms, until_ms) if many is not None and len(names) > 1
            else [store.rollup(name, since_ms, until_ms) for name in names],
            wanted,
        )
    if now_ms is None:
        from liqcli.report.timeparse import now_ms as current_ms

        now_ms = current_ms()
    stats = _stats(names, rows, unit, since_ms=since_ms, until_ms=until_ms, wanted=wanted,
                   multi=multi, now_ms=now_ms, feeds=None)
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
    wanted = normalize_exchanges(exchanges)
    rows, unit = _rows_of_rollups(rollups, wanted)
    return _stats(
        [rollup.symbol for rollup in rollups], rows, unit, since_ms=since_ms,
        until_ms=until_ms, wanted=wanted, multi=multi, now_ms=now_ms, feeds=feeds,
    )


def _stats(
    symbols: Sequence[str],
    rows: Sequence[dict[tuple[str, Side], _Row]],
    unit: int,
    *,
    since_ms: int | None,
    until_ms: int | None,
    wanted: tuple[str, ...],
    multi: bool | None,
    now_ms: int | None,
    feeds: Mapping[str, Feed] | None,
) -> CumulativeStats:
    """The report of ``symbols`` from the rows of their cells (after the exchange filter)."""
    if feeds is None:
        from liqcli.report.completeness import feeds as feed_table

        feeds = feed_table()
    is_multi = len(symbols) != 1 if multi is None else multi
    if now_ms is None and since_ms is not None and until_ms is None:
        from liqcli.report.timeparse import now_ms as current_ms

        now_ms = current_ms()
    window = (since_ms, until_ms, now_ms)
    with localcontext(_WIDE):
        if not is_multi:
            one = _SymbolRows(symbols[0], rows[0])
            return _build_one(one, window, wanted, feeds, unit)
        # each symbol's cells are summed once: its own report, then the combined one from them
        per = [_SymbolRows(name, cells) for name, cells in zip(symbols, rows, strict=True)]
        per_symbol = tuple(_build_one(one, window, wanted, feeds, unit) for one in per)
        return _build_combined(per, per_symbol, window, wanted, feeds, unit)


# A breakdown row: (events, usd, qty, first_ms, last_ms, usd Decimal, qty Decimal). The
# integers (amounts in units of 1e-18, or finer for odd rollups: see _rows_of_rollups) give
# the shares and averages; the Decimals are the figures shown: each a Decimal sum starting at
# Decimal(0), as Decimal arithmetic would (so an amount never gets a positive exponent), exact
# (the wide context): its digits and exponent do not depend on the order of adding.
if TYPE_CHECKING:
    _Row = tuple[int, int, int, int | None, int | None, Decimal, Decimal]
_N: Final = 0
_USD: Final = 1
_QTY: Final = 2
_FIRST: Final = 3
_LAST: Final = 4
_USD_DEC: Final = 5
_QTY_DEC: Final = 6
_NO_ROW: _Row = (0, 0, 0, None, None, _ZERO, _ZERO)
_UNIT = 10**UNIT_PLACES


def _merge(rows: Sequence[_Row]) -> _Row:
    """The sum of ``rows``."""
    if len(rows) == 1:
        return rows[0]
    if not rows:
        return _NO_ROW
    n, usd, qty, first, last, usd_dec, qty_dec = rows[0]
    add = _WIDE.add
    for row in rows[1:]:
        n += row[_N]
        usd += row[_USD]
        qty += row[_QTY]
        t = row[_FIRST]
        if t is not None and (first is None or t < first):
            first = t
        t = row[_LAST]
        if t is not None and (last is None or t > last):
            last = t
        usd_dec = add(usd_dec, row[_USD_DEC])
        qty_dec = add(qty_dec, row[_QTY_DEC])
    return n, usd, qty, first, last, usd_dec, qty_dec


def _merge2(one: _Row, other: _Row, add: Callable[[Decimal, Decimal], Decimal] = _WIDE.add
            ) -> _Row:
    """``_merge((one, other))`` without the loop (a symbol's exchange: its two sides)."""
    first, t = one[_FIRST], other[_FIRST]
    if t is not None and (first is None or t < first):
        first = t
    last, t = one[_LAST], other[_LAST]
    if t is not None and (last is None or t > last):
        last = t
    return (one[_N] + other[_N], one[_USD] + other[_USD], one[_QTY] + other[_QTY], first, last,
            add(one[_USD_DEC], other[_USD_DEC]), add(one[_QTY_DEC], other[_QTY_DEC]))


def _rows_of_units(
    units: Sequence[Mapping[tuple[str, Side], CellUnits]], wanted: tuple[str, ...]
) -> list[dict[tuple[str, Side], _Row]]:
    """Each symbol's cells (``Store.rollup_units``) with events on a wanted exchange, as rows;
    a cell's Decimals are ``0 + `` its amounts in their shortest form (``Cell``'s), all
    built in one pass of C calls."""
    kept = [
        [(key, cell) for key, cell in cells.items()
         if cell[0] and (not wanted or key[0] in wanted)]
        for cells in units
    ]
    flat = [cell for part in kept for _, cell in part]
    if not flat:
        return [{} for _ in units]
    n, qty, usd, first, last = zip(*flat, strict=True)
    rows = list(zip(n, usd, qty, first, last, _shortest(usd), _shortest(qty), strict=True))
    out = []
    at = 0
    for part in kept:
        out.append(dict(zip([key for key, _ in part], rows[at : at + len(part)], strict=True)))
        at += len(part)
    return out


def _shortest(units: Sequence[int]) -> list[Decimal]:
    """``0 + normalize(u × 1e-18)`` of each of ``units`` (exact in the wide context)."""
    count = len(units)
    return list(map(
        _WIDE.add, repeat(_ZERO, count),
        map(_WIDE.normalize, map(_WIDE.scaleb, map(Decimal, units), repeat(-UNIT_PLACES, count))),
    ))


def _rows_of_rollups(
    rollups: Sequence[Rollup], wanted: tuple[str, ...]
) -> tuple[list[dict[tuple[str, Side], _Row]], int]:
    """Each rollup's cells with events on a wanted exchange, as rows, and the unit of their
    integers (10**scale, scale: the most decimals of any amount, at least 18)."""
    found: list[list[tuple[tuple[str, Side], Cell, Decimal, int, Decimal, int]]] = []
    scale = UNIT_PLACES
    for rollup in rollups:
        kept = []
        for key, cell in rollup.cells.items():
            if cell.events == 0 or (wanted and key[0] not in wanted):
                continue
            usd, qty = _WIDE.add(_ZERO, cell.usd), _WIDE.add(_ZERO, cell.qty)
            usd_places, qty_places = -_exponent(usd), -_exponent(qty)
            scale = max(scale, usd_places, qty_places)
            kept.append((key, cell, usd, usd_places, qty, qty_places))
        found.append(kept)

    def units(value: Decimal, places: int) -> int:
        factor: int = 10 ** (scale - places)
        return int(_WIDE.scaleb(value, places)) * factor

    rows = [
        {key: (cell.events, units(usd, usd_places), units(qty, qty_places), cell.first_ms,
               cell.last_ms, usd, qty)
         for key, cell, usd, usd_places, qty, qty_places in kept}
        for kept in found
    ]
    unit: int = 10**scale
    return rows, unit


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite amount: {value}")
    return exponent


class _Rows:
    """Cells summed by exchange, side and in total: one symbol's, or several's by cell."""

    __slots__ = ("cells", "exchanges", "sides", "total")

    def __init__(self, cells: dict[tuple[str, Side], _Row]) -> None:
        exchanges: dict[str, _Row] = {}
        long: list[_Row] = []
        short: list[_Row] = []
        for key, row in cells.items():
            name = key[0]
            found = exchanges.get(name)
            exchanges[name] = row if found is None else _merge2(found, row)
            (long if key[1] == "LONG" else short).append(row)
        self.cells = cells
        self.exchanges = exchanges
        long_row, short_row = _merge(long), _merge(short)
        self.sides: dict[Side, _Row] = {"LONG": long_row, "SHORT": short_row}
        self.total = (short_row if long_row is _NO_ROW else long_row if short_row is _NO_ROW
                      else _merge2(long_row, short_row))

    @classmethod
    def merged(cls, parts: Sequence[_Rows]) -> _Rows:
        """The rows of several parts, cell by cell."""
        if len(parts) == 1:
            return parts[0]
        by_key: dict[tuple[str, Side], list[_Row]] = {}
        for part in parts:
            for key, row in part.cells.items():
                found = by_key.get(key)
                if found is None:
                    by_key[key] = [row]
                else:
                    found.append(row)
        return cls({key: _merge(rows) for key, rows in by_key.items()})


class _SymbolRows(_Rows):
    """One symbol's rows (cells after the exchange filter): what its report and its share of
    the combined report are built from."""

    __slots__ = ("base", "quote", "symbol")

    def __init__(self, symbol: str, cells: dict[tuple[str, Side], _Row]) -> None:
        super().__init__(cells)
        self.symbol = symbol
        self.base, self.quote = split_symbol(symbol)


def _build_one(
    one: _SymbolRows,
    window: tuple[int | None, int | None, int | None],
    wanted: tuple[str, ...],
    feeds: Mapping[str, Feed],
    unit: int,
) -> CumulativeStats:
    """The one-symbol report of ``one`` (a single base asset: every row has a quantity).
    (Written out, no helpers per row: it runs for each of hundreds of symbols.)"""
    base = one.base
    total = one.total
    events, usd, qty = total[_N], total[_USD], total[_QTY]
    cells = one.cells
    matrix = []
    exchanges = []
    for name, row in sorted(one.exchanges.items()):
        for side in SIDES:
            cell = cells.get((name, side), _NO_ROW)
            part = cell[_QTY_DEC]
            matrix.append(MatrixCell(name, side, cell[_N], cell[_USD_DEC], part, {base: part}))
        part = row[_QTY_DEC]
        feed = feeds.get(name)
        exchanges.append(ExchangeFigures(
            row[_N], row[_USD_DEC], part, {base: part},
            _pct(row[_N], events), _pct(row[_USD], usd), _pct(row[_QTY], qty), name,
            None if feed is None else feed.complete, "" if feed is None else feed.note,
        ))
    sides = []
    for side, row in one.sides.items():
        part = row[_QTY_DEC]
        sides.append(SideFigures(
            row[_N], row[_USD_DEC], part, {base: part},
            _pct(row[_N], events), _pct(row[_USD], usd), _pct(row[_QTY], qty), side,
        ))
    part = total[_QTY_DEC]
    return _report(
        (one.symbol,), base, one.quote, window, wanted, total, part, {base: part},
        tuple(sides), tuple(exchanges), tuple(matrix), False, unit,
    )


def _build_combined(
    rows: Sequence[_SymbolRows],
    per_symbol: tuple[CumulativeStats, ...],
    window: tuple[int | None, int | None, int | None],
    wanted: tuple[str, ...],
    feeds: Mapping[str, Feed],
    unit: int,
) -> CumulativeStats:
    """The report over all of ``rows`` (a multi-symbol report), from their row sums.

    Quantities are summed by base asset only; ``qty`` is None unless one base is in the
    report."""
    by_base: dict[str, list[_Rows]] = {}
    for one in rows:
        by_base.setdefault(one.base, []).append(one)
    # each base asset's rows (its symbols' summed cell by cell), in the order of bases
    bases = sorted(by_base)
    groups = [(base, _Rows.merged(by_base[base])) for base in bases]
    quotes = sorted({one.quote for one in rows})
    single = bases[0] if len(bases) == 1 else None
    every = _Rows.merged(rows) if single is None else groups[0][1]
    total = every.total
    events, usd, qty = total[_N], total[_USD], total[_QTY]

    def shares(row: _Row, qty_by_base: dict[str, Decimal]) -> _Shares:
        return (
            row[_N], row[_USD_DEC], None if single is None else row[_QTY_DEC], qty_by_base,
            _pct(row[_N], events), _pct(row[_USD], usd),
            None if single is None else _pct(row[_QTY], qty),
        )

    cells = every.cells
    exchange_names = sorted(every.exchanges)
    return _report(
        tuple(one.symbol for one in rows), single, quotes[0] if len(quotes) == 1 else None,
        window, wanted, total, None if single is None else total[_QTY_DEC],
        {base: group.total[_QTY_DEC] for base, group in groups},
        tuple(
            SideFigures(*shares(every.sides[side], {
                base: group.sides[side][_QTY_DEC] for base, group in groups}), side)
            for side in SIDES
        ),
        tuple(
            _exchange_figures(name, shares(every.exchanges[name], {
                base: group.exchanges.get(name, _NO_ROW)[_QTY_DEC] for base, group in groups
            }), feeds)
            for name in exchange_names
        ),
        tuple(
            MatrixCell(name, side, row[_N], row[_USD_DEC],
                       None if single is None else row[_QTY_DEC],
                       {base: group.cells.get(key, _NO_ROW)[_QTY_DEC] for base, group in groups})
            for name in exchange_names
            for side in SIDES
            for key in ((name, side),)
            for row in (cells.get(key, _NO_ROW),)
        ),
        True, unit, per_symbol,
    )


# events, usd, qty, qty_by_base, events_pct, usd_pct, qty_pct (the field order of Figures)
_Shares = tuple[
    int, Decimal, Decimal | None, dict[str, Decimal], Decimal | None, Decimal | None,
    Decimal | None,
]


def _report(
    symbols: tuple[str, ...], base: str | None, quote: str | None,
    window: tuple[int | None, int | None, int | None], wanted: tuple[str, ...], total: _Row,
    qty: Decimal | None, qty_by_base: dict[str, Decimal], sides: tuple[SideFigures, ...],
    exchanges: tuple[ExchangeFigures, ...], matrix: tuple[MatrixCell, ...], multi: bool,
    unit: int, per_symbol: tuple[CumulativeStats, ...] = (),
) -> CumulativeStats:
    """A report from its rows; the totals' averages, rate and duration derived here."""
    since_ms, until_ms, now_ms = window
    events, first_ms, last_ms = total[_N], total[_FIRST], total[_LAST]
    span_ms = rate_span_ms(since_ms, until_ms, now_ms, first_ms, last_ms)
    per_unit = events * unit  # an average: amount units / (events × units)
    duration = _duration_hours(first_ms, last_ms)
    rate_hours = None if span_ms is None else _hours(span_ms) if (
        first_ms is None or last_ms is None or span_ms != last_ms - first_ms) else duration
    return CumulativeStats(
        symbols,
        base,
        quote,
        since_ms,
        until_ms,
        wanted,
        first_ms,
        last_ms,
        duration,
        Totals(
            events,
            total[_USD_DEC],
            qty,
            qty_by_base,
            _fraction(total[_USD], per_unit) if events else None,
            None if qty is None or not events else _fraction(total[_QTY], per_unit),
            None if span_ms is None else _fraction(events * HOUR_MS, span_ms),
            rate_hours,  # (all time over an hour or more: the duration, computed once)
        ),
        sides,
        exchanges,
        matrix,
        multi,
        per_symbol,
    )


def _exchange_figures(
    name: str, shares: _Shares, feeds: Mapping[str, Feed]
) -> ExchangeFigures:
    feed = feeds.get(name)
    if feed is None:
        return ExchangeFigures(*shares, name, None, "")
    return ExchangeFigures(*shares, name, feed.complete, feed.note)


class PlainDecimal(Decimal):
    """A Decimal whose ``str()`` and ``repr()`` never use exponent notation.

    Decimal prints values below 1e-6 as ``2.8E-7`` whatever their digits; derived figures that
    small are given to library users as this subclass so they print as ``0.00000028``. The
    others are plain Decimals, which print the same (no exponent: a derived figure has at most
    8 decimals and none above the units) and cost the cyclic GC nothing: an instance of a class
    defined in Python is tracked by it, a report over all symbols makes thousands of figures.
    Arithmetic on it returns plain Decimals; equality and hashing are Decimal's.
    """

    __slots__ = ()

    def __str__(self) -> str:
        return format(self, "f")

    def __repr__(self) -> str:
        return f"Decimal('{self!s}')"


def tidy(value: Decimal) -> Decimal:
    """Round a derived figure to DERIVED_PLACES and drop trailing zeros: a Decimal that prints
    without an exponent (a :class:`PlainDecimal` below 1e-6)."""
    # explicit contexts, not ``localcontext``: the same arithmetic, cheaper (many per report)
    text = format(value.quantize(_QUANTUM, context=_WIDE), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    figure = Decimal(text)
    return PlainDecimal(text) if figure and figure.adjusted() < -6 else figure


_HUNDRED = Decimal(100)
_NOUGHT = Decimal(0)
_E8 = 10**DERIVED_PLACES
# Units of 1e-8 from which a figure prints without an exponent as a plain Decimal (1e-6)
_PLAIN_UNITS = 10 ** (DERIVED_PLACES - 6)
# Below this (1e40), _fraction's exact rounding gives the figure of rounding the quotient to
# 100 digits first (what the Decimal arithmetic in _WIDE does): a quotient a/b that is not a
# rounding tie h lies at least 1/(2e8·b) from it, far more than the 100-digit rounding error.
_EXACT = 10**40
# the exponent of a derived figure with this many trailing zeros among its 8 decimals
_FRACTION_EXPONENTS = [f"E-{DERIVED_PLACES - zeros}" for zeros in range(DERIVED_PLACES)]
_ALL_PLACES = _FRACTION_EXPONENTS[0]


def _fraction(numerator: int, denominator: int) -> Decimal:
    """``tidy(numerator / denominator)`` (``denominator`` not 0) with integers: the exact
    quotient rounded half-even to DERIVED_PLACES, trailing zeros dropped, no exponent."""
    if numerator >= _EXACT or denominator >= _EXACT or numerator < 0 or denominator <= 0:
        return tidy(_WIDE.divide(Decimal(numerator), Decimal(denominator)))
    units, rest = divmod(numerator * _E8, denominator)
    # half-even: up when 2·rest > denominator, or on a tie (2·rest = denominator) when odd
    if rest + rest + (units & 1) > denominator:
        units += 1
    if units % 10:  # the usual case: all 8 decimals
        return (Decimal if units >= _PLAIN_UNITS else PlainDecimal)(f"{units}{_ALL_PLACES}")
    return _round_fraction(units)


def _round_fraction(units: int) -> Decimal:
    """The figure of ``units`` × 1e-8 when its last decimal is 0: trailing zeros dropped."""
    if not units:
        return _NOUGHT
    digits = str(units)
    stripped = digits.rstrip("0")
    zeros = len(digits) - len(stripped)
    if zeros >= DERIVED_PLACES:
        return Decimal(units // _E8)
    return (Decimal if units >= _PLAIN_UNITS else PlainDecimal)(
        stripped + _FRACTION_EXPONENTS[zeros])


_E10 = 100 * _E8
_EXACT_PART = _EXACT // 100  # a part below this gives a numerator (part × 100) below _EXACT


def _pct(part: int, whole: int) -> Decimal | None:
    """``tidy(part * 100 / whole)``, None when ``whole`` is 0 (a whole or an empty share is
    a constant). (``_fraction(part * 100, whole)`` written out: thousands per report.)"""
    if not whole:
        return None
    if part == whole:
        return _HUNDRED
    if not part:
        return _NOUGHT
    if part >= _EXACT_PART or whole >= _EXACT or part < 0 or whole < 0:
        return _fraction(part * 100, whole)
    units, rest = divmod(part * _E10, whole)
    if rest + rest + (units & 1) > whole:
        units += 1
    if units % 10:
        return (Decimal if units >= _PLAIN_UNITS else PlainDecimal)(f"{units}{_ALL_PLACES}")
    return _round_fraction(units)


def _hours(ms: int) -> Decimal:
    return _fraction(ms, HOUR_MS)


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
    return _fraction(last_ms - first_ms, HOUR_MS)
