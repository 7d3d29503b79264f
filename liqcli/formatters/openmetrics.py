"""``openmetrics``: the OpenMetrics 1.0 text format (families named without ``_total``,
``# EOF`` at the end), for scrapers and pushers that speak OpenMetrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from liqcli.formatters._metrics import escape_help, families, sample_line

if TYPE_CHECKING:
    from liqcli.formatters import RenderOptions
    from liqcli.report.stats import CumulativeStats

DESCRIPTION = "OpenMetrics 1.0 text (same series as prometheus, ends with # EOF)"


def render(stats: CumulativeStats, command: str, out: TextIO, options: RenderOptions) -> None:
    for family in families(stats, command):
        out.write(f"# TYPE {family.name} {family.kind}\n"
                  f"# HELP {family.name} {escape_help(family.help)}\n")
        if family.name.endswith("_seconds"):
            out.write(f"# UNIT {family.name} seconds\n")
        for labels, value in family.samples:
            out.write(sample_line(family, labels, value) + "\n")
    out.write("# EOF\n")
