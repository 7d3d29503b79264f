"""Backfill formats (Tardis, CCXT), exact export, Prometheus/OpenMetrics output, -o files."""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core import HOUR, SYMBOLS, T0, Expected, make_events
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters.contracts import ContractTable
from liqcli.feeds.ccxt import parse_object as parse_ccxt
from liqcli.feeds.tardis import HEADER
from liqcli.feeds.tardis import parse_row as parse_tardis
from liqcli.ingest.validate import normalize
from liqcli.model import Event
from liqcli.report.core import compute_stats
from liqcli.report.events import ordered_events
from liqcli.store.store import Store


def invoke(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


def tardis_event(row: str) -> Event:
    cells = next(csv.reader([row]))
    return normalize(parse_tardis(cells, ContractTable()))


# ------------------------------------------------------------------------------ Tardis
@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # USDⓈ-M: amount in base units; sell = the order that closed a LONG
        ("binance-futures,BTCUSDT,1723895903305123,1723895903400000,,sell,65012.5,0.125",
         ("binance", "BTCUSDT", "LONG", "0.125", "8126.5625", 1723895903305, None)),
        # OKX swap: 12 contracts of 0.01 BTC
        ("okex-swap,BTC-USDT-SWAP,1723895904305999,1723895904400000,x1,buy,65000,12",
         ("okx", "BTCUSDT", "SHORT", "0.12", "7800", 1723895904305, "x1")),
        # BitMEX XBTUSD: contracts of 1 USD, base = USD / price
        ("bitmex,XBTUSD,1723895905305123,1723895905400000,,buy,65000,6500",
         ("bitmex", "BTCUSD", "SHORT", "0.1", "6500", 1723895905305, None)),
        # Deribit perpetual: amount in USD
        ("deribit,BTC-PERPETUAL,1723895906305123,1723895906400000,,sell,64000,1000",
         ("deribit", "BTCUSD", "LONG", "0.015625", "1000", 1723895906305, None)),
        # Bybit inverse: 1-USD contracts; linear: base units
        ("bybit,BTCUSD,1723895907305123,1723895907400000,,sell,65000,650",
         ("bybit", "BTCUSD", "LONG", "0.01", "650", 1723895907305, None)),
        ("bybit,ETHUSDT,1723895907305123,1723895907400000,,buy,2500.5,2",
         ("bybit", "ETHUSDT", "SHORT", "2", "5001.0", 1723895907305, None)),
        # COIN-M: 3 contracts of 100 USD
        ("binance-delivery,BTCUSD_PERP,1723895908305123,1723895908400000,,buy,60000,3",
         ("binance", "BTCUSD", "SHORT", "0.005", "300", 1723895908305, None)),
        # no exchange time: Tardis's receive time
        ("okex-futures,BTC-USD-250627,,1723895909000999,,sell,100000,5",
         ("okx", "BTCUSD_250627", "LONG", "0.005", "500", 1723895909000, None)),
    ],
)
def test_tardis_rows_become_exact_events(row: str, expected: tuple[Any, ...]) -> None:
    e = tardis_event(row)
    exchange, symbol, side, qty, usd, ts, liq_id = expected
    assert (e.exchange, e.symbol, e.side, e.ts_ms, e.id) == (exchange, symbol, side, ts, liq_id)
    assert e.qty == Decimal(qty) and e.usd == Decimal(usd)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("ftx,BTC-PERP,1723895903305123,,,sell,1,1", "unsupported Tardis exchange 'ftx'"),
        ("okex-swap,FOO-USDT-SWAP,1723895903305123,,,sell,1,1", "unknown contract value"),
        ("binance-futures,BTCUSDT,1723895903305123,,,long,1,1", "bad side 'long'"),
        ("binance-futures,BTCUSDT,17238959033051²3,,,sell,1,1", "timestamp"),
        ("binance-futures,BTCUSDT,1723895903305123,,,sell,-1,1", "price"),
        ("binance-futures,BTCUSDT,1723895903305123,,,sell,1", "fields"),
    ],
)
def test_tardis_bad_rows_are_rejected_with_the_reason(row: str, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        tardis_event(row)


def test_ingest_tardis_csv_gz(tmp_path: Path, redis_url: str) -> None:
    rows = [
        ",".join(HEADER),
        "binance-futures,BTCUSDT,1723895903305123,1723895903400000,,sell,65012.5,0.125",
        "okex-swap,FOO-USDT-SWAP,1723895904305123,1723895904400000,,buy,1,1",
        ",".join(HEADER),  # a second daily file appended
        "okex-swap,BTC-USDT-SWAP,1723895904305123,1723895904400000,,buy,65000,12",
    ]
    path = tmp_path / "BTCUSDT.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    result = invoke("ingest", str(path))  # detected by its header
    assert result.exit_code == 4, result.output
    assert f"{path}:3: unknown contract value for okx FOO-USDT-SWAP" in result.stderr
    doc = json.loads(invoke("sides", "-s", "BTCUSDT", "-f", "json").stdout, parse_float=Decimal)
    by_side = {row["side"]: row for row in doc["sides"]}
    assert (by_side["LONG"]["usd"], by_side["SHORT"]["usd"]) == (Decimal("8126.5625"), 7800)
    again = invoke("ingest", "--input-format", "tardis", str(path))  # idempotent
    assert "new 0, duplicate 2" in again.stderr


# -------------------------------------------------------------------------------- CCXT
def ccxt(**fields: Any) -> dict[str, Any]:
    base = {"exchange": "binanceusdm", "symbol": "BTC/USDT:USDT", "contracts": "0.5",
            "contractSize": "1", "price": "60000", "baseValue": None, "quoteValue": None,
            "timestamp": 1723895903305, "datetime": "2024-08-17T11:58:23.305Z",
            "side": "sell", "info": {}}
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("binance", "BTCUSDT", "LONG", "0.5", "30000")),
        ({"baseValue": "0.25", "quoteValue": "15000.5"},
         ("binance", "BTCUSDT", "LONG", "0.25", "15000.5")),
        # OKX: posSide in the venue's message wins over CCXT's order side
        ({"exchange": "okx", "symbol": "ETH/USDT:USDT", "contracts": 3, "contractSize": "0.1",
          "price": "2500", "side": "sell", "info": {"posSide": "short"}},
         ("okx", "ETHUSDT", "SHORT", "0.3", "750")),
        # Bybit: its side is the position's (Buy = LONG)
        ({"exchange": "bybit", "side": "buy", "info": {"S": "Buy"}},
         ("bybit", "BTCUSDT", "LONG", "0.5", "30000")),
        # inverse, settled in BTC: contract size in USD
        ({"exchange": "binancecoinm", "symbol": "BTC/USD:BTC", "contracts": "3",
          "contractSize": "100", "price": "60000", "side": "buy"},
         ("binance", "BTCUSD", "SHORT", "0.005", "300")),
        ({"symbol": "BTC/USDT:USDT-250627"}, ("binance", "BTCUSDT_250627", "LONG", "0.5", "30000")),
    ],
)
def test_ccxt_structures_become_exact_events(fields: dict[str, Any],
                                             expected: tuple[str, ...]) -> None:
    e = normalize(parse_ccxt(json.loads(json.dumps(ccxt(**fields)), parse_float=Decimal)))
    exchange, symbol, side, qty, usd = expected
    assert (e.exchange, e.symbol, e.side) == (exchange, symbol, side)
    assert e.qty == Decimal(qty) and e.usd == Decimal(usd)
    assert e.ts_ms == 1723895903305


