"""``liqcli import cryptofeed``: import what cryptofeed's Redis backends wrote."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.contract_options import ContractSize, ContractSizes, contract_table
from liqcli.cli.options import Debug, Prefix, RedisUrl

__all__ = ["ContractSize", "ContractSizes", "import_app"]  # re-exported for older importers

import_app = typer.Typer(
    name="import",
    help="Import liquidations other collectors stored.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

@import_app.command("cryptofeed")
def import_cryptofeed_cmd(
    source_url: Annotated[
        str,
        typer.Option("--source-url", metavar="URL", help="URL of the Redis cryptofeed writes to."),
    ],
    key: Annotated[
        str,
        typer.Option("--key", metavar="KEY",
                     help="cryptofeed's key (keys are KEY-EXCHANGE-SYMBOL)."),
    ] = "liquidations",
    contract_size: ContractSize = None,
    contract_sizes: ContractSizes = None,
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> None:
    """Import cryptofeed's liquidations (sorted sets and streams), quirks corrected.

    Keys are discovered with SCAN on the source; re-running imports only what is new.
    """
    with errors_handled(debug):
        from liqcli.errors import ExitStatus, StoreError
        from liqcli.feeds.cryptofeed_import import import_cryptofeed
        from liqcli.store.connection import connect, mask_url, open_store

        table = contract_table(contract_size, contract_sizes)
        store = open_store(redis_url, prefix)
        source = connect(source_url, create=False)
        try:
            source.ping()
        except Exception as exc:
            from liqcli.store.connection import describe_redis_error

            message = describe_redis_error(exc, source_url)
            if message is None:
                raise
            raise StoreError(message.replace("store", "cryptofeed source", 1)) from None
        report = import_cryptofeed(
            source, store, source_id=mask_url(source_url), key=key, contracts=table
        )
        err = sys.stderr
        for name in report.unsupported:
            err.write(f"liqcli: warning: {name}: exchange not supported, key skipped\n")
        for where, reason in report.rejected[:50]:
            err.write(f"liqcli: rejected: {where}: {reason}\n")
        if len(report.rejected) > 50:
            err.write(f"liqcli: ... and {len(report.rejected) - 50} more rejected\n")
        err.write(
            f"imported from {report.keys} key(s): {report.read} read, {report.new} new, "
            f"{report.duplicate} duplicate, {report.skipped} skipped, "
            f"{len(report.rejected)} rejected\n"
        )
        if report.rejected:
            raise typer.Exit(int(ExitStatus.INVALID_INPUT))
