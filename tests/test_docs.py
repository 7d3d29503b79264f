"""The README says what the tool does: its commands, CI command and options match the app."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from liqcli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced_after(heading: str) -> str:
    """The first ```sh block after a heading."""
    section = README.split(heading, 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0].strip()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    command = fenced_after("## Run the tests")
    assert "\n" not in command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in ci, "the README's test command must stand verbatim in .ci/run"


def test_readme_demo_command_runs_the_demo() -> None:
    command = fenced_after("## Try it")
    assert "\n" not in command and command.endswith("liqcli demo")


def test_readme_command_table_lists_every_command() -> None:
    group = get_command(app)
    table = README.split("## Commands", 1)[1].split("\n\n", 2)[1]
    documented = set()
    for line in table.splitlines()[2:]:
        cell = line.split("|")[1].strip().strip("`")
        documented.add(cell.split()[0])
    assert set(group.commands) == documented  # type: ignore[attr-defined]


def test_readme_report_options_exist_on_every_report_command() -> None:
    group = get_command(app)
    for name in ("totals", "sides", "exchanges", "matrix", "summary", "symbols"):
        command = group.commands[name]  # type: ignore[attr-defined]
        opts = {o for p in command.params for o in p.opts}
        for documented in ("-s", "--symbol", "--all-symbols", "-e", "--exchange", "--since",
                           "--until", "-f", "--format", "--redis-url", "--prefix", "--debug"):
            assert documented in opts, (name, documented)


def test_readme_exit_codes_match_the_enum() -> None:
    from liqcli.errors import ExitStatus

    table = README.split("## Exit codes", 1)[1]
    codes = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert codes == {int(s) for s in ExitStatus}


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (ROOT / target).exists(), target
