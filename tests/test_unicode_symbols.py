"""Real non-ASCII symbols (issue #10.1) and the base/quote split (issue #11.7).

Binance USDⓈ-M lists ``币安人生USDT`` (October 2025): every path must take it — ingest in each
format, ``-s``, ``LIQCLI_SYMBOL``, discovery, every output format — while names that a terminal
or a spreadsheet would interpret stay refused.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import wcwidth
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import InvalidEvent, UsageError
from liqcli.feeds.adapters import ContractTable, parse_line
from liqcli.feeds.adapters.okx import normalize_symbol as okx_symbol
from liqcli.ingest.validate import normalize
from liqcli.model import SYMBOL_RE, normalize_symbol, split_symbol
from liqcli.report.core import normalize_symbols

CJK = "币安人生USDT"
TS = 1_760_000_000_000  # 2025-10-09, after the listing


def event(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"exchange": "binance", "symbol": CJK, "side": "LONG",
                               "price": "0.3123", "qty": "1000", "ts": TS}
    base.update(changes)
    return base


# --- the name rule -----------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored"), [
    ("btcusdt", "BTCUSDT"),
    (CJK, CJK),
    ("币安人生usdt", CJK),  # upper case only where letters have case
    (unicodedata.normalize("NFD", "ÉTHUSDT"), "ÉTHUSDT"),  # NFC
    ("éthusdt", "ÉTHUSDT"),
    ("ǆUSDT", "ǄUSDT"),  # one-character upper case: mapped
    ("1000PEPEUSDT", "1000PEPEUSDT"),
    ("ETHUSDT_250627", "ETHUSDT_250627"),
    ("ПЕПЕUSDT", "ПЕПЕUSDT"),
])
def test_symbols_accept_unicode_letters_and_digits(given: str, stored: str) -> None:
    assert normalize_symbol(given) == stored
    assert SYMBOL_RE.fullmatch(stored)
    assert normalize({**event(), "symbol": given}).symbol == stored


@pytest.mark.parametrize("bad", [
    "BTC\u202eUSDT",  # bidi override: reverses what the terminal shows
    "BTC\u200bUSDT",  # zero-width space
    "BTC\u2066USDT",  # bidi isolate
    "BTC\ufeffUSDT",  # BOM / zero-width no-break space
    "BTC USDT", "BTC\u3000USDT", "BTC\tUSDT", "BTC\x1b[31mUSDT", "BTC\x85USDT",
    "[red]BTC", "BTC<b>", "BTC&amp;", "BTC/USDT", "BTC\\USDT", "BTC|USDT", "BTC{1}",
    "=HYPERLINK(1)", "+BTC", "-BTC", "@BTC", "_BTC", ".BTC",
    "BTC²", "½BTC", "ⒶBTC", "BTC💥", "ſBTC", "ıBTC", "ßBTC",  # upper case ASCII: would merge
    "\u0301BTC", "X" * 41, "",
    "BTC\ue000",  # private use
    "BTC\U000e0041",  # tag character
])
def test_names_a_terminal_or_spreadsheet_would_interpret_stay_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_symbol(bad)
    with pytest.raises(InvalidEvent, match="symbol: invalid"):
        normalize({**event(), "symbol": bad})
    with pytest.raises(UsageError, match="not a symbol"):
        normalize_symbols(bad)


@given(st.text(min_size=1, max_size=12))
def test_an_accepted_name_is_stored_in_its_one_normal_form(text: str) -> None:
    try:
        symbol = normalize_symbol(text)
    except ValueError:
        return
    assert normalize_symbol(symbol) == symbol  # idempotent
    assert SYMBOL_RE.fullmatch(symbol)
    assert unicodedata.normalize("NFC", symbol) == symbol
    for index, char in enumerate(symbol):
        category = unicodedata.category(char)
        assert category[0] in "LN" or (index and (char in "._-" or category[0] == "M"))
        assert category not in ("No", "Nl")


# --- base / quote ------------------------------------------------------------------------------

@pytest.mark.parametrize(("symbol", "base", "quote"), [
    # real instruments of the five venues, as liqcli names them
    ("BTCUSDT", "BTC", "USDT"),
    ("1000PEPEUSDT", "1000PEPE", "USDT"),
    (CJK, "币安人生", "USDT"),
    ("DOTUSD", "DOT", "USD"),  # Bybit inverse, OKX DOT-USD-SWAP: not DO/TUSD
    ("ARBUSD", "ARB", "USD"),  # not AR/BUSD
    ("XBTUSD", "XBT", "USD"),  # BitMEX: XBT is bitcoin, an inverse contract (not XB/TUSD)
    ("XBTUSDT", "XBT", "USDT"),
    ("BTCUSD", "BTC", "USD"),
    ("BTCUSD_250627", "BTC", "USD"),
    ("ETHUSDT_250627", "ETH", "USDT"),
    ("SOLUSDC", "SOL", "USDC"),
    ("BTCBUSD", "BTC", "BUSD"),  # Binance's former BUSD perpetuals
    ("ETHBUSD", "ETH", "BUSD"),
    ("BTCFDUSD", "BTC", "FDUSD"),
    ("ETHBTC", "ETH", "BTC"),
    ("ETHUSDE", "ETH", "USDE"),
    ("BTCUSDT_MARGIN", "BTC", "USDT"),
    ("LTCUSD", "LTC", "USD"),
    ("TUSDUSDT", "TUSD", "USDT"),
])
def test_base_and_quote_of_real_symbols(symbol: str, base: str, quote: str) -> None:
    assert split_symbol(symbol) == (base, quote)


@pytest.mark.parametrize("inst_id", [
    "BTC-USDT-SWAP", "ETH-USD-SWAP", "DOT-USD-SWAP", "ARB-USD-SWAP", "ARB-USDT-SWAP",
    "LTC-USD-SWAP", "SOL-USDC-SWAP", "BTC-USD-250627", "TRX-USD-SWAP", "OP-USDT-SWAP",
])
def test_okx_instruments_split_as_the_venue_defines_them(inst_id: str) -> None:
    """OKX names base and quote in the instrument id: liqcli's split agrees with it."""
    base, quote = inst_id.split("-")[:2]
    assert split_symbol(okx_symbol(inst_id)) == (base, quote)


