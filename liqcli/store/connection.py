"""Where the store lives: URL resolution, lazy clients, the embedded store, error messages."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liqcli.errors import StoreError

if TYPE_CHECKING:
    from liqcli.store.store import Store

EMBEDDED = "embedded:"
ENV_VARS = ("LIQCLI_REDIS_URL", "REDIS_URL")
DEFAULT_FILE = "liqcli.rdb"


def default_store_path() -> Path:
    """The zero-configuration store: ``liqcli.rdb`` in the user's data directory
    (``$XDG_DATA_HOME/liqcli``, by default ``~/.local/share/liqcli`` on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("liqcli", appauthor=False) / DEFAULT_FILE


def default_url() -> str:
    return f"{EMBEDDED}{default_store_path()}"


def resolve_url(url: str | None = None) -> str:
    """``url`` if given, else ``LIQCLI_REDIS_URL``, else ``REDIS_URL``, else the embedded store
    in the user's data directory."""
    if url:
        return url
    for var in ENV_VARS:
        value = os.environ.get(var)
        if value:
            return value
    return default_url()


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to print)."""
    return re.sub(r"(?<=://)([^:@/]*):[^@/]*@", r"\1:***@", url)


def embedded_path(url: str) -> Path:
    """The database file of an ``embedded:PATH`` URL (a directory gets ``liqcli.rdb`` inside)."""
    path = Path(url[len(EMBEDDED) :]).expanduser()
    if path.is_dir():
        path = path / DEFAULT_FILE
    return path


def connect(url: str | None = None, *, socket_timeout: float = 30, create: bool = True) -> Any:
    """A redis client for ``url`` (not yet connected: clients connect on first command).

    ``embedded:PATH`` joins the redis-server liqcli keeps running for PATH, starting it first if
    needed (``liqcli.store.embedded``: a unix socket, data persisted at PATH as it arrives).
    ``socket_timeout`` bounds how long one command may hang (a live view passes a short one so
    a stalled server is noticed quickly). Read-only commands pass ``create=False``: an embedded
    store that does not exist yet is then an error (exit 3) naming its path, never a new empty
    store (a mistyped path must not look like a store with no events).
    """
    resolved = resolve_url(url)
    if resolved.startswith(EMBEDDED):
        from liqcli.store.embedded import EmbeddedServer

        server = EmbeddedServer(embedded_path(resolved))
        if not create and not server.exists():
            if resolved == default_url():
                raise StoreError(f"no store yet at {server.path}: run `liqcli ingest FILE` to "
                                 "create it (or `liqcli demo` to try liqcli on a sample)")
            raise StoreError(f"no embedded store at {server.path} (check the path; "
                             "`liqcli ingest` creates one)")
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


def open_store(redis_url: str | None = None, prefix: str = "liq", *, create: bool = True) -> Store:
    """Connect and check the store's schema; errors become one-line StoreErrors (exit 3).

    ``create=False`` (reports): a missing embedded store is an error, not a new empty one.
    """
    from liqcli.store.store import Store

    resolved = resolve_url(redis_url)
    client = connect(resolved, create=create)
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
