"""An employer left unregistered by a void says why: every answer cites the void.

``because`` lists the events and rules that decided an answer (INTERCHANGE.md). An employer
whose every registration was voided reads ``unregistered``, and that answer was decided by
the void: ``status`` (from the read models and from the fold alike), ``incentive`` and
``explain`` cite it. An employer the ledger never registered, or one asked about before
its registration took effect, has nothing to cite.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cli, line, registration

VOID_SAYS = "EmployerRegistered E-1-reg (2020-01-06) was voided: sent in error"


def void(target: str, event_id: str, effective: str = "2021-02-01") -> dict[str, Any]:
    return line("EventVoided", "E-1", effective, {"target": target, "reason": "sent in error"},
                id=event_id)


@pytest.fixture
def voided(cli: Cli) -> Cli:
    """A ledger whose one registration of E-1 (2020-01-06) was voided (v1, 2021-02-01)."""
    result = cli.import_lines([registration(), void("E-1-reg", "v1")])
    assert result.exit_code == 0, result.stderr
    return cli


def void_cited(because: list[dict[str, Any]]) -> bool:
    return any(b["event"] == "v1" and b["type"] == "EventVoided"
               and b["rule"] == "COR-2000.corrections" and b["says"].startswith(VOID_SAYS)
               for b in because)


def test_status_of_an_employer_whose_registration_was_voided_cites_the_void(
        voided: Cli) -> None:
    doc = voided.json("status", "E-1", "--as-of", "2022-01-01")
    assert doc["status"] == "unregistered"
    assert void_cited(doc["because"]), doc["because"]
    assert [b["event"] for b in doc["because"]] == ["v1"]  # the void's own place cites no rule


def test_the_read_models_and_the_fold_give_the_same_unregistered_answer(voided: Cli) -> None:
    from_read_models = voided.json("status", "E-1", "--as-of", "2022-01-01")
    folded = voided.json("status", "E-1", "--as-of", "2022-01-01",
                         "--known-at", "2999-01-01T00:00:00Z")
    for doc in (from_read_models, folded):
        doc.pop("known_at")
        doc.pop("receipt", None)
    assert from_read_models == folded


def test_the_receipt_names_the_void_it_cites(voided: Cli) -> None:
    receipt = voided.json("status", "E-1")["receipt"]
    assert [e["event"] for e in receipt["events"]] == ["v1"], receipt


def test_before_the_voided_registration_took_effect_nothing_is_cited(voided: Cli) -> None:
    doc = voided.json("status", "E-1", "--as-of", "2020-01-01")
    assert doc["status"] == "unregistered"
    assert doc["because"] == []


def test_an_employer_never_registered_cites_nothing(voided: Cli) -> None:
    doc = voided.json("status", "E-404")
    assert (doc["status"], doc["because"]) == ("unregistered", [])


def test_incentive_of_an_employer_whose_registration_was_voided_cites_the_void(
        voided: Cli) -> None:
    doc = voided.json("incentive", "E-1", "--year", "2020")
    assert doc["state"] == "not_applicable"
    assert doc["because"][0]["says"].startswith(
        "no registration of E-1 stands in this ledger (each was voided)")
    assert void_cited(doc["because"]), doc["because"]
    never = voided.json("incentive", "E-404", "--year", "2020")
    assert [b["says"] for b in never["because"]] == [
        "E-404 is not registered in this ledger: no incentive program applies"]


def test_explain_of_an_employer_whose_registration_was_voided_shows_the_void(
        voided: Cli) -> None:
    result = voided("explain", "E-1")
    assert result.exit_code == 0, result.stderr
    assert "E-1 is unregistered" in result.stdout
    assert "voids E-1-reg" in result.stdout
    assert "COR-2000.corrections" in result.stdout


def test_a_voided_void_gives_the_registration_back_and_the_usual_because(
        voided: Cli) -> None:
    assert voided.import_lines([void("v1", "v2", "2021-03-01")]).exit_code == 0
    doc = voided.json("status", "E-1", "--as-of", "2022-01-01")
    assert doc["status"] == "registered"
    assert doc["because"][0]["event"] == "E-1-reg"
