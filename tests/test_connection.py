"""Connecting: URL sources, auth refusal, unix sockets, the embedded store, masked passwords."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from conftest import RedisServer

from liqcli.errors import StoreError
from liqcli.model import Event, default_usd
from liqcli.store.connection import mask_url, open_store, resolve_url

ROOT = Path(__file__).resolve().parent.parent


def liqcli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, env=env)


def event(i: int) -> Event:
    p, q = Decimal("100.5"), Decimal(i + 1) / 1000
    return Event("binance", "BTCUSDT", "LONG", p, q, default_usd(p, q), 1_735_689_600_000 + i)


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIQCLI_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    # nothing set: the embedded store in the user's data directory (XDG_DATA_HOME in tests)
    default = Path(os.environ["XDG_DATA_HOME"]) / "liqcli" / "liqcli.rdb"
    assert resolve_url() == f"embedded:{default}"
    monkeypatch.setenv("REDIS_URL", "redis://b:1/0")
    assert resolve_url() == "redis://b:1/0"
    monkeypatch.setenv("LIQCLI_REDIS_URL", "redis://a:1/0")
    assert resolve_url() == "redis://a:1/0"
    assert resolve_url("unix:///x.sock") == "unix:///x.sock"


def test_mask_url() -> None:
    assert mask_url("redis://user:s3cret@host:6379/0") == "redis://user:***@host:6379/0"
    assert mask_url("rediss://:s3cret@host/0") == "rediss://:***@host/0"
    assert mask_url("redis://host:6379/0") == "redis://host:6379/0"


@pytest.fixture()
def auth_server():
    server = RedisServer("--requirepass", "right-horse")
    server.start()
    yield server
    server.cleanup()


def test_refused_auth_is_one_line_exit_3_without_the_password(auth_server: RedisServer) -> None:
    url = f"redis://:wrong-battery@127.0.0.1:{auth_server.port}/0"
    done = liqcli("totals", "-f", "json", "--redis-url", url)
    assert done.returncode == 3
    assert done.stdout == ""
    assert "wrong-battery" not in done.stderr and "***" in done.stderr
    assert "refused authentication" in done.stderr
    assert f"127.0.0.1:{auth_server.port}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(StoreError, match="refused authentication"):
        open_store(f"redis://127.0.0.1:{auth_server.port}/0")  # no password at all


def test_right_password_works(auth_server: RedisServer) -> None:
    url = f"redis://:right-horse@127.0.0.1:{auth_server.port}/0"
    open_store(url).ingest([event(1)])
    done = liqcli("totals", "-f", "json", "--redis-url", url)
    assert done.returncode == 0, done.stderr
    assert '"events": 1' in done.stdout


def test_unix_socket_url(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    server = RedisServer("--unixsocket", str(sock), "--unixsocketperm", "700")
    server.start()
    try:
        store = open_store(f"unix://{sock}")
        store.ingest([event(i) for i in range(3)])
        assert redis.Redis(port=server.port).hlen("liq:{BTCUSDT}:t") > 0
        done = liqcli("totals", "-f", "json", "--redis-url", f"unix://{sock}")
        assert done.returncode == 0 and '"events": 3' in done.stdout
    finally:
        server.cleanup()


def test_embedded_store_persists_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "store" / "liq.rdb"
    data = tmp_path / "events.jsonl"
    data.write_text(
        '{"exchange":"okx","symbol":"ETHUSDT","side":"short","price":"3000.5","qty":"2",'
        '"ts":1735689600000}\n'
    )
    done = liqcli("ingest", str(data), "--redis-url", f"embedded:{path}")
    assert done.returncode == 0, done.stderr
    done = liqcli("totals", "-s", "ETHUSDT", "-f", "json", "--redis-url", f"embedded:{path}")
    assert done.returncode == 0, done.stderr
    assert '"usd": 6001' in done.stdout and '"events": 1' in done.stdout
    # its server is kept running; the data is already in the append-only file beside PATH
    assert (path.parent / "liq.rdb.aof").stat().st_size > 0 or (
        path.parent / "liq.rdb.aof.d").is_dir()
    done = liqcli("store", "stop", "--redis-url", f"embedded:{path}")
    assert done.returncode == 0, done.stderr
    assert path.exists()  # stopping saves a snapshot at PATH itself


def test_help_and_completion_never_touch_redis() -> None:
    env = {"PATH": "/usr/bin:/bin", "LIQCLI_REDIS_URL": "redis://127.0.0.1:1/0"}
    for args in (["--help"], ["summary", "--help"], ["ingest", "--help"], ["watch", "--help"]):
        done = liqcli(*args, env=env)
        assert done.returncode == 0 and "Usage" in done.stdout, done.stderr
    done = subprocess.run([sys.executable, "-m", "liqcli"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60,
                          env={**env, "_LIQCLI_COMPLETE": "complete_bash",
                               "COMP_WORDS": "liqcli su", "COMP_CWORD": "1"})
    assert "summary" in done.stdout and "error" not in done.stderr.lower()


@pytest.mark.parametrize("command", [
    ["watch", "--count", "1", "-f", "json"], ["totals"], ["symbols", "-f", "csv"],
])
def test_a_refused_password_names_the_url_given_not_the_default(
    auth_server: RedisServer, command: list[str]
) -> None:
    """Issue #10.5: `watch` with a refused password named redis://localhost:6379/0."""
    url = f"redis://:wrong-battery@127.0.0.1:{auth_server.port}/0"
    done = liqcli(*command, "--redis-url", url,
                  env={"PATH": "/usr/bin:/bin", "LIQCLI_REDIS_URL": "redis://elsewhere:1/0"})
    assert done.returncode == 3, done.stderr
    assert f"127.0.0.1:{auth_server.port}" in done.stderr, done.stderr
    assert "elsewhere" not in done.stderr and "localhost" not in done.stderr
    assert "wrong-battery" not in done.stderr
