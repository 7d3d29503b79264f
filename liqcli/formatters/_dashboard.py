"""The live dashboard of ``liqcli watch``, drawn with rich (docs/watch.md).

It draws what :mod:`liqcli.report.live` and the core compute (a :class:`Snapshot`); nothing
here reads the store. The layout adapts to the terminal: the sections are rich tables packed
side by side into rows (a rich ``Layout`` of exactly the terminal's size), and when they do not
fit, detail is dropped level by level, least important first (:data:`LEVELS`: columns, rows of
the totals, bar cells, headers, title lines), so that every section stays visible and no figure
is ever cut: figures are ``no_wrap`` columns as wide as their widest cell. Tables are sized
without rendering (:func:`grid_size`) and drawn again only when what they show changes
(:class:`Unchanged`), which keeps an idle dashboard cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from liqcli.formatters._display import heading, tier_of
from liqcli.formatters._text import (
    NONE_TEXT,
    fmt_int,
    fmt_pct,
    fmt_qty,
    fmt_rate,
    fmt_span,
    fmt_usd,
    printable,
)
from liqcli.formatters.table import SIDE_COLOURS, exchange_colour
from liqcli.report.timeparse import iso_utc

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table
    from rich.text import Text

    from liqcli.model import Event
    from liqcli.report.live import Delta, Snapshot
    from liqcli.report.stats import CumulativeStats

# Sections, in their default order. "change" and "activity" are full-width lines at the top;
# the others are tables. "gaps" shows when the live collector left coverage records, "windows"
# with --windows.
SECTIONS = (
    "change", "activity", "totals", "sides", "exchanges", "matrix", "gaps", "liquidations",
    "windows",
)
LINE_SECTIONS = ("change", "activity")
SECTION_TITLES = {
    "totals": "Totals",
    "sides": "Long vs short",
    "exchanges": "By exchange",
    "matrix": "Exchange × side",
    "gaps": "Feed gaps",
    "liquidations": "Recent liquidations",
    "windows": "Trailing windows",
}
# What each level drops, cumulatively (the first level that fits the terminal is drawn):
LEVELS = (
    "full: every column of the summary tables, 20-cell bars, timestamps in full",
    "compact: short labels; no Events % / Qty % columns; totals without the averages per "
    "base unit, first event and duration; exchange × side as one row per exchange; "
    "10-cell bars; feed gaps with short times",
    "narrow: no base-quantity columns; exchange × side in USD only; liquidations without "
    "price; 6-cell bars; the change line without the per-side part, the activity line "
    "without the peak minute",
    "minimal: no column headers in sides and exchanges; totals as events, USD and quantity; "
    "sparkline of the last 30 minutes; at least one recent liquidation",
    "tiny: a table's title heads its first column instead of a line of its own; feed gaps "
    "as one row per exchange with gaps (how many, how long in all, until when)",
)
MINIMAL = 3  # the level that keeps the fewest columns (the next ones drop lines, not columns)
SPARK_SHORT = 30
MIN_LIQUIDATIONS = (3, 3, 2, 1, 1)  # rows of the recent-liquidations pane kept at each level
BAR_WIDTHS = (20, 10, 6, 6, 6)
GAP = 2  # columns between tables side by side

Segment = tuple[str, str]  # (text, rich style)


# ------------------------------------------------------------------ text parts
def clock(ms: int) -> str:
    """``HH:MM:SS`` UTC of an epoch-ms time."""
    return iso_utc(ms)[11:19]


def seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 10 else f"{value:.0f}s"


def signed_int(value: int) -> str:
    return f"{value:+,}"


def signed_usd(value: Decimal) -> str:
    text = fmt_usd(value)
    return text if text.startswith("-") else f"+{text}"


def signed_qty(value: Decimal) -> str:
    text = fmt_qty(value)
    return text if text.startswith("-") else f"+{text}"


def _change_style(value: int | Decimal) -> str:
    return "bold" if value else "dim"


def change_parts(delta: Delta, base: str | None, *, per_side: bool = True) -> list[list[Segment]]:
    """The change since the previous refresh as parts never to be split across lines.

    A fixed window: ``+3 events``, ``+12,345.67 USD``, ``+0.1 BTC``, ``LONG +2 / +…`` …; a
    sliding one: ``entered +5 / +…``, ``left -3 / -…``, then the rest labelled net.
    """
    parts: list[list[Segment]] = []
    net = ""
    if delta.entered is not None and delta.left is not None:
        parts.append([("entered ", "dim"), (
            f"{signed_int(delta.entered.events)} / {signed_usd(delta.entered.usd)} USD",
            _change_style(delta.entered.events))])
        parts.append([("left ", "dim"), (
            f"{signed_int(-delta.left.events)} / {signed_usd(-delta.left.usd)} USD",
            _change_style(delta.left.events))])
        net = "net "
    parts.append([(f"{net}{signed_int(delta.events)} events", _change_style(delta.events))])
    parts.append([(f"{signed_usd(delta.usd)} USD", _change_style(delta.usd))])
    if delta.qty is not None and base:
        parts.append([(f"{signed_qty(delta.qty)} {printable(base)}", "")])
    if per_side:
        for change in delta.sides:
            parts.append([
                (change.key, SIDE_COLOURS.get(change.key, "")),
                (f" {net}{signed_int(change.events)} / {signed_usd(change.usd)}", ""),
            ])
    if delta.new_exchanges:
        parts.append([("new exchange: ", "dim"),
                      (", ".join(printable(n) for n in delta.new_exchanges), "bold")])
    if delta.new_symbols:
        parts.append([("new symbol: ", "dim"),
                      (", ".join(printable(n) for n in delta.new_symbols), "bold")])
    return parts


def change_lines(snapshot: Snapshot, *, per_side: bool = True) -> list[list[Segment]]:
    """The change line's parts; the first part is its title."""
    delta = snapshot.delta
    title = "Change since previous refresh"
    if delta is None:
        return [[(f"{title}: ", "bold"),
                 ("first refresh (changes show from the next one)", "dim")]]
    base = snapshot.stats.base
    head: list[Segment] = [(f"{title} ({clock(delta.previous_ms)}): ", "bold")]
    if delta.changed:
        first, *rest = change_parts(delta, base, per_side=per_side)
        return [head + first, *rest]
    parts: list[list[Segment]] = [[*head, ("none", "dim")]]
    last = snapshot.last_change
    if last is not None:
        first, *rest = change_parts(last, base, per_side=per_side)
        parts += [[(f"last change, at {clock(last.current_ms)}: ", "dim"), *first], *rest]
    return parts


