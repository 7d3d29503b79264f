"""``tsv``: tab-separated rows with a header (same columns as csv)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from liqcli.formatters._delimited import write

if TYPE_CHECKING:
    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report

DESCRIPTION = "tab-separated rows, same columns as csv"


def render(stats: Report, command: str, out: TextIO, options: RenderOptions) -> None:
    write(stats, command, out, options, "\t")
