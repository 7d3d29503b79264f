"""The store against a real redis-server: exactness, idempotency, windows, atomicity, slots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from decimal import Decimal, localcontext
from itertools import pairwise

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from liqcli.errors import StoreError
from liqcli.model import AMOUNT_CONTEXT, Event, default_usd
from liqcli.store.store import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    SLOT_MS,
    Store,
    amount_parts,
    from_limbs,
)

T0 = 1_735_689_600_000  # 2025-01-01T00:00Z

Key = tuple[str, str]


def recompute(
    events: list[Event], since: int | None = None, until: int | None = None
) -> dict[Key, tuple[int, Decimal, Decimal, int, int]]:
    """Decimal recomputation of every (exchange, side) cell from distinct events."""
    with localcontext() as ctx:
        ctx.prec = 80
        return _recompute(events, since, until)


def _recompute(
    events: list[Event], since: int | None, until: int | None
) -> dict[Key, tuple[int, Decimal, Decimal, int, int]]:
    seen: set[object] = set()
    out: dict[Key, list[object]] = {}
    for e in events:
        identity = (
            (e.exchange, e.symbol, e.id)
            if e.id
            else (e.exchange, e.symbol, e.side, e.price, e.qty, e.usd, e.ts_ms)
        )
        if identity in seen:
            continue
        seen.add(identity)
        if (since is not None and e.ts_ms < since) or (until is not None and e.ts_ms >= until):
            continue
        cell = out.setdefault((e.exchange, e.side), [0, Decimal(0), Decimal(0), e.ts_ms, e.ts_ms])
        cell[0] += 1  # type: ignore[operator]
        cell[1] += e.qty  # type: ignore[operator]
        cell[2] += e.usd  # type: ignore[operator]
        cell[3] = min(cell[3], e.ts_ms)  # type: ignore[type-var]
        cell[4] = max(cell[4], e.ts_ms)  # type: ignore[type-var]
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


def _distinct(events: list[Event]) -> list[Event]:
    """The first occurrence of each identity, in order."""
    seen: set[object] = set()
    out = []
    for e in events:
        identity = (e.exchange, e.symbol, e.id) if e.id else (
            e.exchange, e.symbol, e.side, e.price, e.qty, e.usd, e.ts_ms)
        if identity not in seen:
            seen.add(identity)
            out.append(e)
    return out


def _events(events) -> list[tuple]:
    return sorted((e.exchange, e.side, e.price, e.qty, e.usd, e.ts_ms, e.id or "")
                  for e in events)


def cells(store: Store, symbol: str, since: int | None = None, until: int | None = None) -> dict:
    rollup = store.rollup(symbol, since, until)
    return {
        k: (c.events, c.qty, c.usd, c.first_ms, c.last_ms)
        for k, c in rollup.cells.items()
        if c.events
    }


def ev(
    exchange: str = "binance",
    side: str = "LONG",
    price: str = "100",
    qty: str = "1",
    ts: int = T0,
    id: str | None = None,
    symbol: str = "BTCUSDT",
    usd: str | None = None,
) -> Event:
    p, q = Decimal(price), Decimal(qty)
    return Event(
        exchange,
        symbol,
        side,
        p,
        q,
        Decimal(usd) if usd else default_usd(p, q),  # type: ignore[arg-type]
        ts,
        id,
    )


amounts = st.builds(lambda m, k: Decimal(m).scaleb(-k), st.integers(1, 10**9), st.integers(0, 18))
prices = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("9999"), places=8)
event_strategy = st.builds(
    lambda ex, side, price, qty, ts, id_: ev(ex, side, str(price), str(qty), ts, id_),
    st.sampled_from(["binance", "bybit", "okx", "new-venue.x"]),
    st.sampled_from(["LONG", "SHORT"]),
    prices,
    amounts,
    # spread over days, or dense in two hours (so window edges cut through busy slots)
    # (or within a few minutes: busy slots spill into minute logs)
    st.one_of(st.integers(T0, T0 + 80 * HOUR_MS), st.integers(T0 + 2 * HOUR_MS, T0 + 4 * HOUR_MS),
              st.integers(T0 + 2 * HOUR_MS + 110_000, T0 + 2 * HOUR_MS + 420_000)),
    st.one_of(st.none(), st.text("abc123", min_size=1, max_size=3)),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(event_strategy, min_size=0, max_size=60),
    dup_picks=st.lists(st.integers(0, 10_000), max_size=20),
    window=st.tuples(
        # boundaries anywhere, or exactly on slot/hour/day boundaries (whole buckets)
        st.one_of(
            st.integers(T0 - HOUR_MS, T0 + 81 * HOUR_MS),
            st.integers(T0 + 2 * HOUR_MS, T0 + 4 * HOUR_MS),
            st.integers(-1, 81).map(lambda h: T0 + h * HOUR_MS),
            st.integers(-6, 486).map(lambda k: T0 + k * SLOT_MS),
            st.integers(120, 128).map(lambda k: T0 + k * MINUTE_MS),
            st.integers(T0 + 2 * HOUR_MS + 110_000, T0 + 2 * HOUR_MS + 420_000),
        ),
        st.one_of(
            st.integers(0, 60 * HOUR_MS),
            st.integers(1, 3),  # one-ms windows (and a few ms)
            st.integers(1, 6).map(lambda k: k * MINUTE_MS),
            st.integers(0, 60).map(lambda h: h * HOUR_MS),
            st.integers(0, 360).map(lambda k: k * SLOT_MS),
        ),
    ),
    batch=st.integers(1, 25),
    seed=st.randoms(use_true_random=False),
    # log (day, hour, slot) and dedupe caps (bytes): every placement (day, hour, slot, minute
    # logs; dedupe tiers) is hit
    caps=st.sampled_from([(4096, 4096, 32768, 4096), (0, 0, 0, 0), (60, 120, 150, 24),
                          (200, 0, 0, 12), (0, 300, 100, 36), (0, 0, 300, 24)]),
)
def test_rollups_equal_decimal_recomputation(
    redis_client, events, dup_picks, window, batch, seed, caps
):
    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps, store.dedupe_cap = caps[:3], caps[3]
    stream = list(events)
    if events:
        stream += [events[i % len(events)] for i in dup_picks]  # replays
    seed.shuffle(stream)
    for start in range(0, len(stream), batch):
        store.ingest_batch(stream[start : start + batch])
    since, until = window[0], window[0] + window[1]
    assert cells(store, "BTCUSDT") == recompute(stream)
    assert cells(store, "BTCUSDT", since, until) == recompute(stream, since, until)
    assert cells(store, "BTCUSDT", since, None) == recompute(stream, since, None)
    assert cells(store, "BTCUSDT", None, until) == recompute(stream, None, until)
    # the log holds each distinct event exactly once, the first occurrence, found by window
    assert len(list(store.events("BTCUSDT"))) == sum(v[0] for v in recompute(stream).values())
    assert _events(store.events("BTCUSDT", since, until)) == _events(
        e for e in _distinct(stream) if since <= e.ts_ms < until)


@given(st.decimals(min_value=0, max_value=Decimal("1e13") - 1, places=18, allow_nan=False))
def test_limbs_round_trip(value):
    text, whole, hi, lo = amount_parts(value, "qty", zero_ok=True)
    assert Decimal(text) == value and from_limbs(int(whole), int(hi), int(lo)) == value


@pytest.mark.parametrize("bad", ["-1", "0", "NaN", "Infinity", "1e13", "1e-19", "12345678901234"])
def test_amounts_the_script_cannot_add_are_refused_before_sending(redis_client, bad):
    with pytest.raises(ValueError, match="outside the stored range"):
        Store(redis_client).ingest_batch([ev(qty=bad, usd="1")])
    assert redis_client.dbsize() == 0


def test_multi_day_windows_read_day_hour_and_edge_buckets(redis_client):
    store = Store(redis_client)
    events = [ev(ts=T0 + i * 7_777_777, exchange=("binance", "okx")[i % 2],
                 side=("LONG", "SHORT")[i % 3 == 0], qty=f"0.{i + 1:03d}") for i in range(400)]
    store.ingest(events)  # about 36 days
    for since, until in [(T0 + 12_345, T0 + 20 * 24 * HOUR_MS + 999), (T0, T0 + 3 * 24 * HOUR_MS),
                         (T0 - 1, None), (None, T0 + 5 * 24 * HOUR_MS - 1)]:
        assert cells(store, "BTCUSDT", since, until) == recompute(events, since, until)
    [(hashes, logs, _cuts)] = store._plans(["BTCUSDT"], T0 + 12_345, T0 + 20 * 24 * HOUR_MS + 999)
    assert sum(k.startswith("D:") for k in hashes) >= 18 and len(hashes) <= 20 + 46 + 10
    assert len(logs) <= 2 + 2 + 2  # two day logs, two hour logs, two slot logs at most


def test_huge_sums_do_not_overflow_or_drift(redis_client):
    store = Store(redis_client)
    qty = Decimal("999999999999.123456789012345678")  # 1000PEPE-sized quantities
    events = [ev(qty=str(qty), price="0.00001234", ts=T0 + i) for i in range(2000)]
    store.ingest(events)
    cell = store.rollup("BTCUSDT").cells[("binance", "LONG")]
    with localcontext() as ctx:
        ctx.prec = 80
        assert cell.qty == qty * 2000  # ~2e15 base units, all 18 decimals kept
        assert cell.usd == sum((e.usd for e in events), Decimal(0))
    assert str(cell.qty) == "1999999999998246.913578024691356"


def test_same_id_counts_once_even_with_other_fields(redis_client):
    store = Store(redis_client)
    assert store.ingest_batch([ev(id="x1"), ev(id="x1", qty="2", ts=T0 + 5 * HOUR_MS)]) == [
        True,
        False,
    ]
    assert store.ingest_batch([ev(id="x1", exchange="okx")]) == [
        True
    ]  # other exchange: other event
    assert cells(store, "BTCUSDT")[("binance", "LONG")][0] == 1


def test_equal_values_in_other_notation_are_duplicates(redis_client):
    store = Store(redis_client)
    assert store.ingest_batch([ev(price="100.50")]) == [True]
    assert store.ingest_batch([ev(price="100.5"), ev(price="1.005E+2")]) == [False, False]


@pytest.mark.parametrize("exchange,symbol", [("Bybit", "BTCUSDT"), ("by bit", "BTCUSDT"),
                                             ("bybit", "btcusdt"), ("bybit", "BTC{X}")])
def test_library_events_with_names_outside_the_contract_are_refused(redis_client, exchange, symbol):
    with pytest.raises(ValueError, match="is not"):
        Store(redis_client).ingest_batch([ev(exchange=exchange, symbol=symbol)])
    assert redis_client.dbsize() == 0


def test_discovery_without_scan(redis_client):
    store = Store(redis_client)
    store.ingest([ev(symbol="ETHUSDT"), ev(symbol="BTCUSDT", exchange="hyperliquid")])
    assert store.symbols() == ["BTCUSDT", "ETHUSDT"]
    assert store.exchanges("BTCUSDT") == ["hyperliquid"]


def test_every_key_of_a_symbol_shares_one_hash_slot(redis_client):
    store = Store(redis_client)
    store.log_caps, store.dedupe_cap = (150, 150, 150), 24  # every kind of key, with few events
    store.ingest([ev(ts=T0 + i * 100_000, exchange=x) for i in range(90) for x in ("a", "b")])
    keys = [k for k in redis_client.keys("liq:{*") if b"BTCUSDT" in k]
    kinds = {k.split(b":")[2] for k in keys}
    assert kinds == {b"t", b"days", b"hrs", b"mns", b"D", b"h", b"s", b"m", b"ld", b"lh", b"ls",
                     b"lm",
                     b"d", b"d1", b"d2", b"d3", b"feed", b"tu", b"tq", b"pb"}  # + top and levels
    assert {key_slot(k) for k in keys} == {key_slot(b"{BTCUSDT}")}


def test_schema_mismatch_is_a_clear_error(redis_client):
    redis_client.set("liq:schema", "999")
    with pytest.raises(StoreError, match="schema version '999'"):
        Store(redis_client).check_schema()
    with pytest.raises(StoreError):
        Store(redis_client).ingest([ev()])
    assert Store(redis_client, prefix="other").symbols() == []


def test_prefixes_are_separate_stores(redis_client):
    Store(redis_client, prefix="a").ingest([ev()])
    assert Store(redis_client, prefix="b").symbols() == []
    assert Store(redis_client, prefix="a").symbols() == ["BTCUSDT"]


def test_cluster_mode_server_accepts_the_scripts(tmp_path):
    """A cluster-enabled redis-server rejects cross-slot multi-key commands (CROSSSLOT)."""
    from conftest import cluster_node

    server = cluster_node(tmp_path)
    try:
        client = redis.Redis(port=server.port)
        with pytest.raises(redis.ResponseError, match=r"CROSSSLOT|same slot"):
            client.eval("return 1", 2, "liq:{A}:t", "liq:{B}:t")
        store = Store(client)
        events = [
            ev(ts=T0 + i * 600_000, exchange=x, side=s, symbol=sym)
            for i in range(40)
            for x in ("binance", "okx")
            for s in ("LONG", "SHORT")
            for sym in ("BTCUSDT", "ETHUSDT")
        ]
        store.ingest(events)
        for sym in ("BTCUSDT", "ETHUSDT"):
            mine = [e for e in events if e.symbol == sym]
            assert cells(store, sym) == recompute(mine)
            assert cells(store, sym, T0 + 1234, T0 + 7 * HOUR_MS + 99) == recompute(
                mine, T0 + 1234, T0 + 7 * HOUR_MS + 99
            )
    finally:
        server.cleanup()


WRITER = textwrap.dedent(
    """
    import sys
    from decimal import Decimal, localcontext
    import redis
    from liqcli.model import AMOUNT_CONTEXT, Event, default_usd
    from liqcli.store.store import Store
    store = Store(redis.Redis.from_url(sys.argv[1]))
    T0, worker, n = 1_735_689_600_000, int(sys.argv[2]), int(sys.argv[3])
    def events():
        for i in range(n):
            p, q = Decimal(100 + i % 97), Decimal(i % 13 + 1) / 1000
            yield Event(("binance", "okx")[i % 2], ("BTCUSDT", "ETHUSDT")[i % 3 == 0],
                        ("LONG", "SHORT")[i % 5 == 0], p, q, default_usd(p, q), T0 + i * 997, None)
    print("ready", flush=True)
    store.ingest(events(), batch_size=int(sys.argv[4]))
    """
)


def _writer_events(n: int) -> list[Event]:
    out = []
    for i in range(n):
        p, q = Decimal(100 + i % 97), Decimal(i % 13 + 1) / 1000
        out.append(
            Event(
                ("binance", "okx")[i % 2],
                ("BTCUSDT", "ETHUSDT")[i % 3 == 0],
                ("LONG", "SHORT")[i % 5 == 0],
                p,
                q,
                default_usd(p, q),
                T0 + i * 997,
            )
        )
    return out


def _log_agrees_with_rollups(store: Store, symbol: str) -> None:
    from_log: dict = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for e in store.events(symbol):
        cell = from_log[(e.exchange, e.side)]
        cell[0] += 1
        cell[1] = AMOUNT_CONTEXT.add(cell[1], e.qty)
        cell[2] = AMOUNT_CONTEXT.add(cell[2], e.usd)
    rollup = store.rollup(symbol)
    assert {k: (c.events, c.qty, c.usd) for k, c in rollup.cells.items()} == {
        k: tuple(v) for k, v in from_log.items()
    }


def test_sigkill_mid_ingest_leaves_log_and_rollups_agreeing(redis_url, redis_client):
    n = 60_000
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, redis_url, "0", str(n), "50"],
        stdout=subprocess.PIPE,
        env={**os.environ},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    store = Store(redis_client)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until it is well under way
        if sum(c.events for c in store.rollup("BTCUSDT").cells.values()) > 2000:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = sum(c.events for s in ("BTCUSDT", "ETHUSDT") for c in store.rollup(s).cells.values())
    assert 0 < stored < n, "the kill must land mid-way"
    for symbol in ("BTCUSDT", "ETHUSDT"):
        _log_agrees_with_rollups(store, symbol)
    # a re-run completes the import exactly
    counts = store.ingest(_writer_events(n))
    assert counts.new == n - stored and counts.duplicate == stored
    expected = _writer_events(n)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert cells(store, symbol) == recompute([e for e in expected if e.symbol == symbol])
        _log_agrees_with_rollups(store, symbol)


def test_concurrent_ingesters_lose_nothing(redis_url, redis_client):
    n = 6000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, redis_url, str(w), str(n), "37"],
            stdout=subprocess.DEVNULL,
        )
        for w in range(3)
    ]
    for p in procs:
        assert p.wait(120) == 0
    store = Store(redis_client)
    expected = _writer_events(n)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert cells(store, symbol) == recompute([e for e in expected if e.symbol == symbol])
        _log_agrees_with_rollups(store, symbol)


def _dump(client: redis.Redis) -> dict:
    return {k: client.dump(k) for k in sorted(client.keys("*"))}


def test_a_sum_beyond_the_limits_refuses_the_whole_batch_before_any_write(redis_client):
    """Issue #11.5: the old script added `n` and failed on an overflowing limb, half-applied."""
    store = Store(redis_client)
    big = "9999999999999.999999999999999999"  # the largest quantity the contract allows
    first = [ev(qty=big, price="0.000001", ts=T0 + i, id=f"a{i}") for i in range(900)]
    store.ingest_batch(first)  # 8.999e15 base units: within 2^53 - 1
    before = _dump(redis_client)
    more = [ev(qty=big, price="0.000001", ts=T0 + 10 * HOUR_MS + i, id=f"b{i}") for i in range(7)]
    for _ in range(2):  # a re-run is refused the same way, and still writes nothing
        with pytest.raises(StoreError, match=r"refused.*nothing of it written"):
            store.ingest_batch(more)
        assert _dump(redis_client) == before
    cell = store.rollup("BTCUSDT").cells[("binance", "LONG")]
    with localcontext() as ctx:
        ctx.prec = 80
        assert cell.events == 900 and cell.qty == Decimal(big) * 900
    # what fits is still stored exactly: up to 2^53 - 1 whole units
    assert store.ingest_batch([ev(qty="7000000000000", price="0.000001", id="c")]) == [True]
    cell = store.rollup("BTCUSDT").cells[("binance", "LONG")]
    with localcontext() as ctx:
        ctx.prec = 80
        assert cell.events == 901 and cell.qty == Decimal(big) * 900 + 7_000_000_000_000


