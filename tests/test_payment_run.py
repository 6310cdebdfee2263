"""The payment run decides each employer as ``incentive`` does, in the employers' order,
whether in one process or in workers, and reports its progress; the command, the API and
the web page all call it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger.rulebooks import RULES
from projections import incentive as incentive_module
from projections.sql import payment_run as run_module
from projections.sql.payment_run import payment_run
from scripts.generate import LedgerSpec, ledger_lines
from storage.store import LedgerStore

pytestmark = pytest.mark.integration  # a real database, and worker processes

ASKED = date(2024, 6, 1)


@pytest.fixture
def generated(cli: Any, store: LedgerStore) -> list[str]:
    """40 generated employers (payroll, premiums, incentives paid), imported."""
    lines = b"".join(ledger_lines(LedgerSpec(40, 11), 0)).decode().splitlines()
    result = cli.import_lines(lines)
    assert result.exit_code == 0, result.output
    return store.employers()


def _one_by_one(store: LedgerStore, employers: list[str], year: int) -> list[dict[str, Any]]:
    reference = store.reference()
    return [incentive_module.incentive(store.stream(e), reference, year=year, employer=e,
                                       asked_on=ASKED, registry=RULES) for e in employers]


def test_the_run_decides_each_employer_as_incentive_does_in_their_order(
        generated: list[str], store: LedgerStore) -> None:
    chosen = list(reversed(generated))
    docs = payment_run(store, chosen, 2022, known_at=None, asked_on=ASKED)
    assert [d["employer"] for d in docs] == chosen
    assert docs == _one_by_one(store, chosen, 2022)
    assert {d["state"] for d in docs} - {"not_applicable"}  # some real decisions


def test_workers_give_the_same_decisions_as_one_process(
        generated: list[str], store: LedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "PARALLEL_FROM", 1)
    monkeypatch.setattr(run_module, "SLICE", 7)  # several slices, returned in order
    heard: list[tuple[int, int]] = []
    in_workers = payment_run(store, generated, 2021, known_at=None, asked_on=ASKED,
                             workers=2, on_progress=lambda *a: heard.append(a))
    assert in_workers == payment_run(store, generated, 2021, known_at=None, asked_on=ASKED)
    total = len(generated)
    assert heard[0] == (0, total) and heard[-1] == (total, total)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
    assert len(heard) == 1 + -(-total // 7)


def test_an_empty_run_decides_nothing(store: LedgerStore) -> None:
    assert payment_run(store, [], 2022, known_at=None, asked_on=ASKED) == []
