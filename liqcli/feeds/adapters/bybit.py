"""Bybit v5: ``allLiquidation.{symbol}`` pushes (an array per message) and the deprecated
``liquidation.{symbol}`` topic (one object).

``S``/``side`` is the POSITION side: ``Buy`` → a LONG position was liquidated (the opposite of
Binance). ``v``/``size`` is base units on linear contracts and USD contracts (1 USD each) on
inverse ones (``BTCUSD``, dated ``BTCUSDH25``): base = size / price. ``p`` is the bankruptcy
price, ``T`` the time in ms. Each entry of an ``allLiquidation`` array is read on its own.

Symbols (:func:`normalize_symbol`): dated inverse futures ``BASEUSD<month code><yy>`` expire on
the last Friday of that month (08:00 UTC) and become ``BASEUSD_YYMMDD`` (``BTCUSDH25`` →
``BTCUSD_250328``); linear dated futures ``BTCUSDT-28MAR25`` → ``BTCUSDT_250328`` and USDC ones
``BTC-28MAR25`` → ``BTCUSDC_250328``; USDC perpetuals ``BTCPERP`` → ``BTCUSDC``. The venue's
symbol is kept as ``raw_symbol``.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Any

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters.base import (
    SKIPPED,
    Adapter,
    AdapterResult,
    LiveFeed,
    NormalizedEvent,
    base_amounts,
    contract_amounts,
    event,
    ms_field,
    positive_field,
    read_items,
    side_field,
    str_field,
)
from liqcli.feeds.adapters.contracts import ContractTable

NAME = "bybit"
_POSITION_SIDE = {"BUY": "LONG", "SELL": "SHORT"}
_INVERSE = re.compile(r"([^\W_]+USD)(?:([FGHJKMNQUVXZ])([0-9]{2}))?")
_MONTH_CODES = "FGHJKMNQUVXZ"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DATED = re.compile(r"([^\W_]+?)(USDT|USDC|USD)?-([0-9]{1,2})([A-Z]{3})([0-9]{2})")
_USDC_PERP = re.compile(r"([^\W_]+)PERP")
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")


def last_friday(year: int, month: int) -> date:
    """The last Friday of a month: when Bybit's dated inverse futures expire (08:00 UTC)."""
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - calendar.FRIDAY) % 7)


def normalize_symbol(raw_symbol: str) -> tuple[str, bool]:
    """``(normalized symbol, inverse)`` of a Bybit symbol (see the module docstring)."""
    inverse = _INVERSE.fullmatch(raw_symbol)
    if inverse is not None:
        pair, code, year = inverse.groups()
        if code is None:
            return pair, True
        expiry = last_friday(2000 + int(year), _MONTH_CODES.index(code) + 1)
        return f"{pair}_{expiry:%y%m%d}", True
    dated = _DATED.fullmatch(raw_symbol)
    if dated is not None:
        base, quote, day, month, year = dated.groups()
        if month not in _MONTHS:
            raise InvalidEvent(f"unrecognised Bybit futures symbol {raw_symbol!r}")
        try:
            expiry = date(2000 + int(year), _MONTHS.index(month) + 1, int(day))
        except ValueError:
            raise InvalidEvent(f"unrecognised Bybit futures symbol {raw_symbol!r}") from None
        return f"{base}{quote or 'USDC'}_{expiry:%y%m%d}", quote == "USD"
    perp = _USDC_PERP.fullmatch(raw_symbol)
    if perp is not None:
        return f"{perp.group(1)}USDC", False
    return raw_symbol, False


def _one(
    item: Any, keys: tuple[str, str, str, str, str], contracts: ContractTable
) -> NormalizedEvent:
    symbol_key, side_key, size_key, price_key, time_key = keys
    if not isinstance(item, dict):
        raise InvalidEvent("liquidation entry is not an object")
    raw_symbol = str_field(item, symbol_key).upper()
    side = side_field(item, side_key, _POSITION_SIDE, f"position side {side_key!r}")
    size = positive_field(item, size_key)
    price = positive_field(item, price_key)
    symbol, inverse = normalize_symbol(raw_symbol)
    if inverse:
        qty, usd = contract_amounts(size, price, NAME, raw_symbol, contracts, "inverse")
    else:
        qty, usd = base_amounts(size, price)
    return event(
        exchange=NAME,
        symbol=symbol,
        side=side,
        price=price,
        qty=qty,
        usd=usd,
        ts=ms_field(item, time_key),
        raw_symbol=raw_symbol,
    )


def parse_message(
    obj: Any, *, received_ms: int | None = None, contracts: ContractTable
) -> AdapterResult:
    if not isinstance(obj, dict):
        return SKIPPED
    topic = obj.get("topic")
    if not isinstance(topic, str):
        return SKIPPED  # subscription acks, pongs
    data = obj.get("data")
    if topic.startswith("allLiquidation."):
        if not isinstance(data, list):
            raise InvalidEvent("allLiquidation 'data' is not a list")
        keys = ("s", "S", "v", "p", "T")
        return read_items(data, lambda item: [_one(item, keys, contracts)])
    if topic.startswith("liquidation."):
        keys = ("symbol", "side", "size", "price", "updatedTime")
        return AdapterResult([_one(data, keys, contracts)])
    return SKIPPED


def _subscribe(symbols: list[str]) -> list[dict[str, Any]]:
    topics = [f"allLiquidation.{s}" for s in (symbols or DEFAULT_SYMBOLS)]
    return [
        {"op": "subscribe", "args": topics[start : start + 10]}
        for start in range(0, len(topics), 10)
    ]


ADAPTER = Adapter(
    name=NAME,
    parse_message=parse_message,
    live=LiveFeed(
        url="wss://stream.bybit.com/v5/public/linear",
        subscribe=_subscribe,
        ping_text='{"op":"ping"}',
        ping_interval_s=20.0,
    ),
    detect=lambda line: '"allLiquidation.' in line or '"liquidation.' in line,
    description="Bybit v5 allLiquidation (position side; v at bankruptcy price p)",
)
