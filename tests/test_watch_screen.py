"""``liqcli watch`` as a person sees it: the real process in a pseudo-terminal of 80×24, 60×20
and 160×50, its output fed to a terminal emulator (pyte), assertions on the screen.

Every section title, every exchange, both sides and the totals must be visible, the figures
equal to the core's (compute_stats) and never cut or wrapped, bars drawn; a resize redraws
cleanly (no line of an older frame left); the recent-liquidations pane, --min-usd and the
highlight tiers, --sections, --windows, the sliding window's entered/left; Ctrl-C, --count, the
reconnecting state and the feed gaps on a terminal.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
import redis
from event_factory import random_events
from terminal import Terminal
from test_watch_cli import child_env, exact_sum, gap_setup, ingest, watch_cmd

from liqcli.formatters._text import fmt_int, fmt_usd
from liqcli.model import Event, default_usd
from liqcli.report.core import compute_stats
from liqcli.report.stats import CumulativeStats
from liqcli.report.timeparse import now_ms
from liqcli.store.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

SIZES = [(80, 24), (60, 20), (160, 50)]
EXCHANGES = ("binance", "bybit", "okx")
TITLES = ("Totals", "Long vs short", "By exchange", "Exchange × side", "Recent liquidations")
LIVE_LINES = ("Change since previous refresh", "Last 15 min", "USD/min, last")
BAR = re.compile(r"[█▉▊▋▌▍▎▏]")
MINUTE = 60_000


def recent_events(seed: int, n: int, **kw: Any) -> list[Event]:
    kw.setdefault("exchanges", EXCHANGES)
    return random_events(seed, n, newest=now_ms() - 1000, span_ms=2 * 3_600_000, **kw)


def core_stats(url: str, **kw: Any) -> CumulativeStats:
    client = redis.Redis.from_url(url)
    try:
        return compute_stats(Store(client), **kw)
    finally:
        client.close()


def whole(figure: str) -> re.Pattern[str]:
    """``figure`` as a whole token: not part of a longer number (so not cut either)."""
    return re.compile(rf"(?<![\d.,]){re.escape(figure)}(?![\d.,])")


def line_with(term: Terminal, pattern: str) -> list[str]:
    return [line for line in term.lines if re.search(pattern, line)]


def shows_everything(stats: CumulativeStats, titles: tuple[str, ...] = TITLES):
    """A check: every title, exchange, side and the totals' figures on the screen, exact."""
    figures = [fmt_usd(stats.totals.usd), fmt_int(stats.totals.events)]
    figures += [fmt_usd(row.usd) for row in stats.sides]
    figures += [fmt_usd(row.usd) for row in stats.exchanges]

    def check(term: Terminal) -> bool:
        text = term.text
        return (
            all(title in text for title in (*titles, *LIVE_LINES))
            and all(any(whole(f).search(line) for line in term.lines) for f in figures)
            and all(line_with(term, rf"^{side}\b|\s{side}\s") for side in ("LONG", "SHORT"))
            and all(line_with(term, rf"\b{name}\b") for name in EXCHANGES)
        )

    return check


def assert_bars(term: Terminal, stats: CumulativeStats) -> None:
    """Each side's and each exchange's row of the share tables carries a bar after its USD."""
    for label, usd in [(row.side, row.usd) for row in stats.sides] + [
        (row.exchange, row.usd) for row in stats.exchanges
    ]:
        found = []
        for line in term.lines:
            label_at = re.search(rf"(?:^|\s){label}\s", line)
            figure = whole(fmt_usd(usd)).search(line)
            if label_at and figure and label_at.start() < figure.start():
                found.append(line[figure.end():figure.end() + 30])
        assert found and all(BAR.search(tail) for tail in found), (label, term.text)


def assert_not_cut(term: Terminal) -> None:
    assert "…" not in term.text  # rich's mark of a cut cell
    assert "Layout(" not in term.text  # an empty region of the layout


