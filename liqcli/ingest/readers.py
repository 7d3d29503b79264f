"""Line-oriented input readers and the registry of input formats.

Every input is read as bytes and split into lines here, whatever its format:

* ``-`` is standard input; gzip data (``.gz`` or not) is decompressed transparently, and stopped
  (one rejection) when it expands more than MAX_GZIP_RATIO times (a decompression bomb);
* lines longer than 64 KiB, lines with NUL or other control bytes (binary data) and lines that
  are not UTF-8 are rejected with a reason; blank lines are ignored; a UTF-8 BOM is dropped;
* memory stays bounded whatever the input (an over-long line is skipped, never buffered).

A FORMAT turns one text line into liquidation records (dicts of the normalized contract,
see :mod:`liqcli.ingest.validate`). Built in: ``jsonl`` (one JSON object per line) and ``csv`` (a
header row naming the fields, case-insensitive). Exchange adapters add their own with::

    register_format("binance", factory, detect=lambda first_line: '"forceOrder"' in first_line)

``factory()`` is called once per input and returns a :data:`LineParser`: a function of one
line's text returning an iterable of records (several for a frame carrying a batch, an empty
one for a line without liquidations, such as a subscription ack: counted as "skipped"), or
``None`` for a structural line such as a CSV header (not counted). It raises
:class:`~liqcli.errors.InvalidEvent` to reject the whole line, or yields an ``InvalidEvent``
instance among the records to reject one item of a frame. Modules named in the
``liqcli.formats`` entry point group are imported on first use of the registry;
:mod:`liqcli.feeds.adapters` is one, and registers one format per exchange adapter.

``auto`` picks a format by content first (the formats' ``detect`` on the first 20 good lines,
as acks may come first; on a pipe it decides at the first line that settles it, so a slow
stream is never held back), then by extension (``.jsonl``/``.ndjson``/``.json``, ``.csv``; a
``.gz`` suffix is ignored), then by the first line (``{`` → jsonl, anything else → csv).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, cast

from liqcli.errors import InvalidEvent, UsageError

__all__ = [
    "FIELDS",
    "MAX_GZIP_RATIO",
    "MAX_LINE_BYTES",
    "REQUIRED_FIELDS",
    "Detector",
    "InputFormat",
    "LineParser",
    "ParserFactory",
    "Record",
    "RecordReader",
    "check_inputs",
    "format_names",
    "get_format",
    "is_regular_file",
    "parse_json",
    "read_records",
    "register_format",
    "source_name",
]

MAX_LINE_BYTES = 64 * 1024
_CHUNK = 1 << 20
# A gzip input that expands more than this many times is stopped with a rejection (the rest is
# not read): real liquidation data compresses 5-30 times, gzip's limit is about 1000, and a
# megabyte of compressed newlines would otherwise be a gigabyte of work. The check starts after
# 16 MiB of decompressed data.
MAX_GZIP_RATIO = 250
_RATIO_FLOOR = 16 << 20
_MAX_PEEK = 1000  # lines 'auto' may hold while looking at the input
_DETECT_LINES = 20  # good lines 'auto' shows the detectors (acks may come first)
FIELDS = ("exchange", "symbol", "side", "price", "qty", "usd", "ts", "id", "raw_symbol")
REQUIRED_FIELDS = ("exchange", "symbol", "side", "price", "qty", "ts")

LineParser = Callable[[str], "Iterable[Mapping[str, object] | InvalidEvent] | None"]
ParserFactory = Callable[[], LineParser]
Detector = Callable[[str], bool]


@dataclass(slots=True)
class Record:
    """The outcome of one item of one input line.

    ``data`` is a dict of the normalized contract (not validated yet), ``error`` the reason the
    line (or this item of it) is invalid; both ``None`` marks a line without liquidations
    (counted as skipped).
    """

    source: str  # file name as given; '-' is shown as '<stdin>'
    line: int  # 1-based line number
    data: Mapping[str, object] | None = None
    error: str | None = None

    @property
    def skipped(self) -> bool:
        return self.data is None and self.error is None

    def location(self) -> str:
        """``file:line``, as in rejection messages."""
        return f"{self.source}:{self.line}"


@dataclass(frozen=True, slots=True)
class InputFormat:
    name: str
    factory: ParserFactory
    detect: Detector | None = None
    extensions: tuple[str, ...] = ()
    builtin: bool = False


_REGISTRY: dict[str, InputFormat] = {}
_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_plugins_loaded = False


def register_format(
    name: str,
    parser_factory: ParserFactory,
    *,
    detect: Detector | None = None,
    extensions: Iterable[str] = (),
) -> None:
    """Add (or replace) the input format ``name``; see the module docstring for the protocol."""
    if _NAME_RE.fullmatch(name) is None or name == "auto":
        raise ValueError(f"invalid format name {name!r}")
    _REGISTRY[name] = InputFormat(name, parser_factory, detect, tuple(extensions))


def _load_plugins() -> None:
    """Import, once, the modules that registered themselves under the ``liqcli.formats`` entry
    point group (the exchange adapters of :mod:`liqcli.feeds.adapters`, or a third party's): each
    calls :func:`register_format` when imported. The registry itself imports no feed."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group="liqcli.formats"):
        entry.load()


def format_names() -> list[str]:
    """Registered format names: the built-ins first, then the others alphabetically."""
    _load_plugins()
    builtin = [f.name for f in _REGISTRY.values() if f.builtin]
    return builtin + sorted(f.name for f in _REGISTRY.values() if not f.builtin)


def get_format(name: str) -> InputFormat:
    _load_plugins()
    found = _REGISTRY.get(name)
    if found is None:
        choices = ", ".join(["auto", *format_names()])
        raise UsageError(f"unknown input format {name!r} (choose from {choices})")
    return found


def source_name(path: str) -> str:
    """How ``path`` is named in messages: ``<stdin>`` for ``-``; escaped when unprintable."""
    if path == "-":
        return "<stdin>"
    return path if path.isprintable() else repr(path)[1:-1]


# ---------------------------------------------------------------------------------- built-ins

def _reject_constant(name: str) -> object:
    raise InvalidEvent(f"malformed JSON: {name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: ``{"qty": 1, "qty": 100}`` is ambiguous."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                shown = repr(key) if len(key) <= 40 else repr(key[:37] + "...")
                raise InvalidEvent(f"malformed JSON: duplicate key {shown}")
            seen.add(key)
    return obj


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_unique_keys
)
_RAW_DECODE = _DECODER.raw_decode


def parse_json(text: str) -> object:
    """Parse one JSON text exactly (non-integers as Decimal; NaN/Infinity and duplicate keys
    rejected).

    Raises :class:`InvalidEvent` ``"malformed JSON: ..."``; for adapters as well.
    """
    try:  # the common case, a bare JSON text: once through the decoder, no other scan
        value, end = _RAW_DECODE(text)
        if end == len(text):
            return value
    except (ValueError, ArithmeticError, RecursionError, InvalidEvent):
        pass  # the full path below says why
    return _parse_json_full(text)


def _parse_json_full(text: str) -> object:
    try:
        if text[:1].isspace() or text[-1:].isspace():
            return _DECODER.decode(text)
        value, end = _RAW_DECODE(text)  # decode() minus its two whitespace scans
        if end != len(text):
            raise json.JSONDecodeError("Extra data", text, end)
        return value
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"malformed JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise InvalidEvent("malformed JSON: nested too deeply") from None
    except InvalidEvent:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InvalidEvent(f"malformed JSON: {str(exc).split(':')[0]}") from None
    except ArithmeticError:  # Decimal("1e400111111111111111111111"): beyond Decimal's exponents
        raise InvalidEvent("malformed JSON: number out of range") from None


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", Decimal: "a number",
               bool: "a boolean", type(None): "null"}


