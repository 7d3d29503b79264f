"""The aggregation core against a real store, checked by an independent Decimal recomputation.

The helpers at the top (``make_events``, ``Expected``, ``check_document``) are reused by the
formatter, CLI and library tests.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcli.errors import UsageError
from liqcli.model import Event, split_symbol
from liqcli.report.core import compute_stats, stats_from_rollups
from liqcli.report.timeparse import iso_utc, parse_instant, parse_window
from liqcli.store.rollup import Cell, Rollup
from liqcli.store.store import Store

HOUR = 3_600_000
T0 = 1_723_896_000_000  # 2024-08-17T12:00:00Z, an hour boundary
SYMBOLS = ("BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "BTCUSDC")
EXCHANGES = ("binance", "bybit", "okx", "hyperliquid")
Q8 = Decimal("1e-8")


# ------------------------------------------------------------------ helpers
def make_events(
    n: int = 400, seed: int = 7, symbols: Sequence[str] = SYMBOLS,
    exchanges: Sequence[str] = EXCHANGES, span_hours: int = 10, start: int = T0,
) -> list[Event]:
    """Random events with exact decimal prices and quantities over ``span_hours``."""
    rng = random.Random(seed)
    events = []
    for index in range(n):
        price = Decimal(rng.randint(1, 10**7)).scaleb(-rng.randint(0, 4))
        qty = Decimal(rng.randint(1, 10**6)).scaleb(-rng.randint(0, 8))
        with localcontext() as ctx:
            ctx.prec = 60
            usd = price * qty
        events.append(Event(
            exchange=rng.choice(exchanges), symbol=rng.choice(symbols),
            side=rng.choice(("LONG", "SHORT")), price=price, qty=qty, usd=usd,
            ts_ms=start + rng.randint(0, span_hours * HOUR - 1), id=f"e{index}",
        ))
    return events


@dataclass
class Acc:
    events: int = 0
    usd: Decimal = Decimal(0)
    qty: dict[str, Decimal] = field(default_factory=dict)
    first: int | None = None
    last: int | None = None

    def add(self, e: Event) -> None:
        self.events += 1
        self.usd += e.usd
        base = split_symbol(e.symbol)[0]
        self.qty[base] = self.qty.get(base, Decimal(0)) + e.qty
        self.first = e.ts_ms if self.first is None else min(self.first, e.ts_ms)
        self.last = e.ts_ms if self.last is None else max(self.last, e.ts_ms)

    def single_qty(self, bases: Sequence[str]) -> Decimal | None:
        return self.qty.get(bases[0], Decimal(0)) if len(bases) == 1 else None


class Expected:
    """Figures recomputed from the events themselves (no store, no core)."""

    def __init__(self, events: Iterable[Event], symbols: Sequence[str],
                 since: int | None = None, until: int | None = None,
                 exchanges: Iterable[str] = ()) -> None:
        wanted = {e.lower() for e in exchanges}
        self.since, self.until = since, until
        self.bases = sorted({split_symbol(s)[0] for s in symbols})
        self.total = Acc()
        self.sides = {"LONG": Acc(), "SHORT": Acc()}
        self.exchanges: dict[str, Acc] = {}
        self.cells: dict[tuple[str, str], Acc] = {}
        with localcontext() as ctx:
            ctx.prec = 80
            for e in events:
                if e.symbol not in symbols or (wanted and e.exchange not in wanted):
                    continue
                if (since is not None and e.ts_ms < since) or (
                        until is not None and e.ts_ms >= until):
                    continue
                self.total.add(e)
                self.sides[e.side].add(e)
                self.exchanges.setdefault(e.exchange, Acc()).add(e)
                self.cells.setdefault((e.exchange, e.side), Acc()).add(e)

    @property
    def qty(self) -> Decimal | None:
        return self.total.single_qty(self.bases)

    def pct(self, part: Decimal | int, whole: Decimal | int) -> Decimal | None:
        if not whole:
            return None
        with localcontext() as ctx:
            ctx.prec = 80
            return (Decimal(part) * 100 / Decimal(whole)).quantize(Q8)

    def ratio(self, a: Decimal | int | None, b: Decimal | int | None) -> Decimal | None:
        if a is None or not b:
            return None
        with localcontext() as ctx:
            ctx.prec = 80
            return (Decimal(a) / Decimal(b)).quantize(Q8)

    @property
    def duration(self) -> Decimal | None:
        if self.total.first is None or self.total.last is None:
            return None
        return self.ratio(self.total.last - self.total.first, HOUR)

    @property
    def open_window(self) -> bool:
        """A window without an end: its rate's span ends at the report's "now"."""
        return self.since is not None and self.until is None

    @property
    def span(self) -> int | None:
        """The rate's span in ms (issue #10.2): the window, clipped to now; all time, first to
        last event but at least an hour. None for an open window (ends at the report's now)."""
        if self.since is None and self.until is None:
            if self.total.first is None or self.total.last is None:
                return None
            return max(self.total.last - self.total.first, HOUR)
        if self.until is None:
            return None
        start = self.since if self.since is not None else self.total.first
        end = min(self.until, int(time.time() * 1000))
        return None if start is None or end <= start else end - start

    @property
    def rate(self) -> Decimal | None:
        """Events per hour over the exact span in milliseconds."""
        span = self.span
        return None if span is None else self.ratio(self.total.events * HOUR, span)

    def figures(self, acc: Acc) -> dict[str, Any]:
        qty = acc.single_qty(self.bases)
        return {
            "events": acc.events, "usd": acc.usd, "qty": qty,
            "events_pct": self.pct(acc.events, self.total.events),
            "usd_pct": self.pct(acc.usd, self.total.usd),
            "qty_pct": None if qty is None or self.qty is None else self.pct(qty, self.qty),
        }


def check_document(doc: dict[str, Any], exp: Expected, sections: Sequence[str]) -> None:
    """A JSON report document (parsed with parse_float=Decimal) equals the recomputation."""
    def iso(ms: int | None) -> str | None:
        return None if ms is None else iso_utc(ms)

    assert doc["first_event"] == iso(exp.total.first)
    assert doc["last_event"] == iso(exp.total.last)
    assert doc["duration_hours"] == exp.duration
    if "totals" in sections:
        t = doc["totals"]
        assert (t["events"], t["usd"], t["qty"]) == (exp.total.events, exp.total.usd, exp.qty)
        assert t["avg_usd"] == exp.ratio(exp.total.usd, exp.total.events)
        assert t["avg_qty"] == exp.ratio(exp.qty, exp.total.events)
        if exp.open_window:  # the span ends at the report's "now": a few seconds ago
            assert exp.since is not None
            hours = Decimal(int(time.time() * 1000) - exp.since) / HOUR
            assert abs(t["rate_hours"] - hours) < Decimal("0.02")
            assert abs(t["events_per_hour"] * t["rate_hours"] - exp.total.events) < 1
        else:
            assert t["events_per_hour"] == exp.rate  # from the exact span, not rounded hours
            assert t["rate_hours"] == (None if exp.span is None else exp.ratio(exp.span, HOUR))
    if "sides" in sections:
        got = {row.pop("side"): row for row in doc["sides"]}
        got = {k: {f: v for f, v in row.items() if f != "qty_by_base"} for k, row in got.items()}
        assert got == {side: exp.figures(acc) for side, acc in exp.sides.items()}
    if "exchanges" in sections:
        rows = doc["exchanges"]
        assert [r["exchange"] for r in rows] == sorted(exp.exchanges)
        for row in rows:
            name = row["exchange"]
            want = exp.figures(exp.exchanges[name])
            assert {f: row[f] for f in want} == want, name
    if "matrix" in sections:
        rows = doc["matrix"]
        assert [(r["exchange"], r["side"]) for r in rows] == [
            (name, side) for name in sorted(exp.exchanges) for side in ("LONG", "SHORT")
        ]
        for row in rows:
            acc = exp.cells.get((row["exchange"], row["side"]), Acc())
            assert (row["events"], row["usd"], row["qty"]) == (
                acc.events, acc.usd, acc.single_qty(exp.bases))


@pytest.fixture()
def store(redis_url: str) -> Store:
    return Store(redis.Redis.from_url(redis_url))


@pytest.fixture()
def events() -> list[Event]:
    return make_events()


def document_of(stats: Any, command: str = "summary") -> dict[str, Any]:
    import json

    from liqcli.formatters._document import document, dumps

    return json.loads(dumps(document(stats, command)), parse_float=Decimal)  # type: ignore[no-any-return]


ALL = ("totals", "sides", "exchanges", "matrix")
WINDOWS = [
    (None, None),
    (T0 + 17 * 60_000 + 123, None),  # cuts the first hour
    (None, T0 + 5 * HOUR + 1),  # ends 1 ms into an hour
    (T0 + 2 * HOUR + 59 * 60_000, T0 + 7 * HOUR + 30_001),  # both edges inside hours
    (T0 + 3 * HOUR, T0 + 6 * HOUR),  # whole hours only
    (T0 + 20 * HOUR, T0 + 21 * HOUR),  # no events
]


# -------------------------------------------------------------------- tests
@pytest.mark.parametrize(("since", "until"), WINDOWS)
@pytest.mark.parametrize("symbol", ["BTCUSDT", "1000PEPEUSDT"])
def test_single_symbol_matches_recomputation(
    store: Store, events: list[Event], symbol: str, since: int | None, until: int | None
) -> None:
    store.ingest(events)
    stats = compute_stats(store, symbol, since_ms=since, until_ms=until)
    assert not stats.multi and stats.symbol == symbol
    check_document(document_of(stats), Expected(events, [symbol], since, until), ALL)


@pytest.mark.parametrize("exchanges", [["binance"], ["OKX", "bybit"], ["nowhere"]])
def test_exchange_filter(store: Store, events: list[Event], exchanges: list[str]) -> None:
    store.ingest(events)
    since, until = WINDOWS[3]
    stats = compute_stats(store, "ETHUSDT", since_ms=since, until_ms=until, exchanges=exchanges)
    assert stats.exchange_filter == tuple(sorted(e.lower() for e in exchanges))
    check_document(document_of(stats), Expected(events, ["ETHUSDT"], since, until, exchanges), ALL)


def test_multi_symbol_sums_events_and_usd_but_never_mixes_bases(
    store: Store, events: list[Event]
) -> None:
    store.ingest(events)
    stats = compute_stats(store, ["BTCUSDT", "ethusdt"], since_ms=WINDOWS[1][0])
    exp = Expected(events, ["BTCUSDT", "ETHUSDT"], WINDOWS[1][0])
    assert stats.multi and stats.symbols == ("BTCUSDT", "ETHUSDT")
    assert stats.base is None and stats.quote == "USDT"
    assert stats.totals.qty is None and stats.totals.avg_qty is None
    assert dict(stats.totals.qty_by_base) == exp.total.qty
    assert all(row.qty is None and row.qty_pct is None for row in stats.sides)
    for side in ("LONG", "SHORT"):
        assert dict(stats.side(side).qty_by_base) == {  # type: ignore[arg-type]
            b: exp.sides[side].qty.get(b, Decimal(0)) for b in exp.bases}
    check_document(document_of(stats), exp, ALL)
    assert [one.symbol for one in stats.per_symbol] == ["BTCUSDT", "ETHUSDT"]
    for one in stats.per_symbol:
        assert one.symbol is not None
        check_document(document_of(one), Expected(events, [one.symbol], WINDOWS[1][0]), ALL)


def test_symbols_sharing_a_base_sum_their_quantity(store: Store, events: list[Event]) -> None:
    store.ingest(events)
    stats = compute_stats(store, ["BTCUSDT", "BTCUSDC"])
    exp = Expected(events, ["BTCUSDT", "BTCUSDC"])
    assert stats.base == "BTC" and stats.quote is None
    assert stats.totals.qty == exp.qty is not None
    check_document(document_of(stats), exp, ALL)


def test_all_symbols_discovers_every_symbol(store: Store, events: list[Event]) -> None:
    store.ingest(events)
    stats = compute_stats(store, all_symbols=True)
    assert stats.symbols == tuple(sorted(SYMBOLS)) and stats.multi
    exp = Expected(events, SYMBOLS)
    assert (stats.totals.events, stats.totals.usd) == (exp.total.events, exp.total.usd)
    assert {r.exchange for r in stats.exchanges} == set(EXCHANGES)


def test_empty_store_gives_zeros_and_nulls(store: Store) -> None:
    stats = compute_stats(store, "BTCUSDT")
    assert stats.totals.events == 0 and stats.totals.usd == 0 and stats.totals.qty == 0
    assert stats.totals.avg_usd is None and stats.totals.events_per_hour is None
    assert stats.first_ms is None and stats.duration_hours is None
    assert [(s.side, s.events, s.events_pct) for s in stats.sides] == [
        ("LONG", 0, None), ("SHORT", 0, None)]
    assert stats.exchanges == () and stats.matrix == ()
    everything = compute_stats(store, all_symbols=True)
    assert everything.symbols == () and everything.totals.events == 0


def test_empty_window_gives_zeros(store: Store, events: list[Event]) -> None:
    store.ingest(events)
    stats = compute_stats(store, "BTCUSDT", since_ms=T0 + 50 * HOUR)
    assert stats.totals.events == 0 and stats.exchanges == ()
    assert stats.since_ms == T0 + 50 * HOUR


def test_single_event_has_zero_duration_and_a_rate_over_one_hour() -> None:
    rollup = Rollup("SOLUSDT")
    rollup.cell("okx", "SHORT").add(1, Decimal("3"), Decimal("600"), T0, T0)
    stats = stats_from_rollups([rollup])
    assert stats.duration_hours == 0 and stats.totals.events_per_hour == 1
    assert stats.totals.rate_hours == 1
    assert stats.totals.avg_usd == Decimal(600) and stats.side("SHORT").events_pct == 100


def test_events_per_hour_comes_from_the_exact_span() -> None:
    rollup = Rollup("SOLUSDT")
    rollup.cell("okx", "LONG").add(7, Decimal("3"), Decimal("600"), T0, T0 + 3 * HOUR + 1)
    stats = stats_from_rollups([rollup])
    # 7 events in 3 h 1 ms: from the exact milliseconds, not the rounded hours
    assert stats.totals.events_per_hour == (Decimal(7 * HOUR) / (3 * HOUR + 1)).quantize(Q8)


def test_events_per_hour_is_over_a_stated_span_never_a_burst() -> None:
    """Issue #10.2: two events a second apart, then `totals --since 24h` said 7,200 / hour."""
    rollup = Rollup("SOLUSDT")
    rollup.cell("okx", "LONG").add(2, Decimal("3"), Decimal("600"), T0, T0 + 1000)
    all_time = stats_from_rollups([rollup])
    assert (all_time.totals.events_per_hour, all_time.totals.rate_hours) == (2, 1)
    now = T0 + 5000
    window = stats_from_rollups([rollup], since_ms=now - 24 * HOUR, now_ms=now)
    assert window.totals.rate_hours == 24  # the window, its open end clipped to now
    assert window.totals.events_per_hour == Decimal("0.08333333")
    future_end = stats_from_rollups([rollup], since_ms=T0 - HOUR, until_ms=T0 + 9 * HOUR,
                                    now_ms=T0 + HOUR)
    assert future_end.totals.rate_hours == 2
    short = stats_from_rollups([rollup], since_ms=T0, until_ms=T0 + 60_000, now_ms=now + HOUR)
    assert short.totals.rate_hours == Decimal("0.01666667")  # a stated window may be short
    assert short.totals.events_per_hour == 120
    empty = stats_from_rollups([Rollup("SOLUSDT")], since_ms=T0, until_ms=T0 + HOUR,
                               now_ms=now + HOUR)
    assert (empty.totals.events_per_hour, empty.totals.rate_hours) == (0, 1)
    assert stats_from_rollups([Rollup("SOLUSDT")]).totals.events_per_hour is None


def test_derived_figures_print_in_plain_notation() -> None:
    rollup = Rollup("BTCUSDT")
    rollup.cell("okx", "SHORT").add(1, Decimal("0.00000028"), Decimal("0.0168"), T0, T0 + 1)
    rollup.cell("okx", "LONG").add(399_999_999, Decimal("1"), Decimal("60000"), T0, T0 + 2)
    stats = stats_from_rollups([rollup])
    short = stats.side("SHORT")
    with localcontext() as ctx:
        ctx.prec = 80
        want_pct = (Decimal(100) / 400_000_000).quantize(Q8)  # 0.00000025
        want_qty_pct = (Decimal("0.00000028") * 100 / Decimal("1.00000028")).quantize(Q8)
    assert short.events_pct == want_pct and short.qty_pct == want_qty_pct
    single = stats_from_rollups([_one_event_rollup(Decimal("0.00000028"))])
    assert single.totals.avg_qty == Decimal("2.8E-7")
    for value in (short.events_pct, short.qty_pct, single.totals.avg_qty, single.duration_hours):
        assert value is not None
        assert "E" not in str(value) and "E" not in repr(value), repr(value)
        assert str(value) == format(value, "f").rstrip("0").rstrip(".")
    assert repr(single.totals.avg_qty) == "Decimal('0.00000028')"


def _one_event_rollup(qty: Decimal) -> Rollup:
    rollup = Rollup("BTCUSDT")
    rollup.cell("okx", "LONG").add(1, qty, qty * 60_000, T0, T0 + 1)
    return rollup


@pytest.mark.parametrize("symbols", [
    "", "btc usdt", "A*", ["BTCUSDT", ""], ["ETHUSDT,"], "BTC/USDT", "X" * 41,
])
def test_bad_symbols_are_usage_errors_before_any_store_access(symbols: Any) -> None:
    unreachable = Store(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1))
    with pytest.raises(UsageError, match="not a symbol"):
        compute_stats(unreachable, symbols)


