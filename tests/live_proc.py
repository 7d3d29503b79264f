"""A liqcli subprocess whose stdout/stderr lines are read on threads (tail, alert)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class LiveProc:
    def __init__(self, *args: str, url: str, env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, "LIQCLI_REDIS_URL": url, "PYTHONPATH": str(ROOT),
                    **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "liqcli", *args], env=full_env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.out: queue.Queue[tuple[float, str]] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.put((time.monotonic(), line.rstrip("\n")))

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))

    def lines(self, n: int, timeout: float = 60) -> list[str]:
        return [text for _t, text in self.timed(n, timeout)]

    def timed(self, n: int, timeout: float = 60) -> list[tuple[float, str]]:
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"only {len(got)} of {n} lines in {timeout}s; stderr: {self.err}")
            try:
                got.append(self.out.get(timeout=remaining))
            except queue.Empty:
                continue
        return got

    def no_more(self, wait: float = 1.0) -> list[str]:
        time.sleep(wait)
        extra = []
        while not self.out.empty():
            extra.append(self.out.get()[1])
        return extra

    def wait_stderr(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.err):
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not on stderr: {self.err}")

    def interrupt(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def ingest_without_hint(store: Any, events: list[Any]) -> None:
    """What an ingester killed between its script call and its hint leaves: the batch stored
    (log, rollups, feed), no hint."""
    from liqcli.store.store import _script_source

    batch = store.pack(events)
    store._register(batch.symbols)
    script = store.client.register_script(_script_source("ingest.lua"))
    for _indexes, keys, args in batch.calls:
        script(keys=keys, args=args)
