"""A ledger made before the Merkle log: ``verify`` says the log must catch up (no false
alarm), ``checkpoint`` logs the events before it signs (never a tree that leaves them out),
and no write is wedged afterwards (both stores)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ledger.checkpoint import Checkpoint, Signer, sign_checkpoint
from ledger.merkle import EMPTY_ROOT
from tests.conftest import Cli
from tests.tamper_helpers import Raw, first_batch, second_batch


@pytest.fixture
def prelog(cli: Cli) -> Cli:
    """Events and no log at all, as a ledger made before the log was introduced."""
    assert cli.import_lines(first_batch()).exit_code == 0
    raw = Raw(cli.db_url)
    try:
        for table in ("ledger_log", "ledger_log_nodes", "ledger_log_heads", "ledger_batches",
                      "ledger_checkpoints"):
            raw.q(f"DELETE FROM {table}")
    finally:
        raw.close()
    return cli


def keys(cli: Cli) -> tuple[str, str]:
    private = cli.tmp_path / "log.key"
    result = cli("keys", "generate", "test.example/ledger", "--private-key", str(private))
    assert result.exit_code == 0, result.output
    return str(private), str(private.with_suffix(".pub"))


def test_verify_says_the_log_must_catch_up_and_raises_no_alarm(prelog: Cli) -> None:
    result = prelog("verify", "--json")
    report = orjson.loads(result.stdout)
    assert result.exit_code == 1  # nothing was verified
    assert report["damage"] == [] and report["unlogged"] == report["events"] == 11
    text = prelog("verify")
    assert "NOT VERIFIED" in text.stdout and "checkpoint --key FILE" in text.stdout
    assert "inserted" not in text.stdout


def test_checkpoint_logs_the_events_before_it_signs_and_writes_go_on(prelog: Cli) -> None:
    private, public = keys(prelog)
    out = prelog.tmp_path / "cp.txt"
    result = prelog("checkpoint", "--key", private, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().split("\n")[1] == "11"  # the whole ledger, never size 0
    result = prelog("verify", "--json", "--public-key", public, "--checkpoint", str(out))
    report = orjson.loads(result.stdout)
    assert result.exit_code == 0, report
    assert report["log_size"] == 11 and report["heads_checked"] == 1
    assert prelog.import_lines(second_batch()).exit_code == 0
    scan = prelog("scan", "--within", "900", "--json")
    assert scan.exit_code == 0, scan.output
    result = prelog("verify", "--json", "--public-key", public, "--checkpoint", str(out))
    assert result.exit_code == 0 and orjson.loads(result.stdout)["log_size"] >= 16


def test_a_ledger_wedged_by_a_checkpoint_of_the_empty_log_is_logged_by_its_next_write(
        prelog: Cli) -> None:
    """What the version before this fix left: a stored checkpoint of size 0 over the
    unlogged events. It contradicts nothing the catch-up logs, so writes are not refused."""
    private, public = keys(prelog)
    signer = Signer.parse(Path(private).read_text())
    raw = Raw(prelog.db_url)
    try:
        raw.q("INSERT INTO ledger_checkpoints (tree_size, note, signed_at) VALUES (?, ?, ?)",
              (0, sign_checkpoint(Checkpoint(signer.name, 0, EMPTY_ROOT), signer),
               "2024-01-01T00:00:00.000000Z"))
    finally:
        raw.close()
    assert prelog.import_lines(second_batch()).exit_code == 0
    result = prelog("verify", "--json", "--public-key", public)
    report = orjson.loads(result.stdout)
    assert result.exit_code == 0, report
    assert report["log_size"] == 16 and report["checkpoints_checked"] == 1


def test_a_write_refused_by_a_damaged_log_is_one_line_not_a_traceback(cli: Cli) -> None:
    assert cli("demo").exit_code == 0  # its employers are due: a scan writes flags
    raw = Raw(cli.db_url)
    try:
        raw.q("DELETE FROM ledger_log")  # its heads stay: the log was deleted, not behind
    finally:
        raw.close()
    result = cli("scan", "--within", "900")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Merkle log is empty, but it had tree heads" in result.stderr
