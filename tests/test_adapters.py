"""Exchange adapters: recorded websocket frames → normalized events (figures checked exactly)."""

from __future__ import annotations

import csv
import json
import re
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from liqcli.errors import InvalidEvent, UsageError
from liqcli.feeds.adapters import (
    Adapter,
    AdapterResult,
    ContractTable,
    adapter_names,
    get_adapter,
    parse_line,
    register_adapter,
)
from liqcli.feeds.adapters.contracts import ContractValue, parse_value
from liqcli.ingest.validate import normalize

TS = 1_723_895_903_305  # 2024-08-17, a real time from the recorded sample
TABLE = ContractTable()
Q18 = Decimal("1e-18")


def inverse_qty(usd: Decimal, price: Decimal) -> Decimal:
    """Base units of a USD amount, as documented: rounded half-even to 18 places."""
    return (usd / price).quantize(Q18)


def parse(name: str, message: Any, *, received_ms: int | None = None,
          table: ContractTable = TABLE) -> AdapterResult:
    return parse_line(name, json.dumps(message), contracts=table, received_ms=received_ms)


def only(name: str, message: Any, **kw: Any) -> dict[str, Any]:
    result = parse(name, message, **kw)
    assert not result.skipped
    assert len(result.events) == 1, result
    return result.events[0]


def rejected_item(name: str, message: Any, match: str, **kw: Any) -> None:
    """The frame's only item is rejected on its own (a per-item error, no event)."""
    result = parse(name, message, **kw)
    assert result.events == [] and not result.skipped
    assert len(result.errors) == 1, result
    assert re.search(match, result.errors[0].reason), result.errors[0].reason


def force_order(**order: Any) -> dict[str, Any]:
    base = {"s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.288",
            "p": "38886.54", "ap": "39021.00", "X": "FILLED", "l": "0.288", "z": "0.288",
            "T": TS}
    base.update(order)
    return {"e": "forceOrder", "E": TS + 2, "o": base}


# --- the registry ------------------------------------------------------------------------------

def test_all_five_exchanges_are_registered_by_module() -> None:
    assert adapter_names() == ["binance", "bitmex", "bybit", "deribit", "okx"]
    for name in adapter_names():
        assert get_adapter(name).name == name
    with pytest.raises(KeyError, match="no exchange adapter 'nope'"):
        get_adapter("nope")


def test_a_new_adapter_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    import liqcli.feeds.adapters
    import liqcli.ingest.readers

    # Registries restored after the test, so the toy does not leak into other tests.
    monkeypatch.setattr(liqcli.feeds.adapters, "_ADAPTERS", dict(liqcli.feeds.adapters._ADAPTERS))
    monkeypatch.setattr(liqcli.ingest.readers, "_REGISTRY", dict(liqcli.ingest.readers._REGISTRY))

    def parse_message(obj: Any, *, received_ms: int | None, contracts: ContractTable
                      ) -> AdapterResult:
        return AdapterResult([{"exchange": "toy", "symbol": obj["s"], "side": "LONG",
                               "price": obj["p"], "qty": obj["q"], "ts": obj["t"]}])

    register_adapter(Adapter("toy", parse_message))
    assert "toy" in adapter_names() and "toy" in liqcli.ingest.readers.format_names()
    event = normalize(only("toy", {"s": "BTCUSDT", "p": "2", "q": "3", "t": TS}))
    assert (event.exchange, event.usd) == ("toy", Decimal(6))


# --- Binance -----------------------------------------------------------------------------------

def test_binance_sell_is_long_and_uses_z_at_ap() -> None:
    got = only("binance", force_order())
    assert got["side"] == "LONG" and got["symbol"] == "BTCUSDT" and got["raw_symbol"] is None
    assert got["price"] == Decimal("39021.00") and got["qty"] == Decimal("0.288")
    assert got["usd"] == Decimal("39021.00") * Decimal("0.288")
    assert got["ts"] == TS


def test_binance_buy_is_short_and_combined_stream_frames_are_unwrapped() -> None:
    frame = {"stream": "!forceOrder@arr", "data": force_order(S="BUY")}
    assert only("binance", frame)["side"] == "SHORT"


