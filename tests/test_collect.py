"""`liqcli collect` against a local websocket server replaying each exchange's format."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from liqcli.feeds.collector import Collector, CollectorConfig
from liqcli.store.coverage import coverage_gaps, coverage_intervals, covered_exchanges
from liqcli.store.store import Store

websockets_server = pytest.importorskip("websockets.asyncio.server")

TS = int(time.time() * 1000) - 3_600_000  # an hour ago: inside validation's window


def okx_frame(inst: str, *details: tuple[str, str, str, str, int]) -> str:
    return json.dumps({"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": [
        {"instId": inst, "instType": "SWAP", "instFamily": inst.rsplit("-", 1)[0],
         "details": [{"side": side, "posSide": pos, "sz": sz, "bkPx": px, "ts": str(ts)}
                     for side, pos, sz, px, ts in details]}]})


def binance_frame(symbol: str, side: str, z: str, ap: str, ts: int) -> str:
    return json.dumps({"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": ts, "o": {
        "s": symbol, "S": side, "o": "LIMIT", "f": "IOC", "q": z, "p": "1", "ap": ap,
        "X": "FILLED", "l": z, "z": z, "T": ts}}})


def bybit_frame(*entries: tuple[str, str, str, int]) -> str:
    return json.dumps({"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": TS,
                       "data": [{"T": ts, "s": "BTCUSDT", "S": s, "v": v, "p": p}
                                for s, v, p, ts in entries]})


OKX_A = okx_frame("BTC-USDT-SWAP", ("sell", "long", "8.55", "82655.7", TS),
                  ("buy", "short", "2", "82000.1", TS + 1))
OKX_B = okx_frame("ETH-USDT-SWAP", ("sell", "net", "30", "3100.25", TS + 2))
BIN_A = binance_frame("BTCUSDT", "SELL", "0.288", "39021.00", TS + 3)
BIN_B = binance_frame("ETHUSDT", "BUY", "1.5", "3000.5", TS + 4)
BYB_A = bybit_frame(("Buy", "0.5", "60000.5", TS + 5), ("Sell", "0.25", "60100", TS + 6))

# What each connection sends, in order; "DROP" aborts the TCP connection mid-stream and
# "HOLD" keeps it open (answering pings) until the client leaves.
SCRIPTS: dict[str, list[list[str]]] = {
    "/okx": [
        ['{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"}}',
         OKX_A, '{"arg": {"channel": "liquidation-orders"}, "data": [', "DROP"],
        [OKX_A, OKX_B, "HOLD"],  # OKX replays old events on connect
    ],
    "/binance": [
        ['{"result":null,"id":1}', BIN_A, "DROP"],
        [BIN_A, BIN_B, "HOLD"],
    ],
    "/bybit": [
        ['{"success":true,"op":"subscribe"}', BYB_A, "HOLD"],
    ],
}


def expected_sums() -> dict[tuple[str, str, str], tuple[int, Decimal, Decimal]]:
    """(symbol, exchange, side) → (events, qty, usd), recomputed from the distinct frames."""
    sums: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0),
                                                                        Decimal(0)])

    def add(key: tuple[str, str, str], qty: Decimal, price: Decimal) -> None:
        cell = sums[key]
        cell[0] += 1
        cell[1] += qty
        cell[2] += qty * price

    for frame, ct_val in ((OKX_A, Decimal("0.01")), (OKX_B, Decimal("0.1"))):
        item = json.loads(frame)["data"][0]
        symbol = item["instId"].replace("-SWAP", "").replace("-", "")
        for d in item["details"]:
            side = {"long": "LONG", "short": "SHORT"}.get(d["posSide"]) or \
                {"sell": "LONG", "buy": "SHORT"}[d["side"]]
            add((symbol, "okx", side), Decimal(d["sz"]) * ct_val, Decimal(d["bkPx"]))
    for frame in (BIN_A, BIN_B):
        o = json.loads(frame)["data"]["o"]
        add((o["s"], "binance", "LONG" if o["S"] == "SELL" else "SHORT"), Decimal(o["z"]),
            Decimal(o["ap"]))
    for entry in json.loads(BYB_A)["data"]:
        add(("BTCUSDT", "bybit", "LONG" if entry["S"] == "Buy" else "SHORT"),
            Decimal(entry["v"]), Decimal(entry["p"]))
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


class ReplayServer:
    """A websocket server on 127.0.0.1 (own thread + loop) playing SCRIPTS per path."""

    def __init__(self) -> None:
        self.connections: dict[str, int] = defaultdict(int)
        self.received: dict[str, list[str]] = defaultdict(list)
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with websockets_server.serve(self._handler, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _handler(self, ws: Any) -> None:
        path = ws.request.path
        scripts = SCRIPTS[path]
        number = self.connections[path]
        self.connections[path] += 1
        script = scripts[min(number, len(scripts) - 1)] if number < len(scripts) else ["HOLD"]
        reader = asyncio.ensure_future(self._read(ws, path))
        try:
            for step in script:
                if step == "DROP":
                    await asyncio.sleep(0.05)
                    ws.transport.abort()
                    return
                if step == "HOLD":
                    await reader
                    return
                await ws.send(step)
        finally:
            reader.cancel()

    async def _read(self, ws: Any, path: str) -> None:
        async for message in ws:
            self.received[path].append(message)
            if message == "ping":
                await ws.send("pong")


def store_sums(store: Store) -> dict[tuple[str, str, str], tuple[int, Decimal, Decimal]]:
    found = {}
    for symbol in store.symbols():
        for (exchange, side), cell in store.rollup(symbol).cells.items():
            found[(symbol, exchange, side)] = (cell.events, cell.qty, cell.usd)
    return found


def run_collector(store: Store, server: ReplayServer, record: Path | None,
                  until: Any) -> Collector:
    config = CollectorConfig(
        exchanges=["okx", "binance", "bybit"],
        endpoints={n: server.url(f"/{n}") for n in ("okx", "binance", "bybit")},
        record_path=str(record) if record else None,
        backoff_initial_s=0.2, backoff_max_s=0.4, heartbeat_s=0.05, ping_interval_s=0.1,
        log=lambda line: None,
    )
    collector = Collector(store, config)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(collector.run(stop))
        deadline = time.monotonic() + 20
        while not until() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    return collector


def test_collect_survives_drops_replays_and_malformed_frames(redis_client: Any,
                                                             tmp_path: Path) -> None:
    store = Store(redis_client, prefix="live")
    want = expected_sums()
    with ReplayServer() as server:
        collector = run_collector(
            store, server, tmp_path / "rec.jsonl",
            until=lambda: store_sums(store) == want and "ping" in server.received["/okx"])
    assert store_sums(store) == want
    stats = collector.stats
    assert stats["okx"].rejected == 1 and stats["okx"].connects == 2
    assert stats["okx"].duplicate == 2 and stats["binance"].duplicate == 1
    assert stats["bybit"].connects == 1 and stats["bybit"].new == 2
    assert server.received["/okx"][0].startswith('{"op": "subscribe"')
    assert "ping" in server.received["/bybit"] or '{"op":"ping"}' in server.received["/bybit"]

    # Coverage: two connections to okx and binance with a gap between, one to bybit.
    assert covered_exchanges(redis_client, "live") == ["binance", "bybit", "okx"]
    for name in ("okx", "binance"):
        spans = coverage_intervals(redis_client, "live", name)
        assert len(spans) == 2
        gaps = coverage_gaps(redis_client, "live", name, spans[0][0], spans[-1][1])
        assert gaps == [(spans[0][1], spans[1][0])] and spans[1][0] - spans[0][1] >= 100
    (bybit_span,) = coverage_intervals(redis_client, "live", "bybit")
    assert coverage_gaps(redis_client, "live", "bybit", *bybit_span) == []
    assert coverage_gaps(redis_client, "live", "deribit", 0, 1) is None

    # The recordings replay to the very same figures (the malformed frame is rejected).
    from liqcli.ingest.readers import read_records
    from liqcli.ingest.validate import normalize

    replay = Store(redis_client, prefix="replay")
    errors = []
    for name in ("okx", "binance", "bybit"):
        path = tmp_path / f"rec.{name}.jsonl"
        for record in read_records(str(path), name):
            if record.error:
                errors.append((name, record.error))
            elif record.data is not None:
                replay.ingest([normalize(record.data)])
    assert store_sums(replay) == want
    assert len(errors) == 1 and errors[0][0] == "okx" and "malformed JSON" in errors[0][1]


def test_coverage_gaps_arithmetic(redis_client: Any) -> None:
    from liqcli.store.coverage import mark_connected

    mark_connected(redis_client, "p", "okx", 1000, 2000)
    mark_connected(redis_client, "p", "okx", 1500, 2500)  # overlapping connections merge
    mark_connected(redis_client, "p", "okx", 4000, 5000, ["ETHUSDT"])
    assert coverage_gaps(redis_client, "p", "okx", 0, 6000) == [(0, 1000), (2500, 4000),
                                                                 (5000, 6000)]
    assert coverage_gaps(redis_client, "p", "okx", 1200, 2400) == []
    assert coverage_gaps(redis_client, "p", "okx", 0, 6000, "BTCUSDT") == [(0, 1000),
                                                                            (2500, 6000)]
    assert coverage_gaps(redis_client, "p", "okx", None, 4500, "ETHUSDT") == [(2500, 4000)]


def test_collect_command_exits_0_on_sigterm_after_flushing(redis_url: str, redis_client: Any,
                                                           tmp_path: Path) -> None:
    store = Store(redis_client)
    with ReplayServer() as server:
        code = ("import liqcli.cli.collect_cmd\nfrom liqcli.cli.app import run\n"
                "run(__import__('sys').argv[1:])")
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "collect", "--exchange", "bybit",
             "--endpoint", f"bybit={server.url('/bybit')}", "--redis-url", redis_url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ},
        )
        deadline = time.monotonic() + 20
        want = {k: v for k, v in expected_sums().items() if k[1] == "bybit"}
        while store_sums(store) != want and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()
    assert out == b""
    assert b"bybit: 1 connection(s)" in err and b"2 new" in err
    assert store_sums(store) == want
    assert coverage_intervals(redis_client, "liq", "bybit")
