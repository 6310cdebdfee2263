"""One stream that cannot be folded does not block the others: it is reported, the batch
still advances, its status is folded on demand, and a later good fold clears the mark."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from ledger.rulebooks import RULES, RuleRegistry
from projections.sql.projector import catch_up, progress
from projections.sql.queries import roll_call, status_from_read_model
from projections.status import status
from storage.store import LedgerStore
from tests.conftest import audit, registration

# A registry that lacks AMHSA's rulebook: folding an AMHSA employer with it raises, a real
# failure of one stream (as a bug or a MemoryError would be) while the others fold.
WITHOUT_AMHSA = RuleRegistry([
    replace(r, partners=tuple(p for p in r.partners if p != "AMHSA")) for r in RULES.all()
    if r.partners != ("AMHSA",)])


def test_a_stream_that_fails_to_fold_is_reported_and_the_others_are_projected(
        cli: Any, store: LedgerStore) -> None:
    cli.import_lines([registration("GOOD-1"), audit("GOOD-1"),
                      registration("BAD-1", partner="AMHSA")])
    assert catch_up(store, registry=WITHOUT_AMHSA) is not None
    now = progress(store)
    assert now.lag == 0  # the batch advanced past the failing stream
    assert [f.employer for f in now.failed] == ["BAD-1"]
    assert "AMHSA" in now.failed[0].error
    on = date(2021, 1, 1)
    assert status_from_read_model(store, "GOOD-1", on) == status(
        store.stream("GOOD-1"), as_of=on, employer="GOOD-1")
    # the failed employer's status is folded from its stream rather than read stale
    assert status_from_read_model(store, "BAD-1", on) == status(
        store.stream("BAD-1"), as_of=on, employer="BAD-1")
    assert [r["employer"] for r in roll_call(store, on)] == ["GOOD-1"]
    shown = cli.json("projections", "status")
    assert [f["employer"] for f in shown["failed"]] == ["BAD-1"]
    # a new event re-folds the employer; with the rulebook there, the mark is cleared
    cli.import_lines([audit("BAD-1", audit_id="B1")])
    catch_up(store)
    assert progress(store).failed == ()
    assert [r["employer"] for r in roll_call(store, on)] == ["BAD-1", "GOOD-1"]
