"""The status fold: the cycle per rulebook at its boundary dates, both time axes, voids,
and the public scenarios' situations re-expressed as unit tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger import events as ev
from projections.status import fold, status
from tests.factories import Ledger, at, d


def st(ledger: Ledger, as_of: str, known_at: str | None = None) -> dict[str, Any]:
    return status(ledger.events, as_of=d(as_of), known_at=at(known_at) if known_at else None,
                  employer=ledger.employer)


def generic_certified(employer: str = "GEN-1", **kw: Any) -> Ledger:
    """Scenario 01's start: GENERIC COR, certified 2015-06-15 (expires 2018-06-15)."""
    ledger = Ledger(employer)
    ledger.register("2015-01-05", **kw)
    ledger.certify("2015-06-01", "2015-06-15")
    ledger.auditor("2015-01-05")
    return ledger


def maintain(ledger: Ledger, submitted: str, accepted: str, audit: str, **kw: Any) -> None:
    kw.setdefault("auditor_type", "internal")
    ledger.audit(submitted, audit, "maintenance", **kw)
    ledger.qa(accepted, audit)


# --- scenarios ------------------------------------------------------------------------------


def test_scenario_01_three_year_cycle_then_expiry_without_renewal() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-10", "A2")
    maintain(ledger, "2017-06-05", "2017-06-12", "A3")
    first = st(ledger, "2015-06-01")
    assert (first["status"], first["certificate"]) == ("registered", None)
    issued = st(ledger, "2015-07-01")
    assert issued["status"] == "certified" and issued["program"] == "COR"
    assert issued["certificate"] == {"issued": "2015-06-15", "expires": "2018-06-15",
                                     "cycle_year": 1}
    assert issued["next_audit"] == {"kind": "maintenance", "due": "2016-06-15",
                                    "auditor": "either"}
    third = st(ledger, "2017-12-01")
    assert third["certificate"]["cycle_year"] == 3
    assert third["next_audit"]["kind"] == "recertification"
    assert third["next_audit"]["due"] == "2018-06-15"
    assert st(ledger, "2018-06-15")["status"] == "certified"
    gone = st(ledger, "2018-07-01")
    assert gone["status"] == "expired" and gone["next_audit"]["kind"] == "certification"
    assert gone["certificate"] is None


def test_scenario_02_a_missed_maintenance_audit_cancels_the_day_after_the_anniversary() -> None:
    ledger = generic_certified("GEN-2", headcount=40)
    assert st(ledger, "2016-06-15")["status"] == "certified"
    cancelled = st(ledger, "2016-06-16")
    assert cancelled["status"] == "cancelled"
    assert cancelled["next_audit"] == {"kind": "certification", "due": None,
                                       "auditor": "external"}
    assert cancelled["because"][-1]["rule"] == "COR-2000.missed-audit"
    assert st(ledger, "2016-06-20")["status"] == "cancelled"


def test_scenario_04_a_low_element_fails_and_opens_a_limited_scope_window() -> None:
    ledger = bccsa_large_with_low_element()
    doc = st(ledger, "2022-05-10")
    assert (doc["status"], doc["size_class"], doc["certificate"]) == ("registered", "large",
                                                                      None)
    assert "limited_scope_window_open" in doc["flags"]
    assert doc["next_audit"]["kind"] == "limited_scope"
    assert doc["next_audit"]["due"] == "2022-07-14"
    assert st(ledger, "2022-07-14")["next_audit"]["kind"] == "limited_scope"
    closed = st(ledger, "2022-07-15")
    assert "limited_scope_window_open" not in closed["flags"]
    assert closed["next_audit"]["kind"] == "certification"