@pytest.mark.parametrize(("cols", "rows"), SIZES)
def test_every_section_on_every_terminal_size(redis_url: str, cols: int, rows: int) -> None:
    ingest(redis_url, recent_events(21, 150))
    stats = core_stats(redis_url)
    with Terminal(redis_url, "-n", "0.5", cols=cols, rows=rows) as term:
        term.wait_for(shows_everything(stats), "every section with exact figures")
        assert_bars(term, stats)
        assert_not_cut(term)
        assert "● live" in term.lines[0]
        if cols >= 160:  # the room is used: exchange × side and the pane side by side
            assert line_with(term, r"Exchange × side\s+Recent liquidations")
            assert len(term.text.split("USD/min, last 60 min ▕")[1].split("▏")[0]) == 120
    raw = term.raw.decode("utf-8", "replace")
    assert "Traceback" not in raw
    assert "\x1b[?1049h" in raw and "\x1b[?1049l" in raw  # the alternate screen, left on exit
    assert "\x1b[?25h" in raw[-200:]  # cursor shown again


def test_every_section_at_60x20_also_with_feed_gaps(redis_url: str, redis_client: Any) -> None:
    ingest(redis_url, random_events(30, 200, newest=now_ms() - 1000, span_ms=6 * 3_600_000,
                                    exchanges=EXCHANGES))
    _, since, _, _ = gap_setup(redis_client)  # binance: two gaps (one ongoing), okx none
    from liqcli.report.timeparse import iso_utc

    stats = core_stats(redis_url, since_ms=since)
    with Terminal(redis_url, "-n", "0.5", "--since", iso_utc(since), cols=60, rows=20) as term:
        term.wait_for(shows_everything(stats, (*TITLES, "Feed gaps")), "every section")
        assert_bars(term, stats)
        assert_not_cut(term)
        assert line_with(term, r"^binance\s+2\s+3h 00m\s+now$")  # the gaps, one row


@pytest.mark.parametrize("screen", [[], ["--no-screen"]])
def test_resize_redraws_cleanly(redis_url: str, screen: list[str]) -> None:
    ingest(redis_url, recent_events(22, 120))
    stats = core_stats(redis_url)
    with Terminal(redis_url, "-n", "30", *screen, cols=160, rows=50) as term:
        term.wait_for(shows_everything(stats), "the wide dashboard")
        assert "Feed gaps" not in term.text
        for cols, rows in ((60, 20), (80, 24), (160, 50)):
            term.resize(cols, rows)
            # redrawn at the new size without waiting for the next refresh (-n 30)
            term.wait_for(shows_everything(stats), f"every section at {cols}×{rows}", 20)
            term.wait_for(lambda t: all(t.text.count(x) == 1 for x in (*TITLES, *LIVE_LINES)),
                          "each title exactly once (no line of an older frame)", 20)
            assert term.text.count("liqcli watch") == 1
            assert_not_cut(term)
            if cols == 160:  # the compact labels of the narrow frames are gone
                assert "Exch." not in term.text
        assert not screen or "\x1b[?1049h" not in term.raw.decode("utf-8", "replace")


def at(ts: int, usd: str, exchange: str, side: str = "LONG", n: int = 0) -> Event:
    price = Decimal("50000")
    qty = Decimal(usd) / price
    return Event(exchange=exchange, symbol="BTCUSDT", side=side,  # type: ignore[arg-type]
                 price=price, qty=qty, usd=default_usd(price, qty), ts_ms=ts, id=f"t{n}")


def test_recent_liquidations_newest_first_with_tiers_and_min_usd(redis_url: str) -> None:
    now = now_ms()
    sizes = ["2000000", "300000", "150000", "60000", "10000", "49999.99"]
    events = [at(now - (i + 1) * 7000, usd, EXCHANGES[i % 3], ("LONG", "SHORT")[i % 2], i)
              for i, usd in enumerate(sizes)]
    ingest(redis_url, events)
    with Terminal(redis_url, "-n", "0.5", "--min-usd", "50,000", cols=80, rows=24) as term:
        term.wait_text("Recent liquidations ≥ 50,000.00")
        term.wait_text("60,000.00")
        pane = term.lines[next(i for i, line in enumerate(term.lines)
                           if "Recent liquidations" in line):]
        listed = [line for line in pane if re.match(r"\d\d:\d\d:\d\d ", line)]
        assert [whole_usd(line) for line in listed] == [
            "2,000,000.00", "300,000.00", "150,000.00", "60,000.00"]  # newest first
        assert not [line for line in pane if "10,000.00" in line or "49,999.99" in line]
        # the tiers, as the emulator sees the cells: 1M and 200k reversed, 100k and 50k bold
        row_of = {whole_usd(line): term.lines.index(line) for line in listed}
        for usd, reverse in (("2,000,000.00", True), ("300,000.00", True),
                             ("150,000.00", False), ("60,000.00", False)):
            cells = [term.screen.buffer[row_of[usd]][x] for x in range(8)]
            assert all(c.bold for c in cells), usd
            assert all(c.reverse == reverse for c in cells), usd
    done = subprocess.run(watch_cmd("-f", "ndjson", "--count", "1"), capture_output=True,
                          text=True, timeout=60, env=child_env(redis_url))
    doc = json.loads(done.stdout, parse_float=Decimal)
    assert [(x["usd"], x["tier"]) for x in doc["recent"]["liquidations"]] == [
        (Decimal(u), t) for u, t in zip(
            sizes, ["1M", "200k", "100k", "50k", None, None], strict=True)]


