"""The lapse scan: one flag per (employer, due date, level), enforced by the store."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest

from commands import scan as scan_module
from commands.scan import flag_candidates, flag_id, scan
from ledger.events import LapseRiskFlagged
from storage.sqlite import SQLiteWriter
from storage.store import WRITE_CONFLICTS, LedgerStore
from tests.conftest import line, registration
from tests.lapse_helpers import certified

NOW = datetime(2021, 7, 1, 9, 30, tzinfo=UTC)
QA = date(2020, 6, 15)  # GENERIC: maintenance audit due 2021-06-15


def flags(store: LedgerStore, employer: str = "E-1") -> list[LapseRiskFlagged]:
    return [e for e in store.stream(employer) if isinstance(e, LapseRiskFlagged)]


def sqlite_only(db_url: str) -> None:
    """The race is simulated by patching the SQLite writer's id check."""
    if not db_url.startswith("sqlite"):
        pytest.skip("simulates the race through the SQLite adapter")


@pytest.fixture
def ledger(cli: Any, store: LedgerStore) -> LedgerStore:
    result = cli.import_lines(certified("E-1", QA))
    assert result.exit_code == 0, result.output
    return store


def test_scan_twice_adds_nothing_the_second_time(cli: Any, ledger: LedgerStore) -> None:
    first = cli.json("scan", "--as-of", "2021-05-20")
    assert [f["id"] for f in first["flagged"]] == ["lapse:E-1:2021-06-15:critical"]
    assert first["existing"] == 0
    second = cli.json("scan", "--as-of", "2021-05-20")
    assert second["flagged"] == [] and second["existing"] == 1
    assert len(flags(ledger)) == 1
    text = cli("scan", "--as-of", "2021-05-20")
    assert "0 new flags, 1 already in the ledger" in text.output


def test_flag_event_has_as_of_effective_clock_recorded_and_data(ledger: LedgerStore) -> None:
    result = scan(ledger, [date(2021, 4, 20)], 90, NOW)
    assert [c.event_id for c in result.flagged] == ["lapse:E-1:2021-06-15:warning"]
    (flag,) = flags(ledger)
    assert flag.event_id == "lapse:E-1:2021-06-15:warning"
    assert flag.effective == date(2021, 4, 20)
    assert flag.recorded_at == NOW and flag.timestamp == NOW
    assert flag.data() == {"due": date(2021, 6, 15), "level": "warning", "reasons": ()}
    assert flag.by == "corledger scan"


def test_a_new_level_is_a_new_flag_the_same_level_is_not(ledger: LedgerStore) -> None:
    scan(ledger, [date(2021, 3, 20)], 90, NOW)   # notice
    scan(ledger, [date(2021, 3, 21)], 90, NOW)   # notice again: nothing
    scan(ledger, [date(2021, 5, 20)], 90, NOW)   # critical
    assert [f.level for f in flags(ledger)] == ["notice", "critical"]


def test_flags_do_not_change_what_the_scan_sees(ledger: LedgerStore) -> None:
    """The flags are in the employer's stream; folding them must not move the status."""
    before = flag_candidates([ledger.stream("E-1")], [date(2021, 5, 20)], 90)
    scan(ledger, [date(2021, 5, 20)], 90, NOW)
    after = flag_candidates([ledger.stream("E-1")], [date(2021, 5, 20)], 90)
    assert [c.entry for c in before] == [c.entry for c in after]


def test_candidates_over_many_dates_keep_the_earliest_as_of() -> None:
    from tests.factories import Ledger

    events = Ledger("E-9")
    events.register("2020-01-06")
    events.certify("2020-06-01", "2020-06-15")
    days = [date(2021, 3, 1) + (date(2021, 1, 2) - date(2021, 1, 1)) * n for n in range(120)]
    found = flag_candidates([events.events], days, 90)
    assert [(c.entry["level"], c.as_of.isoformat()) for c in found] == [
        ("notice", "2021-03-17"), ("warning", "2021-04-16"), ("critical", "2021-05-16"),
        ("missed", "2021-06-16")]