def _jsonl_parser() -> LineParser:
    def parse(text: str) -> tuple[Mapping[str, object]]:
        return (_json_object(text),)

    return parse


def _json_object(text: str) -> dict[str, object]:
    """One line of JSON Lines: a JSON object, else InvalidEvent."""
    value = parse_json(text)
    if type(value) is not dict:
        raise InvalidEvent(
            f"JSON value is {_JSON_TYPES.get(type(value), 'not an object')}, expected an object")
    return value


def _csv_parser() -> LineParser:
    columns: list[tuple[str, int]] = []  # (field, index) of the known columns
    width = 0
    header_error: str | None = None
    header_seen = False

    def parse(text: str) -> Iterable[Mapping[str, object]] | None:
        nonlocal width, header_error, header_seen
        cells = _split_csv(text)
        if not header_seen:
            header_seen = True
            header_error = _read_header(cells, columns)
            width = len(cells)
            if header_error is not None:
                raise InvalidEvent(header_error)
            return None
        if header_error is not None:
            raise InvalidEvent("row not read: the CSV header is invalid (see its line)")
        if len(cells) != width:
            raise InvalidEvent(f"CSV row has {len(cells)} fields, the header {width}")
        # Empty cells are absent fields (an optional usd or id left blank).
        return ({field: cells[i] for field, i in columns if cells[i]},)

    return parse


