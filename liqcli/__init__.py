"""liqcli: exact cumulative liquidation reports for crypto perpetual futures."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

# The library API is imported lazily so `import liqcli` (and the CLI's start-up) stays cheap.
_LAZY = {
    "Event": "liqcli.model",
    "Side": "liqcli.model",
    "CumulativeStats": "liqcli.report.stats",
    "SideFigures": "liqcli.report.stats",
    "ExchangeFigures": "liqcli.report.stats",
    "MatrixCell": "liqcli.report.stats",
    "History": "liqcli.report.history",
    "HistoryBucket": "liqcli.report.history",
    "Levels": "liqcli.report.levels",
    "LevelBand": "liqcli.report.levels",
    "Store": "liqcli.store.store",
    "TopList": "liqcli.report.top",
    "compute_stats": "liqcli.report.core",
    "LiquidationDataAggregator": "liqcli.api",
    "format_stats_summary": "liqcli.api",
    "connect": "liqcli.store.connection",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'liqcli' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