# --- every path, end to end --------------------------------------------------------------------

def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture()
def stored(redis_url: str, tmp_path: Path) -> Path:
    """币安人生USDT from a JSONL line, a CSV row and a raw Binance frame; BTCUSDT beside it."""
    (tmp_path / "a.jsonl").write_text(
        json.dumps(event(), ensure_ascii=False) + "\n"
        + json.dumps(event(symbol="btcusdt", price="65000", qty="0.1", side="SHORT")) + "\n",
        encoding="utf-8")
    (tmp_path / "b.csv").write_text(
        "exchange,symbol,side,price,qty,ts\n"
        f"bybit,币安人生usdt,SHORT,0.3125,20,{TS + 1000}\n", encoding="utf-8")
    frame = {"e": "forceOrder", "E": TS + 2002, "o": {
        "s": CJK, "S": "BUY", "o": "LIMIT", "f": "IOC", "q": "100", "p": "0.31",
        "ap": "0.3101", "X": "FILLED", "l": "100", "z": "100", "T": TS + 2000}}
    (tmp_path / "c.txt").write_text(json.dumps(frame, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    for name, fmt in (("a.jsonl", "auto"), ("b.csv", "auto"), ("c.txt", "binance")):
        result = run("ingest", "-F", fmt, str(tmp_path / name))
        assert result.exit_code == 0, result.output
    return tmp_path


def test_raw_binance_frame_with_a_unicode_symbol() -> None:
    frame = {"e": "forceOrder", "E": TS, "o": {"s": CJK, "S": "SELL", "q": "5", "p": "0.3",
                                               "ap": "0.3", "X": "FILLED", "z": "5", "T": TS}}
    (one,) = parse_line("binance", json.dumps(frame), contracts=ContractTable()).events
    assert normalize(one).symbol == CJK


def test_every_report_path_takes_the_unicode_symbol(stored: Path) -> None:
    usd = Decimal("312.3") + Decimal("6.25") + Decimal("31.01")
    for spelling in (CJK, "币安人生usdt", unicodedata.normalize("NFD", CJK)):
        doc = json.loads(run("totals", "-s", spelling, "-f", "json").stdout, parse_float=Decimal)
        assert (doc["symbol"], doc["base"], doc["quote"]) == (CJK, "币安人生", "USDT")
        assert (doc["totals"]["events"], doc["totals"]["usd"]) == (3, usd)
    env_doc = json.loads(run("totals", "-f", "json", env={"LIQCLI_SYMBOL": "币安人生usdt"}).stdout)
    assert env_doc["symbol"] == CJK
    symbols = json.loads(run("symbols", "-f", "json").stdout)
    assert [s["symbol"] for s in symbols["symbols"]] == ["BTCUSDT", CJK]
    rows = list(csv.DictReader(io.StringIO(run("exchanges", "-s", CJK, "-f", "csv").stdout)))
    assert {(r["symbol"], r["base"], r["exchange"]) for r in rows} == {
        (CJK, "币安人生", "binance"), (CJK, "币安人生", "bybit")}
    assert f"| {CJK} |" in run("symbols", "-f", "markdown").stdout


def test_plain_tables_line_up_with_double_width_characters(stored: Path) -> None:
    """CJK characters take two terminal cells (tabulate measures them with wcwidth)."""
    out = run("symbols", "--color", "never").stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Symbol "))
    table = lines[start: start + 4]
    assert any(CJK in line for line in table)
    # the Events column ends in the same terminal cell on every row
    header_end = wcwidth.wcswidth(table[0][: table[0].index("Events") + len("Events")])
    for row in table[2:]:
        cells = row.split()
        idx = row.index(" " + cells[1] + " ") + 1 + len(cells[1])
        assert wcwidth.wcswidth(row[:idx]) == header_end, row



def test_rich_tables_keep_cjk_names_whole_on_a_narrow_terminal(stored: Path) -> None:
    text = run("symbols", "--color", "always", env={"COLUMNS": "50"}).stdout
    assert CJK in text and "币安人生 " in text  # the symbol and its base, never cut
