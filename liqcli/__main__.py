"""Thin entry point: ``liqcli`` and ``python -m liqcli``."""

from __future__ import annotations


def main() -> None:
    from liqcli.cli.app import run

    run()


if __name__ == "__main__":
    main()
