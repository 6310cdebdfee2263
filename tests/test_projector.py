"""The projector: incremental catch-up equals a rebuild table for table, a projector killed
mid-batch resumes with nothing lost or doubled, racing projectors give one projector's
tables, and the operations commands (``projections``, ``roll``) work from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from projections.lapses import lapses
from projections.sql import projector
from projections.sql.projector import (
    LostRace,
    _advance,
    _locked,
    catch_up,
    engine_of,
    live_slot,
    project_batch,
    rebuild,
)
from projections.sql.queries import lapses_from_read_model, status_from_read_model
from projections.sql.read_models import slot_tables
from projections.status import render
from projections.timeline import fold
from storage.store import LedgerStore, open_store

pytestmark = pytest.mark.integration  # a real database, process or server

DEMO = Path(__file__).resolve().parents[1] / "commands" / "sample" / "demo.jsonl"


def demo_batches(parts: int) -> list[list[str]]:
    """The demo ledger's lines in ``parts`` batches, in file order."""
    lines = DEMO.read_text().splitlines()
    size = -(-len(lines) // parts)
    return [lines[i:i + size] for i in range(0, len(lines), size)]


def import_lines(cli: Any, lines: list[str]) -> None:
    result = cli.import_lines(lines)
    assert result.exit_code == 0, result.output


def tables(store: LedgerStore, slot: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of a slot's tables (default: the live one), without bookkeeping columns."""
    engine = engine_of(store)
    with engine.connect() as conn:
        slot = slot or live_slot(conn)[0]
        out = {}
        for table in slot_tables(slot):
            columns = [c for c in table.c if c.name != "log_position"]
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            out[table.name[:-2]] = [tuple(r) for r in rows]
    return out


def positions(store: LedgerStore) -> dict[str, int]:
    with engine_of(store).connect() as conn:
        rows = conn.execute(select(projector.tracking.c.name,
                                   projector.tracking.c.position)).all()
    return {r.name: r.position for r in rows}


def rewind_live_slot(store: LedgerStore) -> str:
    """Sets the live slot back to the start of the log (its rows stay, to be replaced by a
    catch-up from there); returns the slot."""
    with engine_of(store).begin() as conn:
        slot, position = live_slot(conn)
        _advance(conn, slot, position, 0)
    return slot


def test_incremental_catch_up_equals_a_rebuild(cli: Any, store: LedgerStore) -> None:
    for batch in demo_batches(5):
        import_lines(cli, batch)
        while project_batch(store, limit=97) > 0:  # small batches split streams
            pass
    incremental = tables(store)
    assert incremental["rm_status"] and incremental["rm_lapse"]
    outcome = rebuild(store)
    assert outcome.position == store.position()
    assert tables(store) == incremental
    assert tables(store, outcome.slot) == incremental


def test_a_parallel_rebuild_equals_a_serial_one(cli: Any, store: LedgerStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import_lines(cli, DEMO.read_text().splitlines())
    rebuild(store, workers=1)
    serial = tables(store)
    monkeypatch.setattr(projector, "PARALLEL_FROM", 0)
    monkeypatch.setattr(projector, "REBUILD_EMPLOYERS", 5)
    rebuild(store, workers=2)
    assert tables(store) == serial


def test_a_long_catch_up_folds_in_workers_to_the_rows_of_a_serial_one(
        cli: Any, store: LedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catch-up far behind (an upgrade's slot made anew, a bulk import) shares the fold
    out among worker processes; what it writes is what one process writes."""
    import_lines(cli, DEMO.read_text().splitlines())
    assert catch_up(store) is not None  # 1,537 events behind: under the threshold, serial
    serial = tables(store)
    assert serial["rm_status"] and serial["rm_lapse"]
    slot = rewind_live_slot(store)
    shares: list[int] = []
    real_pool = projector.worker_pool

    @contextmanager
    def counting_pool(workers: int) -> Iterator[Any]:
        with real_pool(workers) as pool:
            submit = pool.submit

            def counted(task: Any, *args: Any) -> Any:
                if task is projector._fold_values_in_worker:
                    shares.append(len(args[1]))
                return submit(task, *args)

            monkeypatch.setattr(pool, "submit", counted)
            yield pool

    monkeypatch.setattr(projector, "worker_pool", counting_pool)
    monkeypatch.setattr(projector, "PARALLEL_CATCH_UP", 1)
    monkeypatch.setattr(projector, "REBUILD_EMPLOYERS", 5)
    monkeypatch.setattr(projector, "_cpus", lambda: 2)
    assert catch_up(store, limit=97) == slot  # batches of a few pages each
    assert len(shares) > 4 and sum(shares) >= len(store.employers())  # folded in workers
    assert tables(store) == serial
    assert positions(store)[slot] == store.position()


def test_a_catch_up_whose_worker_died_folds_the_batch_itself(
        cli: Any, store: LedgerStore) -> None:
    """A worker killed mid-catch-up (the kernel's out-of-memory killer, an operator) costs
    the batch its parallelism, not its answer: the batch is folded in this process."""
    import os
    import signal

    from storage.workers import worker_pool

    import_lines(cli, DEMO.read_text().splitlines())
    assert catch_up(store) is not None
    serial = tables(store)
    slot = rewind_live_slot(store)
    with worker_pool(2) as pool:
        for process in list(pool._processes.values()):  # type: ignore[attr-defined]
            with suppress(ProcessLookupError):  # the pool, once broken, ends the others
                os.kill(process.pid, signal.SIGKILL)
            process.join()
        assert project_batch(store, slot, pool=pool) == store.position()
    assert tables(store) == serial


def test_answers_on_the_demo_ledger_equal_the_fold(cli: Any, store: LedgerStore) -> None:
    import_lines(cli, DEMO.read_text().splitlines())
    streams = {e: store.stream(e) for e in store.employers()}
    day = date(2017, 1, 1)
    while day < date(2027, 6, 1):
        for within in (30, 90):
            assert lapses_from_read_model(store, day, within) == \
                lapses(streams.values(), day, within)
        for name, events in streams.items():
            assert status_from_read_model(store, name, day) == \
                render(fold(events, as_of=day, employer=name))
        day += timedelta(days=47)


def test_a_batch_that_fails_before_commit_leaves_nothing(cli: Any, store: LedgerStore,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    first, second = demo_batches(2)
    import_lines(cli, first)
    catch_up(store)
    before, at = tables(store), positions(store)
    import_lines(cli, second)

    def crash(_slot: str, _position: int) -> None:
        raise RuntimeError("killed between write and commit")

    monkeypatch.setattr(projector, "before_commit", crash)
    with pytest.raises(RuntimeError):
        project_batch(store)
    assert tables(store) == before and positions(store) == at
    monkeypatch.setattr(projector, "before_commit", None)
    catch_up(store)
    resumed = tables(store)
    rebuild(store)
    assert tables(store) == resumed


pytestmark = pytest.mark.integration  # a real database, process or server

KILLER = """
import os, signal, sys
from storage.store import open_store
from projections.sql import projector
projector.before_commit = lambda slot, position: os.kill(os.getpid(), signal.SIGKILL)
projector.catch_up(open_store(sys.argv[1]), limit=int(sys.argv[2]))
"""

pytestmark = pytest.mark.integration  # a real database, process or server


def test_a_killed_projector_process_resumes(cli: Any, store: LedgerStore,
                                            db_url: str) -> None:
    first, second = demo_batches(2)
    import_lines(cli, first)
    catch_up(store, limit=300)
    before, at = tables(store), positions(store)
    import_lines(cli, second)
    killed = subprocess.run([sys.executable, "-c", KILLER, db_url, "200"],
                            cwd=Path(__file__).resolve().parents[1], capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()
    assert tables(store) == before and positions(store) == at  # nothing half-written
    catch_up(store, limit=200)
    resumed = tables(store)
    rebuild(store)
    assert tables(store) == resumed  # nothing lost, nothing doubled


def test_a_stale_position_loses_and_rolls_back(cli: Any, store: LedgerStore) -> None:
    import_lines(cli, demo_batches(1)[0])
    catch_up(store)
    engine = engine_of(store)
    with engine.connect() as conn:
        slot, head = live_slot(conn)
    before = tables(store)
    with pytest.raises(LostRace), _locked(engine, slot, True) as (conn, _):
        status_table = slot_tables(slot)[0]
        conn.execute(status_table.delete())
        _advance(conn, slot, head - 1, head + 1)  # a position someone else moved on from
    assert tables(store) == before and positions(store)[slot] == head


def test_racing_projectors_give_one_projectors_tables(cli: Any, db_url: str,
                                                      store: LedgerStore) -> None:
    for batch in demo_batches(3):
        import_lines(cli, batch)
    errors: list[BaseException] = []

    def run() -> None:
        own = open_store(db_url)
        try:
            catch_up(own, limit=150)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    raced = tables(store)
    assert positions(store)[live_slot(engine_of(store).connect())[0]] == store.position()
    rebuild(store)
    assert tables(store) == raced


def test_projections_status_rebuild_and_roll_from_the_cli(cli: Any, store: LedgerStore
                                                          ) -> None:
    import_lines(cli, DEMO.read_text().splitlines())
    lagging = cli.json("projections", "status")
    assert lagging["lag"] == lagging["head"] > 0 and lagging["position"] == 0
    rebuilt = json.loads(cli("projections", "rebuild", "--json").stdout)
    assert rebuilt["lag"] == 0 and rebuilt["slot"] == "b"
    assert cli.json("projections", "status") == rebuilt
    roll = cli.json("roll", "--as-of", "2024-01-01")
    registered = [e for e in store.employers()
                  if fold(store.stream(e), as_of=date(2024, 1, 1)).registration is not None]
    assert [r["employer"] for r in roll["employers"]] == registered
    first = roll["employers"][0]
    assert set(first) >= {"employer", "partner", "program", "status", "certificate_issued",
                          "certificate_expires", "next_due"}
    status = cli.json("status", first["employer"], "--as-of", "2024-01-01")
    assert (first["status"], first["partner"]) == (status["status"], status["partner"])
    bccsa = cli.json("roll", "--as-of", "2024-01-01", "--partner", "BCCSA")["employers"]
    assert bccsa and all(r["partner"] == "BCCSA" for r in bccsa)
    csv_path = cli.tmp_path / "roll.csv"
    assert cli("roll", "--as-of", "2024-01-01", "--csv", str(csv_path)).exit_code == 0
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("employer,partner,program,status")
    assert len(lines) == len(registered) + 1
    assert cli.json("roll", "--as-of", "2000-01-01")["employers"] == []
