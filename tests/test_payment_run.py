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
from projections.sql.payment_run import DecisionCache, payment_run
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


# --- runs kept between calls (the service's) ----------------------------------------------------


def _eligible(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d["state"] == "eligible" and d["by_cu"])


def test_a_kept_run_redecides_only_the_employers_touched_since(
        generated: list[str], store: LedgerStore, cli: Any) -> None:
    runs = DecisionCache()
    first = runs.run(store, generated, 2022, known_at=None, asked_on=ASKED)
    assert runs.last_decided == generated
    assert runs.run(store, generated, 2022, known_at=None, asked_on=ASKED) == first
    assert runs.last_decided == []

    target = _eligible(first)["employer"]
    result = cli.import_lines([{"type": "ViolationRecorded", "employer": target,
                                "effective": "2022-07-01", "recorded_at": "2024-01-02T00:00:00Z",
                                "data": {"kind": "stop-work order", "penalty": True}}])
    assert result.exit_code == 0, result.output
    again = runs.run(store, generated, 2022, known_at=None, asked_on=ASKED)
    assert runs.last_decided == [target]
    assert again == payment_run(store, generated, 2022, known_at=None, asked_on=ASKED)
    assert next(d for d in again if d["employer"] == target)["state"] == "ineligible"


def test_new_reference_data_redecides_every_employer(
        generated: list[str], store: LedgerStore, cli: Any) -> None:
    runs = DecisionCache()
    first = runs.run(store, generated, 2022, known_at=None, asked_on=ASKED)
    cu = _eligible(first)["by_cu"][0]["cu"]
    result = cli.import_lines([{"type": "BaseRateSet", "effective": "2022-01-01",
                                "recorded_at": "2024-01-02T00:00:00Z",
                                "data": {"jurisdiction": "BC", "cu": cu, "year": 2022,
                                         "base_rate": "97.13"}}])
    assert result.exit_code == 0, result.output
    again = runs.run(store, generated, 2022, known_at=None, asked_on=ASKED)
    assert runs.last_decided == generated
    assert again == payment_run(store, generated, 2022, known_at=None, asked_on=ASKED)
    assert again != first  # the new rate moved an amount


def test_a_kept_run_decides_employers_it_has_not_seen_and_keeps_runs_apart(
        generated: list[str], store: LedgerStore) -> None:
    runs = DecisionCache(kept=2)
    runs.run(store, generated[:10], 2022, known_at=None, asked_on=ASKED)
    assert runs.run(store, generated, 2022, known_at=None, asked_on=ASKED) == \
        payment_run(store, generated, 2022, known_at=None, asked_on=ASKED)
    assert runs.last_decided == generated[10:]
    runs.run(store, generated, 2021, known_at=None, asked_on=ASKED)
    assert runs.last_decided == generated  # another year: another run
    runs.run(store, generated, 2022, known_at=None, asked_on=date(2024, 6, 2))
    assert runs.last_decided == generated  # another day asked: another run
    runs.run(store, generated, 2022, known_at=None, asked_on=ASKED)
    assert runs.last_decided == generated  # only two runs are kept: 2022 was dropped
