"""``history``: liquidations per UTC-aligned time bucket (a regular series), thin over the core."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.output import Output
from liqcli.cli.report_cmd import StringAmounts
from liqcli.cli.report_options import PANEL, choice, report_command
from liqcli.cli.reporting import ReportRequest, check_selection, resolve_color
from liqcli.report.history import DEFAULT_INTERVAL, INTERVALS

HELP = (
    "Liquidations per time bucket: every UTC-aligned bucket of the window (empty ones as "
    "zeros), LONG and SHORT per bucket. Default: the last 24 hours at 1h."
)
BY_CHOICES = ("exchange",)


_check_interval, _complete_interval = choice(tuple(INTERVALS))
_check_by, _complete_by = choice(BY_CHOICES)


Interval = Annotated[
    str,
    typer.Option(
        "--interval", "-i", metavar="INTERVAL", callback=_check_interval,
        autocompletion=_complete_interval,
        help=f"Bucket length: {', '.join(INTERVALS)} (UTC-aligned; 1w starts on Monday).",
        rich_help_panel=PANEL,
    ),
]
By = Annotated[
    str | None,
    typer.Option(
        "--by", metavar="exchange", callback=_check_by, autocompletion=_complete_by,
        help="One row per bucket and exchange.", rich_help_panel=PANEL,
    ),
]


def history_command(
    request: ReportRequest, interval: Interval = DEFAULT_INTERVAL, by: By = None,
    output: Output = None, string_amounts: StringAmounts = False,
) -> None:
    with errors_handled(request.debug):
        from liqcli.formatters import render_report
        from liqcli.report.history import compute_history, history_window
        from liqcli.report.timeparse import now_ms, parse_window
        from liqcli.store.connection import open_store

        check_selection(request)  # bad times and names are usage errors, before I/O
        now = now_ms()
        since_ms, until_ms = parse_window(request.since, request.until, now=now)
        history_window(interval, since_ms, until_ms, now)  # too many buckets: before I/O
        store = open_store(request.redis_url, request.prefix, create=False)
        history = compute_history(
            store,
            list(request.symbols) if request.symbols else None,
            interval=interval, since_ms=since_ms, until_ms=until_ms,
            exchanges=request.exchanges, all_symbols=request.all_symbols,
            by_exchange=by == "exchange", now_ms=now,
        )
        from liqcli.cli.output import text_output

        with text_output(output) as out:
            render_report(
                history, "history", request.fmt, out,
                color=resolve_color(request.color) and out is sys.stdout,
                table_style=request.table_style, header=request.header,
                string_amounts=string_amounts,
            )


app.command(name="history", help=HELP)(report_command(history_command))
