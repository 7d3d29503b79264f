"""Formatters on hand-built rollups: schemas, exact numbers, CSV safety, literal names."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from liqcli import formatters
from liqcli.formatters import render_text
from liqcli.formatters._document import COMMANDS, REPORT_SECTIONS, ROW_COLUMNS, SYMBOL_COLUMNS
from liqcli.formatters._text import fmt_pct, fmt_qty, fmt_usd
from liqcli.formatters.table import EXCHANGE_COLOURS, exchange_colour
from liqcli.report.core import stats_from_rollups
from liqcli.report.stats import CumulativeStats
from liqcli.store.rollup import Rollup

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "liqcli" / "schemas"
DOC = ROOT / "docs" / "output-formats.md"
T0 = 1_723_896_000_000
ANSI = re.compile(r"\x1b\[")
EVIL = "[red]x\x1b[5mblink"  # rich markup and a raw escape sequence, as another writer might store


def rollup(symbol: str, cells: dict[tuple[str, str], tuple[int, str, str, int, int]]) -> Rollup:
    r = Rollup(symbol)
    for (exchange, side), (n, qty, usd, first, last) in cells.items():
        r.cell(exchange, side).add(n, Decimal(qty), Decimal(usd), first, last)  # type: ignore[arg-type]
    return r


def btc() -> Rollup:
    return rollup("BTCUSDT", {
        ("binance", "LONG"): (3, "0.5", "30000.123456789012345678", T0, T0 + 7_200_000),
        ("bybit", "SHORT"): (2, "0.00000001", "1E+9", T0 + 5, T0 + 9_000),
        (EVIL, "SHORT"): (1, "1E-10", "0.000000000000000001", T0 + 1, T0 + 1),
    })


def eth() -> Rollup:
    return rollup("ETHUSDT", {("okx", "LONG"): (4, "12.5", "40000", T0 - 60_000, T0)})


def single() -> CumulativeStats:
    return stats_from_rollups([btc()], since_ms=T0 - 1000)


def multi() -> CumulativeStats:
    return stats_from_rollups([btc(), eth()], until_ms=T0 + 10**8)


def empty() -> CumulativeStats:
    return stats_from_rollups([Rollup("BTCUSDT")])


REPORTS = {"single": single, "multi": multi, "empty": empty}


def schema(command: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{command}.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("report", sorted(REPORTS))
@pytest.mark.parametrize("command", COMMANDS)
def test_json_validates_against_the_command_schema(command: str, report: str) -> None:
    text = render_text(REPORTS[report](), command, "json")
    jsonschema.validate(json.loads(text), schema(command))


@pytest.mark.parametrize("command", COMMANDS)
def test_schemas_reject_a_renamed_field(command: str) -> None:
    doc = json.loads(render_text(single(), command, "json"))
    doc["windows"] = doc.pop("window")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema(command))


def test_json_amounts_are_exact_plain_numbers() -> None:
    text = render_text(single(), "summary", "json")
    numbers = re.findall(r'(?<=: )-?[0-9][^,\n]*', text)
    assert numbers and not [n for n in numbers if re.search("[eE]", n)]
    doc = json.loads(text, parse_float=Decimal)
    usd = {row["exchange"]: row["usd"] for row in doc["exchanges"]}
    assert usd == {EVIL: Decimal("1E-18"), "binance": Decimal("30000.123456789012345678"),
                   "bybit": Decimal(10**9)}
    assert '"usd": 1000000000' in text and '"usd": 0.000000000000000001' in text
    assert doc["totals"]["usd"] == Decimal("1000030000.123456789012345679")
    assert doc["totals"]["qty"] == Decimal("0.5000000101")
    assert doc["window"] == {"since": "2024-08-17T11:59:59.000Z", "until": None}


def test_json_escapes_control_characters_of_names() -> None:
    text = render_text(single(), "exchanges", "json")
    assert "\x1b" not in text and "\\u001b" in text
    assert json.loads(text)["exchanges"][0]["exchange"] == EVIL


def field_tables(doc: Path = DOC) -> dict[str, set[str]]:
    """``<!-- fields: NAME -->`` / ``<!-- columns: NAME -->`` tables of the docs: first cells."""
    tables: dict[str, set[str]] = {}
    current: str | None = None
    for line in doc.read_text().splitlines():
        marker = re.match(r"<!-- (?:fields|columns): ([\w-]+) -->", line)
        if marker:
            current = marker.group(1)
            tables[current] = set()
        elif current and line.startswith("| `"):
            tables[current].add(line.split("`")[1])
        elif current and not line.startswith("|"):
            current = None if tables[current] else current
    return tables


def test_docs_list_exactly_the_schema_fields() -> None:
    docs = field_tables()
    sections = ("totals", "sides", "exchanges", "matrix")
    for command in COMMANDS:
        s = schema(command)
        if command == "symbols":
            assert set(s["properties"]) == docs["symbols"]
            assert set(s["$defs"]["symbol"]["properties"]) == docs["symbols-entry"]
            continue
        defs = s["$defs"]
        present = [name for name in sections if f"single_{name}" in defs]
        coverage = {"coverage"} if "coverage" in defs else set()
        assert bool(coverage) == ("coverage" in REPORT_SECTIONS[command])
        live = set(WATCH_FIELDS) if command == "summary" else set()  # watch only: watch.md
        for kind in ("single", "multi"):
            assert set(defs[kind]["properties"]) == docs[kind] | set(present) | coverage | live
            assert not live & set(defs[kind]["required"])
        if coverage:
            assert set(defs["coverage"]["properties"]) == docs["coverage"]
            gap = defs["coverage"]["properties"]["gaps"]["items"]
            assert set(gap["properties"]) == docs["coverage-gap"]
        assert set(defs["window"]["properties"]) == docs["window"]
        for name in present:
            single_def, multi_def = defs[f"single_{name}"], defs[f"multi_{name}"]
            if single_def["type"] == "array":
                single_def, multi_def = single_def["items"], multi_def["items"]
            assert set(single_def["properties"]) == docs[name]
            assert set(multi_def["properties"]) == docs[name] | docs["multi-extra"]


WATCH_DOC = ROOT / "docs" / "watch.md"
WATCH_FIELDS = ("refreshed_at", "delta", "recent", "windows")


def test_watch_docs_list_exactly_the_schema_live_fields() -> None:
    """The fields only ``watch`` adds to a summary document: documented in docs/watch.md (not in
    output-formats.md), optional in summary.json, the same definitions in both variants."""
    docs = field_tables(WATCH_DOC)
    assert not set(WATCH_FIELDS) & set().union(*field_tables().values())
    defs = schema("summary")["$defs"]
    live = {name: defs[f"live_{name}"] for name in WATCH_FIELDS}
    for kind in ("single", "multi"):
        props = defs[kind]["properties"]
        assert {name: props[name]["$ref"] for name in WATCH_FIELDS} == {
            name: f"#/$defs/live_{name}" for name in WATCH_FIELDS}
    assert docs["watch"] == set(WATCH_FIELDS)
    delta = live["delta"]["properties"]
    assert set(delta) == docs["watch-delta"]
    change = delta["sides"]["items"]["properties"].keys() | delta["exchanges"]["items"][
        "properties"].keys()
    assert change == docs["watch-change"]
    recent = live["recent"]["properties"]
    assert set(recent) == docs["watch-recent"]
    assert set(recent["last_15m"]["properties"]) == docs["watch-last-15m"]
    assert set(recent["per_minute"]["properties"]) == docs["watch-per-minute"]
    for flow in ("entered", "left"):
        assert set(delta[flow]["properties"]) == docs["watch-flow"]
    assert set(recent["liquidations"]["items"]["properties"]) == docs["watch-liquidation"]
    assert set(live["windows"]["items"]["properties"]) == docs["watch-window"]


def test_docs_list_the_csv_columns_in_order() -> None:
    docs = field_tables()
    assert docs["rows"] == set(ROW_COLUMNS) and docs["symbol-columns"] == set(SYMBOL_COLUMNS)
    text = DOC.read_text()
    rows_part = text.split("<!-- columns: rows -->")[1].split("<!-- columns: symbol-columns -->")
    assert re.findall(r"^\| `(\w+)`", rows_part[0], re.M) == list(ROW_COLUMNS)
    assert re.findall(r"^\| `(\w+)`", rows_part[1], re.M)[: len(SYMBOL_COLUMNS)] == list(
        SYMBOL_COLUMNS)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@pytest.mark.parametrize("command", COMMANDS)
def test_delimited_output_parses_back(fmt: str, command: str) -> None:
    stats = multi()
    text = render_text(stats, command, fmt)
    delimiter = "," if fmt == "csv" else "\t"
    parsed = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    columns = list(SYMBOL_COLUMNS if command == "symbols" else ROW_COLUMNS)
    assert parsed[0] == columns
    records = [dict(zip(columns, row, strict=True)) for row in parsed[1:]]
    if command == "symbols":
        assert [r["symbol"] for r in records] == ["BTCUSDT", "ETHUSDT"]
        assert Decimal(records[0]["usd"]) == stats.per_symbol[0].totals.usd
        return
    assert {r["symbol"] for r in records} == {"BTCUSDT", "ETHUSDT", "*"}
    assert all(r["until"] == "2024-08-18T15:46:40.000Z" and r["since"] == "" for r in records)
    if command in ("totals", "summary"):
        combined = next(r for r in records if r["symbol"] == "*" and r["section"] == "totals")
        assert Decimal(combined["usd"]) == stats.totals.usd and combined["qty"] == ""
        assert int(combined["events"]) == 10
    no_header = render_text(stats, command, fmt, header=False)
    assert no_header == text.split("\n", 1)[1]


def test_csv_neutralizes_formulas_and_escapes_control_characters() -> None:
    stats = stats_from_rollups([rollup("BTCUSDT", {
        ("=cmd|' /c calc'!a0", "LONG"): (1, "1", "2", T0, T0),
        ("@sum(1)", "SHORT"): (1, "1", "2", T0, T0),
        ("+1", "LONG"): (1, "1", "2", T0, T0),
        ("-1", "LONG"): (1, "1", "2", T0, T0),
        (EVIL, "LONG"): (1, "1", "2", T0, T0),
    })])
    text = render_text(stats, "exchanges", "csv")
    assert "\x1b" not in text
    names = [row[6] for row in csv.reader(io.StringIO(text))][1:]
    assert sorted(names) == sorted(["'+1", "'-1", "'=cmd|' /c calc'!a0", "'@sum(1)",
                                    "[red]x\\x1b[5mblink"])
    assert all(name[0] not in "=+-@" for name in names)


@pytest.mark.parametrize("command", COMMANDS)
def test_ndjson_rows_carry_symbol_and_window(command: str) -> None:
    lines = render_text(multi(), command, "ndjson").splitlines()
    assert lines
    for line in lines:
        obj = json.loads(line, parse_float=Decimal)
        assert obj["symbol"] in ("BTCUSDT", "ETHUSDT", "*")
        assert obj["window"] == {"since": None, "until": "2024-08-18T15:46:40.000Z"}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("report", sorted(REPORTS))
def test_plain_table_and_markdown_have_no_ansi(command: str, report: str) -> None:
    for fmt in ("table", "markdown"):
        text = render_text(REPORTS[report](), command, fmt)
        assert not ANSI.search(text) and "\x1b" not in text
    if report == "single" and command in ("exchanges", "matrix", "summary", "symbols"):
        assert "[red]x\\x1b[5mblink" in render_text(single(), command, "table")


@pytest.mark.parametrize("command", COMMANDS)
def test_rich_table_prints_names_literally(command: str) -> None:
    text = render_text(single(), command, "table", color=True)
    assert ANSI.search(text)  # styled
    assert "\x1b[5m" not in text  # the stored escape is shown, not obeyed
    if command in ("exchanges", "matrix", "summary", "symbols"):
        plain = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", text))
        assert "[red]x\\x1b[5mblink" in plain


def test_rich_table_has_share_bars() -> None:
    text = re.sub(r"\x1b\[[0-9;]*m", "", render_text(single(), "sides", "table", color=True))
    assert "█" in text and "Share" in text


def test_markdown_is_a_github_table() -> None:
    text = render_text(single(), "exchanges", "markdown")
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table[0].startswith("| Exchange | Events |")
    assert set(table[1]) <= set("|:-") and len(table) == 2 + 3
    assert all(line.count(" | ") == table[0].count(" | ") for line in table[2:])
    assert "\\[red\\]" in text  # markdown metacharacters of names escaped


def test_every_tabulate_style_is_accepted() -> None:
    from liqcli.formatters.table import table_styles

    styles = table_styles()
    assert "github" in styles and "grid" in styles
    for style in styles:
        text = render_text(single(), "sides", "table", table_style=style)
        assert "LONG" in text and "30,000.12" in text


def test_table_style_forces_plain_text_even_with_colour() -> None:
    text = render_text(single(), "sides", "table", color=True, table_style="grid")
    assert "\x1b" not in text and "+---" in text


def test_exchange_colours_are_fixed_and_stable() -> None:
    assert [exchange_colour(n) for n in ("binance", "bybit", "okx", "dydx")] == [
        "yellow", "dark_orange", "magenta", "blue"]
    assert exchange_colour("kraken") == exchange_colour("kraken")
    import zlib

    from liqcli.formatters.table import PALETTE

    assert exchange_colour("kraken") == PALETTE[zlib.crc32(b"kraken") % len(PALETTE)]
    assert set(EXCHANGE_COLOURS) == {"binance", "bybit", "okx", "dydx"}


def test_number_display() -> None:
    assert fmt_usd(Decimal("1234567.125")) == "1,234,567.12"
    assert fmt_usd(Decimal("0.005")) == "0.00"
    assert fmt_qty(Decimal("1234.5")) == "1,234.5000"
    assert fmt_qty(Decimal("0.123456")) == "0.123456"
    assert fmt_qty(Decimal("0.0000000123")) == "0.00000001"
    assert fmt_pct(Decimal("33.33333333")) == "33.3%"
    text = render_text(single(), "totals", "table")
    assert "1,000,030,000.12" in text and "0.50000001" in text


def test_registry_lists_every_public_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert formatters.available() == ("table", "json", "ndjson", "csv", "tsv", "markdown",
                                     "openmetrics", "prometheus")
    (tmp_path / "shout.py").write_text(
        "DESCRIPTION = 'upper-case totals'\n"
        "def render(stats, command, out, options):\n"
        "    out.write(f'{stats.symbols[0].upper()} {stats.totals.events} EVENTS\\n')\n"
    )
    (tmp_path / "_helper.py").write_text("")
    monkeypatch.setattr(formatters, "__path__", [*formatters.__path__, str(tmp_path)])
    assert formatters.available()[-1] == "shout" and "_helper" not in formatters.available()
    assert render_text(single(), "totals", "shout") == "BTCUSDT 6 EVENTS\n"
    with pytest.raises(ValueError, match="unknown format"):
        formatters.get("xml")


def test_watch_helpers_render_a_summary() -> None:
    from liqcli.formatters.ndjson import document_line
    from liqcli.formatters.table import renderable

    line = document_line(multi())
    assert "\n" not in line
    jsonschema.validate(json.loads(line), schema("summary"))
    from rich.console import Console

    console = Console(file=io.StringIO(), width=150, color_system=None)
    console.print(renderable(single()))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Exchange × side" in out and "binance" in out
