"""Thin entry point: ``liqcli`` and ``python -m liqcli``."""

from __future__ import annotations

import sys


def main() -> None:
    from liqcli.cli.fast import run as run_fast

    status = run_fast(sys.argv[1:])  # one-shot reports: no Typer, no redis-py (start-up)
    if status is not None:
        sys.exit(status)
    from liqcli.cli import select_for

    select_for(sys.argv[1:])
    from liqcli.cli.app import run

    run()


if __name__ == "__main__":
    main()
