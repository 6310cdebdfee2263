"""The event additions of the second set (INTERCHANGE.md v2): AuditWaiverGranted,
InvestigationOpened.incident_date and voids of reference data, imported through the CLI."""

from __future__ import annotations

from tests.conftest import Cli, line, registration

RATE = line("BaseRateSet", None, "2021-01-01",
            {"jurisdiction": "BC", "cu": "G100", "year": 2021, "base_rate": "4.00"},
            id="rate-2021")


def test_an_audit_waiver_is_imported_and_shown_in_history(cli: Cli) -> None:
    waiver = line("AuditWaiverGranted", "E-1", "2020-05-20",
                  {"waiver": "WSBC-2020-W-1", "authority": "WorkSafeBC"}, id="w1")
    assert cli.import_lines([registration(), waiver]).exit_code == 0
    events = cli.json("history", "E-1")["events"]
    assert events[-1]["type"] == "AuditWaiverGranted"
    assert events[-1]["data"] == {"waiver": "WSBC-2020-W-1", "authority": "WorkSafeBC"}


def test_an_audit_waiver_without_authority_is_refused_naming_the_field(cli: Cli) -> None:
    waiver = line("AuditWaiverGranted", "E-1", "2020-05-20", {"waiver": "W-1"})
    result = cli.import_lines([registration(), waiver])
    assert result.exit_code != 0
    assert "line 2: data.authority: " in result.stderr


def test_an_investigation_carries_its_incident_date_or_none(cli: Cli) -> None:
    opened = [line("InvestigationOpened", "E-1", "2021-02-01",
                   {"case": "C-1", "incident_date": "2020-12-20"}, id="i1"),
              line("InvestigationOpened", "E-1", "2021-02-02", {"case": "C-2"}, id="i2")]
    assert cli.import_lines([registration(), *opened]).exit_code == 0
    data = [e["data"] for e in cli.json("history", "E-1")["events"][1:]]
    assert data == [{"case": "C-1", "incident_date": "2020-12-20"},
                    {"case": "C-2", "incident_date": None}]


def test_an_investigation_with_a_bad_incident_date_is_refused(cli: Cli) -> None:
    bad = line("InvestigationOpened", "E-1", "2021-02-01",
               {"case": "C-1", "incident_date": "2020-02-30"})
    result = cli.import_lines([registration(), bad])
    assert result.exit_code != 0
    assert "line 2: data.incident_date: " in result.stderr


def test_a_void_without_employer_voids_reference_data(cli: Cli) -> None:
    void = line("EventVoided", None, "2021-03-01", {"target": "rate-2021", "reason": "typo"},
                id="rate-fix")
    assert cli.import_lines([RATE, void]).exit_code == 0
    again = cli.import_lines([RATE, void])
    assert again.exit_code == 0, again.stderr
    assert "0 events added, 2 skipped" in again.output


def test_a_void_without_employer_cannot_reach_an_employers_event(cli: Cli) -> None:
    void = line("EventVoided", None, "2021-03-01", {"target": "E-1-reg", "reason": "x"})
    result = cli.import_lines([registration(), void])
    assert result.exit_code != 0
    assert "line 2: data.target: " in result.stderr
    assert "belongs to E-1, not the reference data" in result.stderr


def test_an_employers_void_cannot_reach_reference_data(cli: Cli) -> None:
    void = line("EventVoided", "E-1", "2021-03-01", {"target": "rate-2021", "reason": "x"})
    result = cli.import_lines([registration(), RATE, void])
    assert result.exit_code != 0
    assert "belongs to the reference data, not E-1" in result.stderr
