"""When the live collector was connected to each exchange, so reports can show gaps.

Silence in a window means "no liquidations" only if a feed was connected; ``liqcli collect``
records every connection as an interval, and :func:`coverage_gaps` lists the parts of a window
no connection covered.

Layout (``<p>`` is the store prefix):

- ``<p>:cov:exchanges``  set of exchanges the collector ever connected to
- ``<p>:cov:<exchange>`` hash: field ``<start ms>`` → ``<end ms>|<symbols>`` where symbols is
  ``*`` (all markets) or a comma-separated list of normalized symbols. ``end`` is refreshed
  while connected (every few seconds) and set at disconnect, so a crash loses at most one
  refresh interval of coverage, never claims more.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

ALL_SYMBOLS = "*"


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
    raw = client.hgetall(coverage_key(prefix, exchange))
    spans = []
    for field, value in raw.items():
        end_text, _, symbols = _text(value).partition("|")
        if symbol is not None and symbols != ALL_SYMBOLS and symbol not in symbols.split(","):
            continue
        spans.append((int(_text(field)), int(end_text)))
    return _merge(spans)


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


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
