"""``top``: the N largest liquidations equal a Decimal recomputation from the raw events."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from decimal import ROUND_FLOOR, Context, Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from event_factory import distinct_ids, log_keys
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store import T0, event_strategy
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import UsageError
from liqcli.model import Event
from liqcli.report.timeparse import iso_utc
from liqcli.report.top import compute_top
from liqcli.store.store import DAY_MS, HOUR_MS, SLOT_LOG_CAP, Store

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "liqcli" / "schemas" / "top.json").read_text())


def unique(events: list[Event]) -> list[Event]:
    """What the store keeps: the first event of each identity."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for e in events:
        key = (e.symbol, e.exchange, e.id) if e.id else (
            e.symbol, e.exchange, e.side, e.price, e.qty, e.usd, e.ts_ms)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def expected(events: list[Event], n: int, by: str, since: int | None, until: int | None,
             exchanges: list[str], side: str | None) -> list[tuple[Any, ...]]:
    chosen = [
        e for e in events
        if (since is None or e.ts_ms >= since) and (until is None or e.ts_ms < until)
        and (not exchanges or e.exchange in exchanges) and (side is None or e.side == side)
    ]
    def amount(e: Event) -> tuple[Decimal, Decimal]:
        return (e.usd, e.qty) if by == "usd" else (e.qty, e.usd)

    chosen.sort(key=lambda e: (-amount(e)[0], -amount(e)[1], e.ts_ms, e.exchange, e.symbol,
                               e.side, e.price, e.id or ""))
    return [identity(e) for e in chosen[:n]]


def identity(e: Event) -> tuple[Any, ...]:
    return (e.ts_ms, e.exchange, e.symbol, e.side, e.price, e.qty, e.usd, e.id)


symbols = st.sampled_from(["BTCUSDT", "BTCUSDC"])
# all time, a window anywhere, or one through the dense hours of event_strategy
windows = st.one_of(
    st.none(),
    st.tuples(st.integers(T0 - HOUR_MS, T0 + 80 * HOUR_MS), st.integers(1, 60 * HOUR_MS)),
    st.tuples(st.integers(T0 + HOUR_MS, T0 + 4 * HOUR_MS), st.integers(1, 3 * HOUR_MS)),
)
exchange_filters = st.lists(st.sampled_from(["binance", "okx", "bybit"]), max_size=2)
sides = st.sampled_from([None, "LONG", "SHORT"])
# log caps (day, hour): the defaults (sparse days live in their day log, whose events are in no
# top-K set or price band), small ones (day logs and sets mixed), and no day log at all
log_caps = st.sampled_from([None, (150, 150, 150), (0, 4096, 32768), (0, 0, 100)])


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(st.tuples(event_strategy, symbols), min_size=0, max_size=80),
    n=st.integers(1, 12),
    by=st.sampled_from(["usd", "qty"]),
    window=windows,
    exchanges=exchange_filters,
    side=sides,
    both=st.booleans(),
    batch=st.integers(1, 30),
    caps=log_caps,
)
def test_top_equals_the_decimal_recomputation(
    redis_client: redis.Redis, events: list[tuple[Event, str]], n: int, by: str,
    window: tuple[int, int] | None, exchanges: list[str], side: str | None, both: bool,
    batch: int, caps: tuple[int, int, int] | None,
) -> None:
    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = caps or store.log_caps
    stream = distinct_ids([replace(e, symbol=symbol) for e, symbol in events])
    for start in range(0, len(stream), batch):
        store.ingest_batch(stream[start : start + batch])
    stream += stream[: len(stream) // 3]  # replays count once
    for start in range(0, len(stream), batch):
        store.ingest_batch(stream[start : start + batch])
    since, until = (None, None) if window is None else (window[0], window[0] + window[1])
    names = ["BTCUSDT", "BTCUSDC"] if both else ["BTCUSDT"]
    top = compute_top(store, names, n=n, by=by, since_ms=since, until_ms=until,
                      exchanges=exchanges, side=side)
    kept = [e for e in unique(stream) if e.symbol in names]
    assert [identity(e) for e in top.entries] == expected(
        kept, n, by, since, until, exchanges, side)


def test_qty_across_base_assets_is_refused(redis_client: redis.Redis) -> None:
    with pytest.raises(UsageError, match="base asset"):
        compute_top(Store(redis_client), ["BTCUSDT", "ETHUSDT"], by="qty")


# ---------------------------------------------------------------------- CLI
@pytest.fixture()
def stored(redis_url: str) -> list[Event]:
    from test_core import make_events

    events = make_events(n=400, seed=17, span_hours=30)
    Store(redis.Redis.from_url(redis_url)).ingest(events)
    return events


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["top", *args], catch_exceptions=False)


