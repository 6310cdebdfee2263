"""The incentive decision (projections.incentive), one test per rule and per floor tier.

The employer below is scenario 03's: BCCSA Small COR, first certified 2023-06-20 with CU
721002 at a base rate of 4.00. Each test changes one fact and pins what the rule says.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from ledger import events as ev
from projections.incentive import incentive
from tests.factories import Ledger, d

CU, CU2 = "721002", "732044"


def rates(*rows: tuple[str, int, str], recorded: str = "2023-01-01",
          jurisdiction: str = "BC") -> Ledger:
    """The reference stream: (cu, year, base rate) rows."""
    ref = Ledger("reference")
    for cu, year, rate in rows:
        ref.add(ev.BaseRateSet, f"{year}-01-01", recorded, jurisdiction=jurisdiction, cu=cu,
                year=year, base_rate=D(rate))
    return ref


def certified(partner: str = "BCCSA", cus: tuple[str, ...] = (CU,), submitted: str = "2023-06-01",
              accepted: str = "2023-06-20", program: str = "COR", headcount: int = 12,
              audit_cus: tuple[str, ...] | None = None) -> Ledger:
    """An employer registered in 2022 whose first certification audit passes QA."""
    led = Ledger("BC-1")
    led.register("2022-09-01", partner=partner, program=program, headcount=headcount, cus=cus)
    led.certify(submitted, accepted, cus=audit_cus)
    return led


def payroll(led: Ledger, amount: str, *, year: int = 2023, cu: str = CU,
            reported: str = "2024-02-15", deadline: str | None = "2024-02-28",
            recorded: str | None = None) -> None:
    led.add(ev.PayrollReported, reported, recorded, year=year, cu=cu,
            assessable_payroll=D(amount), deadline=d(deadline) if deadline else None)


def premium(led: Ledger, amount: str, *, year: int = 2023, cu: str = CU,
            paid: str = "2024-02-15") -> None:
    led.add(ev.PremiumPaid, paid, year=year, cu=cu, amount=D(amount))


def worked_example() -> Ledger:
    led = certified()
    payroll(led, "2000000.00")
    premium(led, "80000.00")
    return led


def decide(led: Ledger, ref: Ledger | None = None, year: int = 2023,
           known_at: datetime | None = None) -> dict[str, Any]:
    ref = ref if ref is not None else rates((CU, year, "4.00"))
    return incentive(led.events, ref.events, year=year, employer=led.employer,
                     known_at=known_at)


def rules(doc: dict[str, Any]) -> list[str]:
    return [b["rule"] for b in doc["because"]]


def says(doc: dict[str, Any]) -> str:
    return "\n".join(b["says"] for b in doc["because"])


# --- the amount -------------------------------------------------------------------------------


def test_worked_example_of_seed_004() -> None:
    doc = decide(worked_example())
    assert doc["state"] == "eligible"
    assert doc["amount"] == "8000.00"
    assert doc["payable_in"] == 2024
    assert doc["minimum_applied"] is False
    assert doc["by_cu"] == [{"cu": CU, "in_scope": True, "assessable_payroll": "2000000.00",
                             "base_rate": "4.00", "base_premium": "80000.00",
                             "premiums_paid": "80000.00", "amount": "8000.00"}]
    assert doc["paid"] == [] and doc["difference"] == "8000.00"
    for rule in ("first-certification-cutoff", "incentive-payroll", "incentive-rate",
                 "incentive-floor", "incentive-payable"):
        assert f"WSBC-2000.{rule}" in rules(doc)


def small_formula(premiums: str) -> dict[str, Any]:
    """Formula 4.00 (payroll 1,000 at 4.00): the floor decides from the premiums paid."""
    led = certified()
    payroll(led, "1000.00")
    premium(led, premiums)
    return decide(led)


def test_floor_premiums_1333_33_is_75_percent_rounded_to_the_cent() -> None:
    # 75% x 1,333.33 = 999.9975, below the $1,000 cap; rounded half-up it is 1000.00.
    doc = small_formula("1333.33")
    assert (doc["amount"], doc["floor"], doc["minimum_applied"]) == ("1000.00", "1000.00", True)
    assert doc["formula"] == "4.00"


def test_floor_premiums_1333_32_stays_below_the_cap() -> None:
    doc = small_formula("1333.32")  # 75% = 999.99
    assert (doc["amount"], doc["minimum_applied"]) == ("999.99", True)


def test_floor_premiums_1334_00_is_capped_at_1000() -> None:
    doc = small_formula("1334.00")  # 75% = 1,000.50: the lesser is $1,000
    assert (doc["amount"], doc["floor"], doc["minimum_applied"]) == ("1000.00", "1000.00", True)


def test_no_premiums_paid_means_no_floor() -> None:
    doc = small_formula("0.00")
    assert (doc["amount"], doc["floor"], doc["minimum_applied"]) == ("4.00", "0.00", False)


@pytest.mark.parametrize(("payroll_amount", "amount", "minimum"), [
    ("250000.00", "1000.00", False),  # base premium 10,000: formula 1,000 = the floor (a tie)
    ("249997.50", "1000.00", True),   # base premium 9,999.90: formula 999.99 < floor 1,000
    ("250002.50", "1000.01", False),  # base premium 10,000.10: formula 1,000.01
])
def test_base_premium_of_10000_meets_the_floor_cap(payroll_amount: str, amount: str,
                                                   minimum: bool) -> None:
    led = certified()
    payroll(led, payroll_amount)
    premium(led, "2000.00")  # 75% = 1,500: the floor is the $1,000 cap
    doc = decide(led)
    assert (doc["amount"], doc["minimum_applied"]) == (amount, minimum)


def test_amount_rounds_half_up_to_the_cent() -> None:
    led = certified()
    payroll(led, "12345.00")  # x 1.00 / 100 x 10% = 12.345
    doc = decide(led, rates((CU, 2023, "1.00")))
    assert doc["amount"] == "12.35"  # half-even would give 12.34


def test_a_cu_outside_the_audit_scope_earns_nothing() -> None:
    led = certified(cus=(CU, CU2), audit_cus=(CU,))
    payroll(led, "2000000.00")
    payroll(led, "1000000.00", cu=CU2)
    premium(led, "500.00")
    premium(led, "90000.00", cu=CU2)  # out of scope: earns nothing, but counts in the floor
    doc = decide(led, rates((CU, 2023, "4.00"), (CU2, 2023, "5.00")))
    assert doc["state"] == "eligible" and doc["amount"] == "8000.00"
    out = next(row for row in doc["by_cu"] if row["cu"] == CU2)
    assert out["in_scope"] is False and out["amount"] == "0.00"
    assert out["base_premium"] == "50000.00"
    assert doc["floor"] == "1000.00"
    assert "WSBC-2000.incentive-scope" in rules(doc)


def test_audit_scope_defaults_to_every_cu_of_the_employer() -> None:
    led = certified(cus=(CU, CU2))
    payroll(led, "2000000.00")
    payroll(led, "1000000.00", cu=CU2)
    doc = decide(led, rates((CU, 2023, "4.00"), (CU2, 2023, "5.00")))
    assert doc["amount"] == "13000.00"
    assert [row["amount"] for row in doc["by_cu"]] == ["8000.00", "5000.00"]


# --- base rates ---------------------------------------------------------------------------------


def test_latest_recorded_base_rate_wins_as_known() -> None:
    ref = rates((CU, 2023, "4.00"), recorded="2023-01-01")
    ref.add(ev.BaseRateSet, "2023-01-01", "2024-04-01", jurisdiction="BC", cu=CU, year=2023,
            base_rate=D("5.00"))
    ref.add(ev.BaseRateSet, "2023-01-01", "2024-04-01", jurisdiction="AB", cu=CU, year=2023,
            base_rate=D("9.00"))
    led = worked_example()  # its events are all recorded by 2024-02-15
    assert decide(led, ref)["amount"] == "10000.00"
    # known_at filters the reference stream too: before the new rate was recorded
    assert decide(led, ref, known_at=datetime(2024, 3, 1, tzinfo=UTC))["amount"] == "8000.00"


def test_a_cu_in_scope_without_a_base_rate_defers() -> None:
    doc = decide(worked_example(), rates((CU, 2022, "4.00")))
    assert doc["state"] == "deferred" and doc["amount"] is None
    assert "WSBC-2000.incentive-base-rate" in rules(doc)


def test_another_jurisdictions_rate_does_not_count() -> None:
    doc = decide(worked_example(), rates((CU, 2023, "4.00"), jurisdiction="AB"))
    assert doc["state"] == "deferred"


# --- eligibility: the certificate ---------------------------------------------------------------


@pytest.mark.parametrize(("submitted", "state"), [("2023-11-30", "eligible"),
                                                  ("2023-12-01", "ineligible")])
def test_first_certification_counts_when_submitted_by_nov_30(submitted: str,
                                                             state: str) -> None:
    led = certified(submitted=submitted, accepted="2023-12-20")
    payroll(led, "2000000.00")
    doc = decide(led)
    assert doc["state"] == state
    assert "WSBC-2000.first-certification-cutoff" in rules(doc)


def test_no_certificate_in_the_year_is_ineligible() -> None:
    led = certified(submitted="2024-03-01", accepted="2024-03-20")
    payroll(led, "2000000.00")
    doc = decide(led)
    assert doc["state"] == "ineligible" and doc["amount"] is None
    assert "no certificate was in force in 2023" in says(doc)


def maintained(maintenance: str | None = "2024-10-01", qa: str | None = "2024-10-20",
               outcome: str = "accepted") -> Ledger:
    """Certified 2023-06-20; the 2024 maintenance audit (due Dec 31 2024) as given."""
    led = certified()
    if maintenance is not None:
        led.audit(maintenance, "M1", "maintenance")
        if qa is not None:
            led.qa(qa, "M1", outcome)
    payroll(led, "2000000.00", year=2024, reported="2025-02-15", deadline="2025-02-28")
    return led


def test_later_year_needs_the_years_audit_accepted() -> None:
    doc = decide(maintained(), rates((CU, 2024, "4.00")), year=2024)
    assert doc["state"] == "eligible" and doc["amount"] == "8000.00"
    assert doc["payable_in"] == 2025
    assert "maintenance audit M1 for 2024 accepted" in says(doc)


def test_later_year_without_the_years_audit_is_ineligible() -> None:
    doc = decide(maintained(maintenance=None), rates((CU, 2024, "4.00")), year=2024)
    assert doc["state"] == "ineligible"
    assert "no required audit for 2024 was accepted" in says(doc)


def test_later_year_audit_rejected_by_qa_is_ineligible() -> None:
    doc = decide(maintained(outcome="rejected"), rates((CU, 2024, "4.00")), year=2024)
    assert doc["state"] == "ineligible"


def test_the_years_audit_still_in_qa_defers() -> None:
    doc = decide(maintained(qa=None), rates((CU, 2024, "4.00")), year=2024)
    assert doc["state"] == "deferred"
    assert "still in QA" in says(doc)


def test_renewal_year_needs_no_nov_30_cutoff() -> None:
    led = Ledger("BC-1")
    led.register("2019-09-01", partner="BCCSA", headcount=12, cus=(CU,))
    led.certify("2020-06-01", "2020-06-20", "A1")
    led.certify("2021-10-01", "2021-10-20", "M1", kind="maintenance")
    led.certify("2022-10-01", "2022-10-20", "M2", kind="maintenance")
    led.certify("2023-06-10", "2023-06-25", "R1", kind="recertification")
    payroll(led, "2000000.00")
    doc = decide(led)
    assert doc["state"] == "eligible" and doc["amount"] == "8000.00"
    assert "recertification audit R1 for 2023 accepted" in says(doc)


# --- eligibility: the exceptions ----------------------------------------------------------------


@pytest.mark.parametrize(("reported", "deadline", "state"), [
    ("2024-02-28", "2024-02-28", "eligible"),    # on the deadline is on time
    ("2024-02-29", "2024-02-28", "ineligible"),  # a day late
    ("2024-06-01", None, "eligible"),            # no deadline notified: on time
])
def test_payroll_must_be_reported_by_its_deadline(reported: str, deadline: str | None,
                                                  state: str) -> None:
    led = certified()
    payroll(led, "2000000.00", reported=reported, deadline=deadline)
    doc = decide(led)
    assert doc["state"] == state
    assert "WSBC-2000.incentive-payroll" in rules(doc)


def test_late_payroll_for_an_out_of_scope_cu_still_makes_the_year_ineligible() -> None:
    led = certified(cus=(CU, CU2), audit_cus=(CU,))
    payroll(led, "2000000.00")
    payroll(led, "1000.00", cu=CU2, reported="2024-03-15")
    doc = decide(led, rates((CU, 2023, "4.00"), (CU2, 2023, "5.00")))
    assert doc["state"] == "ineligible"


def test_a_cu_in_scope_without_payroll_earns_nothing_but_is_not_late() -> None:
    led = certified(cus=(CU, CU2))
    payroll(led, "2000000.00")
    premium(led, "100.00", cu=CU2)
    doc = decide(led, rates((CU, 2023, "4.00")))  # no rate for CU2 either: no deferral
    assert (doc["state"], doc["amount"]) == ("eligible", "8000.00")
    row = next(row for row in doc["by_cu"] if row["cu"] == CU2)
    assert (row["assessable_payroll"], row["base_premium"], row["amount"]) == (None, None,
                                                                               "0.00")
    assert f"no payroll reported for CU {CU2} for 2023" in says(doc)


def test_no_payroll_at_all_leaves_the_floor() -> None:
    led = certified()
    premium(led, "800.00")
    doc = decide(led)
    assert (doc["state"], doc["amount"], doc["minimum_applied"]) == ("eligible", "600.00",
                                                                     True)


def test_a_later_payroll_report_replaces_the_amount() -> None:
    led = certified()
    payroll(led, "1000000.00", reported="2024-02-10")
    payroll(led, "2000000.00", reported="2024-03-10")  # an amendment after the deadline
    doc = decide(led)
    assert doc["state"] == "eligible" and doc["amount"] == "8000.00"


@pytest.mark.parametrize(("effective", "penalty", "state"), [
    ("2023-08-01", True, "ineligible"),
    ("2023-08-01", False, "eligible"),
    ("2024-01-05", True, "eligible"),  # a violation in 2024 is 2024's
])
def test_a_violation_with_a_penalty_in_the_year_is_ineligible(effective: str, penalty: bool,
                                                              state: str) -> None:
    led = worked_example()
    led.add(ev.ViolationRecorded, effective, kind="order", penalty=penalty)
    assert decide(led)["state"] == state


def test_a_certificate_revoked_during_the_year_is_ineligible() -> None:
    led = maintained()
    led.add(ev.CertificationRevoked, "2024-11-01", authority="WorkSafeBC", reason="WIVA")
    doc = decide(led, rates((CU, 2024, "4.00")), year=2024)
    assert doc["state"] == "ineligible"
    assert "revoked on 2024-11-01" in says(doc)
    assert "WSBC-2000.incentive-exceptions" in rules(doc)


def test_a_certificate_cancelled_during_the_year_is_ineligible() -> None:
    # Certified 2023; no 2024 maintenance: cancelled after the 45-day grace, in 2025.
    led = maintained(maintenance=None)
    payroll(led, "2000000.00", year=2025, reported="2026-02-15", deadline="2026-02-28")
    doc = decide(led, rates((CU, 2025, "4.00")), year=2025)
    assert doc["state"] == "ineligible"
    assert "cancelled on 2025-02-15, during 2025" in says(doc)


# --- deferral -------------------------------------------------------------------------------------


def test_an_open_investigation_defers_the_decision() -> None:
    led = worked_example()
    led.add(ev.InvestigationOpened, "2023-09-01", case="C-1")
    doc = decide(led)
    assert doc["state"] == "deferred" and doc["amount"] is None
    assert doc["difference"] is None
    assert "investigation C-1 opened 2023-09-01 is still open" in says(doc)


def test_a_closed_investigation_lets_the_decision_be_made() -> None:
    led = worked_example()
    led.add(ev.InvestigationOpened, "2023-09-01", case="C-1")
    led.add(ev.InvestigationClosed, "2024-04-01", "2024-04-02", case="C-1")
    assert decide(led)["state"] == "eligible"
    # as known before the close was recorded, it was still deferred
    known = datetime(2024, 3, 1, tzinfo=UTC)
    assert decide(led, known_at=known)["state"] == "deferred"


def test_an_investigation_opened_after_the_year_does_not_defer_it() -> None:
    led = worked_example()
    led.add(ev.InvestigationOpened, "2024-01-10", case="C-2")
    assert decide(led)["state"] == "eligible"


def test_an_investigation_defers_the_year_of_its_incident() -> None:
    led = worked_example()  # certified 2023
    led.add(ev.InvestigationOpened, "2024-01-10", case="C-3", incident_date=d("2023-12-31"))
    assert decide(led)["state"] == "deferred"
    led.add(ev.InvestigationClosed, "2024-03-01", case="C-3")
    assert decide(led)["state"] == "eligible"


def test_an_investigation_of_an_incident_after_the_year_does_not_defer_it() -> None:
    led = worked_example()
    led.add(ev.InvestigationOpened, "2023-12-20", case="C-4", incident_date=d("2024-01-01"))
    assert decide(led)["state"] == "eligible"


def test_a_review_closed_with_a_revocation_next_year_leaves_the_year_to_its_own_events(
        ) -> None:
    led = worked_example()
    led.add(ev.SeriousIncidentReported, "2023-10-01", fatality=False, description="fall")
    led.add(ev.ReviewClosed, "2024-03-01", outcome="revoked")
    assert decide(led)["state"] == "eligible"


def test_an_open_review_defers_and_its_close_decides() -> None:
    led = worked_example()
    led.add(ev.SeriousIncidentReported, "2023-10-01", fatality=False, description="fall")
    assert decide(led)["state"] == "deferred"
    led.add(ev.ReviewClosed, "2024-03-01", outcome="certificate_stands")
    assert decide(led)["state"] == "eligible"


def test_deferral_overrides_an_exception_but_not_a_missing_certificate() -> None:
    led = worked_example()
    led.add(ev.ViolationRecorded, "2023-08-01", kind="order", penalty=True)
    led.add(ev.InvestigationOpened, "2023-09-01", case="C-1")
    assert decide(led)["state"] == "deferred"  # seed 004: no decision until it ends
    late = certified(submitted="2023-12-05", accepted="2023-12-20")
    late.add(ev.InvestigationOpened, "2023-09-01", case="C-1")
    assert decide(late)["state"] == "ineligible"


# --- payments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("paid", "difference"), [([], "8000.00"), (["8000.00"], "0.00"),
                                                  (["5000.00"], "3000.00"),
                                                  (["5000.00", "4000.00"], "-1000.00")])
def test_recorded_payments_and_the_difference(paid: list[str], difference: str) -> None:
    led = worked_example()
    for amount in paid:
        led.add(ev.IncentivePaid, "2024-05-01", year=2023, amount=D(amount))
    led.add(ev.IncentivePaid, "2023-05-01", year=2022, amount=D("777.00"))  # another year
    doc = decide(led)
    assert [p["amount"] for p in doc["paid"]] == paid
    assert doc["difference"] == difference


def test_a_payment_for_an_ineligible_year_is_all_overpaid() -> None:
    led = worked_example()
    led.add(ev.ViolationRecorded, "2023-08-01", kind="order", penalty=True)
    led.add(ev.IncentivePaid, "2024-05-01", year=2023, amount=D("100.00"))
    doc = decide(led)
    assert (doc["state"], doc["paid_total"], doc["difference"]) == ("ineligible", "100.00",
                                                                    "-100.00")


def test_a_voided_event_no_longer_counts_from_its_void_on() -> None:
    led = worked_example()
    led.add(ev.ViolationRecorded, "2023-08-01", event_id="V-1", kind="order", penalty=True)
    led.add(ev.EventVoided, "2024-01-10", target="V-1", reason="entered in error")
    assert decide(led)["state"] == "eligible"
    assert decide(led, known_at=datetime(2024, 1, 1, tzinfo=UTC))["state"] == "ineligible"


def _cited(doc: dict[str, Any], event_id: str) -> bool:
    return any(b["event"] == event_id and b["rule"] == "COR-2000.corrections"
               for b in doc["because"])


def _voided_revocation(led: Ledger) -> None:
    led.add(ev.CertificationRevoked, "2023-10-01", event_id="X", authority="WSBC", reason="r")


def _voided_penalty(led: Ledger) -> None:
    led.add(ev.ViolationRecorded, "2023-08-01", event_id="X", kind="order", penalty=True)


def _voided_incident(led: Ledger) -> None:
    led.add(ev.SeriousIncidentReported, "2023-10-01", event_id="X", fatality=False,
            description="fall")


def _voided_investigation(led: Ledger) -> None:
    led.add(ev.InvestigationOpened, "2023-09-01", event_id="X", case="C-1")


def _voided_review_close(led: Ledger) -> None:
    led.add(ev.SeriousIncidentReported, "2023-10-01", fatality=False, description="fall")
    led.add(ev.ReviewClosed, "2024-01-20", event_id="X", outcome="certificate_stands")


def _voided_investigation_close(led: Ledger) -> None:
    led.add(ev.InvestigationOpened, "2023-09-01", case="C-1")
    led.add(ev.InvestigationClosed, "2024-01-20", event_id="X", case="C-1")


@pytest.mark.parametrize(("voided", "before", "after"), [
    (_voided_revocation, "ineligible", "eligible"),
    (_voided_penalty, "ineligible", "eligible"),
    (_voided_incident, "deferred", "eligible"),
    (_voided_investigation, "deferred", "eligible"),
    (_voided_review_close, "eligible", "deferred"),
    (_voided_investigation_close, "eligible", "deferred"),
])
def test_a_void_that_takes_away_what_would_decide_the_year_is_cited(
        voided: Any, before: str, after: str) -> None:
    """COR-2000.corrections: an answer cites the void that took its target away; the
    incentive for Y does where the voided event would otherwise have decided Y."""
    led = worked_example()
    voided(led)
    led.add(ev.EventVoided, "2024-03-01", event_id="VOID", target="X", reason="in error")
    known = decide(led, known_at=datetime(2024, 2, 20, tzinfo=UTC))
    assert known["state"] == before and not _cited(known, "VOID")
    doc = decide(led)
    assert doc["state"] == after and _cited(doc, "VOID")
    assert "was voided: in error" in says(doc)


def test_a_voided_penalty_is_cited_for_its_own_year_only() -> None:
    led = worked_example()
    payroll(led, "2000000.00", year=2024, reported="2025-02-15", deadline="2025-02-28")
    led.add(ev.ViolationRecorded, "2024-03-01",
            event_id="X", kind="order", penalty=True)
    led.add(ev.EventVoided, "2024-05-01", event_id="VOID", target="X", reason="in error")
    assert not _cited(decide(led), "VOID")  # 2023: a penalty in 2024 decides nothing
    assert _cited(decide(led, rates((CU, 2024, "4.00")), year=2024), "VOID")


def test_a_voided_void_cites_the_void_that_gives_its_target_back() -> None:
    led = worked_example()
    _voided_penalty(led)
    led.add(ev.EventVoided, "2024-03-01", event_id="VOID", target="X", reason="in error")
    led.add(ev.EventVoided, "2024-03-05", event_id="VOID-2", target="VOID", reason="no")
    doc = decide(led)
    assert doc["state"] == "ineligible" and _cited(doc, "VOID-2")
    assert "X counts again" in says(doc)


def test_pir_cites_a_void_only_where_it_decides_pir() -> None:
    led = amhsa()
    led.add(ev.ViolationRecorded, "2023-08-01", event_id="P", kind="order", penalty=True)
    led.add(ev.EventVoided, "2024-03-01", event_id="VOID-P", target="P", reason="in error")
    _voided_incident(led)
    led.add(ev.EventVoided, "2024-03-01", event_id="VOID", target="X", reason="in error")
    doc = decide(led, rates())
    assert doc["state"] == "eligible"
    assert _cited(doc, "VOID") and not _cited(doc, "VOID-P")


# --- a year still running -------------------------------------------------------------------


@pytest.mark.parametrize("hold", ["review", "investigation"])
def test_a_hold_defers_the_year_while_it_still_runs(hold: str) -> None:
    """DOMAIN.md: deferred while an investigation or a review is open, whatever the day
    asked; not ``open`` (a year in progress) and without ``outstanding``."""
    led = certified()
    if hold == "review":
        led.add(ev.SeriousIncidentReported, "2023-10-01", fatality=False, description="x")
    else:
        led.add(ev.InvestigationOpened, "2023-10-01", case="C-1")
    doc = incentive(led.events, rates((CU, 2023, "4.00")).events, year=2023,
                    employer=led.employer, asked_on=date(2023, 11, 1))
    assert doc["state"] == "deferred" and doc["amount"] is None
    assert doc["difference"] is None and "outstanding" not in doc


def test_pir_with_an_open_review_is_deferred_while_the_year_runs() -> None:
    led = amhsa()
    led.add(ev.SeriousIncidentReported, "2023-10-01", fatality=True, description="x")
    doc = incentive(led.events, [], year=2023, employer=led.employer,
                    asked_on=date(2023, 11, 1))
    assert doc["state"] == "deferred" and "outstanding" not in doc


# --- partners ------------------------------------------------------------------------------------


def test_go2hr_follows_the_worksafebc_incentive() -> None:
    led = certified(partner="GO2HR", program="COR", headcount=30)
    payroll(led, "2000000.00")
    doc = decide(led)
    assert (doc["state"], doc["amount"]) == ("eligible", "8000.00")
    assert "WSBC-2000.incentive-rate" in rules(doc)


def amhsa(accepted: str = "2023-06-20") -> Ledger:
    led = Ledger("AB-1")
    led.register("2022-09-01", partner="AMHSA", program="SECOR", headcount=6, cus=("A1",))
    led.auditor("2022-10-01", "pat")
    led.certify("2023-06-01", accepted, auditor_type="internal", auditor="pat")
    return led


def test_amhsa_pir_gives_a_discount_percent_and_no_amount() -> None:
    doc = decide(amhsa(), rates())
    assert doc["state"] == "eligible"
    assert doc["amount"] is None and D(doc["discount_percent"]) == D(5)
    assert "AMHSA-2000.pir-eligibility" in rules(doc)


def test_amhsa_pir_needs_a_certificate_on_dec_31() -> None:
    led = amhsa()
    led.add(ev.CertificationRevoked, "2023-12-01", authority="Alberta", reason="review")
    doc = decide(led, rates())
    assert doc["state"] == "ineligible" and doc["discount_percent"] is None


def test_amhsa_pir_open_review_defers() -> None:
    led = amhsa()
    led.add(ev.SeriousIncidentReported, "2023-11-01", fatality=True, description="x")
    assert decide(led, rates())["state"] == "deferred"


def test_generic_is_not_applicable() -> None:
    led = Ledger("G-1")
    led.register("2022-01-01", partner="GENERIC", cus=("G100",))
    led.certify("2022-06-01", "2022-06-20")
    doc = decide(led, rates())
    assert doc["state"] == "not_applicable" and doc["amount"] is None
    assert "GENERIC-2000.incentive" in rules(doc)


def test_an_unregistered_employer_is_not_applicable() -> None:
    doc = incentive([], [], year=2023, employer="NOBODY")
    assert doc["state"] == "not_applicable" and doc["partner"] is None
    assert "not registered" in says(doc)


def test_the_floor_counts_every_premium_paid_for_the_year_whatever_the_cu() -> None:
    """Second set: min($1,000, 75% x premiums paid for Y) over every CU (seed 004: "what the
    employer has paid in premiums for the incentive year")."""
    led = certified(cus=(CU, CU2), audit_cus=(CU,))
    payroll(led, "1000.00")  # formula: 1,000 x 4.00 / 100 x 10% = 4.00
    premium(led, "100.00")
    premium(led, "900.00", cu=CU2)  # out of the audit's scope
    doc = decide(led, rates((CU, 2023, "4.00")))
    assert doc["floor"] == "750.00" and doc["amount"] == "750.00"
    assert doc["minimum_applied"] is True
