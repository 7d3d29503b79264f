"""A realistic, deterministic all-market workload: 300 symbols, 5 exchanges, 30 days, cascades.

* 300 symbols: BTCUSDT, ETHUSDT and SOLUSDT take 60 % of the events (30/20/10 %), the other
  297 share 40 % with Zipf-like weights (a few mid-caps, a long tail of sparse symbols);
* 5 exchanges (binance 40 %, bybit 25 %, okx 20 %, bitget 10 %, hyperliquid 5 %);
* 30 days ending at ``end_ms``, time-ordered: a daily rhythm, and bursty cascades (a few
  hundred, minutes long, up to 40 × the base rate, mostly one side);
* prices as a per-symbol random walk at the symbol's tick, heavy-tailed quantities at the
  symbol's step; every event has an id (unique per exchange).

The event count is exact for any ``n`` (per-minute counts are apportioned from weights). The
same ``n`` and ``seed`` give the same events, byte for byte. 300,000 events is the "sparse
month" of an all-market feed: 40 % of them over 297 small symbols (≈ 13 a day each).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from pathlib import Path

DAY_MS = 86_400_000
MINUTE_MS = 60_000
END_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
SPAN_DAYS = 30
EXCHANGES = (("binance", 0.40), ("bybit", 0.25), ("okx", 0.20), ("bitget", 0.10),
             ("hyperliquid", 0.05))
MAJORS = (("BTCUSDT", 0.30, 90_000.0, 1, 3), ("ETHUSDT", 0.20, 3_200.0, 2, 3),
          ("SOLUSDT", 0.10, 180.0, 3, 1))
TAIL_BASES = ("XRP", "DOGE", "BNB", "ADA", "AVAX", "LINK", "DOT", "TRX", "TON", "SUI", "LTC",
              "NEAR", "APT", "ARB", "OP", "FIL", "ATOM", "INJ", "SEI", "TIA", "WIF", "1000PEPE",
              "1000BONK", "ORDI", "ENA", "WLD", "JUP", "PYTH", "STRK", "AAVE")


def symbols() -> list[tuple[str, float, float, int, int]]:
    """(symbol, weight, start price, price decimals, qty decimals) for the 300 symbols."""
    out = list(MAJORS)
    rng = random.Random(7)
    zipf = [1 / (rank + 2) ** 1.1 for rank in range(297)]
    scale = 0.40 / sum(zipf)
    for rank in range(297):
        base = TAIL_BASES[rank] if rank < len(TAIL_BASES) else f"X{rank:03d}"
        price = 10 ** rng.uniform(-4, 3)
        decimals = max(0, 4 - math.floor(math.log10(price)))
        out.append((f"{base}USDT", zipf[rank] * scale, price, min(decimals, 8),
                    max(0, min(3, 2 - math.floor(math.log10(price))))))
    return out


def _minute_weights(rng: random.Random, minutes: int) -> list[float]:
    weights = [0.0] * minutes
    for m in range(minutes):
        hour = (m // 60) % 24
        weights[m] = (1.0 + 0.5 * math.sin((hour - 8) / 24 * 2 * math.pi)) * rng.uniform(0.5, 1.5)
    for _ in range(12 * SPAN_DAYS):  # cascades: a few minutes at up to 40 x the base rate
        start = rng.randrange(minutes)
        length = int(rng.expovariate(1 / 6)) + 1
        peak = rng.uniform(5, 40)
        for k in range(length):
            if start + k < minutes:
                weights[start + k] += peak * math.exp(-k / max(1, length / 3))
    return weights


def generate(n: int, seed: int = 2026, end_ms: int = END_MS) -> Iterator[dict[str, object]]:
    """``n`` events, time-ordered, as dicts of the event contract (amounts as strings)."""
    rng = random.Random(seed)
    minutes = SPAN_DAYS * 24 * 60
    start_ms = end_ms - SPAN_DAYS * DAY_MS
    weights = _minute_weights(rng, minutes)
    table = symbols()
    cumulative_symbols = _cumulative([s[1] for s in table])
    exchange_names = [e[0] for e in EXCHANGES]
    cumulative_exchanges = _cumulative([e[1] for e in EXCHANGES])
    drift = [0.0] * len(table)  # log-price deviation, mean-reverting
    total = sum(weights)
    ids = dict.fromkeys(exchange_names, 0)
    done = 0
    acc = 0.0
    for m in range(minutes):
        acc += weights[m]
        count = round(n * acc / total) - done if m < minutes - 1 else n - done
        if count <= 0:
            continue
        done += count
        long_bias = 0.85 if weights[m] > 4 else 0.5  # a cascade liquidates mostly one side
        offsets = sorted(rng.randrange(MINUTE_MS) for _ in range(count))
        for offset in offsets:
            i = _pick(cumulative_symbols, rng.random())
            name, _, _, price_places, qty_places = table[i]
            drift[i] = 0.999 * drift[i] + rng.gauss(0, 0.002)
            price = table[i][2] * math.exp(drift[i])
            exchange = exchange_names[_pick(cumulative_exchanges, rng.random())]
            ids[exchange] += 1
            qty = rng.lognormvariate(0, 1.4) * 1000 / price
            qty_text = f"{max(qty, 10.0 ** -qty_places):.{qty_places}f}"
            if float(qty_text) == 0:
                qty_text = f"{10.0 ** -qty_places:.{qty_places}f}"
            yield {
                "exchange": exchange,
                "symbol": name,
                "side": "LONG" if rng.random() < long_bias else "SHORT",
                "price": _price_text(price, price_places),
                "qty": qty_text,
                "ts": start_ms + m * MINUTE_MS + offset,
                "id": f"{exchange[:2]}{ids[exchange]}",
            }


def _price_text(price: float, places: int) -> str:
    text = f"{price:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if float(text) > 0 else f"{10.0 ** -places:.{places}f}"


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    out, acc = [], 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0
    return out


def _pick(cumulative: list[float], x: float) -> int:
    from bisect import bisect_right

    return min(bisect_right(cumulative, x), len(cumulative) - 1)


def write_jsonl(path: Path, n: int, seed: int = 2026) -> int:
    """Write ``n`` events to ``path`` (JSON Lines); returns the count."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(dumps(event) + "\n" for event in generate(n, seed))
    return n
