"""The alert rule engine: exact figures against a brute-force Decimal recomputation from the raw
events (hypothesis), the edge-trigger and cooldown semantics, and the rule grammar."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcli.errors import UsageError
from liqcli.model import Event, default_usd
from liqcli.report.alerts import (
    AlertEngine,
    Firing,
    Rule,
    minute_median,
    parse_rules_toml,
    rule_from_option,
)

T0 = 1_723_896_000_000  # 2024-08-17T12:00Z


def ev(ts: int, usd: str, side: str = "LONG", exchange: str = "binance",
       symbol: str = "BTCUSDT") -> Event:
    qty = Decimal(usd) / 100
    return Event(exchange, symbol, side, Decimal(100), qty, Decimal(usd), ts)  # type: ignore[arg-type]


def fired(rules: list[Rule], events: list[Event]) -> list[Firing]:
    engine = AlertEngine(rules)
    return [f for e in events for f in engine.feed(e)]


# ------------------------------------------------------------------ reference
def reference(rules: list[Rule], events: list[Event]) -> list[tuple[object, ...]]:
    """The documented semantics, recomputed from scratch for every event (O(n²), plain sums)."""
    out: list[tuple[object, ...]] = []
    last_fire: dict[tuple[object, ...], int] = {}
    for i, e in enumerate(events):
        seen = events[: i + 1]
        for index, rule in enumerate(rules):
            if not rule.matches(e):
                continue
            group = rule.group(e)
            peers = [x for x in seen if rule.matches(x) and x.symbol == e.symbol
                     and rule.group(x) == group]
            t = max(x.ts_ms for x in peers)
            result: tuple[object, ...] | None = None
            if rule.kind == "single":
                if e.usd >= rule.usd:
                    result = (1, e.usd, e.qty, e.ts_ms, e.ts_ms, None)
            elif rule.kind in ("sum", "cascade"):
                after = [x for x in peers if x.ts_ms > t - rule.window_ms]
                before = after[:-1]

                def holds(xs: list[Event], rule: Rule = rule) -> bool:
                    usd = sum((x.usd for x in xs), Decimal(0))
                    if rule.kind == "sum":
                        return bool(xs) and usd >= rule.usd
                    return len(xs) >= rule.count and usd >= rule.usd

                if holds(after) and not holds(before):
                    result = (len(after), sum((x.usd for x in after), Decimal(0)),
                              sum((x.qty for x in after), Decimal(0)),
                              min(x.ts_ms for x in after), max(x.ts_ms for x in after), None)
            else:  # spike
                minute = t // 60_000
                baseline = rule.window_ms // 60_000
                sums = {m: sum((x.usd for x in peers[:-1] if x.ts_ms // 60_000 == m),
                               Decimal(0)) for m in range(minute - baseline, minute + 1)}
                values = sorted(sums[m] for m in range(minute - baseline, minute))
                mid = len(values) // 2
                median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
                current = [x for x in peers if x.ts_ms // 60_000 == minute]

                def spiking(usd: Decimal, median: Decimal = median, rule: Rule = rule) -> bool:
                    return usd > 0 and usd >= rule.usd and usd >= rule.factor * median

                before_usd = sums[minute]
                after_usd = before_usd + e.usd
                if spiking(after_usd) and not spiking(before_usd):
                    result = (len(current), after_usd, sum((x.qty for x in current), Decimal(0)),
                              min(x.ts_ms for x in current), max(x.ts_ms for x in current),
                              median)
            if result is None:
                continue
            key = (index, e.symbol, group)
            now = max(e.ts_ms, int(result[4]))  # type: ignore[call-overload]
            if key in last_fire and rule.cooldown_ms and now - last_fire[key] < rule.cooldown_ms:
                continue
            last_fire[key] = now
            out.append((rule.name, e.symbol, group, *result))
    return out


def as_tuple(f: Firing) -> tuple[object, ...]:
    return (f.rule.name, f.symbol, (f.exchange, f.side), f.events, f.usd, f.qty, f.first_ms,
            f.last_ms, f.median_usd)


RULES = [
    Rule("big", "single", usd=Decimal("50000")),
    Rule("sum", "sum", usd=Decimal("120000.5"), window_ms=20_000),
    Rule("sum-per", "sum", usd=Decimal("60000"), window_ms=15_000, per=("exchange", "side"),
         cooldown_ms=30_000),
    Rule("short-bybit", "sum", usd=Decimal("40000"), window_ms=60_000, side="SHORT",
         exchanges=("bybit",)),
    Rule("cascade", "cascade", count=3, window_ms=10_000),
    Rule("cascade-usd", "cascade", count=2, window_ms=30_000, usd=Decimal("70000"),
         per=("exchange",), cooldown_ms=45_000),
    Rule("spike", "spike", factor=Decimal("2.5"), window_ms=3 * 60_000,
         usd=Decimal("1000")),
]

amounts = st.decimals(min_value=Decimal("0.000000000000000001"), max_value=Decimal("90000"),
                      places=18, allow_nan=False, allow_infinity=False)


@st.composite
def event_lists(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(1, 60))
    gap = st.one_of(st.integers(0, 9_000), st.sampled_from((0, 1, 5_000, 10_000, 15_000)))
    gaps = draw(st.lists(gap, min_size=n, max_size=n))
    events = []
    ts = T0
    for i, gap in enumerate(gaps):
        ts += gap
        price = draw(st.decimals(min_value=Decimal("0.5"), max_value=Decimal("70000"), places=4))
        qty = draw(amounts) / price if draw(st.booleans()) else draw(
            st.decimals(min_value=Decimal("0.001"), max_value=Decimal("2"), places=8))
        qty = qty.quantize(Decimal("1e-12")) or Decimal("1e-12")
        events.append(Event(
            exchange=draw(st.sampled_from(("binance", "bybit"))),
            symbol=draw(st.sampled_from(("BTCUSDT", "ETHUSDT"))),
            side=draw(st.sampled_from(("LONG", "SHORT"))),
            price=price, qty=qty, usd=default_usd(price, qty), ts_ms=ts, id=str(i),
        ))
    return events


@settings(max_examples=150, deadline=None)
@given(event_lists())
def test_firings_equal_a_decimal_recomputation_from_the_raw_events(events: list[Event]) -> None:
    got = [as_tuple(f) for f in fired(RULES, events)]
    assert got == reference(RULES, events)


def test_single_fires_on_each_big_event_and_cooldown_suppresses() -> None:
    rules = [Rule("big", "single", usd=Decimal(100), cooldown_ms=60_000)]
    events = [ev(T0, "100"), ev(T0 + 1000, "500"), ev(T0 + 61_000, "99.99"),
              ev(T0 + 61_000, "100")]
    got = fired(rules, events)
    assert [(f.trigger.ts_ms, f.usd) for f in got] == [(T0, Decimal(100)),
                                                      (T0 + 61_000, Decimal(100))]


def test_sum_fires_when_it_becomes_true_and_again_after_falling_back() -> None:
    rule = Rule("s", "sum", usd=Decimal(1000), window_ms=60_000)
    events = [ev(T0, "600"), ev(T0 + 10_000, "400"), ev(T0 + 20_000, "500"),
              ev(T0 + 100_000, "999.99"), ev(T0 + 100_001, "0.01")]
    got = fired([rule], events)
    assert [(f.events, f.usd, f.first_ms, f.last_ms) for f in got] == [
        (2, Decimal(1000), T0, T0 + 10_000),  # crossed at the second event
        (2, Decimal(1000), T0 + 100_000, T0 + 100_001),  # the window had emptied meanwhile
    ]


def test_cascade_counts_one_side_and_window_end_is_exclusive() -> None:
    rule = Rule("c", "cascade", count=3, window_ms=10_000)
    events = [ev(T0, "1"), ev(T0 + 1, "1", "SHORT"), ev(T0 + 5_000, "1"),
              ev(T0 + 10_000, "1"),  # T0 left the window (t - W is excluded)
              ev(T0 + 10_001, "1")]
    got = fired([rule], events)
    assert [(f.side, f.events, f.first_ms, f.last_ms) for f in got] == [
        ("LONG", 3, T0 + 5_000, T0 + 10_001)
    ]


def test_spike_against_the_median_minute() -> None:
    rule = Rule("k", "spike", factor=Decimal(3), window_ms=3 * 60_000)
    events = [ev(T0, "100"), ev(T0 + 60_000, "100"), ev(T0 + 120_000, "200"),
              ev(T0 + 180_000, "250"), ev(T0 + 180_500, "50")]
    got = fired([rule], events)
    # minute 3's baseline is 100, 100, 200: median 100; 250 < 300, 300 ≥ 300 fires
    assert [(f.usd, f.median_usd, f.events) for f in got][-1] == (Decimal(300), Decimal(100), 2)
    assert minute_median({0: Decimal(1), 1: Decimal(4)}, 2, 2) == Decimal("2.5")


def test_rules_file_grammar() -> None:
    rules = parse_rules_toml('''
cooldown = "5m"

[[rule]]
name = "whale"
kind = "single"
usd = 1_000_000

[[rule]]
name = "flush"
kind = "sum"
usd = "5000000.25"
window = "5m"
side = "long"
exchange = ["Binance", "bybit"]
per = ["exchange"]
cooldown = "10m"

[[rule]]
kind = "cascade"
count = 20
window = 30

[[rule]]
name = "spike"
kind = "spike"
factor = 4.5
baseline = "30m"
min_usd = 250000
''')
    whale, flush, cascade, spike = rules
    assert whale == Rule("whale", "single", usd=Decimal(1_000_000), cooldown_ms=300_000)
    assert flush.usd == Decimal("5000000.25") and flush.side == "LONG"
    assert flush.exchanges == ("binance", "bybit") and flush.per == ("exchange",)
    assert flush.cooldown_ms == 600_000 and flush.window_ms == 300_000
    assert cascade.name == "rule3" and cascade.count == 20 and cascade.window_ms == 30_000
    assert spike.factor == Decimal("4.5") and spike.window_ms == 1_800_000
    assert spike.usd == Decimal(250_000)
    assert parse_rules_toml(
        '[[rule]]\nkind="single"\nusd=1\n', cooldown_ms=7
    )[0].cooldown_ms == 7


@pytest.mark.parametrize("text", [
    '[[rule]]\nkind = "single"\n',  # no usd
    '[[rule]]\nkind = "sum"\nusd = 1\n',  # no window
    '[[rule]]\nkind = "single"\nusd = -1\n',
    '[[rule]]\nkind = "single"\nusd = "lots"\n',
    '[[rule]]\nkind = "single"\nusd = 1\nwindow = "5m"\n',  # unknown key for the kind
    '[[rule]]\nkind = "nope"\n',
    '[[rule]]\nkind = "sum"\nusd = 1\nwindow = "5 parsecs"\n',
    '[[rule]]\nkind = "sum"\nusd = 1\nwindow = "5m"\nside = "BUY"\n',
    '[[rule]]\nkind = "sum"\nusd = 1\nwindow = "5m"\nper = "symbol"\n',
    '[[rule]]\nkind = "cascade"\ncount = 0\nwindow = "5m"\n',
    '[[rule]]\nkind = "spike"\nfactor = 2\nbaseline = "90s"\n',
    '[[rule]]\nname = "a"\nkind = "single"\nusd = 1\n'
    '[[rule]]\nname = "a"\nkind = "single"\nusd = 2\n',
    'rule = 3\n',
    'colour = "red"\n',
    '[[rule\n',
])
def test_bad_rules_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_rules_toml(text)


def test_rules_from_options() -> None:
    assert rule_from_option("single", "1e6").usd == Decimal(1_000_000)
    summed = rule_from_option("sum", "5000000/5m/exchange+side", cooldown_ms=1000)
    assert (summed.usd, summed.window_ms, summed.per, summed.cooldown_ms) == (
        Decimal(5_000_000), 300_000, ("exchange", "side"), 1000)
    cascade = rule_from_option("cascade", "20/30s/100000")
    assert (cascade.count, cascade.window_ms, cascade.usd) == (20, 30_000, Decimal(100_000))
    spike = rule_from_option("spike", "5/60m/100000")
    assert (spike.factor, spike.window_ms, spike.usd) == (Decimal(5), 3_600_000, Decimal(100_000))
    assert rule_from_option("spike", "3").window_ms == 3_600_000
    for kind, spec in (("sum", "5"), ("cascade", "x/5m"), ("single", "1/2"), ("spike", "")):
        with pytest.raises(UsageError):
            rule_from_option(kind, spec)


def test_docs_list_exactly_the_schema_fields() -> None:
    import json
    from pathlib import Path

    from test_formatters import field_tables

    root = Path(__file__).resolve().parent.parent
    tables = field_tables(root / "docs" / "alerts.md")
    tail = json.loads((root / "liqcli" / "schemas" / "tail.json").read_text())
    alert = json.loads((root / "liqcli" / "schemas" / "alert.json").read_text())
    assert set(tail["properties"]) == tables["tail"]
    assert set(alert["properties"]) == tables["alert"]
    assert set(alert["properties"]["threshold"]["properties"]) == tables["alert-threshold"]
    assert alert["$defs"]["event"]["properties"] == tail["properties"]
