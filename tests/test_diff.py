"""The pure diff: applying its changes to the "from" document gives the "to" document, and
each difference names exactly the events (or the calendar) and rules responsible."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger.rulebooks import RULES
from projections.diff import View, apply_changes, comparable, diff
from projections.status import status
from tests.factories import Ledger, at, d
from tests.test_status_properties import START, histories


def rule_id(name: str, on: date = date(2020, 1, 1)) -> str:
    """The id of a GENERIC rule in force on ``on``, as the registry names it."""
    return RULES.rulebook_for("GENERIC", on).rule(name).id


views = st.builds(
    View,
    st.integers(0, 6 * 365).map(lambda n: START + timedelta(days=n)),
    st.one_of(st.none(), st.integers(0, 7 * 365).map(
        lambda n: datetime.combine(START + timedelta(days=n), time(12), UTC))))


@settings(max_examples=120, deadline=None)
@given(histories(), views, views)
def test_applying_the_reported_changes_to_the_from_document_gives_the_to_document(
    events: list[ev.LedgerEvent], before: View, after: View
) -> None:
    result = diff(events, employer="EMP", before=before, after=after)
    start = comparable(status(events, as_of=before.as_of, known_at=before.known_at,
                              employer="EMP"))
    end = comparable(status(events, as_of=after.as_of, known_at=after.known_at,
                            employer="EMP"))
    assert result["before"] == start and result["after"] == end
    assert apply_changes(start, result["changes"]) == end
    assert result["unchanged"] == (start == end)
    by_id = {e.event_id: e for e in events}
    # The transaction-time interval: (earlier known-at, later one], None being "now".
    known = sorted(k for k in (before.known_at, after.known_at) if k is not None)
    early = known[0] if known else None
    late = known[1] if len(known) == 2 else None
    days = sorted((before.as_of, after.as_of))
    for change in result["changes"]:
        assert change["because"], change  # every difference has a cause
        for cause in change["because"]:
            assert cause["time"] in result["moved"]
            if cause["event"] is None:
                assert cause["time"] == "valid" and cause["type"] == "calendar"
                continue
            event = by_id[cause["event"]]
            if cause["time"] == "transaction":  # recorded between the two known-ats
                assert early is not None and event.recorded_at > early
                assert late is None or event.recorded_at <= late
            else:  # effective between the two as-of dates
                assert days[0] < event.effective <= days[1]


@settings(max_examples=40, deadline=None)
@given(histories(), views, views, st.integers(2015, 2021))
def test_with_a_year_the_incentive_decision_is_compared_too(
    events: list[ev.LedgerEvent], before: View, after: View, year: int
) -> None:
    result = diff(events, employer="EMP", before=before, after=after, year=year)
    assert "incentive" in result["before"] and "incentive" in result["after"]
    assert apply_changes(result["before"], result["changes"]) == result["after"]


# --- attribution ---------------------------------------------------------------------------------


def causes(result: dict[str, Any], field: str) -> list[tuple[str, str | None]]:
    """The (time axis, event id) of each cause of ``field``'s change."""
    change = next(c for c in result["changes"] if c["field"] == field)
    return [(c["time"], c["event"]) for c in change["because"]]


def rules(result: dict[str, Any], field: str) -> set[str | None]:
    change = next(c for c in result["changes"] if c["field"] == field)
    return {r["rule"] for c in change["because"] for r in c["rules"]}


def late_audit_ledger() -> Ledger:
    """Certified in 2015; the maintenance audit of June 2016 (by an internal auditor whose
    qualification is recorded with it) reaches the ledger only in August."""
    ledger = Ledger("GEN-6")
    ledger.register("2015-01-05")
    ledger.certify("2015-06-01", "2015-06-15", "A1")
    ledger.add(ev.HeadcountReported, "2016-03-01", "2016-07-20", headcount=26)  # no effect
    ledger.auditor("2015-01-05", "gen-6-internal", recorded="2016-08-01T09:00:00Z")
    ledger.audit("2016-06-01", "A2", "maintenance", auditor_type="internal",
                 auditor="gen-6-internal", recorded="2016-08-01T09:00:00Z")
    ledger.qa("2016-06-10", "A2", recorded="2016-08-01T09:05:00Z")
    return ledger


