"""liqcli.report.live against a real redis-server: snapshots, deltas, recent activity, feed gaps,
round trips, and the reconnect/backoff state machine (server stopped and restarted)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, localcontext
from typing import Any

import pytest
import redis
from event_factory import random_events

from liqcli.errors import StoreError
from liqcli.model import Event
from liqcli.report.live import (
    MINUTE_MS,
    SPARK_LEVELS,
    Backoff,
    LiveSession,
    WatchQuery,
    bucket_recent,
    read_snapshot,
    sparkline,
)
from liqcli.store.coverage import mark_connected
from liqcli.store.store import Store

HOUR = 3_600_000
NOW = 1_735_734_896_789  # 2025-01-01T12:34:56.789Z: minute 34 of an hour
EXCHANGES = ("binance", "bybit")


def make_events(
    seed: int, n: int, *, symbol: str = "BTCUSDT", exchanges: tuple[str, ...] = EXCHANGES,
    newest: int = NOW, span_ms: int = 5 * HOUR,
) -> list[Event]:
    return random_events(
        seed, n, symbol=symbol, exchanges=exchanges, newest=newest, span_ms=span_ms
    )


def distinct(events: list[Event]) -> list[Event]:
    seen: dict[tuple[str, str, str | None], Event] = {}
    for e in events:
        seen.setdefault((e.exchange, e.symbol, e.id), e)
    return list(seen.values())


def recompute(
    events: list[Event], symbols: set[str] | None = None, since: int | None = None,
    until: int | None = None,
) -> dict[str, Any]:
    """Independent Decimal recomputation: totals, per side, per exchange."""
    out: dict[str, Any] = {
        "events": 0, "usd": Decimal(0),
        "side": defaultdict(lambda: [0, Decimal(0)]),
        "exchange": defaultdict(lambda: [0, Decimal(0)]),
    }
    with localcontext() as ctx:
        ctx.prec = 80
        for e in distinct(events):
            if symbols is not None and e.symbol not in symbols:
                continue
            if (since is not None and e.ts_ms < since) or (until is not None and e.ts_ms >= until):
                continue
            out["events"] += 1
            out["usd"] += e.usd
            for key, value in (("side", e.side), ("exchange", e.exchange)):
                out[key][value][0] += 1
                out[key][value][1] += e.usd
    return out


# ----------------------------------------------------------------- pure parts
def test_sparkline_scales_to_the_largest_value() -> None:
    values = [Decimal(v) for v in (0, 1, 2, 3, 4, 5, 6, 7, 8)]
    line = sparkline(values)
    assert len(line) == len(values)
    assert line[0] == " " and line[-1] == SPARK_LEVELS[-1]
    levels = [SPARK_LEVELS.index(c) for c in line[1:]]
    assert levels == sorted(levels) and levels[0] == 0
    assert sparkline([Decimal(0)] * 5) == " " * 5
    assert sparkline([Decimal("0.001"), Decimal(1000)]) == SPARK_LEVELS[0] + SPARK_LEVELS[-1]


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(0.5, cap=3)
    assert [backoff.failed() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.attempt == 5
    backoff.reset()
    assert backoff.attempt == 0 and backoff.failed() == 0.5
    assert Backoff(10, cap=5).failed() == 10  # never below the interval
    with pytest.raises(ValueError):
        Backoff(0)


def test_recent_buckets_minutes_and_last_15_minutes() -> None:
    def at(ts: int, usd: str, exchange: str = "binance") -> Event:
        return Event(exchange, "BTCUSDT", "LONG", Decimal(usd), Decimal(1), Decimal(usd), ts)

    minute_start = NOW // MINUTE_MS * MINUTE_MS
    events = [
        at(NOW - 10_000, "1.5"),  # current minute
        at(NOW + 5_000, "2"),  # clock skew: counted in the current minute
        at(NOW - 15 * MINUTE_MS, "3"),  # exactly 15 min ago: inside
        at(NOW - 15 * MINUTE_MS - 1, "4"),  # just outside the 15 minutes
        at(minute_start - 59 * MINUTE_MS, "5"),  # first minute of the sparkline
        at(minute_start - 59 * MINUTE_MS - 1, "6"),  # just before it
        at(NOW + HOUR, "7"),  # too far ahead: ignored
        at(NOW - 10_000, "8", exchange="okx"),
    ]
    recent = bucket_recent(events, NOW)
    assert recent.start_ms == minute_start - 59 * MINUTE_MS
    assert len(recent.usd_per_minute) == 60
    assert recent.usd_per_minute[-1] == Decimal("11.5")
    assert recent.events_per_minute[-1] == 3
    assert recent.usd_per_minute[0] == Decimal(5)
    assert recent.events_15m == 4 and recent.usd_15m == Decimal("14.5")
    assert sum(recent.events_per_minute) == 6
    only_binance = bucket_recent(events, NOW, ("binance",))
    assert only_binance.usd_15m == Decimal("6.5")


# ------------------------------------------------------------- against Redis
def test_delta_between_refreshes_after_ingesting(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    first = make_events(1, 200) + make_events(2, 50, symbol="ETHUSDT")
    store.ingest(first)
    query = WatchQuery()  # default symbol BTCUSDT, all time
    s1 = read_snapshot(store, query, NOW)
    want = recompute(first, {"BTCUSDT"})
    assert s1.delta is None
    assert (s1.stats.totals.events, s1.stats.totals.usd) == (want["events"], want["usd"])

    added = make_events(3, 80, exchanges=("binance", "okx"))
    store.ingest(added + first[:20])  # the repeated events must not count
    s2 = read_snapshot(store, query, NOW + 5000, previous=s1)
    delta = s2.delta
    assert delta is not None and delta.changed
    new = recompute(added, {"BTCUSDT"})
    assert (delta.events, delta.usd) == (new["events"], new["usd"])
    assert delta.previous_ms == NOW and delta.current_ms == NOW + 5000
    for change in delta.sides:
        assert (change.events, change.usd) == tuple(new["side"][change.key])
    assert {c.key: (c.events, c.usd) for c in delta.exchanges} == {
        k: tuple(v) for k, v in new["exchange"].items()
    }
    assert delta.new_exchanges == ("okx",)
    assert delta.new_symbols == ()
    with localcontext() as ctx:
        ctx.prec = 80
        assert delta.qty == sum(e.qty for e in distinct(added) if e.symbol == "BTCUSDT")

    s3 = read_snapshot(store, query, NOW + 10_000, previous=s2)
    assert s3.delta is not None and not s3.delta.changed
    assert s3.delta.events == 0 and s3.delta.usd == 0
    assert s3.last_change == delta


def test_new_symbol_appears_at_next_refresh_with_all_symbols(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    store.ingest(make_events(4, 30))
    query = WatchQuery(all_symbols=True)
    s1 = read_snapshot(store, query, NOW)
    assert s1.stats.symbols == ("BTCUSDT",)
    sol = make_events(5, 12, symbol="SOLUSDT", exchanges=("hyperliquid",))
    store.ingest(sol)
    s2 = read_snapshot(store, query, NOW + 1000, previous=s1)
    assert s2.stats.symbols == ("BTCUSDT", "SOLUSDT")
    assert s2.delta is not None
    assert s2.delta.new_symbols == ("SOLUSDT",)
    assert s2.delta.new_exchanges == ("hyperliquid",)
    assert s2.delta.events == len(sol)
    with localcontext() as ctx:
        ctx.prec = 80
        assert s2.delta.usd == sum(e.usd for e in sol)
    assert s2.delta.qty is None  # BTC and SOL quantities are never added


def test_recent_activity_read_from_the_store(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    events = make_events(6, 400, span_ms=3 * HOUR) + make_events(7, 40, exchanges=("okx",))
    store.ingest(events)
    snap = read_snapshot(store, WatchQuery(exchanges=("binance", "okx")), NOW)
    # independent: minute numbers, from the distinct events of the filtered exchanges
    now_minute = NOW // MINUTE_MS
    per_minute: dict[int, Decimal] = defaultdict(Decimal)
    in_15m = [0, Decimal(0)]
    with localcontext() as ctx:
        ctx.prec = 80
        for e in distinct(events):
            if e.exchange not in ("binance", "okx"):
                continue
            offset = e.ts_ms // MINUTE_MS - (now_minute - 59)
            if 0 <= offset < 60:
                per_minute[offset] += e.usd
            if e.ts_ms >= NOW - 15 * MINUTE_MS:
                in_15m[0] += 1
                in_15m[1] += e.usd
    assert snap.recent.usd_per_minute == tuple(per_minute[i] for i in range(60))
    assert (snap.recent.events_15m, snap.recent.usd_15m) == tuple(in_15m)
    assert in_15m[0] > 0  # the data does exercise the 15-minute figure


def test_relative_window_slides_with_time(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    events = make_events(8, 300, span_ms=3 * HOUR)
    store.ingest(events)
    query = WatchQuery(since="1h")
    later = NOW + 30 * MINUTE_MS
    s1 = read_snapshot(store, query, NOW)
    s2 = read_snapshot(store, query, later, previous=s1)
    w1, w2 = recompute(events, since=NOW - HOUR), recompute(events, since=later - HOUR)
    assert s1.stats.since_ms == NOW - HOUR and s2.stats.since_ms == later - HOUR
    assert (s1.stats.totals.events, s1.stats.totals.usd) == (w1["events"], w1["usd"])
    assert (s2.stats.totals.events, s2.stats.totals.usd) == (w2["events"], w2["usd"])
    assert s2.delta is not None
    assert s2.delta.events == w2["events"] - w1["events"] < 0  # events left the window
    # recent activity stays inside the window: a 10-minute window cuts the sparkline
    short = read_snapshot(store, WatchQuery(since="10m"), NOW)
    inside = recompute(events, since=NOW - 10 * MINUTE_MS)
    assert 0 < sum(short.recent.events_per_minute) == inside["events"] == short.recent.events_15m
    assert short.recent.usd_15m == inside["usd"]


def test_snapshot_lists_the_feed_gaps_at_each_refresh(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    store.ingest(make_events(9, 50))
    mark_connected(redis_client, "liq", "binance", NOW - 5 * HOUR, NOW - 3 * HOUR)
    mark_connected(redis_client, "liq", "binance", NOW - 2 * HOUR, NOW - 40 * MINUTE_MS,
                   ["BTCUSDT"])
    mark_connected(redis_client, "liq", "okx", NOW - 4 * HOUR, NOW - 4000)  # running
    mark_connected(redis_client, "liq", "bybit", NOW - 5 * HOUR, NOW, ["ETHUSDT"])
    query = WatchQuery(since="4h")

    def gaps(snap: Any) -> list[tuple[str, int, int, bool]]:
        assert snap.stats.coverage is not None
        return [(g.exchange, g.start_ms, g.end_ms, g.ongoing) for g in snap.stats.coverage.gaps]

    s1 = read_snapshot(store, query, NOW)
    assert s1.stats.coverage is not None and s1.stats.coverage.exchanges == ("binance", "okx")
    assert s1.stats.coverage.as_of_ms == NOW
    assert gaps(s1) == [("binance", NOW - 3 * HOUR, NOW - 2 * HOUR, False),
                        ("binance", NOW - 40 * MINUTE_MS, NOW, True)]
    # ten minutes later okx's record was not refreshed: its feed is down too; binance's first
    # gap is still inside the sliding window, which now starts ten minutes later
    later = NOW + 10 * MINUTE_MS
    s2 = read_snapshot(store, query, later, previous=s1)
    assert gaps(s2) == [("binance", NOW - 3 * HOUR, NOW - 2 * HOUR, False),
                        ("binance", NOW - 40 * MINUTE_MS, later, True),
                        ("okx", NOW - 4000, later, True)]
    only_okx = read_snapshot(store, WatchQuery(since="4h", exchanges=("okx",)), NOW)
    assert only_okx.stats.coverage is not None
    assert only_okx.stats.coverage.exchanges == ("okx",) and gaps(only_okx) == []


class CountingConnection(redis.Connection):
    """A real connection that counts writes to the socket: one per round trip."""

    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        super().send_packed_command(command, check_health)


def round_trips(url: str, query: WatchQuery, slide: bool = False) -> int:
    """Round trips of one refresh after the first (which also checks the schema); ``slide``:
    the clock moves 5 s between refreshes (a sliding window then reads what left it)."""
    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    calls = [0]

    def wall() -> int:
        calls[0] += 1
        return NOW + (5000 * calls[0] if slide else 0)

    session = LiveSession(Store(client), query, 1.0, wall=wall)
    assert not session.refresh().stale
    before = CountingConnection.sends
    assert not session.refresh().stale
    client.close()
    return CountingConnection.sends - before


@pytest.mark.parametrize(
    ("query", "bound", "slide"),
    [
        # HGETALL + ZRANGEBYSCORE + ≤ 2 XRANGE (last hour's streams) + 2 for the coverage
        # records (SMEMBERS of the covered exchanges, then one pipeline of HGETALLs)
        (WatchQuery(), 4 + 2, False),
        (WatchQuery(since="6h"), 5 + 2, False),  # ZRANGEBYSCORE + 1 pipeline for the window
        (WatchQuery(since="6h"), 5 + 2 + 2, True),  # + what slid out: another window read
        (WatchQuery(all_symbols=True), 1 + 3 * 4 + 2, False),  # SMEMBERS + 4 per symbol
        (WatchQuery(exchanges=("binance", "okx")), 4 + 1, False),  # -e: the coverage pipeline
        # --windows 1h,24h: a window read (2) per trailing window
        (WatchQuery(windows=(("1h", HOUR), ("24h", 24 * HOUR))), 4 + 2 + 2 * 2, True),
    ],
)
def test_refresh_round_trips_do_not_grow_with_stored_events(
    redis_url: str, redis_client: redis.Redis, query: WatchQuery, bound: int, slide: bool
) -> None:
    store = Store(redis_client)
    for exchange in ("binance", "okx"):  # coverage records to read at every refresh
        mark_connected(redis_client, "liq", exchange, NOW - 6 * HOUR, NOW - HOUR)
    symbols = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    for symbol in symbols:  # events in both hour streams of the last hour, and older ones
        store.ingest(make_events(10, 20, symbol=symbol, span_ms=50 * MINUTE_MS))
        store.ingest(make_events(11, 20, symbol=symbol, span_ms=10 * HOUR))
    small = round_trips(redis_url, query, slide)
    for symbol in symbols:  # 25x more events, over the same hours and the past week
        store.ingest(make_events(12, 1000, symbol=symbol, span_ms=50 * MINUTE_MS))
        store.ingest(make_events(13, 1000, symbol=symbol, span_ms=7 * 24 * HOUR))
    large = round_trips(redis_url, query, slide)
    assert small == large <= bound


def test_session_reconnects_with_backoff(redis_server: Any, redis_url: str) -> None:
    clock = [100.0]
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)
    before = make_events(20, 50)
    Store(client).ingest(before)
    session = LiveSession(
        Store(client), WatchQuery(), 0.5, wall=lambda: NOW, clock=lambda: clock[0],
        max_backoff=1.5,
    )
    status = session.refresh()
    assert not status.stale and status.snapshot is not None
    assert session.due_in() == 0.5
    good = status.snapshot

    redis_server.stop()
    delays = []
    for attempt in (1, 2, 3, 4):
        status = session.refresh()
        assert status.stale and status.attempt == attempt
        assert status.snapshot is good  # the last figures stay, marked stale
        assert status.error is not None and "cannot reach store" in status.error
        delays.append(session.due_in())
    assert delays == [0.5, 1.0, 1.5, 1.5]
    assert status.failed_ms == NOW

    redis_server.start()  # an empty server (no persistence): new data comes in
    after = make_events(21, 30, exchanges=("okx",))
    fresh = redis.Redis.from_url(redis_url)
    Store(fresh).ingest(after)
    fresh.close()
    for _ in range(2):  # the pooled connection may need one failed attempt to notice
        status = session.refresh()
        if not status.stale:
            break
    assert not status.stale and status.recovered and status.attempt == 0
    assert status.error is None and status.failed_ms is None
    assert session.due_in() == 0.5
    snap = status.snapshot
    assert snap is not None and snap.delta is not None
    want_before, want_after = recompute(before), recompute(after)
    assert (snap.stats.totals.events, snap.stats.totals.usd) == (
        want_after["events"], want_after["usd"])
    assert snap.delta.events == want_after["events"] - want_before["events"]
    assert snap.delta.new_exchanges == ("okx",)
    client.close()


def test_session_does_not_retry_a_schema_mismatch(redis_client: redis.Redis) -> None:
    redis_client.set("liq:schema", "999")
    session = LiveSession(Store(redis_client), WatchQuery(), 0.5)
    with pytest.raises(StoreError, match="schema"):
        session.refresh()
