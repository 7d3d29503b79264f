"""The ingest client's fast paths give exactly what the full paths give: validate.normalize's
fast path (common record shapes) against normalize_full, parse_json's one-pass decode against
the full decode, and a chunk of lines decoded at once against the line-by-line checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from liqcli.errors import InvalidEvent
from liqcli.ingest import readers, validate
from liqcli.ingest.validate import FUTURE_SLACK_MS, MIN_TS_MS, normalize, normalize_full

NOW = 1_750_000_000_000
COMMON = {"exchange": "okx", "symbol": "BTCUSDT", "side": "SHORT", "price": "89886.7",
          "qty": "0.012", "ts": 1_749_000_000_000, "id": "ok1"}


def outcome(function: object, record: dict[str, object]) -> tuple[str, str]:
    """("ok", the event's repr: exact Decimal forms) or ("rejected", the reason)."""
    try:
        event = function(record, now_ms=NOW)  # type: ignore[operator]
    except InvalidEvent as exc:
        return "rejected", exc.reason
    return "ok", repr(event)


plain_amounts = st.from_regex(r"[0-9]{1,15}(\.[0-9]{0,22})?", fullmatch=True)
odd_amounts = st.one_of(
    st.text(alphabet="0123456789.eE+-_ \u0661\u00b2", max_size=25),
    st.sampled_from(["0", "00", "0.0", "5.", ".5", "1e3", "1E-2", "-1", "+1", "1_000", " 1",
                     "NaN", "Infinity", "0.000000000000000001", "0.0000000000000000001",
                     "9999999999.999999999999999999", "10000000000", "1" * 81,
                     "1." + "0" * 79, "1." + "0" * 41]),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=0, max_value=10**14, places=3).map(lambda d: d.normalize()),
    st.integers(min_value=-5, max_value=10**14),
    st.floats(allow_nan=True),
    st.sampled_from([None, True, False, [], {}]),
)
scaled_amounts = st.builds(  # any number of places up to 18: their products may need rounding
    lambda units, places: format(Decimal(units).scaleb(-places), "f"),
    st.integers(min_value=1, max_value=10**14), st.integers(min_value=0, max_value=19),
)
amounts = st.one_of(plain_amounts, plain_amounts.map(lambda t: t + "000"), scaled_amounts,
                    odd_amounts)
ABSENT = object()
records = st.fixed_dictionaries(
    {
        "exchange": st.sampled_from(["okx", "Binance", "by-bit.1_x", "", "bad name", "x" * 33,
                                     "x" * 32, "\uff2f\uff2b\uff38", "k\u212a", None, 5]),
        "symbol": st.sampled_from(["BTCUSDT", "btcusdt", "1000PEPEUSDT", "\u5e01\u5b89usdt",
                                   "\u017fol", "", "A" * 40, "A" * 41, "BTC USDT", None, 7,
                                   "\uff22TC", "ETH-PERP", "_X", "e\u0301"]),
        "side": st.sampled_from(["LONG", "SHORT", "long", "Short", "sHoRt", "BUY", "sell",
                                 "\u017fhort", "", None, 1, True]),
        "price": amounts,
        "qty": amounts,
        "usd": st.one_of(st.just(ABSENT), st.none(), amounts),
        "ts": st.one_of(
            st.integers(min_value=MIN_TS_MS - 2, max_value=MIN_TS_MS + 2),
            st.integers(min_value=NOW + FUTURE_SLACK_MS - 2, max_value=NOW + FUTURE_SLACK_MS + 2),
            st.integers(min_value=MIN_TS_MS, max_value=NOW),
            st.integers(min_value=0, max_value=10**21).map(str),
            st.sampled_from(["1749000000000", "1749000000.5", "2025-06-01T00:00:00Z", None,
                             "+1749000000000", "01749000000000", "\u0661749000000000",
                             "1" * 20, "1" * 21, "0" * 20 + "1",
                             True, Decimal("1749000000.25"), 1_749_000_000, 1.5e9]),
        ),
        "id": st.sampled_from([ABSENT, None, "", "ok1", "x" * 128, "x" * 129, "a\u2028",
                               "a\tb", 12, True, 2**500, "\u5e01"]),
        "raw_symbol": st.sampled_from([ABSENT, None, "BTC-PERP", "BTC/USDT:USDT",
                                       "\u5e01\u5b89", "a b", "", 5, "x" * 65]),
    }
).map(lambda r: {k: v for k, v in r.items() if v is not ABSENT})


@settings(max_examples=3000)
@given(records)
@example(dict(COMMON))
@example({**COMMON, "price": "2.5", "qty": "0.4"})  # a notional with trailing zeros: 1.00
@example({**COMMON, "price": "2.5", "qty": "4"})  # 10.0 -> 10, not 1E+1
@example({**COMMON, "price": "0.0000000005", "qty": "0.000000002"})  # 1E-18, exponent -19
@example({**COMMON, "price": "0.0000000005", "qty": "0.0000000003"})  # rounds: 2E-19 -> 0
@example({**COMMON, "price": "0.123456789", "qty": "0.1234567891"})  # 19 places: rounded
@example({**COMMON, "price": "0.0000001", "qty": "1"})  # str() writes 1E-7
@example({**COMMON, "price": "9999999999", "qty": "101"})  # notional >= 1e12
def test_fast_normalize_is_normalize_full(record: dict[str, object]) -> None:
    assert outcome(normalize, record) == outcome(normalize_full, record)