@pytest.mark.parametrize("exchanges", [[""], ["bin ance"], ["okx", "b*"], ["x" * 33]])
def test_bad_exchanges_are_usage_errors_before_any_store_access(exchanges: list[str]) -> None:
    unreachable = Store(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1))
    for all_symbols in (False, True):
        with pytest.raises(UsageError, match="not an exchange name"):
            compute_stats(unreachable, "BTCUSDT", exchanges=exchanges, all_symbols=all_symbols)


def test_commas_separate_symbols_and_exchanges(store: Store, events: list[Event]) -> None:
    store.ingest(events)
    stats = compute_stats(store, "btcusdt, ETHUSDT", exchanges=["okx,BINANCE"])
    assert stats.multi and stats.symbols == ("BTCUSDT", "ETHUSDT")
    assert stats.exchange_filter == ("binance", "okx")
    exp = Expected(events, ["BTCUSDT", "ETHUSDT"], exchanges=["okx", "binance"])
    assert (stats.totals.events, stats.totals.usd) == (exp.total.events, exp.total.usd)
    assert dict(stats.totals.qty_by_base) == exp.total.qty
    assert [one.symbols for one in stats.per_symbol] == [("BTCUSDT",), ("ETHUSDT",)]


def test_a_list_of_one_symbol_is_a_one_symbol_report(store: Store, events: list[Event]) -> None:
    store.ingest(events)
    listed, plain = compute_stats(store, ["ETHUSDT"]), compute_stats(store, "ETHUSDT")
    assert not listed.multi and listed.per_symbol == () and listed == plain
    assert compute_stats(store, ["ETHUSDT", "ethusdt"]) == plain  # duplicates dropped


