"""``liqcli collect``: the live collector (websockets → adapters → store)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.contract_options import ContractSize, ContractSizes, contract_table
from liqcli.cli.options import Debug, Prefix, RedisUrl


@app.command()
def collect(
    exchange: Annotated[
        list[str],
        typer.Option("--exchange", "-e", metavar="NAME",
                     help="Exchange feed to collect (repeatable): "
                     "binance, bybit, okx, bitmex, deribit."),
    ],
    symbol: Annotated[
        list[str] | None,
        typer.Option("--symbol", "-s", metavar="SYMBOL",
                     help="Keep only these normalized symbols (BTCUSDT); "
                     "repeatable. Bybit subscribes per symbol (default: the majors)."),
    ] = None,
    endpoint: Annotated[
        list[str] | None,
        typer.Option("--endpoint", metavar="EXCHANGE=URL",
                     help="Override an exchange's websocket URL (testing, proxies)."),
    ] = None,
    record: Annotated[
        str | None,
        typer.Option("--record", metavar="FILE", help="Append the raw messages (with receive "
                     "time) to FILE, replayable with `ingest --format EXCHANGE`; with several "
                     "exchanges, one file each (FILE.okx.jsonl, or {exchange} in FILE)."),
    ] = None,
    contract_size: ContractSize = None,
    contract_sizes: ContractSizes = None,
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> None:
    """Collect liquidations live from the exchanges' public websocket feeds.

    Reconnects with backoff; records when each feed was connected so reports show gaps.
    SIGTERM or Ctrl-C flushes and exits 0.
    """
    with errors_handled(debug):
        import importlib.util

        from liqcli.errors import UsageError
        from liqcli.feeds.adapters import adapter_names
        from liqcli.store.connection import open_store

        if importlib.util.find_spec("websockets") is None:
            raise UsageError(
                "collect needs the websockets package: pip install 'websockets>=13' "
                "(or install liqcli with its 'collect' extra)"
            )
        known = adapter_names()
        names = list(dict.fromkeys(e.lower() for e in exchange))
        for name in names:
            if name not in known:
                raise UsageError(f"unknown exchange {name!r} (choose from {', '.join(known)})")
        endpoints: dict[str, str] = {}
        for item in endpoint or ():
            name, sep, url = item.partition("=")
            if not sep or name.lower() not in names or not url:
                raise UsageError(f"bad --endpoint {item!r} (want EXCHANGE=URL for a collected "
                                 "exchange)")
            endpoints[name.lower()] = url
        from liqcli.report.core import normalize_symbols

        # the stored form (NFC, upper case where letters have case), checked before connecting
        symbols = list(normalize_symbols(symbol)) if symbol else []
        table = contract_table(contract_size, contract_sizes)
        store = open_store(redis_url, prefix)
        _run(store, names, symbols, endpoints, table, record)


def _run(store: object, names: list[str], symbols: list[str], endpoints: dict[str, str],
         table: object, record: str | None) -> None:
    import asyncio
    import signal

    from liqcli.feeds.adapters import ContractTable
    from liqcli.feeds.collector import Collector, CollectorConfig

    assert isinstance(table, ContractTable)
    config = CollectorConfig(exchanges=names, symbols=symbols, endpoints=endpoints,
                             contracts=table, record_path=record)
    collector = Collector(store, config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await collector.run(stop)

    asyncio.run(main())
    for name, stats in collector.stats.items():
        sys.stderr.write(
            f"{name}: {stats.connects} connection(s), {stats.messages} messages, "
            f"{stats.new} new, {stats.duplicate} duplicate, {stats.skipped} skipped, "
            f"{stats.rejected} rejected\n"
        )
