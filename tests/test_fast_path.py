"""The start-up fast path of one-shot reports (liqcli.cli.fast): the same bytes as the Typer
path, with no Typer, redis-py or rich import; everything it does not know goes to Typer."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from test_core import T0, make_events

from liqcli.cli import fast
from liqcli.store.coverage import mark_connected
from liqcli.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3_600_000
WINDOW = ["--since", str(T0 + 2 * HOUR + 59 * 60_000 + 7), "--until", str(T0 + 7 * HOUR + 30_001)]


def typer_path(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_NO_FAST": "1", "LIQCLI_REDIS_URL": url}
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, env=env)


@pytest.fixture()
def stored(redis_url: str) -> str:
    events = [e for e in make_events(n=500, seed=31) if e.usd < 10**11]
    client = redis.Redis.from_url(redis_url)
    Store(client).ingest(events)
    mark_connected(client, "liq", "binance", T0 + HOUR, T0 + 4 * HOUR)
    return redis_url


# summary shows the live collector's gaps up to now in an open window: its windows are closed
CASES = [
    [command, *selection, "-f", fmt]
    for command in ("totals", "sides", "exchanges", "matrix", "summary")
    for fmt in ("json", "csv")
    for selection in ([] if command != "summary" else ["--until", WINDOW[3]],
                      ["-s", "ETHUSDT", *WINDOW])
] + [
    ["summary", "--all-symbols", "-f", "ndjson", *WINDOW],
    ["exchanges", "-s", "BTCUSDT,1000PEPEUSDT", "-e", "okx", "-e", "bybit", "-f", "tsv",
     "--no-header"],
    ["matrix", "--symbol=BTCUSDC", "--since=" + WINDOW[1], "--format=csv"],
    ["totals", "-s", "NOSUCH", "-f", "json"],
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_both_paths_print_the_same_bytes(
    stored: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert fast.run(args) == 0  # handled by the fast path
    out = capsys.readouterr()
    done = typer_path(*args, url=stored)
    assert done.returncode == 0, done.stderr
    assert out.out == done.stdout and out.out
    assert out.err == done.stderr  # the did-you-mean note of an unknown name, or nothing
    assert ("note: symbol NOSUCH" in out.err) == ("NOSUCH" in args)


def test_environment_variables_are_read_like_typer(
    stored: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIQCLI_SYMBOL", "ETHUSDT BTCUSDT")
    monkeypatch.setenv("LIQCLI_PREFIX", "liq")
    monkeypatch.delenv("LIQCLI_REDIS_URL")
    monkeypatch.setenv("REDIS_URL", stored)
    assert fast.run(["sides", "-f", "json"]) == 0
    done = typer_path("sides", "-f", "json", url=stored)
    assert capsys.readouterr().out == done.stdout and '"ETHUSDT"' in done.stdout


def test_the_fast_path_imports_no_typer_redis_or_rich(stored: str) -> None:
    code = ("import sys; from liqcli.__main__ import main; sys.argv[1:] = "
            "['summary', '-f', 'json']\ntry:\n    main()\nfinally:\n    sys.stdout.flush(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('typer', 'redis', 'rich', 'click', 'tabulate')), file=sys.stderr)")
    env = {**os.environ, "LIQCLI_REDIS_URL": stored}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env=env)
    assert done.returncode == 0 and '"totals"' in done.stdout, done.stderr
    assert done.stderr.strip() == "[]"


@pytest.mark.parametrize("args", [
    ["totals"],  # the table format
    ["totals", "-f", "markdown"],
    ["totals", "-f", "json", "--help"],
    ["totals", "-f", "json", "--debug"],
    ["totals", "-f", "json", "--color", "never"],
    ["totals", "-f", "json", "-sBTCUSDT"],
    ["totals", "-f"],
    ["totals", "-f", "json", "extra"],
    ["symbols", "-f", "json"],
    ["watch", "-f", "json"],
    ["ingest", "-"],
    [],
])
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert fast.parse(args) is None


@pytest.mark.parametrize("url", [
    "redis://127.0.0.1:1/0",  # unreachable: the full path prints the message (exit 3)
    "rediss://127.0.0.1:1/0", "redis+cluster://127.0.0.1:1/0", "embedded:/nonexistent/x",
    "redis://127.0.0.1:1/0?ssl_cert_reqs=none",
])
def test_errors_and_unusual_urls_go_to_the_full_path(url: str) -> None:
    os.environ["LIQCLI_REDIS_URL"] = url
    try:
        assert fast.run(["totals", "-f", "json"]) is None
    finally:
        del os.environ["LIQCLI_REDIS_URL"]


def test_the_option_table_is_typers() -> None:
    """Every shared report option that the fast path knows has Typer's flags and environment
    variables, and every option it does not know sends the command line to Typer (and reads
    no environment variable the fast path would miss)."""
    from liqcli.cli.report_options import report_request

    known = {name for name, _value, _many in fast.OPTIONS.values()}
    for param in inspect.signature(report_request, eval_str=True).parameters.values():
        info = param.annotation.__metadata__[0]
        # in Annotated form Typer keeps the first flag where a default would go
        decls = [info.default, *info.param_decls]
        flags = [f for f in decls if isinstance(f, str) and f.startswith("-")]
        envvar = info.envvar
        envvars = tuple([envvar] if isinstance(envvar, str) else envvar or ())
        if param.name not in known:
            assert not envvars, param.name  # it would be missed on the fast path
            assert not set(flags) & set(fast.OPTIONS)
            continue
        assert {f for f, spec in fast.OPTIONS.items() if spec[0] == param.name} == set(flags)
        assert fast.ENVVARS.get(param.name, ()) == envvars, param.name
        takes_value = not isinstance(param.default, bool)
        assert all(spec[1] == takes_value for spec in fast.OPTIONS.values()
                   if spec[0] == param.name), param.name


def test_the_embedded_default_store_goes_to_the_full_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LIQCLI_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert fast.parse(["totals", "-f", "json"]) is not None  # a command line it knows …
    assert fast.run(["totals", "-f", "json"]) is None  # … on a store it leaves to the full path