def test_the_primary_key_refuses_a_flag_the_check_missed(
        ledger: LedgerStore, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    """Two scanners racing: ours checked before theirs committed. The ledger_event_ids
    primary key fails our transaction; the one retry finds the flag and adds nothing."""
    sqlite_only(db_url)
    scan(ledger, [date(2021, 5, 20)], 90, NOW)  # "theirs", committed
    real = SQLiteWriter.known_ids
    calls = {"n": 0}

    def stale_first(self: SQLiteWriter, ids: Any) -> Any:
        calls["n"] += 1
        return {} if calls["n"] == 1 else real(self, ids)

    monkeypatch.setattr(SQLiteWriter, "known_ids", stale_first)
    real_keys = scan_module.flag_keys
    monkeypatch.setattr(scan_module, "flag_keys", lambda store, employers: set()
                        if calls["n"] == 0 else real_keys(store, employers))
    result = scan(ledger, [date(2021, 5, 20)], 90, NOW)
    assert result.retried and result.flagged == [] and len(result.existing) == 1
    assert len(flags(ledger)) == 1


def test_a_second_integrity_error_is_not_swallowed(
        ledger: LedgerStore, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    sqlite_only(db_url)
    scan(ledger, [date(2021, 5, 20)], 90, NOW)
    monkeypatch.setattr(SQLiteWriter, "known_ids", lambda self, ids: {})
    monkeypatch.setattr(scan_module, "flag_keys", lambda store, employers: set())
    with pytest.raises(WRITE_CONFLICTS):
        scan(ledger, [date(2021, 5, 20)], 90, NOW)
    assert len(flags(ledger)) == 1


def test_concurrent_scans_write_one_flag(ledger: LedgerStore, db_url: str) -> None:
    from storage.store import open_store

    errors: list[BaseException] = []

    def one() -> None:
        store = open_store(db_url)
        try:
            scan(store, [date(2021, 5, 20)], 90, NOW)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [f.event_id for f in flags(ledger)] == [flag_id("E-1", date(2021, 6, 15),
                                                           "critical")]


def test_scan_refuses_a_future_date_and_reads_the_window(cli: Any, ledger: LedgerStore) -> None:
    result = cli("scan", "--as-of", "2999-01-01")
    assert result.exit_code != 0 and "after today" in result.output
    narrow = cli.json("scan", "--as-of", "2021-03-20", "--within", "30")
    assert narrow["flagged"] == [] and narrow["within"] == 30


def test_scan_of_an_empty_ledger(cli: Any) -> None:
    assert cli("init").exit_code == 0
    assert cli.json("scan", "--as-of", "2021-05-20")["flagged"] == []


def imported_flag(cli: Any, event_id: str = "partner-flag-1") -> None:
    """A flag for E-1's due date and level ``critical``, written by someone else."""
    flag = {"id": event_id, "type": "LapseRiskFlagged", "employer": "E-1",
            "effective": "2021-05-18", "recorded_at": "2021-05-18T08:00:00Z",
            "by": "partner system",
            "data": {"due": "2021-06-15", "level": "critical", "reasons": []}}
    assert cli.import_lines([flag]).exit_code == 0


def test_a_flag_imported_under_another_id_is_not_written_twice(
        cli: Any, ledger: LedgerStore) -> None:
    imported_flag(cli)
    result = cli.json("scan", "--as-of", "2021-05-20")
    assert result["flagged"] == [] and result["existing"] == 1
    assert [(f.event_id, f.level) for f in flags(ledger)] == [("partner-flag-1", "critical")]
    later = cli.json("scan", "--as-of", "2021-06-16")  # a new level is a new flag
    assert [f["level"] for f in later["flagged"]] == ["missed"]


def test_racing_scans_never_write_a_twin_of_a_flag_under_another_id(
        cli: Any, ledger: LedgerStore, db_url: str) -> None:
    from storage.store import open_store

    imported_flag(cli)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def one() -> None:
        store = open_store(db_url)
        try:
            barrier.wait()
            scan(store, [date(2021, 5, 20), date(2021, 4, 20)], 90, NOW)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = [(f.due, f.level) for f in flags(ledger)]
    assert sorted(keys) == [(date(2021, 6, 15), "critical"), (date(2021, 6, 15), "warning")]


def test_an_id_another_event_holds_does_not_suppress_the_flag(
        cli: Any, ledger: LedgerStore) -> None:
    """specqa5-11. DOMAIN.md, "Lapse flags": uniqueness is by (employer, due date, level) of
    the LapseRiskFlagged events, not by id. Another partner's event sent under the id the
    scan would give E-1's flag (and the next one) once made the scan count the flag as
    there; now the flag takes the first id free, and a second scan adds nothing."""
    squatters = [registration("E-2", id="E-2-reg"),
                 line("HeadcountReported", "E-2", "2021-01-04", {"headcount": 30},
                      id="lapse:E-1:2021-06-15:critical"),
                 line("LapseRiskFlagged", "E-2", "2021-01-05",
                      {"due": "2021-06-15", "level": "critical", "reasons": []},
                      id="lapse:E-1:2021-06-15:critical:2")]
    assert cli.import_lines(squatters).exit_code == 0
    first = cli.json("scan", "--as-of", "2021-05-20")
    assert [(f["employer"], f["id"]) for f in first["flagged"]] == [
        ("E-1", "lapse:E-1:2021-06-15:critical:3")]
    assert [(f.event_id, f.due, f.level) for f in flags(ledger)] == [
        ("lapse:E-1:2021-06-15:critical:3", date(2021, 6, 15), "critical")]
    again = cli.json("scan", "--as-of", "2021-05-20")
    assert again["flagged"] == [] and again["existing"] == 1
    assert len(flags(ledger)) == 1
