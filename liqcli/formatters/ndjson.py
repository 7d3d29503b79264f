"""``ndjson``: one JSON object per breakdown row, each with its symbol and window."""

from __future__ import annotations

from liqcli.formatters._document import document, dumps, rows
from liqcli.report.stats import CumulativeStats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report

DESCRIPTION = "one JSON object per row (symbol and window on every line)"


def row_objects(stats: Report, command: str) -> list[dict[str, Any]]:
    """The rows of a report, with ``window`` {since, until} in place of since/until."""
    if not isinstance(stats, CumulativeStats):  # imported only for the kinds that need them
        from liqcli.report.history import History
        from liqcli.report.levels import Levels
        from liqcli.report.top import TopList

        if isinstance(stats, History | TopList | Levels):  # rows of their own shape
            return list(rows(stats, command))
    objects = []
    for row in rows(stats, command):
        label = row.pop("window", None)  # --windows: the trailing window's label
        since, until = row.pop("since"), row.pop("until")
        window = {"since": since, "until": until}
        if label is not None:
            window["label"] = label
        obj = {"symbol": row.pop("symbol"), "window": window}
        obj.update(row)
        objects.append(obj)
    return objects


def line(value: Any, *, decimal_strings: bool = False) -> str:
    """One compact JSON line (no trailing newline); reusable by ``watch -f ndjson``."""
    return dumps(value, indent=None, decimal_strings=decimal_strings)


def document_line(stats: Report, command: str = "summary") -> str:
    """The whole report document on one line (what ``watch -f ndjson`` prints per refresh)."""
    return line(document(stats, command))


def render(stats: Report, command: str, out: TextIO, options: RenderOptions) -> None:
    for obj in row_objects(stats, command):
        out.write(line(obj, decimal_strings=options.string_amounts) + "\n")
