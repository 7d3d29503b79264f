"""The ingest write path's shortcuts (#9): each one against a Decimal recomputation or the
stored structure it must leave exactly as the general path would."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import redis
from test_store import T0, _events, cells, ev, recompute
from test_top import expected, identity, unique

from liqcli.report.top import compute_top
from liqcli.store.store import DAY_MS, MINUTE_MS, SLOT_LOG_CAP, TOP_K, Store


def _group_args(store: Store, events: list) -> list[list[str]]:
    """The (header, lines, cells, detail) ARGV of each group of the one call ``events`` make."""
    ((_, _, args),) = store.pack(events).calls
    groups = int(args[6])
    return [args[7 + 4 * g : 11 + 4 * g] for g in range(groups)]


def test_a_group_of_one_event_sends_no_detail_and_a_duplicate_beside_a_new_one_is_exact(
    redis_client: redis.Redis,
) -> None:
    """A one-event group carries no per-event detail (its cells are the event); the script reads
    the detail only for a group holding a duplicate and a new event, i.e. two events or more."""
    store = Store(redis_client)
    first = [ev(price=f"{100 + i}.5", qty=f"0.{i + 1}", ts=T0 + i * MINUTE_MS, id=f"a{i}",
                side="LONG" if i % 2 else "SHORT") for i in range(6)]
    assert all(group[3] == "" for group in _group_args(store, first))
    assert store.ingest_batch(first) == [True] * 6
    # each minute again: its stored event (a duplicate) beside a new one of another cell
    second = []
    for i, event in enumerate(first):
        second += [event, ev(exchange="okx", price="99.25", qty="1.000000000000000001",
                             ts=event.ts_ms + 5, id=f"b{i}")]
    assert all(group[3].count("\n") == 1 for group in _group_args(store, second))
    assert store.ingest_batch(second) == [False, True] * 6
    everything = first + second
    assert cells(store, "BTCUSDT") == recompute(everything)
    assert cells(store, "BTCUSDT", T0 + 2 * MINUTE_MS, T0 + 4 * MINUTE_MS) == recompute(
        everything, T0 + 2 * MINUTE_MS, T0 + 4 * MINUTE_MS)
    assert _events(store.events("BTCUSDT")) == _events(unique(everything))


def test_a_full_day_set_is_left_alone_by_smaller_events_and_taken_by_a_larger_one(
    redis_client: redis.Redis,
) -> None:
    """The top-K block's shortcut: a day set holding K members whose K-th score is above every
    event of the batch keeps its members (plus the '~' mark); a larger event still enters and
    pushes the smallest out. ``top`` stays exact throughout."""
    store = Store(redis_client)
    store.log_caps = (0, 0, SLOT_LOG_CAP)  # every event outside the day log: in the sets
    day = T0 // DAY_MS
    keys = [store.key("BTCUSDT", f"{prefix}:D:{day}") for prefix in ("tu", "tq")]
    big = [ev(qty=str(10 + i), ts=T0 + i * 1000, id=f"big{i}") for i in range(TOP_K + 30)]
    store.ingest_batch(big)
    before = [redis_client.zrange(key, 0, -1, withscores=True) for key in keys]
    assert all(len(members) == TOP_K + 1 and members[0][0] == b"~" for members in before)
    small = [ev(qty="0.5", ts=T0 + 5_000_000 + i, id=f"small{i}") for i in range(40)]
    assert store.ingest_batch(small) == [True] * 40
    assert [redis_client.zrange(key, 0, -1, withscores=True) for key in keys] == before
    larger = ev(qty="1000", ts=T0 + 6_000_000, id="larger")
    store.ingest_batch([larger, *small[:3]])
    for key, members in zip(keys, before, strict=True):
        after = redis_client.zrange(key, 0, -1, withscores=True)
        assert len(after) == TOP_K + 1 and after[0][0] == b"~"
        assert after[1:-1] == members[2:]  # the smallest gone, the rest kept
        assert after[-1][0].endswith(b"\tlarger")
    stream = big + small + [larger]
    for by in ("usd", "qty"):
        top = compute_top(store, "BTCUSDT", n=TOP_K, by=by)
        assert [identity(e) for e in top.entries] == expected(
            unique(stream), TOP_K, by, None, None, [], None)
    assert cells(store, "BTCUSDT") == recompute(stream)


def test_a_band_string_is_rewritten_in_place(redis_client: redis.Redis) -> None:
    """The price-band block rewrites only the batch's buckets' lines: the others keep their
    text and place, new buckets come last, and every sum is the exact one."""
    from liqcli.store.pricebands import Buckets, add_bands, add_event

    store = Store(redis_client)
    store.log_caps = (0, 0, SLOT_LOG_CAP)  # every event outside the day log: in the bands
    key = store.key("BTCUSDT", f"pb:D:{T0 // DAY_MS}")
    prices = ["100.5", "200.5", "300.5", "400.5"]
    first = [ev(price=p, qty="0.1", ts=T0 + i, id=f"f{i}") for i, p in enumerate(prices)]
    store.ingest_batch(first)
    lines = (redis_client.get(key) or b"").split(b"\n")
    assert len(lines) == 4
    # the second and last bucket again (the latter with more digits), and a new bucket
    second = [replace(first[1], qty=Decimal("0.2"), id="s1"),
              replace(first[3], qty=Decimal("0.000000000000000003"), id="s3"),
              ev(price="50.25", qty="7", ts=T0 + 9, id="s9")]
    store.ingest_batch(second)
    now = (redis_client.get(key) or b"").split(b"\n")
    assert len(now) == 5 and now[4].startswith(b"5025e-2|L ")  # the new bucket last
    for before, after in zip(lines, now, strict=False):  # each bucket in its place
        assert before.split(b" ")[0] == after.split(b" ")[0]
        touched = before.startswith((b"2005e-1|", b"4005e-1|"))
        assert (before != after) == touched  # the others: the same bytes
    stored: Buckets = {}
    add_bands(stored, b"\n".join(now))
    recomputed: Buckets = {}
    for event in first + second:
        add_event(recomputed, event)
    assert stored == recomputed