def test_scenario_06_a_late_recorded_maintenance_audit() -> None:
    ledger = Ledger("GEN-6")
    ledger.register("2015-01-05", recorded="2015-01-05T10:00:00Z")
    ledger.audit("2015-06-01", "A1", recorded="2015-06-01T12:00:00Z")
    ledger.qa("2015-06-15", "A1", recorded="2015-06-15T12:00:00Z")
    ledger.auditor("2015-01-05", recorded="2016-08-01T09:00:00Z")
    maintain_at = "2016-08-01T09:00:00Z"
    ledger.audit("2016-06-01", "A2", "maintenance", auditor_type="internal",
                 recorded=maintain_at)
    ledger.qa("2016-06-10", "A2", recorded="2016-08-01T09:05:00Z")
    assert st(ledger, "2016-07-01", "2016-07-01T00:00:00Z")["status"] == "cancelled"
    assert st(ledger, "2016-07-01")["status"] == "certified"
    assert st(ledger, "2016-07-01", "2016-08-01T09:00:00Z")["status"] == "certified"


def test_scenario_03_a_small_bccsa_employer_certified_by_its_internal_auditor() -> None:
    ledger = Ledger("BC-1")
    ledger.register("2022-09-01", partner="BCCSA", headcount=12, cus=("721002",))
    ledger.auditor("2022-10-15", "pat")
    ledger.audit("2023-06-01", "A1", auditor_type="internal", auditor="pat",
                 started="2023-05-01", completed="2023-05-20", overall=86)
    ledger.qa("2023-06-20", "A1")
    doc = st(ledger, "2023-07-01")
    assert (doc["status"], doc["size_class"]) == ("certified", "small")
    assert doc["certificate"]["expires"] == "2026-06-20"
    assert doc["next_audit"] == {"kind": "maintenance", "due": "2024-12-31",
                                 "auditor": "either"}


def test_never_registered_is_unregistered() -> None:
    doc = status([], as_of=date(2020, 1, 1), employer="NOBODY")
    assert doc["status"] == "unregistered"
    assert doc["partner"] is None and doc["next_audit"] is None and doc["because"] == []


# --- the cycle at its boundaries -------------------------------------------------------------


def test_generic_maintenance_submitted_on_the_anniversary_counts() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-15", "2016-06-15", "A2")
    doc = st(ledger, "2016-06-16")
    assert doc["status"] == "certified"
    assert doc["next_audit"]["due"] == "2017-06-15"


def test_generic_maintenance_submitted_the_day_after_the_anniversary_is_too_late() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-16", "2016-06-20", "A2")
    assert st(ledger, "2016-07-01")["status"] == "cancelled"


def test_generic_second_maintenance_due_on_the_second_anniversary() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-10", "A2")
    assert st(ledger, "2017-06-15")["status"] == "certified"
    assert st(ledger, "2017-06-16")["status"] == "cancelled"


def test_an_audit_still_in_qa_at_the_due_date_keeps_the_certificate() -> None:
    ledger = generic_certified()
    ledger.audit("2016-06-10", "A2", "maintenance", auditor_type="internal")
    doc = st(ledger, "2016-07-15")
    assert doc["status"] == "certified" and "qa_pending" in doc["flags"]
    ledger.qa("2016-08-01", "A2")
    after = st(ledger, "2016-08-02")
    assert after["status"] == "certified" and after["next_audit"]["due"] == "2017-06-15"


def test_a_qa_rejection_after_the_due_date_cancels_from_the_rejection_date() -> None:
    ledger = generic_certified()
    ledger.audit("2016-06-10", "A2", "maintenance", auditor_type="internal")
    ledger.qa("2016-08-01", "A2", "rejected")
    assert st(ledger, "2016-07-31")["status"] == "certified"
    assert st(ledger, "2016-08-01")["status"] == "cancelled"
    assert fold(ledger.events, as_of=d("2016-09-01")).certificates[0].ended_on == \
        d("2016-08-01")


def test_a_rejection_before_the_due_date_leaves_time_for_another_audit() -> None:
    ledger = generic_certified()
    ledger.audit("2016-05-01", "A2", "maintenance", auditor_type="internal")
    ledger.qa("2016-05-10", "A2", "rejected")
    maintain(ledger, "2016-06-14", "2016-06-20", "A2b")
    assert st(ledger, "2016-07-01")["status"] == "certified"


