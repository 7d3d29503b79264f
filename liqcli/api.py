"""The old ``data_aggregator.py`` API, kept for existing users, on top of the exact core.

Differences from the old script, by design: amounts are ``Decimal`` (exact), ``start_time`` /
``end_time`` are timezone-aware UTC datetimes (None without events), ``duration_hours`` is None
without events, and ``*_btc`` fields hold the symbol's base-asset quantity (BTC for BTCUSDT,
ETH for ETHUSDT …). ``exchange_side_*`` are nested: ``{exchange: {"LONG": …, "SHORT": …}}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from liqcli.errors import UsageError
from liqcli.report.core import DEFAULT_SYMBOL, compute_stats
from liqcli.report.stats import CumulativeStats

if TYPE_CHECKING:
    from liqcli.report.history import History
    from liqcli.report.levels import Levels
    from liqcli.report.top import TopList
    from liqcli.store.store import Store

TimeLike = datetime | str | int | None

__all__ = [
    "CumulativeStats",
    "LiquidationDataAggregator",
    "format_stats_summary",
    "get_cumulative_stats",
]


def to_ms(value: TimeLike, option: str = "time", *, now: int | None = None) -> int | None:
    """Epoch ms of a datetime (naive = UTC), a --since-style string, or an epoch number.

    ``now`` (epoch ms, default the current time) is the reference of durations (``24h``).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    from liqcli.report.timeparse import parse_instant

    return parse_instant(str(value), now=now, option=option)


class LiquidationDataAggregator:
    """Cumulative liquidation statistics from a liqcli store (the old script's class)."""

    def __init__(
        self, redis_url: str | None = None, prefix: str = "liq", *, store: Store | None = None
    ) -> None:
        if store is None:
            from liqcli.store.connection import open_store

            store = open_store(redis_url, prefix, create=False)
        self.store = store

    def get_cumulative_stats(
        self, symbol: str = DEFAULT_SYMBOL, since: TimeLike = None, until: TimeLike = None,
        exchanges: list[str] | None = None,
    ) -> CumulativeStats:
        """Exact figures of ``symbol`` in [since, until) (None = unbounded).

        Raises UsageError for an unreadable time or when ``since`` is not before ``until``.
        """
        since_ms, until_ms, _ = self._window(since, until)
        return compute_stats(
            self.store, symbol, since_ms=since_ms, until_ms=until_ms, exchanges=exchanges
        )

    def _window(self, since: TimeLike, until: TimeLike) -> tuple[int | None, int | None, int]:
        """``(since_ms, until_ms, now_ms)``; UsageError when the window is empty."""
        from liqcli.report.timeparse import iso_utc, now_ms

        current = now_ms()
        since_ms, until_ms = to_ms(since, "since", now=current), to_ms(until, "until", now=current)
        if since_ms is not None and until_ms is not None and since_ms >= until_ms:
            raise UsageError(
                f"since ({iso_utc(since_ms)}) must be before until ({iso_utc(until_ms)})"
            )
        return since_ms, until_ms, current

    def history(
        self, symbols: str | Iterable[str] = DEFAULT_SYMBOL, interval: str = "1h",
        since: TimeLike = None, until: TimeLike = None, exchanges: Iterable[str] | None = None,
        *, all_symbols: bool = False, by_exchange: bool = False,
    ) -> History:
        """Every ``interval`` bucket (``1m`` … ``1w``) of [since, until), widened to whole UTC
        buckets; without ``since`` the last 24 hours. A :class:`liqcli.report.history.History`
        whose ``buckets`` hold exact events, USD and quantity, LONG and SHORT."""
        from liqcli.report.history import compute_history

        since_ms, until_ms, current = self._window(since, until)
        return compute_history(
            self.store, symbols, interval=interval, since_ms=since_ms, until_ms=until_ms,
            exchanges=exchanges, all_symbols=all_symbols, by_exchange=by_exchange,
            now_ms=current,
        )

    def top(
        self, symbols: str | Iterable[str] = DEFAULT_SYMBOL, n: int = 10, since: TimeLike = None,
        until: TimeLike = None, exchanges: Iterable[str] | None = None, *, by: str = "usd",
        side: str | None = None, all_symbols: bool = False,
    ) -> TopList:
        """The ``n`` largest liquidations of [since, until) by ``usd`` or ``qty``, largest
        first: a :class:`liqcli.report.top.TopList` whose ``entries`` are exact ``Event``s."""
        from liqcli.report.top import compute_top

        since_ms, until_ms, _ = self._window(since, until)
        return compute_top(
            self.store, symbols, n=n, by=by, since_ms=since_ms, until_ms=until_ms,
            exchanges=exchanges, side=side, all_symbols=all_symbols,
        )

    def levels(
        self, symbol: str = DEFAULT_SYMBOL, step: Decimal | str | int | None = None,
        since: TimeLike = None, until: TimeLike = None, exchanges: Iterable[str] | None = None,
        *, bands: int | None = None,
    ) -> Levels:
        """Liquidations of ``symbol`` by price band (``step`` in the quote currency, or about
        ``bands`` bands; default 20): a :class:`liqcli.report.levels.Levels`, exact."""
        from liqcli.report.levels import compute_levels

        since_ms, until_ms, _ = self._window(since, until)
        return compute_levels(
            self.store, symbol, step=None if step is None else Decimal(step), bands=bands,
            since_ms=since_ms, until_ms=until_ms, exchanges=exchanges,
        )

    def get_exchanges(self, symbol: str | None = None) -> list[str]:
        """Exchanges with data for ``symbol``, or for any symbol when None (sorted)."""
        symbols = [symbol.upper()] if symbol else self.store.symbols()
        found: set[str] = set()
        for name in symbols:
            found.update(self.store.exchanges(name))
        return sorted(found)

    def format_stats_summary(self, stats: CumulativeStats) -> str:
        return format_stats_summary(stats)