def _split_csv(text: str) -> list[str]:
    if '"' not in text:  # what the csv module does for an unquoted line, much faster
        return text.split(",")
    try:
        return next(csv.reader((text,), strict=True))
    except (csv.Error, StopIteration) as exc:
        raise InvalidEvent(f"malformed CSV: {exc}") from None


def _read_header(cells: list[str], columns: list[tuple[str, int]]) -> str | None:
    names = [cell.strip().lower() for cell in cells]
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in FIELDS:
            if name in seen:
                return f"CSV header names column {name!r} twice"
            seen.add(name)
            columns.append((name, index))
    missing = [name for name in REQUIRED_FIELDS if name not in seen]
    if missing:
        shown = ",".join(names)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return (
            f"CSV header lacks required column(s) {', '.join(missing)} "
            f"(the first line must name the columns; found {shown!r})"
        )
    return None


def _looks_like_json(first_line: str) -> bool:
    return first_line.lstrip().startswith("{")


_REGISTRY["jsonl"] = InputFormat(
    "jsonl", _jsonl_parser, _looks_like_json, (".jsonl", ".ndjson", ".json"), builtin=True
)
_REGISTRY["csv"] = InputFormat("csv", _csv_parser, None, (".csv",), builtin=True)


def _pick_format(path: str, texts: list[str]) -> InputFormat:
    """``auto``: content detection, then the extension, then jsonl/csv by the first line."""
    for text in texts:
        for candidate in _REGISTRY.values():
            if not candidate.builtin and candidate.detect is not None:
                try:
                    if candidate.detect(text):
                        return candidate
                except Exception:  # a detector's bug must not stop the others
                    continue
    lowered = path.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    for candidate in _REGISTRY.values():
        if any(lowered.endswith(ext) for ext in candidate.extensions):
            return candidate
    if texts and _looks_like_json(texts[0]):
        return _REGISTRY["jsonl"]
    return _REGISTRY["csv"]


# ------------------------------------------------------------------------------- line splitting

# Control bytes other than TAB: NUL and friends mean binary data, not text.
_CONTROL_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def _describe_control(raw: bytes) -> str:
    found = _CONTROL_RE.search(raw)
    byte = found.group()[0] if found else 0
    what = "NUL byte" if byte == 0 else f"control byte 0x{byte:02x}"
    return f"{what} at column {found.start() + 1 if found else 0} (binary data?)"


_Line = tuple[int, str | None, str | None]  # (line number, text or None, error or None)


