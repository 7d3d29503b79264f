"""``liqcli prune --keep-log 90d``: drop the per-event log and dedupe data of older days while
every rollup stays (dry run unless ``--yes``).

Output: one line per symbol on stdout (``SYMBOL<TAB>days=N<TAB>events=N<TAB>bytes=N``) and a
total on stderr, or one JSON document with ``--json`` (schema ``liqcli/schemas/prune.json``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.options import Debug, Prefix, RedisUrl
from liqcli.cli.verify_cmd import AllSymbols, JsonOutput, MaintenanceSymbols, selected_symbols


@app.command(
    epilog="EXAMPLES\n\n"
    "  liqcli prune --keep-log 90d        # dry run: what would go\n\n"
    "  liqcli prune --keep-log 90d --yes  # do it\n\n"
    "  liqcli prune --keep-log 2024-06-01 -s BTCUSDT --yes --json"
)
def prune(
    keep_log: Annotated[
        str,
        typer.Option(
            "--keep-log", metavar="AGE|TIME",
            help="Keep the log of events from this time on: an age (90d, 2160h) or a time "
            "(ISO-8601, epoch); rounded down to a UTC day boundary.",
        ),
    ],
    symbol: MaintenanceSymbols = None,
    all_symbols: AllSymbols = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Prune for real (without it: a dry run).")
    ] = False,
    json_output: JsonOutput = False,
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> None:
    """Drop the event log and dedupe data of older UTC days; every rollup stays.

    All-time figures and windows whose edges fall on UTC day boundaries in the pruned past stay
    exact for ever; a window edge inside a pruned day is refused (exit 2), naming the nearest
    exact boundaries. Replaying pruned events would count them again (their dedupe data is gone).
    """
    with errors_handled(debug):
        from liqcli.report.timeparse import iso_utc, parse_instant
        from liqcli.store.connection import open_store
        from liqcli.store.maintenance import iter_symbols, prune_symbol
        from liqcli.store.store import DAY_MS

        keep_from = parse_instant(keep_log, option="--keep-log") // DAY_MS * DAY_MS
        chosen = selected_symbols(symbol, all_symbols)
        store = open_store(redis_url, prefix)
        results = []
        for name in iter_symbols(store, chosen):
            result = prune_symbol(store, name, keep_from, apply=yes)
            results.append(result)
            if not json_output and result.days:
                sys.stdout.write(f"{name}\tdays={result.days}\tevents={result.events}\t"
                                 f"bytes={result.bytes}\n")
                sys.stdout.flush()
        events = sum(r.events for r in results)
        freed = sum(r.bytes for r in results)
        if json_output:
            import json

            document = {"dry_run": not yes, "keep_log_from_ms": keep_from,
                        "events": events, "bytes": freed,
                        "symbols": [r.as_dict() for r in results]}
            sys.stdout.write(json.dumps(document) + "\n")
            sys.stdout.flush()
        verb = "pruned" if yes else "would prune"
        sys.stderr.write(
            f"prune: {verb} the log of {events:,} events before {iso_utc(keep_from)} "
            f"({freed / 1048576:,.1f} MiB)"
            + ("" if yes else "; nothing changed: add --yes to prune") + "\n"
        )
