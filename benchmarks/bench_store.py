"""Store benchmarks: ingest throughput next to a pipelined-XADD baseline, query latency, memory.

Everything runs against a private redis-server (``liqcli.store.local.RedisServer``) on this machine.

* ingest: ``liqcli.ingest.ingest_paths`` end to end (read JSONL, validate, store) of N sample
  events into a flushed server, in events/s; the baseline, measured in the same run, reads the
  same file, ``json.loads`` each line and writes it with plain ``XADD`` (one stream per symbol,
  the record's fields as stream fields, pipelines of 1000, no transaction). The ratio is the
  figure that matters: it does not depend much on the machine.
* memory: ``INFO memory`` ``used_memory`` after minus before that ingest, per stored event
  (log + dedupe + rollups); the XADD baseline's own figure is shown for comparison.
* query: ``Store.rollup(symbol)`` all-time and over a 7-day window with non-hour-aligned
  boundaries, at each stored size. The largest store is the ingest run's; each smaller one is
  an evenly strided subset of the same sample (so every size spans the same 30 days) stored
  beside it under its own key prefix. Calls are interleaved across the sizes (round after
  round) so that load from elsewhere hits every size alike; median (p50) and p95 of ``calls``
  timed calls per size after 3 warm-up rounds.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liqcli.feeds.sample import generate, write_jsonl
from liqcli.store.local import RedisServer

if TYPE_CHECKING:
    from liqcli.store.store import Store

DAY_MS = 86_400_000
END_MS = 1_767_225_600_000  # 2026-01-01T00:00Z: fixed, so every run stores the same sample
SEED = 2026
QUERY_SYMBOL = "BTCUSDT"
# A 7-day window ending 3 days 20 min 34.567 s before the sample's end: no boundary on an hour.
WINDOW_UNTIL_MS = END_MS - 3 * DAY_MS - 1_234_567
WINDOW_SINCE_MS = WINDOW_UNTIL_MS - 7 * DAY_MS
XADD_PIPELINE = 1000
DEFAULT_PREFIX = "liq"

INGEST_TARGET_EVENTS_S = 100_000
INGEST_TARGET_RATIO = 0.5
QUERY_TARGET_MS = 2.0
FLAT_FACTOR = 1.5  # "flat": p50 at a size ≤ max(1.5 × p50 at the smallest size, + 0.25 ms)
FLAT_SLACK_MS = 0.25
MEMORY_TARGET_BYTES = 120


@dataclass(frozen=True)
class Sizes:
    ingest: int  # events in the throughput and memory runs (the largest query size too)
    query: tuple[int, ...]  # stored-event counts for the latency runs, ascending
    calls: int  # timed calls per latency figure
    span_hours: int = 720


FULL = Sizes(1_000_000, (10_000, 100_000, 1_000_000), 200)
QUICK = Sizes(20_000, (2_000, 20_000), 50)


def log(message: str) -> None:
    print(f"[bench_store] {message}", file=sys.stderr, flush=True)


def row(benchmark: str, case: str, value: float, unit: str, *, baseline: float | None = None,
        ratio: float | None = None, target: str | None = None,
        met: bool | None = None) -> dict[str, Any]:
    """One result row (the shape every ``bench_*.run`` returns; see benchmarks/README.md)."""
    return {"benchmark": benchmark, "case": case, "value": value, "unit": unit,
            "baseline": baseline, "ratio": ratio, "target": target, "met": met}


def run(quick: bool, sizes: Sizes | None = None) -> list[dict[str, Any]]:
    sizes = sizes or (QUICK if quick else FULL)
    if sizes.query and sizes.query[-1] > sizes.ingest:
        raise ValueError("query sizes cannot exceed the ingest size")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="liqcli-bench-") as tmp, RedisServer() as server:
        data = Path(tmp) / "events.jsonl"
        started = time.perf_counter()
        write_jsonl(data, generate(sizes.ingest, SEED, end_ms=END_MS,
                                   span_hours=sizes.span_hours))
        log(f"generated {sizes.ingest:,} events in {time.perf_counter() - started:.1f} s")
        rows += _ingest_rows(server, data, sizes.ingest)  # leaves the sample stored
        prefixes = {sizes.ingest: DEFAULT_PREFIX}
        for size in sizes.query:
            if size not in prefixes:  # smaller stores beside it, under their own prefix
                prefixes[size] = f"bench{size}"
                subset = _strided_subset(data, sizes.ingest, size, Path(tmp) / f"{size}.jsonl")
                _ingest(server, subset, prefixes[size])
        latencies = _query_latency(server, {size: prefixes[size] for size in sizes.query},
                                   sizes.calls)
        rows += _query_rows(latencies, sizes.query)
    return rows


# -- ingest and memory ---------------------------------------------------------------------------

def _ingest_rows(server: RedisServer, data: Path, n: int) -> list[dict[str, Any]]:
    client = server.client()
    client.flushall()
    before = _used_memory(client)
    started = time.perf_counter()
    _xadd_baseline(client, data)
    base_s = time.perf_counter() - started
    base_bytes = (_used_memory(client) - before) / n
    base_rate = n / base_s
    log(f"XADD baseline: {base_rate:,.0f} events/s, {base_bytes:.1f} B/event")

    seconds, stored, memory = _flush_and_ingest(server, data)
    rate = n / seconds
    ratio = rate / base_rate
    per_event = memory / stored if stored else math.nan
    log(f"ingest: {rate:,.0f} events/s ({ratio:.2f} x baseline), {stored:,} stored, "
        f"{per_event:.1f} B/event")
    if stored != n:
        log(f"WARNING: {n - stored} events were not stored as new")
    case = f"{n:,} events from JSONL"
    return [
        row("ingest", case, round(rate), "events/s", baseline=round(base_rate),
            ratio=round(ratio, 3),
            target=f">= {INGEST_TARGET_EVENTS_S:,} and >= {INGEST_TARGET_RATIO} x baseline",
            met=rate >= INGEST_TARGET_EVENTS_S and ratio >= INGEST_TARGET_RATIO),
        row("ingest baseline", f"{n:,} events, pipelined XADD x{XADD_PIPELINE}",
            round(base_rate), "events/s"),
        row("memory", f"{stored:,} stored events", round(per_event, 1), "B/event",
            baseline=round(base_bytes, 1), ratio=round(per_event / base_bytes, 3),
            target=f"<= {MEMORY_TARGET_BYTES}", met=per_event <= MEMORY_TARGET_BYTES),
    ]


def _xadd_baseline(client: Any, data: Path) -> None:
    """Plain Python: parse each line with json.loads, XADD it to a per-symbol stream."""
    pipe = client.pipeline(transaction=False)
    pending = 0
    with open(data, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            pipe.xadd(f"baseline:{record['symbol']}", record)
            pending += 1
            if pending == XADD_PIPELINE:
                pipe.execute()
                pending = 0
    if pending:
        pipe.execute()


def _flush_and_ingest(server: RedisServer, data: Path) -> tuple[float, int, int]:
    """Ingest ``data`` into the flushed server: (seconds, events stored, used_memory delta)."""
    client = server.client()
    client.flushall()
    before = _used_memory(client)
    seconds, stored = _ingest(server, data, DEFAULT_PREFIX)
    return seconds, stored, _used_memory(client) - before


def _ingest(server: RedisServer, data: Path, prefix: str) -> tuple[float, int]:
    """Ingest ``data`` under ``prefix`` with the real ingest path: (seconds, events stored)."""
    from liqcli.ingest.pipeline import ingest_paths
    from liqcli.store.connection import open_store

    store = open_store(server.url, prefix=prefix)
    started = time.perf_counter()
    # as `liqcli ingest` does: one worker process per CPU for a large plain JSONL file
    summary = ingest_paths(store, [str(data)], fmt="jsonl", workers=os.cpu_count() or 1)
    seconds = time.perf_counter() - started
    if summary.rejected:
        log(f"WARNING: {summary.rejected} events were rejected")
    stored = sum(cell.events for symbol in store.symbols()
                 for cell in store.rollup(symbol).cells.values())
    return seconds, stored


def _used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def _strided_subset(data: Path, total: int, size: int, out: Path) -> Path:
    """Every (total // size)-th line, the first ``size`` of them: the same span, fewer events."""
    stride = max(1, total // size)

    def lines() -> Iterator[str]:
        with open(data, encoding="utf-8") as source:
            for index, line in enumerate(source):
                if index % stride == 0:
                    yield line

    with open(out, "w", encoding="utf-8") as sink:
        for written, line in enumerate(lines()):
            if written == size:
                break
            sink.write(line)
    return out


# -- query latency -------------------------------------------------------------------------------

Latency = dict[str, tuple[float, float]]  # query kind -> (p50 ms, p95 ms)


def _query_latency(server: RedisServer, prefixes: dict[int, str],
                   calls: int) -> dict[int, Latency]:
    """Time each store size's queries, interleaved call by call so that load from elsewhere on
    the machine hits every size alike."""
    from liqcli.store.connection import open_store

    stores = {size: open_store(server.url, prefix=prefix) for size, prefix in prefixes.items()}
    result: dict[int, Latency] = {size: {} for size in stores}
    for kind, query in QUERIES.items():
        timings = _time_interleaved(
            {size: partial(query, store) for size, store in stores.items()}, calls)
        for size, (p50, p95) in timings.items():
            result[size][kind] = (p50, p95)
            log(f"query {kind} at {size:,} events: p50 {p50:.3f} ms, p95 {p95:.3f} ms")
    return result


def _all_time(store: Store) -> object:
    return store.rollup(QUERY_SYMBOL)


def _seven_days(store: Store) -> object:
    return store.rollup(QUERY_SYMBOL, WINDOW_SINCE_MS, WINDOW_UNTIL_MS)


QUERIES: dict[str, Callable[[Store], object]] = {
    "all-time": _all_time, "7-day window": _seven_days}


def _time_interleaved(calls_by_key: dict[int, Callable[[], object]],
                      calls: int) -> dict[int, tuple[float, float]]:
    """(p50 ms, p95 ms) of each callable over ``calls`` rounds, after 3 warm-up rounds."""
    samples: dict[int, list[int]] = {key: [] for key in calls_by_key}
    for round_ in range(calls + 3):
        for key, call in calls_by_key.items():
            started = time.perf_counter_ns()
            call()
            if round_ >= 3:
                samples[key].append(time.perf_counter_ns() - started)
    return {key: _p50_p95(values) for key, values in samples.items()}


def _p50_p95(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered) / 1e6, p95 / 1e6


def _query_rows(latencies: dict[int, Latency], sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not sizes:
        return rows
    smallest = latencies[sizes[0]]
    for kind in ("all-time", "7-day window"):
        ref_p50 = smallest[kind][0]
        flat_limit = max(FLAT_FACTOR * ref_p50, ref_p50 + FLAT_SLACK_MS)
        for size in sizes:
            p50, p95 = latencies[size][kind]
            flat = p50 <= flat_limit
            if kind == "all-time":
                target = f"<= {QUERY_TARGET_MS:g} ms and flat"
                met = p50 <= QUERY_TARGET_MS and flat
            else:
                target, met = "flat", flat
            rows.append(row(f"query {kind}", f"{size:,} events, p50", round(p50, 4), "ms",
                            baseline=round(ref_p50, 4), ratio=round(p50 / ref_p50, 3),
                            target=target, met=met))
            rows.append(row(f"query {kind}", f"{size:,} events, p95", round(p95, 4), "ms"))
    return rows
