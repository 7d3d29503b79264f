"""BitMEX: the ``liquidation`` table. Each liquidation order is counted once, when it appears
(``partial`` snapshot or ``insert``) with its ``leavesQty``; ``update``/``delete`` only track
the order's remaining size and are skipped.

``side`` is the ORDER side (``Sell`` → LONG). ``leavesQty`` is contracts: USD on XBTUSD
(base = qty / price), fractions of the coin on linear contracts. There is no timestamp: the
receive time is used (``collect --record`` keeps it), and frames without one are rejected.
``XBT`` is renamed ``BTC``.
"""

from __future__ import annotations

import re
from typing import Any

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters.base import (
    ORDER_SIDE,
    SKIPPED,
    Adapter,
    AdapterResult,
    LiveFeed,
    NormalizedEvent,
    contract_amounts,
    event,
    list_field,
    positive_field,
    read_items,
    side_field,
    str_field,
)
from liqcli.feeds.adapters.contracts import ContractTable

NAME = "bitmex"


def normalize_symbol(symbol: str) -> str:
    """``XBTUSD`` → ``BTCUSD``, ``XBTUSDT`` → ``BTCUSDT``; others unchanged."""
    return "BTC" + symbol[3:] if symbol.startswith("XBT") else symbol


def parse_message(
    obj: Any, *, received_ms: int | None = None, contracts: ContractTable
) -> AdapterResult:
    if not isinstance(obj, dict) or obj.get("table") != "liquidation":
        return SKIPPED
    if obj.get("action") not in ("partial", "insert"):
        return SKIPPED
    if received_ms is None:
        raise InvalidEvent(
            "BitMEX liquidation frames carry no time: ingest a `liqcli collect --record` file "
            "(it stores the receive time)"
        )
    ts: int = received_ms

    def read_row(item: Any) -> list[NormalizedEvent]:
        if not isinstance(item, dict):
            raise InvalidEvent("liquidation entry is not an object")
        raw_symbol = str_field(item, "symbol").upper()
        side = side_field(item, "side", ORDER_SIDE, "order side")
        size = positive_field(item, "leavesQty")
        price = positive_field(item, "price")
        qty, usd = contract_amounts(size, price, NAME, raw_symbol, contracts)
        order_id = item.get("orderID")
        return [
            event(
                exchange=NAME,
                symbol=normalize_symbol(raw_symbol),
                side=side,
                price=price,
                qty=qty,
                usd=usd,
                ts=ts,
                id=str(order_id) if order_id else None,
                raw_symbol=raw_symbol,
            )
        ]

    return read_items(list_field(obj, "data"), read_row)  # each row on its own


def _subscribe(symbols: list[str]) -> list[dict[str, Any]]:
    return [{"op": "subscribe", "args": ["liquidation"]}]


ADAPTER = Adapter(
    name=NAME,
    parse_message=parse_message,
    live=LiveFeed(
        url="wss://ws.bitmex.com/realtime",
        subscribe=_subscribe,
        ping_text="ping",
        ping_interval_s=20.0,
    ),
    detect=lambda line: re.search(r'"table"\s*:\s*"liquidation"', line) is not None,
    description="BitMEX liquidation table (order side; leavesQty contracts; receive time)",
)
