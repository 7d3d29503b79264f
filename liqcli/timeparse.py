"""Parse the window bounds of report options: ISO-8601, epoch, or relative (``90m``, ``7d``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from liqcli.errors import UsageError

_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_EPOCH = re.compile(r"\d+(?:\.\d+)?")
# Epoch numbers at or above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_instant(text: str, *, now: int | None = None, option: str = "time") -> int:
    """Epoch milliseconds for ``text``.

    Accepted: ISO-8601 (``2024-08-17``, ``2024-08-17T12:00``, ``…Z`` or ``…+02:00``; a time
    without offset is UTC), epoch seconds or milliseconds (``1723896000``, ``1723896000000``;
    13+ digits are milliseconds), or a duration before now (``90m``, ``24h``, ``7d``, ``2w``,
    ``30s``; also ``1h30m``). Raises UsageError (exit 2) for anything else.
    """
    raw = text.strip()
    if not raw:
        raise UsageError(f"{option}: empty value")
    if _EPOCH.fullmatch(raw):
        return _epoch_ms(raw, option)
    relative = _relative_ms(raw)
    if relative is not None:
        return (now_ms() if now is None else now) - relative
    return _iso_ms(raw, option)


def _epoch_ms(raw: str, option: str) -> int:
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        raise UsageError(f"{option}: not a number: {raw!r}") from None
    if value >= _MS_THRESHOLD:
        return int(value)
    return int(value * 1000)


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
    text = raw[:-1] + "+00:00" if raw[-1:] in "zZ" else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option}: cannot read {raw!r}: use ISO-8601 (2024-08-17T12:00Z), "
            "epoch seconds or milliseconds, or a duration before now (90m, 24h, 7d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
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
    """ISO-8601 UTC text with milliseconds: ``2024-08-17T11:58:23.305Z``."""
    seconds, millis = divmod(ms, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def utc_datetime(ms: int) -> datetime:
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=millis * 1000)
