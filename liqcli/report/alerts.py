"""Alert rules and the engine that evaluates them: pure (no I/O, no clock), exact (Decimal).

``liqcli alert`` (live), ``liqcli alert --replay`` and ``liqcli check`` feed events to the same
:class:`AlertEngine`, in order, and print the :class:`Firing` objects it returns; the rule
grammar and the meaning of each figure are in docs/alerts.md.

Semantics, all in EVENT time (never the wall clock), so a live run and a replay of the same
events fire the same alerts:

- ``single``: an event with ``usd ≥ X`` fires.
- ``sum``: the events of the trailing window ``(t - W, t]`` (``t`` the newest event time seen
  for that rule, symbol and group) sum to ``≥ Y`` USD.
- ``cascade``: ``≥ N`` events of one side in the trailing window (and, optionally, their USD
  ``≥ X``).
- ``spike``: the USD of the current minute ``≥ k ×`` the median USD per minute of the ``B``
  minutes before it (empty minutes count as 0), and ``≥ min_usd`` (and > 0).

``sum``, ``cascade`` and ``spike`` fire when their condition BECOMES true: at an event that makes
it true while it was false just before that event (the window's figures only shrink between
events, so "false at some moment since the previous event" is "false just before this one").
A condition that stays true fires once. ``cooldown`` additionally suppresses a firing of the
same rule, symbol and group less than that long (event time) after the previous one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from liqcli.errors import UsageError
from liqcli.model import AMOUNT_CONTEXT, EXCHANGE_RE, SIDES, Event, Side

KINDS = ("single", "sum", "cascade", "spike")
PER_CHOICES = ("exchange", "side")
MINUTE_MS = 60_000
DEFAULT_BASELINE_MS = 60 * MINUTE_MS
_ZERO = Decimal(0)
_TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule (docs/alerts.md). ``usd``: the event size (single), the sum (sum), the
    optional minimum total (cascade) or the minimum minute USD (spike); ``window_ms``: the
    trailing window (sum, cascade) or the baseline (spike); ``exchanges``/``side`` keep only
    those events; ``per`` splits the figures by exchange and/or side (cascade: always side)."""

    name: str
    kind: str
    usd: Decimal = _ZERO
    count: int = 0
    window_ms: int = 0
    factor: Decimal = _ZERO
    side: Side | None = None
    exchanges: tuple[str, ...] = ()
    per: tuple[str, ...] = ()
    cooldown_ms: int = 0

    def matches(self, event: Event) -> bool:
        return (self.side is None or event.side == self.side) and (
            not self.exchanges or event.exchange in self.exchanges
        )

    def group(self, event: Event) -> tuple[str | None, Side | None]:
        if self.kind == "single":
            return event.exchange, event.side
        return (
            event.exchange if "exchange" in self.per else None,
            event.side if "side" in self.per or self.kind == "cascade" else None,
        )

    @property
    def lookback_ms(self) -> int:
        """How much history before a start makes a replay's state equal a long live run's."""
        span = self.window_ms + MINUTE_MS if self.kind == "spike" else self.window_ms
        return span + self.cooldown_ms


@dataclass(frozen=True, slots=True)
class Firing:
    """One alert: the rule, where (symbol and, if the rule splits, exchange/side), the exact
    figures of the events it covers (their count, USD, base quantity, first and last event
    time), the event that fired it and, for ``spike``, the baseline median."""

    rule: Rule
    symbol: str
    exchange: str | None
    side: Side | None
    events: int
    usd: Decimal
    qty: Decimal
    first_ms: int
    last_ms: int
    trigger: Event
    median_usd: Decimal | None = None


@dataclass(slots=True)
class _Window:
    """The events of one rule, symbol and group inside the trailing window, with their sums."""

    events: deque[Event] = field(default_factory=deque)
    usd: Decimal = _ZERO
    qty: Decimal = _ZERO
    clock: int = -1  # the newest event time seen

    def expire(self, now: int, window_ms: int) -> None:
        while self.events and self.events[0].ts_ms <= now - window_ms:
            gone = self.events.popleft()
            self.usd = AMOUNT_CONTEXT.subtract(self.usd, gone.usd)
            self.qty = AMOUNT_CONTEXT.subtract(self.qty, gone.qty)

    def add(self, event: Event) -> None:
        self.events.append(event)
        self.usd = AMOUNT_CONTEXT.add(self.usd, event.usd)
        self.qty = AMOUNT_CONTEXT.add(self.qty, event.qty)


