"""``levels``: executed liquidations of one symbol by price band, thin over the core."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.output import Output
from liqcli.cli.report_cmd import StringAmounts
from liqcli.cli.report_options import PANEL, report_command
from liqcli.cli.reporting import ReportRequest, check_selection, resolve_color

HELP = (
    "Executed liquidations of one symbol by price band: LONG and SHORT per band, as a bar "
    "chart by price on a terminal. Bands of --step (quote currency) or --bands N over the "
    "window's price range (default 20 bands)."
)


def _decimal(value: str | None) -> str | None:
    if value is None:
        return None
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise typer.BadParameter(f"{value!r} is not a positive amount")
    return value


Step = Annotated[
    str | None,
    typer.Option("--step", metavar="AMOUNT", callback=_decimal,
                 help="Band width in the quote currency (e.g. 100); snapped up to a multiple "
                 "of the finest resolution (4 significant digits of the price).",
                 rich_help_panel=PANEL),
]
Bands = Annotated[
    int | None,
    typer.Option("--bands", metavar="N", min=1, max=1000,
                 help="About N bands over the window's price range (default 20).",
                 rich_help_panel=PANEL),
]


def levels_command(request: ReportRequest, step: Step = None, bands: Bands = None,
    output: Output = None, string_amounts: StringAmounts = False,
) -> None:
    with errors_handled(request.debug):
        from decimal import Decimal

        from liqcli.errors import UsageError
        from liqcli.formatters import render_report
        from liqcli.report.levels import check_levels, compute_levels
        from liqcli.report.timeparse import parse_window
        from liqcli.store.connection import open_store

        check_selection(request)  # bad times and names are usage errors, before I/O
        amount = None if step is None else Decimal(step)
        check_levels(amount, bands)
        if request.all_symbols or (request.symbols and len(
                [s for item in request.symbols for s in item.split(",") if s.strip()]) > 1):
            raise UsageError("levels reports one symbol at a time (-s SYMBOL)")
        since_ms, until_ms = parse_window(request.since, request.until)
        store = open_store(request.redis_url, request.prefix, create=False)
        levels = compute_levels(
            store, list(request.symbols) if request.symbols else "BTCUSDT", step=amount,
            bands=bands, since_ms=since_ms, until_ms=until_ms, exchanges=request.exchanges,
        )
        from liqcli.cli.output import text_output

        with text_output(output) as out:
            render_report(
                levels, "levels", request.fmt, out,
                color=resolve_color(request.color) and out is sys.stdout,
                table_style=request.table_style, header=request.header,
                string_amounts=string_amounts,
            )


app.command(name="levels", help=HELP)(report_command(levels_command))
