"""Input rules of issue #11.8: blank lines nearly free, a gzip bomb stopped, duplicate JSON keys
rejected, one rule for an empty id in JSONL and CSV."""

from __future__ import annotations

import gzip
import io
import json
import resource
from pathlib import Path

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from liqcli.cli.app import app
from liqcli.errors import InvalidEvent
from liqcli.ingest import readers
from liqcli.ingest.readers import MAX_GZIP_RATIO, parse_json, read_records

T0 = 1_723_895_903_305
LINE = {"exchange": "binance", "symbol": "BTCUSDT", "side": "LONG", "price": "65012.5",
        "qty": "0.125", "ts": T0}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ingest(*args: str) -> object:
    return CliRunner().invoke(app, ["ingest", *args])


def test_a_megabyte_of_gzipped_blank_lines_is_stopped_quickly(
    redis_url: str, tmp_path: Path
) -> None:
    """The issue's input: 1 MB of gzip holding ~1 GB of newlines took 205 s of CPU."""
    path = tmp_path / "blank.jsonl.gz"
    member = gzip.compress(b"\n" * (16 << 20), compresslevel=9)  # gzip members concatenate
    path.write_bytes(gzip.compress((json.dumps(LINE) + "\n").encode())
                     + member * ((1 << 20) // len(member)))
    assert path.stat().st_size > 900_000
    start = cpu_seconds()
    result = ingest(str(path))
    assert cpu_seconds() - start < 5
    assert result.exit_code == 4  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert f"expands more than {MAX_GZIP_RATIO} times, stopped" in stderr
    assert "new 1," in stderr


def test_blank_lines_keep_line_numbers_in_gzip_below_the_ratio(tmp_path: Path) -> None:
    good, bad = json.dumps(LINE), '{"exchange": "x"'
    text = good + "\n" * 5000 + " \r\n\t\n" + bad + "\n" * 3 + good + "\n"
    path = tmp_path / "few.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode()))
    records = list(read_records(str(path)))
    assert [(r.line, r.error is None) for r in records] == [(1, True), (5003, False),
                                                            (5006, True)]


@given(
    st.lists(st.sampled_from([b"\n", b"\n\n\n\n\n\n\n\n\n", b" ", b"\r\n", b"\t", b"{}", b"x",
                              b"\x00", b"\xff"]), max_size=60),
    st.integers(min_value=1, max_value=17),
)
def test_line_splitting_matches_a_plain_reference(parts: list[bytes], chunk: int) -> None:
    """Every path of the splitter (blank chunks, blank-heavy chunks, ordinary chunks, any chunk
    boundary) numbers and keeps exactly the non-blank lines."""
    data = b"".join(parts)
    stream = io.BytesIO(data)
    got = [(number, text, error is None)
           for number, text, error in readers._split_lines(lambda _n: stream.read(chunk))]
    expected = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.removesuffix(b"\r")
        if raw and not raw.isspace():
            ok = b"\x00" not in raw and b"\xff" not in raw
            expected.append((number, raw.decode() if ok else None, ok))
    assert got == expected


@pytest.mark.parametrize("text", [
    '{"exchange":"binance","symbol":"BTCUSDT","side":"LONG","price":"1","qty":"1",'
    '"qty":"100","ts":1723895903305}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","z":"1","z":"9"}}',
])
def test_duplicate_keys_in_a_json_line_are_rejected(text: str) -> None:
    with pytest.raises(InvalidEvent, match=r"malformed JSON: duplicate key '(qty|z)'"):
        parse_json(text)


def test_duplicate_key_line_is_a_rejected_line(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    dup = json.dumps(LINE)[:-1] + ', "qty": "100"}'
    path.write_text(json.dumps(LINE) + "\n" + dup + "\n")
    result = ingest(str(path))
    assert result.exit_code == 4  # type: ignore[attr-defined]
    assert f"{path}:2: malformed JSON: duplicate key 'qty'" in result.stderr  # type: ignore[attr-defined]


def test_an_empty_id_is_no_id_in_jsonl_and_csv_alike(redis_url: str, tmp_path: Path) -> None:
    """`"id": ""` was rejected in JSONL while an empty CSV id cell was accepted: one rule now,
    an empty id is no id, and both inputs give the same single event."""
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({**LINE, "id": ""}) + "\n")
    csv_path = tmp_path / "b.csv"
    csv_path.write_text("exchange,symbol,side,price,qty,ts,id\n"
                        f"binance,BTCUSDT,LONG,65012.5,0.125,{T0},\n")
    first = ingest(str(jsonl))
    assert first.exit_code == 0, first.stderr  # type: ignore[attr-defined]
    second = ingest(str(csv_path))
    assert second.exit_code == 0  # type: ignore[attr-defined]
    assert "new 0, duplicate 1" in second.stderr  # type: ignore[attr-defined]
    client = redis.Redis.from_url(redis_url)
    assert client.exists("liq:{BTCUSDT}:t")