def test_limb_limit_is_per_cell_and_documented(redis_client):
    from liqcli.store.store import LIMB_LIMIT

    assert LIMB_LIMIT == 2**53 - 1 > 10**15  # the documented requirement: 10^15 base units
    store = Store(redis_client)
    big = "9999999999999"
    # a single batch that overflows by itself is refused whole, too
    with pytest.raises(StoreError, match="refused"):
        store.ingest_batch([ev(qty=big, price="0.000001", ts=T0 + i) for i in range(1000)])
    assert redis_client.keys("liq:{*") == []


def test_period_cells_hold_decimal_text_and_times_after_the_period_start(redis_client):
    """Schema 5: a day, hour, slot or minute rollup's cell is ``n qty usd t0 t1`` (the sums as
    plain decimal text, shortest form; the times ms after the period's start), the cumulative
    one keeps ``n qi q1 q2 ui u1 u2 t0 t1`` (limbs, epoch ms); later batches add to both."""
    store = Store(redis_client)
    store.log_caps = (0, 0, 0)  # past the day, hour and slot logs: a minute log, all rollups
    at = T0 + 5 * HOUR_MS + 61_007  # 1,007 ms into the hour's first slot's second minute
    store.ingest_batch([ev(qty="0.25", ts=at, id="a"), ev(price="100.1", qty="1.5", ts=at + 493)])
    tag = "liq:{BTCUSDT}:"
    periods = {f"D:{at // DAY_MS}": 5 * HOUR_MS + 61_007, f"h:{at // HOUR_MS}": 61_007,
               f"s:{at // SLOT_MS}": 61_007, f"m:{at // MINUTE_MS}": 1_007}
    for suffix, t0 in periods.items():
        assert redis_client.hgetall(tag + suffix) == {
            b"binance|L": f"2 1.75 175.15 {t0} {t0 + 493}".encode()}, suffix
    assert redis_client.hget(tag + "t", "binance|L") == (
        f"2 1 750000000 0 175 150000000 0 {at} {at + 493}".encode())
    store.ingest_batch([ev(qty="0.000000000000000001", ts=at - 7, id="c"),
                        ev(qty="2.25", ts=at + 1, id="d")])
    for suffix, t0 in periods.items():
        assert redis_client.hget(tag + suffix, "binance|L") == (
            f"4 4.000000000000000001 400.1500000000000001 {t0 - 7} {t0 + 493}".encode()), suffix
    cell = store.rollup("BTCUSDT", at - 7, at + 494).cells[("binance", "LONG")]
    assert (cell.events, cell.qty, cell.usd, cell.first_ms, cell.last_ms) == (
        4, Decimal("4.000000000000000001"), Decimal("400.1500000000000001"), at - 7, at + 493)


