"""Thin entry point: ``liqcli`` and ``python -m liqcli``."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> None:
    from liqcli.cli.fast import run as run_fast

    status = run_fast(sys.argv[1:])  # one-shot reports: no Typer, no redis-py (start-up)
    if status is not None:
        exit_now(status)
    from liqcli.cli import select_for

    select_for(sys.argv[1:])
    from liqcli.cli.app import run

    run()


def exit_now(status: int) -> NoReturn:
    """End a one-shot report once its output is flushed, without the interpreter's teardown:
    freeing every module and object one by one costs such a process ~5 ms (an eighth of its
    run) and does nothing it needs (its socket is closed; no atexit handler, thread or file
    of its own is left). When flushing fails, the ordinary exit reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        sys.exit(status)
    import os

    os._exit(status)


if __name__ == "__main__":
    main()
