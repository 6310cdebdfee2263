"""A file is imported whole or not at all, even when the importing process is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.store import open_store
from tests.conftest import BACKENDS, Cli, line, registration

ROOT = Path(__file__).resolve().parents[1]


def write_big_file(path: Path, employers: int, per_employer: int) -> None:
    with path.open("w") as f:
        for e in range(employers):
            f.write(json.dumps(registration(f"K-{e}")) + "\n")
            for i in range(per_employer):
                f.write(json.dumps(line("HeadcountReported", f"K-{e}", "2021-01-01",
                                        {"headcount": i}, id=f"K-{e}-{i}")) + "\n")


def wal_size(db: Path) -> int:
    wal = db.with_name(db.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.mark.skipif("sqlite" not in BACKENDS, reason="watches the SQLite write-ahead log")
def test_an_import_killed_part_way_leaves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    url = f"sqlite:///{db}"
    cli = Cli(url, tmp_path)
    assert cli.import_lines([registration("KEEP")]).exit_code == 0
    big = tmp_path / "big.jsonl"
    write_big_file(big, employers=400, per_employer=150)  # 60k lines: several seconds

    before = wal_size(db)
    child = subprocess.Popen([sys.executable, "-m", "commands.cli", "--db", url, "import",
                              str(big)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while wal_size(db) < before + 2_000_000:  # batches are being written...
        assert child.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)  # ...but not yet committed
    child.wait()

    store = open_store(url)
    try:
        assert store.employers() == ["KEEP"]
        assert store.stream("K-0") == []
    finally:
        store.close()
    # and the ledger is usable: the same file now imports whole
    result = cli("import", str(big))
    assert result.exit_code == 0, result.stderr
    assert "60400 events added" in result.stdout
