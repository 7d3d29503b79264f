"""When the live collector was connected to each exchange, so reports can show gaps.

Silence in a window means "no liquidations" only if a feed was connected; ``liqcli collect``
records every connection as an interval, and :func:`coverage_gaps` lists the parts of a window
no connection covered. Reports read every exchange's records at once (:func:`read_records`, one
pipeline) and compute their gaps from them (:func:`window_gaps`, pure).

Layout (``<p>`` is the store prefix):

- ``<p>:cov:exchanges``  set of exchanges the collector ever connected to
- ``<p>:cov:<exchange>`` hash: field ``<start ms>`` → ``<end ms>|<symbols>`` where symbols is
  ``*`` (all markets) or a comma-separated list of normalized symbols. ``end`` is refreshed
  while connected (every few seconds) and set at disconnect, so a crash loses at most one
  refresh interval of coverage, never claims more.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time (summary reports import this module)
    from collections.abc import Iterable
    from typing import Any

ALL_SYMBOLS = "*"
# A feed whose record was refreshed this recently counts as connected now (heartbeat: 5 s).
LIVE_GRACE_MS = 15_000


def exchanges_key(prefix: str) -> str:
    return f"{prefix}:cov:exchanges"


def coverage_key(prefix: str, exchange: str) -> str:
    return f"{prefix}:cov:{exchange}"


def mark_connected(client: Any, prefix: str, exchange: str, start_ms: int, end_ms: int,
                   symbols: Iterable[str] = ()) -> None:
    """Record (or extend) the connection that started at ``start_ms`` up to ``end_ms``."""
    chosen = sorted(set(symbols))
    value = f"{end_ms}|{','.join(chosen) if chosen else ALL_SYMBOLS}"
    pipe = client.pipeline(transaction=False)
    pipe.sadd(exchanges_key(prefix), exchange)
    pipe.hset(coverage_key(prefix, exchange), str(start_ms), value)
    pipe.execute()


def covered_exchanges(client: Any, prefix: str) -> list[str]:
    return sorted(_text(x) for x in client.smembers(exchanges_key(prefix)))


def coverage_intervals(client: Any, prefix: str, exchange: str,
                       symbol: str | None = None) -> list[tuple[int, int]]:
    """Connected intervals ``[start, end)`` of ``exchange`` (covering ``symbol``), merged."""
    return intervals_of(_records(client.hgetall(coverage_key(prefix, exchange))), symbol)


def coverage_gaps(client: Any, prefix: str, exchange: str, since_ms: int | None,
                  until_ms: int | None, symbol: str | None = None,
                  *, now_ms: int | None = None) -> list[tuple[int, int]] | None:
    """Uncovered ``[start, end)`` parts of the window, or None if never collected live.

    ``since_ms`` None starts at the first recorded connection; ``until_ms`` None is now.
    """
    spans = coverage_intervals(client, prefix, exchange, symbol)
    if not spans:
        return None
    low = spans[0][0] if since_ms is None else since_ms
    high = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) if until_ms is None \
        else until_ms
    return gaps_within(spans, low, high)


# ------------------------------------------------------- reports (one read, pure after)
Record = tuple[int, int, str]  # a connection: start ms, end ms, symbols field ("*" or a list)


def read_records(client: Any, prefix: str,
                 exchanges: Iterable[str] | None = None) -> dict[str, list[Record]]:
    """The connection records of ``exchanges`` (default: every exchange ever collected).

    One round trip with ``exchanges`` given (a pipeline of one HGETALL each), two without
    (the exchange set first). Exchanges without records are left out.
    """
    names = covered_exchanges(client, prefix) if exchanges is None else sorted(set(exchanges))
    if not names:
        return {}
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(coverage_key(prefix, name))
    found: dict[str, list[Record]] = {}
    for name, raw in zip(names, pipe.execute(), strict=True):
        records = _records(raw)
        if records:
            found[name] = records
    return found


def intervals_of(records: Iterable[Record], symbol: str | None = None) -> list[tuple[int, int]]:
    """The merged ``[start, end)`` intervals of the records that cover ``symbol`` (None: any)."""
    return _merge([
        (start, end) for start, end, symbols in records
        if symbol is None or symbols == ALL_SYMBOLS or symbol in symbols.split(",")
    ])


def gaps_within(spans: list[tuple[int, int]], low: int, high: int) -> list[tuple[int, int]]:
    """The parts of ``[low, high)`` that no span of ``spans`` (merged, sorted) covers."""
    gaps = []
    cursor = low
    for start, end in spans:
        if end <= cursor:
            continue
        if start >= high:
            break
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < high:
        gaps.append((cursor, high))
    return gaps


def window_gaps(records: Iterable[Record], symbols: Iterable[str], since_ms: int | None,
                until_ms: int | None, now_ms: int,
                grace_ms: int = LIVE_GRACE_MS) -> list[tuple[int, int]] | None:
    """Gaps of a report window for one exchange: the times when some of ``symbols`` was not
    covered (merged), or None when no record covers any of them.

    Per symbol the window starts at ``since_ms``, or (None) at the symbol's first recorded
    connection; it ends at ``until_ms`` but never after ``now_ms`` (the future is no gap).
    A gap reaching ``now_ms`` that began at most ``grace_ms`` earlier is dropped: a running
    collector refreshes its record every few seconds, so its last refresh always lags now.
    """
    high = now_ms if until_ms is None else min(until_ms, now_ms)
    listed = list(records)
    found: list[tuple[int, int]] = []
    known = False
    for symbol in symbols:
        spans = intervals_of(listed, symbol)
        if not spans:
            continue
        known = True
        low = spans[0][0] if since_ms is None else since_ms
        found += gaps_within(spans, low, high)
    if not known:
        return None
    gaps = _merge(found)
    if gaps and gaps[-1][1] == now_ms and now_ms - gaps[-1][0] <= grace_ms:
        gaps.pop()
    return gaps


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _records(raw: Any) -> list[Record]:
    """Parse a coverage hash (``start`` → ``end|symbols``)."""
    records = []
    for field, value in raw.items():
        end_text, _, symbols = _text(value).partition("|")
        records.append((int(_text(field)), int(end_text), symbols))
    return records


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
