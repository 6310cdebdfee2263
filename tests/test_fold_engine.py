"""The public fold engine: an explicit handler for every event type, events only in fold
order, and change points that miss no day on which the status document changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import events as ev
from projections.status import render, status
from projections.timeline import HANDLERS, Fold, UnknownEventType, fold_order
from projections.voids import with_voids
from tests.factories import Ledger, d
from tests.test_status_properties import histories

pytestmark = pytest.mark.unit


def test_every_event_type_in_the_catalogue_has_a_handler_and_no_handler_is_stray() -> None:
    assert set(HANDLERS) == set(ev.EVENT_TYPES)


def test_an_event_type_without_a_handler_fails_loudly() -> None:
    class Unheard(ev.LedgerEvent):
        note: str

    ledger = Ledger("GEN-U")
    ledger.register("2015-01-05")
    stray = ledger.add(Unheard, "2015-02-01", note="x")
    engine = Fold("GEN-U")
    engine.apply(ledger.events[0])
    with pytest.raises(UnknownEventType, match="Unheard"):
        engine.apply(stray)


def test_an_event_before_the_last_one_folded_is_refused() -> None:
    ledger = Ledger("GEN-O")
    ledger.register("2015-01-05")
    later = ledger.auditor("2015-03-01")
    earlier = ledger.auditor("2015-02-01", name="other")
    engine = Fold("GEN-O")
    engine.apply(ledger.events[0])
    engine.apply(later)
    with pytest.raises(ValueError, match="fold order"):
        engine.apply(earlier)


def test_next_change_after_walks_due_date_anniversaries_and_the_lapse() -> None:
    ledger = Ledger("GEN-C")
    ledger.register("2015-01-05")
    ledger.certify("2015-06-01", "2015-06-15")
    engine = Fold("GEN-C")
    for event in sorted(ledger.events, key=fold_order):
        engine.apply(event)
    engine.advance_to(d("2015-07-01"))
    # the first anniversary is also the maintenance due date (GENERIC: no grace): the
    # certificate enters cycle year 2 on it and is cancelled the day after
    assert engine.next_change_after(d("2015-07-01")) == d("2016-06-15")
    engine.advance_to(d("2016-06-15"))
    assert engine.timeline.status == "certified"
    assert engine.next_change_after(d("2016-06-15")) == d("2016-06-16")
    engine.advance_to(d("2016-06-16"))
    assert engine.timeline.status == "cancelled"


def _documents_by_change_points(events: list[ev.LedgerEvent], until: date
                                ) -> dict[date, dict[str, object]]:
    """The document on each day the engine stops at (event days and change points)."""
    known, voids = with_voids(events, None)
    view = sorted((e for e in known if not e.reference), key=fold_order)
    engine = Fold("EMP", voids=voids)
    out: dict[date, dict[str, object]] = {}
    index = 0
    day: date | None = view[0].effective
    while day is not None and day <= until:
        while index < len(view) and view[index].effective <= day:
            engine.apply(view[index])
            index += 1
        engine.advance_to(day)
        out[day] = render(engine.timeline)
        upcoming = view[index].effective if index < len(view) else None
        day = min((x for x in (upcoming, engine.next_change_after(day)) if x is not None),
                  default=None)
    return out


@settings(max_examples=60, deadline=None)
@given(histories(), st.lists(st.integers(0, 6 * 365), min_size=1, max_size=6))
def test_between_change_points_the_status_document_does_not_change(
        events: list[ev.LedgerEvent], offsets: list[int]) -> None:
    start = min(e.effective for e in events)
    until = start + timedelta(days=6 * 365)
    stops = _documents_by_change_points(events, until)
    days = sorted(stops)
    for offset in offsets:
        on = start + timedelta(days=offset)
        before = [x for x in days if x <= on]
        expected = status(events, as_of=on, employer="EMP")
        if not before:
            assert expected["status"] == "unregistered"
            continue
        stop = dict(stops[before[-1]])
        stop["as_of"] = on.isoformat()
        assert stop == expected, f"the document changed on a day the fold did not name ({on})"
