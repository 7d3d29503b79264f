"""Validation of one input record into an :class:`~liqcli.model.Event` (the normalized contract).

A record is any mapping with these fields (unknown extra fields are ignored):

========== =====================================================================================
field      meaning
========== =====================================================================================
exchange   any name; case-insensitive, stored lower-case; 1-32 chars of ``a-z0-9._-``
symbol     1-40 Unicode letters or digits (``BTCUSDT``, ``币安人生USDT``), ``.``, ``_``, ``-`` after
           the first; stored NFC with letters upper-cased where they have case (model.py)
side       the POSITION liquidated: ``LONG`` or ``SHORT`` (any case). ``BUY``/``SELL`` are
           rejected as ambiguous (order side or position side? venues differ)
price      > 0 and < 1e10; a decimal string, an integer, a Decimal (JSON parsed exactly)
qty        > 0 and < 1e13, base-asset units; same forms as price
usd        optional notional in the quote currency, > 0 and < 1e12; default ``price × qty``
           (exact, rounded half-even to 18 decimal places only when it has more)
ts         epoch milliseconds (an integer, or a string of digits); epoch seconds (a number with
           a fraction, or such a string); or ISO-8601 with a zone (``Z``, ``+02:00``).
           Sub-millisecond parts are truncated. Must be on/after 2009-01-01 and at most 24 h
           after now.
id         optional exchange-side id: string or integer, 1-128 printable characters; an empty
           string is no id (as an empty CSV cell is)
raw_symbol optional venue instrument id (adapters set it): 1-64 Unicode letters or digits,
           or ``. _ - : /`` after the first
========== =====================================================================================

Amounts keep at most 18 decimal places (what the store keeps) and are never converted through
binary floating point: strings are parsed as Decimal; a Python ``float`` given by a library
caller is taken as its shortest repr (``0.1`` → ``Decimal("0.1")``). Amounts are returned in
canonical form: no exponent, no trailing zeros (``"1.50"`` and ``"1.5"`` are the same value).
A missing or ``null`` required field is "missing". Nothing is ever silently stripped or fixed:
names with spaces, control characters, ANSI escapes or markup are rejected.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from liqcli.errors import InvalidEvent
from liqcli.model import Event, Side, default_usd, name_problem, normalize_symbol

__all__ = [
    "FUTURE_SLACK_MS",
    "MAX_AMOUNT_TEXT",
    "MAX_PRICE",
    "MAX_QTY",
    "MAX_USD",
    "MIN_TS_MS",
    "NUMBER_RE",
    "normalize",
    "parse_amount",
    "parse_ts",
]

MAX_PRICE = Decimal("1e10")  # price must be below this
MAX_QTY = Decimal("1e13")
MAX_USD = Decimal("1e12")
PLACES = 18  # decimal places the store keeps
MIN_TS_MS = 1_230_768_000_000  # 2009-01-01T00:00:00Z
FUTURE_SLACK_MS = 86_400_000  # how far after "now" a timestamp may be
MAX_AMOUNT_TEXT = 80  # longer number texts are rejected before parsing
_MAX_AMOUNT_TEXT = MAX_AMOUNT_TEXT

# One private context for all arithmetic: precise enough that every operation here is exact
# (price < 1e10 and qty < 1e13 with 18 places each multiply to at most 59 digits).
_CTX = Context(prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])
_QUANTUM = Decimal(1).scaleb(-PLACES)  # 1E-18
_ONE = Decimal(1)
_ZERO = Decimal(0)
_INF = float("inf")

# ASCII-only on purpose: str.lower()/upper() would map e.g. the Kelvin sign to "k".
_EXCHANGE_RE = re.compile(r"[A-Za-z0-9._-]{1,32}")
_RAW_SYMBOL_RE = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_RAW_PUNCTUATION = frozenset("._-:/")
# A plain decimal number (no "_", spaces, NaN/Infinity); the adapters read numbers with it too.
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_NUMBER_RE = NUMBER_RE
_INT_RE = re.compile(r"[+-]?[0-9]{1,20}")
_SECONDS_RE = re.compile(r"[+-]?[0-9]{1,12}\.[0-9]{0,12}")
_ISO_START_RE = re.compile(r"[0-9]{4}-?[0-9]{2}")

_SIDES: dict[str, Side] = {"LONG": "LONG", "SHORT": "SHORT"}
_AMBIGUOUS_SIDES = frozenset({"BUY", "SELL", "B", "S", "BID", "ASK"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _show(value: object) -> str:
    """A short, terminal-safe rendering of a bad value (repr escapes control characters)."""
    text = repr(value)
    if len(text) > 42:
        text = text[:39] + "..."
    return text


def parse_amount(value: object, field: str, limit: Decimal) -> Decimal:
    """Parse a positive amount with at most 18 decimal places, below ``limit``, canonically."""
    if type(value) is str:
        return _amount_text(value, field, limit, value)
    if type(value) is Decimal:
        if not value.is_finite():
            raise InvalidEvent(f"{field}: must be a finite number, got {_show(value)}")
        text = str(value)
        if len(text) <= _MAX_AMOUNT_TEXT:
            return _amount_text(text, field, limit, value)
        return _amount_number(value, field, limit, value)
    if type(value) is int:
        return _amount_number(Decimal(value), field, limit, value)
    if type(value) is float:
        if value != value or value in (_INF, -_INF):
            raise InvalidEvent(f"{field}: must be a finite number, got {_show(value)}")
        return _amount_text(repr(value), field, limit, value)
    if value is None:
        raise InvalidEvent(f"missing field {field!r}")
    if isinstance(value, bool):
        raise InvalidEvent(f"{field}: must be a number, got {_show(value)}")
    if isinstance(value, str):  # subclasses: rare, take the plain road
        return parse_amount(str(value), field, limit)
    if isinstance(value, (int, Decimal)):
        return parse_amount(Decimal(value), field, limit)
    raise InvalidEvent(f"{field}: must be a number, got {type(value).__name__}")


def _amount_text(text: str, field: str, limit: Decimal, original: object) -> Decimal:
    if text.isascii() and text.replace(".", "", 1).isdigit() and len(text) <= _MAX_AMOUNT_TEXT:
        # Fast path, plain "123.4500": strip the fraction's trailing zeros in the text, so
        # Decimal() directly yields the canonical form.
        dot = text.find(".")
        if dot >= 0:
            text = text.rstrip("0")
            places = len(text) - dot - 1
            if places == 0:
                text = text[:dot]
            elif places > PLACES:
                raise InvalidEvent(f"{field}: more than {PLACES} decimal places")
        number = Decimal(text)
        if number <= _ZERO:
            raise InvalidEvent(f"{field}: must be > 0, got {_show(original)}")
        if number >= limit:
            raise InvalidEvent(f"{field}: must be < {limit:g}, got {_show(original)}")
        return number
    if len(text) > _MAX_AMOUNT_TEXT or _NUMBER_RE.fullmatch(text) is None:
        raise InvalidEvent(f"{field}: not a decimal number {_show(original)}")
    return _amount_number(Decimal(text), field, limit, original)


def _amount_number(number: Decimal, field: str, limit: Decimal, original: object) -> Decimal:
    """The general path: signs, exponents, many written digits."""
    if number <= _ZERO:
        raise InvalidEvent(f"{field}: must be > 0, got {_show(original)}")
    if number >= limit:
        raise InvalidEvent(f"{field}: must be < {limit:g}, got {_show(original)}")
    rounded = _CTX.quantize(number, _QUANTUM)  # exact when it has <= 18 places (< 1e13 here)
    if rounded != number:
        raise InvalidEvent(f"{field}: more than {PLACES} decimal places")
    return _canonical(rounded)


def _canonical(number: Decimal) -> Decimal:
    """No trailing zeros, no exponent: ``1.50`` → ``1.5``, ``1E+2`` → ``100``."""
    number = _CTX.normalize(number)
    if number == number.to_integral_value():  # normalize() may have written 100 as 1E+2
        number = _CTX.quantize(number, _ONE)
    return number


def _notional(price: Decimal, qty: Decimal) -> Decimal:
    """``price × qty`` exactly, rounded half-even to 18 places only when it has more."""
    usd = default_usd(price, qty)  # exact below 1e23 (price < 1e10, qty < 1e13)
    if usd >= MAX_USD:
        raise InvalidEvent(f"usd: price × qty must be < {MAX_USD:g}, got {usd:.2f}")
    if usd <= _ZERO:
        raise InvalidEvent(f"usd: price × qty rounds to 0 at {PLACES} decimal places")
    return _canonical(usd)


def _check_ms(ms: int, original: object, integer: bool) -> int:
    if ms < MIN_TS_MS:
        hint = ""
        if integer and 1_230_768_000 <= ms < 100_000_000_000:
            hint = " (integers are epoch milliseconds; this looks like epoch seconds)"
        raise InvalidEvent(f"ts: before 2009-01-01, got {_show(original)}{hint}")
    return ms


def _check_future(ms: int, original: object, now_ms: int, integer: bool) -> None:
    if ms > now_ms + FUTURE_SLACK_MS:
        hint = ""
        if integer and ms >= 100_000_000_000_000_000:
            hint = " (integers are epoch milliseconds; this looks like nanoseconds)"
        elif integer and ms >= 100_000_000_000_000:
            hint = " (integers are epoch milliseconds; this looks like microseconds)"
        elif not integer and ms >= 100_000_000_000_000:
            hint = " (a number with a fraction is epoch seconds; this looks like milliseconds)"
        raise InvalidEvent(f"ts: more than a day in the future, got {_show(original)}{hint}")


def parse_ts(value: object, now_ms: int | None = None) -> int:
    """Epoch milliseconds from ms (int/digits), seconds (with a fraction) or zoned ISO-8601."""
    integer = True
    ms: int
    if type(value) is int:
        ms = value
    elif type(value) is str:
        if _INT_RE.fullmatch(value) is not None:
            ms = int(value)
        elif _SECONDS_RE.fullmatch(value) is not None:
            ms = _seconds_to_ms(Decimal(value))
            integer = False
        else:
            ms = _iso_to_ms(value)
            integer = False
    elif isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        number = value if isinstance(value, Decimal) else Decimal(repr(value))
        if not number.is_finite():
            raise InvalidEvent(f"ts: must be a finite number, got {_show(value)}")
        if abs(number) >= 10**12:
            raise InvalidEvent(
                f"ts: more than a day in the future, got {_show(value)}"
                " (a number with a fraction is epoch seconds; this looks like milliseconds)"
            )
        ms = _seconds_to_ms(number)
        integer = False
    elif value is None:
        raise InvalidEvent("missing field 'ts'")
    elif isinstance(value, bool):
        raise InvalidEvent(f"ts: must be a time, got {_show(value)}")
    elif isinstance(value, int):
        ms = int(value)
    elif isinstance(value, datetime):
        ms = _datetime_to_ms(value, value)
        integer = False
    else:
        raise InvalidEvent(f"ts: must be a time, got {type(value).__name__}")
    _check_ms(ms, value, integer)
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    _check_future(ms, value, now_ms, integer)
    return ms


def _seconds_to_ms(seconds: Decimal) -> int:
    # Truncates toward zero: sub-millisecond digits are dropped (negatives fail the 2009 check).
    return int(_CTX.scaleb(seconds, 3))


def _iso_to_ms(text: str) -> int:
    if len(text) > 40 or not text.isascii() or _ISO_START_RE.match(text) is None:
        raise InvalidEvent(
            f"ts: not epoch ms, epoch seconds or ISO-8601, got {_show(text)}"
        )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(f"ts: invalid ISO-8601 time {_show(text)}") from None
    return _datetime_to_ms(moment, text)


def _datetime_to_ms(moment: datetime, original: object) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidEvent(
            f"ts: ISO-8601 time without a zone {_show(original)} (add Z or +00:00)"
        )
    delta = moment - _EPOCH  # integer arithmetic: sub-millisecond digits are truncated
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _name(value: object, field: str, pattern: re.Pattern[str], allowed: str) -> str:
    if type(value) is not str:
        if value is None:
            raise InvalidEvent(f"missing field {field!r}")
        raise InvalidEvent(f"{field}: must be a string, got {type(value).__name__}")
    if pattern.fullmatch(value) is None:
        raise InvalidEvent(f"{field}: invalid {_show(value)} (allowed: {allowed})")
    return value


def _side(value: object) -> Side:
    if type(value) is not str:
        if value is None:
            raise InvalidEvent("missing field 'side'")
        raise InvalidEvent(f"side: must be LONG or SHORT, got {type(value).__name__}")
    if not value.isascii():  # "ſhort".upper() == "SHORT": never let Unicode case-mapping in
        raise InvalidEvent(f"side: unknown {_show(value)} (expected LONG or SHORT)")
    upper = value.upper()
    side = _SIDES.get(upper)
    if side is not None:
        return side
    if upper in _AMBIGUOUS_SIDES:
        raise InvalidEvent(
            f"side: unknown {_show(value)} (expected LONG or SHORT, the position liquidated;"
            " BUY/SELL is ambiguous)"
        )
    raise InvalidEvent(f"side: unknown {_show(value)} (expected LONG or SHORT)")


def _optional_id(value: object) -> str | None:
    if value is None or value == "":  # an empty id is no id: the same in JSON and in CSV cells
        return None
    if type(value) is int:
        # bit_length first: str() of a huge integer is slow (and raises beyond 4300 digits).
        if value.bit_length() > 430 or len(digits := str(value)) > 128:
            raise InvalidEvent("id: must be 1-128 printable characters, got a longer integer")
        return digits
    if type(value) is not str:
        raise InvalidEvent(f"id: must be a string or an integer, got {type(value).__name__}")
    text: str = value
    if not text or len(text) > 128 or not text.isprintable():
        raise InvalidEvent(f"id: must be 1-128 printable characters, got {_show(value)}")
    return text


def _symbol(value: object) -> str:
    if type(value) is not str:
        if value is None:
            raise InvalidEvent("missing field 'symbol'")
        raise InvalidEvent(f"symbol: must be a string, got {type(value).__name__}")
    try:
        return normalize_symbol(value)
    except ValueError as exc:
        raise InvalidEvent(f"symbol: invalid {_show(value)}: {exc}") from None


def _optional_raw_symbol(value: object) -> str | None:
    if value is None:
        return None
    # A venue id with non-ASCII letters (币安人生USDT): letters, digits, . _ - : /
    if (type(value) is str and not value.isascii()
            and name_problem(value, 64, _RAW_PUNCTUATION) is None):
        return value
    return _name(value, "raw_symbol", _RAW_SYMBOL_RE,
                 "1-64 letters or digits, or . _ - : / after the first")


def normalize(record: Mapping[str, object], *, now_ms: int | None = None) -> Event:
    """Validate ``record`` (the normalized contract above) into an :class:`Event`.

    Raises :class:`~liqcli.errors.InvalidEvent` whose ``reason`` names the first bad field, e.g.
    ``"price: must be > 0, got '-1'"`` or ``"missing field 'qty'"``. ``now_ms`` is the reference
    for the "at most a day in the future" rule (default: the current time).
    """
    if type(record) is dict:
        event = _fast_normalize(record, now_ms)
        if event is not None:
            return event
    return normalize_full(record, now_ms=now_ms)


# The fast path of normalize(): the common shape of a valid record, checked by cheaper means
# that accept only what the full rules accept and give the same values (names through caches
# of names already checked, plain amount texts by one pattern each, the notional without
# rounding); anything else, and every rejection, goes to normalize_full.
_CACHE_LIMIT = 4096  # names cached per field (cleared when full: a cache, never a leak)
_EXCHANGE_CACHE: dict[str, str] = {}
_SYMBOL_CACHE: dict[str, str] = {}
_FAST_SIDES: dict[str, Side] = {"LONG": "LONG", "SHORT": "SHORT", "long": "LONG",
                                "short": "SHORT", "Long": "LONG", "Short": "SHORT"}
# Plain amounts below the field's limit with at most 18 decimals once the zeros ending their
# fraction are dropped (and at most 80 characters): Decimal() of the text without those zeros
# is what _amount_text gives.
_FAST_PRICE_RE = re.compile(r"[0-9]{1,10}(?:\.(?:[0-9]{0,17}[1-9])?0{0,40})?")
_FAST_QTY_RE = re.compile(r"[0-9]{1,13}(?:\.(?:[0-9]{0,17}[1-9])?0{0,40})?")
_FAST_USD_RE = re.compile(r"[0-9]{1,12}(?:\.(?:[0-9]{0,17}[1-9])?0{0,40})?")
_MULTIPLY = _CTX.multiply
_TIME_NS = time.time_ns


def _fast_amount(value: object, pattern: re.Pattern[str]) -> Decimal | None:
    """``parse_amount`` of a plain canonical amount text (or such a Decimal), else None."""
    if type(value) is str:
        text = value
    elif type(value) is Decimal:
        text = str(value)  # what parse_amount reads of a Decimal (exponents fail the pattern)
    else:
        return None
    if pattern.fullmatch(text) is None:
        return None
    if text[-1] in "0." and "." in text:  # "0.020" -> "0.02", "5." -> "5"
        text = text.rstrip("0").removesuffix(".")
    number = Decimal(text)
    return number if number else None  # zero: the full path's rejection


def _fast_normalize(record: dict[str, object], now_ms: int | None) -> Event | None:
    """``normalize(record)`` for the common valid shape; None when the full path must decide."""
    try:
        exchange_value = record["exchange"]
        symbol_value = record["symbol"]
        side_value = record["side"]
        price_value = record["price"]
        qty_value = record["qty"]
        ts = record["ts"]
    except KeyError:
        return None
    if type(exchange_value) is not str or type(symbol_value) is not str:
        return None
    exchange = _EXCHANGE_CACHE.get(exchange_value)
    if exchange is None:
        if _EXCHANGE_RE.fullmatch(exchange_value) is None:
            return None
        if len(_EXCHANGE_CACHE) >= _CACHE_LIMIT:
            _EXCHANGE_CACHE.clear()
        exchange = _EXCHANGE_CACHE[exchange_value] = exchange_value.lower()
    symbol = _SYMBOL_CACHE.get(symbol_value)
    if symbol is None:
        try:
            symbol = normalize_symbol(symbol_value)
        except ValueError:
            return None
        if len(_SYMBOL_CACHE) >= _CACHE_LIMIT:
            _SYMBOL_CACHE.clear()
        _SYMBOL_CACHE[symbol_value] = symbol
    side = _FAST_SIDES.get(side_value) if type(side_value) is str else None
    if side is None:
        return None
    price = _fast_amount(price_value, _FAST_PRICE_RE)
    if price is None:
        return None
    qty = _fast_amount(qty_value, _FAST_QTY_RE)
    if qty is None:
        return None
    get = record.get
    usd_value = get("usd")
    if usd_value is None:
        # price × qty is exact in _CTX (at most 59 digits) and, both being canonical, has no
        # exponent above 0; as _notional makes it unless it needs rounding to 18 places or is
        # out of range (the full path then)
        usd = _MULTIPLY(price, qty)
        text = str(usd)  # no exponent unless below 1e-6
        dot = text.find(".")
        if "E" in text or usd >= MAX_USD or (dot >= 0 and len(text) - dot > PLACES + 1):
            return None
        if dot >= 0 and text[-1] == "0":  # 2.5 × 0.4 = 1.00: canonical as _notional makes it
            usd = _canonical(usd)
    else:
        fast_usd = _fast_amount(usd_value, _FAST_USD_RE)
        if fast_usd is None:
            return None
        usd = fast_usd
    if type(ts) is not int:
        # a string of digits (CSV cells) is epoch ms as parse_ts reads it (_INT_RE)
        if type(ts) is not str or not (ts.isascii() and ts.isdigit()) or len(ts) > 20:
            return None
        ts = int(ts)
    if ts < MIN_TS_MS:
        return None
    if ts > (_TIME_NS() // 1_000_000 if now_ms is None else now_ms) + FUTURE_SLACK_MS:
        return None
    id_value = get("id")
    if id_value is not None:
        if type(id_value) is not str or len(id_value) > 128 or not id_value.isprintable():
            return None
        if not id_value:
            id_value = None
    raw_symbol = get("raw_symbol")
    if raw_symbol is not None and (
            type(raw_symbol) is not str or _RAW_SYMBOL_RE.fullmatch(raw_symbol) is None):
        return None
    return Event(exchange, symbol, side, price, qty, usd, ts, id_value, raw_symbol)


def normalize_full(record: Mapping[str, object], *, now_ms: int | None = None) -> Event:
    """:func:`normalize` by the full rules only, without its fast path (tests hold the two
    equal)."""
    get = record.get
    exchange = _name(get("exchange"), "exchange", _EXCHANGE_RE, "1-32 of a-z 0-9 . _ -").lower()
    symbol = _symbol(get("symbol"))
    side = _side(get("side"))
    price = parse_amount(get("price"), "price", MAX_PRICE)
    qty = parse_amount(get("qty"), "qty", MAX_QTY)
    usd_value = get("usd")
    usd = _notional(price, qty) if usd_value is None else parse_amount(usd_value, "usd", MAX_USD)
    ts_ms = parse_ts(get("ts"), now_ms)
    return Event(
        exchange,
        symbol,
        side,
        price,
        qty,
        usd,
        ts_ms,
        _optional_id(get("id")),
        _optional_raw_symbol(get("raw_symbol")),
    )
