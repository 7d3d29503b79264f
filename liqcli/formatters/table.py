"""``table``: rich tables with bars on a terminal; plain tabulate text when piped or NO_COLOR.

rich and tabulate are imported only when a table is rendered. Names from the store are shown
as rich ``Text`` (never parsed as markup) with control characters escaped.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from liqcli.formatters._display import (
    DisplayTable,
    covered,
    display_tables,
    footnotes,
    heading,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report

DESCRIPTION = "rich tables on a terminal, plain text when piped (--table-style for tabulate)"
DEFAULT_PLAIN_STYLE = "simple"
BAR_WIDTH = 20
CHART_WIDTH = 40  # the longest bar of a chart table (history), in cells
# chart bars: LONG then SHORT, told apart by glyph as well as by colour
LONG_GLYPH = "█"
SHORT_GLYPH = "▒"

EXCHANGE_COLOURS = {
    "binance": "yellow",
    "bybit": "dark_orange",
    "okx": "magenta",
    "dydx": "blue",
}
PALETTE = (
    "cyan", "green", "bright_magenta", "bright_blue", "bright_cyan", "spring_green2",
    "orchid", "turquoise2", "gold3", "slate_blue1", "light_salmon3", "medium_purple",
)
SIDE_COLOURS = {"LONG": "red", "SHORT": "green"}
_HALF = Decimal("0.5")


def exchange_colour(name: str) -> str:
    """Stable colour of an exchange: fixed for the well-known ones, else from a palette by a
    CRC of the name (the same across runs and machines)."""
    known = EXCHANGE_COLOURS.get(name)
    if known is not None:
        return known
    return PALETTE[zlib.crc32(name.encode("utf-8", "replace")) % len(PALETTE)]


def table_styles() -> list[str]:
    """Every tabulate format name (valid values of --table-style)."""
    import tabulate

    return list(tabulate.tabulate_formats)


def render(stats: Report, command: str, out: TextIO, options: RenderOptions) -> None:
    if options.color and options.table_style is None:
        from rich.console import Console

        console = Console(
            file=out, force_terminal=True, markup=False, highlight=False, emoji=False,
            soft_wrap=False,
        )
        report = renderable(stats, command)
        # Never drop or cut a column to fit: a narrow terminal wraps lines instead.
        needed = console.measure(report, options=console.options.update_width(10_000)).maximum
        if needed > console.width:
            console.width = needed
        console.print(report)
    else:
        out.write(plain_text(stats, command, options.table_style or DEFAULT_PLAIN_STYLE))


# -------------------------------------------------------------------- plain
def plain_text(stats: Report, command: str, style: str = DEFAULT_PLAIN_STYLE) -> str:
    """The report as plain text (no ANSI codes) with tabulate tables in ``style``."""
    parts = [heading(stats, command)]
    if command != "symbols":
        parts.append(covered(stats))
    for table in display_tables(stats, command):
        parts.append(f"\n{plain_table(table, style)}")
    notes = footnotes(stats, command)
    if notes:
        parts.append("")
        parts += [f"* {note}" for note in notes]
    return "\n".join(parts) + "\n"


def plain_table(table: DisplayTable, style: str = DEFAULT_PLAIN_STYLE) -> str:
    """One titled table as plain text (title line, then the tabulate table; no final newline)."""
    from tabulate import tabulate

    body = tabulate(
        table.rows, headers=table.headers, tablefmt=style,
        colalign=table.align, disable_numparse=True,
    )
    return f"{table.title}\n{body}"


# --------------------------------------------------------------------- rich
def renderable(stats: Report, command: str = "summary") -> RenderableType:
    """A rich renderable of the report (reused by ``liqcli watch``)."""
    from rich.console import Group
    from rich.text import Text

    items: list[RenderableType] = [Text(heading(stats, command), style="bold")]
    if command != "symbols":
        items.append(Text(covered(stats), style="dim"))
    for table in display_tables(stats, command):
        items.append(Text(""))
        items.append(rich_table(table))
    notes = footnotes(stats, command)
    if notes:
        items.append(Text(""))
        items += [Text(f"* {note}", style="dim") for note in notes]
    return Group(*items)


def rich_table(table: DisplayTable) -> RenderableType:
    """One titled table as a rich ``Table`` (share bars on sides and exchanges, literal names;
    reused by ``liqcli watch``)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    with_bars = table.kind in ("sides", "exchanges")
    out = Table(
        title=table.title, title_justify="left", box=box.SIMPLE_HEAD, collapse_padding=True
    )
    for index, (header, align) in enumerate(zip(table.headers, table.align, strict=True)):
        # Figures never wrap nor get cut; on a narrow terminal the bars shrink first.
        widest = max([len(header), *(len(row[index]) for row in table.rows)])
        out.add_column(
            Text(header), justify="left" if align == "left" else "right",
            no_wrap=True, min_width=widest,
        )
    if with_bars:
        out.add_column(Text("Share"), justify="left", overflow="crop", min_width=5)
    chart = _chart(table)
    if chart:
        legend = Text(f"LONG {LONG_GLYPH}", style=SIDE_COLOURS["LONG"])
        legend.append(" ")
        legend.append(f"SHORT {SHORT_GLYPH}", style=SIDE_COLOURS["SHORT"])
        legend.append(" USD")
        out.add_column(legend, justify="left", overflow="crop", min_width=5)
    for index, (cells, key, share) in enumerate(
        zip(table.rows, table.keys, table.shares, strict=True)
    ):
        style = _row_style(table.kind, key)
        texts: list[RenderableType] = [Text(cells[0], style=style)]
        texts += [Text(c) for c in cells[1:]]
        if table.kind == "matrix" and len(cells) > 1:
            texts[1] = Text(cells[1], style=SIDE_COLOURS.get(cells[1], ""))
        if with_bars:
            texts.append(_bar(share, style))
        if chart:
            texts.append(chart[index])
        out.add_row(*texts)
    return out


def _chart(table: DisplayTable) -> list[RenderableType]:
    """Two-colour bars (LONG then SHORT USD) of a chart table, scaled to its largest row;
    [] for a table without bars."""
    from rich.text import Text

    if not table.bars:
        return []
    largest = max(long + short for long, short in table.bars)
    width = CHART_WIDTH
    bars: list[RenderableType] = []
    for long, short in table.bars:
        if not largest:
            bars.append(Text(""))
            continue
        total = int((long + short) * width / largest + _HALF)
        long_cells = int(long * width / largest + _HALF)
        # a non-zero side always shows at least one cell
        if long and not long_cells:
            long_cells = 1
        short_cells = max(0, total - long_cells)
        if short and not short_cells:
            short_cells = 1
        bar = Text(LONG_GLYPH * long_cells, style=SIDE_COLOURS["LONG"])
        bar.append(SHORT_GLYPH * short_cells, style=SIDE_COLOURS["SHORT"])
        bars.append(bar)
    return bars


def _row_style(kind: str, key: str | None) -> str:
    if key is None:
        return ""
    kind = kind.removesuffix("-windows")
    if kind in ("sides", "top"):
        return SIDE_COLOURS.get(key, "")
    if kind in ("exchanges", "matrix", "gaps"):
        return exchange_colour(key)
    return ""


def _bar(share: Decimal | None, style: str) -> RenderableType:
    from rich.text import Text

    filled = 0 if share is None else int(share * BAR_WIDTH / 100 + _HALF)
    filled = max(0, min(BAR_WIDTH, filled))
    bar = Text("█" * filled, style=style or "white")
    bar.append("░" * (BAR_WIDTH - filled), style="dim")
    return bar
