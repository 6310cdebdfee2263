"""Properties of the fold over generated histories: append order never matters, and a
query known at T equals a query on a ledger that only ever received what was recorded by T."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import events as ev
from projections.lapses import lapse_entry
from projections.status import fold, status

START = date(2015, 1, 5)
AUDITS = ("A1", "A2", "A3", "A4")
PARTNERS = ("GENERIC", "BCCSA", "GO2HR", "AMHSA")


def _make(cls: type[ev.LedgerEvent], n: int, effective: date, delay: int,
          **data: Any) -> ev.LedgerEvent:
    recorded = datetime.combine(effective, time(9), UTC) + timedelta(days=delay)
    return cls(originator_id=uuid4(), originator_version=n, timestamp=recorded,
               event_id=f"E{n}", employer="EMP", effective=effective, recorded_at=recorded,
               by=None, **data)


@st.composite
def histories(draw: st.DrawFn) -> list[ev.LedgerEvent]:
    """A registration and a few audits, QA decisions, facts, incidents and voids."""
    partner = draw(st.sampled_from(PARTNERS))
    program = "COR" if partner == "BCCSA" else draw(st.sampled_from(("COR", "SECOR")))
    events = [_make(ev.EmployerRegistered, 1, START, 0, name="Emp", partner=partner,
                    program=program, classification_units=("G100",),
                    headcount=draw(st.integers(1, 40)))]
    day = st.integers(0, 5 * 365).map(lambda n: START + timedelta(days=n))
    delay = st.integers(0, 400)
    for _ in range(draw(st.integers(0, 12))):
        n = len(events) + 1
        choice = draw(st.sampled_from(("audit", "audit", "qa", "qa", "auditor", "left",
                                       "headcount", "incident", "closed", "revoked", "void",
                                       "void", "waiver")))
        when = draw(day)
        if choice == "audit":
            completed = when - timedelta(days=draw(st.integers(0, 30)))
            event = _make(
                ev.AuditSubmitted, n, when, draw(delay), audit=draw(st.sampled_from(AUDITS)),
                kind=draw(st.sampled_from(("certification", "recertification", "maintenance",
                                           "limited_scope"))),
                auditor="pat", auditor_type=draw(st.sampled_from(("internal", "external"))),
                started=completed - timedelta(days=5), completed=completed,
                overall=Decimal(draw(st.integers(60, 95))),
                elements={"policy": Decimal(draw(st.integers(40, 95)))},
                student=draw(st.booleans()))
        elif choice == "qa":
            event = _make(ev.QADecided, n, when, draw(delay),
                          audit=draw(st.sampled_from(AUDITS)),
                          outcome=draw(st.sampled_from(("accepted", "accepted", "rejected"))))
        elif choice in ("auditor", "left"):
            cls = ev.InternalAuditorQualified if choice == "auditor" else ev.InternalAuditorLeft
            event = _make(cls, n, when, draw(delay), auditor="pat")
        elif choice == "headcount":
            event = _make(ev.HeadcountReported, n, when, draw(delay),
                          headcount=draw(st.integers(1, 40)))
        elif choice == "incident":
            event = _make(ev.SeriousIncidentReported, n, when, draw(delay), fatality=False,
                          description="x")
        elif choice == "closed":
            event = _make(ev.ReviewClosed, n, when, draw(delay),
                          outcome=draw(st.sampled_from(("certificate_stands", "revoked"))))
        elif choice == "waiver":
            event = _make(ev.AuditWaiverGranted, n, when, draw(delay), waiver="W",
                          authority="WorkSafeBC")
        elif choice == "revoked":
            event = _make(ev.CertificationRevoked, n, when, draw(delay), authority="x",
                          reason="y")
        else:  # a void; after a void, often a void of it (chains of any length)
            chain = isinstance(events[-1], ev.EventVoided) and draw(st.booleans())
            target = n - 1 if chain else draw(st.integers(1, len(events)))
            event = _make(ev.EventVoided, n, when, draw(delay), target=f"E{target}",
                          reason="correction")
        events.append(event)
    return events


query_day = st.integers(0, 6 * 365).map(lambda n: START + timedelta(days=n))
query_time = st.one_of(st.none(), query_day.map(
    lambda d: datetime.combine(d, time(12), UTC)))


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False), query_day, query_time)
def test_the_same_events_in_any_append_order_give_the_same_status(
    events: list[ev.LedgerEvent], rnd: Any, as_of: date, known_at: datetime | None
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    renumbered = [_renumber(e, i + 1) for i, e in enumerate(shuffled)]
    first = status(events, as_of=as_of, known_at=known_at, employer="EMP")
    again = status(renumbered, as_of=as_of, known_at=known_at, employer="EMP")
    assert first == again
    assert lapse_entry(fold(events, as_of=as_of, known_at=known_at)) == \
        lapse_entry(fold(renumbered, as_of=as_of, known_at=known_at))


@settings(max_examples=150, deadline=None)
@given(histories(), query_day, query_day.map(lambda d: datetime.combine(d, time(12), UTC)))
def test_known_at_equals_a_ledger_that_only_received_what_was_recorded_by_then(
    events: list[ev.LedgerEvent], as_of: date, known_at: datetime
) -> None:
    as_known = status(events, as_of=as_of, known_at=known_at, employer="EMP")
    received = [e for e in events if e.recorded_at <= known_at]
    only_those = status(received, as_of=as_of, known_at=None, employer="EMP")
    assert {**as_known, "known_at": None} == only_those


def _renumber(event: ev.LedgerEvent, version: int) -> ev.LedgerEvent:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    fields["originator_version"] = version
    return type(event)(**fields)
