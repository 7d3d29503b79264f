"""Typed results of the aggregation core (no I/O, no formatting).

``CumulativeStats`` holds exact Decimal totals for one symbol, or for several symbols together.
Base-asset quantities are only summed within one base asset: when the symbols of a report mix
base assets, ``qty`` (and its shares and averages) is ``None`` and ``qty_by_base`` carries the
quantity of each base asset. The old script's field names (``total_events``, ``long_btc``,
``exchange_side_usd`` …) are read-only properties over the same figures.
"""

from __future__ import annotations

from decimal import Decimal

from liqcli._record import field, record
from liqcli.model import SIDES

TYPE_CHECKING = False
if TYPE_CHECKING:  # the one-shot report path imports no typing, datetime or dataclasses
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from typing import TypeVar

    from liqcli.model import Side

    T = TypeVar("T")

_ZERO = Decimal(0)


@record(frozen=True)
class Figures:
    """Events, USD notional and base quantity of one breakdown row, with shares of the total."""

    events: int
    usd: Decimal
    qty: Decimal | None  # None when the row mixes base assets (see ``qty_by_base``)
    qty_by_base: Mapping[str, Decimal]
    events_pct: Decimal | None  # percent of the report's total; None when the total is 0
    usd_pct: Decimal | None
    qty_pct: Decimal | None


@record(frozen=True)
class SideFigures(Figures):
    """Figures of one liquidated position side (LONG or SHORT)."""

    side: Side


@record(frozen=True)
class ExchangeFigures(Figures):
    """Figures of one exchange. ``complete``: the exchange's feed delivers every liquidation
    (True), only a sample so the figures are lower bounds (False), or unknown (None); ``note``
    says why for a sampled feed (``liqcli.report.completeness``)."""

    exchange: str
    complete: bool | None = None
    note: str = ""


@record(frozen=True)
class MatrixCell:
    """Exchange × side figures."""

    exchange: str
    side: Side
    events: int
    usd: Decimal
    qty: Decimal | None
    qty_by_base: Mapping[str, Decimal]


@record(frozen=True)
class Totals:
    """Report totals; averages per event and the rate over a stated span (``rate_hours``)."""

    events: int
    usd: Decimal
    qty: Decimal | None
    qty_by_base: Mapping[str, Decimal]
    avg_usd: Decimal | None  # None without events
    avg_qty: Decimal | None  # None without events or with mixed base assets
    events_per_hour: Decimal | None  # events / rate_hours; None without a span
    # The span the rate is over, in hours: the window (its open end clipped to "now"), or for
    # all time first to last event but at least one hour. None without a span.
    rate_hours: Decimal | None = None


@record(frozen=True)
class SideSplit:
    """Events, USD and base quantity, in total and for each liquidated side (a ``history``
    bucket, a ``levels`` band)."""

    events: int
    usd: Decimal
    qty: Decimal
    long_events: int
    long_usd: Decimal
    long_qty: Decimal
    short_events: int
    short_usd: Decimal
    short_qty: Decimal


@record(frozen=True)
class CoverageGap:
    """A time ``[start_ms, end_ms)`` inside the report window when the live collector was not
    connected to ``exchange`` (for at least one of the report's symbols). ``ongoing``: the gap
    reaches the report's "now" (the feed is not connected at report time)."""

    exchange: str
    start_ms: int
    end_ms: int
    hours: Decimal  # rounded like the other derived figures
    ongoing: bool = False


@record(frozen=True)
class Coverage:
    """Live-collector coverage of the report window (see ``liqcli.store.coverage``).

    ``exchanges``: the exchanges (after the exchange filter) that ``liqcli collect`` ever
    recorded a connection for, covering one of the report's symbols; only they are checked.
    ``gaps``: by exchange, then time. ``as_of_ms``: the "now" an open window ends at.
    """

    exchanges: tuple[str, ...]
    gaps: tuple[CoverageGap, ...]
    as_of_ms: int

    def gaps_of(self, exchange: str) -> tuple[CoverageGap, ...]:
        return tuple(gap for gap in self.gaps if gap.exchange == exchange)


