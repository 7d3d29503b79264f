"""``levels``: every band equals a Decimal recomputation from the raw events; CLI shapes."""

from __future__ import annotations

import csv
import io
import json
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
from test_store import T0, event_strategy
from test_top import log_caps, unique
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import UsageError
from liqcli.model import Event, default_usd
from liqcli.report.levels import compute_levels, fine_bucket, snap_step
from liqcli.store.store import HOUR_MS, SLOT_LOG_CAP, Store

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "liqcli" / "schemas" / "levels.json").read_text())
FIGURES = SPLIT_FIGURES


def recompute(events: list[Event], low: Decimal, high: Decimal) -> dict[str, Any]:
    return side_split([e for e in events if low <= e.price < high])


def test_fine_buckets_keep_four_significant_digits() -> None:
    assert fine_bucket(Decimal("91066.6")) == (Decimal(91060), Decimal(10))
    assert fine_bucket(Decimal("3406.86")) == (Decimal(3406), Decimal(1))
    assert fine_bucket(Decimal("0.000012345")) == (Decimal("0.00001234"), Decimal("1E-8"))
    assert fine_bucket(Decimal("10000")) == (Decimal(10000), Decimal(10))
    assert snap_step(Decimal(1), Decimal(10)) == 10
    assert snap_step(Decimal(150), Decimal(100)) == 200
    assert snap_step(Decimal("0.3"), Decimal("0.01")) == Decimal("0.3")


@given(st.decimals(min_value=Decimal("1e-8"), max_value=Decimal("9999999999"), places=8))
def test_the_ingest_bucket_of_a_price_text_is_the_decimal_one(price: Decimal) -> None:
    from liqcli.store.pricebands import bucket_of_text, bucket_text
    from liqcli.store.store import amount_parts

    if price > 0:
        assert bucket_of_text(amount_parts(price, "price")[0]) == bucket_text(price)