@pytest.mark.parametrize("ap", [None, "0", "0.00", "None"])
def test_binance_falls_back_to_p_when_ap_is_missing_or_zero(ap: str | None) -> None:
    frame = force_order(ap=ap)
    if ap is None:
        del frame["o"]["ap"]
    got = only("binance", frame)
    assert got["price"] == Decimal("38886.54")
    assert got["usd"] == Decimal("38886.54") * Decimal("0.288")


def test_binance_partial_fill_counts_the_filled_part_and_unfilled_is_skipped() -> None:
    got = only("binance", force_order(q="1.5", z="0.5", l="0.5", X="PARTIALLY_FILLED"))
    assert got["qty"] == Decimal("0.5") and got["usd"] == Decimal("0.5") * Decimal("39021.00")
    result = parse("binance", force_order(z="0", l="0", X="NEW"))
    assert result.skipped and result.events == []


def test_binance_coin_m_contracts_are_usd_valued() -> None:
    got = only("binance", force_order(s="BTCUSD_PERP", ps="BTCUSD", q="7", z="7", l="7"))
    assert got["symbol"] == "BTCUSD" and got["raw_symbol"] == "BTCUSD_PERP"
    assert got["usd"] == Decimal(700)  # 7 contracts × 100 USD
    assert got["qty"] == inverse_qty(Decimal(700), Decimal("39021.00"))
    eth = only("binance", force_order(s="ETHUSD_250627", z="3"))
    assert eth["symbol"] == "ETHUSD_250627" and eth["usd"] == Decimal(30)


def test_binance_dated_usdt_future_keeps_its_expiry() -> None:
    assert only("binance", force_order(s="ETHUSDT_250627"))["symbol"] == "ETHUSDT_250627"


@pytest.mark.parametrize("frame", [
    {"result": None, "id": 1},
    {"e": "aggTrade", "s": "BTCUSDT"},
    {"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade"}},
    [],
    "ping",
])
def test_binance_non_liquidation_frames_are_skipped(frame: Any) -> None:
    result = parse("binance", frame)
    assert result.skipped and result.events == []


