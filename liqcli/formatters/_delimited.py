"""Shared writer of csv and tsv: stable columns, exact amounts, formula-safe text cells."""

from __future__ import annotations

import csv
from decimal import Decimal

from liqcli.formatters._document import columns, rows
from liqcli.formatters._text import neutralize_formula, plain_decimal, printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from liqcli.formatters import RenderOptions
    from liqcli.formatters._document import Report


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, bool):  # pragma: no cover - no booleans in rows
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        value = " ".join(value)
    return neutralize_formula(printable(str(value)))


def write(
    stats: Report, command: str, out: TextIO, options: RenderOptions, delimiter: str,
    leading: dict[str, Any] | None = None,
) -> None:
    """The rows of ``command``; ``leading``: columns put first, the same value on every row
    (``watch``'s ``refreshed_at``)."""
    names = columns(stats, command)
    first = leading or {}
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if options.header:
        writer.writerow([*first, *names])
    values = [cell(value) for value in first.values()]
    texts: dict[Any, str] = {}  # a multi-symbol report repeats its names, sides and counts
    for row in rows(stats, command):
        line = values.copy()
        for name in names:
            value = row[name]
            kind = type(value)
            if kind is str or kind is int:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = cell(value)
            else:
                text = cell(value)
            line.append(text)
        writer.writerow(line)
