"""Report commands: totals, sides, exchanges, matrix, summary and symbols.

All six share one signature (defined once below) and one path: parse the window, read the
store's rollups through the core, hand the CumulativeStats to the chosen formatter.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from liqcli.cli import wanted
from liqcli.cli.app import app, errors_handled
from liqcli.cli.output import Output
from liqcli.cli.report_options import report_command
from liqcli.cli.reporting import ReportRequest, check_selection, report_stats, resolve_color

if TYPE_CHECKING:
    from liqcli.report.core import RollupSource
    from liqcli.report.stats import CumulativeStats

COMMAND_HELP: dict[str, str] = {
    "totals": "Totals: events, USD, base quantity, averages per event and events per hour.",
    "sides": "Liquidated LONG vs SHORT positions: events, USD, quantity and shares.",
    "exchanges": "Figures per exchange (every exchange found in the data) with shares.",
    "matrix": "Exchange × side: events, USD and quantity of every combination.",
    "summary": "Every section together: totals, sides, exchanges and exchange × side.",
    "symbols": "The symbols in the store, each with events, USD, first/last event and exchanges "
    "(all of them, or those given with -s; LIQCLI_SYMBOL is ignored here).",
}


def run_report(
    command: str, request: ReportRequest, output: str | None = None,
    string_amounts: bool = False,
) -> None:
    with errors_handled(request.debug):
        from liqcli.cli.output import text_output
        from liqcli.formatters import render_report
        from liqcli.store.connection import open_store

        check_selection(request)  # bad times and names are usage errors, before I/O
        store = open_store(request.redis_url, request.prefix, create=False)
        stats = report_stats(request, command, store)
        with text_output(output, data=request.fmt not in ("table", "markdown")) as out:
            render_report(
                stats, command, request.fmt, out,
                color=resolve_color(request.color) and out is sys.stdout,
                table_style=request.table_style,
                header=request.header,
                string_amounts=string_amounts,
            )
        note_unknown_names(store, stats, request, command)


def note_unknown_names(
    store: RollupSource, stats: CumulativeStats, request: ReportRequest, command: str
) -> None:
    """A note on stderr per asked symbol or exchange the store has never seen (typos must not
    pass for quiet markets); the report and the exit status stay as they are."""
    from liqcli.report.hints import unknown_name_notes

    asked = request.symbols is not None and not request.all_symbols
    for note in unknown_name_notes(store, stats, asked):
        sys.stderr.write(f"liqcli: note: {note}\n")


StringAmounts = Annotated[
    bool,
    typer.Option(
        "--string-amounts",
        help="json/ndjson: write amounts, shares and rates as strings of their exact digits "
        '("usd": "1.000000000000000001"), for consumers that read JSON numbers as doubles '
        "(jq 1.6, JavaScript).",
        rich_help_panel="Output",
    ),
]


def _symbols_from_environment() -> bool:
    """Whether ``-s`` came from LIQCLI_SYMBOL (not from the command line)."""
    from typer._click.core import ParameterSource
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    return ctx is not None and ctx.get_parameter_source("symbol") is ParameterSource.ENVIRONMENT


def _register(command: str) -> None:
    def report(
        request: ReportRequest, output: Output = None, string_amounts: StringAmounts = False
    ) -> None:
        if command == "symbols" and request.symbols is not None and _symbols_from_environment():
            # discovery lists every symbol: LIQCLI_SYMBOL is a default for reports, not a filter
            request = replace(request, symbols=None)
        run_report(command, request, output, string_amounts)

    report.__name__ = f"{command}_command"
    report.__doc__ = COMMAND_HELP[command]
    app.command(name=command, help=COMMAND_HELP[command])(report_command(report))


for _command in COMMAND_HELP:
    if wanted(_command):
        _register(_command)