# ------------------------------------------------ the fold against a plain one
def reference_stats(
    rollups: Sequence[Rollup], since: int | None, until: int | None, now: int,
    wanted: Sequence[str], multi: bool,
) -> Any:
    """The report as the core first built it: every cell added into per-symbol and combined
    accumulators, quantities by base asset, each figure a Decimal sum from Decimal(0) in a
    100-digit context. The core's fold must give the same report, digit for digit (repr)."""
    from liqcli.report import core
    from liqcli.report.stats import (
        CumulativeStats,
        ExchangeFigures,
        MatrixCell,
        SideFigures,
        Totals,
    )

    def build(group: Sequence[Rollup], is_multi: bool) -> CumulativeStats:
        symbols = tuple(r.symbol for r in group)
        pairs = [split_symbol(name) for name in symbols]
        bases = sorted({b for b, _ in pairs})
        quotes = sorted({q for _, q in pairs})
        accs: dict[Any, list[Any]] = {}

        def acc(key: Any) -> list[Any]:
            return accs.setdefault(key, [0, Decimal(0), {}, None, None])

        for rollup, (base, _) in zip(group, pairs, strict=True):
            for (exchange, side), cell in rollup.cells.items():
                if cell.events == 0 or (wanted and exchange not in wanted):
                    continue
                for key in ("total", side, ("x", exchange), (exchange, side)):
                    a = acc(key)
                    a[0] += cell.events
                    a[1] += cell.usd
                    a[2][base] = a[2].get(base, Decimal(0)) + cell.qty
                    if cell.first_ms is not None and (a[3] is None or cell.first_ms < a[3]):
                        a[3] = cell.first_ms
                    if cell.last_ms is not None and (a[4] is None or cell.last_ms > a[4]):
                        a[4] = cell.last_ms
        total = acc("total")

        def qty(a: list[Any]) -> Decimal | None:
            return a[2].get(bases[0], Decimal(0)) if len(bases) == 1 else None

        def pct(part: Decimal, whole: Decimal) -> Decimal | None:
            return None if not whole else core.tidy(part * 100 / whole)

        def ratio(a: Decimal, b: Decimal) -> Decimal | None:
            return None if not b else core.tidy(a / b)

        def shares(a: list[Any]) -> tuple[Any, ...]:
            q, tq = qty(a), qty(total)
            return (a[0], a[1], q, {b: a[2].get(b, Decimal(0)) for b in bases},
                    pct(Decimal(a[0]), Decimal(total[0])), pct(a[1], total[1]),
                    None if q is None or tq is None else pct(q, tq))

        names = sorted(k[1] for k in accs if isinstance(k, tuple) and k[0] == "x")
        span = core.rate_span_ms(since, until, now, total[3], total[4])
        tq = qty(total)
        return CumulativeStats(
            symbols=symbols, base=bases[0] if len(bases) == 1 else None,
            quote=quotes[0] if len(quotes) == 1 else None, since_ms=since, until_ms=until,
            exchange_filter=tuple(wanted), first_ms=total[3], last_ms=total[4],
            duration_hours=None if total[3] is None or total[4] is None
            else core.tidy(Decimal(total[4] - total[3]) / core.HOUR_MS),
            totals=Totals(
                events=total[0], usd=total[1], qty=tq,
                qty_by_base={b: total[2].get(b, Decimal(0)) for b in bases},
                avg_usd=ratio(total[1], Decimal(total[0])),
                avg_qty=None if tq is None else ratio(tq, Decimal(total[0])),
                events_per_hour=None if span is None
                else ratio(Decimal(total[0] * core.HOUR_MS), Decimal(span)),
                rate_hours=None if span is None else core.tidy(Decimal(span) / core.HOUR_MS),
            ),
            sides=tuple(SideFigures(*shares(acc(side)), side=side) for side in ("LONG", "SHORT")),
            exchanges=tuple(ExchangeFigures(*shares(acc(("x", n))), exchange=n) for n in names),
            matrix=tuple(
                MatrixCell(n, side, a[0], a[1], qty(a), {b: a[2].get(b, Decimal(0)) for b in bases})
                for n in names for side in ("LONG", "SHORT") for a in (acc((n, side)),)
            ),
            multi=is_multi,
        )

    with localcontext() as ctx:
        ctx.prec = 100
        if not multi:
            return build(rollups[:1], False)
        per_symbol = tuple(build([r], False) for r in rollups)
        combined = build(rollups, True)
        from dataclasses import replace

        return replace(combined, per_symbol=per_symbol)


