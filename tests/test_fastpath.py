"""The fast validation path never accepts what marshmallow refuses, and agrees on values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from commands.fastpath import fast_line, fast_load
from commands.schemas import load_event
from ledger.codec import encode_state, event_to_state, format_time, new_event
from ledger.events import LedgerEvent
from storage.store import recorded_key
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


# --- the import's direct path: validated line -> stored bytes -------------------------------

NOW = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)


def stored_by_marshmallow(obj: Any) -> bytes | None:
    """The stored bytes the marshmallow path gives a line (as the importer builds them), or
    None when marshmallow refuses it."""
    try:
        envelope = load_event(obj)
    except ValidationError:
        return None
    try:
        event = new_event(envelope["type"], employer=envelope.get("employer"), version=1,
                          effective=envelope["effective"],
                          recorded_at=envelope.get("recorded_at") or NOW, appended_at=NOW,
                          event_id=envelope.get("id"), by=envelope.get("by"),
                          **envelope["data"])
    except TypeError:  # a field marshmallow leaves out and the class cannot default
        return None
    return encode_state(event)


def stored_by_fast_line(obj: Any) -> bytes | None:
    fast = fast_line(obj, format_time(NOW))
    return None if fast is None else fast[-1]


def assert_fast_line_agrees(obj: Any) -> None:
    fast = stored_by_fast_line(obj)
    if fast is not None:
        assert fast == stored_by_marshmallow(obj), obj
        type_name, event_id, employer, effective, recorded, _ = fast_line(  # type: ignore[misc]
            obj, format_time(NOW))
        typed = load_event(obj)
        assert (type_name, event_id, employer, effective, recorded) == (
            typed["type"], typed.get("id"), typed.get("employer"),
            typed["effective"].isoformat(),
            typed.get("recorded_at") and recorded_key(typed["recorded_at"]))


@given(events())
def test_the_direct_path_stores_the_bytes_of_the_typed_event(event: LedgerEvent) -> None:
    obj = interchange(event)
    assert_fast_line_agrees(obj)
    assert stored_by_fast_line(obj) is not None or stored_by_marshmallow(obj) is None


TIMES = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))])).map(
        lambda d: d.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.sampled_from(["2019-05-29T12:07:00Z", "2019-W22-3T12:07:00Z", "2019-05-29T120700Z",
                     "2019-05-29T12:07:0.Z", "2019-05-29T24:00:00Z", "2019-02-29T12:07:00Z",
                     "2019-05-29 12:07:00Z", "2019-05-29T12:07:00", "2019-05-29T12:07Z",
                     "2019-05-29T12:07:00.5Z", "2019-05-29T12:07:00+00:00", "+019-05-29T12:07Z",
                     "2019-05-29T12:07:00Z\n", "2019-05-29T12:07:60Z"]),
    st.text(alphabet="0123456789-T:Z+. W", min_size=18, max_size=22))
MONEY_TEXT = st.one_of(st.from_regex(r"\A[0-9]{1,16}(\.[0-9]{0,3})?\Z"),
                       st.sampled_from(["007.50", "0", "00", "0.00", "00.5", "12.50\n",
                                        " 12.50", "1e3", "-1.00", "1,000.00"]))
SCORES = st.one_of(st.integers(-2, 102), st.floats(-1, 101), st.sampled_from(
    [80.0, -0.0, 79.99, 1e-7, 100.0, 99.99999999999999, True, "80"]))


@given(events(), st.data())
def test_the_direct_path_agrees_on_odd_values(event: LedgerEvent, data: st.DataObject) -> None:
    """Times, amounts, scores, dates and texts in the forms a sender may write: whatever the
    direct path accepts, marshmallow accepts and stores with the same bytes."""
    obj = interchange(event)
    if data.draw(st.booleans()):
        obj["recorded_at"] = data.draw(st.one_of(TIMES, st.none()))
    if data.draw(st.booleans()):
        obj.pop("recorded_at", None)
    for key, value in list(obj["data"].items()):
        if not data.draw(st.booleans()):
            continue
        if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value):
            obj["data"][key] = data.draw(MONEY_TEXT)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            obj["data"][key] = data.draw(SCORES)
        elif isinstance(value, dict):
            obj["data"][key] = data.draw(st.dictionaries(st.text(max_size=3), SCORES,
                                                          max_size=3))
        elif isinstance(value, str):
            obj["data"][key] = data.draw(st.one_of(
                st.just(value + "\n"), st.just("2020-02-30"), st.just("2021-06-10"),
                st.just(" "), st.text(max_size=4)))
        else:
            obj["data"][key] = data.draw(JUNK)
    if data.draw(st.booleans()):
        target = obj if data.draw(st.booleans()) else obj["data"]
        key = data.draw(st.sampled_from(sorted(target) + ["unknown_field"]))
        if data.draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = data.draw(JUNK)
    assert_fast_line_agrees(obj)


def test_the_direct_path_takes_every_line_of_a_realistic_ledger() -> None:
    from importlib import resources

    sample = resources.files("commands") / "sample" / "demo.jsonl"
    for raw in sample.read_bytes().splitlines():
        obj = orjson.loads(raw)
        assert stored_by_fast_line(obj) is not None, obj
        assert stored_by_fast_line(obj) == stored_by_marshmallow(obj)


def test_recorded_keys_order_as_their_times_whatever_the_year() -> None:
    """The import's future check and `changes` compare recorded_at keys as text: the keys
    are fixed width (a year below 1000 keeps its leading zeros), so text order is time
    order; and the fast path's key of a stored UTC text is recorded_key's."""
    times = [datetime(y, m, 1, h, tzinfo=UTC) for y in (1, 5, 999, 1000, 2026, 9999)
             for m in (1, 12) for h in (0, 23)]
    for a in times:
        for b in times:
            assert (recorded_key(a) > recorded_key(b)) == (a > b), (a, b)
    assert recorded_key(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == \
        "0999-01-02T03:04:05.000000Z"