def whole_usd(line: str) -> str:
    return max(re.findall(r"[\d,]+\.\d\d", line), key=len)


def test_sections_pick_and_order(redis_url: str) -> None:
    ingest(redis_url, recent_events(23, 40))
    with Terminal(redis_url, "-n", "0.5", "--sections", "liquidations,totals,change",
                    cols=80, rows=24) as term:
        term.wait_text("Totals")
        term.wait_text("Change since previous refresh")
        text = term.text
        assert text.index("Change since") < text.index("Recent liquidations") < text.index(
            "Totals")
        for gone in ("Long vs short", "By exchange", "Exchange × side", "Last 15 min"):
            assert gone not in text
    bad = subprocess.run(watch_cmd("--sections", "totals,pie", "--count", "1"),
                         capture_output=True, text=True, timeout=60, env=child_env(redis_url))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "'pie' is not a section" in bad.stderr


def test_windows_columns_equal_the_core(redis_url: str) -> None:
    now = now_ms()
    inside = random_events(24, 30, newest=now - 1000, span_ms=40 * MINUTE, exchanges=EXCHANGES)
    older = random_events(25, 30, newest=now - 2 * 3_600_000, span_ms=3_600_000,
                          exchanges=EXCHANGES)
    ingest(redis_url, inside + older)
    done = subprocess.run(watch_cmd("-f", "ndjson", "--count", "1", "--windows", "1h,24h"),
                          capture_output=True, text=True, timeout=60, env=child_env(redis_url))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout, parse_float=Decimal)
    hour, day = doc["windows"]
    assert (hour["window"], day["window"]) == ("1h", "24h")
    assert hour["events"] == len(inside) and day["events"] == len(inside) + len(older)
    assert hour["usd"] == exact_sum(e.usd for e in inside)
    assert day["usd"] == exact_sum(e.usd for e in inside + older)
    for side in hour["sides"]:
        assert side["usd"] == exact_sum(e.usd for e in inside if e.side == side["side"])
    stats = core_stats(redis_url, since_ms=now - 3_600_000)
    with Terminal(redis_url, "-n", "0.5", "--windows", "1h,24h", cols=80, rows=24) as term:
        term.wait_text("Trailing windows")
        term.wait_for(shows_everything(core_stats(redis_url),
                                       (*TITLES, "Trailing windows")), "every section")
        assert line_with(term, r"1h USD\s+24h USD")
        assert line_with(term, rf"(?:^|\s)All\s.*{re.escape(fmt_usd(stats.totals.usd))}")
    bad = subprocess.run(watch_cmd("--windows", "1h,soon", "--count", "1"),
                         capture_output=True, text=True, timeout=60, env=child_env(redis_url))
    assert bad.returncode == 2 and "'soon' is not a duration" in bad.stderr


