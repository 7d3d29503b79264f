"""The liquidation store in Redis: exact, idempotent, atomic ingest and rollup reads.

Layout (docs/redis-layout.md has the whole picture). Every key of one symbol carries the hash
tag ``{SYMBOL}`` so a batch script touches a single Cluster slot:

- ``<p>:schema``            string, the layout version (checked on open)
- ``<p>:symbols``           set of symbols (discovery without SCAN)
- ``<p>:{S}:t``             hash, cumulative rollup: ``<exchange>|<L|S>|<figure>``
- ``<p>:{S}:hrs``           sorted set of hours (epoch ms // 3 600 000) that hold events
- ``<p>:{S}:D:<day>``       hash, the UTC day's rollup (same fields as ``:t``)
- ``<p>:{S}:h:<hour>``      hash, the hour's rollup
- ``<p>:{S}:s:<slot>``      hash, the 10-minute slot's rollup (slot = epoch ms // 600 000)
- ``<p>:{S}:l:<slot>``      stream, the slot's events (the log)
- ``<p>:{S}:d:<n>``         string, dedupe bucket of events with an id (n < 1024)
- ``<p>:{S}:d:<hour>:<n>``  string, dedupe bucket of the hour's events without an id (n < 16)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

from liqcli.errors import StoreError
from liqcli.model import EXCHANGE_RE, SYMBOL_RE, Event, Side, default_usd
from liqcli.store.rollup import Rollup

if TYPE_CHECKING:
    from concurrent.futures import Future

    import redis

    from liqcli.store.pricebands import Buckets

SCHEMA_VERSION = "1"
HOUR_MS = 3_600_000
SLOT_MS = 600_000  # the finest rollup, and the log's partition: window edges read one slot
SLOTS_PER_HOUR = HOUR_MS // SLOT_MS
HOURS_PER_DAY = 24
DAY_MS = HOUR_MS * HOURS_PER_DAY
DEDUPE_BUCKETS = 1024  # symbol-wide buckets, for events with an id
HOUR_DEDUPE_BUCKETS = 16  # per hour, for events without an id
MAX_SCRIPT_EVENTS = 500  # keeps the script's per-batch double sums exact (< 2**53)
TOP_K = 100  # each day and hour keeps (at least) its TOP_K largest events by USD and by qty
_E9 = 10**9
_E18 = 10**18
_SIDE_CODE: dict[str, str] = {"LONG": "L", "SHORT": "S"}
_CODE_SIDE: dict[str, Side] = {"L": "LONG", "S": "SHORT"}
# one script call: the batch positions it covers, its KEYS and its ARGV
_Call = tuple[list[int], list[str], list[Any]]


@dataclass(frozen=True, slots=True)
class Packed:
    """A batch ready to send: its script calls, its size, and the symbols it writes."""

    calls: list[_Call]
    size: int
    symbols: frozenset[str]


@dataclass(slots=True)
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
    """Inverse of the limbs of :func:`amount_parts`, exact for any (unnormalized) limb sums."""
    with localcontext() as ctx:
        ctx.prec = 80
        value = Decimal(whole * _E18 + hi * _E9 + lo).scaleb(-18)
        return value.normalize() if value else Decimal(0)


class Store:
    """One liqcli store: a Redis connection and a key prefix."""

    def __init__(self, client: redis.Redis | None, prefix: str = "liq") -> None:
        """``client`` may be None for a store that only packs batches (worker processes)."""
        self.client: Any = client  # redis.Redis or RedisCluster; replies typed below
        self.prefix = prefix
        self._script: Any = None
        self._read_script: Any = None
        self._known_symbols: set[str] = set()
        self._schema_written = False

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
            raise StoreError(
                f"store at prefix {self.prefix!r} has schema version {found.decode()!r}, "
                f"this liqcli reads version {SCHEMA_VERSION!r}"
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
                keys, args = self._pack(symbol, [events[i] for i in chunk])
                calls.append((chunk, keys, args))
        return Packed(calls, len(events), frozenset(by_symbol))

    def _register(self, symbols: frozenset[str]) -> None:
        """Schema key and symbol discovery, before the symbols' first events are written."""
        if not symbols:
            return
        self._ensure_schema()
        new_symbols = symbols - self._known_symbols
        if new_symbols:
            # Registered before the data: discovery may list a symbol with no events yet,
            # never miss one that has events.
            self.client.sadd(self.symbols_key, *sorted(new_symbols))
            self._known_symbols.update(new_symbols)

    def _execute(self, calls: list[_Call], size: int) -> list[bool]:
        if self._script is None:
            source = _script_source("ingest.lua")
            self._script = self.client.register_script(source)
        result = [False] * size
        for indexes, keys, args in calls:
            flags = self._script(keys=keys, args=args)
            for i, flag in zip(indexes, flags, strict=True):
                result[i] = flag == 0x31  # b'1'
        return result

    def _pack(self, symbol: str, events: list[Event]) -> tuple[list[str], list[Any]]:
        keys: list[str] = [self.key(symbol, "t"), self.key(symbol, "hrs")]
        buckets: dict[str, int] = {}  # dedupe bucket key suffix -> KEYS index
        days: dict[int, int] = {}  # day -> KEYS index of its rollup
        hour_days: dict[int, int] = {}  # hour -> KEYS index of its day's rollup
        slots: dict[int, str] = {}  # slot -> "log\tslot rollup\thour rollup\tday rollup\thour"
        hours: dict[int, int] = {}  # hour -> KEYS index of its rollup
        tag = f"{self.prefix}:{{{symbol}}}:"

        if not SYMBOL_RE.fullmatch(symbol):
            raise ValueError(f"symbol {symbol!r} is not [A-Z0-9._-]{{1,40}}")
        checked: set[str] = set()  # exchange names already checked in this batch
        fingerprints: list[bytes] = []
        records: list[str] = []
        for event in events:
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
            fingerprints.append(digest[2:14])
            hour = event.ts_ms // HOUR_MS
            # An id identifies an event whatever its time: such events are deduplicated
            # symbol-wide. Without an id the identity includes the time, so the event's hour
            # is the scope: a batch then touches a few small buckets, not hundreds.
            if event.id:
                bucket = f"d:{int.from_bytes(digest[:2], 'big') % DEDUPE_BUCKETS}"
            else:
                bucket = f"d:{hour}:{digest[0] % HOUR_DEDUPE_BUCKETS}"
            bucket_index = buckets.get(bucket)
            if bucket_index is None:
                keys.append(tag + bucket)
                bucket_index = buckets[bucket] = len(keys)
            slot = event.ts_ms // SLOT_MS
            slot_indexes = slots.get(slot)
            if slot_indexes is None:
                hour_index = hours.get(hour)
                if hour_index is None:
                    day = hour // HOURS_PER_DAY
                    day_index = days.get(day)
                    if day_index is None:
                        keys.append(f"{tag}D:{day}")
                        day_index = days[day] = len(keys)
                    keys.append(f"{tag}h:{hour}")
                    hour_index = hours[hour] = len(keys)
                    hour_days[hour] = day_index
                keys.append(f"{tag}l:{slot}")
                keys.append(f"{tag}s:{slot}")
                slot_indexes = slots[slot] = (
                    f"{len(keys) - 1}\t{len(keys)}\t{hour_index}\t{hour_days[hour]}\t{hour}"
                )
            usd_log = "" if event.usd == default_usd(event.price, event.qty) else usd
            records.append(
                f"{bucket_index}\t{slot_indexes}\t{qi}\t{q1}\t{q2}\t{ui}\t{u1}\t{u2}\t"
                f"{event.ts_ms}\t{event.exchange}\t{_SIDE_CODE[event.side]}\t"
                f"{price}\t{qty}\t{usd_log}\t"
                f"{event.ts_ms - slot * SLOT_MS}\t{event.id or ''}\t{event.raw_symbol or ''}"
            )
        top = _top_args(tag, events, keys)  # appends the top-K keys after the others
        bands = _band_args(tag, events, keys)  # then the price-band keys
        return keys, [
            len(events), b"".join(fingerprints), "\n".join(records), top, TOP_K, bands,
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

        All time: one round trip. A window: the hours with events (one round trip), then one
        read script (``read.lua``) for the rollups of the days wholly inside it, of the other
        whole hours, of the whole 10-minute slots of its edge hours, and the logs of its (at
        most two) partial edge slots.
        """
        rollup = Rollup(symbol=symbol, since_ms=since_ms, until_ms=until_ms)
        fold = _Fold()
        if since_ms is None and until_ms is None:
            fold.add_hash(self.client.hgetall(self.key(symbol, "t")))
            fold.into(rollup)
            return rollup
        if since_ms is not None and until_ms is not None and since_ms >= until_ms:
            return rollup
        days, hours, slots, edges = self._plan(symbol, since_ms, until_ms)
        keys = [self.key(symbol, f"D:{day}") for day in days]
        keys += [self.key(symbol, f"h:{hour}") for hour in hours]
        keys += [self.key(symbol, f"s:{slot}") for slot in slots]
        whole = len(keys)
        keys += [self.key(symbol, f"l:{slot}") for slot in edges]
        if keys:
            if self._read_script is None:
                self._read_script = self.client.register_script(_script_source("read.lua"))
            blobs = self._read_script(keys=keys, args=[whole])
            for blob in blobs[:whole]:
                fold.add_hash_blob(blob)
            for slot, blob in zip(edges, blobs[whole:], strict=True):
                if blob:
                    lines = blob.decode().split("\n")
                    fold.add_log_lines(slot * SLOT_MS, lines, since_ms, until_ms)
        fold.into(rollup)
        return rollup

    def _plan(
        self, symbol: str, since_ms: int | None, until_ms: int | None
    ) -> tuple[list[int], list[int], list[int], list[int]]:
        """What to read for a window: whole days, other whole hours, whole slots, edge slots.

        Only hours that hold events are considered (from the ``:hrs`` index).
        """
        return _plan_hours(self._hours(symbol, since_ms, until_ms), since_ms, until_ms)

    def _hours(self, symbol: str, since_ms: int | None, until_ms: int | None) -> list[int]:
        """The hours of [since_ms, until_ms) that hold events of ``symbol``, in order."""
        lo = "-inf" if since_ms is None else str(since_ms // HOUR_MS)
        hi = "+inf" if until_ms is None else str((until_ms - 1) // HOUR_MS)
        return [int(raw) for raw in self.client.zrangebyscore(self.key(symbol, "hrs"), lo, hi)]

    def bucket_rollups(self, symbol: str, bounds: Sequence[int]) -> list[Rollup]:
        """Exact sums of each window ``[bounds[i], bounds[i + 1])`` (``bounds`` increasing).

        Two round trips whatever the number of windows: the hours holding events, then one
        pipeline of read-script calls for every rollup (day, hour, 10-minute slot) lying wholly
        inside a window and the log of every 10-minute slot that a window boundary cuts. A key
        shared by two windows (a cut slot's log) is read once. Windows whose boundaries fall on
        10-minute slots read rollups only, never the log.
        """
        from bisect import bisect_left
        from itertools import pairwise

        windows = list(pairwise(bounds))
        if not windows:
            return []
        hours = self._hours(symbol, windows[0][0], windows[-1][1])
        hash_keys: dict[str, int] = {}
        log_slots: dict[int, int] = {}
        plans: list[tuple[list[int], list[int]]] = []
        for since_ms, until_ms in windows:
            first = bisect_left(hours, since_ms // HOUR_MS)
            last = bisect_left(hours, (until_ms - 1) // HOUR_MS + 1)
            days, whole_hours, slots, edges = _plan_hours(hours[first:last], since_ms, until_ms)
            names = [f"D:{d}" for d in days] + [f"h:{h}" for h in whole_hours]
            names += [f"s:{s}" for s in slots]
            plans.append((
                [hash_keys.setdefault(self.key(symbol, name), len(hash_keys)) for name in names],
                [log_slots.setdefault(slot, len(log_slots)) for slot in edges],
            ))
        hash_blobs, log_blobs = self._read_blobs(symbol, list(hash_keys), list(log_slots))
        log_lines = [blob.decode().split("\n") if blob else [] for blob in log_blobs]
        slot_of = list(log_slots)
        rollups = []
        for (since_ms, until_ms), (hash_indexes, log_indexes) in zip(
            windows, plans, strict=True
        ):
            fold = _Fold()
            for index in hash_indexes:
                fold.add_hash_blob(hash_blobs[index])
            for index in log_indexes:
                fold.add_log_lines(
                    slot_of[index] * SLOT_MS, log_lines[index], since_ms, until_ms
                )
            rollup = Rollup(symbol=symbol, since_ms=since_ms, until_ms=until_ms)
            fold.into(rollup)
            rollups.append(rollup)
        return rollups

    def _read_blobs(
        self, symbol: str, hash_keys: list[str], log_slots: list[int], chunk: int = 2000
    ) -> tuple[list[bytes], list[bytes]]:
        """Rollup hashes and slot logs through ``read.lua``, in one pipeline (one round trip)."""
        if not hash_keys and not log_slots:
            return [], []
        if self._read_script is None:
            self._read_script = self.client.register_script(_script_source("read.lua"))
        log_keys = [self.key(symbol, f"l:{slot}") for slot in log_slots]
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, len(hash_keys), chunk):
            part = hash_keys[start : start + chunk]
            self._read_script(keys=part, args=[len(part)], client=pipe)
        for start in range(0, len(log_keys), chunk):
            self._read_script(keys=log_keys[start : start + chunk], args=[0], client=pipe)
        replies = [blob for reply in pipe.execute() for blob in reply]
        return replies[: len(hash_keys)], replies[len(hash_keys) :]

    def top_events(
        self, symbol: str, since_ms: int | None, until_ms: int | None, n: int, by: str,
        exchanges: Sequence[str] = (), side: str | None = None,
    ) -> list[Event]:
        """A superset of the ``n`` largest events (by ``usd`` or ``qty``) of ``symbol`` in
        [since_ms, until_ms) on ``exchanges`` (empty: all) and ``side`` (None: both), ties
        with the n-th included.

        Reads the top-K sets of the days and hours lying wholly inside the window and the logs
        of its partial edge hours (``liqcli.store.topk``); ``n`` above TOP_K reads the log.
        """
        from liqcli.store.topk import largest, read_top

        if n > TOP_K:
            return largest(self.events(symbol, since_ms, until_ms), n, by, exchanges, side)
        return read_top(self, symbol, since_ms, until_ms, n, by, exchanges, side)

    def price_buckets(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None,
        exchanges: Sequence[str] = (),
    ) -> tuple[Buckets, Event | None]:
        """Exact events, qty and usd per fine price bucket and side of ``symbol`` in
        [since_ms, until_ms), and the window's last event (``liqcli.store.pricebands``).

        Every exchange: the price-band hashes of the whole days and hours, the logs of the
        partial edge hours (and of the last hour, for the last event). With ``exchanges`` (the
        hashes do not split by exchange) the window's log is read instead.
        """
        from liqcli.store.pricebands import events_buckets, read_buckets

        if exchanges:
            return events_buckets(
                e for e in self.events(symbol, since_ms, until_ms) if e.exchange in exchanges
            )
        return read_buckets(self, symbol, since_ms, until_ms)

    def events(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Iterator[Event]:
        """The stored log of one symbol in [since_ms, until_ms), hour by hour, in store order.

        Hours are read in pipelines of up to 16 (one round trip each, plus one for the index).
        """
        lo = "-inf" if since_ms is None else str(since_ms // HOUR_MS)
        hi = "+inf" if until_ms is None else str((until_ms - 1) // HOUR_MS)
        hours = [int(raw) for raw in self.client.zrangebyscore(self.key(symbol, "hrs"), lo, hi)]
        for start in range(0, len(hours), 16):
            chunk = [
                slot
                for hour in hours[start : start + 16]
                for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR)
                if (since_ms is None or since_ms < (slot + 1) * SLOT_MS)
                and (until_ms is None or slot * SLOT_MS < until_ms)
            ]
            pipe = self.client.pipeline(transaction=False)
            for slot in chunk:
                pipe.xrange(self.key(symbol, f"l:{slot}"))
            for slot, reply in zip(chunk, pipe.execute(), strict=True):
                for event in _decode_entries(symbol, slot * SLOT_MS, reply):
                    if _inside(event.ts_ms, since_ms, until_ms):
                        yield event


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


def _inside(ts: int, since_ms: int | None, until_ms: int | None) -> bool:
    return (since_ms is None or ts >= since_ms) and (until_ms is None or ts < until_ms)


def _script_source(name: str) -> str:
    """A server-side script shipped in the package (read on first use)."""
    from importlib import resources

    return resources.files("liqcli.store").joinpath(name).read_text()


def _plan_hours(
    hours: Iterable[int], since_ms: int | None, until_ms: int | None
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Pure: whole days, other whole hours, whole slots and edge slots of a window, from the
    hours (in order) that hold events."""
    days: dict[int, None] = {}
    whole_hours: list[int] = []
    slots: list[int] = []
    edges: list[int] = []
    for hour in hours:
        if _covers(since_ms, until_ms, hour * HOUR_MS, (hour + 1) * HOUR_MS):
            day = hour // HOURS_PER_DAY
            if _covers(since_ms, until_ms, day * DAY_MS, (day + 1) * DAY_MS):
                days[day] = None
            else:
                whole_hours.append(hour)
            continue
        for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR):
            start, end = slot * SLOT_MS, (slot + 1) * SLOT_MS
            if _covers(since_ms, until_ms, start, end):
                slots.append(slot)
            elif (since_ms is None or since_ms < end) and (until_ms is None or start < until_ms):
                edges.append(slot)
    return list(days), whole_hours, slots, edges


def _key_indexer(tag: str, keys: list[str]) -> Callable[[str], int]:
    """``at(name)``: the 1-based KEYS index of ``tag + name``, appended to ``keys`` when new."""
    index: dict[str, int] = {}

    def at(name: str) -> int:
        found = index.get(name)
        if found is None:
            keys.append(tag + name)
            found = index[name] = len(keys)
        return found

    return at


def _top_args(tag: str, events: Sequence[Event], keys: list[str]) -> str:
    """ARGV[4] of the ingest script (its top-K block) for ``events``; appends to ``keys`` the
    top-K sorted sets of their days and hours (by USD ``tu:``, by quantity ``tq:``).

    One line per event: the KEYS indexes of its day-USD, day-qty, hour-USD and hour-qty sets,
    its USD and qty as scores (doubles: only an order; the member holds the exact amounts), and
    the member: ``ts, exchange, L|S, price, qty, usd ('' = price × qty), id``, tab-separated.
    """
    at = _key_indexer(tag, keys)
    lines = []
    for event in events:
        hour = event.ts_ms // HOUR_MS
        day = hour // HOURS_PER_DAY
        usd = "" if event.usd == default_usd(event.price, event.qty) else _plain(event.usd)
        lines.append(
            f"{at(f'tu:D:{day}')}\t{at(f'tq:D:{day}')}\t{at(f'tu:h:{hour}')}\t"
            f"{at(f'tq:h:{hour}')}\t{float(event.usd)!r}\t{float(event.qty)!r}\t"
            f"{event.ts_ms}\t{event.exchange}\t{_SIDE_CODE[event.side]}\t"
            f"{_plain(event.price)}\t{_plain(event.qty)}\t{usd}\t{event.id or ''}"
        )
    return "\n".join(lines)


def _band_args(tag: str, events: Sequence[Event], keys: list[str]) -> str:
    """ARGV[6] of the ingest script (its price-band block) for ``events``; appends to ``keys``
    the price-band hashes ``pb:D:<day>`` and ``pb:h:<hour>`` of their days and hours.

    One line per event: the KEYS indexes of its day and hour hashes, its field
    (``<fine bucket>|L|S``, see ``liqcli.store.pricebands``), then its qty and usd limbs.
    """
    from liqcli.store.pricebands import bucket_text

    at = _key_indexer(tag, keys)
    lines = []
    for event in events:
        hour = event.ts_ms // HOUR_MS
        _, qi, q1, q2 = amount_parts(event.qty, "qty")
        _, ui, u1, u2 = amount_parts(event.usd, "usd", zero_ok=True)
        lines.append(
            f"{at(f'pb:D:{hour // HOURS_PER_DAY}')}\t{at(f'pb:h:{hour}')}\t"
            f"{bucket_text(event.price)}|{_SIDE_CODE[event.side]}\t"
            f"{qi}\t{q1}\t{q2}\t{ui}\t{u1}\t{u2}"
        )
    return "\n".join(lines)


def _plain(value: Decimal) -> str:
    """Canonical plain text of a stored amount (as :func:`amount_parts` writes it)."""
    return amount_parts(value, "amount", zero_ok=True)[0]


def _covers(since_ms: int | None, until_ms: int | None, start: int, end: int) -> bool:
    """Whether [start, end) lies wholly inside the window [since_ms, until_ms)."""
    return (since_ms is None or since_ms <= start) and (until_ms is None or end <= until_ms)


_FIGURES = {"n": 0, "qi": 1, "q1": 2, "q2": 3, "ui": 4, "u1": 5, "u2": 6}


class _Fold:
    """Adds rollup hashes and edge-slot log lines with integers; Decimals are built once.

    Per cell (``b"exchange|L"``): events and the qty/usd limbs of rollup hashes, plus the
    qty/usd of log lines as integers of 1e-18 units, and first/last times.
    """

    def __init__(self) -> None:
        self.sums: dict[bytes, list[int]] = {}  # n, qi, q1, q2, ui, u1, u2, qty e18, usd e18
        self.firsts: dict[bytes, int] = {}
        self.lasts: dict[bytes, int] = {}

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

    def add_hash(self, raw: dict[bytes, bytes]) -> None:
        """A rollup hash: ``exchange|L|figure`` → integer."""
        for field, value in raw.items():
            cell, _, figure = field.rpartition(b"|")
            if figure == b"t0":
                self._first(cell, int(value))
            elif figure == b"t1":
                self._last(cell, int(value))
            else:
                self._cell(cell)[_FIGURES[figure.decode()]] += int(value)

    def add_hash_blob(self, blob: bytes) -> None:
        """A rollup hash as ``read.lua`` returns it: fields and values joined by newlines."""
        if blob:
            parts = blob.split(b"\n")
            self.add_hash(dict(zip(parts[::2], parts[1::2], strict=True)))

    def add_log_lines(
        self, base: int, lines: list[str], since_ms: int | None, until_ms: int | None
    ) -> None:
        """The events of a slot's log (payload lines; times are offsets from ``base`` ms)
        that fall inside the window."""
        lo = -1 if since_ms is None else since_ms - base
        hi = SLOT_MS if until_ms is None else until_ms - base
        for line in lines:
            exchange, code, price, qty, usd, offset, _id, _raw = line.split("\t")
            t = int(offset)
            if not lo <= t < hi:
                continue
            cell = f"{exchange}|{code}".encode()
            acc = self._cell(cell)
            q = _e18(qty)
            acc[0] += 1
            acc[7] += q
            acc[8] += _e18(usd) if usd else _default_usd_e18(_e18(price), q)
            self._first(cell, base + t)
            self._last(cell, base + t)

    def into(self, rollup: Rollup) -> None:
        for cell, (n, qi, q1, q2, ui, u1, u2, qe, ue) in self.sums.items():
            exchange, _, code = cell.decode().partition("|")
            rollup.cell(exchange, _CODE_SIDE[code]).add(
                n,
                from_limbs(qi, q1, q2 + qe),
                from_limbs(ui, u1, u2 + ue),
                self.firsts.get(cell),
                self.lasts.get(cell),
            )


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


def _decode_entries(symbol: str, base: int, entries: list[Any]) -> Iterator[Event]:
    for line in _entry_lines(entries):
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


def _entry_lines(entries: list[Any]) -> Iterator[str]:
    for _entry_id, fields in entries:
        yield from fields[b"v"].decode().split("\n")
