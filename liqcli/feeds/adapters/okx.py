"""OKX: the public ``liquidation-orders`` channel (one push per instrument, several details).

``posSide`` long/short is the liquidated position; when it is ``net`` (or absent) the order
``side`` decides (``sell`` → LONG). ``sz`` is CONTRACTS on SWAP/FUTURES (× ctVal; inverse
contracts are USD: base = sz × value / bkPx) and base units on MARGIN. ``bkPx`` is the
bankruptcy price, ``ts`` ms. Options are skipped (not perpetual/futures volume). Each detail
is read on its own: a bad one (or an instrument whose contract value is unknown, for each of
its details) is rejected while the push's other liquidations are kept.
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
    list_field,
    ms_field,
    positive_field,
    read_items,
    str_field,
)
from liqcli.feeds.adapters.contracts import ContractTable

NAME = "okx"
_POSITION_SIDE = {"long": "LONG", "short": "SHORT"}
_ORDER_SIDE = {"sell": "LONG", "buy": "SHORT"}
_INSTRUMENT = re.compile(r"([^\W_]+)-([^\W_]+)(?:-(SWAP|[0-9]{6}))?")


def normalize_symbol(inst_id: str) -> str:
    """``BTC-USDT-SWAP`` → ``BTCUSDT``; ``BTC-USD-250627`` → ``BTCUSD_250627``; margin
    ``BTC-USDT`` → ``BTCUSDT_MARGIN`` (kept apart from the perpetual)."""
    match = _INSTRUMENT.fullmatch(inst_id.upper())
    if match is None:
        raise InvalidEvent(f"unrecognised OKX instrument {inst_id!r}")
    base, quote, kind = match.groups()
    if kind == "SWAP":
        return f"{base}{quote}"
    if kind is None:
        return f"{base}{quote}_MARGIN"
    return f"{base}{quote}_{kind}"


def _side(detail: dict[str, Any]) -> str:
    pos_side = str(detail.get("posSide", "")).lower()
    if pos_side in _POSITION_SIDE:
        return _POSITION_SIDE[pos_side]
    side = _ORDER_SIDE.get(str(detail.get("side", "")).lower())
    if side is None:
        raise InvalidEvent(
            f"bad side: posSide={detail.get('posSide')!r} side={detail.get('side')!r}"
        )
    return side


def _instrument_events(item: Any, contracts: ContractTable) -> AdapterResult:
    if not isinstance(item, dict):
        raise InvalidEvent("liquidation-orders entry is not an object")
    inst_id = str_field(item, "instId").upper()
    inst_type = str(item.get("instType", "")).upper()
    if not inst_type:  # older pushes: infer from the id
        inst_type = "SWAP" if inst_id.endswith("-SWAP") else "FUTURES"
    if inst_type == "OPTION":
        return AdapterResult([])
    family = str(item.get("instFamily") or item.get("uly") or "").upper()
    if not family:
        match = _INSTRUMENT.fullmatch(inst_id)
        family = f"{match.group(1)}-{match.group(2)}" if match else inst_id
    symbol = normalize_symbol(inst_id)

    def read_detail(detail: Any) -> list[NormalizedEvent]:
        if not isinstance(detail, dict):
            raise InvalidEvent("liquidation detail is not an object")
        size = positive_field(detail, "sz")
        price = positive_field(detail, "bkPx")
        if inst_type == "MARGIN":
            qty, usd = base_amounts(size, price)
        else:
            qty, usd = contract_amounts(size, price, NAME, inst_id, contracts, family)
        return [
            event(
                exchange=NAME,
                symbol=symbol,
                side=_side(detail),
                price=price,
                qty=qty,
                usd=usd,
                ts=ms_field(detail, "ts"),
                raw_symbol=inst_id,
            )
        ]

    return read_items(list_field(item, "details"), read_detail)


def parse_message(
    obj: Any, *, received_ms: int | None = None, contracts: ContractTable
) -> AdapterResult:
    if not isinstance(obj, dict) or "data" not in obj:
        return SKIPPED  # "pong", subscribe acks ({"event": "subscribe", ...}), errors
    arg = obj.get("arg")
    if not isinstance(arg, dict) or arg.get("channel") != "liquidation-orders":
        return SKIPPED
    events: list[NormalizedEvent] = []
    errors: list[InvalidEvent] = []
    for item in list_field(obj, "data"):
        try:
            found = _instrument_events(item, contracts)
        except InvalidEvent as exc:  # the instrument itself is unreadable
            errors.append(exc)
            continue
        events.extend(found.events)
        errors.extend(found.errors)
    return AdapterResult(events, errors=errors)


def _subscribe(symbols: list[str]) -> list[dict[str, Any]]:
    args = [{"channel": "liquidation-orders", "instType": kind} for kind in ("SWAP", "FUTURES")]
    return [{"op": "subscribe", "args": args}]


ADAPTER = Adapter(
    name=NAME,
    parse_message=parse_message,
    live=LiveFeed(
        url="wss://ws.okx.com:8443/ws/v5/public",
        subscribe=_subscribe,
        ping_text="ping",
        ping_interval_s=20.0,
    ),
    detect=lambda line: '"liquidation-orders"' in line and '"data"' in line,
    description="OKX liquidation-orders (posSide, else side; sz contracts × ctVal at bkPx)",
)
