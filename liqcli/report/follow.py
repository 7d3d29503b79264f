"""Follow the store's new events, after replaying stored ones: what ``tail`` and ``alert`` read.

No Typer, no output: :class:`Follower` yields :class:`Item` objects (an event, or a notice for
stderr) and the command prints them. The store side is in ``liqcli.store.feed``.

1. Cursors: the newest hint ID, then the newest feed entry ID of every selected symbol (C1).
2. Replay (``since_ms``): the stored log of ``[since, until)`` through ``Store.events``, day by
   day, each day sorted by event time (ties keep store order), symbols merged by time. An
   event stored while the replay runs may be both in the log the replay reads and in the feed
   after C1: after reading each day, the replay reads the feed after C1 so far and skips those
   events — the follow phase prints them (from C1). Nothing twice, nothing skipped.
3. Follow: block on the hint stream (``XREAD BLOCK``), then read the named symbols' feeds after
   their cursors, and hand their new events out merged in event-time order; the cursors move
   once the events were handed out. After a lost
   connection: retry with backoff, then read every selected symbol's feed from its cursor once
   (events stored meanwhile, and any lost hint), and report an entry the feed's cap removed.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from liqcli.model import Event
from liqcli.store.feed import START, FeedReader

DAY_MS = 86_400_000
BLOCK_MS = 2000
READ_COUNT = 200
MAX_BACKOFF_S = 2.0


@dataclass(frozen=True, slots=True)
class Item:
    """An event (``replayed``: from the stored log, not the live feed), or a ``notice``."""

    event: Event | None = None
    replayed: bool = False
    notice: str | None = None


def _is_connection_error(exc: BaseException) -> bool:
    import redis.exceptions as rexc

    return isinstance(exc, rexc.ConnectionError | rexc.TimeoutError | ConnectionError)


def by_time(events: Iterable[Event]) -> Iterator[list[Event]]:
    """Events read day by day (``Store.events``), as day groups sorted by event time."""
    group: list[Event] = []
    day: int | None = None
    for event in events:
        this = event.ts_ms // DAY_MS
        if group and this != day:
            yield sorted(group, key=_ts)
            group = []
        day = this
        group.append(event)
    if group:
        yield sorted(group, key=_ts)


def _ts(event: Event) -> int:
    return event.ts_ms


class Follower:
    """Replay then follow the events of ``symbols`` (None: every symbol, new ones included).

    ``store`` is a ``liqcli.store.Store``. ``follow=False`` stops after the replay.
    ``describe`` turns a connection error into a one-line notice.
    """

    def __init__(
        self,
        store: Any,
        symbols: Sequence[str] | None,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        follow: bool = True,
        block_ms: int = BLOCK_MS,
        sleep: Callable[[float], None] = time.sleep,
        describe: Callable[[BaseException], str] = str,
    ) -> None:
        self.store = store
        self.reader = FeedReader(store.client, store.prefix)
        self.all_symbols = symbols is None
        self.symbols: list[str] = list(symbols or ())
        self.since_ms = since_ms
        self.until_ms = until_ms
        self.follow = follow
        self.block_ms = block_ms
        self.sleep = sleep
        self.describe = describe
        self.cursors: dict[str, str] = {}
        self.hint_cursor = START
        self._started = False

    def start(self) -> None:
        """Take the cursors ('now'): the newest hint, then every selected feed's newest entry
        (in this order, so a batch stored after its feed cursor has a newer hint). Called by
        the first iteration if not before; idempotent."""
        if self._started:
            return
        self._started = True
        if self.follow:
            self.hint_cursor = self.reader.hint_end()
        if self.all_symbols:
            self.symbols = self.store.symbols()
        if self.follow:
            self.cursors = self.reader.feed_ends(self.symbols)

    def __iter__(self) -> Iterator[Item]:
        self.start()
        if self.since_ms is not None:
            streams = [self._replay(symbol) for symbol in self.symbols]
            for event in heapq.merge(*streams, key=_ts):
                yield Item(event, replayed=True)
        if self.follow:
            yield from self._follow()

    # ------------------------------------------------------------------ replay
    def _replay(self, symbol: str) -> Iterator[Event]:
        fresh: set[Event] = set()  # stored since C1: the follow phase prints them
        position = self.cursors.get(symbol, START)
        for group in by_time(self.store.events(symbol, self.since_ms, self.until_ms)):
            if self.follow:
                while True:
                    entries = self.reader.read(symbol, position, READ_COUNT)
                    for entry_id, events in entries:
                        fresh.update(events)
                        position = entry_id
                    if len(entries) < READ_COUNT:
                        break
            for event in group:
                if event not in fresh:
                    yield event

    # ------------------------------------------------------------------ follow
    def _read_all(self, symbol: str) -> tuple[str | None, list[Event]]:
        """Every feed entry of ``symbol`` after its cursor: (the newest entry ID, events)."""
        cursor = self.cursors.get(symbol, START)
        newest: str | None = None
        events: list[Event] = []
        while True:
            entries = self.reader.read(symbol, cursor, READ_COUNT)
            for entry_id, batch in entries:
                events.extend(batch)
                cursor = newest = entry_id
            if len(entries) < READ_COUNT:
                return newest, events

    def _deliver(self, symbols: Iterable[str]) -> Iterator[Item]:
        """The new events of ``symbols``, merged in event-time order (ties: feed order); the
        cursors move only once everything was read, so a failed read loses nothing."""
        moved: dict[str, str] = {}
        found: list[Event] = []
        for symbol in symbols:
            newest, events = self._read_all(symbol)
            if newest is not None:
                moved[symbol] = newest
                found.extend(events)
        found.sort(key=_ts)
        for event in found:
            yield Item(event)
        self.cursors.update(moved)

    def _sweep(self) -> Iterator[Item]:
        """After a reconnect: every selected feed from its cursor (lost hints included)."""
        if self.all_symbols:
            for symbol in self.store.symbols():
                if symbol not in self.cursors:
                    self.symbols.append(symbol)
                    self.cursors[symbol] = START
        for symbol in self.symbols:
            if self.reader.trimmed_after(symbol, self.cursors.get(symbol, START)):
                yield Item(notice=f"{symbol}: the feed may have dropped events this tail had "
                           "not read yet (it was disconnected too long); they are in the store")
        yield from self._deliver(self.symbols)

    def _follow(self) -> Iterator[Item]:
        selected = set(self.symbols)
        failures = 0
        while True:
            try:
                if failures:
                    yield from self._sweep()
                    selected = set(self.symbols)
                    failures = 0
                    yield Item(notice="store reachable again")
                self.hint_cursor, named = self.reader.wait(self.hint_cursor, self.block_ms)
                wanted = []
                for symbol in named:
                    if symbol not in selected:
                        if not self.all_symbols:
                            continue
                        selected.add(symbol)
                        self.symbols.append(symbol)
                        self.cursors[symbol] = START  # registered after we started
                    wanted.append(symbol)
                yield from self._deliver(wanted)
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                failures += 1
                delay = min(MAX_BACKOFF_S, 0.1 * 2 ** (failures - 1))
                yield Item(notice=f"reconnecting (attempt {failures}, next in {delay:.1f}s): "
                           f"{self.describe(exc)}")
                self.sleep(delay)