AMOUNTS = st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent),
    st.integers(0, 10**30), st.integers(-20, 4),
)
CELLS = st.builds(
    lambda events, qty, usd, first, span: Cell(
        events, qty, usd, first, None if first is None else first + span),
    st.integers(0, 50), AMOUNTS, AMOUNTS,
    st.one_of(st.none(), st.integers(T0, T0 + 40 * HOUR)), st.integers(0, 30 * HOUR),
)
ROLLUPS = st.lists(
    st.builds(
        lambda symbol, cells: Rollup(symbol=symbol, cells=cells),
        st.sampled_from(["BTCUSDT", "BTCUSDC", "ETHUSDT", "1000PEPEUSDT", "DOTUSD", "SOLUSDT"]),
        st.dictionaries(
            st.tuples(st.sampled_from(["binance", "bybit", "okx", "hyperliquid"]),
                      st.sampled_from(["LONG", "SHORT"])),
            CELLS, max_size=8),
    ),
    min_size=1, max_size=6, unique_by=lambda r: r.symbol,
)


@settings(max_examples=300, deadline=None)
@given(
    rollups=ROLLUPS,
    window=st.sampled_from([(None, None), (T0 + HOUR, None), (None, T0 + 30 * HOUR),
                            (T0 + HOUR, T0 + 30 * HOUR), (T0 + 50 * HOUR, T0 + 60 * HOUR)]),
    wanted=st.lists(st.sampled_from(["binance", "bybit", "okx"]), max_size=2, unique=True),
    multi=st.booleans(),
)
def test_the_fold_gives_every_figure_of_a_plain_decimal_fold_digit_for_digit(
    rollups: list[Rollup], window: tuple[int | None, int | None], wanted: list[str],
    multi: bool,
) -> None:
    since, until = window
    now = T0 + 45 * HOUR
    got = stats_from_rollups(rollups, since_ms=since, until_ms=until, exchanges=wanted,
                             multi=multi, now_ms=now, feeds={})
    want = reference_stats(rollups, since, until, now, sorted(wanted), multi)
    assert repr(got) == repr(want)
    assert got == want


