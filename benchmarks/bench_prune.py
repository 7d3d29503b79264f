"""Retention: memory per stored event before and after ``liqcli prune``.

The realistic all-market workload (``workload.py``: 300 symbols, 5 exchanges, 30 days ending
2026-01-01T00:00Z) is ingested into a private redis-server; ``used_memory`` minus the empty
server's, per stored event, is measured after the ingest, after pruning the log of all but the
last 7 days (``prune --keep-log`` at 2025-12-25T00:00Z), and after pruning every log (rollups
only: what an event costs once its log is gone). Each prune is checked: the all-time figures
stay what they were, and ``verify`` finds every rollup consistent.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from workload import DAY_MS, END_MS, write_jsonl

from liqcli.store.local import RedisServer

FULL_EVENTS = 300_000
QUICK_EVENTS = 20_000
KEEP_DAYS = 7


def log(message: str) -> None:
    print(f"[bench_prune] {message}", file=sys.stderr, flush=True)


def row(case: str, value: float, *, baseline: float | None = None) -> dict[str, Any]:
    return {"benchmark": "memory after prune", "case": case, "value": round(value, 1),
            "unit": "B/event", "baseline": baseline,
            "ratio": round(value / baseline, 3) if baseline else None, "target": None,
            "met": None}


def run(quick: bool, events: int | None = None) -> list[dict[str, Any]]:
    from liqcli.ingest.pipeline import ingest_paths
    from liqcli.store.connection import open_store
    from liqcli.store.maintenance import prune_symbol, verify_symbol

    n = events or (QUICK_EVENTS if quick else FULL_EVENTS)
    with tempfile.TemporaryDirectory(prefix="liqcli-bench-") as tmp, RedisServer() as server:
        data = Path(tmp) / "events.jsonl"
        write_jsonl(data, n)
        client = server.client()
        empty = int(client.info("memory")["used_memory"])
        store = open_store(server.url)
        summary = ingest_paths(store, [str(data)], fmt="jsonl")
        stored = summary.new

        def per_event() -> float:
            return (int(client.info("memory")["used_memory"]) - empty) / stored

        def figures() -> dict[str, Any]:
            return {s: store.rollup(s).cells for s in store.symbols()}

        before = figures()
        full = per_event()
        log(f"{stored:,} events stored: {full:.1f} B/event")
        rows = [row(f"{stored:,} events, whole log", full)]
        for label, keep_from in ((f"log of the last {KEEP_DAYS} days kept",
                                  END_MS - KEEP_DAYS * DAY_MS),
                                 ("every log pruned (rollups only)", END_MS + DAY_MS)):
            for symbol in store.symbols():
                prune_symbol(store, symbol, keep_from, apply=True)
            if figures() != before or any(
                    verify_symbol(store, s).differences for s in store.symbols()):
                raise AssertionError(f"prune changed a figure or a rollup ({label})")
            value = per_event()
            log(f"{label}: {value:.1f} B/event")
            rows.append(row(f"{stored:,} events, {label}", value, baseline=full))
    return rows
