"""``levels``: executed liquidations of one symbol by price band, LONG and SHORT per band.

Exactness: every event is first put in its *fine bucket*: the price truncated to 4 significant
digits (``91,066.6`` → ``[91,060, 91,070)``, ``3,406.86`` → ``[3,406, 3,407)``), the finest
resolution levels keep. Bands are ``[k·step, (k+1)·step)``; the step is snapped up to a multiple
of the widest fine bucket in the window (a power of ten), so a fine bucket never straddles two
bands and every band's figures are exact sums of whole events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import Protocol

from liqcli.errors import UsageError
from liqcli.model import Event, split_symbol
from liqcli.report.core import normalize_exchanges, normalize_symbols
from liqcli.report.stats import SideSplit
from liqcli.store.pricebands import Buckets, bucket_bounds, bucket_text

MAX_BANDS = 1000
DEFAULT_BANDS = 20
_WIDE = Context(prec=100)
_ZERO = Decimal(0)


class BucketSource(Protocol):
    """What levels needs from a store (``liqcli.store.Store`` is one)."""

    def price_buckets(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None,
        exchanges: Sequence[str] = (),
    ) -> tuple[Buckets, Event | None]: ...


@dataclass(frozen=True, slots=True)
class LevelBand(SideSplit):
    """Figures of the liquidations whose price lies in ``[low, high)``."""

    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class Levels:
    """Every band from the lowest to the highest liquidation price of the window (empty bands
    as zeros), ascending. ``step``: the band width used (snapped, see the module doc);
    ``last_price``: the price of the window's last liquidation (None without events)."""

    symbol: str
    base: str
    quote: str
    since_ms: int | None
    until_ms: int | None
    exchange_filter: tuple[str, ...]
    step: Decimal | None
    last_price: Decimal | None
    bands: tuple[LevelBand, ...]

    @property
    def events(self) -> int:
        return sum(band.events for band in self.bands)


def fine_bucket(price: Decimal) -> tuple[Decimal, Decimal]:
    """``(start, width)`` of the fine bucket holding ``price`` (> 0): 4 significant digits."""
    return bucket_bounds(bucket_text(price))


def snap_step(step: Decimal, widest: Decimal) -> Decimal:
    """``step`` rounded up to a multiple of ``widest`` (a power of ten)."""
    multiple = _WIDE.divide(step, widest).to_integral_value(rounding=ROUND_CEILING)
    return _WIDE.multiply(max(multiple, Decimal(1)), widest)


def check_levels(step: Decimal | None, bands: int | None) -> None:
    if step is not None and bands is not None:
        raise UsageError("--step and --bands exclude each other")
    if step is not None and not (step.is_finite() and step > 0):
        raise UsageError(f"--step: {step} is not a positive amount")
    if bands is not None and not 1 <= bands <= MAX_BANDS:
        raise UsageError(f"--bands: {bands} is not between 1 and {MAX_BANDS}")


def compute_levels(
    store: BucketSource,
    symbol: str | Iterable[str],
    *,
    step: Decimal | None = None,
    bands: int | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    exchanges: Iterable[str] | None = None,
) -> Levels:
    """Liquidations of one symbol by price band: ``step`` (quote currency) or ``bands``
    (that many bands over the window's price range; default 20)."""
    check_levels(step, bands)
    names = normalize_symbols(symbol)
    if len(names) != 1:
        raise UsageError("levels reports one symbol at a time (prices differ across symbols)")
    name = names[0]
    wanted = normalize_exchanges(exchanges)
    base, quote = split_symbol(name)
    buckets: dict[Decimal, _Sides] = {}
    widest = _ZERO
    last: Event | None = None
    if since_ms is None or until_ms is None or since_ms < until_ms:
        cells, last = store.price_buckets(name, since_ms, until_ms, wanted)
        for (text, side), (events, qty, usd) in cells.items():
            start, width = bucket_bounds(text)
            widest = max(widest, width)
            buckets.setdefault(start, _Sides()).add(side, int(events), Decimal(qty), Decimal(usd))
    if not buckets:
        return Levels(name, base, quote, since_ms, until_ms, wanted, None, None, ())
    lowest, highest = min(buckets), max(buckets)
    if step is None:
        top = _WIDE.add(highest, fine_bucket(highest)[1])
        step = _WIDE.divide(_WIDE.subtract(top, lowest), Decimal(bands or DEFAULT_BANDS))
    used = snap_step(step, widest)
    first = _WIDE.divide(lowest, used).to_integral_value(rounding=ROUND_FLOOR)
    count = int(_WIDE.divide(highest, used).to_integral_value(rounding=ROUND_FLOOR) - first) + 1
    if count > MAX_BANDS:
        raise UsageError(
            f"{count:,} bands of {used} is more than {MAX_BANDS:,}: use a larger --step"
        )
    sums = [_Sides() for _ in range(count)]
    for start, acc in buckets.items():
        index = _WIDE.divide(start, used).to_integral_value(rounding=ROUND_FLOOR) - first
        sums[int(index)].merge(acc)
    return Levels(
        name, base, quote, since_ms, until_ms, wanted, used, None if last is None else last.price,
        tuple(sums[k].band(_WIDE.multiply(first + k, used), used) for k in range(count)),
    )


@dataclass(slots=True)
class _Sides:
    """Exact LONG and SHORT sums of a fine bucket or a band."""

    long_events: int = 0
    long_usd: Decimal = _ZERO
    long_qty: Decimal = _ZERO
    short_events: int = 0
    short_usd: Decimal = _ZERO
    short_qty: Decimal = _ZERO

    def add(self, side: str, events: int, qty: Decimal, usd: Decimal) -> None:
        if side == "LONG":
            self.long_events += events
            self.long_usd = _WIDE.add(self.long_usd, usd)
            self.long_qty = _WIDE.add(self.long_qty, qty)
        else:
            self.short_events += events
            self.short_usd = _WIDE.add(self.short_usd, usd)
            self.short_qty = _WIDE.add(self.short_qty, qty)

    def merge(self, other: _Sides) -> None:
        self.long_events += other.long_events
        self.long_usd = _WIDE.add(self.long_usd, other.long_usd)
        self.long_qty = _WIDE.add(self.long_qty, other.long_qty)
        self.short_events += other.short_events
        self.short_usd = _WIDE.add(self.short_usd, other.short_usd)
        self.short_qty = _WIDE.add(self.short_qty, other.short_qty)

    def band(self, low: Decimal, step: Decimal) -> LevelBand:
        return LevelBand(
            low=_WIDE.plus(low), high=_WIDE.add(low, step),
            events=self.long_events + self.short_events,
            usd=_WIDE.add(self.long_usd, self.short_usd),
            qty=_WIDE.add(self.long_qty, self.short_qty),
            long_events=self.long_events, long_usd=self.long_usd, long_qty=self.long_qty,
            short_events=self.short_events, short_usd=self.short_usd, short_qty=self.short_qty,
        )
