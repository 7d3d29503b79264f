"""``markdown``: GitHub tables (one per section) for pasting into reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from liqcli.formatters._display import covered, display_tables, footnotes, heading

if TYPE_CHECKING:
    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report

DESCRIPTION = "GitHub-flavoured Markdown tables"


def escape(cell: str) -> str:
    """Make a cell safe inside a Markdown table (pipes, backslashes, HTML and emphasis)."""
    for char in ("\\", "|", "*", "_", "`", "[", "]", "<", ">"):
        cell = cell.replace(char, "\\" + char)
    return cell


def render(stats: Report, command: str, out: TextIO, options: RenderOptions) -> None:
    lines = [f"**{escape(heading(stats, command))}**", ""]
    if command != "symbols":
        lines += [escape(covered(stats)), ""]
    for table in display_tables(stats, command):
        lines.append(f"#### {escape(table.title)}")
        lines.append("")
        lines.append("| " + " | ".join(escape(h) for h in table.headers) + " |")
        lines.append(
            "|" + "|".join(":---" if a == "left" else "---:" for a in table.align) + "|"
        )
        for row in table.rows:
            lines.append("| " + " | ".join(escape(c) for c in row) + " |")
        lines.append("")
    notes = footnotes(stats, command)
    if notes:
        lines += [f"\\* {escape(note)}  " for note in notes] + [""]
    out.write("\n".join(lines))