def test_recertification_submitted_on_expiry_and_accepted_later_is_continuous() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-10", "A2")
    maintain(ledger, "2017-06-05", "2017-06-12", "A3")
    ledger.audit("2018-06-15", "A4", "recertification")
    during = st(ledger, "2018-07-01")
    assert during["status"] == "certified" and "qa_pending" in during["flags"]
    ledger.qa("2018-07-20", "A4")
    renewed = st(ledger, "2018-08-01")
    assert renewed["certificate"] == {"issued": "2018-06-15", "expires": "2021-06-15",
                                      "cycle_year": 1}
    assert any(b["rule"] == "COR-2000.renewal-continuity" for b in renewed["because"])
    assert renewed["next_audit"]["due"] == "2019-06-15"


def test_recertification_accepted_before_expiry_is_issued_on_its_qa_date() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-10", "A2")
    maintain(ledger, "2017-06-05", "2017-06-12", "A3")
    ledger.audit("2018-05-01", "A4", "recertification")
    ledger.qa("2018-05-20", "A4")
    doc = st(ledger, "2018-06-01")
    assert doc["certificate"]["issued"] == "2018-05-20"


def test_recertification_submitted_the_day_after_expiry_does_not_renew() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-10", "A2")
    maintain(ledger, "2017-06-05", "2017-06-12", "A3")
    ledger.audit("2018-06-16", "A4", "recertification")
    ledger.qa("2018-06-20", "A4")
    doc = st(ledger, "2018-06-17")
    assert doc["status"] == "expired"


def test_a_certification_audit_after_expiry_starts_a_new_cycle() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-10", "A2")
    maintain(ledger, "2017-06-05", "2017-06-12", "A3")
    ledger.audit("2018-09-01", "A4", "certification")
    ledger.qa("2018-09-20", "A4")
    doc = st(ledger, "2018-10-01")
    assert doc["status"] == "certified" and doc["certificate"]["issued"] == "2018-09-20"


def test_cycle_year_turns_on_each_anniversary() -> None:
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-10", "A2")
    assert st(ledger, "2016-06-14")["certificate"]["cycle_year"] == 1
    assert st(ledger, "2016-06-15")["certificate"]["cycle_year"] == 2
    maintain(ledger, "2017-06-05", "2017-06-12", "A3")
    assert st(ledger, "2017-06-15")["certificate"]["cycle_year"] == 3


def bccsa_certified(headcount: int = 30) -> Ledger:
    ledger = Ledger("BC-9")
    ledger.register("2022-09-01", partner="BCCSA", headcount=headcount)
    ledger.auditor("2022-09-01")
    ledger.audit("2023-06-01", "A1", started="2023-05-01", completed="2023-05-20")
    ledger.qa("2023-06-20", "A1")
    return ledger


def test_bccsa_maintenance_completed_by_dec_31_submitted_in_grace_counts() -> None:
    ledger = bccsa_certified()
    assert st(ledger, "2025-02-14")["status"] == "certified"  # in grace, nothing yet
    ledger.audit("2025-02-14", "A2", "maintenance", auditor_type="internal",
                 started="2024-12-31", completed="2024-12-31")
    ledger.qa("2025-03-01", "A2")
    doc = st(ledger, "2025-03-02")
    assert doc["status"] == "certified" and doc["next_audit"]["due"] == "2025-12-31"


def test_bccsa_maintenance_missing_at_grace_end_cancels_the_day_after() -> None:
    ledger = bccsa_certified()
    assert st(ledger, "2025-02-14")["status"] == "certified"
    assert st(ledger, "2025-02-15")["status"] == "cancelled"


def test_bccsa_maintenance_completed_after_dec_31_does_not_count() -> None:
    ledger = bccsa_certified()
    ledger.audit("2025-01-20", "A2", "maintenance", auditor_type="internal",
                 started="2025-01-01", completed="2025-01-01")
    ledger.qa("2025-01-30", "A2")
    assert st(ledger, "2025-02-15")["status"] == "cancelled"


