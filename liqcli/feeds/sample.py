"""Deterministic, realistic sample liquidations for ``liqcli demo`` and the benchmarks.

The sample is a function of ``(n, seed, end_ms, symbols, exchanges, span_hours)`` only: it uses
its own ``random.Random(seed)`` and never the wall clock, except that ``end_ms`` defaults to the
current time rounded down to the hour (so the demo looks recent). Pass ``end_ms`` for output that
is byte-identical across runs.

What it models (minute resolution, over ``span_hours`` ending at ``end_ms``):

* a market factor: a Gaussian random walk with rare jumps (shocks of 0.4-2.5 % over 3 minutes);
  each symbol follows it with its own beta plus idiosyncratic noise and mild mean reversion
  around an anchor price (BTC ~95k, ETH ~3.5k, SOL ~200, 1000PEPE ~0.012);
* liquidation cascades after every shock: for 10-30 minutes the event rate jumps (up to ~25x)
  and ~93 % of those events hit the side the move hurt (LONG positions after a drop, SHORT after
  a rally), with larger sizes;
* background liquidations whose rate and side lean follow the minute's return;
* heavy-tailed USD sizes (a log-normal body and a Pareto tail up to 30M USD);
* venue shares binance > bybit > okx, each venue's price tick and quantity step (exact strings),
  a bankruptcy price a little beyond the market on the liquidated side.

Records are dicts in liqcli's normalized input contract: ``exchange``, ``symbol``, ``side``
(``LONG``/``SHORT``), ``price`` and ``qty`` as exact decimal strings, ``ts`` in epoch ms; ``usd``
is omitted (it is price × qty), ``id`` too (real feeds have none). Output is in time order and no
two records share ``(exchange, symbol, ts)``, so every record is a distinct event even without ids.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DEFAULT_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
DEMO_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
DEFAULT_EXCHANGES: tuple[str, ...] = ("binance", "bybit", "okx")
# Rough shares of liquidation counts; venues not listed get a small share.
EXCHANGE_SHARES: Mapping[str, float] = {"binance": 0.5, "bybit": 0.3, "okx": 0.2}
OTHER_EXCHANGE_SHARE = 0.1
# At most this many events per symbol-minute on average: keeps (exchange, symbol, ts) unique.
MAX_EVENTS_PER_SYMBOL_MINUTE = 1000

_MARKET_VOL = 0.0007  # per-minute volatility of the market factor (~2.7 %/day)
_SHOCK_PROBABILITY = 1 / 150  # per minute: a cascade every ~2.5 h on average
_CASCADE_SIDE_SHARE = 0.93


@dataclass(frozen=True, slots=True)
class Increment:
    """A venue's price tick or quantity step as an exact scaled integer (``"0.10"`` → 10, 2)."""

    units: int
    scale: int

    @classmethod
    def parse(cls, text: str) -> Increment:
        whole, _, frac = text.partition(".")
        return cls(int(whole + frac), len(frac))

    @property
    def value(self) -> float:
        return self.units * 10.0**-self.scale

    def format(self, steps: int) -> str:
        """The exact decimal string of ``steps`` increments."""
        digits = str(steps * self.units)
        if self.scale == 0:
            return digits
        digits = digits.rjust(self.scale + 1, "0")
        return f"{digits[: -self.scale]}.{digits[-self.scale :]}"


@dataclass(frozen=True, slots=True)
class Instrument:
    """How one symbol behaves in the sample."""

    anchor: float  # typical price
    beta: float  # sensitivity to the market factor
    vol: float  # idiosyncratic per-minute volatility
    median_usd: float  # median size of a liquidation, USD
    weight: float  # relative share of liquidations across symbols
    lots: Mapping[str, tuple[str, str]]  # exchange -> (price tick, quantity step)

    def increments(self, exchange: str) -> tuple[Increment, Increment]:
        tick, step = self.lots.get(exchange, self.lots["binance"])
        return Increment.parse(tick), Increment.parse(step)


INSTRUMENTS: Mapping[str, Instrument] = {
    "BTCUSDT": Instrument(95_000.0, 1.0, 0.0002, 2_500.0, 1.0, {
        "binance": ("0.10", "0.001"), "bybit": ("0.10", "0.001"), "okx": ("0.1", "0.0001")}),
    "ETHUSDT": Instrument(3_500.0, 1.25, 0.0004, 1_800.0, 0.7, {
        "binance": ("0.01", "0.001"), "bybit": ("0.01", "0.01"), "okx": ("0.01", "0.001")}),
    "SOLUSDT": Instrument(200.0, 1.5, 0.0006, 1_200.0, 0.4, {
        "binance": ("0.0100", "1"), "bybit": ("0.010", "0.1"), "okx": ("0.01", "0.01")}),
    "1000PEPEUSDT": Instrument(0.012, 2.0, 0.0012, 800.0, 0.25, {
        "binance": ("0.0000001", "1"), "bybit": ("0.0000001", "100"),
        "okx": ("0.0000001", "1000")}),
}