@pytest.mark.parametrize(("change", "reason"), [
    ({"S": "HOLD"}, "side"),
    ({"z": "abc"}, "z"),
    ({"z": None}, "z"),
    ({"p": "-1", "ap": None}, "price"),
    ({"s": None}, "'s'"),
])
def test_binance_malformed_liquidations_are_rejected(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        parse("binance", force_order(**change))


def test_binance_rejects_non_json() -> None:
    with pytest.raises(InvalidEvent, match="malformed JSON"):
        parse_line("binance", '{"e": "forceOrder", ', contracts=TABLE)


def test_binance_keeps_decimal_exactness_of_json_numbers() -> None:
    text = json.dumps(force_order()).replace('"38886.54"', "38886.54").replace('"ap": "39021.00"',
                                                                                 '"ap": 0')
    got = parse_line("binance", text, contracts=TABLE).events[0]
    assert got["price"] == Decimal("38886.54") and isinstance(got["price"], Decimal)


def _csv_symbol(cut: str) -> str:
    """The recorder cut ``USDT`` off: ``BTC`` → BTCUSDT, ``ETH_250627`` → ETHUSDT_250627."""
    if cut.endswith("USDC"):
        return cut
    head, sep, expiry = cut.partition("_")
    return f"{head}USDT{sep}{expiry}"


@pytest.mark.parametrize(
    "name", ["binance-forceorder-2024-08.csv", "binance-forceorder-2025-06.csv"]
)
def test_binance_real_recording_figures_are_exact(shared_data: Path, name: str) -> None:
    rows = list(csv.reader((shared_data / name).open(encoding="utf-8")))
    assert rows
    sums: dict[str, Decimal] = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    expected: dict[str, Decimal] = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    for number, row in enumerate(rows):
        cut, side, otype, tif, q, p, ap, status, last, filled, trade_ms = row[:11]
        order = {"s": _csv_symbol(cut), "S": side, "o": otype, "f": tif, "q": q, "p": p,
                 "X": status, "l": last, "z": filled, "T": int(trade_ms)}
        if ap != "None":
            order["ap"] = ap
        frame: dict[str, Any] = {"e": "forceOrder", "E": int(trade_ms), "o": order}
        if number % 2:
            frame = {"stream": "!forceOrder@arr", "data": frame}
        got = normalize(only("binance", frame))
        price = Decimal(ap) if ap != "None" and Decimal(ap) != 0 else Decimal(p)
        position = "LONG" if side == "SELL" else "SHORT"
        assert got.side == position and got.symbol == _csv_symbol(cut)
        assert got.price == price and got.qty == Decimal(filled)
        assert got.usd == price * Decimal(filled)
        assert got.ts_ms == int(trade_ms)
        sums[got.side] += got.usd
        expected[position] += Decimal(filled) * price
    assert sums == expected and sums["LONG"] > 0 and sums["SHORT"] > 0


# --- Bybit -------------------------------------------------------------------------------------

def bybit_push(*entries: dict[str, Any], symbol: str = "ROSEUSDT") -> dict[str, Any]:
    return {"topic": f"allLiquidation.{symbol}", "type": "snapshot", "ts": TS + 300,
            "data": list(entries)}


def test_bybit_side_is_the_position_side_and_all_entries_count() -> None:
    result = parse("bybit", bybit_push(
        {"T": TS, "s": "ROSEUSDT", "S": "Buy", "v": "20000", "p": "0.04499"},
        {"T": TS + 1, "s": "ROSEUSDT", "S": "Sell", "v": "10", "p": "0.045"},
    ))
    long, short = result.events
    assert (long["side"], short["side"]) == ("LONG", "SHORT")
    assert long["usd"] == Decimal("20000") * Decimal("0.04499") and long["qty"] == Decimal(20000)
    assert short["ts"] == TS + 1 and short["symbol"] == "ROSEUSDT"


def test_bybit_inverse_contracts_are_one_usd() -> None:
    got = only("bybit", bybit_push({"T": TS, "s": "BTCUSD", "S": "Sell", "v": "5000",
                                     "p": "60000"}, symbol="BTCUSD"))
    assert got["usd"] == Decimal(5000) and got["qty"] == inverse_qty(Decimal(5000), Decimal(60000))


def test_bybit_legacy_liquidation_topic() -> None:
    frame = {"topic": "liquidation.BTCUSDT", "type": "snapshot", "ts": TS,
             "data": {"updatedTime": TS, "symbol": "BTCUSDT", "side": "Buy", "size": "0.5",
                      "price": "60000.5"}}
    got = only("bybit", frame)
    assert got["side"] == "LONG" and got["usd"] == Decimal("30000.25")


@pytest.mark.parametrize("frame", [
    {"success": True, "ret_msg": "", "op": "subscribe", "conn_id": "x"},
    {"op": "pong", "args": ["1"]},
    {"topic": "publicTrade.BTCUSDT", "data": []},
])
def test_bybit_non_liquidation_frames_are_skipped(frame: Any) -> None:
    assert parse("bybit", frame).skipped


def test_bybit_malformed() -> None:
    rejected_item("bybit", bybit_push({"T": TS, "s": "X", "S": "Long", "v": "1", "p": "1"}),
                  "side")
    with pytest.raises(InvalidEvent, match="not a list"):
        parse("bybit", {"topic": "allLiquidation.X", "data": {}})


# --- OKX ---------------------------------------------------------------------------------------

def okx_push(inst_id: str, *details: dict[str, Any], inst_type: str = "SWAP",
             family: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"instId": inst_id, "instType": inst_type, "details": list(details)}
    if family is not None:
        item["instFamily"] = item["uly"] = family
    return {"arg": {"channel": "liquidation-orders", "instType": inst_type}, "data": [item]}


def detail(side: str, pos_side: str, sz: str, px: str, ts: int = TS) -> dict[str, Any]:
    return {"side": side, "posSide": pos_side, "bkPx": px, "sz": sz, "bkLoss": "0", "ccy": "",
            "ts": str(ts)}


def test_okx_swap_contracts_times_ct_val_and_pos_side_wins() -> None:
    result = parse("okx", okx_push("BTC-USDT-SWAP", detail("sell", "long", "8.55", "82655.7"),
                                   detail("sell", "short", "2", "82000"),
                                   detail("buy", "net", "1", "81000"), family="BTC-USDT"))
    first, second, third = result.events
    assert [e["side"] for e in result.events] == ["LONG", "SHORT", "SHORT"]
    assert first["symbol"] == "BTCUSDT" and first["raw_symbol"] == "BTC-USDT-SWAP"
    assert first["qty"] == Decimal("8.55") * Decimal("0.01")
    assert first["usd"] == Decimal("8.55") * Decimal("0.01") * Decimal("82655.7")
    assert second["qty"] == Decimal("0.02") and third["usd"] == Decimal("810")
    assert only("okx", okx_push("ETH-USDT-SWAP", detail("sell", "net", "3", "2000")))["side"] \
        == "LONG"


def exact_product(a: str, b: str) -> Decimal:
    """``a × b`` by integer arithmetic on the digits (no Decimal context involved)."""
    places = [len(x.partition(".")[2]) for x in (a, b)]
    digits = int(a.replace(".", "")) * int(b.replace(".", ""))
    scale = sum(places)
    whole, frac = divmod(digits, 10**scale)
    return Decimal(f"{whole}.{frac:0{scale}d}")


# 17 and 13 significant digits: a product of 30, beyond Python's default 28-digit context
LONG_PRICE, BIG_QTY = "123.45678912345678", "987654321.0123"


def test_default_notional_is_exact_beyond_the_default_decimal_context() -> None:
    from liqcli.feeds.adapters.base import event

    exact = exact_product(LONG_PRICE, BIG_QTY)
    assert Decimal(LONG_PRICE) * Decimal(BIG_QTY) != exact  # what plain ``*`` gave
    got = event(exchange="toy", symbol="BTCUSDT", side="LONG", price=Decimal(LONG_PRICE),
                qty=Decimal(BIG_QTY), ts=TS)
    assert got["usd"] == exact and str(got["usd"]) == str(exact)
    assert normalize(got, now_ms=TS).usd == exact


def test_contract_notional_is_exact_beyond_the_default_decimal_context() -> None:
    sz = "98765432101.23"  # × ctVal 0.01 = BIG_QTY
    swap = only("okx", okx_push("BTC-USDT-SWAP", detail("sell", "long", sz, LONG_PRICE)))
    assert swap["qty"] == Decimal(BIG_QTY)
    assert swap["usd"] == exact_product(LONG_PRICE, BIG_QTY)
    assert normalize(swap, now_ms=TS).usd == exact_product(LONG_PRICE, BIG_QTY)


def deribit_numbers(instrument: str, amount: str, price: str) -> str:
    """A Deribit liquidation trade whose amount and price are JSON numbers, as Deribit sends."""
    row = trade("sell", "T", instrument=instrument)
    row["amount"], row["price"] = "@amount@", "@price@"
    return json.dumps(deribit(row)).replace('"@amount@"', amount).replace('"@price@"', price)


# One linear (base-quantity) frame per adapter family, quantity BIG_QTY at LONG_PRICE.
LINEAR_FRAMES: dict[str, Any] = {
    "binance": lambda: json.dumps(force_order(q=BIG_QTY, l=BIG_QTY, z=BIG_QTY, ap=LONG_PRICE)),
    "bybit": lambda: json.dumps(bybit_push(
        {"T": TS, "s": "ROSEUSDT", "S": "Buy", "v": BIG_QTY, "p": LONG_PRICE})),
    "okx": lambda: json.dumps(okx_push("BTC-USDT", detail("sell", "net", BIG_QTY, LONG_PRICE),
                                       inst_type="MARGIN")),
    "deribit": lambda: deribit_numbers("SOL_USDC-PERPETUAL", BIG_QTY, LONG_PRICE),
}


@pytest.mark.parametrize("name", sorted(LINEAR_FRAMES))
def test_linear_notional_is_exact_in_every_adapter(name: str) -> None:
    exact = exact_product(LONG_PRICE, BIG_QTY)
    assert Decimal(LONG_PRICE) * Decimal(BIG_QTY) != exact  # plain ``*`` would round
    (got,) = parse_line(name, LINEAR_FRAMES[name](), contracts=TABLE).events
    assert got["qty"] == Decimal(BIG_QTY) and got["price"] == Decimal(LONG_PRICE)
    assert got["usd"] == exact and str(got["usd"]) == str(exact)
    assert normalize(got, now_ms=TS).usd == exact


def test_linear_notional_beyond_18_places_is_rounded_half_even_once() -> None:
    """A product with more than the store's 18 decimal places: rounded half-even to 18 from
    the exact product (never first to Python's 28 significant digits)."""
    price, qty = "987.654321987654321", "123456789.123456789"  # 15 + 9 = 24 places, 36 digits
    exact = exact_product(price, qty)
    with localcontext() as ctx:
        ctx.prec = 100
        want = exact.quantize(Q18, rounding=ROUND_HALF_EVEN)
    assert want != exact and Decimal(price) * Decimal(qty) != want
    (got,) = parse("bybit", bybit_push(
        {"T": TS, "s": "ROSEUSDT", "S": "Sell", "v": qty, "p": price})).events
    assert got["usd"] == want and normalize(got, now_ms=TS).usd == want


def test_inverse_notional_is_exactly_contracts_times_value() -> None:
    value = "1.2345678912345678"  # USD per contract, an override with 17 digits
    table = ContractTable.from_options([f"okx:BTC-USD-SWAP={value}USD"])
    sz = "987654321.0123"
    with localcontext() as ctx:
        ctx.prec = 100
        usd = Decimal(sz) * Decimal(value)
        qty = (usd / Decimal(LONG_PRICE)).quantize(Q18, rounding=ROUND_HALF_EVEN)
    assert usd == exact_product(sz, value) != Decimal(sz) * Decimal(value)
    got = only("okx", okx_push("BTC-USD-SWAP", detail("sell", "long", sz, LONG_PRICE)),
               table=table)
    assert got["usd"] == usd and got["qty"] == qty


def test_okx_inverse_and_dated_futures() -> None:
    inverse = only("okx", okx_push("BTC-USD-SWAP", detail("buy", "short", "12", "60000")))
    assert inverse["symbol"] == "BTCUSD" and inverse["usd"] == Decimal(1200)
    assert inverse["qty"] == inverse_qty(Decimal(1200), Decimal(60000))
    future = only("okx", okx_push("BTC-USDT-250627", detail("sell", "long", "1", "70000"),
                                  inst_type="FUTURES", family="BTC-USDT"))
    assert future["symbol"] == "BTCUSDT_250627" and future["qty"] == Decimal("0.01")


def test_okx_unknown_contract_value_is_rejected_with_how_to_supply_it() -> None:
    frame = okx_push("ZZZ-USDT-SWAP", detail("sell", "long", "1", "2"))
    rejected_item("okx", frame, r"--contract-size ZZZ-USDT-SWAP=VALUE")
    table = ContractTable.from_options(["ZZZ-USDT-SWAP=10"])
    assert parse("okx", frame, table=table).events[0]["qty"] == Decimal(10)


def test_contract_overrides_beat_the_builtin_table(tmp_path: Path) -> None:
    sizes = tmp_path / "sizes.txt"
    sizes.write_text("# mine\nokx:BTC-USDT-SWAP = 0.001\nBTC-USD-SWAP=10usd\n")
    table = ContractTable.from_options([], [sizes])
    frame = okx_push("BTC-USDT-SWAP", detail("sell", "long", "5", "100"), family="BTC-USDT")
    assert parse("okx", frame, table=table).events[0]["qty"] == Decimal("0.005")
    inverse = okx_push("BTC-USD-SWAP", detail("sell", "long", "5", "100"))
    assert parse("okx", inverse, table=table).events[0]["usd"] == Decimal(50)
    assert parse_value("100USD") == ContractValue(Decimal(100), quote=True)
    for bad in ("x", "0", "-1", "1 BTC"):
        with pytest.raises(UsageError):
            parse_value(bad)
    with pytest.raises(UsageError, match="INSTRUMENT=VALUE"):
        ContractTable.from_options(["BTC-USDT-SWAP"])


def test_okx_margin_is_base_units_and_options_are_skipped() -> None:
    margin = only("okx", okx_push("BTC-USDT", detail("sell", "net", "0.3", "50000"),
                                  inst_type="MARGIN"))
    assert margin["symbol"] == "BTCUSDT_MARGIN" and margin["qty"] == Decimal("0.3")
    option = parse("okx", okx_push("BTC-USD-250627-60000-C", detail("sell", "net", "1", "5"),
                                   inst_type="OPTION"))
    assert option.events == []


@pytest.mark.parametrize("frame", [
    {"event": "subscribe", "arg": {"channel": "liquidation-orders", "instType": "SWAP"}},
    "pong",
    {"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [{"px": "1"}]},
])
def test_okx_non_liquidation_frames_are_skipped(frame: Any) -> None:
    assert parse("okx", frame).skipped


def test_okx_malformed() -> None:
    rejected_item("okx", okx_push("BTC-USDT-SWAP", {"side": "sell", "posSide": "long",
                                                    "sz": "1", "ts": str(TS)}), "bkPx")
    bad_ts = detail("sell", "long", "1", "2") | {"ts": "x"}
    rejected_item("okx", okx_push("BTC-USDT-SWAP", bad_ts), "timestamp")


# --- BitMEX ------------------------------------------------------------------------------------

def bitmex(action: str, *rows: dict[str, Any]) -> dict[str, Any]:
    return {"table": "liquidation", "action": action, "data": list(rows)}


def test_bitmex_insert_counts_once_with_receive_time() -> None:
    row = {"orderID": "a1", "symbol": "XBTUSD", "side": "Sell", "price": 60000, "leavesQty": 3000}
    got = only("bitmex", bitmex("insert", row), received_ms=TS)
    assert got["side"] == "LONG" and got["symbol"] == "BTCUSD" and got["raw_symbol"] == "XBTUSD"
    assert got["usd"] == Decimal(3000) and got["qty"] == inverse_qty(Decimal(3000), Decimal(60000))
    assert got["ts"] == TS and got["id"] == "a1"
    assert parse("bitmex", bitmex("update", {"orderID": "a1", "leavesQty": 100}),
                 received_ms=TS).skipped
    assert parse("bitmex", bitmex("delete", {"orderID": "a1"}), received_ms=TS).skipped
    linear = {"orderID": "b", "symbol": "XBTUSDT", "side": "Buy", "price": 60000,
              "leavesQty": 1000}
    got = only("bitmex", bitmex("insert", linear), received_ms=TS)
    assert got["side"] == "SHORT" and got["symbol"] == "BTCUSDT" and got["qty"] == Decimal("0.001")


def test_bitmex_needs_a_receive_time_which_recordings_carry() -> None:
    row = {"orderID": "a1", "symbol": "XBTUSD", "side": "Buy", "price": 60000, "leavesQty": 10}
    with pytest.raises(InvalidEvent, match="no time"):
        parse("bitmex", bitmex("insert", row))
    line = json.dumps({"recv_ms": TS, "msg": bitmex("insert", row)})
    assert parse_line("bitmex", line, contracts=TABLE).events[0]["ts"] == TS


def test_bitmex_unknown_instrument_is_rejected() -> None:
    row = {"orderID": "c", "symbol": "ETHUSD", "side": "Buy", "price": 3000, "leavesQty": 10}
    rejected_item("bitmex", bitmex("insert", row), "--contract-size ETHUSD=VALUE",
                  received_ms=TS)


# --- Deribit -----------------------------------------------------------------------------------

def deribit(*trades: dict[str, Any], channel: str = "trades.future.BTC.100ms") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "subscription",
            "params": {"channel": channel, "data": list(trades)}}


def trade(direction: str, flag: str | None, *, instrument: str = "BTC-PERPETUAL",
          amount: str = "1000", price: str = "50000", trade_id: str = "t1") -> dict[str, Any]:
    row: dict[str, Any] = {"trade_seq": 1, "trade_id": trade_id, "timestamp": TS,
                           "instrument_name": instrument, "direction": direction,
                           "amount": int(amount), "price": int(price)}  # JSON numbers
    if flag is not None:
        row["liquidation"] = flag
    return row


def test_deribit_liquidation_flags() -> None:
    (taker,) = parse("deribit", deribit(trade("sell", "T"))).events
    assert taker["side"] == "LONG" and taker["symbol"] == "BTCUSD" and taker["id"] == "t1-T"
    assert taker["usd"] == Decimal(1000) and taker["qty"] == Decimal("0.02")
    (maker,) = parse("deribit", deribit(trade("buy", "M"))).events
    assert maker["side"] == "LONG"
    both = parse("deribit", deribit(trade("buy", "MT", trade_id="t9"))).events
    assert sorted((e["side"], e["id"]) for e in both) == [("LONG", "t9-M"), ("SHORT", "t9-T")]


def test_deribit_plain_trades_and_options_are_skipped_linear_is_base() -> None:
    assert parse("deribit", deribit(trade("buy", None))).skipped
    assert parse("deribit", deribit(trade("buy", "T", instrument="BTC-27JUN25-60000-C"))).skipped
    assert parse("deribit", {"jsonrpc": "2.0", "id": 2, "result": ["x"]}).skipped
    dated = only("deribit", deribit(trade("sell", "T", instrument="BTC-27JUN25")))
    assert dated["symbol"] == "BTCUSD_250627"
    linear = only("deribit", deribit(trade("sell", "T", instrument="SOL_USDC-PERPETUAL",
                                           amount="3", price="150")))
    assert linear["symbol"] == "SOLUSDC" and linear["usd"] == Decimal(450)


def test_deribit_malformed() -> None:
    rejected_item("deribit", deribit(trade("sell", "X")), "liquidation flag")
    rejected_item("deribit", deribit(trade("up", "T")), "direction")


# --- across venues -----------------------------------------------------------------------------

def test_one_symbol_aggregates_across_exchanges() -> None:
    usdt = [
        only("binance", force_order(s="BTCUSDT")),
        only("bybit", bybit_push({"T": TS, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "2"})),
        only("okx", okx_push("BTC-USDT-SWAP", detail("sell", "long", "1", "2"))),
        only("bitmex", bitmex("insert", {"orderID": "x", "symbol": "XBTUSDT", "side": "Sell",
                                         "price": 2, "leavesQty": 1}), received_ms=TS),
    ]
    usd = [
        only("binance", force_order(s="BTCUSD_PERP")),
        only("okx", okx_push("BTC-USD-SWAP", detail("sell", "long", "1", "2"))),
        only("bitmex", bitmex("insert", {"orderID": "y", "symbol": "XBTUSD", "side": "Sell",
                                         "price": 2, "leavesQty": 1}), received_ms=TS),
        only("deribit", deribit(trade("sell", "T"))),
        only("bybit", bybit_push({"T": TS, "s": "BTCUSD", "S": "Buy", "v": "1", "p": "2"})),
    ]
    assert {normalize(e).symbol for e in usdt} == {"BTCUSDT"}
    assert {normalize(e).symbol for e in usd} == {"BTCUSD"}
    assert all(normalize(e).side == "LONG" for e in usdt + usd)


# --- as input formats of the readers -----------------------------------------------------------

def test_adapters_are_input_formats_with_file_line_rejections(tmp_path: Path) -> None:
    from liqcli.ingest.readers import format_names, read_records

    assert {"binance", "bybit", "okx", "bitmex", "deribit"} <= set(format_names())
    lines = [
        json.dumps({"event": "subscribe", "arg": {"channel": "liquidation-orders"}}),
        json.dumps(okx_push("BTC-USDT-SWAP", detail("sell", "long", "3", "100"),
                            detail("buy", "short", "1", "101"))),
        '{"arg": {"channel": "liquidation-orders"}, "data": [{"instId": "BTC-USDT-SWAP"',
        json.dumps(okx_push("ZZZ-USDT-SWAP", detail("sell", "long", "1", "2"))),
        "pong",
    ]
    path = tmp_path / "okx.jsonl"
    path.write_text("\n".join(lines) + "\n")
    records = list(read_records(str(path), "okx"))
    assert [(r.line, r.skipped) for r in records] == [
        (1, True), (2, False), (2, False), (3, False), (4, False), (5, True)]
    assert [normalize(r.data).qty for r in records[1:3] if r.data] == [Decimal("0.03"),
                                                                         Decimal("0.01")]
    assert records[3].error is not None and records[3].error.startswith("malformed JSON")
    assert records[4].error is not None and "--contract-size" in records[4].error
    assert records[4].location() == f"{path}:4"


def test_auto_format_detects_each_exchange(tmp_path: Path) -> None:
    from liqcli.ingest.readers import RecordReader

    samples = {
        "binance": force_order(),
        "bybit": bybit_push({"T": TS, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "2"}),
        "okx": okx_push("BTC-USDT-SWAP", detail("sell", "long", "1", "2")),
        "deribit": deribit(trade("sell", "T")),
    }
    for name, frame in samples.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(json.dumps(frame) + "\n")
        reader = RecordReader(str(path))
        (record,) = list(reader)
        assert reader.format is not None and reader.format.name == name
        assert record.data is not None and record.data["exchange"] == name
