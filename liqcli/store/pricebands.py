"""Price buckets for ``levels``: the finest price resolution the store keeps, and its reads.

A price falls in the *fine bucket* of its first 4 significant digits: ``91,066.6`` in
``[91,060, 91,070)`` (written ``9106e1``), ``0.000012345`` in ``[0.00001234, 0.00001235)``
(``1234e-8``). The ingest script's price-band block keeps, per symbol and UTC day and hour, a
hash ``<p>:{S}:pb:D:<day>`` / ``pb:h:<hour>`` with one field per bucket and side
(``9106e1|L``) holding ``n qi q1 q2 ui u1 u2``: events, then quantity and notional as the same
three limbs as the rollups (integer part, 1e-9 and 1e-18 units), kept as decimal text and
added with exact integer arithmetic. A window then reads one hash per whole day and other
whole hour, and the logs of its two partial edge hours: O(buckets), not O(events).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_FLOOR, Context, Decimal
from typing import TYPE_CHECKING

from liqcli.model import Event, Side

if TYPE_CHECKING:
    from liqcli.store.store import Store

SIGNIFICANT_DIGITS = 4
_WIDE = Context(prec=100)
# (bucket text, side) -> [events, qty, usd]
Buckets = dict[tuple[str, Side], list[int | Decimal]]


def bucket_text(price: Decimal) -> str:
    """The fine bucket of ``price`` (> 0) as ``<mantissa>e<exponent>``: ``9106e1``."""
    exponent = price.adjusted() - (SIGNIFICANT_DIGITS - 1)
    mantissa = _WIDE.divide(price, Decimal(1).scaleb(exponent)).to_integral_value(
        rounding=ROUND_FLOOR)
    return f"{mantissa}e{exponent}"


def bucket_bounds(text: str) -> tuple[Decimal, Decimal]:
    """``(start, width)`` of a bucket written by :func:`bucket_text`."""
    mantissa, _, exponent = text.partition("e")
    width = Decimal(1).scaleb(int(exponent))
    return _WIDE.multiply(Decimal(mantissa), width), width


def add_event(buckets: Buckets, event: Event) -> None:
    cell = buckets.setdefault((bucket_text(event.price), event.side), [0, Decimal(0), Decimal(0)])
    cell[0] = int(cell[0]) + 1
    cell[1] = _WIDE.add(cell[1], event.qty)
    cell[2] = _WIDE.add(cell[2], event.usd)


def read_buckets(
    store: Store, symbol: str, since_ms: int | None, until_ms: int | None
) -> tuple[Buckets, Event | None]:
    """The fine buckets of ``symbol`` in [since_ms, until_ms) (every exchange), and the
    window's last event (latest time; the higher price among equal times)."""
    from liqcli.store.store import (
        SLOT_MS,
        SLOTS_PER_HOUR,
        _decode_entries,
        _inside,
        _plan_hours,
        _script_source,
        from_limbs,
    )

    buckets: Buckets = {}
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        return buckets, None
    hours = store._hours(symbol, since_ms, until_ms)
    days, whole_hours, slots, edges = _plan_hours(hours, since_ms, until_ms)
    keys = [store.key(symbol, f"pb:D:{day}") for day in days]
    keys += [store.key(symbol, f"pb:h:{hour}") for hour in whole_hours]
    # the last event: from the latest hour holding events (its log), unless already read
    last_hour = hours[-1] if hours else None
    logs = sorted(set(slots + edges))
    if last_hour is not None:
        logs = sorted(set(logs) | {
            s for s in range(last_hour * SLOTS_PER_HOUR, (last_hour + 1) * SLOTS_PER_HOUR)
            if (since_ms is None or since_ms < (s + 1) * SLOT_MS)
            and (until_ms is None or s * SLOT_MS < until_ms)
        })
    hashes = len(keys)
    keys += [store.key(symbol, f"l:{slot}") for slot in logs]
    if not keys:
        return buckets, None
    script = store.client.register_script(_script_source("read.lua"))
    blobs = script(keys=keys, args=[hashes])
    for blob in blobs[:hashes]:
        if not blob:
            continue
        parts = blob.decode().split("\n")
        for field, value in zip(parts[::2], parts[1::2], strict=True):
            text, _, code = field.partition("|")
            n, qi, q1, q2, ui, u1, u2 = (int(x) for x in value.split(" "))
            side: Side = "LONG" if code == "L" else "SHORT"
            cell = buckets.setdefault((text, side), [0, Decimal(0), Decimal(0)])
            cell[0] = int(cell[0]) + n
            cell[1] = _WIDE.add(cell[1], from_limbs(qi, q1, q2))
            cell[2] = _WIDE.add(cell[2], from_limbs(ui, u1, u2))
    edge_slots = set(slots + edges)
    last: Event | None = None
    for slot, blob in zip(logs, blobs[hashes:], strict=True):
        if not blob:
            continue
        for event in _decode_entries(symbol, slot * SLOT_MS, [(b"", {b"v": blob})]):
            if not _inside(event.ts_ms, since_ms, until_ms):
                continue
            if slot in edge_slots:
                add_event(buckets, event)
            if last is None or (event.ts_ms, event.price) > (last.ts_ms, last.price):
                last = event
    return buckets, last


def events_buckets(events: Iterable[Event]) -> tuple[Buckets, Event | None]:
    """The same from events (a filtered log read)."""
    buckets: Buckets = {}
    last: Event | None = None
    for event in events:
        add_event(buckets, event)
        if last is None or (event.ts_ms, event.price) > (last.ts_ms, last.price):
            last = event
    return buckets, last