def live_lines(snapshot: Snapshot) -> list[list[Segment]]:
    """The live-only lines as plain segments (the piped ``-f table`` stream)."""
    from liqcli.report.live import RECENT_MINUTES, sparkline

    change = change_lines(snapshot)
    line: list[Segment] = list(change[0])
    for part in change[1:]:
        line += [(" · ", "dim"), *part]
    recent = snapshot.recent
    peak = max(recent.usd_per_minute, default=Decimal(0))
    return [
        line,
        [(f"Last {RECENT_MINUTES} min: ", "bold"),
         (f"{fmt_int(recent.events_15m)} events · {fmt_usd(recent.usd_15m)} USD", "")],
        [("USD per minute, last hour: ", "bold"), ("▕", "dim"),
         (sparkline(recent.usd_per_minute), "cyan"), ("▏", "dim"),
         (f" peak {fmt_usd(peak)} USD/min", "dim")],
    ]


def no_data_text(snapshot: Snapshot) -> str:
    return (
        f"No data yet for {heading(snapshot.stats, 'summary')}. Waiting for events: the "
        "figures appear at the next refresh after they are ingested."
    )


def _text(segments: Sequence[Segment]) -> Text:
    from rich.text import Text

    text = Text(no_wrap=True, overflow="crop")
    for content, style in segments:
        text.append(content, style=style or None)
    return text


