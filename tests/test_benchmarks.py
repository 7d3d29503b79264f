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
