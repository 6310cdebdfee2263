"""Every class of bad input is refused whole, with the line and field named, nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ACCEPTANCE, Cli, audit, line, registration


def refused(cli: Cli, lines: list[Any]) -> str:
    """Imports ``lines`` expecting a refusal; returns the error text. Nothing may be written."""
    cli("init")  # queries refuse a ledger that does not exist yet
    before = cli.json("history", "E-1")["events"]
    result = cli.import_lines(lines)
    assert result.exit_code != 0, result.output
    assert "nothing was imported" in result.stderr
    assert cli.json("history", "E-1")["events"] == before
    return result.stderr


GOOD_AUDIT = audit()


@pytest.mark.parametrize(("bad", "field", "says"), [
    ("{not json", "line", "not valid JSON"),
    ("[1, 2]", "line", "must be a JSON object"),
    ({**GOOD_AUDIT, "type": "AuditFiled"}, "type", "unknown event type"),
    ({**GOOD_AUDIT, "colour": "red"}, "colour", "Unknown field"),
    ({**GOOD_AUDIT, "data": {**GOOD_AUDIT["data"], "colour": "red"}}, "data.colour",
     "Unknown field"),
    ({k: v for k, v in GOOD_AUDIT.items() if k != "effective"}, "effective", "Missing"),
    ({**GOOD_AUDIT, "data": {k: v for k, v in GOOD_AUDIT["data"].items() if k != "auditor"}},
     "data.auditor", "Missing"),
    ({**GOOD_AUDIT, "data": {**GOOD_AUDIT["data"], "overall": 130}}, "data.overall",
     "from 0 to 100"),
    ({**GOOD_AUDIT, "data": {**GOOD_AUDIT["data"], "overall": "85"}}, "data.overall",
     "must be a number"),
    ({**GOOD_AUDIT, "data": {**GOOD_AUDIT["data"], "elements": {"policy": -1}}},
     "data.elements.policy", "from 0 to 100"),
    ({**GOOD_AUDIT, "data": {**GOOD_AUDIT["data"], "kind": "annual"}}, "data.kind",
     "must be one of"),
    ({**GOOD_AUDIT, "data": {**GOOD_AUDIT["data"], "student": "yes"}}, "data.student",
     "true or false"),
    ({**GOOD_AUDIT, "effective": "2020-02-30"}, "effective", "not a date that exists"),
    ({**GOOD_AUDIT, "effective": "2020/06/01"}, "effective", "YYYY-MM-DD"),
    ({**GOOD_AUDIT, "data": {**GOOD_AUDIT["data"], "completed": "2021-13-01"}},
     "data.completed", "not a date that exists"),
    ({**GOOD_AUDIT, "recorded_at": "2020-06-01T10:00:00"}, "recorded_at", "no offset"),
    ({**GOOD_AUDIT, "recorded_at": "2999-01-01T00:00:00Z"}, "recorded_at", "in the future"),
    ({**GOOD_AUDIT, "id": "x" * 129}, "id", "at most 128"),
    (line("PremiumPaid", "E-1", "2021-01-01", {"year": 2020, "cu": "G100", "amount": 80.5}),
     "data.amount", "decimal string"),
    (line("PremiumPaid", "E-1", "2021-01-01", {"year": 2020, "cu": "G100", "amount": "1.234"}),
     "data.amount", "two decimal places"),
    (line("HeadcountReported", "E-1", "2021-01-01", {"headcount": 12.5}), "data.headcount",
     "whole number"),
    (line("HeadcountReported", "E-1", "2021-01-01", {"headcount": -1}), "data.headcount",
     "at least 0"),
    (line("BaseRateSet", "E-1", "2021-01-01",
          {"jurisdiction": "BC", "cu": "G100", "year": 2021, "base_rate": "4.00"}),
     "employer", "reference data has no employer"),
    (line("HeadcountReported", None, "2021-01-01", {"headcount": 3}), "employer", "Missing"),
    (line("HeadcountReported", "E-9", "2021-01-01", {"headcount": 3}), "employer",
     "not registered"),
    (line("HeadcountReported", "E-1", "2019-12-31", {"headcount": 3}), "effective",
     "before E-1's registration on 2020-01-06"),
    (line("EventVoided", "E-1", "2021-01-01", {"target": "nope", "reason": "typo"}),
     "data.target", "no event with id"),
    # past the dates the ledger keeps, the rules' own arithmetic (an expiry, a window)
    # would leave the calendar: refused, not a crash of every later answer
    (line("HeadcountReported", "E-1", "2201-01-01", {"headcount": 3}), "effective",
     "outside the dates the ledger keeps (1900-01-01 to 2200-12-31)"),
    (audit("E-1", "2021-06-10", started="2021-05-25", completed="9999-12-01"),
     "data.completed", "outside the dates the ledger keeps"),
])
def test_a_bad_line_refuses_the_file_naming_line_and_field(cli: Cli, bad: Any, field: str,
                                                           says: str) -> None:
    assert cli.import_lines([registration()]).exit_code == 0
    error = refused(cli, [line("HeadcountReported", "E-1", "2021-01-01", {"headcount": 3}),
                          bad])
    assert f"line 2: {field}: " in error
    assert says in error


def test_a_registration_later_in_the_file_does_not_count_for_earlier_lines(cli: Cli) -> None:
    error = refused(cli, [audit(), registration()])
    assert "line 1: employer: 'E-1' is not registered" in error


def test_a_registration_earlier_in_the_same_file_counts(cli: Cli) -> None:
    result = cli.import_lines([registration(), audit()])
    assert result.exit_code == 0, result.stderr
    assert [e["type"] for e in cli.json("history", "E-1")["events"]] == [
        "EmployerRegistered", "AuditSubmitted"]


def test_every_error_of_the_file_is_reported_not_just_the_first(cli: Cli) -> None:
    error = refused(cli, [registration(), "{", audit(overall=101), "[]"])
    assert "line 2: line: not valid JSON" in error
    assert "line 3: data.overall" in error
    assert "line 4: line: must be a JSON object" in error


def test_scenario_05_is_refused_naming_line_2_and_overall(cli: Cli) -> None:
    scenario = json.loads((ACCEPTANCE / "first-05.json").read_text())
    result = cli.import_lines(scenario["events"])
    assert result.exit_code != 0
    assert "line 2: data.overall: must be from 0 to 100, got 130" in result.stderr
    assert cli.json("history", "GEN-5")["events"] == []


def test_an_overlong_line_is_refused_without_reading_it_whole(cli: Cli) -> None:
    huge = '{"type": "HeadcountReported", "pad": "' + "x" * (1 << 21) + '"}'
    error = refused(cli, [registration(), huge])
    assert "line 2: line: longer than" in error


def test_a_missing_file_is_a_clear_error(cli: Cli) -> None:
    result = cli("import", str(cli.tmp_path / "nope.jsonl"))
    assert result.exit_code != 0
    assert "no such file" in result.stderr


def test_a_type_that_is_not_a_string_is_refused_not_a_crash(cli: Cli) -> None:
    error = refused(cli, [registration(), {**audit(), "type": ["AuditSubmitted"]}])
    assert "line 2: type: " in error


def test_the_first_and_last_day_the_ledger_keeps_are_accepted(cli: Cli) -> None:
    assert cli.import_lines([registration("E-1", "1900-01-01")]).exit_code == 0
    assert cli.import_lines([line("HeadcountReported", "E-1", "2200-12-31",
                                  {"headcount": 3})]).exit_code == 0
