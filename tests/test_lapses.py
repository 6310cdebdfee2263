"""Lapse risk: levels at their day boundaries, missed within the window, grace, reasons."""

from __future__ import annotations

from typing import Any

from ledger import events as ev
from projections.lapses import lapse_entry, lapses
from projections.status import fold
from tests.factories import Ledger, d


def generic_certified(employer: str = "GEN-2") -> Ledger:
    ledger = Ledger(employer)
    ledger.register("2015-01-05", headcount=40)
    ledger.certify("2015-06-01", "2015-06-15")
    return ledger


def entry(ledger: Ledger, as_of: str, within: int = 90) -> dict[str, Any] | None:
    return lapse_entry(fold(ledger.events, as_of=d(as_of)), within)


def test_scenario_02_critical_26_days_before_the_anniversary() -> None:
    found = lapses([generic_certified().events], d("2016-05-20"), 30)
    assert found == [{"employer": "GEN-2", "partner": "GENERIC", "status": "certified",
                      "due": "2016-06-15", "days_left": 26, "level": "critical",
                      "reasons": []}]


def test_scenario_02_missed_after_the_anniversary() -> None:
    found = lapses([generic_certified().events], d("2016-06-20"), 30)
    assert found[0]["level"] == "missed" and found[0]["days_left"] == -5
    assert found[0]["status"] == "cancelled" and found[0]["due"] == "2016-06-15"


def test_levels_at_their_boundaries() -> None:
    ledger = generic_certified()
    assert entry(ledger, "2016-06-15")["level"] == "critical"  # type: ignore[index]
    assert entry(ledger, "2016-05-16")["level"] == "critical"  # type: ignore[index]  # 30
    assert entry(ledger, "2016-05-15")["level"] == "warning"  # type: ignore[index]  # 31
    assert entry(ledger, "2016-04-16")["level"] == "warning"  # type: ignore[index]  # 60
    assert entry(ledger, "2016-04-15")["level"] == "notice"  # type: ignore[index]  # 61


def test_only_due_dates_within_the_window_are_listed() -> None:
    ledger = generic_certified()
    assert entry(ledger, "2016-03-17", within=90) is not None  # 90 days
    assert entry(ledger, "2016-03-16", within=90) is None  # 91 days


def test_missed_is_listed_while_the_miss_is_within_the_window_back() -> None:
    ledger = generic_certified()
    assert entry(ledger, "2016-07-15", within=30)["level"] == "missed"  # type: ignore[index]
    assert entry(ledger, "2016-07-16", within=30) is None


def test_in_grace_is_critical_with_the_grace_end() -> None:
    ledger = Ledger("BC-G")
    ledger.register("2022-09-01", partner="BCCSA", headcount=30)
    ledger.audit("2023-06-01", "A1", started="2023-05-01", completed="2023-05-20")
    ledger.qa("2023-06-20", "A1")
    found = entry(ledger, "2025-01-10")
    assert found is not None and found["level"] == "critical"
    assert found["due"] == "2024-12-31" and found["days_left"] == -10
    assert found["reasons"][0] == "in_grace" and found["grace_end"] == "2025-02-14"
    assert entry(ledger, "2025-02-15")["level"] == "missed"  # type: ignore[index]


def test_a_certificate_held_by_qa_past_its_due_date_is_critical() -> None:
    ledger = generic_certified()
    ledger.audit("2016-06-10", "A2", "maintenance")
    found = entry(ledger, "2016-07-01")
    assert found is not None and found["level"] == "critical"
    assert "qa_pending" in found["reasons"]


def test_a_held_audit_due_beyond_the_window_is_not_listed() -> None:
    # Second set, "Lapses window": every entry is listed only when its due is within
    # --within days after as-of; a held audit (qa_pending) is no exception before its due.
    # BCCSA M1 at 75% holds the certificate by its limited-scope window (to 2022-03-31);
    # the re-audit L1 is in QA: on 2022-02-16 the close is 43 days ahead.
    ledger = Ledger("BC-HW")
    ledger.register("2020-01-06", partner="BCCSA", headcount=25)
    ledger.certify("2020-05-01", "2020-05-15", started="2020-04-20", completed="2020-04-28")
    ledger.audit("2021-12-31", "M1", "maintenance", started="2021-12-20",
                 completed="2021-12-31", overall=75)
    ledger.qa("2022-01-10", "M1")
    ledger.audit("2022-02-15", "L1", "limited_scope", started="2022-02-10",
                 completed="2022-02-12")
    assert entry(ledger, "2022-02-16", within=30) is None
    assert entry(ledger, "2022-02-16", within=0) is None
    assert entry(ledger, "2022-02-16", within=42) is None
    found = entry(ledger, "2022-02-16", within=43)
    assert found is not None and (found["due"], found["days_left"], found["level"]) == (
        "2022-03-31", 43, "critical")
    assert found["reasons"][0] == "qa_pending"


