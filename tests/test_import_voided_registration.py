"""A voided registration no longer counts for import (issue 11 §2): later events wait for a
new ``EmployerRegistered``, dates before it are refused, and void chains of any length
resolve, in the same file (the importer's head cache) and across files (the store's
``ledger_employers.registered_on``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from storage.store import LedgerStore, open_store
from tests.conftest import Cli, line, registration


def void(target: str, event_id: str, effective: str = "2021-02-01") -> dict[str, Any]:
    return line("EventVoided", "E-1", effective, {"target": target, "reason": "sent in error"},
                id=event_id)


def headcount(effective: str, n: int = 3) -> dict[str, Any]:
    return line("HeadcountReported", "E-1", effective, {"headcount": n},
                id=f"hc-{effective}-{n}")


def registered_on(db_url: str) -> date | None:
    """What the store says, as a fresh import would read it."""
    store: LedgerStore = open_store(db_url)
    try:
        with store.writer() as writer:
            return writer.heads(["E-1"])["E-1"].registered_on
    finally:
        store.close()


def imported(cli: Cli, lines: list[Any], *, one_file: bool) -> list[Any]:
    """Imports ``lines`` in one file, or one file per line; returns the results."""
    if one_file:
        return [cli.import_lines(lines)]
    return [cli.import_lines([x]) for x in lines]


@pytest.mark.parametrize("one_file", [True, False], ids=["one file", "file per line"])
def test_after_its_registration_is_voided_an_employer_takes_no_events(
        cli: Cli, db_url: str, one_file: bool) -> None:
    results = imported(cli, [registration(), void("E-1-reg", "v1")], one_file=one_file)
    assert all(r.exit_code == 0 for r in results), [r.stderr for r in results]
    assert registered_on(db_url) is None
    result = cli.import_lines([headcount("2021-03-01")])
    assert result.exit_code != 0
    assert "line 1: employer: 'E-1' is not registered: its registration was voided" \
        in result.stderr
    assert len(cli.json("history", "E-1")["events"]) == 2


def test_a_void_in_the_same_file_stops_the_lines_after_it(cli: Cli) -> None:
    result = cli.import_lines([registration(), headcount("2021-01-01"), void("E-1-reg", "v1"),
                               headcount("2021-03-01")])
    assert result.exit_code != 0
    assert "line 4: employer: 'E-1' is not registered: its registration was voided" \
        in result.stderr
    assert "line 2" not in result.stderr
    assert cli.json("history", "E-1")["events"] == []


@pytest.mark.parametrize("one_file", [True, False], ids=["one file", "file per line"])
def test_a_new_registration_counts_from_its_own_date(cli: Cli, db_url: str,
                                                     one_file: bool) -> None:
    results = imported(cli, [registration(), void("E-1-reg", "v1"),
                             registration(effective="2022-01-01", id="reg-2")],
                       one_file=one_file)
    assert all(r.exit_code == 0 for r in results), [r.stderr for r in results]
    assert registered_on(db_url) == date(2022, 1, 1)
    early = cli.import_lines([headcount("2021-06-01")])
    assert early.exit_code != 0
    assert "line 1: effective: 2021-06-01 is before E-1's registration on 2022-01-01" \
        in early.stderr
    assert cli.import_lines([headcount("2022-02-01")]).exit_code == 0


@pytest.mark.parametrize("one_file", [True, False], ids=["one file", "file per line"])
def test_void_chains_of_any_length_resolve(cli: Cli, db_url: str, one_file: bool) -> None:
    """v1 voids the registration, v2 voids v1 (it counts again), v3 voids v2 (void again),
    v4 voids v3 (counts again)."""
    assert all(r.exit_code == 0 for r in imported(
        cli, [registration(), void("E-1-reg", "v1"), void("v1", "v2")], one_file=one_file))
    assert registered_on(db_url) == date(2020, 1, 6)
    assert cli.import_lines([headcount("2020-06-01")]).exit_code == 0
    assert cli.import_lines([void("v2", "v3")]).exit_code == 0
    assert registered_on(db_url) is None
    assert cli.import_lines([headcount("2020-07-01")]).exit_code != 0
    assert cli.import_lines([void("v3", "v4")]).exit_code == 0
    assert registered_on(db_url) == date(2020, 1, 6)
    assert cli.import_lines([headcount("2020-08-01")]).exit_code == 0


def test_voiding_the_earlier_of_two_registrations_moves_the_date_to_the_later(
        cli: Cli, db_url: str) -> None:
    assert cli.import_lines([registration(), registration(effective="2021-01-01",
                                                          id="reg-2")]).exit_code == 0
    assert registered_on(db_url) == date(2020, 1, 6)
    assert cli.import_lines([void("E-1-reg", "v1")]).exit_code == 0
    assert registered_on(db_url) == date(2021, 1, 1)
    result = cli.import_lines([headcount("2020-06-01")])
    assert "line 1: effective: 2020-06-01 is before E-1's registration on 2021-01-01" \
        in result.stderr
    assert cli.import_lines([headcount("2021-06-01")]).exit_code == 0


def test_a_void_of_another_event_leaves_the_registration_alone(cli: Cli, db_url: str) -> None:
    assert cli.import_lines([registration(), headcount("2021-01-01"),
                             void("hc-2021-01-01-3", "v1")]).exit_code == 0
    assert registered_on(db_url) == date(2020, 1, 6)
    assert cli.import_lines([headcount("2021-03-01")]).exit_code == 0


@pytest.mark.parametrize("one_file", [True, False], ids=["one file", "file per line"])
def test_a_void_of_a_report_then_of_the_registration_unregisters_the_employer(
        cli: Cli, db_url: str, one_file: bool) -> None:
    """The import passes over a void of a report without recounting the registration (it
    knows the employer's registrations and voids), but not one of the registration after it,
    nor one of a void of the registration."""
    lines = [registration(), headcount("2021-01-01"), void("hc-2021-01-01-3", "v1"),
             void("E-1-reg", "v2")]
    assert all(r.exit_code == 0 for r in imported(cli, lines, one_file=one_file))
    assert registered_on(db_url) is None
    assert all(r.exit_code == 0 for r in imported(
        cli, [void("v1", "v3"), void("v2", "v4")], one_file=one_file))
    assert registered_on(db_url) == date(2020, 1, 6)
    assert cli.import_lines([headcount("2021-03-01")]).exit_code == 0


def partner_of_record(db_url: str) -> str | None:
    """The partner the employer index names (tenancy and every --partner filter read it)."""
    from service.directory import partner_of

    store: LedgerStore = open_store(db_url)
    try:
        return partner_of(store, "E-1")
    finally:
        store.close()


@pytest.mark.parametrize("one_file", [True, False], ids=["one file", "file per line"])
def test_a_registration_voided_for_the_wrong_partner_hands_the_employer_to_the_next(
        cli: Cli, db_url: str, one_file: bool) -> None:
    lines = [registration(partner="GENERIC"), void("E-1-reg", "v1"),
             registration(effective="2020-02-01", partner="BCCSA", id="reg-2")]
    assert all(r.exit_code == 0 for r in imported(cli, lines, one_file=one_file))
    assert partner_of_record(db_url) == "BCCSA"
    assert cli.import_lines([void("v1", "v2")]).exit_code == 0  # the first counts again
    assert partner_of_record(db_url) == "GENERIC"


@pytest.mark.parametrize("one_file", [True, False], ids=["one file", "file per line"])
def test_two_registrations_on_one_day_keep_the_partner_the_status_names(
        cli: Cli, db_url: str, one_file: bool) -> None:
    """Which of two registrations on the same day stands is decided by sender id (the fold's
    order), not by which was written first: the employers table, which decides who may see
    the employer, keeps the partner the status names."""
    first = registration(partner="BCCSA", id="Z-reg")
    second = registration(partner="GO2HR", id="A-reg")
    results = imported(cli, [first, second], one_file=one_file)
    assert all(r.exit_code == 0 for r in results), [r.stderr for r in results]
    assert cli.json("status", "E-1", "--as-of", "2020-03-01")["partner"] == "GO2HR"
    from service.directory import partner_of

    store: LedgerStore = open_store(db_url)
    try:
        assert partner_of(store, "E-1") == "GO2HR"
    finally:
        store.close()
