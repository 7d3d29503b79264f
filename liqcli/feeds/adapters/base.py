"""What every exchange adapter shares: its result type, the decimal JSON reader, field helpers.

An adapter turns ONE recorded websocket message (a parsed JSON object) into zero or more events
in the normalized contract (dicts with ``exchange, symbol, side, price, qty, usd, ts, id,
raw_symbol``; amounts are :class:`~decimal.Decimal`, ``ts`` is epoch ms). Frames that are not
liquidations (acks, pings, plain trades) give ``AdapterResult([], skipped=True)``; a liquidation
frame that cannot be read raises :class:`~liqcli.errors.InvalidEvent`. A frame carrying several
liquidations reads each on its own (:func:`read_items`): a bad item becomes one entry of
``AdapterResult.errors`` and the good ones are kept.

Numbers are read strictly (:func:`to_decimal`): plain decimal syntax only, magnitudes between
1e-30 and 1e20, so no arithmetic on them can overflow; any ``ArithmeticError`` that still
arises is turned into ``InvalidEvent`` by :func:`out_of_range`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from liqcli.errors import InvalidEvent
from liqcli.ingest.validate import MAX_AMOUNT_TEXT, NUMBER_RE
from liqcli.model import default_usd

if TYPE_CHECKING:
    from liqcli.feeds.adapters.contracts import ContractTable

NormalizedEvent = dict[str, Any]

# Inverse contracts divide a USD amount by a price: the base quantity is rounded (half-even) to
# the 18 decimal places the store keeps; the USD notional stays exact.
BASE_QTY_PLACES = Decimal("1e-18")
_WIDE = Context(prec=60, rounding=ROUND_HALF_EVEN)

# Adapter numbers: a non-zero magnitude's adjusted exponent must lie strictly inside this range
# (1e-30 <= |x| < 1e20), and at most this many significant digits: every product, quotient and
# 18-place rounding the adapters do then fits their 60-digit context.
MIN_ADJUSTED, MAX_ADJUSTED = -30, 20
MAX_DIGITS = 40
_LONG_EXPONENT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]{5,}")

# A liquidation order sells to close a LONG position and buys to close a SHORT one.
ORDER_SIDE: Mapping[str, str] = {"SELL": "LONG", "BUY": "SHORT"}


@dataclass(frozen=True, slots=True)
class AdapterResult:
    """Events read from one message; ``skipped`` when the message was not a liquidation frame;
    ``errors`` the items of the frame that could not be read (the events are the good ones)."""

    events: list[NormalizedEvent] = field(default_factory=list)
    skipped: bool = False
    errors: list[InvalidEvent] = field(default_factory=list)


SKIPPED = AdapterResult([], skipped=True)

ParseMessage = Callable[..., AdapterResult]
"""``parse_message(obj, *, received_ms: int | None, contracts: ContractTable) -> AdapterResult``"""


@dataclass(frozen=True, slots=True)
class LiveFeed:
    """How ``liqcli collect`` talks to an exchange: endpoint and what to send after connecting."""

    url: str
    subscribe: Callable[[list[str]], list[dict[str, Any]]]  # symbols (may be empty) -> messages
    ping_text: str | None = None  # an application-level ping the exchange wants (text frame)
    ping_interval_s: float = 20.0
    answer: Callable[[Any], dict[str, Any] | str | None] | None = None  # reply to server pings


@dataclass(frozen=True, slots=True)
class Adapter:
    """One exchange: its name (the ``--format`` / ``--exchange`` value) and its parser."""

    name: str
    parse_message: ParseMessage
    live: LiveFeed | None = None
    description: str = ""
    detect: Callable[[str], bool] | None = None  # for `ingest --format auto`: first line test


def loads_decimal(text: str | bytes) -> Any:
    """``json.loads`` keeping every number exact: floats and ints both become Decimal-safe."""
    return json.loads(text, parse_float=Decimal)


def unwrap_recording(obj: Any) -> tuple[Any, int | None]:
    """Split a ``liqcli collect --record`` line ``{"recv_ms": N, "msg": ...}`` into its parts.

    Anything else is a bare exchange message, returned as is with no receive time.
    """
    if isinstance(obj, dict) and set(obj) == {"recv_ms", "msg"}:
        recv = obj["recv_ms"]
        if isinstance(recv, int) and not isinstance(recv, bool):
            return obj["msg"], recv
    return obj, None


def decimal_field(obj: dict[str, Any], key: str, what: str | None = None) -> Decimal:
    """A required finite decimal (JSON string or number); ``InvalidEvent`` names the field."""
    if key not in obj or obj[key] is None or obj[key] == "":
        raise InvalidEvent(f"missing {what or key!r}")
    return to_decimal(obj[key], what or key)


def to_decimal(value: Any, what: str) -> Decimal:
    """A finite decimal in a sane range (see :data:`MAX_ADJUSTED`) from a JSON string or number.

    Strings must be plain decimal syntax (validation's number pattern: no ``_``, no spaces, no
    NaN/Infinity), as Python's ``Decimal()`` alone would accept ``"1_000"`` or ``" 1 "``.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidEvent(f"{what!r} is not a number: {_shown(value)}")
    if isinstance(value, str) and (
        len(value) > MAX_AMOUNT_TEXT or NUMBER_RE.fullmatch(value) is None
    ):
        huge = _LONG_EXPONENT.fullmatch(value) is not None
        raise InvalidEvent(f"{what!r} is {'out of range' if huge else 'not a number'}: "
                           f"{_shown(value)}")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise InvalidEvent(f"{what!r} is not a number: {_shown(value)}") from None
    if not number.is_finite():
        raise InvalidEvent(f"{what!r} is not a finite number: {_shown(value)}")
    if number and not (
        MIN_ADJUSTED < number.adjusted() < MAX_ADJUSTED
        and len(number.as_tuple().digits) <= MAX_DIGITS
    ):
        raise InvalidEvent(f"{what!r} is out of range: {_shown(value)}")
    return number


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."


