"""The liquidation store in Redis: exact, idempotent, atomic ingest and rollup reads.

Layout (schema 5; docs/redis-layout.md has the whole picture). Every key of one symbol carries
the hash tag ``{SYMBOL}`` so a batch script touches a single Cluster slot:

- ``<p>:schema``            string, the layout version (checked on open)
- ``<p>:symbols``           set of symbols (discovery without SCAN)
- ``<p>:{S}:t``             hash, cumulative rollup: one field per ``<exchange>|<L|S>``
- ``<p>:{S}:days``          sorted set of days (epoch ms // 86 400 000) that hold events
- ``<p>:{S}:hrs``           sorted set of hours that have an hour rollup
- ``<p>:{S}:mns``           sorted set of minutes that have a minute rollup (busy slots)
- ``<p>:{S}:D:<day>``       hash, the UTC day's rollup (every event of the day); a period
  rollup's cell is ``n qty usd t0 t1`` (decimal text, ms after the period's start)
- ``<p>:{S}:h:<hour>``      hash, rollup of the hour's events kept in hour or slot logs
- ``<p>:{S}:s:<slot>``      hash, rollup of the 10-minute slot's events kept in its slot log
  or its minute logs
- ``<p>:{S}:m:<minute>``    hash, rollup of the minute's events kept in its minute log
- ``<p>:{S}:ld:<day>`` / ``lh:<hour>`` / ``ls:<slot>`` / ``lm:<minute>``  strings, the log:
  each event in exactly one of them (the day's while it is small, then the hour's, then the
  slot's, then in a busy slot the minute's: density decides)
- ``<p>:{S}:d``, ``d1:<n>``, ``d2:<n>``, ``d3:<n>``  strings, dedupe fingerprints in tiers of
  1, 16, 256 and 4096 buckets (a tier is used once the ones before it are full)
- ``<p>:{S}:tu:D:<day>``, ``tq:D:<day>`` (sorted sets), ``pb:D:<day>`` (string)  the day's
  top-K sets and price bands (``liqcli.store.topk``, ``liqcli.store.pricebands``), of its
  events outside its day log only;
  ``pl:<day>``: a pruned day's day log, kept by ``liqcli prune`` for them
"""

from __future__ import annotations

import re
import time
from collections import deque
from decimal import Decimal
from itertools import islice

from liqcli._record import record
from liqcli.errors import PrunedWindow, StoreError
from liqcli.model import AMOUNT_CONTEXT, EXCHANGE_RE, SYMBOL_RE, Event, default_usd
from liqcli.store.feed import FEED_KEEP_MS, FEED_MAXLEN, feed_key, send_hint, symbol_of_key
from liqcli.store.rollup import Cell, CellUnits, Rollup

TYPE_CHECKING = False  # typing is not imported at run time (one-shot reports)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from concurrent.futures import Future
    from typing import Any

    import redis

    from liqcli.model import Side
    from liqcli.store.pricebands import Buckets

    # one script call: the batch positions it covers, its KEYS and its ARGV
    _Call = tuple[list[int], list[str], list[Any]]
    # what a window reads: rollup hashes, logs (suffix, day start), minute logs with their
    # rollups (log suffix, rollup suffix, day start)
    _Plan = tuple[list[str], list[tuple[str, int]], list[tuple[str, tuple[str, ...], int]]]

SCHEMA_VERSION = "5"
HOUR_MS = 3_600_000
SLOT_MS = 600_000  # 10-minute slots: window edges read one slot log (capped) at most
SLOTS_PER_HOUR = HOUR_MS // SLOT_MS
MINUTE_MS = 60_000  # the finest partition, for busy slots only: an edge reads one minute log
MINUTES_PER_SLOT = SLOT_MS // MINUTE_MS
HOURS_PER_DAY = 24
DAY_MS = HOUR_MS * HOURS_PER_DAY
DEDUPE_TIERS = (1, 16, 256, 4096)  # buckets per tier of the dedupe fingerprints
MAX_SCRIPT_EVENTS = 5000  # events per script call (limbs are carried: any size is exact)
# Where an event's log line goes: its day's log while that holds fewer bytes than DAY_LOG_CAP,
# else its hour's log while that holds fewer than HOUR_LOG_CAP, else its 10-minute slot's log
# while that holds fewer than SLOT_LOG_CAP, else its minute's log. Reads do not depend on these
# (each event is in exactly one log, found through the indexes).
DAY_LOG_CAP = 4096
HOUR_LOG_CAP = 4096
SLOT_LOG_CAP = 32768  # ~800 events: a window edge parses at most this plus one minute's log
DEDUPE_CAP = 4096  # bytes of fingerprints (341 events) per bucket of the first three tiers
LIMB_LIMIT = 2**53 - 1  # largest integer limb (whole units) a rollup cell can hold
TOP_K = 100  # each day keeps (at least) its TOP_K largest events by USD and by qty
_E9 = 10**9
_ZERO = Decimal(0)
_E18 = 10**18
_EXACT_UNITS = 10**59  # 1e-18 units below this fit AMOUNT_CONTEXT (60 digits) exactly
_SIDE_CODE: dict[str, str] = {"LONG": "L", "SHORT": "S"}
_CODE_SIDE: dict[str, Side] = {"L": "LONG", "S": "SHORT"}
# a log line's time offset: its sixth tab-separated field
_OFFSETS = re.compile(rb"^(?:[^\t\n]*\t){5}([0-9]+)", re.MULTILINE)


@record(frozen=True)
class Packed:
    """A batch ready to send: its script calls, its size, and the symbols it writes."""

    calls: list[_Call]
    size: int
    symbols: frozenset[str]


@record()
class IngestCounts:
    new: int = 0
    duplicate: int = 0


def amount_parts(value: Decimal, name: str, zero_ok: bool = False) -> tuple[str, str, str, str]:
    """An amount's canonical text and its limbs as text: (text, integer, 1e-9 part, 1e-18 part).

    Refuses, before anything is sent, amounts the store cannot add exactly: negative, NaN,
    infinite, ≥ 10^13, more than 18 decimals (and zero, unless ``zero_ok``: a notional may
    round to 0). liqcli.ingest.validate rejects such input with a reason first; this guards library
    callers, since a script error after its first write would leave a batch half applied.
    """
    whole, _, frac = format(value, "f").partition(".")
    frac = frac.rstrip("0")
    if not whole.isdigit() or len(whole) > 13 or len(frac) > 18 or (
        not zero_ok and whole == "0" and not frac
    ):
        raise ValueError(f"{name} {value} is outside the stored range (0, 1e13), 18 decimals")
    padded = frac.ljust(18, "0")
    return (f"{whole}.{frac}" if frac else whole), whole, padded[:9], padded[9:]


def from_limbs(whole: int, hi: int, lo: int) -> Decimal:
    """Inverse of the limbs of :func:`amount_parts`, exact for any (unnormalized) limb sums.

    The value in its shortest form (``Decimal.normalize``), built from text: exact whatever the
    context's precision, and cheaper than arithmetic in a wide context.
    """
    units = whole * _E18 + hi * _E9 + lo
    if not units:
        return Decimal(0)
    digits = str(units)
    stripped = digits.rstrip("0")
    return Decimal(f"{stripped}E{len(digits) - len(stripped) - 18}")


