"""On a real ``corledger serve`` (loopback, a real ledger file), the API answers what the
command line answers, through the command line's own functions: idempotency on the submitted
object, the lists' CSV columns and names, the receipts, the configured scan window, and
tenancy by the registration that stands (specqa5 06)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from service.tokens import create_token
from tests.conftest import Cli, line
from tests.service_support import NOW, OWN, http, jsonl, seed, served, tokens

pytestmark = pytest.mark.integration  # a real server on loopback

NDJSON = {"Content-Type": "application/x-ndjson"}


def _registered(employer: str, name: str, partner: str, event_id: str, effective: str,
                recorded_at: str) -> dict[str, Any]:
    return line("EmployerRegistered", employer, effective, {
        "name": name, "partner": partner, "program": "COR",
        "classification_units": ["721005"], "headcount": 25},
        id=event_id, recorded_at=recorded_at)


def certified(employer: str, name: str) -> list[dict[str, Any]]:
    """A BCCSA employer certified in 2024: its first maintenance audit is due 2025-12-31."""
    return [
        _registered(employer, name, "BCCSA", f"{employer}-reg", "2024-01-02",
                    "2024-01-03T10:00:00Z"),
        line("AuditSubmitted", employer, "2024-02-20", {
            "audit": "A-1", "kind": "certification", "auditor": "ext-1",
            "auditor_type": "external", "started": "2024-02-01", "completed": "2024-02-10",
            "overall": 86, "elements": {"policy": 90, "hazard_assessment": 80}},
            id=f"{employer}-aud", recorded_at="2024-02-20T10:00:00Z"),
        line("QADecided", employer, "2024-03-15", {"audit": "A-1", "outcome": "accepted"},
             id=f"{employer}-qa", recorded_at="2024-03-15T10:00:00Z"),
    ]


def test_an_object_resent_without_by_is_skipped_whoever_sends_it_again(
        cli: Cli, db_url: str, tmp_path: Path) -> None:
    """Idempotency compares the submitted object, not the ``by`` the service stamps on it
    (DOMAIN.md, "Ids"); an event stored before under the stamped line's hash still matches
    its re-send by the same token."""
    seed(db_url)
    made = tokens(db_url)
    desk_2 = create_token(db_url, name="BCCSA desk 2", role="partner", partner="BCCSA",
                          now=NOW)[0]
    sent = line("HeadcountReported", OWN, "2021-02-01", {"headcount": 30}, id="hc-resent",
                recorded_at="2021-02-01T00:00:00Z")
    # as the service stored an API line before: the stamped line, hashed as it was
    stamped_before = line("HeadcountReported", OWN, "2021-03-01", {"headcount": 31},
                          id="hc-stamped", recorded_at="2021-03-01T00:00:00Z",
                          by="BCCSA QA desk")
    assert cli.import_lines([stamped_before]).exit_code == 0
    unstamped = {k: v for k, v in stamped_before.items() if k != "by"}
    with served(db_url, tmp_path, workers=1) as (base, _):
        answers = [http("POST", f"{base}/v1/events", token, jsonl([sent]), NDJSON)
                   for token in (made["partner"], desk_2)]
        legacy = http("POST", f"{base}/v1/events", made["partner"], jsonl([unstamped]), NDJSON)
    assert [(status, orjson.loads(body)["added"], orjson.loads(body)["skipped"])
            for status, _, body in answers] == [(200, 1, 0), (200, 0, 1)], answers[1][2]
    assert legacy[0] == 200 and orjson.loads(legacy[2])["skipped"] == 1, legacy[2]
    again = cli.import_lines([sent])
    assert again.exit_code == 0 and "0 events added, 1 skipped" in again.output


def test_the_lapses_csv_has_the_commands_columns_grace_end_and_name(
        cli: Cli, db_url: str, tmp_path: Path) -> None:
    assert cli.import_lines(certified("BC-6020001", "Grace Paving Ltd")).exit_code == 0
    made = tokens(db_url)
    window = ("--as-of", "2026-01-10", "--within", "30")
    command = cli("lapses", *window, "--csv", "-").stdout
    with served(db_url, tmp_path, workers=1) as (base, _):
        status, headers, body = http("GET", f"{base}/v1/lapses?as_of=2026-01-10&within=30",
                                     made["regulator"], headers={"Accept": "text/csv"})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["name"], r["reasons"], r["grace_end"]) for r in rows] == [
        ("Grace Paving Ltd", "in_grace", "2026-02-14")]
    assert body.decode().splitlines() == command.splitlines()


def test_the_roll_names_each_employer_as_the_command_does(cli: Cli, db_url: str,
                                                          tmp_path: Path) -> None:
    assert cli.import_lines(certified("BC-6050001", "Roll Call Roofing Ltd")).exit_code == 0
    made = tokens(db_url)
    command = cli.json("roll", "--as-of", "2024-06-30")["employers"]
    command_csv = cli("roll", "--as-of", "2024-06-30", "--csv", "-").stdout
    with served(db_url, tmp_path, workers=1) as (base, _):
        status, _, body = http("GET", f"{base}/v1/roll?as_of=2024-06-30", made["regulator"])
        csv_status, _, csv_body = http("GET", f"{base}/v1/roll?as_of=2024-06-30",
                                       made["regulator"], headers={"Accept": "text/csv"})
    assert (status, csv_status) == (200, 200)
    rows = orjson.loads(body)["employers"]
    assert [r["name"] for r in rows] == ["Roll Call Roofing Ltd"]
    assert rows == command
    assert csv_body.decode().splitlines() == command_csv.splitlines()


def test_status_and_incentive_carry_the_commands_receipt(cli: Cli, db_url: str,
                                                         tmp_path: Path) -> None:
    assert cli.import_lines(certified("BC-6040001", "Receipt Roofing Ltd")).exit_code == 0
    made = tokens(db_url)
    status_doc = cli.json("status", "BC-6040001", "--as-of", "2024-06-30")
    known_doc = cli.json("status", "BC-6040001", "--as-of", "2024-06-30",
                         "--known-at", "2024-03-01")
    incentive_doc = cli.json("incentive", "BC-6040001", "--year", "2024")
    with served(db_url, tmp_path, workers=1) as (base, _):
        answers = [http("GET", f"{base}/v1/employers/BC-6040001{path}", made["regulator"])
                   for path in ("?as_of=2024-06-30",
                                "?as_of=2024-06-30&known_at=2024-03-01",
                                "/incentive?year=2024")]
    assert [status for status, _, _ in answers] == [200, 200, 200]
    got = [orjson.loads(body) for _, _, body in answers]
    assert got[0]["receipt"]["tree_size"] == 3
    assert got == [status_doc, known_doc, incentive_doc]


def test_the_api_scan_takes_its_window_from_the_configuration(cli: Cli, db_url: str,
                                                              tmp_path: Path) -> None:
    """With ``CORLEDGER_SCAN_WITHIN=30``, a due date 75 days away is not flagged by
    ``POST /v1/scan`` (as by ``corledger scan``); ``within=`` given still wins."""
    assert cli.import_lines(certified("BC-6060001", "Window Framing Ltd")).exit_code == 0
    made = tokens(db_url)
    with served(db_url, tmp_path, workers=1,
                environ={"CORLEDGER_SCAN_WITHIN": "30"}) as (base, _):
        status, _, body = http("POST", f"{base}/v1/scan?as_of=2025-10-17", made["operator"])
        assert status == 200, body
        assert (orjson.loads(body)["within"], orjson.loads(body)["flagged"]) == (30, [])
        status, _, body = http("POST", f"{base}/v1/scan?as_of=2025-10-17&within=90",
                               made["operator"])
    assert status == 200 and orjson.loads(body)["within"] == 90
    assert [f["id"] for f in orjson.loads(body)["flagged"]] == [
        "lapse:BC-6060001:2025-12-31:notice"]


def test_a_registration_voided_as_the_wrong_partners_is_replaced_by_the_right_one(
        db_url: str, tmp_path: Path) -> None:
    """README: a registration voided as made with the wrong partner hands the employer to the
    partner of the one that replaces it (DOMAIN.md, "Void chains": unregistered until a new
    EmployerRegistered), through the API as through ``corledger import``."""
    seed(db_url)
    made = tokens(db_url)
    wrong = [_registered("BC-6030001", "Harbour Hotel Ltd", "BCCSA", "h-1", "2024-01-05",
                         "2024-01-05T10:00:00Z"),
             line("EventVoided", "BC-6030001", "2024-01-06",
                  {"target": "h-1", "reason": "a hotel is go2HR's"}, id="h-2",
                  recorded_at="2024-01-06T10:00:00Z")]
    right = [_registered("BC-6030001", "Harbour Hotel Ltd", "GO2HR", "h-3", "2024-01-05",
                         "2024-01-07T10:00:00Z")]
    with served(db_url, tmp_path, workers=1) as (base, _):
        posted = http("POST", f"{base}/v1/events", made["partner"], jsonl(wrong), NDJSON)
        assert posted[0] == 200, posted[2]
        replaced = http("POST", f"{base}/v1/events", made["partner_other"], jsonl(right),
                        NDJSON)
        assert replaced[0] == 200, replaced[2]
        reads = {who: http("GET", f"{base}/v1/employers/BC-6030001", made[who])
                 for who in ("partner_other", "partner", "regulator")}
    assert {who: status for who, (status, _, _) in reads.items()} == {
        "partner_other": 200, "partner": 404, "regulator": 200}
    assert orjson.loads(reads["partner_other"][2])["partner"] == "GO2HR"


def test_a_partners_payment_run_leaves_out_an_employer_whose_registration_was_voided(
        cli: Cli, db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    made = tokens(db_url)
    assert cli.import_lines([
        _registered("BC-6070001", "Voided Registration Ltd", "BCCSA", "v-1", "2021-01-05",
                    "2021-01-05T10:00:00Z"),
        line("EventVoided", "BC-6070001", "2021-01-06", {"target": "v-1", "reason": "error"},
             id="v-2", recorded_at="2021-01-06T10:00:00Z")]).exit_code == 0
    command = cli.json("incentives", "--year", "2021", "--partner", "BCCSA")
    assert [d["employer"] for d in command["decisions"]] == [OWN]
    with served(db_url, tmp_path, workers=1) as (base, _):
        answers = [http("GET", f"{base}/v1/incentives?year=2021{query}", made[who])
                   for who, query in (("partner", ""), ("regulator", "&partner=BCCSA"))]
    assert [status for status, _, _ in answers] == [200, 200]
    for _, _, body in answers:
        got = orjson.loads(body)
        assert [d["employer"] for d in got["decisions"]] == [OWN]
        assert got["totals"] == command["totals"]


def test_every_query_replays_on_the_ledgers_own_axis_as_the_command_does(
        cli: Cli, db_url: str, tmp_path: Path) -> None:
    """``ledger_at``/``tree_size`` pin a query to what the ledger had appended, as
    ``--ledger-at``/``--tree-size`` do: a partner holding a receipt replays the answer over
    HTTP after a backdated revocation was imported."""
    from ledger.codec import format_time
    from tests.test_receipts import heads

    employer = "BC-6040002"
    assert cli.import_lines(certified(employer, "Pinned Paving Ltd")).exit_code == 0
    size, moment = heads(cli)[-1].size, format_time(heads(cli)[-1].appended_at)
    revoked = line("CertificationRevoked", employer, "2024-05-01",
                   {"authority": "WorkSafeBC", "reason": "serious incident"},
                   id=f"{employer}-rev", recorded_at="2024-05-01T10:00:00Z")
    assert cli.import_lines([revoked]).exit_code == 0
    made = tokens(db_url)
    pin = ("--tree-size", str(size))
    asked = [  # (the command's arguments, the API's path): each pinned to the first batch
        (("status", employer, "--as-of", "2024-06-30", *pin),
         f"/employers/{employer}?as_of=2024-06-30&tree_size={size}"),
        (("explain", employer, "--as-of", "2024-06-30", *pin),
         f"/employers/{employer}/explain?as_of=2024-06-30&tree_size={size}"),
        (("incentive", employer, "--year", "2024", *pin),
         f"/employers/{employer}/incentive?year=2024&tree_size={size}"),
        (("diff", employer, "--from", "2024-06-30@2024-04-01", "--to", "2024-06-30", *pin),
         f"/employers/{employer}/diff?from=2024-06-30@2024-04-01&to=2024-06-30"
         f"&tree_size={size}"),
        (("changes", "--since", "2024-04-01", "--as-of", "2024-06-30", *pin),
         f"/changes?since=2024-04-01&as_of=2024-06-30&tree_size={size}"),
        (("incentives", "--year", "2024", *pin), f"/incentives?year=2024&tree_size={size}"),
        (("roll", "--as-of", "2024-06-30", "--known-at", "2024-06-01", *pin),
         f"/roll?as_of=2024-06-30&known_at=2024-06-01&tree_size={size}"),
        (("lapses", "--as-of", "2025-11-15", "--within", "60", *pin),
         f"/lapses?as_of=2025-11-15&within=60&tree_size={size}"),
        (("history", employer, *pin), f"/employers/{employer}/history?tree_size={size}"),
    ]
    commands = [cli.json(*args, "--json") for args, _ in asked]
    assert commands[0]["status"] == "certified"  # the revocation came after the pin
    assert cli.json("status", employer, "--as-of", "2024-06-30")["status"] == "revoked"
    unpinned_roll = cli.json("roll", "--as-of", "2024-06-30", "--known-at", "2024-06-01")
    assert unpinned_roll["employers"][0]["status"] == "revoked"  # the backdated revocation
    assert cli.json("lapses", "--as-of", "2025-11-15", "--within", "60") == []
    with served(db_url, tmp_path, workers=1) as (base, _):
        def get(path: str) -> tuple[int, Any]:
            status, _, body = http("GET", f"{base}/v1{path}", made["regulator"])
            return status, orjson.loads(body)

        answers = [get(path) for _, path in asked]
        by_time = get(f"/employers/{employer}?as_of=2024-06-30&ledger_at={moment}")
        both = get(f"/employers/{employer}?tree_size=1&ledger_at={moment}")
        past = get(f"/changes?since=2024-04-01&tree_size={size + 2}")
        first_page = get(f"/employers/{employer}/history?tree_size={size}&limit=2")[1]
        next_page = get(first_page["next"].removeprefix("/v1"))[1]
    assert [status for status, _ in answers] == [200] * len(asked)
    history = answers.pop()[1]
    assert history["events"] == commands.pop()["events"] and history["next"] is None
    lapses, lapses_command = answers.pop()[1], commands.pop()
    assert lapses["lapses"] == lapses_command
    assert [e["employer"] for e in lapses_command] == [employer]  # due 2025-12-31, unrevoked
    assert commands[-1]["employers"][0]["status"] == "certified"  # the roll, pinned
    assert [doc for _, doc in answers] == commands
    assert by_time == (200, commands[0])
    assert f"tree_size={size}" in first_page["next"]  # the next page keeps the pin
    assert [e["position"] for e in first_page["events"] + next_page["events"]] == [1, 2, 3]
    assert next_page["next"] is None
    assert both[0] == 422 and "not both" in str(both[1]) and "tree_size" in str(both[1])
    assert past[0] == 422
    assert f"the ledger's log has {size + 1} events, not {size + 2}" in str(past[1])
