"""Line-by-line output of individual events (``tail``) and alert firings (``alert``, ``check``).

One line per item, written and flushed as it comes: ndjson (one JSON object), csv/tsv (a header
row first), or a table line (aligned columns; on a terminal coloured by side and USD tier).
The JSON fields are in liqcli/schemas/tail.json and alert.json (docs/alerts.md).
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any, TextIO

from liqcli.formatters._display import usd_tier, usd_tier_style
from liqcli.formatters._document import dumps, iso_or_none
from liqcli.formatters._text import fmt_qty, fmt_usd, plain_decimal, printable

if TYPE_CHECKING:
    from liqcli.model import Event
    from liqcli.report.alerts import Firing

LINE_FORMATS = ("table", "ndjson", "csv", "tsv")
EVENT_COLUMNS = ("time", "exchange", "symbol", "side", "price", "qty", "usd", "id")
SIDE_COLOURS = {"LONG": "red", "SHORT": "green"}
# table line: (header, width, right-aligned)
_TABLE = (
    ("Time (UTC)", 23, False), ("Exchange", 10, False), ("Symbol", 14, False),
    ("Side", 5, False), ("Price", 14, True), ("Qty", 16, True), ("USD", 16, True),
)


def event_doc(event: Event) -> dict[str, Any]:
    """One event as its ndjson object (liqcli/schemas/tail.json)."""
    return {
        "time": iso_or_none(event.ts_ms),
        "ts_ms": event.ts_ms,
        "exchange": event.exchange,
        "symbol": event.symbol,
        "side": event.side,
        "price": event.price,
        "qty": event.qty,
        "usd": event.usd,
        "id": event.id,
        "tier": usd_tier(event.usd),
    }


def alert_doc(firing: Firing) -> dict[str, Any]:
    """One firing as its ndjson object (liqcli/schemas/alert.json)."""
    from liqcli.report.alerts import seconds

    rule = firing.rule
    return {
        "rule": rule.name,
        "kind": rule.kind,
        "symbol": firing.symbol,
        "exchange": firing.exchange,
        "side": firing.side,
        "events": firing.events,
        "usd": firing.usd,
        "qty": firing.qty,
        "first_event": iso_or_none(firing.first_ms),
        "last_event": iso_or_none(firing.last_ms),
        "first_ms": firing.first_ms,
        "last_ms": firing.last_ms,
        "threshold": {
            "usd": rule.usd,
            "count": rule.count or None,
            "window_s": seconds(rule.window_ms) if rule.kind in ("sum", "cascade") else None,
            "baseline_s": seconds(rule.window_ms) if rule.kind == "spike" else None,
            "factor": rule.factor if rule.kind == "spike" else None,
            "side": rule.side,
            "exchanges": list(rule.exchanges),
            "per": list(rule.per),
            "cooldown_s": seconds(rule.cooldown_ms),
        },
        "median_usd": firing.median_usd,
        "trigger": event_doc(firing.trigger),
    }


def alert_json(firing: Firing) -> str:
    return dumps(alert_doc(firing), indent=None)


def _cell(value: Any) -> str:
    from liqcli.formatters._delimited import cell

    return cell(value)


class EventWriter:
    """Writes events one line each in ``fmt`` (table, ndjson, csv, tsv), flushing each line."""

    def __init__(self, fmt: str, out: TextIO, *, color: bool = False, header: bool = True):
        if fmt not in LINE_FORMATS:
            raise ValueError(f"{fmt!r} is not a line format ({', '.join(LINE_FORMATS)})")
        self.fmt = fmt
        self.out = out
        self.color = color
        self.header = header
        self._started = False
        self._console: Any = None
        self._csv: Any = None
        if fmt in ("csv", "tsv"):
            self._csv = csv.writer(out, delimiter="," if fmt == "csv" else "\t",
                                   lineterminator="\n")

    def _start(self) -> None:
        self._started = True
        if self.color and self.fmt == "table":
            from rich.console import Console

            self._console = Console(file=self.out, force_terminal=True, markup=False,
                                    highlight=False, emoji=False, soft_wrap=True)
        if not self.header:
            return
        if self._csv is not None:
            self._csv.writerow(EVENT_COLUMNS)
        elif self.fmt == "table":
            self._line(_table_cells([h for h, _w, _r in _TABLE]), "bold")

    def _line(self, text: str, style: str = "") -> None:
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(text, style=style))
        else:
            self.out.write(text + "\n")

    def write(self, event: Event) -> None:
        if not self._started:
            self._start()
        if self.fmt == "ndjson":
            self.out.write(dumps(event_doc(event), indent=None) + "\n")
        elif self._csv is not None:
            doc = event_doc(event)
            self._csv.writerow([_cell(doc[name]) for name in EVENT_COLUMNS])
        else:
            cells = [
                (iso_or_none(event.ts_ms) or "").replace("T", " ").rstrip("Z"),
                printable(event.exchange), printable(event.symbol), event.side,
                plain_decimal(event.price), fmt_qty(event.qty), fmt_usd(event.usd),
            ]
            style = f"{SIDE_COLOURS[event.side]} {usd_tier_style(event.usd)}".strip()
            self._line(_table_cells(cells), style)
        self.out.flush()

    def finish(self) -> None:
        """Write the header when nothing was written (an empty result still has its header)."""
        if not self._started:
            self._start()
        self.out.flush()


def _table_cells(cells: list[str]) -> str:
    parts = []
    for text, (_header, width, right) in zip(cells, _TABLE, strict=True):
        parts.append(text.rjust(width) if right else text.ljust(width))
    return "  ".join(parts).rstrip()
