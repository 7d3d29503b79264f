"""Where the store lives: URL resolution, lazy clients, the embedded store, error messages."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from liqcli.errors import StoreError, UsageError
from liqcli.store.runtime import DEFAULT_FILE as DEFAULT_FILE
from liqcli.store.runtime import EMBEDDED as EMBEDDED

if TYPE_CHECKING:
    from liqcli.store.store import Store

ENV_VARS = ("LIQCLI_REDIS_URL", "REDIS_URL")
# explicit Redis Cluster schemes (a plain redis:// URL of a cluster node is detected too)
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# URL query parameters whose values are secrets
_SECRET_PARAMS = frozenset({"password", "ssl_password"})
_MASK = "***"
# every password met in a URL this process resolved: masked in any text printed (tracebacks)
_secrets: set[str] = set()
# the URL of the store this process connected to last: named by error messages
_last_url: str | None = None


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
    found = url or next(filter(None, (os.environ.get(var) for var in ENV_VARS)), None)
    if found is None:
        return default_url()
    _remember_secrets(found)
    return found


def _split_userinfo(url: str) -> tuple[str, str | None, str]:
    """``(scheme://, userinfo or None, rest)``, the userinfo ending at the LAST ``@``.

    For a well-formed URL this is exactly ``urllib.parse.urlsplit``'s userinfo; a password
    holding unencoded ``/ # ?`` (which the parser would cut into path, fragment or query) still
    comes out whole, so it is masked whole.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, None, ""
    if "@" not in rest:
        return scheme + sep, None, rest
    userinfo, _, after = rest.rpartition("@")
    return scheme + sep, userinfo, after


def url_password(url: str) -> str | None:
    """The password of a store URL (percent-decoded), from its userinfo or ``?password=``."""
    _head, userinfo, _rest = _split_userinfo(url)
    if userinfo is not None and ":" in userinfo:
        return unquote(userinfo.partition(":")[2])
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name in _SECRET_PARAMS:
            return value
    return None


def _remember_secrets(url: str) -> None:
    _head, userinfo, rest = _split_userinfo(url)
    if userinfo is not None and ":" in userinfo:
        raw = userinfo.partition(":")[2]
        _secrets.update(s for s in (raw, unquote(raw)) if s)
    if "?" in rest:
        for name, value in parse_qsl(rest.split("?", 1)[1], keep_blank_values=True):
            if name in _SECRET_PARAMS and value:
                _secrets.add(value)


def mask_url(url: str) -> str:
    """The URL with any password (userinfo or ``password=`` parameter) replaced by ``***``."""
    head, userinfo, rest = _split_userinfo(url)
    if userinfo is not None and ":" in userinfo:
        user = userinfo.partition(":")[0]
        url = f"{head}{user}:{_MASK}@{rest}"
    elif userinfo is not None:
        url = f"{head}{userinfo}@{rest}"
    if "?" in url:
        base, _, query = url.partition("?")
        query, hash_, fragment = query.partition("#")
        parts = []
        for item in query.split("&"):
            name, eq, _value = item.partition("=")
            parts.append(f"{name}={_MASK}" if eq and unquote(name) in _SECRET_PARAMS else item)
        url = f"{base}?{'&'.join(parts)}{hash_}{fragment}"
    return url


_URL_IN_TEXT = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """``text`` (a message, a traceback) with every URL's password and every password this
    process has seen in a store URL replaced by ``***``."""
    text = _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text


def embedded_path(url: str) -> Path:
    """The database file of an ``embedded:PATH`` URL (a directory gets ``liqcli.rdb`` inside)."""
    path = Path(url[len(EMBEDDED) :]).expanduser()
    if path.is_dir():
        path = path / DEFAULT_FILE
    return path


def cluster_scheme(url: str) -> str | None:
    """For an explicit cluster URL (``redis+cluster://``, ``rediss+cluster://`` or a
    ``cluster=yes`` parameter) the same URL in redis-py's terms; else None."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in CLUSTER_SCHEMES:
        return _without_param(f"{CLUSTER_SCHEMES[scheme.lower()]}://{rest}", "cluster")
    if sep and "?" in rest:
        for name, value in parse_qsl(rest.split("?", 1)[1].split("#", 1)[0]):
            if name == "cluster" and value.lower() in ("1", "yes", "true", "on"):
                return _without_param(url, "cluster")
    return None


def _without_param(url: str, name: str) -> str:
    if "?" not in url:
        return url
    base, _, query = url.partition("?")
    kept = [item for item in query.split("&") if item.partition("=")[0] != name]
    return base + ("?" + "&".join(kept) if kept else "")


def server_hello(client: Any) -> dict[str, str]:
    """The server's ``HELLO`` reply (``mode``: standalone/cluster, ``version`` …) as text;
    empty when the server or the user's ACL does not allow it (then: a plain server)."""
    import redis.exceptions as rexc

    try:
        reply = client.execute_command("HELLO")
    except (rexc.ResponseError, rexc.AuthenticationError):
        return {}
    if isinstance(reply, list):
        reply = dict(zip(reply[::2], reply[1::2], strict=False))
    return {_text(k): _text(v) for k, v in reply.items() if isinstance(v, bytes | str | int)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _client_options(socket_timeout: float) -> dict[str, Any]:
    return {
        "socket_connect_timeout": min(5, socket_timeout),
        "socket_timeout": socket_timeout,
    }


def _cluster_client(url: str, socket_timeout: float) -> Any:
    from redis.cluster import RedisCluster

    try:
        return RedisCluster.from_url(url, **_client_options(socket_timeout))
    except ValueError as exc:
        raise StoreError(f"invalid store URL {mask_url(url)}: {mask_secrets(str(exc))}") from None
    except Exception as exc:
        message = describe_redis_error(exc, url)
        if message is None:
            raise
        raise StoreError(message) from None


def connect(url: str | None = None, *, socket_timeout: float = 30, create: bool = True) -> Any:
    """A redis client for ``url``: ``redis.Redis``, or ``RedisCluster`` for a cluster.

    ``embedded:PATH`` joins the redis-server liqcli keeps running for PATH, starting it first if
    needed (``liqcli.store.embedded``: a unix socket, data persisted at PATH as it arrives).
    ``socket_timeout`` bounds how long one command may hang (a live view passes a short one so
    a stalled server is noticed quickly). Read-only commands pass ``create=False``: an embedded
    store that does not exist yet is then an error (exit 3) naming its path, never a new empty
    store (a mistyped path must not look like a store with no events).
    A cluster is used when the URL says so (``redis+cluster://``, ``rediss+cluster://``,
    ``?cluster=yes``) or when the node the URL names reports cluster mode (``HELLO``, one round
    trip on connect). TLS (``rediss://``) takes redis-py's ``ssl_*`` URL parameters
    (``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs`` …).
    """
    global _last_url
    resolved = _last_url = resolve_url(url)
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
    check_url(resolved)
    explicit = cluster_scheme(resolved)
    if explicit is not None:
        return _cluster_client(explicit, socket_timeout)
    import redis

    try:
        client = redis.Redis.from_url(
            resolved, health_check_interval=30, **_client_options(socket_timeout)
        )
    except ValueError as exc:
        raise StoreError(
            f"invalid store URL {mask_url(resolved)}: {mask_secrets(str(exc))}"
        ) from None
    if resolved.startswith(("redis://", "rediss://")) and _is_cluster_node(client):
        client.close()
        return _cluster_client(resolved, socket_timeout)
    return client


# URL query parameters redis-py reads (its URL parsers, the connection and TLS options) and
# liqcli's own; anything else would reach the connection as an unknown keyword (a crash).
_URL_PARAMS = frozenset({
    "db", "password", "username", "socket_timeout", "socket_connect_timeout",
    "socket_keepalive", "retry_on_timeout", "max_connections", "health_check_interval",
    "client_name", "protocol", "timeout", "cluster", "encoding", "encoding_errors",
    "decode_responses", "lib_name", "lib_version",
    "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_path",
    "ssl_ca_data", "ssl_check_hostname", "ssl_password", "ssl_min_version", "ssl_ciphers",
    "ssl_include_verify_flags", "ssl_exclude_verify_flags",
})


def check_url(url: str) -> None:
    """Refuse, as a usage error (exit 2), what redis-py would silently misread or crash on: a
    database that is not a number (``/abc`` would quietly mean database 0) and an unknown
    query parameter."""
    from urllib.parse import parse_qsl, urlsplit

    head, _userinfo, rest = _split_userinfo(url)  # a password may hold unencoded "/", "#", "?"
    try:
        parts = urlsplit(head + rest)
    except ValueError as exc:
        raise UsageError(f"invalid store URL {mask_url(url)}: {exc}") from None
    if parts.scheme in ("redis", "rediss", "redis+cluster", "rediss+cluster"):
        db = parts.path.lstrip("/")
        if db and not (db.isascii() and db.isdigit()):
            raise UsageError(f"invalid database {db[:20]!r} in store URL {mask_url(url)} "
                             "(a number, e.g. redis://localhost:6379/0)")
    for name, _value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _URL_PARAMS:
            raise UsageError(f"unknown parameter {name[:30]!r} in store URL {mask_url(url)} "
                             "(see README, 'Connecting')")


def _is_cluster_node(client: Any) -> bool:
    """Whether the server runs in cluster mode; an unreachable server is left to the caller's
    first command (and its error message)."""
    import redis.exceptions as rexc

    try:
        return server_hello(client).get("mode") == "cluster"
    except (rexc.ConnectionError, rexc.TimeoutError):
        return False


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
    """A one-line message, saying what to do, for a store refusal or connection error
    (authentication, ACL, out of memory, read-only replica, cluster redirects and outages);
    None for other errors."""
    try:
        import redis.exceptions as rexc
    except ImportError:  # pragma: no cover
        return None
    where = mask_url(url or _last_url or resolve_url())
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    reason = mask_secrets(text.rpartition(" of pipeline caused error: ")[2])
    if isinstance(exc, rexc.AuthenticationError) or (
        isinstance(exc, rexc.ResponseError) and str(exc).startswith(("NOAUTH", "WRONGPASS"))
    ):
        return f"store {where} refused authentication"
    if isinstance(exc, rexc.NoPermissionError) or str(exc).startswith("NOPERM"):
        return (
            f"store {where} refused a command for this user (ACL: {reason}): grant it with "
            "ACL SETUSER (README, 'Running at scale') or use a user that has it"
        )
    if isinstance(exc, rexc.OutOfMemoryError) or str(exc).startswith("OOM"):
        return (
            f"store {where} is out of memory (maxmemory reached, eviction off): nothing of "
            "the refused batch was written; raise maxmemory or free memory, then run again"
        )
    if isinstance(exc, rexc.ReadOnlyError) or str(exc).startswith("READONLY"):
        return (
            f"store {where} is a read-only replica: point --redis-url at the primary "
            "(reports may read a replica; ingest cannot)"
        )
    if isinstance(exc, rexc.AskError) or str(exc).startswith(("MOVED", "ASK ")):
        return (
            f"store {where} is a Redis Cluster node that does not hold this key ({reason}): "
            "use a redis+cluster:// URL (or a user allowed to run HELLO, so liqcli detects "
            "the cluster)"
        )
    if isinstance(exc, rexc.ClusterDownError | rexc.TryAgainError | rexc.SlotNotCoveredError):
        return f"store {where}: the cluster cannot serve this key now ({reason}); retry later"
    if isinstance(exc, rexc.ConnectionError | rexc.TimeoutError | rexc.RedisClusterException):
        return f"cannot reach store {where}: {reason}"
    if isinstance(exc, rexc.ResponseError) and "DB index is out of range" in str(exc):
        return (f"store {where} has no such database ({reason}): use a database number the "
                "server has (its 'databases' setting)")
    return None
