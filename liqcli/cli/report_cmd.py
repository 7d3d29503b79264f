"""Report commands: totals, sides, exchanges, matrix, summary and symbols.

All six share one signature (defined once below) and one path: parse the window, read the
store's rollups through the core, hand the CumulativeStats to the chosen formatter.
"""

from __future__ import annotations

import sys

from liqcli.cli import wanted
from liqcli.cli.app import app, errors_handled
from liqcli.cli.output import Output
from liqcli.cli.report_options import report_command
from liqcli.cli.reporting import ReportRequest, check_selection, report_stats, resolve_color

COMMAND_HELP: dict[str, str] = {
    "totals": "Totals: events, USD, base quantity, averages per event and events per hour.",
    "sides": "Liquidated LONG vs SHORT positions: events, USD, quantity and shares.",
    "exchanges": "Figures per exchange (every exchange found in the data) with shares.",
    "matrix": "Exchange × side: events, USD and quantity of every combination.",
    "summary": "Every section together: totals, sides, exchanges and exchange × side.",
    "symbols": "The symbols in the store, each with events, USD, first/last event and exchanges.",
}


def run_report(command: str, request: ReportRequest, output: str | None = None) -> None:
    with errors_handled(request.debug):
        from liqcli.cli.output import text_output
        from liqcli.formatters import render_report
        from liqcli.store.connection import open_store

        check_selection(request)  # bad times and names are usage errors, before I/O
        store = open_store(request.redis_url, request.prefix, create=False)
        stats = report_stats(request, command, store)
        with text_output(output) as out:
            render_report(
                stats, command, request.fmt, out,
                color=resolve_color(request.color) and out is sys.stdout,
                table_style=request.table_style,
                header=request.header,
            )


def _register(command: str) -> None:
    def report(request: ReportRequest, output: Output = None) -> None:
        run_report(command, request, output)

    report.__name__ = f"{command}_command"
    report.__doc__ = COMMAND_HELP[command]
    app.command(name=command, help=COMMAND_HELP[command])(report_command(report))


for _command in COMMAND_HELP:
    if wanted(_command):
        _register(_command)
