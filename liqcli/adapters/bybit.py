"""Bybit v5: ``allLiquidation.{symbol}`` pushes (an array per message) and the deprecated
``liquidation.{symbol}`` topic (one object).

``S``/``side`` is the POSITION side: ``Buy`` → a LONG position was liquidated (the opposite of
Binance). ``v``/``size`` is base units on linear contracts and USD contracts (1 USD each) on
inverse ones (``BTCUSD``, dated ``BTCUSDH25``): base = size / price. ``p`` is the bankruptcy
price, ``T`` the time in ms.
"""

from __future__ import annotations

import re
from typing import Any

from liqcli.adapters.base import (
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
    side_field,
    str_field,
)
from liqcli.adapters.contracts import ContractTable
from liqcli.errors import InvalidEvent

NAME = "bybit"
_POSITION_SIDE = {"BUY": "LONG", "SELL": "SHORT"}
_INVERSE = re.compile(r"[A-Z0-9]+USD([FGHJKMNQUVXZ][0-9]{2})?")
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")


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
    if _INVERSE.fullmatch(raw_symbol):
        qty, usd = contract_amounts(size, price, NAME, raw_symbol, contracts, "inverse")
    else:
        qty, usd = base_amounts(size, price)
    return event(
        exchange=NAME,
        symbol=raw_symbol,
        side=side,
        price=price,
        qty=qty,
        usd=usd,
        ts=ms_field(item, time_key),
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
        return AdapterResult([_one(item, keys, contracts) for item in data])
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
