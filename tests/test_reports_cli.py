"""Report commands end to end: real store, CliRunner (stdout only), exit codes, pipes, TTYs."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from test_core import ALL, EXCHANGES, HOUR, SYMBOLS, T0, Expected, check_document, make_events
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.formatters import available
from liqcli.formatters._document import COMMANDS, REPORT_SECTIONS, ROW_COLUMNS, SYMBOL_COLUMNS
from liqcli.formatters._text import fmt_usd
from liqcli.model import Event
from liqcli.report.timeparse import iso_utc
from liqcli.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[")
SINCE, UNTIL = T0 + 2 * HOUR + 59 * 60_000 + 7, T0 + 7 * HOUR + 30_001  # cuts through hours


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return result


@pytest.fixture()
def events(redis_url: str) -> list[Event]:
    events = make_events(n=500, seed=11)
    Store(redis.Redis.from_url(redis_url)).ingest(events)
    return events


def schema(command: str) -> dict[str, Any]:
    return json.loads((ROOT / "liqcli" / "schemas" / f"{command}.json").read_text())  # type: ignore[no-any-return]


def check_output(command: str, fmt: str, out: str, events: list[Event], symbol: str) -> None:
    exp = Expected(events, [symbol], SINCE, UNTIL)
    if fmt == "json":
        doc = json.loads(out, parse_float=Decimal)
        jsonschema.validate(json.loads(out), schema(command))
        if command == "symbols":
            assert [e["symbol"] for e in doc["symbols"]] == sorted(SYMBOLS)
            for entry in doc["symbols"]:
                one = Expected(events, [entry["symbol"]], SINCE, UNTIL)
                assert (entry["events"], entry["usd"], entry["qty"]) == (
                    one.total.events, one.total.usd, one.qty)
                assert entry["exchanges"] == sorted(one.exchanges)
        else:
            assert doc["symbol"] == symbol
            check_document(doc, exp, REPORT_SECTIONS[command])
    elif fmt == "ndjson":
        objs = [json.loads(line, parse_float=Decimal) for line in out.splitlines()]
        window = {"since": iso_utc(SINCE), "until": iso_utc(UNTIL)}
        assert objs and all(o["window"] == window for o in objs)
        if command in ("totals", "summary"):
            assert (objs[0]["section"], objs[0]["usd"]) == ("totals", exp.total.usd)
    elif fmt in ("csv", "tsv"):
        rows = list(csv.reader(io.StringIO(out), delimiter="," if fmt == "csv" else "\t"))
        columns = list(SYMBOL_COLUMNS if command == "symbols" else ROW_COLUMNS)
        assert rows[0] == columns
        records = [dict(zip(columns, row, strict=True)) for row in rows[1:]]
        assert all(r["since"] == iso_utc(SINCE) and r["until"] == iso_utc(UNTIL) for r in records)
        if command == "sides":
            got = {r["side"]: (int(r["events"]), Decimal(r["usd"]), Decimal(r["qty"]))
                   for r in records}
            assert got == {s: (a.events, a.usd, a.qty.get("BTC", Decimal(0)))
                           for s, a in exp.sides.items()}
        if command == "matrix":
            assert len(records) == 2 * len(exp.exchanges)
    elif fmt in ("table", "markdown"):
        if command in ("totals", "summary"):
            assert fmt_usd(exp.total.usd) in out
        if command in ("exchanges", "summary", "matrix"):
            assert all(name in out for name in exp.exchanges)


@pytest.mark.parametrize("mode", ["tty", "pipe"])
@pytest.mark.parametrize("fmt", available())
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_in_every_format(
    events: list[Event], command: str, fmt: str, mode: str
) -> None:
    args = [command, "-f", fmt, "--since", iso_utc(SINCE), "--until", str(UNTIL)]
    if mode == "tty":
        args += ["--color", "always"]
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.strip()
    if fmt == "table" and mode == "tty":
        assert ANSI.search(out)
        out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    else:
        assert "\x1b" not in out
    check_output(command, fmt, out, events, "BTCUSDT")
    if fmt != "table":  # only tables depend on the terminal
        assert invoke(*[a for a in args if a not in ("--color", "always")]).stdout == result.stdout


def test_symbol_exchange_and_env_defaults(
    events: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke("sides", "-s", "ethusdt", "-e", "OKX", "-e", "binance", "-f", "json")
    doc = json.loads(result.stdout, parse_float=Decimal)
    assert doc["symbol"] == "ETHUSDT" and doc["exchange_filter"] == ["binance", "okx"]
    check_document(doc, Expected(events, ["ETHUSDT"], exchanges=["okx", "binance"]), ["sides"])
    monkeypatch.setenv("LIQCLI_SYMBOL", "1000PEPEUSDT")
    assert json.loads(invoke("totals", "-f", "json").stdout)["symbol"] == "1000PEPEUSDT"
    monkeypatch.setenv("LIQCLI_SYMBOL", "BTCUSDT ETHUSDT")
    multi = json.loads(invoke("totals", "-f", "json").stdout, parse_float=Decimal)
    assert multi["symbols"] == ["BTCUSDT", "ETHUSDT"] and multi["totals"]["qty"] is None
    exp = Expected(events, ["BTCUSDT", "ETHUSDT"])
    assert multi["totals"]["qty_by_base"] == exp.total.qty
    assert multi["totals"]["usd"] == exp.total.usd


def test_all_symbols(events: list[Event]) -> None:
    out = invoke("exchanges", "--all-symbols", "-f", "json").stdout
    doc = json.loads(out, parse_float=Decimal)
    jsonschema.validate(json.loads(out), schema("exchanges"))
    assert doc["symbols"] == sorted(SYMBOLS) and len(doc["per_symbol"]) == len(SYMBOLS)
    exp = Expected(events, SYMBOLS)
    assert {r["exchange"]: (r["events"], r["usd"]) for r in doc["exchanges"]} == {
        name: (acc.events, acc.usd) for name, acc in exp.exchanges.items()}
    assert all(r["qty"] is None for r in doc["exchanges"])
    assert set(EXCHANGES) == {r["exchange"] for r in doc["exchanges"]}


# ----------------------------------------------------------------- exit codes
@pytest.mark.parametrize("command", COMMANDS)
def test_empty_store_exits_0_with_zeros(redis_url: str, command: str) -> None:
    result = invoke(command, "-f", "json")
    assert result.exit_code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, schema(command))
    if command == "symbols":
        assert doc["symbols"] == []
    else:
        assert doc["first_event"] is None and doc["duration_hours"] is None
    table = invoke(command)
    assert table.exit_code == 0 and table.stdout


@pytest.mark.parametrize("args", [
    ["totals", "--since", "yesterday"],
    ["totals", "--since", "1h", "--until", "2h"],
    ["sides", "-f", "xml"],
    ["summary", "--table-style", "nope"],
    ["matrix", "--color", "sometimes"],
    ["totals", "--bogus"],
])
def test_usage_errors_exit_2(redis_url: str, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == "" and result.stderr


@pytest.mark.parametrize(("args", "named"), [
    (["--since", "99999999999999999999"], "99999999999999999999"),
    (["--since", "1000000000w"], "1000000000w"),
    (["--until", "0001-01-01"], "0001-01-01"),
    (["--since", "1723896"], "1723896"),  # epoch seconds of 1970
    (["-s", ""], "''"),
    (["-s", "btc usdt"], "'btc usdt'"),
    (["-s", "A*"], "'A*'"),
    (["-s", "BTCUSDT", "-s", "ETH USDT"], "'ETH USDT'"),
    (["-e", ""], "''"),
    (["-e", "okx", "-e", "bin/ance"], "'bin/ance'"),
])
def test_bad_times_and_names_exit_2_naming_the_value(args: list[str], named: str) -> None:
    # the store does not exist: the value is refused before any connection
    for command in ("totals", "summary"):
        result = invoke(command, "--redis-url", "redis://127.0.0.1:1/0", *args)
        assert result.exit_code == 2, result.stderr
        assert result.stdout == ""
        line, = result.stderr.splitlines()
        assert line.startswith("liqcli: error:") and named in line


def test_year_and_basic_dates_are_iso(events: list[Event]) -> None:
    since, until = T0 - 12 * HOUR + 24 * HOUR, T0 - 12 * HOUR + 48 * HOUR  # 2024-08-18, -19
    doc = json.loads(invoke("totals", "--since", "20240818", "--until", "20240819", "-f",
                            "json").stdout, parse_float=Decimal)
    assert doc["window"] == {"since": iso_utc(since), "until": iso_utc(until)}
    check_document(doc, Expected(events, ["BTCUSDT"], since, until), ["totals"])
    year = json.loads(invoke("totals", "--since", "2024", "-f", "json").stdout)
    assert year["window"]["since"] == "2024-01-01T00:00:00.000Z"


def test_comma_separated_symbols_in_env_and_options(
    events: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = Expected(events, ["ETHUSDT", "1000PEPEUSDT"], exchanges=["okx", "bybit"])
    monkeypatch.setenv("LIQCLI_SYMBOL", "ETHUSDT,1000pepeusdt")
    for extra in ([], ["-s", "ETHUSDT,1000PEPEUSDT"], ["-s", "ethusdt", "-s", "1000PEPEUSDT"]):
        doc = json.loads(invoke("totals", "-f", "json", "-e", "OKX,bybit", *extra).stdout,
                         parse_float=Decimal)
        assert doc["symbols"] == ["ETHUSDT", "1000PEPEUSDT"], extra
        assert doc["exchange_filter"] == ["bybit", "okx"]
        assert doc["totals"]["events"] == exp.total.events
        assert doc["totals"]["usd"] == exp.total.usd
        assert doc["totals"]["qty_by_base"] == exp.total.qty


def test_unreachable_store_exits_3_without_password(redis_server: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://user:s3cretpw@127.0.0.1:{port}/0"
    for extra in ([], ["--debug"]):
        result = invoke("totals", "--redis-url", url, *extra)
        assert result.exit_code == 3, result.stderr
        assert result.stdout == "" and "s3cretpw" not in result.stderr
        assert result.stderr.startswith("liqcli: error:") or extra


def test_unexpected_error_exits_1_and_debug_shows_traceback_only(
    redis_url: str, redis_client: redis.Redis
) -> None:
    Store(redis_client).ingest(make_events(n=5))
    redis_client.hset("liq:{BTCUSDT}:t", "binance|L|n", "not-a-number")  # another writer's junk
    result = invoke("totals")
    assert result.exit_code == 1
    assert result.stderr.startswith("liqcli: error: unexpected")
    assert "Traceback" not in result.stderr
    debug = invoke("totals", "--debug")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
    assert "locals" not in debug.stderr.lower() and debug.stdout == ""


# -------------------------------------------------------------- real processes
def run_shell(script: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_head_exits_quietly(redis_url: str) -> None:
    symbols = [f"S{i}USDT" for i in range(60)]
    Store(redis.Redis.from_url(redis_url)).ingest(make_events(n=1500, symbols=symbols))
    py = sys.executable
    done = run_shell(
        f"{py} -m liqcli summary --all-symbols -f ndjson | head -1; "
        "echo \"status=${PIPESTATUS[0]}\" >&2", redis_url)
    assert done.stdout.count("\n") == 1 and json.loads(done.stdout)["symbol"] == "S0USDT"
    assert done.stderr.strip() == "status=0", done.stderr
    size = run_shell(f"{py} -m liqcli summary --all-symbols -f ndjson | wc -c", redis_url)
    assert int(size.stdout) > 200_000  # far beyond a pipe buffer: head really closed early


def test_real_terminal_gets_colour_unless_no_color(redis_url: str) -> None:
    import pty

    Store(redis.Redis.from_url(redis_url)).ingest(make_events(n=50))

    def run(extra_env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        env = {**os.environ, "LIQCLI_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT),
               "COLUMNS": "160", "TERM": "xterm-256color", **extra_env}
        proc = subprocess.Popen([sys.executable, "-m", "liqcli", "exchanges"],
                                stdout=follower, stderr=subprocess.PIPE, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(60)
        os.close(leader)
        assert proc.returncode == 0
        return b"".join(chunks).decode()

    coloured = run({})
    assert ANSI.search(coloured) and "█" in coloured
    plain = run({"NO_COLOR": "1"})
    assert not ANSI.search(plain) and "binance" in plain


# ---------------------------------------------------------------------- demo
def test_demo_sample_summary_end_to_end(redis_url: str) -> None:
    """The demo's data (liqcli.feeds.sample) through ingest, the store and `summary`."""
    from liqcli.feeds.sample import generate
    from liqcli.ingest.validate import normalize

    end = T0 + 48 * HOUR
    events = [normalize(r, now_ms=end) for r in generate(3000, 42, end_ms=end,
                                                         symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"))]
    Store(redis.Redis.from_url(redis_url)).ingest(events)
    for symbol in ("BTCUSDT", "SOLUSDT"):
        doc = json.loads(invoke("summary", "-s", symbol, "-f", "json").stdout, parse_float=Decimal)
        check_document(doc, Expected(events, [symbol]), ALL)
    table = invoke("summary").stdout
    exp = Expected(events, ["BTCUSDT"])
    assert fmt_usd(exp.total.usd) in table and f"{exp.total.events:,}" in table
    for name in exp.exchanges:
        assert fmt_usd(exp.exchanges[name].usd) in table


@pytest.mark.parametrize(("fmt", "heavy"), [
    ("json", ("rich", "tabulate")), ("csv", ("rich", "tabulate")),
    ("ndjson", ("rich", "tabulate")), ("table", ("rich",)),
])
def test_reports_import_only_what_they_need(
    redis_url: str, fmt: str, heavy: tuple[str, ...]
) -> None:
    code = (
        "import sys\n"
        "from liqcli.cli.app import run\n"
        "try:\n"
        f"    run(['totals', '-f', {fmt!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(' '.join(m for m in ('rich', 'tabulate') if m in sys.modules))\n"
    )
    env = {**os.environ, "LIQCLI_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True, timeout=60)
    loaded = set(done.stderr.split())
    assert not loaded & set(heavy), loaded
    if fmt == "table":
        assert "tabulate" in loaded  # piped: the plain table path
