"""The library API: ``import liqcli`` and the old script's names, against a real store."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from test_core import HOUR, T0, Expected, make_events

import liqcli
from liqcli.errors import StoreError, UsageError
from liqcli.model import Event
from liqcli.store.store import Store

ROOT = Path(__file__).resolve().parent.parent

# The README's "Library" example (keep the two in sync).
EXAMPLE = """
from liqcli import LiquidationDataAggregator, format_stats_summary

aggregator = LiquidationDataAggregator()          # LIQCLI_REDIS_URL / REDIS_URL / localhost
stats = aggregator.get_cumulative_stats("BTCUSDT", since="24h")
print(f"{stats.total_events} events, {stats.total_usd:,.2f} USD, {stats.total_btc} BTC")
for exchange in aggregator.get_exchanges(symbol="BTCUSDT"):
    print(exchange, stats.exchange_events.get(exchange, 0), stats.exchange_side_usd.get(exchange))
print(format_stats_summary(stats))
"""


@pytest.fixture()
def events(redis_url: str) -> list[Event]:
    events = make_events(n=300, seed=5)
    Store(redis.Redis.from_url(redis_url)).ingest(events)
    return events


def test_lazy_exports() -> None:
    code = ("import sys, liqcli; assert 'liqcli.report.core' not in sys.modules; "
            "liqcli.compute_stats; assert 'liqcli.report.core' in sys.modules; "
            "assert 'rich' not in sys.modules and 'redis' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    for name in ("CumulativeStats", "SideFigures", "ExchangeFigures", "MatrixCell",
                 "compute_stats", "LiquidationDataAggregator", "format_stats_summary"):
        assert getattr(liqcli, name) is not None


def test_aggregator_matches_recomputation(redis_url: str, events: list[Event]) -> None:
    aggregator = liqcli.LiquidationDataAggregator(redis_url=redis_url)
    stats = aggregator.get_cumulative_stats()
    exp = Expected(events, ["BTCUSDT"])
    assert isinstance(stats, liqcli.CumulativeStats)
    assert (stats.total_events, stats.total_usd, stats.total_btc) == (
        exp.total.events, exp.total.usd, exp.qty)
    assert (stats.long_events, stats.short_events) == (
        exp.sides["LONG"].events, exp.sides["SHORT"].events)
    assert (stats.long_usd, stats.short_usd) == (exp.sides["LONG"].usd, exp.sides["SHORT"].usd)
    assert (stats.long_btc, stats.short_btc) == (
        exp.sides["LONG"].qty["BTC"], exp.sides["SHORT"].qty["BTC"])
    assert stats.exchange_btc == {n: a.qty["BTC"] for n, a in exp.exchanges.items()}
    assert stats.exchange_side_usd == {
        n: {s: exp.cells[(n, s)].usd if (n, s) in exp.cells else Decimal(0)
            for s in ("LONG", "SHORT")} for n in exp.exchanges}
    assert stats.start_time == datetime.fromtimestamp(exp.total.first / 1000, UTC)  # type: ignore[operator]
    assert stats.duration_hours == exp.duration
    assert aggregator.get_exchanges(symbol="btcusdt") == sorted(exp.exchanges)
    assert aggregator.get_exchanges() == sorted({e.exchange for e in events})


@pytest.mark.parametrize(("since", "until"), [
    (datetime(2024, 8, 17, 14, 30, tzinfo=UTC), datetime(2024, 8, 17, 18, 0, 0, 1000)),
    ("2024-08-17T14:30Z", 1_723_917_600),
    (T0 + 2 * HOUR + 1_800_000, None),
])
def test_aggregator_windows(redis_url: str, events: list[Event], since: object,
                            until: object) -> None:
    stats = liqcli.LiquidationDataAggregator(redis_url).get_cumulative_stats(
        "ETHUSDT", since=since, until=until)  # type: ignore[arg-type]
    lo = T0 + 2 * HOUR + 1_800_000
    hi = None if until is None else T0 + 6 * HOUR + (1 if isinstance(until, datetime) else 0)
    exp = Expected(events, ["ETHUSDT"], lo, hi)
    assert (stats.total_events, stats.total_usd, stats.total_btc) == (
        exp.total.events, exp.total.usd, exp.qty)


def test_compute_stats_on_a_store(redis_url: str, events: list[Event]) -> None:
    store = Store(redis.Redis.from_url(redis_url))
    stats = liqcli.compute_stats(store, ["BTCUSDT", "ETHUSDT"], exchanges=["okx"])
    exp = Expected(events, ["BTCUSDT", "ETHUSDT"], exchanges=["okx"])
    assert stats.totals.usd == exp.total.usd and dict(stats.totals.qty_by_base) == exp.total.qty
    assert [e.exchange for e in stats.exchanges] == ["okx"]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "NOSUCHUSDT", "1000PEPEUSDT"])
def test_format_stats_summary_aligns_the_quantity(redis_url: str, events: list[Event],
                                                  symbol: str) -> None:
    text = liqcli.format_stats_summary(
        liqcli.LiquidationDataAggregator(redis_url).get_cumulative_stats(symbol))
    lines = text.splitlines()
    events_line = next(line for line in lines if line.startswith("Total Events:"))
    base = symbol.removesuffix("USDT")
    qty_line = next(line for line in lines if line.startswith(f"Total {base}:"))
    assert f"Total {base}: " in qty_line  # never glued to the figure
    value_at = len(events_line) - len(events_line.split()[-1])
    if len(base) <= 6:  # short names line up with "Total Events: "
        assert qty_line[value_at - 1] == " " and qty_line[value_at] != " ", (qty_line, value_at)


def test_format_stats_summary(redis_url: str, events: list[Event]) -> None:
    aggregator = liqcli.LiquidationDataAggregator(redis_url)
    stats = aggregator.get_cumulative_stats("BTCUSDT")
    text = liqcli.format_stats_summary(stats)
    assert text == aggregator.format_stats_summary(stats)
    exp = Expected(events, ["BTCUSDT"])
    assert f"Total Events: {exp.total.events:,}" in text
    assert f"Total USD:    ${exp.total.usd:,.2f}" in text
    for name in exp.exchanges:
        assert name.upper() in text
    empty = liqcli.format_stats_summary(aggregator.get_cumulative_stats("NOPEUSDT"))
    assert "Total Events: 0" in empty and "Duration:     - hours" in empty


def test_errors(redis_url: str) -> None:
    with pytest.raises(UsageError):
        liqcli.LiquidationDataAggregator(redis_url).get_cumulative_stats(since="someday")
    aggregator = liqcli.LiquidationDataAggregator(redis_url)
    for since, until in (("1h", "24h"), ("2024-08-17", "2024-08-17"), (T0 + 1, T0)):
        with pytest.raises(UsageError, match="must be before"):
            aggregator.get_cumulative_stats(since=since, until=until)
    with pytest.raises(UsageError, match="not a symbol"):
        aggregator.get_cumulative_stats("BTC USDT")
    with pytest.raises(StoreError):
        liqcli.LiquidationDataAggregator("redis://127.0.0.1:1/0").get_cumulative_stats()


def test_readme_example_runs(redis_url: str, events: list[Event]) -> None:
    done = subprocess.run([sys.executable, "-c", EXAMPLE], capture_output=True, text=True,
                          cwd=ROOT, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "CUMULATIVE LIQUIDATION STATISTICS" in done.stdout
    readme = ROOT / "README.md"
    if readme.exists() and "LiquidationDataAggregator" in readme.read_text():
        assert EXAMPLE.strip() in readme.read_text()


def test_history_returns_exact_buckets(redis_url: str, events: list[Event]) -> None:
    aggregator = liqcli.LiquidationDataAggregator(redis_url)
    history = aggregator.history(
        "ETHUSDT", interval="4h", since=T0, until=T0 + 10 * HOUR, exchanges=["okx", "bybit"]
    )
    assert isinstance(history, liqcli.History)
    # T0 is 12:00 UTC: the 4-hour buckets 12:00, 16:00 and 20:00 cover [T0, T0 + 10 h)
    assert [b.start_ms for b in history.buckets] == [T0, T0 + 4 * HOUR, T0 + 8 * HOUR]
    for bucket in history.buckets:
        mine = [e for e in events if e.symbol == "ETHUSDT" and e.exchange in ("okx", "bybit")
                and bucket.start_ms <= e.ts_ms < bucket.end_ms]
        assert (bucket.events, bucket.usd) == (len(mine), sum((e.usd for e in mine), Decimal(0)))
    assert sum(b.events for b in history.buckets) == len(
        [e for e in events if e.symbol == "ETHUSDT" and e.exchange in ("okx", "bybit")])
    with pytest.raises(UsageError):
        aggregator.history(interval="3h")


def test_top_returns_the_largest_events(redis_url: str, events: list[Event]) -> None:
    aggregator = liqcli.LiquidationDataAggregator(redis_url)
    top = aggregator.top("BTCUSDT", n=5, since=T0 + HOUR, by="qty", side="long")
    assert isinstance(top, liqcli.TopList)
    mine = sorted(
        (e for e in events if e.symbol == "BTCUSDT" and e.side == "LONG" and e.ts_ms >= T0 + HOUR),
        key=lambda e: (-e.qty, -e.usd, e.ts_ms),
    )
    assert list(top.entries) == mine[:5]


def test_levels_returns_exact_bands(redis_url: str, events: list[Event]) -> None:
    aggregator = liqcli.LiquidationDataAggregator(redis_url)
    levels = aggregator.levels("ETHUSDT", bands=6, since=T0 + HOUR)
    assert isinstance(levels, liqcli.Levels) and levels.bands
    mine = [e for e in events if e.symbol == "ETHUSDT" and e.ts_ms >= T0 + HOUR]
    for band in levels.bands:
        inside = [e for e in mine if band.low <= e.price < band.high]
        assert (band.events, band.usd) == (len(inside), sum((e.usd for e in inside), Decimal(0)))
    assert levels.events == len(mine)
