"""``liqcli watch``: the live cumulative dashboard (docs/watch.md).

On a terminal (with ``-f table``) a rich Live dashboard redrawn in place; otherwise one snapshot
per refresh on stdout, flushed (``-f ndjson``: one ``summary`` document per line, ``coverage``
included, with the live fields ``refreshed_at``, ``delta`` and ``recent``). The figures and the
reconnection logic are in :mod:`liqcli.report.live`; this module only draws them.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.report_options import report_command
from liqcli.cli.reporting import ReportRequest, check_selection

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from liqcli.report.live import Delta, LiveSession, Snapshot, Status
    from liqcli.report.stats import CumulativeStats

WATCH_PANEL = "Watch"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 0.05
MAX_INTERVAL = 86_400.0  # one day
WATCH_HELP = (
    "Live cumulative dashboard: the whole summary (feed gaps included), refreshed every "
    "--interval seconds, with the change since the previous refresh and the last hour's "
    "activity.\n\n"
    "On a terminal it redraws in place (Ctrl-C quits). Piped, it prints one snapshot per "
    "refresh, flushed (-f ndjson: one JSON summary object per line). If the store goes away "
    "it keeps running, retries with backoff and marks the figures stale until the store is "
    "back. One refresh costs a few Redis round trips per symbol (plus one or two for the feed "
    "gaps), whatever the store holds."
)


def _check_interval(value: float) -> float:
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds")
    return value


@app.command(help=WATCH_HELP)
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
            "--screen", help="Use the terminal's alternate screen (restored on exit).",
            rich_help_panel=WATCH_PANEL,
        ),
    ] = False,
) -> None:
    """Live cumulative dashboard (see WATCH_HELP); the report options arrive as ``request``."""
    run_watch(request, interval=interval, count=count, screen=screen)


def run_watch(
    request: ReportRequest, *, interval: float, count: int | None = None, screen: bool = False
) -> None:
    """Run the dashboard until Ctrl-C or ``count`` refreshes (exit status: see docs/watch.md)."""
    try:
        with errors_handled(request.debug), _interrupt_on_sigterm():
            _watch(request, interval, count, screen)
    except KeyboardInterrupt:  # Ctrl-C is how a dashboard is left: not an error
        raise typer.Exit(0) from None


def _watch(request: ReportRequest, interval: float, count: int | None, screen: bool) -> None:
    from functools import partial

    from liqcli.errors import StoreError
    from liqcli.report.live import LiveSession, WatchQuery, describe_error
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
    )
    session = LiveSession(
        store, query, interval, describe=partial(describe_error, url=request.redis_url)
    )
    if request.fmt == "table" and request.table_style is None and _isatty(sys.stdout):
        _run_live(session, count, screen, request.color)
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


def _refreshes(session: LiveSession, count: int | None) -> Iterator[Status]:
    """Refresh attempts at the session's pace, ``count`` of them (None: forever)."""
    while True:
        delay = session.due_in()
        if delay > 0:
            time.sleep(delay)
        status = session.refresh()
        yield status
        if count is not None and status.refreshes >= count:
            return


# ------------------------------------------------------------------ streaming
def _run_stream(session: LiveSession, count: int | None, request: ReportRequest) -> None:
    out = sys.stdout
    first = True
    for status in _refreshes(session, count):
        if status.stale:
            _note(
                f"reconnecting (attempt {status.attempt}, next in {_seconds(status.next_in)}): "
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
        console.print(_stream_title(snapshot), style="bold")
        console.print(_snapshot_renderable(snapshot, stale=False))
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
    }
    return doc


# ----------------------------------------------------------------- text parts
Segment = tuple[str, str]  # (text, rich style)