def test_a_reaudit_held_in_qa_past_its_window_stays_listed_from_the_window_close() -> None:
    # Second set, "Lapses window": a held audit is listed from its due, and not after it
    # (open-questions: at the window's close). BCCSA M1 at 75% (completed 2021-12-15) opens
    # a window to 2022-03-15; the re-audit L1, submitted in it, is still in QA after it
    # closes: the entry keeps the window's close as its due instead of jumping back to the
    # maintenance due 2021-12-31.
    ledger = Ledger("BC-LQ")
    ledger.register("2019-01-10", partner="BCCSA", headcount=25)
    ledger.certify("2020-06-01", "2020-06-10", started="2020-05-20", completed="2020-05-25")
    ledger.audit("2021-12-20", "M1", "maintenance", started="2021-12-10",
                 completed="2021-12-15", overall=75)
    ledger.qa("2022-01-05", "M1")
    ledger.audit("2022-03-05", "L1", "limited_scope", started="2022-03-01",
                 completed="2022-03-03")
    for as_of, within, days_left in (("2022-03-15", 5, 0), ("2022-03-16", 5, -1),
                                     ("2022-04-10", 30, -26), ("2022-04-10", 90, -26)):
        found = entry(ledger, as_of, within=within)
        assert found is not None, as_of
        assert (found["due"], found["days_left"], found["level"]) == (
            "2022-03-15", days_left, "critical"), as_of
        assert found["reasons"][0] == "qa_pending", as_of
    assert entry(ledger, "2022-04-10", within=25) is None  # its due 26 days back


def test_reasons_add_risk() -> None:
    ledger = Ledger("AB-1")
    ledger.register("2021-01-05", partner="AMHSA", program="SECOR", headcount=8)
    ledger.auditor("2021-01-05", "kim")
    ledger.audit("2021-06-01", "A1", auditor_type="internal", auditor="kim",
                 completed="2021-05-10")
    ledger.qa("2021-06-15", "A1")
    ledger.add(ev.InternalAuditorLeft, "2021-12-01", auditor="kim")
    ledger.add(ev.HeadcountReported, "2022-01-10", headcount=12)
    ledger.add(ev.SeriousIncidentReported, "2022-02-01", fatality=False, description="x")
    ledger.audit("2022-03-01", "A2", "maintenance", auditor_type="external")
    ledger.qa("2022-03-10", "A2", "rejected")
    found = entry(ledger, "2022-04-20")
    assert found is not None and found["level"] == "critical" and found["days_left"] == 20
    assert found["reasons"] == ["no_internal_auditor", "headcount_exceeds_program",
                                "under_review", "qa_rejected"]


def test_a_closing_limited_scope_window_is_listed_with_its_reason() -> None:
    ledger = Ledger("BC-2")
    ledger.register("2022-01-10", partner="BCCSA", headcount=30)
    ledger.audit("2022-04-25", "A1", started="2022-04-01", completed="2022-04-15",
                 elements={"policy": 90, "hazard_assessment": 45})
    ledger.qa("2022-05-05", "A1")
    found = entry(ledger, "2022-06-20")
    assert found is not None and found["due"] == "2022-07-14" and found["days_left"] == 24
    assert found["reasons"] == ["limited_scope_window_closing"]


def test_a_certificate_held_only_by_a_limited_scope_window_is_due_at_the_window_close() -> None:
    # BCCSA maintenance 1 due 2022-12-31 (grace to 2023-02-14) failed at 75%: the window
    # (completed 2022-12-01 + 90 days = 2023-03-01) holds the certificate past the grace.
    # Nothing is in QA, so lapses lists the window's close, as status's next_audit does,
    # without qa_pending; before the fix it listed due 2022-12-31 with qa_pending, or
    # nothing at all once that due was more than --within days back.
    ledger = Ledger("BC-HL")
    ledger.register("2020-01-10", partner="BCCSA", headcount=30)
    ledger.certify("2021-06-10", "2021-06-20", started="2021-05-25", completed="2021-06-04")
    ledger.audit("2022-12-05", "M1", "maintenance", started="2022-11-25",
                 completed="2022-12-01", overall=75)
    ledger.qa("2022-12-15", "M1")
    for as_of, days_left in (("2023-02-14", 15), ("2023-02-15", 14), ("2023-03-01", 0)):
        found = entry(ledger, as_of, within=30)
        assert found is not None, as_of
        assert (found["due"], found["days_left"], found["level"]) == (
            "2023-03-01", days_left, "critical"), as_of
        assert found["reasons"] == ["limited_scope_window_closing"], as_of
    assert entry(ledger, "2023-01-29", within=30) is None  # the close is 31 days away
    assert entry(ledger, "2023-03-02", within=30)["level"] == "missed"  # type: ignore[index]


def test_lapses_are_sorted_soonest_due_first_and_skip_the_unconcerned() -> None:
    late, soon = generic_certified("GEN-A"), Ledger("GEN-B")
    soon.register("2015-01-05")
    soon.certify("2015-05-01", "2015-05-10")
    idle = Ledger("GEN-C")
    idle.register("2015-01-05")
    found = lapses([late.events, soon.events, idle.events, []], d("2016-04-20"))
    assert [e["employer"] for e in found] == ["GEN-B", "GEN-A"]
