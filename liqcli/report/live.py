"""The logic of ``liqcli watch``: snapshots, changes between refreshes, recent activity, and the
reconnect/backoff state machine. No Typer, no rich: the command draws what this module computes.

One refresh reads, per symbol shown, the cumulative rollup (``Store.rollup``, through
``liqcli.report.core.compute_stats``) and the last hour of the event log (``Store.events``), and
once the live collector's coverage records (its feed gaps inside the window, as ``summary`` lists
them), so its cost in Redis round trips depends on the symbols and the window, never on how
many events are stored (docs/watch.md has the exact count).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Protocol

from liqcli.model import AMOUNT_CONTEXT, SIDES, Event, Side
from liqcli.store.rollup import Rollup

if TYPE_CHECKING:
    from liqcli.report.stats import CumulativeStats

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
RECENT_MINUTES = 15  # "events and USD over the last 15 minutes"
SPARK_MINUTES = 60  # "USD per minute over the last hour"
MAX_BACKOFF_S = 30.0
LIQUIDATIONS_KEPT = 50  # individual events kept per refresh for the recent-liquidations pane
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
_ZERO = Decimal(0)


class LiveSource(Protocol):
    """What a refresh reads (``liqcli.store.Store`` is one)."""

    def rollup(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Rollup: ...

    def symbols(self) -> list[str]: ...

    def events(
        self, symbol: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> Iterator[Event]: ...

    def check_schema(self) -> None: ...


# ------------------------------------------------------------------ what to watch
@dataclass(frozen=True, slots=True)
class WatchQuery:
    """The report options of ``watch``; ``since``/``until`` stay text so that relative
    windows (``24h``) are resolved again at every refresh and slide with time."""

    symbols: tuple[str, ...] | None = None
    all_symbols: bool = False
    exchanges: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    windows: tuple[tuple[str, int], ...] = ()  # trailing windows (label, length ms) to add
    min_usd: Decimal = _ZERO  # recent liquidations below this USD are not listed

    def window(self, now_ms: int) -> tuple[int | None, int | None]:
        from liqcli.report.timeparse import parse_window

        return parse_window(self.since, self.until, now=now_ms)


# -------------------------------------------------------------------- snapshot
@dataclass(frozen=True, slots=True)
class Recent:
    """Activity of the last hour (within the window and exchange filter).

    ``usd_per_minute[i]`` is the USD of the wall-clock minute starting at
    ``start_ms + i * MINUTE_MS``; the last one is the current, partial, minute. Events stamped
    after ``now_ms`` (clock skew, up to an hour) count in the current minute.
    """

    now_ms: int
    start_ms: int
    events_15m: int
    usd_15m: Decimal
    usd_per_minute: tuple[Decimal, ...]
    events_per_minute: tuple[int, ...]

    @property
    def since_15m_ms(self) -> int:
        return self.now_ms - RECENT_MINUTES * MINUTE_MS


@dataclass(frozen=True, slots=True)
class Change:
    """Change of one row (a side or an exchange) since the previous refresh."""

    key: str
    events: int
    usd: Decimal


@dataclass(frozen=True, slots=True)
class Flow:
    """Events and USD that moved into or out of a sliding window between two refreshes."""

    events: int
    usd: Decimal


@dataclass(frozen=True, slots=True)
class Delta:
    """Change of the figures since the previous successful refresh (at ``previous_ms``).

    ``events``/``usd``/``sides``/``exchanges`` are the difference of the figures shown (net).
    When the window's start moved (a sliding window, ``--since 1h``), ``left`` holds what
    slid out of it (the events of [previous start, current start), read through the core) and
    ``entered`` what came in: net + left. For a fixed or all-time window both are None.
    """

    previous_ms: int
    current_ms: int
    events: int
    usd: Decimal
    qty: Decimal | None  # None when either report mixes base assets
    sides: tuple[Change, ...]  # LONG, SHORT
    exchanges: tuple[Change, ...]  # exchanges whose figures changed, by name
    new_exchanges: tuple[str, ...]
    new_symbols: tuple[str, ...]
    entered: Flow | None = None
    left: Flow | None = None

    @property
    def changed(self) -> bool:
        return bool(
            self.events or self.usd or self.exchanges or self.new_symbols
            or (self.left is not None and self.left.events)
        )

    @property
    def sliding(self) -> bool:
        return self.left is not None


@dataclass(frozen=True, slots=True)
class TrailingWindow:
    """The figures of the last ``length_ms`` before the refresh (``--windows 1h,24h``)."""

    label: str
    length_ms: int
    stats: CumulativeStats


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One successful refresh."""

    stats: CumulativeStats
    recent: Recent
    refreshed_ms: int
    delta: Delta | None  # None at the first refresh
    last_change: Delta | None = None  # the latest delta that changed something
    # the last individual events (of the last hour, within the window and filters, at least
    # ``min_usd``), newest first, at most LIQUIDATIONS_KEPT
    liquidations: tuple[Event, ...] = ()
    windows: tuple[TrailingWindow, ...] = ()

    @property
    def empty(self) -> bool:
        return self.stats.totals.events == 0


