"""``corledger import`` as a user meets it (issue 18 §10): --dry-run, the JSON refusal, a BOM,
the elapsed time, and a progress rate and time left computed over the time elapsed."""

from __future__ import annotations

import json

from rich.progress import Task, TaskID

from commands.import_cli import ElapsedRateColumn, TimeLeftColumn
from tests.conftest import Cli, audit, line, registration


def test_a_dry_run_checks_against_the_ledger_and_writes_nothing(cli: Cli) -> None:
    assert cli.import_lines([registration()]).exit_code == 0
    path = cli.write([registration(), audit(), audit(audit_id="A2")])
    result = cli("import", str(path), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "dry run, nothing written: 2 events would be added, 1 skipped" in result.stdout
    assert len(cli.json("history", "E-1")["events"]) == 1
    assert cli("import", str(path)).exit_code == 0  # and the real run still does it all
    assert len(cli.json("history", "E-1")["events"]) == 3


def test_a_dry_run_refuses_what_the_import_would_refuse(cli: Cli) -> None:
    result = cli.import_lines([audit()])  # E-1 is not registered
    path = cli.write([audit()])
    dry = cli("import", str(path), "--dry-run")
    assert dry.exit_code != 0
    assert "line 1: employer: 'E-1' is not registered" in dry.stderr
    assert result.stderr.splitlines()[1] == dry.stderr.splitlines()[1]


def test_a_dry_run_with_json_says_so(cli: Cli) -> None:
    result = cli("import", str(cli.write([registration()])), "--dry-run", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert (doc["added"], doc["dry_run"]) == (1, True)
    assert cli.json("history", "E-1")["events"] == []


def test_a_refusal_with_json_is_one_json_document_on_stdout(cli: Cli) -> None:
    path = cli.write([registration(), audit(overall=130), "{oops"])
    result = cli("import", str(path), "--json")
    assert result.exit_code != 0
    doc = json.loads(result.stdout)
    assert doc["refused"] is True and doc["imported"] == 0 and doc["truncated"] is False
    assert doc["errors"] == [
        {"line": 2, "field": "data.overall", "message": "must be from 0 to 100, got 130"},
        {"line": 3, "field": "line", "message": doc["errors"][1]["message"]}]
    assert "not valid JSON" in doc["errors"][1]["message"]
    assert "refused, nothing was imported" in result.stderr


def test_a_missing_file_with_json_is_a_json_refusal(cli: Cli) -> None:
    result = cli("import", str(cli.tmp_path / "nope.jsonl"), "--json")
    assert result.exit_code != 0
    doc = json.loads(result.stdout)
    assert doc["refused"] is True
    assert doc["errors"][0]["message"] == "no such file"


def test_a_utf8_bom_on_the_first_line_is_skipped(cli: Cli) -> None:
    path = cli.write([registration(), audit()])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = cli("import", str(path))
    assert result.exit_code == 0, result.stderr
    assert len(cli.json("history", "E-1")["events"]) == 2


def test_a_bom_after_the_first_line_is_still_refused(cli: Cli) -> None:
    path = cli.write([registration(), audit()])
    first, second = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(first + b"\xef\xbb\xbf" + second)
    result = cli("import", str(path))
    assert result.exit_code != 0
    assert "line 2: line: not valid JSON" in result.stderr


def test_the_summary_gives_the_elapsed_time(cli: Cli) -> None:
    result = cli.import_lines([registration()])
    assert result.exit_code == 0
    assert "1 events added, 0 skipped (already in the ledger), 1 lines read in " in result.stdout
    assert result.stdout.rstrip().endswith(" s")
    doc = json.loads(cli("import", str(cli.write([registration()])), "--json").stdout)
    assert doc["elapsed_s"] >= 0 and doc["skipped"] == 1


def progress_task(completed: float, total: float | None, elapsed: float) -> Task:
    """A rich progress task started ``elapsed`` seconds before its clock's reading."""
    task = Task(TaskID(0), "importing", total=total, completed=completed,
                _get_time=lambda: 100.0 + elapsed)
    task.start_time = 100.0  # what Progress.start_task sets
    return task


def test_the_rate_and_time_left_are_over_the_time_elapsed() -> None:
    # 30 MB of 90 MB in 10 s: 3 MB/s, 20 s left, whatever the last burst of reading was
    task = progress_task(30e6, 90e6, 10.0)
    assert ElapsedRateColumn().render(task).plain == "3.0 MB/s"
    assert TimeLeftColumn().render(task).plain == "0:00:20"
    later = progress_task(60e6, 90e6, 50.0)
    assert ElapsedRateColumn().render(later).plain == "1.2 MB/s"
    assert TimeLeftColumn().render(later).plain == "0:00:25"


def test_no_rate_is_claimed_before_there_is_one() -> None:
    assert ElapsedRateColumn().render(progress_task(0, 90e6, 10.0)).plain == "?"
    assert TimeLeftColumn().render(progress_task(5e6, None, 10.0)).plain == "-:--:--"
    assert TimeLeftColumn().render(progress_task(5e6, 90e6, 0.1)).plain == "-:--:--"


def test_dry_run_of_a_file_with_a_void_writes_nothing(cli: Cli) -> None:
    lines = [registration(), line("EventVoided", "E-1", "2021-01-01",
                                  {"target": "E-1-reg", "reason": "wrong"}, id="v1")]
    assert cli("import", str(cli.write(lines)), "--dry-run").exit_code == 0
    assert cli.json("history", "E-1")["events"] == []