def test_ccxt_lines_through_ingest(tmp_path: Path, redis_url: str) -> None:
    lines = [json.dumps(ccxt()), json.dumps(ccxt(exchange=None)),
             json.dumps(ccxt(side="up")), json.dumps(ccxt(timestamp=1723895903306))]
    path = tmp_path / "liq.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = invoke("ingest", "--input-format", "ccxt", str(path))
    assert result.exit_code == 4
    assert f"{path}:2: no 'exchange'" in result.stderr
    assert f"{path}:3: bad side 'up'" in result.stderr
    doc = json.loads(invoke("totals", "-s", "BTCUSDT", "-f", "json").stdout, parse_float=Decimal)
    assert (doc["totals"]["events"], doc["totals"]["usd"]) == (2, 60000)


# ------------------------------------------------------------------------------ export
def store_of(url: str) -> Store:
    return Store(redis.Redis.from_url(url))


def figures(store: Store) -> Any:
    stats = compute_stats(store, None, all_symbols=True)
    return [(one.symbols, one.totals, one.matrix) for one in stats.per_symbol]


def test_export_round_trips_figures_and_identities(tmp_path: Path, redis_url: str,
                                                   redis_server: Any) -> None:
    # (the library's Store.ingest takes notionals beyond the contract's 1e12; export writes the
    # event contract, so the round trip is tested with events that the contract accepts)
    events = [e for e in make_events(n=300, seed=5) if e.usd < Decimal("1e12")]
    events += [Event("bybit", "ETHUSDT", "LONG", Decimal("2500.50"),
                     Decimal("1.000000000000000001"), Decimal("2500.500000000000002500"),
                     T0 + 5, None, "ETH-USDT")]
    source = store_of(redis_url)
    source.ingest(events)
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"all.{fmt}.gz"
        result = invoke("export", "--all-symbols", "-o", str(out))
        assert result.exit_code == 0, result.output
        assert f"exported {len(events)} events" in result.stderr
        text = gzip.decompress(out.read_bytes()).decode()
        if fmt == "jsonl":
            times = [json.loads(line)["ts"] for line in text.splitlines()]
            assert times == sorted(times) and len(times) == len(events)
        # into a fresh store (another database of the same server): the same figures
        copy_url = redis_url.rsplit("/", 1)[0] + "/5"
        copy = redis.Redis.from_url(copy_url)
        copy.flushdb()
        ingested = invoke("ingest", "--redis-url", copy_url, str(out))
        assert ingested.exit_code == 0, ingested.output
        assert figures(store_of(copy_url)) == figures(source)
        # identities kept: the export ingested into the source is all duplicates
        again = invoke("ingest", str(out))
        assert f"new 0, duplicate {len(events)}" in again.stderr
        copy.flushdb()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    since=st.one_of(st.none(), st.integers(T0 - HOUR, T0 + 11 * HOUR)),
    length=st.integers(1, 12 * HOUR),
    side=st.sampled_from([None, "LONG", "SHORT"]),
    exchange=st.sampled_from([(), ("okx",), ("binance", "hyperliquid")]),
)
def test_ordered_events_are_the_selection_in_time_order(
    redis_client: redis.Redis, seed: int, since: int | None, length: int, side: Any,
    exchange: tuple[str, ...],
) -> None:
    redis_client.flushdb()
    events = make_events(n=120, seed=seed, span_hours=30)
    store = Store(redis_client)
    store.ingest(events)
    until = None if since is None else since + length
    got = list(ordered_events(store, list(SYMBOLS), since, until, exchanges=exchange,
                              side=side))
    want = [e for e in events
            if (since is None or e.ts_ms >= since) and (until is None or e.ts_ms < until)
            and (not exchange or e.exchange in exchange) and (side is None or e.side == side)]
    assert [e.ts_ms for e in got] == sorted(e.ts_ms for e in want)
    key = lambda e: (e.id, e.exchange, e.symbol, e.side, e.price, e.qty, e.usd, e.ts_ms)  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, want))
    assert Expected(got, list(SYMBOLS)).total.usd == Expected(want, list(SYMBOLS)).total.usd