def read_snapshot(
    source: LiveSource, query: WatchQuery, now_ms: int, previous: Snapshot | None = None
) -> Snapshot:
    """Read the figures of ``query`` at ``now_ms``; ``previous`` gives the delta."""
    from liqcli.report.core import compute_stats

    since_ms, until_ms = query.window(now_ms)
    stats = compute_stats(
        source,
        list(query.symbols) if query.symbols else None,
        since_ms=since_ms,
        until_ms=until_ms,
        exchanges=query.exchanges,
        all_symbols=query.all_symbols,
        coverage=True,
        now_ms=now_ms,
    )
    events = read_recent_events(source, stats.symbols, now_ms, since_ms, until_ms)
    recent = bucket_recent(events, now_ms, stats.exchange_filter)
    delta = last_change = None
    if previous is not None:
        delta = compute_delta(previous.stats, stats, previous.refreshed_ms, now_ms)
        delta = with_flows(source, delta, previous.stats, stats)
        last_change = delta if delta.changed else previous.last_change
    windows = tuple(
        TrailingWindow(label, length, compute_stats(
            source, list(stats.symbols), since_ms=now_ms - length, until_ms=now_ms,
            exchanges=query.exchanges,
        ))
        for label, length in query.windows
        if stats.symbols
    )
    return Snapshot(
        stats=stats, recent=recent, refreshed_ms=now_ms, delta=delta, last_change=last_change,
        liquidations=latest_liquidations(events, stats.exchange_filter, query.min_usd),
        windows=windows,
    )


def with_flows(
    source: LiveSource, delta: Delta, before: CumulativeStats, after: CumulativeStats
) -> Delta:
    """``delta`` with ``left``/``entered`` when the window's start moved between the two
    refreshes: ``left`` is read through the core over [previous start, current start) (2 round
    trips per symbol), ``entered`` = net + left."""
    from dataclasses import replace

    from liqcli.report.core import compute_stats

    if before.since_ms is None or after.since_ms is None or after.since_ms <= before.since_ms:
        return delta
    if not before.symbols or before.totals.events == 0:
        gone = Flow(0, _ZERO)
    else:
        until = after.since_ms if before.until_ms is None else min(after.since_ms, before.until_ms)
        out = compute_stats(
            source, list(before.symbols), since_ms=before.since_ms, until_ms=until,
            exchanges=before.exchange_filter,
        )
        gone = Flow(out.totals.events, out.totals.usd)
    entered = Flow(delta.events + gone.events, AMOUNT_CONTEXT.add(delta.usd, gone.usd))
    return replace(delta, entered=entered, left=gone)


def latest_liquidations(
    events: list[Event], exchanges: tuple[str, ...] = (), min_usd: Decimal = _ZERO,
    limit: int = LIQUIDATIONS_KEPT,
) -> tuple[Event, ...]:
    """The newest ``limit`` events of ``events`` (newest first) of ``exchanges`` (all when
    empty) worth at least ``min_usd``."""
    kept = [
        e for e in events
        if (not exchanges or e.exchange in exchanges) and e.usd >= min_usd
    ]
    kept.sort(key=lambda e: (e.ts_ms, e.exchange, e.symbol), reverse=True)
    return tuple(kept[:limit])


def read_recent(
    source: LiveSource,
    symbols: tuple[str, ...],
    now_ms: int,
    since_ms: int | None = None,
    until_ms: int | None = None,
    exchanges: tuple[str, ...] = (),
) -> Recent:
    """Bucket the last hour of events of ``symbols`` per minute (bounded by hour streams)."""
    events = read_recent_events(source, symbols, now_ms, since_ms, until_ms)
    return bucket_recent(events, now_ms, exchanges)


