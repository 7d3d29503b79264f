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
from liqcli.store.maintenance import _from_hash, _to_hash, prune_symbol, verify_symbol
from liqcli.store.store import HOUR_MS, SLOT_MS, Store, _period_start

SPAN = 48 * HOUR_MS
DAY = 86_400_000


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_REDIS_URL": url}
    return subprocess.run([sys.executable, "-m", "liqcli", *args], env=env, text=True,
                          capture_output=True, timeout=120)


@pytest.fixture()
def loaded(redis_url: str, tmp_path: Path) -> tuple[Path, Store]:
    """3,000 events over two days, stored with small log caps and dedupe buckets, so that
    every kind of key exists: day, hour, slot and minute logs and rollups, all four dedupe
    tiers."""
    data = tmp_path / "events.jsonl"
    write_events(data, 3_000, seed=3, span_ms=SPAN)
    store = Store(redis.Redis.from_url(redis_url))
    store.log_caps, store.dedupe_cap = (400, 400, 60), 24
    assert ingest_paths(store, [str(data)]).new > 2_500
    for kind in ("ld", "lh", "ls", "lm", "D", "h", "s", "m", "d1", "d3"):
        assert some_key(store.client, f"liq:{{BTCUSDT}}:{kind}:*")
    return data, store


def some_key(client: Any, pattern: str) -> str:
    return sorted(k.decode() for k in client.scan_iter(match=pattern, count=1000))[0]


def bump(client: Any, key: str, index: int, delta: int, value: int | None = None) -> None:
    """Change figure ``index`` (0 n, 1 qty and 2 usd in 1e-18 units, 3 first and 4 last epoch
    ms) of the first cell of a rollup hash (the cumulative one or a period's: schema 5)."""
    start = None if key.endswith(":t") else _period_start(key)
    cell, raw = sorted(client.hgetall(key).items())[0]
    cells = _from_hash({cell: raw}, start)
    figures = cells[cell.decode()]
    figures[index] = figures[index] + delta if value is None else value
    client.hset(key, mapping=_to_hash(cells, start))


