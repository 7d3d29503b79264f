"""``liqcli verify``: recompute every rollup from the log and report what differs; ``--repair``.

Output: one line per difference on stdout (``KEY<TAB>CELL<TAB>FIGURE<TAB>stored=X<TAB>
recomputed=Y``), or one JSON document with ``--json`` (schema ``liqcli/schemas/verify.json``);
a summary line per symbol on stderr. Exit 0 when every rollup agrees with the log, 1 when not
(after ``--repair``: when the repaired store still differs).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.options import Debug, Prefix, RedisUrl
from liqcli.errors import ExitStatus

MaintenanceSymbols = Annotated[
    list[str] | None,
    typer.Option(
        "-s", "--symbol", metavar="SYMBOL",
        help="Symbol (repeat it, or separate symbols with commas) [default: every symbol].",
    ),
]
AllSymbols = Annotated[
    bool, typer.Option("--all-symbols", help="Every symbol in the store (the default).")
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def selected_symbols(symbols: list[str] | None, all_symbols: bool) -> list[str] | None:
    """The symbols named (checked before connecting), or None for every symbol."""
    from liqcli.errors import UsageError
    from liqcli.report.core import normalize_symbols

    if symbols and all_symbols:
        raise UsageError("--symbol and --all-symbols exclude each other")
    return list(normalize_symbols(symbols)) if symbols else None


@app.command(
    epilog="EXAMPLES\n\n"
    "  liqcli verify             # every symbol; exit 1 on a difference\n\n"
    "  liqcli verify -s BTCUSDT --json | jq '.symbols[].differences'\n\n"
    "  liqcli verify --repair    # rebuild what differs from the log"
)
def verify(
    symbol: MaintenanceSymbols = None,
    all_symbols: AllSymbols = False,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Rewrite every rollup that differs from the log "
                     "(atomically per symbol; refused while an ingest of it runs)."),
    ] = False,
    json_output: JsonOutput = False,
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> None:
    """Recompute every rollup (slot, hour, day, all time) from the log and report differences.

    Run it after a crash, a restore or a migration. Each difference is one line on stdout:
    key, cell (exchange|side), figure, stored and recomputed values. Exit 0 when every rollup
    agrees with the log, 1 when not. Streams the log day by day.
    """
    with errors_handled(debug):
        from liqcli.store.connection import open_store
        from liqcli.store.maintenance import iter_symbols, verify_symbol

        chosen = selected_symbols(symbol, all_symbols)
        store = open_store(redis_url, prefix)
        results = []
        clean = True
        for name in iter_symbols(store, chosen):
            result = verify_symbol(store, name, repair=repair)
            if not json_output:
                for difference in result.differences:
                    sys.stdout.write(difference.line() + "\n")
                sys.stdout.flush()
            after = result
            if result.repaired:
                after = verify_symbol(store, name)
            clean = clean and not after.differences
            results.append((result, after))
            sys.stderr.write(
                f"{name}: {result.events:,} events, {result.keys:,} rollup keys, "
                f"{result.pruned_days:,} pruned days, {len(result.differences):,} differences"
                + (f", {result.repaired:,} keys repaired, {len(after.differences):,} left"
                   if repair and result.differences else "")
                + "\n"
            )
        if json_output:
            import json

            document = {
                "ok": clean,
                "symbols": [
                    {**result.as_dict(), "remaining": len(after.differences)}
                    for result, after in results
                ],
            }
            sys.stdout.write(json.dumps(document) + "\n")
            sys.stdout.flush()
        sys.stderr.write(
            f"verify: {len(results)} symbols, "
            + ("every rollup agrees with the log\n" if clean else "DIFFERENCES FOUND\n")
        )
        if not clean:
            raise typer.Exit(int(ExitStatus.ERROR))
