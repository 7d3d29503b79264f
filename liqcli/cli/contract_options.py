"""``--contract-size`` / ``--contract-sizes``: shared by ingest, import and collect.

Kept apart from the command modules (no import of the app) so any command can use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from liqcli.feeds.adapters.contracts import ContractTable

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


def contract_table(
    contract_size: list[str] | None, contract_sizes: list[str] | None
) -> ContractTable:
    """The contract table the two options ask for: the built-in one with their overrides."""
    from liqcli.feeds.adapters.contracts import ContractTable

    return ContractTable.from_options(contract_size or (), contract_sizes or ())