def test_export_options_and_errors(tmp_path: Path, redis_url: str) -> None:
    events = make_events(n=50, seed=3)
    store_of(redis_url).ingest(events)
    out = invoke("export", "-s", "ETHUSDT", "--side", "short", "-e", "okx", "-f", "csv")
    assert out.stdout.splitlines()[0] == "exchange,symbol,side,price,qty,usd,ts,id,raw_symbol"
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    want = [e for e in events if e.symbol == "ETHUSDT" and e.side == "SHORT"
            and e.exchange == "okx"]
    assert want and len(rows) == len(want)
    assert {(r["id"], r["side"], r["exchange"]) for r in rows} == {
        (e.id, e.side, e.exchange) for e in want}
    bad = invoke("export", "-f", "parquet")
    assert bad.exit_code == 2 and "Parquet needs a file" in bad.stderr
    assert invoke("export", "--side", "up").exit_code == 2


def test_export_parquet(tmp_path: Path, redis_url: str) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    events = make_events(n=80, seed=9)
    store_of(redis_url).ingest(events)
    path = tmp_path / "all.parquet"
    assert invoke("export", "--all-symbols", "-o", str(path)).exit_code == 0
    table = pq.read_table(path).to_pylist()
    jsonl = [json.loads(line) for line in invoke("export", "--all-symbols").stdout.splitlines()]
    assert [{k: v for k, v in row.items() if v is not None} for row in table] == jsonl


