"""The live collector behind ``liqcli collect``: websockets → adapters → the store.

One task per exchange connects to its public liquidation channel, subscribes, answers the
exchange's keep-alives, normalizes every message with the exchange's adapter and ingests the
events (idempotently: an exchange replaying old events on reconnect, as OKX does, changes
nothing). A dropped connection is retried with exponential backoff and full jitter; a
connection is also renewed before ``max_connection_s`` (Binance closes them after 24 h).
Connected intervals are recorded in the store (:mod:`liqcli.store.coverage`) so reports can show
gaps. ``record`` appends every received message, with its receive time, to a file that
``liqcli ingest --format EXCHANGE`` replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters import Adapter, ContractTable, get_adapter, parse_object
from liqcli.feeds.adapters.base import out_of_range, unwrap_recording
from liqcli.model import Event
from liqcli.store.coverage import mark_connected

# Binance closes connections after 24 h: renew a little before.
MAX_CONNECTION_S = {"binance": 23.5 * 3600}
MAX_PENDING = 200_000  # events kept in memory while the store is unreachable


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class FeedStats:
    connects: int = 0
    messages: int = 0
    new: int = 0
    duplicate: int = 0
    skipped: int = 0
    filtered: int = 0
    rejected: int = 0


@dataclass(slots=True)
class CollectorConfig:
    exchanges: list[str]
    symbols: list[str] = field(default_factory=list)  # normalized; empty = all the feed sends
    endpoints: dict[str, str] = field(default_factory=dict)  # exchange → URL override
    contracts: ContractTable = field(default_factory=ContractTable)
    record_path: str | None = None
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    heartbeat_s: float = 5.0  # how often coverage is refreshed while connected
    ping_interval_s: float | None = None  # override of the exchanges' app-level ping interval
    max_connection_s: dict[str, float] = field(default_factory=lambda: dict(MAX_CONNECTION_S))
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))


class Collector:
    """Run with ``await collector.run(stop)``; set ``stop`` to flush and finish."""

    def __init__(self, store: Any, config: CollectorConfig) -> None:
        self.store = store
        self.config = config
        self.adapters: dict[str, Adapter] = {}
        for name in config.exchanges:
            adapter = get_adapter(name)
            if adapter.live is None:
                raise ValueError(f"exchange {name!r} has no live feed")
            self.adapters[name] = adapter
        self.stats = {name: FeedStats() for name in config.exchanges}
        self.symbols = {s.upper() for s in config.symbols}
        self._pending: list[Event] = []
        self._records: dict[str, IO[str]] = {}

    # --- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> dict[str, FeedStats]:
        if self.config.record_path:
            for name in self.adapters:
                path = record_path(self.config.record_path, name, len(self.adapters))
                self._records[name] = open(path, "a", encoding="utf-8")  # noqa: SIM115
        try:
            await asyncio.gather(*(self._feed(name, stop) for name in self.adapters))
        finally:
            self._flush_pending(final=True)
            for handle in self._records.values():
                handle.close()
        return self.stats

    async def _feed(self, name: str, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            connected = await self._session(name, stop)
            if stop.is_set():
                break
            attempt = 0 if connected else attempt + 1
            delay = min(self.config.backoff_max_s, self.config.backoff_initial_s * 2**attempt)
            delay *= random.uniform(0.5, 1.0)  # jitter: reconnects of many clients spread out
            self.config.log(f"liqcli: {name}: reconnecting in {delay:.1f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _session(self, name: str, stop: asyncio.Event) -> bool:
        """One connection; True when it got as far as receiving messages."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        adapter = self.adapters[name]
        live = adapter.live
        assert live is not None
        url = self.config.endpoints.get(name, live.url)
        started: int | None = None
        try:
            async with connect(url, open_timeout=10, close_timeout=2, max_size=2**23,
                               ping_interval=20, ping_timeout=20) as ws:
                for message in live.subscribe(sorted(self.symbols)):
                    await ws.send(json.dumps(message))
                started = now_ms()
                self.stats[name].connects += 1
                self._cover(name, started)
                self.config.log(f"liqcli: {name}: connected to {url}")
                await self._receive(name, ws, stop, started)
        except (OSError, TimeoutError, WebSocketException) as exc:
            reason = str(exc) or type(exc).__name__
            self.config.log(f"liqcli: {name}: connection lost: {reason}")
        finally:
            if started is not None:
                self._cover(name, started)
        return started is not None

    async def _receive(self, name: str, ws: Any, stop: asyncio.Event, started: int) -> None:
        live = self.adapters[name].live
        assert live is not None
        ping_every = self.config.ping_interval_s or live.ping_interval_s
        renew_at = time.monotonic() + self.config.max_connection_s.get(name, float("inf"))
        next_ping = time.monotonic() + ping_every
        next_beat = time.monotonic() + self.config.heartbeat_s
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if time.monotonic() >= renew_at:
                    self.config.log(f"liqcli: {name}: renewing the connection")
                    return
                wake = min(next_ping if live.ping_text else float("inf"), next_beat, renew_at)
                timeout = max(0.0, wake - time.monotonic())
                receiver = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait({receiver, stopper}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                if receiver in done:
                    reply = self._handle(name, receiver.result())
                    if reply is not None:
                        await ws.send(reply)
                else:
                    receiver.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await receiver
                moment = time.monotonic()
                if live.ping_text and moment >= next_ping:
                    await ws.send(live.ping_text)
                    next_ping = moment + ping_every
                if moment >= next_beat:
                    self._cover(name, started)
                    self._flush_pending()
                    next_beat = moment + self.config.heartbeat_s
        finally:
            stopper.cancel()

    # --- one message -----------------------------------------------------------------------

    def _handle(self, name: str, message: str | bytes) -> str | None:
        """Record, parse and ingest one message; returns a reply to send, if any.

        A bad frame (binary, malformed, numbers out of range) or a bad item of a batch frame is
        counted as rejected and logged; collection goes on.
        """
        from liqcli.ingest.readers import parse_json

        received = now_ms()
        stats = self.stats[name]
        stats.messages += 1
        adapter = self.adapters[name]
        if isinstance(message, str):
            text = message
        else:
            try:
                text = message.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._write_record(name, received, message.decode("utf-8", "replace"),
                                   is_json=False)
                self._reject(name, f"invalid UTF-8 at byte {exc.start + 1} (binary frame?)")
                return None
        if text.strip() in ("pong", "ping"):
            stats.skipped += 1
            return None
        try:
            obj = parse_json(text)
        except InvalidEvent as exc:
            self._write_record(name, received, text, is_json=False)
            self._reject(name, exc.reason)
            return None
        self._write_record(name, received, text, is_json=True)
        live = adapter.live
        if live is not None and live.answer is not None:
            answer = live.answer(obj)
            if answer is not None:
                return answer if isinstance(answer, str) else json.dumps(answer)
        obj, _ = unwrap_recording(obj)
        try:
            result = parse_object(adapter, obj, received_ms=received,
                                  contracts=self.config.contracts)
        except InvalidEvent as exc:
            self._reject(name, exc.reason)
            return None
        except ValueError as exc:  # an adapter's bug on odd input must not end collection
            self._reject(name, f"unreadable frame ({type(exc).__name__}: {exc})")
            return None
        for error in result.errors:  # bad items of a batch frame; its good ones are kept
            self._reject(name, error.reason, what="item")
        if result.skipped:
            stats.skipped += 1
        events = self._normalize(name, result.events)
        if self.symbols:
            kept = [e for e in events if e.symbol in self.symbols]
            stats.filtered += len(events) - len(kept)
            events = kept
        if events:
            self._ingest(name, events)
        return None

    def _normalize(self, name: str, items: list[dict[str, Any]]) -> list[Event]:
        """Validate each event on its own: one invalid event does not drop the others."""
        from liqcli.ingest.validate import normalize

        events = []
        for item in items:
            try:
                events.append(normalize(item))
            except InvalidEvent as exc:
                self._reject(name, exc.reason, what="item")
            except ArithmeticError as exc:
                self._reject(name, out_of_range(exc).reason, what="item")
        return events

    def _reject(self, name: str, reason: str, *, what: str = "frame") -> None:
        self.stats[name].rejected += 1
        self.config.log(f"liqcli: {name}: rejected {what}: {reason}")

    def _ingest(self, name: str, events: list[Event]) -> None:
        self._pending.extend(events)
        self._flush_pending()

    def _flush_pending(self, *, final: bool = False) -> None:
        if not self._pending:
            return
        batch = list(self._pending)
        try:
            flags = self.store.ingest_batch(batch)
        except Exception as exc:  # the store is away: keep the events, retry later
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                self.config.log(f"liqcli: store unreachable, {dropped} events dropped")
            level = "error" if final else "warning"
            self.config.log(f"liqcli: {level}: store write failed ({exc}); "
                            f"{len(self._pending)} events pending")
            return
        del self._pending[: len(batch)]
        for event, is_new in zip(batch, flags, strict=True):
            stats = self.stats.get(event.exchange)
            if stats is None:
                continue
            if is_new:
                stats.new += 1
            else:
                stats.duplicate += 1

    def _cover(self, name: str, started: int) -> None:
        try:
            mark_connected(self.store.client, self.store.prefix, name, started, now_ms(),
                           self.symbols)
        except Exception as exc:
            self.config.log(f"liqcli: warning: cannot record coverage of {name}: {exc}")

    def _write_record(self, name: str, received: int, text: str, *, is_json: bool) -> None:
        handle = self._records.get(name)
        if handle is None:
            return
        line = f'{{"recv_ms":{received},"msg":{text}}}' if is_json else text
        handle.write(line.replace("\n", " ").replace("\r", " ") + "\n")
        handle.flush()


def record_path(path: str, exchange: str, feeds: int) -> str:
    """Where ``exchange``'s messages are recorded: ``{exchange}`` in ``path`` is replaced;
    with several feeds and no placeholder, ``rec.jsonl`` becomes ``rec.okx.jsonl``."""
    if "{exchange}" in path:
        return path.replace("{exchange}", exchange)
    if feeds == 1:
        return path
    from pathlib import Path

    p = Path(path)
    return str(p.with_name(f"{p.stem}.{exchange}{p.suffix}"))
