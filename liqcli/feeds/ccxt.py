"""``ingest --format ccxt``: JSON lines of CCXT's liquidation structure.

What ``fetchLiquidations`` / ``watchLiquidations`` return, one object per line::

    {"exchange": "binanceusdm", "symbol": "BTC/USDT:USDT", "contracts": "0.5",
     "contractSize": "1", "price": "60000", "baseValue": "0.5", "quoteValue": "30000",
     "timestamp": 1723895903305, "side": "sell", "info": {...}}

CCXT's structure has no exchange field: the line must carry ``exchange`` (the CCXT exchange
id, as a script that dumps several exchanges writes it), mapped with :data:`EXCHANGES`
(``binanceusdm`` → ``binance`` …; another id is used lower-cased as it is).

**Side.** CCXT's ``side`` is the raw side of the liquidation ORDER (``sell`` closed a LONG).
Where the venue's own message in ``info`` states the liquidated POSITION explicitly, that wins:
OKX ``posSide`` (long/short), Bybit ``S``/``side`` (Bybit's liquidation side is the position:
``Buy`` = LONG). Otherwise ``side`` is read as the order side.

**Amounts.** ``baseValue`` (base units) when present, else ``contracts × contractSize`` for a
linear market; for an inverse market (``BTC/USD:BTC``: settled in the base coin) the contract
size is in quote currency, so qty = contracts × contractSize / price. ``quoteValue`` is the
notional when present, else price × qty. Numbers are read exactly (strings or JSON numbers).

**Symbol.** ``BASE/QUOTE:SETTLE`` → ``BASEQUOTE`` (``BTC/USDT:USDT`` → ``BTCUSDT``); a dated
``BTC/USDT:USDT-250627`` → ``BTCUSDT_250627``; the CCXT symbol is kept as ``raw_symbol``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters.base import (
    BASE_QTY_PLACES,
    ORDER_SIDE,
    NormalizedEvent,
    event,
    ms_field,
    out_of_range,
    positive,
    to_decimal,
    trim,
)
from liqcli.ingest.readers import parse_json, register_format
from liqcli.model import AMOUNT_CONTEXT

EXCHANGES: dict[str, str] = {
    "binance": "binance",
    "binanceusdm": "binance",
    "binancecoinm": "binance",
    "bybit": "bybit",
    "okx": "okx",
    "okex": "okx",
    "bitmex": "bitmex",
    "deribit": "deribit",
}
_SYMBOL = re.compile(r"([^/:\s]+)/([^/:\s]+)(?::([^/:\s-]+)(?:-([0-9]{6}))?)?")
_POSITION = {"LONG": "LONG", "SHORT": "SHORT"}
_BYBIT_POSITION = {"BUY": "LONG", "SELL": "SHORT"}


def normalize_symbol(ccxt_symbol: str) -> tuple[str, bool]:
    """``(liqcli symbol, inverse)`` of a CCXT unified symbol."""
    match = _SYMBOL.fullmatch(ccxt_symbol)
    if match is None:
        raise InvalidEvent(f"not a CCXT unified symbol: {ccxt_symbol[:40]!r}")
    base, quote, settle, expiry = match.groups()
    symbol = f"{base}{quote}".upper() + (f"_{expiry}" if expiry else "")
    return symbol, settle is not None and settle.upper() == base.upper() != quote.upper()


def _exchange(obj: Mapping[str, Any]) -> str:
    name = obj.get("exchange")
    if not isinstance(name, str) or not name:
        raise InvalidEvent("no 'exchange': CCXT's structure has none, add the CCXT exchange id "
                           "to each line (e.g. \"exchange\": \"binanceusdm\")")
    return EXCHANGES.get(name.lower(), name.lower())


def position_side(exchange: str, obj: Mapping[str, Any]) -> str:
    """The liquidated position: explicit in ``info`` where the venue says it, else from the
    order side."""
    info = obj.get("info")
    if isinstance(info, dict):
        if exchange == "okx":
            explicit = _POSITION.get(str(info.get("posSide", "")).upper())
            if explicit is not None:
                return explicit
        if exchange == "bybit":
            raw = info.get("S", info.get("side"))
            explicit = _BYBIT_POSITION.get(str(raw or "").upper())
            if explicit is not None:
                return explicit
    side = ORDER_SIDE.get(str(obj.get("side", "")).upper())
    if side is None:
        raise InvalidEvent(f"bad side {obj.get('side')!r} (CCXT: buy or sell, the order's side)")
    return side


def _number(obj: Mapping[str, Any], key: str) -> Any:
    value = obj.get(key)
    return None if value in (None, "") else value


def parse_object(obj: Any) -> NormalizedEvent:
    if not isinstance(obj, dict):
        raise InvalidEvent("CCXT liquidation line is not a JSON object")
    exchange = _exchange(obj)
    raw_symbol = obj.get("symbol")
    if not isinstance(raw_symbol, str):
        raise InvalidEvent("missing 'symbol'")
    symbol, inverse = normalize_symbol(raw_symbol)
    price = positive(to_decimal(_number(obj, "price"), "price"), "price")
    base_value = _number(obj, "baseValue")
    quote_value = _number(obj, "quoteValue")
    try:
        if base_value is not None:
            qty = positive(to_decimal(base_value, "baseValue"), "baseValue")
        else:
            contracts = positive(to_decimal(_number(obj, "contracts"), "contracts"), "contracts")
            size = _number(obj, "contractSize")
            size_value = positive(to_decimal(size, "contractSize"), "contractSize") \
                if size is not None else to_decimal("1", "contractSize")
            amount = AMOUNT_CONTEXT.multiply(contracts, size_value)
            qty = trim(AMOUNT_CONTEXT.divide(amount, price).quantize(
                BASE_QTY_PLACES, context=AMOUNT_CONTEXT)) if inverse else amount
        usd = None if quote_value is None else positive(
            to_decimal(quote_value, "quoteValue"), "quoteValue")
    except ArithmeticError as exc:
        raise out_of_range(exc) from None
    info = obj.get("info")
    liq_id = obj.get("id")
    if liq_id is None and isinstance(info, dict):
        liq_id = info.get("orderId") or info.get("orderID")
    return event(
        exchange=exchange,
        symbol=symbol,
        side=position_side(exchange, obj),
        price=price,
        qty=qty,
        usd=usd,
        ts=ms_field(obj, "timestamp"),
        id=str(liq_id) if liq_id not in (None, "") else None,
        raw_symbol=raw_symbol if len(raw_symbol) <= 64 else None,
    )


def _parser() -> Callable[[str], Iterable[NormalizedEvent] | None]:
    def parse(text: str) -> Iterable[NormalizedEvent] | None:
        return (parse_object(parse_json(text)),)

    return parse


def _detect(first_line: str) -> bool:
    return '"contractSize"' in first_line and '"quoteValue"' in first_line


register_format("ccxt", _parser, detect=_detect)
