"""The decisions of the second set (DOMAIN.md, 2026-11-29), each pinned at its boundary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger import events as ev
from ledger.codec import new_event
from projections.status import status
from tests.conftest import Cli, line, registration
from tests.factories import Ledger, at, d


def st(ledger: Ledger, as_of: str) -> dict[str, Any]:
    return status(ledger.events, as_of=d(as_of), employer=ledger.employer)


def amhsa(program: str = "SECOR") -> Ledger:
    """AMHSA SECOR, certified 2021-06-15 by an internal audit completed 2021-05-10."""
    ledger = Ledger("AB-1")
    ledger.register("2021-01-05", partner="AMHSA", program=program, headcount=8)
    ledger.auditor("2021-01-05", "kim")
    ledger.audit("2021-06-01", "A1", auditor_type="internal", auditor="kim",
                 completed="2021-05-10")
    ledger.qa("2021-06-15", "A1")
    return ledger


@pytest.mark.parametrize(("auditor_type", "counts"), [("internal", True), ("external", True)])
def test_amhsa_secor_maintenance_is_internal_and_an_external_still_counts(
        auditor_type: str, counts: bool) -> None:
    ledger = amhsa()
    assert st(ledger, "2021-07-01")["next_audit"]["auditor"] == "internal"
    ledger.audit("2022-05-01", "M1", "maintenance", auditor_type=auditor_type, auditor="kim",
                 started="2022-04-20", completed="2022-04-25")
    ledger.qa("2022-05-05", "M1")
    assert st(ledger, "2022-06-01")["status"] == "certified"
    assert st(ledger, "2022-06-01")["next_audit"]["kind"] == "maintenance"


def test_amhsa_recertification_falls_due_a_year_after_the_last_audit_if_earlier() -> None:
    ledger = amhsa()  # expires 2024-06-15
    for n, (sub, comp, qa) in enumerate([("2022-05-01", "2022-04-25", "2022-05-05"),
                                          ("2023-03-01", "2023-02-20", "2023-03-05")], 1):
        ledger.audit(sub, f"M{n}", "maintenance", auditor_type="internal", auditor="kim",
                     started=comp, completed=comp)
        ledger.qa(qa, f"M{n}")
    doc = st(ledger, "2023-04-01")
    assert doc["next_audit"]["kind"] == "recertification"
    assert doc["next_audit"]["due"] == "2024-02-20"  # before the expiry 2024-06-15
    assert st(ledger, "2024-02-20")["status"] == "certified"
    assert st(ledger, "2024-02-21")["status"] == "expired"


def test_an_audit_is_judged_by_the_size_on_its_started_date() -> None:
    """BCCSA: Small (<= 19) may use an internal certification auditor, Large may not."""
    ledger = Ledger("BC-S")
    ledger.register("2021-01-05", partner="BCCSA", headcount=15)
    ledger.auditor("2021-01-05", "pat")
    ledger.audit("2021-06-01", "A1", auditor_type="internal", auditor="pat",
                 started="2021-05-01", completed="2021-05-20")
    ledger.add(ev.HeadcountReported, "2021-05-10", headcount=40)  # large after the start
    ledger.qa("2021-06-15", "A1")
    assert st(ledger, "2021-07-01")["status"] == "certified"


def test_an_audit_started_when_large_needs_an_external_auditor() -> None:
    ledger = Ledger("BC-L")
    ledger.register("2021-01-05", partner="BCCSA", headcount=40)
    ledger.auditor("2021-01-05", "pat")
    ledger.audit("2021-06-01", "A1", auditor_type="internal", auditor="pat",
                 started="2021-05-01", completed="2021-05-20")
    ledger.add(ev.HeadcountReported, "2021-05-10", headcount=15)  # small only after it
    ledger.qa("2021-06-15", "A1")
    doc = st(ledger, "2021-07-01")
    assert doc["status"] == "registered"
    assert any(b["rule"] == "BCCSA-2000.certification-auditor" for b in doc["because"])


@pytest.mark.parametrize(("notice_on", "late"), [("2022-04-17", False), ("2022-04-18", True),
                                                 (None, True)])
def test_a_late_go2hr_notice_does_not_void_the_audit_and_because_says_so(
        notice_on: str | None, late: bool) -> None:
    notes = _go2hr_notice_notes("GO-N", [] if notice_on is None else [notice_on])
    assert bool(notes) is late
    if late:
        assert "the notice is late; the audit is not voided, QA decides" in notes[0]["says"]


def _go2hr_notice_notes(employer: str, filed: list[str]) -> list[dict[str, Any]]:
    """A go2HR SECOR employer certified from audit A1 (started 2022-05-01, accepted
    2022-06-01) with notices of A1 filed on ``filed``: its status's notice-rule entries."""
    ledger = Ledger(employer)
    ledger.register("2022-01-10", partner="GO2HR", program="SECOR", headcount=8)
    ledger.auditor("2022-01-10", "sam")
    for day in filed:
        ledger.add(ev.AuditNoticeFiled, day, audit="A1", planned_start=d("2022-05-01"))
    ledger.audit("2022-05-20", "A1", auditor_type="internal", auditor="sam",
                 started="2022-05-01", completed="2022-05-10")
    ledger.qa("2022-06-01", "A1")
    doc = st(ledger, "2022-06-10")
    assert doc["status"] == "certified"
    return [b for b in doc["because"] if b["rule"] == "GO2HR-2000.audit-notice"]


