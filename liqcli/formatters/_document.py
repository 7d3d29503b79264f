"""Report documents (JSON shape) and flat rows (ndjson, csv, tsv), built from CumulativeStats.

Values stay Decimal/int/str/None here; the writers decide how to print them.
See docs/output-formats.md for the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from liqcli.report.stats import CumulativeStats
from liqcli.report.timeparse import iso_utc

try:  # json.dumps(text) is this C function (ensure_ascii): without importing the json package
    from _json import encode_basestring_ascii as _json_string
except ImportError:  # pragma: no cover - a Python without the C accelerator
    from json.encoder import py_encode_basestring_ascii as _json_string

TYPE_CHECKING = False
if TYPE_CHECKING:
    # history, levels, top and windows are imported by the functions that render them (and
    # typing not at all): a one-shot totals report does not pay for them
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Any, TypeAlias

    from liqcli.report.history import History
    from liqcli.report.levels import Levels
    from liqcli.report.stats import Coverage, Figures
    from liqcli.report.top import TopList
    from liqcli.report.windows import WindowedStats

    # A result any formatter renders: the cumulative reports, the same over several trailing
    # windows (``--windows``), the time series of ``history``, the largest liquidations of
    # ``top``, the price bands of ``levels``.
    Report: TypeAlias = CumulativeStats | WindowedStats | History | TopList | Levels
    Series: TypeAlias = WindowedStats | History | TopList | Levels

REPORT_SECTIONS: dict[str, tuple[str, ...]] = {
    "totals": ("totals",),
    "sides": ("sides",),
    "exchanges": ("exchanges",),
    "matrix": ("matrix",),
    "summary": ("totals", "sides", "exchanges", "matrix", "coverage"),
}
COMMANDS: tuple[str, ...] = (*REPORT_SECTIONS, "symbols")
# Commands whose result is not a CumulativeStats (each has its own document and columns).
SERIES_COMMANDS: tuple[str, ...] = ("history", "top", "levels")
COMBINED_SYMBOL = "*"  # the ``symbol`` of rows summing several symbols

# Columns of csv/tsv rows of totals, sides, exchanges, matrix and summary (ndjson: same keys,
# with ``window`` {since, until} in place of ``since``/``until``).
ROW_COLUMNS: tuple[str, ...] = (
    "symbol", "base", "quote", "since", "until", "section", "exchange", "side",
    "events", "usd", "qty", "events_pct", "usd_pct", "qty_pct",
    "avg_usd", "avg_qty", "events_per_hour", "first_event", "last_event", "duration_hours",
    "gap_start", "gap_end", "rate_hours", "complete",
)
# Columns of csv/tsv rows of ``history``: ``symbol`` (several symbols) and ``exchange``
# (``--by exchange``) are inserted after ``end`` when they apply.
HISTORY_COLUMNS: tuple[str, ...] = (
    "start", "end", "events", "usd", "qty", "long_events", "long_usd", "long_qty",
    "short_events", "short_usd", "short_qty",
)
# Columns of csv/tsv rows of ``top`` (one row per liquidation, largest first).
TOP_COLUMNS: tuple[str, ...] = ("time", "exchange", "symbol", "side", "price", "qty", "usd", "id")
# Columns of csv/tsv rows of ``levels`` (one row per price band, ascending).
LEVEL_COLUMNS: tuple[str, ...] = (
    "low", "high", "events", "usd", "qty", "long_events", "long_usd", "long_qty",
    "short_events", "short_usd", "short_qty",
)
# Columns of csv/tsv rows of the ``symbols`` command (``exchanges`` space-separated).
SYMBOL_COLUMNS: tuple[str, ...] = (
    "symbol", "base", "quote", "since", "until", "events", "usd", "qty",
    "first_event", "last_event", "exchanges", "long_usd", "short_usd",
)

Doc = dict[str, "Any"]


def iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else iso_utc(ms)


def window(stats: CumulativeStats) -> Doc:
    return {"since": iso_or_none(stats.since_ms), "until": iso_or_none(stats.until_ms)}


def sections_of(command: str) -> tuple[str, ...]:
    try:
        return REPORT_SECTIONS[command]
    except KeyError:
        raise ValueError(f"unknown report {command!r}") from None


# ---------------------------------------------------------------- documents
def document(stats: Report, command: str = "summary") -> Doc:
    """The JSON document of a report command (``summary``, ``totals`` … ``symbols``,
    ``history``)."""
    if not isinstance(stats, CumulativeStats):
        return _series_document(stats, command)
    if command == "symbols":
        return symbols_document(stats)
    sections = sections_of(command)
    if not stats.multi:
        return _single(stats, sections)
    doc: Doc = {
        "symbols": list(stats.symbols),
        "base": stats.base,
        "quote": stats.quote,
        **_head(stats),
    }
    doc.update(_sections(stats, sections, with_bases=True))
    doc["per_symbol"] = [_single(one, sections) for one in stats.per_symbol]
    return doc


def _series_document(stats: Series, command: str) -> Doc:
    from liqcli.report.history import History
    from liqcli.report.levels import Levels
    from liqcli.report.top import TopList

    if isinstance(stats, History):
        return history_document(stats)
    if isinstance(stats, TopList):
        return top_document(stats)
    if isinstance(stats, Levels):
        return levels_document(stats)
    return windowed_document(stats, command)


def _single(stats: CumulativeStats, sections: Sequence[str]) -> Doc:
    doc: Doc = {
        "symbol": stats.symbols[0],
        "base": stats.base,
        "quote": stats.quote,
        **_head(stats),
    }
    doc.update(_sections(stats, sections, with_bases=False))
    return doc


def _head(stats: CumulativeStats) -> Doc:
    return {
        "window": window(stats),
        "exchange_filter": list(stats.exchange_filter),
        "first_event": iso_or_none(stats.first_ms),
        "last_event": iso_or_none(stats.last_ms),
        "duration_hours": stats.duration_hours,
    }


def _bases(qty_by_base: Mapping[str, Decimal]) -> Doc:
    return dict(qty_by_base)


def _sections(stats: CumulativeStats, sections: Sequence[str], *, with_bases: bool) -> Doc:
    doc: Doc = {}
    if "totals" in sections:
        t = stats.totals
        doc["totals"] = {
            "events": t.events, "usd": t.usd, "qty": t.qty,
            "avg_usd": t.avg_usd, "avg_qty": t.avg_qty, "events_per_hour": t.events_per_hour,
            "rate_hours": t.rate_hours,
        }
        if with_bases:
            doc["totals"]["qty_by_base"] = _bases(t.qty_by_base)
    if "sides" in sections:
        doc["sides"] = [
            {"side": row.side, **_figures(row, with_bases)} for row in stats.sides
        ]
    if "exchanges" in sections:
        doc["exchanges"] = [
            {"exchange": row.exchange, **_figures(row, with_bases), "complete": row.complete}
            for row in stats.exchanges
        ]
    if "matrix" in sections:
        doc["matrix"] = []
        for cell in stats.matrix:
            row: Doc = {
                "exchange": cell.exchange, "side": cell.side,
                "events": cell.events, "usd": cell.usd, "qty": cell.qty,
            }
            if with_bases:
                row["qty_by_base"] = _bases(cell.qty_by_base)
            doc["matrix"].append(row)
    if "coverage" in sections:
        doc["coverage"] = coverage_document(stats.coverage)
    return doc


def coverage_document(coverage: Coverage | None) -> Doc | None:
    """``coverage`` of a summary: checked exchanges and gaps; None when not computed."""
    if coverage is None:
        return None
    return {
        "exchanges": list(coverage.exchanges),
        "gaps": [
            {
                "exchange": gap.exchange, "start": iso_utc(gap.start_ms),
                "end": iso_utc(gap.end_ms), "hours": gap.hours, "ongoing": gap.ongoing,
            }
            for gap in coverage.gaps
        ],
    }


def _figures(row: Figures, with_bases: bool) -> Doc:
    doc: Doc = {
        "events": row.events, "usd": row.usd, "qty": row.qty,
        "events_pct": row.events_pct, "usd_pct": row.usd_pct, "qty_pct": row.qty_pct,
    }
    if with_bases:
        doc["qty_by_base"] = _bases(row.qty_by_base)
    return doc


def symbols_document(stats: CumulativeStats) -> Doc:
    """``symbols``: one entry per symbol with its events, usd, qty, first/last and exchanges."""
    return {
        "window": window(stats),
        "exchange_filter": list(stats.exchange_filter),
        "symbols": [symbol_entry(one) for one in stats.symbol_reports()],
    }


def symbol_entry(stats: CumulativeStats) -> Doc:
    return {
        "symbol": stats.symbols[0],
        "base": stats.base,
        "quote": stats.quote,
        "events": stats.totals.events,
        "usd": stats.totals.usd,
        "qty": stats.totals.qty,
        "first_event": iso_or_none(stats.first_ms),
        "last_event": iso_or_none(stats.last_ms),
        "exchanges": [row.exchange for row in stats.exchanges],
        "long_usd": stats.side("LONG").usd,
        "short_usd": stats.side("SHORT").usd,
    }


# --------------------------------------------------------------------- rows
def columns(stats: Report, command: str) -> tuple[str, ...]:
    """The csv/tsv columns of a report (the keys of :func:`rows`)."""
    if not isinstance(stats, CumulativeStats):
        from liqcli.report.history import History
        from liqcli.report.levels import Levels
        from liqcli.report.top import TopList

        if isinstance(stats, History):
            return history_columns(stats)
        if isinstance(stats, TopList):
            return TOP_COLUMNS
        if isinstance(stats, Levels):
            return LEVEL_COLUMNS
        return ("window", *ROW_COLUMNS)
    return SYMBOL_COLUMNS if command == "symbols" else ROW_COLUMNS


def rows(stats: Report, command: str) -> Iterator[Doc]:
    """Flat rows (keys = :func:`columns`: ROW_COLUMNS, SYMBOL_COLUMNS for ``symbols`` …).

    A multi-symbol report gives the rows of every symbol, then the combined rows whose
    ``symbol`` is ``*`` (their ``qty`` is None when the symbols mix base assets).
    """
    if not isinstance(stats, CumulativeStats):
        yield from _series_rows(stats, command)
        return
    if command == "symbols":
        for one in stats.symbol_reports():
            entry = symbol_entry(one)
            yield {
                "symbol": entry["symbol"], "base": entry["base"], "quote": entry["quote"],
                "since": iso_or_none(one.since_ms), "until": iso_or_none(one.until_ms),
                "events": entry["events"], "usd": entry["usd"], "qty": entry["qty"],
                "first_event": entry["first_event"], "last_event": entry["last_event"],
                "exchanges": entry["exchanges"],
                "long_usd": entry["long_usd"], "short_usd": entry["short_usd"],
            }
        return
    sections = sections_of(command)
    if stats.multi:
        for one in stats.per_symbol:
            yield from _report_rows(one, sections, one.symbols[0])
        yield from _report_rows(stats, sections, COMBINED_SYMBOL)
    else:
        yield from _report_rows(stats, sections, stats.symbols[0])


def _series_rows(stats: Series, command: str) -> Iterator[Doc]:
    from liqcli.report.history import History
    from liqcli.report.levels import Levels
    from liqcli.report.top import TopList

    if isinstance(stats, History):
        yield from history_rows(stats)
    elif isinstance(stats, TopList):
        yield from top_rows(stats)
    elif isinstance(stats, Levels):
        yield from level_rows(stats)
    else:
        for trailing, report in stats.pairs():
            for row in rows(report, command):
                yield {"window": trailing.label, **row}


def _report_rows(stats: CumulativeStats, sections: Sequence[str], symbol: str) -> Iterator[Doc]:
    def row(section: str, **values: Any) -> Doc:
        out: Doc = dict.fromkeys(ROW_COLUMNS)
        out.update(
            symbol=symbol, base=stats.base, quote=stats.quote,
            since=iso_or_none(stats.since_ms), until=iso_or_none(stats.until_ms),
            section=section,
        )
        out.update(values)
        return out

    if "totals" in sections:
        t = stats.totals
        yield row(
            "totals", events=t.events, usd=t.usd, qty=t.qty, avg_usd=t.avg_usd,
            avg_qty=t.avg_qty, events_per_hour=t.events_per_hour,
            first_event=iso_or_none(stats.first_ms), last_event=iso_or_none(stats.last_ms),
            duration_hours=stats.duration_hours, rate_hours=t.rate_hours,
        )
    if "sides" in sections:
        for s in stats.sides:
            yield row("sides", side=s.side, **_row_figures(s))
    if "exchanges" in sections:
        for e in stats.exchanges:
            yield row("exchanges", exchange=e.exchange, complete=e.complete, **_row_figures(e))
    if "matrix" in sections:
        complete = {e.exchange: e.complete for e in stats.exchanges}
        for c in stats.matrix:
            yield row(
                "matrix", exchange=c.exchange, side=c.side,
                events=c.events, usd=c.usd, qty=c.qty, complete=complete.get(c.exchange),
            )
    if "coverage" in sections and stats.coverage is not None:
        for gap in stats.coverage.gaps:
            yield row(
                "gap", exchange=gap.exchange, gap_start=iso_utc(gap.start_ms),
                gap_end=iso_utc(gap.end_ms), duration_hours=gap.hours,
            )


def _row_figures(f: Figures) -> Doc:
    return {
        "events": f.events, "usd": f.usd, "qty": f.qty,
        "events_pct": f.events_pct, "usd_pct": f.usd_pct, "qty_pct": f.qty_pct,
    }


# ------------------------------------------------------------------ windows
def windowed_document(stats: WindowedStats, command: str) -> Doc:
    """``{"windows": [one report document per trailing window]}``; each document's
    ``window`` (and its ``per_symbol`` documents') carries the window's ``label``."""
    docs = []
    for trailing, report in stats.pairs():
        doc = document(report, command)
        for one in (doc, *doc.get("per_symbol", ())):
            one["window"]["label"] = trailing.label
        docs.append(doc)
    return {"windows": docs}


# ------------------------------------------------------------------- levels
def level_rows(levels: Levels) -> Iterator[Doc]:
    """One row per price band, ascending (keys = LEVEL_COLUMNS)."""
    for band in levels.bands:
        yield {name: getattr(band, name) for name in LEVEL_COLUMNS}


def levels_document(levels: Levels) -> Doc:
    return {
        "symbol": levels.symbol,
        "base": levels.base,
        "quote": levels.quote,
        "window": {"since": iso_or_none(levels.since_ms), "until": iso_or_none(levels.until_ms)},
        "exchange_filter": list(levels.exchange_filter),
        "step": levels.step,
        "last_price": levels.last_price,
        "bands": list(level_rows(levels)),
    }


# ---------------------------------------------------------------------- top
def top_rows(top: TopList) -> Iterator[Doc]:
    """One row per liquidation, largest first (keys = TOP_COLUMNS)."""
    for e in top.entries:
        yield {
            "time": iso_utc(e.ts_ms), "exchange": e.exchange, "symbol": e.symbol,
            "side": e.side, "price": e.price, "qty": e.qty, "usd": e.usd, "id": e.id,
        }


def top_document(top: TopList) -> Doc:
    return {
        "by": top.by,
        "n": top.n,
        "window": {"since": iso_or_none(top.since_ms), "until": iso_or_none(top.until_ms)},
        "symbols": list(top.symbols),
        "exchange_filter": list(top.exchange_filter),
        "side_filter": top.side_filter,
        "liquidations": list(top_rows(top)),
    }


# ------------------------------------------------------------------ history
def history_columns(history: History) -> tuple[str, ...]:
    extra = (("symbol",) if history.multi else ()) + (
        ("exchange",) if history.by == "exchange" else ()
    )
    return (*HISTORY_COLUMNS[:2], *extra, *HISTORY_COLUMNS[2:])


def history_rows(history: History) -> Iterator[Doc]:
    """One row per bucket (× symbol × exchange), keys = :func:`history_columns`."""
    names = history_columns(history)
    for b in history.buckets:
        row: Doc = {
            "start": iso_utc(b.start_ms), "end": iso_utc(b.end_ms),
            "symbol": b.symbol, "exchange": b.exchange,
            "events": b.events, "usd": b.usd, "qty": b.qty,
            "long_events": b.long_events, "long_usd": b.long_usd, "long_qty": b.long_qty,
            "short_events": b.short_events, "short_usd": b.short_usd, "short_qty": b.short_qty,
        }
        yield {name: row[name] for name in names}


def history_document(history: History) -> Doc:
    """``{"interval": …, "buckets": […]}`` with the window, symbols and filter."""
    return {
        "interval": history.interval,
        "window": {"since": iso_utc(history.since_ms), "until": iso_utc(history.until_ms)},
        "symbols": list(history.symbols),
        "by": history.by,
        "exchange_filter": list(history.exchange_filter),
        "buckets": list(history_rows(history)),
    }


# ---------------------------------------------------------------- JSON text
def dumps(value: Any, indent: int | None = 2, *, decimal_strings: bool = False) -> str:
    """JSON text; Decimals are written as numbers in plain notation from their exact digits,
    or with ``decimal_strings`` as JSON strings of those digits (``"1.000000000000000001"``:
    exact for consumers that parse numbers as doubles, as jq 1.6 and JavaScript do)."""
    from liqcli.formatters._text import plain_decimal

    parts: list[str] = []
    add = parts.append
    # the text that opens each nesting level's items (a report nests a few levels deep)
    openers: list[str] = []
    separator = "," if indent is not None else ", "

    def opener(level: int) -> str:
        while len(openers) <= level:
            openers.append("" if indent is None else "\n" + " " * (indent * len(openers)))
        return openers[level]

    def number(item: Decimal) -> str:
        return f'"{plain_decimal(item)}"' if decimal_strings else plain_decimal(item)

    def container(items: Iterable[Any], start: str, end: str, level: int, keyed: bool) -> None:
        inner = opener(level + 1)
        add(start)
        first = True
        for member in items:
            if not first:
                add(separator)
            first = False
            add(inner)
            if keyed:
                key, member = member
                add(_json_string(key if type(key) is str else str(key)) + ": ")
            encode(member, level + 1)
        add((opener(level) if not first else "") + end)

    def encode(item: Any, level: int) -> None:
        # the exact types of a report first (cheapest), then their subclasses
        kind = type(item)
        if kind is str:
            add(_json_string(item))
        elif kind is int:
            add(str(item))
        elif kind is Decimal:
            add(number(item))
        elif item is None:
            add("null")
        elif kind is dict:
            container(item.items(), "{", "}", level, keyed=True)
        elif kind is list or kind is tuple:
            container(item, "[", "]", level, keyed=False)
        elif item is True:
            add("true")
        elif item is False:
            add("false")
        elif isinstance(item, Decimal):
            add(number(item))
        elif isinstance(item, int):
            add(str(item))
        elif isinstance(item, str):
            add(_json_string(item))
        elif isinstance(item, Mapping):
            container(item.items(), "{", "}", level, keyed=True)
        elif isinstance(item, list | tuple):
            container(item, "[", "]", level, keyed=False)
        else:
            raise TypeError(f"cannot write {type(item).__name__} as JSON")

    encode(value, 0)
    return "".join(parts)
