"""Adapters under hostile input (issue #11.1): a bad frame is a rejected line, never an abort.

Real frames of each venue (from /work/shared/exchange-formats.md and the venues' docs) have one
field replaced by an arbitrary JSON value; the adapter must return events that pass the plain
contract's validation, or reject the frame/item with InvalidEvent. Nothing else may escape.
"""

from __future__ import annotations

import contextlib
import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters import ContractTable, get_adapter, parse_line
from liqcli.ingest.validate import normalize

TS = 1_723_895_903_305
FRAMES: dict[str, Any] = {
    "binance": {"e": "forceOrder", "E": TS + 2, "o": {
        "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.288", "p": "38886.54",
        "ap": "39021.00", "X": "FILLED", "l": "0.288", "z": "0.288", "T": TS}},
    "bybit": {"topic": "allLiquidation.ROSEUSDT", "type": "snapshot", "ts": TS + 300,
              "data": [{"T": TS, "s": "ROSEUSDT", "S": "Sell", "v": "20000", "p": "0.04499"}]},
    "okx": {"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": [{
        "instId": "BTC-USDT-SWAP", "instType": "SWAP", "uly": "BTC-USDT",
        "instFamily": "BTC-USDT", "details": [{"side": "sell", "posSide": "long",
                                               "bkPx": "82655.7", "sz": "8.55", "bkLoss": "0",
                                               "ccy": "", "ts": str(TS)}]}]},
    "bitmex": {"recv_ms": TS, "msg": {"table": "liquidation", "action": "insert", "data": [{
        "orderID": "a1", "symbol": "XBTUSD", "side": "Buy", "price": 60000,
        "leavesQty": 5000}]}},
    "deribit": {"jsonrpc": "2.0", "method": "subscription", "params": {
        "channel": "trades.future.BTC.100ms", "data": [{
            "trade_seq": 1, "trade_id": "t1", "timestamp": TS, "instrument_name": "BTC-PERPETUAL",
            "direction": "sell", "amount": 1000, "price": 50000, "liquidation": "T"}]}},
}
TABLE = ContractTable()
NOW = TS + 1000


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path inside a JSON value (the value itself included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(frame: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(frame)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


# Values a hostile or broken feed sends: Unicode digits, huge and odd numbers, wrong types.
HOSTILE: list[Any] = [
    "²", "１２３", "١٢٣", "1723895903305²", "", " ", "NaN", "-Infinity", "1e999999", "0x10",
    "1_000", "9" * 400, "-1", "0", "1e-40", "None", "null", "币安人生USDT", "BTC\u202eUSDT",
    "SELL", "Buy", "long", "T", "MT", "BTC-USDT-SWAP", "XBTUSD", "BTC-27JUN25",
    None, True, 0, -1, 10**40, Decimal("1e-40"), Decimal("0.5"), [], {}, [1], {"a": 1},
]
_TEXTS = st.sampled_from([v for v in HOSTILE if isinstance(v, str)]) | st.text(max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.decimals(allow_nan=False, allow_infinity=False, places=None) | _TEXTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXTS, inner, max_size=3),
    max_leaves=6,
)


def check_frame(name: str, frame: Any) -> None:
    try:
        line = json.dumps(frame, default=str)  # Decimal values as strings
    except (TypeError, ValueError):
        return
    # The adapter itself, without parse_object's safety net: only InvalidEvent (and the
    # arithmetic errors parse_object documents as the frame's rejection) may come out.
    from liqcli.feeds.adapters.base import unwrap_recording
    from liqcli.ingest.readers import parse_json

    obj, received = unwrap_recording(parse_json(line))
    try:
        result = get_adapter(name).parse_message(obj, received_ms=received, contracts=TABLE)
    except (InvalidEvent, ArithmeticError):
        return
    for item in result.events:
        with contextlib.suppress(InvalidEvent):
            normalize(item, now_ms=NOW)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FRAMES)), st.data())
def test_one_replaced_field_never_aborts(name: str, data: st.DataObject) -> None:
    frame = FRAMES[name]
    path = data.draw(st.sampled_from(paths(frame)))
    value = data.draw(_JSON)
    check_frame(name, replaced(frame, path, value))


def test_every_field_of_every_frame_with_every_hostile_value() -> None:
    """Exhaustive: each field of each real frame replaced by each value of HOSTILE."""
    for name, frame in FRAMES.items():
        for path in paths(frame):
            for value in HOSTILE:
                check_frame(name, replaced(frame, path, value))


def test_real_frames_parse() -> None:
    for name, frame in FRAMES.items():
        (one,) = parse_line(name, json.dumps(frame), contracts=TABLE).events
        assert normalize(one, now_ms=NOW).exchange == name


def test_unicode_digit_timestamps_are_rejected_lines_and_later_events_kept(
    redis_url: str, tmp_path: Path
) -> None:
    """The issue's input: "T": "²" (and "E") in Binance frames, then good frames after them."""
    frames = [
        FRAMES["binance"],
        replaced(FRAMES["binance"], ("o", "T"), "²"),
        replaced(replaced(FRAMES["binance"], ("o",), {
            k: v for k, v in FRAMES["binance"]["o"].items() if k != "T"}), ("E",), "²"),
        replaced(FRAMES["binance"], ("o", "T"), TS + 5),
    ]
    path = tmp_path / "binance.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in frames))
    result = CliRunner().invoke(app, ["ingest", "-F", "binance", str(path)])
    assert result.exit_code == 4, result.output
    assert f"{path}:2: missing or bad timestamp 'T': '²'" in result.stderr
    assert f"{path}:3: missing or bad timestamp 'E': '²'" in result.stderr
    assert "new 2," in result.stderr
    for name in ("bybit", "okx", "deribit"):
        ts_path = next(p for p in paths(FRAMES[name]) if p and p[-1] in ("T", "ts", "timestamp")
                       and "data" in p)
        bad = parse_line(name, json.dumps(replaced(FRAMES[name], ts_path, "²")), contracts=TABLE)
        assert not bad.events and "timestamp" in bad.errors[0].reason


def test_a_frame_the_adapter_cannot_read_is_a_rejection_not_a_crash() -> None:
    """The safety net: an unexpected error inside an adapter becomes the line's rejection."""
    from liqcli.feeds.adapters import Adapter, AdapterResult, parse_object

    def broken(obj: Any, *, received_ms: int | None, contracts: ContractTable) -> AdapterResult:
        return AdapterResult([{"x": int("²")}])

    try:
        parse_object(Adapter("broken", broken), {}, received_ms=None, contracts=TABLE)
    except InvalidEvent as exc:
        assert "unreadable frame (ValueError" in exc.reason
    else:  # pragma: no cover
        raise AssertionError("no rejection")