def test_a_late_recorded_audit_is_named_in_transaction_time_with_what_made_it_count() -> None:
    ledger = late_audit_ledger()
    result = diff(ledger.events, employer="GEN-6",
                  before=View(d("2016-07-01"), at("2016-07-01T00:00:00Z")),
                  after=View(d("2016-07-01"), None))
    assert result["moved"] == ["transaction"]
    assert (result["before"]["status"], result["after"]["status"]) == ("cancelled", "certified")
    # The audit submitted on time keeps the certificate (QA pending or not); it counts only
    # because its auditor was qualified: exactly those two, not the headcount report.
    assert causes(result, "status") == [("transaction", "GEN-6-5"), ("transaction", "GEN-6-6")]
    assert rule_id("pass-mark") in rules(result, "status")
    # The next due date also needs the QA acceptance that met maintenance 1.
    assert ("transaction", "GEN-6-7") in causes(result, "next_audit.due")
    assert rule_id("maintenance-due") in rules(result, "next_audit.due")
    every = {c["event"] for change in result["changes"] for c in change["because"]}
    assert "GEN-6-4" not in every  # the headcount report changed nothing


def test_a_void_is_named_with_the_event_it_voided() -> None:
    ledger = Ledger("E-1")
    ledger.register("2020-01-06")
    ledger.certify("2020-06-01", "2020-06-15", "A1")
    qa = ledger.events[-1]
    ledger.add(ev.EventVoided, "2020-09-01", "2020-09-01", target=qa.event_id,
               reason="entered against the wrong audit")
    result = diff(ledger.events, employer="E-1",
                  before=View(d("2020-10-01"), at("2020-08-01")),
                  after=View(d("2020-10-01"), at("2020-10-01")))
    assert (result["before"]["status"], result["after"]["status"]) == ("certified", "registered")
    assert causes(result, "status") == [("transaction", "E-1-4")]
    cause = result["changes"][0]["because"][0]
    assert cause["type"] == "EventVoided"
    assert cause["voided"] == {"event": qa.event_id, "type": "QADecided",
                               "effective": "2020-06-15", "recorded_at": "2020-06-15T12:00:00Z"}
    assert rule_id("qa") in {r["rule"] for r in cause["rules"]}


def test_a_revocation_recorded_late_is_named_alone() -> None:
    ledger = Ledger("E-1")
    ledger.register("2020-01-06")
    ledger.certify("2020-06-01", "2020-06-15", "A1")
    ledger.add(ev.CertificationRevoked, "2021-01-10", "2021-03-01", authority="WorkSafeBC",
               reason="fatality investigation")
    ledger.add(ev.HeadcountReported, "2021-01-20", "2021-02-20", headcount=30)
    result = diff(ledger.events, employer="E-1",
                  before=View(d("2021-02-01"), at("2021-02-01")),
                  after=View(d("2021-02-01"), None))
    assert (result["before"]["status"], result["after"]["status"]) == ("certified", "revoked")
    assert causes(result, "status") == [("transaction", "E-1-4")]
    assert rules(result, "status") == {rule_id("revocation")}


def test_an_expiry_passing_is_the_calendar_in_valid_time() -> None:
    ledger = Ledger("E-1")
    ledger.register("2015-01-05")
    ledger.certify("2015-06-01", "2015-06-15", "A1")
    for n, year in ((2, 2016), (3, 2017)):
        ledger.audit(f"{year}-05-01", f"A{n}", "maintenance")
        ledger.qa(f"{year}-05-15", f"A{n}")
    ledger.add(ev.HeadcountReported, "2018-06-01", headcount=27)  # effective in between
    result = diff(ledger.events, employer="E-1", before=View(d("2018-05-01")),
                  after=View(d("2018-07-01")))
    assert result["moved"] == ["valid"]
    assert (result["before"]["status"], result["after"]["status"]) == ("certified", "expired")
    assert causes(result, "status") == [("valid", None)]
    cause = result["changes"][0]["because"][0]
    assert cause["type"] == "calendar" and cause["effective"] == "2018-06-16"
    assert rules(result, "status") == {rule_id("recertification-due")}


