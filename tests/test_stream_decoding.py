"""Reading one employer's stream fast: rows decoded straight to events, the collector paused.

The decoded events must be indistinguishable from events built through their constructor,
the store's own stream read must give what the library's generic read gives, and pausing
the cyclic collector is safe only while reading and folding make no reference cycles.
"""

from __future__ import annotations

import gc
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given

from commands.importer import Importer
from ledger.codec import (
    decode_state,
    encode_state,
    event_to_state,
    new_event,
    state_to_event,
)
from ledger.collector import collector_paused
from ledger.events import AuditNoticeFiled, LedgerEvent, stream_id
from projections.incentive import incentive
from projections.status import render
from projections.timeline import fold
from scripts.long_history import EMPLOYER, lines
from storage.store import LedgerStore
from tests.test_roundtrip import events

KNOWN_AT = datetime(2026, 1, 1, 23, 59, tzinfo=UTC)


@given(events())
def test_a_decoded_event_is_indistinguishable_from_a_constructed_one(
        event: LedgerEvent) -> None:
    """Equal to the encoded event; and, against the event the constructor builds from the
    decoded values: same type, attributes in the same order, same repr."""
    decoded = decode_state(type(event).__name__, event.originator_id,
                           event.originator_version, encode_state(event))
    assert decoded == event
    built = type(event)(**vars(decoded))
    assert type(decoded) is type(built)
    assert list(vars(decoded).items()) == list(vars(built).items())
    assert repr(decoded) == repr(built)


def _notice_state(**data: object) -> dict[str, object]:
    event = new_event("AuditNoticeFiled", employer="E-1", version=1, event_id="n-1",
                      effective=date(2026, 1, 1),
                      recorded_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
                      appended_at=datetime(2026, 1, 2, tzinfo=UTC),
                      audit="A1", planned_start=date(2026, 3, 1), team=True)
    state = event_to_state(event)
    state["data"] = data
    return state


def test_a_data_field_left_out_of_a_stored_event_takes_the_class_default() -> None:
    decoded = state_to_event("AuditNoticeFiled", stream_id("E-1"), 1,
                             _notice_state(audit="A1", planned_start="2026-03-01"))
    assert isinstance(decoded, AuditNoticeFiled)
    assert decoded.team is False
    assert decoded.planned_start == date(2026, 3, 1)


def test_a_stored_event_without_a_required_data_field_is_refused_naming_it() -> None:
    with pytest.raises(TypeError, match="AuditNoticeFiled has no 'planned_start'"):
        state_to_event("AuditNoticeFiled", stream_id("E-1"), 1, _notice_state(audit="A1"))


def test_an_event_is_refused_a_stream_id_that_is_not_a_uuid() -> None:
    with pytest.raises(TypeError, match="non-UUID originator_id"):
        state_to_event("AuditNoticeFiled", "E-1", 1,  # type: ignore[arg-type]
                       _notice_state(audit="A1", planned_start="2026-03-01"))


def test_the_collector_is_restored_as_it_was_even_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # paused by someone else: left paused
    finally:
        gc.enable()


@pytest.fixture
def long_store(store: LedgerStore) -> LedgerStore:
    """A store holding one employer with ~2,000 events (payroll, premiums, audits...)."""
    text = "".join(json.dumps(line) + "\n" for line in lines(2000))
    Importer(store, now=datetime(2026, 6, 1, tzinfo=UTC)).run(io.BytesIO(text.encode()))
    return store


def test_a_stream_reads_as_the_librarys_generic_path_reads_it(long_store: LedgerStore,
                                                              ) -> None:
    """The store's one-statement read equals eventsourcing's per-row read, event by event."""
    ours = long_store.stream(EMPLOYER)
    generic = LedgerStore._stream(long_store, stream_id(EMPLOYER))
    assert len(ours) == len(generic) == 2000
    assert [list(vars(e).items()) for e in ours] == [list(vars(e).items()) for e in generic]
    assert gc.isenabled()


def test_reading_and_folding_a_stream_make_no_reference_cycles(long_store: LedgerStore,
                                                               ) -> None:
    """What makes pausing the collector safe: everything is freed by reference counting."""
    gc.collect()
    gc.disable()
    try:
        events = long_store.stream(EMPLOYER)
        document = render(fold(events, as_of=date(2025, 12, 31), known_at=KNOWN_AT,
                               employer=EMPLOYER))
        decision = incentive(events, long_store.reference(), year=2024, employer=EMPLOYER,
                             asked_on=date(2025, 12, 31))
        orjson.dumps(document)
        del events, document, decision
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_folding_streams_into_read_model_rows_makes_no_reference_cycles(
        long_store: LedgerStore) -> None:
    """What makes pausing the collector safe in a rebuild and a catch-up: the lean read,
    the fold into intervals and the rows for the tables are freed by reference counting."""
    from projections.sql.projector import fold_employers

    gc.collect()
    gc.disable()
    try:
        folded = fold_employers(long_store, [EMPLOYER, "NOBODY"])
        assert not folded.failures and len(folded.rows) == 2
        assert folded.rows[0].intervals  # the long history folded into intervals
        rows = [v for r in folded.rows for v in (*r.status_values(1), *r.lapse_values())]
        del folded, rows
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_importing_makes_no_reference_cycles(store: LedgerStore) -> None:
    """What makes pausing the collector over an import safe: the lines it parses and
    appends are freed by reference counting. A refused file leaves a little cyclic garbage
    (marshmallow's errors hold their tracebacks), bounded by the cap on errors reported."""
    from commands.importer import MAX_ERRORS, ImportRefused, parse_block

    demo = (Path(__file__).parent.parent / "commands" / "sample" / "demo.jsonl").read_bytes()
    bad = demo.replace(b'"effective":"', b'"effective":"x', 100) + b"{not json\n" * 100
    now = datetime(2026, 11, 30, tzinfo=UTC)  # after every line's recorded_at
    gc.collect()
    gc.disable()
    try:
        result = Importer(store, now=now).run(io.BytesIO(demo))
        assert result.added > 1000
        parsed = parse_block(1, demo, None, now, "2026-11-30T00:00:00Z")
        assert len(parsed) == result.added
        del result, parsed
        assert gc.collect() == 0
        with pytest.raises(ImportRefused) as refused:
            Importer(store, now=now).run(io.BytesIO(bad))
        assert len(refused.value.errors) == MAX_ERRORS
        del refused
        assert gc.collect() < 50 * MAX_ERRORS
    finally:
        gc.enable()


def test_a_catch_up_batch_makes_no_reference_cycles(long_store: LedgerStore) -> None:
    """What makes pausing the collector over a catch-up batch safe: the events it decodes
    from the log, the fold and the rows it writes are freed by reference counting."""
    from projections.sql.projector import engine_of, ensure_schema, project_batch

    ensure_schema(engine_of(long_store))
    gc.collect()
    gc.disable()
    try:
        assert project_batch(long_store, limit=500) == 500
        assert gc.collect() == 0
    finally:
        gc.enable()