@pytest.mark.parametrize("wanted", [(), ("binance", "okx")])
@pytest.mark.parametrize("names", [None, ("BTCUSDT", "BTCUSDC"), ("ETHUSDT",)])
def test_the_store_path_gives_every_figure_of_a_plain_decimal_fold_digit_for_digit(
    store: Store, names: tuple[str, ...] | None, wanted: tuple[str, ...]
) -> None:
    """compute_stats on a store adds its integer sums (``Store.rollup_units``), never the
    cells' Decimals: every figure, digit and exponent, as the plain Decimal fold of the same
    store's rollups (amounts with and without trailing zeros, windows cutting slots)."""
    events = make_events(n=600, seed=31, span_hours=12)
    events += [replace(e, qty=e.qty * 10, usd=Decimal(int(e.usd) + 1), id=f"z{e.id}")
               for e in events[:200]]  # whole amounts: integers, some ending in zeros
    events += [  # cells of one event: round amounts (an exponent above 0 shows as 1.2E+3)
        Event(exchange="okx", symbol="SOLUSDT", side="LONG", price=Decimal(40), qty=Decimal(30),
              usd=Decimal(1200), ts_ms=T0 + 2 * HOUR + 5, id="s1"),
        Event(exchange="binance", symbol="SOLUSDT", side="SHORT", price=Decimal("0.2"),
              qty=Decimal("2.5"), usd=Decimal("0.5"), ts_ms=T0 + 3 * HOUR + 5, id="s2"),
    ]
    store.ingest(events)
    now = T0 + 14 * HOUR
    for since, until in [*WINDOWS, (T0 + 90_001, T0 + 11 * HOUR - 7)]:
        got = compute_stats(store, names, all_symbols=names is None, since_ms=since,
                             until_ms=until, exchanges=wanted, now_ms=now)
        symbols = store.symbols() if names is None else list(names)
        want = reference_stats(store.rollups(symbols, since, until), since, until, now,
                               sorted(wanted), len(symbols) > 1 or names is None)
        assert repr(without_feeds(got)) == repr(want), (since, until)