def test_an_anniversary_moves_the_cycle_year_by_the_calendar() -> None:
    ledger = Ledger("E-1")
    ledger.register("2020-01-06")
    ledger.certify("2020-06-01", "2020-06-15", "A1")
    result = diff(ledger.events, employer="E-1", before=View(d("2020-07-01")),
                  after=View(d("2021-06-15")))
    assert [c["field"] for c in result["changes"]] == ["certificate.cycle_year"]
    assert causes(result, "certificate.cycle_year") == [("valid", None)]
    cause = result["changes"][0]["because"][0]
    assert (cause["type"], cause["effective"]) == ("calendar", "2021-06-15")
    assert rules(result, "certificate.cycle_year") == {rule_id("validity")}


def test_both_axes_moving_label_each_cause_with_its_axis() -> None:
    ledger = Ledger("E-1")
    ledger.register("2020-01-06")
    ledger.audit("2020-06-01", "A1", recorded="2020-08-01")
    ledger.qa("2020-06-15", "A1", recorded="2020-08-01")
    # before: as of July 1, known then (nothing recorded yet); after: a year on, known now:
    # the late audit and its QA (transaction time), then the missed maintenance (valid).
    result = diff(ledger.events, employer="E-1",
                  before=View(d("2020-07-01"), at("2020-07-01")),
                  after=View(d("2021-07-01"), None))
    assert result["moved"] == ["transaction", "valid"]
    assert (result["before"]["status"], result["after"]["status"]) == ("registered",
                                                                       "cancelled")
    assert causes(result, "status") == [("transaction", "E-1-2"), ("transaction", "E-1-3"),
                                        ("valid", None)]
    assert rule_id("missed-audit") in rules(result, "status")


def test_an_event_in_between_and_the_calendar_after_it_are_both_named() -> None:
    ledger = Ledger("E-1")
    ledger.register("2020-01-06")
    ledger.audit("2020-06-01", "A1")
    ledger.qa("2020-06-15", "A1")
    # As of June 10 the audit awaits QA; by 2021-07-01 QA issued the certificate (an event in
    # between) and maintenance 1 was then missed (the calendar): both are needed.
    result = diff(ledger.events, employer="E-1", before=View(d("2020-06-10")),
                  after=View(d("2021-07-01")))
    assert (result["before"]["status"], result["after"]["status"]) == ("registered",
                                                                       "cancelled")
    assert causes(result, "status") == [("valid", "E-1-3"), ("valid", None)]


def test_an_unchanged_pair_says_so() -> None:
    ledger = Ledger("E-1")
    ledger.register("2020-01-06")
    ledger.certify("2020-06-01", "2020-06-15", "A1")
    result = diff(ledger.events, employer="E-1", before=View(d("2020-07-01")),
                  after=View(d("2020-08-01"), None))
    assert result["unchanged"] and result["changes"] == []


def test_an_unregistered_employer_reads_the_same_everywhere() -> None:
    result = diff([], employer="NOBODY", before=View(date(2020, 1, 1)),
                  after=View(date(2024, 1, 1)))
    assert result["unchanged"] and result["after"]["status"] == "unregistered"


def test_a_calendar_cause_is_dated_the_day_the_field_moved_not_the_later_view() -> None:
    """The waiver's certificate starts on the old expiry: named on that day, by the waiver."""
    ledger = Ledger("BC-W")
    ledger.register("2016-02-01", partner="GO2HR")
    ledger.certify("2017-06-20", "2017-07-15", "A1")
    for n, year in ((2, 2018), (3, 2019)):
        ledger.audit(f"{year}-11-01", f"A{n}", "maintenance")
        ledger.qa(f"{year}-11-20", f"A{n}")
    ledger.add(ev.AuditWaiverGranted, "2020-05-20", waiver="W-1", authority="WorkSafeBC")
    result = diff(ledger.events, employer="BC-W", before=View(d("2020-06-05")),
                  after=View(d("2020-08-05")))
    change = next(c for c in result["changes"] if c["field"] == "certificate.issued")
    assert [(c["type"], c["effective"]) for c in change["because"]] == [
        ("calendar", "2020-07-15")]
    assert rules(result, "certificate.issued") == {
        RULES.rulebook_for("GO2HR", d("2020-07-15")).rule("audit-waiver").id}