CORRUPTIONS = {
    "slot events": lambda c: bump(c, some_key(c, "liq:{BTCUSDT}:s:*"), 0, 1),
    "minute usd": lambda c: bump(c, some_key(c, "liq:{BTCUSDT}:m:*"), 2, 1),
    "minute last time": lambda c: bump(c, some_key(c, "liq:{ETHUSDT}:m:*"), 4, 1),
    "minute rollup without log": lambda c: c.hset("liq:{BTCUSDT}:m:7", "okx|L", "1 0 0 1 1"),
    "minute index": lambda c: c.zrem("liq:{BTCUSDT}:mns", c.zrange("liq:{BTCUSDT}:mns", 0, 0)[0]),
    "hour quantity": lambda c: bump(c, some_key(c, "liq:{BTCUSDT}:h:*"), 1, 7),
    "day rollup deleted": lambda c: c.delete(some_key(c, "liq:{ETHUSDT}:D:*")),
    "all-time usd": lambda c: bump(c, "liq:{ETHUSDT}:t", 2, -10**18),
    "first time": lambda c: bump(c, "liq:{BTCUSDT}:t", 3, 0, value=T0 - 1),
    "day first time": lambda c: bump(c, some_key(c, "liq:{BTCUSDT}:D:*"), 3, -1),
    "stray cell": lambda c: c.hset(some_key(c, "liq:{BTCUSDT}:h:*"), "kraken|L", "2 0.5 7 0 0"),
    "slot rollup without log": lambda c: c.hset("liq:{BTCUSDT}:s:9", "okx|L", "1 0 0 1 1"),
    "hour index": lambda c: c.zrem("liq:{BTCUSDT}:hrs", c.zrange("liq:{BTCUSDT}:hrs", 0, 0)[0]),
    "day index": lambda c: c.zrem("liq:{ETHUSDT}:days", c.zrange("liq:{ETHUSDT}:days", -1, -1)[0]),
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
    assert len(lines) == 5 + 1  # the hour's stray cell (its five figures), the all-time usd
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


def test_a_lost_fingerprint_or_log_line_is_reported(
    loaded: tuple[Path, Store], redis_url: str
) -> None:
    client = loaded[1].client
    key = some_key(client, "liq:{BTCUSDT}:d3:*")
    blob = client.get(key)
    cut = next(i for i in range(0, len(blob), 12) if blob[i:i + 12] != b"\0" * 12)
    client.set(key, blob[:cut] + blob[cut + 12:])
    done = run("verify", "-s", "BTCUSDT", url=redis_url)
    assert done.returncode == 1 and "fingerprints" in done.stdout
    log = some_key(client, "liq:{ETHUSDT}:lh:*")
    client.set(log, client.get(log).split(b"\n", 1)[1])  # an event vanished from the log
    found = verify_symbol(loaded[1], "ETHUSDT").differences
    assert {d.key for d in found} >= {log.replace("lh:", "h:"), "liq:{ETHUSDT}:t"}


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
    loaded: tuple[Path, Store], redis_url: str, tmp_path: Path
) -> None:
    data, store = loaded
    client = store.client
    cut = T0 + DAY + 5 * HOUR_MS  # rounded down to T0 + DAY: the first day's log goes
    keys_before = sorted(client.scan_iter(count=1000))
    assert client.zrangebyscore("liq:{BTCUSDT}:mns", "-inf", (T0 + DAY) // 60_000 - 1)
    dry = run("prune", "--keep-log", str(cut), "--json", url=redis_url)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] and plan["events"] > 1_000 and plan["bytes"] > 0
    assert plan["keep_log_from_ms"] == T0 + DAY
    assert sorted(client.scan_iter(count=1000)) == keys_before
    before = memory(client)
    done = run("prune", "--keep-log", str(cut), "--yes", url=redis_url)
    assert done.returncode == 0, done.stderr
    assert "pruned the log of" in done.stderr
    assert before - memory(client) > plan["bytes"] // 2
    # the pruned day's minute logs, minute rollups and minute index members went too
    cut_minute = (T0 + DAY) // 60_000
    for symbol in ("BTCUSDT", "ETHUSDT"):
        minute_keys = [int(k.rsplit(b":", 1)[1]) for pattern in ("m", "lm")
                       for k in client.scan_iter(match=f"liq:{{{symbol}}}:{pattern}:*")]
        assert minute_keys and min(minute_keys) >= cut_minute
        assert not client.zrangebyscore(f"liq:{{{symbol}}}:mns", "-inf", cut_minute - 1)
        assert client.zrangebyscore(f"liq:{{{symbol}}}:mns", cut_minute, "+inf")
    # every all-time figure is exactly what the raw input says
    assert stored(redis_url) == expected(data)
    assert run("verify", url=redis_url).returncode == 0
    for symbol in ("BTCUSDT", "ETHUSDT"):
        result = verify_symbol(store, symbol)
        assert result.pruned_days == 1 and not result.differences
        assert not list(store.events(symbol, None, T0 + DAY))  # the log before the cut is gone
        assert list(store.events(symbol, T0 + DAY, None))
    # a window from a pruned day's boundary to any millisecond after the cut: exact
    since, until = T0, T0 + DAY + 3 * HOUR_MS + 2 * SLOT_MS + 17
    inside = tmp_path / "inside.jsonl"
    inside.write_text("".join(line + "\n" for line in data.read_text().splitlines()
                              if since <= json.loads(line)["ts"] < until))
    window = store.rollup("BTCUSDT", since, until)
    assert {k: (c.events, c.qty, c.usd) for k, c in window.cells.items()} == expected(
        inside)["BTCUSDT"]
    # an edge inside a pruned day: refused, naming the day's ends
    with pytest.raises(PrunedWindow, match="nearest exact boundaries"):
        store.rollup("BTCUSDT", T0 + 2 * HOUR_MS + 5, None)
    edge = run("totals", "-s", "BTCUSDT", "--since", str(T0 + 2 * HOUR_MS + 5), url=redis_url)
    assert edge.returncode == 2 and edge.stderr.count("\n") == 1
    assert "2026-01-01T00:00:00.000Z and 2026-01-02T00:00:00.000Z" in edge.stderr


