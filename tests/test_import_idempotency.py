"""Import is idempotent by sender id; a reused id with different content refuses the file."""

from __future__ import annotations

from tests.conftest import Cli, audit, line, registration


def test_reimporting_the_same_file_adds_nothing(cli: Cli) -> None:
    lines = [registration(), audit()]
    assert "2 events added, 0 skipped" in cli.import_lines(lines).stdout
    assert "0 events added, 2 skipped" in cli.import_lines(lines).stdout
    assert len(cli.json("history", "E-1")["events"]) == 2


def test_same_content_with_keys_reordered_and_respaced_is_the_same(cli: Cli) -> None:
    cli.import_lines([registration()])
    reordered = '{"data": {"headcount": 25, "classification_units": ["G100"], "program": "COR",' \
        ' "partner": "GENERIC", "name": "E-1 Ltd"},   "effective": "2020-01-06",' \
        ' "employer": "E-1", "type": "EmployerRegistered", "id": "E-1-reg"}'
    assert "0 events added, 1 skipped" in cli.import_lines([reordered]).stdout


def test_a_duplicate_within_one_file_is_skipped(cli: Cli) -> None:
    result = cli.import_lines([registration(), audit(), audit()])
    assert "2 events added, 1 skipped" in result.stdout


def test_same_id_different_content_refuses_the_whole_file(cli: Cli) -> None:
    cli.import_lines([registration()])
    result = cli.import_lines([
        line("HeadcountReported", "E-1", "2021-01-01", {"headcount": 4}, id="h-1"),
        registration(headcount=26),
    ])
    assert result.exit_code != 0
    assert "line 2: id: 'E-1-reg' is already in the ledger with different content" \
        in result.stderr
    assert len(cli.json("history", "E-1")["events"]) == 1  # h-1 was not written either


def test_same_id_different_content_within_one_file_is_a_conflict(cli: Cli) -> None:
    result = cli.import_lines([registration(), audit(), audit(overall=70)])
    assert result.exit_code != 0
    assert "line 3: id:" in result.stderr
    assert cli.json("history", "E-1")["events"] == []


def test_the_time_of_import_is_not_part_of_the_content(cli: Cli) -> None:
    """recorded_at left out is set by the ledger; sending the line again still matches."""
    cli.import_lines([registration()])
    first = cli.json("history", "E-1")["events"][0]["recorded_at"]
    assert "1 skipped" in cli.import_lines([registration()]).stdout
    assert cli.json("history", "E-1")["events"][0]["recorded_at"] == first


def test_events_without_an_id_are_appended_each_time(cli: Cli) -> None:
    cli.import_lines([registration()])
    report = line("HeadcountReported", "E-1", "2021-01-01", {"headcount": 4})
    cli.import_lines([report])
    cli.import_lines([report])
    assert len(cli.json("history", "E-1")["events"]) == 3