def test_an_event_that_kept_a_field_from_moving_leaves_no_calendar_cause() -> None:
    """Without the QA acceptance the due date would have passed; with it the calendar moved
    nothing after it, so only the events are named."""
    ledger = Ledger("E-1")
    ledger.register("2015-01-05")
    ledger.certify("2015-06-01", "2015-06-15", "A1")
    ledger.audit("2016-06-01", "A2", "maintenance")
    ledger.qa("2016-06-10", "A2")
    result = diff(ledger.events, employer="E-1", before=View(d("2016-05-07")),
                  after=View(d("2016-07-07")))
    assert ("valid", None) not in causes(result, "next_audit.due")


def test_with_a_year_each_view_decides_the_incentive_as_on_its_own_day() -> None:
    """Known at mid-year, the year still runs: open, as `incentive --known-at` says."""
    ledger = Ledger("E-1")
    ledger.register("2020-01-06", partner="BCCSA")
    ledger.certify("2020-06-01", "2020-06-15", "A1")
    mid = View(d("2021-01-01"), at("2021-07-01"))
    result = diff(ledger.events, employer="E-1", before=mid, after=View(d("2021-01-01")),
                  year=2021, today=d("2024-01-01"))
    assert result["before"]["incentive"]["state"] == "open"


def bccsa_rule(name: str, on: date = date(2021, 12, 31)) -> str:
    return RULES.rulebook_for("BCCSA", on).rule(name).id


def test_a_year_ending_between_the_known_ats_is_the_calendar_of_the_incentive() -> None:
    """Nothing recorded in between, yet the later known-at asks after the year ended: the
    decision leaves ``open`` by the calendar, under the incentive's rule."""
    ledger = Ledger("E-1")
    ledger.register("2021-01-05", partner="BCCSA")
    ledger.certify("2021-06-01", "2021-06-30")
    result = diff(ledger.events, employer="E-1", before=View(d("2021-12-20"), at("2021-12-15")),
                  after=View(d("2021-12-20"), at("2022-01-20")), year=2021,
                  today=d("2024-01-01"))
    state = next(c for c in result["changes"] if c["field"] == "incentive.state")
    assert (state["from"], state["to"]) == ("open", "eligible")
    assert all(change["because"] for change in result["changes"])
    assert causes(result, "incentive.state") == [("transaction", None)]
    assert state["because"][0]["type"] == "calendar"
    assert rules(result, "incentive.state") == {bccsa_rule("incentive")}


def test_a_combination_names_the_events_it_needs_not_every_event_in_between() -> None:
    """Two certification audits recorded together, each enough alone, and a headcount
    report: no single event moves the status alone or by its removal; one audit with its QA
    acceptance is named jointly, never the headcount report."""
    ledger = Ledger("E-1")
    ledger.register("2021-01-05", recorded="2021-01-05")
    for audit in ("A1", "A2"):
        ledger.audit("2021-06-01", audit, recorded="2021-08-01")
        ledger.qa("2021-06-30", audit, recorded="2021-08-01")
    ledger.add(ev.HeadcountReported, "2021-07-01", "2021-08-01", headcount=30)
    result = diff(ledger.events, employer="E-1", before=View(d("2021-07-15"), at("2021-07-20")),
                  after=View(d("2021-07-15"), at("2021-08-02")))
    assert (result["before"]["status"], result["after"]["status"]) == ("registered", "certified")
    assert causes(result, "status") == [("transaction", "E-1-2"), ("transaction", "E-1-3")]
    assert all(c.get("jointly") for c in next(
        ch for ch in result["changes"] if ch["field"] == "status")["because"])
    every = {c["event"] for change in result["changes"] for c in change["because"]}
    assert "E-1-6" not in every


def test_an_event_named_for_the_incentive_cites_the_incentives_own_rule() -> None:
    """A penalty recorded late makes the year ineligible: the cause carries the rule the
    incentive decided it by, which the status fold knows nothing of."""
    ledger = Ledger("E-1")
    ledger.register("2021-01-05", partner="BCCSA")
    ledger.certify("2021-06-01", "2021-06-30")
    ledger.add(ev.ViolationRecorded, "2021-09-01", "2022-03-01", kind="fall protection",
               penalty=True)
    result = diff(ledger.events, employer="E-1", before=View(d("2022-02-15"), at("2022-02-15")),
                  after=View(d("2022-02-15"), at("2022-03-15")), year=2021,
                  today=d("2024-01-01"))
    assert causes(result, "incentive.state") == [("transaction", "E-1-4")]
    assert bccsa_rule("incentive-exceptions") in rules(result, "incentive.state")
