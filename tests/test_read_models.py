"""The read models answer as the fold does: a hypothesis property over random employer
histories, random dates and random windows, first on the pure rows, then through SQL."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.importer import Importer
from ledger import events as ev
from ledger.codec import event_to_state
from projections.lapses import lapse_entry, lapses
from projections.sql.queries import lapse_entry_of, lapses_from_read_model, status_from_read_model
from projections.sql.read_models import EmployerRows, employer_rows
from projections.status import render, unregistered
from projections.timeline import fold
from storage.store import LedgerStore
from tests.factories import Ledger

pytestmark = pytest.mark.integration  # a real database, process or server

PARTNERS = ("GENERIC", "BCCSA", "GO2HR", "AMHSA")
KINDS = ("certification", "maintenance", "recertification", "limited_scope")
START = date(2016, 1, 4)

# --- random histories ----------------------------------------------------------------------

cycle = st.tuples(st.just("cycle"), st.sampled_from(["maintenance", "maintenance",
                                                     "recertification", "certification"]),
                  st.one_of(st.integers(330, 366), st.integers(30, 420)),
                  st.sampled_from([3, 20, 45, 120]), st.sampled_from(["external", "internal"]))
audit = st.tuples(st.just("audit"), st.sampled_from(KINDS), st.integers(0, 200),
                  st.sampled_from([40, 62, 70, 79, 80, 85, 95]),
                  st.sampled_from(["external", "internal"]), st.booleans())
qa = st.tuples(st.just("qa"), st.integers(0, 3), st.sampled_from(["accepted", "rejected"]),
               st.integers(0, 90))
step = st.one_of(
    cycle, cycle, cycle, cycle, audit, audit, qa, qa,
    st.tuples(st.just("headcount"), st.integers(0, 400), st.integers(0, 200)),
    st.tuples(st.just("auditor"), st.booleans(), st.integers(0, 120)),
    st.tuples(st.just("incident"), st.integers(0, 300)),
    st.tuples(st.just("review"), st.sampled_from(["certificate_stands", "revoked"]),
              st.integers(0, 120)),
    st.tuples(st.just("revoke"), st.integers(0, 300)),
    st.tuples(st.just("scope"), st.sampled_from([None, True, False]), st.integers(0, 200)),
    st.tuples(st.just("program"), st.sampled_from(["COR", "SECOR"]), st.integers(0, 200)),
    st.tuples(st.just("void"), st.integers(1, 30)),
    # events the status fold reads nothing from: the read model skips rendering for them
    st.tuples(st.just("payroll"), st.integers(0, 400)),
    st.tuples(st.just("waiver"), st.integers(0, 400)),
)


@st.composite
def histories(draw: st.DrawFn, employer: str = "E-1") -> list[ev.LedgerEvent]:
    """One employer's random history: a registration and up to 25 steps, dates moving on."""
    ledger = Ledger(employer)
    day = START + timedelta(days=draw(st.integers(0, 700)))
    ledger.register(day.isoformat(), partner=draw(st.sampled_from(PARTNERS)),
                    program=draw(st.sampled_from(["COR", "SECOR"])),
                    headcount=draw(st.sampled_from([None, 5, 15, 30, 120, 300])))
    if draw(st.booleans()):
        ledger.auditor(day.isoformat())
    audits: list[str] = []
    if draw(st.booleans()):  # most employers certify early
        day += timedelta(days=draw(st.integers(20, 200)))
        audits.append("A0")
        ledger.certify(day.isoformat(), (day + timedelta(days=14)).isoformat(), "A0")
    for item in draw(st.lists(step, max_size=20)):
        kind = item[0]
        if kind == "cycle":
            _, audit_kind, gap, qa_gap, auditor_type = item
            day += timedelta(days=gap)
            name = f"A{len(audits) + 1}"
            audits.append(name)
            ledger.audit(day.isoformat(), name, audit_kind, auditor_type=auditor_type)
            ledger.qa((day + timedelta(days=qa_gap)).isoformat(), name)
        elif kind == "audit":
            _, audit_kind, gap, score, auditor_type, student = item
            day += timedelta(days=gap)
            name = f"A{len(audits) + 1}"
            audits.append(name)
            elements = {"policy": score, "hazard_assessment": max(score - 30, 0)}
            ledger.audit(day.isoformat(), name, audit_kind, auditor_type=auditor_type,
                         overall=score, elements=elements, student=student)
        elif kind == "qa" and audits:
            _, which, outcome, gap = item
            day += timedelta(days=gap)
            ledger.qa(day.isoformat(), audits[-1 - which % len(audits)], outcome)
        elif kind == "payroll":
            day += timedelta(days=item[1])
            ledger.add(ev.PayrollReported, day.isoformat(), year=day.year - 1, cu="G100",
                       assessable_payroll=Decimal("100000.00"))
        elif kind == "headcount":
            day += timedelta(days=item[2])
            ledger.add(ev.HeadcountReported, day.isoformat(), headcount=item[1])
        elif kind == "auditor":
            day += timedelta(days=item[2])
            cls = ev.InternalAuditorQualified if item[1] else ev.InternalAuditorLeft
            ledger.add(cls, day.isoformat(), auditor="internal-auditor")
        elif kind == "incident":
            day += timedelta(days=item[1])
            ledger.add(ev.SeriousIncidentReported, day.isoformat(), fatality=False,
                       description="fall")
        elif kind == "review":
            day += timedelta(days=item[2])
            ledger.add(ev.ReviewClosed, day.isoformat(), outcome=item[1])
        elif kind == "revoke":
            day += timedelta(days=item[1])
            ledger.add(ev.CertificationRevoked, day.isoformat(), authority="board",
                       reason="test")
        elif kind == "scope":
            day += timedelta(days=item[2])
            ledger.add(ev.ScopeChanged, day.isoformat(), change="merger",
                       certification_audit_required=item[1])
        elif kind == "program":
            day += timedelta(days=item[2])
            ledger.add(ev.ProgramChanged, day.isoformat(), program=item[1])
        elif kind == "waiver":
            day += timedelta(days=item[1])
            ledger.add(ev.AuditWaiverGranted, day.isoformat(), waiver="W", authority="WSBC")
        elif kind == "void" and len(ledger.events) > 1:
            # voids of voids too: an even draw after a void extends the chain
            last = ledger.events[-1]
            target = last if isinstance(last, ev.EventVoided) and item[1] % 2 == 0 \
                else ledger.events[1 + item[1] % (len(ledger.events) - 1)]
            if target.event_id:
                ledger.add(ev.EventVoided, day.isoformat(), target=target.event_id,
                           reason="sent in error")
    return ledger.events