def test_bccsa_audit_submitted_more_than_45_days_after_its_start_does_not_count() -> None:
    ledger = Ledger("BC-8")
    ledger.register("2022-09-01", partner="BCCSA", headcount=30)
    ledger.audit("2023-06-16", "A1", started="2023-05-01", completed="2023-05-20")
    ledger.qa("2023-06-20", "A1")
    late = st(ledger, "2023-07-01")
    assert late["status"] == "registered"
    assert any("45 days" in b["says"] for b in late["because"])
    on_time = Ledger("BC-7")
    on_time.register("2022-09-01", partner="BCCSA", headcount=30)
    on_time.audit("2023-06-15", "A1", started="2023-05-01", completed="2023-05-20")
    on_time.qa("2023-06-20", "A1")
    assert st(on_time, "2023-07-01")["status"] == "certified"


def bccsa_large_with_low_element(overall: int = 85) -> Ledger:
    ledger = Ledger("BC-2")
    ledger.register("2022-01-10", partner="BCCSA", headcount=30)
    ledger.audit("2022-04-25", "A1", started="2022-04-01", completed="2022-04-15",
                 overall=overall, elements={"policy": 90, "hazard_assessment": 45})
    ledger.qa("2022-05-05", "A1")
    return ledger


def test_a_limited_scope_audit_in_the_window_repairs_and_certifies_on_its_qa_date() -> None:
    ledger = bccsa_large_with_low_element()
    ledger.audit("2022-07-20", "L1", "limited_scope", started="2022-07-10",
                 completed="2022-07-14", overall=84, elements={"hazard_assessment": 70})
    assert st(ledger, "2022-07-21")["status"] == "registered"
    ledger.qa("2022-08-01", "L1")
    doc = st(ledger, "2022-08-02")
    assert doc["status"] == "certified"
    assert doc["certificate"]["issued"] == "2022-08-01"
    assert "limited_scope_window_open" not in doc["flags"]


def test_a_limited_scope_audit_completed_after_the_window_does_not_count() -> None:
    ledger = bccsa_large_with_low_element()
    ledger.audit("2022-07-20", "L1", "limited_scope", started="2022-07-15",
                 completed="2022-07-15", overall=84, elements={"hazard_assessment": 70})
    ledger.qa("2022-08-01", "L1")
    assert st(ledger, "2022-08-02")["status"] == "registered"


def test_a_limited_scope_result_that_still_fails_does_not_certify() -> None:
    ledger = bccsa_large_with_low_element(overall=75)
    ledger.audit("2022-07-01", "L1", "limited_scope", started="2022-06-25",
                 completed="2022-06-28", overall=78, elements={"hazard_assessment": 70})
    ledger.qa("2022-07-05", "L1")
    assert st(ledger, "2022-07-06")["status"] == "registered"


def test_below_70_overall_needs_a_full_re_audit() -> None:
    ledger = bccsa_large_with_low_element(overall=65)
    doc = st(ledger, "2022-05-10")
    assert doc["next_audit"]["kind"] == "certification"
    assert "limited_scope_window_open" not in doc["flags"]


def test_generic_has_no_limited_scope_window() -> None:
    ledger = Ledger("GEN-LS")
    ledger.register("2015-01-05")
    ledger.audit("2015-06-01", "A1", overall=75)
    ledger.qa("2015-06-15", "A1")
    doc = st(ledger, "2015-07-01")
    assert doc["next_audit"]["kind"] == "certification" and doc["flags"] == []


def test_an_internal_auditor_where_an_external_one_is_needed_does_not_count() -> None:
    ledger = Ledger("BC-3")
    ledger.register("2022-01-10", partner="BCCSA", headcount=20)
    ledger.auditor("2022-01-10", "pat")
    ledger.audit("2022-04-25", "A1", auditor_type="internal", auditor="pat",
                 started="2022-04-01", completed="2022-04-15")
    ledger.qa("2022-05-05", "A1")
    doc = st(ledger, "2022-06-01")
    assert doc["status"] == "registered"
    assert any(b["rule"] == "BCCSA-2000.certification-auditor" and "external" in b["says"]
               for b in doc["because"])