def read_recent_events(
    source: LiveSource,
    symbols: tuple[str, ...],
    now_ms: int,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[Event]:
    """The events of the last hour of ``symbols`` inside the window (and up to an hour ahead,
    clock skew); at most three hour streams per symbol."""
    start_ms = (now_ms // MINUTE_MS - (SPARK_MINUTES - 1)) * MINUTE_MS
    lo = start_ms if since_ms is None else max(start_ms, since_ms)
    # Events stamped up to an hour ahead (clock skew) count in the current minute; later
    # ones are ignored here, so at most three hour streams are read per symbol.
    hi = now_ms + HOUR_MS if until_ms is None else min(until_ms, now_ms + HOUR_MS)
    events: list[Event] = []
    if lo < hi:
        for symbol in symbols:
            events.extend(source.events(symbol, since_ms=lo, until_ms=hi))
    return events


def bucket_recent(events: list[Event], now_ms: int, exchanges: tuple[str, ...] = ()) -> Recent:
    """Pure part of :func:`read_recent`: per-minute USD and events, and the last 15 minutes."""
    start_ms = (now_ms // MINUTE_MS - (SPARK_MINUTES - 1)) * MINUTE_MS
    recent_from = now_ms - RECENT_MINUTES * MINUTE_MS
    usd = [_ZERO] * SPARK_MINUTES
    counts = [0] * SPARK_MINUTES
    events_15m = 0
    usd_15m = _ZERO
    for event in events:
        if not start_ms <= event.ts_ms < now_ms + HOUR_MS:
            continue
        if exchanges and event.exchange not in exchanges:
            continue
        index = min((event.ts_ms - start_ms) // MINUTE_MS, SPARK_MINUTES - 1)
        usd[index] = AMOUNT_CONTEXT.add(usd[index], event.usd)
        counts[index] += 1
        if event.ts_ms >= recent_from:
            events_15m += 1
            usd_15m = AMOUNT_CONTEXT.add(usd_15m, event.usd)
    return Recent(
        now_ms=now_ms,
        start_ms=start_ms,
        events_15m=events_15m,
        usd_15m=usd_15m,
        usd_per_minute=tuple(usd),
        events_per_minute=tuple(counts),
    )


def compute_delta(
    before: CumulativeStats, after: CumulativeStats, previous_ms: int, current_ms: int
) -> Delta:
    """``after`` minus ``before``: totals, each side, each exchange that changed."""
    sub = AMOUNT_CONTEXT.subtract
    qty = None
    if before.totals.qty is not None and after.totals.qty is not None:
        qty = sub(after.totals.qty, before.totals.qty)
    sides = tuple(
        Change(
            side,
            after.side(side).events - before.side(side).events,
            sub(after.side(side).usd, before.side(side).usd),
        )
        for side in SIDES
    )
    old = {row.exchange: row for row in before.exchanges}
    new = {row.exchange: row for row in after.exchanges}
    exchanges = []
    for name in sorted(old.keys() | new.keys()):
        events_before, usd_before = (old[name].events, old[name].usd) if name in old else (0, _ZERO)
        events_after, usd_after = (new[name].events, new[name].usd) if name in new else (0, _ZERO)
        if events_after != events_before or usd_after != usd_before:
            exchanges.append(Change(name, events_after - events_before, sub(usd_after, usd_before)))
    return Delta(
        previous_ms=previous_ms,
        current_ms=current_ms,
        events=after.totals.events - before.totals.events,
        usd=sub(after.totals.usd, before.totals.usd),
        qty=qty,
        sides=sides,
        exchanges=tuple(exchanges),
        new_exchanges=tuple(sorted(new.keys() - old.keys())),
        new_symbols=tuple(s for s in after.symbols if s not in before.symbols),
    )


def side_change(delta: Delta, side: Side) -> Change:
    for change in delta.sides:
        if change.key == side:
            return change
    raise KeyError(side)  # pragma: no cover - sides always holds LONG and SHORT


def sparkline(values: tuple[Decimal, ...] | list[Decimal]) -> str:
    """One block character per value, scaled to the largest (a blank for zero)."""
    top = max(values, default=_ZERO)
    if top <= 0:
        return " " * len(values)
    steps = len(SPARK_LEVELS)
    chars = []
    for value in values:
        if value <= 0:
            chars.append(" ")
            continue
        level = int((value * steps / top).to_integral_value(rounding=ROUND_CEILING))
        chars.append(SPARK_LEVELS[min(max(level, 1), steps) - 1])
    return "".join(chars)


# ------------------------------------------------------------- reconnection
def is_transient(exc: BaseException) -> bool:
    """True for a store that went away (refused, reset, timed out, loading): worth retrying.

    Authentication failures, schema mismatches and bugs are not.
    """
    import redis.exceptions as rexc

    if isinstance(exc, rexc.AuthenticationError):
        return False
    return isinstance(exc, rexc.ConnectionError | rexc.TimeoutError | OSError)


class Backoff:
    """Delays between reconnection attempts: ``base``, 2·base, 4·base … capped at ``cap``."""

    def __init__(self, base: float, cap: float = MAX_BACKOFF_S) -> None:
        if base <= 0:
            raise ValueError("backoff base must be positive")
        self.base = base
        self.cap = max(cap, base)
        self.attempt = 0  # failed attempts in a row

    def failed(self) -> float:
        """Count one more failed attempt; the delay before the next one."""
        self.attempt += 1
        return min(self.base * 2.0 ** min(self.attempt - 1, 62), self.cap)

    def reset(self) -> None:
        self.attempt = 0


@dataclass(slots=True)
class Status:
    """What the dashboard shows after a refresh attempt."""

    snapshot: Snapshot | None = None  # the last successful refresh (None: never reached)
    stale: bool = False  # the last attempt failed: ``snapshot`` is older than the interval
    attempt: int = 0  # reconnection attempts in a row (0 while live)
    error: str | None = None  # one line, why the last attempt failed
    failed_ms: int | None = None  # when the store was first found gone (this outage)
    next_in: float = 0.0  # seconds until the next attempt
    refreshes: int = 0  # attempts so far, successful or not
    recovered: bool = False  # this attempt succeeded after failed ones


class LiveSession:
    """Refresh attempts paced by ``interval``; after a lost store, attempts back off
    (interval, 2×, 4× … up to 30 s) until it answers again. Each successful refresh keeps the
    previous snapshot to compute the change between them.

    ``clock`` is monotonic seconds (pacing), ``wall`` epoch milliseconds (figures).
    """

    def __init__(
        self,
        source: LiveSource,
        query: WatchQuery,
        interval: float,
        *,
        wall: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_backoff: float = MAX_BACKOFF_S,
        describe: Callable[[BaseException], str] | None = None,
    ) -> None:
        from liqcli.report.timeparse import now_ms

        self.source = source
        self.query = query
        self.interval = interval
        self.wall = wall or now_ms
        self.clock = clock
        self.backoff = Backoff(interval, max_backoff)
        self.describe = describe or describe_error
        self.status = Status()
        self._schema_checked = False
        self._next_at: float | None = None

    def due_in(self) -> float:
        """Seconds until the next attempt is due (0 for the first one)."""
        if self._next_at is None:
            return 0.0
        return max(0.0, self._next_at - self.clock())

    def refresh(self) -> Status:
        """One refresh attempt. Transient store failures are absorbed into the status; any
        other error (auth, schema, a bug) propagates."""
        started = self.clock()
        status = self.status
        status.refreshes += 1
        try:
            if not self._schema_checked:
                self.source.check_schema()
                self._schema_checked = True
            snapshot = read_snapshot(self.source, self.query, self.wall(), status.snapshot)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._schema_checked = False  # another server may answer next time
            delay = self.backoff.failed()
            status.stale = True
            status.attempt = self.backoff.attempt
            status.error = self.describe(exc)
            if status.failed_ms is None:
                status.failed_ms = self.wall()
            status.next_in = delay
            status.recovered = False
            self._next_at = started + delay
            return status
        status.recovered = status.stale
        status.snapshot = snapshot
        status.stale = False
        status.attempt = 0
        status.error = None
        status.failed_ms = None
        status.next_in = self.interval
        self.backoff.reset()
        self._next_at = started + self.interval
        return status


def describe_error(exc: BaseException, url: str | None = None) -> str:
    """The one-line status message of a failed refresh; ``url`` is the store's (default: the
    URL the environment gives, see ``connection.resolve_url``)."""
    from liqcli.store.connection import describe_redis_error, mask_secrets

    described = describe_redis_error(exc, url)
    if described is not None:
        return described
    text = mask_secrets(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
    return f"store unreachable: {text}"
