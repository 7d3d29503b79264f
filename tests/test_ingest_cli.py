"""``liqcli ingest`` end to end against a real redis-server."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner, Result

from liqcli.cli.app import app
from liqcli.ingest.readers import format_names
from liqcli.store.store import Store

runner = CliRunner()
T0 = 1_723_895_903_305
FIELDS = ["exchange", "symbol", "side", "price", "qty", "ts", "usd", "id"]


def ingest(*args: str, input: bytes | None = None) -> Result:
    return runner.invoke(app, ["ingest", *args], input=input)


def sample(n: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = {
            "exchange": rng.choice(["binance", "Bybit", "okx"]),
            "symbol": rng.choice(["BTCUSDT", "ethusdt"]),
            "side": rng.choice(["LONG", "short"]),
            "price": f"{rng.randint(1, 10**6)}.{rng.randint(0, 10**8):08d}",
            "qty": f"{rng.randint(0, 5000)}.{rng.randint(1, 10**12):012d}",
            "ts": str(T0 + i * 1000),
        }
        if i % 3 == 0:
            row["usd"] = f"{rng.randint(1, 10**6)}.25"
        if i % 4 == 0:
            row["id"] = f"id-{i}"
        rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


Cells = dict[tuple[str, str, str], tuple[int, Decimal, Decimal]]


def expected(rows: list[dict[str, str]]) -> Cells:
    """Independent Decimal recomputation of the (symbol, exchange, side) cells."""
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    qtys: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    usds: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with localcontext() as ctx:
        ctx.prec = 100
        for r in rows:
            usd = Decimal(r["usd"]) if r.get("usd") else Decimal(r["price"]) * Decimal(r["qty"])
            if usd.as_tuple().exponent < -18:  # type: ignore[operator]
                usd = usd.quantize(Decimal("1e-18"), rounding=ROUND_HALF_EVEN)
            key = (r["symbol"].upper(), r["exchange"].lower(), r["side"].upper())
            counts[key] += 1
            qtys[key] += Decimal(r["qty"])
            usds[key] += usd
    return {key: (counts[key], qtys[key], usds[key]) for key in counts}


def stored(client: redis.Redis, prefix: str = "liq") -> Cells:
    store = Store(client, prefix)
    cells: Cells = {}
    for symbol in store.symbols():
        for (exchange, side), cell in store.rollup(symbol).cells.items():
            cells[(symbol, exchange, side)] = (cell.events, cell.qty, cell.usd)
    return cells


def snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    """Every key's serialized value: equal snapshots mean nothing changed."""
    return {key: client.dump(key) for key in sorted(client.scan_iter(count=1000))}


def summary_of(result: Result) -> dict[str, float]:
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def test_valid_file_is_stored_exactly(redis_client: redis.Redis, tmp_path: Path) -> None:
    rows = sample(300)
    result = ingest(str(write_jsonl(tmp_path / "a.jsonl", rows)), "--json")
    assert result.exit_code == 0, result.stderr
    figures = summary_of(result)
    assert (figures["read"], figures["new"], figures["rejected"]) == (300, 300, 0)
    assert "read 300, new 300, duplicate 0, rejected 0, skipped 0" in result.stderr
    assert stored(redis_client) == expected(rows)


def test_rerun_reports_all_duplicates(redis_client: redis.Redis, tmp_path: Path) -> None:
    path = str(write_jsonl(tmp_path / "a.jsonl", sample(120)))
    assert ingest(path).exit_code == 0
    before = snapshot(redis_client)
    result = ingest(path, "--json")
    assert result.exit_code == 0
    figures = summary_of(result)
    assert (figures["new"], figures["duplicate"]) == (0, 120)
    assert stored(redis_client) == expected(sample(120))
    assert snapshot(redis_client).keys() == before.keys()