def live_lines(snapshot: Snapshot) -> list[list[Segment]]:
    """The live-only lines: change since the previous refresh, last 15 minutes, sparkline."""
    from liqcli.formatters._text import fmt_int, fmt_usd
    from liqcli.report.live import RECENT_MINUTES, sparkline

    lines: list[list[Segment]] = []
    delta = snapshot.delta
    title = "Change since previous refresh"
    if delta is None:
        lines.append([(f"{title}: ", "bold"),
                      ("first refresh (changes show from the next one)", "dim")])
    elif delta.changed:
        lines.append([(f"{title} ({_clock(delta.previous_ms)}): ", "bold"),
                      *change_segments(delta, snapshot.stats.base)])
    else:
        line: list[Segment] = [(f"{title} ({_clock(delta.previous_ms)}): ", "bold"),
                               ("none", "dim")]
        last = snapshot.last_change
        if last is not None:
            line.append((f" · last change, at {_clock(last.current_ms)}: ", "dim"))
            line += change_segments(last, snapshot.stats.base)
        lines.append(line)
    recent = snapshot.recent
    lines.append([
        (f"Last {RECENT_MINUTES} min: ", "bold"),
        (f"{fmt_int(recent.events_15m)} events · {fmt_usd(recent.usd_15m)} USD", ""),
    ])
    peak = max(recent.usd_per_minute, default=Decimal(0))
    lines.append([
        ("USD per minute, last hour: ", "bold"),
        ("▕", "dim"), (sparkline(recent.usd_per_minute), "cyan"), ("▏", "dim"),
        (f" peak {fmt_usd(peak)} USD/min", "dim"),
    ])
    return lines


def change_segments(delta: Delta, base: str | None) -> list[Segment]:
    """``+3 events · +12,345.67 USD · +0.1 BTC · LONG +2 / +… · SHORT +1 / +… · new …``."""
    line: list[Segment] = [
        (f"{_signed_int(delta.events)} events", _change_style(delta.events)),
        (" · ", "dim"),
        (f"{_signed_usd(delta.usd)} USD", _change_style(delta.usd)),
    ]
    if delta.qty is not None and base:
        line += [(" · ", "dim"), (f"{_signed_qty(delta.qty)} {_printable(base)}", "")]
    for change in delta.sides:
        line += [
            (" · ", "dim"),
            (change.key, "red" if change.key == "LONG" else "green"),
            (f" {_signed_int(change.events)} / {_signed_usd(change.usd)}", ""),
        ]
    if delta.new_exchanges:
        line += [(" · new exchange: ", "dim"),
                 (", ".join(_printable(n) for n in delta.new_exchanges), "bold")]
    if delta.new_symbols:
        line += [(" · new symbol: ", "dim"),
                 (", ".join(_printable(n) for n in delta.new_symbols), "bold")]
    return line


def no_data_text(snapshot: Snapshot) -> str:
    from liqcli.formatters._display import heading

    return (
        f"No data yet for {heading(snapshot.stats, 'summary')}. Waiting for events: the "
        "figures appear at the next refresh after they are ingested."
    )


def _signed_int(value: int) -> str:
    return f"{value:+,}"


def _signed_usd(value: Decimal) -> str:
    from liqcli.formatters._text import fmt_usd

    text = fmt_usd(value)
    return text if text.startswith("-") else f"+{text}"


def _signed_qty(value: Decimal) -> str:
    from liqcli.formatters._text import fmt_qty

    text = fmt_qty(value)
    return text if text.startswith("-") else f"+{text}"


def _change_style(value: int | Decimal) -> str:
    return "bold" if value else "dim"


def _printable(text: str) -> str:
    from liqcli.formatters._text import printable

    return printable(text)


def _iso(ms: int) -> str:
    from liqcli.report.timeparse import iso_utc

    return iso_utc(ms)


def _clock(ms: int) -> str:
    """``HH:MM:SS`` UTC of an epoch-ms time."""
    return _iso(ms)[11:19]


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 10 else f"{value:.0f}s"


# ---------------------------------------------------------------------- rich
def _text(segments: list[Segment]) -> Any:
    from rich.text import Text

    text = Text(no_wrap=False)
    for content, style in segments:
        text.append(content, style=style or None)
    return text


