"""Where the store lives: URL resolution, lazy clients, the embedded store, error messages."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liqcli.errors import StoreError

if TYPE_CHECKING:
    from liqcli.store.store import Store

DEFAULT_URL = "redis://localhost:6379/0"
EMBEDDED = "embedded:"
ENV_VARS = ("LIQCLI_REDIS_URL", "REDIS_URL")


def resolve_url(url: str | None = None) -> str:
    """``url`` if given, else ``LIQCLI_REDIS_URL``, else ``REDIS_URL``, else the default."""
    if url:
        return url
    for var in ENV_VARS:
        value = os.environ.get(var)
        if value:
            return value
    return DEFAULT_URL


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to print)."""
    return re.sub(r"(?<=://)([^:@/]*):[^@/]*@", r"\1:***@", url)


def embedded_path(url: str) -> Path:
    """The database file of an ``embedded:PATH`` URL (a directory gets ``liqcli.rdb`` inside)."""
    path = Path(url[len(EMBEDDED) :]).expanduser()
    if path.is_dir():
        path = path / "liqcli.rdb"
    return path


def connect(url: str | None = None, *, socket_timeout: float = 30) -> Any:
    """A redis client for ``url`` (not yet connected: clients connect on first command).

    ``embedded:PATH`` joins the redis-server liqcli keeps running for PATH, starting it first if
    needed (``liqcli.store.embedded``: a unix socket, data persisted at PATH as it arrives).
    ``socket_timeout`` bounds how long one command may hang (a live view passes a short one so
    a stalled server is noticed quickly).
    """
    resolved = resolve_url(url)
    if resolved.startswith(EMBEDDED):
        from liqcli.store.embedded import EmbeddedServer

        server = EmbeddedServer(embedded_path(resolved))
        server.ensure_running()
        return server.client(socket_timeout)
    import redis

    try:
        return redis.Redis.from_url(
            resolved,
            socket_connect_timeout=min(5, socket_timeout),
            socket_timeout=socket_timeout,
            health_check_interval=30,
        )
    except ValueError as exc:
        raise StoreError(f"invalid store URL {mask_url(resolved)}: {exc}") from None


def open_store(redis_url: str | None = None, prefix: str = "liq") -> Store:
    """Connect and check the store's schema; errors become one-line StoreErrors (exit 3)."""
    from liqcli.store.store import Store

    resolved = resolve_url(redis_url)
    client = connect(resolved)
    store = Store(client, prefix=prefix)
    try:
        store.check_schema()
    except StoreError:
        raise
    except Exception as exc:
        message = describe_redis_error(exc, resolved)
        if message is None:
            raise
        raise StoreError(message) from None
    return store


def describe_redis_error(exc: BaseException, url: str | None = None) -> str | None:
    """A one-line message for a redis-py connection/auth error, or None for other errors."""
    try:
        import redis.exceptions as rexc
    except ImportError:  # pragma: no cover
        return None
    where = mask_url(url or resolve_url())
    if isinstance(exc, rexc.AuthenticationError) or (
        isinstance(exc, rexc.ResponseError) and str(exc).startswith(("NOAUTH", "WRONGPASS"))
    ):
        return f"store {where} refused authentication"
    if isinstance(exc, rexc.ConnectionError | rexc.TimeoutError):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"cannot reach store {where}: {mask_url(reason)}"
    return None