def without_feeds(stats: Any) -> Any:
    """``stats`` with its exchanges' feed notes cleared (the reference fold has none)."""
    from liqcli._record import replace as replace_record

    def clear(one: Any) -> Any:
        return replace_record(one, exchanges=tuple(
            replace_record(row, complete=None, note="") for row in one.exchanges))

    return replace_record(clear(stats), per_symbol=tuple(map(clear, stats.per_symbol)))


@settings(max_examples=400, deadline=None)
@given(
    numerator=st.one_of(st.integers(0, 10**12), st.integers(0, 10**45)),
    denominator=st.one_of(st.integers(1, 10**9), st.integers(1, 10**45)),
    tie=st.booleans(),
)
def test_derived_figures_from_integers_are_the_decimal_figures(
    numerator: int, denominator: int, tie: bool
) -> None:
    """The integer rounding of shares and averages gives the figure of the Decimal
    arithmetic (a 100-digit quotient rounded half-even to 8 places), ties included."""
    from liqcli.report import core

    if tie:  # an exact half at the 9th decimal
        numerator, denominator = numerator * 10 + 5, 10**9
    with localcontext() as ctx:
        ctx.prec = 100
        want = core.tidy(Decimal(numerator) / Decimal(denominator))
    assert repr(core._fraction(numerator, denominator)) == repr(want)


