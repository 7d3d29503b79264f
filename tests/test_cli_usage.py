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
