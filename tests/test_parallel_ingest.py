"""Parallel ingest of a plain JSONL file gives exactly what the serial path gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from liqcli.ingest import parallel as parallel_ingest
from liqcli.ingest.pipeline import ingest_paths
from liqcli.store.store import Store

T0 = 1_735_689_600_000


def write_mixed_file(path: Path, n: int = 3000) -> None:
    rng = random.Random(7)
    lines: list[bytes] = []
    for i in range(n):
        event = {"exchange": rng.choice(["binance", "okx", "bybit"]),
                 "symbol": rng.choice(["BTCUSDT", "ETHUSDT"]),
                 "side": rng.choice(["LONG", "short"]),
                 "price": f"{rng.randint(1, 99999)}.{i % 97}",
                 "qty": f"0.{rng.randint(1, 999):03d}", "ts": T0 + rng.randint(0, 30 * 3_600_000)}
        roll = rng.random()
        if roll < 0.03:
            lines.append(b"")  # blank
        elif roll < 0.06:
            lines.append(b"{not json")
        elif roll < 0.08:
            event["side"] = "BUY"
            lines.append(json.dumps(event).encode())
        elif roll < 0.10:
            lines.append(json.dumps(event).encode() + b"\r")  # CRLF
        elif roll < 0.11 and lines:
            lines.append(lines[-1])  # a replay: duplicate
        else:
            lines.append(json.dumps(event).encode())
        if i == 1500:
            lines.append(b'{"x": "' + b"a" * 70_000 + b'"}')  # over 64 KiB
        if i == 2000:
            lines.append(b"\x00\x01binary")
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")


def snapshot(store: Store) -> dict:
    return {s: {k: (c.events, c.qty, c.usd, c.first_ms, c.last_ms)
                for k, c in store.rollup(s).cells.items()} for s in store.symbols()}


def test_parallel_equals_serial(redis_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = tmp_path / "mixed.jsonl"
    write_mixed_file(data)
    monkeypatch.setattr(parallel_ingest, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel_ingest, "RANGE_BYTES", 4096)  # many ranges, many boundaries
    used: list[int] = []
    real = parallel_ingest.ingest_file
    monkeypatch.setattr(parallel_ingest, "ingest_file",
                        lambda *a, **k: (used.append(1), real(*a, **k))[1])
    assert len(list(parallel_ingest.ranges(str(data), 4096))) > 50
    outcomes = {}
    for workers, prefix in ((1, "serial"), (2, "parallel")):
        store = Store(redis_client, prefix=prefix)
        rejects: list[tuple[int, str]] = []
        summary = ingest_paths(store, [str(data)], workers=workers,
                               on_reject=lambda r, out=rejects: out.append((r.line, r.error)))
        outcomes[prefix] = (summary.read, summary.new, summary.duplicate, summary.rejected,
                            summary.skipped, sorted(rejects), snapshot(store))
    assert outcomes["parallel"] == outcomes["serial"]
    _read, new, duplicate, rejected, _skipped, rejects, _figures = outcomes["serial"]
    assert used == [1], "the parallel path must have run (once, for the workers=2 ingest)"
    assert new > 2000 and duplicate > 0 and rejected == len(rejects) > 100
    lines = data.read_bytes().split(b"\n")
    for line, _reason in rejects:  # the numbers point at the offending lines
        raw = lines[line - 1].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
        assert raw.startswith((b"{not json", b"\x00", b'{"x"')) or b'"BUY"' in raw


def test_small_files_and_gzip_stay_serial(tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("{}\n")
    assert not parallel_ingest.worth_it(str(small), 2)
    assert not parallel_ingest.worth_it("-", 2)
    assert not parallel_ingest.worth_it(str(small), 1)


def test_parallel_progress_moves_forward(redis_client, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #10.6: the bar stayed at 0 in the parallel path (each batch reported position 0)."""
    data = tmp_path / "mixed.jsonl"
    write_mixed_file(data)
    size = data.stat().st_size
    monkeypatch.setattr(parallel_ingest, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel_ingest, "RANGE_BYTES", 8192)
    for workers in (1, 2):
        seen: list[int] = []
        ingest_paths(Store(redis_client, prefix=f"p{workers}"), [str(data)], workers=workers,
                     batch_size=50, on_progress=seen.append)
        assert seen == sorted(seen), f"progress went back with {workers} worker(s)"
        assert seen[-1] == size
        if workers == 2:  # range by range (the serial path reads this file in one chunk)
            assert len({p for p in seen if 0 < p < size}) > 10


def test_default_workers_leave_a_core_to_a_local_server(
        redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    from liqcli.store.connection import open_store

    for cpus, local, remote in ((1, 1, 1), (2, 1, 2), (8, 7, 8)):
        monkeypatch.setattr(parallel_ingest.os, "cpu_count", lambda cpus=cpus: cpus)
        assert parallel_ingest.default_workers(open_store(redis_url)) == local
        for url in ("unix:///tmp/redis.sock", "redis://localhost:6379", "redis://[::1]:6379"):
            assert parallel_ingest.default_workers(Store(redis.Redis.from_url(url))) == local
        # a remote server (the client is never connected here): every core is the client's
        far = Store(redis.Redis.from_url("redis://203.0.113.7:6379"))
        assert parallel_ingest.default_workers(far) == remote
