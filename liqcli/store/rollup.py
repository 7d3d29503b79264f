"""Exact sums read from the store: what the aggregation core builds reports from."""

from __future__ import annotations

from decimal import Decimal

from liqcli._record import field, record
from liqcli.model import AMOUNT_CONTEXT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from liqcli.model import Side

# A cell's exact sums as integers (``Store.rollup_units``): events, the qty and usd sums in
# 1e-18 units (UNIT_PLACES decimals), first and last event time (epoch ms).
CellUnits = tuple[int, int, int, int | None, int | None]
UNIT_PLACES = 18


@record()
class Cell:
    """Exact sums for one symbol × exchange × side (over all time or a window)."""

    events: int = 0
    qty: Decimal = Decimal(0)
    usd: Decimal = Decimal(0)
    first_ms: int | None = None  # earliest event time in the cell, epoch ms
    last_ms: int | None = None  # latest event time in the cell, epoch ms

    def add(
        self, events: int, qty: Decimal, usd: Decimal, first_ms: int | None, last_ms: int | None
    ) -> None:
        self.events += events
        self.qty = AMOUNT_CONTEXT.add(self.qty, qty)
        self.usd = AMOUNT_CONTEXT.add(self.usd, usd)
        if first_ms is not None and (self.first_ms is None or first_ms < self.first_ms):
            self.first_ms = first_ms
        if last_ms is not None and (self.last_ms is None or last_ms > self.last_ms):
            self.last_ms = last_ms


@record()
class Rollup:
    """All cells of one symbol for a window ([since_ms, until_ms); None = unbounded)."""

    symbol: str
    since_ms: int | None = None
    until_ms: int | None = None
    cells: dict[tuple[str, Side], Cell] = field(default_factory=dict)

    def cell(self, exchange: str, side: Side) -> Cell:
        found = self.cells.get((exchange, side))
        if found is None:
            found = self.cells[(exchange, side)] = Cell()
        return found

    @property
    def exchanges(self) -> list[str]:
        return sorted({exchange for exchange, _ in self.cells})
