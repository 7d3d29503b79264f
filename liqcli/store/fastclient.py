"""A lean read-only Redis client for one-shot reports: hiredis's protocol reader over a socket.

redis-py costs more to import than a whole report takes to compute, so a one-shot report on a
plain ``redis://`` or ``unix://`` store reads through :class:`FastClient` instead: the few read
commands :class:`~liqcli.store.store.Store` and the coverage records use, with redis-py's
method names and reply shapes, parsed by ``hiredis.Reader`` (the C parser redis-py itself uses
when installed). Anything else — TLS, Cluster, the embedded store, URL parameters, any error —
is left to redis-py: :func:`fast_client` returns None or the caller falls back. The embedded
store is read here too when its server already runs (:func:`unix_client` on its socket).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import hiredis

# The C socket type that socket.socket wraps: socket.py's enums, selectors and helpers cost a
# one-shot report ~2 ms to import, and this client uses none of them.
try:
    import _socket as net
except ImportError:  # pragma: no cover - every CPython has it
    import socket as net  # type: ignore[no-redef]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CONNECT_TIMEOUT = 5.0
TIMEOUT = 30.0


class ResponseError(Exception):
    """An error reply (the class names match redis-py's, which the store's fallbacks test)."""


class NoPermissionError(ResponseError):
    pass


_ERRORS = {"NOPERM": NoPermissionError}


def _error(reply: Exception) -> ResponseError:
    text = str(reply)
    code = text.split(" ", 1)[0]
    return _ERRORS.get(code, ResponseError)(text)


class FastClient:
    """A connected socket, requests written with ``hiredis.pack_command``, replies read with
    ``hiredis.Reader``; only the read commands liqcli's reports need."""

    def __init__(self, sock: net.socket, setup: list[tuple[Any, ...]]) -> None:
        self._sock = sock
        self._reader = hiredis.Reader()
        self._setup = setup  # AUTH / SELECT, sent with the first request

    def _send(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        setup, self._setup = self._setup, []
        self._sock.sendall(b"".join(hiredis.pack_command(c) for c in [*setup, *commands]))
        replies: list[Any] = []
        reader = self._reader
        want = len(setup) + len(commands)
        while len(replies) < want:
            reply = reader.gets()
            if reply is False:
                data = self._sock.recv(1 << 18)
                if not data:
                    raise ConnectionError("the server closed the connection")
                reader.feed(data)
                continue
            replies.append(reply)
        for reply in replies[: len(setup)]:
            if isinstance(reply, hiredis.ReplyError):
                raise _error(reply)
        return replies[len(setup) :]

    def execute_command(self, *args: Any) -> Any:
        reply = self._send([args])[0]
        if isinstance(reply, hiredis.ReplyError):
            raise _error(reply)
        return reply

    # redis-py's names and reply shapes
    def get(self, key: str) -> bytes | None:
        reply: bytes | None = self.execute_command("GET", key)
        return reply

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        return _pairs(self.execute_command("HGETALL", key))

    def smembers(self, key: str) -> set[bytes]:
        return set(self.execute_command("SMEMBERS", key))

    def zrangebyscore(self, key: str, lo: Any, hi: Any) -> list[bytes]:
        reply: list[bytes] = self.execute_command("ZRANGEBYSCORE", key, lo, hi)
        return reply

    def eval_ro(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        return self.execute_command("EVAL_RO", script, numkeys, *keys_and_args)

    def pipeline(self, transaction: bool = False) -> FastPipeline:
        return FastPipeline(self)

    def close(self) -> None:
        self._sock.close()


class FastPipeline:
    """Commands queued and sent in one write; ``execute`` raises the first error reply."""

    def __init__(self, client: FastClient) -> None:
        self._client = client
        self._commands: list[tuple[Any, ...]] = []
        self._shapes: list[Any] = []

    def hgetall(self, key: str) -> FastPipeline:
        self._commands.append(("HGETALL", key))
        self._shapes.append(_pairs)
        return self

    def get(self, key: str) -> FastPipeline:
        return self.execute_command("GET", key)

    def zrangebyscore(self, key: str, lo: Any, hi: Any) -> FastPipeline:
        return self.execute_command("ZRANGEBYSCORE", key, lo, hi)

    def execute_command(self, *args: Any) -> FastPipeline:
        self._commands.append(args)
        self._shapes.append(_same)
        return self

    def execute(self) -> list[Any]:
        if not self._commands:
            return []
        replies = self._client._send(self._commands)
        out = []
        for reply, shape in zip(replies, self._shapes, strict=True):
            if isinstance(reply, hiredis.ReplyError):
                raise _error(reply)
            out.append(shape(reply))
        self._commands, self._shapes = [], []
        return out


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    it = iter(flat)
    return dict(zip(it, it, strict=True))


def _same(reply: Any) -> Any:
    return reply


def fast_client(url: str) -> FastClient | None:
    """A connected FastClient for a plain ``redis://host:port/db`` (user and password
    allowed) or ``unix:///path`` URL without parameters; None for anything else."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return None
    setup: list[tuple[Any, ...]] = []
    user, password = parts.username, parts.password
    if password is not None:
        setup.append(("AUTH", unquote(user), unquote(password)) if user else
                     ("AUTH", unquote(password)))
    elif user:
        return None  # a user without a password: leave it to redis-py
    if parts.scheme == "redis":
        path = parts.path.strip("/")
        if path and not path.isdigit():
            return None
        if path and int(path):
            setup.append(("SELECT", path))
        host = parts.hostname or "localhost"
        if not host.isascii():
            return None
        # bytes: an ASCII host needs no IDNA codec (whose import costs a one-shot report)
        sock = _tcp(host.encode(), parts.port or 6379)
        sock.setsockopt(net.IPPROTO_TCP, net.TCP_NODELAY, 1)
    elif parts.scheme == "unix" and parts.path and not parts.netloc:
        return unix_client(parts.path, setup)
    else:
        return None
    sock.settimeout(TIMEOUT)
    return FastClient(sock, setup)


def unix_client(path: str, setup: list[tuple[Any, ...]] | None = None) -> FastClient:
    """A FastClient connected to the unix socket ``path`` (OSError when nothing listens)."""
    sock = net.socket(net.AF_UNIX, net.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    sock.settimeout(TIMEOUT)
    return FastClient(sock, setup or [])


def _tcp(host: bytes, port: int) -> net.socket:
    """``socket.create_connection((host, port), CONNECT_TIMEOUT)``: each address the name has,
    in order, until one connects (the last error otherwise)."""
    error: OSError | None = None
    for family, kind, proto, _name, address in net.getaddrinfo(host, port, 0, net.SOCK_STREAM):
        sock = net.socket(family, kind, proto)
        try:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(f"no address for {host!r}")