def test_csv_header_and_rows(stored: list[Event]) -> None:
    result = invoke("--all-symbols", "-n", "7", "--side", "short", "-f", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["time", "exchange", "symbol", "side", "price", "qty", "usd", "id"]
    want = expected(stored, 7, "usd", None, None, [], "SHORT")
    assert [(r[0], r[1], r[2], r[3], Decimal(r[4]), Decimal(r[5]), Decimal(r[6]), r[7])
            for r in rows[1:]] == [
        (iso_utc(w[0]), *w[1:7], w[7] or "") for w in want]


def test_json_validates_and_is_exact(stored: list[Event]) -> None:
    from test_core import T0 as CORE_T0

    since = CORE_T0 + 3 * HOUR_MS + 123
    result = invoke("-s", "ETHUSDT", "-e", "okx,bybit", "--since", iso_utc(since), "-f", "json")
    jsonschema.validate(json.loads(result.stdout), SCHEMA)
    doc = json.loads(result.stdout, parse_float=Decimal)
    mine = [e for e in stored if e.symbol == "ETHUSDT"]
    want = expected(mine, 10, "usd", since, None, ["okx", "bybit"], None)
    assert [(x["usd"], x["qty"], x["time"]) for x in doc["liquidations"]] == [
        (w[6], w[5], iso_utc(w[0])) for w in want]
    assert (doc["by"], doc["n"], doc["exchange_filter"]) == ("usd", 10, ["bybit", "okx"])


def test_table_piped_and_on_a_terminal(stored: list[Event]) -> None:
    piped = invoke("-n", "3")
    assert "\x1b[" not in piped.stdout and "Largest liquidations" in piped.stdout
    lines = piped.stdout.strip().splitlines()  # heading, found, blank, title, header, rule
    assert len(lines) == 6 + 3 and [line.split()[0] for line in lines[6:]] == ["1", "2", "3"]
    rich = invoke("-n", "3", "--color", "always")
    assert "\x1b[" in rich.stdout


@pytest.mark.parametrize("args", [
    ("-n", "0"), ("-n", "1001"), ("--by", "notional"), ("--side", "buy"),
    ("-s", "BTCUSDT,ETHUSDT", "--by", "qty"),
])
def test_bad_options_are_usage_errors(redis_url: str, args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, ["top", *args])
    assert result.exit_code == 2, result.output


def test_empty_store_is_success(redis_url: str) -> None:
    result = invoke("-f", "csv")
    assert result.exit_code == 0 and result.stdout.splitlines() == [
        "time,exchange,symbol,side,price,qty,usd,id"]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(event_strategy, min_size=5, max_size=120),
    amounts=st.lists(st.sampled_from(["1", "2.5", "2.5000000000000001", "7", "9"]),
                     min_size=120, max_size=120),
    n=st.integers(1, 4),
    by=st.sampled_from(["usd", "qty"]),
    window=windows,
    exchanges=exchange_filters,
    side=sides,
    batch=st.integers(1, 40),
    caps=log_caps,
)
def test_trimmed_sets_stay_exact(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, events: list[Event],
    amounts: list[str], n: int, by: str, window: tuple[int, int] | None, exchanges: list[str],
    side: str | None, batch: int, caps: tuple[int, int, int] | None,
) -> None:
    """K = 4: the day sets are trimmed; ties (equal amounts, and amounts equal as
    doubles but not exactly) and selective filters still give the exact answer."""
    import liqcli.store.store as store_module

    monkeypatch.setattr(store_module, "TOP_K", 4)
    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = caps or store.log_caps
    stream = distinct_ids([
        replace(e, usd=Decimal(a), qty=Decimal(a)) for e, a in zip(events, amounts, strict=False)
    ])
    for start in range(0, len(stream), batch):
        store.ingest_batch(stream[start : start + batch])
    kept = unique(stream)
    for day in {e.ts_ms // DAY_MS for e in kept}:
        held = redis_client.zcard(store.key("BTCUSDT", f"tu:D:{day}"))  # + the "~" mark
        assert held <= sum(e.ts_ms // DAY_MS == day for e in kept) + 1
        for prefix in ("tu", "tq"):  # schema 4: never more than K + ties (+ the mark)
            scores = [score for member, score in redis_client.zrevrange(
                store.key("BTCUSDT", f"{prefix}:D:{day}"), 0, -1, withscores=True)
                if member != b"~"]
            assert len(scores) <= 4 or min(scores) == scores[3]
        if caps is not None and caps[0] == 0:  # no day log: every event went through the set
            assert held >= 1
        assert not redis_client.exists(store.key("BTCUSDT", f"tu:h:{day * 24}"))  # days only
    since, until = (None, None) if window is None else (window[0], window[0] + window[1])
    top = compute_top(store, "BTCUSDT", n=n, by=by, since_ms=since, until_ms=until,
                      exchanges=exchanges, side=side)
    assert [identity(e) for e in top.entries] == expected(
        kept, n, by, since, until, exchanges, side)


def test_whole_days_never_read_the_log(redis_client: redis.Redis) -> None:
    from test_core import T0 as CORE_T0
    from test_core import make_events

    store = Store(redis_client)
    events = make_events(n=400, seed=4, symbols=("BTCUSDT",), span_hours=40)
    store.ingest(events)
    since, until = CORE_T0 - 12 * HOUR_MS, CORE_T0 + 60 * HOUR_MS  # whole UTC days only
    before = compute_top(store, "BTCUSDT", n=20, since_ms=since, until_ms=until)
    # the day logs stay: their events are in no top-K set (schema 3), read with them
    redis_client.delete(*(key for key in log_keys(store, "BTCUSDT", events)
                          if ":ld:" not in key))
    after = compute_top(store, "BTCUSDT", n=20, since_ms=since, until_ms=until)
    assert after == before and len(after.entries) == 20
    assert [identity(e) for e in after.entries] == expected(
        events, 20, "usd", since, until, [], None)
    # above TOP_K the log is read: only what is left of it (the day logs) is found
    left = list(store.events("BTCUSDT", since, until))
    assert len(left) < len(events)
    above = compute_top(store, "BTCUSDT", n=150, since_ms=since, until_ms=until)
    assert [identity(e) for e in above.entries] == expected(
        left, 150, "usd", since, until, [], None)


def test_docs_list_exactly_the_schema_fields() -> None:
    from test_formatters import field_tables

    from liqcli.formatters._document import TOP_COLUMNS

    docs = field_tables()
    assert set(SCHEMA["properties"]) == docs["top"]
    entry = SCHEMA["properties"]["liquidations"]["items"]["properties"]
    assert set(entry) == docs["top-columns"] == set(TOP_COLUMNS)


def test_the_sets_and_bands_hold_only_events_outside_the_day_log(
    redis_client: redis.Redis,
) -> None:
    """Schema 3: a sparse day (wholly in its day log) has no top-K set and no price band;
    a dense day's structures count exactly its events in hour and slot logs; top and
    levels of whole days still answer from both."""
    from test_core import make_events

    from liqcli.report.levels import compute_levels

    redis_client.flushall()
    store = Store(redis_client)
    sparse = [replace(e, ts_ms=T0 + 3 * DAY_MS + i * 7_000) for i, e in
              enumerate(make_events(n=12, seed=5, symbols=("BTCUSDT",), span_hours=1))]
    dense = [replace(e, ts_ms=T0 + (e.ts_ms - T0) % DAY_MS) for e in
             make_events(n=400, seed=6, symbols=("BTCUSDT",), span_hours=20)]
    events = distinct_ids(sparse + dense)
    store.ingest(events)
    key = store.key
    assert not redis_client.exists(key("BTCUSDT", f"tu:D:{T0 // DAY_MS + 3}"),
                                   key("BTCUSDT", f"tq:D:{T0 // DAY_MS + 3}"),
                                   key("BTCUSDT", f"pb:D:{T0 // DAY_MS + 3}"))
    day_log = redis_client.get(key("BTCUSDT", f"ld:{T0 // DAY_MS}")) or b""
    in_day_log = len(day_log.split(b"\n")) if day_log else 0
    dense_day = sum(e.ts_ms // DAY_MS == T0 // DAY_MS for e in unique(events))
    assert 0 < in_day_log < dense_day
    bands = redis_client.get(key("BTCUSDT", f"pb:D:{T0 // DAY_MS}")) or b""
    assert sum(int(line.split(b" ")[1]) for line in bands.split(b"\n")) == (
        dense_day - in_day_log)
    since, until = T0 // DAY_MS * DAY_MS, (T0 // DAY_MS + 4) * DAY_MS
    for by in ("usd", "qty"):
        top = compute_top(store, "BTCUSDT", n=30, by=by, since_ms=since, until_ms=until)
        assert [identity(e) for e in top.entries] == expected(
            unique(events), 30, by, since, until, [], None)
    levels = compute_levels(store, "BTCUSDT", bands=5, since_ms=since, until_ms=until)
    assert levels.events == len(unique(events))



def test_a_busy_day_keeps_compact_top_k_sets(redis_client: redis.Redis) -> None:
    """Schema 4: batches far above K new events of one day (every event outside the day log)
    leave sets of K members, ties at the K-th score and the '~' mark: a listpack (a sorted set
    above 128 members would turn into a skiplist for good), and top stays exact."""
    from liqcli.store.store import TOP_K
    from liqcli.store.topk import score_of_text

    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = (0, 0, SLOT_LOG_CAP)  # no day or hour log: every event in the sets
    day = T0 // DAY_MS
    events = [Event("binance", "BTCUSDT", "LONG" if i % 2 else "SHORT", Decimal(100),
                    Decimal(7 + i % 900) / 8, Decimal(700 + i % 900) / 8, T0 + i * 60_000,
                    id=f"b{i}") for i in range(1_400)]
    # amounts 0..899 (/8, + 7 or 700): the K largest are 899..800, one event each; 10 more
    # events tie with the K-th (800): the sets keep all 11
    tied = [replace(e, usd=Decimal(700 + 800) / 8, qty=Decimal(7 + 800) / 8, id=f"t{e.id}")
            for e in events[:10]]
    stream = events + tied
    for start in range(0, len(stream), 700):
        store.ingest_batch(stream[start : start + 700])
    store.ingest_batch(stream[:500])  # duplicates: nothing changes
    for prefix, by in (("tu", "usd"), ("tq", "qty")):
        key = store.key("BTCUSDT", f"{prefix}:D:{day}")
        assert redis_client.object("encoding", key) == b"listpack"
        members = redis_client.zrevrange(key, 0, -1, withscores=True)
        assert members[-1] == (b"~", float("-inf"))
        scores = [score for _, score in members[:-1]]
        # K members, plus every member tied with the K-th (ties are never split)
        kth = Decimal(800 + (700 if by == "usd" else 7)) / 8
        assert min(scores) == scores[TOP_K - 1] == score_of_text(str(kth))
        assert all(score == int(score) < 2**31 for score in scores)  # compact listpack ints
        assert len(scores) == TOP_K - 1 + 11
        top = compute_top(store, "BTCUSDT", n=TOP_K, by=by, since_ms=day * DAY_MS,
                          until_ms=(day + 1) * DAY_MS)
        assert [identity(e) for e in top.entries] == expected(
            unique(stream), TOP_K, by, None, None, [], None)


_scored = st.decimals(min_value=Decimal(0), max_value=Decimal("9999999999999.999999999999999999"),
                      places=18)


@given(a=st.one_of(_scored, st.decimals(min_value=Decimal(0), max_value=Decimal(10), places=18)),
       b=_scored)
def test_top_scores_are_monotonic_integers(a: Decimal, b: Decimal) -> None:
    """The top-K score of an amount: (exponent + 40) · 10^7 + its first 7 significant digits,
    an integer below 2^31, never smaller for a larger amount (what the exact cut relies on)."""
    from liqcli.store.store import amount_parts
    from liqcli.store.topk import score_of_text

    lo, hi = sorted((a, b))
    s_lo, s_hi = (score_of_text(amount_parts(x, "amount", zero_ok=True)[0]) for x in (lo, hi))
    assert 0 <= s_lo <= s_hi < 2**31
    if hi > 0:
        exponent = hi.adjusted()
        digits = int(hi.scaleb(6 - exponent, Context(prec=60)).to_integral_value(
            rounding=ROUND_FLOOR))
        assert s_hi == (exponent + 40) * 10**7 + digits
    else:
        assert s_hi == 0
