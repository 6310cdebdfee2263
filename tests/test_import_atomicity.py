"""A file is imported whole or not at all, even when the importing process is killed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.store import open_store
from tests.conftest import BACKENDS, Cli, line, registration

pytestmark = pytest.mark.integration  # a real database, process or server

ROOT = Path(__file__).resolve().parents[1]


def write_big_file(path: Path, employers: int, per_employer: int) -> None:
    with path.open("w") as f:
        for e in range(employers):
            f.write(json.dumps(registration(f"K-{e}")) + "\n")
            for i in range(per_employer):
                f.write(json.dumps(line("HeadcountReported", f"K-{e}", "2021-01-01",
                                        {"headcount": i}, id=f"K-{e}-{i}")) + "\n")


def holds_write_lock(db: Path) -> bool:
    """Whether another connection holds the database's write transaction."""
    probe = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def kill_import_midway(url: str, tmp_path: Path, mid_import: Callable[[], bool]) -> None:
    """Kills a child ``corledger import`` once ``mid_import()`` says it is part-way, then
    checks that nothing of its file is visible and that the same file then imports whole.

    The child reads the file from a pipe we hold. Writing the first half returns only once
    the child has read all but a pipe buffer of it (dozens of batches appended); then it
    waits for more with its write transaction open, and is killed there.
    """
    cli = Cli(url, tmp_path)
    assert cli.import_lines([registration("KEEP")]).exit_code == 0
    big = tmp_path / "big.jsonl"
    write_big_file(big, employers=400, per_employer=150)  # 60k lines
    lines = big.read_bytes().splitlines(keepends=True)
    child = subprocess.Popen([sys.executable, "-m", "commands.cli", "--db", url, "import",
                              "-"], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert child.stdin is not None
    child.stdin.write(b"".join(lines[:len(lines) // 2]))
    child.stdin.flush()
    deadline = time.monotonic() + 60
    while not mid_import():
        assert child.poll() is None, "the import stopped before it could be killed"
        assert time.monotonic() < deadline, "the import never got part-way"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdin.close()

    store = open_store(url)
    try:
        assert store.employers() == ["KEEP"]
        assert store.stream("K-0") == []
    finally:
        store.close()
    # and the ledger is usable: the lock is free and the same file now imports whole
    result = cli("import", str(big))
    assert result.exit_code == 0, result.stderr
    assert "60400 events added" in result.stdout


@pytest.mark.skipif("sqlite" not in BACKENDS, reason="probes the SQLite write lock")
def test_an_import_killed_part_way_leaves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    kill_import_midway(f"sqlite:///{db}", tmp_path, lambda: holds_write_lock(db))


@pytest.mark.skipif("sqlite" not in BACKENDS, reason="holds the SQLite write lock")
def test_a_writer_that_cannot_get_the_lock_says_so_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    cli = Cli(f"sqlite:///{db}?lock_timeout=1", tmp_path)
    assert cli.import_lines([registration("KEEP")]).exit_code == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, mid-import
    try:
        result = cli.import_lines([registration("LATE")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code != 0
    assert "is being written by another process" in result.stderr
    assert "Traceback" not in result.output
    assert cli.json("history", "LATE")["events"] == []
