"""Store maintenance: check every rollup against the log (``verify``), rebuild the rollups from
the log (``--repair``), and drop old logs while every rollup stays (``prune``).

Everything here that knows the Redis layout (schema 5, docs/redis-layout.md) is in this one
module, next to :mod:`liqcli.store.store`:

- **verify** walks a symbol day by day (the days of ``:days`` and of every key a SCAN of the
  symbol's keys finds), reads each day's logs and rollups in one round trip, and recomputes them
  with integers (amounts in 1e-18 units, exact): a minute rollup counts its minute log, a slot
  rollup its slot log and its minutes' logs, an hour rollup its hour log and its slots' (and
  their minutes') logs, a day rollup all of them and the day log, the cumulative rollup every
  day. Memory: one day's log at a time plus the symbol's key names,
  never the whole log. Every stored cell that differs — events, quantity, notional, first or
  last time — is one :class:`Difference`; so is a day or hour missing from (or extra in) the
  ``:days``/``:hrs``/``:mns`` indexes, and a dedupe fingerprint count that differs from the logged
  events.
- **pruned days** (before the symbol's ``:pruned`` marker, no log left): their day rollup is
  taken as it is and counted in the cumulative one; their hour and slot rollups are kept but
  can no longer be checked (nor used: a window edge inside a pruned day is refused); their
  minute rollups went with their logs.
- **repair** writes the recomputed value of every differing key in one MULTI/EXEC per symbol,
  WATCHing the cumulative rollup: an ingest that stores events meanwhile aborts the repair
  (retried, then refused) instead of being overwritten. Dedupe data is reported, not rewritten.
- **prune** drops, day by day and atomically per day (one script), the day's logs and the
  fingerprints of its events in the dedupe tiers (overflow marks stay, so lookups of the
  remaining fingerprints still find them), its minute rollups and their ``:mns`` members, and
  raises the ``:pruned`` marker (a day number:
  every day before it has no log). The day log's text is kept as ``pl:<day>``: its events are
  in none of the day's top-K sets and price bands (schema 3), and ``top`` and ``levels`` read
  it with them, so whole pruned days stay exact for them (a sparse day keeps about its log's
  size; no other read uses it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from liqcli.errors import StoreError
from liqcli.store.store import (
    DAY_MS,
    DEDUPE_TIERS,
    HOURS_PER_DAY,
    MINUTES_PER_SLOT,
    SLOTS_PER_HOUR,
    Store,
    _decode_lines,
    _default_usd_e18,
    _e18,
    _limbs,
    _period_cell,
    _period_start,
    _script_source,
    amount_parts,
    fingerprint,
    from_limbs,
)

_E9 = 10**9
_E18 = 10**18
FP_BYTES = 12
MARK = b"\0" * FP_BYTES  # a dedupe bucket's overflow mark (ingest.lua)
REPAIR_ATTEMPTS = 3
# a cell's exact figures: events, qty and usd in 1e-18 units, first and last time (ms)
Cells = dict[str, list[int]]
FIGURES = ("n", "qty", "usd", "first", "last")


@dataclass(frozen=True, slots=True)
class Difference:
    """One stored figure that is not what the log says."""

    symbol: str
    key: str  # the Redis key
    cell: str  # "exchange|L" / "exchange|S", a day or hour of an index, or "" (dedupe)
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
    pruned_days: int = 0  # days without log, whose stored day rollup was taken as it is
    differences: list[Difference] = field(default_factory=list)
    repaired: int = 0  # keys rewritten by --repair

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "events": self.events, "keys": self.keys,
                "pruned_days": self.pruned_days, "repaired": self.repaired,
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


def _from_hash(raw: dict[bytes, bytes], start: int | None) -> Cells:
    """A stored rollup hash: ``exchange|L`` → ``"n qi q1 q2 ui u1 u2 t0 t1"`` (the cumulative
    one, ``start`` None) or a period's ``"n qty usd t0 t1"`` (times after ``start``)."""
    cells: Cells = {}
    for name, value in raw.items():
        if start is not None:
            cells[name.decode()] = list(_period_cell(value, start))
            continue
        n, qi, q1, q2, ui, u1, u2, t0, t1 = map(int, value.split(b" "))
        cells[name.decode()] = [n, qi * _E18 + q1 * _E9 + q2, ui * _E18 + u1 * _E9 + u2, t0, t1]
    return cells