@pytest.mark.parametrize(("first", "again", "late"), [("2022-04-10", "2022-04-25", False),
                                                   ("2022-04-17", "2022-04-30", False),
                                                   ("2022-04-18", "2022-04-25", True)])
def test_a_notice_filed_again_is_on_time_when_the_earliest_notice_was(
        first: str, again: str, late: bool) -> None:
    """go2HR: a notice re-filed for the same start does not make an on-time notice late; the
    earliest notice of the audit decides (docs/open-questions.md)."""
    notes = _go2hr_notice_notes("GO-R", [first, again])
    assert bool(notes) is late
    if late:
        assert f"filed {first}," in notes[0]["says"]


@pytest.mark.parametrize(("first", "late"), [("2022-04-10", False), ("2022-04-11", True)])
def test_a_bccsa_team_notice_filed_again_is_on_time_when_the_earliest_notice_was(
        first: str, late: bool) -> None:
    ledger = Ledger("BC-T")
    ledger.register("2022-01-10", partner="BCCSA", headcount=40)
    for filed in (first, "2022-04-25"):
        ledger.add(ev.AuditNoticeFiled, filed, audit="A1", planned_start=d("2022-05-01"),
                   team=True)
    ledger.audit("2022-05-20", "A1", started="2022-05-01", completed="2022-05-10")
    ledger.qa("2022-06-01", "A1")
    doc = st(ledger, "2022-06-10")
    notes = [b for b in doc["because"] if b["rule"] == "BCCSA-2000.audit-notice"]
    assert bool(notes) is late


def test_a_recertification_submitted_after_expiry_is_a_new_certification_on_its_qa_date(
        ) -> None:
    ledger = Ledger("GEN-R")
    ledger.register("2015-01-05")
    ledger.certify("2015-06-01", "2015-06-15")  # expires 2018-06-15
    for n, year in ((2, 2016), (3, 2017)):
        ledger.audit(f"{year}-06-01", f"A{n}", "maintenance")
        ledger.qa(f"{year}-06-10", f"A{n}")
    ledger.audit("2018-06-16", "R1", "recertification")  # a day late
    ledger.qa("2018-07-01", "R1")
    doc = st(ledger, "2018-07-02")
    assert doc["certificate"]["issued"] == "2018-07-01"  # never backdated to 2018-06-15
    assert st(ledger, "2018-06-20")["status"] == "expired"


def test_qa_pending_is_not_raised_by_an_audit_that_cannot_meet_the_next_requirement() -> None:
    ledger = Ledger("GEN-Q")
    ledger.register("2015-01-05")
    ledger.audit("2015-06-01", "M0", "maintenance")  # no certificate: cannot count
    assert "qa_pending" not in st(ledger, "2015-06-02")["flags"]
    ledger.audit("2015-06-05", "A1")
    assert "qa_pending" in st(ledger, "2015-06-06")["flags"]


