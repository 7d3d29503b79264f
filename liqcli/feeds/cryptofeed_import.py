"""Import the liquidations cryptofeed's Redis backends wrote, correcting its known quirks.

cryptofeed (``LiquidationsRedis`` / ``LiquidationsStream``) writes keys
``{key}-{EXCHANGE}-{SYMBOL}`` (default key ``liquidations``): sorted sets whose members are the
event as JSON (score = ``timestamp``), or streams whose entries hold the same fields as strings.
A record: ``exchange, symbol, side, quantity, price, id, status, timestamp, receipt_timestamp``.

Quirks corrected here (cryptofeed 2.4):

- ``side`` is the ORDER side (sell → LONG) except on BYBIT where it is the POSITION side
  (buy → LONG). Deribit's is the taker's direction (cryptofeed drops the liquidation flag), so
  it is read as the order of the liquidated taker, the common case.
- ``timestamp`` is float seconds except on BYBIT (integer ms); any value ≥ 1e11 is taken as ms.
- OKX symbols are raw instrument ids (``BTC-USDT-SWAP``) with ``quantity`` in contracts;
  BitMEX and all inverse contracts count contracts too: the contract table converts them.
- Binance's quantity is the order's original quantity at the order price (cryptofeed keeps
  neither ``z`` nor ``ap``); ``unfilled`` Binance/OKX records are skipped (filled part unknown).
- A missing id is the string ``"None"``.

Re-running imports only what is new: a cursor per source key (last score / last stream id) is
kept in the destination store (``<prefix>:import:cryptofeed``), and the store's idempotent
ingest absorbs the overlap at the cursor's edge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters.base import (
    NormalizedEvent,
    contract_amounts,
    event,
    loads_decimal,
    out_of_range,
    positive,
    to_decimal,
)
from liqcli.feeds.adapters.contracts import ContractTable
from liqcli.feeds.adapters.okx import normalize_symbol as okx_symbol
from liqcli.model import default_usd

DEFAULT_KEY = "liquidations"
PAGE = 1000
_MONTH_CODES = "FGHJKMNQUVXZ"
_FUTURE = re.compile(r"([0-9]{2})([FGHJKMNQUVXZ])([0-9]{1,2})")
_ORDER_SIDE = {"sell": "LONG", "buy": "SHORT"}
_POSITION_SIDE = {"buy": "LONG", "sell": "SHORT"}


@dataclass(frozen=True, slots=True)
class SourceKey:
    """One cryptofeed key: ``{key}-{EXCHANGE}-{SYMBOL}`` and its Redis type."""

    name: str
    exchange: str
    symbol: str
    kind: str  # "zset" or "stream"


@dataclass(slots=True)
class ImportReport:
    keys: int = 0
    read: int = 0
    new: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    unsupported: list[str] = field(default_factory=list)  # keys of exchanges we cannot read


# --- cryptofeed symbols -------------------------------------------------------------------------

def _split_std(symbol: str) -> tuple[str, str, str]:
    """``BTC-USDT-PERP`` → (BTC, USDT, PERP); ``BTC-USD-25M27`` → (BTC, USD, 250627)."""
    parts = symbol.upper().split("-")
    if len(parts) != 3:
        raise InvalidEvent(f"not a perpetual or futures symbol: {symbol!r}")
    base, quote, kind = parts
    if kind != "PERP":
        match = _FUTURE.fullmatch(kind)
        if match is None:
            raise InvalidEvent(f"not a perpetual or futures symbol: {symbol!r}")
        year, code, day = match.groups()
        kind = f"{year}{_MONTH_CODES.index(code) + 1:02d}{int(day):02d}"
    return base, quote, kind


def _symbol(base: str, quote: str, kind: str) -> str:
    return f"{base}{quote}" if kind == "PERP" else f"{base}{quote}_{kind}"


Converter = Callable[[str, Decimal, Decimal, ContractTable], tuple[str, str, Decimal, Decimal]]
# (cryptofeed symbol, quantity, price, table) -> (symbol, raw instrument, qty, usd)


def _binance_futures(sym: str, n: Decimal, price: Decimal, t: ContractTable
                     ) -> tuple[str, str, Decimal, Decimal]:
    base, quote, kind = _split_std(sym)
    return _symbol(base, quote, kind), sym, n, default_usd(price, n)


def _binance_delivery(sym: str, n: Decimal, price: Decimal, t: ContractTable
                      ) -> tuple[str, str, Decimal, Decimal]:
    base, quote, kind = _split_std(sym)
    instrument = f"{base}{quote}_{kind}"
    qty, usd = contract_amounts(n, price, "binance", instrument, t, f"{base}{quote}")
    return _symbol(base, quote, kind), sym, qty, usd


def _bybit(sym: str, n: Decimal, price: Decimal, t: ContractTable
           ) -> tuple[str, str, Decimal, Decimal]:
    base, quote, kind = _split_std(sym)
    if quote == "USD":
        qty, usd = contract_amounts(n, price, "bybit", f"{base}USD", t, "inverse")
        return _symbol(base, quote, kind), sym, qty, usd
    return _symbol(base, quote, kind), sym, n, default_usd(price, n)


def _okx(sym: str, n: Decimal, price: Decimal, t: ContractTable
         ) -> tuple[str, str, Decimal, Decimal]:
    upper = sym.upper()
    if upper.endswith("-PERP"):  # should cryptofeed ever normalize OKX symbols
        base, quote, _ = _split_std(upper)
        upper = f"{base}-{quote}-SWAP"
    parts = upper.split("-")
    family = "-".join(parts[:2])
    qty, usd = contract_amounts(n, price, "okx", upper, t, family)
    return okx_symbol(upper), upper, qty, usd


def _bitmex(sym: str, n: Decimal, price: Decimal, t: ContractTable
            ) -> tuple[str, str, Decimal, Decimal]:
    base, quote, kind = _split_std(sym)
    venue_base = "XBT" if base == "BTC" else base
    instrument = f"{venue_base}{quote}" if kind == "PERP" else f"{venue_base}{quote}_{kind}"
    qty, usd = contract_amounts(n, price, "bitmex", instrument, t)
    return _symbol(base, quote, kind), instrument, qty, usd


def _deribit(sym: str, n: Decimal, price: Decimal, t: ContractTable
             ) -> tuple[str, str, Decimal, Decimal]:
    base, quote, kind = _split_std(sym)
    if quote == "USD":  # inverse: amount is USD
        qty, usd = contract_amounts(n, price, "deribit", sym, t, "inverse")
        return _symbol(base, quote, kind), sym, qty, usd
    return _symbol(base, quote, kind), sym, n, default_usd(price, n)


@dataclass(frozen=True, slots=True)
class _Venue:
    name: str
    convert: Converter
    position_side: bool = False
    skip_unfilled: bool = False


VENUES: dict[str, _Venue] = {
    "BINANCE_FUTURES": _Venue("binance", _binance_futures, skip_unfilled=True),
    "BINANCE_DELIVERY": _Venue("binance", _binance_delivery, skip_unfilled=True),
    "BYBIT": _Venue("bybit", _bybit, position_side=True),
    "OKX": _Venue("okx", _okx, skip_unfilled=True),
    "BITMEX": _Venue("bitmex", _bitmex),
    "DERIBIT": _Venue("deribit", _deribit),
}


def _ms(value: Any) -> int:
    number = to_decimal(value, "timestamp")
    if number >= 100_000_000_000:  # already milliseconds (BYBIT)
        return int(number)
    return int(number.scaleb(3))


def convert_record(record: dict[str, Any], contracts: ContractTable) -> NormalizedEvent | None:
    """One cryptofeed liquidation record → a normalized event (None: skipped, e.g. unfilled)."""
    exchange = str(record.get("exchange", ""))
    venue = VENUES.get(exchange)
    if venue is None:
        raise InvalidEvent(f"unsupported cryptofeed exchange {exchange!r}")
    if venue.skip_unfilled and str(record.get("status", "")).lower() == "unfilled":
        return None
    sides = _POSITION_SIDE if venue.position_side else _ORDER_SIDE
    side = sides.get(str(record.get("side", "")).lower())
    if side is None:
        raise InvalidEvent(f"bad side {record.get('side')!r}")
    quantity = positive(to_decimal(record.get("quantity"), "quantity"), "quantity")
    price = positive(to_decimal(record.get("price"), "price"), "price")
    symbol, raw, qty, usd = venue.convert(str(record.get("symbol", "")), quantity, price, contracts)
    record_id = record.get("id")
    ident = None if record_id in (None, "", "None") else str(record_id)
    return event(exchange=venue.name, symbol=symbol, side=side, price=price, qty=qty, usd=usd,
                 ts=_ms(record.get("timestamp")), id=ident, raw_symbol=raw)


# --- reading the source ---------------------------------------------------------------------------

def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def discover(source: Any, key: str = DEFAULT_KEY) -> list[SourceKey]:
    """The cryptofeed keys on ``source`` (SCAN ``{key}-*``), sorted by name."""
    found = []
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", key) + "-*"
    for raw in source.scan_iter(match=pattern, count=1000):
        name = _text(raw)
        kind = _text(source.type(name))
        if kind not in ("zset", "stream"):
            continue
        rest = name[len(key) + 1 :]
        exchange, sep, symbol = rest.partition("-")
        if not sep:
            continue
        found.append(SourceKey(name, exchange, symbol, kind))
    return sorted(found, key=lambda k: k.name)


def _zset_records(source: Any, name: str, cursor: str | None
                  ) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(where, new cursor, record or None when unreadable) from score ``cursor`` on."""
    low = cursor or "-inf"
    offset = 0
    while True:
        page = source.zrangebyscore(name, low, "+inf", start=offset, num=PAGE, withscores=True)
        if not page:
            return
        for member, score in page:
            try:
                record = loads_decimal(member)
            except ValueError:
                record = None
            readable = record if isinstance(record, dict) else None
            yield f"{name} score {score!r}", repr(score), readable
        offset += len(page)