def flow(parts: Sequence[Sequence[Segment]], width: int, sep: str = " · ") -> list[Text]:
    """Lines of ``parts`` joined by ``sep``: a part is never split; one that does not fit the
    line starts the next one (indented by two)."""
    from rich.cells import cell_len

    lines: list[list[Segment]] = []
    used = 0
    for part in parts:
        size = sum(cell_len(text) for text, _ in part)
        if lines and used + cell_len(sep) + size <= width:
            if used:
                lines[-1].append((sep, "dim"))
                used += cell_len(sep)
            lines[-1] += part
            used += size
        elif not lines:
            lines.append(list(part))
            used = size
        else:
            lines.append([("  ", ""), *part])
            used = size + 2
    return [_text(line) for line in lines]


# ---------------------------------------------------------------------- tables
@dataclass(slots=True)
class Column:
    header: str
    justify: str = "right"  # "left" | "right"


@dataclass(slots=True)
class Grid:
    """A titled table of text cells; ``bars``: a share (percent) per row shown as a bar."""

    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)  # style of each row's first cell
    row_styles: list[str] = field(default_factory=list)  # style of the whole row
    bars: list[Decimal | None] | None = None
    header: bool = True
    inline_title: bool = False  # the title heads the first column (no title line)

    def add(self, cells: list[str], style: str = "", share: Decimal | None = None,
            row_style: str = "") -> None:
        self.rows.append(cells)
        self.styles.append(style)
        self.row_styles.append(row_style)
        if self.bars is not None:
            self.bars.append(share)


def _widths(grid: Grid, bar_width: int) -> list[int]:
    from rich.cells import cell_len

    widths = [
        max([cell_len(column.header), *(cell_len(row[index]) for row in grid.rows)], default=1)
        for index, column in enumerate(grid.columns)
    ]
    if grid.inline_title:
        widths[0] = max(widths[0], cell_len(grid.title))
    return [*widths, bar_width] if grid.bars is not None else widths


def grid_size(grid: Grid, bar_width: int, full: bool) -> tuple[int, int]:
    """Width and height of :func:`_grid_table`'s table, computed without rendering it: cells
    never wrap (``no_wrap``, columns as wide as their widest cell), one cell of padding between
    columns (two with the ``full`` box's blank separators), the title on one line (the table
    is at least as wide as it), then the header (and its rule when ``full``) and the rows.
    tests/test_watch_screen.py checks it against rich's own rendering."""
    from rich.cells import cell_len

    widths = _widths(grid, bar_width)
    width = sum(widths) + (2 if full else 1) * (len(widths) - 1)
    if grid.inline_title:
        return width, 1 + int(full) + len(grid.rows)
    height = 1 + (1 + int(full) if grid.header else 0) + len(grid.rows)
    return max(width, cell_len(grid.title)), height


def _grid_table(grid: Grid, bar_width: int, full: bool) -> Table:
    from rich import box
    from rich.bar import Bar
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=None if grid.inline_title else grid.title, title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD if full else None, show_edge=False, show_header=grid.header,
        header_style="bold dim" if not full else "bold", padding=(0, 1), pad_edge=False,
        collapse_padding=True, min_width=grid_size(grid, bar_width, full)[0],
    )
    widths = _widths(grid, bar_width)
    for index, column in enumerate(grid.columns):
        widest = widths[index]
        header: Any = column.header
        if grid.inline_title and index == 0:
            header = Text(grid.title, style="bold")
        table.add_column(
            header, justify="left" if column.justify == "left" else "right",
            no_wrap=True, min_width=widest,
        )
    if grid.bars is not None:
        table.add_column("Share" if full else "", no_wrap=True, width=bar_width)
    for row, style, row_style, index in zip(
        grid.rows, grid.styles, grid.row_styles, range(len(grid.rows)), strict=True
    ):
        cells: list[Any] = [Text(row[0], style=style)]
        for cell in row[1:]:
            cells.append(Text(cell, style=SIDE_COLOURS.get(cell, "")))
        if grid.bars is not None:
            share = grid.bars[index]
            cells.append(Bar(100, 0, float(share or 0), width=bar_width, color=style or "white"))
        table.add_row(*cells, style=row_style or None)
    return table


