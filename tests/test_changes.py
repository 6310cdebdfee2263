"""``corledger changes`` and ``corledger diff`` on real stores: the ``ledger_recorded`` index
finds the employers touched in an interval, and ``changes`` equals comparing every
employer's status as known at the two times."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger import events as ev
from projections.diff import comparable
from projections.status import status
from storage.store import LedgerStore, open_store
from tests.conftest import Cli, audit, line, registration
from tests.test_read_models import import_events, renamed
from tests.test_status_properties import START, _make

PARTNERS = ("GENERIC", "BCCSA", "AMHSA")


def random_history(rnd: random.Random, employer: str) -> list[ev.LedgerEvent]:
    """A registration, then audits, QA decisions, revocations and voids at random dates,
    each recorded after a random delay (some much later than they took effect)."""
    partner = rnd.choice(PARTNERS)
    events = [_make(ev.EmployerRegistered, 1, START, 0, name="Emp", partner=partner,
                    program="COR", classification_units=("G100",), headcount=20)]
    for _ in range(rnd.randint(0, 9)):
        n = len(events) + 1
        when = START + timedelta(days=rnd.randint(0, 5 * 365))
        delay = rnd.choice((0, 0, 3, 60, 400))
        kind = rnd.choice(("audit", "audit", "qa", "qa", "revoked", "void"))
        if kind == "audit":
            event = _make(ev.AuditSubmitted, n, when, delay, audit=rnd.choice(("A1", "A2")),
                          kind=rnd.choice(("certification", "maintenance")), auditor="pat",
                          auditor_type="external", started=when - timedelta(days=9),
                          completed=when - timedelta(days=3),
                          overall=Decimal(rnd.choice((70, 85, 90))),
                          elements={"policy": Decimal(90)},
                          student=False)
        elif kind == "qa":
            event = _make(ev.QADecided, n, when, delay, audit=rnd.choice(("A1", "A2")),
                          outcome=rnd.choice(("accepted", "accepted", "rejected")))
        elif kind == "revoked":
            event = _make(ev.CertificationRevoked, n, when, delay, authority="x", reason="y")
        elif len(events) > 1:  # never the registration: the import refuses what follows
            event = _make(ev.EventVoided, n, when, delay,
                          target=f"E{rnd.randint(2, len(events))}", reason="correction")
        else:
            continue
        events.append(event)
    return renamed(events, employer)


def moment(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def brute_force(streams: dict[str, list[ev.LedgerEvent]], since: datetime,
                until: datetime | None, as_of: date) -> list[str]:
    """Every employer whose status document on ``as_of`` differs as known at the two times."""
    return sorted(e for e, events in streams.items()
                  if comparable(status(events, as_of=as_of, known_at=since, employer=e))
                  != comparable(status(events, as_of=as_of, known_at=until, employer=e)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changes_equals_comparing_every_employer_at_the_two_times(
    db_url: str, tmp_path: Path, seed: int
) -> None:
    rnd = random.Random(seed)
    streams = {f"E-{i:02d}": random_history(rnd, f"E-{i:02d}") for i in range(14)}
    store = open_store(db_url)
    try:
        import_events(store, [e for events in streams.values() for e in events])
    finally:
        store.close()
    cli = Cli(db_url, tmp_path)
    for _ in range(6):
        since = moment(START + timedelta(days=rnd.randint(0, 6 * 365)))
        until = rnd.choice((None, since + timedelta(days=rnd.randint(0, 700))))
        as_of = START + timedelta(days=rnd.randint(0, 6 * 365))
        args = ["changes", "--since", since.isoformat(), "--as-of", as_of.isoformat()]
        if until is not None:
            args += ["--until", until.isoformat()]
        doc = cli.json(*args)
        assert [e["employer"] for e in doc["changed"]] == \
            brute_force(streams, since, until, as_of), (since, until, as_of)
        for entry in doc["changed"]:
            assert entry["before"] == comparable(status(
                streams[entry["employer"]], as_of=as_of, known_at=since,
                employer=entry["employer"]))
            assert all(c["because"] for c in entry["changes"])


def test_touched_reads_the_employers_of_events_recorded_in_the_interval(
    store: LedgerStore
) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    lines = [registration("E-1", "2020-01-06", recorded_at="2020-01-06T09:00:00Z"),
             registration("E-2", "2020-01-06", partner="BCCSA",
                          recorded_at="2020-01-06T09:00:00Z"),
             audit("E-1", "2020-06-01", recorded_at="2020-06-01T09:00:00Z"),
             audit("E-2", "2020-06-01", recorded_at="2020-06-03T09:00:00+02:00")]
    from commands.importer import Importer

    Importer(store, now=datetime(2026, 1, 1, tzinfo=UTC)).run(
        io.BytesIO("".join(json.dumps(x) + "\n" for x in lines).encode()))
    assert store.touched(at("2020-01-01T00:00:00Z")) == ["E-1", "E-2"]
    assert store.touched(at("2020-01-06T09:00:00Z")) == ["E-1", "E-2"]  # after, not at
    assert store.touched(at("2020-02-01T00:00:00Z"), at("2020-06-01T09:00:00Z")) == ["E-1"]
    assert store.touched(at("2020-06-01T09:00:00Z"), at("2020-06-03T07:00:00Z")) == ["E-2"]
    assert store.touched(at("2020-06-01T09:00:00Z"), at("2020-06-03T06:59:59Z")) == []
    assert store.touched(at("2020-01-01T00:00:00Z"), partner="BCCSA") == ["E-2"]


def test_a_ledger_made_before_the_index_gets_it_filled_when_opened(db_url: str) -> None:
    store = open_store(db_url)
    import_events(store, [_make(ev.EmployerRegistered, 1, START, 30, name="Emp",
                                partner="GENERIC", program="COR",
                                classification_units=("G100",), headcount=20)])
    store.close()
    _drop_recorded_index(db_url)
    reopened = open_store(db_url)
    try:
        assert reopened.touched(moment(START)) == ["EMP"]
        assert reopened.touched(moment(START + timedelta(days=30))) == []
    finally:
        reopened.close()


def _drop_recorded_index(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            conn.execute("DROP TABLE ledger_recorded")
        return
    import psycopg
    from sqlalchemy.engine import make_url

    from storage.postgres import connection_settings

    settings = connection_settings(make_url(db_url))
    with psycopg.connect(autocommit=True, **{k: v for k, v in settings.items() if v}) as conn:
        conn.execute("DROP TABLE ledger_recorded")


# --- the commands ---------------------------------------------------------------------------


def late_audit_lines() -> list[dict[str, Any]]:
    """Certified in 2015; a maintenance audit of June 2016 by an internal auditor, both
    recorded only in August 2016."""
    elements = {"policy": 90, "hazard_assessment": 85}
    return [
        registration("GEN-6", "2015-01-05", recorded_at="2015-01-05T10:00:00Z"),
        audit("GEN-6", "2015-06-01", audit_id="A1", started="2015-05-20",
              completed="2015-05-28", recorded_at="2015-06-01T12:00:00Z"),
        line("QADecided", "GEN-6", "2015-06-15", {"audit": "A1", "outcome": "accepted"},
             id="GEN-6-qa1", recorded_at="2015-06-15T12:00:00Z"),
        line("InternalAuditorQualified", "GEN-6", "2015-01-05", {"auditor": "gen-6-int"},
             id="GEN-6-int", recorded_at="2016-08-01T09:00:00Z"),
        line("AuditSubmitted", "GEN-6", "2016-06-01", {
            "audit": "A2", "kind": "maintenance", "auditor": "gen-6-int",
            "auditor_type": "internal", "started": "2016-05-20", "completed": "2016-05-25",
            "overall": 84, "elements": elements}, id="GEN-6-A2",
            recorded_at="2016-08-01T09:00:00Z"),
        line("QADecided", "GEN-6", "2016-06-10", {"audit": "A2", "outcome": "accepted"},
             id="GEN-6-qa2", recorded_at="2016-08-01T09:05:00Z"),
    ]


def test_diff_command_names_the_late_recorded_audit(cli: Cli) -> None:
    assert cli.import_lines(late_audit_lines()).exit_code == 0
    doc = cli.json("diff", "GEN-6", "--from", "2016-07-01@2016-07-01T00:00:00Z",
                   "--to", "2016-07-01")
    status_change = doc["changes"][0]
    assert (status_change["field"], status_change["from"], status_change["to"]) == \
        ("status", "cancelled", "certified")
    assert [c["event"] for c in status_change["because"]] == ["GEN-6-int", "GEN-6-A2"]
    human = cli("diff", "GEN-6", "--from", "2016-07-01@2016-07-01T00:00:00Z", "--to",
                "2016-07-01")
    assert human.exit_code == 0
    assert "status: cancelled -> certified" in human.stdout
    assert "[transaction time] AuditSubmitted GEN-6-A2" in human.stdout


def test_diff_of_an_unchanged_pair_says_so_and_exits_0(cli: Cli) -> None:
    cli.import_lines(late_audit_lines())
    result = cli("diff", "GEN-6", "--from", "2016-09-01@2016-09-01", "--to",
                 "2016-09-01@2016-10-01")
    assert result.exit_code == 0
    assert "unchanged" in result.stdout


def test_diff_refuses_a_view_it_cannot_read(cli: Cli) -> None:
    cli.import_lines(late_audit_lines())
    result = cli.runner.invoke(__import__("commands.cli").cli.main,
                               ["--db", cli.db_url, "diff", "GEN-6", "--from", "2016-13-01"])
    assert result.exit_code == 2
    assert "'2016-13-01' is not a date" in result.output
    result = cli.runner.invoke(__import__("commands.cli").cli.main,
                               ["--db", cli.db_url, "diff", "GEN-6", "--from", "2016-07-01@"])
    assert result.exit_code == 2 and "nothing after '@'" in result.output


def test_changes_lists_the_late_audit_as_json_and_csv(cli: Cli) -> None:
    cli.import_lines([*late_audit_lines(),
                      registration("OTHER", "2015-01-05", recorded_at="2015-01-05T10:00:00Z")])
    doc = cli.json("changes", "--since", "2016-07-01T00:00:00Z", "--as-of", "2016-07-01")
    assert doc["touched"] == 1  # only GEN-6 had events recorded since
    [entry] = doc["changed"]
    assert (entry["employer"], entry["status_before"], entry["status_after"]) == \
        ("GEN-6", "cancelled", "certified")
    assert entry["events"] == ["GEN-6-int", "GEN-6-A2", "GEN-6-qa2"]
    result = cli("changes", "--since", "2016-07-01T00:00:00Z", "--as-of", "2016-07-01",
                 "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["employer"], r["status_before"], r["status_after"]) for r in rows] == \
        [("GEN-6", "cancelled", "certified")]
    assert cli.json("changes", "--since", "2016-07-01T00:00:00Z", "--as-of", "2016-07-01",
                    "--partner", "BCCSA")["changed"] == []


def test_the_readme_worked_example_is_what_the_commands_print(cli: Cli) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### A worked example: an audit recorded late", 1)[1]
    blocks = section.split("```")
    events = [json.loads(x) for x in blocks[1].strip().splitlines()]
    assert cli.import_lines(events).exit_code == 0
    shown = [x for x in blocks[3].strip().splitlines()[1:] if "..." not in x]
    result = cli("diff", "PINE-CREEK", "--from", "2016-07-01@2016-07-01T00:00:00Z", "--to",
                 "2016-07-01")
    printed = result.stdout.splitlines()
    assert shown[:7] == printed[:7]
    assert all(x in printed for x in shown)
    csv_block = section.split("```")[5].strip().splitlines()
    result = cli("changes", "--since", "2016-07-01T00:00:00Z", "--as-of", "2016-07-01",
                 "--csv")
    assert result.stdout.splitlines() == csv_block[1:]


def test_a_sqlite_ledger_without_the_index_answers_by_reading_its_events(
    tmp_path: Path
) -> None:
    """What a read-only ledger made before the index does (it cannot be given one)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    rnd = random.Random(7)
    streams = {f"E-{i}": random_history(rnd, f"E-{i}") for i in range(8)}
    store = open_store(url)
    try:
        import_events(store, [e for events in streams.values() for e in events])
        windows = [(moment(START + timedelta(days=n)), moment(START + timedelta(days=n + m)))
                   for n, m in ((0, 30), (200, 400), (700, 2000))]
        indexed = [store.touched(a, b) for a, b in windows] + [
            store.touched(windows[0][0], None, "BCCSA")]
        _drop_recorded_index(url)
        scanned = [store.touched(a, b) for a, b in windows] + [
            store.touched(windows[0][0], None, "BCCSA")]
    finally:
        store.close()
    assert scanned == indexed and any(indexed)


def test_diff_with_a_year_puts_the_incentive_decision_in_both_documents(cli: Cli) -> None:
    cli.import_lines(late_audit_lines())
    doc = cli.json("diff", "GEN-6", "--from", "2016-07-01@2016-07-01T00:00:00Z", "--to",
                   "2016-07-01", "--year", "2016")
    assert doc["year"] == 2016
    assert doc["before"]["incentive"]["state"] == doc["after"]["incentive"]["state"] == \
        "not_applicable"  # GENERIC has no incentive scheme: nothing differs there
    assert not any(c["field"].startswith("incentive") for c in doc["changes"])


def test_diff_of_an_employer_the_ledger_does_not_know_says_so(cli: Cli) -> None:
    cli.import_lines(late_audit_lines())
    result = cli("diff", "NOBODY", "--from", "2016-07-01")
    assert result.exit_code == 0
    assert "NOBODY: not registered in this ledger" in result.stderr
    assert "unchanged" in result.stdout