def test_sliding_window_shows_entered_and_left_apart(redis_url: str) -> None:
    staying = at(now_ms() - 60_000, "1000", "binance", "LONG", 2)
    ingest(redis_url, [staying])
    proc = subprocess.Popen(watch_cmd("-f", "ndjson", "-n", "0.5", "--count", "14",
                                      "--since", "1h"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(redis_url))
    assert proc.stdout is not None
    first = proc.stdout.readline()
    # after the first refresh: one event that enters now and leaves the hour ~3 s later
    leaving = at(now_ms() - 3_600_000 + 3000, "12345.67", "okx", "SHORT", 1)
    added = at(now_ms() - 100, "777.01", "bybit", "LONG", 3)
    ingest(redis_url, [leaving, added])
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    docs = [json.loads(line, parse_float=Decimal) for line in [first, *out.splitlines()]]
    deltas = [d["delta"] for d in docs[1:]]
    assert all(d["entered"] is not None and d["left"] is not None for d in deltas)
    assert sum(d["left"]["events"] for d in deltas) == 1
    assert exact_sum(d["left"]["usd"] for d in deltas) == leaving.usd
    assert sum(d["entered"]["events"] for d in deltas) == 2
    assert exact_sum(d["entered"]["usd"] for d in deltas) == leaving.usd + added.usd
    for d in deltas:
        assert d["entered"]["events"] - d["left"]["events"] == d["events"]
    assert docs[-1]["totals"]["usd"] == staying.usd + added.usd
    fixed = subprocess.run(watch_cmd("-f", "ndjson", "-n", "0.1", "--count", "2"),
                           capture_output=True, text=True, timeout=60, env=child_env(redis_url))
    second = json.loads(fixed.stdout.splitlines()[1])["delta"]
    assert second["entered"] is None and second["left"] is None
    # on the screen: the parts apart, the rest labelled net
    with Terminal(redis_url, "-n", "0.5", "--since", "1h", cols=80, rows=24) as term:
        term.wait_text("● live")
        ingest(redis_url, [at(now_ms() - 3_600_000 + 3000, "555.55", "okx", "LONG", 4)])
        term.wait_text("entered +1 / +555.55 USD")
        term.wait_text("left -1 / -555.55 USD")
        assert "entered +0 / +0.00 USD" in term.text and "net -1 events" in term.text


def test_csv_and_tsv_rows_carry_refreshed_at(redis_url: str) -> None:
    ingest(redis_url, recent_events(26, 20))
    for fmt, sep in (("csv", ","), ("tsv", "\t")):
        done = subprocess.run(watch_cmd("-f", fmt, "--count", "2", "-n", "0.1"),
                              capture_output=True, text=True, timeout=60,
                              env=child_env(redis_url))
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].split(sep)[:2] == ["refreshed_at", "symbol"]
        assert sum(line.startswith("refreshed_at") for line in lines) == 1
        stamps = {line.split(sep)[0] for line in lines[1:]}
        assert len(stamps) == 2 and all(re.fullmatch(r"\d{4}-.*Z", s) for s in stamps)


# ------------------------------------------------ states ported from the raw-pty tests
def test_count_stops_by_itself_and_shows_no_data(redis_url: str) -> None:
    term = Terminal(redis_url, "-n", "0.1", "--count", "3", "--no-screen", cols=80, rows=24)
    try:
        assert term.wait() == 0
    finally:
        term.kill()
    assert "No data yet for BTCUSDT" in term.text.replace("\n", " ")
    assert "● live" in term.text


def test_shows_reconnecting_and_stale(redis_server: Any, redis_url: str) -> None:
    ingest(redis_url, recent_events(27, 10))
    term = Terminal(redis_url, "-n", "0.2", cols=80, rows=24)
    try:
        term.wait_text("● live")
        redis_server.stop()
        term.wait_text("reconnecting (attempt 2)")
        assert "figures STALE since" in term.text
        assert "Totals" in term.text  # the last figures stay on screen
        redis_server.start()
        term.wait_text("● live")
        term.interrupt()
        assert term.wait() == 0
    finally:
        if redis_server.proc is None:
            redis_server.start()
        term.kill()
    assert "Traceback" not in term.raw.decode("utf-8", "replace")


