"""liqcli._record: the report path's record classes behave as the dataclasses they replace."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from liqcli import _record
from liqcli._record import field, record, replace
from liqcli.model import Event
from liqcli.report.stats import ExchangeFigures, SideFigures
from liqcli.report.timeparse import MAX_MS, iso_utc, utc_datetime
from liqcli.store.rollup import Cell, Rollup


@record(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)


@record()
class Mutable:
    a: int
    b: str = "b"




@pytest.mark.parametrize("compiled", [False, True], ids=["generic init", "compiled init"])
def test_records_behave_like_dataclasses(compiled: bool) -> None:
    _record._made.pop(Point, None)
    if compiled:
        for _ in range(_record.COMPILE_AFTER + 1):  # then the class compiles its own __init__
            Point(1)
        assert Point.__init__ is not _record._lazy_init
    p = Point(1, 2)
    assert (p.x, p.y, p.tags) == (1, 2, []) and Point(1).tags is not Point(1).tags
    assert p == Point(x=1, y=2) and p != Point(1, 3) and p != (1, 2, [])
    assert repr(p) == "Point(x=1, y=2, tags=[])"
    assert hash(Point(1, 2, ())) == hash(Point(1, 2, ()))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        p.x = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.z = 3  # type: ignore[attr-defined]  # slots: no new attributes
    for bad in ({"args": (1, 2, [], 4)}, {"args": (), "kw": {}}, {"args": (1,), "kw": {"x": 1}},
                {"args": (1,), "kw": {"w": 1}}):
        with pytest.raises(TypeError):
            Point(*bad["args"], **bad.get("kw", {}))  # type: ignore[arg-type]
    assert replace(p, y=5) == Point(1, 5) and dataclasses.replace(p, y=5) == Point(1, 5)
    with pytest.raises(TypeError):
        replace(p, w=1)
    assert dataclasses.is_dataclass(p) and dataclasses.asdict(p) == {"x": 1, "y": 2, "tags": []}
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags"]
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    m = Mutable(1)
    m.a = 2
    assert m == Mutable(2, "b") and Mutable.__hash__ is None
    match p:
        case Point(x, y):
            assert (x, y) == (1, 2)


def test_the_report_types_are_records_with_their_fields_in_order() -> None:
    one = Decimal(1)
    side = SideFigures(1, one, one, {}, one, one, one, side="LONG")
    assert [f.name for f in dataclasses.fields(side)] == [
        "events", "usd", "qty", "qty_by_base", "events_pct", "usd_pct", "qty_pct", "side"]
    exchange = ExchangeFigures(1, one, None, {}, None, None, None, exchange="okx")
    assert (exchange.complete, exchange.note) == (None, "")
    event = Event("okx", "BTCUSDT", "LONG", one, one, one, 5)
    assert {event, dataclasses.replace(event)} == {event} and event.id is None
    rollup = Rollup("BTCUSDT")
    rollup.cell("okx", "LONG").add(2, one, one, 5, 9)
    assert rollup.cells == {("okx", "LONG"): Cell(2, one, one, 5, 9)}
    assert Rollup("X").cells == {}  # a new dict each


def test_a_dataclass_may_extend_a_record() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Point3(Point):
        z: int = 0

    assert Point3(1, 2, [], 3) == Point3(x=1, y=2, tags=[], z=3) and Point3(1).z == 0


@given(st.integers(min_value=0, max_value=MAX_MS - 1))
@example(0)
@example(32_503_680_000_000 - 1)  # the last millisecond formatted with time.gmtime
@example(32_503_680_000_000)
@example(MAX_MS - 1)
def test_iso_utc_is_the_datetime_text_for_every_stored_time(ms: int) -> None:
    stamp = utc_datetime(ms)
    expected = f"{stamp.year:04d}-" + stamp.strftime("%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
    assert iso_utc(ms) == expected
