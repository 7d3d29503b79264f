"""The Typer command-line interface. Command modules register themselves on ``app``.

Start-up: building Typer's command tree costs time per command, so the entry point registers
only the module that owns the subcommand on the command line (all of them for ``--help``,
completion, or anything it does not recognise).
"""

from __future__ import annotations

import os

# subcommand -> the module under liqcli.cli that defines it
COMMAND_MODULES: dict[str, str] = {
    "ingest": "ingest_cmd",
    "demo": "demo_cmd",
    "totals": "report_cmd",
    "sides": "report_cmd",
    "exchanges": "report_cmd",
    "matrix": "report_cmd",
    "summary": "report_cmd",
    "symbols": "report_cmd",
    "history": "history_cmd",
    "top": "top_cmd",
    "levels": "levels_cmd",
    "watch": "watch_cmd",
    "tail": "tail_cmd",
    "alert": "alert_cmd",
    "check": "alert_cmd",
    "import": "import_cmd",
    "collect": "collect_cmd",
    "store": "store_cmd",
    "export": "export_cmd",
    "verify": "verify_cmd",
    "prune": "prune_cmd",
}
ALL_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMAND_MODULES.values()))

_selected: tuple[str, ...] | None = None
_command: str | None = None


def select_for(argv: list[str]) -> None:
    """Narrow registration to the module of ``argv``'s subcommand, when that is unambiguous."""
    global _selected, _command
    if any(var.endswith("_COMPLETE") for var in os.environ):  # shell completion: everything
        return
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    module = COMMAND_MODULES.get(first or "")
    if module is not None and argv[0] == first:
        _selected = (module,)
        _command = first


def selected_modules() -> tuple[str, ...]:
    return _selected or ALL_MODULES


def wanted(command: str) -> bool:
    """Whether a module that defines several commands should register ``command`` now."""
    return _command is None or _command == command