BAD_LINES: list[tuple[bytes, str]] = [
    (b'{"exchange": "okx", "symbol"', "malformed JSON: "),
    (b'["okx", "BTCUSDT"]', "JSON value is an array, expected an object"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":NaN,"qty":1,"ts":1723895903305}',
     "malformed JSON: NaN is not a number"),
    (b'{"exchange":"okx\x00"}', "NUL byte"),
    (b'{"exchange":"okx\xff"}', "invalid UTF-8"),
    (b'{"x":"' + b"a" * 70_000 + b'"}', "line longer than 64 KiB"),
    (b'{"exchange":"okx","symbol":"B","side":"BUY","price":"1","qty":"1","ts":1723895903305}',
     "side: unknown 'BUY' (expected LONG or SHORT, the position liquidated"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"0","qty":"1","ts":1723895903305}',
     "price: must be > 0"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"1","qty":-2,"ts":1723895903305}',
     "qty: must be > 0"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"1","qty":"0.1234567890123456789",'
     b'"ts":1723895903305}', "qty: more than 18 decimal places"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"1e10","qty":"1","ts":1723895903305}',
     "price: must be < 1e+10"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":true,"qty":"1","ts":1723895903305}',
     "price: must be a number"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"1","qty":"1","ts":1723895903}',
     "looks like epoch seconds"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"1","qty":"1","ts":99999999999999}',
     "ts: more than a day in the future"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"1","qty":"1",'
     b'"ts":"2024-08-17T11:58:23"}', "ts: ISO-8601 time without a zone"),
    (b'{"exchange":"[red]okx","symbol":"B","side":"LONG","price":"1","qty":"1","ts":1723895903305}',
     "exchange: invalid '[red]okx'"),
    (b'{"exchange":"okx","symbol":"B\\u001b[2J","side":"LONG","price":"1","qty":"1",'
     b'"ts":1723895903305}', "symbol: invalid 'B\\x1b[2J'"),
    (b'{"exchange":"okx","symbol":"B","side":"LONG","price":"1","ts":1723895903305}',
     "missing field 'qty'"),
]


def test_every_bad_line_is_reported_and_changes_nothing(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    rows = sample(40)
    assert ingest(str(write_jsonl(tmp_path / "base.jsonl", rows))).exit_code == 0
    before, figures_before = snapshot(redis_client), stored(redis_client)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(line for line, _ in BAD_LINES) + b"\n")
    result = ingest(str(bad), "--json")
    assert result.exit_code == 4
    listed = result.stderr.splitlines()
    for number, (_, reason) in enumerate(BAD_LINES, start=1):
        prefix = f"{bad}:{number}: "
        lines = [line for line in listed if line.startswith(prefix)]
        assert len(lines) == 1 and reason in lines[0], (number, lines)
    assert summary_of(result)["rejected"] == len(BAD_LINES)
    assert "\x1b" not in result.stderr
    assert snapshot(redis_client) == before
    assert stored(redis_client) == figures_before


def test_bad_csv_header_rejects_its_rows_and_changes_nothing(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("exchange,symbol,side,price,ts\nokx,BTCUSDT,LONG,1,1723895903305\n")
    result = ingest(str(path))
    assert result.exit_code == 4
    assert f"{path}:1: CSV header lacks required column(s) qty" in result.stderr
    assert f"{path}:2: row not read" in result.stderr
    assert snapshot(redis_client) == {}


def test_mixed_file_stores_the_valid_lines(redis_client: redis.Redis, tmp_path: Path) -> None:
    rows = sample(50)
    lines = [json.dumps(r).encode() for r in rows]
    for index, (bad, _) in enumerate(BAD_LINES):
        lines.insert(index * 3, bad)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines))
    result = ingest(str(path), "--json")
    assert result.exit_code == 4
    figures = summary_of(result)
    assert (figures["new"], figures["rejected"]) == (50, len(BAD_LINES))
    assert stored(redis_client) == expected(rows)