def _snapshot_renderable(snapshot: Snapshot, *, stale: bool) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.styled import Styled
    from rich.text import Text

    parts: list[RenderableType] = [_text(line) for line in live_lines(snapshot)]
    parts.append(Text(""))
    if snapshot.empty:
        from liqcli.formatters._display import gaps_table
        from liqcli.formatters.table import rich_table

        parts.append(Panel(Text(no_data_text(snapshot)), title="no data yet", border_style="yellow",
                           title_align="left"))
        gaps = gaps_table(snapshot.stats)  # silence with a feed down: show why
        if gaps is not None:
            parts += [Text(""), rich_table(gaps)]
    else:
        parts.append(SummaryBlock(snapshot.stats))
    body = Group(*parts)
    return Styled(body, "dim") if stale else body


@dataclass(frozen=True, slots=True)
class SummaryBlock:
    """The whole summary (the table formatter's rich tables, feed gaps included), two tables
    side by side where the terminal is wide enough, so that the dashboard fits more terminals
    without cropping."""

    stats: CumulativeStats
    gap: int = 3

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.measure import Measurement
        from rich.table import Table
        from rich.text import Text

        from liqcli.formatters._display import covered, display_tables, heading
        from liqcli.formatters.table import rich_table

        yield Text(heading(self.stats, "summary"), style="bold")
        yield Text(covered(self.stats), style="dim")
        tables = [rich_table(table) for table in display_tables(self.stats, "summary")]
        widths = [Measurement.get(console, options, t).maximum for t in tables]
        index = 0
        while index < len(tables):
            yield Text("")
            pair = index + 1 < len(tables)
            if pair and widths[index] + self.gap + widths[index + 1] <= options.max_width:
                grid = Table.grid(padding=(0, self.gap))
                grid.add_row(tables[index], tables[index + 1])
                yield grid
                index += 2
            else:
                yield tables[index]
                index += 1


@dataclass(frozen=True, slots=True)
class DashboardView:
    """An immutable picture of one refresh; renders the status line with a live countdown."""

    snapshot: Snapshot | None
    stale: bool
    attempt: int
    error: str | None
    next_at: float  # monotonic time of the next attempt
    interval: float
    clock: Callable[[], float] = time.monotonic

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.console import Group
        from rich.rule import Rule
        from rich.text import Text

        left = max(0.0, self.next_at - self.clock())
        status = Text()
        status.append("liqcli watch", style="bold")
        if not self.stale and self.snapshot is not None:
            status.append("  ● live", style="bold green")
            status.append(f" · refreshed {_clock(self.snapshot.refreshed_ms)} UTC", style="")
            status.append(f" · every {_seconds(self.interval)} · next in {_seconds(left)}",
                          style="dim")
        else:
            status.append(f"  ⟳ reconnecting (attempt {self.attempt})", style="bold red")
            status.append(f" · next try in {_seconds(left)}", style="dim")
            if self.snapshot is not None:
                status.append(
                    f" · figures STALE since {_clock(self.snapshot.refreshed_ms)} UTC",
                    style="bold yellow",
                )
        status.append(" · Ctrl-C quits", style="dim")
        parts: list[RenderableType] = [status]
        if self.error:
            parts.append(Text(self.error, style="red"))
        parts.append(Rule(style="dim"))
        if self.snapshot is None:
            parts.append(Text("Waiting for the store: no figures yet.", style="yellow"))
        else:
            parts.append(_snapshot_renderable(self.snapshot, stale=self.stale))
        yield Group(*parts)


def _view(session: LiveSession) -> DashboardView:
    status = session.status
    return DashboardView(
        snapshot=status.snapshot,
        stale=status.stale,
        attempt=status.attempt,
        error=status.error,
        next_at=session.clock() + session.due_in(),
        interval=session.interval,
        clock=session.clock,
    )


def _run_live(session: LiveSession, count: int | None, screen: bool, color: str) -> None:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console(
        markup=False, highlight=False, emoji=False,
        no_color={"never": True, "always": False}.get(color),
        force_terminal=True,
    )
    with Live(
        Text("liqcli watch: connecting…", style="dim"),
        console=console,
        screen=screen,
        auto_refresh=True,
        refresh_per_second=2,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
        vertical_overflow="crop" if screen else "ellipsis",
    ) as live:
        for _ in _refreshes(session, count):
            live.update(_view(session), refresh=True)
