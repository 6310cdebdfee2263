"""The tamper matrix: each kind of damage done directly to the database, behind the ledger's
back, is caught by ``corledger verify`` with the first damaged event named (both stores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import Cli, line, registration
from tests.tamper_helpers import Raw, SignedLedger, raw_connection, signed_ledger


@pytest.fixture
def ledger(cli: Cli) -> SignedLedger:
    return signed_ledger(cli)


@pytest.fixture
def raw(ledger: SignedLedger) -> Iterator[Raw]:
    with raw_connection(ledger.cli.db_url) as connection:
        yield connection


def only_damage(report: dict[str, Any]) -> dict[str, Any]:
    assert report["ok"] is False
    return report["damage"][0]


def test_an_untouched_ledger_verifies_against_its_stored_and_kept_checkpoints(
        ledger: SignedLedger) -> None:
    code, report = ledger.verify("--checkpoint", str(ledger.checkpoints[0]))
    assert code == 0, report
    assert report["ok"] and report["damage"] == []
    assert report["events"] == report["log_size"] == 16
    assert report["checkpoints_checked"] == 3 and report["signatures_checked"] is True
    assert report["heads_checked"] == 2


def test_an_edited_payload_is_named(ledger: SignedLedger, raw: Raw) -> None:
    raw.edit(4, lambda doc: doc["data"].update(overall=99))  # E-2's audit: 84 -> 99
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "altered" and damage["log_index"] == 4
    assert damage["event"]["id"] == "E-2-A1" and damage["event"]["employer"] == "E-2"


def test_an_edited_recorded_at_is_named(ledger: SignedLedger, raw: Raw) -> None:
    raw.edit(7, lambda doc: doc.update(recorded_at="2019-01-01T00:00:00Z"))
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "altered" and damage["log_index"] == 7
    assert damage["event"]["id"] == "E-4-reg"


def test_an_event_deleted_in_the_middle_is_named(ledger: SignedLedger, raw: Raw) -> None:
    raw.delete(5)
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "deleted" and damage["log_index"] == 5
    assert damage["event"]["id"] == "E-3-reg" and damage["event"]["employer"] == "E-3"


def test_the_last_event_deleted_is_a_truncation(ledger: SignedLedger, raw: Raw) -> None:
    raw.delete(15)
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "truncated" and damage["log_index"] == 15
    assert damage["event"]["id"] == "E-5-A2"


def test_a_truncated_log_and_events_are_caught_by_the_heads_and_checkpoints(
        ledger: SignedLedger, raw: Raw) -> None:
    for position in (15, 14):
        raw.delete(position)
    raw.write_log(raw.log_entries()[:14])  # the log's last two entries go too
    code, report = ledger.verify()
    assert code == 1
    kinds = [d["kind"] for d in report["damage"]]
    assert kinds == ["truncated", "truncated"]  # the last write's head, then checkpoint 2
    assert all(d["log_index"] == 14 for d in report["damage"])


def test_a_forged_row_is_named(ledger: SignedLedger, raw: Raw) -> None:
    stream, version, topic, state = raw.events()[3]  # E-2's registration
    doc = orjson.loads(state)
    doc.update(id="forged-1", recorded_at="2020-01-07T00:00:00Z")
    raw.insert(stream, 4, "HeadcountReported", orjson.dumps({
        **doc, "data": {"headcount": 5000}}))
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "inserted" and damage["log_index"] == 16
    assert damage["event"]["id"] == "forged-1" and damage["event"]["version"] == 4


def test_two_swapped_rows_are_named(ledger: SignedLedger, raw: Raw) -> None:
    raw.swap(2, 9)
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "reordered" and damage["log_index"] == 2
    assert damage["event"]["id"] == "E-5-reg"


def test_a_log_rewritten_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(
        ledger: SignedLedger, raw: Raw) -> None:
    raw.edit(12, lambda doc: doc["data"].update(overall=100))  # in the second import
    raw.rewrite_log()
    code, report = ledger.verify()
    assert code == 1
    damage = only_damage(report)
    assert damage["kind"] == "rewritten"
    # checkpoint 1 (11 events) still holds: the damage is in the second import's events
    assert damage["log_index"] == 11 and damage["event"]["id"] == "E-1-A2"
    assert "from 11 to 15" in damage["message"]
    assert len(report["damage"]) == 1


def test_a_partners_kept_checkpoint_catches_a_rewrite_even_with_stored_ones_gone(
        ledger: SignedLedger, raw: Raw) -> None:
    raw.edit(1, lambda doc: doc["data"].update(headcount=3))
    raw.rewrite_log()
    raw.q("DELETE FROM ledger_checkpoints")
    code, report = ledger.verify()
    assert code == 0, "without any checkpoint a full rewrite cannot be seen"
    code, report = ledger.verify("--checkpoint", str(ledger.checkpoints[0]))
    assert code == 1
    damage = only_damage(report)
    assert damage["kind"] == "rewritten" and damage["log_index"] == 0


def test_an_edited_log_node_or_head_is_log_damage(ledger: SignedLedger, raw: Raw) -> None:
    raw.q("UPDATE ledger_log_heads SET root = ? WHERE tree_size = 11", (b"\x00" * 32,))
    code, report = ledger.verify()
    assert code == 1
    assert only_damage(report)["kind"] == "log-altered"


def test_a_checkpoint_signed_by_another_key_is_refused(ledger: SignedLedger) -> None:
    other = ledger.cli.tmp_path / "other.key"
    assert ledger.cli("keys", "generate", "test.example/ledger", "--private-key",
                      str(other)).exit_code == 0
    forged = ledger.cli.tmp_path / "forged.txt"
    result = ledger.cli("checkpoint", "--key", str(other), "-o", str(forged))
    assert result.exit_code == 0
    code, report = ledger.verify()
    assert code == 1
    damage = only_damage(report)
    assert damage["kind"] == "bad-checkpoint"
    assert "signed by another key" in damage["message"] or "does not verify" in damage[
        "message"]


def test_verify_without_the_public_key_says_signatures_were_not_checked(
        ledger: SignedLedger) -> None:
    result = ledger.cli("verify")
    assert result.exit_code == 0
    assert "signatures NOT checked" in result.stdout
    assert "OK: the log matches the events" in result.stdout


def test_a_killed_import_leaves_the_log_consistent(db_url: str, tmp_path: Path) -> None:
    """Killed with its write transaction open: neither events nor log rows stay behind, and
    the log then grows on from where it was, verifiably."""
    from tests.test_import_atomicity import holds_write_lock, kill_import_midway

    if db_url.startswith("sqlite"):
        db = Path(db_url.removeprefix("sqlite:///"))

        def mid_import() -> bool:
            return holds_write_lock(db)
    else:
        raw = Raw(db_url)

        def mid_import() -> bool:  # rows written, not committed: the table grows
            size = raw.q("SELECT pg_relation_size('stored_events')")[0][0]
            return bool(size > 2_000_000)

    kill_import_midway(db_url, tmp_path, mid_import)
    result = Cli(db_url, tmp_path)("verify", "--json")
    report = orjson.loads(result.stdout)
    assert result.exit_code == 0, report
    assert report["events"] == report["log_size"] == 60401


def test_a_ledger_from_before_the_log_is_logged_by_its_next_write(cli: Cli) -> None:
    from tests.tamper_helpers import first_batch, second_batch

    assert cli.import_lines(first_batch()).exit_code == 0
    raw = Raw(cli.db_url)
    try:  # as a ledger made before the log: events, no log at all
        for table in ("ledger_log", "ledger_log_nodes", "ledger_log_heads", "ledger_batches"):
            raw.q(f"DELETE FROM {table}")
    finally:
        raw.close()
    assert cli.import_lines(second_batch()).exit_code == 0
    result = cli("verify", "--json")
    report = orjson.loads(result.stdout)
    assert result.exit_code == 0 and report["log_size"] == report["events"] == 16


def test_a_deleted_log_is_not_rebuilt_over_the_tampered_events(ledger: SignedLedger,
                                                               raw: Raw) -> None:
    raw.edit(3, lambda doc: doc["data"].update(headcount=1))
    raw.q("DELETE FROM ledger_log")
    result = ledger.cli.import_lines([{"type": "HeadcountReported", "employer": "E-1",
                                       "effective": "2022-01-01", "data": {"headcount": 7},
                                       "id": "E-1-hc"}])
    assert result.exit_code == 1
    assert "Merkle log is empty, but it had tree heads" in result.stderr
    assert ledger.verify()[0] == 1


def test_the_last_events_deleted_are_a_truncation_whatever_their_number(
        ledger: SignedLedger, raw: Raw) -> None:
    for position in (15, 14, 13):
        raw.delete(position)
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "truncated" and damage["log_index"] == 13
    assert damage["event"]["id"] == "E-3-A2" and "the last 3 events" in damage["message"]


def test_an_edited_leaf_of_the_log_is_log_damage_not_an_edited_event(
        ledger: SignedLedger, raw: Raw) -> None:
    entries = raw.log_entries()
    index, stream, version, leaf = entries[5]
    entries[5] = (index, stream, version, bytes([leaf[0] ^ 1]) + leaf[1:])
    raw.write_log(entries)
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "log-altered" and damage["log_index"] == 5
    assert "not the event" in damage["message"] and damage["event"]["id"] == "E-3-reg"


def test_swapped_stream_lines_of_the_log_are_log_damage_not_moved_events(
        ledger: SignedLedger, raw: Raw) -> None:
    entries = raw.log_entries()
    (i, s2, v2, l2), (j, s9, v9, l9) = entries[2], entries[9]
    entries[2], entries[9] = (i, s9, v9, l2), (j, s2, v2, l9)  # the leaves stay in place
    raw.write_log(entries)
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "log-altered" and damage["log_index"] == 2


def test_an_edited_event_is_still_altered_when_its_logged_leaf_is_edited_too(
        ledger: SignedLedger, raw: Raw) -> None:
    raw.edit(5, lambda doc: doc["data"].update(headcount=1))
    entries = raw.log_entries()
    index, stream, version, leaf = entries[5]
    entries[5] = (index, stream, version, b"\x00" * 32)
    raw.write_log(entries)
    damage = only_damage(ledger.verify()[1])
    assert damage["kind"] == "altered" and damage["log_index"] == 5


def test_a_tree_head_timed_before_its_own_events_is_log_damage(
        ledger: SignedLedger, raw: Raw) -> None:
    """The heads' times are the ledger's time axis (``--ledger-at``); the logged events'
    own ``appended_at`` (inside their hashes) bounds them."""
    raw.q("UPDATE ledger_log_heads SET appended_at = '2000-01-01T00:00:00.000000Z'"
          " WHERE tree_size = 16")
    damage = only_damage(ledger.verify()[1])
    assert damage["kind"] == "log-altered" and damage["log_index"] == 15
    assert "the log's heads were edited" in damage["message"]


def test_a_tree_head_moved_after_the_next_writes_head_is_log_damage(
        ledger: SignedLedger, raw: Raw) -> None:
    from datetime import timedelta

    from ledger.codec import format_time, parse_time

    (later,) = raw.q("SELECT appended_at FROM ledger_log_heads WHERE tree_size = 16")[0]
    raw.q("UPDATE ledger_log_heads SET appended_at = ? WHERE tree_size = 11",
          (format_time(parse_time(later) + timedelta(milliseconds=1)),))
    damage = only_damage(ledger.verify()[1])
    assert damage["kind"] == "log-altered" and damage["log_index"] == 15


def test_a_deleted_tree_head_is_log_damage(ledger: SignedLedger, raw: Raw) -> None:
    assert ledger.cli.import_lines([{"type": "HeadcountReported", "employer": "E-1",
                                     "effective": "2022-01-01", "data": {"headcount": 7},
                                     "id": "E-1-hc"}]).exit_code == 0
    assert ledger.verify()[0] == 0
    raw.q("DELETE FROM ledger_log_heads WHERE tree_size = 16")
    damage = only_damage(ledger.verify()[1])
    assert damage["kind"] == "log-altered" and damage["log_index"] == 15
    assert "has no tree head" in damage["message"]


def test_a_deleted_head_of_the_last_write_is_log_damage(ledger: SignedLedger,
                                                        raw: Raw) -> None:
    """Every write records the head it leaves, so log entries beyond the last head are
    themselves evidence of a deleted head (which ``--ledger-at`` would answer without)."""
    raw.q("DELETE FROM ledger_log_heads WHERE tree_size = 16")
    code, report = ledger.verify()
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "log-altered" and damage["log_index"] == 15
    assert "last tree head is at size 11" in damage["message"]


def test_the_last_writes_log_row_deleted_is_log_damage_not_an_inserted_event(
        ledger: SignedLedger, raw: Raw) -> None:
    """The events past the log's end still match the last write's tree head: the log's row
    was deleted, and no honestly appended event is blamed."""
    raw.q("DELETE FROM ledger_log WHERE first_idx = 11")
    code, report = ledger.verify("--checkpoint", str(ledger.checkpoints[1]))
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "log-altered" and damage["log_index"] == 11
    assert "the log's rows from index 11 on were deleted" in damage["message"]


def wipe_log(raw: Raw) -> None:
    for table in ("ledger_log", "ledger_log_nodes", "ledger_log_heads", "ledger_checkpoints"):
        raw.q(f"DELETE FROM {table}")


def test_a_partners_checkpoint_catches_an_edit_with_the_whole_log_deleted(
        ledger: SignedLedger, raw: Raw) -> None:
    """With the log, its heads and the stored checkpoints gone the ledger looks made before
    the log; a kept checkpoint of more than 0 entries says it was not, and is held to the
    tree the events make."""
    raw.edit(4, lambda doc: doc["data"].update(overall=40))
    wipe_log(raw)
    code, report = ledger.verify("--checkpoint", str(ledger.checkpoints[0]))
    assert code == 1 and report["checkpoints_checked"] == 1 and report["unlogged"] == 0
    damage = only_damage(report)
    assert damage["kind"] == "rewritten" and damage["log_index"] == 0
    text = ledger.cli("verify", "--checkpoint", str(ledger.checkpoints[0])).stdout
    assert "DAMAGE (rewritten)" in text and "not damage" not in text


def test_a_partners_checkpoint_catches_the_whole_log_deleted_over_intact_events(
        ledger: SignedLedger, raw: Raw) -> None:
    wipe_log(raw)
    code, report = ledger.verify("--checkpoint", str(ledger.checkpoints[1]))
    assert code == 1 and report["checkpoints_checked"] == 1
    assert only_damage(report)["kind"] == "log-altered"
    raw.delete(15)
    code, report = ledger.verify("--checkpoint", str(ledger.checkpoints[1]))
    damage = only_damage(report)
    assert code == 1 and damage["kind"] == "truncated" and damage["log_index"] == 15


def forged_revision(raw: Raw) -> None:
    """An event forged into E-1's stream at version 0, below its last, appended last with
    its own log entry and tree head (no key needed)."""
    from tests.tamper_helpers import forge_append

    stream, _, _, state = raw.events()[1]  # E-1's registration
    doc = orjson.loads(state)
    forge_append(raw, stream, 0, "HeadcountReported", orjson.dumps({
        **doc, "id": "forged-1", "data": {"headcount": 5000}}))


def test_a_forged_append_below_its_streams_last_version_is_inserted(
        ledger: SignedLedger, raw: Raw) -> None:
    forged_revision(raw)
    code, report = ledger.verify("--checkpoint", str(ledger.checkpoints[1]))
    damage = only_damage(report)
    assert code == 1
    assert damage["kind"] == "inserted" and damage["log_index"] == 16
    assert damage["event"]["version"] == 0 and "rising order" in damage["message"]


def test_a_replay_at_a_tree_size_reads_only_the_events_logged_within_it(
        ledger: SignedLedger, raw: Raw) -> None:
    before = ledger.cli.json("history", "E-1", "--tree-size", "16")
    forged_revision(raw)
    after = ledger.cli.json("history", "E-1", "--tree-size", "16")
    assert after == before
    assert "forged-1" in str(ledger.cli.json("history", "E-1"))


# --- the index tables beside the events (storage.store): recomputed and compared by verify ---


def index_damage(report: dict[str, Any], table: str) -> list[dict[str, Any]]:
    assert report["ok"] is False
    found = [d for d in report["damage"] if d["kind"] == "index-altered"]
    assert found and all(table in d["message"] for d in found), report["damage"]
    assert [d["kind"] for d in report["damage"]] == ["index-altered"] * len(report["damage"])
    return found


def test_an_untouched_ledger_with_voided_registrations_and_reregistrations_verifies(
        ledger: SignedLedger) -> None:
    assert ledger.cli.import_lines([
        line("EventVoided", "E-1", "2020-02-01", {"target": "E-1-reg", "reason": "typo"},
             id="E-1-void"),
        registration("E-1", "2020-03-01", partner="GO2HR", id="E-1-reg2"),
        registration("E-6", "2020-01-06"),
        line("EventVoided", "E-6", "2020-02-01", {"target": "E-6-reg", "reason": "gone"},
             id="E-6-void"),  # no registration of E-6 counts: registered_on ''
        registration("E-7", "2020-01-06", partner="BCCSA", id="E-7-z"),
        registration("E-7", "2020-01-06", partner="AMHSA", id="E-7-a"),  # same day: 1st kept
        registration("E-8", "2020-01-06", id="E-8-reg"),
        line("EventVoided", "E-8", "2020-02-01", {"target": "E-8-reg", "reason": "x"},
             id="E-8-void"),
        line("EventVoided", "E-8", "2020-02-02", {"target": "E-8-void", "reason": "undo"},
             id="E-8-void2"),  # the void voided: the registration counts again
        line("BaseRateSet", None, "2021-01-01", {"jurisdiction": "BC", "cu": "G100",
                                                 "year": 2021, "base_rate": "4.10"},
             id="rate-2021"),
    ]).exit_code == 0
    code, report = ledger.verify()
    assert code == 0, report
    assert report["ok"] and report["damage"] == []


def test_a_deleted_employer_row_is_index_damage(ledger: SignedLedger, raw: Raw) -> None:
    raw.q("DELETE FROM ledger_employers WHERE employer = 'E-3'")
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_employers")
    assert "E-3" in damage["message"] and "deleted" in damage["message"]
    assert damage["log_index"] == 5 and damage["event"]["id"] == "E-3-reg"


def test_an_added_employer_row_is_index_damage(ledger: SignedLedger, raw: Raw) -> None:
    raw.q("INSERT INTO ledger_employers VALUES ('E-99', ?, 'GENERIC', '2020-01-06')",
          ("0" * 32,))
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_employers")
    assert "E-99" in damage["message"] and damage["event"] is None


@pytest.mark.parametrize(("column", "value"), [("registered_on", "2019-01-01"),
                                               ("registered_on", ""),
                                               ("partner", "GO2HR")])
def test_an_edited_employer_row_is_index_damage(ledger: SignedLedger, raw: Raw, column: str,
                                                 value: str) -> None:
    raw.q(f"UPDATE ledger_employers SET {column} = ? WHERE employer = 'E-2'", (value,))
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_employers")
    assert "E-2" in damage["message"] and column in damage["message"]
    assert damage["log_index"] == 3 and damage["event"]["id"] == "E-2-reg"


def test_a_deleted_event_id_row_is_index_damage(ledger: SignedLedger, raw: Raw) -> None:
    raw.q("DELETE FROM ledger_event_ids WHERE event_id = 'E-2-A1'")
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_event_ids")
    assert "E-2-A1" in damage["message"] and "deleted" in damage["message"]
    assert damage["log_index"] == 4 and damage["event"]["id"] == "E-2-A1"


def test_an_added_event_id_row_is_index_damage(ledger: SignedLedger, raw: Raw) -> None:
    raw.q("INSERT INTO ledger_event_ids VALUES ('E-2-A9', ?, 'E-2', ?, 9)",
          ("a" * 64, raw.events()[4][0]))
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_event_ids")
    assert "E-2-A9" in damage["message"] and damage["event"] is None


@pytest.mark.parametrize(("column", "value"), [("version", 7), ("employer", "E-3"),
                                               ("content_hash", "not a hash")])
def test_an_edited_event_id_row_is_index_damage(ledger: SignedLedger, raw: Raw, column: str,
                                                 value: Any) -> None:
    raw.q(f"UPDATE ledger_event_ids SET {column} = ? WHERE event_id = 'E-2-A1'", (value,))
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_event_ids")
    assert "E-2-A1" in damage["message"] and "edited" in damage["message"]
    assert damage["log_index"] == 4 and damage["event"]["id"] == "E-2-A1"


def test_a_deleted_recorded_row_is_index_damage(ledger: SignedLedger, raw: Raw) -> None:
    stream, version = raw.events()[4][:2]
    raw.q("DELETE FROM ledger_recorded WHERE stream_id = ? AND version = ?", (stream, version))
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_recorded")
    assert stream in damage["message"] and "deleted" in damage["message"]
    assert damage["log_index"] == 4 and damage["event"]["id"] == "E-2-A1"


def test_an_added_recorded_row_is_index_damage(ledger: SignedLedger, raw: Raw) -> None:
    stream = raw.events()[4][0]
    raw.q("INSERT INTO ledger_recorded VALUES ('2030-01-01T00:00:00.000000Z', ?, 9)",
          (stream,))
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_recorded")
    assert stream in damage["message"] and damage["event"] is None


def test_an_edited_recorded_row_is_index_damage_in_text_too(ledger: SignedLedger,
                                                             raw: Raw) -> None:
    stream, version = raw.events()[4][:2]
    raw.q("UPDATE ledger_recorded SET recorded = '2000-01-01T00:00:00.000000Z'"
          " WHERE stream_id = ? AND version = ?", (stream, version))
    code, report = ledger.verify()
    assert code == 1
    (damage,) = index_damage(report, "ledger_recorded")
    assert "2000-01-01" in damage["message"] and "edited" in damage["message"]
    assert damage["log_index"] == 4 and damage["event"]["id"] == "E-2-A1"
    result = ledger.cli("verify", "--public-key", str(ledger.public_key))
    assert result.exit_code == 1
    assert "DAMAGE (index-altered): ledger_recorded" in result.stdout
