"""Store maintenance: check every rollup against the log (``verify``), rebuild the rollups from
the log (``--repair``), and drop old logs while every rollup stays (``prune``).

Everything here that knows the Redis layout (docs/redis-layout.md) is in this one module, next
to :mod:`liqcli.store.store`:

- **verify** walks a symbol hour by hour (the hours of ``:hrs`` and of every rollup or log key
  found by a SCAN of the symbol's keys), reads each hour's slot logs and rollups in one round
  trip, and recomputes slot → hour → day → cumulative rollups with integers (amounts in 1e-18
  units, exact). Memory: one hour's log at a time, plus the symbol's key names (a few per
  stored hour), never the whole log. Every stored cell that differs — events, quantity,
  notional, first or last time — is one :class:`Difference`; so are an hour missing from (or
  extra in) ``:hrs`` and a dedupe fingerprint count that differs from the logged events.
- **pruned slots** (older than the symbol's ``:pruned`` marker, no log left): their slot
  rollup is taken as it is, and the levels above are checked against it.
- **repair** writes the recomputed value of every differing key in one MULTI/EXEC per symbol,
  WATCHing the cumulative rollup: an ingest that stores events meanwhile aborts the repair
  (retried, then refused) instead of being overwritten. Dedupe data is reported, never
  rewritten.
- **prune** drops, hour by hour and atomically per hour (one script), the slot logs, the hour's
  dedupe buckets and the pruned events' fingerprints in the symbol-wide id buckets, and raises
  the ``:pruned`` marker (hour number: every hour before it has no log).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from liqcli.errors import StoreError
from liqcli.store.store import (
    DEDUPE_BUCKETS,
    HOUR_DEDUPE_BUCKETS,
    HOUR_MS,
    HOURS_PER_DAY,
    SLOT_MS,
    SLOTS_PER_HOUR,
    Store,
    _decode_entries,
    _default_usd_e18,
    _e18,
    _entry_lines,
    _script_source,
    amount_parts,
    fingerprint,
    from_limbs,
)

_E9 = 10**9
_E18 = 10**18
FP_BYTES = 12
REPAIR_ATTEMPTS = 3
# a cell's exact figures: events, qty and usd in 1e-18 units, first and last time (ms)
Cells = dict[str, list[int]]
FIGURES = ("n", "qty", "usd", "first", "last")


@dataclass(frozen=True, slots=True)
class Difference:
    """One stored figure that is not what the log says."""

    symbol: str
    key: str  # the Redis key
    cell: str  # "exchange|L" / "exchange|S", an hour of ``hrs``, or "" (dedupe)
    figure: str  # n, qty, usd, first, last, member, fingerprints
    stored: str
    recomputed: str

    def line(self) -> str:
        return (
            f"{self.key}\t{self.cell or '-'}\t{self.figure}\t"
            f"stored={self.stored}\trecomputed={self.recomputed}"
        )

    def as_dict(self) -> dict[str, str]:
        return {"symbol": self.symbol, "key": self.key, "cell": self.cell,
                "figure": self.figure, "stored": self.stored, "recomputed": self.recomputed}


@dataclass(slots=True)
class VerifyResult:
    symbol: str
    events: int = 0  # logged events recomputed
    keys: int = 0  # rollup keys compared (slot, hour, day, cumulative)
    pruned_slots: int = 0  # slots without log, whose stored rollup was taken as it is
    differences: list[Difference] = field(default_factory=list)
    repaired: int = 0  # keys rewritten by --repair

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "events": self.events, "keys": self.keys,
                "pruned_slots": self.pruned_slots, "repaired": self.repaired,
                "differences": [d.as_dict() for d in self.differences]}


# ------------------------------------------------------------------------------- cells
def _add(into: Cells, cells: Cells) -> None:
    for cell, (n, q, u, t0, t1) in cells.items():
        acc = into.get(cell)
        if acc is None:
            into[cell] = [n, q, u, t0, t1]
        else:
            acc[0] += n
            acc[1] += q
            acc[2] += u
            acc[3] = min(acc[3], t0)
            acc[4] = max(acc[4], t1)


def _from_hash(raw: dict[bytes, bytes]) -> Cells:
    """A stored rollup hash (``exchange|L|figure`` → integer; limbs never carried)."""
    cells: Cells = {}
    for name, value in raw.items():
        cell, _, figure = name.decode().rpartition("|")
        acc = cells.setdefault(cell, [0, 0, 0, -1, -1])
        v = int(value)
        if figure == "n":
            acc[0] += v
        elif figure in ("qi", "q1", "q2", "ui", "u1", "u2"):
            scale = {"i": _E18, "1": _E9, "2": 1}[figure[1]]
            acc[1 if figure[0] == "q" else 2] += v * scale
        elif figure == "t0":
            acc[3] = v
        elif figure == "t1":
            acc[4] = v
    return cells


def _from_log(base: int, entries: list[Any]) -> tuple[Cells, int]:
    """The cells of one slot's log, and its number of events."""
    cells: Cells = {}
    events = 0
    for line in _entry_lines(entries):
        exchange, code, price, qty, usd, offset, _id, _raw = line.split("\t")
        q = _e18(qty)
        u = _e18(usd) if usd else _default_usd_e18(_e18(price), q)
        ts = base + int(offset)
        _add(cells, {f"{exchange}|{code}": [1, q, u, ts, ts]})
        events += 1
    return cells, events


