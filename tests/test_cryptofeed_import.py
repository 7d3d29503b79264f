"""`liqcli import cryptofeed`: data written by cryptofeed's own Redis backends, imported exactly."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
import redis
from conftest import RedisServer

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters import ContractTable
from liqcli.feeds.cryptofeed_import import convert_record, discover, import_cryptofeed
from liqcli.store.store import Store

cryptofeed_redis = pytest.importorskip("cryptofeed.backends.redis")
from cryptofeed.types import Liquidation  # noqa: E402

T0 = 1_723_895_903  # seconds, 2024-08-17
Q18 = Decimal("1e-18")

# (exchange, symbol, side, quantity, price, id, status, timestamp) as cryptofeed builds them
LIQUIDATIONS: list[tuple[Any, ...]] = [
    ("BINANCE_FUTURES", "BTC-USDT-PERP", "sell", "0.014", "9910.5", None, "filled", T0 + 0.893),
    ("BINANCE_FUTURES", "BTC-USDT-PERP", "buy", "0.3", "9920", None, "filled", T0 + 5.25),
    ("BINANCE_FUTURES", "BTC-USDT-PERP", "sell", "1", "9900", None, "unfilled", T0 + 6),
    ("BYBIT", "BTC-USDT-PERP", "buy", "0.5", "9905.5", None, None, (T0 + 7) * 1000 + 123),
    ("BYBIT", "BTC-USD-PERP", "sell", "2000", "10000", None, None, (T0 + 8) * 1000),
    ("OKX", "BTC-USDT-SWAP", "sell", "8.55", "9899.7", None, "filled", T0 + 9.771),
    ("OKX", "BTC-USD-SWAP", "buy", "12", "10000", None, "filled", T0 + 10),
    ("BITMEX", "BTC-USD-PERP", "sell", "3000", "10000", "ord-1", "unfilled", None),
    ("DERIBIT", "BTC-USD-PERP", "sell", "1000", "10000", "t-77", "filled", T0 + 12.5),
]


def expected_figures(row: tuple[Any, ...]) -> tuple[str, str, Decimal, Decimal] | None:
    """(exchange, side, qty, usd) recomputed from the raw values, documented quirks applied."""
    exchange, symbol, side, quantity, price, _id, status, _ts = row
    n, p = Decimal(quantity), Decimal(price)
    order_side = {"sell": "LONG", "buy": "SHORT"}[side]
    if exchange == "BINANCE_FUTURES":
        return None if status == "unfilled" else ("binance", order_side, n, n * p)
    if exchange == "BYBIT":
        position = {"buy": "LONG", "sell": "SHORT"}[side]
        if symbol == "BTC-USD-PERP":  # 1 USD contracts
            return ("bybit", position, (n / p).quantize(Q18), n)
        return ("bybit", position, n, n * p)
    if exchange == "OKX":
        if symbol == "BTC-USDT-SWAP":  # 0.01 BTC contracts
            return ("okx", order_side, n * Decimal("0.01"), n * Decimal("0.01") * p)
        return ("okx", order_side, (n * 100 / p).quantize(Q18), n * 100)  # 100 USD contracts
    if exchange == "BITMEX":  # XBTUSD: 1 USD contracts
        return ("bitmex", order_side, (n / p).quantize(Q18), n)
    return ("deribit", order_side, (n / p).quantize(Q18), n)  # USD amount


def write_with_cryptofeed(port: int, backend: type, rows: list[tuple[Any, ...]],
                          receipt: float, key: str | None = None) -> None:
    """Run cryptofeed's backend callback + writer exactly as its FeedHandler would."""

    async def main() -> None:
        callback = backend(host="127.0.0.1", port=port, key=key)
        callback.start(asyncio.get_running_loop())
        for exchange, symbol, side, quantity, price, ident, status, ts in rows:
            liq = Liquidation(exchange, symbol, side, Decimal(quantity), Decimal(price), ident,
                              status, ts)
            await callback(liq, receipt)
        await asyncio.wait_for(callback.queue.join(), 10)  # the writer drained the queue
        await callback.stop()
        await asyncio.wait_for(callback.worker, 10)

    asyncio.run(main())