prices = st.one_of(
    st.decimals(min_value=Decimal("9900"), max_value=Decimal("10100"), places=2),  # a decade
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal("3"), places=6),
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(st.tuples(event_strategy, prices), min_size=0, max_size=60),
    step=st.one_of(st.none(), st.decimals(min_value=Decimal("0.001"), max_value=Decimal(500),
                                          places=3)),
    bands=st.one_of(st.none(), st.integers(1, 40)),
    window=st.one_of(st.none(), st.tuples(st.integers(T0 - HOUR_MS, T0 + 80 * HOUR_MS),
                                          st.integers(1, 60 * HOUR_MS))),
    exchanges=st.lists(st.sampled_from(["binance", "okx", "bybit"]), max_size=2),
    batch=st.integers(1, 25),
    caps=log_caps,
)
def test_every_band_equals_the_decimal_recomputation(
    redis_client: redis.Redis, events: list[tuple[Event, Decimal]], step: Decimal | None,
    bands: int | None, window: tuple[int, int] | None, exchanges: list[str], batch: int,
    caps: tuple[int, int, int] | None,
) -> None:
    if step is not None and bands is not None:
        bands = None
    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = caps or store.log_caps
    # a notional of 1e13 or more is outside the stored range (refused by design; the shared
    # event strategy's quantities reach 1e9, here priced up to 10,100)
    stream = distinct_ids([replace(e, price=p, usd=default_usd(p, e.qty)) for e, p in events
                           if default_usd(p, e.qty) < Decimal("1e13")])
    stream += stream[: len(stream) // 4]  # replays: counted once
    for start in range(0, len(stream), batch):  # several batches: stored sums are added to
        store.ingest_batch(stream[start : start + batch])
    since, until = (None, None) if window is None else (window[0], window[0] + window[1])
    try:
        levels = compute_levels(store, "BTCUSDT", step=step, bands=bands, since_ms=since,
                                until_ms=until, exchanges=exchanges)
    except UsageError as error:  # a tiny step over two decades: too many bands
        assert "bands" in str(error)
        return
    kept = [
        e for e in unique(stream)
        if (since is None or e.ts_ms >= since) and (until is None or e.ts_ms < until)
        and (not exchanges or e.exchange in exchanges)
    ]
    if not kept:
        assert levels.bands == () and levels.step is None
        return
    assert levels.step is not None
    assert levels.bands[0].low <= min(e.price for e in kept)
    assert max(e.price for e in kept) < levels.bands[-1].high
    for below, above in zip(levels.bands, levels.bands[1:], strict=False):
        assert below.high == above.low and above.high - above.low == levels.step
    for band in levels.bands:
        got = {name: getattr(band, name) for name in FIGURES}
        assert got == recompute(kept, band.low, band.high)
    assert sum(b.events for b in levels.bands) == len(kept)
    last = max(kept, key=lambda e: (e.ts_ms, e.price))
    assert levels.last_price == last.price


def test_price_band_sums_add_exactly_across_batches(redis_client: redis.Redis) -> None:
    """Limbs summed across batches (decimal-text addition in the script) stay exact."""
    from test_store import ev

    store = Store(redis_client)
    events = [ev(price="100.5", qty="0.999999999999999999", ts=T0 + i, id=f"c{i}",
                 usd="999999999999.999999999999999999") for i in range(7)]
    for event in events:  # one batch each: every addition goes through the stored text
        store.ingest_batch([event])
    levels = compute_levels(store, "BTCUSDT", step=Decimal(1))
    (band,) = levels.bands
    assert band.long_qty == Decimal("6.999999999999999993")
    assert band.long_usd == Decimal("6999999999999.999999999999999993")
    assert (band.low, band.high, band.long_events) == (100, 101, 7)


def test_a_day_log_and_a_band_hash_give_the_same_digits(redis_client: redis.Redis) -> None:
    """A sparse day (its events in the day log) and a dense one (in the band string) show the
    same amounts in the same form: 1.5, not 1.500000000000000000 (tables print the digits)."""
    from test_store import ev

    events = [ev(price="100.5", qty=qty, ts=T0 + i, id=f"f{i}")
              for i, qty in enumerate(("0.25", "1.25", "0.5"))]
    shown = []
    for prefix, caps in (("sparse", None), ("dense", (0, 0, 100))):
        store = Store(redis_client, prefix=prefix)
        store.log_caps = caps or store.log_caps  # day cap 0: every event outside the day log
        store.ingest_batch(events)
        (band,) = compute_levels(store, "BTCUSDT", step=Decimal(1)).bands
        shown.append((str(band.long_qty), str(band.long_usd)))
    assert shown[0] == shown[1] == ("2", "201")


def test_price_band_sums_stay_exact_past_1e15(redis_client: redis.Redis) -> None:
    """The script adds integer limbs below 1e15 as doubles and longer ones digit by digit:
    sums that cross 1e15 (inside a batch and across batches) stay exact."""
    from test_store import ev

    store = Store(redis_client)
    qty = "9999999999999.5"
    events = [ev(price="100.5", qty=qty, usd="1.25", ts=T0 + i, id=f"q{i}") for i in range(240)]
    for start in range(0, len(events), 80):  # three batches: in-batch and stored additions
        store.ingest_batch(events[start : start + 80])
    (band,) = compute_levels(store, "BTCUSDT", step=Decimal(1)).bands
    assert band.long_events == 240
    assert band.long_qty == Decimal(qty) * 240 == Decimal("2399999999999880")
    assert band.long_usd == Decimal("300")


# amounts up to 1e13 with up to 18 decimals: the aligned sums run far beyond 2^53
_big_amounts = st.one_of(
    st.decimals(min_value=Decimal("1e-18"), max_value=Decimal("9999999999999.999999999999999999"),
                places=18),
    st.sampled_from([Decimal("9999999999999.5"), Decimal("0.000000000000000001"),
                     Decimal("9007199254740.993"), Decimal("1.1"), Decimal(3)]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(st.tuples(_big_amounts, _big_amounts, st.sampled_from(["100.5", "100.7",
                                                                            "2.25"]),
                               st.sampled_from(["LONG", "SHORT"]), st.integers(0, 3)),
                     min_size=1, max_size=40),
    batch=st.integers(1, 15),
    replay=st.integers(0, 40),
)
def test_band_strings_sum_exactly_at_any_size(
    redis_client: redis.Redis, amounts: list[tuple[Decimal, Decimal, str, str, int]],
    batch: int, replay: int,
) -> None:
    """Schema 4: a day's bands are one string of exact decimal sums; every bucket's sums equal
    the Decimal ones at any size (in-batch and stored additions, digit by digit past 1e15),
    and replayed events (duplicates) change nothing."""
    from liqcli.store.pricebands import Buckets, add_bands, add_event
    from liqcli.store.store import DAY_MS

    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = (0, 0, SLOT_LOG_CAP)  # every event outside the day log: in the bands
    events = [Event("okx", "BTCUSDT", side, Decimal(price), qty, usd, T0 + i * 1000 + day * DAY_MS,
                    id=f"x{i}") for i, (qty, usd, price, side, day) in enumerate(amounts)]
    for start in range(0, len(events), batch):
        store.ingest_batch(events[start : start + batch])
    store.ingest_batch(events[:replay])
    expected: dict[int, Buckets] = {}
    for event in events:
        add_event(expected.setdefault(event.ts_ms // DAY_MS, {}), event)
    for day, cells in expected.items():
        key = store.key("BTCUSDT", f"pb:D:{day}")
        assert redis_client.type(key) == b"string"
        stored: Buckets = {}
        add_bands(stored, redis_client.get(key) or b"")
        assert stored == cells
        for line in (redis_client.get(key) or b"").decode().split("\n"):  # shortest text
            for part in line.split(" ")[1:]:
                assert part.replace(".", "", 1).isdigit() and not (
                    "." in part and part.endswith("0")) and not part.endswith(".")


def test_whole_days_read_the_band_hashes_not_the_log(
    redis_client: redis.Redis,
) -> None:
    from test_core import T0 as CORE_T0
    from test_core import make_events

    store = Store(redis_client)
    events = make_events(n=400, seed=8, symbols=("ETHUSDT",), span_hours=40)
    store.ingest(events)
    since, until = CORE_T0 - 12 * HOUR_MS, CORE_T0 + 60 * HOUR_MS  # whole UTC days only
    before = compute_levels(store, "ETHUSDT", bands=10, since_ms=since, until_ms=until)
    last_hour = max(e.ts_ms for e in events) // HOUR_MS  # its logs give the last price
    # the day logs stay: their events are in no band string (schema 3), read with them
    redis_client.delete(*(key for key in log_keys(store, "ETHUSDT", events, keep_hour=last_hour)
                          if ":ld:" not in key))
    after = compute_levels(store, "ETHUSDT", bands=10, since_ms=since, until_ms=until)
    assert after == before and after.events == len(events)
    # an exchange filter reads the log: without it the deleted events are missing
    filtered = compute_levels(store, "ETHUSDT", bands=10, since_ms=since, until_ms=until,
                              exchanges=["okx"])
    assert filtered.events < sum(e.exchange == "okx" for e in events)


# ---------------------------------------------------------------------- CLI
@pytest.fixture()
def stored(redis_url: str) -> list[Event]:
    from test_core import make_events

    events = make_events(n=300, seed=23, symbols=("ETHUSDT",), span_hours=20)
    Store(redis.Redis.from_url(redis_url)).ingest(events)
    return events


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["levels", *args], catch_exceptions=False)


def test_csv_columns_and_exact_bands(stored: list[Event]) -> None:
    result = invoke("-s", "ETHUSDT", "--bands", "12", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["low", "high", *FIGURES]
    for row in rows:
        want = recompute(stored, Decimal(row["low"]), Decimal(row["high"]))
        assert {k: Decimal(row[k]) for k in FIGURES} == {k: Decimal(v) for k, v in want.items()}


def test_json_validates(stored: list[Event]) -> None:
    result = invoke("-s", "ETHUSDT", "--step", "100000", "-f", "json")
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    doc["bands"][0]["mid"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_table_chart_and_last_price_marker(stored: list[Event]) -> None:
    piped = invoke("-s", "ETHUSDT", "--bands", "5")
    assert "◀ last" in piped.stdout and "█" not in piped.stdout
    rich = invoke("-s", "ETHUSDT", "--bands", "5", "--color", "always")
    assert "█" in rich.stdout or "▒" in rich.stdout


@pytest.mark.parametrize("args", [
    ("--step", "0"), ("--step", "abc"), ("--bands", "0"), ("--step", "10", "--bands", "3"),
    ("-s", "BTCUSDT,ETHUSDT"), ("--all-symbols",),
])
def test_bad_options_are_usage_errors(redis_url: str, args: tuple[str, ...]) -> None:
    assert CliRunner().invoke(app, ["levels", *args]).exit_code == 2


def test_empty_store_is_success(redis_url: str) -> None:
    result = invoke("-f", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["bands"] == []


def test_docs_list_exactly_the_schema_fields() -> None:
    from test_formatters import field_tables

    from liqcli.formatters._document import LEVEL_COLUMNS

    docs = field_tables()
    assert set(SCHEMA["properties"]) == docs["levels"]
    band = SCHEMA["properties"]["bands"]["items"]["properties"]
    assert set(band) == docs["levels-columns"] == set(LEVEL_COLUMNS)
