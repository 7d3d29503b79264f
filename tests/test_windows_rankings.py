"""``--windows`` (several trailing windows) and ``symbols --sort/--top`` (rankings): every figure
against a Decimal recomputation from the raw events; CLI shapes and schemas."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core import ALL, HOUR, SYMBOLS, T0, Expected, check_document, make_events
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import UsageError
from liqcli.formatters._document import ROW_COLUMNS, document, dumps
from liqcli.model import Event
from liqcli.report.core import compute_stats
from liqcli.report.rankings import SORT_KEYS, rank_symbols
from liqcli.report.timeparse import iso_utc
from liqcli.report.windows import MAX_WINDOWS, TrailingWindow, compute_windows, parse_windows
from liqcli.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
EVENTS = make_events(n=600, seed=21, span_hours=30)


def schema(command: str) -> dict[str, Any]:
    return json.loads((ROOT / "liqcli" / "schemas" / f"{command}.json").read_text())  # type: ignore[no-any-return]


def parsed(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(dumps(doc), parse_float=Decimal)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def filled(redis_server: Any) -> Store:
    """One store with EVENTS for the whole module (read-only tests)."""
    client = redis.Redis.from_url(redis_server.url, db=3)
    client.flushdb()
    store = Store(client, prefix="wr")
    store.ingest(EVENTS)
    return store


# ------------------------------------------------------------------ parsing
def test_parse_windows_keeps_order_and_drops_repeats() -> None:
    assert parse_windows("1h, 4H,12h,24h,1h") == (
        TrailingWindow("1h", HOUR), TrailingWindow("4h", 4 * HOUR),
        TrailingWindow("12h", 12 * HOUR), TrailingWindow("24h", 24 * HOUR),
    )
    assert parse_windows(["30m", "1h30m,7d"])[1] == TrailingWindow("1h30m", 90 * 60_000)


@pytest.mark.parametrize(
    "text", ["", ",", "0h", "abc", "2h ago", "1h,-4h", "500d",
             ",".join(f"{i + 1}m" for i in range(MAX_WINDOWS + 1))],
)
def test_parse_windows_refuses_bad_lists(text: str) -> None:
    with pytest.raises(UsageError):
        parse_windows(text)


# ------------------------------------------------------------- the figures
@settings(
    max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    durations=st.lists(st.integers(1, 40 * HOUR), min_size=1, max_size=4, unique=True),
    until=st.integers(T0 - HOUR, T0 + 32 * HOUR),
    symbols=st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True),
    exchanges=st.lists(st.sampled_from(["binance", "okx", "bybit"]), max_size=2),
)
def test_each_window_equals_the_decimal_recomputation(
    filled: Store, durations: list[int], until: int, symbols: list[str], exchanges: list[str],
) -> None:
    windows = [TrailingWindow(f"{d}ms", d) for d in durations]
    result = compute_windows(filled, symbols, windows, until_ms=until, exchanges=exchanges)
    assert result.windows == tuple(windows) and len(result.reports) == len(windows)
    doc = parsed(document(result, "summary"))
    for window, one in zip(windows, doc["windows"], strict=True):
        since = until - window.duration_ms
        assert one["window"] == {"since": iso_utc(since), "until": iso_utc(until),
                                 "label": window.label}
        check_document(one, Expected(EVENTS, symbols, since, until, exchanges), ALL)
        for single in one.get("per_symbol", ()):
            assert single["window"]["label"] == window.label
            check_document(single, Expected(EVENTS, [single["symbol"]], since, until,
                                            exchanges), ALL)


@settings(max_examples=25, deadline=None)
@given(
    sort=st.sampled_from(SORT_KEYS),
    top=st.one_of(st.none(), st.integers(1, 5)),
    since=st.integers(T0 - HOUR, T0 + 30 * HOUR),
    span=st.integers(1, 30 * HOUR),
)
def test_rankings_equal_the_decimal_recomputation(
    filled: Store, sort: str, top: int | None, since: int, span: int,
) -> None:
    stats = compute_stats(filled, all_symbols=True, since_ms=since, until_ms=since + span)
    ranked = rank_symbols(stats, sort, top)
    expected = []
    for symbol in SYMBOLS:
        exp = Expected(EVENTS, [symbol], since, since + span)
        key = {
            "usd": exp.total.usd, "events": exp.total.events,
            "long_usd": exp.sides["LONG"].usd, "short_usd": exp.sides["SHORT"].usd,
        }[sort]
        if exp.total.events:
            expected.append((-Decimal(key), symbol, exp))
    expected.sort(key=lambda item: (item[0], item[1]))
    expected = expected[:top] if top else expected
    doc = parsed(document(ranked, "symbols"))
    assert [e["symbol"] for e in doc["symbols"]] == [symbol for _, symbol, _ in expected]
    for entry, (_, _, exp) in zip(doc["symbols"], expected, strict=True):
        assert (entry["events"], entry["usd"], entry["long_usd"], entry["short_usd"]) == (
            exp.total.events, exp.total.usd, exp.sides["LONG"].usd, exp.sides["SHORT"].usd)


def test_ranking_without_sort_keeps_the_order_and_cuts_at_top(filled: Store) -> None:
    stats = compute_stats(filled, all_symbols=True)
    assert rank_symbols(stats, None, 2).symbols == tuple(sorted(SYMBOLS))[:2]
    with pytest.raises(UsageError):
        rank_symbols(stats, "qty", None)


# ---------------------------------------------------------------------- CLI
def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture()
def events(redis_url: str) -> list[Event]:
    Store(redis.Redis.from_url(redis_url)).ingest(EVENTS)
    return EVENTS


UNTIL = ("--until", iso_utc(T0 + 20 * HOUR + 7))


@pytest.mark.parametrize("command", ["totals", "sides", "exchanges"])
@pytest.mark.parametrize("symbols", [("-s", "BTCUSDT"), ("--all-symbols",)])
def test_windows_json_validates_and_has_one_object_per_window(
    events: list[Event], command: str, symbols: tuple[str, ...],
) -> None:
    result = invoke(command, *symbols, "--windows", "1h,4h,12h,24h", *UNTIL, "-f", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, schema(command))
    assert [one["window"]["label"] for one in doc["windows"]] == ["1h", "4h", "12h", "24h"]
    doc["windows"][0]["windowz"] = doc["windows"][0].pop("window")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema(command))


def test_windows_csv_has_a_window_column(events: list[Event]) -> None:
    result = invoke("sides", "--windows", "4h,1h", *UNTIL, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["window", *ROW_COLUMNS]
    assert [(r["window"], r["side"]) for r in rows] == [
        ("4h", "LONG"), ("4h", "SHORT"), ("1h", "LONG"), ("1h", "SHORT")]
    until = T0 + 20 * HOUR + 7
    exp = Expected(EVENTS, ["BTCUSDT"], until - 4 * HOUR, until)
    assert Decimal(rows[0]["usd"]) == exp.sides["LONG"].usd


def test_windows_table_has_a_column_group_per_window(events: list[Event]) -> None:
    result = invoke("exchanges", "--windows", "1h,24h", *UNTIL)
    assert "1h events" in result.stdout and "24h USD %" in result.stdout
    assert "trailing 1h, 24h until" in result.stdout
    rich = invoke("totals", "--windows", "1h,24h", *UNTIL, "--color", "always")
    assert rich.exit_code == 0 and "24h" in rich.stdout


@pytest.mark.parametrize("args", [
    ("totals", "--windows", "1h", "--since", "2h"),
    ("sides", "--windows", "1x"),
    ("symbols", "--sort", "qty"),
    ("symbols", "--top", "0"),
])
def test_bad_windows_and_sorts_are_usage_errors(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*args, "--redis-url", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 2


def test_symbols_sort_and_top(events: list[Event]) -> None:
    result = invoke("symbols", "--sort", "short_usd", "--top", "2", "-f", "json")
    doc = json.loads(result.stdout, parse_float=Decimal)
    jsonschema.validate(json.loads(result.stdout), schema("symbols"))
    shorts = sorted(
        ((Expected(EVENTS, [s]).sides["SHORT"].usd, s) for s in SYMBOLS), reverse=True
    )
    assert [e["symbol"] for e in doc["symbols"]] == [s for _, s in shorts[:2]]
    table = invoke("symbols", "--sort", "events", "--top", "1")
    # heading, blank, title, header, rule, one row; then the sampled feeds' footnotes
    lines = table.stdout.splitlines()
    most = max(SYMBOLS, key=lambda s: Expected(EVENTS, [s]).total.events)
    assert "LONG USD" in lines[3] and lines[5].startswith(most)
    assert len(lines) == 6 or (lines[6] == "" and "at least these figures" in lines[7])
