"""``top``: the largest single liquidations of a window, thin over the core."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.output import Output
from liqcli.cli.report_cmd import StringAmounts
from liqcli.cli.report_options import PANEL, choice, report_command
from liqcli.cli.reporting import ReportRequest, check_selection, resolve_color

HELP = "The N largest single liquidations of the window, by USD (or --by qty), largest first."
BY_CHOICES = ("usd", "qty")
SIDE_CHOICES = ("long", "short")


_check_by, _complete_by = choice(BY_CHOICES, lower=True)
_check_side, _complete_side = choice(SIDE_CHOICES, lower=True)


Count = Annotated[
    int,
    typer.Option("-n", "--count", metavar="N", min=1, max=1000,
                 help="How many liquidations (1-1000).", rich_help_panel=PANEL),
]
By = Annotated[
    str,
    typer.Option("--by", metavar="usd|qty", callback=_check_by,
                 autocompletion=_complete_by,
                 help="Largest by USD notional or by base quantity.", rich_help_panel=PANEL),
]
SideOption = Annotated[
    str | None,
    typer.Option("--side", metavar="long|short", callback=_check_side,
                 autocompletion=_complete_side,
                 help="Only liquidated LONG or SHORT positions.", rich_help_panel=PANEL),
]


def top_command(
    request: ReportRequest, count: Count = 10, by: By = "usd", side: SideOption = None,
    output: Output = None, string_amounts: StringAmounts = False,
) -> None:
    with errors_handled(request.debug):
        from liqcli.formatters import render_report
        from liqcli.report.timeparse import parse_window
        from liqcli.report.top import check_top, compute_top
        from liqcli.store.connection import open_store

        check_selection(request)  # bad times and names are usage errors, before I/O
        check_top(count, by, side)
        since_ms, until_ms = parse_window(request.since, request.until)
        store = open_store(request.redis_url, request.prefix, create=False)
        top = compute_top(
            store, list(request.symbols) if request.symbols else None, n=count, by=by,
            since_ms=since_ms, until_ms=until_ms, exchanges=request.exchanges, side=side,
            all_symbols=request.all_symbols,
        )
        from liqcli.cli.output import text_output

        with text_output(output) as out:
            render_report(
                top, "top", request.fmt, out,
                color=resolve_color(request.color) and out is sys.stdout,
                table_style=request.table_style, header=request.header,
                string_amounts=string_amounts,
            )


app.command(name="top", help=HELP)(report_command(top_command))