def test_an_internal_audit_needs_a_qualified_internal_auditor() -> None:
    ledger = Ledger("BC-4")
    ledger.register("2022-01-10", partner="BCCSA", headcount=5)
    ledger.auditor("2022-01-10", "pat")
    ledger.add(ev.InternalAuditorLeft, "2022-03-01", auditor="pat")
    ledger.audit("2022-04-25", "A1", auditor_type="internal", auditor="pat",
                 started="2022-04-01", completed="2022-04-15")
    ledger.qa("2022-05-05", "A1")
    doc = st(ledger, "2022-06-01")
    assert doc["status"] == "registered"
    assert any(b["rule"] == "COR-2000.internal-auditor" for b in doc["because"])


def test_bccsa_student_audits_never_count() -> None:
    ledger = Ledger("BC-5")
    ledger.register("2022-01-10", partner="BCCSA", headcount=5)
    ledger.audit("2022-04-25", "A1", student=True, started="2022-04-01",
                 completed="2022-04-15")
    ledger.qa("2022-05-05", "A1")
    doc = st(ledger, "2022-06-01")
    assert doc["status"] == "registered"
    assert any(b["rule"] == "BCCSA-2000.student-audit" for b in doc["because"])


def test_go2hr_student_audit_is_the_certification_audit() -> None:
    ledger = Ledger("GO-1")
    ledger.register("2022-01-10", partner="GO2HR", program="SECOR", headcount=8)
    ledger.audit("2022-04-25", "A1", auditor_type="internal", auditor="sam", student=True)
    ledger.qa("2022-05-05", "A1")
    doc = st(ledger, "2022-06-01")
    assert doc["status"] == "certified" and doc["size_class"] is None
    assert doc["next_audit"] == {"kind": "maintenance", "due": "2023-12-31",
                                 "auditor": "internal"}  # every go2HR SECOR audit


def test_go2hr_secor_external_certification_audit_does_not_count() -> None:
    ledger = Ledger("GO-2")
    ledger.register("2022-01-10", partner="GO2HR", program="SECOR", headcount=8)
    ledger.audit("2022-04-25", "A1")
    ledger.qa("2022-05-05", "A1")
    assert st(ledger, "2022-06-01")["status"] == "registered"


def amhsa_certified() -> Ledger:
    ledger = Ledger("AB-1")
    ledger.register("2021-01-05", partner="AMHSA", program="SECOR", headcount=8)
    ledger.auditor("2021-01-05", "kim")
    ledger.audit("2021-06-01", "A1", auditor_type="internal", auditor="kim",
                 completed="2021-05-10")
    ledger.qa("2021-06-15", "A1")
    return ledger


def test_amhsa_maintenance_due_one_year_after_the_last_audit_completed() -> None:
    ledger = amhsa_certified()
    doc = st(ledger, "2021-07-01")
    assert doc["next_audit"] == {"kind": "maintenance", "due": "2022-05-10",
                                 "auditor": "internal"}  # seed 003: internal audits
    assert st(ledger, "2022-05-10")["status"] == "certified"
    assert st(ledger, "2022-05-11")["status"] == "cancelled"


def test_amhsa_a_failing_maintenance_audit_counts_when_qa_accepts_it() -> None:
    ledger = amhsa_certified()
    ledger.audit("2022-05-10", "A2", "maintenance", auditor_type="internal", auditor="kim",
                 completed="2022-05-01", overall=55)
    ledger.qa("2022-05-10", "A2")
    doc = st(ledger, "2022-06-01")
    assert doc["status"] == "certified" and doc["next_audit"]["due"] == "2023-05-01"


def test_a_revocation_ends_the_certificate_and_requires_an_external_audit() -> None:
    ledger = amhsa_certified()
    ledger.add(ev.CertificationRevoked, "2021-09-01", authority="AB JEND", reason="review")
    doc = st(ledger, "2021-09-01")
    assert doc["status"] == "revoked" and doc["certificate"] is None
    assert doc["next_audit"] == {"kind": "certification", "due": None, "auditor": "external"}
    ledger.audit("2021-10-01", "A2", auditor_type="internal", auditor="kim")
    ledger.qa("2021-10-10", "A2")
    assert st(ledger, "2021-11-01")["status"] == "revoked"
    ledger.audit("2021-11-05", "A3", auditor_type="external")
    ledger.qa("2021-11-20", "A3")
    assert st(ledger, "2021-12-01")["status"] == "certified"


