"""Binance USDⓈ-M and COIN-M futures: ``forceOrder`` events (``<symbol>@forceOrder``,
``!forceOrder@arr``, bare or wrapped in a combined-stream ``{"stream", "data"}`` frame).

``S`` is the side of the forced ORDER (SELL → a LONG position was liquidated). The filled
quantity ``z`` at the average price ``ap`` (``p`` when ``ap`` is missing or zero) is what is
counted; an order with nothing filled yet is skipped. COIN-M quantities are contracts of a USD
value (BTC 100 USD, others 10 USD): base = contracts × value / price.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters.base import (
    ORDER_SIDE,
    SKIPPED,
    Adapter,
    AdapterResult,
    LiveFeed,
    base_amounts,
    contract_amounts,
    decimal_field,
    event,
    ms_field,
    positive,
    side_field,
    str_field,
    to_decimal,
)
from liqcli.feeds.adapters.contracts import ContractTable

NAME = "binance"
_COIN_M = re.compile(r"([^\W_]+USD)_(PERP|[0-9]{6})")


def normalize_symbol(symbol: str) -> str:
    """``BTCUSD_PERP`` → ``BTCUSD``; ``BTCUSDT`` and dated ``BTCUSDT_250627`` stay."""
    return symbol[: -len("_PERP")] if symbol.endswith("_PERP") else symbol


def parse_message(
    obj: Any, *, received_ms: int | None = None, contracts: ContractTable
) -> AdapterResult:
    if isinstance(obj, dict) and "stream" in obj and isinstance(obj.get("data"), dict):
        obj = obj["data"]
    if not isinstance(obj, dict) or obj.get("e") != "forceOrder":
        return SKIPPED
    order = obj.get("o")
    if not isinstance(order, dict):
        raise InvalidEvent("forceOrder without an 'o' object")
    raw_symbol = str_field(order, "s").upper()
    side = side_field(order, "S", ORDER_SIDE, "order side 'S'")
    filled = decimal_field(order, "z", "z (filled quantity)")
    if filled < 0:
        raise InvalidEvent(f"negative filled quantity 'z': {filled}")
    if filled == 0:
        return SKIPPED  # nothing filled (yet): no liquidation volume to count
    average = order.get("ap")
    price = to_decimal(average, "ap") if average not in (None, "", "None") else Decimal(0)
    if price == 0:
        price = decimal_field(order, "p")
    positive(price, "price")
    ts = ms_field(order, "T") if "T" in order else ms_field(obj, "E")
    coin_m = _COIN_M.fullmatch(raw_symbol)
    if coin_m is not None:
        pair = str(order.get("ps") or coin_m.group(1)).upper()
        qty, usd = contract_amounts(filled, price, NAME, raw_symbol, contracts, pair)
    else:
        qty, usd = base_amounts(filled, price)
    return AdapterResult(
        [
            event(
                exchange=NAME,
                symbol=normalize_symbol(raw_symbol),
                side=side,
                price=price,
                qty=qty,
                usd=usd,
                ts=ts,
                raw_symbol=raw_symbol,
            )
        ]
    )


def _subscribe(symbols: list[str]) -> list[dict[str, Any]]:
    """All markets (``!forceOrder@arr``), or the USDⓈ-M ``<symbol>@forceOrder`` streams."""
    streams = [f"{s.lower()}@forceOrder" for s in symbols] or ["!forceOrder@arr"]
    return [{"method": "SUBSCRIBE", "params": streams, "id": 1}]


ADAPTER = Adapter(
    name=NAME,
    parse_message=parse_message,
    live=LiveFeed(url="wss://fstream.binance.com/ws", subscribe=_subscribe),
    detect=lambda line: '"forceOrder"' in line,
    description="Binance USDⓈ-M/COIN-M forceOrder (order side; z at ap, else p)",
)