@record(frozen=True)
class CumulativeStats:
    """Cumulative figures of one or more symbols over a window [since_ms, until_ms).

    ``first_ms``/``last_ms`` are the first and last event times in the report (None without
    events) and ``duration_hours`` the time between them. ``multi`` tells a report over a set
    of symbols (``-s A -s B``, ``--all-symbols``) from a one-symbol report; ``per_symbol`` then
    holds the one-symbol reports it sums. ``coverage`` lists the live collector's gaps inside
    the window; None when not computed (``compute_stats(..., coverage=True)`` computes it).
    """

    symbols: tuple[str, ...]
    base: str | None  # None when the symbols mix base assets
    quote: str | None
    since_ms: int | None
    until_ms: int | None
    exchange_filter: tuple[str, ...]
    first_ms: int | None
    last_ms: int | None
    duration_hours: Decimal | None
    totals: Totals
    sides: tuple[SideFigures, ...]
    exchanges: tuple[ExchangeFigures, ...]
    matrix: tuple[MatrixCell, ...]
    multi: bool = False
    per_symbol: tuple[CumulativeStats, ...] = field(default=())
    coverage: Coverage | None = None

    # ----------------------------------------------------------- conveniences
    @property
    def symbol(self) -> str | None:
        """The symbol of a one-symbol report, else None."""
        return self.symbols[0] if not self.multi and len(self.symbols) == 1 else None

    @property
    def first_event(self) -> datetime | None:
        from liqcli.report.timeparse import utc_datetime

        return None if self.first_ms is None else utc_datetime(self.first_ms)

    @property
    def last_event(self) -> datetime | None:
        from liqcli.report.timeparse import utc_datetime

        return None if self.last_ms is None else utc_datetime(self.last_ms)

    def side(self, side: Side) -> SideFigures:
        for row in self.sides:
            if row.side == side:
                return row
        raise KeyError(side)  # pragma: no cover - sides always holds LONG and SHORT

    def exchange(self, name: str) -> ExchangeFigures | None:
        for row in self.exchanges:
            if row.exchange == name:
                return row
        return None

    def cell(self, exchange: str, side: Side) -> MatrixCell | None:
        for row in self.matrix:
            if row.exchange == exchange and row.side == side:
                return row
        return None

    def symbol_reports(self) -> tuple[CumulativeStats, ...]:
        """One-symbol reports: ``per_symbol`` for a multi-symbol report, else ``(self,)``."""
        return self.per_symbol if self.multi else (self,)

    # ------------------------------------------- the old script's field names
    @property
    def total_events(self) -> int:
        return self.totals.events

    @property
    def total_usd(self) -> Decimal:
        return self.totals.usd

    @property
    def total_btc(self) -> Decimal | None:
        """Base-asset quantity (named ``btc`` by the old script, whatever the base asset)."""
        return self.totals.qty

    @property
    def long_events(self) -> int:
        return self.side("LONG").events

    @property
    def short_events(self) -> int:
        return self.side("SHORT").events

    @property
    def long_usd(self) -> Decimal:
        return self.side("LONG").usd

    @property
    def short_usd(self) -> Decimal:
        return self.side("SHORT").usd

    @property
    def long_btc(self) -> Decimal | None:
        return self.side("LONG").qty

    @property
    def short_btc(self) -> Decimal | None:
        return self.side("SHORT").qty

    @property
    def exchange_events(self) -> dict[str, int]:
        return {row.exchange: row.events for row in self.exchanges}

    @property
    def exchange_usd(self) -> dict[str, Decimal]:
        return {row.exchange: row.usd for row in self.exchanges}

    @property
    def exchange_btc(self) -> dict[str, Decimal | None]:
        return {row.exchange: row.qty for row in self.exchanges}

    @property
    def exchange_side_events(self) -> dict[str, dict[str, int]]:
        """``{exchange: {"LONG": n, "SHORT": n}}`` (nested, like the old script)."""
        return self._nested(lambda c: c.events, 0)

    @property
    def exchange_side_usd(self) -> dict[str, dict[str, Decimal]]:
        return self._nested(lambda c: c.usd, _ZERO)

    @property
    def exchange_side_btc(self) -> dict[str, dict[str, Decimal | None]]:
        zero: Decimal | None = _ZERO
        return self._nested(lambda c: c.qty, zero)

    @property
    def start_time(self) -> datetime | None:
        """First event time, timezone-aware UTC (None without events)."""
        return self.first_event

    @property
    def end_time(self) -> datetime | None:
        return self.last_event

    def _nested(self, pick: Callable[[MatrixCell], T], zero: T) -> dict[str, dict[str, T]]:
        nested: dict[str, dict[str, T]] = {
            row.exchange: dict.fromkeys(SIDES, zero) for row in self.exchanges
        }
        for cell in self.matrix:
            nested.setdefault(cell.exchange, dict.fromkeys(SIDES, zero))[cell.side] = pick(cell)
        return nested
