"""verify finds every kind of corrupted rollup (and nothing on a sound store), --repair rebuilds
them from the log; prune drops old logs and dedupe data while every figure that can stay exact
does, and refuses window edges inside pruned slots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from test_faults import T0, expected, stored, write_events

from liqcli.errors import PrunedWindow
from liqcli.ingest.pipeline import ingest_paths
from liqcli.store.maintenance import prune_symbol, verify_symbol
from liqcli.store.store import HOUR_MS, SLOT_MS, Store

SPAN = 48 * HOUR_MS
DAY = 86_400_000


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_REDIS_URL": url}
    return subprocess.run([sys.executable, "-m", "liqcli", *args], env=env, text=True,
                          capture_output=True, timeout=120)


@pytest.fixture()
def loaded(redis_url: str, tmp_path: Path) -> tuple[Path, Store]:
    data = tmp_path / "events.jsonl"
    write_events(data, 3_000, seed=3, span_ms=SPAN)
    store = Store(redis.Redis.from_url(redis_url))
    assert ingest_paths(store, [str(data)]).new > 2_500
    return data, store


def some_key(client: Any, pattern: str) -> str:
    return sorted(k.decode() for k in client.scan_iter(match=pattern, count=1000))[0]


CORRUPTIONS = {
    "slot events": lambda c: c.hincrby(some_key(c, "liq:{BTCUSDT}:s:*"), "okx|L|n", 1),
    "hour quantity": lambda c: c.hincrby(some_key(c, "liq:{BTCUSDT}:h:*"), "bybit|S|q2", 7),
    "day rollup deleted": lambda c: c.delete(some_key(c, "liq:{ETHUSDT}:D:*")),
    "all-time usd": lambda c: c.hincrby("liq:{ETHUSDT}:t", "binance|S|ui", -1),
    "first time": lambda c: c.hset("liq:{BTCUSDT}:t", "okx|S|t0", T0 - 1),
    "stray cell": lambda c: c.hset(some_key(c, "liq:{BTCUSDT}:h:*"), "kraken|L|n", 2),
    "slot rollup without log": lambda c: c.hset("liq:{BTCUSDT}:s:9", "okx|L|n", 1),
    "hour index": lambda c: c.zrem("liq:{BTCUSDT}:hrs", c.zrange("liq:{BTCUSDT}:hrs", 0, 0)[0]),
}


def test_a_sound_store_verifies(loaded: tuple[Path, Store], redis_url: str) -> None:
    _data, store = loaded
    results = [verify_symbol(store, s) for s in store.symbols()]
    assert sum(r.events for r in results) > 2_500
    assert all(not r.differences for r in results)
    done = run("verify", url=redis_url)
    assert done.returncode == 0 and done.stdout == ""
    assert "every rollup agrees" in done.stderr


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_verify_finds_each_corruption_and_repair_rebuilds(
    loaded: tuple[Path, Store], redis_url: str, corruption: str
) -> None:
    data, store = loaded
    CORRUPTIONS[corruption](store.client)
    found = [d for s in store.symbols() for d in verify_symbol(store, s).differences]
    assert found and all(d.stored != d.recomputed for d in found)
    assert sum(verify_symbol(store, s, repair=True).repaired for s in store.symbols()) >= 1
    assert not [d for s in store.symbols() for d in verify_symbol(store, s).differences]
    assert stored(redis_url) == expected(data)  # exact again, from the log


def test_verify_command_lines_exit_status_and_repair(
    loaded: tuple[Path, Store], redis_url: str
) -> None:
    data, store = loaded
    CORRUPTIONS["stray cell"](store.client)
    CORRUPTIONS["all-time usd"](store.client)
    done = run("verify", url=redis_url)
    assert done.returncode == 1, done.stderr
    assert "DIFFERENCES FOUND" in done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2  # the hour's stray cell (n), the all-time usd
    for line in lines:
        key, _cell, figure, was, now = line.split("\t")
        assert key.startswith("liq:{") and was.startswith("stored=") and now.startswith(
            "recomputed=") and was[7:] != now[11:], line
        assert figure in {"n", "qty", "usd", "first", "last", "member"}
    repaired = run("verify", "--repair", url=redis_url)
    assert repaired.returncode == 0, repaired.stderr
    assert run("verify", url=redis_url).returncode == 0
    assert stored(redis_url) == expected(data)


def test_verify_json_matches_its_schema(loaded: tuple[Path, Store], redis_url: str) -> None:
    import jsonschema

    schemas = Path(__file__).resolve().parent.parent / "liqcli" / "schemas"

    CORRUPTIONS["slot events"](loaded[1].client)
    document = json.loads(run("verify", "--json", "-s", "btcusdt", url=redis_url).stdout)
    jsonschema.validate(document, json.loads((schemas / "verify.json").read_text()))
    assert [s["symbol"] for s in document["symbols"]] == ["BTCUSDT"]
    assert document["symbols"][0]["differences"][0]["figure"] == "n"


def test_a_lost_fingerprint_is_reported(loaded: tuple[Path, Store], redis_url: str) -> None:
    client = loaded[1].client
    key = some_key(client, "liq:{BTCUSDT}:d:*")
    client.set(key, client.get(key)[12:])
    done = run("verify", "-s", "BTCUSDT", url=redis_url)
    assert done.returncode == 1 and "fingerprints" in done.stdout


def test_usage_errors_before_connecting() -> None:
    done = run("verify", "-s", "BTC*", url="redis://127.0.0.1:1/0")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    done = run("prune", "--keep-log", "soon", url="redis://127.0.0.1:1/0")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    done = run("verify", url="redis://127.0.0.1:1/0")
    assert done.returncode == 3 and done.stderr.count("\n") == 1


# ----------------------------------------------------------------------------- prune
def memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def test_prune_dry_run_changes_nothing_and_yes_keeps_every_rollup(
    loaded: tuple[Path, Store], redis_url: str
) -> None:
    data, store = loaded
    client = store.client
    cut = T0 + 30 * HOUR_MS  # keep the log of the last 18 hours
    keys_before = sorted(client.scan_iter(count=1000))
    dry = run("prune", "--keep-log", str(cut), "--json", url=redis_url)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] and plan["events"] > 1_000 and plan["bytes"] > 0
    assert sorted(client.scan_iter(count=1000)) == keys_before
    before = memory(client)
    done = run("prune", "--keep-log", str(cut), "--yes", url=redis_url)
    assert done.returncode == 0, done.stderr
    assert "pruned the log of" in done.stderr
    assert before - memory(client) > plan["bytes"] // 2
    # every all-time figure and every whole-slot window is exactly what the raw input says
    assert stored(redis_url) == expected(data)
    assert run("verify", url=redis_url).returncode == 0
    for symbol in ("BTCUSDT", "ETHUSDT"):
        result = verify_symbol(store, symbol)
        assert result.pruned_slots > 0 and not result.differences
        assert not list(store.events(symbol, None, cut))  # the log before the cut is gone
        assert list(store.events(symbol, cut, None))
    window = store.rollup("BTCUSDT", T0 + 2 * HOUR_MS + 2 * SLOT_MS, T0 + 40 * HOUR_MS)
    assert sum(c.events for c in window.cells.values()) == sum(
        1 for line in data.read_text().splitlines()
        if (e := json.loads(line))["symbol"] == "BTCUSDT"
        and T0 + 2 * HOUR_MS + 2 * SLOT_MS <= e["ts"] < T0 + 40 * HOUR_MS
    ) - duplicates_in(data, "BTCUSDT", T0 + 2 * HOUR_MS + 2 * SLOT_MS, T0 + 40 * HOUR_MS)
    # an edge inside a pruned slot: refused, naming the slot's ends
    with pytest.raises(PrunedWindow, match="nearest exact boundaries"):
        store.rollup("BTCUSDT", T0 + 2 * HOUR_MS + 5, None)
    edge = run("totals", "-s", "BTCUSDT", "--since", str(T0 + 2 * HOUR_MS + 5), url=redis_url)
    assert edge.returncode == 2 and "2026-01-01T02:00:00.000Z and 2026-01-01T02:10:00.000Z" \
        in edge.stderr
    # edges inside kept hours stay exact to the millisecond
    assert store.rollup("BTCUSDT", cut + 12_345, None).cells


def duplicates_in(data: Path, symbol: str, since: int, until: int) -> int:
    """Lines of ``symbol`` in the window that repeat an earlier line (counted once)."""
    seen: set[str] = set()
    repeats = 0
    for line in data.read_text().splitlines():
        e = json.loads(line)
        if e["symbol"] == symbol and since <= e["ts"] < until:
            repeats += line in seen
            seen.add(line)
    return repeats


def test_prune_removes_dedupe_data_so_replays_count_again(
    loaded: tuple[Path, Store], redis_url: str
) -> None:
    data, store = loaded
    fingerprints = sum(store.client.strlen(k) for k in store.client.scan_iter(
        match="liq:{BTCUSDT}:d:*", count=1000))
    result = prune_symbol(store, "BTCUSDT", T0 + SPAN + DAY, apply=True)  # everything
    assert result.events == fingerprints // 12
    assert not list(store.client.scan_iter(match="liq:{BTCUSDT}:d:*", count=1000))
    assert not list(store.client.scan_iter(match="liq:{BTCUSDT}:l:*", count=1000))
    figures = stored(redis_url)
    assert figures == expected(data)
    again = run("ingest", str(data), url=redis_url)  # documented: a replay counts again
    assert again.returncode == 0
    twice = stored(redis_url)["BTCUSDT"]
    assert {k: v[0] for k, v in twice.items()} == {
        k: 2 * v[0] for k, v in figures["BTCUSDT"].items()}
    assert stored(redis_url)["ETHUSDT"] == figures["ETHUSDT"]  # not pruned: duplicates


def test_prune_is_idempotent_and_verify_checks_pruned_levels(
    loaded: tuple[Path, Store], redis_url: str
) -> None:
    _data, store = loaded
    first = prune_symbol(store, "ETHUSDT", T0 + 24 * HOUR_MS, apply=True)
    assert first.hours > 0 and first.pruned_before_ms == T0 + 24 * HOUR_MS
    again = prune_symbol(store, "ETHUSDT", T0 + 24 * HOUR_MS, apply=True)
    assert again.hours == 0 and again.events == 0
    # a pruned slot's rollup is the only record left: the levels above must still add up
    key = some_key(store.client, "liq:{ETHUSDT}:h:*")
    store.client.hincrby(key, "okx|S|n", 3)
    result = verify_symbol(store, "ETHUSDT")
    assert [(d.key, d.figure) for d in result.differences] == [(key, "n")]
    assert verify_symbol(store, "ETHUSDT", repair=True).repaired == 1
    assert not verify_symbol(store, "ETHUSDT").differences
