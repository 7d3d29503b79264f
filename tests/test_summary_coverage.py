"""``summary`` lists the live collector's feed gaps inside the window (real store, real CLI).

Coverage is written with ``liqcli.store.coverage.mark_connected``, as ``liqcli collect`` does; the
expected gaps are recomputed by brute force on a one-second grid (every time in these tests is
a whole second), independently of ``liqcli.store.coverage``.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from test_core import HOUR, T0, Expected, check_document, make_events
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.formatters import render_text
from liqcli.formatters._document import ROW_COLUMNS
from liqcli.model import Event
from liqcli.report.core import compute_stats
from liqcli.report.timeparse import iso_utc
from liqcli.store.coverage import mark_connected
from liqcli.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEC = 1000
SINCE, UNTIL = T0 + HOUR, T0 + 7 * HOUR
# exchange -> connections (start, end, symbols; () = all markets)
Records = dict[str, list[tuple[int, int, tuple[str, ...]]]]
Gap = tuple[str, int, int]  # exchange, start, end


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def schema() -> dict[str, Any]:
    return json.loads((ROOT / "liqcli" / "schemas" / "summary.json").read_text())  # type: ignore[no-any-return]


def random_records(seed: int) -> Records:
    """binance: random connections, some for every market, some for one symbol; bybit: ETHUSDT
    only; okx: connected across the whole window (split in two touching connections)."""
    rng = random.Random(seed)
    starts = rng.sample(range(-3600, 8 * 3600), 9)
    binance = [
        (T0 + s * SEC, T0 + (s + rng.randint(1, 5400)) * SEC,
         rng.choice([(), ("BTCUSDT",), ("ETHUSDT",), ("BTCUSDT", "ETHUSDT")]))
        for s in starts
    ]
    return {
        "binance": binance,
        "bybit": [(T0, T0 + 2 * HOUR, ("ETHUSDT",)), (T0 + 3 * HOUR, T0 + 9 * HOUR, ("ETHUSDT",))],
        "okx": [(T0 - HOUR, T0 + 4 * HOUR, ()), (T0 + 4 * HOUR, T0 + 12 * HOUR, ())],
    }


def write(client: Any, records: Records, prefix: str = "liq") -> None:
    for exchange, connections in records.items():
        for start, end, symbols in connections:
            mark_connected(client, prefix, exchange, start, end, symbols)


def brute_gaps(records: Records, symbols: Sequence[str], since: int | None, until: int,
               exchanges: Sequence[str] = ()) -> tuple[list[str], list[Gap]]:
    """Checked exchanges and gaps: a second is a gap of an exchange when some symbol that has
    connections there was not connected then (from ``since`` or its first connection)."""
    checked: list[str] = []
    gaps: list[Gap] = []
    for exchange in sorted(records):
        if exchanges and exchange not in exchanges:
            continue
        per_symbol = {
            symbol: [(a, b) for a, b, syms in records[exchange] if not syms or symbol in syms]
            for symbol in symbols
        }
        known = {s: spans for s, spans in per_symbol.items() if spans}
        if not known:
            continue
        checked.append(exchange)
        uncovered: set[int] = set()
        for spans in known.values():
            low = min(a for a, _ in spans) if since is None else since
            uncovered |= {t for t in range(low, until, SEC)
                          if not any(a <= t < b for a, b in spans)}
        for t in sorted(uncovered):  # runs of consecutive seconds
            if gaps and gaps[-1][0] == exchange and gaps[-1][2] == t:
                gaps[-1] = (exchange, gaps[-1][1], t + SEC)
            else:
                gaps.append((exchange, t, t + SEC))
    return checked, gaps


def doc_gaps(coverage: dict[str, Any]) -> list[Gap]:
    return [(g["exchange"], _ms(g["start"]), _ms(g["end"])) for g in coverage["gaps"]]


def _ms(text: str) -> int:
    from liqcli.report.timeparse import parse_instant

    return parse_instant(text)


@pytest.fixture()
def events(redis_url: str) -> list[Event]:
    events = make_events(n=300, seed=5)
    Store(redis.Redis.from_url(redis_url)).ingest(events)
    return events


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_summary_json_lists_exactly_the_gaps_of_the_window(
    events: list[Event], redis_client: Any, seed: int
) -> None:
    records = random_records(seed)
    write(redis_client, records)
    result = invoke("summary", "-f", "json", "--since", iso_utc(SINCE), "--until", iso_utc(UNTIL))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout, parse_float=Decimal)
    jsonschema.validate(json.loads(result.stdout), schema())
    check_document(doc, Expected(events, ["BTCUSDT"], SINCE, UNTIL),
                   ["totals", "sides", "exchanges", "matrix"])
    checked, gaps = brute_gaps(records, ["BTCUSDT"], SINCE, UNTIL)
    assert "bybit" not in checked and "okx" in checked  # bybit never covered BTCUSDT
    assert doc["coverage"]["exchanges"] == checked
    assert doc_gaps(doc["coverage"]) == gaps
    for gap in doc["coverage"]["gaps"]:
        exact = Decimal(_ms(gap["end"]) - _ms(gap["start"])) / HOUR
        assert abs(gap["hours"] - exact) <= Decimal("5e-9") and gap["ongoing"] is False


def test_summary_table_markdown_and_csv_show_the_gaps(
    events: list[Event], redis_client: Any
) -> None:
    records = random_records(2)
    write(redis_client, records)
    window = ["--since", iso_utc(SINCE), "--until", iso_utc(UNTIL)]
    _, gaps = brute_gaps(records, ["BTCUSDT"], SINCE, UNTIL)
    assert gaps and all(g[0] == "binance" for g in gaps)

    table = invoke("summary", *window).stdout
    section = table.split("Feed gaps")[1]
    lines = [line for line in section.splitlines() if line.startswith(("binance", "okx"))]
    assert [line.split()[:3] for line in lines] == [
        ["binance", iso_utc(a), iso_utc(b)] for _, a, b in gaps
    ] + [["okx", "no", "gaps"]]
    assert "Feed gaps" in invoke("summary", "-f", "markdown", *window).stdout

    text = invoke("summary", "-f", "csv", *window).stdout
    rows = [dict(zip(ROW_COLUMNS, row, strict=True)) for row in csv.reader(io.StringIO(text))]
    gap_rows = [r for r in rows[1:] if r["section"] == "gap"]
    assert [(r["exchange"], _ms(r["gap_start"]), _ms(r["gap_end"])) for r in gap_rows] == gaps
    assert all(r["until"] == iso_utc(UNTIL) for r in gap_rows)
    ndjson = [json.loads(line) for line in invoke("summary", "-f", "ndjson", *window).stdout
              .splitlines()]
    assert [(o["exchange"], _ms(o["gap_start"])) for o in ndjson if o["section"] == "gap"] == [
        (g[0], g[1]) for g in gaps]


def test_exchange_filter_limits_the_checked_exchanges(
    events: list[Event], redis_client: Any
) -> None:
    write(redis_client, random_records(3))
    window = ["--since", iso_utc(SINCE), "--until", iso_utc(UNTIL)]
    doc = json.loads(invoke("summary", "-e", "OKX", "-f", "json", *window).stdout)
    assert doc["coverage"] == {"exchanges": ["okx"], "gaps": []}
    doc = json.loads(invoke("summary", "-e", "kraken", "-f", "json", *window).stdout)
    assert doc["coverage"] == {"exchanges": [], "gaps": []}


def test_without_coverage_records_nothing_is_claimed(events: list[Event]) -> None:
    window = ["--since", iso_utc(SINCE), "--until", iso_utc(UNTIL)]
    out = invoke("summary", "-f", "json", *window).stdout
    jsonschema.validate(json.loads(out), schema())
    assert json.loads(out)["coverage"] == {"exchanges": [], "gaps": []}
    assert "Feed gaps" not in invoke("summary", *window).stdout
    assert "gap" not in {r[5] for r in csv.reader(io.StringIO(
        invoke("summary", "-f", "csv", *window).stdout))}
    for command in ("totals", "sides", "exchanges", "matrix", "symbols"):
        assert "coverage" not in json.loads(invoke(command, "-f", "json", *window).stdout)


def test_multi_symbol_reports_merge_the_gaps_of_their_symbols(
    events: list[Event], redis_client: Any
) -> None:
    records = random_records(4)
    write(redis_client, records)
    symbols = ["BTCUSDT", "ETHUSDT"]
    out = invoke("summary", "-s", symbols[0], "-s", symbols[1], "-f", "json",
                 "--since", iso_utc(SINCE), "--until", iso_utc(UNTIL)).stdout
    doc = json.loads(out)
    jsonschema.validate(doc, schema())
    checked, gaps = brute_gaps(records, symbols, SINCE, UNTIL)
    assert checked == ["binance", "bybit", "okx"]
    assert doc["coverage"]["exchanges"] == checked and doc_gaps(doc["coverage"]) == gaps
    for one in doc["per_symbol"]:
        checked, gaps = brute_gaps(records, [one["symbol"]], SINCE, UNTIL)
        assert one["coverage"]["exchanges"] == checked and doc_gaps(one["coverage"]) == gaps
    # bybit covered ETHUSDT from T0 + 2 h to T0 + 3 h only: its one gap in the window
    assert [g for g in doc_gaps(doc["coverage"]) if g[0] == "bybit"] == [
        ("bybit", T0 + 2 * HOUR, T0 + 3 * HOUR)]


def test_open_window_ends_now_with_an_ongoing_gap_and_since_defaults_to_first_connection(
    redis_url: str, redis_client: Any
) -> None:
    store = Store(redis_client)
    now = T0 + 10 * HOUR
    records: Records = {
        "binance": [(T0, T0 + HOUR, ()), (T0 + 2 * HOUR, T0 + 8 * HOUR, ())],
        "okx": [(T0 + 5 * HOUR, now - 4 * SEC, ())],  # running: refreshed 4 s ago
        "bybit": [(T0 + 9 * HOUR, now + HOUR, ())],  # a clock ahead: the future is no gap
    }
    write(redis_client, records)
    stats = compute_stats(store, "BTCUSDT", coverage=True, now_ms=now)
    assert stats.coverage is not None
    assert stats.coverage.exchanges == ("binance", "bybit", "okx")
    got = [(g.exchange, g.start_ms, g.end_ms, g.ongoing) for g in stats.coverage.gaps]
    assert got == [("binance", T0 + HOUR, T0 + 2 * HOUR, False),
                   ("binance", T0 + 8 * HOUR, now, True)]
    assert [g.hours for g in stats.coverage.gaps] == [Decimal(1), Decimal(2)]
    text = render_text(stats, "summary", "table")
    assert f"{iso_utc(now)} (now)" in text and "2h 00m" in text
    # a window ending before now: nothing is ongoing, and the window bounds the gaps
    closed = compute_stats(store, "BTCUSDT", since_ms=T0 + 30 * 60 * SEC,
                           until_ms=T0 + 9 * HOUR, coverage=True, now_ms=now)
    assert closed.coverage is not None
    assert [(g.exchange, g.start_ms, g.end_ms, g.ongoing) for g in closed.coverage.gaps] == [
        ("binance", T0 + HOUR, T0 + 2 * HOUR, False),
        ("binance", T0 + 8 * HOUR, T0 + 9 * HOUR, False),
        ("bybit", T0 + 30 * 60 * SEC, T0 + 9 * HOUR, False),
        ("okx", T0 + 30 * 60 * SEC, T0 + 5 * HOUR, False),
    ]
    # without coverage=True nothing is read and JSON says so
    plain = compute_stats(store, "BTCUSDT")
    assert plain.coverage is None
    assert json.loads(render_text(plain, "summary", "json"))["coverage"] is None


def test_cli_open_window_marks_a_stopped_feed_as_ongoing(
    events: list[Event], redis_client: Any
) -> None:
    from liqcli.report.timeparse import now_ms

    stopped = now_ms() - 2 * HOUR
    mark_connected(redis_client, "liq", "okx", stopped - HOUR, stopped)
    doc = json.loads(invoke("summary", "-f", "json", "--since", "3h").stdout)
    jsonschema.validate(doc, schema())
    (gap,) = doc["coverage"]["gaps"]
    assert (gap["exchange"], _ms(gap["start"]), gap["ongoing"]) == ("okx", stopped, True)
    assert now_ms() - 60_000 < _ms(gap["end"]) <= now_ms()
