"""Which exchanges' figures are complete, and which are lower bounds (sampled feeds).

Binance's liquidation streams push at most one liquidation per symbol per second (the latest),
so what a collector stores from them is a sample: counts and sums are lower bounds. Bybit's
``allLiquidation`` pushes every liquidation. This table says so per exchange; reports carry it
(``complete`` per exchange in JSON/CSV, a footnote under tables).

The built-in table (:data:`FEEDS`) can be extended or overridden in a TOML file, for other
venues or for a complete source (a full historical import stored under its own exchange name)::

    # ~/.config/liqcli/feeds.toml  (or $XDG_CONFIG_HOME/liqcli/feeds.toml, or $LIQCLI_FEEDS)
    [complete]
    binance = false
    binance-archive = true          # a full historical import
    kraken = false
    [note]
    kraken = "sampled feed"

``complete`` is True (every liquidation), False (a sample: at least these figures) or unknown
(None: an exchange in neither table).
"""

from __future__ import annotations

import os
from pathlib import Path

from liqcli._record import record
from liqcli.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["FEEDS", "Feed", "feeds", "feeds_file", "load_feeds"]


@record(frozen=True)
class Feed:
    complete: bool
    note: str = ""  # why, for the table footnote of a sampled feed


SAMPLED_NOTE = "sampled feed, at least these figures"
# The built-in knowledge (see /docs/output-formats.md "Completeness").
FEEDS: Mapping[str, Feed] = {
    "binance": Feed(False, "sampled feed (at most one liquidation per symbol per second), "
                           "at least these figures"),
    "okx": Feed(False, "incomplete feed (OKX documents it as not complete), at least these "
                       "figures"),
    "bybit": Feed(True),  # allLiquidation: every liquidation, in 500 ms batches
    "deribit": Feed(True),  # every trade carries its liquidation flag
}


def feeds_file() -> Path:
    """``$LIQCLI_FEEDS``, else ``$XDG_CONFIG_HOME/liqcli/feeds.toml`` (``~/.config`` default)."""
    given = os.environ.get("LIQCLI_FEEDS")
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "liqcli" / "feeds.toml"


def load_feeds(path: Path) -> dict[str, Feed]:
    """The built-in table updated from the TOML file ``path`` (absent: the built-in table).

    Raises UsageError for a file that cannot be read or is not of the documented shape.
    """
    table = dict(FEEDS)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return table
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"complete", "note"}
    complete = data.get("complete", {})
    notes = data.get("note", {})
    if unknown or not isinstance(complete, dict) or not isinstance(notes, dict):
        raise UsageError(f"{path}: expected only the tables [complete] and [note]")
    for name, flag in complete.items():
        if not isinstance(flag, bool):
            raise UsageError(f"{path}: complete.{name} must be true or false")
        old = table.get(name.lower())
        note = "" if flag else (old.note if old is not None and not old.complete else SAMPLED_NOTE)
        table[name.lower()] = Feed(flag, note)
    for name, note in notes.items():
        if not isinstance(note, str):
            raise UsageError(f"{path}: note.{name} must be a string")
        old = table.get(name.lower())
        if old is None:
            raise UsageError(f"{path}: note.{name} without complete.{name}")
        table[name.lower()] = Feed(old.complete, note)
    return table


_cache: dict[Path, tuple[float, dict[str, Feed]]] = {}


def feeds() -> dict[str, Feed]:
    """The table in effect: built-in, updated from :func:`feeds_file` (re-read when it changes)."""
    path = feeds_file()
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = -1.0
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    table = load_feeds(path)
    _cache[path] = (stamp, table)
    return table
