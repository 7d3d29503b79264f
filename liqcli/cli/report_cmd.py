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
from liqcli.cli.report_options import PANEL, choice, report_command
from liqcli.cli.reporting import ReportRequest, check_selection, report_stats, resolve_color

if TYPE_CHECKING:
    from liqcli.report.core import RollupSource
    from liqcli.report.stats import CumulativeStats
    from liqcli.report.windows import WindowedStats

COMMAND_HELP: dict[str, str] = {
    "totals": "Totals: events, USD, base quantity, averages per event and events per hour.",
    "sides": "Liquidated LONG vs SHORT positions: events, USD, quantity and shares.",
    "exchanges": "Figures per exchange (every exchange found in the data) with shares.",
    "matrix": "Exchange × side: events, USD and quantity of every combination.",
    "summary": "Every section together: totals, sides, exchanges and exchange × side.",
    "symbols": "The symbols in the store, each with events, USD (LONG and SHORT), first/last "
    "event and exchanges (all of them, or those given with -s; LIQCLI_SYMBOL is ignored here); "
    "--sort and --top rank them.",
}

# Commands that take --windows (several trailing windows side by side), and --sort/--top.
WINDOW_COMMANDS = ("totals", "sides", "exchanges")
SORT_KEYS = ("usd", "events", "long_usd", "short_usd")  # liqcli.report.rankings.SORT_KEYS

_check_sort, _complete_sort = choice(SORT_KEYS)


Windows = Annotated[
    str | None,
    typer.Option(
        "--windows", metavar="LIST",
        help="Several trailing windows side by side, ending at --until (default now), e.g. "
        "1h,4h,12h,24h. Not with --since.", rich_help_panel=PANEL,
    ),
]
Sort = Annotated[
    str | None,
    typer.Option(
        "--sort", metavar="KEY", callback=_check_sort, autocompletion=_complete_sort,
        help=f"Rank the symbols, largest first: {', '.join(SORT_KEYS)} (symbols without "
        "events in the window are left out).", rich_help_panel=PANEL,
    ),
]
Top = Annotated[
    int | None,
    typer.Option("--top", metavar="N", min=1, help="Only the first N symbols.",
                 rich_help_panel=PANEL),
]


def run_report(
    command: str, request: ReportRequest, output: str | None = None,
    string_amounts: bool = False, *, windows: str | None = None,
    sort: str | None = None, top: int | None = None,
) -> None:
    with errors_handled(request.debug):
        from liqcli.cli.output import text_output
        from liqcli.errors import UsageError
        from liqcli.formatters import render_report
        from liqcli.report.rankings import check_sort, rank_symbols
        from liqcli.report.windows import compute_windows, parse_windows
        from liqcli.store.connection import open_store

        check_selection(request)  # bad times and names are usage errors, before I/O
        check_sort(sort, top)
        trailing = None if windows is None else parse_windows(windows)
        if trailing is not None and request.since is not None:
            raise UsageError("--windows and --since exclude each other (--until is allowed)")
        store = open_store(request.redis_url, request.prefix, create=False)
        shown: CumulativeStats | WindowedStats
        if trailing is not None:
            from liqcli.report.timeparse import parse_window

            _, until_ms = parse_window(None, request.until)
            windowed = compute_windows(
                store, list(request.symbols) if request.symbols else None, trailing,
                until_ms=until_ms, exchanges=request.exchanges,
                all_symbols=request.all_symbols,
            )
            # the notes on unknown names look at the longest window (all end at --until)
            stats = max(windowed.pairs(), key=lambda pair: pair[0].duration_ms)[1]
            shown = windowed
        else:
            stats = report_stats(request, command, store)
            # ranked: shown without the symbols that had no events (the notes use them all)
            shown = stats if sort is None and top is None else rank_symbols(stats, sort, top)
        with text_output(output, data=request.fmt not in ("table", "markdown")) as out:
            render_report(
                shown, command, request.fmt, out,
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

    def windowed(
        request: ReportRequest, windows: Windows = None, output: Output = None,
        string_amounts: StringAmounts = False,
    ) -> None:
        run_report(command, request, output, string_amounts, windows=windows)

    def ranked(
        request: ReportRequest, sort: Sort = None, top: Top = None, output: Output = None,
        string_amounts: StringAmounts = False,
    ) -> None:
        if request.symbols is not None and _symbols_from_environment():
            request = replace(request, symbols=None)  # as above
        run_report(command, request, output, string_amounts, sort=sort, top=top)

    run = windowed if command in WINDOW_COMMANDS else ranked if command == "symbols" else report
    run.__name__ = f"{command}_command"
    run.__doc__ = COMMAND_HELP[command]
    app.command(name=command, help=COMMAND_HELP[command])(report_command(run))


for _command in COMMAND_HELP:
    if wanted(_command):
        _register(_command)