def test_prune_removes_dedupe_data_so_replays_count_again(
    loaded: tuple[Path, Store], redis_url: str
) -> None:
    data, store = loaded
    result = prune_symbol(store, "BTCUSDT", T0 + SPAN + DAY, apply=True)  # everything
    assert result.days == len({json.loads(x)["ts"] // DAY for x in data.read_text().splitlines()
                               if json.loads(x)["symbol"] == "BTCUSDT"})
    assert result.events == sum(c[0] for c in expected(data)["BTCUSDT"].values())
    for key in store.client.scan_iter(match="liq:{BTCUSDT}:d*", count=1000):
        if key.endswith(b":days"):
            continue
        blob = store.client.get(key)  # overflow marks may stay, fingerprints may not
        assert blob == b"\0" * len(blob), key
    assert not list(store.client.scan_iter(match="liq:{BTCUSDT}:l*", count=1000))
    assert not verify_symbol(store, "BTCUSDT").differences
    figures = stored(redis_url)
    assert figures == expected(data)
    again = run("ingest", str(data), url=redis_url)  # documented: a replay counts again
    assert again.returncode == 0
    twice = stored(redis_url)["BTCUSDT"]
    assert {k: v[0] for k, v in twice.items()} == {
        k: 2 * v[0] for k, v in figures["BTCUSDT"].items()}
    assert stored(redis_url)["ETHUSDT"] == figures["ETHUSDT"]  # not pruned: duplicates
    assert not verify_symbol(store, "BTCUSDT").differences  # the replayed logs are counted


def test_prune_is_idempotent_and_verify_checks_what_is_left(
    loaded: tuple[Path, Store], redis_url: str
) -> None:
    data, store = loaded
    first = prune_symbol(store, "ETHUSDT", T0 + DAY, apply=True)
    assert first.days == 1 and first.pruned_before_ms == T0 + DAY
    again = prune_symbol(store, "ETHUSDT", T0 + DAY, apply=True)
    assert again.days == 0 and again.events == 0
    bump(store.client, "liq:{ETHUSDT}:t", 0, 3)
    result = verify_symbol(store, "ETHUSDT")
    assert [(d.key, d.figure) for d in result.differences] == [("liq:{ETHUSDT}:t", "n")]
    assert verify_symbol(store, "ETHUSDT", repair=True).repaired == 1
    assert not verify_symbol(store, "ETHUSDT").differences
    assert stored(redis_url) == expected(data)


def test_prune_keeps_top_and_levels_of_pruned_days_and_refuses_their_log_reads(
    redis_client: redis.Redis,
) -> None:
    import random
    from decimal import Decimal

    from liqcli.model import Event
    from liqcli.store.pricebands import events_buckets

    redis_client.flushall()
    store = Store(redis_client)
    rng = random.Random(12)
    events = []
    for i in range(600):
        price = Decimal(rng.randint(90_000, 99_000))
        qty = Decimal(rng.randint(1, 9_999)) / 1000
        events.append(Event(
            exchange=rng.choice(("binance", "bybit")), symbol="BTCUSDT",
            side=rng.choice(("LONG", "SHORT")), price=price, qty=qty, usd=price * qty,
            ts_ms=T0 + rng.randrange(2 * DAY), id=f"i{i}"))
    store.ingest(events)

    def top(since: int | None, until: int | None) -> list[tuple[Any, ...]]:
        return sorted((e.ts_ms, e.exchange, e.id) for e in
                      store.top_events("BTCUSDT", since, until, 5, "usd"))

    windows = [(None, None), (T0, T0 + DAY), (T0, T0 + 2 * DAY)]
    before = {w: (top(*w), store.price_buckets("BTCUSDT", *w)[0]) for w in windows}
    prune_symbol(store, "BTCUSDT", T0 + DAY, apply=True)
    assert not list(store.events("BTCUSDT", None, T0 + DAY))
    for w in windows:  # whole days, pruned or not: the same exact answers
        assert (top(*w), store.price_buckets("BTCUSDT", *w)[0]) == before[w]
    inside = [e for e in events if T0 <= e.ts_ms < T0 + DAY]
    assert before[windows[1]][0] == sorted(
        (e.ts_ms, e.exchange, e.id) for e in sorted(inside, key=lambda e: -e.usd)[:5])
    assert before[windows[1]][1] == events_buckets(inside)[0]
    # what needs the pruned log is refused, never answered short
    for read in (lambda: store.top_events("BTCUSDT", T0 + HOUR_MS, None, 5, "usd"),
                 lambda: store.price_buckets("BTCUSDT", T0 + HOUR_MS + 5, None),
                 lambda: store.top_events("BTCUSDT", None, None, 500, "usd"),
                 lambda: store.price_buckets("BTCUSDT", None, None, exchanges=["bybit"]),
                 lambda: store.bucket_rollups("BTCUSDT", [T0, T0 + HOUR_MS, T0 + DAY])):
        with pytest.raises(PrunedWindow):
            read()
    assert not verify_symbol(store, "BTCUSDT").differences  # tu/tq/pb keys are not strays


