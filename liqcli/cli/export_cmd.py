"""``liqcli export``: the stored events of a selection and window, in the event contract."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.options import Debug, Prefix, RedisUrl
from liqcli.cli.output import Output
from liqcli.cli.report_options import AllSymbols, Exchanges, Since, Symbols, Until

SIDES = ("long", "short")

HELP = """Write the stored events of the selection and window as JSON Lines, CSV or Parquet.

The output is the event contract that `liqcli ingest` reads, ordered by event time, with ids
kept: `liqcli export ... | liqcli ingest -` into an empty store gives the same figures and the
same identities. It streams (memory bounded by one day of one symbol per symbol). A name ending
in .gz is compressed; -o writes atomically (a temporary file renamed at the end).

EXAMPLES

  liqcli export -s BTCUSDT --since 7d > btc-week.jsonl

  liqcli export --all-symbols --since 2024-08-01 --until 2024-09-01 -o august.csv.gz

  liqcli export -s ETHUSDT -f parquet -o eth.parquet      # needs liqcli[parquet]

  liqcli export --all-symbols | liqcli ingest --redis-url embedded:./copy.rdb -
"""


def _check_format(value: str | None) -> str | None:
    from liqcli.formatters._contract import FORMATS

    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(FORMATS)}")
    return value


def _check_side(value: str | None) -> str | None:
    if value is not None and value.lower() not in SIDES:
        raise typer.BadParameter(f"{value!r} is not one of long, short")
    return value


def output_format(fmt: str | None, output: str | None) -> str:
    """The format asked for, else the one the output name says (.csv, .parquet), else jsonl."""
    if fmt is not None:
        return fmt
    name = (output or "").lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    return "csv" if name.endswith(".csv") else "jsonl"


@app.command(name="export", help=HELP)
def export_command(
    symbol: Symbols = None,
    all_symbols: AllSymbols = False,
    exchange: Exchanges = None,
    since: Since = None,
    until: Until = None,
    side: Annotated[
        str | None,
        typer.Option("--side", metavar="SIDE", callback=_check_side,
                     help="Only LONG or SHORT liquidations.", rich_help_panel="Report"),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("-f", "--format", metavar="FORMAT", callback=_check_format,
                     help="jsonl, csv or parquet (default: from the -o name, else jsonl).",
                     rich_help_panel="Output"),
    ] = None,
    output: Output = None,
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> None:
    with errors_handled(debug):
        from liqcli.cli.output import atomic_path, text_output
        from liqcli.errors import UsageError
        from liqcli.formatters._contract import TEXT_WRITERS, write_parquet
        from liqcli.report.core import normalize_exchanges, normalize_symbols
        from liqcli.report.events import ordered_events
        from liqcli.report.timeparse import parse_window
        from liqcli.store.connection import open_store

        chosen = output_format(fmt, output)
        if chosen == "parquet" and (output is None or output == "-"):
            raise UsageError("Parquet needs a file: -o FILE.parquet")
        since_ms, until_ms = parse_window(since, until)
        wanted = normalize_symbols(tuple(symbol) if symbol else None)
        exchanges = normalize_exchanges(tuple(exchange or ()))
        store = open_store(redis_url, prefix, create=False)
        symbols = store.symbols() if all_symbols else list(wanted)
        events = ordered_events(
            store, symbols, since_ms, until_ms, exchanges=exchanges,
            side="LONG" if side and side.lower() == "long" else
            "SHORT" if side else None,
        )
        if chosen == "parquet":
            assert output is not None
            with atomic_path(output) as temp:
                count = write_parquet(events, temp)
        else:
            with text_output(output) as out:
                count = TEXT_WRITERS[chosen](events, out)
        if output not in (None, "-"):
            sys.stderr.write(f"exported {count} events to {output}\n")
