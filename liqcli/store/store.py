"""The liquidation store in Redis: exact, idempotent, atomic ingest and rollup reads.

Layout (schema 2; docs/redis-layout.md has the whole picture). Every key of one symbol carries
the hash tag ``{SYMBOL}`` so a batch script touches a single Cluster slot:

- ``<p>:schema``            string, the layout version (checked on open)
- ``<p>:symbols``           set of symbols (discovery without SCAN)
- ``<p>:{S}:t``             hash, cumulative rollup: one field per ``<exchange>|<L|S>``
- ``<p>:{S}:days``          sorted set of days (epoch ms // 86 400 000) that hold events
- ``<p>:{S}:hrs``           sorted set of hours that have an hour rollup
- ``<p>:{S}:D:<day>``       hash, the UTC day's rollup (every event of the day)
- ``<p>:{S}:h:<hour>``      hash, rollup of the hour's events kept in hour or slot logs
- ``<p>:{S}:s:<slot>``      hash, rollup of the 10-minute slot's events kept in its slot log
- ``<p>:{S}:ld:<day>`` / ``lh:<hour>`` / ``ls:<slot>``  strings, the log: each event in exactly
  one of them (the day's while it is small, then the hour's, then the slot's: density decides)
- ``<p>:{S}:d``, ``d1:<n>``, ``d2:<n>``, ``d3:<n>``  strings, dedupe fingerprints in tiers of
  1, 16, 256 and 4096 buckets (a tier is used once the ones before it are full)
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

SCHEMA_VERSION = "2"
HOUR_MS = 3_600_000
SLOT_MS = 600_000  # the finest rollup and log partition: window edges read one slot at most
SLOTS_PER_HOUR = HOUR_MS // SLOT_MS
HOURS_PER_DAY = 24
DAY_MS = HOUR_MS * HOURS_PER_DAY
DEDUPE_TIERS = (1, 16, 256, 4096)  # buckets per tier of the dedupe fingerprints
MAX_SCRIPT_EVENTS = 5000  # events per script call (limbs are carried: any size is exact)
# Where an event's log line goes: its day's log while that holds fewer bytes than DAY_LOG_CAP,
# else its hour's log while that holds fewer than HOUR_LOG_CAP, else its 10-minute slot's log.
# Reads do not depend on these (each event is in exactly one log, found through the indexes).
DAY_LOG_CAP = 4096
HOUR_LOG_CAP = 4096
DEDUPE_CAP = 4096  # bytes of fingerprints (341 events) per bucket of the first three tiers
LIMB_LIMIT = 2**53 - 1  # largest integer limb (whole units) a rollup cell can hold
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
        self.log_caps = (DAY_LOG_CAP, HOUR_LOG_CAP)  # bytes: see DAY_LOG_CAP (tests lower them)
        self.dedupe_cap = DEDUPE_CAP

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
                # sorted by slot (stable): each slot's events form one group of the call
                chunk = sorted(indexes[start : start + MAX_SCRIPT_EVENTS],
                               key=lambda i: events[i].ts_ms // SLOT_MS)
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
        else:
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                self._script(keys=call[1], args=call[2], client=pipe)
            try:
                replies = pipe.execute(raise_on_error=False)
            except redis_module.exceptions.NoScriptError:  # pragma: no cover - flushed scripts
                replies = [self._call(call) for call in calls]
        for (indexes, _keys, _args), flags in zip(calls, replies, strict=True):
            if isinstance(flags, Exception):
                raise _refusal(flags) from flags
            for i, flag in zip(indexes, flags, strict=True):
                result[i] = flag == 0x31  # b'1'
        return result

    def _call(self, call: _Call) -> Any:
        import redis as redis_module

        try:
            return self._script(keys=call[1], args=call[2])
        except redis_module.ResponseError as exc:
            raise _refusal(exc) from exc

    def _pack(self, symbol: str, events: list[Event]) -> tuple[list[str], list[Any]]:
        """One script call for ``events`` of ``symbol``, which must be sorted by slot."""
        tag = f"{self.prefix}:{{{symbol}}}:"
        keys: list[str] = [tag + "t", tag + "days", tag + "hrs", tag + "d"]
        key_index = _key_indexer(tag, keys)  # key suffix -> KEYS index (1-based)

        if not SYMBOL_RE.fullmatch(symbol):
            raise ValueError(f"symbol {symbol!r} is not [A-Z0-9._-]{{1,40}}")
        checked: set[str] = set()  # exchange names already checked in this batch
        identities: list[bytes] = []
        # per event: amount texts and limbs, shared with the top-K and price-band blocks
        texts: list[tuple[str, ...]] = []
        buckets: dict[tuple[int, int], None] = {}
        groups: list[str] = []
        _, t1, t2, t3 = DEDUPE_TIERS
        slot = -1
        lines: list[str] = []
        details: list[str] = []
        cells: dict[str, list[int]] = {}
        cell_no: dict[str, int] = {}
        first = 0

        def close_group(last: int) -> None:
            hour = slot // SLOTS_PER_HOUR
            day = hour // HOURS_PER_DAY
            groups.append(
                f"{key_index(f'ld:{day}')} {key_index(f'lh:{hour}')} "
                f"{key_index(f'ls:{slot}')} {key_index(f'D:{day}')} "
                f"{key_index(f'h:{hour}')} {key_index(f's:{slot}')} {day} {hour} {first} {last}"
            )
            groups.append("\n".join(lines))
            groups.append("\n".join(
                f"{cell} {c[0]} {_limbs(c[1])} {_limbs(c[2])} {c[3]} {c[4]}"
                for cell, c in cells.items()
            ))
            groups.append("\n".join(details))

        for position, event in enumerate(events):
            event_slot = event.ts_ms // SLOT_MS
            if event_slot != slot:
                if position:
                    close_group(position - 1)
                slot, first = event_slot, position
                lines, details, cells, cell_no = [], [], {}, {}
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
            identities.append(digest)
            h = (digest[0] << 8) | digest[1]
            buckets[(1, h % t1)] = buckets[(2, h % t2)] = buckets[(3, h % t3)] = None
            side = _SIDE_CODE[event.side]
            cell = f"{event.exchange}|{side}"
            q = int(qi) * _E18 + int(q1) * _E9 + int(q2)
            u = int(ui) * _E18 + int(u1) * _E9 + int(u2)
            ts = event.ts_ms
            c = cells.get(cell)
            if c is None:
                cells[cell] = [1, q, u, ts, ts]
                no = cell_no[cell] = len(cell_no) + 1
            else:
                c[0] += 1
                c[1] += q
                c[2] += u
                if ts < c[3]:
                    c[3] = ts
                elif ts > c[4]:
                    c[4] = ts
                no = cell_no[cell]
            details.append(f"{no} {qi} {q1} {q2} {ui} {u1} {u2} {ts}")
            usd_log = "" if event.usd == default_usd(event.price, event.qty) else usd
            texts.append((price, qty, usd_log, qi, q1, q2, ui, u1, u2))
            lines.append(
                f"{event.exchange}\t{side}\t{price}\t{qty}\t{usd_log}\t{ts % DAY_MS}\t"
                f"{event.id or ''}\t{event.raw_symbol or ''}"
            )
        if events:
            close_group(len(events) - 1)
        table = "\n".join(
            f"{tier} {number} {key_index(f'd{tier}:{number}')}" for tier, number in buckets
        )
        day_cap, hour_cap = self.log_caps
        # then the top-K and price-band blocks' keys and ARGV (ingest.lua reads them after
        # the groups: ARGV[8 + 4G], [9 + 4G], [10 + 4G])
        top = _top_args(tag, events, texts, keys)
        bands = _band_args(tag, events, texts, keys)
        return keys, [
            len(events), b"".join(identities), table, day_cap, hour_cap, self.dedupe_cap,
            len(groups) // 4, *groups, top, TOP_K, bands,
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
        out = [Rollup(symbol=name, since_ms=since_ms, until_ms=until_ms) for name in symbols]
        if not symbols:
            return out
        if since_ms is None and until_ms is None:
            pipe = self.client.pipeline(transaction=False)
            for name in symbols:
                pipe.hgetall(self.key(name, "t"))
            for rollup, raw in zip(out, pipe.execute(), strict=True):
                fold = _Fold()
                fold.add_hash(raw)
                fold.into(rollup)
            return out
        if since_ms is not None and until_ms is not None and since_ms >= until_ms:
            return out
        plans = self._plans(symbols, since_ms, until_ms)
        if self._read_script is None:
            self._read_script = self.client.register_script(_script_source("read.lua"))
        reads = [(i, plan) for i, plan in enumerate(plans) if plan[0] or plan[1]]
        blobs_of: list[Any] = []
        if len(reads) == 1:
            i, (hashes, logs) = reads[0]
            blobs_of = [self._read_script(keys=self._read_keys(symbols[i], hashes, logs),
                                          args=[len(hashes)])]
        elif reads:
            pipe = self.client.pipeline(transaction=False)
            for i, (hashes, logs) in reads:
                self._read_script(keys=self._read_keys(symbols[i], hashes, logs),
                                  args=[len(hashes)], client=pipe)
            blobs_of = pipe.execute()
        for (i, (hashes, logs)), blobs in zip(reads, blobs_of, strict=True):
            fold = _Fold()
            for blob in blobs[: len(hashes)]:
                fold.add_hash_blob(blob)
            for (_suffix, base), blob in zip(logs, blobs[len(hashes):], strict=True):
                if blob:
                    fold.add_log_lines(base, blob.decode().split("\n"), since_ms, until_ms)
            fold.into(out[i])
        return out

    def _read_keys(self, symbol: str, hashes: list[str], logs: list[tuple[str, int]]) -> list[str]:
        tag = f"{self.prefix}:{{{symbol}}}:"
        return [tag + suffix for suffix in hashes] + [tag + suffix for suffix, _ in logs]

    def _plans(
        self, symbols: Sequence[str], since_ms: int | None, until_ms: int | None
    ) -> list[tuple[list[str], list[tuple[str, int]]]]:
        """For each symbol, what a window reads: rollup hashes (key suffixes) wholly inside
        it, and logs (key suffix, start ms) that its edges cut. One pipelined round trip reads
        the day index, and the hour index of the (at most two) edge days."""
        lo_day = "-inf" if since_ms is None else str(since_ms // DAY_MS)
        hi_day = "+inf" if until_ms is None else str((until_ms - 1) // DAY_MS)
        hour_ranges: list[tuple[int, int]] = []  # hours of the edge days that the window cuts
        if since_ms is not None:
            day = since_ms // DAY_MS
            hour_ranges.append((since_ms // HOUR_MS, (day + 1) * HOURS_PER_DAY - 1))
        if until_ms is not None:
            day = (until_ms - 1) // DAY_MS
            first = day * HOURS_PER_DAY
            if hour_ranges and hour_ranges[0][0] // HOURS_PER_DAY == day:
                hour_ranges = [(hour_ranges[0][0], (until_ms - 1) // HOUR_MS)]
            else:
                hour_ranges.append((first, (until_ms - 1) // HOUR_MS))
        pipe = self.client.pipeline(transaction=False)
        for name in symbols:
            pipe.zrangebyscore(self.key(name, "days"), lo_day, hi_day)
            for lo, hi in hour_ranges:
                pipe.zrangebyscore(self.key(name, "hrs"), lo, hi)
        replies = pipe.execute()
        step = 1 + len(hour_ranges)
        return [
            self._plan(
                [int(d) for d in replies[i * step]],
                [int(h) for reply in replies[i * step + 1 : (i + 1) * step] for h in reply],
                since_ms, until_ms,
            )
            for i in range(len(symbols))
        ]

    @staticmethod
    def _plan(
        days: list[int], hours: list[int], since_ms: int | None, until_ms: int | None
    ) -> tuple[list[str], list[tuple[str, int]]]:
        """Rollups and edge logs of a window from the days with events and the hours (of
        the edge days) that have hour rollups."""
        hashes: list[str] = []
        logs: list[tuple[str, int]] = []
        partial_days: set[int] = set()
        for day in days:
            if _covers(since_ms, until_ms, day * DAY_MS, (day + 1) * DAY_MS):
                hashes.append(f"D:{day}")
            else:
                partial_days.add(day)
                logs.append((f"ld:{day}", day * DAY_MS))
        for hour in hours:
            if hour // HOURS_PER_DAY not in partial_days:
                continue
            if _covers(since_ms, until_ms, hour * HOUR_MS, (hour + 1) * HOUR_MS):
                hashes.append(f"h:{hour}")
                continue
            base = hour // HOURS_PER_DAY * DAY_MS  # log times are ms after the day's start
            logs.append((f"lh:{hour}", base))
            for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR):
                start, end = slot * SLOT_MS, (slot + 1) * SLOT_MS
                if _covers(since_ms, until_ms, start, end):
                    hashes.append(f"s:{slot}")
                elif (since_ms is None or since_ms < end) and (
                    until_ms is None or start < until_ms
                ):
                    logs.append((f"ls:{slot}", base))
        return hashes, logs

    def events(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Iterator[Event]:
        """The stored log of one symbol in [since_ms, until_ms), day by day, in store order.

        Each day costs one pipelined round trip (its day log, and the hour and slot logs of
        its hours with hour rollups), plus two for the day and hour indexes.
        """
        lo = "-inf" if since_ms is None else str(since_ms // DAY_MS)
        hi = "+inf" if until_ms is None else str((until_ms - 1) // DAY_MS)
        days = [int(raw) for raw in self.client.zrangebyscore(self.key(symbol, "days"), lo, hi)]
        if not days:
            return
        hour_lo = "-inf" if since_ms is None else str(since_ms // HOUR_MS)
        hour_hi = "+inf" if until_ms is None else str((until_ms - 1) // HOUR_MS)
        by_day: dict[int, list[int]] = {}
        for raw in self.client.zrangebyscore(self.key(symbol, "hrs"), hour_lo, hour_hi):
            by_day.setdefault(int(raw) // HOURS_PER_DAY, []).append(int(raw))
        for day in days:
            hours = by_day.get(day, [])
            logs: list[tuple[str, int]] = [(f"ld:{day}", day * DAY_MS)]
            for hour in hours:
                logs.append((f"lh:{hour}", day * DAY_MS))
                logs += [
                    (f"ls:{slot}", day * DAY_MS)
                    for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR)
                    if (since_ms is None or since_ms < (slot + 1) * SLOT_MS)
                    and (until_ms is None or slot * SLOT_MS < until_ms)
                ]
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
    ) -> tuple[list[int], list[int], list[tuple[int, int]]]:
        """What a window holds, for the per-day and per-hour structures of ``top`` and
        ``levels``: the days with events lying wholly inside it, the hours of its (at most
        two) partial days lying wholly inside it, and the ``[start, end)`` ranges of its (at
        most two) partial hours. One round trip (the day index)."""
        days, _ = self._indexes(symbol, since_ms, until_ms)
        whole_days: list[int] = []
        whole_hours: list[int] = []
        partial: list[tuple[int, int]] = []
        for day in days:
            if _covers(since_ms, until_ms, day * DAY_MS, (day + 1) * DAY_MS):
                whole_days.append(day)
                continue
            for hour in range(day * HOURS_PER_DAY, (day + 1) * HOURS_PER_DAY):
                start, end = hour * HOUR_MS, (hour + 1) * HOUR_MS
                if _covers(since_ms, until_ms, start, end):
                    whole_hours.append(hour)
                elif (since_ms is None or since_ms < end) and (
                    until_ms is None or start < until_ms
                ):
                    partial.append((
                        start if since_ms is None else max(since_ms, start),
                        end if until_ms is None else min(until_ms, end),
                    ))
        return whole_days, whole_hours, partial
    def _indexes(
        self, symbol: str, since_ms: int | None, until_ms: int | None
    ) -> tuple[list[int], list[int]]:
        """The days holding events and the hours having an hour rollup, in [since, until):
        one pipelined round trip."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zrangebyscore(
            self.key(symbol, "days"), "-inf" if since_ms is None else since_ms // DAY_MS,
            "+inf" if until_ms is None else (until_ms - 1) // DAY_MS)
        pipe.zrangebyscore(
            self.key(symbol, "hrs"), "-inf" if since_ms is None else since_ms // HOUR_MS,
            "+inf" if until_ms is None else (until_ms - 1) // HOUR_MS)
        days, hours = pipe.execute()
        return [int(d) for d in days], [int(h) for h in hours]

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
        days, hours = self._indexes(symbol, windows[0][0], windows[-1][1])
        hash_keys: dict[str, int] = {}
        log_keys: dict[str, tuple[int, int]] = {}
        plans: list[tuple[list[int], list[tuple[int, int]]]] = []
        for since_ms, until_ms in windows:
            in_days = days[bisect_left(days, since_ms // DAY_MS):
                           bisect_left(days, (until_ms - 1) // DAY_MS + 1)]
            in_hours = hours[bisect_left(hours, since_ms // HOUR_MS):
                             bisect_left(hours, (until_ms - 1) // HOUR_MS + 1)]
            hashes, logs = self._plan(in_days, in_hours, since_ms, until_ms)
            plans.append((
                [hash_keys.setdefault(name, len(hash_keys)) for name in hashes],
                [(log_keys.setdefault(name, (len(log_keys), base))[0], base)
                 for name, base in logs],
            ))
        hash_blobs, log_blobs = self._read_blobs(symbol, list(hash_keys), list(log_keys))
        # each log parsed once, ordered by time; a window takes its slice (bisect)
        parsed = [_parse_log(base, blob)
                  for (_, base), blob in zip(log_keys.values(), log_blobs, strict=True)]
        times = [[event[0] for event in events] for events in parsed]
        rollups = []
        for (since_ms, until_ms), (hash_indexes, log_indexes) in zip(windows, plans, strict=True):
            fold = _Fold()
            for index in hash_indexes:
                fold.add_hash_blob(hash_blobs[index])
            for index, _ in log_indexes:
                stamps = times[index]
                fold.add_parsed(parsed[index][
                    bisect_left(stamps, since_ms) : bisect_left(stamps, until_ms)])
            rollup = Rollup(symbol=symbol, since_ms=since_ms, until_ms=until_ms)
            fold.into(rollup)
            rollups.append(rollup)
        return rollups

    def _read_blobs(
        self, symbol: str, hashes: list[str], logs: list[str], chunk: int = 2000
    ) -> tuple[list[bytes], list[bytes]]:
        """Rollup hashes and logs (key suffixes) through ``read.lua``, in one pipeline."""
        if not hashes and not logs:
            return [], []
        if self._read_script is None:
            self._read_script = self.client.register_script(_script_source("read.lua"))
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, len(hashes), chunk):
            part = [self.key(symbol, name) for name in hashes[start : start + chunk]]
            self._read_script(keys=part, args=[len(part)], client=pipe)
        for start in range(0, len(logs), chunk):
            part = [self.key(symbol, name) for name in logs[start : start + chunk]]
            self._read_script(keys=part, args=[0], client=pipe)
        replies = [blob for reply in pipe.execute() for blob in reply]
        return replies[: len(hashes)], replies[len(hashes) :]

    def top_events(
        self, symbol: str, since_ms: int | None, until_ms: int | None, n: int, by: str,
        exchanges: Sequence[str] = (), side: str | None = None,
    ) -> list[Event]:
        """A superset of the ``n`` largest events (by ``usd`` or ``qty``) of ``symbol`` in
        [since_ms, until_ms) on ``exchanges`` (empty: all) and ``side`` (None: both), ties
        with the n-th included.

        Reads the top-K sets of the days and hours lying wholly inside the window and the
        events of its (at most two) partial edge hours (``liqcli.store.topk``); ``n`` above
        TOP_K reads the window's log.
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

        Every exchange: the price-band hashes of the whole days and hours, the events of the
        partial edge hours. With ``exchanges`` (the hashes do not split by exchange) the
        window's log is read instead.
        """
        from liqcli.store.pricebands import events_buckets, read_buckets

        if exchanges:
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


def _inside(ts: int, since_ms: int | None, until_ms: int | None) -> bool:
    return (since_ms is None or ts >= since_ms) and (until_ms is None or ts < until_ms)


def _script_source(name: str) -> str:
    """A server-side script shipped in the package (read on first use)."""
    from importlib import resources

    return resources.files("liqcli.store").joinpath(name).read_text()


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


def _top_args(
    tag: str, events: Sequence[Event], texts: Sequence[tuple[str, ...]], keys: list[str]
) -> str:
    """ARGV of the ingest script's top-K block for ``events`` (``texts``: each one's price,
    qty, logged usd and limbs, as ``_pack`` made them); appends to ``keys`` the top-K sorted
    sets of their days and hours (by USD ``tu:``, by quantity ``tq:``).

    One line per event: the KEYS indexes of its day-USD, day-qty, hour-USD and hour-qty sets,
    its USD and qty as scores (doubles: only an order; the member holds the exact amounts), and
    the member: ``ts, exchange, L|S, price, qty, usd ('' = price × qty), id``, tab-separated.
    """
    at = _key_indexer(tag, keys)
    lines = []
    for event, (price, qty, usd, *_) in zip(events, texts, strict=True):
        hour = event.ts_ms // HOUR_MS
        day = hour // HOURS_PER_DAY
        lines.append(
            f"{at(f'tu:D:{day}')}\t{at(f'tq:D:{day}')}\t{at(f'tu:h:{hour}')}\t"
            f"{at(f'tq:h:{hour}')}\t{float(event.usd)!r}\t{float(event.qty)!r}\t"
            f"{event.ts_ms}\t{event.exchange}\t{_SIDE_CODE[event.side]}\t"
            f"{price}\t{qty}\t{usd}\t{event.id or ''}"
        )
    return "\n".join(lines)


def _band_args(
    tag: str, events: Sequence[Event], texts: Sequence[tuple[str, ...]], keys: list[str]
) -> str:
    """ARGV of the ingest script's price-band block for ``events``; appends to ``keys`` the
    price-band hashes ``pb:D:<day>`` and ``pb:h:<hour>`` of their days and hours.

    One line per event: the KEYS indexes of its day and hour hashes, its field
    (``<fine bucket>|L|S``, see ``liqcli.store.pricebands``), then its qty and usd limbs.
    """
    from liqcli.store.pricebands import bucket_of_text

    at = _key_indexer(tag, keys)
    lines = []
    for event, (price, _, _, qi, q1, q2, ui, u1, u2) in zip(events, texts, strict=True):
        hour = event.ts_ms // HOUR_MS
        lines.append(
            f"{at(f'pb:D:{hour // HOURS_PER_DAY}')}\t{at(f'pb:h:{hour}')}\t"
            f"{bucket_of_text(price)}|{_SIDE_CODE[event.side]}\t"
            f"{qi}\t{q1}\t{q2}\t{ui}\t{u1}\t{u2}"
        )
    return "\n".join(lines)


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
        """A rollup hash: ``exchange|L`` → ``"n qi q1 q2 ui u1 u2 t0 t1"``."""
        for cell, value in raw.items():
            self._add_cell(cell, value)

    def _add_cell(self, cell: bytes, value: bytes) -> None:
        n, qi, q1, q2, ui, u1, u2, t0, t1 = map(int, value.split(b" "))
        acc = self._cell(cell)
        acc[0] += n
        acc[1] += qi
        acc[2] += q1
        acc[3] += q2
        acc[4] += ui
        acc[5] += u1
        acc[6] += u2
        self._first(cell, t0)
        self._last(cell, t1)

    def add_hash_blob(self, blob: bytes) -> None:
        """A rollup hash as ``read.lua`` returns it: fields and values joined by newlines."""
        if blob:
            parts = blob.split(b"\n")
            for cell, value in zip(parts[::2], parts[1::2], strict=True):
                self._add_cell(cell, value)

    def add_log_lines(
        self, base: int, lines: list[str], since_ms: int | None, until_ms: int | None
    ) -> None:
        """The events of a log (event lines; times are offsets from ``base`` ms) that fall
        inside the window."""
        lo = -1 if since_ms is None else since_ms - base
        hi = DAY_MS if until_ms is None else until_ms - base
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

    def add_parsed(self, events: Iterable[tuple[int, bytes, int, int]]) -> None:
        """Events parsed by :func:`_parse_log`: ``(ts, cell, qty e18, usd e18)``."""
        for ts, cell, q, u in events:
            acc = self._cell(cell)
            acc[0] += 1
            acc[7] += q
            acc[8] += u
            self._first(cell, ts)
            self._last(cell, ts)

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
