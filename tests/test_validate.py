"""The normalized event contract: what normalize() accepts, how it normalizes, what it rejects."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqcli.errors import InvalidEvent
from liqcli.ingest.validate import normalize
from liqcli.model import Event

NOW = 1_750_000_000_000  # 2025-06-15T15:06:40Z
GOOD: dict[str, object] = {
    "exchange": "binance",
    "symbol": "BTCUSDT",
    "side": "LONG",
    "price": "65000.1",
    "qty": "0.5",
    "ts": 1_723_895_903_305,
}


def norm(**changes: object) -> Event:
    record = {**GOOD, **changes}
    return normalize({k: v for k, v in record.items() if v is not _ABSENT}, now_ms=NOW)


def reason(**changes: object) -> str:
    with pytest.raises(InvalidEvent) as caught:
        norm(**changes)
    return caught.value.reason


_ABSENT = object()


def test_a_valid_record_becomes_an_event() -> None:
    event = norm(id="abc-1", raw_symbol="BTC-USDT-SWAP", extra="ignored")
    assert event == Event(
        "binance", "BTCUSDT", "LONG", Decimal("65000.1"), Decimal("0.5"),
        Decimal("32500.05"), 1_723_895_903_305, "abc-1", "BTC-USDT-SWAP",
    )


def test_names_and_side_are_case_insensitive() -> None:
    event = norm(exchange="ByBit", symbol="ethusdt_250627", side="short")
    assert (event.exchange, event.symbol, event.side) == ("bybit", "ETHUSDT_250627", "SHORT")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.50", "1.5"), ("1.5", "1.5"), ("0100", "100"), ("100.000", "100"), ("1E+2", "100"),
     ("1e2", "100"), (".5", "0.5"), ("5.", "5"), ("+2.50", "2.5"),
     ("0.000000000000000001", "0.000000000000000001"),
     ("2.500000000000000000000000", "2.5")],  # trailing zeros past 18 places are the same value
)
def test_amounts_are_canonical(text: str, expected: str) -> None:
    price = norm(price=text, qty="2").price
    assert price == Decimal(expected)
    assert format(price, "f") == expected  # no trailing zeros
    assert price.as_tuple().exponent == min(0, -len(expected.partition(".")[2]))  # no E+n


def test_amount_forms_agree() -> None:
    forms = ["2.5", Decimal("2.50"), Decimal("2.5E0"), 2.5]
    assert {norm(qty=f).qty for f in forms} == {Decimal("2.5")}
    assert str(norm(qty=7).qty) == "7"


def test_default_usd_is_exact() -> None:
    # 31 significant digits: Decimal's default 28-digit context would round this product.
    price, qty = "123456789.123456789", "1234.123456789"
    with localcontext() as ctx:
        ctx.prec = 100
        exact = Decimal(price) * Decimal(qty)
    assert len(exact.as_tuple().digits) > 28
    assert norm(price=price, qty=qty).usd == exact


def test_default_usd_rounds_half_even_to_18_places() -> None:
    price, qty = "0.123456789012345678", "0.5"
    with localcontext() as ctx:
        ctx.prec = 100
        exact = Decimal(price) * Decimal(qty)  # 19 places
        expected = exact.quantize(Decimal("1e-18"), rounding=ROUND_HALF_EVEN).normalize()
    assert norm(price=price, qty=qty).usd == expected
    assert norm(price=price, qty=qty, usd="12.340").usd == Decimal("12.34")


@pytest.mark.parametrize(
    ("value", "ms"),
    [(1_723_895_903_305, 1_723_895_903_305), ("1723895903305", 1_723_895_903_305),
     (Decimal("1723895903.3059"), 1_723_895_903_305), ("1723895903.305999", 1_723_895_903_305),
     (1723895903.5, 1_723_895_903_500),
     ("2024-08-17T11:58:23.305999Z", 1_723_895_903_305),
     ("2024-08-17T13:58:23.305+02:00", 1_723_895_903_305),
     ("2024-08-17 11:58:23+00:00", 1_723_895_903_000)],
)
def test_timestamp_forms(value: object, ms: int) -> None:
    assert norm(ts=value).ts_ms == ms


def test_timestamp_from_datetime() -> None:
    moment = datetime(2024, 8, 17, 11, 58, 23, 305_999, tzinfo=UTC)
    assert norm(ts=moment).ts_ms == 1_723_895_903_305


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"qty": _ABSENT}, "missing field 'qty'"),
        ({"exchange": None}, "missing field 'exchange'"),
        ({"price": "0"}, "price: must be > 0"),
        ({"price": "-1"}, "price: must be > 0"),
        ({"qty": -3}, "qty: must be > 0"),
        ({"price": "NaN"}, "price: not a decimal number"),
        ({"price": "Infinity"}, "price: not a decimal number"),
        ({"price": Decimal("NaN")}, "price: must be a finite number"),
        ({"qty": float("inf")}, "qty: must be a finite number"),
        ({"price": True}, "price: must be a number"),
        ({"price": "1,5"}, "price: not a decimal number"),
        ({"price": " 1.5"}, "price: not a decimal number"),
        ({"price": "1_000"}, "price: not a decimal number"),
        ({"price": "١٢"}, "price: not a decimal number"),  # Arabic-Indic digits
        ({"price": [1]}, "price: must be a number, got list"),
        ({"qty": "1.0000000000000000001"}, "qty: more than 18 decimal places"),
        ({"qty": "1e-19"}, "qty: more than 18 decimal places"),
        ({"price": "1e10"}, "price: must be < 1e+10"),
        ({"qty": "1e13"}, "qty: must be < 1e+13"),
        ({"usd": "1e12"}, "usd: must be < 1e+12"),
        ({"usd": "0"}, "usd: must be > 0"),
        ({"price": "0.000000000000000001", "qty": "0.1"}, "usd: price × qty rounds to 0"),
        ({"side": "BUY"}, "side: unknown 'BUY' (expected LONG or SHORT, the position liquidated"),
        ({"side": "sell"}, "BUY/SELL is ambiguous"),
        ({"side": "LONGS"}, "side: unknown 'LONGS' (expected LONG or SHORT)"),
        ({"side": 1}, "side: must be LONG or SHORT, got int"),
        ({"exchange": "bin ance"}, "exchange: invalid 'bin ance'"),
        ({"exchange": "[red]x"}, "exchange: invalid '[red]x'"),
        ({"exchange": "x" * 33}, "exchange: invalid"),
        ({"exchange": ""}, "exchange: invalid ''"),
        ({"exchange": "\u212a"}, "exchange: invalid"),  # Kelvin sign: lower() would give 'k'
        ({"symbol": "BTC\x1b[31mUSDT"}, "symbol: invalid 'BTC\\x1b[31mUSDT'"),
        ({"symbol": "BTC/USDT"}, "symbol: invalid"),
        ({"symbol": "ſ"}, "symbol: invalid"),  # long s: upper() would give 'S'
        ({"symbol": 42}, "symbol: must be a string, got int"),
        ({"ts": 1_723_895_903}, "ts: before 2009-01-01"),
        ({"ts": "2008-12-31T23:59:59.999Z"}, "ts: before 2009-01-01"),
        ({"ts": NOW + 86_400_001}, "ts: more than a day in the future"),
        ({"ts": 1_723_895_903_305_000}, "looks like microseconds"),
        ({"ts": 1_723_895_903_305_000_000}, "looks like nanoseconds"),
        ({"ts": Decimal("1723895903305.5")}, "looks like milliseconds"),
        ({"ts": "2024-08-17T11:58:23"}, "ts: ISO-8601 time without a zone"),
        ({"ts": "2024-13-01T00:00:00Z"}, "ts: invalid ISO-8601 time"),
        ({"ts": "yesterday"}, "ts: not epoch ms, epoch seconds or ISO-8601"),
        ({"ts": True}, "ts: must be a time"),
        ({"ts": Decimal("NaN")}, "ts: must be a finite number"),
        ({"id": "\t"}, "id: must be 1-128 printable characters"),
        ({"id": "a\nb"}, "id: must be 1-128 printable characters"),
        ({"id": "x" * 129}, "id: must be 1-128 printable characters"),
        ({"id": 1.5}, "id: must be a string or an integer"),
        ({"raw_symbol": "BTC USDT"}, "raw_symbol: invalid"),
    ],
)
def test_rejections_name_the_field(changes: dict[str, object], expected: str) -> None:
    assert expected in reason(**changes)


def test_seconds_hint_only_for_second_like_integers() -> None:
    assert "looks like epoch seconds" in reason(ts=1_723_895_903)
    assert "looks like" not in reason(ts=5)


def test_future_limit_is_relative_to_now() -> None:
    assert norm(ts=NOW + 86_400_000).ts_ms == NOW + 86_400_000
    event = normalize({**GOOD, "ts": 1_723_895_903_305})  # default now: the real clock
    assert event.ts_ms == 1_723_895_903_305


def test_integer_id_becomes_text() -> None:
    assert norm(id=123456789012345678901234567890).id == "123456789012345678901234567890"


def test_reasons_are_terminal_safe_and_short() -> None:
    text = reason(symbol="\x1b]0;evil\x07" + "A" * 500)
    assert "\x1b" not in text and "\x07" not in text
    assert len(text) < 120


places = st.integers(min_value=0, max_value=18)


@st.composite
def amounts(draw: st.DrawFn, limit_digits: int) -> Decimal:
    scale = draw(places)
    units = draw(st.integers(min_value=1, max_value=10 ** (limit_digits + scale) - 1))
    return Decimal(units).scaleb(-scale, context=Context(prec=100))  # exact


@given(amounts(10), amounts(13), st.integers(min_value=0, max_value=6))
def test_amounts_round_trip_exactly(price: Decimal, qty: Decimal, zeros: int) -> None:
    padded = format(price, "f") + ("." if "." not in format(price, "f") else "") + "0" * zeros
    try:
        event = norm(price=padded, qty=format(qty, "f"))
    except InvalidEvent as exc:
        assert exc.reason.startswith("usd:")  # only the notional can be out of range here
        with localcontext() as ctx:
            ctx.prec = 100
            product = price * qty
        assert product >= Decimal("1e12") or product < Decimal("1e-18")
        return
    assert event.price == price and event.qty == qty
    for amount in (event.price, event.qty, event.usd):
        text = format(amount, "f")
        assert amount.as_tuple().exponent == min(0, -len(text.partition(".")[2]))
        assert "." not in text or not text.endswith("0")
    with localcontext() as ctx:
        ctx.prec = 100
        exact = price * qty
        if exact.as_tuple().exponent < -18:  # type: ignore[operator]
            exact = exact.quantize(Decimal("1e-18"), rounding=ROUND_HALF_EVEN)
    assert event.usd == exact
