"""``liqcli tail``: individual liquidations as they are stored, newest last (docs/alerts.md).

The replay/follow logic is :class:`liqcli.report.follow.Follower`; this module filters and
prints, one flushed line per event.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.report_options import report_command
from liqcli.cli.reporting import ReportRequest, check_selection

TAIL_PANEL = "Tail"
TAIL_HELP = (
    "Individual liquidations as they are stored, newest last: time, exchange, symbol, side, "
    "price, qty, USD — one line per event, flushed. On a terminal the table is coloured by "
    "side and by USD tier (50k / 100k / 200k / 1M); -f ndjson|csv|tsv for machines.\n\n"
    "--since replays what is stored from then, in event-time order, then follows; without it "
    "the tail starts now. If the store goes away, tail reconnects and continues from its "
    "cursors: nothing skipped, nothing printed twice. Ctrl-C quits (exit 0)."
)
def _check_side(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in ("LONG", "SHORT"):
        raise typer.BadParameter(f"{value!r} is not LONG or SHORT")
    return value.upper()


def _complete_side(incomplete: str) -> list[str]:
    return [s for s in ("LONG", "SHORT") if s.startswith(incomplete.upper())]


Side_ = Annotated[
    str | None,
    typer.Option("--side", metavar="SIDE", callback=_check_side, autocompletion=_complete_side,
                 help="Only LONG or only SHORT liquidations.", rich_help_panel=TAIL_PANEL),
]


@app.command(help=TAIL_HELP)
@report_command
def tail(
    request: ReportRequest,
    side: Side_ = None,
    min_usd: Annotated[
        str | None,
        typer.Option("--min-usd", metavar="USD", help="Only events of at least this notional.",
                     rich_help_panel=TAIL_PANEL),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option("--count", metavar="N", min=1, help="Stop after N events.",
                     rich_help_panel=TAIL_PANEL),
    ] = None,
    no_follow: Annotated[
        bool,
        typer.Option("--no-follow", help="Print the replay (--since) and stop; --until implies "
                     "it.", rich_help_panel=TAIL_PANEL),
    ] = False,
) -> None:
    """Individual liquidations as stored (see TAIL_HELP)."""
    try:
        with errors_handled(request.debug):
            _tail(request, side, min_usd, count, follow=not no_follow)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _tail(
    request: ReportRequest, side: str | None, min_usd: str | None, count: int | None,
    *, follow: bool,
) -> None:
    from functools import partial

    from liqcli.cli.reporting import resolve_color
    from liqcli.errors import UsageError
    from liqcli.formatters._events import LINE_FORMATS, EventWriter
    from liqcli.report.alerts import amount
    from liqcli.report.core import normalize_exchanges, normalize_symbols
    from liqcli.report.follow import Follower
    from liqcli.report.live import describe_error
    from liqcli.report.timeparse import parse_window
    from liqcli.store.connection import open_store

    check_selection(request)
    if request.fmt not in LINE_FORMATS:
        raise UsageError(f"tail prints one line per event: -f {', '.join(LINE_FORMATS)}")
    floor = amount(min_usd, "--min-usd", positive=False) if min_usd is not None else Decimal(0)
    since_ms, until_ms = parse_window(request.since, request.until)
    if until_ms is not None:
        follow = False
    if not follow and since_ms is None:
        raise UsageError("--no-follow/--until need --since (what to replay)")
    exchanges = set(normalize_exchanges(request.exchanges))
    symbols = None if request.all_symbols else normalize_symbols(request.symbols)
    store = open_store(request.redis_url, request.prefix)
    writer = EventWriter(request.fmt, sys.stdout, color=resolve_color(request.color),
                         header=request.header)
    follower = Follower(store, symbols, since_ms=since_ms, until_ms=until_ms, follow=follow,
                        describe=partial(describe_error, url=request.redis_url))
    printed = 0
    for item in follower:
        if item.notice is not None:
            sys.stderr.write(f"liqcli: {item.notice}\n")
            sys.stderr.flush()
            continue
        event = item.event
        assert event is not None
        if (exchanges and event.exchange not in exchanges) or (
            side is not None and event.side != side
        ) or event.usd < floor:
            continue
        writer.write(event)
        printed += 1
        if count is not None and printed >= count:
            break
    writer.finish()
