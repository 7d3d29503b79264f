"""Fault suite: real kill -9 of ingest (serial and parallel) at random points, concurrent
ingesters, a redis-server killed and restarted under ``watch``. After each fault the ingest is
re-run, every figure is checked against a Decimal recomputation from the raw input, and
``liqcli verify`` must find every rollup equal to the log.

CI runs a bounded sample (a few kill points, ~30 s). The long variants (many kill points, more
ingesters) run with ``LIQCLI_LONG_TESTS=1`` (or ``pytest -m long`` with it set); the number of
kill points is ``LIQCLI_FAULT_ROUNDS`` (default 2, long: 10); the seed ``LIQCLI_FAULT_SEED``
(default: random, printed on failure).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from liqcli.store.local import RedisServer
from liqcli.store.store import Store

LONG = os.environ.get("LIQCLI_LONG_TESTS") == "1"
ROUNDS = int(os.environ.get("LIQCLI_FAULT_ROUNDS", "10" if LONG else "2"))
SEED = int(os.environ.get("LIQCLI_FAULT_SEED", str(random.randrange(1 << 30))))
long_only = pytest.mark.skipif(not LONG, reason="long fault variant: set LIQCLI_LONG_TESTS=1")
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
EXCHANGES = ("binance", "bybit", "okx")


# --------------------------------------------------------------------------- helpers
def write_events(path: Path, n: int, seed: int, *, span_ms: int = 6 * 3_600_000,
                 pad: int = 0, symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")) -> None:
    """``n`` JSONL events (a third with ids, some replays); ``pad`` spaces per line make a
    big file of few events (the parallel path starts at 16 MiB)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        if lines and rng.random() < 0.02:
            lines.append(lines[rng.randrange(len(lines))])  # a replay inside the input
            continue
        event: dict[str, Any] = {
            "exchange": rng.choice(EXCHANGES), "symbol": rng.choice(symbols),
            "side": rng.choice(("LONG", "SHORT")),
            "price": f"{rng.randint(1, 99_999)}.{rng.randint(0, 99):02d}",
            "qty": f"{rng.randint(0, 9)}.{rng.randint(1, 999_999):06d}",
            "ts": T0 + rng.randint(0, span_ms),
        }
        if i % 3 == 0:
            event["id"] = f"{seed}-{i}"
        if i % 11 == 0:
            event["usd"] = f"{rng.randint(1, 10**6)}.{rng.randint(0, 10**9)}"
        lines.append(json.dumps(event) + " " * pad)
    path.write_text("\n".join(lines) + "\n")


def expected(*paths: Path) -> dict[str, dict[tuple[str, str], tuple[int, Decimal, Decimal]]]:
    """Figures recomputed with Decimal from the raw lines, each identity counted once."""
    seen: set[tuple[str, ...]] = set()
    out: dict[str, dict[tuple[str, str], tuple[int, Decimal, Decimal]]] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            e = json.loads(line)
            price, qty = Decimal(e["price"]), Decimal(e["qty"])
            usd = Decimal(e["usd"]) if "usd" in e else price * qty
            identity = ((e["exchange"], e["symbol"], e["id"]) if "id" in e else
                        (e["exchange"], e["symbol"], e["side"], str(price.normalize()),
                         str(qty.normalize()), str(usd.normalize()), str(e["ts"])))
            if identity in seen:
                continue
            seen.add(identity)
            cells = out.setdefault(e["symbol"], {})
            n, q, u = cells.get((e["exchange"], e["side"]), (0, Decimal(0), Decimal(0)))
            cells[(e["exchange"], e["side"])] = (n + 1, q + qty, u + usd)
    return out


def stored(url: str) -> dict[str, dict[tuple[str, str], tuple[int, Decimal, Decimal]]]:
    client = redis.Redis.from_url(url)
    try:
        store = Store(client)
        return {s: {k: (c.events, c.qty, c.usd) for k, c in store.rollup(s).cells.items()}
                for s in store.symbols()}
    finally:
        client.close()


