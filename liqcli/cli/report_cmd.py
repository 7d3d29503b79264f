"""Report commands: totals, sides, exchanges, matrix, summary and symbols.

All six share one signature (defined once below) and one path: parse the window, read the
store's rollups through the core, hand the CumulativeStats to the chosen formatter.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from liqcli.cli import wanted
from liqcli.cli.app import app, errors_handled
from liqcli.cli.report_options import (
    PANEL,
    ReportRequest,
    check_selection,
    choice,
    report_command,
)

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
    "event and exchanges; --sort and --top rank them.",
}


def report_stats(
    request: ReportRequest, command: str, store: RollupSource, now_ms: int | None = None
) -> CumulativeStats:
    """The CumulativeStats a report command shows (also used by ``watch``).

    ``summary`` also carries the live collector's coverage gaps inside the window (an open
    window ends at ``now_ms``, default the current time).
    """
    from liqcli.report.core import compute_stats
    from liqcli.report.timeparse import now_ms as current_ms
    from liqcli.report.timeparse import parse_window

    now = current_ms() if now_ms is None else now_ms
    since_ms, until_ms = parse_window(request.since, request.until, now=now)
    all_symbols = request.all_symbols or (command == "symbols" and request.symbols is None)
    return compute_stats(
        store,
        list(request.symbols) if request.symbols else None,
        since_ms=since_ms,
        until_ms=until_ms,
        exchanges=request.exchanges,
        all_symbols=all_symbols,
        coverage=command == "summary",
        now_ms=now,
    )


def resolve_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    from liqcli.formatters import color_wanted

    return color_wanted(sys.stdout)


# Commands that take --windows (several trailing windows side by side), and --sort/--top.
WINDOW_COMMANDS = ("totals", "sides", "exchanges")
SORT_KEYS = ("usd", "events", "long_usd", "short_usd")  # liqcli.report.rankings.SORT_KEYS
EXAMPLES: dict[str, str] = {
    "windows": """\
EXAMPLES

  # the last 1, 4, 12 and 24 hours side by side
  liqcli {command} -s BTCUSDT --windows 1h,4h,12h,24h

  # one object per window; a window column in CSV
  liqcli {command} --all-symbols --windows 1h,24h -f json
""",
    "symbols": """\
EXAMPLES

  # every symbol in the store, by name
  liqcli symbols

  # the 10 symbols with the most USD liquidated in the last 24 hours
  liqcli symbols --since 24h --sort usd --top 10

  # where shorts got squeezed most this week, as CSV
  liqcli symbols --since 7d --sort short_usd --top 20 -f csv
""",
}


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
    command: str, request: ReportRequest, *, windows: str | None = None,
    sort: str | None = None, top: int | None = None,
) -> None:
    with errors_handled(request.debug):
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
        store: RollupSource = open_store(request.redis_url, request.prefix)
        stats: CumulativeStats | WindowedStats
        if trailing is not None:
            from liqcli.report.timeparse import parse_window

            _, until_ms = parse_window(None, request.until)
            stats = compute_windows(
                store, list(request.symbols) if request.symbols else None, trailing,
                until_ms=until_ms, exchanges=request.exchanges,
                all_symbols=request.all_symbols,
            )
        else:
            stats = report_stats(request, command, store)
            if sort is not None or top is not None:
                stats = rank_symbols(stats, sort, top)
        render_report(
            stats, command, request.fmt, sys.stdout,
            color=resolve_color(request.color),
            table_style=request.table_style,
            header=request.header,
        )
        sys.stdout.flush()


def _register(command: str) -> None:
    def report(request: ReportRequest) -> None:
        run_report(command, request)

    def windowed(request: ReportRequest, windows: Windows = None) -> None:
        run_report(command, request, windows=windows)

    def ranked(request: ReportRequest, sort: Sort = None, top: Top = None) -> None:
        run_report(command, request, sort=sort, top=top)

    run = windowed if command in WINDOW_COMMANDS else ranked if command == "symbols" else report
    run.__name__ = f"{command}_command"
    run.__doc__ = COMMAND_HELP[command]
    epilog = EXAMPLES["windows"].format(command=command) if command in WINDOW_COMMANDS else (
        EXAMPLES.get(command)
    )
    app.command(name=command, help=COMMAND_HELP[command], epilog=epilog)(report_command(run))


for _command in COMMAND_HELP:
    if wanted(_command):
        _register(_command)
