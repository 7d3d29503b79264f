"""Deribit: no liquidation channel; trades on ``trades.{instrument}.raw`` carry an optional
``liquidation`` flag: ``T`` the taker was liquidated, ``M`` the maker, ``MT`` both (two events,
one per side). ``direction`` is the taker's side: with ``T`` sell → LONG; the maker took the
other side, so with ``M`` buy → LONG. ``amount`` is USD on inverse perpetuals/futures
(base = amount / price) and base units on linear ``_USDC`` instruments. Options are skipped.
"""

from __future__ import annotations

import re
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
    str_field,
)
from liqcli.feeds.adapters.contracts import ContractTable

NAME = "deribit"
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_INSTRUMENT = re.compile(r"([^\W_]+)(?:_([A-Z]+))?-(PERPETUAL|([0-9]{1,2})([A-Z]{3})([0-9]{2}))")
_TAKER_SIDE = {"sell": "LONG", "buy": "SHORT"}  # taker's direction → taker's liquidated position
_OTHER = {"LONG": "SHORT", "SHORT": "LONG"}


def split_instrument(name: str) -> tuple[str, bool] | None:
    """``(normalized symbol, inverse)`` for perpetuals/futures, None for options and others.

    ``BTC-PERPETUAL`` → (``BTCUSD``, True); ``BTC-27JUN25`` → (``BTCUSD_250627``, True);
    ``SOL_USDC-PERPETUAL`` → (``SOLUSDC``, False).
    """
    match = _INSTRUMENT.fullmatch(name.upper())
    if match is None:
        return None
    base, quote, tail, day, month, year = match.groups()
    inverse = quote is None
    symbol = f"{base}{quote or 'USD'}"
    if tail != "PERPETUAL":
        if month not in _MONTHS:
            return None
        symbol += f"_{year}{_MONTHS[month]:02d}{int(day):02d}"
    return symbol, inverse


def _trade_events(trade: Any, contracts: ContractTable) -> list[NormalizedEvent]:
    if not isinstance(trade, dict):
        raise InvalidEvent("trade is not an object")
    flag = trade.get("liquidation")
    if not flag:
        return []
    if flag not in ("T", "M", "MT"):
        raise InvalidEvent(f"bad liquidation flag {flag!r}")
    instrument = str_field(trade, "instrument_name")
    split = split_instrument(instrument)
    if split is None:
        return []  # options and anything that is not a perpetual or a future
    symbol, inverse = split
    taker = _TAKER_SIDE.get(str(trade.get("direction", "")).lower())
    if taker is None:
        raise InvalidEvent(f"bad direction: {trade.get('direction')!r}")
    amount = positive_field(trade, "amount")
    price = positive_field(trade, "price")
    if inverse:
        qty, usd = contract_amounts(amount, price, NAME, instrument, contracts, "inverse")
    else:
        qty, usd = base_amounts(amount, price)
    ts = ms_field(trade, "timestamp")
    trade_id = trade.get("trade_id")
    sides = {"T": taker, "M": _OTHER[taker]}
    return [
        event(
            exchange=NAME,
            symbol=symbol,
            side=sides[who],
            price=price,
            qty=qty,
            usd=usd,
            ts=ts,
            id=f"{trade_id}-{who}" if trade_id is not None else None,
            raw_symbol=instrument,
        )
        for who in ("M", "T")
        if who in flag
    ]


def parse_message(
    obj: Any, *, received_ms: int | None = None, contracts: ContractTable
) -> AdapterResult:
    if not isinstance(obj, dict) or obj.get("method") != "subscription":
        return SKIPPED  # rpc results, heartbeats, test requests
    params = obj.get("params")
    if not isinstance(params, dict) or not str(params.get("channel", "")).startswith("trades."):
        return SKIPPED
    data = params.get("data")
    if not isinstance(data, list):
        raise InvalidEvent("trades 'data' is not a list")
    result = read_items(data, lambda trade: _trade_events(trade, contracts))  # one by one
    return AdapterResult(result.events, skipped=not (result.events or result.errors),
                         errors=result.errors)


def _subscribe(symbols: list[str]) -> list[dict[str, Any]]:
    channels = [f"trades.{kind}.100ms" for kind in ("future.BTC", "future.ETH")]
    return [
        {"jsonrpc": "2.0", "id": 1, "method": "public/set_heartbeat", "params": {"interval": 30}},
        {"jsonrpc": "2.0", "id": 2, "method": "public/subscribe", "params": {"channels": channels}},
    ]


def _answer(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, dict) and obj.get("method") == "heartbeat":
        params = obj.get("params")
        if isinstance(params, dict) and params.get("type") == "test_request":
            return {"jsonrpc": "2.0", "id": 3, "method": "public/test", "params": {}}
    return None


ADAPTER = Adapter(
    name=NAME,
    parse_message=parse_message,
    live=LiveFeed(url="wss://www.deribit.com/ws/api/v2", subscribe=_subscribe, answer=_answer),
    detect=lambda line: '"jsonrpc"' in line and '"trades.' in line,
    description="Deribit trades with a liquidation flag (T/M/MT; USD amount on inverse)",
)
