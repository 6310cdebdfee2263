"""Several processes import into the same employers at once, on every backend.

Writers exclude each other for a whole import (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the
events table's EXCLUSIVE lock), so each import reads stream heads and sender ids that stay
true until it commits. Whatever the interleaving, no event may be lost or duplicated, and
each stream's versions must run 1, 2, 3... without a gap.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from storage.store import open_store
from tests.conftest import line, registration

pytestmark = pytest.mark.integration  # a real database, process or server

ROOT = Path(__file__).resolve().parents[1]
IMPORTERS = 4
EMPLOYERS = [f"C-{n}" for n in range(6)]
SHARED_PER_EMPLOYER = 50  # the same events (same ids, same content) in every file
OWN_PER_EMPLOYER = 150  # events only this file has


def write_file(path: Path, importer: int) -> set[str]:
    """One importer's file: shared and own events, interleaved across employers."""
    ids: set[str] = set()
    rows = []
    for employer in EMPLOYERS:
        rows.append(registration(employer))
    rows.append(registration(f"ONLY-{importer}"))  # an employer no other file has
    for k in range(max(SHARED_PER_EMPLOYER, OWN_PER_EMPLOYER)):
        for employer in EMPLOYERS:
            if k < SHARED_PER_EMPLOYER:
                rows.append(line("HeadcountReported", employer, "2021-01-01",
                                 {"headcount": k}, id=f"shared-{employer}-{k}"))
            if k < OWN_PER_EMPLOYER:
                rows.append(line("HeadcountReported", employer, "2021-02-01",
                                 {"headcount": 1000 + k}, id=f"p{importer}-{employer}-{k}"))
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ids.update(row["id"] for row in rows)
    return ids


def run_importers(db_url: str, files: list[Path]) -> list[subprocess.CompletedProcess[str]]:
    """Starts one ``corledger import`` process per file, all at once, and waits for them."""
    procs = [subprocess.Popen([sys.executable, "-m", "commands.cli", "--db", db_url, "import",
                               str(f)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    results = []
    for proc, f in zip(procs, files, strict=True):
        out, err = proc.communicate(timeout=300)
        results.append(subprocess.CompletedProcess([str(f)], proc.returncode, out, err))
    return results


def test_concurrent_imports_lose_nothing_and_duplicate_nothing(db_url: str,
                                                               tmp_path: Path) -> None:
    open_store(db_url).close()  # the schema first, as `corledger init` does
    files = [tmp_path / f"importer{i}.jsonl" for i in range(IMPORTERS)]
    expected_ids: set[str] = set()
    for i, path in enumerate(files):
        expected_ids |= write_file(path, i)

    results = run_importers(db_url, files)

    added = skipped = 0
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
        match = re.search(r"(\d+) events added, (\d+) skipped", result.stdout)
        assert match, result.stdout
        added += int(match[1])
        skipped += int(match[2])
    lines_per_file = len(EMPLOYERS) * (1 + SHARED_PER_EMPLOYER + OWN_PER_EMPLOYER) + 1
    assert added == len(expected_ids)  # each distinct event added exactly once...
    assert added + skipped == IMPORTERS * lines_per_file  # ...and every other line skipped

    store = open_store(db_url)
    try:
        assert store.employers() == sorted(EMPLOYERS + [f"ONLY-{i}" for i in range(IMPORTERS)])
        seen: list[str] = []
        for employer in store.employers():
            stream = store.stream(employer)
            assert [e.originator_version for e in stream] == list(range(1, len(stream) + 1))
            seen += [e.event_id for e in stream if e.event_id is not None]
        assert len(seen) == len(set(seen))  # none duplicated
        assert set(seen) == expected_ids  # none lost
        per_employer = 1 + SHARED_PER_EMPLOYER + IMPORTERS * OWN_PER_EMPLOYER
        assert all(len(store.stream(e)) == per_employer for e in EMPLOYERS)
        # each importer's own events keep their order within a stream
        for i in range(IMPORTERS):
            own = [e.headcount for e in store.stream("C-0")  # type: ignore[attr-defined]
                   if e.event_id and e.event_id.startswith(f"p{i}-")]
            assert own == [1000 + k for k in range(OWN_PER_EMPLOYER)]
        notes = store.notifications(0, 100_000)
        assert len(notes) == len(expected_ids)
        assert [p for p, _ in notes] == sorted(p for p, _ in notes)
    finally:
        store.close()


def test_the_same_file_imported_by_several_processes_at_once_lands_once(
        db_url: str, tmp_path: Path) -> None:
    open_store(db_url).close()
    path = tmp_path / "same.jsonl"
    ids = write_file(path, 0)
    results = run_importers(db_url, [path] * IMPORTERS)
    assert all(r.returncode == 0 for r in results), [r.stderr[-1000:] for r in results]
    added = [int(re.search(r"(\d+) events added", r.stdout)[1]) for r in results]  # type: ignore[index]
    assert sorted(added) == [0] * (IMPORTERS - 1) + [len(ids)]  # one wins, the others skip
    store = open_store(db_url)
    try:
        assert sum(len(store.stream(e)) for e in store.employers()) == len(ids)
    finally:
        store.close()