def out_of_range(exc: ArithmeticError) -> InvalidEvent:
    """The rejection for an arithmetic error (overflow, precision exceeded) on a frame's numbers."""
    return InvalidEvent(f"numbers out of range ({type(exc).__name__})")


def read_items(
    items: Iterable[Any], read_one: Callable[[Any], list[NormalizedEvent]]
) -> AdapterResult:
    """Read each item of a batch frame on its own: the good items' events, the bad ones' errors."""
    events: list[NormalizedEvent] = []
    errors: list[InvalidEvent] = []
    for item in items:
        try:
            events.extend(read_one(item))
        except InvalidEvent as exc:
            errors.append(exc)
        except ArithmeticError as exc:
            errors.append(out_of_range(exc))
    return AdapterResult(events, errors=errors)


def positive(value: Decimal, what: str) -> Decimal:
    if value <= 0:
        raise InvalidEvent(f"{what!r} must be positive, got {value}")
    return value


def positive_field(obj: dict[str, Any], key: str) -> Decimal:
    """A required decimal field that must be positive; ``InvalidEvent`` names the field."""
    return positive(decimal_field(obj, key), key)


def side_field(obj: dict[str, Any], key: str, sides: Mapping[str, str], what: str) -> str:
    """The liquidated position's side: ``sides`` (upper-case keys) of ``obj[key]`` upper-cased.

    ``InvalidEvent`` ``bad {what}: value`` when the field is missing or not in ``sides``.
    """
    side = sides.get(str(obj.get(key, "")).upper())
    if side is None:
        raise InvalidEvent(f"bad {what}: {obj.get(key)!r}")
    return side


def ms_field(obj: dict[str, Any], key: str) -> int:
    """A required epoch-ms timestamp given as an integer or a string of digits."""
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)  # ASCII digits only: "²".isdigit() is true, int("²") raises
    if (isinstance(value, Decimal) and value.is_finite() and value.adjusted() < MAX_ADJUSTED
            and value == value.to_integral_value()):
        return int(value)
    raise InvalidEvent(f"missing or bad timestamp {key!r}: {value!r}")


def str_field(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"missing {key!r}")
    return value


def list_field(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise InvalidEvent(f"{key!r} is not a list")
    return value


def event(
    *,
    exchange: str,
    symbol: str,
    side: str,
    price: Decimal,
    qty: Decimal,
    ts: int,
    usd: Decimal | None = None,
    id: str | None = None,
    raw_symbol: str | None = None,
) -> NormalizedEvent:
    """One event in the normalized contract; ``usd`` defaults to ``price × qty``, exact to the
    18 decimal places the store keeps (:func:`liqcli.model.default_usd`, never Python's
    28-digit default context, which would round long products silently)."""
    return {
        "exchange": exchange,
        "symbol": symbol,
        "side": side,
        "price": price,
        "qty": qty,
        "usd": default_usd(price, qty) if usd is None else usd,
        "ts": ts,
        "id": id,
        "raw_symbol": raw_symbol if raw_symbol != symbol else None,
    }


def trim(number: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (``1.500`` → ``1.5``)."""
    normal = number.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


def base_amounts(qty: Decimal, price: Decimal) -> tuple[Decimal, Decimal]:
    """``(base qty, usd notional)`` for a quantity already in base units: usd = price × qty."""
    return qty, default_usd(price, qty)


def contract_amounts(
    contracts_count: Decimal,
    price: Decimal,
    exchange: str,
    instrument: str,
    table: ContractTable,
    *families: str,
) -> tuple[Decimal, Decimal]:
    """``(base qty, usd notional)`` for a number of contracts of ``instrument`` at ``price``.

    Base-valued contracts: qty = n × value, usd = price × qty. USD-valued (inverse) contracts:
    usd = n × value exactly, qty = usd / price (rounded to 18 places).
    """
    value = table.resolve(exchange, instrument, *families)
    if value.quote:
        usd = _WIDE.multiply(contracts_count, value.amount)
        return trim(_WIDE.divide(usd, price).quantize(BASE_QTY_PLACES, context=_WIDE)), usd
    return base_amounts(_WIDE.multiply(contracts_count, value.amount), price)
