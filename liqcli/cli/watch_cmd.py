"""``liqcli watch``: the live cumulative dashboard (docs/watch.md).

On a terminal (with ``-f table``) a rich Live dashboard filling the terminal, drawn at each
refresh and resize; otherwise one snapshot per refresh on stdout, flushed (``-f ndjson``: one
``summary`` document per line, ``coverage`` included, with the live fields ``refreshed_at``,
``delta``, ``recent`` and, with ``--windows``, ``windows``). The figures and the reconnection
logic are in :mod:`liqcli.report.live`, the dashboard's drawing in
:mod:`liqcli.formatters._dashboard`; this module runs them.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.report_options import report_command
from liqcli.cli.reporting import ReportRequest, check_selection

if TYPE_CHECKING:
    from liqcli.formatters._dashboard import DashboardView
    from liqcli.model import Event
    from liqcli.report.live import Flow, LiveSession, Snapshot, Status

WATCH_PANEL = "Watch"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 0.05
MAX_INTERVAL = 86_400.0  # one day
WATCH_HELP = (
    "Live cumulative dashboard: the whole summary (feed gaps included), refreshed every "
    "--interval seconds, with the change since the previous refresh, the last hour's "
    "activity and the recent liquidations.\n\n"
    "On a terminal it fills the screen (alternate screen; --no-screen keeps the scrollback) "
    "with every section at any size, redrawn at each refresh and resize (Ctrl-C quits). "
    "Piped, it prints one snapshot per refresh, flushed (-f ndjson: one JSON summary object "
    "per line). If the store goes away it keeps running, retries with backoff and marks the "
    "figures stale until the store is back. One refresh costs a few Redis round trips per "
    "symbol (plus one or two for the feed gaps), whatever the store holds."
)
WATCH_EXAMPLES = """

Examples:

  liqcli watch                          # BTCUSDT, all time, every 5 s

  liqcli watch --since 1h --windows 15m,24h

  liqcli watch --min-usd 10000 --sections liquidations,sides,totals

  liqcli watch --all-symbols -f ndjson | jq -c .totals

  liqcli watch -f csv --count 1 >> snapshots.csv   # with refreshed_at
"""


def _check_sections(value: str | None) -> tuple[str, ...] | None:
    from liqcli.formatters._dashboard import SECTIONS

    if value is None:
        return None
    names = [item.strip().lower() for item in value.split(",")]
    for name in names:
        if name not in SECTIONS:
            raise typer.BadParameter(
                f"{name!r} is not a section (choose from {', '.join(SECTIONS)})"
            )
    return tuple(dict.fromkeys(names))


def _complete_sections(incomplete: str) -> list[str]:
    from liqcli.formatters._dashboard import SECTIONS

    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    return [prefix + name for name in SECTIONS if name.startswith(last)]


def _check_windows(value: str | None) -> str | None:
    from liqcli.errors import UsageError
    from liqcli.report.timeparse import parse_windows

    try:
        parse_windows(value)
    except UsageError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--windows: ")) from None
    return value


def _check_min_usd(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not an amount of USD") from None
    if not amount.is_finite() or amount < 0:
        raise typer.BadParameter(f"{value!r} is not an amount of USD (0 or more)")
    return value


def _check_interval(value: float) -> float:
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds")
    return value


@app.command(help=WATCH_HELP + WATCH_EXAMPLES)
@report_command
def watch(
    request: ReportRequest,
    interval: Annotated[
        float,
        typer.Option(
            "-n", "--interval", metavar="SECONDS", min=MIN_INTERVAL, max=MAX_INTERVAL,
            callback=_check_interval,
            help="Seconds between refreshes (0.05 to 86400).", rich_help_panel=WATCH_PANEL,
        ),
    ] = DEFAULT_INTERVAL,
    count: Annotated[
        int | None,
        typer.Option(
            "--count", metavar="N", min=1,
            help="Stop after N refreshes (default: run until Ctrl-C).",
            rich_help_panel=WATCH_PANEL,
        ),
    ] = None,
    screen: Annotated[
        bool,
        typer.Option(
            "--screen/--no-screen",
            help="On a terminal, draw on the alternate screen (the default; restored on exit); "
            "--no-screen draws in the normal screen and keeps the scrollback.",
            rich_help_panel=WATCH_PANEL,
        ),
    ] = True,
    sections: Annotated[
        str | None,
        typer.Option(
            "--sections", metavar="LIST", callback=_check_sections,
            autocompletion=_complete_sections,
            help="Sections to show, in this order (comma list): change, activity, totals, "
            "sides, exchanges, matrix, gaps, liquidations, windows.",
            rich_help_panel=WATCH_PANEL,
        ),
    ] = None,
    windows: Annotated[
        str | None,
        typer.Option(
            "--windows", metavar="LIST", callback=_check_windows,
            help="Add trailing windows ending at each refresh (comma list: 15m,1h,24h).",
            rich_help_panel=WATCH_PANEL,
        ),
    ] = None,
    min_usd: Annotated[
        str | None,
        typer.Option(
            "--min-usd", metavar="USD", callback=_check_min_usd,
            help="Recent liquidations: list only those worth at least USD.",
            rich_help_panel=WATCH_PANEL,
        ),
    ] = None,
) -> None:
    """Live cumulative dashboard (see WATCH_HELP); the report options arrive as ``request``."""
    run_watch(
        request, interval=interval, count=count, screen=screen,
        sections=sections, windows=windows, min_usd=min_usd,
    )


def run_watch(
    request: ReportRequest, *, interval: float, count: int | None = None, screen: bool = True,
    sections: Any = None, windows: str | None = None, min_usd: str | None = None,
) -> None:
    """Run the dashboard until Ctrl-C or ``count`` refreshes (exit status: see docs/watch.md)."""
    from liqcli.formatters._dashboard import SECTIONS

    options = WatchOptions(
        screen=screen,
        sections=tuple(sections) if sections else SECTIONS,
        windows=windows,
        min_usd=Decimal(min_usd.replace("_", "").replace(",", "")) if min_usd else Decimal(0),
    )
    try:
        with errors_handled(request.debug), _interrupt_on_sigterm():
            _watch(request, interval, count, options)
    except KeyboardInterrupt:  # Ctrl-C is how a dashboard is left: not an error
        raise typer.Exit(0) from None


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """``watch``'s own display options."""

    screen: bool = True
    sections: tuple[str, ...] = ()
    windows: str | None = None
    min_usd: Decimal = Decimal(0)


