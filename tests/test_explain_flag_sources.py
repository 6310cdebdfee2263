"""``explain`` names the event that raised each flag: for AMHSA's all-year headcount limit
that is the report above 10 in force during the year, not a later report within the limit
(DOMAIN.md, Precise rules second set, "AMHSA dates")."""

from __future__ import annotations

from typing import Any

from tests.conftest import Cli, audit, line, registration

Lines = list[dict[str, Any] | str]


def _amhsa_secor_with_12_then_8() -> Lines:
    return [
        registration("AM-1", "2020-01-10", partner="AMHSA", program="SECOR", headcount=8),
        line("HeadcountReported", "AM-1", "2021-05-01", {"headcount": 12}, id="AM-1-H12"),
        line("HeadcountReported", "AM-1", "2021-08-01", {"headcount": 8}, id="AM-1-H8"),
    ]


def _headcount_row(cli: Cli, as_of: str) -> list[tuple[str, str | None, str]]:
    doc = cli.json("explain", "AM-1", "--as-of", as_of)
    return [(f["flag"], f["event"], f["says"]) for f in doc["flags"]
            if f["flag"] == "headcount_exceeds_program"]


def test_amhsa_headcount_flag_names_the_report_over_the_limit_not_a_later_one(
        cli: Cli) -> None:
    assert cli.import_lines(_amhsa_secor_with_12_then_8()).exit_code == 0
    # after the report of 8 the flag still holds for 2021, raised by the report of 12
    assert _headcount_row(cli, "2021-12-31") == [
        ("headcount_exceeds_program", "AM-1-H12", "headcount 12 is over the SECOR limit")]
    assert _headcount_row(cli, "2021-05-01") == [
        ("headcount_exceeds_program", "AM-1-H12", "headcount 12 is over the SECOR limit")]
    assert _headcount_row(cli, "2021-04-30") == []
    assert _headcount_row(cli, "2022-01-01") == []  # the 8 is what 2022 starts with


def test_amhsa_headcount_carried_into_the_year_is_named_until_a_report_on_jan_1(
        cli: Cli) -> None:
    lines: Lines = [*_amhsa_secor_with_12_then_8()[:2],
             line("HeadcountReported", "AM-1", "2022-01-01", {"headcount": 9}, id="AM-1-H9")]
    assert cli.import_lines(lines).exit_code == 0
    assert _headcount_row(cli, "2021-12-31")[0][1] == "AM-1-H12"
    # a report dated Jan 1 replaces the 12 before the year starts: no flag for 2022
    assert _headcount_row(cli, "2022-03-01") == []


def test_generic_headcount_flag_names_the_latest_report(cli: Cli) -> None:
    lines: Lines = [registration("GS-1", "2020-01-10", program="SECOR", headcount=8),
             line("HeadcountReported", "GS-1", "2020-05-01", {"headcount": 12}, id="GS-1-H12"),
             line("HeadcountReported", "GS-1", "2020-08-01", {"headcount": 11}, id="GS-1-H11")]
    assert cli.import_lines(lines).exit_code == 0
    doc = cli.json("explain", "GS-1", "--as-of", "2020-09-01")
    assert [(f["event"], f["says"]) for f in doc["flags"]] == [
        ("GS-1-H11", "headcount 11 is over the SECOR limit")]


