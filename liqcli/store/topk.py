"""The largest single liquidations: the read side of the top-K sets (``Store.top_events``).

Layout (written by the top-K block of ``ingest.lua``, atomically with the rest of a batch and
only for new events): ``<p>:{S}:tu:D:<day>`` (by USD) and ``tq:D:<day>`` (by base quantity) are
sorted sets holding at least the TOP_K largest of the day's events stored OUTSIDE its day log
``ld:<day>`` (in hour and slot logs; all of them when there are fewer), scored by
:func:`score_of_text` of the amount (schema 4: an integer of its magnitude and first 7
significant digits, monotonic; schema 3: a double), each member the event's exact text (schema
4: its time as ms after the day's start); a set that ever dropped an event also holds the
member ``~`` (score -inf). The script cuts before it writes (schema 4): from the set's members
and the batch's new ones it keeps those scoring at least their K-th largest score, removing the
stored ones below first and adding only the batch's ones above, so a set never holds more than
K + ties + 1 members and a normal day's stays a listpack (a sorted set above 128 members
becomes a skiplist for good: schema 3's add-then-trim made half the sets of the 300k sample ~12
KB). A sparse day (wholly in its day log) has no set: its events are the day log's. ``liqcli
prune`` keeps a day log's text as ``pl:<day>``, read with the sets.
Reading ``top -n N`` (N ≤ TOP_K) over a window costs one set and one day log (below the day
log cap) per whole day, in one call, plus the events of its (at most two) partial edge days,
read from the log: bounded by two days' events, not by the window's length.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from liqcli.model import Event, default_usd

TRIMMED = "~"  # the member a trimmed set keeps (score -inf): it may miss smaller events
SCORE_DIGITS = 7  # a score keeps an amount's first 7 significant digits (and its magnitude)
_SCORE_SCALE: int = 10**SCORE_DIGITS


def score_of_text(text: str) -> int:
    """A top-K score of an amount's canonical plain text (``amount_parts``; ≥ 0, < 1e13, at
    most 18 decimals): ``(exponent + 40) · 10^7 + its first 7 significant digits``, 0 for 0.

    Monotonic (a larger amount never scores less), so a set cut at its K-th score drops only
    events exactly smaller than K it keeps; amounts equal in their first 7 digits tie (kept
    together). An integer below 2^31: a listpack stores it in 5 bytes, where a double's score
    took its ``%.17g`` text (up to ~20 bytes; schema 3).
    """
    whole, _, frac = text.partition(".")
    if whole != "0":
        digits, adjusted = whole + frac, len(whole) - 1
    else:
        stripped = frac.lstrip("0")
        if not stripped:
            return 0
        digits, adjusted = stripped, len(stripped) - len(frac) - 1
    return (adjusted + 40) * _SCORE_SCALE + int(
        digits[:SCORE_DIGITS].ljust(SCORE_DIGITS, "0"))

if TYPE_CHECKING:
    from liqcli.store.store import Store


def _amount(by: str) -> Callable[[Event], Decimal]:
    if by == "usd":
        return lambda e: e.usd
    return lambda e: e.qty


def largest(
    events: Iterable[Event], n: int, by: str, exchanges: Sequence[str] = (),
    side: str | None = None,
) -> list[Event]:
    """The ``n`` largest of ``events`` by ``by`` (``usd`` or ``qty``) after the filters, and
    every event tied with the n-th (the caller orders ties)."""
    chosen = [
        e for e in events
        if (not exchanges or e.exchange in exchanges) and (side is None or e.side == side)
    ]
    if len(chosen) <= n:
        return chosen
    amount = _amount(by)
    cut = amount(heapq.nlargest(n, chosen, key=amount)[-1])
    return [e for e in chosen if amount(e) >= cut]


def read_top(
    store: Store, symbol: str, since_ms: int | None, until_ms: int | None, n: int, by: str,
    exchanges: Sequence[str] = (), side: str | None = None,
) -> list[Event]:
    """:meth:`Store.top_events` for ``n`` ≤ TOP_K, O(days + two edge days' events).

    The days lying wholly inside the window give their top-K set (unfiltered: only the members
    scoring at least the set's n-th score) and the events of their day log (schema 3: a set
    holds only the day's events outside its day log; the day log is below the day log cap),
    read in the same call; the (at most two) partial edge days give their events (log). With a
    filter (``exchanges``, ``side``) a trimmed set (it holds the ``~`` mark) with fewer than
    ``n`` members left after the filter may miss some: that day's events are read instead
    (exact, and rare for a broad filter). The trimming keeps the set exact for its own events
    (everything it dropped is smaller than K members it keeps), so the top of (set ∪ day log)
    holds the day's top n.
    """
    from liqcli.store.store import DAY_MS

    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        return []
    days, partial, logs = store._units(symbol, since_ms, until_ms)
    prefix = "tu" if by == "usd" else "tq"
    units = [(f"{prefix}:D:{day}", day * DAY_MS, (day + 1) * DAY_MS) for day in days]
    filtered = bool(exchanges) or side is not None
    wanted = _filter(exchanges, side)
    candidates: list[Event] = []
    day_logs: list[tuple[int, bytes]] = []  # (base, blob) of the whole days' day logs
    if units:
        # one read-only call (EVAL_RO, or plain reads on a Cluster and for a +@read user):
        # each whole day's set, then each whole day's log (its events are in no set)
        names = [name for name, _, _ in units] + [name for day in logs for name in day]
        blobs = store._read_only_scripts(
            "topk_read.lua",
            [([store.key(symbol, name) for name in names], [0 if filtered else n, len(units)])],
        )[0]
        rest = iter(blobs[len(units) :])
        day_log_blobs = [b"\n".join(blob for blob in (next(rest) for _ in day) if blob)
                         for day in logs]
        for (_, start, end), blob, log in zip(
                units, blobs[: len(units)], day_log_blobs, strict=True):
            members = list(_members(symbol, start, blob))
            trimmed = TRIMMED.encode() in blob.split(b"\n")
            chosen = [e for e in members if wanted(e)]
            if filtered and trimmed and len(chosen) < n:
                store.check_log_readable(symbol, start, end, "top with -e or --side")
                candidates += [e for e in store.events(symbol, start, end) if wanted(e)]
                continue
            candidates += chosen
            if log:
                day_logs.append((start, log))
    candidates += _day_log_candidates(symbol, day_logs, n, by, exchanges, side)
    for start, end in partial:
        candidates += [e for e in store.events(symbol, start, end) if wanted(e)]
    return largest(candidates, n, by)


def _day_log_candidates(
    symbol: str, logs: Sequence[tuple[int, bytes]], n: int, by: str,
    exchanges: Sequence[str], side: str | None,
) -> list[Event]:
    """The events of day logs (``(day start, blob)``) that may be among their ``n`` largest
    after the filters, ties included, decoded exactly.

    Lines are first filtered on their text and scored by their amount as a double; only those
    scoring at least the n-th largest score less a margin are decoded. A double is within
    1e-15 relative (+ 1e-18 absolute, the default usd's rounding) of the exact amount, so an
    event of the exact top n (X: the n-th exact amount) scores at least X - e and the n-th
    score is at most X + e: the margin (1e-9 relative + 1e-15) keeps every one of them.
    """
    from liqcli.store.store import _decode_lines

    code = None if side is None else ("L" if side == "LONG" else "S")
    scored: list[tuple[float, int, str]] = []
    for base, blob in logs:
        for line in blob.decode().split("\n"):
            exchange, side_code, price, qty, usd, _ = line.split("\t", 5)
            if (exchanges and exchange not in exchanges) or (code and side_code != code):
                continue
            amount = float(qty) if by == "qty" else (
                float(usd) if usd else float(price) * float(qty))
            scored.append((amount, base, line))
    if len(scored) > n:
        cut = heapq.nlargest(n, (amount for amount, _, _ in scored))[-1]
        cut -= abs(cut) * 1e-9 + 1e-15
        scored = [item for item in scored if item[0] >= cut]
    return [event for _, base, line in scored
            for event in _decode_lines(symbol, base, [line])]


def _filter(exchanges: Sequence[str], side: str | None) -> Callable[[Event], bool]:
    return lambda e: (not exchanges or e.exchange in exchanges) and (
        side is None or e.side == side)


def _members(symbol: str, base: int, blob: bytes) -> Iterator[Event]:
    """The events of the top-K set of the day starting at ``base`` (members: ms after the
    day's start, exchange, L/S, price, qty, usd, id)."""
    if not blob:
        return
    for line in blob.decode().split("\n"):
        if line == TRIMMED:
            continue
        ts, exchange, code, price_text, qty_text, usd_text, id_ = line.split("\t")
        price, qty = Decimal(price_text), Decimal(qty_text)
        yield Event(
            exchange=exchange, symbol=symbol, side="LONG" if code == "L" else "SHORT",
            price=price, qty=qty, usd=Decimal(usd_text) if usd_text else default_usd(price, qty),
            ts_ms=base + int(ts), id=id_ or None,
        )