@pytest.mark.parametrize("caps", [None, (400, 400, 400)])
def test_prune_keeps_the_day_log_for_top_and_levels_of_whole_pruned_days(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, caps: tuple[int, int, int] | None,
) -> None:
    """Schema 3: a day log's events are in no top-K set or price band (readers add the day
    log). Prune keeps the day log's text as ``pl:<day>`` (in the same script call that deletes
    the logs), read by top and levels only, so whole pruned days answer exactly as before:
    sparse days (default caps: every event in its day log) and mixed ones (small caps: day,
    hour and slot logs, trimmed sets). Events stored into a pruned day later count too."""
    import random
    from decimal import Decimal

    import liqcli.store.store as store_module
    from liqcli.model import Event
    from liqcli.store.pricebands import events_buckets

    monkeypatch.setattr(store_module, "TOP_K", 3)  # trimmed sets (and their "~" mark)
    redis_client.flushall()
    store = Store(redis_client)
    store.log_caps = caps or store.log_caps
    rng = random.Random(7)
    events = []
    for i in range(40 if caps is None else 300):
        price = Decimal(rng.randint(90_000, 99_000)) / 10
        qty = Decimal(rng.randint(1, 9_999)) / 1000
        usd = price * qty if i % 3 else price * qty + Decimal("0.5")  # logged usd, or not
        events.append(Event(
            exchange=rng.choice(("binance", "bybit")), symbol="BTCUSDT",
            side=rng.choice(("LONG", "SHORT")), price=price, qty=qty, usd=usd,
            ts_ms=T0 + rng.randrange(3 * DAY), id=f"i{i}"))
    late = Event(  # stored into a pruned day, after the prune
        exchange="okx", symbol="BTCUSDT", side="LONG", price=Decimal(99_999),
        qty=Decimal(40), usd=Decimal(99_999 * 40), ts_ms=T0 + 5, id="late")
    store.ingest(events)
    first = T0 // DAY
    day_logs = [redis_client.get(store.key("BTCUSDT", f"ld:{d}")) for d in (first, first + 1)]
    assert all(day_logs)
    if caps is None:  # sparse: no structure at all
        assert not redis_client.exists(store.key("BTCUSDT", f"tu:D:{first}"),
                                       store.key("BTCUSDT", f"pb:D:{first}"))

    def answers(since: int, until: int) -> Any:
        return ({by: sorted((e.ts_ms, e.exchange, e.id) for e in
                            store.top_events("BTCUSDT", since, until, 3, by))
                 for by in ("usd", "qty")}, store.price_buckets("BTCUSDT", since, until)[0])

    def check(stored: list[Event]) -> None:
        for since, until in windows:
            inside = [e for e in stored if since <= e.ts_ms < until]
            top, bands = answers(since, until)
            for by in ("usd", "qty"):
                amount = (lambda e: e.usd) if by == "usd" else (lambda e: e.qty)
                assert top[by] == sorted((e.ts_ms, e.exchange, e.id)
                                         for e in sorted(inside, key=lambda e: -amount(e))[:3])
            assert bands == events_buckets(inside)[0]

    windows = [(first * DAY, (first + 1) * DAY), (first * DAY, (first + 3) * DAY)]
    check(events)
    result = prune_symbol(store, "BTCUSDT", (first + 2) * DAY, apply=True)
    assert result.days == 2
    assert not redis_client.exists(store.key("BTCUSDT", f"ld:{first}"))
    assert [redis_client.get(store.key("BTCUSDT", f"pl:{d}")) for d in (first, first + 1)] == (
        day_logs)
    check(events)  # whole days, pruned or not: the same exact answers
    assert not verify_symbol(store, "BTCUSDT").differences
    store.ingest([late])  # a new day log of the pruned day: read with the kept one
    check([*events, late])
    assert not verify_symbol(store, "BTCUSDT").differences
