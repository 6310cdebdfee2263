"""The rebuild's fast paths answer exactly as the plain ones: skimmed money events fold to the
same rows as fully decoded ones (a same-day tie decodes their content), the cached registry
gives every date the registry's rulebook, and the bulk stream read returns each stream as
``store.stream`` does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import orjson
import pytest

from ledger.codec import decode_state, encode_state, new_event
from ledger.rulebooks import RULES
from projections.sql.projector import engine_of
from projections.sql.read_models import CachedRegistry, employer_rows
from projections.sql.skim import SKIMMED, Skimmed, rebuild_event
from projections.timeline import in_fold_order
from scripts.generate import LedgerSpec, ledger_lines
from storage.bulk import read_streams
from storage.store import LedgerStore

pytestmark = pytest.mark.integration  # a real database, process or server

def _import(cli: Any, lines: list[str]) -> None:
    result = cli.import_lines(lines)
    assert result.exit_code == 0, result.output


def test_skimmed_streams_fold_to_the_rows_of_decoded_ones(cli: Any, store: LedgerStore
                                                          ) -> None:
    generated = b"".join(ledger_lines(LedgerSpec(60, 4), 0)).decode().splitlines()
    _import(cli, generated)
    employers = store.employers()
    with engine_of(store).connect() as conn:
        streams = read_streams(conn, employers)
    skimmed = 0
    for stream in streams:
        full = [decode_state(topic, stream.originator_id, version, state)
                for version, topic, state in stream.rows]
        assert full == store.stream(stream.employer)  # the bulk read: the same stream
        fast = [rebuild_event(topic, stream.originator_id, version, state)
                for version, topic, state in stream.rows]
        skimmed += sum(isinstance(e, Skimmed) for e in fast)
        plain, quick = employer_rows(stream.employer, full), employer_rows(stream.employer, fast)
        assert quick.status_values(7) == plain.status_values(7)
        assert quick.lapse_values() == plain.lapse_values()
    assert skimmed > 500  # the generated payroll, premiums and incentives


def test_a_same_day_tie_of_skimmed_events_is_broken_by_their_content() -> None:
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    events = [new_event("PayrollReported", employer="E-1", version=v,
                        effective=date(2024, 1, 1), recorded_at=stamp, appended_at=stamp,
                        event_id=None, year=2023, cu="721002", assessable_payroll=payroll)
              for v, payroll in ((2, Decimal("900.00")), (3, Decimal("100.00")))]
    stored = [(e.originator_version, e.type_name(), encode_state(e)) for e in events]
    fast = [rebuild_event(topic, events[0].originator_id, version, raw)
            for version, topic, raw in stored]
    assert all(isinstance(e, Skimmed) for e in fast)
    assert [e.originator_version for e in in_fold_order(fast)] == \
        [e.originator_version for e in in_fold_order(events)] == [3, 2]


def test_only_types_whose_payload_the_status_fold_ignores_are_skimmed() -> None:
    assert {"PayrollReported", "PremiumPaid", "IncentivePaid", "BaseRateSet",
                       "LapseRiskFlagged"} == SKIMMED
    now = datetime(2024, 1, 1, tzinfo=UTC)
    registered = new_event("EmployerRegistered", employer="E-1", version=1,
                           effective=date(2020, 1, 6), recorded_at=now, appended_at=now,
                           event_id="r-1", name="E", partner="GENERIC", program="COR",
                           classification_units=("1",), headcount=3)
    back = rebuild_event("EmployerRegistered", uuid4(), 1, encode_state(registered))
    assert not isinstance(back, Skimmed)
    assert orjson.loads(encode_state(back)) == orjson.loads(encode_state(registered))


def test_the_cached_registry_gives_every_date_the_registrys_rulebook() -> None:
    cached = CachedRegistry(RULES)
    for partner in RULES.partners():
        days = {d + timedelta(days=k) for d in RULES.since_dates(partner) for k in (-1, 0, 1)}
        for day in sorted(days | {date(1990, 1, 1), date(2040, 6, 30)}) * 2:
            book, plain = cached.rulebook_for(partner, day), RULES.rulebook_for(partner, day)
            assert (book.partner, book.on, dict(book.rules)) == \
                (plain.partner, plain.on, dict(plain.rules))


def _index_names(store: LedgerStore, table: str) -> set[str]:
    from sqlalchemy import inspect

    return {str(ix["name"]) for ix in inspect(engine_of(store)).get_indexes(table)}


def test_a_rebuild_builds_every_declared_index_of_its_slot_after_loading(
        cli: Any, store: LedgerStore) -> None:
    """The fresh slot is loaded bare and indexed before it goes live: it ends with exactly
    the indexes its Table declares, and a catch-up after the flip uses them."""
    from projections.sql.projector import rebuild
    from projections.sql.read_models import slot_tables

    _import(cli, b"".join(ledger_lines(LedgerSpec(20, 5), 0)).decode().splitlines())
    seen: list[set[str]] = []
    import projections.sql.projector as projector

    def during(done: int, total: int) -> None:
        target = next(s for s in ("a", "b") if s != live)
        seen.append(set().union(*(_index_names(store, t.name) for t in slot_tables(target))))

    projector.ensure_schema(engine_of(store))
    with engine_of(store).connect() as conn:
        live, _ = projector.live_slot(conn)
    progress = rebuild(store, workers=1, on_progress=during)
    assert progress.slot != live
    assert len(seen) > 1 and all(names == set() for names in seen)  # loading: the key only
    for table in slot_tables(progress.slot):
        assert _index_names(store, table.name) == {str(ix.name) for ix in table.indexes}
