"""The store contract, the same on every backend (SQLite, and PostgreSQL when configured).

Everything above the store (importer, queries, read models) relies on exactly these
promises, so each backend must keep them: streams in append order, the reference stream
apart, the employers index, notifications in global order with increasing positions, a
writer that commits all or nothing, and a version conflict that raises rather than
overwrites.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from ledger.codec import new_event
from ledger.events import EmployerRegistered, HeadcountReported, LedgerEvent
from storage.store import (
    WRITE_CONFLICTS,
    Appended,
    KnownId,
    LedgerStore,
    StreamHead,
    open_store,
)

pytestmark = pytest.mark.integration  # a real database, process or server

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def event(type_name: str, employer: str | None, version: int, *, event_id: str | None = None,
          effective: date = date(2021, 1, 4), **data: Any) -> LedgerEvent:
    return new_event(type_name, employer=employer, version=version, effective=effective,
                     recorded_at=NOW, appended_at=NOW, event_id=event_id, **data)


def registered(employer: str, effective: date = date(2021, 1, 4)) -> LedgerEvent:
    return event("EmployerRegistered", employer, 1, event_id=f"{employer}-reg",
                 effective=effective, name=f"{employer} Ltd", partner="GENERIC",
                 program="COR", classification_units=("G100",), headcount=10)


def headcount(employer: str, version: int, value: int) -> LedgerEvent:
    return event("HeadcountReported", employer, version, event_id=f"{employer}-hc-{version}",
                 headcount=value)


def base_rate(version: int, year: int) -> LedgerEvent:
    return event("BaseRateSet", None, version, event_id=f"rate-{year}", jurisdiction="BC",
                 cu="G100", year=year, base_rate=Decimal("4.00"))


def append(store: LedgerStore, *events: LedgerEvent) -> None:
    with store.writer() as writer:
        writer.append([Appended(e, f"hash-{e.event_id}") for e in events])


def test_a_new_store_is_empty(store: LedgerStore) -> None:
    assert store.employers() == []
    assert store.stream("E-1") == []
    assert store.reference() == []
    assert store.notifications(0, 10) == []
    assert store.position() == 0


def test_streams_come_back_in_append_order_with_their_content(store: LedgerStore) -> None:
    append(store, registered("E-1"), headcount("E-1", 2, 20))
    append(store, headcount("E-1", 3, 30), registered("E-2"))
    stream = store.stream("E-1")
    assert [e.originator_version for e in stream] == [1, 2, 3]
    assert isinstance(stream[0], EmployerRegistered)
    assert stream[0].partner == "GENERIC" and stream[0].effective == date(2021, 1, 4)
    assert [e.headcount for e in stream[1:] if isinstance(e, HeadcountReported)] == [20, 30]
    assert stream[1].event_id == "E-1-hc-2" and stream[1].recorded_at == NOW
    assert [e.originator_version for e in store.stream("E-2")] == [1]


def test_the_reference_stream_is_apart_from_employers(store: LedgerStore) -> None:
    append(store, base_rate(1, 2022), registered("E-1"), base_rate(2, 2023))
    assert [e.year for e in store.reference()] == [2022, 2023]  # type: ignore[attr-defined]
    assert store.employers() == ["E-1"]
    with store.writer() as writer:
        assert writer.reference_version() == 2


def test_employers_are_listed_sorted_once_each(store: LedgerStore) -> None:
    append(store, registered("B-2"), registered("A-1"))
    append(store, registered("C-3"), headcount("A-1", 2, 5))
    assert store.employers() == ["A-1", "B-2", "C-3"]


def test_notifications_follow_global_append_order(store: LedgerStore) -> None:
    append(store, registered("E-1"), registered("E-2"))
    append(store, headcount("E-2", 2, 7), base_rate(1, 2022), headcount("E-1", 2, 8))
    notes = store.notifications(0, 100)
    assert [(e.employer, e.originator_version) for _, e in notes] == [
        ("E-1", 1), ("E-2", 1), ("E-2", 2), (None, 1), ("E-1", 2)]
    positions = [p for p, _ in notes]
    assert positions == sorted(positions) and len(set(positions)) == 5
    assert store.position() == positions[-1]
    # paging: strictly after a position, at most ``limit``
    assert [p for p, _ in store.notifications(positions[1], 2)] == positions[2:4]
    assert store.notifications(positions[-1], 10) == []


def test_touched_after_names_the_employers_of_a_run_of_the_log(store: LedgerStore) -> None:
    """What a catch-up reads instead of decoding events: it must agree with them."""
    append(store, registered("E-1"), registered("E-2"))
    append(store, headcount("E-2", 2, 7), base_rate(1, 2022), headcount("E-1", 2, 8))
    positions = [p for p, _ in store.notifications(0, 100)]
    whole = store.touched_after(0, 100)
    assert (whole.events, whole.last, whole.employers) == (5, positions[-1], {"E-1", "E-2"})
    run = store.touched_after(positions[1], 2)  # E-2's headcount, then the base rate
    assert (run.events, run.last, run.employers) == (2, positions[3], {"E-2"})
    reference_only = store.touched_after(positions[2], 1)
    assert (reference_only.events, reference_only.employers) == (1, set())
    empty = store.touched_after(positions[-1], 10)
    assert (empty.events, empty.last, empty.employers) == (0, positions[-1], set())
    for after in range(0, positions[-1] + 1):  # every start agrees with the decoded events
        for limit in (1, 2, 3, 100):
            notes = store.notifications(after, limit)
            run = store.touched_after(after, limit)
            assert run.events == len(notes)
            assert run.employers == {e.employer for _, e in notes if e.employer}
            assert run.last == (notes[-1][0] if notes else after)


def test_touched_after_names_a_stream_missing_from_the_employer_index(
        store: LedgerStore, db_url: str) -> None:
    """The join finds no employer for a stream the index lost: its first event names it."""
    from sqlalchemy import text

    from storage.engine import engine_for

    append(store, registered("E-1"), headcount("E-1", 2, 8), base_rate(1, 2022))
    with engine_for(db_url).begin() as conn:
        conn.execute(text("DELETE FROM ledger_employers WHERE employer = 'E-1'"))
    run = store.touched_after(0, 100)
    assert (run.events, run.employers) == (3, {"E-1"})


def test_a_writer_sees_its_own_appends_and_reads_heads(store: LedgerStore) -> None:
    with store.writer() as writer:
        assert writer.heads({"E-1"}) == {}
        writer.append([Appended(registered("E-1", date(2021, 2, 1)), "h1")])
        writer.append([Appended(headcount("E-1", 2, 3), "h2")])
        assert writer.heads({"E-1", "E-9"}) == {
            "E-1": StreamHead("E-1", 2, date(2021, 2, 1))}
        assert writer.known_ids({"E-1-reg", "E-1-hc-2", "nope"}) == {
            "E-1-reg": KnownId("h1", "E-1"), "E-1-hc-2": KnownId("h2", "E-1")}


def test_an_earlier_registration_moves_the_registration_date_back(store: LedgerStore) -> None:
    append(store, registered("E-1", date(2021, 5, 1)))
    second = event("EmployerRegistered", "E-1", 2, event_id="E-1-reg-2",
                   effective=date(2020, 1, 1), name="E-1 Ltd", partner="GENERIC",
                   program="COR", classification_units=("G100",))
    append(store, second)
    with store.writer() as writer:
        assert writer.heads({"E-1"})["E-1"] == StreamHead("E-1", 2, date(2020, 1, 1))


def test_a_writer_that_raises_leaves_nothing(store: LedgerStore) -> None:
    append(store, registered("KEEP"))
    before = store.position()
    with pytest.raises(RuntimeError, match="boom"), store.writer() as writer:
        writer.append([Appended(registered("GONE"), "h"), Appended(base_rate(1, 2022), "r")])
        raise RuntimeError("boom")
    assert store.employers() == ["KEEP"]
    assert store.stream("GONE") == [] and store.reference() == []
    assert store.position() == before
    with store.writer() as writer:
        assert writer.known_ids({"GONE-reg", "rate-2022"}) == {}
        assert writer.heads({"GONE"}) == {}
    # and the store is usable afterwards
    append(store, registered("NEXT"))
    assert store.employers() == ["KEEP", "NEXT"]


def test_a_version_conflict_raises_and_writes_nothing(store: LedgerStore) -> None:
    append(store, registered("E-1"), headcount("E-1", 2, 1))
    with pytest.raises(WRITE_CONFLICTS), store.writer() as writer:
        writer.append([Appended(registered("E-2"), "h")])
        writer.append([Appended(headcount("E-1", 2, 99), "h2")])  # version 2 is taken
    assert [e.headcount for e in store.stream("E-1")[1:]] == [1]  # type: ignore[attr-defined]
    assert store.employers() == ["E-1"]


def test_a_reused_event_id_raises(store: LedgerStore) -> None:
    append(store, registered("E-1"))
    clash = event("HeadcountReported", "E-1", 2, event_id="E-1-reg", headcount=1)
    with pytest.raises(WRITE_CONFLICTS), store.writer() as writer:
        writer.append([Appended(clash, "other")])
    assert len(store.stream("E-1")) == 1


def test_a_second_store_on_the_same_database_sees_committed_events(db_url: str) -> None:
    first = open_store(db_url)
    second = open_store(db_url)
    try:
        with first.writer() as writer:
            writer.append([Appended(registered("E-1"), "h")])
            assert second.employers() == []  # not committed yet: invisible to others
        assert second.employers() == ["E-1"]
        assert [e.originator_version for e in second.stream("E-1")] == [1]
    finally:
        first.close()
        second.close()
