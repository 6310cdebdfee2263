"""Inclusion and consistency proofs: made by ``corledger proof``, checked offline by
``corledger verify-proof`` with only the public key, the checkpoint and the proof (both
stores); forged events, altered proofs and other keys' checkpoints are refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.tamper_helpers import Raw, SignedLedger, signed_ledger


@pytest.fixture
def ledger(cli: Cli) -> SignedLedger:
    return signed_ledger(cli)


def make_proof(ledger: SignedLedger, *args: str) -> dict[str, Any]:
    result = ledger.cli("proof", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check(ledger: SignedLedger, doc: dict[str, Any], *args: str,
          key: Path | None = None) -> tuple[int, dict[str, Any]]:
    path = ledger.cli.tmp_path / "proof.json"
    path.write_text(json.dumps(doc))
    result = ledger.cli("verify-proof", str(path), "--public-key",
                        str(key or ledger.public_key), "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_an_events_inclusion_proof_verifies_offline(ledger: SignedLedger) -> None:
    doc = make_proof(ledger, "E-3-A1")
    assert doc["proof"] == "inclusion" and doc["log_index"] == 6 and doc["tree_size"] == 16
    code, out = check(ledger, doc)
    assert code == 0 and out["ok"] and out["log_index"] == 6
    assert '"id":"E-3-A1"' in out["entry"]


def test_a_proof_checks_against_the_checkpoint_a_partner_kept(ledger: SignedLedger) -> None:
    doc = make_proof(ledger, "E-1-reg", "--checkpoint", str(ledger.checkpoints[0]))
    assert doc["tree_size"] == 11
    code, out = check(ledger, doc, "--checkpoint", str(ledger.checkpoints[0]))
    assert code == 0 and out["tree_size"] == 11
    code, out = check(ledger, doc, "--checkpoint", str(ledger.checkpoints[1]))
    assert code == 1 and "tree size 11, the checkpoint for 16" in out["error"]


def test_a_forged_events_proof_does_not_verify(ledger: SignedLedger) -> None:
    doc = make_proof(ledger, "E-2-A1")
    entry = base64.b64decode(doc["entry"]).replace(b'"overall":85', b'"overall":99')
    assert entry != base64.b64decode(doc["entry"])
    code, out = check(ledger, {**doc, "entry": base64.b64encode(entry).decode()})
    assert code == 1 and "does not hold" in out["error"]
    code, out = check(ledger, {**doc, "log_index": doc["log_index"] + 1})
    assert code == 1


def test_a_row_forged_in_the_database_gets_no_proof(ledger: SignedLedger) -> None:
    raw = Raw(ledger.cli.db_url)
    try:
        stream, _, topic, state = raw.events()[1]
        raw.insert(stream, 9, topic, state.replace(b'"E-1-reg"', b'"forged-9"'))
        raw.q("INSERT INTO ledger_event_ids VALUES (?, ?, ?, ?, ?)",
              ("forged-9", "x", "E-1", stream, 9))
    finally:
        raw.close()
    result = ledger.cli("proof", "forged-9")
    assert result.exit_code == 1
    assert "forged-9: no event with this id in the log" in result.stderr


def test_a_checkpoint_signed_by_another_key_is_refused_offline(ledger: SignedLedger) -> None:
    other = ledger.cli.tmp_path / "other.key"
    assert ledger.cli("keys", "generate", "test.example/ledger", "--private-key",
                      str(other)).exit_code == 0
    doc = make_proof(ledger, "E-2-A1")
    code, out = check(ledger, doc, key=other.with_suffix(".pub"))
    assert code == 1 and "signed by another key" in out["error"]


def test_a_consistency_proof_between_checkpoints_verifies(ledger: SignedLedger) -> None:
    files = make_proof(ledger, "--consistency", *map(str, ledger.checkpoints))
    sizes = make_proof(ledger, "--consistency", "11", "16")
    assert files == sizes
    assert files["proof"] == "consistency" and files["old_size"] == 11
    code, out = check(ledger, files)
    assert code == 0 and out["old_size"] == 11 and out["tree_size"] == 16
    bad = {**files, "path": list(reversed(files["path"]))}
    del bad["old_checkpoint"]
    code, out = check(ledger, bad)
    assert code == 1 and "not a prefix" in out["error"]


def test_proof_refuses_a_checkpoint_the_log_no_longer_matches(ledger: SignedLedger) -> None:
    raw = Raw(ledger.cli.db_url)
    try:
        raw.edit(2, lambda doc: doc["data"].update(overall=100))
        raw.rewrite_log()
    finally:
        raw.close()
    result = ledger.cli("proof", "E-1-A1")
    assert result.exit_code == 1
    assert "root hash differs from the log's" in result.stderr


def test_a_proof_without_any_checkpoint_says_how_to_make_one(cli: Cli) -> None:
    from tests.tamper_helpers import first_batch

    assert cli.import_lines(first_batch()).exit_code == 0
    result = cli("proof", "E-1-reg")
    assert result.exit_code == 1 and "no checkpoint stored" in result.stderr


def test_a_consistency_proof_is_held_to_the_checkpoint_the_partner_kept(
        ledger: SignedLedger) -> None:
    """trust.md step 3: the new tree must extend the one *you* kept, not the old tree the
    proof carries. A key holder rewrites an event inside the kept tree, recomputes the log,
    re-signs both trees and hands over a proof between them: it checks on its own, and fails
    against the kept checkpoint."""
    from ledger.checkpoint import Checkpoint, Signer, sign_checkpoint

    kept, _ = ledger.checkpoints
    honest = make_proof(ledger, "--consistency", "11", "16")
    code, out = check(ledger, honest, "--old-checkpoint", str(kept))
    assert code == 0 and out["old_size"] == 11, out
    code, out = check(ledger, make_proof(ledger, "--consistency", "16", "16"),
                      "--old-checkpoint", str(kept))
    assert code == 1 and "ask for a proof from yours" in out["error"]

    raw = Raw(ledger.cli.db_url)
    try:
        raw.edit(1, lambda doc: doc["data"].update(headcount=3))
        raw.rewrite_log()
        raw.q("DELETE FROM ledger_checkpoints")
        root = bytes(raw.q("SELECT root FROM ledger_log_heads WHERE tree_size = 11")[0][0])
    finally:
        raw.close()
    signer = Signer.parse(ledger.private_key.read_text())
    forged_old = ledger.cli.tmp_path / "forged-old.txt"
    forged_old.write_text(sign_checkpoint(Checkpoint(signer.name, 11, root), signer))
    new = ledger.sign("new.txt")
    forged = make_proof(ledger, "--consistency", str(forged_old), str(new))
    assert check(ledger, forged)[0] == 0  # it holds on its own
    code, out = check(ledger, forged, "--old-checkpoint", str(kept))
    assert code == 1 and "does not extend your checkpoint" in out["error"]
    code, out = check(ledger, make_proof(ledger, "E-1-reg"),
                      "--old-checkpoint", str(kept))
    assert code == 1 and "consistency proof only" in out["error"]
