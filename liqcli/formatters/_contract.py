"""Writers of stored events in the event contract (``liqcli export``): JSON Lines, CSV, Parquet.

What they write is exactly what ``liqcli ingest`` reads back: amounts as plain decimal strings
(no float ever), ``ts`` as epoch milliseconds, ``id`` and ``raw_symbol`` only when the event has
them, so ``export | ingest`` into an empty store reproduces every figure and every identity.
Each writer streams: one event in, one line (or, for Parquet, one row of a bounded batch) out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO, Any

from liqcli.model import Event

FIELDS = ("exchange", "symbol", "side", "price", "qty", "usd", "ts", "id", "raw_symbol")
FORMATS = ("jsonl", "csv", "parquet")
PARQUET_BATCH = 65_536


def plain(value: Any) -> str:
    """A Decimal as plain decimal text (never an exponent), trailing zeros kept as stored."""
    return format(value, "f")


def record(event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {
        "exchange": event.exchange,
        "symbol": event.symbol,
        "side": event.side,
        "price": plain(event.price),
        "qty": plain(event.qty),
        "usd": plain(event.usd),
        "ts": event.ts_ms,
    }
    if event.id is not None:
        row["id"] = event.id
    if event.raw_symbol is not None:
        row["raw_symbol"] = event.raw_symbol
    return row


def write_jsonl(events: Iterable[Event], out: IO[str]) -> int:
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for event in events:
        out.write(dumps(record(event)) + "\n")
        count += 1
    return count


def write_csv(events: Iterable[Event], out: IO[str]) -> int:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    count = 0
    for event in events:
        row = record(event)
        writer.writerow([row.get(name, "") for name in FIELDS])
        count += 1
    return count


def write_parquet(events: Iterable[Event], path: str) -> int:
    """Parquet (needs the ``parquet`` extra: pyarrow). Amounts are exact decimal strings and
    ``ts`` an int64 of epoch ms, the same contract as the text formats."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        from liqcli.errors import UsageError

        raise UsageError(
            "Parquet export needs pyarrow: pip install 'liqcli[parquet]'"
        ) from None
    schema = pa.schema([(name, pa.int64() if name == "ts" else pa.string()) for name in FIELDS])
    count = 0
    columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
    with pq.ParquetWriter(path, schema) as writer:
        def flush() -> None:
            writer.write_table(pa.table(columns, schema=schema))
            for values in columns.values():
                values.clear()

        for event in events:
            row = record(event)
            for name in FIELDS:
                columns[name].append(row.get(name))
            count += 1
            if len(columns["ts"]) >= PARQUET_BATCH:
                flush()
        if columns["ts"] or count == 0:
            flush()
    return count


TEXT_WRITERS: dict[str, Callable[[Iterable[Event], IO[str]], int]] = {
    "jsonl": write_jsonl,
    "csv": write_csv,
}
