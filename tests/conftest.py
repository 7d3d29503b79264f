"""Test session fixtures: one real redis-server on a free port, flushed between tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from liqcli.store.local import LocalCluster, RedisServer

__all__ = ["SHARED_DATA", "LocalCluster", "RedisServer"]

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """A real Redis Cluster (3 masters, 3 replicas) for the whole session."""
    cluster = LocalCluster(masters=3, replicas=1)
    cluster.start()
    yield cluster
    cluster.cleanup()


@pytest.fixture()
def cluster_url(redis_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """The plain URL of one node of the session's cluster, all masters flushed first."""
    redis_cluster.wait_ok()
    redis_cluster.flush()
    for var in ("LIQCLI_REDIS_URL", "REDIS_URL", "LIQCLI_PREFIX", "LIQCLI_SYMBOL", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return redis_cluster.running()[0].url


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


@pytest.fixture(autouse=True)
def embedded_runtime(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime directory of the test's own for embedded stores; their servers stop after it.

    Exported as LIQCLI_RUNTIME_DIR (liqcli processes the test starts inherit it), so no test
    joins or leaves behind a server of another test or of the user; XDG_DATA_HOME points at a
    fresh directory too, so the zero-configuration store is never the user's real one.
    """
    path = tmp_path_factory.mktemp("run", numbered=True)
    monkeypatch.setenv("LIQCLI_RUNTIME_DIR", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data", numbered=True)))
    monkeypatch.delenv("LIQCLI_EMBEDDED_IDLE", raising=False)
    yield path
    from liqcli.store.embedded import running_servers

    for server in running_servers():
        server.stop(save=False)


def cluster_node(tmp_path: Path) -> RedisServer:
    """A started cluster-enabled redis-server owning every slot (it refuses CROSSSLOT
    commands like a real Cluster); the caller cleans it up."""
    import time

    server = RedisServer(
        "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf")
    )
    server.start()
    client = redis.Redis(port=server.port)
    client.execute_command("CLUSTER", "ADDSLOTS", *range(16384))
    deadline = time.monotonic() + 10
    while client.cluster("info")["cluster_state"] != "ok" and time.monotonic() < deadline:
        time.sleep(0.05)
    client.close()
    return server


@pytest.fixture()
def shared_data() -> Path:
    """../shared/data when present (recorded real samples); skips the test otherwise."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


os.environ.setdefault("COLUMNS", "120")
# The built-in completeness table only, whatever the user's ~/.config/liqcli/feeds.toml says.
os.environ["LIQCLI_FEEDS"] = str(Path(__file__).resolve().parent / "no-feeds.toml")
