"""The store at realistic breadth: 300 symbols, a long sparse tail, DuckDB side by side.

For each size (``workload.generate``: 300 symbols, 60 % BTC/ETH/SOL, 5 exchanges, 30 days,
cascades, every event with an id; 300,000 events is the "sparse month"), in one run and on one
private redis-server:

* ingest: ``liqcli.ingest.ingest_paths`` end to end (read JSONL, validate, store; the worker
  processes ``liqcli ingest`` starts by default: one per CPU less one for this local server)
  into a flushed server, events/s; baseline = plain pipelined ``XADD`` of the same events
  (``json.loads`` + one stream per symbol, pipelines of 1000), measured just before;
* memory: ``used_memory`` after − before the ingest (live, no reload), per stored event;
* queries, in-process, p50 of N calls after warm-up: ``compute_stats`` over all symbols (what
  ``summary --all-symbols`` and ``symbols`` compute) all time, last 24 h, last 7 d; one symbol
  (BTCUSDT) all time, 7 d, and a window whose both edges fall inside BTCUSDT's busiest slots;
* DuckDB (the ``bench`` extra): the same events in one Parquet file (amounts DECIMAL(38,18),
  exact), the same queries as ``GROUP BY symbol, exchange, side`` over the file, in-process;
  ratio = liqcli / DuckDB (< 1: liqcli is faster).

``LIQCLI_BENCH_MARKET_SIZES=100000,300000`` picks the sizes; ``LIQCLI_BENCH_MARKET_INGEST_ONLY=1``
keeps only the ingest and memory rows (no queries, no DuckDB); ``LIQCLI_BENCH_MARKET_CACHE=DIR``
keeps the generated JSONL files there and reuses them (the workload is deterministic: 10M events
take ~2 minutes to generate and 1.2 GB).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload
from bench_store import _xadd_baseline, row

from liqcli.store.local import RedisServer

FULL = (100_000, 300_000, 1_000_000)
QUICK = (3_000,)
SPARSE = 300_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MEMORY_TARGET = 100.0  # B/event at 1M and 10M
SPARSE_MEMORY_TARGET = 150.0


def log(message: str) -> None:
    print(f"[bench_market] {message}", file=sys.stderr, flush=True)


def run(quick: bool, sizes: tuple[int, ...] | None = None, calls: int | None = None,
        duckdb: bool = True) -> list[dict[str, Any]]:
    sizes = sizes or (QUICK if quick else FULL)
    calls = calls or (5 if quick else 30)
    sizes_env = os.environ.get("LIQCLI_BENCH_MARKET_SIZES")
    if sizes_env and not quick:
        sizes = tuple(int(s) for s in sizes_env.split(","))
    rows: list[dict[str, Any]] = []
    for n in sizes:
        rows += _one_size(n, calls, duckdb)
    return rows


def _case(n: int) -> str:
    return f"{n:,} events" + (" (sparse month)" if n == SPARSE else "")


def _one_size(n: int, calls: int, use_duckdb: bool) -> list[dict[str, Any]]:
    from liqcli.ingest.parallel import default_workers
    from liqcli.ingest.pipeline import ingest_paths
    from liqcli.store.connection import open_store

    rows: list[dict[str, Any]] = []
    case = _case(n)
    with tempfile.TemporaryDirectory(prefix="liqcli-market-") as tmp, RedisServer() as server:
        cache = os.environ.get("LIQCLI_BENCH_MARKET_CACHE")
        data = Path(cache) / f"market-{n}.jsonl" if cache else Path(tmp) / "events.jsonl"
        if not data.exists():
            started = time.perf_counter()
            partial = data.with_suffix(".partial")
            workload.write_jsonl(partial, n)
            partial.replace(data)
            log(f"{case}: generated in {time.perf_counter() - started:.1f} s")
        client = server.client()
        client.flushall()
        before = int(client.info("memory")["used_memory"])
        started = time.perf_counter()
        _xadd_baseline(client, data)  # the same baseline as bench_store
        base_rate = n / (time.perf_counter() - started)
        base_bytes = (int(client.info("memory")["used_memory"]) - before) / n
        client.flushall()
        before = int(client.info("memory")["used_memory"])
        store = open_store(server.url)
        started = time.perf_counter()
        summary = ingest_paths(store, [str(data)], fmt="jsonl",
                               workers=default_workers(store), batch_size=5000)
        rate = n / (time.perf_counter() - started)
        with_feed = (int(client.info("memory")["used_memory"]) - before) / max(1, summary.new)
        # the live feed keeps each symbol's entries 10 minutes (FEED_KEEP_MS), then they and
        # the key expire: what stays is measured with the feed keys removed as expiry would
        feeds = list(client.scan_iter(match=f"{store.prefix}:{{*}}:feed", count=1000))
        for start in range(0, len(feeds), 500):
            client.unlink(*feeds[start:start + 500])
        # UNLINK frees a large value in a background thread: measure once it is done (else
        # the feeds still count, by a varying amount: 127.5 or 163.9 B/event at 1M, same code)
        while int(client.info("memory").get("lazyfree_pending_objects", 0)):
            time.sleep(0.01)
        per_event = (int(client.info("memory")["used_memory"]) - before) / max(1, summary.new)
        log(f"{case}: ingest {rate:,.0f} events/s (XADD {base_rate:,.0f}), "
            f"{per_event:.1f} B/event once the live feed expired, {with_feed:.1f} with it "
            f"(XADD {base_bytes:.1f}), new {summary.new:,}")
        mem_target = SPARSE_MEMORY_TARGET if n == SPARSE else MEMORY_TARGET
        rows += [
            row("market ingest", case, round(rate), "events/s", baseline=round(base_rate),
                ratio=round(rate / base_rate, 3),
                target=">= 50,000 (10M); >= 0.8 x XADD (sparse month)",
                met=(rate / base_rate >= 0.8) if n == SPARSE else None),
            row("market memory", case, round(per_event, 1), "B/event",
                baseline=round(base_bytes, 1), ratio=round(per_event / base_bytes, 3),
                target=f"<= {mem_target:g}", met=per_event <= mem_target),
            row("market memory, live feed included", case, round(with_feed, 1), "B/event",
                baseline=round(base_bytes, 1), ratio=round(with_feed / base_bytes, 3),
                target=None, met=None),
        ]
        if os.environ.get("LIQCLI_BENCH_MARKET_INGEST_ONLY"):
            return rows  # the ingest and memory rows only: no queries, no DuckDB
        queries = _liqcli_queries(store, data)
        timings = {name: _p50(call, calls) for name, call in queries.items()}
        names = store.symbols()
        for name, (since, until) in (("all symbols, all time", (None, None)),
                                     ("all symbols, 24 h", (workload.END_MS - DAY_MS, None))):
            # the store's share: every symbol's rollups read and folded, as compute_stats
            # reads them (Store.rollup_units: integer sums, no Decimals)
            timings[f"{name} (store read only)"] = _p50(
                lambda s=since, u=until: store.rollup_units(names, s, u), calls)
        duck: dict[str, float] = {}
        if use_duckdb:
            try:
                duck = _duckdb_timings(data, Path(tmp), calls, _windows(data))
            except ImportError:
                log("duckdb/pyarrow not installed (pip install -e '.[bench]'): no DuckDB rows")
        for name, ms in timings.items():
            base = duck.get(name.removesuffix(" (store read only)"))
            target = None
            if name.startswith("all symbols") and not name.endswith("only)"):
                target = "< DuckDB"
            elif name == "BTCUSDT busy edges":
                target = "<= 10 ms"
            met = (ms < base) if (target == "< DuckDB" and base) else (
                ms <= 10 if name == "BTCUSDT busy edges" else None)
            rows.append(row(f"market query {name}", f"{case}, p50", round(ms, 3), "ms",
                            baseline=None if base is None else round(base, 3),
                            ratio=None if not base else round(ms / base, 3),
                            target=target, met=met))
            log(f"{case}: {name}: liqcli {ms:.2f} ms, DuckDB "
                f"{'-' if base is None else f'{base:.2f} ms'}")
    return rows


def _windows(data: Path) -> dict[str, tuple[int | None, int | None, str | None]]:
    """The query windows: (since, until, symbol or None for all)."""
    end = workload.END_MS
    busiest: Counter[int] = Counter()
    with open(data, encoding="utf-8") as lines:
        for line in lines:
            if '"BTCUSDT"' in line:
                busiest[json.loads(line)["ts"] // 600_000] += 1
    slots = [slot for slot, _ in busiest.most_common(2)] or [end // 600_000 - 10]
    lo, hi = min(slots), max(slots)
    if lo == hi:
        hi = lo + 1
    # both edges inside the two busiest slots (mid-slot, not on a boundary)
    edges = (lo * 600_000 + 300_123, hi * 600_000 + 299_877)
    return {
        "all symbols, all time": (None, None, None),
        "all symbols, 24 h": (end - DAY_MS, None, None),
        "all symbols, 7 d": (end - 7 * DAY_MS, None, None),
        "BTCUSDT all time": (None, None, "BTCUSDT"),
        "BTCUSDT 7 d": (end - 7 * DAY_MS - 1_234_567, end - 1_234_567, "BTCUSDT"),
        "BTCUSDT busy edges": (edges[0], edges[1], "BTCUSDT"),
    }


def _liqcli_queries(store: Any, data: Path) -> dict[str, Callable[[], object]]:
    from liqcli.report.core import compute_stats

    out: dict[str, Callable[[], object]] = {}
    for name, (since, until, symbol) in _windows(data).items():
        if symbol is None:
            out[name] = (lambda s=since, u=until: compute_stats(store, since_ms=s, until_ms=u,
                                                              all_symbols=True))
        else:
            out[name] = (lambda s=since, u=until, sym=symbol: compute_stats(
                store, sym, since_ms=s, until_ms=u))
    return out


def _p50(call: Callable[[], object], calls: int) -> float:
    for _ in range(2):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1e6


def _duckdb_timings(data: Path, tmp: Path, calls: int,
                    windows: dict[str, tuple[int | None, int | None, str | None]]
                    ) -> dict[str, float]:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from liqcli.model import default_usd

    parquet = tmp / "events.parquet"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would print on stdout (the rows' stream)
    if _parquet_by_duckdb(con, data, parquet):
        return _duckdb_queries(con, parquet, calls, windows)
    columns: dict[str, list[Any]] = {k: [] for k in
                                     ("exchange", "symbol", "side", "price", "qty", "usd", "ts",
                                      "id")}
    with open(data, encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            price, qty = Decimal(event["price"]), Decimal(event["qty"])
            for key in ("exchange", "symbol", "side", "ts", "id"):
                columns[key].append(event[key])
            columns["price"].append(price)
            columns["qty"].append(qty)
            columns["usd"].append(default_usd(price, qty))
    dec = pa.decimal128(38, 18)
    table = pa.table({
        "exchange": pa.array(columns["exchange"], pa.string()),
        "symbol": pa.array(columns["symbol"], pa.string()),
        "side": pa.array(columns["side"], pa.string()),
        "price": pa.array(columns["price"], dec),
        "qty": pa.array(columns["qty"], dec),
        "usd": pa.array(columns["usd"], dec),
        "ts": pa.array(columns["ts"], pa.int64()),
        "id": pa.array(columns["id"], pa.string()),
    })
    pq.write_table(table, parquet)
    del table, columns
    return _duckdb_queries(con, parquet, calls, windows)


def _parquet_by_duckdb(con: Any, data: Path, parquet: Path) -> bool:
    """The Parquet file written by DuckDB itself (seconds, little memory, where the Python path
    holds every event as Decimals: minutes and GBs at 10M), when that is exact: amounts read
    as text, price ≤ 8 and qty ≤ 10 decimals (checked), so that usd = price × qty has ≤ 18
    decimals and equals ``default_usd`` without rounding. False: the Python path does it."""
    source = (f"read_json('{data}', format = 'newline_delimited', columns = {{exchange: 'VARCHAR', "
              "symbol: 'VARCHAR', side: 'VARCHAR', price: 'VARCHAR', qty: 'VARCHAR', "
              "ts: 'BIGINT', id: 'VARCHAR'})")
    inexact = con.execute(
        f"SELECT count(*) FROM {source} WHERE CAST(price AS DECIMAL(38,18)) <> "
        "CAST(price AS DECIMAL(38,8)) OR CAST(qty AS DECIMAL(38,18)) <> "
        "CAST(qty AS DECIMAL(38,10))").fetchone()
    if inexact is None or inexact[0]:
        return False
    con.execute(
        f"COPY (SELECT exchange, symbol, side, CAST(price AS DECIMAL(38,18)) AS price, "
        "CAST(qty AS DECIMAL(38,18)) AS qty, CAST(CAST(price AS DECIMAL(38,8)) * "
        "CAST(qty AS DECIMAL(38,10)) AS DECIMAL(38,18)) AS usd, ts, id "
        f"FROM {source}) TO '{parquet}' (FORMAT parquet)")
    return True


def _duckdb_queries(con: Any, parquet: Path, calls: int,
                    windows: dict[str, tuple[int | None, int | None, str | None]]
                    ) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, (since, until, symbol) in windows.items():
        where = ["TRUE"]
        if since is not None:
            where.append(f"ts >= {since}")
        if until is not None:
            where.append(f"ts < {until}")
        if symbol is not None:
            where.append(f"symbol = '{symbol}'")
        sql = (f"SELECT symbol, exchange, side, count(*), sum(qty), sum(usd), min(ts), max(ts) "
               f"FROM read_parquet('{parquet}') WHERE {' AND '.join(where)} "
               f"GROUP BY symbol, exchange, side")
        out[name] = _p50(lambda sql=sql: con.execute(sql).fetchall(), calls)
    return out


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