def _watch(request: ReportRequest, interval: float, count: int | None,
           options: WatchOptions) -> None:
    from functools import partial

    from liqcli.errors import StoreError
    from liqcli.report.live import LiveSession, WatchQuery, describe_error
    from liqcli.report.timeparse import parse_windows
    from liqcli.store.connection import connect
    from liqcli.store.store import Store

    # bad times and names are usage errors, before I/O (the dashboard would retry forever)
    check_selection(request)
    # a stalled server must not freeze the dashboard for long: bound each command
    store = Store(
        connect(request.redis_url, socket_timeout=max(5.0, 2 * interval), create=False),
        prefix=request.prefix,
    )
    query = WatchQuery(
        symbols=request.symbols,
        all_symbols=request.all_symbols,
        exchanges=request.exchanges,
        since=request.since,
        until=request.until,
        windows=parse_windows(options.windows),
        min_usd=options.min_usd,
    )
    session = LiveSession(
        store, query, interval, describe=partial(describe_error, url=request.redis_url)
    )
    if request.fmt == "table" and request.table_style is None and _isatty(sys.stdout):
        _run_live(session, count, options, request.color)
    else:
        _run_stream(session, count, request)
    if session.status.stale:  # --count ended while the store was unreachable
        raise StoreError(session.status.error or "store unreachable")


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (ValueError, OSError):
        return False


@contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the dashboard like Ctrl-C (terminal restored, exit 0)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _refreshes(
    session: LiveSession, count: int | None, wait: Callable[[float], None] = time.sleep
) -> Iterator[Status]:
    """Refresh attempts at the session's pace, ``count`` of them (None: forever); ``wait``
    sleeps (and may do other work, such as redrawing after a resize, while it waits)."""
    while True:
        delay = session.due_in()
        if delay > 0:
            wait(delay)
        status = session.refresh()
        yield status
        if count is not None and status.refreshes >= count:
            return


# ------------------------------------------------------------------ streaming
def _run_stream(session: LiveSession, count: int | None, request: ReportRequest) -> None:
    from liqcli.formatters._dashboard import seconds

    out = sys.stdout
    first = True
    for status in _refreshes(session, count):
        if status.stale:
            _note(
                f"reconnecting (attempt {status.attempt}, next in {seconds(status.next_in)}): "
                f"{status.error}"
            )
            continue
        if status.recovered:
            _note("store reachable again")
        assert status.snapshot is not None
        write_snapshot(status.snapshot, request, out, first=first)
        out.flush()
        first = False