def test_a_serious_incident_opens_a_review_until_it_closes() -> None:
    ledger = generic_certified()
    ledger.add(ev.SeriousIncidentReported, "2015-09-01", fatality=True, description="fall")
    assert "under_review" in st(ledger, "2015-09-01")["flags"]
    ledger.add(ev.ReviewClosed, "2015-10-01", outcome="certificate_stands")
    doc = st(ledger, "2015-10-01")
    assert doc["status"] == "certified" and "under_review" not in doc["flags"]


def test_a_review_closed_as_revoked_revokes_the_certificate() -> None:
    ledger = generic_certified()
    ledger.add(ev.SeriousIncidentReported, "2015-09-01", fatality=False, description="x")
    ledger.add(ev.ReviewClosed, "2015-10-01", outcome="revoked")
    assert st(ledger, "2015-09-30")["status"] == "certified"
    assert st(ledger, "2015-10-01")["status"] == "revoked"


# --- flags and size -------------------------------------------------------------------------------


def test_headcount_above_the_secor_limit_flags_but_keeps_the_certificate() -> None:
    ledger = Ledger("GEN-S")
    ledger.register("2015-01-05", program="SECOR", headcount=9)
    ledger.certify("2015-06-01", "2015-06-15", auditor_type="internal")
    ledger.auditor("2015-01-05")
    assert st(ledger, "2015-07-01")["flags"] == []
    ledger.add(ev.HeadcountReported, "2015-08-01", headcount=10)
    doc = st(ledger, "2015-08-01")
    assert doc["status"] == "certified" and doc["program"] == "SECOR"
    assert "headcount_exceeds_program" in doc["flags"]


def test_amhsa_any_headcount_above_10_in_the_year_exceeds_the_program() -> None:
    ledger = amhsa_certified()
    ledger.add(ev.HeadcountReported, "2022-03-01", headcount=11)
    ledger.add(ev.HeadcountReported, "2022-04-01", headcount=7)
    assert "headcount_exceeds_program" in st(ledger, "2022-04-02")["flags"]
    assert "headcount_exceeds_program" not in st(ledger, "2023-04-02")["flags"]


def test_bccsa_size_class_follows_the_latest_headcount() -> None:
    ledger = bccsa_certified(headcount=19)
    assert st(ledger, "2023-07-01")["size_class"] == "small"
    ledger.add(ev.HeadcountReported, "2023-08-01", headcount=20)
    assert st(ledger, "2023-08-01")["size_class"] == "large"
    assert st(ledger, "2023-07-31")["size_class"] == "small"


def test_no_internal_auditor_where_the_next_audit_must_be_internal() -> None:
    ledger = amhsa_certified()
    assert "no_internal_auditor" not in st(ledger, "2021-07-01")["flags"]
    ledger.add(ev.InternalAuditorLeft, "2021-08-01", auditor="kim")
    assert "no_internal_auditor" in st(ledger, "2021-08-01")["flags"]


def test_scope_change_pending_until_the_partner_decides() -> None:
    ledger = generic_certified()
    ledger.add(ev.ScopeChanged, "2015-09-01", change="merger",
               certification_audit_required=None)
    assert "scope_change_pending" in st(ledger, "2015-09-01")["flags"]
    ledger.add(ev.ScopeChanged, "2015-10-01", change="merger",
               certification_audit_required=True)
    doc = st(ledger, "2015-10-01")
    assert "scope_change_pending" not in doc["flags"]
    # second set: due by Dec 31 of the change's year, no grace; cancelled the day after
    assert doc["next_audit"] == {"kind": "certification", "due": "2015-12-31",
                                 "auditor": "external"}
    assert st(ledger, "2015-12-31")["status"] == "certified"
    assert st(ledger, "2016-01-01")["status"] == "cancelled"