def default_end_ms() -> int:
    """The current time rounded down to the hour, epoch ms (the demo's default end)."""
    now = int(time.time() * 1000)
    return now - now % HOUR_MS


def generate(
    n: int,
    seed: int,
    *,
    end_ms: int | None = None,
    symbols: Sequence[str] = DEFAULT_SYMBOLS,
    exchanges: Sequence[str] = DEFAULT_EXCHANGES,
    span_hours: int = 48,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` sample liquidations in time order, spanning ``span_hours`` up to ``end_ms``.

    Raises ValueError (at call time, not on first iteration) for bad arguments.
    """
    if n < 0:
        raise ValueError("the number of events must be >= 0")
    if span_hours < 1:
        raise ValueError("span_hours must be >= 1")
    if not symbols or not exchanges:
        raise ValueError("need at least one symbol and one exchange")
    unknown = [s for s in symbols if s not in INSTRUMENTS]
    if unknown:
        known = ", ".join(INSTRUMENTS)
        raise ValueError(f"no sample model for {', '.join(unknown)} (known: {known})")
    if len(set(symbols)) != len(symbols) or len(set(exchanges)) != len(exchanges):
        raise ValueError("symbols and exchanges must not repeat")
    minutes = span_hours * 60
    if n > MAX_EVENTS_PER_SYMBOL_MINUTE * minutes * len(symbols):
        raise ValueError(f"{n} events do not fit in {span_hours} h; use a longer span")
    end = default_end_ms() if end_ms is None else end_ms
    return _Generator(random.Random(seed), tuple(symbols), tuple(exchanges),
                      end - minutes * MINUTE_MS, minutes).events(n)


class _Generator:
    def __init__(self, rng: random.Random, symbols: tuple[str, ...],
                 exchanges: tuple[str, ...], start_ms: int, minutes: int) -> None:
        self.rng = rng
        self.symbols = symbols
        self.exchanges = exchanges
        self.start_ms = start_ms
        self.minutes = minutes
        shares = [EXCHANGE_SHARES.get(e, OTHER_EXCHANGE_SHARE) for e in exchanges]
        self.exchange_cum = list(_accumulate(shares))
        self.market, self.cascade, self.cascade_long = self._market()
        self.prices = [self._price_path(INSTRUMENTS[s]) for s in symbols]

    # -- the market --------------------------------------------------------------------------

    def _market(self) -> tuple[list[float], list[float], list[bool]]:
        """Per-minute market returns, cascade intensity and cascade side (True = LONG hit)."""
        rng, minutes = self.rng, self.minutes
        returns = [rng.gauss(0.0, _MARKET_VOL) for _ in range(minutes)]
        cascade = [0.0] * minutes
        cascade_long = [False] * minutes
        shocks = [m for m in range(minutes) if rng.random() < _SHOCK_PROBABILITY]
        if not shocks:  # every sample shows at least one cascade
            shocks = [rng.randrange(minutes)]
        for minute in shocks:
            down = rng.random() < 0.55
            size = rng.uniform(0.004, 0.025)
            amplitude = 6.0 + 19.0 * (size - 0.004) / 0.021
            duration = rng.randint(10, 30)
            for lag, part in enumerate((0.5, 0.3, 0.2)):
                if minute + lag < minutes:
                    returns[minute + lag] += -size * part if down else size * part
            for lag in range(duration):
                m = minute + lag
                if m >= minutes:
                    break
                boost = amplitude * math.exp(-lag / (duration / 3))
                if boost > cascade[m]:
                    cascade_long[m] = down
                cascade[m] += boost
        return returns, cascade, cascade_long

    def _price_path(self, inst: Instrument) -> list[float]:
        """Minute-start prices (minutes + 1 points) of one symbol."""
        rng = self.rng
        anchor = math.log(inst.anchor)
        log_price = anchor + rng.gauss(0.0, 0.02)
        path = [math.exp(log_price)]
        for ret in self.market:
            log_price += inst.beta * ret + rng.gauss(0.0, inst.vol)
            log_price -= 0.002 * (log_price - anchor)
            path.append(math.exp(log_price))
        return path

    def _symbol_return(self, index: int, minute: int) -> float:
        path = self.prices[index]
        return path[minute + 1] / path[minute] - 1.0

    # -- apportioning events to (minute, symbol) cells ----------------------------------------

    def _weights(self) -> list[float]:
        weights: list[float] = []
        for minute in range(self.minutes):
            hour = ((self.start_ms + minute * MINUTE_MS) // HOUR_MS) % 24
            daily = 1.0 + 0.3 * math.sin(2 * math.pi * (hour - 8) / 24)
            for index, symbol in enumerate(self.symbols):
                inst = INSTRUMENTS[symbol]
                sigma = math.hypot(inst.beta * _MARKET_VOL, inst.vol)
                move = min(abs(self._symbol_return(index, minute)) / sigma, 6.0)
                background = daily * (1.0 + 0.3 * move)
                weights.append(inst.weight * (background + self.cascade[minute]))
        return weights

    def _counts(self, n: int) -> list[int]:
        """Integer event counts per (minute, symbol) cell summing to n (largest remainder)."""
        weights = self._weights()
        total = sum(weights)
        exact = [n * w / total for w in weights]
        counts = [int(x) for x in exact]
        short = n - sum(counts)
        by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
        for i in by_remainder[:short]:
            counts[i] += 1
        width = len(self.symbols)
        # Make the sample cover its whole span: an event in the first and in the last minute.
        if n >= 2 and len(counts) > width:
            _cover_edges(counts, width)
        return counts

    # -- events -------------------------------------------------------------------------------

    def events(self, n: int) -> Iterator[dict[str, Any]]:
        if n == 0:
            return
        counts = self._counts(n)
        width = len(self.symbols)
        for minute in range(self.minutes):
            batch: list[tuple[int, int, int, dict[str, Any]]] = []
            for index in range(width):
                count = counts[minute * width + index]
                if count:
                    batch.extend(self._cell(minute, index, count))
            batch.sort(key=lambda row: row[:3])
            for row in batch:
                yield row[3]

    def _cell(self, minute: int, index: int,
              count: int) -> Iterator[tuple[int, int, int, dict[str, Any]]]:
        rng = self.rng
        symbol = self.symbols[index]
        inst = INSTRUMENTS[symbol]
        sigma = math.hypot(inst.beta * _MARKET_VOL, inst.vol)
        ret = self._symbol_return(index, minute)
        background = 1.0 + 0.3 * min(abs(ret) / sigma, 6.0)
        cascade_share = self.cascade[minute] / (background + self.cascade[minute])
        cascade_long = self.cascade_long[minute]
        background_long = min(max(0.5 - 0.15 * ret / sigma, 0.15), 0.85)
        open_price = self.prices[index][minute]
        close_price = self.prices[index][minute + 1]
        minute_ms = self.start_ms + minute * MINUTE_MS
        chosen = rng.choices(range(len(self.exchanges)), cum_weights=self.exchange_cum, k=count)
        for venue in range(len(self.exchanges)):
            venue_count = chosen.count(venue)
            if not venue_count:
                continue
            exchange = self.exchanges[venue]
            tick, step = inst.increments(exchange)
            tick_value, step_value = tick.value, step.value
            for offset in sorted(rng.sample(range(MINUTE_MS), venue_count)):
                in_cascade = rng.random() < cascade_share
                if in_cascade:
                    long = cascade_long if rng.random() < _CASCADE_SIDE_SHARE else not cascade_long
                else:
                    long = rng.random() < background_long
                market = open_price + (close_price - open_price) * offset / MINUTE_MS
                slip = rng.random() * (0.008 if in_cascade else 0.004)
                price = market * (1.0 - slip if long else 1.0 + slip)
                usd = self._size(inst.median_usd, in_cascade)
                price_steps = max(1, round(price / tick_value))
                qty_steps = max(1, int(usd / price / step_value))
                record = {
                    "exchange": exchange,
                    "symbol": symbol,
                    "side": "LONG" if long else "SHORT",
                    "price": tick.format(price_steps),
                    "qty": step.format(qty_steps),
                    "ts": minute_ms + offset,
                }
                yield minute_ms + offset, index, venue, record

    def _size(self, median_usd: float, in_cascade: bool) -> float:
        rng = self.rng
        if rng.random() < 0.04:
            usd = 8.0 * median_usd * rng.paretovariate(1.25)
        else:
            usd = rng.lognormvariate(math.log(median_usd), 1.25)
        if in_cascade:
            usd *= 1.5 + 2.0 * rng.random()
        return min(usd, 30_000_000.0)


def _cover_edges(counts: list[int], width: int) -> None:
    """Move single events so the first and the last ``width`` cells are not all empty."""
    first, last = range(width), range(len(counts) - width, len(counts))
    for edge, other in ((first, last), (last, first)):
        if any(counts[i] for i in edge):
            continue
        other_total = sum(counts[i] for i in other)
        donors = [i for i, count in enumerate(counts)
                  if count and i not in edge and (i not in other or other_total >= 2)]
        donor = max(donors, key=lambda i: (counts[i], -i))
        counts[donor] -= 1
        counts[edge[0]] += 1


def _accumulate(values: Iterable[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def dumps(record: Mapping[str, Any]) -> str:
    """One compact JSON line (no trailing newline)."""
    return json.dumps(record, separators=(",", ":"))


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write records as JSON Lines (UTF-8, ``\\n``); return how many were written."""
    written = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(dumps(record))
            out.write("\n")
            written += 1
    return written
