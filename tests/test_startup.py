"""A fast start (issue 17): commands are loaded lazily, ``--help`` imports click alone, and a
read-model ``status`` imports neither the importer, marshmallow nor SQLAlchemy, answering
exactly as the full path does. No timed tests: the figures are in ``scripts/bench.py``."""

from __future__ import annotations

import importlib
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.cli import COMMANDS, main
from commands.names import name_in
from commands.receipts import log_receipt, receipt
from projections.sql import quick
from projections.sql.projector import Failure as FoldFailure
from projections.sql.projector import catch_up, engine_of, ensure_schema, record_failures
from projections.sql.queries import status_from_read_model
from projections.sql.read_models import SLOTS, slot_tables
from projections.status import render, status
from projections.timeline import fold
from storage.sqlite_file import sqlite_path
from storage.store import open_store
from tests.conftest import Cli, line, registration
from tests.lapse_helpers import certified
from tests.test_read_models import histories, import_events, probe_dates, renamed

pytestmark = pytest.mark.integration  # real processes and SQLite files

ROOT = Path(__file__).resolve().parents[1]
NEVER_ON_A_QUICK_PATH = ("marshmallow", "commands.importer", "commands.fastpath",
                         "commands.schemas")


def imported(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a ``corledger`` process imports (from ``-X importtime``), and its stdout."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "commands.cli", *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    modules = {entry.rsplit("|", 1)[1].strip() for entry in result.stderr.splitlines()
               if entry.startswith("import time:") and "|" in entry}
    assert "click" in modules, "the -X importtime report was read"
    return modules, result.stdout


def same(day: date) -> date:
    return day