@dataclass(slots=True)
class _Minutes:
    """Per-minute USD of one rule, symbol and group: the current minute's events and the
    baseline minutes' sums."""

    usd: dict[int, Decimal] = field(default_factory=dict)
    current: list[Event] = field(default_factory=list)  # the events of the newest minute
    minute: int = -1
    clock: int = -1


class AlertEngine:
    """Feed events in order (:meth:`feed`); each call returns the firings that event caused.

    No I/O and no clock: the same events give the same firings, live or replayed."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._windows: dict[tuple[int, str, tuple[str | None, Side | None]], _Window] = {}
        self._minutes: dict[tuple[int, str, tuple[str | None, Side | None]], _Minutes] = {}
        self._fired: dict[tuple[int, str, tuple[str | None, Side | None]], int] = {}

    @property
    def lookback_ms(self) -> int:
        return max((rule.lookback_ms for rule in self.rules), default=0)

    def feed(self, event: Event) -> list[Firing]:
        out: list[Firing] = []
        for index, rule in enumerate(self.rules):
            if not rule.matches(event):
                continue
            group = rule.group(event)
            key = (index, event.symbol, group)
            if rule.kind == "single":
                firing = self._single(rule, event, group)
            elif rule.kind == "spike":
                firing = self._spike(rule, key, event, group)
            else:
                firing = self._window(rule, key, event, group)
            if firing is None:
                continue
            last = self._fired.get(key)
            now = max(event.ts_ms, firing.last_ms)
            if last is not None and rule.cooldown_ms and now - last < rule.cooldown_ms:
                continue
            self._fired[key] = now
            out.append(firing)
        return out

    def _single(
        self, rule: Rule, event: Event, group: tuple[str | None, Side | None]
    ) -> Firing | None:
        if event.usd < rule.usd:
            return None
        return Firing(rule, event.symbol, group[0], group[1], 1, event.usd, event.qty,
                      event.ts_ms, event.ts_ms, event)

    def _window(
        self, rule: Rule, key: tuple[int, str, tuple[str | None, Side | None]], event: Event,
        group: tuple[str | None, Side | None],
    ) -> Firing | None:
        state = self._windows.get(key)
        if state is None:
            state = self._windows[key] = _Window()
        state.clock = max(state.clock, event.ts_ms)
        state.expire(state.clock, rule.window_ms)
        was = _holds(rule, len(state.events), state.usd)
        state.add(event)
        if was or not _holds(rule, len(state.events), state.usd):
            return None
        return Firing(
            rule, event.symbol, group[0], group[1], len(state.events), state.usd, state.qty,
            min(e.ts_ms for e in state.events), max(e.ts_ms for e in state.events), event,
        )

    def _spike(
        self, rule: Rule, key: tuple[int, str, tuple[str | None, Side | None]], event: Event,
        group: tuple[str | None, Side | None],
    ) -> Firing | None:
        state = self._minutes.get(key)
        if state is None:
            state = self._minutes[key] = _Minutes()
        state.clock = max(state.clock, event.ts_ms)
        minute = state.clock // MINUTE_MS
        if minute != state.minute:
            state.minute, state.current = minute, []
            baseline = rule.window_ms // MINUTE_MS
            for old in [m for m in state.usd if m < minute - baseline]:
                del state.usd[old]
        median = minute_median(state.usd, minute, rule.window_ms // MINUTE_MS)
        before = state.usd.get(minute, _ZERO)
        after = AMOUNT_CONTEXT.add(before, event.usd)
        state.usd[minute] = after
        state.current.append(event)
        if _spiking(rule, before, median) or not _spiking(rule, after, median):
            return None
        qty = _ZERO
        for one in state.current:
            qty = AMOUNT_CONTEXT.add(qty, one.qty)
        times = [one.ts_ms for one in state.current]
        return Firing(rule, event.symbol, group[0], group[1], len(state.current), after, qty,
                      min(times), max(times), event, median_usd=median)


def _holds(rule: Rule, events: int, usd: Decimal) -> bool:
    if rule.kind == "sum":
        return events > 0 and usd >= rule.usd
    return events >= rule.count and usd >= rule.usd  # cascade


def _spiking(rule: Rule, usd: Decimal, median: Decimal) -> bool:
    return usd > 0 and usd >= rule.usd and usd >= AMOUNT_CONTEXT.multiply(rule.factor, median)


def minute_median(usd: Mapping[int, Decimal], minute: int, baseline: int) -> Decimal:
    """The median USD of the ``baseline`` minutes before ``minute`` (missing minutes are 0)."""
    values = sorted(usd.get(m, _ZERO) for m in range(minute - baseline, minute))
    if not values:
        return _ZERO
    mid = len(values) // 2
    if len(values) % 2:
        return values[mid]
    return AMOUNT_CONTEXT.divide(AMOUNT_CONTEXT.add(values[mid - 1], values[mid]), _TWO)


# ------------------------------------------------------------------------ rule grammar
_KEYS: dict[str, set[str]] = {
    "single": {"usd"},
    "sum": {"usd", "window", "side", "exchange", "per"},
    "cascade": {"count", "window", "usd", "side", "exchange", "per"},
    "spike": {"factor", "baseline", "min_usd", "side", "exchange", "per"},
}
_COMMON = {"name", "kind", "cooldown"}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "single": ("usd",),
    "sum": ("usd", "window"),
    "cascade": ("count", "window"),
    "spike": ("factor",),
}


def amount(value: Any, what: str, *, positive: bool = True) -> Decimal:
    """A rule's amount from an int, a decimal string or a TOML float (its shortest text)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UsageError(f"{what}: {value!r} is not a number")
    text = repr(value) if isinstance(value, float) else str(value).strip().replace("_", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{what}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise UsageError(f"{what}: {value!r} must be a {'positive' if positive else '≥ 0'} number")
    return number


def _duration(value: Any, what: str, *, zero_ok: bool = False) -> int:
    from liqcli.report.timeparse import parse_duration

    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UsageError(f"{what}: {value!r} is not a duration (e.g. \"30s\", \"5m\")")
    if isinstance(value, int):  # a bare number is seconds
        if value < 0 or (value == 0 and not zero_ok):
            raise UsageError(f"{what}: {value!r} must be positive")
        return value * 1000
    return parse_duration(value, option=what, zero_ok=zero_ok)


def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.replace("+", ",").split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise UsageError(f"{what}: {value!r} is not a name or a list of names")


def rule_from_mapping(spec: Mapping[str, Any], *, default_name: str, cooldown_ms: int = 0) -> Rule:
    """A :class:`Rule` from one ``[[rule]]`` table of a rules file (docs/alerts.md)."""
    kind = spec.get("kind")
    name = spec.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"rule {default_name}: name must be a non-empty string")
    where = f"rule {name!r}"
    if kind not in KINDS:
        raise UsageError(f"{where}: kind must be one of {', '.join(KINDS)} (got {kind!r})")
    unknown = set(spec) - _KEYS[kind] - _COMMON
    if unknown:
        raise UsageError(f"{where}: unknown key(s) for kind {kind!r}: {', '.join(sorted(unknown))}")
    missing = [k for k in _REQUIRED[kind] if k not in spec]
    if missing:
        raise UsageError(f"{where}: kind {kind!r} needs {', '.join(missing)}")
    side: Side | None = None
    if "side" in spec:
        text = str(spec["side"]).upper()
        if text not in SIDES:
            raise UsageError(f"{where}: side must be LONG or SHORT (got {spec['side']!r})")
        side = "LONG" if text == "LONG" else "SHORT"
    exchanges = tuple(sorted({n.lower() for n in _names(spec.get("exchange", []), where)}))
    for exchange in exchanges:
        if not EXCHANGE_RE.fullmatch(exchange):
            raise UsageError(f"{where}: not an exchange name: {exchange!r}")
    per = tuple(sorted(set(_names(spec.get("per", []), where))))
    if any(p not in PER_CHOICES for p in per):
        raise UsageError(f"{where}: per must list exchange and/or side (got {spec['per']!r})")
    count = 0
    if "count" in spec:
        count = spec["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise UsageError(f"{where}: count must be a whole number ≥ 1 (got {count!r})")
    if kind == "spike":
        window = _duration(spec.get("baseline", "60m"), f"{where} baseline")
        if window % MINUTE_MS or window < MINUTE_MS:
            raise UsageError(f"{where}: baseline must be whole minutes (e.g. 60m)")
        usd = amount(spec.get("min_usd", 0), f"{where} min_usd", positive=False)
    else:
        window = _duration(spec["window"], f"{where} window") if "window" in spec else 0
        usd = amount(spec.get("usd", 0), f"{where} usd", positive=kind != "cascade")
    factor = amount(spec["factor"], f"{where} factor") if "factor" in spec else _ZERO
    cooldown = cooldown_ms
    if "cooldown" in spec:
        cooldown = _duration(spec["cooldown"], f"{where} cooldown", zero_ok=True)
    return Rule(
        name=name.strip(), kind=kind, usd=usd, count=count, window_ms=window, factor=factor,
        side=side, exchanges=exchanges, per=per, cooldown_ms=cooldown,
    )


def parse_rules_toml(text: str, *, cooldown_ms: int | None = None) -> list[Rule]:
    """The rules of a rules file: optional top-level ``cooldown``, then ``[[rule]]`` tables.

    ``cooldown_ms`` (the command line's ``--cooldown``) overrides the file's default."""
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"rules file: {exc}") from None
    unknown = set(doc) - {"cooldown", "rule"}
    if unknown:
        raise UsageError(f"rules file: unknown top-level key(s): {', '.join(sorted(unknown))}")
    default = 0
    if "cooldown" in doc:
        default = _duration(doc["cooldown"], "rules file cooldown", zero_ok=True)
    if cooldown_ms is not None:
        default = cooldown_ms
    tables = doc.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UsageError("rules file: rules are [[rule]] tables")
    rules = [
        rule_from_mapping(table, default_name=f"rule{i + 1}", cooldown_ms=default)
        for i, table in enumerate(tables)
    ]
    _check_unique(rules)
    return rules