def _exchange_style(name: str) -> str:
    return exchange_colour(name)


def _qty_label(stats: CumulativeStats, level: int) -> str:
    base = printable(stats.base) if stats.base else ""
    if level == 0:
        return f"Qty {base}".strip()
    return base or "Qty"


def totals_grid(stats: CumulativeStats, level: int) -> Grid:
    t = stats.totals
    grid = Grid("Totals", [Column("Metric", "left"), Column("Value")], header=level == 0)
    qty = _qty_label(stats, level)
    rows: list[tuple[str, str, int]] = [  # label, value, the last level that shows it
        ("Events", fmt_int(t.events), 3),
        ("USD", fmt_usd(t.usd), 3),
        (qty, fmt_qty(t.qty), 3),
        ("Avg USD / event" if level == 0 else "Avg USD", fmt_usd(t.avg_usd), 2),
        (f"Avg {qty} / event", fmt_qty(t.avg_qty), 0),
        ("Events / hour" if level == 0 else "Events/h", fmt_rate(t.events_per_hour), 2),
        ("First event", _time(stats.first_ms, level), 0),
        ("Last event" if level == 0 else "Last", _time(stats.last_ms, level), 1),
        ("Duration (h)", NONE_TEXT if stats.duration_hours is None
         else fmt_rate(stats.duration_hours), 0),
    ]
    for label, value, last in rows:
        if min(level, MINIMAL) <= last:
            grid.add([label, value])
    return grid


def _time(ms: int | None, level: int) -> str:
    if ms is None:
        return NONE_TEXT
    text = iso_utc(ms)
    return text if level == 0 else f"{text[5:10]} {text[11:19]}"


def _figure_columns(stats: CumulativeStats, level: int) -> list[tuple[Column, int]]:
    """(column, the last level showing it) of the sides/exchanges tables."""
    return [
        (Column("Events"), 3),
        (Column("Events %"), 0),
        (Column("USD"), 3),
        (Column("USD %" if level == 0 else "%"), 3),
        (Column(_qty_label(stats, level)), 1),
        (Column("Qty %"), 0),
    ]


def _figure_row(row: Any) -> list[str]:
    return [
        fmt_int(row.events), fmt_pct(row.events_pct), fmt_usd(row.usd), fmt_pct(row.usd_pct),
        fmt_qty(row.qty), fmt_pct(row.qty_pct),
    ]


def _breakdown(stats: CumulativeStats, level: int, title: str, first: str,
               rows: Sequence[tuple[str, str, Any]]) -> Grid:
    columns = _figure_columns(stats, level)
    keep = [index for index, (_, last) in enumerate(columns) if min(level, MINIMAL) <= last]
    grid = Grid(title, [Column(first, "left"), *(columns[i][0] for i in keep)], bars=[],
                header=level < 3)
    for label, style, row in rows:
        cells = _figure_row(row)
        grid.add([label, *(cells[i] for i in keep)], style=style, share=row.usd_pct)
    return grid


def sides_grid(stats: CumulativeStats, level: int) -> Grid:
    rows = [(row.side, SIDE_COLOURS.get(row.side, ""), row) for row in stats.sides]
    return _breakdown(stats, level, SECTION_TITLES["sides"], "Side", rows)


def exchanges_grid(stats: CumulativeStats, level: int) -> Grid:
    rows = [(printable(row.exchange), _exchange_style(row.exchange), row)
            for row in stats.exchanges]
    return _breakdown(stats, level, SECTION_TITLES["exchanges"],
                      "Exchange" if level == 0 else "Exch.", rows)


