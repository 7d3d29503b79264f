"""``liqcli store``: the store's server — status of any store; path, start, list, stop of embedded.

An ``embedded:PATH`` store's redis-server keeps running between commands (``store.embedded``);
these commands make it visible and stoppable. Status is data (stdout); notes go to stderr.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.options import Debug, RedisUrl
from liqcli.errors import UsageError

if TYPE_CHECKING:
    from liqcli.store.embedded import EmbeddedServer

store_app = typer.Typer(
    name="store",
    help="The store's server: status; path, start, list and stop of embedded stores.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")

JsonOut = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (list: one array) on stdout.")
]


@store_app.command("status")
def status_cmd(redis_url: RedisUrl = None, json_out: JsonOut = False, debug: Debug = False) -> None:
    """Whether the store's server runs, its pid, socket, memory, keys and persistence.

    An embedded store that is not running is reported as such (exit 0), not started.
    """
    with errors_handled(debug):
        from liqcli.store.connection import resolve_url

        url = resolve_url(redis_url)
        server = _embedded(url)
        fields = server.status().as_dict() if server is not None else _remote_status(url)
        _print(fields, json_out)


@store_app.command("path")
def path_cmd(redis_url: RedisUrl = None, debug: Debug = False) -> None:
    """The data file of the embedded store in use (with no URL set: the one in your data
    directory), whether or not it exists yet."""
    with errors_handled(debug):
        sys.stdout.write(f"{_required_embedded(redis_url, 'path').path}\n")


@store_app.command("list")
def list_cmd(json_out: JsonOut = False, debug: Debug = False) -> None:
    """The embedded stores whose server runs now (this user's), one per line: URL, pid, memory."""
    with errors_handled(debug):
        from liqcli.store.embedded import running_servers

        found = [server.status().as_dict() for server in running_servers()]
        if json_out:
            sys.stdout.write(json.dumps(found) + "\n")
            return
        for fields in found:
            sys.stdout.write(f"{fields['url']}\tpid {fields['pid']}\t"
                             f"{_size(fields['used_memory'])}\t{fields['keys']} keys\n")
        if not found:
            _note("no embedded store is running")


@store_app.command("start")
def start_cmd(redis_url: RedisUrl = None, debug: Debug = False) -> None:
    """Start the embedded store's server now (any command on embedded:PATH does it when needed)."""
    with errors_handled(debug):
        server = _required_embedded(redis_url, "start")
        already = server.running()
        server.ensure_running()
        _note(f"embedded store at {server.path} {'was already' if already else 'is now'} running"
              f" (pid {server.pid()})")


@store_app.command("stop")
def stop_cmd(
    redis_url: RedisUrl = None,
    every: Annotated[
        bool, typer.Option("--all", help="Stop every running embedded store (see 'store list').")
    ] = False,
    debug: Debug = False,
) -> None:
    """Save the embedded store to PATH and stop its server (the next command starts it again)."""
    with errors_handled(debug):
        from liqcli.store.embedded import running_servers

        servers = running_servers() if every else [_required_embedded(redis_url, "stop")]
        for server in servers:
            stopped = server.stop()
            _note(f"embedded store at {server.path}: "
                  f"{'saved and stopped' if stopped else 'was not running'}")
        if every and not servers:
            _note("no embedded store is running")


def _embedded(url: str) -> EmbeddedServer | None:
    from liqcli.store.connection import EMBEDDED, embedded_path

    if not url.startswith(EMBEDDED):
        return None
    from liqcli.store.embedded import EmbeddedServer

    return EmbeddedServer(embedded_path(url))


def _required_embedded(redis_url: str | None, verb: str) -> EmbeddedServer:
    from liqcli.store.connection import mask_url, resolve_url

    url = resolve_url(redis_url)
    server = _embedded(url)
    if server is None:
        raise UsageError(f"store {verb} works on an embedded:PATH store, not {mask_url(url)} "
                         "(pass --redis-url embedded:PATH)")
    return server


def _remote_status(url: str) -> dict[str, Any]:
    """A running Redis server's figures (unreachable: a one-line error, exit 3)."""
    from liqcli.errors import StoreError
    from liqcli.store.connection import connect, describe_redis_error, mask_url

    client = connect(url, socket_timeout=10)
    try:
        server = client.info("server")
        memory = client.info("memory")
        persistence = client.info("persistence")
        keys = int(client.dbsize())
    except Exception as exc:
        message = describe_redis_error(exc, url)
        if message is None:
            raise
        raise StoreError(message) from None
    finally:
        client.close()
    return {
        "url": mask_url(url), "running": True, "redis_version": str(server["redis_version"]),
        "used_memory": int(memory["used_memory"]), "keys": keys,
        "append_only": bool(int(persistence["aof_enabled"])),
        "last_save": int(persistence["rdb_last_save_time"]),
    }


def _print(fields: dict[str, Any], json_out: bool) -> None:
    if json_out:
        sys.stdout.write(json.dumps(fields) + "\n")
        return
    shown = dict(fields)
    if fields.get("used_memory") is not None:
        shown["used_memory"] = _size(fields["used_memory"])
    if fields.get("last_save"):
        shown["last_save"] = datetime.fromtimestamp(fields["last_save"], UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    for name, value in shown.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        sys.stdout.write(f"{name.replace('_', ' '):<14}{value}\n")


def _size(used: int | None) -> str:
    """Bytes in binary units (``4.1 MiB``)."""
    if used is None:
        return "-"
    if used < 1024:
        return f"{used} B"
    size, unit = used / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{size:.1f} {unit}"


def _note(message: str) -> None:
    sys.stderr.write(f"liqcli: {message}\n")
    sys.stderr.flush()
