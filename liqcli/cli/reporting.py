"""What a report command was asked for and the figures it shows, without Typer.

Shared by the Typer commands (``report_cmd``, ``watch_cmd``) and the start-up fast path
(:mod:`liqcli.cli.fast`), which must not import Typer.
"""

from __future__ import annotations

import sys

from liqcli._record import record
from liqcli.formatters import DEFAULT_FORMAT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from liqcli.report.core import RollupSource
    from liqcli.report.stats import CumulativeStats


@record(frozen=True)
class ReportRequest:
    """What a report command was asked for (after parsing, before validation of times)."""

    symbols: tuple[str, ...] | None
    all_symbols: bool
    exchanges: tuple[str, ...]
    since: str | None
    until: str | None
    fmt: str = DEFAULT_FORMAT
    table_style: str | None = None
    header: bool = True
    color: str = "auto"
    redis_url: str | None = None
    prefix: str = "liq"
    debug: bool = False


def check_selection(request: ReportRequest) -> None:
    """Raise UsageError for a bad time, symbol or exchange name: before any I/O."""
    from liqcli.report.core import normalize_exchanges, normalize_symbols
    from liqcli.report.timeparse import parse_window

    parse_window(request.since, request.until)
    normalize_symbols(request.symbols)
    normalize_exchanges(request.exchanges)


def report_stats(
    request: ReportRequest, command: str, store: RollupSource, now_ms: int | None = None
) -> CumulativeStats:
    """The CumulativeStats a report command shows (also used by ``watch``).

    ``summary`` also carries the live collector's coverage gaps inside the window (an open
    window ends at ``now_ms``, default the current time).
    """
    from liqcli.report.core import compute_stats
    from liqcli.report.timeparse import now_ms as current_ms
    from liqcli.report.timeparse import parse_window

    now = current_ms() if now_ms is None else now_ms
    since_ms, until_ms = parse_window(request.since, request.until, now=now)
    all_symbols = request.all_symbols or (command == "symbols" and request.symbols is None)
    return compute_stats(
        store,
        list(request.symbols) if request.symbols else None,
        since_ms=since_ms,
        until_ms=until_ms,
        exchanges=request.exchanges,
        all_symbols=all_symbols,
        coverage=command == "summary",
        now_ms=now,
    )


def resolve_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    from liqcli.formatters import color_wanted

    return color_wanted(sys.stdout)
