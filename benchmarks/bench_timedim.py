"""Time-dimension benchmarks: history, top, levels and --windows at two store sizes.

The same 30-day sample as ``bench_store`` (seed 2026, BTCUSDT and ETHUSDT on three exchanges),
stored at a small and a large size (the small one an evenly strided subset, beside it under its
own key prefix). Each query is timed at both sizes, interleaved call by call; the baseline of a
row is the same query at the smallest size (ratio = flatness as the store grows). ``top`` also
gets a same-size baseline: the same answer from a scan of the window's log (``top -n`` above
the top-K sets' 100), so its ratio is the speed-up the top-K sets bring.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench_store import (
    DAY_MS,
    END_MS,
    SEED,
    _ingest,
    _strided_subset,
    _time_interleaved,
    log,
    row,
)

from liqcli.feeds.sample import generate, write_jsonl
from liqcli.store.local import RedisServer

if TYPE_CHECKING:
    from liqcli.store.store import Store

FULL_SIZES = (10_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
FULL_CALLS, QUICK_CALLS = 10, 5
FLAT_FACTOR = 1.5
# windows ending 3 days 20 min 34.567 s before the sample's end: no boundary on an hour
UNTIL_MS = END_MS - 3 * DAY_MS - 1_234_567


def _history_30d(store: Store) -> object:
    from liqcli.report.history import compute_history

    return compute_history(store, ["BTCUSDT", "ETHUSDT"], interval="1h",
                           since_ms=UNTIL_MS - 26 * DAY_MS, until_ms=UNTIL_MS)


def _top_30d(store: Store, n: int = 20) -> object:
    from liqcli.report.top import compute_top

    return compute_top(store, n=n, all_symbols=True, since_ms=UNTIL_MS - 26 * DAY_MS,
                       until_ms=UNTIL_MS)


def _top_30d_log_scan(store: Store) -> object:
    """The same window answered from the log (what top does above -n 100)."""
    from liqcli.report.top import compute_top

    return compute_top(store, n=101, all_symbols=True, since_ms=UNTIL_MS - 26 * DAY_MS,
                       until_ms=UNTIL_MS)


def _windows(store: Store) -> object:
    from liqcli.report.windows import compute_windows

    return compute_windows(store, "BTCUSDT", "1h,4h,12h,24h", until_ms=UNTIL_MS)


def _levels_7d(store: Store) -> object:
    from decimal import Decimal

    from liqcli.report.levels import compute_levels

    return compute_levels(store, "BTCUSDT", step=Decimal(100),
                          since_ms=UNTIL_MS - 7 * DAY_MS, until_ms=UNTIL_MS)


QUERIES: dict[str, tuple[str, Callable[[Store], object]]] = {
    "history": ("1h buckets, 30 days, 2 symbols", _history_30d),
    "top": ("-n 20, 26 days, --all-symbols", _top_30d),
    "top, log scan": ("same window from the log (-n 101)", _top_30d_log_scan),
    "windows": ("totals --windows 1h,4h,12h,24h", _windows),
    "levels": ("--step 100, 7 days", _levels_7d),
}


def run(quick: bool, sizes: tuple[int, ...] | None = None,
        calls: int | None = None) -> list[dict[str, Any]]:
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    calls = calls or (QUICK_CALLS if quick else FULL_CALLS)
    largest = sizes[-1]
    with tempfile.TemporaryDirectory(prefix="liqcli-bench-") as tmp, RedisServer() as server:
        data = Path(tmp) / "sample.jsonl"
        write_jsonl(data, generate(largest, SEED, end_ms=END_MS, span_hours=720))
        prefixes: dict[int, str] = {}
        for size in sizes:
            prefixes[size] = f"td{size}"
            source = data if size == largest else _strided_subset(
                data, largest, size, Path(tmp) / f"{size}.jsonl")
            started = time.perf_counter()
            _ingest(server, source, prefixes[size])
            log(f"stored {size:,} events in {time.perf_counter() - started:.1f} s")
        from liqcli.store.connection import open_store

        stores = {size: open_store(server.url, prefix=p) for size, p in prefixes.items()}
        timings: dict[str, dict[int, tuple[float, float]]] = {}
        for kind, (_, query) in QUERIES.items():
            timings[kind] = _time_interleaved(
                {size: partial(query, store) for size, store in stores.items()}, calls)
            for size, (p50, _) in timings[kind].items():
                log(f"{kind} at {size:,} events: p50 {p50:.2f} ms")
    return _rows(timings, sizes)


def _rows(timings: dict[str, dict[int, tuple[float, float]]],
          sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for kind, (case, _) in QUERIES.items():
        ref = timings[kind][sizes[0]][0]
        for size in sizes:
            p50, p95 = timings[kind][size]
            flat = kind != "top, log scan"
            rows.append(row(
                kind, f"{case}, {size:,} events, p50", round(p50, 3), "ms",
                baseline=round(ref, 3), ratio=round(p50 / ref, 3),
                target="flat" if flat else None,
                met=(p50 <= FLAT_FACTOR * ref) if flat else None,
            ))
            rows.append(row(kind, f"{case}, {size:,} events, p95", round(p95, 3), "ms"))
    for size in sizes:
        top, scan = timings["top"][size][0], timings["top, log scan"][size][0]
        rows.append(row("top vs log scan", f"{size:,} events, p50", round(top, 3), "ms",
                        baseline=round(scan, 3), ratio=round(top / scan, 3)))
    return rows
