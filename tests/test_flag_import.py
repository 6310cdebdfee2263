"""A lapse flag is never written twice for the same employer, due date and level, whoever
writes it: an import under another id is refused like the scan's own duplicate. And a flag's
key (its id, or for one imported without an id ``lapse:<employer>:<due>:<level>``) is never
another event's id: the outbox announces each flag under its key."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import orjson
import pytest

from commands.importer import Importer, ImportRefused
from commands.scan import flag_key, scan
from ledger.events import LapseRiskFlagged
from storage.store import open_store
from tests.conftest import Cli, line, registration
from tests.lapse_helpers import certified


def flag(event_id: str, due: str = "2021-06-15", level: str = "critical") -> dict[str, object]:
    return line("LapseRiskFlagged", "E-1", "2021-05-20",
                {"due": due, "level": level, "reasons": []}, id=event_id)


def test_a_flag_imported_twice_under_other_ids_is_refused_naming_the_line(cli: Cli) -> None:
    assert cli.import_lines([registration("E-1"), flag("mine-1")]).exit_code == 0
    again = cli.import_lines([flag("mine-2")])
    assert again.exit_code != 0
    assert "line 1: data.due: a LapseRiskFlagged for E-1, due 2021-06-15, level critical" \
        in again.stderr
    within = cli.import_lines([flag("a", level="warning"), flag("b", level="warning")])
    assert within.exit_code != 0 and "line 2: data.due" in within.stderr
    kinds = [e["type"] for e in cli.json("history", "E-1")["events"]]
    assert kinds.count("LapseRiskFlagged") == 1
    assert cli.import_lines([flag("mine-1")]).exit_code == 0  # the same event: skipped
    assert cli.import_lines([flag("other-level", level="warning")]).exit_code == 0


def test_an_imported_flag_for_a_key_the_scan_wrote_is_refused(cli: Cli, db_url: str) -> None:
    assert cli.import_lines(certified("E-1", date(2020, 6, 15))).exit_code == 0
    store = open_store(db_url)
    try:
        written = scan(store, [date(2021, 5, 20)], 90, datetime(2021, 5, 20, 9, tzinfo=UTC))
    finally:
        store.close()
    assert len(written.flagged) == 1
    duplicate = cli.import_lines([flag("someone-else")])
    assert duplicate.exit_code != 0 and "never written twice" in duplicate.stderr


def _idless_flag(employer: str = "E-1") -> dict[str, object]:
    return line("LapseRiskFlagged", employer, "2021-05-20",
                {"due": "2021-06-15", "level": "critical", "reasons": []})


# E-1's id-less flag is known by this key; E-2's flag and E-2's headcount under it as an id
KEY = "lapse:E-1:2021-06-15:critical"
TAKERS = ("flag", "headcount")


def taking(taker: str, event_id: str = KEY, due: str = "2021-06-15") -> dict[str, object]:
    """An E-2 event of this kind under ``event_id``."""
    if taker == "flag":
        return line("LapseRiskFlagged", "E-2", "2021-05-20",
                    {"due": due, "level": "critical", "reasons": []}, id=event_id)
    return line("HeadcountReported", "E-2", "2021-05-20", {"headcount": 30}, id=event_id)


@pytest.mark.parametrize("taker", TAKERS)
def test_an_id_equal_to_the_key_of_a_flag_imported_without_one_is_refused_naming_it(
        cli: Cli, taker: str) -> None:
    assert cli.import_lines([registration("E-1"), registration("E-2"),
                             _idless_flag()]).exit_code == 0
    refused = cli.import_lines([taking(taker)])
    assert refused.exit_code != 0
    assert f"line 1: id: {KEY!r} is the key of the LapseRiskFlagged for E-1" in refused.stderr
    within = cli.import_lines([_idless_flag("E-2") | {"data": {
        "due": "2021-07-01", "level": "notice", "reasons": []}},
        taking(taker, "lapse:E-2:2021-07-01:notice", due="2021-08-01")])
    assert within.exit_code != 0 and "line 2: id: 'lapse:E-2:2021-07-01:notice'" \
        in within.stderr
    assert [e["type"] for e in cli.json("history", "E-2")["events"]] == ["EmployerRegistered"]


@pytest.mark.parametrize("taker", TAKERS)
def test_a_flag_without_an_id_whose_key_an_event_holds_is_refused(cli: Cli, taker: str) -> None:
    assert cli.import_lines([registration("E-1"), registration("E-2"),
                             taking(taker)]).exit_code == 0
    refused = cli.import_lines([_idless_flag()])
    assert refused.exit_code != 0
    assert f"line 1: id: none given, so this flag's key would be {KEY!r}" in refused.stderr
    within = cli.import_lines([taking(taker, "lapse:E-1:2021-06-15:warning", "2021-08-01"),
                               _idless_flag() | {"data": {
                                   "due": "2021-06-15", "level": "warning", "reasons": []}}])
    assert within.exit_code != 0 and "line 2: id: none given" in within.stderr
    assert [e["type"] for e in cli.json("history", "E-1")["events"]] == ["EmployerRegistered"]


@pytest.mark.parametrize("order", ["id first", "id-less first"])
def test_every_flag_key_is_no_other_events_id_across_batches(db_url: str, order: str) -> None:
    """Across the importer's batches (one line each here) as within one."""
    lines = [registration("E-1"), registration("E-2"), taking("flag"), _idless_flag()]
    if order == "id-less first":
        lines[2:] = lines[:1:-1]
    store = open_store(db_url)
    try:
        with pytest.raises(ImportRefused) as refused:
            Importer(store, now=datetime(2022, 1, 1, tzinfo=UTC), batch_size=1).run(
                io.BytesIO(b"".join(orjson.dumps(x) + b"\n" for x in lines)))
        assert [(e.line, e.field) for e in refused.value.errors] == [(4, "id")]
        ok = [registration("E-1"), registration("E-2"), _idless_flag(),
              taking("flag", "mine"), line("HeadcountReported", "E-2", "2021-05-20",
                                                   {"headcount": 30}, id="lapse:E-2:x:y")]
        Importer(store, now=datetime(2022, 1, 1, tzinfo=UTC), batch_size=1).run(
            io.BytesIO(b"".join(orjson.dumps(x) + b"\n" for x in ok)))
        keys = [flag_key(e) for employer in ("E-1", "E-2") for e in store.stream(employer)
                if isinstance(e, LapseRiskFlagged)]
        assert keys == [KEY, "mine"]
    finally:
        store.close()