def _note(message: str) -> None:
    sys.stderr.write(f"liqcli: {message}\n")
    sys.stderr.flush()


def write_snapshot(
    snapshot: Snapshot, request: ReportRequest, out: TextIO, *, first: bool = True
) -> None:
    """One refresh in a streaming format (``first``: csv/tsv write their header once)."""
    from liqcli.formatters._dashboard import live_lines, no_data_text

    fmt = request.fmt
    if fmt in ("ndjson", "json"):
        from liqcli.formatters._document import dumps

        indent = None if fmt == "ndjson" else 2
        out.write(dumps(watch_document(snapshot), indent=indent) + "\n")
    elif fmt == "table" and request.table_style is None and request.color == "always":
        from rich.console import Console

        console = Console(
            file=out, force_terminal=True, markup=False, highlight=False, emoji=False,
            soft_wrap=False,
        )
        from rich.text import Text

        from liqcli.formatters._display import gaps_table
        from liqcli.formatters.table import renderable, rich_table

        console.print(_stream_title(snapshot), style="bold")
        for line in live_lines(snapshot):
            console.print(Text.assemble(*line))
        if snapshot.empty:
            console.print(no_data_text(snapshot), style="yellow")
            gaps = gaps_table(snapshot.stats)
            if gaps is not None:
                console.print(rich_table(gaps))
        else:
            console.print(renderable(snapshot.stats, "summary"))
        console.print()
    elif fmt == "table":
        from liqcli.formatters._display import gaps_table
        from liqcli.formatters.table import DEFAULT_PLAIN_STYLE, plain_table, plain_text

        style = request.table_style or DEFAULT_PLAIN_STYLE
        lines = [_stream_title(snapshot)]
        lines += ["".join(text for text, _ in line) for line in live_lines(snapshot)]
        if snapshot.empty:
            lines.append(no_data_text(snapshot))
            gaps = gaps_table(snapshot.stats)  # silence with a feed down: show why
            if gaps is not None:
                lines += ["", plain_table(gaps, style)]
        out.write("\n".join(lines) + "\n")
        if not snapshot.empty:
            out.write(plain_text(snapshot.stats, "summary", style))
        out.write("\n")
    elif fmt in ("csv", "tsv"):
        from liqcli.formatters import RenderOptions
        from liqcli.formatters._delimited import write

        write(
            snapshot.stats, "summary", out, RenderOptions(header=request.header and first),
            "," if fmt == "csv" else "\t", leading={"refreshed_at": _iso(snapshot.refreshed_ms)},
        )
    else:
        from liqcli.formatters import render_report

        render_report(
            snapshot.stats, "summary", fmt, out, color=False,
            table_style=request.table_style, header=request.header and first,
        )


def _stream_title(snapshot: Snapshot) -> str:
    return f"── liqcli watch · refreshed {_iso(snapshot.refreshed_ms)} ──"


def watch_document(snapshot: Snapshot) -> dict[str, Any]:
    """The ``summary`` JSON document plus the live fields ``refreshed_at``, ``delta``,
    ``recent`` (docs/watch.md)."""
    from liqcli.formatters._document import document

    doc = document(snapshot.stats, "summary")
    doc["refreshed_at"] = _iso(snapshot.refreshed_ms)
    delta = snapshot.delta
    doc["delta"] = None if delta is None else {
        "since": _iso(delta.previous_ms),
        "events": delta.events,
        "usd": delta.usd,
        "qty": delta.qty,
        "sides": [{"side": c.key, "events": c.events, "usd": c.usd} for c in delta.sides],
        "exchanges": [
            {"exchange": c.key, "events": c.events, "usd": c.usd} for c in delta.exchanges
        ],
        "new_exchanges": list(delta.new_exchanges),
        "new_symbols": list(delta.new_symbols),
        "entered": _flow(delta.entered),
        "left": _flow(delta.left),
    }
    recent = snapshot.recent
    doc["recent"] = {
        "now": _iso(recent.now_ms),
        "last_15m": {
            "since": _iso(recent.since_15m_ms),
            "events": recent.events_15m,
            "usd": recent.usd_15m,
        },
        "per_minute": {
            "start": _iso(recent.start_ms),
            "usd": list(recent.usd_per_minute),
            "events": list(recent.events_per_minute),
        },
        "liquidations": [_liquidation(event) for event in snapshot.liquidations],
    }
    if snapshot.windows:
        doc["windows"] = [
            {
                "window": window.label,
                "since": _iso(snapshot.refreshed_ms - window.length_ms),
                "events": window.stats.totals.events,
                "usd": window.stats.totals.usd,
                "sides": [{"side": row.side, "events": row.events, "usd": row.usd}
                          for row in window.stats.sides],
                "exchanges": [{"exchange": row.exchange, "events": row.events, "usd": row.usd}
                              for row in window.stats.exchanges],
            }
            for window in snapshot.windows
        ]
    return doc


