"""The rebuild's fast paths answer exactly as the plain ones: streams read without the
events the status fold reads nothing from fold to the same rows as whole streams (bar the
stream version an interval notes), the cached registry gives every date the registry's
rulebook, and the bulk stream read returns each stream as ``store.stream`` does."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from ledger.codec import decode_rows
from ledger.rulebooks import RULES
from projections.sql.projector import engine_of
from projections.sql.read_models import STATUS_COLUMNS, CachedRegistry, employer_rows
from projections.timeline import HANDLERS, NOT_FOR_STATUS, Fold
from scripts.generate import LedgerSpec, ledger_lines
from storage.bulk import read_streams
from storage.store import LedgerStore

pytestmark = pytest.mark.integration  # a real database, process or server

VERSION = STATUS_COLUMNS.index("event_version")


def _import(cli: Any, lines: list[str]) -> None:
    result = cli.import_lines(lines)
    assert result.exit_code == 0, result.output


def _without_version(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(*row[:VERSION], *row[VERSION + 1:]) for row in rows]


def test_streams_read_without_money_events_fold_to_the_rows_of_whole_streams(
        cli: Any, store: LedgerStore) -> None:
    generated = b"".join(ledger_lines(LedgerSpec(60, 4), 0)).decode().splitlines()
    _import(cli, generated)
    employers = store.employers()
    with engine_of(store).connect() as conn:
        whole = read_streams(conn, employers)
        lean = read_streams(conn, employers, leaving_out=NOT_FOR_STATUS)
    left_out = 0
    for full, short in zip(whole, lean, strict=True):
        events = decode_rows(full.originator_id, full.rows)
        assert events == store.stream(full.employer)  # the bulk read: the same stream
        kept = decode_rows(short.originator_id, short.rows)
        assert kept == store.stream(full.employer, leaving_out=NOT_FOR_STATUS) == [
            e for e in events if e.type_name() not in NOT_FOR_STATUS]
        left_out += len(events) - len(kept)
        plain, quick = employer_rows(full.employer, events), employer_rows(full.employer, kept)
        assert _without_version(quick.status_values(7)) == \
            _without_version(plain.status_values(7))
        assert quick.lapse_values() == plain.lapse_values()
    assert left_out > 500  # the generated payroll, premiums and incentives


def test_only_types_the_status_fold_reads_nothing_from_are_left_out() -> None:
    expected = {"PayrollReported", "PremiumPaid", "IncentivePaid", "BaseRateSet",
                "LapseRiskFlagged"}
    assert expected == NOT_FOR_STATUS
    assert all(HANDLERS[name] is Fold._not_for_status for name in NOT_FOR_STATUS)


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
