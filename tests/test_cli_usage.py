"""Usage errors from the real entry point: one line on stderr, exit 2, nothing on stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def liqcli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LIQCLI_REDIS_URL": "redis://127.0.0.1:1/0"})


@pytest.mark.parametrize(("args", "says"), [
    (["nosuch"], "No such command 'nosuch'"),
    (["summary", "--bogus"], "No such option: --bogus"),
    (["summary", "-f", "xml"], "'xml' is not one of"),
    (["totals", "--table-style", "nope"], "not a tabulate format"),
    (["watch", "--interval", "abc"], "--interval"),
    (["ingest", "-f", "binance", "x.jsonl"], "the input format is -F/--format FORMAT"),
    (["collect", "-e", "bybit", "-s", "BTC\u202eUSDT"], "not a symbol"),  # before connecting
    (["totals", "-s", "BTC\u200bUSDT"], "not a symbol"),
])
def test_usage_errors_are_one_line_exit_2(args: list[str], says: str) -> None:
    done = liqcli(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("liqcli: error: ") and says in lines[0]
    assert "\x1b[" not in done.stderr and "╭" not in done.stderr


def test_no_arguments_shows_help_as_a_usage_error() -> None:
    done = liqcli()
    assert done.returncode == 2 and "Usage" in done.stdout + done.stderr
    assert "summary" in done.stdout + done.stderr


def test_help_and_version_exit_0() -> None:
    assert liqcli("--version").stdout.strip().startswith("liqcli ")
    done = liqcli("totals", "--help")
    assert done.returncode == 0 and "--symbol" in done.stdout


def _all_commands() -> list[list[str]]:
    """Every command of the app, a group's subcommands as [group, name]."""
    from liqcli.cli.app import app

    found: list[list[str]] = []
    for info in app.registered_commands:
        callback = info.callback
        found.append([info.name or (callback.__name__ if callback else "")])
    for group in app.registered_groups:
        assert group.typer_instance is not None and group.name
        found += [[group.name, sub.name or ""] for sub in group.typer_instance.registered_commands]
    return found


def test_every_command_help_ends_with_examples_and_shows_no_raw_metavar() -> None:
    """Issue #10.11: no EXAMPLES section anywhere; `<int range>`, `<str>` in help; the
    `[default: one per CPU]` of --workers eaten as markup."""
    from typer.testing import CliRunner

    from liqcli.cli.app import app

    commands = _all_commands()
    assert len(commands) >= 12
    for command in commands:
        text = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"}).stdout
        examples = text[text.index("EXAMPLES"):]
        assert f"liqcli {' '.join(command)}" in examples, command
        assert "<int" not in text and "<str>" not in text and "<float" not in text, command
    ingest = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"}).stdout
    assert "[default: one per CPU, less one for a local server]" in ingest