def test_go2hr_secor_before_the_first_certificate_does_not_raise_no_internal_auditor(
        ) -> None:
    ledger = Ledger("GO-S")
    ledger.register("2022-01-10", partner="GO2HR", program="SECOR", headcount=8)
    assert "no_internal_auditor" not in st(ledger, "2022-02-01")["flags"]
    ledger.audit("2022-04-25", "A1", auditor_type="internal", auditor="sam", student=True)
    ledger.qa("2022-05-05", "A1")
    doc = st(ledger, "2022-06-01")
    assert doc["next_audit"]["auditor"] == "internal"
    assert "no_internal_auditor" in doc["flags"]  # certified, and no trained auditor on file


def test_reference_rates_voided_without_employer_are_not_used() -> None:
    from projections.incentive import incentive

    ledger = Ledger("BC-1")
    ledger.register("2022-09-01", partner="BCCSA", headcount=12)
    ledger.certify("2023-06-01", "2023-06-20")
    ledger.add(ev.PayrollReported, "2024-02-15", year=2023, cu="G100",
               assessable_payroll=Decimal("2000000.00"), deadline=None)
    ref = Ledger("reference")
    ref.add(ev.BaseRateSet, "2023-01-01", "2023-01-01", event_id="r1", jurisdiction="BC",
            cu="G100", year=2023, base_rate=Decimal("4.00"))
    ref.add(ev.BaseRateSet, "2023-01-01", "2023-02-01", event_id="r2", jurisdiction="BC",
            cu="G100", year=2023, base_rate=Decimal("5.00"))
    doc = incentive(ledger.events, ref.events, year=2023, employer="BC-1")
    assert doc["amount"] == "10000.00"  # the rate recorded later wins
    void = new_event("EventVoided", employer=None, version=3, effective=d("2023-03-01"),
                     recorded_at=at("2023-03-01"), appended_at=at("2023-03-01"),
                     event_id="v1", target="r2", reason="wrong rate")
    doc = incentive(ledger.events, [*ref.events, void], year=2023, employer="BC-1")
    assert doc["amount"] == "8000.00"


@pytest.mark.parametrize(("day", "expected", "pending"), [
    ("2022-02-14", "certified", True),   # the last day of grace
    ("2022-02-15", "certified", True),   # past grace, held by the audit in QA
    ("2022-03-04", "certified", True),
    ("2022-03-05", "cancelled", False),  # QA rejected it: cancelled from the rejection date
])
def test_an_audit_submitted_during_grace_and_still_in_qa_holds_the_certificate(
        day: str, expected: str, pending: bool) -> None:
    ledger = Ledger("BC-H")
    ledger.register("2020-01-06", partner="BCCSA", headcount=30)
    ledger.certify("2020-06-01", "2020-06-15")  # maintenance 1 due 2021-12-31, grace 45 days
    ledger.audit("2022-02-10", "M1", "maintenance", started="2021-12-28",
                 completed="2021-12-30")
    ledger.qa("2022-03-05", "M1", "rejected")
    doc = st(ledger, day)
    assert doc["status"] == expected
    assert ("qa_pending" in doc["flags"]) is pending


@pytest.mark.parametrize(("as_of", "listed"), [("2022-05-15", True), ("2022-05-16", False)])
def test_a_missed_entry_is_listed_while_its_grace_end_is_within_the_window(
        cli: Cli, as_of: str, listed: bool) -> None:
    """BCCSA maintenance due 2021-12-31, grace to 2022-02-14: missed, listed for 90 days
    after the grace end, days_left counted from the due date (read models and fold)."""
    lines: list[dict[str, Any] | str] = [
        registration("BC-M", "2020-01-06", partner="BCCSA", headcount=30),
        line("AuditSubmitted", "BC-M", "2020-06-01", {
            "audit": "A1", "kind": "certification", "auditor": "x", "auditor_type": "external",
            "started": "2020-05-20", "completed": "2020-05-25", "overall": 85,
            "elements": {"policy": 88}}),
        line("QADecided", "BC-M", "2020-06-15", {"audit": "A1", "outcome": "accepted"})]
    assert cli.import_lines(lines).exit_code == 0
    found = cli.json("lapses", "--as-of", as_of, "--within", "90")
    if listed:
        assert [(e["level"], e["due"], e["days_left"]) for e in found] == [
            ("missed", "2021-12-31", -135)]
    else:
        assert found == []


