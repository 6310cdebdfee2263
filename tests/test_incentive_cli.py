"""``corledger incentive`` and ``corledger incentives`` in process, against a real ledger."""

from __future__ import annotations

import csv
import json
from typing import Any

from tests.conftest import ACCEPTANCE, Cli, line, registration


def scenario_03_events() -> list[dict[str, Any]]:
    return json.loads((ACCEPTANCE / "first-03.json").read_text())["events"]


def generic_employer(employer: str = "G-1") -> list[dict[str, Any]]:
    return [registration(employer, "2022-01-03"),
            line("AuditSubmitted", employer, "2022-06-01", {
                "audit": "A1", "kind": "certification", "auditor": "ext-1",
                "auditor_type": "external", "started": "2022-05-01",
                "completed": "2022-05-10", "overall": 85,
                "elements": {"policy": 90}}, id=f"{employer}-A1"),
            line("QADecided", employer, "2022-06-20", {"audit": "A1", "outcome": "accepted"},
                 id=f"{employer}-QA1")]


def test_scenario_03_through_the_cli(cli: Cli) -> None:
    assert cli.import_lines(scenario_03_events()).exit_code == 0
    doc = cli.json("incentive", "BC-1", "--year", "2023")
    assert (doc["state"], doc["amount"], doc["payable_in"], doc["minimum_applied"]) == \
        ("eligible", "8000.00", 2024, False)
    assert doc["by_cu"][0]["base_premium"] == "80000.00"


def test_human_output_names_the_state_and_amount(cli: Cli) -> None:
    cli.import_lines(scenario_03_events())
    result = cli("incentive", "BC-1", "--year", "2023")
    assert result.exit_code == 0
    assert "eligible, 8000.00 payable in 2024" in result.stdout


def test_known_at_filters_on_transaction_time(cli: Cli) -> None:
    events = [dict(e, recorded_at=e.get("recorded_at") or f"{e['effective']}T12:00:00Z")
              for e in scenario_03_events()]
    cli.import_lines(events)
    before_payroll = cli.json("incentive", "BC-1", "--year", "2023", "--known-at",
                              "2024-01-01T00:00:00Z")
    # no payroll or premium known yet: nothing to compute from
    assert (before_payroll["state"], before_payroll["amount"]) == ("eligible", "0.00")
    after = cli.json("incentive", "BC-1", "--year", "2023", "--known-at", "2024-02-15")
    assert after["amount"] == "8000.00"  # a bare date is the end of that day
    early = cli.json("incentive", "BC-1", "--year", "2023", "--known-at", "2022-08-31")
    assert early["state"] == "not_applicable"  # not registered yet, as known then


def test_an_unregistered_employer_is_answered_not_applicable(cli: Cli) -> None:
    cli("init")
    result = cli("incentive", "NOBODY", "--year", "2023", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["state"] == "not_applicable" and doc["partner"] is None


def test_year_is_required(cli: Cli) -> None:
    assert cli("incentive", "BC-1").exit_code != 0


def test_payment_run_with_totals_and_partner_filter(cli: Cli) -> None:
    cli.import_lines([*scenario_03_events(), *generic_employer()])
    run = cli.json("incentives", "--year", "2023")
    assert [d["employer"] for d in run["decisions"]] == ["BC-1", "G-1"]
    assert run["totals"]["by_state"] == {"eligible": 1, "ineligible": 0, "deferred": 0,
                                         "open": 0, "not_applicable": 1}
    assert run["totals"]["amount"] == "8000.00" and run["totals"]["employers"] == 2
    only = cli.json("incentives", "--year", "2023", "--partner", "GENERIC")
    assert [d["employer"] for d in only["decisions"]] == ["G-1"]
    assert only["totals"]["amount"] == "0.00"


def on_hold_employer(employer: str = "BC-2") -> list[dict[str, Any]]:
    """Scenario 03's employer under another id, with an investigation of a 2023 incident
    still open (its 2023 decision is deferred) and 1,000.00 already paid for 2023."""
    events = [{**e, "id": e["id"].replace("BC-1", employer), "employer": employer}
              for e in scenario_03_events() if e.get("employer") == "BC-1"]
    return [*events,
            line("SeriousIncidentReported", employer, "2023-09-01",
                 {"fatality": False, "description": "fall from a roof"}, id=f"{employer}-inc"),
            line("InvestigationOpened", employer, "2023-09-02", {"case": "C-1"},
                 id=f"{employer}-inv"),
            line("IncentivePaid", employer, "2024-03-01", {"year": 2023, "amount": "1000.00"},
                 id=f"{employer}-paid")]


def test_payment_run_totals_reconcile_with_payments_to_undecided_employers(cli: Cli) -> None:
    paid = line("IncentivePaid", "BC-1", "2024-03-01", {"year": 2023, "amount": "5000.00"},
                id="BC-1-paid")
    cli.import_lines([*scenario_03_events(), paid, *on_hold_employer()])
    run = cli.json("incentives", "--year", "2023")
    states = {d["employer"]: (d["state"], d["difference"]) for d in run["decisions"]}
    assert states == {"BC-1": ("eligible", "3000.00"), "BC-2": ("deferred", None)}
    totals = run["totals"]
    assert (totals["amount"], totals["paid"], totals["paid_undecided"],
            totals["difference"]) == ("8000.00", "6000.00", "1000.00", "3000.00")
    text = cli("incentives", "--year", "2023")
    assert text.exit_code == 0
    assert "paid 6000.00 (1000.00 of it to employers not yet decided), difference 3000.00" \
        in " ".join(text.stdout.split())  # as the terminal wraps it
    plain = cli.json("incentives", "--year", "2023", "--partner", "GENERIC")["totals"]
    assert plain["paid_undecided"] == "0.00"


def test_payment_run_as_csv(cli: Cli) -> None:
    cli.import_lines([*scenario_03_events(), *generic_employer()])
    path = cli.tmp_path / "run.csv"
    result = cli("incentives", "--year", "2023", "--csv", str(path))
    assert result.exit_code == 0
    rows = list(csv.DictReader(path.open()))
    assert [(r["employer"], r["state"], r["amount"]) for r in rows] == \
        [("BC-1", "eligible", "8000.00"), ("G-1", "not_applicable", "")]
    assert "1 eligible" in result.stderr


def test_csv_and_json_are_exclusive(cli: Cli) -> None:
    assert cli("incentives", "--year", "2023", "--csv", "-", "--json").exit_code != 0
