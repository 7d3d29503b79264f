"""The normalized liquidation event: liqcli's public input contract (see README)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Literal

Side = Literal["LONG", "SHORT"]
SIDES: tuple[Side, Side] = ("LONG", "SHORT")

EXCHANGE_RE = re.compile(r"[a-z0-9._-]{1,32}")
SYMBOL_RE = re.compile(r"[A-Z0-9._-]{1,40}")

# Quote currencies recognised at the end of a symbol, longest first so USDT wins over USD.
QUOTES: tuple[str, ...] = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDE", "USD", "BTC", "ETH")


@dataclass(frozen=True, slots=True)
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

    >>> split_symbol("ETHUSDT_250627")
    ('ETH', 'USDT')
    >>> split_symbol("1000PEPEUSDT")
    ('1000PEPE', 'USDT')
    """
    head = re.split(r"[._-]", symbol, maxsplit=1)[0]
    for quote in QUOTES:
        if head.endswith(quote) and len(head) > len(quote):
            return head[: -len(quote)], quote
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
