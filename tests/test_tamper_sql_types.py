"""Edits made with ordinary SQL store values of another type than the ledger writes (SQLite's
``json_set()`` and ``replace()`` return TEXT; NULL): ``verify`` reports each as the damage its
table's row is (event rows ``altered``, the log's own rows ``log-altered``), never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.conftest import Cli, registration
from tests.tamper_helpers import Raw, SignedLedger, raw_connection, signed_ledger


@pytest.fixture
def ledger(cli: Cli) -> SignedLedger:
    if not cli.db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps each column's type; SQLite stores what an edit gives")
    return signed_ledger(cli)


@pytest.fixture
def raw(ledger: SignedLedger) -> Iterator[Raw]:
    with raw_connection(ledger.cli.db_url) as connection:
        yield connection


def first_damage(ledger: SignedLedger) -> dict[str, Any]:
    result = ledger.cli("verify", "--json")
    assert result.exit_code == 1, result.output
    report = orjson.loads(result.stdout)  # a report, not a traceback
    assert report["ok"] is False
    damage: dict[str, Any] = report["damage"][0]
    return damage


@pytest.mark.parametrize("edit", [
    "UPDATE stored_events SET state = json_set(state, '$.data.overall', 99) WHERE rowid = 5",
    "UPDATE stored_events SET state = replace(state, '\"overall\"', '\"overall\" ')"
    " WHERE rowid = 5",
    "UPDATE stored_events SET state = CAST(state AS TEXT) WHERE rowid = 5",
    "UPDATE stored_events SET state = NULL WHERE rowid = 5",
    "UPDATE stored_events SET topic = NULL WHERE rowid = 5",
    "UPDATE stored_events SET topic = CAST(topic AS BLOB) WHERE rowid = 5",
], ids=["json_set", "replace", "as-text", "null-state", "null-topic", "blob-topic"])
def test_an_event_edited_into_another_type_is_altered_and_named(
        ledger: SignedLedger, raw: Raw, edit: str) -> None:
    raw.q(edit)
    damage = first_damage(ledger)
    assert damage["kind"] == "altered" and damage["log_index"] == 4
    assert damage["event"]["id"] == "E-2-A1" and damage["event"]["employer"] == "E-2"


@pytest.mark.parametrize("edit", [
    "UPDATE ledger_log_heads SET root = hex(root) WHERE tree_size = 11",
    "UPDATE ledger_log_heads SET root = 7 WHERE tree_size = 11",
    "UPDATE ledger_log SET leaves = hex(leaves)",
    "UPDATE ledger_log SET refs = CAST(refs AS BLOB)",
    "UPDATE ledger_log SET entries = 'many'",
], ids=["head-root-text", "head-root-number", "leaves-text", "refs-blob", "entries-text"])
def test_a_log_row_edited_into_another_type_is_log_damage(
        ledger: SignedLedger, raw: Raw, edit: str) -> None:
    raw.q(edit)
    assert first_damage(ledger)["kind"] == "log-altered"


def test_a_stored_node_edited_into_text_is_log_damage(cli: Cli) -> None:
    if not cli.db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps each column's type")
    assert cli.import_lines([registration(f"E-{n}") for n in range(300)]).exit_code == 0
    raw = Raw(cli.db_url)
    try:
        assert raw.q("SELECT COUNT(*) FROM ledger_log_nodes")[0][0] == 1
        raw.q("UPDATE ledger_log_nodes SET hash = hex(hash)")
    finally:
        raw.close()
    result = cli("verify", "--json")
    assert result.exit_code == 1
    damage = orjson.loads(result.stdout)["damage"][0]
    assert damage["kind"] == "log-altered" and "node at level 8, index 0" in damage["message"]
