"""Exit statuses and the exceptions that map onto them."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0
    ERROR = 1  # unexpected failure (a bug, or something we did not foresee)
    USAGE = 2  # bad command line
    STORE = 3  # store unreachable, refused auth, schema mismatch
    INVALID_INPUT = 4  # some input events were rejected
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell's convention)


class LiqError(Exception):
    """Base of every error liqcli reports as a one-line message."""

    exit_status: ExitStatus = ExitStatus.ERROR


class StoreError(LiqError):
    """The store cannot be reached, refused us, or holds data of another schema."""

    exit_status = ExitStatus.STORE


class UsageError(LiqError):
    """A bad option value detected after parsing (e.g. an unparseable --since)."""

    exit_status = ExitStatus.USAGE


class PrunedWindow(UsageError):
    """A window edge falls inside a slot whose events were pruned (``liqcli prune``)."""


class InvalidEvent(ValueError):
    """One input record cannot become an event; ``reason`` is a short human sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
