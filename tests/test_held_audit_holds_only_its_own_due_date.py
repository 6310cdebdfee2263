"""A maintenance audit held in QA past its due date keeps the certificate against that due
date only (DOMAIN, the cycle 2: a maintenance audit "in each of years 2 and 3", "a missed
due date cancels the certificate the day after"): the next maintenance audit, or an earlier
AMHSA recertification, still falls due on its own date while QA holds the first one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ledger import events as ev
from projections.lapses import lapse_entry
from projections.sql.read_models import employer_rows
from projections.status import render
from projections.timeline import fold
from tests.factories import Ledger, d
from tests.test_read_models import interval_document, lapse_from_rows


def held_year_1(partner: str = "GENERIC") -> Ledger:
    """Certified 2015-06-15; maintenance audit M1 submitted on time, never decided."""
    ledger = Ledger("H-1")
    ledger.register("2015-01-05", partner=partner, headcount=40)
    ledger.certify("2015-06-01", "2015-06-15", completed="2015-05-28")
    ledger.audit("2016-05-01", "M1", "maintenance", completed="2016-04-20")
    return ledger


def doc(ledger: Ledger, day: str) -> dict[str, Any]:
    return render(fold(ledger.events, as_of=d(day)))


def rows_agree(ledger: Ledger, start: str, end: str) -> None:
    """The read models answer as the fold does on every day through the hold."""
    rows = employer_rows(ledger.employer, ledger.events)
    day = d(start)
    while day <= d(end):
        t = fold(ledger.events, as_of=day, employer=ledger.employer)
        assert interval_document(rows, day) == render(t), day
        for within in (30, 90, 365):
            assert lapse_from_rows(rows, day, within) == lapse_entry(t, within), day
        day += timedelta(days=1)


def test_a_held_year_1_audit_does_not_hold_the_year_2_due_date() -> None:
    ledger = held_year_1()
    held = doc(ledger, "2017-06-15")  # the second anniversary: M2's due date
    assert held["status"] == "certified" and "qa_pending" in held["flags"]
    missed = doc(ledger, "2017-06-16")
    assert missed["status"] == "cancelled" and missed["certificate"] is None
    assert missed["next_audit"]["kind"] == "certification"
    assert doc(ledger, "2018-06-16")["status"] == "cancelled"  # never "expired"
    t = fold(ledger.events, as_of=d("2017-06-16"))
    assert t.misses[-1].requirement.number == 2
    assert t.misses[-1].lapsed_on == d("2017-06-16")
    rows_agree(ledger, "2016-05-01", "2018-07-01")


def test_an_acceptance_after_the_next_due_date_does_not_resurrect_the_certificate() -> None:
    ledger = held_year_1()
    ledger.qa("2017-07-01", "M1")
    assert doc(ledger, "2017-06-30")["status"] == "cancelled"  # the day after M2's due
    after = doc(ledger, "2017-07-01")
    assert after["status"] == "cancelled" and after["certificate"] is None
    t = fold(ledger.events, as_of=d("2017-12-31"))
    assert t.required_audit_accepted_in(2016) is t.audits["M1"]  # it still meets its year


def test_the_next_audit_submitted_on_time_keeps_the_certificate_until_qa_decides() -> None:
    ledger = held_year_1()
    ledger.audit("2017-06-01", "M2", "maintenance")
    assert doc(ledger, "2017-06-16")["status"] == "certified"
    held = lapse_entry(fold(ledger.events, as_of=d("2017-06-20")), 30)  # M2 in QA now
    assert held is not None and held["due"] == "2017-06-15"
    assert held["level"] == "critical" and held["reasons"] == ["qa_pending"]
    ledger.qa("2017-07-01", "M1")
    after_m1 = fold(ledger.events, as_of=d("2017-07-01"))
    assert after_m1.current_certificate is not None
    assert after_m1.requirement is not None and after_m1.requirement.number == 2
    assert after_m1.requirement.held
    ledger.qa("2017-07-10", "M2")
    nxt = doc(ledger, "2017-07-10")["next_audit"]
    assert nxt["kind"] == "recertification" and nxt["due"] == "2018-06-15"
    rows_agree(ledger, "2016-05-01", "2018-07-01")


def test_the_next_audit_rejected_after_its_due_date_cancels_from_the_rejection() -> None:
    ledger = held_year_1()
    ledger.audit("2017-06-01", "M2", "maintenance")
    ledger.qa("2017-08-01", "M2", "rejected")
    assert doc(ledger, "2017-07-31")["status"] == "certified"
    rejected = fold(ledger.events, as_of=d("2017-08-01"))
    assert rejected.status == "cancelled"
    assert rejected.certificates[-1].ended_on == d("2017-08-01")
    rows_agree(ledger, "2016-05-01", "2018-07-01")


def test_amhsa_maintenance_2_falls_due_a_year_after_the_held_audits_completion() -> None:
    ledger = held_year_1("AMHSA")
    assert doc(ledger, "2017-04-20")["status"] == "certified"
    assert doc(ledger, "2017-04-21")["status"] == "cancelled"


def test_bccsa_year_2_due_date_and_grace_run_while_the_year_1_audit_is_held() -> None:
    ledger = Ledger("H-2")
    ledger.register("2019-01-10", partner="BCCSA", headcount=25)
    ledger.certify("2020-06-01", "2020-06-10", completed="2020-05-25")
    ledger.audit("2021-12-10", "M1", "maintenance", completed="2021-12-05")
    assert doc(ledger, "2023-02-14")["status"] == "certified"  # grace end of 2022's audit
    assert doc(ledger, "2023-02-15")["status"] == "cancelled"


def test_lapses_list_the_next_due_date_once_the_held_audit_is_no_longer_listed() -> None:
    ledger = held_year_1()
    t = fold(ledger.events, as_of=d("2016-07-01"))
    held = lapse_entry(t, 90)
    assert held is not None and held["due"] == "2016-06-15" and held["level"] == "critical"
    assert held["reasons"] == ["qa_pending"]
    coming = lapse_entry(fold(ledger.events, as_of=d("2017-04-01")), 90)
    assert coming is not None and coming["due"] == "2017-06-15"
    assert coming["level"] == "notice"
    missed = lapse_entry(fold(ledger.events, as_of=d("2017-06-20")), 30)
    assert missed is not None and missed["level"] == "missed"
    assert missed["due"] == "2017-06-15"


def held_bccsa_with_scope_change() -> Ledger:
    """BCCSA, certified 2020-06-10; M1 (due 2021-12-31) held in QA; a scope change on
    2022-03-01 requires a certification audit by 2022-12-31."""
    ledger = Ledger("H-3")
    ledger.register("2019-01-10", partner="BCCSA", headcount=25)
    ledger.certify("2020-06-01", "2020-06-10", completed="2020-05-25")
    ledger.audit("2021-12-10", "M1", "maintenance", completed="2021-12-05")
    ledger.add(ev.ScopeChanged, "2022-03-01", change="merger",
               certification_audit_required=True)
    return ledger


def test_a_scope_changes_certification_audit_falls_due_while_the_held_audit_is_in_qa() -> None:
    ledger = held_bccsa_with_scope_change()
    assert doc(ledger, "2022-12-31")["status"] == "certified"
    missed = doc(ledger, "2023-01-01")  # the day after, not the maintenance grace end
    assert missed["status"] == "cancelled" and missed["certificate"] is None
    t = fold(ledger.events, as_of=d("2023-01-01"))
    assert t.misses[-1].requirement.scope_change
    coming = lapse_entry(fold(ledger.events, as_of=d("2022-12-01")), 90)
    assert coming is not None and coming["due"] == "2022-12-31"
    rows_agree(ledger, "2021-12-01", "2023-03-01")


def test_only_a_certification_audit_meets_the_scope_change_while_the_held_audit_is_in_qa(
) -> None:
    accepted_m2 = held_bccsa_with_scope_change()  # a maintenance audit does not meet it
    accepted_m2.audit("2022-10-01", "M2", "maintenance")
    accepted_m2.qa("2022-11-01", "M2")
    assert doc(accepted_m2, "2023-01-01")["status"] == "cancelled"
    late_m1 = held_bccsa_with_scope_change()  # nor does the held audit, accepted later
    late_m1.qa("2023-01-20", "M1")
    assert doc(late_m1, "2023-01-01")["status"] == "cancelled"
    assert fold(late_m1.events, as_of=d("2023-01-20")).certificates[-1].ended_on \
        == d("2023-01-01")
    in_qa = held_bccsa_with_scope_change()  # one submitted by the due date holds it
    in_qa.audit("2022-10-01", "C2", "certification")
    in_qa.qa("2023-02-01", "C2", "rejected")
    assert doc(in_qa, "2023-01-31")["status"] == "certified"
    rejected = fold(in_qa.events, as_of=d("2023-02-01"))
    assert rejected.status == "cancelled"
    assert rejected.certificates[-1].ended_on == d("2023-02-01")


def held_amhsa_then_met(partner: str = "AMHSA") -> Ledger:
    """Certified 2020-06-10 to 2023-06-10; M1 held in QA; M2 (completed 2022-05-10)
    accepted 2022-06-01; no recertification."""
    ledger = Ledger("H-4")
    ledger.register("2019-01-10", partner=partner, headcount=25)
    ledger.certify("2020-06-01", "2020-06-10", completed="2020-05-25")
    if partner == "AMHSA":
        ledger.audit("2021-05-22", "M1", "maintenance", completed="2021-05-20")
        ledger.audit("2022-05-15", "M2", "maintenance", completed="2022-05-10")
    else:
        ledger.audit("2021-12-10", "M1", "maintenance", completed="2021-12-05")
        ledger.audit("2022-11-10", "M2", "maintenance", completed="2022-11-05")
    ledger.qa("2022-06-01" if partner == "AMHSA" else "2022-12-01", "M2")
    return ledger


def test_the_audit_owed_after_a_met_next_audit_falls_due_on_its_own_date() -> None:
    ledger = held_amhsa_then_met()  # the recertification: a year after M2's completion
    assert doc(ledger, "2023-05-10")["status"] == "certified"
    missed = doc(ledger, "2023-05-11")
    assert missed["certificate"] is None and missed["next_audit"]["kind"] == "certification"
    coming = lapse_entry(fold(ledger.events, as_of=d("2023-03-01")), 90)
    assert coming is not None and coming["due"] == "2023-05-10"
    rows_agree(ledger, "2021-05-01", "2023-07-01")
    bccsa = held_amhsa_then_met("BCCSA")  # due by the expiry: expired the day after
    assert doc(bccsa, "2023-06-10")["status"] == "certified"
    assert doc(bccsa, "2023-06-11")["status"] == "expired"


def two_held_then_scope_change(m2: str | None) -> Ledger:
    """BCCSA, certified 2020-06-10 to 2023-06-10; M1 (due 2021-12-31) and M2 (due
    2022-12-31) both submitted on time and held in QA; a scope change on 2023-01-20 requires
    a certification audit; QA accepts M1 on 2023-03-01, then decides M2 (``m2``) on
    2023-04-01."""
    ledger = Ledger("H-5")
    ledger.register("2019-01-10", partner="BCCSA", headcount=25)
    ledger.certify("2020-06-01", "2020-06-10", completed="2020-05-25")
    ledger.audit("2021-12-10", "M1", "maintenance", completed="2021-12-05")
    ledger.audit("2022-12-10", "M2", "maintenance", completed="2022-12-05")
    ledger.add(ev.ScopeChanged, "2023-01-20", change="merger",
               certification_audit_required=True)
    ledger.qa("2023-03-01", "M1")
    if m2 is not None:
        ledger.qa("2023-04-01", "M2", m2)
    return ledger


def test_the_held_audit_owed_next_stays_held_when_the_one_before_is_met() -> None:
    ledger = two_held_then_scope_change(None)  # M2, not the scope change's audit, is owed
    t = fold(ledger.events, as_of=d("2023-03-02"))
    assert t.requirement is not None and t.requirement.number == 2 and t.requirement.held
    held = render(t)
    assert "qa_pending" in held["flags"] and held["next_audit"]["due"] == "2022-12-31"
    rejected = two_held_then_scope_change("rejected")  # cancelled from the rejection date
    assert doc(rejected, "2023-03-31")["status"] == "certified"
    after = fold(rejected.events, as_of=d("2023-04-01"))
    assert after.status == "cancelled" and after.certificates[-1].ended_on == d("2023-04-01")
    assert doc(rejected, "2023-06-11")["status"] == "cancelled"
    rows_agree(rejected, "2022-12-01", "2023-07-01")


def test_the_scope_changes_audit_stays_owed_after_the_held_audit_owed_next() -> None:
    ledger = two_held_then_scope_change("accepted")
    t = fold(ledger.events, as_of=d("2023-04-01"))
    assert t.required_audit_accepted_in(2022) is t.audits["M2"]  # it meets 2022
    assert t.audits["M2"].used_for == "maintenance 2"
    assert t.requirement is not None and t.requirement.scope_change
    assert t.requirement.due == d("2023-12-31")
    rows_agree(ledger, "2022-12-01", "2023-07-01")


def test_the_audit_owed_next_in_its_grace_stays_owed_when_the_held_one_is_met() -> None:
    ledger = Ledger("H-8")  # M1 held; M2 due 2022-12-31, in grace to 2023-02-14
    ledger.register("2019-01-10", partner="BCCSA", headcount=25)
    ledger.certify("2020-06-01", "2020-06-10", completed="2020-05-25")
    ledger.audit("2021-12-10", "M1", "maintenance", completed="2021-12-05")
    ledger.add(ev.ScopeChanged, "2023-01-20", change="merger",
               certification_audit_required=True)
    ledger.qa("2023-01-25", "M1")
    assert doc(ledger, "2023-01-25")["next_audit"]["due"] == "2022-12-31"
    assert doc(ledger, "2023-02-14")["status"] == "certified"
    missed = fold(ledger.events, as_of=d("2023-02-15"))  # the day after M2's grace
    assert missed.status == "cancelled" and missed.misses[-1].requirement.number == 2
    rows_agree(ledger, "2022-12-01", "2023-03-01")

def test_amhsa_held_audit_owed_next_rejected_behind_a_scope_change_cancels() -> None:
    ledger = Ledger("H-6")
    ledger.register("2019-01-10", partner="AMHSA", program="SECOR", headcount=8)
    ledger.auditor("2019-02-01", "int")
    ledger.certify("2020-06-01", "2020-06-10", completed="2020-05-25",
                   auditor_type="internal", auditor="int")
    ledger.audit("2021-05-22", "M1", "maintenance", completed="2021-05-20",
                 auditor_type="internal", auditor="int")
    ledger.audit("2022-05-15", "M2", "maintenance", completed="2022-05-10",
                 auditor_type="internal", auditor="int")
    ledger.add(ev.ScopeChanged, "2022-08-01", change="merger",
               certification_audit_required=True)
    ledger.qa("2022-09-01", "M1")
    ledger.qa("2022-10-01", "M2", "rejected")
    assert "qa_pending" in doc(ledger, "2022-09-02")["flags"]
    rejected = fold(ledger.events, as_of=d("2022-10-01"))
    assert rejected.status == "cancelled"
    assert rejected.certificates[-1].ended_on == d("2022-10-01")
    assert rejected.certificate_on(d("2022-12-31")) is None
    rows_agree(ledger, "2022-05-01", "2023-02-01")


def held_then_met_before_due() -> Ledger:
    """BCCSA, certified 2020-06-10; M1 held in QA; M2 accepted 2022-12-20, before its due
    date 2022-12-31 (grace to 2023-02-14)."""
    ledger = Ledger("H-7")
    ledger.register("2019-01-10", partner="BCCSA", headcount=25)
    ledger.certify("2020-06-01", "2020-06-10", completed="2020-05-25")
    ledger.audit("2021-12-10", "M1", "maintenance", completed="2021-12-05")
    ledger.audit("2022-12-10", "M2", "maintenance", completed="2022-12-05")
    ledger.qa("2022-12-20", "M2")
    return ledger


def test_lapses_do_not_list_an_audit_met_while_the_one_before_is_held() -> None:
    ledger = held_then_met_before_due()
    for day in ("2022-12-21", "2023-01-06", "2023-02-14", "2023-02-20", "2023-03-15"):
        for within in (30, 90):
            entry = lapse_entry(fold(ledger.events, as_of=d(day)), within)
            # M2's due is never listed; the coming expiry is, once within the window
            if d(day) + timedelta(days=within) >= d("2023-06-10"):
                assert entry is not None and entry["due"] == "2023-06-10", day
            else:
                assert entry is None, day
    t = fold(ledger.events, as_of=d("2022-12-21"))
    assert t.requirement is not None and t.requirement.owed_after()[0] is t.requirement
    assert doc(ledger, "2023-06-10")["status"] == "certified"
    assert doc(ledger, "2023-06-11")["status"] == "expired"
    rows_agree(ledger, "2022-12-01", "2023-07-01")
    ledger.qa("2023-01-10", "M1")  # M1 met: M2 is met already, the recertification is next
    nxt = doc(ledger, "2023-01-10")["next_audit"]
    assert nxt["kind"] == "recertification" and nxt["due"] == "2023-06-10"
    assert fold(ledger.events, as_of=d("2023-01-10")).audits["M2"].used_for \
        == "maintenance 2"
    rows_agree(ledger, "2022-12-01", "2023-07-01")
