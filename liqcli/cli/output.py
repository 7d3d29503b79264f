"""Where a command's data goes: stdout, or a file written atomically.

``-o FILE`` writes to a temporary file beside FILE and renames it over FILE only when the
command succeeded, so a reader (node_exporter's textfile collector, a cron-made CSV's consumer)
never sees a half-written file; on failure the temporary file is removed and FILE is untouched.
A name ending in ``.gz`` is gzip-compressed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO, cast

import typer

Output = Annotated[
    str | None,
    typer.Option(
        "-o", "--output", metavar="FILE",
        help="Write to FILE atomically (a temporary file renamed at the end; .gz compresses) "
        "instead of stdout.", rich_help_panel="Output",
    ),
]


@contextmanager
def text_output(path: str | None, *, data: bool = True) -> Iterator[TextIO]:
    """stdout when ``path`` is None or ``-``, else an atomically replaced file. ``data``:
    the text is for programs, so stdout is UTF-8 whatever the locale (a table for people
    passes False and keeps the terminal's encoding, with ASCII fallbacks)."""
    if path is None or path == "-":
        if data:
            from liqcli.cli.encoding import utf8_stdout

            utf8_stdout()
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_path(path) as temp:
        if path.endswith(".gz"):
            import gzip

            with gzip.open(temp, "wt", encoding="utf-8", newline="") as out:
                yield cast(TextIO, out)
        else:
            with open(temp, "w", encoding="utf-8", newline="") as out:
                yield out


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside ``path``, renamed over it when the block succeeds."""
    from liqcli.errors import UsageError

    target = Path(path)
    if target.is_dir():
        raise UsageError(f"-o: {path} is a directory (give a file name)")
    if not target.parent.is_dir():
        raise UsageError(f"-o: directory {target.parent} does not exist")
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temp.touch()
    except OSError as exc:
        raise UsageError(f"-o: cannot write in {target.parent}: {exc.strerror}") from None
    try:
        yield str(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    try:
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UsageError(f"-o: cannot write {path}: {exc.strerror}") from None