def test_replays_are_found_in_every_dedupe_tier_whatever_the_caps(redis_client):
    store = Store(redis_client)
    events = [ev(ts=T0 + i * 60_000, id=None if i % 3 else f"i{i}", qty=f"0.{i + 1:04d}")
              for i in range(300)]
    store.dedupe_cap = 24  # two fingerprints per bucket: tiers 0-3 all used
    assert store.ingest_batch(events[:200]) == [True] * 200
    kinds = {k.split(b":")[2] for k in redis_client.keys("liq:{BTCUSDT}:d*")}
    assert {b"d", b"d1", b"d2", b"d3"} <= kinds
    store.dedupe_cap = 4096  # a larger cap later: the overflow marks still lead the search
    assert store.ingest_batch(events[::-1]) == [True] * 100 + [False] * 200
    for cap in (0, 24, 4096):
        store.dedupe_cap = cap
        assert store.ingest_batch(events) == [False] * 300
    assert cells(store, "BTCUSDT") == recompute(events)


@given(st.integers(0, 10**40), st.integers(0, 10**12), st.integers(0, 10**12))
def test_limbs_decode_like_a_wide_context_normalize(whole, hi, lo):
    with localcontext() as ctx:
        ctx.prec = 80
        expected = (Decimal(whole) + Decimal(hi).scaleb(-9) + Decimal(lo).scaleb(-18)).normalize()
    got = from_limbs(whole, hi, lo)
    assert got == expected and str(got) == str(expected if whole or hi or lo else Decimal(0))