def _split_lines(read: Callable[[int], bytes], at_start: bool = True) -> Iterator[_Line]:
    """Non-blank lines of a byte stream, checked; errors come as (number, None, reason).

    ``at_start``: the stream begins at the start of the input (a UTF-8 BOM is dropped).
    """
    number = 0
    pending = b""
    skipping = False  # inside an over-long line: drop bytes up to the next newline
    first = at_start
    while True:
        try:
            chunk = read(_CHUNK)
        except (OSError, EOFError, zlib.error) as exc:
            yield number + 1, None, f"cannot read further: {_short_io_error(exc)}"
            return
        if not chunk:
            break
        if first:
            first = False
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            skipping = False
        data = pending + chunk if pending else chunk
        end = data.rfind(b"\n") + 1  # the complete lines are data[:end]
        pending = data[end:]
        if end:
            yield from _chunk_lines(data, end, number)
            number += data.count(b"\n", 0, end)
        if len(pending) > MAX_LINE_BYTES:
            number += 1
            yield number, None, "line longer than 64 KiB"
            pending = b""
            skipping = True
    if pending:
        checked = _check_line(number + 1, pending)
        if checked is not None:
            yield checked


# From a line's first non-whitespace byte to its end (bytes.isspace() whitespace, as blank lines
# are judged by it).
_CONTENT_RE = re.compile(rb"[^ \t\n\r\x0b\x0c][^\n]*")


def _chunk_lines(data: bytes, end: int, number: int) -> Iterator[_Line]:
    """The checked non-blank lines of ``data[:end]`` (complete lines), numbered after ``number``.

    Blank lines cost no Python work when they dominate: a chunk of whitespace only is skipped
    at C speed, and a chunk of mostly blank lines is searched for its non-blank ones.
    """
    body = data[:end] if end < len(data) else data
    if body.isspace():
        return
    if body.count(b"\n") * 8 <= end:  # ordinary lines: splitting is fastest
        text = _plain_text(body)
        if text is not None:
            yield from _text_lines(text, number)
            return
        for raw in body.split(b"\n")[:-1]:
            number += 1
            if raw:
                checked = _check_line(number, raw)
                if checked is not None:
                    yield checked
        return
    position = 0  # a line start in body; `number` lines lie before it
    for found in _CONTENT_RE.finditer(body):
        start = body.rfind(b"\n", position, found.start()) + 1 or position
        number += body.count(b"\n", position, start) + 1
        position = found.end() + 1  # after the line's newline
        checked = _check_line(number, body[start : found.end()])
        if checked is not None:
            yield checked


# Every byte but the control bytes other than TAB, LF and CR: a chunk left empty when they are
# deleted (bytes.translate, ~10 x quicker than a search by _CONTROL_RE) decodes at once, and its
# lines need no byte checks.
_NOT_CONTROL_BUT_CR = bytes(b for b in range(256) if not _CONTROL_RE.match(bytes((b,))) or b == 13)
_LONG_LINE_CHARS = MAX_LINE_BYTES // 4  # a line of fewer characters has at most 64 KiB


def _plain_text(body: bytes) -> str | None:
    """``body`` (complete lines) decoded at once when every line would pass ``_check_line`` as
    is but for a final CR (each CR ends its line) and its length: no control byte, valid UTF-8.
    None when the lines must be checked one by one."""
    if body.translate(None, _NOT_CONTROL_BUT_CR):
        return None
    carriage_returns = b"\r" in body
    if carriage_returns and body.count(b"\r") != body.count(b"\r\n"):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.replace("\r\n", "\n") if carriage_returns else text


def _text_lines(text: str, number: int) -> Iterator[_Line]:
    """The non-blank lines of ``text`` (from :func:`_plain_text`), numbered after ``number``:
    what :func:`_check_line` makes of each."""
    for line in text.split("\n")[:-1]:
        number += 1
        if not line:
            continue
        if line[0] in " \t" and not line.strip(" \t"):  # blank (bytes.isspace, no CR here)
            continue
        if len(line) > _LONG_LINE_CHARS and len(line.encode()) > MAX_LINE_BYTES:
            yield number, None, "line longer than 64 KiB"
            continue
        yield number, line, None