def get_cumulative_stats(
    symbol: str = DEFAULT_SYMBOL, redis_url: str | None = None
) -> CumulativeStats:
    """Quick access, like the old module-level helper."""
    return LiquidationDataAggregator(redis_url).get_cumulative_stats(symbol)


def format_stats_summary(stats: CumulativeStats) -> str:
    """The old plain-text summary (same layout), from exact figures."""
    from liqcli.formatters._text import fmt_int, fmt_pct, fmt_qty, fmt_usd

    base = stats.base or "qty"
    hours = "-" if stats.duration_hours is None else f"{stats.duration_hours:.1f}"
    rule, thin = "=" * 80, "-" * 80
    lines = [
        rule,
        "CUMULATIVE LIQUIDATION STATISTICS",
        rule,
        f"Total Events: {fmt_int(stats.total_events)}",
        f"Total USD:    ${fmt_usd(stats.total_usd)}",
        f"Total {base + ':':7} {fmt_qty(stats.total_btc)} {base}",
        f"Duration:     {hours} hours",
        thin,
    ]
    for side in stats.sides:
        label = "Longs:" if side.side == "LONG" else "Shorts:"
        lines += [
            f"{label:14}{fmt_int(side.events)} ({fmt_pct(side.events_pct)})",
            f"  ├─ {base + ':':8} {fmt_qty(side.qty)} {base}",
            f"  └─ USD:     ${fmt_usd(side.usd)}",
        ]
    lines.append(thin)
    for row in stats.exchanges:
        from liqcli.formatters._text import printable

        lines.append(
            f"{printable(row.exchange).upper():12} {fmt_int(row.events):>6} events "
            f"({fmt_pct(row.events_pct):>6}) | {fmt_qty(row.qty):>14} {base} | "
            f"${fmt_usd(row.usd):>16}"
        )
    lines.append(rule)
    return "\n".join(lines)
