"""``status`` from the read models: one statement when they are current, the fold's answer
always (behind, after a rebuild, as the on-demand fold gives it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from projections.sql.projector import catch_up, engine_of, rebuild
from projections.sql.queries import status_from_read_model
from projections.status import status
from storage.store import LedgerStore
from tests.conftest import audit

pytestmark = pytest.mark.integration  # a real database

DEMO = Path(__file__).resolve().parents[1] / "commands" / "sample" / "demo.jsonl"
DAYS = (date(2019, 6, 1), date(2022, 3, 15), date(2025, 12, 31))


@contextmanager
def counted(store: LedgerStore) -> Iterator[dict[str, int]]:
    """Counts the statements the read models' engine sends and the store's log-head reads
    (each its own round trip) while the block runs."""
    counts = {"statements": 0, "position": 0}
    engine = engine_of(store)

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    real_position = store.position

    def position() -> int:
        counts["position"] += 1
        return real_position()

    event.listen(engine, "before_cursor_execute", statement)
    store.position = position  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        del store.position


def _demo(cli: Any) -> None:
    assert cli("import", str(DEMO)).exit_code == 0


def test_a_current_read_model_answers_status_in_one_statement(cli: Any, store: LedgerStore,
                                                              ) -> None:
    _demo(cli)
    catch_up(store)
    employers = store.employers()[:5] + ["NEVER-REGISTERED"]
    status_from_read_model(store, employers[0], DAYS[0])  # the engine's first connection
    for employer in employers:
        for day in DAYS:
            with counted(store) as counts:
                answer = status_from_read_model(store, employer, day)
            assert counts == {"statements": 1, "position": 0}, (employer, day)
            assert answer == status(store.stream(employer), as_of=day, employer=employer)


def test_status_sees_events_imported_after_the_read_model_was_current(
        cli: Any, store: LedgerStore) -> None:
    _demo(cli)
    catch_up(store)
    employer = store.employers()[0]
    before = status_from_read_model(store, employer, DAYS[-1])
    assert cli.import_lines([audit(employer, "2025-06-01", audit_id="LATE-1", id="LATE-1",
                                   started="2025-05-01", completed="2025-05-10",
                                   kind="maintenance")]).exit_code == 0
    after = status_from_read_model(store, employer, DAYS[-1])
    assert after == status(store.stream(employer), as_of=DAYS[-1], employer=employer)
    assert any(b.get("event") == "LATE-1" for b in after["because"])
    assert after != before


def test_status_follows_the_live_slot_after_a_rebuild(cli: Any, store: LedgerStore) -> None:
    _demo(cli)
    catch_up(store)
    employer = store.employers()[1]
    status_from_read_model(store, employer, DAYS[1])  # read from slot a
    assert cli.import_lines([audit(employer, "2025-06-01", audit_id="LATE-2", id="LATE-2",
                                   started="2025-05-01", completed="2025-05-10",
                                   kind="maintenance")]).exit_code == 0
    rebuild(store)  # slot b is live now, slot a left behind
    answer = status_from_read_model(store, employer, DAYS[-1])
    assert answer == status(store.stream(employer), as_of=DAYS[-1], employer=employer)
    with counted(store) as counts:
        assert status_from_read_model(store, employer, DAYS[-1]) == answer
    assert counts == {"statements": 1, "position": 0}