@pytest.mark.parametrize("with_events", [False, True])
def test_feed_gaps_on_the_screen_also_with_no_data_yet(
    redis_url: str, redis_client: Any, with_events: bool
) -> None:
    if with_events:
        ingest(redis_url, recent_events(28, 60, exchanges=("binance", "bybit")))
    _, since, until, _ = gap_setup(redis_client)
    from liqcli.report.timeparse import iso_utc

    with Terminal(redis_url, "-n", "0.2", "--since", iso_utc(since), "--until",
                    iso_utc(until), cols=160, rows=50) as term:
        term.wait_text("Feed gaps (live collector not connected)")
        stats = core_stats(redis_url, since_ms=since, until_ms=until, coverage=True,
                           now_ms=now_ms())
        assert stats.coverage is not None
        for gap in stats.coverage.gaps:
            assert line_with(term, rf"{gap.exchange}\s+{re.escape(iso_utc(gap.start_ms))}"
                                   rf"\s+{re.escape(iso_utc(gap.end_ms))}")
        assert line_with(term, r"okx\s+no gaps")
        assert ("No data yet for BTCUSDT" in term.text) is not with_events
        term.resize(60, 20)
        term.wait_text("Feed gaps", 60)
        term.wait_for(lambda t: "(live collector" not in t.text, "the short title", 60)


def test_grid_size_is_what_rich_draws(redis_url: str) -> None:
    """The layout sizes tables without rendering them (idle cost): the sizes must be rich's."""
    import io

    from rich.console import Console
    from rich.measure import Measurement

    from liqcli.formatters import _dashboard as dash
    from liqcli.report.live import WatchQuery, read_snapshot

    ingest(redis_url, [*recent_events(29, 80), at(now_ms() - 5000, "1250000", "okx")])
    client = redis.Redis.from_url(redis_url)
    snapshot = read_snapshot(Store(client), WatchQuery(windows=(("1h", 3_600_000),),
                                                       min_usd=Decimal(1)), now_ms())
    client.close()
    console = Console(file=io.StringIO(), force_terminal=True, width=300)
    checked = 0
    for level in range(len(dash.LEVELS)):
        grids = [dash.totals_grid(snapshot.stats, level), dash.sides_grid(snapshot.stats, level),
                 dash.exchanges_grid(snapshot.stats, level),
                 dash.matrix_grid(snapshot.stats, level),
                 dash.liquidations_grid(snapshot, level, 5, Decimal(1)),
                 dash.windows_grid(snapshot, level)]
        for grid in grids:
            assert grid is not None
            grid.inline_title = level >= 4 and grid.header  # as the layout sets it
            bar = dash.BAR_WIDTHS[level]
            table = dash._grid_table(grid, bar, level == 0)
            width, height = dash.grid_size(grid, bar, level == 0)
            assert Measurement.get(console, console.options, table).maximum == width, grid.title
            lines = console.render_lines(table, console.options.update(width=width))
            assert len(lines) == height, grid.title
            checked += 1
    assert checked == 6 * len(dash.LEVELS)
    # double-width characters (a symbol like 币安人生USDT) count two cells, as rich draws them
    wide = dash.Grid("Recent liquidations", [dash.Column("Symbol", "left"), dash.Column("USD")])
    wide.add(["币安人生USDT", "1,000.00"])
    wide.add(["BTCUSDT", "12.00"])
    for inline in (False, True):
        wide.inline_title = inline
        table = dash._grid_table(wide, 6, False)
        width, height = dash.grid_size(wide, 6, False)
        assert Measurement.get(console, console.options, table).maximum == width
        lines = console.render_lines(table, console.options.update(width=width))
        assert len(lines) == height
        assert {sum(len(seg.text) + sum(1 for ch in seg.text if ord(ch) > 0x2E80)
                    for seg in line) for line in lines} == {width}  # columns line up


@pytest.mark.parametrize(("args", "message"), [
    (["--min-usd", "abc"], "'abc' is not an amount of USD"),
    (["--min-usd", "-5"], "'-5' is not an amount of USD (0 or more)"),
    (["--min-usd", "NaN"], "'NaN' is not an amount of USD"),
    (["--windows", ",1h"], "'' is not a duration"),
    (["--windows", "0m"], "'0m' is not a duration"),
    (["--sections", "totals,"], "'' is not a section"),
])
def test_bad_watch_options_exit_2_before_connecting(args: list[str], message: str) -> None:
    done = subprocess.run(watch_cmd(*args, "--count", "1", "-f", "ndjson"), capture_output=True,
                          text=True, timeout=60, env=child_env("redis://127.0.0.1:1/0"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