@pytest.mark.parametrize(("submitted", "meets"), [("2018-05-01", True), ("2018-01-20", False)])
def test_a_renewal_accepted_after_the_expiry_meets_the_scope_change_only_if_submitted_after_it(
        submitted: str, meets: bool) -> None:
    """Certificate expiring 2018-06-15; a scope change on 2018-02-01 requires a certification
    audit (due 2018-12-31); certification audit S1 is accepted on 2018-07-01, after the
    expiry. Submitted after the change, S1 is the change's own audit: the next audit is a
    maintenance audit and the certificate stands on 2019-01-01. Submitted before the change,
    it only renews the certificate: the change's audit stays owed and, not met, the
    certificate is cancelled from 2019-01-01."""
    ledger = generic_certified()
    maintain(ledger, "2016-06-01", "2016-06-05", "M1")
    maintain(ledger, "2017-06-01", "2017-06-05", "M2")
    ledger.add(ev.ScopeChanged, "2018-02-01", change="merger",
               certification_audit_required=True)
    ledger.audit(submitted, "S1")
    ledger.qa("2018-07-01", "S1")
    doc = st(ledger, "2018-07-01")
    assert doc["status"] == "certified" and doc["certificate"]["issued"] == "2018-06-15"
    if meets:
        assert doc["next_audit"]["kind"] == "maintenance"
        assert st(ledger, "2019-01-01")["status"] == "certified"
    else:
        assert doc["next_audit"] == {"kind": "certification", "due": "2018-12-31",
                                     "auditor": "external"}
        assert st(ledger, "2019-01-01")["status"] == "cancelled"


# --- both time axes and corrections ---------------------------------------------------------------


def test_events_arriving_out_of_effective_order_are_folded_in_effective_order() -> None:
    ledger = Ledger("GEN-O")
    ledger.qa("2015-06-15", "A1")
    ledger.audit("2015-06-01", "A1")
    ledger.register("2015-01-05")
    assert st(ledger, "2015-07-01")["status"] == "certified"


def test_known_at_hides_events_recorded_later_for_every_as_of() -> None:
    ledger = Ledger("GEN-K")
    ledger.register("2015-01-05")
    ledger.audit("2015-06-01", "A1")
    ledger.qa("2015-06-15", "A1", recorded="2015-09-01T08:00:00Z")
    assert st(ledger, "2015-07-01", "2015-08-31T23:59:59Z")["status"] == "registered"
    assert st(ledger, "2015-07-01", "2015-09-01T08:00:00Z")["status"] == "certified"
    assert st(ledger, "2015-07-01")["known_at"] is None
    assert st(ledger, "2015-07-01", "2015-09-01T08:00:00Z")["known_at"] == \
        "2015-09-01T08:00:00Z"


def test_a_void_removes_its_target_from_its_recorded_time_for_every_as_of() -> None:
    ledger = Ledger("GEN-V")
    ledger.register("2015-01-05")
    ledger.audit("2015-06-01", "A1", event_id="audit-1")
    ledger.qa("2015-06-15", "A1")
    ledger.add(ev.EventVoided, "2016-03-01", recorded="2016-03-01T10:00:00Z",
               target="audit-1", reason="entered for the wrong employer")
    assert st(ledger, "2015-07-01", "2016-02-28T00:00:00Z")["status"] == "certified"
    assert st(ledger, "2015-07-01")["status"] == "registered"
    assert st(ledger, "2015-07-01", "2016-03-01T10:00:00Z")["status"] == "registered"


def test_because_names_the_events_and_rules_of_the_current_cycle() -> None:
    ledger = generic_certified()
    doc = st(ledger, "2015-07-01")
    rules = [b["rule"] for b in doc["because"]]
    assert rules[0] == "GENERIC-2000.programs"
    assert "GENERIC-2000.pass-mark" in rules and "COR-2000.validity" in rules
    assert all(set(b) == {"event", "type", "effective", "rule", "says"} for b in doc["because"])