@pytest.mark.parametrize("mode", ["merged", "merged in chunks", "one call per symbol",
                                  "plain reads"])
def test_many_symbols_read_together_equal_each_alone_and_the_recomputation(redis_client, mode):
    """Many symbols' window scripts are merged into a few calls on a single server (one per
    symbol on a Cluster or when refused; plain reads on 6.2): the same cells, digit for digit."""
    import random

    rng = random.Random(11)
    store = Store(redis_client)
    store.log_caps, store.dedupe_cap = (300, 600, 400), 48  # sparse and dense placements mixed
    names = ["BTCUSDT", "ETHUSDT", "X001USDT", "X002USDT"]
    events = [ev(symbol=rng.choice(names[:2]) if i % 5 else rng.choice(names[2:]),
                 exchange=rng.choice(["binance", "okx", "bybit"]),
                 side=rng.choice(["LONG", "SHORT"]), qty=f"0.{rng.randrange(1, 10**6)}",
                 price=str(rng.randrange(1, 90_000)), ts=T0 + rng.randrange(0, 50 * HOUR_MS),
                 id=None if i % 2 else f"i{i}")
              for i in range(1500)]
    store.ingest(events, batch_size=700)
    windows = [(None, None), (T0 + 7_777_777, None), (None, T0 + 30 * HOUR_MS + 1234),
               (T0 + 25 * HOUR_MS - 1, T0 + 26 * HOUR_MS + 601_000), (T0 + 5, T0 + 6)]
    reader = Store(redis_client)
    if mode == "merged in chunks":
        reader.MERGED_KEYS = 7  # plans: two symbols a call (3 keys each); reads: a few
    elif mode == "one call per symbol":
        reader._merge_scripts = False
    elif mode == "plain reads":
        reader._read_ro = False
    for since, until in windows:
        together = reader.rollups([*names, "NOSUCH"], since, until)
        for name, rollup in zip([*names, "NOSUCH"], together, strict=True):
            mine = [e for e in events if e.symbol == name]
            got = {k: (c.events, c.qty, c.usd, c.first_ms, c.last_ms)
                   for k, c in rollup.cells.items() if c.events}
            assert got == recompute(mine, since, until) == cells(store, name, since, until)
            assert repr(rollup) == repr(store.rollup(name, since, until))  # digits and exponents


