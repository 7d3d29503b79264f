"""``--contract-size`` / ``--contract-sizes``: shared by ingest, import and collect.

Kept apart from the command modules (no import of the app) so any command can use them.
"""

from __future__ import annotations

from typing import Annotated

import typer

ContractSize = Annotated[
    list[str] | None,
    typer.Option(
        "--contract-size",
        metavar="INSTRUMENT=VALUE",
        help="Contract value of an instrument: base units (BTC-USDT-SWAP=0.01) or USD "
        "(BTC-USD-SWAP=100USD). Repeatable; overrides the built-in table.",
        rich_help_panel="Contract values",
    ),
]
ContractSizes = Annotated[
    list[str] | None,
    typer.Option(
        "--contract-sizes",
        metavar="FILE",
        help="A file of INSTRUMENT=VALUE lines (# comments).",
        rich_help_panel="Contract values",
    ),
]
