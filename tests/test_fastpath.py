"""The fast validation path never accepts what marshmallow refuses, and agrees on values."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from commands.fastpath import fast_load
from commands.schemas import load_event
from ledger.codec import event_to_state
from ledger.events import LedgerEvent
from tests.test_roundtrip import events


def interchange(event: LedgerEvent) -> dict[str, Any]:
    """The interchange line a sender would have written for an event."""
    state = event_to_state(event)
    line = {"type": type(event).__name__, "effective": state["effective"],
            "recorded_at": state["recorded_at"], "data": state["data"]}
    for key in ("id", "employer", "by"):
        if state[key] is not None:
            line[key] = state[key]
    return orjson.loads(orjson.dumps(line))


def marshmallow_or_none(obj: Any) -> dict[str, Any] | None:
    try:
        return load_event(obj)
    except ValidationError:
        return None


@given(events())
def test_the_fast_path_loads_valid_lines_as_marshmallow_does(event: LedgerEvent) -> None:
    obj = interchange(event)
    expected = marshmallow_or_none(obj)
    got = fast_load(obj)
    assert got is None or got == expected


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True),
                 st.text(max_size=5), st.just("2020-02-30"), st.just("2021-06-10"),
                 st.just("8000.00"), st.lists(st.text(max_size=3), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(-5, 105), max_size=2))


@given(events(), st.data())
def test_the_fast_path_never_accepts_a_line_marshmallow_refuses(event: LedgerEvent,
                                                               data: st.DataObject) -> None:
    obj = interchange(event)
    target = obj["data"] if data.draw(st.booleans()) and obj["data"] else obj
    key = data.draw(st.sampled_from(sorted(target) + ["unknown_field"]))
    if data.draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = data.draw(JUNK)
    got = fast_load(obj)
    if got is not None:
        assert got == marshmallow_or_none(obj)


def test_the_fast_path_takes_every_line_of_a_realistic_ledger() -> None:
    """Not vacuous: on real-looking data the fast path decides every line itself."""
    from importlib import resources

    sample = resources.files("commands") / "sample" / "demo.jsonl"
    lines = [orjson.loads(x) for x in sample.read_bytes().splitlines() if x.strip()]
    assert len(lines) > 1000
    for obj in lines:
        fast = fast_load(obj)
        assert fast is not None, obj
        assert fast == load_event(obj)
