"""A real ``liqcli watch`` in a pseudo-terminal, its output fed to a terminal emulator (pyte):
what a person would see on a screen of a given size. Used by tests/test_watch_screen.py and by
scripts/gen_watch_screens.py (the screens in docs/watch.md)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable

import pyte


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Terminal:
    """``liqcli watch ARGS`` on a ``cols`` × ``rows`` terminal (TERM=xterm-256color)."""

    def __init__(self, url: str, *args: str, cols: int = 80, rows: int = 24,
                 env: dict[str, str] | None = None) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: its terminal gets the size, then it becomes liqcli
            try:
                _set_size(0, cols, rows)
                child = dict(env if env is not None else os.environ)
                for name in ("COLUMNS", "LINES", "NO_COLOR"):
                    child.pop(name, None)
                child.update(LIQCLI_REDIS_URL=url, TERM="xterm-256color", PYTHONUNBUFFERED="1")
                os.execve(sys.executable,
                          [sys.executable, "-m", "liqcli", "watch", *args], child)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.exit_code: int | None = None

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        """Leaving the block: Ctrl-C, which must end watch with status 0 (unless the block
        failed); the process never outlives the block."""
        try:
            if kind is None:
                self.interrupt()
                assert self.wait() == 0, self.text
        finally:
            self.kill()

    # ------------------------------------------------------------------ reading
    @property
    def lines(self) -> list[str]:
        """The screen's rows as text (a double-width character takes one entry, two columns)."""
        return [line.rstrip() for line in self.screen.display]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def _read(self, timeout: float) -> bool:
        """Feed what the process wrote within ``timeout``; False once it closed the terminal."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, min(timeout, 0.5)))
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.raw += chunk
        self.stream.feed(chunk)
        return True

    def wait_for(self, check: Callable[[Terminal], bool], what: str,
                 timeout: float = 60) -> None:
        """Read until ``check(self)`` holds on a quiet screen (nothing more to read for 0.2 s,
        so a frame is never judged half drawn)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the screen never showed {what}:\n{self.text}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if ready:
                if not self._read(0):
                    if check(self):
                        return
                    raise AssertionError(f"watch ended before {what}:\n{self.text}")
                continue
            if check(self):
                return

    def wait_text(self, needle: str, timeout: float = 60) -> None:
        self.wait_for(lambda t: needle in t.text, repr(needle), timeout)

    # ------------------------------------------------------------------ acting
    def resize(self, cols: int, rows: int) -> None:
        """Resize like a terminal window: the emulator, then the pty (the kernel sends
        SIGWINCH to the process)."""
        self.screen.resize(rows, cols)
        _set_size(self.fd, cols, rows)

    def interrupt(self) -> None:
        os.write(self.fd, b"\x03")  # Ctrl-C

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05):
                    pass
                os.close(self.fd)
                self.exit_code = os.waitstatus_to_exitcode(status)
                return self.exit_code
        self.kill()
        raise AssertionError(f"watch did not exit:\n{self.text}")

    def kill(self) -> None:
        if self.exit_code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.exit_code = -9
            with contextlib.suppress(OSError):
                os.close(self.fd)
