"""A lapse flag is never written twice for the same employer, due date and level, whoever
writes it: an import under another id is refused like the scan's own duplicate."""

from __future__ import annotations

from datetime import UTC, date, datetime

from commands.scan import scan
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
