"""What a user trial of the merged tool broke, each with the failing input it used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENT = {"exchange": "binance", "symbol": "币安人生USDT", "side": "LONG", "price": "0.5",
         "qty": "10", "ts": 1_723_895_903_305}


def liqcli(*args: str, env: dict[str, str] | None = None,
           **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liqcli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "LIQCLI_NO_FAST": "1", **(env or {})},
                          **kwargs)  # type: ignore[call-overload]


def test_store_urls_that_redis_py_would_misread_are_usage_errors(redis_url: str) -> None:
    base = redis_url.rsplit("/", 1)[0]
    bad_db = liqcli("totals", "--redis-url", f"{base}/abc")
    assert bad_db.returncode == 2 and "invalid database 'abc'" in bad_db.stderr
    unknown = liqcli("totals", "--redis-url", f"{base}/0?x=1")
    assert unknown.returncode == 2 and "unknown parameter 'x'" in unknown.stderr
    missing = liqcli("totals", "--redis-url", f"{base}/99")
    assert missing.returncode == 3 and "no such database" in missing.stderr
    assert "Traceback" not in bad_db.stderr + unknown.stderr + missing.stderr


def test_output_file_problems_are_usage_errors(tmp_path: Path, redis_url: str) -> None:
    for target, words in ((tmp_path / "nodir" / "x.prom", "does not exist"),
                          (tmp_path, "is a directory")):
        done = liqcli("totals", "-f", "prometheus", "-o", str(target))
        assert done.returncode == 2 and words in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind


def test_rejections_keep_exit_4_when_stderr_is_a_closed_pipe(tmp_path: Path,
                                                            redis_url: str) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(EVENT) + "\n" + "not json\n" * 500)
    read_end, write_end = os.pipe()
    os.close(read_end)  # `2>&1 | head -0`: every message to stderr meets a closed pipe
    try:
        done = subprocess.run([sys.executable, "-m", "liqcli", "ingest", str(path)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=write_end, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 4
    totals = json.loads(liqcli("totals", "-s", "币安人生USDT", "-f", "json").stdout)
    assert totals["totals"]["events"] == 1  # the valid event was stored all the same


def test_a_parquet_input_is_one_clear_rejection(tmp_path: Path, redis_url: str) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "eth.parquet"
    pq.write_table(pa.table({"symbol": ["ETHUSDT"] * 100}), path)
    done = liqcli("ingest", str(path))
    assert done.returncode == 4
    assert done.stderr.count(f"{path}:") == 1 and "a Parquet file" in done.stderr


def test_full_width_look_alikes_are_not_a_second_btcusdt(tmp_path: Path, redis_url: str) -> None:
    path = tmp_path / "look.jsonl"
    path.write_text(json.dumps({**EVENT, "symbol": "ＢＴＣUSDT"}) + "\n")
    done = liqcli("ingest", str(path))
    assert done.returncode == 4 and "look-alike of ASCII 'B'" in done.stderr


def test_data_formats_are_utf8_whatever_the_locale(tmp_path: Path, redis_url: str) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(EVENT) + "\n")
    assert liqcli("ingest", str(path)).returncode == 0
    cp1252 = {"PYTHONIOENCODING": "cp1252"}
    export = subprocess.run([sys.executable, "-m", "liqcli", "export", "--all-symbols", "-f",
                             "csv"], capture_output=True, cwd=ROOT, timeout=120,
                            env={**os.environ, **cp1252})
    assert "币安人生USDT".encode() in export.stdout
    report = subprocess.run([sys.executable, "-m", "liqcli", "symbols", "-f", "csv"],
                            capture_output=True, cwd=ROOT, timeout=120,
                            env={**os.environ, **cp1252})
    assert "币安人生USDT".encode() in report.stdout and b"\\u5e01" not in report.stdout
