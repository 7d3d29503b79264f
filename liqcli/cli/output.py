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
def text_output(path: str | None) -> Iterator[TextIO]:
    """stdout when ``path`` is None or ``-``, else an atomically replaced file."""
    if path is None or path == "-":
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
    target = Path(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield str(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