class Store:
    """One liqcli store: a Redis connection and a key prefix."""

    def __init__(self, client: redis.Redis | None, prefix: str = "liq") -> None:
        """``client`` may be None for a store that only packs batches (worker processes)."""
        self.client: Any = client  # redis.Redis or RedisCluster; replies typed below
        self.prefix = prefix
        self._script: Any = None
        self._read_ro: bool | None = None  # scripts with EVAL_RO; None: not known yet
        self._known_symbols: set[str] = set()
        self._schema_written = False
        # bytes (day, hour, slot): see DAY_LOG_CAP (tests lower them)
        self.log_caps = (DAY_LOG_CAP, HOUR_LOG_CAP, SLOT_LOG_CAP)
        self.dedupe_cap = DEDUPE_CAP
        self.feed_keep_ms = FEED_KEEP_MS  # how long the live feed keeps an entry (tests lower it)

    # ----------------------------------------------------------------- keys
    def key(self, symbol: str, suffix: str) -> str:
        return f"{self.prefix}:{{{symbol}}}:{suffix}"

    @property
    def schema_key(self) -> str:
        return f"{self.prefix}:schema"

    @property
    def symbols_key(self) -> str:
        return f"{self.prefix}:symbols"

    # --------------------------------------------------------------- schema
    def check_schema(self) -> None:
        """Raise StoreError when the prefix holds data written by another layout version."""
        found = self.client.get(self.schema_key)
        if found is not None and found.decode() != SCHEMA_VERSION:
            hint = (
                " (an older layout: ingest the events again into another --prefix or an empty "
                "database; docs/redis-layout.md)"
                if found.decode().isdigit() and int(found.decode()) < int(SCHEMA_VERSION)
                else ""
            )
            raise StoreError(
                f"store at prefix {self.prefix!r} has schema version {found.decode()!r}, "
                f"this liqcli reads version {SCHEMA_VERSION!r}{hint}"
            )

    def _ensure_schema(self) -> None:
        if self._schema_written:
            return
        if not self.client.set(self.schema_key, SCHEMA_VERSION, nx=True):
            self.check_schema()
        self._schema_written = True

    # --------------------------------------------------------------- ingest
    def ingest(
        self,
        events: Iterable[Event],
        batch_size: int = MAX_SCRIPT_EVENTS,
        on_batch: Callable[[list[bool]], None] | None = None,
        max_delay: float | None = None,
    ) -> IngestCounts:
        """Store a stream of events in batches; ``on_batch`` sees each batch's new/duplicate flags.

        The next batch is prepared while the server runs the previous one (a single writer
        thread sends them in order), so client and server work overlap. With ``max_delay``
        (seconds) a partial batch is sent once that long has passed since the last one, when
        the next event arrives: a slow stream (a pipe) is stored promptly.
        """

        def packed() -> Iterator[Packed]:
            batch: list[Event] = []
            sent_at = time.monotonic()
            for event in events:
                batch.append(event)
                if len(batch) >= batch_size or (
                    max_delay is not None and time.monotonic() - sent_at > max_delay
                ):
                    yield self.pack(batch)
                    batch = []
                    sent_at = time.monotonic()
            if batch:
                yield self.pack(batch)

        return self.ingest_packed(packed(), on_batch)

    def ingest_packed(
        self,
        batches: Iterable[Packed],
        on_batch: Callable[[list[bool]], None] | None = None,
    ) -> IngestCounts:
        """Send batches made by :meth:`pack` (here or in another process), in order, overlapped
        with the making of the next one."""
        # imported here, not at the top: report start-up never needs it
        from concurrent.futures import ThreadPoolExecutor

        counts = IngestCounts()
        inflight: deque[Future[list[bool]]] = deque()

        def settle(future: Future[list[bool]]) -> None:
            flags = future.result()
            new = sum(flags)
            counts.new += new
            counts.duplicate += len(flags) - new
            if on_batch is not None:
                on_batch(flags)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="liqcli-ingest") as writer:
            for batch in batches:
                self._register(batch.symbols)
                inflight.append(writer.submit(self._execute, batch.calls, batch.size))
                while len(inflight) > 1:
                    settle(inflight.popleft())
            while inflight:
                settle(inflight.popleft())
        return counts

    def ingest_batch(self, events: Sequence[Event]) -> list[bool]:
        """Store events; returns, in order, True for each new event and False for duplicates.

        Events are grouped by symbol; each group is written by one atomic server-side script
        call per ≤ 500 events (all of an event's log, dedupe and rollup updates together).
        """
        batch = self.pack(events)
        self._register(batch.symbols)
        return self._execute(batch.calls, batch.size)

    def pack(self, events: Sequence[Event]) -> Packed:
        """The script calls that store ``events`` (validated, fingerprinted, packed): no I/O.

        Everything is packed (and so checked) before the first write: a refused event leaves
        no trace in the store.
        """
        by_symbol: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            by_symbol.setdefault(event.symbol, []).append(index)
        calls: list[_Call] = []
        for symbol, indexes in by_symbol.items():
            for start in range(0, len(indexes), MAX_SCRIPT_EVENTS):
                chunk = indexes[start : start + MAX_SCRIPT_EVENTS]
                sent, keys, args = self._pack(symbol, events, chunk)
                calls.append((sent, keys, args))
        return Packed(calls, len(events), frozenset(by_symbol))

    def _register(self, symbols: frozenset[str]) -> None:
        """Schema key and symbol discovery, before the symbols' first events are written."""
        if not symbols:
            return
        if not self._schema_written:
            self._check_write_rights(min(symbols))
        self._ensure_schema()
        new_symbols = symbols - self._known_symbols
        if new_symbols:
            # Registered before the data: discovery may list a symbol with no events yet,
            # never miss one that has events.
            self.client.sadd(self.symbols_key, *sorted(new_symbols))
            self._known_symbols.update(new_symbols)

    def _check_write_rights(self, symbol: str) -> None:
        """Before the first write: a no-op script declaring the keys ingest writes, so an
        ACL refusal (no scripts, keys outside the user's prefix) comes before anything is
        written — no schema key, no symbol that discovery would list."""
        keys = (self.schema_key, self.symbols_key, self.key(symbol, "t"))
        if _is_cluster(self.client):  # keys in three slots; redis-py pipelines no EVAL there
            for key in keys:
                self.client.eval("return 0", 1, key)
            return
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.eval("return 0", 1, key)
        pipe.execute()

    def _execute(self, calls: list[_Call], size: int) -> list[bool]:
        """Run the script calls, pipelined in one round trip (each call stays atomic)."""
        import redis as redis_module

        if self._script is None:
            source = _script_source("ingest.lua")
            self._script = self.client.register_script(source)
        result = [False] * size
        if not calls:
            return result
        if len(calls) == 1:
            replies = [self._call(calls[0])]
        elif _is_cluster(self.client):
            # redis-py's cluster pipeline runs no scripts: one call after another (each still
            # atomic in its symbol's slot); a refused call is kept like a pipeline's error
            replies = []
            for call in calls:
                try:
                    replies.append(self._script(keys=call[1], args=call[2]))
                except redis_module.ResponseError as exc:
                    replies.append(exc)
        else:
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                self._script(keys=call[1], args=call[2], client=pipe)
            try:
                replies = pipe.execute(raise_on_error=False)
            except redis_module.exceptions.NoScriptError:  # pragma: no cover - flushed scripts
                replies = [self._call(call) for call in calls]
        fresh: dict[str, None] = {}  # symbols that got new events: the live feed's hint
        refused: Exception | None = None
        for (indexes, keys, _args), flags in zip(calls, replies, strict=True):
            if isinstance(flags, Exception):
                refused = refused or flags
                continue
            for i, flag in zip(indexes, flags, strict=True):
                result[i] = flag == 0x31  # b'1'
            if 0x31 in flags:
                fresh[symbol_of_key(self.prefix, keys[0])] = None
        if fresh:  # also when another call was refused: what was stored is announced
            send_hint(self.client, self.prefix, list(fresh))
        if refused is not None:
            raise _refusal(refused) from refused
        return result

    def _call(self, call: _Call) -> Any:
        import redis as redis_module

        try:
            return self._script(keys=call[1], args=call[2])
        except redis_module.ResponseError as exc:
            raise _refusal(exc) from exc

    def _pack(
        self, symbol: str, batch: Sequence[Event], chunk: list[int]
    ) -> tuple[list[int], list[str], list[Any]]:
        """One script call for the events ``batch[i]``, ``i`` in ``chunk`` (all of ``symbol``).

        Returns the positions sent, in the call's order, its KEYS and its ARGV. Events are
        sorted by minute (each minute is one group of the call); a repeat of an identity earlier
        in the chunk is not sent (it is a duplicate whatever the store holds: its flag stays
        False), so the first occurrence in input order is the one stored.
        """
        tag = f"{self.prefix}:{{{symbol}}}:"
        keys: list[str] = [tag + "t", tag + "days", tag + "hrs", tag + "d"]
        key_index = _KeyIndex(tag, keys)  # key suffix -> KEYS index (1-based)

        if not SYMBOL_RE.fullmatch(symbol):
            raise ValueError(f"symbol {symbol!r} is not [A-Z0-9._-]{{1,40}}")
        checked: set[str] = set()  # exchange names already checked in this batch
        # (minute, position, event, digest, amount texts) of each first occurrence
        prepared: list[tuple[int, int, Event, bytes, tuple[str, ...]]] = []
        seen: set[bytes] = set()
        for position in chunk:
            event = batch[position]
            price, _, _, _ = amount_parts(event.price, "price")
            qty, qi, q1, q2 = amount_parts(event.qty, "qty")
            usd, ui, u1, u2 = amount_parts(event.usd, "usd", zero_ok=True)
            if event.exchange not in checked:
                if not EXCHANGE_RE.fullmatch(event.exchange):
                    raise ValueError(f"exchange {event.exchange!r} is not [a-z0-9._-]{{1,32}}")
                checked.add(event.exchange)
            for text in (event.id or "", event.raw_symbol or ""):
                if "\t" in text or "\n" in text:
                    raise ValueError(f"text field {text!r} holds a tab or a newline")
            digest = fingerprint(event, price, qty, usd)
            if digest in seen:
                continue
            seen.add(digest)
            prepared.append((event.ts_ms // MINUTE_MS, position, event, digest,
                             (price, qty, qi, q1, q2, usd, ui, u1, u2)))
        prepared.sort(key=lambda item: item[0])  # stable: input order within a minute

        from liqcli.store.pricebands import bucket_of_text
        from liqcli.store.topk import score_of_text

        identities: list[bytes] = []
        buckets: dict[tuple[int, int], None] = {}
        groups: list[str] = []
        _, t1, t2, t3 = DEDUPE_TIERS
        minute = -1
        lines: list[str] = []
        # per event of the group: (cell number, amount limbs, time), formatted only for a
        # group of two events or more (the script reads the detail only for a group holding a
        # duplicate and a new event)
        details: list[tuple[int, str, str, str, str, str, str, int]] = []
        cells: dict[str, list[int]] = {}
        cell_no: dict[str, int] = {}
        first = 0
        index = key_index.index  # the key indexer's names: a hit needs no call
        # the top-K and price-band blocks' lines, without their KEYS indexes (their days' keys
        # are declared after the groups' and the feed's, below): (day, tail)
        top_tails: list[tuple[int, str]] = []
        band_tails: list[tuple[int, str]] = []

        def close_group(last: int) -> None:
            slot = minute // MINUTES_PER_SLOT
            hour = slot // SLOTS_PER_HOUR
            day = hour // HOURS_PER_DAY
            names = (f"ld:{day}", f"lh:{hour}", f"ls:{slot}", f"lm:{minute}", f"D:{day}",
                     f"h:{hour}", f"s:{slot}", f"m:{minute}")
            at = [index.get(name) or key_index(name) for name in names]
            groups.append(
                f"{at[0]} {at[1]} {at[2]} {at[3]} {at[4]} {at[5]} {at[6]} {at[7]} "
                f"{day} {hour} {minute} {first} {last}"
            )
            groups.append("\n".join(lines))
            groups.append("\n".join(
                f"{cell} {c[0]} {_limbs(c[1])} {_limbs(c[2])} {c[3]} {c[4]}"
                for cell, c in cells.items()
            ))
            groups.append("\n".join(
                f"{no} {qi} {q1} {q2} {ui} {u1} {u2} {ts}"
                for no, qi, q1, q2, ui, u1, u2, ts in details
            ) if len(details) > 1 else "")

        for number, (event_minute, _, event, digest, amounts) in enumerate(prepared):
            price, qty, qi, q1, q2, usd, ui, u1, u2 = amounts
            if event_minute != minute:
                if number:
                    close_group(number - 1)
                minute, first = event_minute, number
                lines, details, cells, cell_no = [], [], {}, {}
            identities.append(digest)
            h = (digest[0] << 8) | digest[1]
            buckets[(1, h % t1)] = buckets[(2, h % t2)] = buckets[(3, h % t3)] = None
            side = _SIDE_CODE[event.side]
            cell = f"{event.exchange}|{side}"
            ts = event.ts_ms
            if _tally(cells, cell, int(qi + q1 + q2), int(ui + u1 + u2), ts):
                no = cell_no[cell] = len(cell_no) + 1
            else:
                no = cell_no[cell]
            details.append((no, qi, q1, q2, ui, u1, u2, ts))
            usd_log = "" if event.usd == default_usd(event.price, event.qty) else usd
            day, ms = divmod(ts, DAY_MS)
            event_id = event.id or ""
            lines.append(
                f"{event.exchange}\t{side}\t{price}\t{qty}\t{usd_log}\t{ms}\t"
                f"{event_id}\t{event.raw_symbol or ''}"
            )
            # the top-K member (_top_line) and the price-band line (_band_line)
            top_tails.append((day, (
                f"{score_of_text(usd)}\t{score_of_text(qty)}\t{ms}\t{event.exchange}\t"
                f"{side}\t{price}\t{qty}\t{usd_log}\t{event_id}")))
            band_tails.append((day, f"{bucket_of_text(price)}|{side}\t{qi}\t{q1}\t{q2}\t"
                                    f"{ui}\t{u1}\t{u2}"))
        if prepared:
            close_group(len(prepared) - 1)
        table = "\n".join(
            f"{tier} {number} {key_index(f'd{tier}:{number}')}" for tier, number in buckets
        )
        day_cap, hour_cap, slot_cap = self.log_caps  # (a tuple of another length: ValueError)
        caps = f"{day_cap} {hour_cap} {slot_cap}"
        minute_index = key_index("mns")
        # the live feed block of ingest.lua (liqcli.store.feed): its key's index and its cap,
        # ARGV[8 + 4G] and [9 + 4G]; then the top-K and price-band blocks' ARGV
        # (ARGV[10 + 4G], [11 + 4G], [12 + 4G]) with their keys
        keys.append(feed_key(self.prefix, symbol))
        feed_index = len(keys)
        top = _day_lines(top_tails, lambda day: f"{key_index(f'tu:D:{day}')}\t"
                                                f"{key_index(f'tq:D:{day}')}\t")
        bands = _day_lines(band_tails, lambda day: f"{key_index(f'pb:D:{day}')}\t")
        return [item[1] for item in prepared], keys, [
            len(prepared), b"".join(identities), table, caps, minute_index, self.dedupe_cap,
            len(groups) // 4, *groups, feed_index, f"{FEED_MAXLEN} {self.feed_keep_ms}",
            top, TOP_K, bands,
        ]

    # ---------------------------------------------------------------- reads
    def symbols(self) -> list[str]:
        return sorted(m.decode() for m in self.client.smembers(self.symbols_key))

    def exchanges(self, symbol: str) -> list[str]:
        return self.rollup(symbol).exchanges

    def rollup(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Rollup:
        """Exact sums per (exchange, side) for [since_ms, until_ms); None means unbounded.

        All time: one round trip. A window: the indexes of its edge days (one round trip),
        then one read script (``read.lua``) for the rollups of the days wholly inside it, of
        the whole hours and slots of its edge days, and the logs of its edges.
        """
        return self.rollups([symbol], since_ms, until_ms)[0]

    def rollups(
        self, symbols: Sequence[str], since_ms: int | None = None, until_ms: int | None = None
    ) -> list[Rollup]:
        """:meth:`rollup` of many symbols, pipelined: at most three round trips for all of
        them (each command or script still touches one symbol's hash slot)."""
        return [
            Rollup(symbol=name, since_ms=since_ms, until_ms=until_ms, cells={
                key: Cell(n, _amount(q), _amount(u), first, last)
                for key, (n, q, u, first, last) in cells.items()})
            for name, cells in zip(symbols, self.rollup_units(symbols, since_ms, until_ms),
                                   strict=True)
        ]

    def rollup_units(
        self, symbols: Sequence[str], since_ms: int | None = None, until_ms: int | None = None
    ) -> list[dict[tuple[str, Side], CellUnits]]:
        """What :meth:`rollups` reads, as integers: for each symbol, per (exchange, side), the
        events, the qty and usd sums in 1e-18 units and the first and last event times (the
        aggregation core adds these up and makes one Decimal per figure it shows)."""
        out: list[dict[tuple[str, Side], CellUnits]] = [{} for _ in symbols]
        if not symbols:
            return out
        if since_ms is None and until_ms is None:
            # (measured: a pipeline of HGETALLs parses faster than read.lua's one string per
            # symbol, whose EVALSHA costs more on both sides)
            # one hash per symbol, one field per cell: nothing to add up. Every value of the
            # reply is parsed at once (one split, one map of int), then each cell's limbs
            # joined into units; fields' names decoded once per call.
            pipe = self.client.pipeline(transaction=False)
            for name in symbols:
                pipe.hgetall(self.key(name, "t"))
            replies: list[dict[bytes, bytes]] = pipe.execute()
            fields = [field for raw in replies for field in raw]
            if not fields:
                return out
            keys: dict[bytes, tuple[str, Side]] = {}
            for field in set(fields):
                exchange, _, code = field.decode().partition("|")
                keys[field] = (exchange, _CODE_SIDE[code])
            nums = list(map(int, b" ".join(
                [value for raw in replies for value in raw.values()]).split(b" ")))
            cells = zip(
                nums[0::9],
                [w * _E18 + h * _E9 + lo
                 for w, h, lo in zip(nums[1::9], nums[2::9], nums[3::9], strict=True)],
                [w * _E18 + h * _E9 + lo
                 for w, h, lo in zip(nums[4::9], nums[5::9], nums[6::9], strict=True)],
                nums[7::9], nums[8::9], strict=True,
            )
            for found, raw in zip(out, replies, strict=True):
                found.update(zip([keys[field] for field in raw], islice(cells, len(raw)),
                                 strict=True))
            return out
        if since_ms is not None and until_ms is not None and since_ms >= until_ms:
            return out
        plans = self._plans(symbols, since_ms, until_ms)
        reads = [(i, plan) for i, plan in enumerate(plans) if plan[0] or plan[1] or plan[2]]
        # the rollups the cut logs need beyond the plan's hashes (each key read once)
        extras = [_extra_rollups(plan) for _i, plan in reads]
        blobs_of = self._merged_scripts(
            "read.lua",
            [(self._read_keys(symbols[i], plan, extra), [len(plan[0]) + len(extra)])
             for (i, plan), extra in zip(reads, extras, strict=True)],
        )
        names: dict[bytes, tuple[str, Side]] = {}
        for (i, (hashes, logs, cuts)), extra, blobs in zip(reads, extras, blobs_of, strict=True):
            fold = _Fold()
            for suffix, blob in zip(hashes, blobs[: len(hashes)], strict=True):
                fold.add_hash_blob(blob, _period_start(suffix))
            at = len(hashes) + len(extra)
            hash_blob = dict(zip(hashes + extra, blobs[:at], strict=True))
            rollups_of = [[hash_blob[rollup] for rollup in cut[1]] for cut in cuts]
            for (_suffix, base), blob in zip(logs, blobs[at : at + len(logs)], strict=True):
                if blob:
                    fold.add_log(base, blob, since_ms, until_ms)
            for (_log, _rollups, base), rollup_blobs, blob in zip(
                    cuts, rollups_of, blobs[at + len(logs):], strict=True):
                fold.add_cut(base, blob, rollup_blobs, since_ms, until_ms)
            fold.into_units(out[i], names)
        return out

    def _read_keys(self, symbol: str, plan: _Plan, extra: list[str]) -> list[str]:
        """read.lua's KEYS for a plan: its hashes, the other rollups of its cut logs
        (``extra``), its logs, its cut logs."""
        tag = f"{self.prefix}:{{{symbol}}}:"
        hashes, logs, cuts = plan
        return ([tag + suffix for suffix in hashes + extra]
                + [tag + suffix for suffix, _ in logs] + [tag + cut[0] for cut in cuts])

    def _plans(
        self, symbols: Sequence[str], since_ms: int | None, until_ms: int | None
    ) -> list[_Plan]:
        """For each symbol, what a window reads (see :meth:`_plan`). One pipelined round trip
        reads the day index, the hour index of the (at most two) edge days and the minute
        index of the (at most two) edge slots."""
        lo_day = "-inf" if since_ms is None else str(since_ms // DAY_MS)
        hi_day = "+inf" if until_ms is None else str((until_ms - 1) // DAY_MS)
        # the hours of the (at most two) edge days: each whole, as a day log's events are its
        # day's rollup minus all of its hours'
        edge_days = sorted({edge // DAY_MS for edge in (since_ms, until_ms)
                            if edge is not None and edge % DAY_MS})
        hour_ranges = [(day * HOURS_PER_DAY, (day + 1) * HOURS_PER_DAY - 1) for day in edge_days]
        edge_slots = sorted({edge // SLOT_MS for edge in (since_ms, until_ms)
                             if edge is not None and edge % SLOT_MS})
        minute_ranges = " ".join(f"{slot * MINUTES_PER_SLOT} {(slot + 1) * MINUTES_PER_SLOT - 1}"
                                 for slot in edge_slots)
        args = [lo_day, hi_day, minute_ranges,
                *(bound for pair in hour_ranges for bound in pair)]
        replies = self._merged_scripts(
            "plan.lua", [(self._plan_keys(name), args) for name in symbols])
        plans = []
        for name, (days, hours, pruned, minutes) in zip(symbols, replies, strict=True):
            plan = self._plan([int(d) for d in days.split()], [int(h) for h in hours.split()],
                              [int(m) for m in minutes.split()], since_ms, until_ms)
            if pruned and (plan[1] or plan[2]):
                _check_not_pruned(name, int(pruned), plan[1] + [(c[0], c[2]) for c in plan[2]],
                                  since_ms, until_ms)
            plans.append(plan)
        return plans

    # keys per merged script call (see _merged_scripts); False once a server refused one
    MERGED_KEYS = 4096
    _merge_scripts = True

    def _merged_scripts(
        self, name: str, calls: list[tuple[list[str], list[Any]]]
    ) -> list[Any]:
        """What :meth:`_read_only_scripts` returns for the one-symbol calls of ``plan.lua``
        (the same args in every call) or ``read.lua``, with the calls of many symbols merged
        into a few (up to MERGED_KEYS keys each) on a single server: a script call costs the
        server ~15 µs whatever it reads, i.e. more than the reads of a symbol's window. Both
        scripts return one item per key. On a Cluster (keys of one call must share a slot),
        and after a server refused keys of several slots (CROSSSLOT: some proxies), one call
        per symbol."""
        if len(calls) < 2 or not self._merge_scripts or _is_cluster(self.client):
            return self._read_only_scripts(name, calls)
        chunks: list[list[int]] = [[]]
        size = 0
        for index, (keys, _args) in enumerate(calls):
            if size and size + len(keys) > self.MERGED_KEYS:
                chunks.append([])
                size = 0
            chunks[-1].append(index)
            size += len(keys)
        merged: list[tuple[list[str], list[Any]]] = []
        for chunk in chunks:
            if name == "plan.lua":
                merged.append(([key for i in chunk for key in calls[i][0]], calls[chunk[0]][1]))
            else:  # read.lua: every rollup hash first, then every log
                hashes = [key for i in chunk for key in calls[i][0][: int(calls[i][1][0])]]
                logs = [key for i in chunk for key in calls[i][0][int(calls[i][1][0]):]]
                merged.append((hashes + logs, [len(hashes)]))
        try:
            replies = self._read_only_scripts(name, merged)
        except Exception as exc:
            if "crossslot" not in str(exc).lower():
                raise
            self._merge_scripts = False
            return self._read_only_scripts(name, calls)
        out: list[Any] = [None] * len(calls)
        for chunk, reply, (_keys, args) in zip(chunks, replies, merged, strict=True):
            at = 0  # plan.lua: the groups in order; read.lua: hashes, then logs
            logs_at = int(args[0]) if name == "read.lua" else 0
            for i in chunk:
                keys, call_args = calls[i]
                first = int(call_args[0]) if name == "read.lua" else len(keys)
                out[i] = [*reply[at : at + first], *reply[logs_at : logs_at + len(keys) - first]]
                at += first
                logs_at += len(keys) - first
        return out

    def _read_only_scripts(
        self, name: str, calls: list[tuple[list[str], list[Any]]]
    ) -> list[Any]:
        """The replies of the read-only script ``name`` (``plan.lua``, ``read.lua`` or
        ``topk_read.lua``) for
        each (keys, args) call, pipelined in one round trip, with read-only commands only:
        ``EVAL_RO`` (Redis ≥ 7: a replica or a ``+@read`` user with ``+eval_ro`` may run it);
        on Redis 6.2, on a Cluster (where redis-py would ask the server for a script's keys
        first), or when EVAL_RO is refused, a pipeline of the plain reads the script makes,
        whose replies are shaped as the script's. A ``+@read`` user runs every report."""
        if not calls:
            return []
        if self._read_ro is None:
            self._read_ro = not _is_cluster(self.client)
        if self._read_ro:
            source = _script_source(name)
            pipe = self.client.pipeline(transaction=False)
            for keys, args in calls:
                # EVAL_RO, not EVALSHA_RO: the server caches the compiled script either way,
                # and a one-shot process saves the NOSCRIPT round trip and the hashing
                pipe.execute_command("EVAL_RO", source, len(keys), *keys, *args)
            try:
                return list(pipe.execute())
            except Exception as exc:
                # Redis < 7 has no read-only scripts; a +@read user may not run them
                text = str(exc).lower()
                if ("unknown command" not in text and "noperm" not in text
                        and type(exc).__name__ != "NoPermissionError"):
                    raise
                self._read_ro = False
        return self._plain_reads(name, calls)

    def _plain_reads(self, name: str, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """What ``plan.lua`` / ``read.lua`` return, computed from plain read commands."""
        pipe = self.client.pipeline(transaction=False)
        for keys, args in calls:
            if name == "plan.lua":
                ranges = args[2].split()
                for group in range(0, len(keys), 4):
                    pipe.zrangebyscore(keys[group], args[0], args[1])
                    for lo, hi in zip(args[3::2], args[4::2], strict=True):
                        pipe.zrangebyscore(keys[group + 1], lo, hi)
                    pipe.get(keys[group + 2])
                    for lo, hi in zip(ranges[::2], ranges[1::2], strict=True):
                        pipe.zrangebyscore(keys[group + 3], lo, hi)
            elif name == "topk_read.lua":
                for index, key in enumerate(keys):
                    if index < int(args[1]):  # a set is small (TOP_K and ties): read it whole
                        pipe.zrevrange(key, 0, -1, withscores=True)
                    else:  # a day log
                        pipe.get(key)
            else:
                for index, key in enumerate(keys):
                    if index < int(args[0]):
                        pipe.hgetall(key)
                    else:
                        pipe.get(key)
        replies = iter(pipe.execute())
        out: list[Any] = []
        for keys, args in calls:
            if name == "plan.lua":
                found: list[Any] = []
                for _group in range(0, len(keys), 4):
                    days = b" ".join(next(replies))
                    hours = b" ".join(h for _ in range(len(args[3:]) // 2)
                                      for h in next(replies))
                    pruned = next(replies) or b""
                    # (plan.lua skips the minute index of a symbol without edge hours: the
                    # same plan, as a slot with minutes lies in an hour with a rollup)
                    minutes = b" ".join(m for _ in range(len(args[2].split()) // 2)
                                        for m in next(replies))
                    found += [days, hours, pruned, minutes if hours else b""]
                out.append(found)
            elif name == "topk_read.lua":
                out.append([_top_members(next(replies), int(args[0]))
                            if index < int(args[1]) else next(replies) or b""
                            for index in range(len(keys))])
            else:
                blobs = []
                for index in range(len(keys)):
                    reply = next(replies)
                    blobs.append(b"\n".join(part for item in reply.items() for part in item)
                                 if index < int(args[0]) else reply or b"")
                out.append(blobs)
        return out

    def _plan_keys(self, symbol: str) -> list[str]:
        # the day and hour indexes, liqcli prune's marker (see _check_not_pruned) and the
        # minute index
        return [self.key(symbol, "days"), self.key(symbol, "hrs"), self.key(symbol, "pruned"),
                self.key(symbol, "mns")]

    @staticmethod
    def _plan(
        days: list[int], hours: list[int], minutes: list[int], since_ms: int | None,
        until_ms: int | None,
    ) -> _Plan:
        """What a window reads, from the days with events, the hours (of the edge days) that
        have hour rollups and the minutes (of the edge slots) that have minute rollups: the
        rollup hashes (key suffixes) wholly inside it, the logs (key suffix, start ms of its
        day) its edges cut, and the minute logs its edges cut, each with its minute rollup
        (log suffix, rollup suffixes, start ms of its day): the first rollup minus the others
        holds exactly the log's events (:meth:`_Fold.add_cut`). A slot log of a slot with
        minutes is cut too: its slot's rollup minus its minutes' is exactly its events."""
        hashes: list[str] = []
        logs: list[tuple[str, int]] = []
        cuts: list[tuple[str, tuple[str, ...], int]] = []
        partial_days: set[int] = set()
        by_slot = _grouped(minutes, MINUTES_PER_SLOT)
        hours_of = _grouped(hours, HOURS_PER_DAY)
        for day in days:
            if _covers(since_ms, until_ms, day * DAY_MS, (day + 1) * DAY_MS):
                hashes.append(f"D:{day}")
            elif day in hours_of:  # the day log's events: the day's rollup minus its hours'
                partial_days.add(day)
                cuts.append((f"ld:{day}", (f"D:{day}", *(f"h:{h}" for h in hours_of[day])),
                             day * DAY_MS))
            else:
                partial_days.add(day)
                logs.append((f"ld:{day}", day * DAY_MS))
        for hour in hours:
            if hour // HOURS_PER_DAY not in partial_days or not _meets(
                    since_ms, until_ms, hour * HOUR_MS, (hour + 1) * HOUR_MS):
                continue
            if _covers(since_ms, until_ms, hour * HOUR_MS, (hour + 1) * HOUR_MS):
                hashes.append(f"h:{hour}")
                continue
            base = hour // HOURS_PER_DAY * DAY_MS  # log times are ms after the day's start
            # the hour log's events: the hour's rollup minus its slots' (those without
            # events beyond the hour log have none: an empty hash)
            cuts.append((f"lh:{hour}", (f"h:{hour}", *(
                f"s:{slot}" for slot in range(hour * SLOTS_PER_HOUR,
                                              (hour + 1) * SLOTS_PER_HOUR))), base))
            for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR):
                start, end = slot * SLOT_MS, (slot + 1) * SLOT_MS
                if _covers(since_ms, until_ms, start, end):
                    hashes.append(f"s:{slot}")
                elif (since_ms is None or since_ms < end) and (
                    until_ms is None or start < until_ms
                ):
                    in_slot = by_slot.get(slot, [])
                    if in_slot:
                        cuts.append((f"ls:{slot}",
                                     (f"s:{slot}", *(f"m:{m}" for m in in_slot)), base))
                    else:
                        logs.append((f"ls:{slot}", base))
                    for minute in in_slot:
                        start, end = minute * MINUTE_MS, (minute + 1) * MINUTE_MS
                        if _covers(since_ms, until_ms, start, end):
                            hashes.append(f"m:{minute}")
                        elif (since_ms is None or since_ms < end) and (
                            until_ms is None or start < until_ms
                        ):
                            cuts.append((f"lm:{minute}", (f"m:{minute}",), base))
        return hashes, logs, cuts

    def events(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Iterator[Event]:
        """The stored log of one symbol in [since_ms, until_ms), day by day, in store order.

        Each day costs one pipelined round trip (its day log, and the hour, slot and minute
        logs of its hours with hour rollups), plus one for the day, hour and minute indexes
        (plain reads).
        """
        days, hour_list, minute_list = self._indexes(symbol, since_ms, until_ms)
        by_day = _grouped(hour_list, HOURS_PER_DAY)
        by_slot = _grouped(minute_list, MINUTES_PER_SLOT)
        for day in days:
            hours = by_day.get(day, [])
            logs: list[tuple[str, int]] = [(f"ld:{day}", day * DAY_MS)]
            for hour in hours:
                logs.append((f"lh:{hour}", day * DAY_MS))
                for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR):
                    if (since_ms is None or since_ms < (slot + 1) * SLOT_MS) and (
                            until_ms is None or slot * SLOT_MS < until_ms):
                        logs.append((f"ls:{slot}", day * DAY_MS))
                        logs += [(f"lm:{minute}", day * DAY_MS)
                                 for minute in by_slot.get(slot, ())]
            pipe = self.client.pipeline(transaction=False)
            for suffix, _ in logs:
                pipe.get(self.key(symbol, suffix))
            for (_, base), blob in zip(logs, pipe.execute(), strict=True):
                if not blob:
                    continue
                for event in _decode_lines(symbol, base, blob.decode().split("\n")):
                    if _inside(event.ts_ms, since_ms, until_ms):
                        yield event

    # ------------------------------------------------- time-dimension reads
    def _units(
        self, symbol: str, since_ms: int | None, until_ms: int | None
    ) -> tuple[list[int], list[tuple[int, int]], list[list[str]]]:
        """What a window holds, for the per-day structures of ``top`` and ``levels``: the
        days with events lying wholly inside it, the ``[start, end)`` ranges of its (at
        most two) partial edge days, which are read from the log, and per whole day the keys
        (suffixes) holding its events that are in none of its structures: its day log, and
        for a pruned day also the day log prune kept (``pl:<day>``). One round trip (the day
        index), plus the prune marker. An edge inside a day whose log was pruned is refused
        (PrunedWindow)."""
        days, _, _ = self._indexes(symbol, since_ms, until_ms)
        pruned = self.pruned_day(symbol) if days else 0
        whole_days: list[int] = []
        partial: list[tuple[int, int]] = []
        day_logs: list[list[str]] = []
        for day in days:
            start, end = day * DAY_MS, (day + 1) * DAY_MS
            if _covers(since_ms, until_ms, start, end):
                whole_days.append(day)
                day_logs.append([f"ld:{day}", f"pl:{day}"] if day < pruned else [f"ld:{day}"])
                continue
            if day < pruned:
                _check_not_pruned(symbol, pruned, [(f"ld:{day}", start)], since_ms, until_ms)
            partial.append((
                start if since_ms is None else max(since_ms, start),
                end if until_ms is None else min(until_ms, end),
            ))
        return whole_days, partial, day_logs

    def pruned_day(self, symbol: str) -> int:
        """The first day of ``symbol`` that keeps its log (``liqcli prune``; 0: none pruned)."""
        raw = self.client.get(self.key(symbol, "pruned"))
        return int(raw) if raw else 0

    def check_log_readable(
        self, symbol: str, since_ms: int | None, until_ms: int | None, why: str
    ) -> None:
        """Refuse (PrunedWindow) an answer that must read the log of [since_ms, until_ms)
        when part of that window was pruned (its events have rollups, top-K sets and price
        bands left, no log): ``why`` says which answer needs the log."""
        pruned = self.pruned_day(symbol)
        if not pruned or (since_ms is not None and since_ms >= pruned * DAY_MS):
            return
        raise PrunedWindow(
            f"{symbol}: {why} reads the log of the window, which was pruned before "
            f"{_iso(pruned * DAY_MS)} (liqcli prune); use --since {_iso(pruned * DAY_MS)} "
            "or later"
        )

    def _indexes(
        self, symbol: str, since_ms: int | None, until_ms: int | None
    ) -> tuple[list[int], list[int], list[int]]:
        """The days holding events, the hours having an hour rollup and the minutes having a
        minute rollup, in [since, until): one pipelined round trip of plain reads (no script:
        a read-only user can follow the log)."""
        pipe = self.client.pipeline(transaction=False)
        for name, unit in (("days", DAY_MS), ("hrs", HOUR_MS), ("mns", MINUTE_MS)):
            pipe.zrangebyscore(
                self.key(symbol, name), "-inf" if since_ms is None else since_ms // unit,
                "+inf" if until_ms is None else (until_ms - 1) // unit)
        days, hours, minutes = pipe.execute()
        return [int(d) for d in days], [int(h) for h in hours], [int(m) for m in minutes]

    def bucket_rollups(self, symbol: str, bounds: Sequence[int]) -> list[Rollup]:
        """Exact sums of each window ``[bounds[i], bounds[i + 1])`` (``bounds`` increasing).

        Two round trips whatever the number of windows: the day and hour indexes, then one
        pipeline of read-script calls for every rollup lying wholly inside a window and every
        log a window boundary cuts (each key read once, however many windows share it). The
        layout keeps an event in a slot log only where its slot has a rollup, so windows on
        10-minute boundaries read rollups and only the small day and hour logs (each below
        the log caps) of sparse days and hours.
        """
        from bisect import bisect_left
        from itertools import pairwise

        windows = list(pairwise(bounds))
        if not windows:
            return []
        days, hours, minutes = self._indexes(symbol, windows[0][0], windows[-1][1])
        pruned = self.pruned_day(symbol) if days else 0
        hash_keys: dict[str, int] = {}
        log_keys: dict[str, tuple[int, int]] = {}
        plans: list[tuple[list[int], list[tuple[int, int]]]] = []
        for since_ms, until_ms in windows:
            in_days = days[bisect_left(days, since_ms // DAY_MS):
                           bisect_left(days, (until_ms - 1) // DAY_MS + 1)]
            in_hours = hours[bisect_left(hours, since_ms // HOUR_MS):
                             bisect_left(hours, (until_ms - 1) // HOUR_MS + 1)]
            in_minutes = minutes[bisect_left(minutes, since_ms // MINUTE_MS):
                                 bisect_left(minutes, (until_ms - 1) // MINUTE_MS + 1)]
            hashes, logs, cuts = self._plan(in_days, in_hours, in_minutes, since_ms, until_ms)
            logs += [(log, base) for log, _rollups, base in cuts]  # parsed once, sliced
            if pruned and logs:
                _check_not_pruned(symbol, pruned, logs, since_ms, until_ms)
            plans.append((
                [hash_keys.setdefault(name, len(hash_keys)) for name in hashes],
                [(log_keys.setdefault(name, (len(log_keys), base))[0], base)
                 for name, base in logs],
            ))
        hash_blobs, log_blobs = self._read_blobs(symbol, list(hash_keys), list(log_keys))
        hash_starts = [_period_start(name) for name in hash_keys]
        # each log parsed once, ordered by time; a window takes its slice (bisect)
        parsed = [_parse_log(base, blob)
                  for (_, base), blob in zip(log_keys.values(), log_blobs, strict=True)]
        times = [[event[0] for event in events] for events in parsed]
        rollups = []
        for (since_ms, until_ms), (hash_indexes, log_indexes) in zip(windows, plans, strict=True):
            fold = _Fold()
            for index in hash_indexes:
                fold.add_hash_blob(hash_blobs[index], hash_starts[index])
            for index, _ in log_indexes:
                stamps = times[index]
                fold.add_parsed(parsed[index][
                    bisect_left(stamps, since_ms) : bisect_left(stamps, until_ms)])
            cells: dict[tuple[str, Side], CellUnits] = {}
            fold.into_units(cells)
            rollups.append(Rollup(symbol=symbol, since_ms=since_ms, until_ms=until_ms, cells={
                key: Cell(n, _amount(q), _amount(u), first, last)
                for key, (n, q, u, first, last) in cells.items()}))
        return rollups

    def _read_blobs(
        self, symbol: str, hashes: list[str], logs: list[str], chunk: int = 2000
    ) -> tuple[list[bytes], list[bytes]]:
        """Rollup hashes and logs (key suffixes) through ``read.lua`` (read-only: EVAL_RO or
        plain reads, see :meth:`_read_only_scripts`), in one pipeline."""
        if not hashes and not logs:
            return [], []
        calls: list[tuple[list[str], list[Any]]] = []
        for start in range(0, len(hashes), chunk):
            part = [self.key(symbol, name) for name in hashes[start : start + chunk]]
            calls.append((part, [len(part)]))
        for start in range(0, len(logs), chunk):
            part = [self.key(symbol, name) for name in logs[start : start + chunk]]
            calls.append((part, [0]))
        replies = [blob for reply in self._read_only_scripts("read.lua", calls)
                   for blob in reply]
        return replies[: len(hashes)], replies[len(hashes) :]

    def top_events(
        self, symbol: str, since_ms: int | None, until_ms: int | None, n: int, by: str,
        exchanges: Sequence[str] = (), side: str | None = None,
    ) -> list[Event]:
        """A superset of the ``n`` largest events (by ``usd`` or ``qty``) of ``symbol`` in
        [since_ms, until_ms) on ``exchanges`` (empty: all) and ``side`` (None: both), ties
        with the n-th included.

        Reads the top-K sets and the day logs of the days lying wholly inside the window (a
        set holds only the events outside its day log; a pruned day's is ``pl:<day>``) and the
        events of its (at most two) partial edge days (``liqcli.store.topk``); ``n`` above
        TOP_K reads the window's log.
        """
        from liqcli.store.topk import largest, read_top

        if n > TOP_K:
            self.check_log_readable(symbol, since_ms, until_ms, f"top -n above {TOP_K}")
            return largest(self.events(symbol, since_ms, until_ms), n, by, exchanges, side)
        return read_top(self, symbol, since_ms, until_ms, n, by, exchanges, side)

    def price_buckets(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None,
        exchanges: Sequence[str] = (),
    ) -> tuple[Buckets, Event | None]:
        """Exact events, qty and usd per fine price bucket and side of ``symbol`` in
        [since_ms, until_ms), and the window's last event (``liqcli.store.pricebands``).

        Every exchange: the price-band strings and the day logs of the whole days (a day's
        bands count only the events outside its day log), the events of the (at most two)
        partial edge days. With ``exchanges`` (the bands do not split by exchange) the
        window's log is read instead.
        """
        from liqcli.store.pricebands import events_buckets, read_buckets

        if exchanges:
            self.check_log_readable(symbol, since_ms, until_ms, "levels with -e")
            return events_buckets(
                e for e in self.events(symbol, since_ms, until_ms) if e.exchange in exchanges
            )
        return read_buckets(self, symbol, since_ms, until_ms)


def _limbs(units: int) -> str:
    """An amount in 1e-18 units as the script's three carried limbs, space-separated."""
    whole, rest = divmod(units, _E18)
    return f"{whole} {rest // _E9} {rest % _E9}"


def _refusal(exc: Exception) -> Exception:
    """A script error as the exception to raise: the limit refusal is a StoreError."""
    text = str(exc)
    if "LIQCLI-LIMIT" in text:
        return StoreError("batch refused by the store, nothing of it written: "
                          + text.split("LIQCLI-LIMIT ", 1)[1])
    return exc


_blake2b: Any = None  # hashlib.blake2b, imported on first use: reports never hash


def fingerprint(event: Event, price: str, qty: str, usd: str) -> bytes:
    """14-byte digest of the event's identity: exchange+symbol+id, else all of its fields.

    ``price``, ``qty`` and ``usd`` are the amounts' canonical texts (``amount_parts``), so
    ``1.50`` and ``1.5`` are the same event.
    """
    global _blake2b
    if _blake2b is None:
        from hashlib import blake2b

        _blake2b = blake2b
    if event.id:
        identity = f"i\x00{event.exchange}\x00{event.symbol}\x00{event.id}"
    else:
        identity = "f\x00" + "\x00".join(
            (
                event.exchange,
                event.symbol,
                event.side,
                price,
                qty,
                usd,
                str(event.ts_ms),
            )
        )
    digest: bytes = _blake2b(identity.encode(), digest_size=14).digest()
    return digest


def _check_not_pruned(
    symbol: str, pruned: int, logs: list[tuple[str, int]], since_ms: int | None,
    until_ms: int | None,
) -> None:
    """A window edge inside a day whose log was pruned (``liqcli prune``; ``pruned`` is the
    first day that keeps its log) cannot be exact: refuse it, naming the nearest exact
    boundaries (the day's ends)."""
    kept_from = pruned * DAY_MS
    for _suffix, base in logs:  # every log's base is the start of its day
        if base >= kept_from:
            continue
        start, end = base, base + DAY_MS
        inside = since_ms if since_ms is not None and start < since_ms < end else until_ms
        raise PrunedWindow(
            f"{symbol}: the window edge {_iso(inside)} falls inside a day whose events "
            f"were pruned (log kept from {_iso(kept_from)}); the nearest exact "
            f"boundaries are {_iso(start)} and {_iso(end)}"
        )


def _iso(ms: int | None) -> str:
    from datetime import UTC, datetime

    if ms is None:
        return "?"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def _is_cluster(client: Any) -> bool:
    """Whether ``client`` is redis-py's RedisCluster (without importing it)."""
    return hasattr(client, "nodes_manager")


def _inside(ts: int, since_ms: int | None, until_ms: int | None) -> bool:
    return (since_ms is None or ts >= since_ms) and (until_ms is None or ts < until_ms)


def _script_source(name: str) -> str:
    """A server-side script shipped in the package (read on first use; a plain file read, as
    importlib.resources costs a one-shot report more than the read itself)."""
    import os

    try:
        with open(os.path.join(os.path.dirname(__file__), name), encoding="utf-8") as f:
            return f.read()
    except OSError:  # packaged some other way (a zip): ask the import system
        from importlib import resources

        return resources.files("liqcli.store").joinpath(name).read_text()


def _top_members(pairs: list[tuple[bytes, float]], n: int) -> bytes:
    """What ``topk_read.lua`` returns for one set, from its (member, score) pairs by score
    descending: the members scoring at least the n-th largest score (every one for 0)."""
    if n > 0 and len(pairs) >= n:
        nth = pairs[n - 1][1]
        pairs = [pair for pair in pairs if pair[1] >= nth]
    return b"\n".join(member for member, _ in pairs)


class _KeyIndex:
    """``key_index(name)``: the 1-based KEYS index of ``tag + name``, appended to ``keys`` when
    new; ``index`` maps the names declared so far (a hit needs no call)."""

    __slots__ = ("index", "keys", "tag")

    def __init__(self, tag: str, keys: list[str]) -> None:
        self.tag = tag
        self.keys = keys
        self.index: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        found = self.index.get(name)
        if found is None:
            self.keys.append(self.tag + name)
            found = self.index[name] = len(self.keys)
        return found


def _day_lines(tails: list[tuple[int, str]], prefix: Callable[[int], str]) -> str:
    """The ARGV of the ingest script's top-K or price-band block: one line per event,
    ``prefix(day) + tail`` for each ``(day, tail)`` (``prefix`` declares the day's keys and
    returns their KEYS indexes, called once per day, in order).

    Top-K (``tail`` from ``_pack``): the KEYS indexes of the day's USD and qty sets
    (``tu:D:``, ``tq:D:``), the USD and qty scores (``topk.score_of_text``: monotonic integers,
    only an order; the member holds the exact amounts), then the member ``ms after the day's
    start, exchange, L|S, price, qty, usd ('' = price × qty), id``, tab-separated (schema 4:
    the day-relative time keeps members below the 64 bytes of a listpack entry). Price bands:
    the KEYS index of the day's bands ``pb:D:``, the field ``<fine bucket>|L|S``
    (``liqcli.store.pricebands``), then the qty and usd limbs.
    """
    prefixes: dict[int, str] = {}
    out = []
    for day, tail in tails:
        text = prefixes.get(day)
        if text is None:
            text = prefixes[day] = prefix(day)
        out.append(text + tail)
    return "\n".join(out)


def _grouped(numbers: list[int], per: int) -> dict[int, list[int]]:
    """``numbers`` (hours, minutes) by the coarser unit holding them (``number // per``)."""
    out: dict[int, list[int]] = {}
    for number in numbers:
        out.setdefault(number // per, []).append(number)
    return out


def _extra_rollups(plan: _Plan) -> list[str]:
    """The rollup hashes the cut logs of ``plan`` need beyond its hashes, each once."""
    hashes, _logs, cuts = plan
    have = set(hashes)
    return list(dict.fromkeys(
        rollup for cut in cuts for rollup in cut[1] if rollup not in have))


def _meets(since_ms: int | None, until_ms: int | None, start: int, end: int) -> bool:
    """Whether [start, end) and the window [since_ms, until_ms) overlap."""
    return (since_ms is None or since_ms < end) and (until_ms is None or start < until_ms)


def _covers(since_ms: int | None, until_ms: int | None, start: int, end: int) -> bool:
    """Whether [start, end) lies wholly inside the window [since_ms, until_ms)."""
    return (since_ms is None or since_ms <= start) and (until_ms is None or end <= until_ms)


class _Fold:
    """Adds rollup hashes and edge-slot log lines with integers; Decimals are built once.

    Per cell (``b"exchange|L"``): events and the qty/usd limbs of rollup cells, plus the
    qty/usd of log lines as integers of 1e-18 units, and first/last times.
    """

    def __init__(self) -> None:
        self.sums: dict[bytes, list[int]] = {}  # n, qi, q1, q2, ui, u1, u2, qty e18, usd e18
        self.firsts: dict[bytes, int] = {}
        self.lasts: dict[bytes, int] = {}
        # rollup hash values by cell with their period's start ms, added up in into_units (a
        # cell that one hash holds needs no accumulator)
        self.values: dict[bytes, list[tuple[bytes, int]]] = {}

    def _cell(self, cell: bytes) -> list[int]:
        acc = self.sums.get(cell)
        if acc is None:
            acc = self.sums[cell] = [0] * 9
        return acc

    def _first(self, cell: bytes, ts: int) -> None:
        if cell not in self.firsts or ts < self.firsts[cell]:
            self.firsts[cell] = ts

    def _last(self, cell: bytes, ts: int) -> None:
        if cell not in self.lasts or ts > self.lasts[cell]:
            self.lasts[cell] = ts

    def add_hash_blob(self, blob: bytes, start: int) -> None:
        """A period rollup hash as ``read.lua`` returns it (fields and values joined by
        newlines); ``start``: its period's first ms (:func:`_period_start`)."""
        if blob:
            parts = blob.split(b"\n")
            values = self.values
            for cell, value in zip(parts[::2], parts[1::2], strict=True):
                found = values.get(cell)
                if found is None:
                    values[cell] = [(value, start)]
                else:
                    found.append((value, start))

    def add_log(
        self, base: int, blob: bytes, since_ms: int | None, until_ms: int | None
    ) -> None:
        """The events of a log (times are offsets from ``base`` ms) that fall inside the
        window: each line is split as far as its time first (:func:`_sides`), only those
        inside are parsed."""
        rows, _times, inside, _outside = _sides(blob, base, since_ms, until_ms)
        self._add_parts(base, [rows[i].split(b"\t", 6) for i in inside])

    def add_cut(
        self, base: int, blob: bytes, rollups: list[bytes], since_ms: int | None,
        until_ms: int | None,
    ) -> None:
        """The events inside the window of a log whose events are exactly those of the
        rollup hash ``rollups[0]`` minus those of the others (hashes as read.lua returns
        them): a minute log and its minute rollup; a slot log, its slot's rollup and its
        minutes'.

        A first pass splits each line only as far as its time, which decides its side of the
        window's edges; only the smaller side's amounts are parsed. When that is the part
        outside the window, the inside is the rollups' difference minus it (exact integers);
        its first and last times per cell come from the first pass.
        """
        if not blob:
            return
        rows, times, inside, outside = _sides(blob, base, since_ms, until_ms)
        if len(inside) <= len(outside) or not rollups[0]:
            self._add_parts(base, [rows[i].split(b"\t", 6) for i in inside])
            return
        # per cell: events, qty e18, usd e18 of the rollups' difference NOT inside the window:
        # the other rollups' events (not in the log) and the log's lines outside it
        removed: dict[bytes, list[int]] = {}
        parted = _sum_parts([rows[i].split(b"\t", 6) for i in outside])
        others: list[Mapping[bytes, Sequence[int]]] = [*map(_blob_units, rollups[1:]), parted]
        for sums in others:
            for cell, (n, q, u, *_times) in sums.items():
                acc = removed.setdefault(cell, [0, 0, 0])
                acc[0] += n
                acc[1] += q
                acc[2] += u
        # the inside's events per cell (the difference), then its first and last time per
        # cell: the inside's lines in time order, read from each end only until every cell
        # with inside events has been met
        inner: dict[bytes, tuple[int, int, int]] = {}
        for cell, (n, q, u) in _blob_units(rollups[0]).items():
            gone = removed.get(cell, (0, 0, 0))
            if n > gone[0]:
                inner[cell] = (n - gone[0], q - gone[1], u - gone[2])
        order = sorted(inside, key=times.__getitem__)
        firsts = _cell_times(rows, times, order, inner)
        lasts = _cell_times(rows, times, reversed(order), inner)
        for cell, (n, q, u) in inner.items():
            acc = self._cell(cell)
            acc[0] += n
            acc[7] += q
            acc[8] += u
            self._first(cell, base + firsts[cell])
            self._last(cell, base + lasts[cell])

    def _add_parts(self, base: int, lines: list[list[bytes]]) -> None:
        """Log lines split at their tabs (bytes), every one of them counted."""
        for cell, (n, q, u, t0, t1) in _sum_parts(lines).items():
            acc = self._cell(cell)
            acc[0] += n
            acc[7] += q
            acc[8] += u
            self._first(cell, base + t0)
            self._last(cell, base + t1)

    def add_parsed(self, events: Iterable[tuple[int, bytes, int, int]]) -> None:
        """Events parsed by :func:`_parse_log`: ``(ts, cell, qty e18, usd e18)``."""
        for ts, cell, q, u in events:
            acc = self._cell(cell)
            acc[0] += 1
            acc[7] += q
            acc[8] += u
            self._first(cell, ts)
            self._last(cell, ts)

    def into_units(
        self, cells: dict[tuple[str, Side], CellUnits],
        names: dict[bytes, tuple[str, Side]] | None = None,
    ) -> None:
        """The cells into ``cells`` (as :meth:`Store.rollup_units` gives them), in the order
        first seen (hashes, then log lines); ``names``: the decoded cell names, shared by the
        folds of one read."""
        names = {} if names is None else names
        sums, values_of = self.sums, self.values
        for cell in [*values_of, *(cell for cell in sums if cell not in values_of)]:
            values = values_of.get(cell)
            first: int | None
            last: int | None
            if values is not None and len(values) == 1 and cell not in sums:
                # one rollup hash holds the cell (a day): nothing to add up
                n, q, u, first, last = _period_cell(*values[0])
            else:
                if values is not None:
                    self._add_values(cell, values)
                n, qi, q1, q2, ui, u1, u2, qe, ue = sums[cell]
                first, last = self.firsts.get(cell), self.lasts.get(cell)
                q, u = qi * _E18 + q1 * _E9 + q2 + qe, ui * _E18 + u1 * _E9 + u2 + ue
            key = names.get(cell)
            if key is None:
                exchange, _, code = cell.decode().partition("|")
                key = names[cell] = (exchange, _CODE_SIDE[code])
            found = cells.get(key)
            if found is not None:  # (two names of one cell: added, as Cell.add would)
                n, q, u = n + found[0], q + found[1], u + found[2]
                first = found[3] if first is None or (
                    found[3] is not None and found[3] < first) else first
                last = found[4] if last is None or (
                    found[4] is not None and found[4] > last) else last
            cells[key] = (n, q, u, first, last)

    def _add_values(self, cell: bytes, values: list[tuple[bytes, int]]) -> None:
        """Several period rollup hashes' values of ``cell`` (with their periods' starts),
        added up."""
        acc = self._cell(cell)
        events = qty = usd = 0
        firsts, lasts = [], []
        for value, start in values:
            n, q, u, t0, t1 = value.split(b" ")
            events += int(n)
            qty += _units(q)
            usd += _units(u)
            firsts.append(start + int(t0))
            lasts.append(start + int(t1))
        acc[0] += events
        acc[7] += qty
        acc[8] += usd
        self._first(cell, min(firsts))
        self._last(cell, max(lasts))


# a period rollup's length (ms) by the letter of its key: day, hour, 10-minute slot, minute
_PERIOD_MS = {"D": DAY_MS, "h": HOUR_MS, "s": SLOT_MS, "m": MINUTE_MS}


def _period_start(suffix: str) -> int:
    """The first ms of a period rollup's period, from its key (suffix): ``D:20000`` -> the
    day's start. Its cells' times are ms after it (schema 5)."""
    kind, _, number = suffix.rpartition(":")
    return int(number) * _PERIOD_MS[kind[-1:]]


def _period_cell(value: bytes, start: int) -> tuple[int, int, int, int, int]:
    """A period rollup's cell (schema 5: ``n qty usd t0 t1``, the sums as plain decimal text,
    the times ms after ``start``): events, qty and usd in 1e-18 units, first and last epoch
    ms."""
    n, q, u, t0, t1 = value.split(b" ")
    return int(n), _units(q), _units(u), start + int(t0), start + int(t1)


def _units(text: bytes) -> int:
    """A stored sum's plain decimal text (≤ 18 decimals) in 1e-18 units."""
    whole, _, frac = text.partition(b".")
    return int(whole) * _E18 + int(frac.ljust(18, b"0")) if frac else int(whole) * _E18


def _blob_units(blob: bytes) -> dict[bytes, tuple[int, int, int]]:
    """A period rollup hash as ``read.lua`` returns it (fields and values joined by
    newlines): per cell, events, qty and usd in 1e-18 units."""
    parts = blob.split(b"\n") if blob else []
    out = {}
    for cell, value in zip(parts[::2], parts[1::2], strict=True):
        n, q, u, _t0, _t1 = value.split(b" ")
        out[cell] = (int(n), _units(q), _units(u))
    return out


def _sides(
    blob: bytes, base: int, since_ms: int | None, until_ms: int | None
) -> tuple[list[bytes], list[int], list[int], list[int]]:
    """A log's lines, their times (offsets from ``base``, read by one regular expression
    over the whole log: no line is split for them) and the indexes of the lines inside and
    outside the window."""
    rows = blob.split(b"\n")
    times = list(map(int, _OFFSETS.findall(blob)))
    if len(times) != len(rows):
        raise StoreError(f"a log of {len(rows)} lines holds {len(times)} event times")
    lo = -1 if since_ms is None else since_ms - base
    hi = DAY_MS if until_ms is None else until_ms - base
    inside = [i for i, t in enumerate(times) if lo <= t < hi]
    if len(inside) == len(rows):
        return rows, times, inside, []
    outside = [i for i, t in enumerate(times) if not lo <= t < hi]
    return rows, times, inside, outside


def _cell_times(
    rows: list[bytes], times: list[int], order: Iterable[int], cells: dict[bytes, Any]
) -> dict[bytes, int]:
    """The time of the first line in ``order`` of each of ``cells`` (all of them occur):
    lines are read only until every cell has been met."""
    found: dict[bytes, int] = {}
    for i in order:
        row = rows[i]
        tab = row.index(b"\t")
        cell = row[:tab] + b"|" + row[tab + 1 : row.index(b"\t", tab + 1)]
        if cell in cells and cell not in found:
            found[cell] = times[i]
            if len(found) == len(cells):
                break
    return found


def _sum_parts(lines: list[list[bytes]]) -> dict[bytes, list[int]]:
    """Log lines split at their tabs (bytes) summed per cell: events, qty and usd in 1e-18
    units, first and last time offset (the hot loop of a window's edges: the arithmetic of
    _e18 and _default_usd_e18 is inlined)."""
    found: dict[bytes, list[int]] = {}
    e18, half = _E18, _E18 // 2
    for exchange, code, price, qty, usd, offset, *_ in lines:
        whole, _, frac = qty.partition(b".")
        q = int(whole) * e18 + int(frac.ljust(18, b"0")) if frac else int(whole) * e18
        if usd:
            whole, _, frac = usd.partition(b".")
            u = int(whole) * e18 + int(frac.ljust(18, b"0")) if frac else int(whole) * e18
        else:  # price x qty, rounded half-even to 18 decimals
            whole, _, frac = price.partition(b".")
            p = int(whole) * e18 + int(frac.ljust(18, b"0")) if frac else int(whole) * e18
            u, rest = divmod(p * q, e18)
            if rest > half or (rest == half and u % 2):
                u += 1
        _tally(found, exchange + b"|" + code, q, u, int(offset))
    return found


def _tally(cells: dict[Any, list[int]], cell: Any, q: int, u: int, ts: int) -> bool:
    """One event into ``cells[cell]`` = [events, qty, usd, first, last]; True if it is new."""
    c = cells.get(cell)
    if c is None:
        cells[cell] = [1, q, u, ts, ts]
        return True
    c[0] += 1
    c[1] += q
    c[2] += u
    if ts < c[3]:
        c[3] = ts
    elif ts > c[4]:
        c[4] = ts
    return False


def _amount(units: int) -> Decimal:
    """A cell's amount (``Cell.qty``/``usd``) from 1e-18 units: ``0 + from_limbs(...)`` (the
    exponent ``Cell.add`` gives: the shortest form, but never above 0), built by three context
    operations instead of text (the same digits and exponent while exact in AMOUNT_CONTEXT: a
    cell has ≤ 35)."""
    if units >= _EXACT_UNITS:
        return AMOUNT_CONTEXT.add(_ZERO, from_limbs(0, 0, units))
    return AMOUNT_CONTEXT.add(
        _ZERO, AMOUNT_CONTEXT.normalize(AMOUNT_CONTEXT.scaleb(Decimal(units), -18)))


def _parse_log(base: int, blob: bytes) -> list[tuple[int, bytes, int, int]]:
    """A log's events as ``(ts, cell, qty e18, usd e18)``, ordered by time: parsed once, then
    sliced by window (``Store.bucket_rollups``)."""
    out = []
    for line in blob.decode().split("\n") if blob else ():
        exchange, code, price, qty, usd, offset, _id, _raw = line.split("\t")
        q = _e18(qty)
        out.append((base + int(offset), f"{exchange}|{code}".encode(), q,
                    _e18(usd) if usd else _default_usd_e18(_e18(price), q)))
    out.sort(key=lambda event: event[0])
    return out


def _e18(text: str) -> int:
    """A stored amount's text (plain, ≤ 18 decimals) as an integer of 1e-18 units."""
    whole, _, frac = text.partition(".")
    return int(whole) * _E18 + (int(frac.ljust(18, "0")) if frac else 0)


def _default_usd_e18(price: int, qty: int) -> int:
    """``default_usd`` in 1e-18 units: price × qty rounded half-even to 18 decimals."""
    units, rest = divmod(price * qty, _E18)
    if rest * 2 > _E18 or (rest * 2 == _E18 and units % 2):
        units += 1
    return units


def _decode_lines(symbol: str, base: int, lines: list[str]) -> Iterator[Event]:
    for line in lines:
        exchange, code, price_text, qty_text, usd_text, offset, id_, raw = line.split("\t")
        price, qty = Decimal(price_text), Decimal(qty_text)
        yield Event(
            exchange=exchange,
            symbol=symbol,
            side=_CODE_SIDE[code],
            price=price,
            qty=qty,
            usd=Decimal(usd_text) if usd_text else default_usd(price, qty),
            ts_ms=base + int(offset),
            id=id_ or None,
            raw_symbol=raw or None,
        )