@pytest.mark.parametrize(("within", "listed"), [(0, False), (42, False), (43, True)])
def test_a_held_audit_is_listed_only_when_its_due_is_within_the_window_ahead(
        cli: Cli, within: int, listed: bool) -> None:
    """BCCSA M1 at 75% holds the certificate by its limited-scope window (to 2022-03-31); the
    re-audit L1 is in QA on 2022-02-16, 43 days before the close: listed (critical,
    qa_pending) only with --within 43 or more (read models, as the fold)."""
    audit = {"auditor": "x", "auditor_type": "external", "elements": {"policy": 88}}
    lines: list[dict[str, Any] | str] = [
        registration("BC-HW", "2020-01-06", partner="BCCSA", headcount=25),
        line("AuditSubmitted", "BC-HW", "2020-05-01", {
            **audit, "audit": "C1", "kind": "certification", "started": "2020-04-20",
            "completed": "2020-04-28", "overall": 85}),
        line("QADecided", "BC-HW", "2020-05-15", {"audit": "C1", "outcome": "accepted"}),
        line("AuditSubmitted", "BC-HW", "2021-12-31", {
            **audit, "audit": "M1", "kind": "maintenance", "started": "2021-12-20",
            "completed": "2021-12-31", "overall": 75, "elements": {"policy": 75}}),
        line("QADecided", "BC-HW", "2022-01-10", {"audit": "M1", "outcome": "accepted"}),
        line("AuditSubmitted", "BC-HW", "2022-02-15", {
            **audit, "audit": "L1", "kind": "limited_scope", "started": "2022-02-10",
            "completed": "2022-02-12", "overall": 85})]
    assert cli.import_lines(lines).exit_code == 0
    found = cli.json("lapses", "--as-of", "2022-02-16", "--within", str(within))
    if listed:
        assert [(e["level"], e["due"], e["days_left"], e["reasons"][0]) for e in found] == [
            ("critical", "2022-03-31", 43, "qa_pending")]
    else:
        assert found == []


@pytest.mark.parametrize(("as_of", "listed"), [("2022-03-31", True), ("2022-04-01", False)])
def test_a_held_audit_is_listed_critical_within_the_window_from_its_due(
        cli: Cli, as_of: str, listed: bool) -> None:
    """BCCSA maintenance due 2021-12-31, submitted in grace and still in QA: critical with
    qa_pending for 90 days from the due date, then no longer listed."""
    lines: list[dict[str, Any] | str] = [
        registration("BC-Q", "2020-01-06", partner="BCCSA", headcount=30),
        line("AuditSubmitted", "BC-Q", "2020-06-01", {
            "audit": "A1", "kind": "certification", "auditor": "x", "auditor_type": "external",
            "started": "2020-05-20", "completed": "2020-05-25", "overall": 85,
            "elements": {"policy": 88}}),
        line("QADecided", "BC-Q", "2020-06-15", {"audit": "A1", "outcome": "accepted"}),
        line("AuditSubmitted", "BC-Q", "2022-02-10", {
            "audit": "M1", "kind": "maintenance", "auditor": "x", "auditor_type": "external",
            "started": "2021-12-28", "completed": "2021-12-30", "overall": 85,
            "elements": {"policy": 88}})]
    assert cli.import_lines(lines).exit_code == 0
    found = cli.json("lapses", "--as-of", as_of, "--within", "90")
    assert cli.json("status", "BC-Q", "--as-of", as_of)["status"] == "certified"
    if listed:
        assert [(e["level"], e["due"], e["reasons"][0]) for e in found] == [
            ("critical", "2021-12-31", "qa_pending")]
    else:
        assert found == []