def _from_log(base: int, blob: bytes | None) -> tuple[Cells, int]:
    """The cells of one log string (times are ms after ``base``), and its number of events."""
    cells: Cells = {}
    if not blob:
        return cells, 0
    lines = blob.decode().split("\n")
    for line in lines:
        exchange, code, price, qty, usd, offset, _id, _raw = line.split("\t")
        q = _e18(qty)
        u = _e18(usd) if usd else _default_usd_e18(_e18(price), q)
        ts = base + int(offset)
        _add(cells, {f"{exchange}|{code}": [1, q, u, ts, ts]})
    return cells, len(lines)


def _to_hash(cells: Cells, start: int | None) -> dict[str, str]:
    """Rollup hash fields holding ``cells``, as the ingest script writes them: the cumulative
    one's (``start`` None) limbs carried, a period's sums as decimal text and times after
    ``start``."""
    if start is None:
        return {cell: f"{n} {_limbs(q)} {_limbs(u)} {t0} {t1}"
                for cell, (n, q, u, t0, t1) in cells.items()}
    return {cell: f"{n} {_plain(q)} {_plain(u)} {t0 - start} {t1 - start}"
            for cell, (n, q, u, t0, t1) in cells.items()}


def _plain(units: int) -> str:
    """An amount in 1e-18 units as plain decimal text in its shortest form (``12.015``)."""
    whole, rest = divmod(units, _E18)
    frac = f"{rest:018d}".rstrip("0")
    return f"{whole}.{frac}" if frac else str(whole)


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
            sv = None if s is None else s[i]
            tv = None if t is None else t[i]
            if sv != tv:
                out.append(Difference(symbol, key, cell, figure, _show(i, sv), _show(i, tv)))
    return out


# ------------------------------------------------------------------------------- verify
@dataclass(slots=True)
class _Keys:
    """What a SCAN found of one symbol's keys: numbers by key kind, and the dedupe keys."""

    by_kind: dict[str, set[int]] = field(default_factory=dict)
    dedupe: list[str] = field(default_factory=list)

    def of(self, kind: str) -> set[int]:
        return self.by_kind.get(kind, set())


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _scan(store: Store, symbol: str) -> _Keys:
    found = _Keys()
    tag = store.key(symbol, "")
    for raw in store.client.scan_iter(match=_glob_escape(tag) + "*", count=1000):
        suffix = raw.decode()[len(tag):]
        kind, _, number = suffix.partition(":")
        if kind == "d" or (kind in ("d1", "d2", "d3") and number.isdigit()):
            found.dedupe.append(raw.decode())
        elif kind in ("ld", "lh", "ls", "lm", "D", "h", "s", "m") and number.isdigit():
            found.by_kind.setdefault(kind, set()).add(int(number))
    return found


def pruned_before(store: Store, symbol: str) -> int:
    """The first day of ``symbol`` that still has its log (0 = nothing pruned)."""
    raw = store.client.get(store.key(symbol, "pruned"))
    return int(raw) if raw else 0


def verify_symbol(store: Store, symbol: str, repair: bool = False) -> VerifyResult:
    """Recompute every rollup of ``symbol`` from its log; with ``repair``, rewrite the keys
    that differ (atomically, refused while an ingest of the symbol is storing events)."""
    if not repair:
        return _verify(store, symbol)[0]
    import redis

    total_key = store.key(symbol, "t")
    for _attempt in range(REPAIR_ATTEMPTS):
        with store.client.pipeline() as pipe:
            pipe.watch(total_key)
            result, fixes, indexes = _verify(store, symbol)
            if not fixes and not indexes:
                pipe.unwatch()
                return result
            pipe.multi()
            for key, cells in fixes.items():
                pipe.delete(key)
                if cells:
                    pipe.hset(key, mapping=_to_hash(
                        cells, None if key == total_key else _period_start(key)))
            for key, members in indexes.items():
                pipe.delete(key)
                if members:
                    pipe.zadd(key, {str(m): m for m in members})
            try:
                pipe.execute()
            except redis.WatchError:
                continue
        result.repaired = len(fixes) + len(indexes)
        return result
    raise StoreError(
        f"{symbol}: events were stored while repairing ({REPAIR_ATTEMPTS} attempts); "
        "run the repair again when no ingest of the symbol is running"
    )


