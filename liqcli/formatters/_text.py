"""Text and number helpers shared by the formatters (no rich, no tabulate)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

# C0 and C1 control characters and DEL: never let stored names move the cursor or style output.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

NONE_TEXT = "-"
QTY_MIN_PLACES = 4
QTY_MAX_PLACES = 8


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), never interpreted."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def neutralize_formula(text: str) -> str:
    """Prefix a quote when a spreadsheet would read the cell as a formula (CSV injection)."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def plain_decimal(value: Decimal) -> str:
    """Plain notation, no exponent, no trailing zeros: ``1E+2`` → ``100``, ``1.50`` → ``1.5``."""
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("-") and not value:
        text = text[1:]
    return text


def plain_amount(value: Decimal) -> str:
    """An exact amount with thousands separators, all of its decimals: ``65,012.5``."""
    text = plain_decimal(value)
    whole, dot, frac = text.partition(".")
    return f"{int(whole):,}{dot}{frac}"


def fmt_int(value: int | None) -> str:
    return NONE_TEXT if value is None else f"{value:,}"


def fmt_usd(value: Decimal | None) -> str:
    """Thousands separators, 2 decimals (half-even)."""
    if value is None:
        return NONE_TEXT
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,f}"


def fmt_qty(value: Decimal | None) -> str:
    """Thousands separators, at least 4 decimals, up to 8 when the amount has them."""
    if value is None:
        return NONE_TEXT
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    places = min(max(places, QTY_MIN_PLACES), QTY_MAX_PLACES)
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_EVEN):,f}"


def fmt_pct(value: Decimal | None) -> str:
    if value is None:
        return NONE_TEXT
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN):f}%"


def fmt_rate(value: Decimal | None) -> str:
    if value is None:
        return NONE_TEXT
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,f}"


def fmt_span(ms: int) -> str:
    """A length of time, the two largest units: ``850 ms``, ``12s``, ``4m 05s``, ``2h 30m``,
    ``3d 04h`` (rounded down)."""
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms // 1000
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    if days:
        return f"{days}d {hour:02d}h"
    if hours:
        return f"{hours}h {minute:02d}m"
    if minutes:
        return f"{minutes}m {sec:02d}s"
    return f"{sec}s"
