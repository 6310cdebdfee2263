"""The 2020 audit waiver (rule WSBC-2020.audit-waiver, in force from 2020-03-30, BCCSA and
GO2HR): a one-year certificate from the original expiry, and every case that does not count
explained in ``because`` with the rule id."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger import events as ev
from ledger.rulebooks import RULES, rulebook_for
from projections.status import status
from projections.timeline import fold
from tests.conftest import Cli, line, registration
from tests.factories import Ledger, d
from tests.test_held_audit_holds_only_its_own_due_date import rows_agree

RULE = "WSBC-2020.audit-waiver"


def certified(partner: str, expires: str) -> Ledger:
    """A certificate issued three years before ``expires``, with both maintenance audits
    accepted, so its recertification falls due on ``expires``."""
    issued = date.fromisoformat(expires).replace(year=int(expires[:4]) - 3)
    ledger = Ledger("W-1")
    ledger.register(issued.replace(year=issued.year - 1).isoformat(), partner=partner,
                    headcount=45)
    ledger.certify((issued.replace(day=1) if issued.day > 1 else issued).isoformat(),
                   issued.isoformat(), "A1")
    for n, year in ((2, issued.year + 1), (3, issued.year + 2)):
        ledger.audit(f"{year}-10-01", f"A{n}", "maintenance", started=f"{year}-09-10",
                     completed=f"{year}-09-20")
        ledger.qa(f"{year}-10-20", f"A{n}")
    return ledger


def waive(ledger: Ledger, granted: str, recorded: str | None = None) -> None:
    ledger.add(ev.AuditWaiverGranted, granted, recorded, waiver="W-0042",
               authority="WorkSafeBC")


def st(ledger: Ledger, as_of: str, known_at: str | None = None) -> dict[str, Any]:
    from tests.factories import at
    return status(ledger.events, as_of=date.fromisoformat(as_of),
                  known_at=at(known_at) if known_at else None, employer=ledger.employer)


def waiver_says(doc: dict[str, Any]) -> str:
    found = [b for b in doc["because"] if b["type"] == "AuditWaiverGranted"]
    assert found, doc["because"]
    assert found[-1]["rule"] == RULE
    return str(found[-1]["says"])


@pytest.mark.parametrize("partner", ["BCCSA", "GO2HR"])
def test_a_waiver_runs_the_certificate_one_more_year_from_its_expiry(partner: str) -> None:
    ledger = certified(partner, "2020-07-15")
    waive(ledger, "2020-05-20")
    doc = st(ledger, "2020-08-01")
    assert doc["status"] == "certified"
    assert doc["certificate"] == {"issued": "2020-07-15", "expires": "2021-07-15",
                                  "cycle_year": 3}
    assert doc["next_audit"]["kind"] == "recertification"
    assert doc["next_audit"]["due"] == "2021-07-15"
    assert st(ledger, "2021-07-15")["status"] == "certified"
    assert st(ledger, "2021-07-15")["certificate"]["cycle_year"] == 3
    assert st(ledger, "2021-07-16")["status"] == "expired"
    # before the original expiry the old certificate is the one shown
    assert st(ledger, "2020-06-01")["certificate"]["expires"] == "2020-07-15"


def test_a_waiver_recorded_later_is_not_known_before_it_was_recorded() -> None:
    ledger = certified("GO2HR", "2020-07-15")
    waive(ledger, "2020-05-20", recorded="2020-05-21")
    assert st(ledger, "2020-08-01", known_at="2020-05-01T00:00:00Z")["status"] == "expired"


def test_a_recertification_by_the_new_expiry_renews_the_cycle() -> None:
    ledger = certified("BCCSA", "2020-07-15")
    waive(ledger, "2020-05-20")
    ledger.audit("2021-06-01", "R1", "recertification", started="2021-05-10",
                 completed="2021-05-20")
    ledger.qa("2021-06-20", "R1")
    doc = st(ledger, "2021-08-01")
    assert doc["certificate"] == {"issued": "2021-06-20", "expires": "2024-06-20",
                                  "cycle_year": 1}


@pytest.mark.parametrize(("expires", "counts"), [("2020-08-31", True), ("2020-09-01", False)])
def test_only_certificates_expiring_by_2020_08_31_can_be_waived(expires: str,
                                                                counts: bool) -> None:
    ledger = certified("BCCSA", expires)
    waive(ledger, "2020-06-01")
    doc = st(ledger, "2020-09-15")
    if counts:
        assert doc["certificate"]["expires"] == "2021-08-31"
    else:
        assert doc["status"] == "expired"  # not extended
        assert f"the certificate expires {expires}, after 2020-08-31" in waiver_says(doc)


@pytest.mark.parametrize(("granted", "counts"), [("2020-07-15", True), ("2020-07-16", False)])
def test_a_waiver_must_be_granted_by_the_original_expiry(granted: str, counts: bool) -> None:
    ledger = certified("GO2HR", "2020-07-15")
    waive(ledger, granted)
    doc = st(ledger, "2020-08-01")
    assert doc["status"] == ("certified" if counts else "expired")
    if not counts:
        assert "after the certificate expired on 2020-07-15" in waiver_says(doc)


@pytest.mark.parametrize(("granted", "counts"), [("2020-03-30", True), ("2020-03-29", False)])
def test_a_waiver_counts_from_the_day_the_rule_came_into_force(granted: str,
                                                               counts: bool) -> None:
    ledger = certified("BCCSA", "2020-06-30")
    waive(ledger, granted)
    doc = st(ledger, "2020-08-01")
    assert doc["status"] == ("certified" if counts else "expired")
    if not counts:
        assert "before the waiver came into force on 2020-03-30" in waiver_says(doc)


@pytest.mark.parametrize("partner", ["GENERIC", "AMHSA"])
def test_a_waiver_outside_bc_does_not_count(partner: str) -> None:
    ledger = certified(partner, "2020-07-15")
    if partner == "AMHSA":  # AMHSA recertification also falls due a year after the last audit
        ledger = Ledger("W-1")
        ledger.register("2016-06-01", partner="AMHSA", program="COR", headcount=45)
        ledger.certify("2017-07-01", "2017-07-15", "A1")
    waive(ledger, "2020-05-20")
    doc = st(ledger, "2021-01-01")
    assert doc["status"] != "certified"
    assert "for BCCSA and GO2HR employers, not " + partner in waiver_says(doc)


def test_a_replay_before_the_rule_came_into_force_has_no_waiver_rule() -> None:
    assert not rulebook_for("BCCSA", date(2020, 3, 29)).has("audit-waiver")
    assert rulebook_for("BCCSA", date(2020, 3, 30)).rule("audit-waiver").id == RULE
    assert rulebook_for("GO2HR", date(2020, 3, 30)).rule("audit-waiver").id == RULE
    assert not rulebook_for("AMHSA", date(2021, 1, 1)).has("audit-waiver")
    assert RULES.find(RULE) is not None


def test_a_waiver_is_imported_and_applied_on_both_stores(cli: Cli) -> None:
    lines: list[dict[str, Any] | str] = [
             registration("BC-1", "2016-02-01", partner="GO2HR", headcount=45),
             line("AuditSubmitted", "BC-1", "2017-06-20", {
                 "audit": "A1", "kind": "certification", "auditor": "x",
                 "auditor_type": "external", "started": "2017-06-01",
                 "completed": "2017-06-12", "overall": 85, "elements": {"policy": 88}}),
             line("QADecided", "BC-1", "2017-07-15", {"audit": "A1", "outcome": "accepted"})]
    for n, year in ((2, 2018), (3, 2019)):
        lines += [line("AuditSubmitted", "BC-1", f"{year}-11-01", {
            "audit": f"A{n}", "kind": "maintenance", "auditor": "x",
            "auditor_type": "external", "started": f"{year}-10-10",
            "completed": f"{year}-10-20", "overall": 84, "elements": {"policy": 88}}),
            line("QADecided", "BC-1", f"{year}-11-20", {"audit": f"A{n}",
                                                         "outcome": "accepted"})]
    lines.append(line("AuditWaiverGranted", "BC-1", "2020-05-20",
                      {"waiver": "W-1", "authority": "WorkSafeBC"}))
    assert cli.import_lines(lines).exit_code == 0
    doc = cli.json("status", "BC-1", "--as-of", "2020-08-01")
    assert doc["certificate"]["expires"] == "2021-07-15"
    assert cli.json("status", "BC-1", "--as-of", "2021-07-16")["status"] == "expired"
    explained = cli("explain", "BC-1", "--as-of", "2020-08-01").output
    assert "WSBC-2020.audit-waiv" in explained  # the table may fold the id's last letters
    assert "Information for COR" in explained  # the source by its title
    assert ".txt" not in explained  # never by a file name


# --- a maintenance audit that holds the certificate when the waiver is granted ---------------
# The waiver waives the recertification only (DOMAIN: "whose recertification audit has not
# been submitted"): a maintenance audit held in QA (DOMAIN, the cycle 2) or by an open
# limited-scope window (second set, "Held certificates") still decides; failed, the
# certificate is cancelled, and the waiver's with it; met, it meets its year and the next
# audit is the waiver's recertification, due by the new expiry.


def held_in_qa() -> Ledger:
    """BCCSA, certified 2017-06-30 (expires 2020-06-30); M1 met; M2 (due 2019-12-31)
    submitted in grace 2020-01-10 and still in QA when the waiver is granted 2020-05-01."""
    ledger = Ledger("W-H")
    ledger.register("2016-01-05", partner="BCCSA", headcount=30)
    ledger.certify("2017-06-01", "2017-06-30", started="2017-05-12", completed="2017-05-22")
    ledger.audit("2018-10-01", "M1", "maintenance", started="2018-09-11",
                 completed="2018-09-21")
    ledger.qa("2018-10-20", "M1")
    ledger.audit("2020-01-10", "M2", "maintenance", started="2019-12-10",
                 completed="2019-12-20")
    waive(ledger, "2020-05-01")
    return ledger


def held_by_window() -> Ledger:
    """BCCSA, certified 2017-06-30; M2 (completed 2019-12-31) fails at 75%, accepted by QA:
    its limited-scope window runs to 2020-03-30, the day the waiver is granted (its first
    day in force)."""
    ledger = Ledger("W-L")
    ledger.register("2016-01-05", partner="BCCSA", headcount=30)
    ledger.certify("2017-06-01", "2017-06-30", started="2017-05-12", completed="2017-05-22")
    ledger.audit("2018-10-01", "M1", "maintenance", started="2018-09-11",
                 completed="2018-09-21")
    ledger.qa("2018-10-20", "M1")
    ledger.audit("2020-02-12", "M2", "maintenance", started="2019-12-30",
                 completed="2019-12-31", overall=75)
    ledger.qa("2020-02-20", "M2")
    waive(ledger, "2020-03-30")
    return ledger


def test_a_held_maintenance_audit_rejected_before_the_original_expiry_cancels_both() -> None:
    ledger = held_in_qa()
    ledger.qa("2020-06-01", "M2", "rejected")
    before = st(ledger, "2020-05-31")
    assert before["status"] == "certified" and "qa_pending" in before["flags"]
    assert before["next_audit"]["kind"] == "maintenance"
    doc = st(ledger, "2020-06-01")
    assert doc["status"] == "cancelled" and doc["certificate"] is None
    assert doc["next_audit"]["kind"] == "certification"
    assert st(ledger, "2020-07-15")["status"] == "cancelled"  # the waiver's never starts
    t = fold(ledger.events, as_of=d("2020-12-31"))
    assert [(c.issued, c.ended, c.ended_on) for c in t.certificates] == [
        (d("2017-06-30"), "cancelled", d("2020-06-01")),
        (d("2020-06-30"), "cancelled", d("2020-06-01"))]
    rows_agree(ledger, "2020-01-01", "2020-08-01")


def test_a_held_maintenance_audit_rejected_after_the_original_expiry_ends_the_waivers() -> None:
    ledger = held_in_qa()
    ledger.qa("2020-08-01", "M2", "rejected")
    running = st(ledger, "2020-07-31")
    assert running["status"] == "certified" and "qa_pending" in running["flags"]
    assert running["certificate"] == {"issued": "2020-06-30", "expires": "2021-06-30",
                                      "cycle_year": 3}
    doc = st(ledger, "2020-08-01")
    assert doc["status"] == "cancelled" and doc["certificate"] is None
    t = fold(ledger.events, as_of=d("2020-12-31"))
    assert [(c.issued, c.ended, c.ended_on) for c in t.certificates] == [
        (d("2017-06-30"), "renewed", d("2020-06-30")),
        (d("2020-06-30"), "cancelled", d("2020-08-01"))]
    rows_agree(ledger, "2020-01-01", "2020-09-01")


@pytest.mark.parametrize("accepted", ["2020-06-10", "2020-07-20"])
def test_a_held_maintenance_audit_accepted_meets_its_year_then_the_waivers_recert(
        accepted: str) -> None:
    ledger = held_in_qa()
    ledger.qa(accepted, "M2")
    doc = st(ledger, accepted)
    assert doc["status"] == "certified" and "qa_pending" not in doc["flags"]
    assert doc["next_audit"]["kind"] == "recertification"
    assert doc["next_audit"]["due"] == "2021-06-30"
    assert st(ledger, "2021-06-30")["certificate"] == {
        "issued": "2020-06-30", "expires": "2021-06-30", "cycle_year": 3}
    assert st(ledger, "2021-07-01")["status"] == "expired"
    t = fold(ledger.events, as_of=d("2020-12-31"))
    m2 = t.audits["M2"]
    assert t.required_audit_accepted_in(2019) is m2  # 2019's maintenance, for its incentive
    assert m2.used_for == "maintenance 2"
    assert t.certificates[0].maintenance == ["M1", "M2"]  # the original certificate's
    assert t.certificates[1].maintenance == []
    rows_agree(ledger, "2020-01-01", "2020-09-01")


def test_a_limited_scope_window_open_at_the_waiver_still_closes_on_the_certificate() -> None:
    ledger = held_by_window()
    last = st(ledger, "2020-03-30")
    assert last["status"] == "certified" and "limited_scope_window_open" in last["flags"]
    assert last["next_audit"]["kind"] == "limited_scope"
    doc = st(ledger, "2020-03-31")
    assert doc["status"] == "cancelled" and doc["certificate"] is None
    assert st(ledger, "2020-07-15")["status"] == "cancelled"
    t = fold(ledger.events, as_of=d("2020-12-31"))
    assert [(c.ended, c.ended_on) for c in t.certificates] == [
        ("cancelled", d("2020-03-31")), ("cancelled", d("2020-03-31"))]
    rows_agree(ledger, "2020-01-01", "2020-08-01")


def test_a_limited_scope_repair_accepted_after_the_waiver_leads_to_its_recert() -> None:
    ledger = held_by_window()
    ledger.audit("2020-03-25", "L1", "limited_scope", started="2020-03-15",
                 completed="2020-03-20", overall=85)
    ledger.qa("2020-04-10", "L1")
    assert st(ledger, "2020-04-09")["status"] == "certified"  # L1 in QA holds it
    doc = st(ledger, "2020-04-10")
    assert doc["status"] == "certified"
    assert doc["next_audit"]["kind"] == "recertification"
    assert doc["next_audit"]["due"] == "2021-06-30"
    assert st(ledger, "2020-07-15")["certificate"] == {
        "issued": "2020-06-30", "expires": "2021-06-30", "cycle_year": 3}
    t = fold(ledger.events, as_of=d("2020-12-31"))
    assert t.required_audit_accepted_in(2019) is t.audits["M2"]
    rows_agree(ledger, "2020-01-01", "2020-08-01")
