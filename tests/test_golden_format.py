"""Golden files pin the stored event format, so a change to it never slips by unnoticed.

If a test here fails because an event class changed: do not edit the golden file. Bump the
class's ``class_version``, add ``upcast_vN_vN+1`` for the old rows, and add a new golden row
for the new version beside the old one.
"""

from __future__ import annotations

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

GOLDEN = Path(__file__).parent / "golden" / "stored_events_v1.jsonl"


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


def golden_rows() -> dict[str, dict[str, Any]]:
    rows = [orjson.loads(x) for x in GOLDEN.read_bytes().splitlines() if x.strip()]
    return {row["topic"]: row["state"] for row in rows if row["state"]["v"] == 1}


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_the_stored_format_of_each_type_is_pinned(type_name: str) -> None:
    cls = EVENT_TYPES[type_name]
    assert cls.class_version == 1 or f"upcast_v{cls.class_version - 1}_v{cls.class_version}" \
        in vars(cls), "a new class_version needs an upcaster"
    if cls.class_version == 1:
        assert event_to_state(sample_event(cls)) == golden_rows()[type_name]


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_golden_row_still_reads_back(type_name: str) -> None:
    state = golden_rows()[type_name]
    cls = EVENT_TYPES[type_name]
    event = state_to_event(type_name, stream_id(state["employer"]), 7, state)
    if cls.class_version == 1:
        assert event == sample_event(cls)


def test_every_event_type_has_a_golden_row() -> None:
    assert set(golden_rows()) == set(EVENT_TYPES)
