"""The start-up fast path of one-shot reports: no Typer, no redis-py, no rich.

``liqcli totals|sides|exchanges|matrix|summary [options]`` with a machine format (json, ndjson,
csv, tsv) on a plain ``redis://`` or ``unix://`` store, or on an embedded store whose server
is running (the default store too), is parsed here, read through
:mod:`liqcli.store.fastclient` (hiredis) and rendered by the same core and formatter as the
Typer command, so the output is byte for byte the same. Whatever this parser does not know —
another command or option, ``--help``, the table format, an error of any kind — goes to the
full Typer app, which then does everything from the start (nothing has been printed).
``LIQCLI_NO_FAST=1`` turns the fast path off.

The options are the shared report options (``report_options.report_request``); a test checks
that :data:`OPTIONS` names them with the same flags and environment variables.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from liqcli.store.fastclient import FastClient

REPORTS = frozenset({"totals", "sides", "exchanges", "matrix", "summary"})
FORMATS = frozenset({"json", "ndjson", "csv", "tsv"})  # plain text, no rich or tabulate
# flag -> (parameter of report_request, takes a value, repeatable)
OPTIONS: dict[str, tuple[str, bool, bool]] = {
    "-s": ("symbol", True, True),
    "--symbol": ("symbol", True, True),
    "--all-symbols": ("all_symbols", False, False),
    "-e": ("exchange", True, True),
    "--exchange": ("exchange", True, True),
    "--since": ("since", True, False),
    "--until": ("until", True, False),
    "-f": ("fmt", True, False),
    "--format": ("fmt", True, False),
    "--no-header": ("no_header", False, False),
    "--redis-url": ("redis_url", True, False),
    "--prefix": ("prefix", True, False),
}
# parameter -> environment variables Typer reads it from (first non-empty wins)
ENVVARS: dict[str, tuple[str, ...]] = {
    "symbol": ("LIQCLI_SYMBOL",),
    "redis_url": ("LIQCLI_REDIS_URL", "REDIS_URL"),
    "prefix": ("LIQCLI_PREFIX",),
}


def parse(argv: list[str]) -> tuple[str, dict[str, object]] | None:
    """``(command, options)`` for a command line the fast path handles, else None."""
    if not argv or argv[0] not in REPORTS:
        return None
    values: dict[str, object] = {}
    args = iter(argv[1:])
    for arg in args:
        flag, eq, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        spec = OPTIONS.get(flag)
        if spec is None:
            return None  # an argument, an unknown option, --help, -sX …: Typer decides
        name, takes_value, repeatable = spec
        if not takes_value:
            if eq:
                return None
            values[name] = True
            continue
        value = attached if eq else next(args, None)
        if value is None:
            return None
        if repeatable:
            listed = values.setdefault(name, [])
            assert isinstance(listed, list)
            listed.append(value)
        else:
            values[name] = value
    for name, variables in ENVVARS.items():
        if name in values:
            continue
        found = next(filter(None, (os.environ.get(v) for v in variables)), None)
        if found is not None:
            if name == "symbol":
                split = found.split()  # Click splits a repeatable option's variable
                if not split:
                    return None
                values[name] = split
            else:
                values[name] = found
    if values.get("fmt") not in FORMATS:
        return None
    return argv[0], values


def run(argv: list[str]) -> int | None:
    """Run a report on the fast path: its exit status, or None when Typer must do it."""
    if os.environ.get("LIQCLI_NO_FAST") or any(v.endswith("_COMPLETE") for v in os.environ):
        return None
    parsed = parse(argv)
    if parsed is None:
        return None
    command, values = parsed
    try:
        done = _report(command, values)
    except KeyboardInterrupt:  # as the Typer path says it
        sys.stderr.write("liqcli: error: aborted\n")
        return 1
    except Exception:
        return None  # errors get their message, exit status and --debug from the full path
    if done is None:
        return None
    text, notes = done
    try:
        from liqcli.cli.encoding import utf8_stdout

        utf8_stdout()  # data formats only here: UTF-8 whatever the locale
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    for note in notes:  # as the Typer path: typos must not pass for quiet markets
        sys.stderr.write(f"liqcli: note: {note}\n")
    return 0


def _report(command: str, values: dict[str, object]) -> tuple[str, list[str]] | None:
    from io import StringIO

    from liqcli.cli.reporting import ReportRequest, check_selection, report_stats
    from liqcli.store.fastclient import fast_client, unix_client

    symbols = values.get("symbol")
    exchanges = values.get("exchange")
    request = ReportRequest(
        symbols=tuple(symbols) if isinstance(symbols, list) and symbols else None,
        all_symbols=bool(values.get("all_symbols")),
        exchanges=tuple(exchanges) if isinstance(exchanges, list) else (),
        since=_text(values.get("since")),
        until=_text(values.get("until")),
        fmt=str(values["fmt"]),
        header=not values.get("no_header"),
        redis_url=_text(values.get("redis_url")),
        prefix=str(values.get("prefix", "liq")),
    )
    check_selection(request)
    url = request.redis_url or None
    if url is None or url.startswith("embedded:"):
        # the embedded store (the default one without a URL): read when its server runs; the
        # full path starts it (or says there is no store) otherwise
        from liqcli.store.runtime import running_socket

        sock = running_socket(url)
        if sock is None:
            return None
        client: FastClient | None = unix_client(sock)
    else:
        client = fast_client(url)
    if client is None:
        return None
    from liqcli.store.store import Store

    try:
        store = Store(client, prefix=request.prefix)  # type: ignore[arg-type]
        store.check_schema()
        stats = report_stats(request, command, store)
        from liqcli.report.hints import unknown_name_notes

        asked = request.symbols is not None and not request.all_symbols
        notes = unknown_name_notes(store, stats, asked)
    finally:
        client.close()
    from importlib import import_module

    from liqcli.formatters import RenderOptions, color_wanted

    out = StringIO()
    options = RenderOptions(color=color_wanted(sys.stdout), header=request.header)
    import_module(f"liqcli.formatters.{request.fmt}").render(stats, command, out, options)
    return out.getvalue(), notes


def _text(value: object) -> str | None:
    return None if value is None else str(value)
