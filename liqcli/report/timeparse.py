"""Parse the window bounds of report options: ISO-8601, epoch, or relative (``90m``, ``7d``)."""

from __future__ import annotations

import re
import time
from decimal import Decimal, InvalidOperation

from liqcli.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_EPOCH = re.compile(r"\d+(?:\.\d+)?")
# Epoch numbers at or above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000
# Digits-only text of these lengths is first read as an ISO date: ``2024``, ``20240817``.
_ISO_DIGITS = re.compile(r"\d{4}|\d{8}")
# datetime is imported where ISO text is read or a datetime is made, not by every report:
# iso_utc formats with time.gmtime where that covers the year on every platform (1970-2999)
_GMTIME_END_MS = 32_503_680_000_000  # 3000-01-01
# An epoch number before this (2009-01-01, older than any crypto liquidation) is a mistake.
OLDEST_EPOCH_MS = 1_230_768_000_000
# Times are kept to years 1970-9999: [0, 10000-01-01).
MIN_MS = 0
MAX_MS = 253_402_300_800_000
_HINT = (
    "use ISO-8601 (2024-08-17T12:00Z), epoch seconds or milliseconds, or a duration before "
    "now (90m, 24h, 7d)"
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_instant(text: str, *, now: int | None = None, option: str = "time") -> int:
    """Epoch milliseconds for ``text``.

    Accepted: ISO-8601 (``2024-08-17``, ``2024-08-17T12:00``, ``…Z`` or ``…+02:00``; a time
    without offset is UTC; also a year ``2024`` or a basic date ``20240817``), epoch seconds or
    milliseconds (``1723896000``, ``1723896000000``; numbers from 1e11 up are milliseconds; an
    epoch before 2009 is refused as a likely mistake), or a duration before now (``90m``,
    ``24h``, ``7d``, ``2w``, ``30s``; also ``1h30m``), or ``now``. The result must fall in the years
    1970-9999. Raises UsageError (exit 2) for anything else.
    """
    raw = text.strip()
    if not raw:
        raise UsageError(f"{option}: empty value")
    if raw.lower() == "now":
        result = now_ms() if now is None else now
    elif _EPOCH.fullmatch(raw):
        result = _digits_ms(raw, option)
    else:
        relative = _relative_ms(raw)
        if relative is not None:
            result = (now_ms() if now is None else now) - relative
        else:
            result = _iso_ms(raw, option)
    if not MIN_MS <= result < MAX_MS:
        raise UsageError(f"{option}: {raw!r} is outside the years 1970-9999")
    return result


def _digits_ms(raw: str, option: str) -> int:
    """A year (``2024``), a basic ISO date (``20240817``), else an epoch number."""
    if _ISO_DIGITS.fullmatch(raw):
        from datetime import UTC, datetime

        try:
            day = datetime.strptime(raw, "%Y" if len(raw) == 4 else "%Y%m%d")
        except ValueError:
            pass  # e.g. 99999999: not a date, so an epoch number (refused below as too old)
        else:
            return _to_ms(day.replace(tzinfo=UTC))
    return _epoch_ms(raw, option)


def _epoch_ms(raw: str, option: str) -> int:
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        raise UsageError(f"{option}: not a number: {raw!r}") from None
    millis = value >= _MS_THRESHOLD
    result = int(value) if millis else int(value * 1000)
    if result < OLDEST_EPOCH_MS:
        unit = "milliseconds" if millis else "seconds"
        raise UsageError(
            f"{option}: {raw} as epoch {unit} is {iso_utc(result)}, before 2009 (older than "
            f"any liquidation data); {_HINT}"
        )
    return result


def _relative_ms(raw: str) -> int | None:
    pos = 0
    total = Decimal(0)
    body = raw.lower()
    if body.endswith(" ago"):
        body = body[:-4].rstrip()
    if not body:
        return None
    for match in _RELATIVE.finditer(body):
        if match.start() != pos:
            return None
        total += Decimal(match.group(1)) * _UNIT_MS[match.group(2).lower()]
        pos = match.end()
    if pos != len(body):
        return None
    return int(total)


def _iso_ms(raw: str, option: str) -> int:
    from datetime import UTC, datetime

    text = raw[:-1] + "+00:00" if raw[-1:] in "zZ" else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: cannot read {raw!r}: {_HINT}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _to_ms(parsed)


def _to_ms(moment: datetime) -> int:
    from datetime import UTC, datetime

    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def parse_window(
    since: str | None, until: str | None, *, now: int | None = None
) -> tuple[int | None, int | None]:
    """``(since_ms, until_ms)`` for the half-open window [since, until); None = unbounded."""
    current = now_ms() if now is None else now
    since_ms = None if since is None else parse_instant(since, now=current, option="--since")
    until_ms = None if until is None else parse_instant(until, now=current, option="--until")
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise UsageError(
            f"--since ({iso_utc(since_ms)}) must be before --until ({iso_utc(until_ms)})"
        )
    return since_ms, until_ms


def iso_utc(ms: int) -> str:
    """ISO-8601 UTC text with milliseconds: ``2024-08-17T11:58:23.305Z`` (4-digit year)."""
    if 0 <= ms < _GMTIME_END_MS:
        t = time.gmtime(ms // 1000)
        return (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:"
                f"{t.tm_min:02d}:{t.tm_sec:02d}.{ms % 1000:03d}Z")
    stamp = utc_datetime(ms)
    return f"{stamp.year:04d}-" + stamp.strftime("%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def utc_datetime(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds (any year 1-9999, on every platform)."""
    from datetime import UTC, datetime, timedelta

    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def parse_windows(text: str | None, *, option: str = "--windows") -> tuple[tuple[str, int], ...]:
    """``watch --windows``: ``(label, milliseconds)`` of each trailing window of a comma list
    (``"1h,24h"`` → ``(("1h", 3600000), ("24h", 86400000))``), parsed by the reports' one
    parser (:func:`liqcli.report.windows.parse_windows`); ``None`` gives none."""
    if text is None:
        return ()
    from liqcli.report.windows import parse_windows as parse_trailing

    return tuple((w.label, w.duration_ms) for w in parse_trailing(text, option))


def parse_duration(text: str, *, option: str = "duration", zero_ok: bool = False) -> int:
    """Milliseconds of a positive duration: ``30s``, ``5m``, ``1h30m``, ``7d``, ``500ms``
    (``0s`` too with ``zero_ok``). Raises UsageError (exit 2) for anything else."""
    raw = text.strip()
    value = None if raw.lower().endswith("ago") else _relative_ms(raw)  # "1h ago": a time
    if value is None or value < 0 or (value == 0 and not zero_ok):
        raise UsageError(f"{option}: {text!r} is not a duration (e.g. 30s, 5m, 1h30m, 7d)")
    return value