def _flow(flow: Flow | None) -> dict[str, Any] | None:
    return None if flow is None else {"events": flow.events, "usd": flow.usd}


def _liquidation(event: Event) -> dict[str, Any]:
    from liqcli.formatters._display import tier_of

    tier = tier_of(event.usd)
    return {
        "time": _iso(event.ts_ms), "exchange": event.exchange, "symbol": event.symbol,
        "side": event.side, "usd": event.usd, "price": event.price, "qty": event.qty,
        "tier": tier.label if tier else None,
    }


def _iso(ms: int) -> str:
    from liqcli.report.timeparse import iso_utc

    return iso_utc(ms)


def _view(session: LiveSession, options: WatchOptions, height: int | None) -> DashboardView:
    from liqcli.formatters._dashboard import DashboardView

    status = session.status
    return DashboardView(
        snapshot=status.snapshot,
        stale=status.stale,
        attempt=status.attempt,
        error=status.error,
        next_ms=session.wall() + round(session.due_in() * 1000),
        interval=session.interval,
        sections=options.sections,
        min_usd=options.min_usd,
        height=height,
    )


@contextmanager
def _resizes() -> Iterator[Callable[[float], bool]]:
    """A ``wait(seconds)`` that returns True early when the terminal was resized (SIGWINCH),
    False after the full time: a self-pipe the signal handler writes to."""
    import select
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # no signals there

        def sleep(timeout: float) -> bool:
            time.sleep(max(0.0, timeout))
            return False

        yield sleep
        return

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def handler(signum: int, frame: Any) -> None:
        with suppress(BlockingIOError):  # a resize is already pending
            os.write(write_fd, b"w")

    def wait(timeout: float) -> bool:
        ready, _, _ = select.select([read_fd], [], [], max(0.0, timeout))
        if ready:
            os.read(read_fd, 4096)
            return True
        return False

    previous = signal.signal(signal.SIGWINCH, handler)
    try:
        yield wait
    finally:
        signal.signal(signal.SIGWINCH, previous)
        os.close(read_fd)
        os.close(write_fd)


def _run_live(
    session: LiveSession, count: int | None, options: WatchOptions, color: str
) -> None:
    """The dashboard on a terminal: drawn at each refresh and after each resize, never in
    between (so an idle dashboard costs one refresh per interval)."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console(
        markup=False, highlight=False, emoji=False,
        no_color={"never": True, "always": False}.get(color),
        force_terminal=True,
    )

    def fit() -> None:  # the terminal's size now (COLUMNS/LINES do not pin a live terminal)
        try:
            size = os.get_terminal_size(sys.stdout.fileno())
        except (OSError, ValueError):
            return
        console.size = (size.columns, size.lines)

    fit()
    # in the normal screen one line stays free, so that the last one never scrolls the view
    height = None if options.screen else max(console.height - 1, 1)
    with _resizes() as resized, Live(
        Text("liqcli watch: connecting…", style="dim"),
        console=console,
        screen=options.screen,
        auto_refresh=False,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
        vertical_overflow="crop",
    ) as live:

        def wait(delay: float) -> None:
            nonlocal height
            deadline = time.monotonic() + delay
            while resized(deadline - time.monotonic()):
                fit()
                if not options.screen:  # the old frame may have been reflowed: start over
                    height = max(console.height - 1, 1)
                    console.clear()
                if session.status.refreshes:
                    live.update(_view(session, options, height), refresh=True)

        for _ in _refreshes(session, count, wait):
            live.update(_view(session, options, height), refresh=True)