def matrix_grid(stats: CumulativeStats, level: int) -> Grid:
    title = SECTION_TITLES["matrix"]
    if level == 0:
        qty = _qty_label(stats, 0)
        grid = Grid(title, [Column("Exchange", "left"), Column("Side", "left"), Column("Events"),
                            Column("USD"), Column(qty)])
        for cell in stats.matrix:
            grid.add([printable(cell.exchange), cell.side, fmt_int(cell.events),
                      fmt_usd(cell.usd), fmt_qty(cell.qty)], style=_exchange_style(cell.exchange))
        return grid
    cells: dict[tuple[str, str], Any] = {(c.exchange, c.side): c for c in stats.matrix}
    columns = [Column("Exch.", "left")]
    for side in ("LONG", "SHORT"):
        if level == 1:
            columns.append(Column(f"{side[0]} ev"))
        columns.append(Column(f"{side} USD"))
    grid = Grid(title, columns)
    for row in stats.exchanges:
        values = [printable(row.exchange)]
        for side in ("LONG", "SHORT"):
            found = cells.get((row.exchange, side))
            if level == 1:
                values.append(fmt_int(found.events if found else 0))
            values.append(fmt_usd(found.usd if found else Decimal(0)))
        grid.add(values, style=_exchange_style(row.exchange))
    return grid


def gaps_grid(stats: CumulativeStats, level: int) -> Grid | None:
    coverage = stats.coverage
    if coverage is None or not coverage.exchanges:
        return None
    title = "Feed gaps (live collector not connected)" if level == 0 else "Feed gaps"
    if level >= 4:  # one row per exchange with gaps
        grid = Grid(title, [Column("", "left"), Column("Gaps"), Column("In all"),
                            Column("Last until", "left")])
        for exchange in coverage.exchanges:
            gaps = coverage.gaps_of(exchange)
            if gaps:
                last = gaps[-1]
                grid.add([printable(exchange), fmt_int(len(gaps)),
                          fmt_span(sum(g.end_ms - g.start_ms for g in gaps)),
                          "now" if last.ongoing else _time(last.end_ms, level)],
                         style=_exchange_style(exchange))
        if not grid.rows:
            grid.add(["none", "", "", ""], style="dim")
        return grid
    grid = Grid(title, [Column("Exchange" if level == 0 else "Exch.", "left"),
                        Column("From", "left"), Column("To", "left"), Column("Length")])
    for exchange in coverage.exchanges:
        gaps = coverage.gaps_of(exchange)
        style = _exchange_style(exchange)
        if not gaps:
            grid.add([printable(exchange), "no gaps", "", ""], style=style)
        for gap in gaps:
            end = _time(gap.end_ms, level)
            grid.add([printable(exchange), _time(gap.start_ms, level),
                      f"{end} (now)" if gap.ongoing else end, fmt_span(gap.end_ms - gap.start_ms)],
                     style=style)
    return grid


def liquidations_grid(snapshot: Snapshot, level: int, rows: int, min_usd: Decimal) -> Grid:
    """The last individual liquidations, newest first, highlighted by size tier."""
    multi = snapshot.stats.multi
    title = SECTION_TITLES["liquidations"]
    if min_usd > 0:
        title += f" ≥ {fmt_usd(min_usd)}"
    columns = [Column("Time", "left"), Column("Exchange" if level == 0 else "Exch.", "left")]
    if multi:
        columns.append(Column("Symbol", "left"))
    columns += [Column("Side", "left"), Column("USD")]
    if level < 2:
        columns.append(Column("Price"))
    grid = Grid(title, columns)
    for event in snapshot.liquidations[:rows]:
        cells = [clock(event.ts_ms), printable(event.exchange)]
        if multi:
            cells.append(printable(event.symbol))
        cells += [event.side, fmt_usd(event.usd)]
        if level < 2:
            cells.append(_price(event))
        tier = tier_of(event.usd)
        grid.add(cells, style=_exchange_style(event.exchange),
                 row_style=tier.style if tier else "")
    if not grid.rows:
        grid.add(["none in the last hour", "", *([""] * (len(columns) - 2))], style="dim")
    return grid


def _price(event: Event) -> str:
    return f"{event.price:,f}"


