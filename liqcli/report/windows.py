"""Trailing windows (``--windows 1h,4h,12h,24h``): several windows ending at the same time.

Parsing lives here, not in the CLI, so every command (``totals``, ``sides``, ``exchanges``,
and later ``watch``) reads the list the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from liqcli.errors import UsageError
from liqcli.report.core import DEFAULT_SYMBOL, RollupSource, compute_stats
from liqcli.report.stats import CumulativeStats

MAX_WINDOWS = 12
MAX_WINDOW_MS = 400 * 86_400_000  # longer trailing windows are a usage error (use --since)


@dataclass(frozen=True, slots=True)
class TrailingWindow:
    """``[until - duration_ms, until)``, shown as ``label`` (the text given, e.g. ``4h``)."""

    label: str
    duration_ms: int


def parse_windows(
    text: str | Iterable[str], option: str = "--windows"
) -> tuple[TrailingWindow, ...]:
    """The windows of ``1h,4h,12h,24h`` (or several such items), in the order given.

    Each item is a duration (``30m``, ``4h``, ``7d``, ``1h30m``); a repeated label counts once.
    UsageError for an empty list, a bad duration, more than MAX_WINDOWS windows, or a window
    longer than 400 days.
    """
    from liqcli.report.timeparse import parse_duration

    items = [text] if isinstance(text, str) else list(text)
    found: dict[str, TrailingWindow] = {}
    for item in items:
        for part in item.split(","):
            label = part.strip().lower()
            duration = parse_duration(label, option=option)
            if duration > MAX_WINDOW_MS:
                raise UsageError(f"{option}: {label!r} is longer than 400 days (use --since)")
            found.setdefault(label, TrailingWindow(label, duration))
    if not found:
        raise UsageError(f"{option}: no window given (e.g. 1h,4h,12h,24h)")
    if len(found) > MAX_WINDOWS:
        raise UsageError(f"{option}: at most {MAX_WINDOWS} windows")
    return tuple(found.values())


@dataclass(frozen=True, slots=True)
class WindowedStats:
    """One report per trailing window, all ending at ``until_ms``, in the order asked."""

    windows: tuple[TrailingWindow, ...]
    until_ms: int
    reports: tuple[CumulativeStats, ...]

    def pairs(self) -> tuple[tuple[TrailingWindow, CumulativeStats], ...]:
        return tuple(zip(self.windows, self.reports, strict=True))


def compute_windows(
    store: RollupSource,
    symbols: str | Iterable[str] | None = DEFAULT_SYMBOL,
    windows: str | Iterable[str | TrailingWindow] = "1h,4h,12h,24h",
    *,
    until_ms: int | None = None,
    exchanges: Iterable[str] | None = None,
    all_symbols: bool = False,
    now_ms: int | None = None,
) -> WindowedStats:
    """``compute_stats`` for each trailing window ``[until - d, until)`` (``until`` default:
    now). Every figure is the core's, exact; each window reads its rollups (O(rollups) each)."""
    items = [windows] if isinstance(windows, str) else list(windows)
    parsed = tuple(
        item for text in items
        for item in ((text,) if isinstance(text, TrailingWindow) else parse_windows(text))
    )
    if until_ms is None:
        if now_ms is None:
            from liqcli.report.timeparse import now_ms as current_ms

            now_ms = current_ms()
        until_ms = now_ms
    reports = tuple(
        compute_stats(
            store, symbols, since_ms=until_ms - window.duration_ms, until_ms=until_ms,
            exchanges=exchanges, all_symbols=all_symbols,
        )
        for window in parsed
    )
    return WindowedStats(windows=parsed, until_ms=until_ms, reports=reports)
