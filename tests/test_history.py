"""``history``: every bucket equals a Decimal recomputation from the raw events; CLI shapes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from event_factory import SPLIT_FIGURES, distinct_ids, log_keys, side_split
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core import HOUR, T0, make_events
from test_store import T0 as STORE_T0
from test_store import event_strategy
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import UsageError
from liqcli.model import Event
from liqcli.report.history import (
    INTERVALS,
    WEEK_MS,
    align_down,
    compute_history,
    history_window,
)
from liqcli.report.timeparse import iso_utc
from liqcli.store.store import SLOT_MS, Store

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "liqcli" / "schemas" / "history.json").read_text())
FIGURES = SPLIT_FIGURES


def expected_bucket(events: Sequence[Event], start: int, end: int) -> dict[str, Any]:
    """The figures of one bucket, recomputed from the raw events with Decimal."""
    return side_split([e for e in events if start <= e.ts_ms < end])


def figures(bucket: Any) -> dict[str, Any]:
    return {name: getattr(bucket, name) for name in FIGURES}


def unique(events: Sequence[Event]) -> list[Event]:
    """What the store keeps: the first of each identity (ids here are unique or absent)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for e in events:
        key = (e.exchange, e.id) if e.id else (e.exchange, e.side, e.price, e.qty, e.usd, e.ts_ms)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # event_strategy spreads times over days, or packs them into T0+2h … T0+4h
    events=st.lists(event_strategy, min_size=10, max_size=60),
    interval=st.sampled_from(list(INTERVALS)),
    since=st.one_of(
        st.integers(STORE_T0 - HOUR, STORE_T0 + 80 * HOUR),
        st.integers(STORE_T0 + HOUR, STORE_T0 + 4 * HOUR),  # windows through the dense part
        st.integers(-6, 486).map(lambda k: STORE_T0 + k * SLOT_MS),
    ),
    span=st.one_of(st.integers(1, 90 * HOUR), st.integers(1, 3 * HOUR)),
    by_exchange=st.booleans(),
    exchanges=st.lists(st.sampled_from(["binance", "okx", "bybit"]), max_size=2),
    # where each event falls: a fraction of the span from 10 % before the window to its end
    # (times near a boundary, inside a cut slot, are the interesting ones)
    places=st.lists(st.integers(-100, 1000), min_size=60, max_size=60),
)
def test_every_bucket_equals_the_decimal_recomputation(
    redis_client: redis.Redis, events: list[Event], interval: str, since: int, span: int,
    by_exchange: bool, exchanges: list[str], places: list[int],
) -> None:
    events = distinct_ids([
        replace(e, ts_ms=max(STORE_T0 - 2 * HOUR, since + span * place // 1000))
        for e, place in zip(events, places, strict=False)
    ])
    redis_client.flushall()
    store = Store(redis_client)
    store.ingest_batch(events)
    kept = unique(events)
    step = INTERVALS[interval]
    if span // step > 2000:  # keep each example small: at most ~2000 buckets
        span = 2000 * step
    until = since + span
    history = compute_history(
        store, "BTCUSDT", interval=interval, since_ms=since, until_ms=until,
        exchanges=exchanges, by_exchange=by_exchange,
    )
    lo, hi = history_window(interval, since, until, until)
    assert (history.since_ms, history.until_ms) == (lo, hi)
    assert lo <= since and until <= hi and lo == align_down(lo, step)
    starts = list(range(lo, hi, step))
    wanted = sorted(set(exchanges))
    if by_exchange:
        names = wanted or sorted({e.exchange for e in kept if lo <= e.ts_ms < hi})
    else:
        names = [None]  # type: ignore[list-item]
    assert [(b.exchange, b.start_ms, b.end_ms) for b in history.buckets] == [
        (name, start, start + step) for name in names for start in starts
    ]
    for bucket in history.buckets:
        chosen = [
            e for e in kept
            if (bucket.exchange is None and (not wanted or e.exchange in wanted))
            or e.exchange == bucket.exchange
        ]
        assert figures(bucket) == expected_bucket(chosen, bucket.start_ms, bucket.end_ms)


def test_weeks_start_on_monday_and_days_at_midnight_utc() -> None:
    monday = 1_723_420_800_000  # 2024-08-12T00:00:00Z, a Monday
    assert align_down(monday + 3 * 86_400_000 + 5, WEEK_MS) == monday
    assert align_down(monday - 1, WEEK_MS) == monday - WEEK_MS
    assert align_down(T0 + 5, INTERVALS["1d"]) == T0 - 12 * HOUR
    assert align_down(T0 + 16 * 60_000, INTERVALS["15m"]) == T0 + 15 * 60_000


@pytest.fixture()
def store(redis_url: str) -> Store:
    return Store(redis.Redis.from_url(redis_url))


def test_buckets_of_ten_minutes_or_more_never_read_a_slot_log(store: Store) -> None:
    """Dense slots keep their events in slot logs, with slot rollups: buckets on 10-minute
    boundaries read the rollups (and only the small day and hour logs of sparse parts)."""
    store.log_caps = (150, 150, 150)  # small logs: most events spill into slot and minute logs
    events = make_events(n=600, seed=5, symbols=("BTCUSDT",), span_hours=30)
    store.ingest(events)
    since, until = T0 - 3 * HOUR, T0 + 31 * HOUR
    before = {
        interval: compute_history(store, "BTCUSDT", interval=interval, since_ms=since,
                                  until_ms=until)
        for interval in ("30m", "1h", "4h", "1d", "1w")
    }
    slot_logs = [key for key in log_keys(store, "BTCUSDT", events) if ":ls:" in key]
    assert store.client.delete(*slot_logs) > 0
    for interval, history in before.items():
        again = compute_history(store, "BTCUSDT", interval=interval, since_ms=since,
                                until_ms=until)
        assert again == history
        assert sum(b.events for b in again.buckets) == len(events)
    # a 5-minute series does read the slot logs: without them it loses events
    five = compute_history(store, "BTCUSDT", interval="5m", since_ms=since, until_ms=until)
    assert sum(b.events for b in five.buckets) < len(events)


def test_several_symbols_give_a_row_per_symbol_and_never_mix_bases(store: Store) -> None:
    events = make_events(n=200, seed=3, symbols=("BTCUSDT", "ETHUSDT"), span_hours=5)
    store.ingest(events)
    history = compute_history(
        store, ["BTCUSDT", "ETHUSDT"], interval="1h", since_ms=T0, until_ms=T0 + 5 * HOUR
    )
    assert history.multi and history.base is None
    assert [b.symbol for b in history.buckets] == ["BTCUSDT"] * 5 + ["ETHUSDT"] * 5
    for bucket in history.buckets:
        mine = [e for e in events if e.symbol == bucket.symbol]
        assert figures(bucket) == expected_bucket(mine, bucket.start_ms, bucket.end_ms)


def test_default_window_is_the_last_24_hours_by_hour() -> None:
    now = T0 + 25 * 60_000
    assert history_window("1h", None, None, now) == (T0 - 24 * HOUR, T0 + HOUR)


def test_too_many_buckets_and_unknown_intervals_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="buckets"):
        history_window("1m", T0 - 400 * 24 * HOUR, T0, T0)
    with pytest.raises(UsageError, match="interval"):
        history_window("2h", None, None, T0)


# ---------------------------------------------------------------------- CLI
def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["history", *args], catch_exceptions=False)