def windows_grid(snapshot: Snapshot, level: int) -> Grid | None:
    windows = snapshot.windows
    if not windows:
        return None
    columns = [Column("", "left")]
    for window in windows:
        if level < 2:
            columns.append(Column(f"{window.label} ev"))
        columns.append(Column(f"{window.label} USD"))
    grid = Grid(SECTION_TITLES["windows"], columns)
    names = sorted({row.exchange for w in windows for row in w.stats.exchanges})
    keys = [("All", "bold", "total"), ("LONG", SIDE_COLOURS["LONG"], "side"),
            ("SHORT", SIDE_COLOURS["SHORT"], "side")]
    keys += [(name, _exchange_style(name), "exchange") for name in names]
    for key, style, kind in keys:
        cells = [printable(key)]
        for window in windows:
            events, usd = _window_figures(window.stats, kind, key)
            if level < 2:
                cells.append(fmt_int(events))
            cells.append(fmt_usd(usd))
        grid.add(cells, style=style)
    return grid


def _window_figures(stats: CumulativeStats, kind: str, key: str) -> tuple[int, Decimal]:
    """Events and USD of the total, a side or an exchange of one trailing window."""
    if kind == "total":
        return stats.totals.events, stats.totals.usd
    rows: Sequence[Any] = stats.sides if kind == "side" else stats.exchanges
    for row in rows:
        if (row.side if kind == "side" else row.exchange) == key:
            return row.events, row.usd
    return 0, Decimal(0)


# ---------------------------------------------------------------------- layout
@dataclass(slots=True)
class Block:
    name: str
    make: Callable[[], Any]  # the renderable, built only for the level drawn
    width: int
    height: int
    key: str = ""  # what it shows (equal keys draw the same)


def pack(blocks: Sequence[Block], width: int) -> list[list[list[Block]]]:
    """Rows of columns of blocks, in order: a block goes under the last column of the row when
    that keeps the column no taller than the row's others, else beside it when it fits the
    width, else it starts a new row."""
    rows: list[list[list[Block]]] = []
    for block in blocks:
        if rows:
            row = rows[-1]
            last = row[-1]
            others = max((_col_height(c) for c in row[:-1]), default=0)
            col_width = max(b.width for b in last)
            used = sum(_col_width(c) for c in row) + GAP * (len(row) - 1)
            if (len(row) > 1 and _col_height(last) + block.height <= others
                    and used - col_width + max(col_width, block.width) <= width):
                last.append(block)
                continue
            if used + GAP + block.width <= width:
                row.append([block])
                continue
        rows.append([[block]])
    return rows


def _col_height(column: list[Block]) -> int:
    return sum(b.height for b in column)


def _col_width(column: list[Block]) -> int:
    return max(b.width for b in column)


def _rows_height(rows: list[list[list[Block]]], spaced: bool) -> int:
    heights = [max(_col_height(c) for c in row) for row in rows]
    return sum(heights) + (len(rows) - 1 if spaced and rows else 0)


