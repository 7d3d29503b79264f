"""Metric families of a report, for the ``prometheus`` and ``openmetrics`` formats.

All time, the figures only grow: they are COUNTERS (``liqcli_liquidations_total`` …). With a
window (``--since``/``--until``) a figure can go down as the window slides: they are GAUGES
(``liqcli_window_liquidations`` …). Labels by command: ``totals`` and ``symbols`` per symbol;
``sides`` + ``side``; ``exchanges`` + ``exchange``; ``matrix`` and ``summary`` + both. Every
series carries ``symbol``; quantities also ``base`` (they are in base-asset units, never summed
across base assets). Values are the exact decimal figures printed in plain notation: a
monitoring system reads them as 64-bit floats, which is its precision, not liqcli's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from liqcli.report.stats import CumulativeStats

LABELS_BY_COMMAND: dict[str, tuple[str, ...]] = {
    "totals": (),
    "symbols": (),
    "sides": ("side",),
    "exchanges": ("exchange",),
    "matrix": ("exchange", "side"),
    "summary": ("exchange", "side"),
}


@dataclass(slots=True)
class Family:
    name: str  # without the counter's ``_total`` suffix
    kind: str  # "counter" or "gauge"
    help: str
    samples: list[tuple[dict[str, str], Decimal | int]] = field(default_factory=list)

    @property
    def sample_name(self) -> str:
        return f"{self.name}_total" if self.kind == "counter" else self.name


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: Decimal | int) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def sample_line(family: Family, labels: dict[str, str], value: Decimal | int) -> str:
    inner = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels.items())
    return f"{family.sample_name}{{{inner}}} {number(value)}"


def _one_symbol(stats: CumulativeStats) -> Iterator[CumulativeStats]:
    if stats.multi:
        yield from stats.per_symbol
    else:
        yield stats


def families(stats: CumulativeStats, command: str) -> list[Family]:
    """The report's figures as metric families (see the module docstring)."""
    windowed = stats.since_ms is not None or stats.until_ms is not None
    kind = "gauge" if windowed else "counter"
    prefix = "liqcli_window_" if windowed else "liqcli_"
    scope = "in the report window" if windowed else "since the store began"
    events = Family(f"{prefix}liquidations", kind, f"Liquidation events {scope}.")
    usd = Family(f"{prefix}liquidated_usd", kind,
                 f"Liquidated notional in the quote currency {scope}.")
    qty = Family(f"{prefix}liquidated_qty", kind,
                 f"Liquidated quantity in base-asset units {scope}.")
    last = Family("liqcli_last_event_timestamp_seconds", "gauge",
                  "Time of the latest liquidation in the report, seconds since the epoch.")
    extra = LABELS_BY_COMMAND.get(command, ("exchange", "side"))
    for one in _one_symbol(stats):
        symbol = one.symbols[0] if one.symbols else ""
        base = one.base or ""
        if extra == ():
            rows: list[tuple[dict[str, str], int, Decimal, Decimal | None]] = [
                ({}, one.totals.events, one.totals.usd, one.totals.qty)]
        elif extra == ("side",):
            rows = [({"side": s.side}, s.events, s.usd, s.qty) for s in one.sides]
        elif extra == ("exchange",):
            rows = [({"exchange": e.exchange}, e.events, e.usd, e.qty) for e in one.exchanges]
        else:
            rows = [({"exchange": c.exchange, "side": c.side}, c.events, c.usd, c.qty)
                    for c in one.matrix]
        for labels, count, notional, quantity in rows:
            series = {"symbol": symbol, **labels}
            events.samples.append((series, count))
            usd.samples.append((series, notional))
            if quantity is not None:
                qty.samples.append(({**series, "base": base}, quantity))
        if one.last_ms is not None:
            last.samples.append(({"symbol": symbol},
                                 Decimal(one.last_ms).scaleb(-3)))
    return [family for family in (events, usd, qty, last) if family.samples]
