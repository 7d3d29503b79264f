"""What a newcomer's trial broke (issue #10), end to end through the CLI on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.cli.encoding import ascii_fallback
from liqcli.model import Event
from liqcli.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3_600_000


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def schema(command: str) -> dict[str, Any]:
    return json.loads((ROOT / "liqcli" / "schemas" / f"{command}.json").read_text())  # type: ignore[no-any-return]


def store_events(redis_url: str, *events: Event) -> None:
    Store(redis.Redis.from_url(redis_url)).ingest(list(events))


def event(ts: int, usd: str = "30000", symbol: str = "BTCUSDT", exchange: str = "bybit") -> Event:
    return Event(exchange, symbol, "LONG", Decimal("60000"), Decimal("0.5"), Decimal(usd), ts)


# --- 2. events per hour ------------------------------------------------------------------------

def test_two_events_a_second_apart_are_not_7200_an_hour(redis_url: str) -> None:
    now = int(time.time() * 1000)
    store_events(redis_url, event(now - 61_000), event(now - 60_000))
    text = run("totals", "--since", "24h", "--color", "never").stdout
    assert "7,200" not in text
    assert "Events / hour (over 24.00 h)" in text
    doc = json.loads(run("totals", "--since", "24h", "-f", "json").stdout, parse_float=Decimal)
    assert doc["totals"]["rate_hours"] == 24
    assert doc["totals"]["events_per_hour"] == Decimal("0.08333333")
    all_time = json.loads(run("totals", "-f", "json").stdout, parse_float=Decimal)["totals"]
    assert (all_time["events_per_hour"], all_time["rate_hours"]) == (2, 1)


# --- 7. a stdout that is not UTF-8 -------------------------------------------------------------

ALL_KINDS = (["summary", "-s", "BTCUSDT", "--color", "never"], ["symbols"], ["matrix", "--help"])


@pytest.mark.parametrize(("env", "commands"), [
    ({"PYTHONIOENCODING": "cp1252"}, ALL_KINDS),
    ({"PYTHONIOENCODING": "ascii"}, ALL_KINDS[1:2]),
    ({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}, ALL_KINDS[:1]),
])
def test_a_non_utf8_stdout_gets_ascii_glyphs_never_a_traceback(
    redis_url: str, env: dict[str, str], commands: tuple[list[str], ...]
) -> None:
    """Issue #10.7: `PYTHONIOENCODING=cp1252 liqcli totals` exited 1 on → · ×; LANG=C too."""
    store_events(redis_url, event(1_723_895_903_305),
                 event(1_723_895_913_305, symbol="币安人生USDT"))
    for args in commands:
        proc = subprocess.run(
            [sys.executable, "-m", "liqcli", *args],
            env={**os.environ, "LIQCLI_REDIS_URL": redis_url, "COLUMNS": "100", **env},
            capture_output=True, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        assert b"Traceback" not in proc.stderr and b"UnicodeEncodeError" not in proc.stderr
        out = proc.stdout.decode("cp1252" if "cp1252" in env.values() else "ascii")
        if args[0] == "summary":
            assert "->" in out  # the covered-time arrow, in ASCII
        if args[0] == "symbols":
            assert "\\u5e01\\u5b89\\u4eba\\u751fUSDT" in out  # escaped, never lost


def test_fallback_glyphs() -> None:
    assert ascii_fallback("a → b · c × d … █░", "ascii") == "a -> b | c x d ... #."
    assert ascii_fallback("a → b · c", "cp1252") == "a -> b · c"  # cp1252 has "·"
    assert ascii_fallback("币", "ascii") == "\\u5e01"


# --- 10. exact amounts as strings --------------------------------------------------------------

def test_string_amounts_keep_every_digit_for_double_parsers(redis_url: str) -> None:
    """jq 1.6 and JavaScript read 1.000000000000000001 as 1: --string-amounts writes strings."""
    store_events(redis_url, Event("bybit", "BTCUSDT", "LONG", Decimal("1.000000000000000001"),
                                  Decimal("1"), Decimal("1.000000000000000001"), 1_723_895_903_305))
    for command in ("totals", "summary", "exchanges", "symbols"):
        out = run(command, "-f", "json", "--string-amounts").stdout
        doc = json.loads(out)  # plain float parsing, as a double-based consumer
        jsonschema.validate(doc, schema(command))
        entry = doc["symbols"][0] if command == "symbols" else doc
        if command in ("totals", "summary", "symbols"):
            usd = entry["usd"] if command == "symbols" else entry["totals"]["usd"]
            assert usd == "1.000000000000000001"
            events = entry["events"] if command == "symbols" else entry["totals"]["events"]
            assert events == 1  # counts stay integers
    plain = json.loads(run("totals", "-f", "json").stdout)
    assert plain["totals"]["usd"] == 1.0  # what a double parser makes of the number form
    line = run("exchanges", "-f", "ndjson", "--string-amounts").stdout.splitlines()[0]
    assert json.loads(line)["usd"] == "1.000000000000000001"
    assert json.loads(line)["events_pct"] == "100"
    # the time-dimension commands and --windows take it too, and stay valid
    for args, name in ((("history", "--since", "2024-08-17", "--until", "2024-08-18"), "history"),
                       (("top",), "top"), (("levels",), "levels"),
                       (("totals", "--windows", "1h,24h", "--until", "2024-08-18"), "totals")):
        doc = json.loads(run(*args, "-f", "json", "--string-amounts").stdout)
        jsonschema.validate(doc, schema(name))
        assert "1.000000000000000001" in json.dumps(doc)


# --- 9. a slow pipe ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["jsonl", "binance"])
def test_piped_auto_ingest_stores_each_event_within_a_second(
    redis_url: str, redis_client: redis.Redis, kind: str
) -> None:
    """Issue #10.9: `collector | liqcli ingest -` stored nothing until 20 lines had arrived."""
    now = int(time.time() * 1000)

    def line(i: int) -> bytes:
        if kind == "jsonl":
            obj: dict[str, Any] = {"exchange": "binance", "symbol": "BTCUSDT", "side": "LONG",
                                   "price": "65012.5", "qty": "0.125", "ts": now + i}
        else:
            obj = {"e": "forceOrder", "E": now + i, "o": {
                "s": "BTCUSDT", "S": "SELL", "q": "0.1", "p": "60000", "ap": "60000",
                "X": "FILLED", "z": "0.1", "T": now + i}}
        return (json.dumps(obj) + "\n").encode()

    proc = subprocess.Popen([sys.executable, "-m", "liqcli", "ingest", "-"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "LIQCLI_REDIS_URL": redis_url})
    assert proc.stdin is not None
    try:
        if kind == "binance":  # an ack first, as a recording of the live feed has
            proc.stdin.write(b'{"result": null, "id": 1}\n')
        for i in range(3):
            proc.stdin.write(line(i))
            proc.stdin.flush()
            written = time.monotonic()
            limit = 20 if i == 0 else 1.0  # the first waits for the interpreter to start
            while not _stored(redis_client, i + 1):
                assert time.monotonic() - written < limit, f"event {i} not stored in time"
                time.sleep(0.02)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def _stored(client: redis.Redis, count: int) -> bool:
    cells = Store(client).rollup("BTCUSDT").cells.values()
    return sum(cell.events for cell in cells) >= count


# --- 3. typos are not quiet markets ------------------------------------------------------------

def test_names_the_store_never_saw_get_a_did_you_mean_note(redis_url: str) -> None:
    store_events(redis_url, event(1_723_895_903_305, symbol="ETHUSDT"),
                 event(1_723_895_913_305, symbol="BTCUSDT", exchange="binance"))
    plain = run("totals", "-s", "XRPUSDT", "-f", "json")
    typo = run("totals", "-s", "ETHUSTD", "-f", "json")
    assert typo.exit_code == 0 and json.loads(typo.stdout)["totals"]["events"] == 0
    assert json.loads(plain.stdout)["symbol"] == "XRPUSDT"  # stdout: the report, no note
    assert "liqcli: note: symbol ETHUSTD has no events in the store (did you mean ETHUSDT?)" \
        in typo.stderr
    assert "known: BTCUSDT, ETHUSDT" in plain.stderr
    kraken = run("sides", "-s", "ETHUSDT", "-e", "kraken", "-e", "byibt")
    assert kraken.exit_code == 0
    assert "exchange kraken has no events for ETHUSDT (known: bybit)" in kraken.stderr
    assert "exchange byibt has no events for ETHUSDT (did you mean bybit?)" in kraken.stderr
    assert "note" not in kraken.stdout
    # a known exchange with nothing in the window, or a known symbol: no note
    quiet = run("totals", "-s", "ETHUSDT", "-e", "bybit", "--since", "2020-01-01",
                "--until", "2020-01-02")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert run("totals", "-s", "BTCUSDT", "-e", "binance").stderr == ""
    assert run("totals", "--all-symbols", "-e", "binance").stderr == ""


def test_symbols_ignores_liqcli_symbol(redis_url: str) -> None:
    """Issue #10.3: `LIQCLI_SYMBOL=ETHUSDT liqcli symbols` hid every other symbol."""
    store_events(redis_url, event(1_723_895_903_305, symbol="ETHUSDT"),
                 event(1_723_895_913_305, symbol="BTCUSDT"))
    listed = json.loads(run("symbols", "-f", "json", env={"LIQCLI_SYMBOL": "ETHUSDT"}).stdout)
    assert [entry["symbol"] for entry in listed["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    asked = json.loads(run("symbols", "-s", "ETHUSDT", "-f", "json").stdout)
    assert [entry["symbol"] for entry in asked["symbols"]] == ["ETHUSDT"]
    env_report = json.loads(run("totals", "-f", "json", env={"LIQCLI_SYMBOL": "ETHUSDT"}).stdout)
    assert env_report["symbol"] == "ETHUSDT"  # a default for the other reports still
