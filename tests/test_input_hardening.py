"""The input side never dies on one bad number, frame or item: it rejects exactly that, keeps the
rest, and the figures stored are the good items' (recomputed here from the input)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters import ContractTable, adapter_names, parse_line
from liqcli.feeds.collector import Collector, CollectorConfig
from liqcli.feeds.cryptofeed_import import convert_record, import_cryptofeed
from liqcli.ingest.validate import normalize
from liqcli.store.store import Store

TS = int(time.time() * 1000) - 3_600_000  # an hour ago: inside validation's window
Q18 = Decimal("1e-18")
runner = CliRunner()
Sums = dict[tuple[str, str, str], tuple[int, Decimal, Decimal]]


def stored(store: Store) -> Sums:
    return {(symbol, exchange, side): (cell.events, cell.qty, cell.usd)
            for symbol in store.symbols()
            for (exchange, side), cell in store.rollup(symbol).cells.items()}


def add(sums: dict[Any, list[Any]], key: tuple[str, str, str], qty: Decimal,
        usd: Decimal) -> None:
    cell = sums[key]
    cell[0] += 1
    cell[1] += qty
    cell[2] += usd


def frozen(sums: dict[Any, list[Any]]) -> Sums:
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


def new_sums() -> dict[Any, list[Any]]:
    return defaultdict(lambda: [0, Decimal(0), Decimal(0)])


# --- frames ---------------------------------------------------------------------------------------

def force_order(z: str, ap: str, side: str = "SELL", ts: int = TS) -> str:
    return json.dumps({"e": "forceOrder", "E": ts, "o": {
        "s": "BTCUSDT", "S": side, "o": "LIMIT", "f": "IOC", "q": z, "p": "1", "ap": ap,
        "X": "FILLED", "l": z, "z": z, "T": ts}})


def bybit(topic: str, *items: dict[str, Any]) -> str:
    return json.dumps({"topic": f"allLiquidation.{topic}", "type": "snapshot", "ts": TS,
                       "data": list(items)})


def bybit_item(symbol: str, side: str, v: str, p: str, ts: int = TS) -> dict[str, Any]:
    return {"T": ts, "s": symbol, "S": side, "v": v, "p": p}


def okx(*instruments: tuple[str, list[tuple[str, str, str, str]]]) -> str:
    return json.dumps({"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": [
        {"instId": inst, "instType": "SWAP", "instFamily": inst.rsplit("-", 1)[0],
         "details": [{"side": side, "posSide": pos, "sz": sz, "bkPx": px, "ts": str(TS + i)}
                     for i, (side, pos, sz, px) in enumerate(details)]}
        for inst, details in instruments]})


BYBIT_OVERFLOW = bybit("BTCUSD", bybit_item("BTCUSD", "Buy", "1e45", "1"))
OKX_MIXED = okx(("BTC-USDT-SWAP", [("sell", "long", "8.55", "82655.7"),
                                   ("buy", "short", "2", "82000.1")]),
                ("PEPE-USDT-SWAP", [("sell", "long", "100", "0.00001")]))


def okx_btc_sums(sums: dict[Any, list[Any]]) -> None:
    """The two BTC details of OKX_MIXED, recomputed (BTC-USDT-SWAP ctVal 0.01 BTC)."""
    for detail in json.loads(OKX_MIXED)["data"][0]["details"]:
        qty = Decimal(detail["sz"]) * Decimal("0.01")
        add(sums, ("BTCUSDT", "okx", detail["posSide"].upper()), qty,
            qty * Decimal(detail["bkPx"]))


def ingest(*args: str) -> Any:
    return runner.invoke(app, ["ingest", *args])


# --- 1. arithmetic errors are rejections, never crashes ------------------------------------------

def test_ingest_rejects_an_overflowing_binance_frame_and_keeps_the_good_lines(
    redis_client: Any, tmp_path: Path
) -> None:
    good = [("0.5", "60000.1"), ("0.25", "60010"), ("1.125", "59990.5"), ("2", "60001"),
            ("0.001", "60000.25")]
    lines = [force_order(z, ap, ts=TS + i) for i, (z, ap) in enumerate(good)]
    lines.append(force_order("1e9999999", "60000", ts=TS + 9))
    path = tmp_path / "bn.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = ingest(str(path))
    assert result.exit_code == 4, result.stderr
    assert f"{path}:6: 'z (filled quantity)' is out of range" in result.stderr
    assert "unexpected" not in result.stderr
    sums = new_sums()
    for z, ap in good:
        add(sums, ("BTCUSDT", "binance", "LONG"), Decimal(z), Decimal(z) * Decimal(ap))
    assert stored(Store(redis_client)) == frozen(sums)


def test_ingest_rejects_an_inverse_bybit_item_beyond_the_precision(
    redis_client: Any, tmp_path: Path
) -> None:
    good = bybit("BTCUSD", bybit_item("BTCUSD", "Sell", "5000", "60000"))
    path = tmp_path / "bb.jsonl"
    path.write_text(BYBIT_OVERFLOW + "\n" + good + "\n")
    result = ingest(str(path), "--format", "bybit")
    assert result.exit_code == 4, result.stderr
    assert f"{path}:1: 'v' is out of range: '1e45'" in result.stderr
    usd = Decimal(5000)
    want = {("BTCUSD", "bybit", "SHORT"): (1, (usd / Decimal(60000)).quantize(Q18), usd)}
    assert stored(Store(redis_client)) == want


EXTREMES = ["1e19", "9.99999999999999999e19", "1e-29", "-1e19", "0", "1e45", "1e9999999",
            "1E+999999999", "1.0000000000000000000000000000000000000001", "1_000", " 1", "NaN",
            "Infinity", "0x10", "1e-9999999"]


def frames_with(size: Any, price: Any) -> dict[str, str]:
    """One liquidation frame per adapter carrying ``size`` and ``price`` as its numbers."""
    return {
        "binance": json.dumps({"e": "forceOrder", "E": TS, "o": {
            "s": "BTCUSD_PERP", "S": "SELL", "z": size, "ap": price, "p": price, "T": TS}}),
        "bybit": json.dumps({"topic": "allLiquidation.BTCUSD", "data": [
            {"T": TS, "s": "BTCUSD", "S": "Buy", "v": size, "p": price}]}),
        "okx": json.dumps({"arg": {"channel": "liquidation-orders"}, "data": [
            {"instId": "BTC-USD-SWAP", "instType": "SWAP", "details": [
                {"side": "sell", "posSide": "long", "sz": size, "bkPx": price, "ts": TS}]}]}),
        "bitmex": json.dumps({"recv_ms": TS, "msg": {"table": "liquidation", "action": "insert",
                              "data": [{"symbol": "XBTUSD", "side": "Sell", "orderID": "a",
                                        "leavesQty": size, "price": price}]}}),
        "deribit": json.dumps({"jsonrpc": "2.0", "method": "subscription", "params": {
            "channel": "trades.future.BTC.100ms", "data": [
                {"instrument_name": "BTC-PERPETUAL", "direction": "sell", "liquidation": "T",
                 "amount": size, "price": price, "timestamp": TS, "trade_id": "1"}]}}),
    }


def test_no_number_makes_an_adapter_raise_anything_but_a_rejection() -> None:
    assert sorted(frames_with("1", "1")) == adapter_names()
    for size in EXTREMES:
        for price in EXTREMES:
            json_number = re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", size)
            for as_json_number in (False, True) if json_number else (False,):
                for name, frame in frames_with(size, price).items():
                    if as_json_number:  # unquoted: the JSON reader makes it a Decimal
                        frame = frame.replace(f'"{size}"', size)
                    try:
                        result = parse_line(name, frame)
                    except InvalidEvent:
                        continue
                    for item in result.events:  # what was accepted validates or is rejected
                        with contextlib.suppress(InvalidEvent):
                            normalize(item)


@pytest.mark.parametrize("text", ["1_000", " 1", "1 ", "NaN", "-Infinity", "0x10", "١"])
def test_adapter_numbers_use_plain_decimal_syntax(text: str) -> None:
    with pytest.raises(InvalidEvent, match="'z \\(filled quantity\\)' is not a number"):
        parse_line("binance", force_order(text, "60000"))


def test_cryptofeed_import_rejects_numbers_beyond_the_precision(redis_client: Any) -> None:
    def member(quantity: str, price: str, ts: float) -> str:
        return json.dumps({"exchange": "BYBIT", "symbol": "BTC-USD-PERP", "side": "buy",
                           "quantity": quantity, "price": price, "id": "None",
                           "status": "filled", "timestamp": ts})

    t0 = TS // 1000
    redis_client.zadd("liquidations-BYBIT-BTC-USD-PERP", {
        member("2000", "60000", t0 * 1000): t0 * 1000,
        member("9e19", "1e-29", t0 * 1000 + 1): t0 * 1000 + 1,  # quotient: 67 digits
    })
    store = Store(redis_client, prefix="cf")
    report = import_cryptofeed(redis_client, store, source_id="s")
    assert report.new == 1 and len(report.rejected) == 1
    assert "numbers out of range" in report.rejected[0][1]
    usd = Decimal(2000)
    assert stored(store) == {("BTCUSD", "bybit", "LONG"): (
        1, (usd / Decimal(60000)).quantize(Q18, rounding=ROUND_HALF_EVEN), usd)}


# --- 3. one bad item of a batch frame rejects that item only -------------------------------------

def test_ingest_keeps_the_good_items_of_a_push_with_a_bad_one(
    redis_client: Any, tmp_path: Path
) -> None:
    bybit_batch = bybit("BTCUSDT", bybit_item("BTCUSDT", "Buy", "0", "60000"),
                        bybit_item("BTCUSDT", "Sell", "0.75", "60100.5"),
                        bybit_item("BTCUSDT", "Buy", "0.5", "60000.5"))
    okx_path = tmp_path / "okx.jsonl"
    okx_path.write_text(OKX_MIXED + "\n")
    bybit_path = tmp_path / "bybit.jsonl"
    bybit_path.write_text(bybit_batch + "\n")
    result = ingest(str(okx_path), str(bybit_path))
    assert result.exit_code == 4, result.stderr
    assert f"{okx_path}:1: " in result.stderr and "--contract-size PEPE-USDT-SWAP" in result.stderr
    assert f"{bybit_path}:1: 'v' must be positive" in result.stderr
    sums = new_sums()
    okx_btc_sums(sums)
    for item in json.loads(bybit_batch)["data"][1:]:
        qty = Decimal(item["v"])
        add(sums, ("BTCUSDT", "bybit", "LONG" if item["S"] == "Buy" else "SHORT"), qty,
            qty * Decimal(item["p"]))
    assert stored(Store(redis_client)) == frozen(sums)


def test_each_bad_item_is_its_own_rejection() -> None:
    result = parse_line("okx", okx(("BTC-USDT-SWAP", [("sell", "long", "1", "2"),
                                                      ("sell", "long", "-1", "2"),
                                                      ("sell", "long", "3", "2")]),
                                   ("ZZZ-USDT-SWAP", [("sell", "long", "1", "2")])))
    assert [e["qty"] for e in result.events] == [Decimal("0.01"), Decimal("0.03")]
    assert [e.reason.split(" ")[0] for e in result.errors] == ["'sz'", "unknown"]
    trades = {"jsonrpc": "2.0", "method": "subscription", "params": {
        "channel": "trades.future.BTC.100ms", "data": [
            {"instrument_name": "BTC-PERPETUAL", "direction": "sideways", "liquidation": "T",
             "amount": "10", "price": "50000", "timestamp": TS},
            {"instrument_name": "BTC-PERPETUAL", "direction": "buy", "liquidation": "T",
             "amount": "10", "price": "50000", "timestamp": TS}]}}
    deribit = parse_line("deribit", json.dumps(trades))
    assert [e["side"] for e in deribit.events] == ["SHORT"] and len(deribit.errors) == 1
    assert not deribit.skipped


# --- 2. the collector survives bad frames and items -----------------------------------------------

def test_collect_counts_bad_frames_and_items_and_goes_on(
    redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_collect import SCRIPTS, ReplayServer

    good_bybit = bybit("BTCUSDT", bybit_item("BTCUSDT", "Buy", "0", "1"),
                       bybit_item("BTCUSDT", "Sell", "0.25", "60100"))
    monkeypatch.setitem(SCRIPTS, "/hard-okx", [[b"\xff\xfe", OKX_MIXED, "HOLD"]])
    monkeypatch.setitem(SCRIPTS, "/hard-bybit", [[BYBIT_OVERFLOW, good_bybit, "HOLD"]])
    sums = new_sums()
    okx_btc_sums(sums)
    add(sums, ("BTCUSDT", "bybit", "SHORT"), Decimal("0.25"), Decimal("0.25") * 60100)
    want = frozen(sums)
    store = Store(redis_client, prefix="live")
    logged: list[str] = []
    with ReplayServer() as server:
        collector = Collector(store, CollectorConfig(
            exchanges=["okx", "bybit"],
            endpoints={n: server.url(f"/hard-{n}") for n in ("okx", "bybit")},
            backoff_initial_s=0.2, backoff_max_s=0.4, heartbeat_s=0.05, ping_interval_s=0.1,
            log=logged.append))

        async def main() -> None:
            stop = asyncio.Event()
            task = asyncio.ensure_future(collector.run(stop))
            deadline = time.monotonic() + 20
            while stored(store) != want and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 10)

        asyncio.run(main())
    assert stored(store) == want
    okx_stats, bybit_stats = collector.stats["okx"], collector.stats["bybit"]
    assert (okx_stats.rejected, okx_stats.new, okx_stats.connects) == (2, 2, 1)
    assert (bybit_stats.rejected, bybit_stats.new, bybit_stats.connects) == (2, 1, 1)
    assert any("okx: rejected frame: invalid UTF-8" in line for line in logged)
    assert any("okx: rejected item:" in line and "PEPE-USDT-SWAP" in line for line in logged)
    assert any("bybit: rejected item: 'v' is out of range" in line for line in logged)


# --- 4. Bybit dated futures ----------------------------------------------------------------------

def test_last_friday() -> None:
    from liqcli.feeds.adapters.bybit import last_friday

    for year in (2021, 2024, 2025):
        for month in range(1, 13):
            friday = last_friday(year, month)
            assert friday.weekday() == 4 and friday.month == month
            later = date.fromordinal(friday.toordinal() + 7)
            assert later.month != month


@pytest.mark.parametrize(("raw", "symbol", "inverse"), [
    ("BTCUSDH25", "BTCUSD_250328", True),   # March 2025: the 28th is its last Friday
    ("ETHUSDZ24", "ETHUSD_241227", True),
    ("BTCUSDU21", "BTCUSD_210924", True),   # Bybit's own alias was BTCUSD0924
    ("BTCUSDT-28MAR25", "BTCUSDT_250328", False),
    ("BTC-28MAR25", "BTCUSDC_250328", False),
    ("BTCPERP", "BTCUSDC", False),
    ("BTCUSD", "BTCUSD", True),
])
def test_bybit_dated_futures_are_normalized(raw: str, symbol: str, inverse: bool) -> None:
    (got,) = parse_line("bybit", bybit(raw, bybit_item(raw, "Buy", "500", "80000"))).events
    assert got["symbol"] == symbol
    assert got["raw_symbol"] == (None if raw == symbol else raw)
    if inverse:
        assert (got["usd"], got["qty"]) == (Decimal(500), (Decimal(500) / 80000).quantize(Q18))
    else:
        assert (got["qty"], got["usd"]) == (Decimal(500), Decimal(500) * 80000)
    assert normalize(got).symbol == symbol


def test_bybit_dated_inverse_matches_the_cryptofeed_path() -> None:
    (adapter,) = parse_line("bybit", bybit("BTCUSDH25", bybit_item(
        "BTCUSDH25", "Buy", "500", "80000"))).events
    imported = convert_record({"exchange": "BYBIT", "symbol": "BTC-USD-25H28", "side": "buy",
                               "quantity": "500", "price": "80000", "id": "None",
                               "timestamp": TS}, ContractTable())
    assert imported is not None
    assert (adapter["symbol"], adapter["qty"], adapter["usd"]) == (
        imported["symbol"], imported["qty"], imported["usd"])


def test_bybit_impossible_dates_are_rejected() -> None:
    result = parse_line("bybit", bybit("BTC-31FEB25", bybit_item("BTC-31FEB25", "Buy", "1", "2")))
    assert result.events == [] and "unrecognised Bybit futures symbol" in result.errors[0].reason


# --- 5, 6. validation nits ----------------------------------------------------------------------

GOOD: dict[str, object] = {"exchange": "x", "symbol": "BTCUSDT", "side": "SHORT", "price": "1",
                           "qty": "1", "ts": TS}


@pytest.mark.parametrize("side", ["ſhort", "ſHORT", "lonǥ", "ＬＯＮＧ"])
def test_non_ascii_sides_are_rejected(side: str) -> None:
    with pytest.raises(InvalidEvent, match="side: unknown"):
        normalize({**GOOD, "side": side})


def test_integer_ids_are_limited_to_128_characters() -> None:
    assert normalize({**GOOD, "id": 10**127}).id == "1" + "0" * 127
    assert normalize({**GOOD, "id": -(10**126)}).id == "-1" + "0" * 126
    for too_long in (10**128, -(10**127), 10**5000):
        with pytest.raises(InvalidEvent, match="id: must be 1-128"):
            normalize({**GOOD, "id": too_long})
