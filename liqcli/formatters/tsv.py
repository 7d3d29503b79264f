"""``tsv``: tab-separated rows with a header (same columns as csv)."""

from __future__ import annotations

from liqcli.formatters._delimited import write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report

DESCRIPTION = "tab-separated rows, same columns as csv"


def render(stats: Report, command: str, out: TextIO, options: RenderOptions) -> None:
    write(stats, command, out, options, "\t")
