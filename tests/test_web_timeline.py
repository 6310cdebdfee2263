"""The timeline's layout (a pure function of the fold): status bands with their names, audits
with verdict and QA, due dates and grace, late-recorded facts and voids on the recorded-time
lane, what was not yet known at known-at; and, over random histories, bands that agree with
the fold and one recorded mark per event inside the drawing."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given, settings

from ledger import events as ev
from projections.timeline import fold
from service.web.timeline import LEFT, RIGHT, WIDTH, Mark, bands, layout
from tests.factories import Ledger, d
from tests.test_status_properties import histories, query_day, query_time


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def certified_then_missed() -> Ledger:
    """Certified 2020-03-20; the first maintenance audit is never done, so it lapses."""
    led = Ledger("EMP")
    led.register("2020-01-06")
    led.certify("2020-03-01", "2020-03-20")
    return led


def by_key(marks: list[Mark], key: str) -> list[Mark]:
    return [m for m in marks if m.key == key]


def test_bands_name_each_status_from_registration_to_as_of() -> None:
    t = fold(certified_then_missed().events, as_of=d("2022-06-01"))
    drawn = bands(t)
    assert [b[0] for b in drawn] == ["registered", "certified", t.status]
    assert t.status in ("cancelled", "expired")
    assert drawn[0][1] == d("2020-01-06") and drawn[0][2] == drawn[1][1] == d("2020-03-20")
    assert drawn[-1][2] is None
    tl = layout(t, certified_then_missed().events)
    assert [b.status for b in tl.bands] == ["registered", "certified", t.status]
    assert all(b.label.startswith(b.status) for b in tl.bands)  # text, not colour alone
    assert f"{t.status} from" in tl.summary


def test_a_renewal_continues_the_certified_band() -> None:
    led = Ledger("EMP")
    led.register("2020-01-06", partner="GENERIC")
    led.certify("2020-03-01", "2020-03-20")
    led.audit("2021-03-01", "M1", kind="maintenance")
    led.qa("2021-03-10", "M1")
    led.audit("2022-03-01", "M2", kind="maintenance")
    led.qa("2022-03-10", "M2")
    led.audit("2023-02-01", "R1", kind="recertification")
    led.qa("2023-02-20", "R1")
    t = fold(led.events, as_of=d("2023-06-01"))
    assert len(t.certificates) == 2 and t.certificates[0].ended == "renewed"
    assert [b[0] for b in bands(t)] == ["registered", "certified"]


def test_audits_show_their_verdict_and_qa_and_the_next_due_date_its_grace() -> None:
    led = Ledger("EMP")
    led.register("2020-01-06", partner="BCCSA")
    led.audit("2020-03-01", "A1", overall=60)
    led.qa("2020-03-20", "A1", outcome="rejected")
    led.audit("2020-05-01", "A2")
    t = fold(led.events, as_of=d("2020-06-01"))
    tl = layout(t, led.events)
    failed = by_key(tl.valid_marks, "EMP-2")
    assert failed[0].shape == "diamond" and failed[0].tone == "fail"
    assert "fail" in failed[0].label
    rejected = by_key(tl.valid_marks, "EMP-3")
    assert rejected[0].tone == "fail" and rejected[0].label == "QA rejected"
    assert any(m.label == "QA pending" and m.tone == "pending" for m in tl.valid_marks)

    done = certified_then_missed()
    t = fold(done.events, as_of=d("2020-06-01"))
    req = t.requirement
    assert req is not None and req.due is not None
    tl = layout(t, done.events)
    flags = [m for m in tl.valid_marks if m.shape == "flag"]
    assert flags and str(req.due) in flags[0].label
    if req.grace_end is not None:
        grace = [m for m in tl.valid_marks if m.tone == "grace"]
        assert grace and str(req.grace_end) in grace[0].label


def test_late_recorded_facts_and_voids_stand_out_on_the_recorded_lane() -> None:
    led = Ledger("EMP")
    led.register("2020-01-06")
    led.audit("2020-03-01", "A1", recorded="2020-09-01")  # recorded six months late
    led.qa("2020-03-20", "A1", recorded="2020-09-02")
    hc = led.add(ev.HeadcountReported, "2020-04-01", headcount=30)
    led.add(ev.EventVoided, "2020-04-02", target=hc.event_id, reason="typo")
    tl = layout(fold(led.events, as_of=d("2020-12-01")), led.events)
    audit = by_key(tl.recorded_marks, "EMP-2")[0]
    assert audit.tone == "late" and "late: 184 days" in audit.label
    assert [c.late for c in tl.connectors if c.key == "EMP-2"] == [True]
    assert by_key(tl.recorded_marks, "EMP-4")[0].tone == "voided"
    void = by_key(tl.recorded_marks, "EMP-5")[0]
    assert void.tone == "void" and void.shape == "cross" and "void of EMP-4" in void.label
    assert "5 events recorded, 2 late-recorded, 1 void." in tl.summary


def test_what_was_recorded_after_known_at_is_drawn_as_not_yet_known() -> None:
    led = Ledger("EMP")
    led.register("2020-01-06")
    led.audit("2020-03-01", "A1", recorded="2020-09-01")
    hc = led.add(ev.HeadcountReported, "2020-04-01", headcount=30)
    led.add(ev.EventVoided, "2020-04-02", target=hc.event_id, reason="typo",
            recorded="2020-10-01")
    known_at = moment("2020-06-01T00:00:00Z")
    tl = layout(fold(led.events, as_of=d("2020-12-01"), known_at=known_at), led.events)
    assert by_key(tl.recorded_marks, "EMP-2")[0].tone == "unknown"
    assert by_key(tl.recorded_marks, "EMP-3")[0].tone == "plain"  # its void came later
    assert by_key(tl.recorded_marks, "EMP-4")[0].tone == "unknown"
    assert tl.known_at_x is not None
    registered = by_key(tl.recorded_marks, "EMP-1")[0].x
    assert registered < tl.known_at_x < by_key(tl.recorded_marks, "EMP-2")[0].x
    assert not by_key(tl.valid_marks, "EMP-2")  # the audit is not in the valid lane then


def test_the_selected_event_is_carried_for_the_drawing() -> None:
    led = certified_then_missed()
    tl = layout(fold(led.events, as_of=d("2020-06-01")), led.events, selected="EMP-3")
    assert tl.selected == "EMP-3"


@settings(max_examples=120, deadline=None)
@given(histories(), query_day, query_time)
def test_bands_agree_with_the_fold_and_every_event_has_one_recorded_mark(
    events: list[ev.LedgerEvent], as_of: date, known_at: datetime | None
) -> None:
    t = fold(events, as_of=as_of, known_at=known_at, employer="EMP")
    drawn = bands(t)
    if t.registration is None:
        assert drawn == []
    else:
        assert drawn[0][1] == t.registration.registered
        assert all(a[2] == b[1] for a, b in zip(drawn, drawn[1:], strict=False))
        assert all(a[0] != b[0] for a, b in zip(drawn, drawn[1:], strict=False))
        on_as_of = [s for s, start, end in drawn if start <= as_of and (end is None
                                                                        or as_of < end)]
        assert on_as_of == [t.status]
    tl = layout(t, events)
    keys = [m.key for m in tl.recorded_marks]
    assert sorted(keys, key=str) == sorted((e.event_id for e in events), key=str)
    for m in tl.recorded_marks:
        event = next(e for e in events if e.event_id == m.key)
        assert (m.tone == "unknown") == (known_at is not None and event.recorded_at > known_at)
    for m in [*tl.valid_marks, *tl.recorded_marks]:
        assert LEFT <= m.x <= WIDTH - RIGHT
