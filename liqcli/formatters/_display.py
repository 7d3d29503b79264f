"""Human-readable tables of a report (text cells), shared by the table and markdown formats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from liqcli.formatters._document import COMBINED_SYMBOL, iso_or_none, sections_of
from liqcli.formatters._text import (
    NONE_TEXT,
    fmt_int,
    fmt_pct,
    fmt_qty,
    fmt_rate,
    fmt_span,
    fmt_usd,
    plain_amount,
    printable,
)
from liqcli.report.history import History
from liqcli.report.levels import Levels
from liqcli.report.stats import CumulativeStats, ExchangeFigures, Figures
from liqcli.report.top import TopList
from liqcli.report.windows import WindowedStats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from liqcli.formatters._document import Report


@dataclass(slots=True)
class DisplayTable:
    """One titled table: headers, text rows, and per row the key (exchange or side) that
    picks its colour and the share (percent of USD) its bar shows."""

    kind: str
    title: str
    headers: list[str]
    align: list[str]  # "left" | "right" per column
    rows: list[list[str]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    shares: list[Decimal | None] = field(default_factory=list)
    # chart tables (history): per row the LONG and SHORT USD its two-colour bar shows
    bars: list[tuple[Decimal, Decimal]] = field(default_factory=list)

    def add(self, cells: list[str], key: str | None = None, share: Decimal | None = None) -> None:
        self.rows.append(cells)
        self.keys.append(key)
        self.shares.append(share)


def heading(stats: Report, command: str) -> str:
    """One line naming the report: symbol(s), window, exchange filter, covered time."""
    if isinstance(stats, History):
        return _history_heading(stats)
    if isinstance(stats, Levels):
        exchanges = ", ".join(printable(e) for e in stats.exchange_filter) or "all exchanges"
        window = _window_of(stats.since_ms, stats.until_ms)
        return f"{printable(stats.symbol)} · {window} · {exchanges}"
    if isinstance(stats, TopList):
        names = ", ".join(printable(s) for s in stats.symbols[:6])
        if len(stats.symbols) > 6:
            names += f", … ({len(stats.symbols)} symbols)"
        exchanges = ", ".join(printable(e) for e in stats.exchange_filter) or "all exchanges"
        window = _window_of(stats.since_ms, stats.until_ms)
        side = f" · {stats.side_filter} only" if stats.side_filter else ""
        return f"{names or 'no symbols'} · {window} · {exchanges}{side}"
    if isinstance(stats, WindowedStats):
        first = stats.reports[0]
        labels = ", ".join(printable(w.label) for w in stats.windows)
        line = heading(first, command).split(" · ")
        line[1] = f"trailing {labels} until {iso_or_none(stats.until_ms)}"
        return " · ".join(line)
    if command == "symbols" or stats.multi:
        names = ", ".join(printable(s) for s in stats.symbols[:6])
        more = f", … ({len(stats.symbols)} symbols)" if len(stats.symbols) > 6 else ""
        who = f"{names}{more}" if stats.symbols else "no symbols"
    else:
        who = printable(stats.symbols[0])
    exchanges = ", ".join(printable(e) for e in stats.exchange_filter) or "all exchanges"
    return f"{who} · {window_text(stats)} · {exchanges}"


def window_text(stats: CumulativeStats) -> str:
    return _window_of(stats.since_ms, stats.until_ms)


def _window_of(since_ms: int | None, until_ms: int | None) -> str:
    since, until = iso_or_none(since_ms), iso_or_none(until_ms)
    if since is None and until is None:
        return "all time"
    return f"[{since or '…'}, {until or '…'})"


def covered(stats: Report) -> str:
    if isinstance(stats, History):
        count = len({(b.start_ms, b.end_ms) for b in stats.buckets})
        return f"{count:,} buckets of {stats.interval}, {fmt_int(stats.events)} events"
    if isinstance(stats, Levels):
        if stats.step is None:
            return "no events"
        last = "-" if stats.last_price is None else plain_amount(stats.last_price)
        return (f"{len(stats.bands):,} bands of {plain_amount(stats.step)} "
                f"{printable(stats.quote)}, {fmt_int(stats.events)} events, last price {last}")
    if isinstance(stats, TopList):
        unit = "USD" if stats.by == "usd" else "base quantity"
        return f"the {stats.n} largest by {unit}: {len(stats.entries)} found"
    if isinstance(stats, WindowedStats):
        return ", ".join(
            f"{printable(w.label)}: {fmt_int(r.totals.events)} events" for w, r in stats.pairs()
        )
    if stats.first_ms is None:
        return "no events"
    hours = NONE_TEXT if stats.duration_hours is None else fmt_rate(stats.duration_hours)
    return f"{iso_or_none(stats.first_ms)} → {iso_or_none(stats.last_ms)} ({hours} h)"


def _qty_header(stats: CumulativeStats) -> str:
    return f"Qty {printable(stats.base)}" if stats.base else "Qty"


def display_tables(stats: Report, command: str) -> list[DisplayTable]:
    if isinstance(stats, History):
        return [history_table(stats)]
    if isinstance(stats, WindowedStats):
        return windowed_tables(stats, command)
    if isinstance(stats, TopList):
        return [top_table(stats)]
    if isinstance(stats, Levels):
        return [levels_table(stats)]
    if command == "symbols":
        return [_symbols_table(stats)]
    sections = sections_of(command)
    tables = [_BUILDERS[section](stats) for section in sections if section in _BUILDERS]
    if stats.multi and stats.base is None and "totals" in sections:
        tables.append(_bases_table(stats))
    if "coverage" in sections:
        gaps = gaps_table(stats)
        if gaps is not None:
            tables.append(gaps)
    return tables


def _totals_table(stats: CumulativeStats) -> DisplayTable:
    t = stats.totals
    table = DisplayTable("totals", "Totals", ["Metric", "Value"], ["left", "right"])
    table.add(["Events", fmt_int(t.events)])
    table.add(["USD", fmt_usd(t.usd)])
    table.add([_qty_header(stats), fmt_qty(t.qty)])
    table.add(["Avg USD / event", fmt_usd(t.avg_usd)])
    table.add([f"Avg {_qty_header(stats)} / event", fmt_qty(t.avg_qty)])
    span = "" if t.rate_hours is None else f" (over {fmt_rate(t.rate_hours)} h)"
    table.add([f"Events / hour{span}", fmt_rate(t.events_per_hour)])
    table.add(["First event", iso_or_none(stats.first_ms) or NONE_TEXT])
    table.add(["Last event", iso_or_none(stats.last_ms) or NONE_TEXT])
    hours = stats.duration_hours
    table.add(["Duration (h)", NONE_TEXT if hours is None else fmt_rate(hours)])
    return table


def footnotes(stats: Report, command: str) -> list[str]:
    """One line per exchange of the report whose feed is sampled: its figures are lower
    bounds (``binance: sampled feed, …, at least these figures``). ``history``, ``top`` and
    ``levels`` carry no completeness flags (none yet)."""
    rows: list[ExchangeFigures]
    if isinstance(stats, WindowedStats):
        rows = [row for _, one in stats.pairs() for row in one.exchanges]
    elif not isinstance(stats, CumulativeStats):
        return []
    elif command == "symbols":
        rows = [row for one in stats.symbol_reports() for row in one.exchanges]
    else:
        rows = list(stats.exchanges)
    notes: dict[str, str] = {}
    for row in rows:
        if row.complete is False:
            notes.setdefault(row.exchange, f"{printable(row.exchange)}: {row.note}")
    return [notes[name] for name in sorted(notes)]


def _figure_cells(row: Figures) -> list[str]:
    return [
        fmt_int(row.events), fmt_pct(row.events_pct),
        fmt_usd(row.usd), fmt_pct(row.usd_pct),
        fmt_qty(row.qty), fmt_pct(row.qty_pct),
    ]


def _figure_headers(stats: CumulativeStats) -> list[str]:
    return ["Events", "Events %", "USD", "USD %", _qty_header(stats), "Qty %"]


def _sides_table(stats: CumulativeStats) -> DisplayTable:
    table = DisplayTable(
        "sides", "Liquidated positions by side", ["Side", *_figure_headers(stats)],
        ["left"] + ["right"] * 6,
    )
    for row in stats.sides:
        table.add([row.side, *_figure_cells(row)], key=row.side, share=row.usd_pct)
    return table


def _exchanges_table(stats: CumulativeStats) -> DisplayTable:
    table = DisplayTable(
        "exchanges", "By exchange", ["Exchange", *_figure_headers(stats)],
        ["left"] + ["right"] * 6,
    )
    for row in stats.exchanges:
        table.add(
            [printable(row.exchange), *_figure_cells(row)], key=row.exchange, share=row.usd_pct
        )
    return table


def _matrix_table(stats: CumulativeStats) -> DisplayTable:
    table = DisplayTable(
        "matrix", "Exchange × side", ["Exchange", "Side", "Events", "USD", _qty_header(stats)],
        ["left", "left", "right", "right", "right"],
    )
    for cell in stats.matrix:
        table.add(
            [printable(cell.exchange), cell.side, fmt_int(cell.events), fmt_usd(cell.usd),
             fmt_qty(cell.qty)],
            key=cell.exchange,
        )
    return table


def _bases_table(stats: CumulativeStats) -> DisplayTable:
    table = DisplayTable(
        "bases", "Quantity by base asset (never summed across assets)",
        ["Base", "Qty", "LONG qty", "SHORT qty"], ["left", "right", "right", "right"],
    )
    long_side, short_side = stats.side("LONG"), stats.side("SHORT")
    for base, qty in stats.totals.qty_by_base.items():
        table.add([
            printable(base), fmt_qty(qty),
            fmt_qty(long_side.qty_by_base.get(base)), fmt_qty(short_side.qty_by_base.get(base)),
        ])
    return table


def _symbols_table(stats: CumulativeStats) -> DisplayTable:
    table = DisplayTable(
        "symbols", "Symbols",
        ["Symbol", "Events", "USD", "LONG USD", "SHORT USD", "Qty", "Base", "First event",
         "Last event", "Exchanges"],
        ["left", "right", "right", "right", "right", "right", "left", "left", "left", "left"],
    )
    for one in stats.symbol_reports():
        table.add([
            printable(one.symbols[0]), fmt_int(one.totals.events), fmt_usd(one.totals.usd),
            fmt_usd(one.side("LONG").usd), fmt_usd(one.side("SHORT").usd),
            fmt_qty(one.totals.qty), printable(one.base or ""),
            iso_or_none(one.first_ms) or NONE_TEXT, iso_or_none(one.last_ms) or NONE_TEXT,
            " ".join(printable(e.exchange) for e in one.exchanges),
        ])
    return table


def gaps_table(stats: CumulativeStats) -> DisplayTable | None:
    """Every exchange the live collector covered, with its gaps in the window or "no gaps";
    None without coverage records (nothing is known about gaps then)."""
    coverage = stats.coverage
    if coverage is None or not coverage.exchanges:
        return None
    table = DisplayTable(
        "gaps", "Feed gaps (live collector not connected)",
        ["Exchange", "From", "To", "Length"], ["left", "left", "left", "right"],
    )
    for exchange in coverage.exchanges:
        gaps = coverage.gaps_of(exchange)
        if not gaps:
            table.add([printable(exchange), "no gaps", "", ""], key=exchange)
        for gap in gaps:
            end = iso_or_none(gap.end_ms) or NONE_TEXT
            table.add(
                [printable(exchange), iso_or_none(gap.start_ms) or NONE_TEXT,
                 f"{end} (now)" if gap.ongoing else end, fmt_span(gap.end_ms - gap.start_ms)],
                key=exchange,
            )
    return table


def windowed_tables(stats: WindowedStats, command: str) -> list[DisplayTable]:
    """The sections of ``command`` with one column group per trailing window."""
    pairs = stats.pairs()
    labels = [printable(w.label) for w, _ in pairs]
    first = pairs[0][1]
    tables = []
    sections = sections_of(command)
    if "totals" in sections:
        table = DisplayTable(
            "totals", "Totals", ["Metric", *labels], ["left"] + ["right"] * len(pairs)
        )
        metrics: list[tuple[str, Callable[[CumulativeStats], str]]] = [
            ("Events", lambda r: fmt_int(r.totals.events)),
            ("USD", lambda r: fmt_usd(r.totals.usd)),
            (_qty_header(first), lambda r: fmt_qty(r.totals.qty)),
            ("Avg USD / event", lambda r: fmt_usd(r.totals.avg_usd)),
            ("LONG USD", lambda r: fmt_usd(r.side("LONG").usd)),
            ("SHORT USD", lambda r: fmt_usd(r.side("SHORT").usd)),
            ("Events / hour", lambda r: fmt_rate(r.totals.events_per_hour)),
        ]
        for name, cell in metrics:
            table.add([name, *(cell(r) for _, r in pairs)])
        tables.append(table)
    for section, title, names in (
        ("sides", "Liquidated positions by side", [side.side for side in first.sides]),
        ("exchanges", "By exchange", sorted({e.exchange for _, r in pairs for e in r.exchanges})),
    ):
        if section not in sections:
            continue
        headers = [section[:-1].capitalize()]
        for label in labels:
            headers += [f"{label} events", f"{label} USD", f"{label} USD %"]
        # kind "<section>-windows": coloured like the section, without share bars
        table = DisplayTable(
            f"{section}-windows", title, headers, ["left"] + ["right"] * (3 * len(pairs))
        )
        for name in names:
            cells = [printable(name)]
            for _, report in pairs:
                row: Figures | None = (
                    report.side(name) if section == "sides"  # type: ignore[arg-type]
                    else report.exchange(name)
                )
                cells += (
                    [fmt_int(row.events), fmt_usd(row.usd), fmt_pct(row.usd_pct)]
                    if row is not None else ["0", fmt_usd(Decimal(0)), NONE_TEXT]
                )
            table.add(cells, key=name)
        tables.append(table)
    return tables


def levels_table(levels: Levels) -> DisplayTable:
    """Bands from the highest price down; the band of the last price is marked."""
    base = printable(levels.base)
    table = DisplayTable(
        "levels", f"Liquidations by price ({printable(levels.quote)})",
        ["Price from", "to", "", "LONG events", "LONG USD", "SHORT events", "SHORT USD",
         f"Qty {base}"],
        ["right", "right", "left", "right", "right", "right", "right", "right"],
    )
    last = levels.last_price
    for band in reversed(levels.bands):
        here = last is not None and band.low <= last < band.high
        table.add(
            [plain_amount(band.low), plain_amount(band.high), "◀ last" if here else "",
             fmt_int(band.long_events), fmt_usd(band.long_usd), fmt_int(band.short_events),
             fmt_usd(band.short_usd), fmt_qty(band.qty)],
        )
        table.bars.append((band.long_usd, band.short_usd))
    return table


def top_table(top: TopList) -> DisplayTable:
    """One row per liquidation, largest first, with its rank."""
    table = DisplayTable(
        "top", "Largest liquidations" + (" (by base quantity)" if top.by == "qty" else ""),
        ["#", "Time", "Exchange", "Symbol", "Side", "Price", "Qty", "USD", "Id"],
        ["right", "left", "left", "left", "left", "right", "right", "right", "left"],
    )
    for rank, e in enumerate(top.entries, 1):
        table.add(
            [str(rank), iso_or_none(e.ts_ms) or NONE_TEXT, printable(e.exchange),
             printable(e.symbol), e.side, plain_amount(e.price), plain_amount(e.qty),
             fmt_usd(e.usd), printable(e.id or "")],
            key=e.side,
        )
    return table


def _history_heading(history: History) -> str:
    names = ", ".join(printable(s) for s in history.symbols[:6])
    if len(history.symbols) > 6:
        names += f", … ({len(history.symbols)} symbols)"
    exchanges = ", ".join(printable(e) for e in history.exchange_filter) or "all exchanges"
    if history.by == "exchange":
        exchanges += ", by exchange"
    window = f"[{iso_or_none(history.since_ms)}, {iso_or_none(history.until_ms)})"
    return f"{names or 'no symbols'} · {window} · {exchanges}"


def history_table(history: History) -> DisplayTable:
    """Every bucket: start, figures, LONG and SHORT USD (the rich table adds their bars)."""
    base = history.base
    qty = f"Qty {printable(base)}" if base else "Qty"
    who = (["Symbol"] if history.multi else []) + (["Exchange"] if history.by else [])
    table = DisplayTable(
        "history", f"Liquidations per {history.interval} (UTC)",
        ["Start", *who, "Events", "USD", "LONG USD", "SHORT USD", qty],
        ["left"] * (1 + len(who)) + ["right"] * 5,
    )
    for b in history.buckets:
        names = ([printable(b.symbol)] if history.multi else []) + (
            [printable(b.exchange or "")] if history.by else []
        )
        start = iso_or_none(b.start_ms) or NONE_TEXT
        if history.interval_ms >= 86_400_000:
            start = start[:10]
        elif history.interval_ms >= 60_000:
            start = start[:16].replace("T", " ")
        table.add(
            [start, *names, fmt_int(b.events), fmt_usd(b.usd), fmt_usd(b.long_usd),
             fmt_usd(b.short_usd), fmt_qty(b.qty)],
            key=b.exchange,
        )
        table.bars.append((b.long_usd, b.short_usd))
    return table


@dataclass(frozen=True, slots=True)
class Tier:
    """A size class of one liquidation (USD notional at least ``usd``), with its rich style."""

    usd: Decimal
    label: str
    style: str  # watch's recent pane: the whole row
    emphasis: str  # tail: added to the side's colour


# One table for every view of individual liquidations (watch's recent pane; a `tail`):
# like aggr's thresholds, largest first.
LIQUIDATION_TIERS = (
    Tier(Decimal(1_000_000), "1M", "bold reverse magenta", "bold reverse"),
    Tier(Decimal(200_000), "200k", "bold reverse red", "bold underline"),
    Tier(Decimal(100_000), "100k", "bold red", "bold"),
    Tier(Decimal(50_000), "50k", "bold yellow", ""),
)


def tier_of(usd: Decimal) -> Tier | None:
    """The largest tier ``usd`` reaches; None below the smallest (50,000 USD)."""
    for tier in LIQUIDATION_TIERS:
        if usd >= tier.usd:
            return tier
    return None


_BUILDERS = {
    "totals": _totals_table,
    "sides": _sides_table,
    "exchanges": _exchanges_table,
    "matrix": _matrix_table,
}

__all__ = [
    "COMBINED_SYMBOL", "LIQUIDATION_TIERS", "DisplayTable", "Tier", "covered", "display_tables",
    "footnotes", "gaps_table", "heading", "history_table", "levels_table", "tier_of", "top_table",
    "usd_tier", "usd_tier_style",
]


BELOW_TIERS_STYLE = "dim"  # ``tail``: an event below the smallest tier


def usd_tier(usd: Decimal) -> int:
    """The tier number of an event's USD: 4 (≥ 1M), 3 (≥ 200k), 2 (≥ 100k), 1 (≥ 50k) or 0."""
    tier = tier_of(usd)
    return 0 if tier is None else len(LIQUIDATION_TIERS) - LIQUIDATION_TIERS.index(tier)


def usd_tier_style(usd: Decimal) -> str:
    """``tail``'s emphasis for an event's tier (combined there with the side's colour)."""
    tier = tier_of(usd)
    return BELOW_TIERS_STYLE if tier is None else tier.emphasis