def test_strict_stores_nothing_when_a_line_is_bad(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    rows = sample(30)
    lines = [json.dumps(r) for r in rows]
    lines.insert(17, json.dumps({**rows[0], "side": "SELL"}))
    path = tmp_path / "strict.jsonl"
    path.write_text("\n".join(lines))
    result = ingest(str(path), "--strict", "--json")
    assert result.exit_code == 4
    assert f"{path}:18: side: unknown 'SELL'" in result.stderr
    assert "--strict: nothing stored" in result.stderr
    assert summary_of(result)["new"] == 0
    assert snapshot(redis_client) == {}
    good = write_jsonl(tmp_path / "good.jsonl", rows)
    assert ingest(str(good), "--strict").exit_code == 0
    assert stored(redis_client) == expected(rows)


def test_csv_and_jsonl_store_identical_figures(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    rows = sample(200, seed=11)
    assert ingest(str(write_csv(tmp_path / "a.csv", rows)), "--prefix", "c").exit_code == 0
    assert ingest(str(write_jsonl(tmp_path / "a.jsonl", rows)), "--prefix", "j").exit_code == 0
    assert stored(redis_client, "c") == stored(redis_client, "j") == expected(rows)
    for symbol in Store(redis_client, "c").symbols():
        from_csv = list(Store(redis_client, "c").events(symbol))
        from_jsonl = list(Store(redis_client, "j").events(symbol))
        assert from_csv == from_jsonl


def test_gzip_and_stdin(redis_client: redis.Redis, tmp_path: Path) -> None:
    rows = sample(80, seed=3)
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(data))
    assert ingest(str(gz), "--prefix", "g").exit_code == 0
    result = ingest("-", "--prefix", "s", "--json", input=data)
    assert result.exit_code == 0, result.stderr
    assert summary_of(result)["new"] == 80
    csv_text = io.StringIO()
    writer = csv.DictWriter(csv_text, FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    result = ingest("-", "-F", "csv", "--prefix", "sc", input=csv_text.getvalue().encode())
    assert result.exit_code == 0, result.stderr
    assert stored(redis_client, "g") == stored(redis_client, "s") == stored(redis_client, "sc")
    assert stored(redis_client, "g") == expected(rows)


def test_rejections_are_capped_on_stderr_but_all_in_the_reject_file(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("not json\n" * 35)
    rejects = tmp_path / "rejects.txt"
    result = ingest(str(path), "--reject-file", str(rejects))
    assert result.exit_code == 4
    listed = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert len(listed) == 20
    assert "... 15 more rejected (all are in the reject file)" in result.stderr
    kept = rejects.read_text().splitlines()
    reason = "malformed JSON: Expecting value at column 1"
    assert kept == [f"{path}:{n}: {reason}" for n in range(1, 36)]


def test_usage_errors(redis_url: str, tmp_path: Path) -> None:
    result = ingest()
    assert result.exit_code == 2
    assert "liqcli: error: no input: pass FILE... or '-' for standard input" in result.stderr
    result = ingest(str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 2 and "cannot read" in result.stderr
    result = ingest("-F", "nope", "-")
    assert result.exit_code == 2 and "unknown input format 'nope'" in result.stderr
    result = ingest("-", "--reject-file", str(tmp_path / "no" / "such" / "dir"), input=b"")
    assert result.exit_code == 2 and "cannot write reject file" in result.stderr


def test_store_unreachable_is_exit_3(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", sample(3))
    result = ingest(str(path), "--redis-url", "redis://127.0.0.1:1/0")
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith("liqcli: error: ")


def test_help_names_every_packaged_format() -> None:
    import pkgutil

    import liqcli.feeds.adapters

    packaged = [m.name for m in pkgutil.iter_modules(liqcli.feeds.adapters.__path__)
                if m.name not in {"base", "contracts"} and not m.name.startswith("_")]
    assert set(packaged) <= set(format_names())
    result = runner.invoke(app, ["ingest", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    for name in ["auto", "jsonl", "csv", *packaged]:
        assert name in result.stdout


@pytest.mark.parametrize("option", ["--input-format", "--format", "-F"])
def test_format_option_names(redis_client: redis.Redis, tmp_path: Path, option: str) -> None:
    path = write_csv(tmp_path / "rows.txt", sample(5))
    result = ingest(str(path), option, "csv", "--json")
    assert result.exit_code == 0, result.stderr
    assert summary_of(result)["new"] == 5


def test_exchange_recording_through_an_adapter(redis_client: redis.Redis, tmp_path: Path) -> None:
    frame = {"e": "forceOrder", "E": T0, "o": {
        "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.288", "p": "38886.54",
        "ap": "39021.00", "X": "FILLED", "l": "0.288", "z": "0.288", "T": T0}}
    path = tmp_path / "binance.log"
    path.write_text(json.dumps({"result": None, "id": 1}) + "\n" + json.dumps(frame) + "\n")
    result = ingest(str(path), "--json")
    assert result.exit_code == 0, result.stderr
    figures = summary_of(result)
    assert (figures["new"], figures["skipped"]) == (1, 1)
    cells = stored(redis_client)
    assert cells == {("BTCUSDT", "binance", "LONG"): (
        1, Decimal("0.288"), Decimal("39021.00") * Decimal("0.288"))}