@pytest.mark.parametrize("old", ["1", "2", "3", "4"])
def test_an_older_schema_store_is_refused_with_what_to_do(redis_client, old):
    redis_client.flushall()
    redis_client.set("liq:schema", old)
    refused = rf"schema version '{old}'.*reads version '5'.*another --prefix"
    with pytest.raises(StoreError, match=refused):
        Store(redis_client).ingest([ev()])
    assert redis_client.keys("liq:{*") == []


# a busy slot: events within a few minutes around T0 + 2 h (slot cap 0: every event beyond the
# day and hour logs goes to a minute log), so window edges fall inside minute-level slots
BUSY = T0 + 2 * HOUR_MS + 3 * MINUTE_MS
busy_events = st.builds(
    lambda ex, side, price, qty, ts, id_: ev(ex, side, str(price), str(qty), ts, id_),
    st.sampled_from(["binance", "bybit", "okx"]),
    st.sampled_from(["LONG", "SHORT"]),
    prices,
    amounts,
    st.one_of(st.integers(BUSY - 2 * MINUTE_MS, BUSY + 4 * MINUTE_MS),
              st.integers(BUSY, BUSY + 1_000)),  # many events in one minute
    st.one_of(st.none(), st.text("abc123", min_size=1, max_size=3)),
)
edge = st.one_of(
    st.integers(BUSY - 3 * MINUTE_MS, BUSY + 5 * MINUTE_MS),  # anywhere
    st.integers(-3, 5).map(lambda k: BUSY + k * MINUTE_MS),  # on a minute boundary
    st.integers(BUSY, BUSY + 1_000),  # inside the densest minute
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(busy_events, min_size=1, max_size=80),
    dup_picks=st.lists(st.integers(0, 10_000), max_size=30),
    since=edge,
    width=st.one_of(st.integers(0, 3), st.integers(0, 8 * MINUTE_MS)),  # one-ms windows too
    batch=st.integers(1, 30),
    slot_cap=st.sampled_from([0, 60, 200]),
    seed=st.randoms(use_true_random=False),
)
def test_minute_level_slots_read_exactly_by_every_reader(
    redis_client, events, dup_picks, since, width, batch, slot_cap, seed
):
    """Busy slots spill into minute logs: windows whose edges fall anywhere in them (inside a
    minute, on minute boundaries, one ms wide), the log (export, tail replay) and history
    buckets equal a Decimal recomputation; replays of events stored in minute logs, in later
    batches, count once; verify agrees with every rollup."""
    from liqcli.store.maintenance import verify_symbol

    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = (60, 60, slot_cap)
    stream = list(events) + [events[i % len(events)] for i in dup_picks]
    seed.shuffle(stream)
    for start in range(0, len(stream), batch):
        store.ingest_batch(stream[start : start + batch])
    store.ingest_batch(list(events))  # every event again: all duplicates
    until = since + width
    assert cells(store, "BTCUSDT", since, until) == recompute(stream, since, until)
    assert cells(store, "BTCUSDT", since, None) == recompute(stream, since, None)
    assert cells(store, "BTCUSDT", None, until) == recompute(stream, None, until)
    assert cells(store, "BTCUSDT") == recompute(stream)
    assert _events(store.events("BTCUSDT", since, until)) == _events(
        e for e in _distinct(stream) if since <= e.ts_ms < until)
    assert _events(store.events("BTCUSDT")) == _events(_distinct(stream))
    bounds = sorted({since, until + 1, since + 7_777, BUSY, BUSY + MINUTE_MS + 1})
    for rollup, (lo, hi) in zip(store.bucket_rollups("BTCUSDT", bounds),
                                pairwise(bounds), strict=True):
        got = {k: (c.events, c.qty, c.usd, c.first_ms, c.last_ms)
               for k, c in rollup.cells.items() if c.events}
        assert got == recompute(stream, lo, hi)
    assert not verify_symbol(store, "BTCUSDT").differences