def liqcli(*args: str, url: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LIQCLI_REDIS_URL": url}
    return subprocess.Popen([sys.executable, "-m", "liqcli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def run(*args: str, url: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_REDIS_URL": url}
    return subprocess.run([sys.executable, "-m", "liqcli", *args], env=env, text=True,
                          capture_output=True, timeout=timeout)


def assert_verified(url: str) -> None:
    done = run("verify", "--json", url=url)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    document = json.loads(done.stdout)
    assert document["ok"] and all(not s["differences"] for s in document["symbols"])


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_at_random_point(args: list[str], url: str, rng: random.Random, upto: float) -> str:
    """Start ``liqcli args``, kill -9 it after a random delay; what it printed so far."""
    proc = liqcli(*args, url=url)
    time.sleep(rng.uniform(0.05, upto))
    proc.kill()
    _out, err = proc.communicate(timeout=60)
    return err.decode(errors="replace")


# ---------------------------------------------------------------- parallel ingest
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Over 16 MiB (the parallel path), yet only 24,000 events: quick to store."""
    path = tmp_path_factory.mktemp("faults") / "big.jsonl"
    write_events(path, 24_000, seed=11, pad=700)
    assert path.stat().st_size > 16 << 20
    return path


@needs_proc
def test_kill9_of_parallel_ingest_leaves_no_worker_and_a_rerun_is_exact(
    redis_url: str, big_file: Path
) -> None:
    rng = random.Random(SEED)
    for attempt in range(ROUNDS):
        proc = liqcli("ingest", "--workers", "2", str(big_file), url=redis_url)
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:  # the pool is up
            workers = [c for c in children(proc.pid) if "spawn_main" in
                       Path(f"/proc/{c}/cmdline").read_text(errors="replace")]
            time.sleep(0.02)
        assert len(workers) >= 2, f"seed {SEED}: no worker processes seen"
        helpers = children(proc.pid)  # the workers and multiprocessing's resource tracker
        time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in helpers):
            time.sleep(0.05)
        left = [p for p in helpers if alive(p)]
        for pid in left:  # a failing run must not leave them behind either
            os.kill(pid, signal.SIGKILL)
        assert not left, f"seed {SEED}, round {attempt}: orphans {left} outlived the ingest"
        proc.communicate(timeout=10)  # stderr closes: no orphan holds the pipe
    done = run("ingest", "--workers", "2", str(big_file), url=redis_url)
    assert done.returncode == 0, done.stderr
    assert stored(redis_url) == expected(big_file), f"seed {SEED}"
    assert_verified(redis_url)


@needs_proc
def test_ctrl_c_of_parallel_ingest_prints_one_line(redis_url: str, big_file: Path) -> None:
    proc = liqcli("ingest", "--workers", "2", str(big_file), url=redis_url,
                  start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(children(proc.pid)) < 3:
        time.sleep(0.02)
    helpers = children(proc.pid)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _out, err = proc.communicate(timeout=60)
    lines = err.decode().splitlines()
    assert proc.returncode == 130
    assert len(lines) == 1 and lines[0].startswith("liqcli: error: interrupted"), lines
    time.sleep(0.5)
    assert not [p for p in helpers if alive(p)]
    done = run("ingest", "--workers", "2", str(big_file), url=redis_url)
    assert done.returncode == 0, done.stderr
    assert stored(redis_url) == expected(big_file)
    assert_verified(redis_url)


# ------------------------------------------------------------------ serial ingest
def test_kill9_of_serial_ingest_at_random_points_then_rerun_is_exact(
    redis_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "events.jsonl"
    write_events(data, 6_000, seed=SEED % 1000)
    rng = random.Random(SEED)
    want = expected(data)
    for _ in range(ROUNDS):
        err = kill_at_random_point(["ingest", "--workers", "1", "--batch-size", "200",
                                    str(data)], redis_url, rng, upto=2.0)
        assert "Traceback" not in err
        figures = stored(redis_url)  # whatever was stored is a prefix, and consistent
        assert_verified(redis_url)
        for symbol, cells in figures.items():
            for cell, (n, _q, _u) in cells.items():
                assert n <= want[symbol][cell][0]
    done = run("ingest", str(data), url=redis_url)
    assert done.returncode == 0, done.stderr
    assert stored(redis_url) == want, f"seed {SEED}"
    assert_verified(redis_url)


def test_kill9_of_ingest_from_a_pipe_then_rerun_is_exact(redis_url: str, tmp_path: Path) -> None:
    """stdin, small batches flushed by time: a kill while a slow producer writes."""
    data = tmp_path / "events.jsonl"
    write_events(data, 2_000, seed=5)
    lines = data.read_text().splitlines(keepends=True)
    proc = liqcli("ingest", "-", url=redis_url, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for line in lines[:1200]:
        proc.stdin.write(line.encode())
    proc.stdin.flush()
    time.sleep(1.5)  # a partial batch is flushed after a second
    proc.kill()
    proc.communicate(timeout=30)
    assert_verified(redis_url)
    done = run("ingest", str(data), url=redis_url)
    assert done.returncode == 0, done.stderr
    assert stored(redis_url) == expected(data)
    assert_verified(redis_url)


# ------------------------------------------------------------ concurrent ingesters
@pytest.mark.parametrize("ingesters", [3, pytest.param(6, marks=long_only)])
def test_concurrent_ingesters_of_overlapping_inputs_are_exact(
    redis_url: str, tmp_path: Path, ingesters: int
) -> None:
    paths = []
    for i in range(ingesters):
        path = tmp_path / f"part{i}.jsonl"
        write_events(path, 3_000, seed=100 + i)
        paths.append(path)
    # every ingester also gets its neighbour's file: the same events arrive concurrently
    procs = [liqcli("ingest", "--batch-size", "100", str(paths[i]),
                    str(paths[(i + 1) % ingesters]), url=redis_url) for i in range(ingesters)]
    for proc in procs:
        _out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    assert stored(redis_url) == expected(*paths)
    assert_verified(redis_url)


# -------------------------------------------------------- redis-server restart under watch
def test_server_killed_and_restarted_under_watch(tmp_path: Path) -> None:
    """kill -9 of a redis-server with an fsync-always AOF while watch runs and an ingest
    writes; watch reconnects; the re-run ingest completes; figures exact; verify agrees."""
    data = tmp_path / "events.jsonl"
    write_events(data, 8_000, seed=21)
    with RedisServer("--appendonly", "yes", "--appendfsync", "always") as server:
        url = server.url
        first = run("ingest", "--batch-size", "50", str(data), url=url)
        assert first.returncode == 0, first.stderr
        watch = liqcli("watch", "-s", "BTCUSDT", "-f", "ndjson", "-n", "0.2", url=url)
        ingest = liqcli("ingest", "--batch-size", "50", str(data), url=url)
        try:
            time.sleep(1.0)
            assert server.proc is not None
            server.proc.kill()  # kill -9: no shutdown save; the AOF has every write
            server.proc.wait()
            server.proc = None
            ingest.communicate(timeout=60)
            time.sleep(0.5)
            server.start()  # same port, same directory: loads the AOF
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if stored(url).get("BTCUSDT") == expected(data)["BTCUSDT"]:
                    break
                time.sleep(0.2)
            done = run("ingest", str(data), url=url)
            assert done.returncode == 0, done.stderr
            assert stored(url) == expected(data)
            assert_verified(url)
            time.sleep(1.0)  # watch's next refreshes, after the reconnection
        finally:
            watch.send_signal(signal.SIGINT)
            out, err = watch.communicate(timeout=30)
        assert watch.returncode == 0, err
        assert b"Traceback" not in err
        docs = [json.loads(line, parse_float=Decimal) for line in out.decode().splitlines()]
        n, _q, u = (sum(x) for x in zip(*expected(data)["BTCUSDT"].values(), strict=True))
        assert docs[-1]["totals"]["events"] == n and Decimal(str(docs[-1]["totals"]["usd"])) == u