@pytest.mark.parametrize("changes", [
    {}, {"qty": "0.020"}, {"price": Decimal("89886.7"), "qty": Decimal("0.5")}, {"side": "long"},
    {"usd": "1078.64"}, {"id": ""}, {"raw_symbol": "BTC-USDT-SWAP"}, {"exchange": "OKX"},
    {"ts": "1749000000000"},
])
def test_common_shapes_take_the_fast_path(changes: dict[str, object]) -> None:
    """The fast path is really used (a broken one could fall back every time unnoticed)."""
    record = {**COMMON, **changes}
    event = validate._fast_normalize(record, NOW)
    assert event is not None
    assert repr(event) == repr(normalize_full(record, now_ms=NOW))


def test_name_caches_stay_bounded_and_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "_CACHE_LIMIT", 3)
    for number in range(10):
        record = {**COMMON, "exchange": f"EX{number}", "symbol": f"s{number}usdt"}
        event = normalize(record, now_ms=NOW)
        assert (event.exchange, event.symbol) == (f"ex{number}", f"S{number}USDT")
        assert len(validate._EXCHANGE_CACHE) <= 3 and len(validate._SYMBOL_CACHE) <= 3


# --------------------------------------------------------------------------------- readers

json_fragments = st.sampled_from([
    "{", "}", "[", "]", ":", ",", '"a"', '"qty"', '"price"', "1", "-0", "1.50", "1e400", "NaN",
    "Infinity", "true", "null", " ", "\t", '"\\u0041"', '"\\""', '"x\\\\"', '"\u2028"', "\u00a0",
    '"a\tb"', "1" * 30,
])


@given(st.lists(json_fragments, max_size=14))
@example(['{', '"qty"', ':', '1', ',', '"qty"', ':', '"1"', '}'])
@example([' ', '{', '"a"', ':', '1', '}', ' '])
@example(['{', '"a"', ':', 'NaN', '}'])
@example(['[', '[', '[', ']', ']', ']', '1'])
@example(['1e400', '111111111111111111111111111111'])
def test_parse_json_one_pass_is_the_full_decode(parts: list[str]) -> None:
    text = "".join(parts)

    def run(function: object) -> tuple[str, str]:
        try:
            return "ok", repr(function(text))  # type: ignore[operator]
        except InvalidEvent as exc:
            return "rejected", exc.reason

    assert run(readers.parse_json) == run(readers._parse_json_full)


def test_parse_json_deep_nesting_is_one_rejection() -> None:
    with pytest.raises(InvalidEvent, match="nested too deeply"):
        readers.parse_json("[" * 100_000 + "]" * 100_000)


def test_a_number_beyond_decimal_exponents_is_one_rejection() -> None:
    """It raised decimal.InvalidOperation out of the reader (an abort, not a rejected line)."""
    with pytest.raises(InvalidEvent, match="malformed JSON: number out of range"):
        readers.parse_json('{"price": 1e400111111111111111111111111111111}')


line_parts = st.sampled_from([
    b"{}", b"x", b" ", b"\t", b"\r", b"\r\n", b"\n", b"\n\n", b"\x00", b"\x0b", b"\x0c", b"\x1f",
    b"\x7f", b"\xff", b"\xc3", b"\xc3\xa9", "\u2028".encode(), "\u00a0".encode(),
    "\u0085".encode(), b"\xef\xbb\xbf",
])


def line_by_line(body: bytes) -> list[tuple[int, str | None, str | None]]:
    checked = (readers._check_line(number, raw)
               for number, raw in enumerate(body.split(b"\n")[:-1], 1))
    return [line for line in checked if line is not None]


@settings(max_examples=2000)
@given(st.lists(line_parts, max_size=40))
def test_a_chunk_decoded_at_once_is_its_lines_checked_one_by_one(parts: list[bytes]) -> None:
    body = b"".join(parts) + b"\n"
    text = readers._plain_text(body)
    if text is not None:  # (else the lines are checked one by one: the path of old)
        assert list(readers._text_lines(text, 0)) == line_by_line(body)


@pytest.mark.parametrize("line", [
    b"x" * readers.MAX_LINE_BYTES, b"x" * (readers.MAX_LINE_BYTES + 1),
    "\u00e9".encode() * (readers.MAX_LINE_BYTES // 2), "\u00e9".encode() * 20_000,
    "\u00e9".encode() * (readers.MAX_LINE_BYTES // 2 + 1), b" " * (readers.MAX_LINE_BYTES + 9),
])
def test_long_lines_in_a_chunk_decoded_at_once(line: bytes) -> None:
    body = b"{}\n" + line + b"\r\n" + b"{}\r\n"
    text = readers._plain_text(body)
    assert text is not None
    assert list(readers._text_lines(text, 0)) == line_by_line(body)