def probe_dates(events: list[ev.LedgerEvent]) -> st.SearchStrategy[date]:
    first = min(e.effective for e in events)
    last = max(e.effective for e in events)
    return st.dates(first - timedelta(days=30), last + timedelta(days=3 * 366 + 400))


def interval_document(rows: EmployerRows, day: date) -> dict[str, Any]:
    for interval in rows.intervals:
        if interval.valid_from <= day and (interval.valid_to is None or day < interval.valid_to):
            return {**interval.document, "as_of": day.isoformat()}
    return unregistered(rows.employer, day, None)


def lapse_from_rows(rows: EmployerRows, day: date, within: int) -> dict[str, Any] | None:
    for row in rows.lapse_rows():
        if row["valid_from"] <= day and (row["valid_to"] is None or day < row["valid_to"]):
            return lapse_entry_of(SimpleNamespace(**row), day, within)  # type: ignore[arg-type]
    return None


# --- the pure property ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_rows_answer_as_the_fold_does(data: st.DataObject) -> None:
    """On any date, the interval holding it renders the fold's document; its lapse facts
    give the fold's lapse entry for any window; change points leave no gap."""
    events = data.draw(histories())
    rows = employer_rows("E-1", events)
    for earlier, later in zip(rows.intervals, rows.intervals[1:], strict=False):
        assert earlier.valid_to == later.valid_from
        assert (earlier.document, earlier.lapse) != (later.document, later.lapse)
    days = data.draw(st.lists(probe_dates(events), min_size=1, max_size=8))
    days += [i.valid_from for i in rows.intervals]
    days += [i.valid_from - timedelta(days=1) for i in rows.intervals]
    for day in days:
        timeline = fold(events, as_of=day, employer="E-1")
        assert interval_document(rows, day) == render(timeline), day
        within = data.draw(st.sampled_from([0, 1, 7, 30, 45, 60, 90, 365]))
        assert lapse_from_rows(rows, day, within) == lapse_entry(timeline, within), \
            (day, within)


# --- the same through SQL -------------------------------------------------------------------


def to_line(event: ev.LedgerEvent) -> dict[str, Any]:
    """An event as an interchange line (optional data left out when null)."""
    state = event_to_state(event)
    data = {k: v for k, v in state["data"].items()
            if v is not None or k == "certification_audit_required"}
    return {"type": event.type_name(), "id": state["id"], "employer": state["employer"],
            "effective": state["effective"], "recorded_at": state["recorded_at"],
            "by": state["by"], "data": data}


def import_events(store: LedgerStore, events: list[ev.LedgerEvent]) -> None:
    import orjson

    payload = b"".join(orjson.dumps(to_line(e)) + b"\n" for e in events)
    Importer(store, now=datetime(2100, 1, 1, tzinfo=UTC)).run(io.BytesIO(payload))


def renamed(events: list[ev.LedgerEvent], employer: str) -> list[ev.LedgerEvent]:
    """The same history for another employer (ids made unique to it)."""
    out = []
    for e in events:
        changes: dict[str, Any] = {"employer": employer, "event_id": f"{employer}/{e.event_id}"}
        if isinstance(e, ev.EventVoided):
            changes["target"] = f"{employer}/{e.target}"
        out.append(type(e)(**{**e.__dict__, **changes}))
    return out


_counter = iter(range(1_000_000))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_sql_answers_equal_the_fold(module_ledger: LedgerStore, data: st.DataObject) -> None:
    """Each example imports a few more random employers into one ledger; status and lapses
    from the read models (caught up by the query) equal the fold over every stream."""
    store = module_ledger
    batch = []
    names = []
    for _ in range(data.draw(st.integers(1, 3))):
        name = f"E-{next(_counter)}"
        names.append(name)
        batch += renamed(data.draw(histories()), name)
    import_events(store, batch)
    streams = {e: store.stream(e) for e in store.employers()}
    for _ in range(3):
        day = data.draw(probe_dates(batch))
        within = data.draw(st.sampled_from([0, 14, 30, 60, 90, 200]))
        assert lapses_from_read_model(store, day, within) == \
            lapses(streams.values(), day, within)
        for name in [*names, "NEVER-REGISTERED"]:
            expected = render(fold(streams.get(name, []), as_of=day, employer=name))
            assert status_from_read_model(store, name, day) == expected
