"""Output formats: a registry where each public module of this package is one format.

A format module defines ``render(stats, command, out, options) -> None`` and a one-line
``DESCRIPTION``. Adding a format is adding a module here; the CLI's ``--format`` choices come
from :func:`available`. Modules starting with ``_`` are helpers. Formatters know nothing of
Redis: they turn a report result into text — a ``CumulativeStats`` (totals, sides, exchanges,
matrix, summary, symbols) or a ``History`` (history); ``_document.Report`` is the union.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module

from liqcli._record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, TextIO

    from liqcli.formatters._document import Report

DEFAULT_FORMAT = "table"
# Formats listed first in help; any other module of the package follows in name order.
_PREFERRED = ("table", "json", "ndjson", "csv", "tsv", "markdown")


@record(frozen=True)
class RenderOptions:
    """How to render. ``color``: rich output (TTY) or plain text; ``table_style``: a tabulate
    format, which also forces plain tables; ``header``: csv/tsv header row;
    ``string_amounts``: json/ndjson write non-integer figures as strings of their exact digits."""

    color: bool = False
    table_style: str | None = None
    header: bool = True
    string_amounts: bool = False


if TYPE_CHECKING:  # typing is not imported at run time (one-shot reports)

    class Formatter(Protocol):
        DESCRIPTION: str

        def render(
            self, stats: Report, command: str, out: TextIO, options: RenderOptions
        ) -> None: ...


def available() -> tuple[str, ...]:
    """Names of the formats (the modules of this package not starting with ``_``)."""
    import pkgutil

    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    first = [name for name in _PREFERRED if name in found]
    return (*first, *sorted(found - set(first)))


def get(name: str) -> Formatter:
    """The formatter module called ``name`` (ValueError for an unknown one)."""
    if name not in available():
        raise ValueError(f"unknown format {name!r} (choose from {', '.join(available())})")
    module: Formatter = import_module(f"{__name__}.{name}")
    return module


def color_wanted(out: TextIO) -> bool:
    """Auto colour: ``out`` is a terminal and NO_COLOR is unset (or empty)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(out, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):
        return False


def render_report(
    stats: Report,
    command: str = "summary",
    fmt: str = DEFAULT_FORMAT,
    out: TextIO | None = None,
    *,
    color: bool | None = None,
    table_style: str | None = None,
    header: bool = True,
    string_amounts: bool = False,
) -> None:
    """Write the report ``command`` (summary, totals, sides, exchanges, matrix, symbols,
    history) of
    ``stats`` to ``out`` (default stdout) in format ``fmt``.

    ``color=None`` decides from ``out`` (a TTY without NO_COLOR gets rich tables).
    """
    stream = sys.stdout if out is None else out
    options = RenderOptions(
        color=color_wanted(stream) if color is None else color,
        table_style=table_style,
        header=header,
        string_amounts=string_amounts,
    )
    get(fmt).render(stats, command, stream, options)


def render_text(
    stats: Report, command: str = "summary", fmt: str = DEFAULT_FORMAT, **kwargs: object
) -> str:
    """:func:`render_report` into a string (plain text unless ``color=True``)."""
    import io

    buffer = io.StringIO()
    kwargs.setdefault("color", False)
    render_report(stats, command, fmt, buffer, **kwargs)  # type: ignore[arg-type]
    return buffer.getvalue()
