"""Redis Cluster for real: 3 masters + 3 replicas on loopback, ingest and every report through
a plain node URL (cluster mode detected) or redis+cluster://, figures exact; a master killed
during ingest, its replica taking over, the ingest re-run, every figure still exact."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import LocalCluster, RedisServer
from test_core import ALL, HOUR, SYMBOLS, T0, Expected, check_document, make_events
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.model import Event
from liqcli.store.connection import connect, open_store
from liqcli.store.coverage import mark_connected

ROOT = Path(__file__).resolve().parent.parent
SINCE, UNTIL = T0 + 2 * HOUR + 59 * 60_000 + 7, T0 + 7 * HOUR + 30_001  # cuts through hours
SECTIONS = {"totals": ["totals"], "sides": ["sides"], "exchanges": ["exchanges"],
            "matrix": ["matrix"], "summary": list(ALL)}


def liqcli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, input=stdin)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def jsonl(events: list[Event]) -> str:
    return "".join(json.dumps({
        "exchange": e.exchange, "symbol": e.symbol, "side": e.side, "price": str(e.price),
        "qty": str(e.qty), "usd": str(e.usd), "ts": e.ts_ms, "id": e.id,
    }) + "\n" for e in events)


def test_a_plain_node_url_is_detected_as_a_cluster(cluster_url: str) -> None:
    assert isinstance(connect(cluster_url), redis.cluster.RedisCluster)
    explicit = cluster_url.replace("redis://", "redis+cluster://")
    assert isinstance(connect(explicit), redis.cluster.RedisCluster)
    assert isinstance(connect(cluster_url + "?cluster=yes"), redis.cluster.RedisCluster)


def test_ingest_and_every_report_on_a_cluster(cluster_url: str, redis_url: str) -> None:
    events = [e for e in make_events(n=700, seed=23) if e.usd < 10**11][:600]
    # the symbols live on different masters: the reports fan out across nodes
    store = open_store(cluster_url)
    slots = {store.client.keyslot(store.key(s, "t")) for s in SYMBOLS}
    nodes = {store.client.get_node_from_key(store.key(s, "t")).name for s in SYMBOLS}
    assert len(slots) == len(SYMBOLS) and len(nodes) >= 2
    done = liqcli("ingest", "-", "--redis-url", cluster_url, stdin=jsonl(events))
    assert done.returncode == 0, done.stderr
    assert "new 600, duplicate 0" in done.stderr
    again = liqcli("ingest", "-", "--redis-url", cluster_url, stdin=jsonl(events))
    assert again.returncode == 0 and "new 0, duplicate 600" in again.stderr, again.stderr
    # several symbols at once: one pipeline, split per node by the cluster client
    many = store.rollups(list(SYMBOLS))
    assert [r.cells for r in many] == [store.rollup(s).cells for s in SYMBOLS]
    assert sum(c.events for r in many for c in r.cells.values()) == len(events)
    # the same events on a single server: every output byte for byte the same
    single = liqcli("ingest", "-", "--redis-url", redis_url, stdin=jsonl(events))
    assert single.returncode == 0, single.stderr
    for command, sections in SECTIONS.items():
        for window, symbol in (([], "BTCUSDT"),
                               (["--since", str(SINCE), "--until", str(UNTIL)], "1000PEPEUSDT")):
            args = [command, "-s", symbol, *window, "-f", "json"]
            out = invoke(*args, "--redis-url", cluster_url)
            assert out.exit_code == 0, out.stderr
            since, until = (SINCE, UNTIL) if window else (None, None)
            check_document(json.loads(out.stdout, parse_float=Decimal),
                           Expected(events, [symbol], since, until), sections)
            assert out.stdout == invoke(*args, "--redis-url", redis_url).stdout
    for args in (["summary", "--all-symbols", "-f", "csv"], ["symbols", "-f", "json"],
                 ["exchanges", "-s", "BTCUSDT,ETHUSDT", "--since", str(SINCE), "-f", "json"]):
        out = liqcli(*args, "--redis-url", cluster_url)
        ref = liqcli(*args, "--redis-url", redis_url)
        assert out.returncode == 0 and out.stdout == ref.stdout, out.stderr


def test_watch_and_coverage_on_a_cluster(cluster_url: str) -> None:
    events = make_events(n=200, seed=5)
    store = open_store(cluster_url)
    store.ingest(events)
    mark_connected(store.client, "liq", "binance", T0, T0 + 3 * HOUR)
    out = liqcli("watch", "-s", "ETHUSDT", "--count", "1", "-f", "ndjson",
                 "--redis-url", cluster_url)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.splitlines()[0], parse_float=Decimal)
    exp = Expected(events, ["ETHUSDT"])
    assert doc["totals"]["events"] == exp.total.events
    assert doc["totals"]["usd"] == exp.total.usd
    summary = liqcli("summary", "-s", "ETHUSDT", "-f", "json", "--redis-url", cluster_url)
    assert summary.returncode == 0, summary.stderr
    assert "coverage" in json.loads(summary.stdout)


def test_a_master_killed_during_ingest(redis_cluster: LocalCluster, cluster_url: str) -> None:
    """Kill the master of a symbol mid-ingest; once its replica has taken over, the re-run
    ingest makes every figure exact: nothing lost, nothing counted twice."""
    events = make_events(n=6000, seed=99, span_hours=30)
    store = open_store(cluster_url)
    victim = redis_cluster.master_of(store.key("BTCUSDT", "t"))
    failed: list[BaseException] = []

    def ingest() -> None:
        try:
            open_store(cluster_url).ingest(events, batch_size=50)
        except BaseException as exc:  # the ingest may fail while the master is down
            failed.append(exc)

    worker = threading.Thread(target=ingest)
    worker.start()
    deadline = threading.Event()
    while not deadline.wait(0.01):  # let some batches land first
        if redis.Redis(port=victim.port).hlen(store.key("BTCUSDT", "t")):
            break
    assert victim.proc is not None
    victim.proc.kill()
    victim.proc.wait()
    victim.proc = None
    worker.join(120)
    redis_cluster.wait_ok()  # the replica was promoted
    assert redis_cluster.master_of(store.key("BTCUSDT", "t")) is not victim
    rerun = open_store(redis_cluster.running()[0].url)
    rerun.ingest(events)
    for symbol in SYMBOLS:
        for since, until in ((None, None), (SINCE, UNTIL)):
            from test_core import document_of

            from liqcli.report.core import compute_stats

            stats = compute_stats(rerun, symbol, since_ms=since, until_ms=until)
            check_document(document_of(stats), Expected(events, [symbol], since, until), ALL)
    assert sorted(rerun.symbols()) == sorted(SYMBOLS)
    # bring the node back (as a replica) for the tests that follow
    victim.start()
    redis_cluster.wait_ok()


CLUSTER_EXTRA = "+cluster|slots +cluster|shards +command"


def test_documented_acl_users_on_a_cluster(redis_cluster: LocalCluster, cluster_url: str) -> None:
    from test_security import REPORTER_RULES, WRITER_RULES

    assert f"`{CLUSTER_EXTRA}`" in (ROOT / "README.md").read_text().replace("\n", " ")
    for node in redis_cluster.running():  # ACL users are per node
        client = node.client()
        for name, rules in (("liq-writer", WRITER_RULES), ("liq-reporter", REPORTER_RULES)):
            client.execute_command("ACL", "SETUSER", name, "reset", "on", ">pw",
                                   *rules.split(), *CLUSTER_EXTRA.split())
        client.close()
    events = [e for e in make_events(n=300, seed=41) if e.usd < 10**11]
    writer = cluster_url.replace("redis://", "redis://liq-writer:pw@")
    reporter = cluster_url.replace("redis://", "redis://liq-reporter:pw@")
    refused = liqcli("ingest", "-", "--redis-url", reporter, stdin=jsonl(events))
    assert refused.returncode == 3 and "refused a command" in refused.stderr, refused.stderr
    assert "pw@" not in refused.stderr
    done = liqcli("ingest", "-", "--redis-url", writer, stdin=jsonl(events))
    assert done.returncode == 0, done.stderr
    for symbol in ("BTCUSDT", "ETHUSDT"):
        out = liqcli("summary", "-s", symbol, "--since", str(SINCE), "--until", str(UNTIL),
                     "-f", "json", "--redis-url", reporter)
        assert out.returncode == 0, out.stderr
        check_document(json.loads(out.stdout, parse_float=Decimal),
                       Expected(events, [symbol], SINCE, UNTIL), ALL)


def test_import_cryptofeed_into_a_cluster(cluster_url: str, redis_url: str) -> None:
    """`liqcli import cryptofeed` stores into a cluster exactly what it stores into one server."""
    cf = pytest.importorskip("test_cryptofeed_import")
    with RedisServer() as source:
        rows = [row for row in cf.LIQUIDATIONS if row[6] == "filled"]
        cf.write_with_cryptofeed(source.port, cf.cryptofeed_redis.LiquidationsStream, rows,
                                 cf.T0 + 20)
        for url in (cluster_url, redis_url):
            done = liqcli("import", "cryptofeed", "--source-url", source.url, "--redis-url", url)
            assert done.returncode in (0, 4), done.stderr
            assert f"{len(rows)} read" in done.stderr, done.stderr
    # a closed window in the past: its events-per-hour span does not depend on "now"
    args = ["summary", "--all-symbols", "--until", "1724000000000", "-f", "json"]
    out, ref = invoke(*args, "--redis-url", cluster_url), invoke(*args, "--redis-url", redis_url)
    assert out.exit_code == 0 and out.stdout == ref.stdout
    assert json.loads(out.stdout)["totals"]["events"] > 0
