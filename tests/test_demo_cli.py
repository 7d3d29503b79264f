"""``liqcli demo``: the sample goes through the real ingest path into an embedded store.

The demo runs as a real process with a store URL pointing at nothing, to show it needs no
server and no configuration. Expected figures are recomputed with Decimal from the sample.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from liqcli.feeds import sample
from liqcli.store.connection import open_store
from liqcli.store.embedded import running_servers

T = TypeVar("T")
UNREACHABLE = "redis://127.0.0.1:1/0"


def liqcli(*args: str, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_REDIS_URL": UNREACHABLE, "REDIS_URL": UNREACHABLE,
           "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def within_one_hour(action: Callable[[], T]) -> tuple[T, int]:
    """Run ``action`` and return the demo's default end hour it ran in (retry across an hour)."""
    for _ in range(2):
        before = sample.default_end_ms()
        result = action()
        if sample.default_end_ms() == before:
            return result, before
    raise AssertionError("the hour changed during two attempts")


def demo_sample(n: int, seed: int, end_ms: int) -> list[dict[str, Any]]:
    return list(sample.generate(n, seed, end_ms=end_ms, symbols=sample.DEMO_SYMBOLS))


@pytest.fixture()
def tmpdir_for_process(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def test_demo_reports_exact_figures_of_its_sample_and_keeps_the_store(
        tmp_path: Path, tmpdir_for_process: Path) -> None:
    store_path = tmp_path / "kept.rdb"
    done, end_ms = within_one_hour(lambda: liqcli(
        "demo", "--events", "400", "--seed", "9", "--store", str(store_path), "-f", "json",
        tmpdir=tmpdir_for_process))
    assert done.returncode == 0, done.stderr
    assert f"liqcli summary --redis-url embedded:{store_path}" in done.stderr
    assert f"liqcli store stop --redis-url embedded:{store_path}" in done.stderr
    assert [server.path for server in running_servers()] == [store_path]  # kept, on purpose
    report = json.loads(done.stdout, parse_float=Decimal)
    rows = demo_sample(400, 9, end_ms)

    assert report["totals"]["events"] == len(rows) == 400
    assert report["totals"]["usd"] == sum(
        (Decimal(r["price"]) * Decimal(r["qty"]) for r in rows), Decimal(0))
    sides = Counter(r["side"] for r in rows)
    assert {s["side"]: s["events"] for s in report["sides"]} == dict(sides)
    exchanges = Counter(r["exchange"] for r in rows)
    assert {e["exchange"]: e["events"] for e in report["exchanges"]} == dict(exchanges)
    for one in report["per_symbol"]:
        mine = [r for r in rows if r["symbol"] == one["symbol"]]
        assert one["totals"]["qty"] == sum((Decimal(r["qty"]) for r in mine), Decimal(0))
    assert {one["symbol"] for one in report["per_symbol"]} == set(sample.DEMO_SYMBOLS)

    # The kept store holds exactly the sample's events (it went through the ingest path).
    store = open_store(f"embedded:{store_path}")
    try:
        stored = {(e.exchange, e.symbol, e.side, e.price, e.qty, e.ts_ms)
                  for symbol in store.symbols() for e in store.events(symbol)}
    finally:
        store.client.close()
    assert stored == {(r["exchange"], r["symbol"], r["side"], Decimal(r["price"]),
                       Decimal(r["qty"]), r["ts"]) for r in rows}


def test_demo_rerun_on_a_kept_store_counts_each_event_once(
        tmp_path: Path, tmpdir_for_process: Path) -> None:
    store_path = tmp_path / "kept"
    store_path.mkdir()
    args = ("demo", "-n", "150", "--seed", "3", "--store", str(store_path), "-f", "json")
    (first, second), _ = within_one_hour(
        lambda: (liqcli(*args, tmpdir=tmpdir_for_process),
                 liqcli(*args, tmpdir=tmpdir_for_process)))
    assert first.returncode == second.returncode == 0, second.stderr
    assert "150 already stored" in second.stderr
    assert json.loads(second.stdout)["totals"]["events"] == 150


def test_demo_without_store_leaves_nothing_behind(tmpdir_for_process: Path,
                                                  embedded_runtime: Path) -> None:
    done = liqcli("demo", "-n", "200", "-f", "table", tmpdir=tmpdir_for_process)
    assert done.returncode == 0, done.stderr
    assert "BTCUSDT" in done.stdout and "binance" in done.stdout
    assert "temporary store" in done.stderr
    assert list(tmpdir_for_process.iterdir()) == []
    assert running_servers() == []  # its server was stopped
    assert list(embedded_runtime.iterdir()) == []  # no socket, pid file, log or lock left


def test_demo_write_gives_the_sample_as_jsonl(tmp_path: Path,
                                              tmpdir_for_process: Path) -> None:
    target = tmp_path / "sample.jsonl"
    done, end_ms = within_one_hour(lambda: liqcli(
        "demo", "-n", "250", "--seed", "11", "--write", str(target), tmpdir=tmpdir_for_process))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    expected = tmp_path / "expected.jsonl"
    sample.write_jsonl(expected, demo_sample(250, 11, end_ms))
    assert target.read_bytes() == expected.read_bytes()

    to_stdout, end_ms = within_one_hour(lambda: liqcli(
        "demo", "-n", "250", "--seed", "11", "--write", "-", tmpdir=tmpdir_for_process))
    assert to_stdout.returncode == 0
    assert [json.loads(line) for line in to_stdout.stdout.splitlines()] == demo_sample(
        250, 11, end_ms)


def test_demo_too_many_events_is_a_one_line_usage_error(tmpdir_for_process: Path) -> None:
    done = liqcli("demo", "-n", "100000000", tmpdir=tmpdir_for_process)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("liqcli: error: --events: ") and "do not fit" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_demo_unknown_format_is_a_usage_error(tmpdir_for_process: Path) -> None:
    done = liqcli("demo", "-f", "nope", tmpdir=tmpdir_for_process)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "'nope' is not one of" in done.stderr
    assert list(tmpdir_for_process.iterdir()) == []  # failed before starting anything