def test_the_timeline_answers_the_incentive_questions() -> None:
    ledger = Ledger("BC-T")
    ledger.register("2022-09-01", partner="BCCSA", headcount=12, cus=("721002", "721003"))
    ledger.auditor("2022-10-15", "pat")
    ledger.audit("2023-06-01", "A1", auditor_type="internal", auditor="pat",
                 started="2023-05-01", completed="2023-05-20", cus=("721002",))
    ledger.qa("2023-06-20", "A1")
    ledger.add(ev.InvestigationOpened, "2024-03-01", case="C1")
    t = fold(ledger.events, as_of=d("2024-12-31"))
    assert t.held_valid_certificate_in(2023) and not t.held_valid_certificate_in(2022)
    assert t.first_certification_submitted_by_cutoff(2023) is True
    accepted = t.required_audit_accepted_in(2023)
    assert accepted is not None and accepted.audit == "A1"
    assert t.audit_scope("A1") == ("721002",)
    assert t.certificates_ended_in(2023) == []
    assert t.investigation_open_on(d("2024-06-01")) and not t.review_open_on(d("2024-06-01"))


# --- the commands -----------------------------------------------------------------------------


def test_status_command_prints_the_interchange_document(cli: Any) -> None:
    from tests.conftest import audit, line, registration

    cli.import_lines([registration("E-1", "2020-01-06", recorded_at="2020-01-06T09:00:00Z"),
                      audit("E-1", "2020-06-01", recorded_at="2020-06-01T09:00:00Z"),
                      line("QADecided", "E-1", "2020-06-15",
                           {"audit": "A1", "outcome": "accepted"}, id="E-1-qa",
                           recorded_at="2020-06-15T12:00:00Z")])
    doc = cli.json("status", "E-1", "--as-of", "2020-07-01")
    assert doc["status"] == "certified" and doc["certificate"]["issued"] == "2020-06-15"
    early = cli.json("status", "E-1", "--as-of", "2020-07-01", "--known-at", "2020-06-14")
    assert early["status"] == "registered"  # a bare date is the end of that UTC day
    on_day = cli.json("status", "E-1", "--as-of", "2020-07-01", "--known-at", "2020-06-15")
    assert on_day["status"] == "certified"
    assert cli("explain", "E-1", "--as-of", "2020-07-01").exit_code == 0
    assert cli("status", "E-1", "--as-of", "2020-07-01").exit_code == 0
    assert cli.json("lapses", "--as-of", "2021-06-01", "--within", "30")[0]["employer"] == "E-1"


def test_a_never_registered_employer_is_unregistered_with_exit_0(cli: Any) -> None:
    assert cli("init").exit_code == 0
    assert cli.json("status", "NOBODY", "--as-of", "2020-01-01")["status"] == "unregistered"
    assert cli("explain", "NOBODY", "--as-of", "2020-01-01").exit_code == 0


def test_bad_dates_are_refused_with_a_clear_error(cli: Any) -> None:
    bad = cli("status", "E-1", "--as-of", "2020-13-01")
    assert bad.exit_code != 0 and "not a date" in bad.output
    worse = cli("status", "E-1", "--known-at", "yesterday")
    assert worse.exit_code != 0 and "ISO date-time" in worse.output


def test_amhsa_secor_maintenance_by_an_external_auditor_counts() -> None:
    ledger = amhsa_certified()
    ledger.audit("2022-05-01", "A2", "maintenance", auditor_type="external",
                 completed="2022-04-20")
    ledger.qa("2022-05-05", "A2")
    assert st(ledger, "2022-06-01")["status"] == "certified"


def test_an_internal_auditor_who_leaves_mid_audit_was_qualified_when_it_started() -> None:
    ledger = amhsa_certified()
    ledger.add(ev.InternalAuditorLeft, "2022-04-15", auditor="kim")
    ledger.audit("2022-05-01", "A2", "maintenance", auditor_type="internal", auditor="kim",
                 started="2022-04-14", completed="2022-04-20")
    ledger.qa("2022-05-05", "A2")
    assert st(ledger, "2022-06-01")["status"] == "certified"
