"""``liqcli watch`` as a user runs it: real processes, a real redis-server, a real pseudo-terminal.

Covered: the ndjson stream parsed line by line (schema, deltas between refreshes after ingesting
between them, new symbols/exchanges), reconnection after stopping and restarting the server,
an unreachable store, the "no data yet" state, the live collector's feed gaps (ndjson, plain
table; also with no data yet). The dashboard on a terminal: tests/test_watch_screen.py.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal, localcontext
from importlib import resources
from typing import IO, Any

import pytest
import redis
from event_factory import random_events
from test_summary_coverage import Records, brute_gaps, doc_gaps, write

from liqcli.model import Event
from liqcli.report.timeparse import iso_utc, now_ms, parse_instant
from liqcli.store.store import Store

LIVE_FIELDS = ("refreshed_at", "delta", "recent")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\r")


def make_events(
    seed: int, n: int, *, symbol: str = "BTCUSDT", exchanges: tuple[str, ...] = ("binance", "bybit")
) -> list[Event]:
    """Events of the last two hours (the dashboard reads the real clock)."""
    return random_events(
        seed, n, symbol=symbol, exchanges=exchanges, newest=now_ms() - 1000,
        span_ms=2 * 3_600_000,
    )


def exact_sum(values: Iterator[Decimal] | list[Decimal]) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return sum(values, Decimal(0))


def ingest(url: str, events: list[Event]) -> None:
    client = redis.Redis.from_url(url)
    Store(client).ingest(events)
    client.close()


def watch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "liqcli", "watch", *args]


def child_env(url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, LIQCLI_REDIS_URL=url, PYTHONUNBUFFERED="1")
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def summary_schema() -> dict[str, Any]:
    text = resources.files("liqcli").joinpath("schemas/summary.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def check_line(doc: dict[str, Any]) -> None:
    """A watch line is a ``summary`` document plus the live fields, all in the schema."""
    import jsonschema

    for name in LIVE_FIELDS:
        assert name in doc
    jsonschema.validate(doc, summary_schema(), format_checker=jsonschema.FormatChecker())
    recent = doc["recent"]
    assert len(recent["per_minute"]["usd"]) == len(recent["per_minute"]["events"]) == 60
    assert recent["last_15m"]["events"] <= sum(recent["per_minute"]["events"])


def reader(stream: IO[str]) -> queue.Queue[str | None]:
    """Lines of ``stream`` as they come (None at EOF), read by a thread."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue[str | None], pattern: str, seen: list[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no line matching {pattern!r} in {timeout}s; got {seen!r}")
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"stream ended before {pattern!r}; got {seen!r}")
        seen.append(line)
        if re.search(pattern, line):
            return line


# --------------------------------------------------------------------- ndjson
def test_ndjson_stream_deltas_between_refreshes(redis_url: str) -> None:
    first = make_events(1, 120)
    ingest(redis_url, first)
    proc = subprocess.Popen(
        watch_cmd("-f", "ndjson", "-n", "0.25", "--count", "6", "--all-symbols"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(redis_url),
    )
    assert proc.stdout is not None
    line_one = proc.stdout.readline()
    added = make_events(2, 40, exchanges=("binance", "okx")) + make_events(
        3, 15, symbol="SOLUSDT", exchanges=("okx",))
    ingest(redis_url, added + first[:10])  # repeats must not count
    rest = proc.stdout.readlines()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err

    docs = [json.loads(line, parse_float=Decimal) for line in [line_one, *rest]]
    assert len(docs) == 6
    for doc in docs:
        check_line(doc)
    assert docs[0]["delta"] is None
    assert docs[0]["symbols"] == ["BTCUSDT"]
    assert docs[0]["totals"]["events"] == len(first)
    assert docs[0]["totals"]["usd"] == exact_sum(e.usd for e in first)

    deltas = [doc["delta"] for doc in docs[1:]]
    assert sum(d["events"] for d in deltas) == len(added)
    assert exact_sum([d["usd"] for d in deltas]) == exact_sum(e.usd for e in added)
    for side in ("LONG", "SHORT"):
        got = [s for d in deltas for s in d["sides"] if s["side"] == side]
        assert sum(s["events"] for s in got) == sum(1 for e in added if e.side == side)
        assert exact_sum([s["usd"] for s in got]) == exact_sum(
            e.usd for e in added if e.side == side)
    assert {s for d in deltas for s in d["new_symbols"]} == {"SOLUSDT"}
    assert {x for d in deltas for x in d["new_exchanges"]} == {"okx"}
    last = docs[-1]
    assert last["symbols"] == ["BTCUSDT", "SOLUSDT"]
    assert last["totals"]["events"] == len(first) + len(added)
    assert last["totals"]["usd"] == exact_sum(e.usd for e in first + added)
    stamps = [doc["refreshed_at"] for doc in docs]
    assert stamps == sorted(stamps) and len(set(stamps)) == 6
    # the schema types the live fields: a wrong one, a part missing, or one inside
    # per_symbol is rejected
    import jsonschema

    changed = next(doc for doc in docs if doc["delta"] is not None and doc["delta"]["exchanges"])
    broken = [
        {**changed, "delta": {**changed["delta"], "events": "3"}},
        {**changed, "delta": {**changed["delta"], "sides": changed["delta"]["sides"][:1]}},
        {**changed, "delta": {**changed["delta"], "exchanges": [
            {**changed["delta"]["exchanges"][0], "qty": 1}]}},
        {**changed, "recent": {**changed["recent"], "per_minute": {
            **changed["recent"]["per_minute"], "usd": changed["recent"]["per_minute"]["usd"][1:]}}},
        {k: v for k, v in changed.items() if k != "recent"},
        {**changed, "refreshed": changed["refreshed_at"]},
        {**changed, "per_symbol": [{**changed["per_symbol"][0], "recent": changed["recent"]}]},
    ]
    for doc in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, summary_schema())


