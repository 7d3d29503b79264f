"""The benchmark code path, run with tiny sizes so it cannot rot (timings are not asserted)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("bench_store"), importlib.import_module("run")


def test_store_benchmarks_run_end_to_end_with_tiny_sizes(
        bench: tuple[ModuleType, ModuleType], tmp_path: Path) -> None:
    bench_store, runner = bench
    sizes = bench_store.Sizes(ingest=600, query=(60, 600), calls=3)
    rows = bench_store.run(quick=True, sizes=sizes)

    by_name = {(r["benchmark"], r["case"]): r for r in rows}
    assert set(by_name) >= {
        ("ingest", "600 events from JSONL"),
        ("ingest baseline", "600 events, pipelined XADD x1000"),
        ("memory", "600 stored events"),  # every sample event was stored exactly once
        ("query all-time", "60 events, p50"), ("query all-time", "600 events, p95"),
        ("query 7-day window", "60 events, p50"), ("query 7-day window", "600 events, p95"),
    }
    for r in rows:
        assert [runner.check_row(r, "bench_store")[k] for k in runner.ROW_KEYS] == [
            r[k] for k in runner.ROW_KEYS]
        assert r["value"] > 0
        assert r["met"] in (True, False, None)
    ingest = by_name[("ingest", "600 events from JSONL")]
    assert ingest["ratio"] == pytest.approx(ingest["value"] / ingest["baseline"], rel=0.01)

    table = runner.render_table(rows)
    assert "query 7-day window" in table and "events/s" in table
    out = tmp_path / "results" / "latest.json"
    runner.write_json(rows, out, quick=True, seconds=1.0)
    document = json.loads(out.read_text())
    assert document["rows"] == rows and document["quick"] is True


def test_rows_missing_a_key_are_refused(bench: tuple[ModuleType, ModuleType]) -> None:
    _, runner = bench
    with pytest.raises(ValueError, match="lacks"):
        runner.check_row({"benchmark": "x", "case": "y"}, "bench_x")


def test_runner_help_works_without_running_anything() -> None:
    done = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout


def test_timedim_benchmarks_run_end_to_end_with_tiny_sizes(
        bench: tuple[ModuleType, ModuleType]) -> None:
    _, runner = bench
    bench_timedim = importlib.import_module("bench_timedim")
    rows = bench_timedim.run(quick=True, sizes=(60, 600), calls=2)
    kinds = {r["benchmark"] for r in rows}
    assert kinds == {"history", "top", "top, log scan", "windows", "levels", "top vs log scan"}
    for r in rows:
        assert [runner.check_row(r, "bench_timedim")[k] for k in runner.ROW_KEYS] == [
            r[k] for k in runner.ROW_KEYS]
        assert r["value"] > 0


def test_embedded_benchmark_runs_end_to_end_quickly(
        bench: tuple[ModuleType, ModuleType]) -> None:
    _bench_store, runner = bench
    rows = importlib.import_module("bench_embedded").run(quick=True)
    assert [r["benchmark"] for r in rows] == [
        "embedded one-shot", "embedded baseline", "embedded first command", "embedded before",
        "embedded ingest"]
    for r in rows:
        runner.check_row(r, "bench_embedded")
        assert r["value"] > 0


def test_prune_benchmark_runs_with_a_tiny_workload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    runner = importlib.import_module("run")
    rows = importlib.import_module("bench_prune").run(quick=True, events=3_000)
    assert [r["case"].split(", ", 1)[1] for r in rows] == [
        "whole log", "log of the last 7 days kept", "every log pruned (rollups only)"]
    for r in rows:
        runner.check_row(r, "bench_prune")
    # tiny and noisy: 3,000 events over 300 symbols are all sparse days, whose day log prune
    # keeps (as pl:<day>, for top and levels; schema 3): it frees their fingerprints only,
    # which the allocator's and the new :pruned markers' few bytes can outweigh
    assert max(rows[1]["value"], rows[2]["value"]) < 1.25 * rows[0]["value"]


def test_market_benchmark_runs_end_to_end_with_a_tiny_workload(
        bench: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    _, runner = bench
    bench_market = importlib.import_module("bench_market")
    rows = bench_market.run(quick=True, sizes=(400,), calls=1, duckdb=False)
    names = {r["benchmark"] for r in rows}
    assert {"market ingest", "market memory", "market query all symbols, all time",
            "market query BTCUSDT busy edges"} <= names
    for r in rows:
        assert [runner.check_row(r, "bench_market")[k] for k in runner.ROW_KEYS] == [
            r[k] for k in runner.ROW_KEYS]
        assert r["value"] > 0


def test_market_workload_is_deterministic_and_exact_in_count() -> None:
    import sys

    sys.path.insert(0, str(BENCHMARKS))
    workload = importlib.import_module("workload")
    first = list(workload.generate(2_000, seed=5))
    assert first == list(workload.generate(2_000, seed=5)) and len(first) == 2_000
    assert [e["ts"] for e in first] == sorted(e["ts"] for e in first)
    assert len({(e["exchange"], e["id"]) for e in first}) == 2_000  # every event has an id
    symbols = {e["symbol"] for e in first}
    assert len(symbols) > 100 and {"BTCUSDT", "ETHUSDT", "SOLUSDT"} <= symbols
    majors = sum(e["symbol"] in ("BTCUSDT", "ETHUSDT", "SOLUSDT") for e in first)
    assert 0.5 < majors / 2_000 < 0.7


def test_oneshot_benchmark_runs_end_to_end_with_tiny_sizes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench_oneshot = importlib.import_module("bench_oneshot")
    runner = importlib.import_module("run")
    rows = bench_oneshot.run(quick=True, n=300, rounds=1)
    names = {r["benchmark"] for r in rows}
    assert {"one-shot floor", "one-shot vs floor", "one-shot full path"} <= names
    if bench_oneshot.duckdb_binary() is not None:
        assert "one-shot vs DuckDB CLI" in names
    for r in rows:
        runner.check_row(r, "bench_oneshot")
        assert r["value"] > 0
