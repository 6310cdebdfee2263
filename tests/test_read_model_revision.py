"""Read models built by other code are never served: each slot records the revision it was
built under, and a query that finds the live slot stale rebuilds it from the event log first.
A golden record ties each revision to what its rows hold, so a change that alters the rows
must also bump the revision."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect, text, update

from projections.sql import quick
from projections.sql.projector import _reset_stale, engine_of, live_slot, progress, rebuild
from projections.sql.queries import lapses_from_read_model, status_from_read_model
from projections.sql.read_models import revisions, slot_tables
from projections.sql.revision import READ_MODEL_REVISION
from projections.status import render
from projections.timeline import fold
from scripts import read_model_revision
from storage.store import open_store
from tests.conftest import Cli, audit, registration

ROOT = Path(__file__).resolve().parents[1]
ON = date(2020, 7, 1)


def _forge_older_build(url: str) -> None:
    """Makes the live slot look built by older code: its revision is another one and its
    row for E-1 says something the events do not."""
    with closing(open_store(url)) as store:
        engine = engine_of(store)
        with engine.begin() as conn:
            slot, _ = live_slot(conn)
            conn.execute(update(revisions).where(revisions.c.slot == slot)
                         .values(revision=READ_MODEL_REVISION - 1))
            doc = json.dumps({"employer": "E-1", "status": "revoked", "forged": True})
            conn.execute(text(f"UPDATE rm_status_{slot} SET status = 'revoked', "
                              "document = :doc WHERE employer = 'E-1'"), {"doc": doc})


def _truth(url: str, employer: str, on: date) -> dict[str, object]:
    with closing(open_store(url)) as store:
        return render(fold(store.stream(employer), as_of=on, employer=employer))


@pytest.fixture
def ledger(cli: Cli, db_url: str) -> str:
    """A ledger with two employers whose read models are built and current."""
    assert cli.import_lines([registration("E-1"), audit("E-1"), registration("E-2")]
                            ).exit_code == 0
    assert cli.json("status", "E-1", "--as-of", ON.isoformat())["status"] == "registered"
    return db_url


def test_a_fresh_ledger_is_built_under_this_revision(ledger: str) -> None:
    with closing(open_store(ledger)) as store:
        now = progress(store)
    assert now.revision == READ_MODEL_REVISION and not now.stale and now.lag == 0


def test_a_stale_live_slot_is_never_served_and_the_next_list_query_rebuilds_it(
        cli: Cli, ledger: str) -> None:
    _forge_older_build(ledger)
    reported = cli.json("projections", "status")
    assert reported["stale"] is True and reported["revision"] == READ_MODEL_REVISION - 1
    said = cli("projections", "status").stdout
    assert "built by other code" in said and "projections rebuild" in said

    answer = cli.json("status", "E-1", "--as-of", ON.isoformat())
    answer.pop("receipt")
    assert answer == _truth(ledger, "E-1", ON)  # folded from the events, not the old row
    assert answer["status"] == "registered"
    assert cli.json("projections", "status")["stale"] is True  # status does not rebuild all
    assert cli("lapses", "--as-of", ON.isoformat()).exit_code == 0
    after = cli.json("projections", "status")
    assert after["stale"] is False and after["revision"] == READ_MODEL_REVISION
    assert after["lag"] == 0
    assert cli.json("status", "E-1", "--as-of", ON.isoformat())["status"] == "registered"


def test_every_read_model_query_rebuilds_a_stale_slot_first(ledger: str) -> None:
    _forge_older_build(ledger)
    with closing(open_store(ledger)) as store:
        heard: list[tuple[int, int]] = []
        lapses_from_read_model(store, ON, on_progress=lambda *a: heard.append(a))
        assert heard[0] == (0, store.position()) and heard[-1][0] == heard[-1][1]
        assert status_from_read_model(store, "E-1", ON)["status"] == "registered"
        assert not progress(store).stale


def test_a_stale_slot_gets_the_tables_this_code_declares(ledger: str) -> None:
    """Older code may have laid the slot's tables out otherwise: here, without an index
    this code declares and with a column it no longer has."""
    _forge_older_build(ledger)
    with closing(open_store(ledger)) as store:
        engine = engine_of(store)
        with engine.begin() as conn:
            slot, _ = live_slot(conn)
            status_table = slot_tables(slot)[0]
            dropped = sorted(str(i.name) for i in status_table.indexes)[0]
            conn.execute(text(f"DROP INDEX {dropped}"))
            conn.execute(text(f"ALTER TABLE {status_table.name} ADD COLUMN legacy TEXT"))
        lapses_from_read_model(store, ON)
        found = inspect(engine)
        assert dropped in {i["name"] for i in found.get_indexes(status_table.name)}
        columns = [c["name"] for c in found.get_columns(status_table.name)]
        assert columns == [c.name for c in status_table.c]
        assert status_from_read_model(store, "E-1", ON) == \
            _truth(ledger, "E-1", ON) | {"as_of": ON.isoformat()}


def test_a_slot_with_no_revision_recorded_counts_as_stale(cli: Cli, ledger: str) -> None:
    with closing(open_store(ledger)) as store:
        with engine_of(store).begin() as conn:
            conn.execute(revisions.delete())
        assert progress(store).stale and progress(store).revision is None
    assert cli.json("status", "E-1", "--as-of", ON.isoformat())["status"] == "registered"
    assert cli("roll", "--as-of", ON.isoformat()).exit_code == 0
    assert cli.json("projections", "status")["stale"] is False


def test_resetting_a_stale_slot_twice_is_done_once(ledger: str) -> None:
    _forge_older_build(ledger)
    with closing(open_store(ledger)) as store:
        engine = engine_of(store)
        with engine.connect() as conn:
            slot, _ = live_slot(conn)
        _reset_stale(engine, slot, True)
        status_from_read_model(store, "E-2", ON)  # catches up the emptied slot
        before = progress(store)
        _reset_stale(engine, slot, True)  # another process found it stale too: no-op now
        assert progress(store) == before and before.lag == 0 and not before.stale


def test_a_rebuild_records_this_revision_on_the_slot_it_makes_live(ledger: str) -> None:
    _forge_older_build(ledger)
    with closing(open_store(ledger)) as store:
        outcome = rebuild(store, workers=1)
        assert not outcome.stale and not progress(store).stale
        assert status_from_read_model(store, "E-1", ON)["status"] == "registered"


def test_the_quick_status_path_never_answers_from_a_stale_slot(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    cli = Cli(url, tmp_path)
    assert cli.import_lines([registration("E-1"), audit("E-1")]).exit_code == 0
    assert cli.json("status", "E-1")["status"] == "registered"
    assert quick.quick_status(url, "E-1", lambda: ON) is not None
    _forge_older_build(url)
    assert quick.quick_status(url, "E-1", lambda: ON) is None


def test_an_upgrade_from_a_ledger_without_revisions_rebuilds_in_a_new_process(
        tmp_path: Path) -> None:
    """The real upgrade: read models written by code that kept no revisions (no table at
    all), then new processes of this code answer from the events, not the old rows, and the
    first list query rebuilds the slot under this revision."""
    db = tmp_path / "ledger.db"
    url = f"sqlite:///{db}"
    cli = Cli(url, tmp_path)
    assert cli.import_lines([registration("E-1"), audit("E-1")]).exit_code == 0
    assert cli.json("status", "E-1")["status"] == "registered"
    conn = sqlite3.connect(db)
    with conn:
        slot = conn.execute("SELECT name FROM rm_tracking WHERE live = 1").fetchone()[0]
        conn.execute("DROP TABLE rm_revision")
        conn.execute(f"UPDATE rm_status_{slot} SET document = "
                     "replace(document, '\"registered\"', '\"revoked\"')")
    conn.close()
    run = subprocess.run([sys.executable, "-m", "commands", "--db", url, "status", "E-1",
                          "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(run.stdout)["status"] == "registered"
    subprocess.run([sys.executable, "-m", "commands", "--db", url, "lapses"], cwd=ROOT,
                   capture_output=True, check=True)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT revision FROM rm_revision WHERE slot = ?",
                            (slot,)).fetchone() == (READ_MODEL_REVISION,)
    finally:
        conn.close()


def test_the_golden_record_holds_this_revisions_rules_and_rows() -> None:
    """Fails when the rules or the rows the demo ledger projects to changed under an
    unchanged revision: bump READ_MODEL_REVISION and run
    ``python -m scripts.read_model_revision --record``."""
    recorded = read_model_revision.recorded()
    assert str(READ_MODEL_REVISION) in recorded, "run python -m scripts.read_model_revision " \
        "--record"
    assert read_model_revision.current() == recorded[str(READ_MODEL_REVISION)], (
        "the read models this code builds differ from what this revision recorded: bump "
        "READ_MODEL_REVISION in projections/sql/revision.py, then run "
        "python -m scripts.read_model_revision --record")
