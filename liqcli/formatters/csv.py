"""``csv``: comma-separated rows with a header (columns in docs/output-formats.md)."""

from __future__ import annotations

from liqcli.formatters._delimited import write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report

DESCRIPTION = "comma-separated rows, stable columns (--no-header to omit the header)"


def render(stats: Report, command: str, out: TextIO, options: RenderOptions) -> None:
    write(stats, command, out, options, ",")