def test_a_busy_slot_spills_into_minute_logs_and_an_edge_reads_one_minute(redis_client):
    """Beyond the slot log cap, a slot's events go to minute logs with minute rollups (and the
    minute index); a window edge inside such a slot reads the slot log, the rollups of the
    minutes wholly inside and the edge minute's log with its rollup, nothing else."""
    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = (100, 100, 400)
    events = [ev(ts=BUSY + i * 997, id=f"e{i}", qty=f"0.{i + 1}",
                 exchange=("binance", "okx")[i % 2], side=("LONG", "SHORT")[i % 3 == 0])
              for i in range(300)]
    for start in range(0, 300, 7):
        store.ingest_batch(events[start : start + 7])
    client = redis_client
    assert len(client.get("liq:{BTCUSDT}:ls:" + str(BUSY // SLOT_MS))) < 400  # never past its cap
    minutes = [int(m) for m in client.zrange("liq:{BTCUSDT}:mns", 0, -1)]
    assert len(minutes) >= 4
    for minute in minutes:
        assert client.exists(f"liq:{{BTCUSDT}}:lm:{minute}", f"liq:{{BTCUSDT}}:m:{minute}") == 2
    since, until = BUSY + MINUTE_MS + 12_345, BUSY + 4 * MINUTE_MS - 7
    [(hashes, logs, cuts)] = store._plans(["BTCUSDT"], since, until)
    edge_minutes = {since // MINUTE_MS, until // MINUTE_MS}
    day, hour, slot = since // DAY_MS, since // HOUR_MS, since // SLOT_MS
    # every log the edges cut, each with the rollups whose difference is exactly its events
    assert {cut[0] for cut in cuts} == {f"lm:{m}" for m in edge_minutes if m in minutes} | {
        f"ls:{slot}", f"lh:{hour}", f"ld:{day}"}
    assert [cut[1][0] for cut in cuts if cut[0].startswith("ld:")] == [f"D:{day}"]
    assert [cut[1][0] for cut in cuts if cut[0].startswith("ls:")] == [f"s:{since // SLOT_MS}"]
    assert {h for h in hashes if h.startswith("m:")} == {
        f"m:{m}" for m in minutes if since <= m * MINUTE_MS and (m + 1) * MINUTE_MS <= until}
    assert not [log for log, _ in logs if log.startswith("lm:")]
    assert cells(store, "BTCUSDT", since, until) == recompute(events, since, until)