@pytest.fixture(scope="module")
def source_server() -> Any:
    """A second redis-server plays the Redis that cryptofeed writes to."""
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture()
def source(source_server: RedisServer) -> Any:
    client = redis.Redis.from_url(source_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.mark.parametrize("backend_name", ["LiquidationsRedis", "LiquidationsStream"])
def test_cryptofeed_backends_import_exactly(source: Any, redis_client: Any,
                                            backend_name: str) -> None:
    backend = getattr(cryptofeed_redis, backend_name)
    port = source.connection_pool.connection_kwargs["port"]
    receipt = T0 + 13.25
    write_with_cryptofeed(port, backend, LIQUIDATIONS, receipt)
    keys = discover(source)
    assert {k.kind for k in keys} == {"zset" if backend_name == "LiquidationsRedis" else "stream"}
    assert len(keys) == 7  # one per exchange × symbol

    store = Store(redis_client, prefix="cf")
    report = import_cryptofeed(source, store, source_id="src")
    expected = [e for e in map(expected_figures, LIQUIDATIONS) if e is not None]
    assert (report.read, report.new, report.skipped, report.rejected) == (
        len(LIQUIDATIONS), len(expected), 1, [])

    stored = [e for symbol in store.symbols() for e in store.events(symbol)]
    assert sorted((e.exchange, e.side, e.qty, e.usd) for e in stored) == sorted(expected)
    by_exchange = {e.exchange: e for e in stored if e.exchange in ("okx", "bitmex", "deribit")}
    assert by_exchange["okx"].raw_symbol in ("BTC-USDT-SWAP", "BTC-USD-SWAP")
    assert by_exchange["bitmex"].ts_ms == int(Decimal(str(receipt)) * 1000)
    assert by_exchange["bitmex"].id == "ord-1" and by_exchange["bitmex"].symbol == "BTCUSD"
    assert by_exchange["deribit"].id == "t-77"
    times = sorted(e.ts_ms for e in stored if e.exchange == "bybit")
    assert times == [(T0 + 7) * 1000 + 123, (T0 + 8) * 1000]  # Bybit's ms kept as ms
    binance = sorted(e.ts_ms for e in stored if e.exchange == "binance")
    assert binance == [T0 * 1000 + 893, T0 * 1000 + 5250]  # seconds → ms
    assert {e.symbol for e in stored} == {"BTCUSDT", "BTCUSD"}

    # Re-running imports nothing; new records written later are the only ones imported.
    again = import_cryptofeed(source, store, source_id="src")
    assert again.new == 0 and again.rejected == []
    later = [("BINANCE_FUTURES", "BTC-USDT-PERP", "sell", "0.5", "9000", None, "filled",
              T0 + 100.5)]
    write_with_cryptofeed(port, backend, later, T0 + 101)
    third = import_cryptofeed(source, store, source_id="src")
    assert third.new == 1
    total = store.rollup("BTCUSDT").cells[("binance", "LONG")]
    assert total.usd == Decimal("0.014") * Decimal("9910.5") + Decimal("0.5") * Decimal(9000)


def test_custom_key_and_unknown_contracts_are_retried(source: Any, redis_client: Any) -> None:
    port = source.connection_pool.connection_kwargs["port"]
    rows = [("OKX", "ZZZ-USDT-SWAP", "sell", "3", "2", None, "filled", T0 + 1)]
    write_with_cryptofeed(port, cryptofeed_redis.LiquidationsRedis, rows, T0 + 2, key="liqs")
    store = Store(redis_client, prefix="cf")
    assert import_cryptofeed(source, store, source_id="s").keys == 0  # default key: nothing
    first = import_cryptofeed(source, store, source_id="s", key="liqs")
    assert first.new == 0 and len(first.rejected) == 1
    assert "--contract-size ZZZ-USDT-SWAP=VALUE" in first.rejected[0][1]
    table = ContractTable.from_options(["ZZZ-USDT-SWAP=10"])
    second = import_cryptofeed(source, store, source_id="s", key="liqs", contracts=table)
    assert second.new == 1 and second.rejected == []
    (only,) = list(store.events("ZZZUSDT"))
    assert only.qty == Decimal(30) and only.usd == Decimal(60)


def test_records_written_by_hand_in_the_documented_shape(source: Any) -> None:
    member = {"exchange": "BINANCE_FUTURES", "symbol": "ETH-USDT-25M27", "side": "buy",
              "quantity": 0.014, "price": 9910.0, "id": "None", "status": "filled",
              "timestamp": 1568014460.893, "receipt_timestamp": 1568014460.95}
    got = convert_record(json.loads(json.dumps(member), parse_float=Decimal), ContractTable())
    assert got is not None
    assert (got["symbol"], got["side"], got["ts"], got["id"]) == (
        "ETHUSDT_250627", "SHORT", 1568014460893, None)
    with pytest.raises(InvalidEvent, match="unsupported cryptofeed exchange"):
        convert_record(member | {"exchange": "KRAKEN"}, ContractTable())
    with pytest.raises(InvalidEvent, match="side"):
        convert_record(member | {"side": "long"}, ContractTable())


@pytest.mark.parametrize(("exchange", "symbol", "want_symbol"), [
    ("BINANCE_FUTURES", "BTC-USDT-PERP", "BTCUSDT"),
    ("BYBIT", "BTC-USDT-PERP", "BTCUSDT"),
    ("DERIBIT", "SOL-USDC-PERP", "SOLUSDC"),
])
def test_linear_notional_is_exact_beyond_the_default_decimal_context(
    exchange: str, symbol: str, want_symbol: str
) -> None:
    price, quantity = "123.45678912345678", "987654321.0123"  # a product of 30 digits
    places = 14 + 4
    digits = int(price.replace(".", "")) * int(quantity.replace(".", ""))  # exact, integers
    whole, fraction = divmod(digits, 10**places)
    exact = Decimal(f"{whole}.{fraction:0{places}d}")  # from the text: no context rounding
    assert Decimal(price) * Decimal(quantity) != exact  # what plain ``*`` gives
    record = {"exchange": exchange, "symbol": symbol, "side": "sell", "quantity": quantity,
              "price": price, "id": "None", "status": "filled", "timestamp": T0}
    got = convert_record(json.loads(json.dumps(record), parse_float=Decimal), ContractTable())
    assert got is not None and got["symbol"] == want_symbol
    assert got["qty"] == Decimal(quantity) and got["usd"] == exact


def test_cli_import_reports_and_exits_by_outcome(source: Any, source_server: RedisServer,
                                                 redis_url: str, redis_client: Any) -> None:
    import importlib

    from typer.testing import CliRunner

    from liqcli.cli.app import app  # first: app.py registers the command modules

    importlib.import_module("liqcli.cli.import_cmd")  # until app.py's _register lists it

    port = source.connection_pool.connection_kwargs["port"]
    rows = [row for row in LIQUIDATIONS if row[0] == "OKX"]
    write_with_cryptofeed(port, cryptofeed_redis.LiquidationsStream, rows, T0 + 20)
    runner = CliRunner()
    args = ["import", "cryptofeed", "--source-url", source_server.url, "--redis-url", redis_url]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "2 read, 2 new, 0 duplicate, 0 skipped, 0 rejected" in done.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 read, 0 new" in again.output
    rows = [("OKX", "QQQ-USDT-SWAP", "sell", "1", "1", None, "filled", T0 + 30)]
    write_with_cryptofeed(port, cryptofeed_redis.LiquidationsStream, rows, T0 + 31)
    bad = runner.invoke(app, args)
    assert bad.exit_code == 4 and "--contract-size QQQ-USDT-SWAP=VALUE" in bad.output
    fixed = runner.invoke(app, [*args, "--contract-size", "okx:QQQ-USDT-SWAP=5"])
    assert fixed.exit_code == 0 and "1 new" in fixed.output
    usd = Store(redis_client).rollup("QQQUSDT").cells[("okx", "LONG")].usd
    assert usd == Decimal(5)
    down = runner.invoke(app, ["import", "cryptofeed", "--source-url", "redis://127.0.0.1:1/0",
                               "--redis-url", redis_url])
    assert down.exit_code == 3 and "cannot reach cryptofeed source" in down.output
