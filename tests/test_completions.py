"""completions/ holds the scripts scripts/gen_completions.py makes, and they complete for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = ("liqcli.bash", "_liqcli", "liqcli.fish")


def test_committed_completions_are_current(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_completions.py"), str(tmp_path)],
                   check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    stale = [name for name in FILES
             if (tmp_path / name).read_text() != (ROOT / "completions" / name).read_text()]
    assert not stale, f"run: python scripts/gen_completions.py  (stale: {stale})"


def complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "_LIQCLI_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(cword), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "liqcli"], env=env, capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout.split()


@pytest.mark.parametrize(("words", "cword", "expected"), [
    ("liqcli su", 1, ["summary"]),
    ("liqcli totals -f ", 3, ["table", "json", "ndjson", "csv", "tsv", "markdown",
                              "openmetrics", "prometheus"]),
    ("liqcli sides --table-style git", 3, ["github"]),
    ("liqcli matrix --color a", 3, ["auto", "always"]),
])
def test_the_protocol_the_scripts_use_completes(words: str, cword: int,
                                                 expected: list[str]) -> None:
    assert complete(words, cword) == expected


def test_bash_script_loads() -> None:
    script = (ROOT / "completions" / "liqcli.bash").read_text()
    done = subprocess.run(["bash", "-c", script + "\ncomplete -p liqcli"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "_liqcli_completion" in done.stdout, done.stderr
