"""The demo's sample generator: deterministic, in contract, realistic enough to be useful."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcli.feeds import sample
from liqcli.model import EXCHANGE_RE, SIDES, SYMBOL_RE

END_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def demo_rows() -> list[dict[str, Any]]:
    return list(sample.generate(5000, 42, end_ms=END_MS, symbols=sample.DEMO_SYMBOLS))


def usd(row: dict[str, Any]) -> Decimal:
    return Decimal(row["price"]) * Decimal(row["qty"])


def test_same_seed_same_output_different_seed_different() -> None:
    first = list(sample.generate(500, 7, end_ms=END_MS))
    again = list(sample.generate(500, 7, end_ms=END_MS))
    other = list(sample.generate(500, 8, end_ms=END_MS))
    assert first == again
    assert first != other


def test_global_random_state_is_left_alone() -> None:
    random.seed(123)
    state = random.getstate()
    list(sample.generate(200, 1, end_ms=END_MS))
    assert random.getstate() == state


def test_records_follow_the_normalized_input_contract(demo_rows: list[dict[str, Any]]) -> None:
    start = END_MS - 48 * HOUR_MS
    for row in demo_rows:
        assert set(row) == {"exchange", "symbol", "side", "price", "qty", "ts"}
        assert EXCHANGE_RE.fullmatch(row["exchange"])
        assert SYMBOL_RE.fullmatch(row["symbol"])
        assert row["side"] in SIDES
        for field in ("price", "qty"):
            text = row[field]
            assert isinstance(text, str)
            assert "e" not in text.lower() and not text.startswith(("-", "+"))
            assert Decimal(text) > 0
        assert isinstance(row["ts"], int)
        assert start <= row["ts"] < END_MS


def test_exact_count_time_order_and_distinct_events(demo_rows: list[dict[str, Any]]) -> None:
    assert len(demo_rows) == 5000
    stamps = [row["ts"] for row in demo_rows]
    assert stamps == sorted(stamps)
    keys = {(row["exchange"], row["symbol"], row["ts"]) for row in demo_rows}
    assert len(keys) == len(demo_rows)


def test_spans_at_least_a_day_with_every_venue_symbol_and_side(
        demo_rows: list[dict[str, Any]]) -> None:
    assert demo_rows[-1]["ts"] - demo_rows[0]["ts"] >= 24 * HOUR_MS
    assert {row["exchange"] for row in demo_rows} == {"binance", "bybit", "okx"}
    for symbol in sample.DEMO_SYMBOLS:
        assert {row["side"] for row in demo_rows if row["symbol"] == symbol} == set(SIDES)


def test_venue_shares_binance_then_bybit_then_okx(demo_rows: list[dict[str, Any]]) -> None:
    shares = Counter(row["exchange"] for row in demo_rows)
    assert shares["binance"] > shares["bybit"] > shares["okx"] > 0


def test_prices_on_tick_and_quantities_on_lot(demo_rows: list[dict[str, Any]]) -> None:
    for row in demo_rows:
        tick, step = sample.INSTRUMENTS[row["symbol"]].lots[row["exchange"]]
        assert Decimal(row["price"]) % Decimal(tick) == 0, row
        assert Decimal(row["qty"]) % Decimal(step) == 0, row


def test_prices_random_walk_near_their_anchor(demo_rows: list[dict[str, Any]]) -> None:
    for symbol in sample.DEMO_SYMBOLS:
        prices = [Decimal(r["price"]) for r in demo_rows if r["symbol"] == symbol]
        anchor = Decimal(str(sample.INSTRUMENTS[symbol].anchor))
        assert anchor * Decimal("0.7") < min(prices) < max(prices) < anchor * Decimal("1.3")
        assert len(set(prices)) > len(prices) // 2  # it moves


def test_sizes_are_heavy_tailed(demo_rows: list[dict[str, Any]]) -> None:
    sizes = sorted(usd(row) for row in demo_rows)
    median = sizes[len(sizes) // 2]
    assert sizes[int(len(sizes) * 0.99)] > 10 * median
    assert sizes[-1] > 100 * median
    # the largest 1 % of events carry a large share of the notional
    top = sum(sizes[int(len(sizes) * 0.99):], Decimal(0))
    assert top > Decimal("0.2") * sum(sizes, Decimal(0))


def test_cascades_are_one_sided_bursts(demo_rows: list[dict[str, Any]]) -> None:
    window_ms = 5 * 60_000
    windows: dict[int, Counter[str]] = {}
    for row in demo_rows:
        windows.setdefault(row["ts"] // window_ms, Counter())[row["side"]] += 1
    totals = [sum(c.values()) for c in windows.values()]
    typical = statistics.median(totals)
    bursts = [c for c in windows.values() if sum(c.values()) >= 8 * typical]
    assert bursts, "no cascade in two days"
    one_sided = [c for c in bursts if max(c.values()) >= 0.8 * sum(c.values())]
    assert len(one_sided) >= len(bursts) / 2
    assert {max(c, key=c.__getitem__) for c in one_sided} <= set(SIDES)


def test_default_end_is_now_rounded_down_to_the_hour() -> None:
    before = sample.default_end_ms()
    rows = list(sample.generate(50, 3))
    after = sample.default_end_ms()
    assert before % HOUR_MS == 0
    assert before - 48 * HOUR_MS <= rows[0]["ts"] and rows[-1]["ts"] < after


def test_write_jsonl_round_trips_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert sample.write_jsonl(first, sample.generate(300, 5, end_ms=END_MS)) == 300
    sample.write_jsonl(second, sample.generate(300, 5, end_ms=END_MS))
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(sample.generate(300, 5, end_ms=END_MS))


@pytest.mark.parametrize("kwargs", [
    {"n": -1},
    {"n": 10, "span_hours": 0},
    {"n": 10, "symbols": ("NOPEUSDT",)},
    {"n": 10, "symbols": ()},
    {"n": 10, "exchanges": ("binance", "binance")},
    {"n": 10_000_000, "span_hours": 1},
])
def test_bad_arguments_fail_at_call_time(kwargs: dict[str, Any]) -> None:
    n = kwargs.pop("n")
    with pytest.raises(ValueError):
        sample.generate(n, 1, end_ms=END_MS, **kwargs)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 300), seed=st.integers(0, 2**32), span_hours=st.integers(1, 72),
       symbols=st.sampled_from([("BTCUSDT",), sample.DEMO_SYMBOLS, ("1000PEPEUSDT", "ETHUSDT")]),
       exchanges=st.sampled_from([("binance",), ("okx", "bybit"), ("binance", "hyperliquid")]))
def test_any_arguments_give_n_ordered_distinct_events_in_the_span(
        n: int, seed: int, span_hours: int, symbols: tuple[str, ...],
        exchanges: tuple[str, ...]) -> None:
    rows = list(sample.generate(n, seed, end_ms=END_MS, symbols=symbols, exchanges=exchanges,
                                span_hours=span_hours))
    assert len(rows) == n
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    assert len({(r["exchange"], r["symbol"], r["ts"]) for r in rows}) == n
    assert all(END_MS - span_hours * HOUR_MS <= r["ts"] < END_MS for r in rows)
    assert {r["symbol"] for r in rows} <= set(symbols)
    assert {r["exchange"] for r in rows} <= set(exchanges)
    if n >= 2:  # covers its span: an event in the first and in the last minute
        assert rows[0]["ts"] < END_MS - span_hours * HOUR_MS + 60_000
        assert rows[-1]["ts"] >= END_MS - 60_000