def rule_from_option(kind: str, spec: str, *, cooldown_ms: int = 0) -> Rule:
    """A rule from a command-line option (docs/alerts.md):

    ``--single USD``, ``--sum USD/WINDOW[/PER]``, ``--cascade N/WINDOW[/USD]``,
    ``--spike FACTOR[/BASELINE[/MIN_USD]]``; PER is ``side``, ``exchange`` or ``exchange+side``.
    """
    parts = [p.strip() for p in spec.split("/")]
    option = f"--{kind} {spec}"
    limits = {"single": (1, 1), "sum": (2, 3), "cascade": (2, 3), "spike": (1, 3)}[kind]
    if not limits[0] <= len(parts) <= limits[1] or not all(parts):
        forms = {
            "single": "USD", "sum": "USD/WINDOW[/PER]", "cascade": "N/WINDOW[/USD]",
            "spike": "FACTOR[/BASELINE[/MIN_USD]]",
        }
        raise UsageError(f"{option}: expected {forms[kind]}")
    mapping: dict[str, Any] = {"kind": kind, "name": f"{kind}:{spec}"}
    if kind == "single":
        mapping["usd"] = parts[0]
    elif kind == "sum":
        mapping.update(usd=parts[0], window=parts[1])
        if len(parts) == 3:
            mapping["per"] = parts[2]
    elif kind == "cascade":
        if not parts[0].isdigit():
            raise UsageError(f"{option}: N must be a whole number")
        mapping.update(count=int(parts[0]), window=parts[1])
        if len(parts) == 3:
            mapping["usd"] = parts[2]
    else:
        mapping["factor"] = parts[0]
        if len(parts) > 1:
            mapping["baseline"] = parts[1]
        if len(parts) > 2:
            mapping["min_usd"] = parts[2]
    return rule_from_mapping(mapping, default_name=mapping["name"], cooldown_ms=cooldown_ms)


def _check_unique(rules: Iterable[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise UsageError(f"two rules are named {rule.name!r}")
        seen.add(rule.name)


def check_rules(rules: Sequence[Rule]) -> None:
    """UsageError when there is no rule, or two share a name."""
    if not rules:
        raise UsageError("no alert rule: give --rules FILE or --single/--sum/--cascade/--spike")
    _check_unique(rules)


def seconds(ms: int) -> Decimal | int:
    """Milliseconds as seconds, exact (an int when whole)."""
    return ms // 1000 if ms % 1000 == 0 else Decimal(ms).scaleb(-3)


__all__ = [
    "KINDS", "AlertEngine", "Firing", "Rule", "amount", "check_rules", "minute_median",
    "parse_rules_toml", "rule_from_mapping", "rule_from_option", "seconds",
]
