"""The one ingest path (CLI, demo, adapters): read inputs, validate, store in batches.

Counting (also what ``liqcli ingest`` reports):

* ``read``: items examined, events and rejected lines (``read = new + duplicate + rejected``,
  except with ``strict`` and a rejection, when nothing is stored);
* ``new`` / ``duplicate``: valid events stored for the first time / already in the store
  (or earlier in the same input);
* ``rejected``: invalid lines or events (each reported through ``on_reject``);
* ``skipped``: lines that carry no liquidation (exchange acks, pings, unfilled orders).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, cast

from liqcli.errors import InvalidEvent
from liqcli.ingest.readers import (
    Record,
    RecordReader,
    check_inputs,
    get_format,
    is_regular_file,
)
from liqcli.ingest.validate import normalize
from liqcli.model import Event

if TYPE_CHECKING:
    from liqcli.store.store import Packed, Store

__all__ = ["IngestSummary", "ingest_events", "ingest_paths"]

_FLUSH_AFTER_S = 1.0  # a slow stream (a pipe) is stored at least this often
_PIPE_FLUSH_S = 0.5  # a pipe's events are stored at most this long after they were read
_PIPE_IDLE_S = 0.05  # ... and as soon as the pipe has had nothing more for this long


@dataclass(slots=True)
class IngestSummary:
    read: int = 0
    new: int = 0
    duplicate: int = 0
    rejected: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        """Items read per second of wall time (0 when too quick to measure)."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, int | float]:
        figures: dict[str, int | float] = asdict(self)
        figures["seconds"] = round(self.seconds, 6)
        figures["events_per_s"] = round(self.events_per_s, 1)
        return figures


class _Counter:
    """Counts each stored batch's new/duplicate flags into the summary."""

    def __init__(self, summary: IngestSummary, on_batch: Callable[[], None] | None) -> None:
        self.summary = summary
        self.on_batch = on_batch

    def __call__(self, flags: list[bool]) -> None:
        new = sum(flags)
        self.summary.new += new
        self.summary.duplicate += len(flags) - new
        if self.on_batch is not None:
            self.on_batch()


