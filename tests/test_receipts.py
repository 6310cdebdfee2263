"""Receipts on answers, the ledger's own time axis (``--ledger-at``, ``--tree-size``) and import
batches on record (both stores)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ledger.codec import format_time
from storage.store import open_store
from tests.conftest import Cli, registration
from tests.tamper_helpers import first_batch, second_batch, signed_ledger


def heads(cli: Cli) -> list[Any]:
    store = open_store(cli.db_url)
    try:
        with store.log() as log:
            return log.heads()
    finally:
        store.close()


def test_status_carries_a_receipt_whose_events_are_provable(cli: Cli) -> None:
    ledger = signed_ledger(cli)
    doc = cli.json("status", "E-2", "--as-of", "2021-07-01")
    receipt = doc["receipt"]
    checkpoint = ledger.checkpoints[1].read_text().splitlines()
    assert receipt["tree_size"] == int(checkpoint[1]) == 16
    assert receipt["root_hash"] == checkpoint[2]
    because = {b["event"] for b in doc["because"] if b["event"]}
    assert {e["event"] for e in receipt["events"]} == because
    indexes = {e["event"]: e["log_index"] for e in receipt["events"]}
    assert indexes.get("E-2-A2") == 12
    for event_id in indexes:  # each is provably in the signed tree
        proof = cli("proof", event_id)
        assert proof.exit_code == 0
        assert json.loads(proof.stdout)["log_index"] == indexes[event_id]


def test_receipts_on_incentive_and_explain(cli: Cli) -> None:
    assert cli.import_lines(first_batch()).exit_code == 0
    doc = cli.json("incentive", "E-1", "--year", "2020")
    assert doc["receipt"]["tree_size"] == 11
    assert set(doc["receipt"]) == {"tree_size", "root_hash", "events"}
    result = cli("explain", "E-1", "--as-of", "2020-07-01")
    assert result.exit_code == 0
    assert "receipt: tree size 11, root " in result.stdout
    assert "E-1-A1 at log index 2" in result.stdout


def test_ledger_at_replays_what_the_ledger_said_before_a_backdated_import(cli: Cli) -> None:
    assert cli.import_lines(first_batch()).exit_code == 0
    before = cli.json("status", "E-9", "--known-at", "2020-03-20", "--as-of", "2020-03-20")
    assert before["status"] == "unregistered"
    moment = format_time(heads(cli)[0].appended_at)
    # a migration backdates a registration to before 2020-03-20
    assert cli.import_lines([registration("E-9", "2020-01-10",
                                          recorded_at="2020-01-10T09:00:00Z")]).exit_code == 0
    now = cli.json("status", "E-9", "--known-at", "2020-03-20", "--as-of", "2020-03-20")
    assert now["status"] == "registered"  # the past answer changed...
    then = cli.json("status", "E-9", "--known-at", "2020-03-20", "--as-of", "2020-03-20",
                    "--ledger-at", moment)
    assert then["status"] == "unregistered"  # ...but the ledger's own axis replays it
    assert then["receipt"]["tree_size"] == 11
    replay = cli.json("status", "E-9", "--known-at", "2020-03-20", "--as-of", "2020-03-20",
                      "--tree-size", str(then["receipt"]["tree_size"]))
    assert replay == then
    history = cli.json("history", "E-9", "--tree-size", "11")
    assert history["events"] == []
    assert len(cli.json("history", "E-9")["events"]) == 1


def test_tree_size_pins_status_lapses_and_incentives(cli: Cli) -> None:
    assert cli.import_lines(first_batch()).exit_code == 0
    assert cli.import_lines(second_batch()).exit_code == 0
    full = cli.json("status", "E-1", "--as-of", "2021-07-01")
    pinned = cli.json("status", "E-1", "--as-of", "2021-07-01", "--tree-size", "16")
    assert pinned == full
    early = cli.json("status", "E-1", "--as-of", "2021-07-01", "--tree-size", "11")
    assert "E-1-A2" not in {b["event"] for b in early["because"]}
    assert early["receipt"]["root_hash"] != full["receipt"]["root_hash"]
    lapses_now = cli.json("lapses", "--as-of", "2021-07-01", "--within", "400")
    assert cli.json("lapses", "--as-of", "2021-07-01", "--within", "400",
                    "--tree-size", "16") == lapses_now
    assert cli.json("lapses", "--as-of", "2021-07-01", "--tree-size", "0") == []
    decisions = cli.json("incentives", "--year", "2021", "--tree-size", "0")["decisions"]
    assert {d["state"] for d in decisions} == {"not_applicable"}  # nothing registered yet
    result = cli("status", "E-1", "--tree-size", "99")
    assert result.exit_code == 2 and "the ledger's log has 16 events, not 99" in result.stderr
    result = cli("status", "E-1", "--tree-size", "3", "--ledger-at", "2020-01-01")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_every_import_is_on_record_as_a_batch(cli: Cli) -> None:
    path = cli.write(first_batch())
    assert cli("import", str(path), "--by", "auditor@bccsa").exit_code == 0
    assert cli("import", str(path), "--by", "auditor@bccsa").exit_code == 0  # all skipped
    refused = cli.import_lines([{"type": "Nonsense"}])
    assert refused.exit_code == 1
    rows = cli.json("batches")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(r["by"], r["sha256"], r["lines"], r["added"], r["skipped"], r["first_index"],
             r["last_index"]) for r in rows] == [
        ("auditor@bccsa", digest, 11, 11, 0, 0, 10),
        ("auditor@bccsa", digest, 11, 0, 11, None, None)]  # the refused one wrote nothing
    assert rows[0]["source"] == str(path)
    assert rows[0]["started_at"] <= rows[0]["finished_at"]
    human = cli("batches")
    assert human.exit_code == 0 and "auditor@bccsa" in human.stdout


def test_an_api_import_is_on_record_with_its_principal_and_logged_like_the_cli(
        cli: Cli) -> None:
    from service.app import create_app
    from service.tokens import create_token
    from tests.service_support import NOW, bearer, jsonl

    lines = first_batch()[1:5]  # two employers, no reference data
    for x in lines:
        x["data"]["partner"] = "BCCSA" if x["type"] == "EmployerRegistered" else None
        if x["data"]["partner"] is None:
            del x["data"]["partner"]
    body = jsonl(lines)
    open_store(cli.db_url).close()
    token = create_token(cli.db_url, name="BCCSA QA desk", role="partner", partner="BCCSA",
                         now=NOW)[0]
    app = create_app(cli.db_url, clock=lambda: NOW)
    response = app.test_client().post("/v1/events", data=body, headers=bearer(token))
    app.extensions["corledger"].close()
    assert response.status_code == 200, response.data
    [batch] = cli.json("batches")
    assert (batch["source"], batch["by"], batch["added"], batch["first_index"],
            batch["last_index"]) == ("api", "BCCSA QA desk", 4, 0, 3)
    assert batch["sha256"] == hashlib.sha256(body).hexdigest()  # the body as received
    verified = cli("verify", "--json")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["log_size"] == 4