def _check_line(number: int, raw: bytes) -> _Line | None:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if not raw or raw.isspace():
        return None
    if len(raw) > MAX_LINE_BYTES:
        return number, None, "line longer than 64 KiB"
    if _CONTROL_RE.search(raw) is not None:
        return number, None, _describe_control(raw)
    try:
        return number, raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return number, None, f"invalid UTF-8 at byte {exc.start + 1} (binary data?)"


def _short_io_error(exc: BaseException) -> str:
    if isinstance(exc, gzip.BadGzipFile | zlib.error | EOFError):
        return f"corrupt or truncated gzip data ({exc})"
    return str(exc) or type(exc).__name__


# ------------------------------------------------------------------------------------ reading

class RecordReader:
    """Iterate the records of one input (``-`` = stdin); ``position`` = raw bytes consumed.

    Opening errors (missing file, directory, permission) raise :class:`UsageError`; read
    errors after the start (truncated gzip, I/O error) become one rejected record.
    """

    def __init__(self, path: str, fmt: str = "auto") -> None:
        self.path = path
        self.source = source_name(path)
        self.format: InputFormat | None = None if fmt == "auto" else get_format(fmt)
        self.position = 0  # bytes of the file consumed (compressed bytes for gzip)

    def __iter__(self) -> Iterator[Record]:
        stream = _open(self.path)
        try:
            yield from self._records(stream)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()

    def _records(self, stream: BinaryIO) -> Iterator[Record]:
        raw_tell = _teller(stream)
        data: Any = stream if hasattr(stream, "peek") else io.BufferedReader(cast(Any, stream))
        compressed: _Counting | None = None
        if data.peek(4)[:4] == b"PAR1":  # a Parquet file (liqcli export -f parquet)
            self.position = raw_tell()
            yield Record(self.source, 1, None, "a Parquet file: ingest reads JSON Lines or CSV "
                         "(liqcli export writes those too); Parquet is for other tools")
            return
        if data.peek(2)[:2] == b"\x1f\x8b":
            compressed = _Counting(data)
            data = gzip.GzipFile(fileobj=compressed, mode="rb")
        read = getattr(data, "read1", data.read)
        expanded = 0

        def read_chunk(size: int) -> bytes:
            nonlocal expanded
            chunk: bytes = read(size)
            self.position = raw_tell()
            if compressed is not None:
                expanded += len(chunk)
                if expanded > _RATIO_FLOOR and expanded > MAX_GZIP_RATIO * compressed.count:
                    raise OSError(
                        f"gzip data expands more than {MAX_GZIP_RATIO} times, stopped "
                        "(a decompression bomb?)"
                    )
            return chunk

        lines: Iterator[_Line] = _split_lines(read_chunk)
        if self.format is None:
            _load_plugins()
            head: list[_Line] = []
            texts: list[str] = []
            early = not is_regular_file(self.path)  # a pipe: never wait for lines to come
            for line in lines:
                head.append(line)
                if line[1] is not None:
                    texts.append(line[1])
                    if early and _decisive(line[1], len(texts) == 1):
                        break
                if len(texts) >= _DETECT_LINES or len(head) >= _MAX_PEEK:
                    break
            self.format = _pick_format(self.path, texts)
            lines = itertools.chain(head, lines)
        yield from _parse_lines(self.source, self.format, lines)


def is_regular_file(path: str) -> bool:
    """Whether ``path`` is a regular file (not ``-``, a FIFO or a device: a stream)."""
    import os
    import stat

    try:
        return path != "-" and stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _decisive(text: str, first: bool) -> bool:
    """Whether one line settles 'auto' on a pipe: a venue's detector knows it, it is an event of
    the plain contract (a JSON object naming a symbol and a side), or it is a first line that
    is not JSON (a CSV header). Acks and other lines wait for the next line."""
    for candidate in _REGISTRY.values():
        if not candidate.builtin and candidate.detect is not None:
            try:
                if candidate.detect(text):
                    return True
            except Exception:
                continue
    if _looks_like_json(text):
        return '"symbol"' in text and '"side"' in text
    return first


