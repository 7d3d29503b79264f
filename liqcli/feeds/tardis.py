"""``ingest --format tardis``: Tardis.dev's normalized liquidations CSV (historical backfill).

Tardis publishes one file per exchange, symbol and day
(``<exchange>/liquidations/YYYY/MM/DD/<SYMBOL>.csv.gz``) with the header
``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``:

* ``timestamp`` is the exchange's time in MICROseconds since the epoch (stored to the
  millisecond, truncated); ``local_timestamp`` (Tardis's receive time) is used only when
  ``timestamp`` is empty;
* ``side`` is the liquidation ORDER's side: ``sell`` closed a LONG position, ``buy`` a SHORT one;
* ``amount`` is in the exchange's own units, converted to base quantity with the same contract
  table as the live adapters (``--contract-size`` overrides it); an instrument whose contract
  value is unknown is rejected with the reason, never guessed;
* ``id`` is often empty (then the event is identified by all of its fields).

Exchange ids are mapped to liqcli's names (:data:`EXCHANGES`); the symbols to the same
normalized symbols the live adapters produce, so a backfill and a live collector meet in one
series. Another exchange id is rejected per line, naming it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from decimal import Decimal

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters import bybit, deribit, okx
from liqcli.feeds.adapters.base import (
    ORDER_SIDE,
    NormalizedEvent,
    base_amounts,
    contract_amounts,
    event,
    out_of_range,
    positive,
    to_decimal,
)
from liqcli.feeds.adapters.binance import normalize_symbol as binance_symbol
from liqcli.feeds.adapters.bitmex import normalize_symbol as bitmex_symbol
from liqcli.feeds.adapters.contracts import ContractTable
from liqcli.ingest.readers import register_format

HEADER = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")

# Tardis exchange id -> liqcli exchange name (README "Backfill and export" lists these).
EXCHANGES: dict[str, str] = {
    "binance-futures": "binance",  # USDⓈ-M: amount in base units
    "binance-delivery": "binance",  # COIN-M: amount in contracts (100 USD BTC, 10 USD others)
    "bybit": "bybit",  # linear: base units; inverse: 1-USD contracts
    "okex-swap": "okx",  # contracts (ctVal)
    "okex-futures": "okx",
    "bitmex": "bitmex",  # contracts (XBTUSD: 1 USD)
    "deribit": "deribit",  # perpetuals/futures: USD amount (inverse)
}

Amounts = Callable[[str, Decimal, Decimal, ContractTable], tuple[str, Decimal, Decimal]]


def _binance_futures(raw: str, amount: Decimal, price: Decimal,
                     table: ContractTable) -> tuple[str, Decimal, Decimal]:
    qty, usd = base_amounts(amount, price)
    return binance_symbol(raw), qty, usd


def _binance_delivery(raw: str, amount: Decimal, price: Decimal,
                      table: ContractTable) -> tuple[str, Decimal, Decimal]:
    pair = raw.split("_", 1)[0]
    qty, usd = contract_amounts(amount, price, "binance", raw, table, pair)
    return binance_symbol(raw), qty, usd


def _bybit(raw: str, amount: Decimal, price: Decimal,
           table: ContractTable) -> tuple[str, Decimal, Decimal]:
    symbol, inverse = bybit.normalize_symbol(raw)
    if inverse:
        qty, usd = contract_amounts(amount, price, "bybit", raw, table, "inverse")
    else:
        qty, usd = base_amounts(amount, price)
    return symbol, qty, usd


def _okx(raw: str, amount: Decimal, price: Decimal,
         table: ContractTable) -> tuple[str, Decimal, Decimal]:
    symbol = okx.normalize_symbol(raw)
    family = "-".join(raw.split("-")[:2])
    qty, usd = contract_amounts(amount, price, "okx", raw, table, family)
    return symbol, qty, usd


def _bitmex(raw: str, amount: Decimal, price: Decimal,
            table: ContractTable) -> tuple[str, Decimal, Decimal]:
    qty, usd = contract_amounts(amount, price, "bitmex", raw, table)
    return bitmex_symbol(raw), qty, usd


def _deribit(raw: str, amount: Decimal, price: Decimal,
             table: ContractTable) -> tuple[str, Decimal, Decimal]:
    split = deribit.split_instrument(raw)
    if split is None:
        raise InvalidEvent(f"not a Deribit perpetual or future: {raw!r}")
    symbol, inverse = split
    if inverse:
        qty, usd = contract_amounts(amount, price, "deribit", raw, table, "inverse")
    else:
        qty, usd = base_amounts(amount, price)
    return symbol, qty, usd


_AMOUNTS: dict[str, Amounts] = {
    "binance-futures": _binance_futures,
    "binance-delivery": _binance_delivery,
    "bybit": _bybit,
    "okex-swap": _okx,
    "okex-futures": _okx,
    "bitmex": _bitmex,
    "deribit": _deribit,
}


def _micros_to_ms(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise InvalidEvent(f"{what}: not microseconds since the epoch: {text[:40]!r}")
    return int(text) // 1000


def parse_row(cells: list[str], table: ContractTable) -> NormalizedEvent:
    """One data row of a Tardis liquidations CSV (the columns of :data:`HEADER`)."""
    if len(cells) != len(HEADER):
        raise InvalidEvent(f"Tardis row has {len(cells)} fields, expected {len(HEADER)}")
    tardis_exchange, raw_symbol, ts, local_ts, liq_id, side, price_text, amount_text = cells
    convert = _AMOUNTS.get(tardis_exchange)
    if convert is None:
        known = ", ".join(sorted(_AMOUNTS))
        raise InvalidEvent(f"unsupported Tardis exchange {tardis_exchange[:40]!r} "
                           f"(supported: {known})")
    position = ORDER_SIDE.get(side.upper())
    if position is None:
        raise InvalidEvent(f"bad side {side[:20]!r} (Tardis: buy or sell, the order's side)")
    price = positive(to_decimal(price_text, "price"), "price")
    amount = positive(to_decimal(amount_text, "amount"), "amount")
    ts_ms = _micros_to_ms(ts, "timestamp") if ts else _micros_to_ms(local_ts, "local_timestamp")
    raw = raw_symbol.upper()
    try:
        symbol, qty, usd = convert(raw, amount, price, table)
    except ArithmeticError as exc:
        raise out_of_range(exc) from None
    return event(
        exchange=EXCHANGES[tardis_exchange],
        symbol=symbol,
        side=position,
        price=price,
        qty=qty,
        usd=usd,
        ts=ts_ms,
        id=liq_id or None,
        raw_symbol=raw,
    )


def _parser() -> Callable[[str], Iterable[NormalizedEvent] | None]:
    from liqcli.feeds.adapters import current_contracts

    table = current_contracts()

    def parse(text: str) -> Iterable[NormalizedEvent] | None:
        try:
            cells = next(csv.reader((text,), strict=True))
        except (csv.Error, StopIteration) as exc:
            raise InvalidEvent(f"malformed CSV: {exc}") from None
        if tuple(cell.strip().lower() for cell in cells) == HEADER:
            return None  # the header (again, when daily files are concatenated)
        return (parse_row(cells, table),)

    return parse


def _detect(first_line: str) -> bool:
    return first_line.strip().lower().startswith(",".join(HEADER[:4]))


register_format("tardis", _parser, detect=_detect)