@settings(max_examples=400, deadline=None)
@given(
    part=st.one_of(st.integers(0, 10**12), st.integers(0, 10**45)),
    whole=st.one_of(st.integers(0, 10**9), st.integers(0, 10**45)),
    tie=st.booleans(),
)
def test_shares_from_integers_are_the_decimal_figures(part: int, whole: int, tie: bool) -> None:
    """``_pct`` (the share arithmetic written out) gives the Decimal figure of part × 100 /
    whole rounded half-even to 8 places, ties and huge sums included; None for a zero whole."""
    from liqcli.report import core

    if tie:  # part × 100 / whole lies exactly halfway at the 9th decimal
        part, whole = part % 10**10 * 10 + 5, 10**11
    if part > whole:
        part, whole = whole, part
    got = core._pct(part, whole)
    if not whole:
        assert got is None
        return
    with localcontext() as ctx:
        ctx.prec = 100
        want = core.tidy(Decimal(part) * 100 / Decimal(whole))
    assert repr(got) == repr(want)


@given(units=st.one_of(st.integers(0, 10**4), st.integers(0, 10**20)))
def test_derived_figures_print_plain_and_are_left_alone_by_the_cyclic_gc(units: int) -> None:
    """Every derived figure prints without an exponent; those from 1e-6 up are plain Decimals
    (not tracked by the cyclic GC: a report over all symbols makes thousands), below 1e-6 the
    PlainDecimal subclass (Decimal would print 2.8E-7)."""
    import gc

    from liqcli.report import core

    figure = core._fraction(units, core._E8)
    assert figure == Decimal(units).scaleb(-8)
    text = str(figure)
    assert "E" not in text and repr(figure) == f"Decimal('{text}')"
    assert text == format(Decimal(units).scaleb(-8), "f").rstrip("0").rstrip(".")
    assert isinstance(figure, core.PlainDecimal) == (0 < units < 100)
    assert gc.is_tracked(figure) == (0 < units < 100)