def test_qa_pending_rows_name_only_audits_that_could_meet_the_next_audit(cli: Cli) -> None:
    """A maintenance audit sent after the certificate was cancelled cannot count and does
    not set qa_pending (second set, "qa_pending"); the certification audit in QA does."""
    lines: Lines = [registration("GC-1", "2015-01-05"),
             audit("GC-1", "2015-06-01", started="2015-05-20", completed="2015-05-28"),
             line("QADecided", "GC-1", "2015-06-15", {"audit": "A1", "outcome": "accepted"},
                  id="GC-1-QA1"),
             audit("GC-1", "2016-07-01", audit_id="M1", kind="maintenance",
                   started="2016-06-20", completed="2016-06-25"),
             audit("GC-1", "2016-07-05", audit_id="C2", started="2016-06-20",
                   completed="2016-06-25")]
    assert cli.import_lines(lines).exit_code == 0
    doc = cli.json("explain", "GC-1", "--as-of", "2016-07-10")
    assert doc["status"]["status"] == "cancelled"
    assert doc["status"]["flags"] == ["qa_pending"]
    assert [(f["flag"], f["event"]) for f in doc["flags"]] == [("qa_pending", "GC-1-C2")]
    # before the certification audit only the late maintenance audit is in QA: no flag
    before = cli.json("explain", "GC-1", "--as-of", "2016-07-03")
    assert before["status"]["flags"] == [] and before["flags"] == []


def test_a_waivers_certificate_names_the_waiver_and_its_audits_own_qa_date(cli: Cli) -> None:
    """The 2020 waiver's one-year certificate extends audit A1's: its row says the waiver
    issued it, and A1's QA acceptance is the one of 2017, not the waiver's date."""
    qa = [line("QADecided", "W1", day, {"audit": name, "outcome": "accepted"}, id=f"W1-q{name}")
          for name, day in (("A1", "2017-06-30"), ("M1", "2018-11-20"), ("M2", "2019-11-20"))]
    assert cli.import_lines([
        registration("W1", "2017-01-05", partner="BCCSA"),
        audit("W1", "2017-06-01", started="2017-05-22", completed="2017-05-27"), qa[0],
        audit("W1", "2018-11-01", audit_id="M1", kind="maintenance", started="2018-10-22",
              completed="2018-10-27"), qa[1],
        audit("W1", "2019-11-01", audit_id="M2", kind="maintenance", started="2019-10-22",
              completed="2019-10-27"), qa[2],
        line("AuditWaiverGranted", "W1", "2020-04-15",
             {"waiver": "WV-1", "authority": "WorkSafeBC"}, id="W1-wv"),
    ]).exit_code == 0
    rows = cli.json("explain", "W1", "--as-of", "2020-07-15")["certificates"]
    waived = next(r for r in rows if r["issued"] == "2020-06-30")
    assert (waived["audit"], waived["qa_accepted"]) == ("A1", "2017-06-30")
    assert waived["issued_by"] == "WSBC-2020.audit-waiver"
    assert waived["waiver"] == {"event": "W1-wv", "type": "AuditWaiverGranted",
                                "effective": "2020-04-15"}
    assert rows[0]["issued_by"] == "COR-2000.validity" and rows[0]["waiver"] is None


def test_a_void_known_before_its_target_does_not_describe_the_target_yet(cli: Cli) -> None:
    """Known at a time between the void's record and its target's, explain lists the void
    but knows nothing of the target: its type and date come from an event not yet recorded."""
    assert cli.import_lines([
        registration("E-1", "2015-01-05", recorded_at="2015-01-05T00:00:00Z"),
        line("QADecided", "E-1", "2015-06-15", {"audit": "A1", "outcome": "accepted"},
             id="E-1-qa", recorded_at="2015-09-15T00:00:00Z"),
    ]).exit_code == 0
    assert cli.import_lines([  # imported after its target, recorded before it
        line("EventVoided", "E-1", "2015-09-01", {"target": "E-1-qa", "reason": "early"},
             id="E-1-void", recorded_at="2015-09-01T00:00:00Z"),
    ]).exit_code == 0
    early = cli.json("explain", "E-1", "--as-of", "2015-12-31",
                     "--known-at", "2015-09-10T00:00:00Z")["voids"]
    assert [(v["event"], v["target"], v["target_type"]) for v in early] == [
        ("E-1-void", "E-1-qa", None)]
    later = cli.json("explain", "E-1", "--as-of", "2015-12-31")["voids"]
    assert [(v["target_type"], v["target_effective"]) for v in later] == [
        ("QADecided", "2015-06-15")]