# ----------------------------------------------------------------- metrics formats
def test_prometheus_output_parses_with_the_reference_parser(redis_url: str) -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    events = make_events(n=200, seed=4)
    store_of(redis_url).ingest(events)
    text = invoke("matrix", "--all-symbols", "-f", "prometheus").stdout
    found = {f.name: f for f in parser.text_string_to_metric_families(text)}
    assert {f: found[f].type for f in found} == {
        "liqcli_liquidations": "counter", "liqcli_liquidated_usd": "counter",
        "liqcli_liquidated_qty": "counter", "liqcli_last_event_timestamp_seconds": "gauge"}
    for sample in found["liqcli_liquidated_usd"].samples:
        labels = sample.labels
        exp = Expected(events, [labels["symbol"]], exchanges=[labels["exchange"]])
        assert sample.value == float(exp.sides[labels["side"]].usd)
    for sample in found["liqcli_liquidations"].samples:
        labels = sample.labels
        exp = Expected(events, [labels["symbol"]], exchanges=[labels["exchange"]])
        assert sample.value == exp.sides[labels["side"]].events
    windowed = invoke("sides", "-s", "BTCUSDT", "--since", str(T0 + HOUR), "-f", "prometheus")
    kinds = {f.name: f.type for f in parser.text_string_to_metric_families(windowed.stdout)}
    assert kinds["liqcli_window_liquidations"] == "gauge"


def test_openmetrics_output_parses_with_the_reference_parser(redis_url: str) -> None:
    om = pytest.importorskip("prometheus_client.openmetrics.parser")
    events = make_events(n=100, seed=6)
    store_of(redis_url).ingest(events)
    for command in ("totals", "sides", "exchanges", "matrix"):
        text = invoke(command, "-s", "ETHUSDT", "-f", "openmetrics").stdout
        assert text.endswith("# EOF\n")
        families = {f.name: f for f in om.text_string_to_metric_families(text)}
        total = sum(s.value for s in families["liqcli_liquidations"].samples)
        assert total == Expected(events, ["ETHUSDT"]).total.events


def test_label_escaping_round_trips_through_the_parser() -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    from liqcli.formatters._metrics import Family, escape_help, sample_line

    family = Family("liqcli_x", "counter", "help")
    nasty = 'a"b\\c\nd'
    help_text = escape_help("two\nlines \\ here")
    text = (f"# HELP liqcli_x_total {help_text}\n"
            "# TYPE liqcli_x_total counter\n"
            + sample_line(family, {"symbol": nasty}, Decimal("1.5")) + "\n")
    (parsed,) = parser.text_string_to_metric_families(text)
    assert parsed.samples[0].labels == {"symbol": nasty}
    assert parsed.samples[0].value == 1.5


def test_output_file_is_replaced_only_on_success(tmp_path: Path, redis_url: str) -> None:
    store_of(redis_url).ingest(make_events(n=20, seed=2))
    target = tmp_path / "liqcli.prom"
    target.write_text("old\n")
    failed = invoke("totals", "--since", "not-a-time", "-f", "prometheus", "-o", str(target))
    assert failed.exit_code == 2 and target.read_text() == "old\n"
    ok = invoke("totals", "-s", "BTCUSDT", "-f", "prometheus", "-o", str(target))
    assert ok.exit_code == 0 and ok.stdout == ""
    assert target.read_text().startswith("# HELP liqcli_liquidations_total")
    assert [p.name for p in tmp_path.iterdir()] == ["liqcli.prom"]  # no temporary file left
