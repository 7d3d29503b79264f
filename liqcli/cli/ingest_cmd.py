"""``liqcli ingest``: load liquidation events from files or standard input into the store.

The input format is chosen with ``--input-format``/``-F``; ``--format`` is accepted as an alias
(ingest has no output format, so it cannot clash here, but ``-f`` stays reserved for the report
commands' output format and is not used). Invalid lines never stop the import: each is listed
on stderr as ``file:line: reason`` (the first 20; ``--reject-file`` keeps them all), the valid
events are stored (nothing with ``--strict``), and the exit status is 4.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from liqcli.cli.app import app, errors_handled, fail
from liqcli.cli.contract_options import ContractSize, ContractSizes, contract_table
from liqcli.cli.options import PLAIN_TEXT, Debug, Prefix, RedisUrl
from liqcli.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from liqcli.ingest.pipeline import IngestSummary
    from liqcli.ingest.readers import Record

REJECTS_SHOWN = 20  # rejections listed on stderr; the reject file gets all of them
PROGRESS_MIN_BYTES = 8 << 20  # smaller inputs finish before a bar is worth drawing


def _complete_format(incomplete: str) -> list[str]:
    from liqcli.ingest.readers import format_names

    return [name for name in ["auto", *format_names()] if name.startswith(incomplete)]


@app.command()
def ingest(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE|-",
            help="Inputs to read ('-' = standard input; .gz is decompressed).",
            show_default=False,
            click_type=PLAIN_TEXT,
        ),
    ] = None,
    input_format: Annotated[
        str,
        typer.Option(
            "--input-format",
            "--format",
            "-F",
            metavar="FORMAT",
            autocompletion=_complete_format,
            help="Input format: auto (by content, then extension), jsonl, csv, an exchange "
            "recording (binance, bitmex, bybit, deribit, okx) or a historical dump (tardis, "
            "ccxt).",
        ),
    ] = "auto",
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Store nothing unless every line is valid (buffers)."),
    ] = False,
    reject_file: Annotated[
        Path | None,
        typer.Option(
            "--reject-file",
            metavar="PATH",
            help="Write every rejected line there as 'file:line: reason'.",
        ),
    ] = None,
    json_summary: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object on stdout.")
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, max=100_000, metavar="N",
                     help="Events per store round trip."),
    ] = 5000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, max=64, metavar="N",
            # "\\[": a literal bracket for rich's markup (it ate "[default: ...]" as a tag)
            help="Processes that read and validate a large (16 MiB+) plain JSONL file in "
            "parallel; 1 = none. \\[default: one per CPU, less one for a local server]",
        ),
    ] = None,
    contract_size: ContractSize = None,
    contract_sizes: ContractSizes = None,
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> None:
    """Load liquidation events (normalized JSONL/CSV or exchange recordings) into the store.

    Re-running an import is safe: events already stored count as duplicates.

    Invalid lines are listed on stderr as file:line: reason and the exit status is 4.
    """
    with errors_handled(debug):
        if not files:
            raise fail("no input: pass FILE... or '-' for standard input", ExitStatus.USAGE)
        from liqcli.ingest.parallel import default_workers
        from liqcli.ingest.pipeline import ingest_paths
        from liqcli.ingest.readers import check_inputs, get_format
        from liqcli.store.connection import open_store

        if input_format != "auto":
            get_format(input_format)
        check_inputs(files)
        if contract_size or contract_sizes:
            from liqcli.feeds.adapters import use_contracts

            use_contracts(contract_table(contract_size, contract_sizes))
        with _Rejects(reject_file) as rejects, _Progress(files) as on_progress:
            store = open_store(redis_url, prefix)
            try:
                summary = ingest_paths(
                    store, files, input_format, strict=strict, on_reject=rejects.add,
                    on_progress=on_progress, batch_size=batch_size,
                    workers=workers or default_workers(store),
                )
            except KeyboardInterrupt:
                raise fail(
                    "interrupted: the batches already stored are complete; run the same "
                    "ingest again to store the rest (stored events count as duplicates)",
                    ExitStatus.INTERRUPTED,
                ) from None
        _report(summary, rejects, strict=strict, json_summary=json_summary)
        if summary.rejected:
            raise typer.Exit(int(ExitStatus.INVALID_INPUT))


class _Rejects:
    """Lists rejections on stderr (the first few) and in the reject file (all)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.file: IO[str] | None = None
        self.count = 0

    def __enter__(self) -> _Rejects:
        if self.path is not None:
            try:
                self.file = self.path.open("w", encoding="utf-8")
            except OSError as exc:
                raise UsageError(
                    f"cannot write reject file {self.path}: {exc.strerror or exc}"
                ) from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.file is not None:
            self.file.close()

    def add(self, record: Record) -> None:
        line = f"{record.source}:{record.line}: {record.error}\n"
        self.count += 1
        if self.count <= REJECTS_SHOWN:
            say(line)
        if self.file is not None:
            self.file.write(line)


class _Progress:
    """A byte-based progress bar on stderr for large inputs when stderr is a terminal."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.bar: Any = None

    def __enter__(self) -> Any:
        total = _total_bytes(self.files)
        if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
            console=console, transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("ingest", total=total)
        bar = self.bar

        def on_progress(done: int) -> None:
            bar.update(task, completed=done)

        return on_progress

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _total_bytes(files: list[str]) -> int:
    """Sum of the inputs' sizes, or 0 when one is a stream (no meaningful total)."""
    import os
    import stat

    total = 0
    for path in files:
        if path == "-":
            return 0
        try:
            info = os.stat(path)
        except OSError:
            return 0
        if not stat.S_ISREG(info.st_mode):
            return 0
        total += info.st_size
    return total


def say(text: str) -> None:
    """A message on stderr that never stops the ingest: when stderr is a closed pipe
    (``2>&1 | head -1``) messages are dropped, and the exit status still tells (4 when
    anything was rejected)."""
    try:
        sys.stderr.write(text)  # looked up each time: a progress bar redirects it
        sys.stderr.flush()
    except BrokenPipeError:
        import os

        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def _report(summary: IngestSummary, rejects: _Rejects, *, strict: bool, json_summary: bool) -> None:
    hidden = rejects.count - REJECTS_SHOWN
    if hidden > 0:
        where = "all are in the reject file" if rejects.file is not None else (
            "use --reject-file PATH to keep them all"
        )
        say(f"... {hidden} more rejected ({where})\n")
    if strict and summary.rejected:
        say(f"liqcli: --strict: nothing stored, {summary.rejected} rejected\n")
    say(
        f"read {summary.read}, new {summary.new}, duplicate {summary.duplicate}, "
        f"rejected {summary.rejected}, skipped {summary.skipped} "
        f"in {summary.seconds:.2f} s ({summary.events_per_s:,.0f} events/s)\n"
    )
    if json_summary:
        import json

        sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
        sys.stdout.flush()
