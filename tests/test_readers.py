"""Readers: line splitting and its guards, jsonl/csv, gzip, stdin, auto-detection, registry."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tracemalloc
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

import pytest

from liqcli.errors import InvalidEvent, UsageError
from liqcli.ingest import readers
from liqcli.ingest.readers import (
    MAX_LINE_BYTES,
    Record,
    RecordReader,
    check_inputs,
    format_names,
    parse_json,
    read_records,
    register_format,
)

LINE = b'{"exchange":"binance","symbol":"BTCUSDT","side":"LONG","price":"1.5","qty":"2","ts":1}'


def records(path: Path, fmt: str = "auto") -> list[Record]:
    return list(read_records(str(path), fmt))


def outcome(path: Path, fmt: str = "auto") -> list[tuple[int, str]]:
    """(line, 'ok' | 'skip' | error) per record."""
    return [
        (r.line, "ok" if r.data is not None else "skip" if r.error is None else r.error)
        for r in records(path, fmt)
    ]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_jsonl_lines_and_their_guards(tmp_path: Path) -> None:
    data = b"\n".join([
        LINE,                                # 1 ok
        b"",                                 # 2 blank: ignored
        b"   \t",                            # 3 blank: ignored
        LINE + b"\r",                        # 4 CRLF is fine
        b'{"a": 1, "a"',                     # 5 malformed
        b"[1, 2]",                           # 6 not an object
        b'{"price": NaN}',                   # 7 NaN is not JSON
        LINE[:-1] + b'\x00}',                # 8 NUL byte
        b'{"x": "\xff\xfe"}',                # 9 invalid UTF-8
        b'{"x": "\x1b[31m"}',                # 10 raw control byte
        b"[" * 60_000,                       # 11 nested too deeply (and not over 64 KiB)
        LINE,                                # 12 ok, no final newline
    ])
    path = write(tmp_path, "in.jsonl", data)
    got = outcome(path)
    assert [line for line, _ in got] == [1, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    reasons = dict(got)
    assert reasons[1] == reasons[4] == reasons[12] == "ok"
    assert reasons[5].startswith("malformed JSON: ")
    assert reasons[6] == "JSON value is an array, expected an object"
    assert reasons[7] == "malformed JSON: NaN is not a number"
    assert reasons[8].startswith("NUL byte at column ")
    assert reasons[9].startswith("invalid UTF-8 at byte 8")
    assert reasons[10].startswith("control byte 0x1b")
    assert reasons[11] == "malformed JSON: nested too deeply"


def test_values_are_exact_and_source_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "x.ndjson", b'{"price": 0.1, "qty": 1e-7, "ts": 12}\n')
    (record,) = records(path)
    assert record.data == {"price": Decimal("0.1"), "qty": Decimal("1e-7"), "ts": 12}
    assert (record.source, record.line, record.location()) == (str(path), 1, f"{path}:1")


def test_overlong_lines_are_rejected_with_bounded_memory(tmp_path: Path) -> None:
    huge = b'{"x": "' + b"a" * (20 * MAX_LINE_BYTES * 16) + b'"}'  # ~20 MiB on one line
    edge = b'{"x": "' + b"a" * (MAX_LINE_BYTES - 9) + b'"}'  # exactly 64 KiB
    over = edge[:-2] + b'a"}'  # one byte more
    path = write(tmp_path, "big.jsonl", b"\n".join([LINE, huge, LINE, edge, over, LINE]) + b"\n")
    assert len(edge) == MAX_LINE_BYTES
    tracemalloc.start()
    got = outcome(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert got == [
        (1, "ok"), (2, "line longer than 64 KiB"), (3, "ok"),
        (4, "ok"),
        (5, "line longer than 64 KiB"), (6, "ok"),
    ]
    assert peak < 8 << 20  # the 20 MiB line was never held whole


def test_gzip_is_transparent_with_or_without_suffix(tmp_path: Path) -> None:
    data = LINE + b"\n" + LINE + b"\n"
    plain = outcome(write(tmp_path, "a.jsonl", data))
    assert outcome(write(tmp_path, "a.jsonl.gz", gzip.compress(data))) == plain
    assert outcome(write(tmp_path, "noext", gzip.compress(data))) == plain


def test_truncated_gzip_is_one_rejection(tmp_path: Path) -> None:
    data = gzip.compress((LINE + b"\n") * 50_000)
    got = outcome(write(tmp_path, "cut.jsonl.gz", data[: len(data) // 2]))
    assert got[-1][1].startswith("cannot read further: corrupt or truncated gzip data")
    assert all(reason == "ok" for _, reason in got[:-1])


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(gzip.compress(LINE + b"\n")))
    monkeypatch.setattr(sys, "stdin", stdin)
    (record,) = list(read_records("-"))
    assert (record.source, record.line, record.data is not None) == ("<stdin>", 1, True)


def test_csv_header_is_case_insensitive_and_empty_cells_are_absent(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", (
        "\ufeffExchange, SYMBOL ,side,price,qty,ts,usd,note\r\n"
        'okx,BTCUSDT,LONG,"65,000",1,5,,hello\n'
        "okx,BTCUSDT,LONG,65000,1,5,65000,\n"
        "okx,BTCUSDT,LONG,65000\n"
        'okx,"BTC\n'
    ).encode())
    got = records(path)
    assert [r.line for r in got] == [2, 3, 4, 5]
    assert got[0].data == {"exchange": "okx", "symbol": "BTCUSDT", "side": "LONG",
                           "price": "65,000", "qty": "1", "ts": "5"}
    assert got[1].data is not None and got[1].data["usd"] == "65000"
    assert got[2].error == "CSV row has 4 fields, the header 8"
    assert got[3].error is not None and got[3].error.startswith("malformed CSV: ")


def test_csv_header_missing_a_field_is_reported_once(tmp_path: Path) -> None:
    data = b"exchange,symbol,side,price,ts\nokx,B,LONG,1,5\nokx,B,LONG,1,6\n"
    path = write(tmp_path, "b.csv", data)
    got = records(path)
    assert got[0].line == 1 and got[0].error is not None
    assert "CSV header lacks required column(s) qty" in got[0].error
    assert [r.error for r in got[1:]] == [
        "row not read: the CSV header is invalid (see its line)"
    ] * 2


def test_csv_header_with_a_column_twice(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", b"exchange,symbol,side,price,qty,ts,PRICE\n")
    assert outcome(path) == [(1, "CSV header names column 'price' twice")]


@pytest.mark.parametrize(
    ("name", "first", "expected"),
    [("x.csv", LINE, "csv"), ("x.JSONL.gz", b"exchange,symbol", "jsonl"), ("x.json", LINE, "jsonl"),
     ("x.txt", LINE, "jsonl"), ("x.txt", b"exchange,symbol,side,price,qty,ts", "csv"),
     ("x.log", b'{"e":"forceOrder","E":1,"o":{}}', "binance")],
)
def test_auto_format(tmp_path: Path, name: str, first: bytes, expected: str) -> None:
    path = write(tmp_path, name, gzip.compress(first) if name.endswith(".gz") else first)
    reader = RecordReader(str(path))
    list(reader)
    assert reader.format is not None and reader.format.name == expected


def test_explicit_format_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", LINE + b"\n")
    assert outcome(path, "jsonl") == [(1, "ok")]


def test_registry_multi_record_skipped_and_item_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    format_names()  # adapters registered first, then a private copy for this test
    monkeypatch.setattr(readers, "_REGISTRY", dict(readers._REGISTRY))
    def factory() -> object:
        def parse(text: str) -> Iterable[Mapping[str, object] | InvalidEvent]:
            frame = parse_json(text)
            assert isinstance(frame, dict)
            if frame.get("op") == "pong":
                return []
            if "items" not in frame:
                raise InvalidEvent("no items")
            return [item if isinstance(item, dict) else InvalidEvent(f"item {item!r}")
                    for item in frame["items"]]

        return parse

    register_format("test-frames", factory, detect=lambda line: '"items"' in line)  # type: ignore[arg-type]
    assert "test-frames" in format_names()
    lines = [{"op": "pong"}, {"items": [{"a": 1}, 7, {"b": 2}]}, {"x": 1}]
    path = write(tmp_path, "frames.log", "\n".join(json.dumps(x) for x in lines).encode())
    got = records(path)
    assert [(r.line, r.skipped, r.data, r.error) for r in got] == [
        (1, True, None, None),
        (2, False, {"a": 1}, None), (2, False, None, "item 7"), (2, False, {"b": 2}, None),
        (3, False, None, "no items"),
    ]


def test_register_format_checks_the_name() -> None:
    with pytest.raises(ValueError, match="invalid format name"):
        register_format("auto", lambda: lambda text: None)
    with pytest.raises(ValueError, match="invalid format name"):
        register_format("Bad Name", lambda: lambda text: None)


def test_builtins_come_first() -> None:
    names = format_names()
    assert names[:2] == ["jsonl", "csv"]
    assert {"binance", "bybit", "okx", "bitmex", "deribit"} <= set(names)


def test_unknown_format_and_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown input format 'nope'"):
        RecordReader("x", "nope")
    with pytest.raises(UsageError, match=r"cannot read .*missing\.jsonl"):
        check_inputs([str(tmp_path / "missing.jsonl")])
    with pytest.raises(UsageError, match="is a directory"):
        check_inputs([str(tmp_path)])
    with pytest.raises(UsageError, match="more than once"):
        check_inputs(["-", "-"])
