"""The aggregation core: exact CumulativeStats from the store's rollups.

Every report command and the library build their figures here. No Typer, rich or formatting.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

# records, not dataclasses: no dataclasses import or class-creation cost (liqcli/_record.py)
from liqcli._record import field, replace
from liqcli._record import record as dataclass
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
    from collections.abc import Iterable, Mapping, Sequence
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
            return _build((rollups[0],), window, wanted, feeds, multi=False)
        per_symbol = tuple(
            _build((r,), window, wanted, feeds, multi=False) for r in rollups
        )
        combined = _build(tuple(rollups), window, wanted, feeds, multi=True)
        return replace(combined, per_symbol=per_symbol)


# events, usd, qty, qty_by_base, events_pct, usd_pct, qty_pct (the field order of Figures)
_Shares = tuple[
    int, Decimal, Decimal | None, dict[str, Decimal], Decimal | None, Decimal | None,
    Decimal | None,
]


@dataclass(slots=True)
class _Acc:
    events: int = 0
    usd: Decimal = Decimal(0)
    qty_by_base: dict[str, Decimal] = field(default_factory=dict)
    first_ms: int | None = None
    last_ms: int | None = None

    def add(self, base: str, events: int, usd: Decimal, qty: Decimal,
            first_ms: int | None, last_ms: int | None) -> None:
        self.events += events
        self.usd += usd
        self.qty_by_base[base] = self.qty_by_base.get(base, Decimal(0)) + qty
        if first_ms is not None and (self.first_ms is None or first_ms < self.first_ms):
            self.first_ms = first_ms
        if last_ms is not None and (self.last_ms is None or last_ms > self.last_ms):
            self.last_ms = last_ms

    def qty(self, bases: Sequence[str]) -> Decimal | None:
        """The quantity when the report has one base asset, else None."""
        if len(bases) != 1:
            return None
        return self.qty_by_base.get(bases[0], Decimal(0))

    def by_base(self, bases: Sequence[str]) -> dict[str, Decimal]:
        return {base: self.qty_by_base.get(base, Decimal(0)) for base in bases}


def _build(
    rollups: tuple[Rollup, ...],
    window: tuple[int | None, int | None, int | None],
    wanted: tuple[str, ...],
    feeds: Mapping[str, Feed],
    *,
    multi: bool,
) -> CumulativeStats:
    since_ms, until_ms, now_ms = window
    symbols = tuple(r.symbol for r in rollups)
    pairs = [split_symbol(s) for s in symbols]
    bases = sorted({base for base, _ in pairs})
    quotes = sorted({quote for _, quote in pairs})

    total = _Acc()
    by_side: dict[Side, _Acc] = {side: _Acc() for side in SIDES}
    by_exchange: dict[str, _Acc] = {}
    by_cell: dict[tuple[str, Side], _Acc] = {}
    for rollup, (base, _) in zip(rollups, pairs, strict=True):
        for (exchange, side), cell in rollup.cells.items():
            if cell.events == 0 or (wanted and exchange not in wanted):
                continue
            figures = (base, cell.events, cell.usd, cell.qty, cell.first_ms, cell.last_ms)
            total.add(*figures)
            by_side[side].add(*figures)
            by_exchange.setdefault(exchange, _Acc()).add(*figures)
            by_cell.setdefault((exchange, side), _Acc()).add(*figures)

    total_qty = total.qty(bases)
    duration = _duration_hours(total.first_ms, total.last_ms)
    span_ms = rate_span_ms(since_ms, until_ms, now_ms, total.first_ms, total.last_ms)

    def shares(acc: _Acc) -> _Shares:
        qty = acc.qty(bases)
        return (
            acc.events,
            acc.usd,
            qty,
            acc.by_base(bases),
            _pct(Decimal(acc.events), Decimal(total.events)),
            _pct(acc.usd, total.usd),
            None if qty is None or total_qty is None else _pct(qty, total_qty),
        )

    exchange_names = sorted(by_exchange)
    return CumulativeStats(
        symbols=symbols,
        base=bases[0] if len(bases) == 1 else None,
        quote=quotes[0] if len(quotes) == 1 else None,
        since_ms=since_ms,
        until_ms=until_ms,
        exchange_filter=wanted,
        first_ms=total.first_ms,
        last_ms=total.last_ms,
        duration_hours=duration,
        totals=Totals(
            events=total.events,
            usd=total.usd,
            qty=total_qty,
            qty_by_base=total.by_base(bases),
            avg_usd=_ratio(total.usd, Decimal(total.events)),
            avg_qty=None if total_qty is None else _ratio(total_qty, Decimal(total.events)),
            events_per_hour=(
                None if span_ms is None else _ratio(Decimal(total.events * HOUR_MS),
                                                    Decimal(span_ms))
            ),
            rate_hours=None if span_ms is None else _hours(span_ms),
        ),
        sides=tuple(SideFigures(*shares(by_side[side]), side=side) for side in SIDES),
        exchanges=tuple(
            ExchangeFigures(
                *shares(by_exchange[name]), exchange=name,
                complete=None if (feed := feeds.get(name)) is None else feed.complete,
                note="" if feed is None else feed.note,
            )
            for name in exchange_names
        ),
        matrix=tuple(
            _matrix_cell(name, side, by_cell.get((name, side), _Acc()), bases)
            for name in exchange_names
            for side in SIDES
        ),
        multi=multi,
    )


def _matrix_cell(exchange: str, side: Side, acc: _Acc, bases: Sequence[str]) -> MatrixCell:
    return MatrixCell(
        exchange=exchange,
        side=side,
        events=acc.events,
        usd=acc.usd,
        qty=acc.qty(bases),
        qty_by_base=acc.by_base(bases),
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


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return tidy(_WIDE.divide(_WIDE.multiply(part, 100), whole))


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