def test_old_field_names_are_views_of_the_same_figures(store: Store, events: list[Event]) -> None:
    store.ingest(events)
    stats = compute_stats(store, "BTCUSDT")
    exp = Expected(events, ["BTCUSDT"])
    assert (stats.total_events, stats.total_usd, stats.total_btc) == (
        exp.total.events, exp.total.usd, exp.qty)
    assert (stats.long_events, stats.short_events) == (
        exp.sides["LONG"].events, exp.sides["SHORT"].events)
    assert (stats.long_usd, stats.short_btc) == (
        exp.sides["LONG"].usd, exp.sides["SHORT"].qty["BTC"])
    assert stats.exchange_events == {k: v.events for k, v in exp.exchanges.items()}
    assert stats.exchange_usd == {k: v.usd for k, v in exp.exchanges.items()}
    assert stats.exchange_side_events == {
        name: {side: exp.cells.get((name, side), Acc()).events for side in ("LONG", "SHORT")}
        for name in exp.exchanges
    }
    assert stats.exchange_side_btc["okx"]["LONG"] == exp.cells[("okx", "LONG")].qty["BTC"]
    assert stats.start_time is not None and stats.start_time.tzinfo is not None
    assert int(stats.start_time.timestamp() * 1000) == exp.total.first
    assert stats.end_time is not None
    assert int(stats.end_time.timestamp() * 1000) == exp.total.last


# ---------------------------------------------------------------- timeparse
@pytest.mark.parametrize(("text", "expected"), [
    ("2024-08-17T12:00:00Z", T0),
    ("2024-08-17T14:00:00+02:00", T0),
    ("2024-08-17T12:00", T0),
    ("2024-08-17", T0 - 12 * HOUR),
    ("1723896000", T0),
    ("1723896000.5", T0 + 500),
    ("1723896000000", T0),
])
def test_parse_absolute_times(text: str, expected: int) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize(("text", "ago"), [
    ("90m", 90 * 60_000), ("24h", 24 * HOUR), ("7d", 7 * 24 * HOUR), ("1h30m", 90 * 60_000),
    ("30s", 30_000), ("2w", 14 * 24 * HOUR), ("1.5h", 90 * 60_000),
])
def test_parse_relative_times(text: str, ago: int) -> None:
    assert parse_instant(text, now=T0) == T0 - ago


@pytest.mark.parametrize("text", ["yesterday", "", "12x", "2024-13-01", "h", "-5m"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(UsageError):
        parse_instant(text)


def _utc_ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1000  # type: ignore[misc]


@pytest.mark.parametrize(("text", "expected"), [
    ("2024", _utc_ms(2024, 1, 1)),
    ("20261123", _utc_ms(2026, 11, 23)),
    ("20240817", T0 - 12 * HOUR),
    ("2009", _utc_ms(2009, 1, 1)),
    ("1230768000", _utc_ms(2009, 1, 1)),  # the oldest epoch accepted
])
def test_four_and_eight_digits_are_iso_dates(text: str, expected: int) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize(("text", "shown"), [
    ("0", "1970-01-01T00:00:00.000Z"),
    ("1723896", "1970-01-20T22:51:36.000Z"),  # epoch seconds missing 3 digits
    ("99999999", "1973-03-03T09:46:39.000Z"),  # 8 digits, but not a date
    ("1230767999", "2008-12-31T23:59:59.000Z"),
    ("172389600000", "1975-06-19T06:00:00.000Z"),  # read as milliseconds
])
def test_epochs_before_2009_are_refused_with_a_hint(text: str, shown: str) -> None:
    with pytest.raises(UsageError, match="before 2009") as caught:
        parse_instant(text, option="--since")
    message = str(caught.value)
    assert message.startswith(f"--since: {text} as epoch") and shown in message
    assert "ISO-8601" in message


@pytest.mark.parametrize("text", [
    "99999999999999999999", "1000000000w", "0001-01-01", "1969-12-31T23:59:59Z",
    "9999-12-31T23:00-01:00", "253402300800000",
])
def test_times_outside_1970_to_9999_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="outside the years 1970-9999"):
        parse_window(text, None, now=T0)
    with pytest.raises(UsageError, match="outside the years 1970-9999"):
        parse_window(None, text, now=T0)


def test_iso_utc_keeps_four_digit_years() -> None:
    assert iso_utc(_utc_ms(9999, 12, 31, 23, 59, 59) + 999) == "9999-12-31T23:59:59.999Z"
    assert iso_utc(_utc_ms(1, 1, 1)) == "0001-01-01T00:00:00.000Z"
    assert iso_utc(_utc_ms(999, 5, 6, 7, 8, 9) + 5) == "0999-05-06T07:08:09.005Z"
    assert iso_utc(T0 + 305) == "2024-08-17T12:00:00.305Z"


def test_window_must_be_ordered() -> None:
    assert parse_window("2h", "1h", now=T0) == (T0 - 2 * HOUR, T0 - HOUR)
    with pytest.raises(UsageError):
        parse_window("1h", "2h", now=T0)
    with pytest.raises(UsageError):
        parse_window("1723896000", "1723896000")
