#!/usr/bin/env python3
"""One-shot reports as whole processes: liqcli (fast path, and the full Typer/redis-py path it
replaces) against the DuckDB CLI over a Parquet file of the same events, and the floor.

    python benchmarks/bench_oneshot.py [--quick]

Same events in both: a 30-day sample (liqcli.feeds.sample, BTCUSDT and ETHUSDT, binance,
bybit, okx) stored in a private redis-server with the real ingest path, and converted to
Parquet by the DuckDB CLI itself (price, qty and usd as exact DECIMALs, ts as epoch ms).
Every process of a round runs once per round, rounds interleave them, medians are reported.
The processes run as an installed package does: ``liqcli`` is compiled (compileall) before the
timing and PYTHONDONTWRITEBYTECODE is dropped from their environment, so no process recompiles.

- floor: ``python -c`` opening a socket and sending one raw ``HGETALL`` of the symbol's rollup
- liqcli: ``liqcli totals|summary -s SYM -f json|csv`` (the fast path)
- liqcli full path: the same with ``LIQCLI_NO_FAST=1`` (Typer + redis-py, as before the fast
  path; it also pays the cluster detection's round trip)
- duckdb: the ``duckdb`` executable (PyPI ``duckdb-cli``: ``pip install -e '.[bench]'``) with
  the same aggregate in SQL; without it the DuckDB rows are left out
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liqcli.store.local import RedisServer  # noqa: E402

END_MS = 1_767_225_600_000  # 2026-01-01T00:00Z, as bench_store
SEED = 2026
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
FULL, QUICK = 1_000_000, 20_000
# question -> (since, until) in epoch ms (None: open)
WINDOWS: dict[str, tuple[int | None, int | None]] = {
    "all time": (None, None),
    "last 24 h": (END_MS - DAY_MS, END_MS),
    "last 7 d": (END_MS - 7 * DAY_MS, END_MS),
    "window with ms edges": (END_MS - 3 * DAY_MS - 1_234_567, END_MS - DAY_MS + 765),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def duckdb_binary() -> str | None:
    """The DuckDB CLI: beside this Python (pip install duckdb-cli), else on PATH."""
    return shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")


def prepare(tmp: Path, n: int, server: RedisServer, duckdb: str | None) -> Path:
    from liqcli.feeds.sample import generate, write_jsonl
    from liqcli.ingest.pipeline import ingest_paths
    from liqcli.store.connection import open_store

    data = tmp / "events.jsonl"
    write_jsonl(data, generate(n, SEED, end_ms=END_MS, span_hours=720,
                               symbols=("BTCUSDT", "ETHUSDT")))
    started = time.perf_counter()
    summary = ingest_paths(open_store(server.url), [str(data)], fmt="jsonl",
                           workers=os.cpu_count() or 1)
    log(f"stored {summary.new:,} events in {time.perf_counter() - started:.1f} s")
    parquet = tmp / "events.parquet"
    if duckdb is not None:
        subprocess.run([duckdb, "-c", f"""
            COPY (SELECT exchange, symbol, upper(side) AS side,
                         CAST(price AS DECIMAL(38,8)) AS price,
                         CAST(qty AS DECIMAL(38,10)) AS qty,
                         CAST(price AS DECIMAL(38,8)) * CAST(qty AS DECIMAL(38,10)) AS usd,
                         CAST(ts AS BIGINT) AS ts
                  FROM read_json('{data}', format = 'newline_delimited'))
            TO '{parquet}' (FORMAT parquet)"""], check=True, capture_output=True, text=True)
    return parquet


def questions(parquet: Path, url: str) -> list[tuple[str, list[str], str]]:
    """(question, liqcli arguments, DuckDB SQL) — the same aggregate for both."""
    out = []
    for name, (since, until) in WINDOWS.items():
        flags, where = [], []
        if since is not None:
            flags += ["--since", str(since)]
            where.append(f"ts >= {since}")
        if until is not None:
            flags += ["--until", str(until)]
            where.append(f"ts < {until}")
        cond = " AND ".join(["symbol = 'BTCUSDT'", *where])
        out.append((f"totals, {name}", ["totals", "-s", "BTCUSDT", *flags, "-f", "json"],
                    "SELECT count(*) AS events, sum(usd) AS usd, sum(qty) AS qty, min(ts) AS "
                    f"first, max(ts) AS last FROM '{parquet}' WHERE {cond}"))
    out.append(("totals, all symbols, all time", ["totals", "--all-symbols", "-f", "json"],
                "SELECT count(*) AS events, sum(usd) AS usd, min(ts) AS first, max(ts) AS last "
                f"FROM '{parquet}'"))
    out.append(("summary (exchange x side), 7 d", ["summary", "-s", "BTCUSDT", "--since",
                str(END_MS - 7 * DAY_MS), "--until", str(END_MS), "-f", "csv"],
                "SELECT exchange, side, count(*) AS events, sum(usd) AS usd, sum(qty) AS qty "
                f"FROM '{parquet}' WHERE symbol = 'BTCUSDT' AND ts >= {END_MS - 7 * DAY_MS} "
                f"AND ts < {END_MS} GROUP BY ALL ORDER BY ALL"))
    return out


def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(quick: bool, n: int | None = None, rounds: int | None = None) -> list[dict[str, Any]]:
    """Rows for benchmarks/run.py (``n`` events and ``rounds`` override the sizes: tests)."""
    n = n or (QUICK if quick else FULL)
    rounds = rounds or (3 if quick else 15)
    duckdb = duckdb_binary()
    if duckdb is None:
        log("no duckdb executable (pip install duckdb-cli): DuckDB rows left out")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="liqcli-oneshot-") as tmp, RedisServer() as server:
        parquet = prepare(Path(tmp), n, server, duckdb)
        from liqcli.store.store import Store

        key = Store(None).key("BTCUSDT", "t").encode()
        request = b"*2\r\n$7\r\nHGETALL\r\n$%d\r\n%s\r\n" % (len(key), key)
        floor_code = (
            f"import socket; s = socket.create_connection(('127.0.0.1', {server.port})); "
            f"s.sendall({request!r}); s.recv(1 << 20)"
        )
        script = shutil.which("liqcli", path=str(Path(sys.executable).parent))
        entry = [script] if script else [sys.executable, "-m", "liqcli"]
        env = {**os.environ, "LIQCLI_REDIS_URL": server.url, "PYTHONPATH": str(ROOT)}
        env.pop("LIQCLI_NO_FAST", None)
        # as an installed package runs: from compiled bytecode, not recompiling every module
        # in every process (PYTHONDONTWRITEBYTECODE would make each child recompile liqcli)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "liqcli")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        slow_env = {**env, "LIQCLI_NO_FAST": "1"}
        procs: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "floor": ([sys.executable, "-c", floor_code], env),
        }
        asked = questions(parquet, server.url)
        for name, args, sql in asked:
            procs[f"liqcli {name}"] = ([*entry, *args], env)
            procs[f"full {name}"] = ([*entry, *args], slow_env)
            if duckdb is not None:
                procs[f"duckdb {name}"] = ([duckdb, "-json", "-c", sql], env)
        times: dict[str, list[float]] = {label: [] for label in procs}
        for cmd, cmd_env in procs.values():  # warm the OS caches
            wall(cmd, cmd_env)
        for _ in range(rounds):
            for label, (cmd, cmd_env) in procs.items():
                times[label].append(wall(cmd, cmd_env))
        ms = {label: statistics.median(v) * 1000 for label, v in times.items()}
    floor = ms["floor"]
    size = f"{n:,} events"
    rows.append(_row("one-shot floor", f"python -c: socket + raw HGETALL, {size}", floor,
                     ms["python -c pass"], None, None))
    for name, _args, _sql in asked:
        ours, full = ms[f"liqcli {name}"], ms[f"full {name}"]
        if duckdb is not None:
            theirs = ms[f"duckdb {name}"]
            rows.append(_row("one-shot vs DuckDB CLI", f"{name}, {size}", ours, theirs,
                             "< 1 x duckdb", ours / theirs < 1))
        rows.append(_row("one-shot vs floor", f"{name}, {size}", ours, floor, "<= 1.3 x floor",
                         ours / floor <= 1.3))
        rows.append(_row("one-shot full path", f"{name}, {size} (LIQCLI_NO_FAST=1)", full, ours,
                         None, None))
    return rows


def _row(benchmark: str, case: str, value: float, baseline: float | None, target: str | None,
         met: bool | None) -> dict[str, Any]:
    return {"benchmark": benchmark, "case": case, "value": round(value, 1), "unit": "ms",
            "baseline": None if baseline is None else round(baseline, 1),
            "ratio": None if baseline is None else round(value / baseline, 3),
            "target": target, "met": met}


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