@dataclass(frozen=True, slots=True)
class DashboardView:
    """An immutable picture of one refresh, drawn to the size it is given (a terminal)."""

    snapshot: Snapshot | None
    stale: bool
    attempt: int
    error: str | None
    next_ms: int  # wall time of the next attempt
    interval: float
    sections: tuple[str, ...] = SECTIONS
    min_usd: Decimal = Decimal(0)
    height: int | None = None  # rows to fill (default: the console's height)

    def status(self, width: int) -> list[list[Segment]]:
        """The status line; on a narrow terminal "Ctrl-C quits", then the pace, give way."""
        from rich.cells import cell_len

        parts: list[list[Segment]] = [[("liqcli watch", "bold")]]
        if not self.stale and self.snapshot is not None:
            parts.append([("● live ", "bold green"),
                          (f"{clock(self.snapshot.refreshed_ms)} UTC", "")])
            optional = [
                [(f"every {seconds(self.interval)}, next {clock(self.next_ms)}", "dim")],
                [("Ctrl-C quits", "dim")],
            ]
            while optional and sum(
                cell_len(text) + 3 for part in parts + optional for text, _ in part
            ) - 3 > width:
                optional.pop()
            return parts + optional
        else:
            parts.append([(f"⟳ reconnecting (attempt {self.attempt})", "bold red")])
            parts.append([(f"next try {clock(self.next_ms)}", "dim")])
            if self.snapshot is not None:
                parts.append([(f"figures STALE since {clock(self.snapshot.refreshed_ms)} UTC",
                               "bold yellow")])
        parts.append([("Ctrl-C quits", "dim")])
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.layout import Layout

        width = options.max_width
        height = self.height or options.height or console.height
        layout = Layout()
        layout.split_column(*self._regions(width, height))
        yield from layout.__rich_console__(console, options.update(width=width, height=height))

    # the regions of the layout: header lines, then rows of tables, then the rest
    def _regions(self, width: int, height: int) -> list[Any]:
        from rich.layout import Layout
        from rich.text import Text

        snapshot = self.snapshot
        best: tuple[list[Text], list[list[list[Block]]], bool] | None = None
        for level in range(len(LEVELS)):
            head = self._head(level, width)
            if snapshot is None:
                best = ([*head, Text("Waiting for the store: no figures yet.", style="yellow")],
                        [], False)
                break
            blocks = self._blocks(level)
            spaced = level == 0
            rows = pack(blocks, width)
            used = len(head) + (1 if rows and spaced else 0) + _rows_height(rows, spaced)
            best = (head, rows, spaced)
            if used <= height and all(b.width <= width for b in blocks):
                self._grow_pane(rows, level, height - used, width)
                break
        assert best is not None
        head, rows, spaced = best
        regions: list[Any] = [Layout(_lines(head), size=max(len(head), 1))]
        if rows and spaced:
            regions.append(Layout(Text(" "), size=1))
        body: list[Any] = []
        for index, row in enumerate(rows):
            if index and spaced:
                body.append(Layout(Text(" "), size=1))
            row_layout = Layout(size=max(_col_height(c) for c in row))
            cells = []
            for position, column in enumerate(row):
                pad = GAP if position < len(row) - 1 else 0
                cells.append(Layout(_column(column), size=min(_col_width(column) + pad, width)))
            cells.append(Layout(Text(" "), ratio=1))
            row_layout.split_row(*cells)
            body.append(row_layout)
        body.append(Layout(Text(" "), ratio=1))
        tables = Layout()
        tables.split_column(*body)
        key = repr([[[(b.name, b.key) for b in column] for column in row] for row in rows])
        regions.append(Layout(Unchanged(tables, (key, self.stale))))
        return regions

    def _grow_pane(self, rows: list[list[list[Block]]], level: int, spare: int,
                   width: int) -> None:
        """Let the recent-liquidations pane take the rows left (``spare`` under the tables,
        and the room beside it in its own row), if its wider rows still fit the width."""
        snapshot = self.snapshot
        assert snapshot is not None
        for row in rows:
            for column in row:
                for index, block in enumerate(column):
                    if block.name != "liquidations":
                        continue
                    slack = max(_col_height(c) for c in row) - _col_height(column)
                    shown = MIN_LIQUIDATIONS[level] + min(
                        spare + slack, len(snapshot.liquidations) - MIN_LIQUIDATIONS[level])
                    if shown <= MIN_LIQUIDATIONS[level]:
                        return
                    grid = liquidations_grid(snapshot, level, shown, self.min_usd)
                    grid.inline_title = level >= 4
                    w, h = grid_size(grid, 0, level == 0)
                    column[index] = Block(block.name, partial(self._table, grid, level), w, h,
                                          repr(grid))
                    if sum(_col_width(c) for c in row) + GAP * (len(row) - 1) > width:
                        column[index] = block  # wider than the room: keep the short one
                    return

    def _head(self, level: int, width: int) -> list[Text]:

        from liqcli.report.live import RECENT_MINUTES, sparkline

        lines = flow(self.status(width), width)
        if self.error:
            lines += flow([[(self.error, "red")]], width)
        snapshot = self.snapshot
        if snapshot is None:
            return lines
        dim = "dim" if self.stale else ""
        body: list[Text] = []
        for name in self.sections:
            if name == "change":
                change = change_lines(snapshot, per_side=level < 2)
                body += flow(change, width)
            elif name == "activity":
                recent = snapshot.recent
                peak = max(recent.usd_per_minute, default=Decimal(0))
                activity: list[list[Segment]] = [
                    [(f"Last {RECENT_MINUTES} min: ", "bold"),
                     (f"{fmt_int(recent.events_15m)} events", "")],
                    [(f"{fmt_usd(recent.usd_15m)} USD", "")],
                    [("peak ", "dim"), (f"{fmt_usd(peak)} USD/min", "")],
                ]
                body += flow(activity if level < 2 else activity[:2], width)
                minutes = len(recent.usd_per_minute) if level < 3 else SPARK_SHORT
                label = f"USD/min, last {minutes} min "
                values = recent.usd_per_minute[-minutes:]
                room = width - len(label) - 2
                while minutes > 10 and room < minutes:  # never wider than the terminal
                    minutes -= 10
                    label = f"USD/min, last {minutes} min "
                    values = recent.usd_per_minute[-minutes:]
                    room = width - len(label) - 2
                scale = 2 if room >= 2 * minutes and level == 0 else 1
                spark = "".join(ch * scale for ch in sparkline(values))
                body.append(_text([(label, "bold"), ("▕", "dim"), (spark, "cyan"),
                                   ("▏", "dim")]))
        if snapshot.empty:
            words = no_data_text(snapshot).split()
            body += flow([[(word, "yellow")] for word in words], width, sep=" ")
        for line in body:
            if dim:
                line.stylize(dim)
        return lines + body

    def _blocks(self, level: int) -> list[Block]:
        """The tables of the sections at ``level``, sized (not rendered)."""
        snapshot = self.snapshot
        assert snapshot is not None
        stats = snapshot.stats
        full = level == 0
        blocks: list[Block] = []
        for name in self.sections:
            if name in LINE_SECTIONS:
                continue
            grid: Grid | None = None
            if snapshot.empty and name not in ("gaps", "windows"):
                continue  # no data yet: the line says so; the feed gaps say why
            if name == "totals":
                grid = totals_grid(stats, level)
            elif name == "sides":
                grid = sides_grid(stats, level)
            elif name == "exchanges":
                grid = exchanges_grid(stats, level)
            elif name == "matrix":
                grid = matrix_grid(stats, level)
            elif name == "gaps":
                grid = gaps_grid(stats, level)
            elif name == "liquidations":
                grid = liquidations_grid(snapshot, level, MIN_LIQUIDATIONS[level], self.min_usd)
            elif name == "windows":
                grid = windows_grid(snapshot, level)
            if grid is None:
                continue
            if level >= 4 and grid.header:
                grid.inline_title = True
            w, h = grid_size(grid, BAR_WIDTHS[level], full)
            blocks.append(Block(name, partial(self._table, grid, level), w, h, repr(grid)))
        return blocks

    def _table(self, grid: Grid, level: int) -> Any:
        table: Any = _grid_table(grid, BAR_WIDTHS[level], level == 0)
        if self.stale:
            from rich.styled import Styled

            table = Styled(table, "dim")
        return table


_DRAWN: dict[Any, list[Any]] = {}  # the last tables drawn, by what they show and their size


@dataclass(frozen=True, slots=True)
class Unchanged:
    """``renderable``, drawn once per ``key`` and size: an idle dashboard (same figures at
    every refresh) redraws its status and change lines, not its tables."""

    renderable: Any
    key: Any

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        key = (self.key, options.max_width, options.height, console.color_system)
        lines = _DRAWN.get(key)
        if lines is None:
            lines = console.render_lines(self.renderable, options, pad=True)
            _DRAWN.clear()
            _DRAWN[key] = lines
        for line in lines:
            yield from line
            yield Segment.line()


def _lines(lines: list[Text]) -> Any:
    from rich.console import Group

    return Group(*lines)


def _column(column: list[Block]) -> Any:
    from rich.console import Group

    return Group(*(b.make() for b in column))

