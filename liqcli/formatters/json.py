"""``json``: one document per report (see docs/output-formats.md and liqcli/schemas/)."""

from __future__ import annotations

from liqcli.formatters._document import document, dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report

DESCRIPTION = "one JSON document (amounts are exact JSON numbers, or strings)"


def render(stats: Report, command: str, out: TextIO, options: RenderOptions) -> None:
    text = dumps(document(stats, command), indent=2, decimal_strings=options.string_amounts)
    out.write(text + "\n")
