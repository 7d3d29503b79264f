"""Completeness per exchange (issue #10.4): Binance's feed is sampled, its figures are lower
bounds; reports say so in JSON/CSV (`complete`) and under tables (a footnote), from a table a
user can extend in a TOML file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import UsageError
from liqcli.model import Event
from liqcli.report.completeness import FEEDS, Feed, load_feeds
from liqcli.store.store import Store

T0 = 1_723_895_903_305


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture()
def store(redis_url: str) -> None:
    from decimal import Decimal

    events = [
        Event(exchange, "BTCUSDT", "LONG", Decimal("60000"), Decimal("0.5"), Decimal("30000"),
              T0 + i)
        for i, exchange in enumerate(("binance", "bybit", "kraken", "okx"))
    ]
    Store(redis.Redis.from_url(redis_url)).ingest(events)


def test_json_and_csv_carry_the_flag_per_exchange(store: None) -> None:
    doc = json.loads(run("exchanges", "-f", "json").stdout)
    assert {row["exchange"]: row["complete"] for row in doc["exchanges"]} == {
        "binance": False, "bybit": True, "kraken": None, "okx": False}
    rows = list(csv.DictReader(io.StringIO(run("summary", "-f", "csv").stdout)))
    flags = {(r["section"], r["exchange"], r["side"]): r["complete"] for r in rows}
    assert flags[("exchanges", "binance", "")] == "false"
    assert flags[("matrix", "binance", "SHORT")] == "false"
    assert flags[("exchanges", "bybit", "")] == "true"
    assert flags[("exchanges", "kraken", "")] == ""
    assert flags[("totals", "", "")] == ""


def test_tables_end_with_a_footnote_per_sampled_exchange(store: None) -> None:
    text = run("totals", "--color", "never").stdout
    notes = [line for line in text.splitlines() if line.startswith("* ")]
    assert notes == [f"* binance: {FEEDS['binance'].note}", f"* okx: {FEEDS['okx'].note}"]
    assert "at least these figures" in notes[0]
    markdown = run("summary", "-f", "markdown").stdout
    assert "\\* binance: sampled feed" in markdown
    rich_text = run("exchanges", "--color", "always").stdout
    assert "binance: sampled feed" in rich_text
    only_bybit = run("exchanges", "-e", "bybit", "--color", "never").stdout
    assert "* " not in only_bybit


def test_a_user_file_extends_and_overrides_the_table(store: None, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[complete]\nkraken = false\nbinance = true\n'
                     '[note]\nkraken = "sampled, one per second"\n')
    env = {"LIQCLI_FEEDS": str(feeds)}
    doc = json.loads(run("exchanges", "-f", "json", env=env).stdout)
    assert {row["exchange"]: row["complete"] for row in doc["exchanges"]} == {
        "binance": True, "bybit": True, "kraken": False, "okx": False}
    text = run("exchanges", "--color", "never", env=env).stdout
    assert "* kraken: sampled, one per second" in text and "* binance" not in text


@pytest.mark.parametrize(("text", "reason"), [
    ("[complete\n", "not valid TOML"),
    ("[complete]\nkraken = 1\n", "must be true or false"),
    ("[exchanges]\nkraken = false\n", "expected only the tables"),
    ("[note]\nkraken = \"x\"\n", "without complete.kraken"),
])
def test_a_bad_user_file_is_a_usage_error(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=reason):
        load_feeds(path)


def test_a_bad_user_file_exits_2_naming_it(store: None, tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text("[complete\n")
    result = run("totals", env={"LIQCLI_FEEDS": str(path)})
    assert result.exit_code == 2 and f"{path}: not valid TOML" in result.stderr


def test_default_location_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from liqcli.report.completeness import feeds_file

    monkeypatch.delenv("LIQCLI_FEEDS")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert feeds_file() == tmp_path / "liqcli" / "feeds.toml"
    assert load_feeds(tmp_path / "absent.toml")["binance"] == Feed(False, FEEDS["binance"].note)
