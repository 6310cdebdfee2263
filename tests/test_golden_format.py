"""Golden files pin the stored event format, so a change to it never slips by unnoticed.

If a test here fails because an event class changed: do not edit the golden file. Bump the
class's ``class_version``, add ``upcast_vN_vN+1`` for the old rows, and add a new golden row
for the new version beside the old one.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import NoneType, UnionType
from typing import Any

import orjson
import pytest

from ledger.codec import event_to_state, state_to_event
from ledger.events import EVENT_TYPES, MONEY, SCORE, LedgerEvent, stream_id, type_hints

GOLDEN_DIR = Path(__file__).parent / "golden"
# v1 is the first set of types; v2 (2026-11-29) adds AuditWaiverGranted and
# InvestigationOpened v2 (incident_date). Old files are never edited: new rows go in a new one.
GOLDEN_FILES = ("stored_events_v1.jsonl", "stored_events_v2.jsonl")


def sample_value(hint: Any) -> Any:
    """A fixed, representative value for a field type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        return sample_value(next(a for a in typing.get_args(hint) if a is not NoneType))
    if origin is typing.Annotated:
        base, *markers = typing.get_args(hint)
        if MONEY in markers:
            return Decimal("8000.00")
        if SCORE in markers:
            return Decimal("86.5")
        return sample_value(base)  # a boundary constraint: stored as its base type
    if origin is tuple:
        return ("721002", "G100")
    if origin is dict:
        return {"policy": Decimal("90"), "hazard_assessment": Decimal("78.5")}
    return {str: "sample", int: 2023, bool: True, date: date(2021, 6, 4),
            Decimal: Decimal("4.00")}[hint]


def sample_event(cls: type[LedgerEvent]) -> LedgerEvent:
    employer = None if cls.reference else "BC-100234"
    hints = type_hints(cls)
    return cls(originator_id=stream_id(employer), originator_version=7,
               timestamp=datetime(2021, 6, 11, 15, 5, tzinfo=UTC), event_id="bccsa-2021-0042",
               employer=employer, effective=date(2021, 6, 10),
               recorded_at=datetime(2021, 6, 11, 15, 2, tzinfo=UTC), by="j.singh@bccsa",
               **{f.name: sample_value(hints[f.name]) for f in cls.data_fields()})


def all_golden_rows() -> list[tuple[str, dict[str, Any]]]:
    """(topic, stored state) of every row of every golden file."""
    rows = [orjson.loads(x) for name in GOLDEN_FILES
            for x in (GOLDEN_DIR / name).read_bytes().splitlines() if x.strip()]
    return [(row["topic"], row["state"]) for row in rows]


def golden_rows() -> dict[str, dict[str, Any]]:
    """The golden row of each type at its current ``class_version``."""
    return {topic: state for topic, state in all_golden_rows()
            if state["v"] == EVENT_TYPES[topic].class_version}


def _upcasted_sample(cls: type[LedgerEvent], old_state: dict[str, Any]) -> LedgerEvent:
    """The sample event as an old row of it reads back: fields added since are defaulted."""
    sample = sample_event(cls)
    added = {f.name: f.default for f in cls.data_fields() if f.name not in old_state["data"]}
    return type(sample)(**{**{f.name: getattr(sample, f.name)
                              for f in dataclasses.fields(sample)}, **added})


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_the_stored_format_of_each_type_is_pinned(type_name: str) -> None:
    cls = EVENT_TYPES[type_name]
    for version in range(2, cls.class_version + 1):
        assert f"upcast_v{version - 1}_v{version}" in vars(cls), \
            "a new class_version needs an upcaster"
    assert event_to_state(sample_event(cls)) == golden_rows()[type_name]


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_golden_row_still_reads_back(type_name: str) -> None:
    cls = EVENT_TYPES[type_name]
    rows = [state for topic, state in all_golden_rows() if topic == type_name]
    assert rows
    for state in rows:
        event = state_to_event(type_name, stream_id(state["employer"]), 7, state)
        expected = sample_event(cls) if state["v"] == cls.class_version \
            else _upcasted_sample(cls, state)
        assert event == expected


def test_every_event_type_has_a_golden_row() -> None:
    assert set(golden_rows()) == set(EVENT_TYPES)


def test_a_reference_void_is_stored_without_employer_in_the_reference_stream() -> None:
    void = EVENT_TYPES["EventVoided"](
        originator_id=stream_id(None), originator_version=3,
        timestamp=datetime(2021, 6, 11, 15, 5, tzinfo=UTC), event_id="rate-fix",
        employer=None, effective=date(2021, 6, 10),
        recorded_at=datetime(2021, 6, 11, 15, 2, tzinfo=UTC), by=None,
        target="rate-2021", reason="wrong rate")
    state = event_to_state(void)
    assert state["employer"] is None
    assert state_to_event("EventVoided", stream_id(None), 3, state) == void
