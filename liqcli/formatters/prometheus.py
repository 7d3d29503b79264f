"""``prometheus``: the Prometheus text exposition format (0.0.4), e.g. for node_exporter's
textfile collector (``-o /var/lib/node_exporter/liqcli.prom`` writes it atomically)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from liqcli.formatters._metrics import escape_help, families, sample_line

if TYPE_CHECKING:
    from liqcli.formatters import RenderOptions
    from liqcli.report.stats import CumulativeStats

DESCRIPTION = "Prometheus text exposition (counters/gauges; node_exporter textfile collector)"


def render(stats: CumulativeStats, command: str, out: TextIO, options: RenderOptions) -> None:
    for family in families(stats, command):
        name = family.sample_name
        out.write(f"# HELP {name} {escape_help(family.help)}\n# TYPE {name} {family.kind}\n")
        for labels, value in family.samples:
            out.write(sample_line(family, labels, value) + "\n")
