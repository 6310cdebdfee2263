"""Read-only media and a full disk: clean errors, nothing half-written, reads still answer.

These mount a small tmpfs and a read-only bind mount, so they need the right to mount (root,
as in CI); elsewhere they skip, saying so.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import Cli, audit, registration

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[1] / "commands" / "sample" / "demo.jsonl"


@contextmanager
def mounted(*args: str, target: Path) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip() or 'mount failed'})")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_refuses_the_import_cleanly_and_keeps_what_was_there(tmp_path: Path) -> None:
    with mounted("-t", "tmpfs", "-o", "size=400k", "tmpfs", target=tmp_path / "small") as disk:
        cli = Cli(f"sqlite:///{disk / 'ledger.db'}", tmp_path)
        assert cli.import_lines([registration("KEEP")]).exit_code == 0
        result = cli("import", str(DEMO))
        assert result.exit_code != 0
        assert "disk is full" in result.stderr and "Traceback" not in result.output
        assert "nothing was written" in result.stderr
        assert cli.json("history", "BC-1104729")["events"] == []
        assert len(cli.json("history", "KEEP")["events"]) == 1


def test_a_ledger_on_read_only_media_answers_queries_and_refuses_writes(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    writable = Cli(f"sqlite:///{source / 'ledger.db'}", tmp_path)
    assert writable.import_lines([registration("E-1"), audit("E-1")]).exit_code == 0
    expected = writable.json("status", "E-1", "--as-of", "2020-07-01")
    with mounted("--bind", "-o", "ro", str(source), target=tmp_path / "ro") as media:
        cli = Cli(f"sqlite:///{media / 'ledger.db'}", tmp_path)
        assert cli.json("status", "E-1", "--as-of", "2020-07-01") == expected
        assert cli.json("status", "E-1", "--as-of", "2020-07-01",
                        "--known-at", "2030-01-01T00:00:00Z")["status"] == expected["status"]
        assert len(cli.json("history", "E-1")["events"]) == 2
        assert isinstance(cli.json("lapses", "--as-of", "2020-07-01"), list)
        assert cli("roll", "--as-of", "2020-07-01").exit_code == 0
        refused = cli.import_lines([registration("E-2")])
        assert refused.exit_code != 0 and "read-only" in refused.stderr
        assert "Traceback" not in refused.output
