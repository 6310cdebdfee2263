"""The scheduler signs a checkpoint of the log on its schedule (here every half second), with
the key file it was given; ``verify`` then holds the log to it (both stores)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from commands.config import Config, ScanSettings
from commands.scheduler import CHECKPOINT_JOB_ID, build_scheduler, run_until_stopped
from storage.store import open_store
from tests.tamper_helpers import first_batch


def stored_checkpoints(db_url: str) -> list[Any]:
    store = open_store(db_url)
    try:
        with store.log() as log:
            return log.checkpoints()
    finally:
        store.close()


def test_the_scheduler_signs_checkpoints_with_the_key_it_was_given(
        cli: Any, db_url: str, tmp_path: Path) -> None:
    assert cli.import_lines(first_batch()).exit_code == 0
    key = tmp_path / "log.key"
    assert cli("keys", "generate", "sched.example/ledger", "--private-key",
               str(key)).exit_code == 0
    scheduler = build_scheduler(db_url, Config(scan=ScanSettings()), None, datetime.now(UTC),
                                every=0.5, signing_key=str(key))
    assert scheduler.get_job(CHECKPOINT_JOB_ID) is not None
    stop = threading.Event()
    runner = threading.Thread(target=run_until_stopped, args=(scheduler, stop, False))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while not stored_checkpoints(db_url):
            assert time.monotonic() < deadline, "no checkpoint was signed"
            time.sleep(0.2)
    finally:
        stop.set()
        runner.join(30)
    first = stored_checkpoints(db_url)[0]
    assert first.size == 11 and first.note.startswith("sched.example/ledger\n11\n")
    result = cli("verify", "--public-key", str(key.with_suffix(".pub")))
    assert result.exit_code == 0 and "OK" in result.stdout


def test_without_a_key_the_scheduler_signs_nothing(db_url: str) -> None:
    scheduler = build_scheduler(db_url, Config(scan=ScanSettings()), None, datetime.now(UTC),
                                every=0.5)
    assert scheduler.get_job(CHECKPOINT_JOB_ID) is None


def test_scheduler_run_refuses_a_key_others_can_read(cli: Any, tmp_path: Path) -> None:
    key = tmp_path / "log.key"
    assert cli("keys", "generate", "sched.example/ledger", "--private-key",
               str(key)).exit_code == 0
    key.chmod(0o644)
    result = cli("scheduler", "run", "--signing-key", str(key))
    assert result.exit_code == 1
    assert "readable by others" in result.stderr and "chmod 600" in result.stderr


def test_keys_generate_writes_a_private_key_only_its_owner_reads(cli: Any,
                                                                 tmp_path: Path) -> None:
    key = tmp_path / "log.key"
    result = cli("keys", "generate", "keys.example/ledger", "--private-key", str(key))
    assert result.exit_code == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_text().startswith("PRIVATE+KEY+keys.example/ledger+")
    assert key.with_suffix(".pub").read_text().startswith("keys.example/ledger+")
    again = cli("keys", "generate", "keys.example/ledger", "--private-key", str(key))
    assert again.exit_code == 1 and "refusing to overwrite" in again.stderr
    bad = cli("keys", "generate", "has space", "--private-key", str(tmp_path / "b.key"))
    assert bad.exit_code == 1 and "without spaces" in bad.stderr


def test_checkpoint_signs_stores_and_exports_the_tree_head(cli: Any, tmp_path: Path) -> None:
    assert cli("init").exit_code == 0  # only init, import and demo make a ledger
    assert cli("checkpoint").exit_code == 1  # no key: says how to get one
    assert "keys generate" in cli("checkpoint").stderr
    assert "no checkpoint stored yet" in cli("checkpoint", "--export").stderr
    key = tmp_path / "log.key"
    assert cli("keys", "generate", "keys.example/ledger", "--private-key",
               str(key)).exit_code == 0
    assert cli.import_lines(first_batch()).exit_code == 0
    signed = cli("checkpoint", "--key", str(key))
    assert signed.exit_code == 0 and signed.stdout.startswith("keys.example/ledger\n11\n")
    assert "\n\n\u2014 keys.example/ledger " in signed.stdout
    assert cli("checkpoint", "--export").stdout == signed.stdout