def ingest_paths(
    store: Store,
    paths: Sequence[str],
    fmt: str = "auto",
    *,
    strict: bool = False,
    on_reject: Callable[[Record], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    batch_size: int = 5000,
    normalize_hook: Callable[[Mapping[str, object]], Event] | None = None,
    workers: int = 1,
) -> IngestSummary:
    """Read ``paths`` (``-`` = stdin) in format ``fmt`` and store their valid events.

    ``workers``: processes that read, validate and pack a large plain JSON Lines file in
    parallel (1 = none, the default for library callers; ``liqcli ingest`` uses one per CPU).
    Results, counts and line numbers are the same either way. The processes are started with
    the ``spawn`` method, so a calling script needs the usual ``if __name__ == "__main__":``.

    Every path is checked readable before anything is stored (:class:`UsageError` otherwise).
    Each invalid line or event is passed to ``on_reject`` (``record.error`` holds the reason)
    and the valid ones are stored anyway, unless ``strict``: then events are held in memory
    and stored only if nothing was rejected. ``on_progress(bytes)`` receives the raw bytes
    consumed so far over all inputs (compressed bytes for gzip; 0 for pipes), after each batch
    and each input. ``normalize_hook`` turns a record's dict into an :class:`Event` in place of
    :func:`liqcli.ingest.validate.normalize` (it raises :class:`InvalidEvent` to reject).
    """
    if fmt != "auto":
        get_format(fmt)
    check_inputs(paths)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    to_event = normalize if normalize_hook is None else normalize_hook
    summary = IngestSummary()
    started = time.perf_counter()
    done_bytes = 0
    reader: RecordReader | None = None
    parallel_end = 0  # bytes of the file in hand the worker processes have finished

    def progress() -> None:
        if on_progress is not None:
            inside = reader.position if reader is not None else parallel_end
            on_progress(done_bytes + inside)

    def parallel_progress(end: int) -> None:
        nonlocal parallel_end
        parallel_end = end
        progress()

    def reject(record: Record) -> None:
        summary.rejected += 1
        if on_reject is not None:
            on_reject(record)

    def valid_events(path: str) -> Iterator[Event]:
        nonlocal done_bytes, reader
        reader = RecordReader(path, fmt)
        for record in reader:
            data = record.data
            if data is None:
                if record.error is None:
                    summary.skipped += 1
                    continue
                summary.read += 1
                reject(record)
                continue
            summary.read += 1
            try:
                event = to_event(data)
            except InvalidEvent as exc:
                record.error = exc.reason
                reject(record)
                continue
            yield event
        done_bytes += reader.position
        reader = None
        progress()

    count = _Counter(summary, progress)
    if strict:
        held = [event for path in paths for event in valid_events(path)]
        if not summary.rejected:
            store.ingest(held, batch_size, on_batch=count)
    else:
        for path in paths:
            if normalize_hook is None and _ingest_in_parallel(
                store, path, fmt, workers, batch_size, summary, reject, parallel_progress, count,
            ):
                done_bytes += os.path.getsize(path)
                parallel_end = 0
                continue
            if is_regular_file(path):
                store.ingest(valid_events(path), batch_size, on_batch=count,
                             max_delay=_FLUSH_AFTER_S)
            else:  # a pipe: what was read is stored within _FLUSH_AFTER_S, even while it waits
                store.ingest_packed(
                    _timed_batches(store, valid_events(path), batch_size, _PIPE_FLUSH_S), count
                )
    summary.seconds = time.perf_counter() - started
    return summary


_END = object()


def _timed_batches(
    store: Store, events: Iterator[Event], batch_size: int, max_delay: float
) -> Iterator[Packed]:
    """Batches of ``events`` read by a helper thread: a batch is sent when full, when the input
    has had nothing more for a moment (_PIPE_IDLE_S), or ``max_delay`` seconds after its first
    event (``collector | liqcli ingest -`` stores each event within a second of reading it,
    while ``cat big.jsonl | liqcli ingest -`` still sends full batches)."""
    import queue
    import threading

    items: queue.Queue[object] = queue.Queue(maxsize=4 * batch_size)

    def read() -> None:
        try:
            for event in events:
                items.put(event)
        except BaseException as exc:  # handed to the consuming thread, raised there
            items.put(exc)
        else:
            items.put(_END)

    threading.Thread(target=read, name="liqcli-read", daemon=True).start()
    batch: list[Event] = []
    deadline = 0.0
    while True:
        try:
            wait = min(_PIPE_IDLE_S, max(0.0, deadline - time.monotonic())) if batch else None
            item = items.get(timeout=wait)
        except queue.Empty:
            yield store.pack(batch)
            batch = []
            continue
        if item is _END:
            break
        if isinstance(item, BaseException):
            raise item
        if not batch:
            deadline = time.monotonic() + max_delay
        batch.append(cast(Event, item))
        if len(batch) >= batch_size:
            yield store.pack(batch)
            batch = []
    if batch:
        yield store.pack(batch)


def _ingest_in_parallel(
    store: Store,
    path: str,
    fmt: str,
    workers: int,
    batch_size: int,
    summary: IngestSummary,
    reject: Callable[[Record], None],
    on_position: Callable[[int], None],
    count: Callable[[list[bool]], None],
) -> bool:
    """Ingest ``path`` with worker processes when it is worth it; False when it was not."""
    from liqcli.ingest import parallel as parallel_ingest
    from liqcli.ingest.readers import detect_format, source_name

    if not parallel_ingest.worth_it(path, workers):
        return False
    found = detect_format(path, fmt)
    if found.name != "jsonl":  # line parsers with state (CSV headers, some feeds) stay serial
        return False
    source = source_name(path)

    def on_result(result: parallel_ingest.RangeResult, first_line: int, end: int) -> None:
        summary.read += result.read
        summary.skipped += result.skipped
        for line, reason in result.rejected:
            reject(Record(source, first_line + line - 1, None, reason))
        on_position(end)  # every progress report from now on starts from here

    parallel_ingest.ingest_file(store, path, found, workers, batch_size=batch_size,
                                on_result=on_result, on_batch=count)
    return True


def ingest_events(
    store: Store, events: Iterable[Event], batch_size: int = 5000
) -> IngestSummary:
    """Store already valid events in batches (the demo and live adapters use this)."""
    summary = IngestSummary()
    started = time.perf_counter()

    def counted() -> Iterator[Event]:
        for event in events:
            summary.read += 1
            yield event

    store.ingest(counted(), batch_size, on_batch=_Counter(summary, None))
    summary.seconds = time.perf_counter() - started
    return summary