def loaded(modules: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


# --- --help ------------------------------------------------------------------------------------


def test_help_imports_click_and_no_command_module_store_or_renderer() -> None:
    modules, out = imported("--help")
    command_modules = {entry.module for entry in COMMANDS.values()}
    assert loaded(modules, *NEVER_ON_A_QUICK_PATH, *command_modules) == []
    assert loaded(modules, "sqlalchemy", "eventsourcing", "rich", "psycopg", "orjson", "sqlite3",
                  "ledger", "projections") == []
    for name in COMMANDS:
        assert f"\n  {name} " in out


def test_help_lists_every_command_as_click_would_with_every_command_loaded() -> None:
    """The lazy list (one-line helps from the registry) is the one click writes from the
    loaded commands, at several widths."""
    script = """
import json, click
from commands.cli import main
def listing(width, render):
    ctx = click.Context(main, info_name="corledger", terminal_width=width, max_content_width=width)
    formatter = ctx.make_formatter()
    render(main, ctx, formatter)
    return formatter.getvalue()
widths = (60, 80, 100, 200)
lazy = [listing(w, type(main).format_commands) for w in widths]
before = sorted(main.commands)
ctx = click.Context(main)
for name in main.list_commands(ctx):
    main.get_command(ctx, name)
eager = [listing(w, click.Group.format_commands) for w in widths]
print(json.dumps({"lazy": lazy, "eager": eager, "before": before,
                  "after": sorted(main.commands)}))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert found["before"] == ["init"]  # listing loaded nothing
    assert sorted(found["after"]) == sorted(["init", *COMMANDS])
    assert found["lazy"] == found["eager"]
    assert "verify-proof" in found["lazy"][1]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_lazy_one_line_help_is_the_commands_own(name: str) -> None:
    entry = COMMANDS[name]
    command = getattr(importlib.import_module(entry.module), entry.attribute)
    assert command.name == name
    stand_in = click.Command(name, help=entry.help)
    for limit in (20, 45, 62, 80, 1000):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_command_a_module_offers_is_registered() -> None:
    for module_name in {entry.module for entry in COMMANDS.values()}:
        module = importlib.import_module(module_name)
        for command in module.COMMANDS:
            entry = COMMANDS.get(command.name)
            assert entry is not None, f"{module_name} offers {command.name}: register it"
            assert getattr(module, entry.attribute) is command


def _all_paths(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = (),
               ) -> list[tuple[str, ...]]:
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _all_paths(command, click.Context(command, parent=ctx), (*prefix, name))
    return paths


def test_every_command_and_subcommand_still_has_its_help(tmp_path: Path) -> None:
    runner = CliRunner()
    paths = _all_paths(main, click.Context(main))
    assert ("projections", "rebuild") in paths and ("tokens", "create") in paths
    for path in paths:
        result = runner.invoke(main, ["--db", f"sqlite:///{tmp_path / 'x.db'}", *path,
                                      "--help"])
        assert result.exit_code == 0, (path, result.output)
        if len(path) == 1:  # --db may follow every command's name
            assert "--db URL" in result.output, path
    assert not (tmp_path / "x.db").exists()  # asking for help opens no ledger


def test_a_mistyped_command_is_matched_against_every_command() -> None:
    result = subprocess.run([sys.executable, "-m", "commands.cli", "stauts"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "No such command 'stauts'. Did you mean 'status'?" in result.stderr


# --- the quick read-model status ------------------------------------------------------------


@pytest.fixture
def ledger(tmp_path: Path) -> Cli:
    """A small SQLite ledger whose read models have caught up (a status ran)."""
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    lines: list[dict[str, Any] | str] = [
        *certified("E-1", date(2024, 6, 15)), *certified("E-2", date(2023, 3, 1), "BCCSA"),
        registration("E-3", "2022-01-10", partner="GO2HR"),
        line("EmployerRegistered", "E-1", "2024-09-01", {
            "name": "E-1 Renamed Ltd", "partner": "GENERIC", "program": "COR",
            "classification_units": ["G100"], "headcount": 30}, id="E-1-reg2"),
    ]
    assert cli.import_lines(lines).exit_code == 0
    assert cli("status", "E-1").exit_code == 0  # catches the read models up
    return cli


def test_status_on_current_read_models_imports_no_importer_marshmallow_or_sqlalchemy(
        ledger: Cli) -> None:
    env = {"PATH": "/usr/bin:/bin", "CORLEDGER_DB": ledger.db_url}
    for args in (("status", "E-1"), ("status", "E-1", "--json")):
        modules, out = imported(*args, env=env)
        assert loaded(modules, *NEVER_ON_A_QUICK_PATH, "sqlalchemy", "psycopg",
                      "eventsourcing.application", "eventsourcing.persistence",
                      "projections.timeline", "storage.store") == [], args
        assert out.startswith("{" if "--json" in args else "E-1 (E-1 Ltd): ")


def test_the_quick_answers_equal_the_full_paths_for_every_employer_and_date(
        ledger: Cli) -> None:
    store = open_store(ledger.db_url)
    try:
        days = [date(2021, 1, 1), date(2022, 1, 10), date(2024, 6, 15), date(2024, 9, 1),
                date(2025, 6, 14), date(2025, 6, 15), date(2026, 1, 1), date(2030, 1, 1)]
        for employer in ("E-1", "E-2", "E-3", "E-4"):
            for day in days:
                answer = quick.quick_status(ledger.db_url, employer, partial(same, day),
                                            name=True, receipt=log_receipt)
                assert answer is not None, (employer, day)
                full = status_from_read_model(store, employer, day)
                assert answer.document == full, (employer, day)
                size = store.position()
                assert answer.tree_size == size
                assert answer.receipt == receipt(store, size, full["because"])
                expected = name_in(store.stream(employer)) if full["partner"] else None
                assert answer.name == expected
        renamed_answer = quick.quick_status(ledger.db_url, "E-1", lambda: days[3], name=True)
        assert renamed_answer is not None
        # a second registration does not stand (the fold keeps the first), so it names no one
        assert renamed_answer.name == "E-1 Ltd" == ledger.json("explain", "E-1")["name"]
    finally:
        store.close()


def test_status_prints_the_same_whichever_path_answers(ledger: Cli) -> None:
    """A URL with a query string is the store's to read: the full path answers it."""
    full = Cli(ledger.db_url + "?lock_timeout=600", ledger.tmp_path)
    for args in (("status", "E-1", "--as-of", "2025-01-01"),
                 ("status", "E-2", "--as-of", "2025-01-01", "--json"),
                 ("status", "E-9", "--json"), ("status", "E-3")):
        assert sqlite_path(full.db_url) is None
        quick_out, full_out = ledger(*args), full(*args)
        assert quick_out.exit_code == full_out.exit_code == 0
        assert quick_out.stdout == full_out.stdout, args


def test_read_models_behind_the_log_are_caught_up_by_the_full_path(ledger: Cli) -> None:
    more: list[dict[str, Any] | str] = [registration("E-5", "2023-05-05")]
    assert ledger.import_lines(more).exit_code == 0
    assert quick.quick_status(ledger.db_url, "E-5", lambda: date(2024, 1, 1)) is None
    assert ledger.json("status", "E-5", "--as-of", "2024-01-01")["status"] == "registered"
    answer = quick.quick_status(ledger.db_url, "E-5", lambda: date(2024, 1, 1))
    assert answer is not None and answer.document["status"] == "registered"


def test_an_idle_slot_left_without_its_indexes_by_a_stopped_rebuild_keeps_the_quick_path(
        ledger: Cli) -> None:
    """A rebuild loads its slot bare and indexes it at the end; one that stopped midway
    leaves that slot's tables without indexes, which the full path does not add either."""
    answer = ledger.json("status", "E-1", "--as-of", "2025-01-01")
    path = sqlite_path(ledger.db_url)
    assert path is not None
    with closing(sqlite3.connect(path)) as conn:
        idle = conn.execute("SELECT name FROM rm_tracking WHERE live = 0").fetchone()[0]
        for table in slot_tables(idle):
            for index in table.indexes:
                conn.execute(f"DROP INDEX {index.name}")
        conn.commit()
    quick_answer = quick.quick_status(ledger.db_url, "E-1", lambda: date(2025, 1, 1))
    assert quick_answer is not None
    assert quick_answer.document == {k: v for k, v in answer.items() if k != "receipt"}


def test_an_employer_whose_projection_failed_is_left_to_the_full_path(ledger: Cli) -> None:
    store = open_store(ledger.db_url)
    try:
        slot = catch_up(store)
        assert slot is not None
        with engine_of(store).begin() as conn:
            record_failures(conn, slot, [], [FoldFailure("E-2", "test: a failed fold")],
                            store.position())
        folded = status(store.stream("E-2"), as_of=date(2025, 1, 1), employer="E-2")
    finally:
        store.close()
    assert quick.quick_status(ledger.db_url, "E-2", lambda: date(2025, 1, 1)) is None
    assert quick.quick_status(ledger.db_url, "E-1", lambda: date(2025, 1, 1)) is not None
    answer = ledger.json("status", "E-2", "--as-of", "2025-01-01")
    assert {k: v for k, v in answer.items() if k != "receipt"} == folded


def test_no_quick_answer_without_read_models_or_outside_a_plain_sqlite_file(
        tmp_path: Path, db_url: str) -> None:
    store = open_store(db_url)  # a ledger whose read models were never made
    store.close()
    assert quick.quick_status(db_url, "E-1", lambda: date(2025, 1, 1)) is None
    assert quick.quick_status(f"sqlite:///{tmp_path / 'none.db'}", "E-1",
                              lambda: date(2025, 1, 1)) is None
    assert quick.quick_status("sqlite:///:memory:", "E-1", lambda: date(2025, 1, 1)) is None
    (tmp_path / "garbage.db").write_bytes(b"not a database" * 100)
    assert quick.quick_status(f"sqlite:///{tmp_path / 'garbage.db'}", "E-1",
                              lambda: date(2025, 1, 1)) is None


def test_a_ledger_file_out_of_wal_mode_is_left_to_the_full_path(ledger: Cli) -> None:
    """The store's connection would switch the file back to WAL: the full path answers."""
    path = sqlite_path(ledger.db_url)
    assert path is not None
    copy = Cli(f"sqlite:///{path.parent / 'copy.db'}", ledger.tmp_path)
    with closing(sqlite3.connect(path)) as source, \
            closing(sqlite3.connect(path.parent / "copy.db")) as target:
        source.backup(target)
        assert target.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    assert quick.quick_status(copy.db_url, "E-1", lambda: date(2025, 1, 1)) is not None
    with closing(sqlite3.connect(path.parent / "copy.db")) as target:
        assert target.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    assert quick.quick_status(copy.db_url, "E-1", lambda: date(2025, 1, 1)) is None
    assert copy.json("status", "E-1", "--as-of", "2025-01-01") == \
        ledger.json("status", "E-1", "--as-of", "2025-01-01")
    assert quick.quick_status(copy.db_url, "E-1", lambda: date(2025, 1, 1)) is not None


def test_the_quick_path_requires_every_table_the_full_path_would_create(tmp_path: Path,
                                                                         ) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    store = open_store(url)
    try:
        ensure_schema(engine_of(store))
        catch_up(store)
        with store.log_db() as db:
            names = {row[0] for row in db.rows("SELECT name FROM sqlite_master"
                                               " WHERE name NOT LIKE 'sqlite_%'")}
    finally:
        store.close()
    assert names == quick.REQUIRED
    assert quick.SLOTS == SLOTS
    assert {t.name for slot in SLOTS for t in slot_tables(slot)} <= quick.REQUIRED


@pytest.mark.parametrize("url", ["sqlite:///a.db", "sqlite:////tmp/x/a.db", "sqlite:///a b.db",
                                 "sqlite:///a.db?lock_timeout=5", "sqlite:///a%20b.db",
                                 "sqlite+pysqlite:///a.db", "postgresql://u@h/d",
                                 "sqlite:///:memory:", "sqlite://", "sqlite:///"])
def test_a_plain_sqlite_url_names_the_file_sqlalchemy_would_open(url: str) -> None:
    from sqlalchemy.engine import make_url

    path = sqlite_path(url)
    if path is not None:
        assert str(path) == make_url(url).database


_names = iter(range(1_000_000))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_quick_status_is_the_fold_over_random_histories(module_ledger: Any,
                                                           data: st.DataObject) -> None:
    """Random employers (the read-model property's histories) join one SQLite ledger; once
    the read models catch up, the quick answer, its name and its receipt are the fold's."""
    store = module_ledger
    url = store.url.render_as_string(hide_password=False)
    batch, names = [], []
    for _ in range(data.draw(st.integers(1, 3))):
        names.append(f"Q-{next(_names)}")
        batch += renamed(data.draw(histories()), names[-1])
    import_events(store, batch)
    assert quick.quick_status(url, names[0], lambda: date(2020, 1, 1)) is None  # behind
    catch_up(store)
    size = store.position()
    for _ in range(3):
        day = data.draw(probe_dates(batch))
        for name in [*names, "NEVER-REGISTERED"]:
            stream = store.stream(name)
            expected = render(fold(stream, as_of=day, employer=name))
            answer = quick.quick_status(url, name, partial(same, day), name=True,
                                        receipt=log_receipt)
            if answer is None:  # unregistered, with a void in the stream: the full path
                assert expected["status"] == "unregistered", expected
                assert status_from_read_model(store, name, day) == expected
                continue
            assert answer.document == expected
            assert answer.tree_size == size
            assert answer.name == (name_in(stream) if expected["partner"] else None)
            assert answer.receipt == receipt(store, size, expected["because"])