def _parse_lines(source: str, fmt: InputFormat, lines: Iterable[_Line]) -> Iterator[Record]:
    """Records of checked lines, parsed by ``fmt`` (one line may give several, or none)."""
    # the built-in JSON Lines: one object per line, without a parser and a tuple per line
    single = fmt.factory is _jsonl_parser
    parse: Callable[[str], Any] = _json_object if single else fmt.factory()
    for number, text, error in lines:
        if text is None:
            yield Record(source, number, None, error)
            continue
        try:
            items = parse(text)
        except InvalidEvent as exc:
            yield Record(source, number, None, exc.reason)
            continue
        if single:
            yield Record(source, number, items, None)
            continue
        if items is None:
            continue
        produced = False
        for item in items:
            produced = True
            if isinstance(item, InvalidEvent):
                yield Record(source, number, None, item.reason)
            else:
                yield Record(source, number, item, None)
        if not produced:
            yield Record(source, number, None, None)


def detect_format(path: str, fmt: str = "auto") -> InputFormat:
    """The format ``RecordReader`` would use for a regular file ``path``."""
    if fmt != "auto":
        return get_format(fmt)
    reader = RecordReader(path, fmt)
    for _record in reader:  # 'auto' decides on the first lines
        break
    return reader.format if reader.format is not None else get_format("jsonl")


def records_in_range(path: str, fmt: InputFormat, start: int, end: int) -> Iterator[Record]:
    """Records of bytes [start, end) of a plain file; ``start`` and ``end`` are line starts.

    Line numbers count from 1 at ``start`` (the caller adds the lines before it).
    """
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    buffer = io.BytesIO(data)
    yield from _parse_lines(source_name(path), fmt, _split_lines(buffer.read, at_start=start == 0))


class _Counting:
    """A readable stream that counts the bytes read through it (gzip's compressed input)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._read = stream.read
        self.count = 0

    def seek(self, offset: int, /) -> object:  # only a rewind would seek (never done here)
        return self._stream.seek(offset)

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._read(size)
        self.count += len(data)
        return data


def _open(path: str) -> BinaryIO:
    if path == "-":
        # a stream of its own on a copy of fd 0, not sys.stdin.buffer: a piped ingest reads in
        # a helper thread, and an interpreter that exits (an error, exit 3) while that thread
        # waits in sys.stdin.buffer aborts on its lock ("could not acquire lock ... at
        # interpreter shutdown"); a private buffer is never touched at shutdown
        import os

        try:
            return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
        except (OSError, ValueError):  # no real fd (an embedding application's stdin)
            return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {source_name(path)}: {exc.strerror or exc}") from None


def _teller(stream: BinaryIO) -> Callable[[], int]:
    try:
        stream.tell()
    except (OSError, ValueError):
        return lambda: 0
    return stream.tell


def check_inputs(paths: Iterable[str]) -> None:
    """Fail early (:class:`UsageError`) unless every path can be opened; ``-`` at most once."""
    import os
    import stat

    stdin_seen = False
    for path in paths:
        if path == "-":
            if stdin_seen:
                raise UsageError("'-' (standard input) given more than once")
            stdin_seen = True
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise UsageError(f"cannot read {source_name(path)}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(mode):
            raise UsageError(f"cannot read {source_name(path)}: is a directory")
        if stat.S_ISREG(mode):  # a FIFO is not opened twice: its writer could see EPIPE
            _open(path).close()


def read_records(path: str, fmt: str = "auto") -> Iterator[Record]:
    """The records of one input; see :class:`RecordReader`."""
    return iter(RecordReader(path, fmt))
