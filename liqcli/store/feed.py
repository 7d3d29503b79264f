"""The live feed: what ``liqcli tail`` and ``liqcli alert`` follow (docs/redis-layout.md).

Two structures, both Redis streams:

- ``<p>:{S}:feed`` — per symbol, in the symbol's hash slot. The ingest script appends ONE entry
  per batch holding the batch's NEW events of that symbol (duplicates never reach it), in the
  same atomic call that stores them, so the feed holds an event exactly when the store does.
  Capped with ``MAXLEN ~ FEED_MAXLEN`` entries (script calls) and kept ``FEED_KEEP_MS`` (entries
  older than that are trimmed at the next write; the key expires that long after its last
  entry): a buffer for followers, not a second copy of the store. Entry field ``v``: one line per
  event, ``<day>\\t<log line>`` (the log's eight fields, time in ms after the day's start;
  docs/redis-layout.md).
- ``<p>:hints`` — global, used alone (a single-key command, fine on Cluster). After each batch
  the ingesting client adds one entry naming the symbols that got new events (field ``s``,
  comma-separated). Capped with ``MAXLEN ~ HINT_MAXLEN``.

A follower keeps one cursor (stream ID) per symbol and one for the hints. It blocks on the hint
stream (``XREAD BLOCK``), and reads only the named symbols' feeds after their cursors: the cost
is O(new events), never a rescan. A hint lost because the ingester died between its script call
and its hint is harmless: the events are in the feed, and the follower reads them at that
symbol's next hint, or when it re-reads every selected feed once after a reconnect.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time (one-shot reports import this module)
    from collections.abc import Iterable, Sequence
    from typing import Any

    from liqcli.model import Event

FEED_SUFFIX = "feed"
FEED_MAXLEN = 1000  # entries (script calls: one per batch and symbol) kept, approximately
# how long an entry is kept (ms): a follower disconnected longer may miss events (it says so);
# a `tail --since` replay must end within it (it reads the log, then the feed after its cursor)
FEED_KEEP_MS = 600_000
HINT_MAXLEN = 10000  # hint entries kept, approximately
START = "0-0"  # the cursor before any entry


def feed_key(prefix: str, symbol: str) -> str:
    return f"{prefix}:{{{symbol}}}:{FEED_SUFFIX}"


def hints_key(prefix: str) -> str:
    return f"{prefix}:hints"


def symbol_of_key(prefix: str, key: str) -> str:
    """The symbol of a per-symbol key ``<prefix>:{SYMBOL}:...``."""
    start = len(prefix) + 2
    return key[start : key.index("}", start)]


def send_hint(client: Any, prefix: str, symbols: Sequence[str]) -> None:
    """Wake the followers: one hint entry naming ``symbols`` (which just got new events)."""
    client.xadd(
        hints_key(prefix), {"s": ",".join(symbols)}, maxlen=HINT_MAXLEN, approximate=True
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class FeedReader:
    """Cursors and reads of the live feed of one store (a redis client and a key prefix)."""

    def __init__(self, client: Any, prefix: str = "liq", keep_ms: int = FEED_KEEP_MS) -> None:
        self.client = client
        self.prefix = prefix
        self.keep_ms = keep_ms  # the writers' Store.feed_keep_ms

    def hint_end(self) -> str:
        """The ID of the newest hint (``0-0`` when there is none): a cursor at 'now'."""
        last = self.client.xrevrange(hints_key(self.prefix), count=1)
        return _text(last[0][0]) if last else START

    def feed_ends(self, symbols: Iterable[str]) -> dict[str, str]:
        """Per symbol, the ID of its newest feed entry (``0-0`` if none): cursors at 'now'.

        One pipeline of single-key commands (each in its symbol's slot)."""
        names = list(symbols)
        pipe = self.client.pipeline(transaction=False)
        for symbol in names:
            pipe.xrevrange(feed_key(self.prefix, symbol), count=1)
        return {
            symbol: _text(reply[0][0]) if reply else START
            for symbol, reply in zip(names, pipe.execute(), strict=True)
        }

    def wait(self, cursor: str, block_ms: int) -> tuple[str, list[str]]:
        """Block up to ``block_ms`` for hints after ``cursor``: (new cursor, symbols named)."""
        reply = self.client.xread({hints_key(self.prefix): cursor}, count=1000, block=block_ms)
        named: dict[str, None] = {}
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                cursor = _text(entry_id)
                for symbol in _text(fields.get(b"s", b"")).split(","):
                    if symbol:
                        named[symbol] = None
        return cursor, list(named)

    def read(
        self, symbol: str, cursor: str, count: int = 100
    ) -> list[tuple[str, list[Event]]]:
        """Up to ``count`` feed entries of ``symbol`` after ``cursor``: (entry ID, its events)."""
        from liqcli.store.store import DAY_MS, _decode_lines

        reply = self.client.xrange(feed_key(self.prefix, symbol), min=f"({cursor}", count=count)
        out: list[tuple[str, list[Event]]] = []
        for entry_id, fields in reply:
            events: list[Event] = []
            for line in fields[b"v"].decode().split("\n"):
                day, _, payload = line.partition("\t")
                events.extend(_decode_lines(symbol, int(day) * DAY_MS, [payload]))
            out.append((_text(entry_id), events))
        return out

    def trimmed_after(self, symbol: str, cursor: str) -> bool:
        """Whether the cap or the keep time may have removed entries newer than ``cursor``: the
        entry at the cursor is gone (the oldest kept entry is newer; trimming removes oldest
        first), or nothing is kept and the cursor is older than ``FEED_KEEP_MS``."""
        if cursor == START:
            return False
        oldest = self.client.xrange(feed_key(self.prefix, symbol), count=1)
        if oldest:
            return _id_tuple(_text(oldest[0][0])) > _id_tuple(cursor)
        # nothing kept: the key expired FEED_KEEP_MS after its last entry; entries added after
        # the cursor may have gone with it if the cursor is older than that
        seconds, micros = self.client.time()
        return _id_tuple(cursor)[0] < int(seconds) * 1000 + int(micros) // 1000 - self.keep_ms


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
