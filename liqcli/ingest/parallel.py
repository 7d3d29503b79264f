"""Parallel ingest of a large plain file: worker processes read, validate and pack byte ranges
of whole lines; the calling process only registers symbols and sends the packed batches, in
file order, through the same atomic script as every other ingest.

Line numbers stay exact: each range reports its own line count, and the caller numbers the
ranges' rejected lines in order.

Workers never outlive the ingest: each asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG`` on Linux) and also watches its parent's pid (every platform), so a
``kill -9`` of the main process leaves no worker behind. Workers ignore SIGINT: Ctrl-C reaches
the whole process group, and only the main process reports it (one line).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from liqcli.errors import InvalidEvent

if TYPE_CHECKING:
    from liqcli.ingest.readers import InputFormat
    from liqcli.store.store import Packed, Store

RANGE_BYTES = 4 << 20  # bytes of input a worker handles at once
MIN_BYTES = 16 << 20  # smaller inputs are not worth starting processes for


@dataclass(slots=True)
class RangeResult:
    """What a worker made of one range of lines."""

    lines: int  # lines in the range (blank ones included), to number the next range
    batches: list[Packed] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line in range, reason)
    read: int = 0
    skipped: int = 0


PARENT_POLL_S = 0.5  # how often a worker checks that its parent is still alive
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_init(parent: int) -> None:
    """Worker start-up: die with the parent, leave Ctrl-C to the parent."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher below still applies
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="liqcli-parent-watch", daemon=True).start()


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back while workers are started: a child inherits the mask, so Ctrl-C during
    its start-up (before ``worker_init`` runs) cannot make it print a traceback; the parent
    gets the pending signal when the block ends."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def default_workers(store: Store) -> int:
    """The worker processes ``liqcli ingest`` starts by default: one per CPU, less one when the
    store's redis-server runs on this machine (a unix socket or a loopback address: its
    ingest script needs a core of its own; on two cores that leaves none, and one process
    that reads while a thread sends is quicker than two workers competing with the server).
    A cluster client or a remote server leaves every core to the client."""
    cpus = os.cpu_count() or 1
    pool = getattr(store.client, "connection_pool", None)
    options = getattr(pool, "connection_kwargs", None) or {}
    host = options.get("host")
    local = bool(options.get("path")) or (isinstance(host, str) and _loopback(host))
    return max(1, cpus - 1) if local else cpus


def _loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost`` or a loopback address."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def worth_it(path: str, workers: int) -> bool:
    """Whether ``path`` is a plain (not gzip) regular file big enough for ``workers`` > 1."""
    if workers < 2 or path == "-":
        return False
    try:
        if not os.path.isfile(path) or os.path.getsize(path) < MIN_BYTES:
            return False
        with open(path, "rb") as f:
            return f.read(2) != b"\x1f\x8b"
    except OSError:
        return False


def ranges(path: str, size: int | None = None) -> Iterator[tuple[int, int]]:
    """[start, end) byte ranges of ``path`` of about ``size`` bytes (default RANGE_BYTES), each
    ending after a newline (or at the end of the file)."""
    size = size or RANGE_BYTES
    total = os.path.getsize(path)
    start = 0
    with open(path, "rb") as f:
        while start < total:
            f.seek(min(start + size, total))
            while True:  # to the end of the line the target falls in (without holding it)
                piece = f.readline(1 << 20)
                if not piece or piece.endswith(b"\n"):
                    break
            end = min(f.tell(), total)
            yield start, end
            start = end


def read_range(
    path: str, fmt_name: str, start: int, end: int, prefix: str, batch_size: int
) -> RangeResult:
    """Worker: the records of one range, validated and packed into batches (no Redis)."""
    from liqcli.ingest.readers import get_format, records_in_range
    from liqcli.ingest.validate import normalize
    from liqcli.store.store import Store

    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    result = RangeResult(lines=data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1))
    packer = Store(None, prefix=prefix)
    events = []
    for record in records_in_range(path, get_format(fmt_name), start, end):
        if record.data is None:
            if record.error is None:
                result.skipped += 1
            else:
                result.read += 1
                result.rejected.append((record.line, record.error))
            continue
        result.read += 1
        try:
            events.append(normalize(record.data))
        except InvalidEvent as exc:
            result.rejected.append((record.line, exc.reason))
            continue
        if len(events) >= batch_size:
            result.batches.append(packer.pack(events))
            events = []
    if events:
        result.batches.append(packer.pack(events))
    return result


def ingest_file(
    store: Store,
    path: str,
    fmt: InputFormat,
    workers: int,
    *,
    batch_size: int,
    on_result: Callable[[RangeResult, int, int], None],
    on_batch: Callable[[list[bool]], None],
) -> None:
    """Ingest ``path`` with ``workers`` processes; ``on_result(result, first_line, end_byte)``
    is called in file order, before the range's batches are sent."""
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing import get_context

    first_line = 1

    def settle(end: int, job: Future[RangeResult]) -> list[Packed]:
        nonlocal first_line
        result = job.result()
        on_result(result, first_line, end)
        first_line += result.lines
        return result.batches

    def batches() -> Iterator[Packed]:
        pending: list[tuple[int, Future[RangeResult]]] = []
        with _sigint_blocked():
            pool = ProcessPoolExecutor(
                workers, mp_context=get_context("spawn"), initializer=worker_init,
                initargs=(os.getpid(),),
            )
        try:
            for start, end in ranges(path):
                with _sigint_blocked():  # a submit may start a worker
                    job = pool.submit(
                        read_range, path, fmt.name, start, end, store.prefix, batch_size
                    )
                pending.append((end, job))
                # in file order; a few ranges in flight keep every worker busy, memory bounded
                while len(pending) > 2 * workers or (pending and pending[0][1].done()):
                    yield from settle(*pending.pop(0))
            for end, job in pending:
                yield from settle(end, job)
        except BaseException:  # Ctrl-C, an error, or the consumer stopped: drop queued ranges
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    store.ingest_packed(batches(), on_batch)
