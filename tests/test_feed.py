"""The live feed on a real redis-server: written with the batch (new events only), hints, and
the Follower's replay → follow hand-off, lost hints and cost (O(new events))."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from event_factory import random_events
from live_proc import ingest_without_hint

from liqcli.model import Event
from liqcli.report.follow import Follower, Item
from liqcli.store.feed import FEED_KEEP_MS, FEED_MAXLEN, FeedReader, feed_key, hints_key
from liqcli.store.store import Store

NOW = 1_795_000_000_000


def feed_events(store: Store, symbol: str) -> list[list[Event]]:
    reader = FeedReader(store.client, store.prefix)
    return [events for _id, events in reader.read(symbol, "0-0", 10_000)]


def test_the_feed_holds_exactly_the_new_events_of_each_batch(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    first = random_events(1, 30, newest=NOW, span_ms=3 * 3_600_000)
    second = random_events(2, 20, newest=NOW, span_ms=3 * 3_600_000)
    assert sum(store.ingest_batch(first)) == 30
    assert sum(store.ingest_batch(first[:10] + second)) == 20  # 10 duplicates
    assert sum(store.ingest_batch(first)) == 0  # nothing new: no entry, no hint
    entries = feed_events(store, "BTCUSDT")
    assert len(entries) == 2
    assert sorted(entries[0], key=repr) == sorted(first, key=repr)
    assert sorted(entries[1], key=repr) == sorted(second, key=repr)
    # inside an entry: slots ascending (a batch spanning hours is roughly time-ordered)
    slots = [e.ts_ms // 600_000 for e in entries[0]]
    assert slots == sorted(slots)
    hints = redis_client.xrange(hints_key("liq"))
    assert [fields[b"s"] for _id, fields in hints] == [b"BTCUSDT", b"BTCUSDT"]


def test_hint_names_every_symbol_with_new_events_once(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    events = random_events(3, 5, newest=NOW, span_ms=60_000) + random_events(
        4, 5, newest=NOW, span_ms=60_000, symbol="ETHUSDT")
    store.ingest_batch(events)
    (_id, fields), = redis_client.xrange(hints_key("liq"))
    assert sorted(fields[b"s"].split(b",")) == [b"BTCUSDT", b"ETHUSDT"]
    assert feed_key("liq", "ETHUSDT") == "liq:{ETHUSDT}:feed"  # the symbol's hash slot


def test_the_feed_is_capped(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    for i in range(FEED_MAXLEN + 300):
        store.ingest_batch(random_events(1000 + i, 1, newest=NOW, span_ms=1000))
    length = redis_client.xlen(feed_key("liq", "BTCUSDT"))
    assert FEED_MAXLEN <= length < FEED_MAXLEN + 300  # MAXLEN ~ trims whole nodes


def test_the_feed_keeps_entries_for_a_while_only(redis_client: redis.Redis) -> None:
    """Entries older than the keep time go at the next write; the key expires after it."""
    import time

    store = Store(redis_client)
    store.feed_keep_ms = 300
    key = feed_key("liq", "BTCUSDT")
    store.ingest_batch(random_events(5, 3, newest=NOW, span_ms=1000))
    (old_id, _events), = FeedReader(redis_client).read("BTCUSDT", "0-0")
    assert 0 < redis_client.pttl(key) <= 300
    time.sleep(0.35)
    store.ingest_batch(random_events(6, 2, newest=NOW, span_ms=1000))
    entries = FeedReader(redis_client).read("BTCUSDT", "0-0")
    assert [len(events) for _id, events in entries] == [2]  # the first entry was trimmed
    assert FeedReader(redis_client).trimmed_after("BTCUSDT", old_id)
    time.sleep(0.35)
    assert redis_client.exists(key) == 0  # expired: no copy of the events is left
    reader = FeedReader(redis_client, keep_ms=300)
    assert reader.trimmed_after("BTCUSDT", entries[0][0])  # said, not hidden
    assert not FeedReader(redis_client).trimmed_after("BTCUSDT", entries[0][0])  # 10 min: kept
    assert sum(c.events for c in store.rollup("BTCUSDT").cells.values()) == 5  # all stored
    assert FEED_KEEP_MS == 600_000  # the documented 10 minutes (docs/redis-layout.md)


def collect(items: Iterator[Item], n: int) -> list[Event]:
    out: list[Event] = []
    for item in items:
        if item.event is not None:
            out.append(item.event)
            if len(out) == n:
                break
    return out


def test_replay_is_in_event_time_order_across_symbols(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    btc = random_events(5, 200, newest=NOW, span_ms=5 * 3_600_000)
    eth = random_events(6, 200, newest=NOW, span_ms=5 * 3_600_000, symbol="ETHUSDT")
    store.ingest(btc + eth, batch_size=37)
    since = NOW - 4 * 3_600_000
    follower = Follower(store, ["BTCUSDT", "ETHUSDT"], since_ms=since, until_ms=NOW - 1000,
                        follow=False)
    got = [item.event for item in follower]
    expected = [e for e in btc + eth if since <= e.ts_ms < NOW - 1000]
    assert sorted(got, key=repr) == sorted(expected, key=repr) and len(got) == len(expected)
    times = [e.ts_ms for e in got if e is not None]
    assert times == sorted(times)


class IngestingStore(Store):
    """A real Store whose log read lets another batch be stored half-way (what a concurrent
    ingester does while a tail replays)."""

    extra: list[Event]

    def events(self, symbol: str, since_ms: int | None = None,
               until_ms: int | None = None) -> Iterator[Event]:
        for index, event in enumerate(super().events(symbol, since_ms, until_ms)):
            if index == 3:
                Store(self.client).ingest_batch(self.extra)
            yield event


def test_events_stored_during_the_replay_are_printed_once(redis_client: redis.Redis) -> None:
    store = IngestingStore(redis_client)
    old = random_events(7, 40, newest=NOW - 120_000, span_ms=3_000_000)
    store.ingest_batch(old)
    # stored while the replay reads: some inside the replayed hours, some later
    store.extra = random_events(8, 30, newest=NOW, span_ms=3_000_000)
    late = random_events(9, 5, newest=NOW, span_ms=1000)
    follower = Follower(store, ["BTCUSDT"], since_ms=NOW - 4_000_000, block_ms=200)
    follower.start()
    items = iter(follower)
    got = collect(items, 70)
    Store(redis_client).ingest_batch(late)
    got += collect(items, 5)
    assert sorted(got, key=repr) == sorted(old + store.extra + late, key=repr)
    assert len(set(got)) == 75


def test_a_lost_hint_is_caught_at_the_next_hint(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    follower = Follower(store, None, block_ms=100)
    follower.start()
    items = iter(follower)
    first = random_events(10, 3, newest=NOW, span_ms=1000)
    store.ingest_batch(first)
    assert sorted(collect(items, 3), key=repr) == sorted(first, key=repr)
    # an ingester killed between its script call and its hint: the script alone
    lost = random_events(11, 4, newest=NOW, span_ms=1000)
    ingest_without_hint(store, lost)
    after = random_events(12, 2, newest=NOW, span_ms=1000)
    store.ingest_batch(after)
    got = collect(items, 6)
    assert sorted(got, key=repr) == sorted(lost + after, key=repr)


def test_follow_costs_reads_of_new_events_only(redis_client: redis.Redis) -> None:
    """Many symbols with history; a batch of one symbol costs the follower one hint read and
    one feed read of that symbol (commandstats), never a read of the others."""
    store = Store(redis_client)
    symbols = [f"S{i}USDT" for i in range(30)]
    for symbol in symbols:
        store.ingest_batch(random_events(20, 50, newest=NOW, span_ms=600_000, symbol=symbol))
    follower = Follower(store, None, block_ms=5000)
    follower.start()
    items = iter(follower)
    one = random_events(21, 3, newest=NOW, span_ms=1000, symbol="S7USDT")
    redis_client.config_resetstat()
    store.ingest_batch(one)
    got = collect(items, 3)
    assert sorted(got, key=repr) == sorted(one, key=repr)
    stats = redis_client.info("commandstats")
    # setup reads (xrevrange per symbol) happened before the reset; after it: the ingest's
    # XADD of the hint, one XREAD, and XRANGE of S7USDT only
    assert stats["cmdstat_xread"]["calls"] == 1
    assert stats["cmdstat_xrange"]["calls"] == 1
    assert "cmdstat_xrevrange" not in stats


def test_follower_on_a_cluster_mode_server(tmp_path: Path) -> None:
    from conftest import cluster_node

    server = cluster_node(tmp_path)
    try:
        client = redis.Redis(port=server.port)
        store = Store(client)
        old = random_events(30, 10, newest=NOW, span_ms=60_000, symbol="ETHUSDT")
        store.ingest_batch(old)
        follower = Follower(store, None, since_ms=NOW - 120_000, block_ms=200)
        follower.start()
        items = iter(follower)
        assert sorted(collect(items, 10), key=repr) == sorted(old, key=repr)
        new = random_events(31, 10, newest=NOW, span_ms=60_000, symbol="SOLUSDT")
        store.ingest_batch(new)
        assert sorted(collect(items, 10), key=repr) == sorted(new, key=repr)
    finally:
        server.cleanup()


@pytest.mark.parametrize("cursor", ["0-0"])
def test_trim_detection(redis_client: redis.Redis, cursor: str) -> None:
    store = Store(redis_client)
    reader = FeedReader(redis_client)
    store.ingest_batch(random_events(40, 1, newest=NOW, span_ms=10))
    (first_id, _events), = reader.read("BTCUSDT", cursor)
    assert not reader.trimmed_after("BTCUSDT", first_id)
    for i in range(FEED_MAXLEN + 300):
        store.ingest_batch(random_events(2000 + i, 1, newest=NOW, span_ms=1000))
    assert reader.trimmed_after("BTCUSDT", first_id)
    assert not reader.trimmed_after("BTCUSDT", cursor)
