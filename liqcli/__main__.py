"""Thin entry point: ``liqcli`` and ``python -m liqcli``."""

from __future__ import annotations

import sys


def main() -> None:
    from liqcli.cli import select_for

    select_for(sys.argv[1:])
    from liqcli.cli.app import run

    run()


if __name__ == "__main__":
    main()
