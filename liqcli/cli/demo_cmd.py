"""``liqcli demo``: a realistic sample through the real ingest path into an embedded store."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liqcli.cli.app import app, errors_handled
from liqcli.cli.options import Debug
from liqcli.cli.report_options import Format
from liqcli.errors import UsageError
from liqcli.formatters import DEFAULT_FORMAT

if TYPE_CHECKING:
    from liqcli.store.store import Store

DEFAULT_EVENTS = 5000
DEFAULT_SEED = 42
SPAN_HOURS = 48


@app.command()
def demo(
    events: Annotated[
        int,
        typer.Option("--events", "-n", min=1, metavar="N", help="How many sample liquidations."),
    ] = DEFAULT_EVENTS,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N",
                          help="Random seed: the same seed gives the same sample.")
    ] = DEFAULT_SEED,
    store: Annotated[
        Path | None,
        typer.Option("--store", metavar="PATH",
                     help="Keep the embedded store at PATH (a file, or a directory that gets "
                          "liqcli.rdb) (default: a temporary store, removed at exit)."),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option("--write", metavar="FILE",
                     help="Write the sample as JSON Lines to FILE ('-' for stdout) instead of "
                          "storing it."),
    ] = None,
    fmt: Format = DEFAULT_FORMAT,
    debug: Debug = False,
) -> None:
    """Try liqcli with nothing set up: a realistic sample, the real ingest path, the summary.

    The sample: binance, bybit and okx; BTCUSDT, ETHUSDT and SOLUSDT; 48 h to the current hour.

    Both sides, a random-walk price, heavy-tailed sizes, cascades; the same --seed, the same sample.

    It is stored in an embedded Redis exactly as `liqcli ingest` stores: no server, no setup.
    """
    with errors_handled(debug):
        if write is not None:
            _write_sample(write, events, seed)
            return
        _run_demo(events, seed, store, fmt)


def _sample(events: int, seed: int) -> Iterator[dict[str, Any]]:
    from liqcli.feeds.sample import DEMO_SYMBOLS, generate

    try:
        return generate(events, seed, symbols=DEMO_SYMBOLS, span_hours=SPAN_HOURS)
    except ValueError as exc:
        raise UsageError(f"--events: {exc}") from None


def _write_sample(target: Path, events: int, seed: int) -> None:
    from liqcli.feeds.sample import dumps, write_jsonl

    records = _sample(events, seed)
    if str(target) == "-":
        out = sys.stdout
        for record in records:
            out.write(dumps(record) + "\n")
        out.flush()
        return
    try:
        written = write_jsonl(target, records)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    _note(f"wrote {written:,} sample liquidations (seed {seed}) to {target}")


def _run_demo(events: int, seed: int, store_path: Path | None, fmt: str) -> None:
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="liqcli-demo-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        url = f"embedded:{store_path if store_path is not None else work / 'store'}"
        store = _open_embedded(url, stack, keep=store_path is not None)
        sample_file = work / "sample.jsonl"
        from liqcli.feeds.sample import write_jsonl

        written = write_jsonl(sample_file, _sample(events, seed))
        summary = _ingest(store, sample_file)
        where = url[len("embedded:"):] if store_path is not None else "a temporary store"
        _note(f"demo: {written:,} sample liquidations (seed {seed}) ingested into {where}"
              f"{_summary_note(summary)}")
        _report(store, fmt)
        if store_path is not None:
            _note(f"query it further: liqcli summary --redis-url {url} --all-symbols")
            _note(f"its server keeps running for fast queries: liqcli store stop --redis-url {url}")
        else:
            _note("the temporary store is removed now; use --store PATH to keep it")


def _open_embedded(url: str, stack: ExitStack, *, keep: bool) -> Store:
    """The demo's store; a temporary one's server is stopped (and its files removed) at exit."""
    from liqcli.store.connection import embedded_path, open_store

    if not keep:
        from liqcli.store.embedded import EmbeddedServer

        server = EmbeddedServer(embedded_path(url))
        stack.callback(server.discard)  # registered after the rmtree: runs before it
    return open_store(url)


def _ingest(store: Store, sample_file: Path) -> object:
    from liqcli.ingest.pipeline import ingest_paths

    return ingest_paths(store, [str(sample_file)], fmt="jsonl")


def _summary_note(summary: object) -> str:
    """", N new, M duplicate" when the ingest summary says so (a re-run on a kept store)."""
    new = getattr(summary, "new", None)
    duplicate = getattr(summary, "duplicate", None)
    if isinstance(new, int) and isinstance(duplicate, int) and duplicate:
        return f" ({new:,} new, {duplicate:,} already stored)"
    return ""


def _report(store: Store, fmt: str) -> None:
    from liqcli.formatters import render_report
    from liqcli.report.core import compute_stats

    stats = compute_stats(store, all_symbols=True)
    render_report(stats, "summary", fmt)


def _note(message: str) -> None:
    sys.stderr.write(f"liqcli: {message}\n")
    sys.stderr.flush()