def _to_hash(cells: Cells) -> dict[str, str]:
    """Rollup hash fields holding ``cells`` (limbs normalized)."""
    out: dict[str, str] = {}
    for cell, (n, q, u, t0, t1) in cells.items():
        out[f"{cell}|n"] = str(n)
        for letter, value in (("q", q), ("u", u)):
            whole, rest = divmod(value, _E18)
            out[f"{cell}|{letter}i"] = str(whole)
            out[f"{cell}|{letter}1"] = str(rest // _E9)
            out[f"{cell}|{letter}2"] = str(rest % _E9)
        out[f"{cell}|t0"] = str(t0)
        out[f"{cell}|t1"] = str(t1)
    return out


def _show(figure: int, value: int | None) -> str:
    if value is None:
        return "absent"
    if figure in (1, 2):
        return format(from_limbs(0, 0, value), "f")
    return str(value)


def _compare(symbol: str, key: str, stored: Cells, truth: Cells) -> list[Difference]:
    out: list[Difference] = []
    for cell in sorted(set(stored) | set(truth)):
        s, t = stored.get(cell), truth.get(cell)
        for i, figure in enumerate(FIGURES):
            sv = None if s is None or (i >= 3 and s[i] < 0) else s[i]
            tv = None if t is None else t[i]
            if sv != tv and not (i < 3 and (sv or 0) == (tv or 0)):
                out.append(Difference(symbol, key, cell, figure, _show(i, sv), _show(i, tv)))
    return out


# ------------------------------------------------------------------------------- verify
@dataclass(slots=True)
class _Keys:
    """What a SCAN found of one symbol's keys."""

    slots_logged: set[int] = field(default_factory=set)
    slot_rollups: set[int] = field(default_factory=set)
    hours: set[int] = field(default_factory=set)
    days: set[int] = field(default_factory=set)
    dedupe: list[str] = field(default_factory=list)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _scan(store: Store, symbol: str) -> _Keys:
    found = _Keys()
    tag = store.key(symbol, "")
    for raw in store.client.scan_iter(match=_glob_escape(tag) + "*", count=1000):
        suffix = raw.decode()[len(tag):]
        kind, _, rest = suffix.partition(":")
        if kind == "l":
            found.slots_logged.add(int(rest))
        elif kind == "s":
            found.slot_rollups.add(int(rest))
        elif kind == "h":
            found.hours.add(int(rest))
        elif kind == "D":
            found.days.add(int(rest))
        elif kind == "d":
            found.dedupe.append(raw.decode())
    return found


def pruned_before(store: Store, symbol: str) -> int:
    """The first hour of ``symbol`` that still has its log (0 = nothing pruned)."""
    raw = store.client.get(store.key(symbol, "pruned"))
    return int(raw) if raw else 0


def verify_symbol(store: Store, symbol: str, repair: bool = False) -> VerifyResult:
    """Recompute every rollup of ``symbol`` from its log; with ``repair``, rewrite the keys
    that differ (atomically, refused while an ingest of the symbol is storing events)."""
    if not repair:
        result, _fixes = _verify(store, symbol)
        return result
    import redis

    total_key = store.key(symbol, "t")
    for _attempt in range(REPAIR_ATTEMPTS):
        with store.client.pipeline() as pipe:
            pipe.watch(total_key)
            result, fixes = _verify(store, symbol)
            if not fixes:
                pipe.unwatch()
                return result
            pipe.multi()
            for key, cells in fixes.items():
                if key.endswith(":hrs"):
                    continue
                pipe.delete(key)
                if cells:
                    pipe.hset(key, mapping=_to_hash(cells))
            hrs = fixes.get(store.key(symbol, "hrs"))
            if hrs is not None:
                hrs_key = store.key(symbol, "hrs")
                pipe.delete(hrs_key)
                if hrs:
                    pipe.zadd(hrs_key, {str(hour): hour for hour in (int(h) for h in hrs)})
            try:
                pipe.execute()
            except redis.WatchError:
                continue
        result.repaired = len(fixes)
        return result
    raise StoreError(
        f"{symbol}: events were stored while repairing ({REPAIR_ATTEMPTS} attempts); "
        "run the repair again when no ingest of the symbol is running"
    )


def _verify(store: Store, symbol: str) -> tuple[VerifyResult, dict[str, Cells]]:
    client = store.client
    result = VerifyResult(symbol)
    fixes: dict[str, Cells] = {}
    keys = _scan(store, symbol)
    marker = pruned_before(store, symbol)
    indexed = {int(raw) for raw in client.zrange(store.key(symbol, "hrs"), 0, -1)}
    slots = keys.slots_logged | keys.slot_rollups
    hours = sorted(
        indexed | keys.hours | {slot // SLOTS_PER_HOUR for slot in slots}
    )
    days_seen: set[int] = set()
    total: Cells = {}
    day_truth: Cells = {}
    day: int | None = None
    with_events: set[int] = set()

    def check(key: str, stored: Cells, truth: Cells) -> None:
        result.keys += 1
        found = _compare(symbol, key, stored, truth)
        if found:
            result.differences.extend(found)
            fixes[key] = truth

    def close_day() -> None:
        if day is not None:
            key = store.key(symbol, f"D:{day}")
            days_seen.add(day)
            check(key, _from_hash(client.hgetall(key)), day_truth)
            _add(total, day_truth)

    for hour in hours:
        if hour // HOURS_PER_DAY != day:
            close_day()
            day, day_truth = hour // HOURS_PER_DAY, {}
        hour_slots = [s for s in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR)
                      if s in slots]
        pipe = client.pipeline(transaction=False)
        for slot in hour_slots:
            pipe.xrange(store.key(symbol, f"l:{slot}"))
            pipe.hgetall(store.key(symbol, f"s:{slot}"))
        pipe.hgetall(store.key(symbol, f"h:{hour}"))
        replies = pipe.execute()
        hour_truth: Cells = {}
        for i, slot in enumerate(hour_slots):
            entries, stored_raw = replies[2 * i], replies[2 * i + 1]
            stored = _from_hash(stored_raw)
            key = store.key(symbol, f"s:{slot}")
            if entries:
                truth, events = _from_log(slot * SLOT_MS, entries)
                result.events += events
                check(key, stored, truth)
            elif hour < marker:  # pruned: the slot rollup is all that is left
                truth = stored
                result.pruned_slots += 1
            else:
                truth = {}
                check(key, stored, truth)
            _add(hour_truth, truth)
        check(store.key(symbol, f"h:{hour}"), _from_hash(replies[-1]), hour_truth)
        _add(day_truth, hour_truth)
        if hour_truth:
            with_events.add(hour)
    close_day()
    for stray in sorted(keys.days - days_seen):
        key = store.key(symbol, f"D:{stray}")
        check(key, _from_hash(client.hgetall(key)), {})
    check(store.key(symbol, "t"), _from_hash(client.hgetall(store.key(symbol, "t"))), total)
    hrs_key = store.key(symbol, "hrs")
    for hour in sorted(indexed ^ with_events):
        result.differences.append(Difference(
            symbol, hrs_key, str(hour), "member",
            "present" if hour in indexed else "absent",
            "present" if hour in with_events else "absent",
        ))
    if indexed != with_events:
        fixes[hrs_key] = {str(hour): [] for hour in with_events}
    _check_dedupe(store, symbol, keys, result)
    return result, fixes


def _check_dedupe(store: Store, symbol: str, keys: _Keys, result: VerifyResult) -> None:
    """One fingerprint per logged event: the dedupe strings' total length is 12 × events."""
    stored = 0
    for start in range(0, len(keys.dedupe), 512):
        pipe = store.client.pipeline(transaction=False)
        for key in keys.dedupe[start:start + 512]:
            pipe.strlen(key)
        stored += sum(pipe.execute())
    if stored != FP_BYTES * result.events:
        result.differences.append(Difference(
            symbol, store.key(symbol, "d:*"), "", "fingerprints",
            str(stored // FP_BYTES), str(result.events),
        ))


# -------------------------------------------------------------------------------- prune
@dataclass(slots=True)
class PruneResult:
    symbol: str
    hours: int = 0  # hours whose log goes (went)
    events: int = 0
    bytes: int = 0  # memory the log and dedupe data use(d) (MEMORY USAGE, estimated for ids)
    pruned_before_ms: int | None = None  # every event before this has no log (after the run)

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "hours": self.hours, "events": self.events,
                "bytes": self.bytes, "pruned_before_ms": self.pruned_before_ms}




def prune_symbol(store: Store, symbol: str, keep_from_ms: int, apply: bool) -> PruneResult:
    """Drop (``apply``) or measure the log and dedupe data of ``symbol``'s hours that end at or
    before ``keep_from_ms``; every rollup stays."""
    client = store.client
    before_hour = keep_from_ms // HOUR_MS  # whole hours only: the cut-off is rounded down
    result = PruneResult(symbol)
    marker = pruned_before(store, symbol)
    hours = [int(raw) for raw in client.zrangebyscore(
        store.key(symbol, "hrs"), marker, before_hour - 1)]
    script = client.register_script(_script_source("prune.lua")) if apply else None
    for hour in hours:
        slots = range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR)
        logs = [store.key(symbol, f"l:{slot}") for slot in slots]
        buckets = [store.key(symbol, f"d:{hour}:{n}") for n in range(HOUR_DEDUPE_BUCKETS)]
        pipe = client.pipeline(transaction=False)
        for key in logs:
            pipe.xrange(key)
        for key in logs + buckets:
            pipe.memory_usage(key, samples=0)
        replies = pipe.execute()
        by_bucket: dict[str, list[bytes]] = {}
        events = 0
        for slot, entries in zip(slots, replies[:SLOTS_PER_HOUR], strict=True):
            for event in _decode_entries(symbol, slot * SLOT_MS, entries):
                events += 1
                if event.id:
                    price, _, _, _ = amount_parts(event.price, "price")
                    qty, _, _, _ = amount_parts(event.qty, "qty")
                    usd, _, _, _ = amount_parts(event.usd, "usd", zero_ok=True)
                    digest = fingerprint(event, price, qty, usd)
                    bucket = int.from_bytes(digest[:2], "big") % DEDUPE_BUCKETS
                    by_bucket.setdefault(store.key(symbol, f"d:{bucket}"), []).append(
                        digest[2:14])
        result.hours += 1
        result.events += events
        result.bytes += sum(r or 0 for r in replies[SLOTS_PER_HOUR:])
        result.bytes += FP_BYTES * sum(len(fps) for fps in by_bucket.values())
        if script is not None:
            id_keys = sorted(by_bucket)
            script(
                keys=[store.key(symbol, "pruned"), *logs, *buckets, *id_keys],
                args=[hour + 1, len(logs) + len(buckets),
                      *(b"".join(by_bucket[k]) for k in id_keys)],
            )
    after = max(marker, hours[-1] + 1) if hours and apply else marker
    result.pruned_before_ms = after * HOUR_MS if after else None
    return result


def iter_symbols(store: Store, symbols: list[str] | None) -> Iterator[str]:
    yield from (symbols if symbols else store.symbols())