def _stream_records(source: Any, name: str, cursor: str | None
                    ) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    low = f"({cursor}" if cursor else "-"
    while True:
        page = source.xrange(name, min=low, max="+", count=PAGE)
        if not page:
            return
        for entry_id, fields in page:
            ident = _text(entry_id)
            record = {_text(k): _text(v) for k, v in fields.items()}
            yield f"{name} entry {ident}", ident, record
            low = f"({ident}"


def cursor_key(prefix: str) -> str:
    return f"{prefix}:import:cryptofeed"


def import_cryptofeed(
    source: Any,
    store: Any,
    *,
    source_id: str,
    key: str = DEFAULT_KEY,
    contracts: ContractTable | None = None,
    batch_size: int = 500,
) -> ImportReport:
    """Import every cryptofeed liquidation key of ``source`` into ``store`` (a liqcli Store).

    ``source_id`` names the source in the cursor hash (e.g. its masked URL), so several sources
    can be imported into one store independently.
    """
    from liqcli.ingest.validate import normalize

    table = contracts if contracts is not None else ContractTable()
    report = ImportReport()
    cursors = cursor_key(store.prefix)
    for source_key in discover(source, key):
        if source_key.exchange not in VENUES:
            report.unsupported.append(source_key.name)
            continue
        report.keys += 1
        field_name = f"{source_id}|{source_key.name}"
        stored = store.client.hget(cursors, field_name)
        cursor = _text(stored) if stored is not None else None
        read = _zset_records if source_key.kind == "zset" else _stream_records
        batch = []
        last = cursor
        held = False  # after a rejection the cursor stays put: a re-run retries it
        for where, position, record in read(source, source_key.name, cursor):
            report.read += 1
            if not held:
                last = position
            try:
                if record is None:
                    raise InvalidEvent("not a JSON object")
                try:
                    converted = convert_record(record, table)
                    if converted is None:
                        report.skipped += 1
                        continue
                    batch.append(normalize(converted))
                except ArithmeticError as exc:  # e.g. decimal.Overflow on absurd numbers
                    raise out_of_range(exc) from None
            except InvalidEvent as exc:
                report.rejected.append((where, exc.reason))
                if not held:
                    held, last = True, _before(source_key.kind, position, cursor)
                continue
            if len(batch) >= batch_size:
                _flush(store, batch, report)
        _flush(store, batch, report)
        if last is not None and last != cursor:
            store.client.hset(cursors, field_name, last)
    return report


def _before(kind: str, position: str, cursor: str | None) -> str | None:
    """A cursor that re-reads ``position`` next time (scores are inclusive, stream ids not)."""
    if kind == "zset":
        return position
    millis, _, seq = position.partition("-")
    if int(seq) > 0:
        return f"{millis}-{int(seq) - 1}"
    return f"{int(millis) - 1}-18446744073709551615" if int(millis) > 0 else cursor


def _flush(store: Any, batch: list[Any], report: ImportReport) -> None:
    if batch:
        flags = store.ingest_batch(batch)
        report.new += sum(1 for f in flags if f)
        report.duplicate += sum(1 for f in flags if not f)
        batch.clear()
