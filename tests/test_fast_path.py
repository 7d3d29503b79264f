"""The start-up fast path of one-shot reports (liqcli.cli.fast): the same bytes as the Typer
path, with no Typer, redis-py, rich, dataclasses or typing import; everything it does not know
goes to Typer. It reads the embedded store (the default one too) when its server runs."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from test_core import T0, make_events
from test_embedded import make_rows, write_jsonl

from liqcli.cli import fast
from liqcli.store.coverage import mark_connected
from liqcli.store.store import Store

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3_600_000
WINDOW = ["--since", str(T0 + 2 * HOUR + 59 * 60_000 + 7), "--until", str(T0 + 7 * HOUR + 30_001)]


def typer_path(*args: str, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIQCLI_NO_FAST": "1", "LIQCLI_REDIS_URL": url or ""}
    if url is None:  # the default store
        del env["LIQCLI_REDIS_URL"]
        env.pop("REDIS_URL", None)
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
    for command in sorted(fast.REPORTS)
    for fmt in sorted(fast.FORMATS)
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


def test_a_fast_path_process_prints_the_same_bytes_and_exit_status(stored: str) -> None:
    """As a whole process (ended by os._exit once flushed): output, notes and status."""
    for args in (["summary", "-s", "ETHUSDT", "-f", "csv", *WINDOW],
                 ["totals", "-s", "NOSUCH", "-f", "json"]):
        env = {**os.environ, "LIQCLI_REDIS_URL": stored}
        done = subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=60, env=env)
        full = typer_path(*args, url=stored)
        assert (done.returncode, done.stdout, done.stderr) == (
            full.returncode, full.stdout, full.stderr) and done.stdout


def test_a_closed_pipe_ends_the_fast_path_quietly(stored: str) -> None:
    env = {**os.environ, "LIQCLI_REDIS_URL": stored}
    proc = subprocess.Popen([sys.executable, "-m", "liqcli", "matrix", "--all-symbols", "-f",
                             "ndjson"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head -0`: nothing read
    assert proc.wait(timeout=60) == 0 and proc.stderr.read() == b""


def test_every_report_command_and_format_is_covered() -> None:
    covered = {(args[0], args[args.index("-f") + 1]) for args in CASES if "-f" in args}
    assert covered >= {(c, f) for c in fast.REPORTS for f in fast.FORMATS}


# What a one-shot report must not import: the CLI framework, redis-py, rich (start-up), nor
# dataclasses (it imports inspect, ast, dis, tokenize), typing or json: each costs milliseconds of a
# process that takes ~40 ms in all (benchmarks/bench_oneshot.py).
HEAVY = ("typer", "click", "redis", "rich", "tabulate", "dataclasses", "typing", "inspect", "json",
         "difflib", "platformdirs", "liqcli.report.history", "liqcli.report.levels",
         "liqcli.report.top", "liqcli.report.windows")


def imported_heavy(args: list[str], env: dict[str, str]) -> list[str]:
    """The HEAVY modules a liqcli process running ``args`` has imported when it ends (the fast
    path ends it with os._exit once its output is flushed: that is where they are listed)."""
    code = ("import os, sys\nfrom liqcli.__main__ import main\nsys.argv[1:] = "
            f"{args!r}\nexit_ = os._exit\ndef listed(status):\n"
            f"    print('imported:', *sorted(m for m in sys.modules if m.startswith({HEAVY!r})), "
            "file=sys.stderr, flush=True)\n    exit_(status)\nos._exit = listed\nmain()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env=env)
    assert done.returncode == 0 and done.stdout, done.stderr  # stdout: the fast path's report
    last = done.stderr.splitlines()[-1].split()
    assert last[0] == "imported:", done.stderr  # the fast path ended the process
    return last[1:]


@pytest.mark.parametrize("args", [
    [command, "-s", "BTCUSDT,ETHUSDT", "--since", "30d", "-f", fmt]
    for command, fmt in zip(sorted(fast.REPORTS), ["json", "csv", "ndjson", "tsv", "json"],
                            strict=True)
] + [["totals", "-s", "NOSUCH", "-f", "json"]], ids=lambda a: " ".join(a))
def test_the_fast_path_imports_nothing_heavy(stored: str, args: list[str]) -> None:
    # difflib only to suggest a name for one the store has never seen
    wanted = ["difflib"] if "NOSUCH" in args else []
    assert imported_heavy(args, {**os.environ, "LIQCLI_REDIS_URL": stored}) == wanted


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


def test_a_stopped_embedded_store_goes_to_the_full_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LIQCLI_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert fast.parse(["totals", "-f", "json"]) is not None  # a command line it knows …
    assert fast.run(["totals", "-f", "json"]) is None  # … with no server running: the full
    # path starts it (or says there is no store yet)


def full_path_ingest(tmp_path: Path, url: str | None) -> None:
    data = tmp_path / "events.jsonl"
    write_jsonl(data, make_rows(400, seed=17))
    done = typer_path("ingest", str(data), url=url)  # starts the server and leaves it running
    assert done.returncode == 0, done.stderr


EMBEDDED_CASES = [
    ["summary", "-s", "BTCUSDT,ETHUSDT", "-f", "json", "--until", "1735862400000"],
    ["totals", "-s", "ETHUSDT", "-f", "csv"],
    ["matrix", "-e", "okx", "-f", "ndjson"],
    ["totals", "-s", "NOSUCH", "-f", "tsv"],
]


@pytest.mark.parametrize("default", [True, False], ids=["default store", "embedded:PATH"])
def test_a_running_embedded_store_is_read_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    default: bool,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    url = None if default else f"embedded:{tmp_path / 'store'}"  # a directory: liqcli.rdb in it
    if default:
        monkeypatch.delenv("LIQCLI_REDIS_URL", raising=False)
    else:
        (tmp_path / "store").mkdir()
        monkeypatch.setenv("LIQCLI_REDIS_URL", str(url))
    full_path_ingest(tmp_path, url)
    for args in EMBEDDED_CASES:
        assert fast.run(args) == 0, args  # read on the fast path, not left to the full one
        out = capsys.readouterr()
        done = typer_path(*args, url=url)
        assert done.returncode == 0, done.stderr
        assert out.out == done.stdout and out.out
        assert out.err == done.stderr
    assert imported_heavy(EMBEDDED_CASES[0], {**os.environ}) == []  # no platformdirs either


def test_the_default_store_file_is_platformdirs_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liqcli.store.connection import default_store_path
    from liqcli.store.runtime import default_store_file

    cases = [(str(tmp_path / "data"), str(tmp_path / "home")), ("", str(tmp_path / "home")),
             ("relative/data", str(tmp_path / "home/")), (str(tmp_path) + "//x/", "/")]
    for xdg, home in cases:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
        monkeypatch.setenv("HOME", home)
        found = default_store_file()
        assert found is not None and found == str(default_store_path()), (xdg, home)
    monkeypatch.setenv("XDG_DATA_HOME", "relative")
    monkeypatch.setenv("HOME", "relative")
    assert default_store_file() is None  # unsure: left to platformdirs (the full path)


def test_the_store_key_is_a_sha256_prefix() -> None:
    import hashlib

    from liqcli.store.runtime import store_key

    for path in ("/a/liqcli.rdb", "/数据/x.rdb"):
        assert store_key(path) == hashlib.sha256(path.encode()).hexdigest()[:16]