def test_reconnects_after_the_server_restarts(redis_server: Any, redis_url: str) -> None:
    ingest(redis_url, make_events(4, 30))
    proc = subprocess.Popen(
        watch_cmd("-f", "ndjson", "-n", "0.2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(redis_url),
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = reader(proc.stdout), reader(proc.stderr)
    seen_out: list[str] = []
    seen_err: list[str] = []
    try:
        first = json.loads(wait_for(out, r"^\{", seen_out, 20), parse_float=Decimal)
        assert first["totals"]["events"] == 30
        redis_server.stop()
        wait_for(err, r"reconnecting \(attempt 1,", seen_err, 10)
        wait_for(err, r"reconnecting \(attempt 2,", seen_err, 10)
        redis_server.start()  # empty again (no persistence)
        after = make_events(5, 12, exchanges=("okx",))
        ingest(redis_server.url, after)
        wait_for(err, r"store reachable again", seen_err, 15)
        doc = json.loads(wait_for(out, r'"events": 12,', seen_out, 10), parse_float=Decimal)
        check_line(doc)
        assert doc["totals"]["usd"] == exact_sum(e.usd for e in after)
        assert doc["exchanges"][0]["exchange"] == "okx"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(15)
    assert proc.returncode == 0
    rest = []
    while not err.empty():
        line = err.get()
        if line is not None:
            rest.append(line)
    assert not any("Traceback" in line for line in seen_err + rest)


def test_unreachable_store_with_count_exits_3(redis_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = subprocess.run(
        watch_cmd("-f", "ndjson", "-n", "0.1", "--count", "2"),
        capture_output=True, text=True, timeout=60,
        env=child_env(f"redis://127.0.0.1:{port}/0"),
    )
    assert result.returncode == 3
    assert result.stdout == ""
    assert "reconnecting (attempt 1," in result.stderr
    assert "reconnecting (attempt 2," in result.stderr
    assert result.stderr.splitlines()[-1].startswith("liqcli: error: cannot reach store")
    assert "Traceback" not in result.stderr


def test_unreachable_store_names_the_redis_url_option(redis_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wanted = f"redis://127.0.0.1:{port}/0"
    result = subprocess.run(  # the environment names another (working) server
        watch_cmd("--redis-url", wanted, "-f", "ndjson", "-n", "0.1", "--count", "2"),
        capture_output=True, text=True, timeout=60, env=child_env(redis_url),
    )
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("liqcli: error: cannot reach store")
    for line in lines:
        assert f"cannot reach store {wanted}" in line, line


@pytest.mark.parametrize("interval", ["nan", "inf", "-inf", "1e308", "86401"])
def test_interval_must_be_a_finite_number_of_seconds_up_to_a_day(
    redis_url: str, interval: str
) -> None:
    result = subprocess.run(
        watch_cmd("-f", "ndjson", "-n", interval, "--count", "2"),
        capture_output=True, text=True, timeout=30, env=child_env(redis_url),
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "--interval" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["-s", "A*"], ["-s", ""], ["-e", "b a d"]])
def test_bad_names_exit_2_before_connecting(args: list[str]) -> None:
    # the store is unreachable: without the check, the dashboard would keep reconnecting
    result = subprocess.run(
        watch_cmd("-f", "ndjson", "-n", "0.1", "--count", "3", *args),
        capture_output=True, text=True, timeout=60, env=child_env("redis://127.0.0.1:1/0"),
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "reconnecting" not in result.stderr
    assert result.stderr.startswith("liqcli: error: not a")


def test_no_data_yet_and_bad_window(redis_url: str) -> None:
    result = subprocess.run(
        watch_cmd("--count", "1", "-n", "0.1"), capture_output=True, text=True, timeout=60,
        env=child_env(redis_url),
    )
    assert result.returncode == 0, result.stderr
    assert "No data yet for BTCUSDT" in result.stdout
    bad = subprocess.run(
        watch_cmd("--count", "1", "--since", "yesterday-ish"), capture_output=True, text=True,
        timeout=60, env=child_env(redis_url),
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("liqcli: error: --since")


def test_plain_table_stream_when_piped(redis_url: str) -> None:
    events = make_events(6, 25)
    ingest(redis_url, events)
    result = subprocess.run(
        watch_cmd("--count", "2", "-n", "0.1"), capture_output=True, text=True, timeout=60,
        env=child_env(redis_url),
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # plain text when piped
    assert result.stdout.count("── liqcli watch · refreshed") == 2
    assert "Change since previous refresh" in result.stdout
    assert re.search(rf"Events\s+{len(events)}\b", result.stdout)


# ------------------------------------------------------------------ feed gaps
H = 3_600_000


def gap_setup(client: Any) -> tuple[int, int, int, Records]:
    """Coverage records around a closed window [since, until) that ended an hour ago, on a
    whole-second grid: binance has two gaps in it, okx none, bybit never covered BTCUSDT."""
    now = now_ms() // 1000 * 1000
    records: Records = {
        "binance": [(now - 6 * H, now - 4 * H, ()),
                    (now - 3 * H + 17_000, now - 2 * H, ("BTCUSDT",))],
        "okx": [(now - 6 * H, now - 3 * H, ()), (now - 3 * H, now, ())],
        "bybit": [(now - 6 * H, now, ("ETHUSDT",))],
    }
    write(client, records)
    return now, now - 5 * H, now - H, records


def table_gaps(text: str) -> list[tuple[str, ...]]:
    """(exchange, from, to) rows of the last "Feed gaps" table of a text dashboard."""
    section = text.split("Feed gaps")[-1]
    return [tuple(line.split()[:3])
            for line in section.splitlines() if line.split()[:1] in (["binance"], ["okx"])]


def test_ndjson_lists_the_feed_gaps_of_the_window(redis_url: str, redis_client: Any) -> None:
    ingest(redis_url, make_events(14, 60))
    now, since, until, records = gap_setup(redis_client)
    result = subprocess.run(
        watch_cmd("--count", "1", "-f", "ndjson", "--since", iso_utc(since),
                  "--until", iso_utc(until)),
        capture_output=True, text=True, timeout=60, env=child_env(redis_url),
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    doc = json.loads(line, parse_float=Decimal)
    check_line(doc)
    checked, gaps = brute_gaps(records, ["BTCUSDT"], since, until)
    assert checked == ["binance", "okx"] and len(gaps) == 2
    assert doc["coverage"]["exchanges"] == checked
    assert doc_gaps(doc["coverage"]) == gaps
    assert [g["ongoing"] for g in doc["coverage"]["gaps"]] == [False, False]

    # an open window: binance's feed stopped two hours ago, so its last gap is ongoing
    result = subprocess.run(
        watch_cmd("--count", "1", "-f", "ndjson", "--since", iso_utc(since)),
        capture_output=True, text=True, timeout=60, env=child_env(redis_url),
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout, parse_float=Decimal)
    check_line(doc)
    first, last = doc["coverage"]["gaps"]
    assert (first["exchange"], parse_instant(first["start"]), parse_instant(first["end"])) == (
        "binance", now - 4 * H, now - 3 * H + 17_000)
    assert (last["exchange"], parse_instant(last["start"]), last["ongoing"]) == (
        "binance", now - 2 * H, True)
    refreshed = parse_instant(doc["refreshed_at"])
    assert parse_instant(last["end"]) == refreshed == parse_instant(doc["recent"]["now"])


@pytest.mark.parametrize("with_events", [False, True])
def test_plain_table_lists_the_feed_gaps_also_with_no_data_yet(
    redis_url: str, redis_client: Any, with_events: bool
) -> None:
    if with_events:
        ingest(redis_url, make_events(15, 60))
    _, since, until, records = gap_setup(redis_client)
    result = subprocess.run(
        watch_cmd("--count", "1", "--since", iso_utc(since), "--until", iso_utc(until)),
        capture_output=True, text=True, timeout=60, env=child_env(redis_url),
    )
    assert result.returncode == 0, result.stderr
    assert ("No data yet for BTCUSDT" in result.stdout) is not with_events
    assert result.stdout.count("Feed gaps") == 1
    _, gaps = brute_gaps(records, ["BTCUSDT"], since, until)
    assert table_gaps(result.stdout) == [
        (exchange, iso_utc(a), iso_utc(b)) for exchange, a, b in gaps
    ] + [("okx", "no", "gaps")]
