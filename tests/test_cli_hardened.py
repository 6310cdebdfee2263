"""The command line for the people who rely on it (issue 18) and output that must not act on
the reader (issue 19 §5-6): each test is one reproduction of the issues, on both stores
where a store is involved."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from commands.cli import main
from ledger import events as ev
from ledger.events import stream_id
from projections.incentive import incentive
from storage.store import Appended, open_store
from tests.conftest import BACKENDS, Cli, line, registration

HOSTILE_NAME = ("Acme [/] [sic] [bold red]loud[/bold red] [link=http://evil.example]x[/link]"
                " \x1b[31mred\x1b[0m \x1b]8;;http://evil.example\x07osc\x1b]8;;\x07 \u202eevil")

pytestmark = pytest.mark.integration  # a real database, processes, files


def run(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI in process, exceptions caught: a traceback shows as ``result.exception``."""
    return CliRunner().invoke(main, ["--db", db_url, *args], env=env)


def assert_clean_refusal(result: Result, *needles: str) -> str:
    """Non-zero exit, no traceback, one ``Error:`` line naming what failed."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def append_hostile(db_url: str, employer: str = "BC-9000001") -> None:
    """An employer whose stored name and void reason hold markup, ANSI and OSC escapes and a
    bidi override, appended through the store (the import may refuse such text)."""
    sid = stream_id(employer)
    when = datetime(2020, 1, 6, 12, tzinfo=UTC)

    def make(cls: type[ev.LedgerEvent], version: int, eid: str, **data: Any) -> Appended:
        return Appended(cls(originator_id=sid, originator_version=version, timestamp=when,
                            event_id=eid, employer=employer, effective=date(2020, 1, 6),
                            recorded_at=when, by="[bold]registry[/]\x1b[2J", **data), eid)

    store = open_store(db_url)
    try:
        with store.writer() as writer:
            writer.append([
                make(ev.EmployerRegistered, 1, "h-1", name=HOSTILE_NAME, partner="BCCSA",
                     program="COR", classification_units=("721002",), headcount=20),
                make(ev.HeadcountReported, 2, "h-2", headcount=21),
                make(ev.EventVoided, 3, "h-3", target="h-2", reason="oops [/] \x1b[5mblink"),
            ])
    finally:
        store.close()


def append_generated(db_url: str, employer: str, *, name: str, by: str | None, reason: str,
                     headcount: int, effective: date) -> None:
    """A registration, a headcount and its void, with the given (generated) values."""
    sid = stream_id(employer)
    when = datetime(2020, 1, 6, 12, tzinfo=UTC)

    def make(cls: type[ev.LedgerEvent], version: int, **data: Any) -> Appended:
        eid = f"{employer}-{version}"
        return Appended(cls(originator_id=sid, originator_version=version, timestamp=when,
                            event_id=eid, employer=employer, effective=effective,
                            recorded_at=when, by=by, **data), eid)

    store = open_store(db_url)
    try:
        with store.writer() as writer:
            writer.append([
                make(ev.EmployerRegistered, 1, name=name, partner="BCCSA", program="COR",
                     classification_units=("721002",), headcount=headcount),
                make(ev.HeadcountReported, 2, headcount=headcount),
                make(ev.EventVoided, 3, target=f"{employer}-2", reason=reason),
            ])
    finally:
        store.close()


# --- §1 a wrong database path ----------------------------------------------------------------


QUERIES = [("status", "BC-1"), ("explain", "BC-1"), ("history", "BC-1"), ("lapses",),
           ("roll", "--as-of", "2020-01-01"), ("incentive", "BC-1", "--year", "2020"),
           ("incentives", "--year", "2020"), ("projections", "status"), ("scan",),
           ("outbox",)]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q[0])
def test_a_query_on_a_missing_sqlite_file_is_refused_and_creates_nothing(
        tmp_path: Path, query: tuple[str, ...]) -> None:
    path = tmp_path / "corledgr.db"
    result = run(f"sqlite:///{path}", *query)
    assert_clean_refusal(result, str(path), "init")
    assert not path.exists()


def test_init_import_and_demo_may_create_a_ledger(tmp_path: Path) -> None:
    for command in ("init", "demo"):
        path = tmp_path / f"{command}.db"
        assert run(f"sqlite:///{path}", command).exit_code == 0
        assert path.exists()
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps(registration()) + "\n")
    path = tmp_path / "import.db"
    assert run(f"sqlite:///{path}", "import", str(batch)).exit_code == 0
    assert run(f"sqlite:///{path}", "status", "E-1", "--json").exit_code == 0


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="no PostgreSQL server configured")
def test_a_query_on_a_missing_postgresql_database_is_refused() -> None:
    server = os.environ["CORLEDGER_TEST_POSTGRES"].rsplit("/", 1)[0]
    result = run(f"{server}/no_such_ledger_db", "status", "BC-1")
    assert_clean_refusal(result, "no_such_ledger_db", "does not exist", "--create-database")
    from tests.pg import fresh_database_url

    empty = fresh_database_url()  # a database without the ledger's tables
    assert_clean_refusal(run(empty, "roll", "--as-of", "2020-01-01"), "no ledger", "init")
    assert run(empty, "init").exit_code == 0
    assert run(empty, "roll", "--as-of", "2020-01-01").exit_code == 0


# --- §2 / 19 §5 stored text is printed literally --------------------------------------------


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_markup_and_escapes_in_stored_text_print_literally_in_every_command(
        db_url: str) -> None:
    assert run(db_url, "init").exit_code == 0
    append_hostile(db_url)
    for args in (("status", "BC-9000001"), ("explain", "BC-9000001"),
                 ("history", "BC-9000001"), ("roll", "--as-of", "2020-06-01"),
                 ("incentives", "--year", "2020"), ("incentive", "BC-9000001", "--year", "2020"),
                 ("lapses", "--as-of", "2020-06-01", "--within", "3653")):
        result = run(db_url, *args)
        assert result.exception is None, (args, result.exception)
        output = result.stdout + result.stderr
        assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output, args
        if args[0] in ("status", "explain", "history", "roll"):
            flat = output.replace("\n", "")
            assert "[/]" in flat and "[sic]" in flat, (args, output)
            assert "\\x1b" in flat, (args, output)
    explained = run(db_url, "explain", "BC-9000001").stdout
    assert "[bold red]loud[/bold red]" in explained.replace("\n", "")
    assert "\\u202e" in explained
    assert "oops [/] \\x1b[5mblink" in explained.replace("\n", "")


def test_the_console_never_lets_a_control_character_through() -> None:
    from commands.terminal import LiteralConsole, styled, visible

    out = LiteralConsole(width=80, record=True, force_terminal=True)
    out.print(styled(("[b]x[/b]\x1b[31m\x9b2J\u2066", "bold")), "[/]\x00\x7f")
    text = out.export_text()
    assert text.strip() == "[b]x[/b]\\x1b[31m\\x9b2J\\u2066 [/]\\x00\\x7f"
    assert visible("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


# --- §3 tracebacks become one clear line ----------------------------------------------------


def test_each_reproduction_of_a_traceback_is_one_line_and_a_non_zero_exit(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert run(db, "init").exit_code == 0
    assert_clean_refusal(run(db, "lapses", "--as-of", "9999-12-31"), "years 1 to 9999")
    assert_clean_refusal(run(db, "lapses", "--within", "99999999"), "99999999")
    assert_clean_refusal(run(db, "roll", "--as-of", "2020-01-01", "--csv",
                             "/nonexistent/dir/roll.csv"), "/nonexistent/dir")
    assert_clean_refusal(run("sqlite:////etc/passwd", "status", "X"), "/etc/passwd")
    assert_clean_refusal(run(f"sqlite:///{tmp_path}", "status", "X"), "directory")


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="no PostgreSQL server configured")
@pytest.mark.parametrize("query,needle", [("schema=partner-a", "schema"), ("foo=bar", "foo"),
                                          ("sslmode=bogus", "sslmode")])
def test_bad_postgresql_url_parameters_are_one_line(query: str, needle: str) -> None:
    url = os.environ["CORLEDGER_TEST_POSTGRES"]
    assert_clean_refusal(run(f"{url}?{query}", "status", "X"), needle)


# --- §4 a year still in progress reads open -------------------------------------------------


def bccsa_employer() -> list[dict[str, Any]]:
    """Certified in 2021 (BCCSA): a maintenance audit is due by the end of 2022."""
    return [registration("BC-1", "2021-01-04", partner="BCCSA",
                         recorded_at="2021-01-04T10:00:00Z"),
            line("AuditSubmitted", "BC-1", "2021-06-01", {
                "audit": "A1", "kind": "certification", "auditor": "ext-1",
                "auditor_type": "external", "started": "2021-05-01",
                "completed": "2021-05-10", "overall": 85,
                "elements": {"policy": 90, "hazard_assessment": 80}},
                 id="BC-1-A1", recorded_at="2021-06-01T10:00:00Z"),
            line("QADecided", "BC-1", "2021-06-20", {"audit": "A1", "outcome": "accepted"},
                 id="BC-1-QA1", recorded_at="2021-06-20T10:00:00Z")]


def test_a_year_in_progress_is_open_with_what_is_outstanding(cli: Cli) -> None:
    assert cli.import_lines(bccsa_employer()).exit_code == 0
    during = cli.json("incentive", "BC-1", "--year", "2022", "--known-at", "2022-11-01")
    assert during["state"] == "open" and during["amount"] is None
    assert any("runs until 2022-12-31" in item for item in during["outstanding"])
    assert any("maintenance audit due" in item for item in during["outstanding"])
    after = cli.json("incentive", "BC-1", "--year", "2022")
    assert after["state"] == "ineligible" and "outstanding" not in after
    run_ = cli.json("incentives", "--year", "2022", "--known-at", "2022-11-01")
    assert run_["totals"]["by_state"]["open"] == 1
    assert run_["totals"]["by_state"]["ineligible"] == 0


def test_the_decision_is_final_once_the_required_audit_can_no_longer_come() -> None:
    from tests.factories import Ledger

    ledger = Ledger("BC-2")
    ledger.register("2021-01-04", partner="BCCSA", cus=("721002",))
    ledger.certify("2021-06-01", "2021-06-20")
    doc = incentive(ledger.events, [], year=2022, employer="BC-2", asked_on=date(2023, 6, 1))
    assert doc["state"] == "ineligible"
    doc = incentive(ledger.events, [], year=2022, employer="BC-2", asked_on=date(2022, 3, 1))
    assert doc["state"] == "open" and doc["difference"] is None


# --- §5 silent empty answers ----------------------------------------------------------------


def test_an_unknown_partner_is_refused_by_roll_and_lapses(cli: Cli) -> None:
    assert cli("init").exit_code == 0
    for args in (("roll", "--as-of", "2020-01-01", "--partner", "NOPE"),
                 ("lapses", "--partner", "NOPE")):
        result = run(cli.db_url, *args)
        assert result.exit_code == 2 and "NOPE" in result.stderr


@pytest.mark.parametrize("employer", [" BC-1104729", "BC-1104729 ", "BC\u20101104729",
                                      "ВС-1104729", "BC-1\u200b", "@reference", ""])
def test_an_employer_id_outside_the_format_is_refused(tmp_path: Path, employer: str) -> None:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert run(db, "init").exit_code == 0
    for command in ("status", "explain", "history"):
        result = run(db, command, employer)
        assert result.exit_code == 2 and "is not an employer id" in result.stderr
    result = run(db, "incentive", employer, "--year", "2020")
    assert result.exit_code == 2 and "is not an employer id" in result.stderr


# --- §6 --known-at on roll, lapses and incentives; explain --json ---------------------------


def test_roll_lapses_and_incentives_replay_what_was_known(cli: Cli) -> None:
    assert cli.import_lines(bccsa_employer()).exit_code == 0
    # the certificate is revoked, recorded a year later
    revoke = line("CertificationRevoked", "BC-1", "2021-09-01",
                  {"authority": "WorkSafeBC", "reason": "falsified records"},
                  id="BC-1-R", recorded_at="2022-09-01T10:00:00Z")
    assert cli.import_lines([revoke]).exit_code == 0
    now = cli.json("roll", "--as-of", "2021-12-01")["employers"]
    then = cli.json("roll", "--as-of", "2021-12-01", "--known-at", "2022-01-01")
    assert [r["status"] for r in now] == ["revoked"]
    assert [r["status"] for r in then["employers"]] == ["certified"]
    assert then["known_at"] == "2022-01-01T23:59:59.999999Z"
    lapses_then = cli.json("lapses", "--as-of", "2022-11-15", "--known-at", "2022-01-01")
    assert [e["employer"] for e in lapses_then] == ["BC-1"]
    assert cli.json("lapses", "--as-of", "2022-11-15") == []
    paid = cli.json("incentives", "--year", "2021", "--known-at", "2022-01-01")
    assert paid["known_at"] == "2022-01-01T23:59:59.999999Z"


# --- §7 explain accounts for everything in the status ---------------------------------------


def test_explain_has_a_row_per_flag_every_void_and_the_revocation(cli: Cli) -> None:
    lines = bccsa_employer() + [
        line("HeadcountReported", "BC-1", "2021-07-01", {"headcount": 30}, id="BC-1-H1"),
        line("EventVoided", "BC-1", "2021-07-02", {"target": "BC-1-H1",
                                                   "reason": "keyed twice"},
             id="BC-1-V1", by="registry@bccsa", recorded_at="2021-07-02T09:00:00Z"),
        line("AuditSubmitted", "BC-1", "2022-06-01", {
            "audit": "A2", "kind": "maintenance", "auditor": "ext-1",
            "auditor_type": "external", "started": "2022-05-01", "completed": "2022-05-10",
            "overall": 85, "elements": {"policy": 90, "hazard_assessment": 80}},
             id="BC-1-A2"),
        line("CertificationRevoked", "BC-1", "2022-08-01",
             {"authority": "WorkSafeBC", "reason": "falsified records"}, id="BC-1-R")]
    assert cli.import_lines(lines).exit_code == 0
    pending = cli.json("explain", "BC-1", "--as-of", "2022-07-01")
    assert pending["status"]["flags"] == ["qa_pending"]
    assert [(f["flag"], f["event"]) for f in pending["flags"]] == [("qa_pending", "BC-1-A2")]
    void = pending["voids"][0]
    assert (void["target"], void["target_type"], void["by"], void["recorded_at"],
            void["reason"]) == ("BC-1-H1", "HeadcountReported", "registry@bccsa",
                                "2021-07-02T09:00:00Z", "keyed twice")
    revoked = cli.json("explain", "BC-1", "--as-of", "2022-09-01")
    assert revoked["status"]["status"] == "revoked"
    assert [(r["authority"], r["reason"]) for r in revoked["revocations"]] == [
        ("WorkSafeBC", "falsified records")]
    text = cli("explain", "BC-1", "--as-of", "2022-07-01").stdout
    for needle in ("qa_pending", "BC-1-A2", "voids BC-1-H1", "registry@bccsa", "keyed twice"):
        assert needle in text
    assert "falsified records" in cli("explain", "BC-1", "--as-of", "2022-09-01").stdout
    status = cli("status", "BC-1", "--as-of", "2021-12-01", "--known-at", "2021-07-01").stdout
    assert "as the ledger knew it at 2021-07-01T23:59:59.999999Z" in status


# --- §8 readable at 80 columns ---------------------------------------------------------------

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_demo_roll_and_explain_fit_80_columns_without_cutting_a_date_or_status(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    narrow = {"COLUMNS": "80"}
    outputs = [run(db, "demo", env=narrow).stdout]
    roll_json = json.loads(run(db, "roll", "--as-of", "2026-06-01", "--json").stdout)
    outputs.append(run(db, "roll", "--as-of", "2026-06-01", env=narrow).stdout)
    for employer in ("BC-1104729", "AB-1136405"):
        outputs.append(run(db, "explain", employer, "--as-of", "2026-06-01", env=narrow).stdout)
    for output in outputs:
        for text_line in output.splitlines():
            assert len(text_line) <= 80, text_line
        # a date is never split: every date-looking run of digits is a whole date
        assert not re.search(r"\d{4}-\d{2}-\d?$", output, re.MULTILINE)
    roll_text = outputs[1]
    for row in roll_json["employers"]:
        assert f"{row['employer']}" in roll_text
        assert re.search(rf"{row['employer']}.*\b{row['status']}\b", roll_text)
        for day in (row["certificate_expires"], row["next_due"]):
            assert day is None or day in roll_text


# --- §9 names, lapses --csv/--partner, history --csv, the roll's header and flags ----------


def test_names_appear_in_status_roll_and_lapses(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert run(db, "demo").exit_code == 0
    assert "Island Concrete Inc" in run(db, "status", "BC-1104729").stdout
    roll = run(db, "roll", "--as-of", "2026-06-01").stdout
    assert roll.startswith("Roll call on 2026-06-01: ") and "Island Concrete Inc" in roll
    assert "flags" in roll.splitlines()[2]
    roll_rows = json.loads(run(db, "roll", "--as-of", "2026-06-01", "--json").stdout)
    flagged = [r for r in roll_rows["employers"] if r["flags"]]
    assert flagged and all(" ".join(r["flags"]) in roll.replace("\n", " ") or
                           r["flags"][0] in roll for r in flagged)
    lapses = run(db, "lapses", "--as-of", "2026-11-29").stdout
    assert "Island Concrete Inc" in lapses


def test_lapses_csv_and_partner_and_history_csv(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert run(db, "demo").exit_code == 0
    entries = json.loads(run(db, "lapses", "--as-of", "2026-11-29", "--json").stdout)
    only = json.loads(run(db, "lapses", "--as-of", "2026-11-29", "--partner", "BCCSA",
                          "--json").stdout)
    assert only and {e["partner"] for e in only} == {"BCCSA"}
    assert only == [e for e in entries if e["partner"] == "BCCSA"]
    target = tmp_path / "lapses.csv"
    assert run(db, "lapses", "--as-of", "2026-11-29", "--csv", str(target)).exit_code == 0
    rows = list(csv.DictReader(target.open()))
    assert [r["employer"] for r in rows] == [e["employer"] for e in entries]
    assert rows[0]["name"] and rows[0]["due"] == entries[0]["due"]
    history = tmp_path / "history.csv"
    assert run(db, "history", "BC-1104729", "--csv", str(history)).exit_code == 0
    events = json.loads(run(db, "history", "BC-1104729", "--json").stdout)["events"]
    rows = list(csv.DictReader(history.open()))
    assert [r["id"] for r in rows] == [e["id"] for e in events]
    assert rows[0]["type"] == "EmployerRegistered" and "Island Concrete Inc" in rows[0]["data"]


# --- §11 outbox --deliver and scheduler run -------------------------------------------------


def test_outbox_deliver_exits_non_zero_when_a_delivery_is_dead_lettered(cli: Cli) -> None:
    assert cli.import_lines(bccsa_employer()).exit_code == 0
    assert cli("scan", "--as-of", "2022-11-15").exit_code == 0
    env = {"CORLEDGER_WEBHOOK_URL": "http://127.0.0.1:9/hook",  # discard port: refused
           "CORLEDGER_OUTBOX_MAX_ATTEMPTS": "1"}
    result = CliRunner().invoke(main, ["--db", cli.db_url, "outbox", "--deliver"], env=env)
    assert result.exit_code == 1 and "dead-lettered" in result.stderr
    again = CliRunner().invoke(main, ["--db", cli.db_url, "outbox", "--deliver"], env=env)
    assert again.exit_code == 0  # nothing new died in this run


def test_scheduler_run_warns_at_start_when_no_sink_is_configured(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert run(db, "init").exit_code == 0
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CORLEDGER_WEBHOOK", "CORLEDGER_SMTP", "CORLEDGER_JSONL"))}
    env.pop("CORLEDGER_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "commands", "--db", db, "scheduler", "run",
                             "--every", "60"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert first.startswith("warning: no notification sink is configured")


# --- 19 §6 CSV exports -----------------------------------------------------------------------


def test_csv_exports_neutralise_formula_cells_and_keep_numbers(tmp_path: Path) -> None:
    from commands.csvout import render

    text = render(("a", "b", "c", "d", "e", "f"), [
        {"a": "=HYPERLINK(\"http://evil\")", "b": "+1+2", "c": "-2+3", "d": "@SUM(A1)",
         "e": "-12.50", "f": Decimal("8000.00")}])
    row = next(csv.DictReader(text.splitlines()))
    assert row == {"a": "'=HYPERLINK(\"http://evil\")", "b": "'+1+2", "c": "'-2+3",
                   "d": "'@SUM(A1)", "e": "-12.50", "f": "8000.00"}


def test_a_stored_formula_is_neutralised_in_every_export(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    evil = {**registration("E-1"), "id": "=cmd|' /C calc'!A0"}
    evil["data"]["name"] = "=HYPERLINK(\"http://evil\",\"click\")"
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps(evil) + "\n")
    assert run(db, "import", str(batch)).exit_code == 0
    roll = tmp_path / "roll.csv"
    assert run(db, "roll", "--as-of", "2020-06-01", "--csv", str(roll)).exit_code == 0
    assert list(csv.DictReader(roll.open()))[0]["name"].startswith("'=HYPERLINK")
    history = tmp_path / "history.csv"
    assert run(db, "history", "E-1", "--csv", str(history)).exit_code == 0
    assert list(csv.DictReader(history.open()))[0]["id"].startswith("'=cmd")
    changes = run(db, "changes", "--since", "2000-01-01T00:00:00Z", "--as-of", "2020-06-01",
                  "--csv")
    assert changes.exit_code == 0, changes.output
    assert list(csv.DictReader(changes.output.splitlines()))[0]["events"].startswith("'=cmd")


def test_a_csv_export_never_overwrites_without_force_and_is_written_whole(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert run(db, "demo").exit_code == 0
    for args in (("roll", "--as-of", "2026-06-01"), ("lapses", "--as-of", "2026-11-29"),
                 ("incentives", "--year", "2025"), ("history", "BC-1104729")):
        target = tmp_path / f"{args[0]}.csv"
        target.write_text("precious\n")
        refused = run(db, *args, "--csv", str(target))
        assert_clean_refusal(refused, str(target), "--force")
        assert target.read_text() == "precious\n"
        before = target.stat().st_ino
        assert run(db, *args, "--csv", str(target), "--force").exit_code == 0
        assert target.read_text().startswith("employer" if args[0] != "history" else "position")
        assert target.stat().st_ino != before  # a new file renamed into place, not rewritten
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