@pytest.fixture()
def stored(store: Store) -> list[Event]:
    events = make_events(n=300, seed=9, symbols=("BTCUSDT", "ETHUSDT"), span_hours=6)
    store.ingest(events)
    return events


WINDOW = ("--since", iso_utc(T0 + 7 * 60_000), "--until", iso_utc(T0 + 4 * HOUR + 1))


def test_csv_has_the_documented_columns_and_every_bucket(stored: list[Event]) -> None:
    result = invoke("-s", "ETHUSDT", "-i", "30m", *WINDOW, "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["start", "end", "events", "usd", "qty", "long_events", "long_usd",
                       "long_qty", "short_events", "short_usd", "short_qty"]
    assert len(rows) == 1 + 9  # 12:00 … 16:30, the window widened to whole buckets
    assert rows[1][0] == iso_utc(T0) and rows[-1][1] == iso_utc(T0 + 4 * HOUR + 30 * 60_000)
    mine = [e for e in stored if e.symbol == "ETHUSDT"]
    for row in rows[1:]:
        start = T0 + (rows.index(row) - 1) * 30 * 60_000
        exp = expected_bucket(mine, start, start + 30 * 60_000)
        assert [Decimal(v) for v in row[2:]] == [Decimal(exp[name]) for name in FIGURES]


def test_csv_adds_symbol_and_exchange_columns(stored: list[Event]) -> None:
    result = invoke("-s", "BTCUSDT,ETHUSDT", "--by", "exchange", *WINDOW, "-f", "csv")
    header = result.stdout.splitlines()[0].split(",")
    assert header[:4] == ["start", "end", "symbol", "exchange"]


@pytest.mark.parametrize("extra", [(), ("--by", "exchange"), ("-s", "BTCUSDT,ETHUSDT")])
def test_json_validates_against_the_schema(stored: list[Event], extra: tuple[str, ...]) -> None:
    result = invoke(*extra, *WINDOW, "-f", "json")
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["interval"] == "1h" and len(doc["buckets"]) % 5 == 0
    doc["buckets"][0]["usd_total"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_table_is_a_chart_on_a_terminal_and_plain_columns_when_piped(
    stored: list[Event],
) -> None:
    piped = invoke(*WINDOW)
    assert "\x1b[" not in piped.stdout and "█" not in piped.stdout
    assert "LONG USD" in piped.stdout and "2024-08-17 12:00" in piped.stdout
    chart = invoke(*WINDOW, "--color", "always")
    assert "█" in chart.stdout and "\x1b[31m" in chart.stdout  # LONG bars in red


def test_empty_store_is_success_with_zero_buckets(redis_url: str) -> None:
    result = invoke(*WINDOW, "-f", "ndjson")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 5 and all(line["events"] == 0 for line in lines)


def test_bad_interval_is_a_usage_error_before_connecting() -> None:
    result = CliRunner().invoke(
        app, ["history", "-i", "2h", "--redis-url", "redis://127.0.0.1:1/0"]
    )
    assert result.exit_code == 2
    result = CliRunner().invoke(
        app, ["history", "-i", "1m", "--since", "2020-01-01", "--redis-url",
              "redis://127.0.0.1:1/0"]
    )
    assert result.exit_code == 2 and "buckets" in result.stderr


def test_docs_list_exactly_the_schema_fields() -> None:
    from test_formatters import field_tables

    docs = field_tables()
    assert set(SCHEMA["properties"]) == docs["history"]
    assert set(SCHEMA["properties"]["buckets"]["items"]["properties"]) == docs["history-columns"]
    from liqcli.formatters._document import HISTORY_COLUMNS

    assert set(HISTORY_COLUMNS) | {"symbol", "exchange"} == docs["history-columns"]
