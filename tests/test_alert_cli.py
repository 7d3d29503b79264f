"""``liqcli alert`` / ``check`` as real processes on a real redis-server: live and replay fire
the same alerts for the same events; check's exit status; --exec with a real subprocess."""

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
import redis
from event_factory import random_events
from live_proc import ROOT, LiveProc

from liqcli.formatters._events import alert_json
from liqcli.model import Event
from liqcli.report.alerts import AlertEngine, parse_rules_toml
from liqcli.store.store import Store

SCHEMA = json.loads((ROOT / "liqcli" / "schemas" / "alert.json").read_text())
RULES = """
cooldown = "20s"

[[rule]]
name = "big"
kind = "single"
usd = 80_000

[[rule]]
name = "flush"
kind = "sum"
usd = 250_000
window = "1m"
per = "side"

[[rule]]
name = "cascade"
kind = "cascade"
count = 4
window = "20s"
cooldown = "0s"

[[rule]]
name = "spike"
kind = "spike"
factor = 3
baseline = "10m"
min_usd = 100_000
"""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def run(*args: str, url: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "liqcli", *args], env=env, text=True,
                          capture_output=True, timeout=timeout)


def history(now: int) -> list[Event]:
    """Two symbols over 40 minutes, in time order."""
    events = random_events(7, 300, newest=now - 60_000, span_ms=40 * 60_000) + random_events(
        8, 200, newest=now - 60_000, span_ms=40 * 60_000, symbol="ETHUSDT")
    return sorted(events, key=lambda e: (e.ts_ms, e.symbol, e.id))


def expected_lines(rules_text: str, events: list[Event]) -> list[str]:
    engine = AlertEngine(parse_rules_toml(rules_text))
    return [alert_json(f) for e in events for f in engine.feed(e)]


def test_live_and_replay_fire_the_same_alerts(redis_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    now = now_ms()
    events = history(now)
    expected = expected_lines(RULES, events)
    assert len(expected) > 20  # the sample exercises the rules
    assert {json.loads(x)["kind"] for x in expected} == {"single", "sum", "cascade", "spike"}
    since = str(events[0].ts_ms)
    live = LiveProc("alert", "-s", "BTCUSDT,ETHUSDT", "--rules", str(rules), "--since", since,
                    "--count", str(len(expected)), url=redis_url)
    try:
        store = Store(redis.Redis.from_url(redis_url))
        time.sleep(1.0)  # most batches arrive while the alert follows, some may be replayed
        for start in range(0, len(events), 25):  # a collector's batches, in time order
            store.ingest_batch(events[start : start + 25])
        got = live.lines(len(expected), timeout=120)
        assert live.proc.wait(60) == 0
    finally:
        live.close()
    # per symbol the same firings in the same order (each symbol's windows are its own);
    # across symbols a live run prints in arrival order
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert [x for x in got if doc(x)["symbol"] == symbol] == [
            x for x in expected if doc(x)["symbol"] == symbol]
    assert sorted(got) == sorted(expected)
    for line in got:
        jsonschema.validate(json.loads(line), SCHEMA)

    replay = run("alert", "-s", "BTCUSDT,ETHUSDT", "--rules", str(rules), "--since", since,
                 "--until", str(now), "--replay", url=redis_url)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.splitlines() == expected

    # a later window: the replay warms its windows up on the history before --since, so it
    # prints exactly the live firings from then on
    middle = events[len(events) // 2].ts_ms
    later = run("alert", "-s", "BTCUSDT,ETHUSDT", "--rules", str(rules), "--since",
                str(middle), "--until", str(now), "--replay", url=redis_url)
    tail = [x for x in expected if json.loads(x)["trigger"]["ts_ms"] >= middle]
    assert later.stdout.splitlines() == tail


def test_figures_are_exact(redis_url: str) -> None:
    now = now_ms()
    store = Store(redis.Redis.from_url(redis_url))
    amounts = ["0.000000000000000001", "99999.999999999999999999", "0.1", "0.2"]
    events = [Event("okx", "BTCUSDT", "SHORT", Decimal(1), Decimal(a), Decimal(a), now - 5000 + i)
              for i, a in enumerate(amounts)]
    store.ingest_batch(events)
    done = run("check", "--sum", "100000.3/1m", "--since", "1m", url=redis_url)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout, parse_float=Decimal)
    assert doc["usd"] == sum(Decimal(a) for a in amounts) == Decimal("100000.300000000000000000")
    assert doc["events"] == 4 and doc["first_ms"] == now - 5000 and doc["last_ms"] == now - 4997


def test_check_exit_status(redis_url: str, tmp_path: Path) -> None:
    now = now_ms()
    Store(redis.Redis.from_url(redis_url)).ingest_batch(history(now))
    quiet = run("check", "--all-symbols", "--single", "1e9", "--since", "2h", url=redis_url)
    assert (quiet.returncode, quiet.stdout) == (0, "")
    loud = run("check", "--all-symbols", "--single", "80000", "--since", "2h", url=redis_url)
    assert loud.returncode == 1 and loud.stdout.count("\n") >= 1
    assert {json.loads(x)["rule"] for x in loud.stdout.splitlines()} == {"single:80000"}
    assert run("check", "--single", "1", url=redis_url).returncode == 2  # no --since
    assert run("check", "--since", "1h", url=redis_url).returncode == 2  # no rule
    assert run("check", "--sum", "5/nope", "--since", "1h", url=redis_url).returncode == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nkind = "single"\n')
    assert run("check", "--rules", str(bad), "--since", "1h", url=redis_url).returncode == 2
    assert run("check", "--single", "1", "--since", "1h", "--redis-url",
               "redis://127.0.0.1:1/0", url=redis_url).returncode == 3
    assert run("alert", "--single", "1", "--until", "1h", url=redis_url).returncode == 2
    assert run("alert", "--single", "1", "--replay", url=redis_url).returncode == 2


def test_exec_gets_each_alert_and_failures_are_not_fatal(redis_url: str, tmp_path: Path) -> None:
    now = now_ms()
    events = history(now)
    Store(redis.Redis.from_url(redis_url)).ingest_batch(events)
    sink = tmp_path / "got.ndjson"
    script = f"cat >> {sink}; echo \"$LIQCLI_ALERT_RULE\"; exit 3"
    done = run("alert", "--all-symbols", "--single", "80000", "--since", "2h", "--until",
               "now", "--replay", "--exec", script, url=redis_url)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines and sink.read_text().splitlines() == lines  # in order, one per firing
    assert done.stderr.count("--exec exited with status 3") == len(lines)
    assert done.stderr.count("single:80000\n") == len(lines)  # CMD's stdout → our stderr
    slow = run("alert", "--single", "80000", "--since", "2h", "--until", "now", "--replay",
               "--count", "1", "--exec", "sleep 5", "--exec-timeout", "0.5", url=redis_url)
    assert slow.returncode == 0 and "--exec timed out" in slow.stderr


def doc(line: str) -> dict[str, Any]:
    return json.loads(line)  # type: ignore[no-any-return]