def _verify(
    store: Store, symbol: str
) -> tuple[VerifyResult, dict[str, Cells], dict[str, set[int]]]:
    """The result, the rollup keys to rewrite (key → recomputed cells) and the indexes to
    rewrite (key → members)."""
    client = store.client
    result = VerifyResult(symbol)
    fixes: dict[str, Cells] = {}
    keys = _scan(store, symbol)
    marker = pruned_before(store, symbol)
    day_index = {int(raw) for raw in client.zrange(store.key(symbol, "days"), 0, -1)}
    hour_index = {int(raw) for raw in client.zrange(store.key(symbol, "hrs"), 0, -1)}
    minute_index = {int(raw) for raw in client.zrange(store.key(symbol, "mns"), 0, -1)}
    minutes = minute_index | keys.of("lm") | keys.of("m")
    minutes_of: dict[int, list[int]] = {}
    for minute in sorted(minutes):
        minutes_of.setdefault(minute // MINUTES_PER_SLOT, []).append(minute)
    slots = keys.of("ls") | keys.of("s") | set(minutes_of)
    hours = hour_index | keys.of("lh") | keys.of("h") | {s // SLOTS_PER_HOUR for s in slots}
    days = sorted(day_index | keys.of("ld") | keys.of("D")
                  | {h // HOURS_PER_DAY for h in hours})
    hours_of: dict[int, list[int]] = {}
    for hour in sorted(hours):
        hours_of.setdefault(hour // HOURS_PER_DAY, []).append(hour)
    total: Cells = {}
    days_with_events: set[int] = set()
    hours_with_rollups: set[int] = set()
    minutes_with_rollups: set[int] = set()

    def check(key: str, stored: Cells, truth: Cells) -> None:
        result.keys += 1
        found = _compare(symbol, key, stored, truth)
        if found:
            result.differences.extend(found)
            fixes[key] = truth

    for day in days:
        base = day * DAY_MS
        day_key = store.key(symbol, f"D:{day}")
        if day < marker:  # pruned: the day rollup is what is left; its hours keep theirs
            stored_day = _from_hash(client.hgetall(day_key), base)
            result.pruned_days += 1
            _add(total, stored_day)
            if stored_day:
                days_with_events.add(day)
            hours_with_rollups.update(h for h in hours_of.get(day, []) if h in hour_index)
            minutes_with_rollups.update(m for m in minute_index
                                        if m // (MINUTES_PER_SLOT * SLOTS_PER_HOUR
                                                 * HOURS_PER_DAY) == day)
            # events stored into a pruned day later (a replay: counted again, as documented)
            # have a log and fingerprints: count them for the dedupe check
            late = ([f"ld:{day}"] if day in keys.of("ld") else []) + [
                f"lh:{h}" for h in hours_of.get(day, []) if h in keys.of("lh")] + [
                f"ls:{s}" for s in slots if s // (SLOTS_PER_HOUR * HOURS_PER_DAY) == day
                and s in keys.of("ls")] + [
                f"lm:{m}" for m in minutes
                if m // (MINUTES_PER_SLOT * SLOTS_PER_HOUR * HOURS_PER_DAY) == day
                and m in keys.of("lm")]
            for suffix in late:
                result.events += _from_log(base, client.get(store.key(symbol, suffix)))[1]
            continue
        plan: list[tuple[str, str]] = [(f"ld:{day}", f"D:{day}")]
        for hour in hours_of.get(day, []):
            plan.append((f"lh:{hour}", f"h:{hour}"))
            for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR):
                if slot in slots:
                    plan.append((f"ls:{slot}", f"s:{slot}"))
                    plan += [(f"lm:{m}", f"m:{m}") for m in minutes_of.get(slot, [])]
        pipe = client.pipeline(transaction=False)
        for log, rollup in plan:
            pipe.get(store.key(symbol, log))
            pipe.hgetall(store.key(symbol, rollup))
        replies = pipe.execute()
        logged = {log: _from_log(base, replies[2 * i]) for i, (log, _) in enumerate(plan)}
        stored = {rollup: _from_hash(replies[2 * i + 1], _period_start(rollup))
                  for i, (_, rollup) in enumerate(plan)}
        day_truth: Cells = {}
        for cells, events in logged.values():
            result.events += events
            _add(day_truth, cells)
        for hour in hours_of.get(day, []):
            hour_truth: Cells = dict(
                (cell, list(v)) for cell, v in logged[f"lh:{hour}"][0].items())
            for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR):
                if slot in slots:
                    slot_truth: Cells = dict(
                        (cell, list(v)) for cell, v in logged[f"ls:{slot}"][0].items())
                    for minute in minutes_of.get(slot, []):
                        minute_truth = logged[f"lm:{minute}"][0]
                        check(store.key(symbol, f"m:{minute}"), stored[f"m:{minute}"],
                              minute_truth)
                        _add(slot_truth, minute_truth)
                        if minute_truth:
                            minutes_with_rollups.add(minute)
                    check(store.key(symbol, f"s:{slot}"), stored[f"s:{slot}"], slot_truth)
                    _add(hour_truth, slot_truth)
            check(store.key(symbol, f"h:{hour}"), stored[f"h:{hour}"], hour_truth)
            if hour_truth:
                hours_with_rollups.add(hour)
        check(day_key, stored[f"D:{day}"], day_truth)
        _add(total, day_truth)
        if day_truth:
            days_with_events.add(day)
    check(store.key(symbol, "t"), _from_hash(client.hgetall(store.key(symbol, "t")), None),
          total)
    indexes: dict[str, set[int]] = {}
    for name, have, want in (("days", day_index, days_with_events),
                             ("hrs", hour_index, hours_with_rollups),
                             ("mns", minute_index, minutes_with_rollups)):
        key = store.key(symbol, name)
        for member in sorted(have ^ want):
            result.differences.append(Difference(
                symbol, key, str(member), "member",
                "present" if member in have else "absent",
                "present" if member in want else "absent",
            ))
        if have != want:
            indexes[key] = want
    _check_dedupe(store, keys, result)
    return result, fixes, indexes


def _check_dedupe(store: Store, keys: _Keys, result: VerifyResult) -> None:
    """One fingerprint per logged event (overflow marks aside), key by key."""
    stored = 0
    for start in range(0, len(keys.dedupe), 256):
        pipe = store.client.pipeline(transaction=False)
        for key in keys.dedupe[start:start + 256]:
            pipe.get(key)
        for blob in pipe.execute():
            blob = blob or b""
            stored += sum(1 for i in range(0, len(blob), FP_BYTES)
                          if blob[i:i + FP_BYTES] != MARK)
    if stored != result.events:
        result.differences.append(Difference(
            result.symbol, store.key(result.symbol, "d*"), "", "fingerprints",
            str(stored), str(result.events),
        ))


# -------------------------------------------------------------------------------- prune
@dataclass(slots=True)
class PruneResult:
    symbol: str
    days: int = 0  # days whose log goes (went)
    events: int = 0
    bytes: int = 0  # memory of the hour/slot logs (MEMORY USAGE) and fingerprints (12 B each)
    pruned_before_ms: int | None = None  # every event before this has no log (after the run)

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "days": self.days, "events": self.events,
                "bytes": self.bytes, "pruned_before_ms": self.pruned_before_ms}


def prune_symbol(store: Store, symbol: str, keep_from_ms: int, apply: bool) -> PruneResult:
    """Drop (``apply``) or measure the logs and fingerprints of ``symbol``'s days that end at
    or before ``keep_from_ms`` (whole UTC days: the cut-off is rounded down); rollups stay."""
    client = store.client
    before_day = keep_from_ms // DAY_MS
    result = PruneResult(symbol)
    marker = pruned_before(store, symbol)
    days = [int(raw) for raw in client.zrangebyscore(
        store.key(symbol, "days"), marker, before_day - 1)]
    script = client.register_script(_script_source("prune.lua")) if apply else None
    for day in days:
        for _attempt in range(REPAIR_ATTEMPTS):
            events, freed, done = _prune_day(store, symbol, day, script)
            if done:
                break
        else:
            raise StoreError(f"{symbol}: events of the day starting at {day * DAY_MS} (epoch "
                             "ms) kept arriving while pruning it; run prune again later")
        result.days += 1
        result.events += events
        result.bytes += freed
    after = max(marker, days[-1] + 1) if days and apply else marker
    result.pruned_before_ms = after * DAY_MS if after else None
    return result


def _prune_day(store: Store, symbol: str, day: int, script: Any) -> tuple[int, int, bool]:
    """Prune (``script``) or measure (None) one day: (events, bytes, done)."""
    client = store.client
    _, t1, t2, t3 = DEDUPE_TIERS
    first_minute = day * HOURS_PER_DAY * SLOTS_PER_HOUR * MINUTES_PER_SLOT
    minute_range = (first_minute, first_minute + HOURS_PER_DAY * SLOTS_PER_HOUR
                    * MINUTES_PER_SLOT - 1)
    pipe = client.pipeline(transaction=False)
    pipe.zrangebyscore(
        store.key(symbol, "hrs"), day * HOURS_PER_DAY, (day + 1) * HOURS_PER_DAY - 1)
    pipe.zrangebyscore(store.key(symbol, "mns"), *minute_range)
    hours, minutes = ([int(raw) for raw in reply] for reply in pipe.execute())
    logs = [store.key(symbol, f"ld:{day}")]
    for hour in hours:
        logs.append(store.key(symbol, f"lh:{hour}"))
        logs += [store.key(symbol, f"ls:{slot}")
                 for slot in range(hour * SLOTS_PER_HOUR, (hour + 1) * SLOTS_PER_HOUR)]
    logs += [store.key(symbol, f"lm:{minute}") for minute in minutes]
    # the minute rollups go with the logs (hour and slot rollups stay, like the day's)
    minute_rollups = [store.key(symbol, f"m:{minute}") for minute in minutes]
    pipe = client.pipeline(transaction=False)
    for key in logs:
        pipe.get(key)
    for key in logs + minute_rollups:
        pipe.memory_usage(key, samples=0)
    replies = pipe.execute()
    blobs = replies[: len(logs)]
    drops: dict[str, list[bytes]] = {}  # dedupe key -> fingerprints that may be in it
    events = 0
    for blob in blobs:
        if not blob:
            continue
        for event in _decode_lines(symbol, day * DAY_MS, blob.decode().split("\n")):
            events += 1
            price, _, _, _ = amount_parts(event.price, "price")
            qty, _, _, _ = amount_parts(event.qty, "qty")
            usd, _, _, _ = amount_parts(event.usd, "usd", zero_ok=True)
            digest = fingerprint(event, price, qty, usd)
            h = (digest[0] << 8) | digest[1]
            for suffix in ("d", f"d1:{h % t1}", f"d2:{h % t2}", f"d3:{h % t3}"):
                drops.setdefault(store.key(symbol, suffix), []).append(digest[2:14])
    # the day log's text stays (as pl:<day>, for top and levels): not freed
    freed = sum(r or 0 for r in replies[len(logs) + 1:]) + FP_BYTES * events
    if script is None:
        return events, freed, True
    dedupe = sorted(drops)
    keys = [store.key(symbol, "pruned"), *logs, *dedupe, store.key(symbol, f"pl:{day}"),
            store.key(symbol, "mns"), *minute_rollups]
    done = script(keys=keys,
                  args=[day + 1, len(logs), len(dedupe), *minute_range,
                        *(len(b or b"") for b in blobs), *(b"".join(drops[k]) for k in dedupe)])
    return events, freed, bool(done)


def iter_symbols(store: Store, symbols: list[str] | None) -> Iterator[str]:
    yield from (symbols if symbols else store.symbols())
