"""The normalized liquidation event: liqcli's public input contract (see README)."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Context, Decimal

from liqcli._record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    Side: TypeAlias = Literal["LONG", "SHORT"]
else:

    def __getattr__(name: str) -> object:
        # ``Side`` is made on first use: ``typing`` is not imported by the one-shot report path
        # (liqcli's own modules import ``Side`` for type checking only)
        if name == "Side":
            from typing import Literal

            globals()["Side"] = Literal["LONG", "SHORT"]
            return globals()["Side"]
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SIDES: tuple[Side, Side] = ("LONG", "SHORT")

EXCHANGE_RE = re.compile(r"[a-z0-9._-]{1,32}")
MAX_SYMBOL_CHARS = 40
_ASCII_SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,39}")
_ASCII_SYMBOL_ANY_CASE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
# Unicode categories a symbol may hold: letters, decimal digits and (not first) combining marks.
# Everything else is refused: control and format characters (bidi overrides, zero-width),
# whitespace, punctuation other than . _ -, symbols, other numbers (², ½), unassigned code points.
_LETTER_OR_DIGIT = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})
_MARKS = frozenset({"Mn", "Mc"})
_SYMBOL_PUNCTUATION = frozenset("._-")
SYMBOL_RULE = (
    "1-40 Unicode letters or digits, or '.', '_', '-' after the first character"
)


def symbol_problem(symbol: str) -> str | None:
    """Why ``symbol`` (already normalized) is not a stored symbol name, or None when it is."""
    if _ASCII_SYMBOL_RE.fullmatch(symbol):
        return None
    problem = name_problem(symbol, MAX_SYMBOL_CHARS, _SYMBOL_PUNCTUATION)
    if problem is not None:
        return problem
    for char in symbol:
        if not char.isascii() and char.upper().isascii():  # "ſ" → "S", "ı" → "I", "ß" → "SS"
            return (f"U+{ord(char):04X} ({unicodedata.name(char, '?')}) would upper-case to "
                    f"ASCII {char.upper()!r}")
        folded = unicodedata.normalize("NFKC", char)
        if folded != char and folded.isascii():  # full-width "Ｂ", "ＵＳＤＴ": ASCII look-alikes
            return (f"U+{ord(char):04X} ({unicodedata.name(char, '?')}) is a look-alike of "
                    f"ASCII {folded!r}")
    if _upper(symbol) != symbol:
        return "not normalized (NFC, upper-case letters)"
    return None


def name_problem(text: str, limit: int, punctuation: frozenset[str]) -> str | None:
    """Why ``text`` is not 1-``limit`` Unicode letters or digits, with ``punctuation`` and
    combining marks allowed after the first character; None when it is."""
    if not text or len(text) > limit:
        return f"must be 1-{limit} characters"
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _LETTER_OR_DIGIT:
            continue
        if index and (char in punctuation or category in _MARKS):
            continue
        where = "first character " if index == 0 else ""
        return f"{where}U+{ord(char):04X} ({unicodedata.name(char, category)}) not allowed"
    if unicodedata.normalize("NFC", text) != text:
        return "not in Unicode normal form NFC"
    return None


def _upper(text: str) -> str:
    """NFC, letters upper-cased where the upper case is one character. A non-ASCII letter whose
    upper case is ASCII ("ſ" → "S", "ß" → "SS") stays: :func:`symbol_problem` refuses it rather
    than merge it silently with an ASCII name."""
    upper = "".join(
        up if len(up := char.upper()) == 1 and (char.isascii() or not up.isascii()) else char
        for char in unicodedata.normalize("NFC", text)
    )
    return unicodedata.normalize("NFC", upper)


class _SymbolPattern:
    """``SYMBOL_RE.fullmatch(text)``: truthy when ``text`` is a stored (normalized) symbol."""

    pattern = SYMBOL_RULE

    def fullmatch(self, text: str) -> bool:
        return symbol_problem(text) is None


SYMBOL_RE = _SymbolPattern()


def normalize_symbol(text: str) -> str:
    """The stored form of a symbol: NFC, letters upper-cased where they have a one-letter
    upper case (``币安人生usdt`` → ``币安人生USDT``); ValueError with the reason when the name
    breaks the rule (:data:`SYMBOL_RULE`).

    >>> normalize_symbol("btcusdt")
    'BTCUSDT'
    """
    if _ASCII_SYMBOL_ANY_CASE_RE.fullmatch(text):  # the common case, fast
        return text.upper()
    if len(text) > 4 * MAX_SYMBOL_CHARS:  # before normalizing a huge text
        raise ValueError(f"must be 1-{MAX_SYMBOL_CHARS} characters")
    symbol = text.upper() if text.isascii() else _upper(text)
    problem = symbol_problem(symbol)
    if problem is not None:
        raise ValueError(problem)
    return symbol


# Quote currencies recognised at the end of a symbol, in the order they are tried. TUSD and
# BUSD also end in USD: they are only taken when what precedes them is a well-known base asset
# (BTCBUSD), so DOTUSD is DOT/USD and ARBUSD is ARB/USD, not DO/TUSD or AR/BUSD.
QUOTES: tuple[str, ...] = (
    "USDT", "USDC", "FDUSD", "USDE", "TUSD", "BUSD", "USD", "BTC", "ETH",
)
_AMBIGUOUS_QUOTES = frozenset({"TUSD", "BUSD"})
_MAJOR_BASES = frozenset({
    "BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "ADA", "DOT", "LTC", "LINK", "AVAX", "MATIC",
    "TRX", "BCH", "ETC", "FIL", "ATOM", "NEAR", "APT", "ARB", "OP", "SUI", "1000SHIB",
    "1000PEPE", "1000BONK", "WIF", "ORDI",
})
# Venue instrument metadata: symbols whose base and quote the exchange defines differently
# from what the name alone would suggest (BitMEX's XBT is bitcoin; its XBTUSD is an inverse
# contract quoted in USD). Consulted before the suffix rule.
VENUE_PAIRS: dict[str, tuple[str, str]] = {
    "XBTUSD": ("XBT", "USD"),  # BitMEX perpetual, inverse
    "XBTUSDT": ("XBT", "USDT"),  # BitMEX linear
    "XBTEUR": ("XBT", "EUR"),  # BitMEX
}


@record(frozen=True)
class Event:
    """One liquidation, validated and normalized.

    ``side`` is the POSITION that was liquidated. ``qty`` is in base-asset units, ``usd`` the
    notional in the quote currency. ``ts_ms`` is epoch milliseconds (UTC).
    """

    exchange: str
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    usd: Decimal
    ts_ms: int
    id: str | None = None
    raw_symbol: str | None = None  # the venue's own instrument id, when an adapter renamed it


def split_symbol(symbol: str) -> tuple[str, str]:
    """Split ``BTCUSDT`` into ``("BTC", "USDT")``; dated suffixes (``_250627``) are ignored.

    Venue metadata (:data:`VENUE_PAIRS`) first, then the quote suffixes of :data:`QUOTES`;
    a symbol without a known quote is quoted in USD.

    >>> split_symbol("ETHUSDT_250627")
    ('ETH', 'USDT')
    >>> split_symbol("1000PEPEUSDT")
    ('1000PEPE', 'USDT')
    >>> split_symbol("DOTUSD")
    ('DOT', 'USD')
    """
    known = VENUE_PAIRS.get(symbol)
    if known is not None:
        return known
    head = re.split(r"[._-]", symbol, maxsplit=1)[0]
    known = VENUE_PAIRS.get(head)
    if known is not None:
        return known
    for quote in QUOTES:
        if head.endswith(quote) and len(head) > len(quote):
            base = head[: -len(quote)]
            if quote in _AMBIGUOUS_QUOTES and base not in _MAJOR_BASES:
                continue  # DOTUSD, ARBUSD: the USD rule below
            return base, quote
    return head, "USD"


# Every sum of amounts goes through this context: 60 significant digits hold 10^15 base units
# (or 10^13 USD) with all 18 decimals and room to spare. Decimal's default (28) would round.
AMOUNT_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)
_USD_CONTEXT = AMOUNT_CONTEXT
_USD_PLACES = Decimal("1e-18")


def default_usd(price: Decimal, qty: Decimal) -> Decimal:
    """The notional when the input gives none: price × qty, exact, at most 18 decimal places."""
    value = _USD_CONTEXT.multiply(price, qty)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -18:
        value = value.quantize(_USD_PLACES, context=_USD_CONTEXT)
    return value
