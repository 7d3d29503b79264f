"""Output on terminals and pipes that are not UTF-8 (``PYTHONIOENCODING=cp1252``, ``LC_ALL=C``
on old systems, Windows consoles): never a UnicodeEncodeError, always readable text.

A character the stream's encoding cannot hold is written as an ASCII look-alike when liqcli
uses it as a glyph (``→`` as ``->``, ``×`` as ``x``, ``…`` as ``...``, bars as ``#``/``.``),
else as a Python escape (``币`` as ``\\u5e01``) so nothing is lost silently. UTF-8 streams are
left alone.
"""

from __future__ import annotations

import codecs
import sys

ERRORS = "liqcli-fallback"
FALLBACK: dict[str, str] = {
    "→": "->", "←": "<-", "·": "|", "×": "x", "…": "...", "–": "-", "—": "-", "≥": ">=",
    "≤": "<=", "█": "#", "░": ".", "▁": "_", "▂": "_", "▃": "_", "▄": "=", "▅": "=", "▆": "=",
    "▇": "#", "✓": "v", "✗": "x", "▲": "^", "▼": "v", "↑": "^", "↓": "v", "•": "*",
    "Ⓢ": "S", "─": "-", "━": "-", "│": "|", "┃": "|", "╭": "+", "╮": "+", "╰": "+", "╯": "+",
    "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+",
    "\u00a0": " ",
}


def _fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start : exc.end]
    out = []
    for char in text:
        glyph = FALLBACK.get(char)
        out.append(glyph if glyph is not None
                   else char.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(out), exc.end


def ascii_fallback(text: str, encoding: str) -> str:
    """``text`` as it is written to a stream of ``encoding`` (for tests and messages)."""
    _register()
    return text.encode(encoding, ERRORS).decode(encoding)


_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        codecs.register_error(ERRORS, _fallback)
        _registered = True


def safe_streams() -> None:
    """Give stdout and stderr the fallback when their encoding is not UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            name = ""
        reconfigure = getattr(stream, "reconfigure", None)
        if name != "utf-8" and reconfigure is not None:
            _register()
            reconfigure(errors=ERRORS)
