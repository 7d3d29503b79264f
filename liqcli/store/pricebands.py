"""Price buckets for ``levels``: the finest price resolution the store keeps, and its reads.

A price falls in the *fine bucket* of its first 4 significant digits: ``91,066.6`` in
``[91,060, 91,070)`` (written ``9106e1``), ``0.000012345`` in ``[0.00001234, 0.00001235)``
(``1234e-8``). The ingest script's price-band block keeps, per symbol and UTC day, ONE string
``<p>:{S}:pb:D:<day>`` (schema 4) with one line per bucket and side,
``<bucket>|<L|S> <n> <qty> <usd>`` (``9106e1|L 3 0.015 1366.05``; ``"\n"``-separated, in no
particular order): events, then the quantity and notional sums as exact plain decimal text in
their shortest form, added by the script with exact integer arithmetic (fractional digits
aligned; doubles below 1e15, digit by digit beyond). A string costs its text alone: schema 3's
hash (a field per bucket and side, the sums as limbs) became a hashtable of ~90 bytes a field
on a busy symbol's day (> 128 fields). Reading a day is one GET; the script rewrites the
string whole per batch (O(the day's buckets)). The string counts only the day's events stored
outside its day log ``ld:<day>`` (a sparse day has none); ``liqcli prune`` keeps a day log's
text as ``pl:<day>``, read with it. A window then reads one string and one day log (below the
day log cap) per whole day, in one round trip, and the events of its (at most two) partial
edge days from the log: O(buckets + day logs + two days' events), not O(events of the window).
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
    return f"{int(mantissa)}e{exponent}"


def bucket_of_text(price: str) -> str:
    """:func:`bucket_text` of a canonical plain price text (``amount_parts``), by string
    operations only (the ingest hot path)."""
    whole, _, frac = price.partition(".")
    if whole != "0":
        digits, adjusted = (whole + frac), len(whole) - 1
    else:
        stripped = frac.lstrip("0")
        digits, adjusted = stripped, len(stripped) - len(frac) - 1
    mantissa = digits[:SIGNIFICANT_DIGITS].ljust(SIGNIFICANT_DIGITS, "0")
    return f"{int(mantissa)}e{adjusted - (SIGNIFICANT_DIGITS - 1)}"


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
    window's last event (latest time; the higher price among equal times).

    One band string and one day log per day lying wholly inside the window, the events of its (at
    most two) partial edge days; the last event through the window's rollup (its last time)
    and the events of that one millisecond.
    """
    buckets: Buckets = {}
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        return buckets, None
    days, partial, logs = store._units(symbol, since_ms, until_ms)
    if days:
        # one round trip: each whole day's bands and its day log (whose events they lack)
        pipe = store.client.pipeline(transaction=False)
        for day in days:
            pipe.get(store.key(symbol, f"pb:D:{day}"))
        for name in (name for day in logs for name in day):
            pipe.get(store.key(symbol, name))
        replies = pipe.execute()
        _add_log_lines(buckets, [log for log in replies[len(days):] if log])
        for blob in replies[: len(days)]:
            if blob:
                add_bands(buckets, blob)
    for start, end in partial:
        for event in store.events(symbol, start, end):
            add_event(buckets, event)
    if not buckets:
        return buckets, None
    from liqcli.errors import PrunedWindow

    try:
        rollup = store.rollup(symbol, since_ms, until_ms)
    except PrunedWindow:  # whole hours of a pruned day: exact bands, no last-price mark
        return buckets, None
    last_ms = max(
        (cell.last_ms for cell in rollup.cells.values() if cell.last_ms is not None),
        default=None)
    if last_ms is None:  # pragma: no cover - buckets imply events
        return buckets, None
    # None when that millisecond's log was pruned (liqcli prune): no last-price mark then
    last = max(store.events(symbol, last_ms, last_ms + 1), key=lambda e: e.price, default=None)
    return buckets, last


def add_bands(buckets: Buckets, blob: bytes) -> None:
    """Add a day's price-band string (``<bucket>|<L|S> <n> <qty> <usd>`` lines) to
    ``buckets``, exactly (each sum in its shortest form, as the log lines' sums)."""
    for line in blob.decode().split("\n"):
        field, n, qty, usd = line.split(" ")
        text, _, code = field.partition("|")
        side: Side = "LONG" if code == "L" else "SHORT"
        cell = buckets.setdefault((text, side), [0, Decimal(0), Decimal(0)])
        cell[0] = int(cell[0]) + int(n)
        cell[1] = _WIDE.add(cell[1], Decimal(qty).normalize(_WIDE))
        cell[2] = _WIDE.add(cell[2], Decimal(usd).normalize(_WIDE))


def _add_log_lines(buckets: Buckets, blobs: list[bytes]) -> None:
    """Add the events of log strings (day logs) to ``buckets``: each line's bucket from its
    price text (the stored text is canonical, as at ingest), its amounts summed as integers of
    1e-18 units, turned into Decimals once per bucket (exact)."""
    from liqcli.store.store import _default_usd_e18, _e18, from_limbs

    sums: dict[tuple[str, str], list[int]] = {}
    for blob in blobs:
        for line in blob.decode().split("\n"):
            _, code, price, qty, usd, _ = line.split("\t", 5)
            q = _e18(qty)
            u = _e18(usd) if usd else _default_usd_e18(_e18(price), q)
            acc = sums.get((bucket_of_text(price), code))
            if acc is None:
                sums[(bucket_of_text(price), code)] = [1, q, u]
            else:
                acc[0] += 1
                acc[1] += q
                acc[2] += u
    for (text, code), (n, q, u) in sums.items():
        side: Side = "LONG" if code == "L" else "SHORT"
        cell = buckets.setdefault((text, side), [0, Decimal(0), Decimal(0)])
        cell[0] = int(cell[0]) + n
        # from_limbs: the shortest form, as the band strings' (12.097, not 12.09700000)
        cell[1] = _WIDE.add(cell[1], from_limbs(0, 0, q))
        cell[2] = _WIDE.add(cell[2], from_limbs(0, 0, u))


def events_buckets(events: Iterable[Event]) -> tuple[Buckets, Event | None]:
    """The same from events (a filtered log read)."""
    buckets: Buckets = {}
    last: Event | None = None
    for event in events:
        add_event(buckets, event)
        if last is None or (event.ts_ms, event.price) > (last.ts_ms, last.price):
            last = event
    return buckets, last
