"""Shared fixtures: a real store per backend, the CLI in process, event-line builders."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from commands.cli import main
from storage.store import LedgerStore, open_store

ACCEPTANCE = Path(__file__).parent / "acceptance"  # the project's own acceptance cases
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("CORLEDGER_TEST_POSTGRES") else [])


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database URL on each backend under test. Afterwards the
    process's cached engine for it is disposed: a command run in process keeps its pool
    open (a real command's process ends), and a test per database would otherwise hold
    connections until the server refuses new ones."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    from storage.engine import engine_for
    from tests.pg import fresh_database_url  # only when a PostgreSQL server is configured

    url = fresh_database_url()
    yield url
    engine_for(url).dispose()
    engine_for.cache_clear()


@pytest.fixture
def store(db_url: str) -> Iterator[LedgerStore]:
    opened = open_store(db_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def module_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerStore]:
    """One SQLite ledger shared by a module's tests (a hypothesis property adds employers to
    it example after example, as a real ledger grows)."""
    opened = open_store(f"sqlite:///{tmp_path_factory.mktemp('module') / 'ledger.db'}")
    yield opened
    opened.close()


class Cli:
    """Runs ``corledger`` in process against one database."""

    def __init__(self, db_url: str, tmp_path: Path) -> None:
        self.db_url = db_url
        self.tmp_path = tmp_path
        self.runner = CliRunner()
        self.files = 0

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(main, ["--db", self.db_url, *args], input=input,
                                  catch_exceptions=False)

    def write(self, lines: list[dict[str, Any] | str]) -> Path:
        self.files += 1
        path = self.tmp_path / f"batch{self.files}.jsonl"
        path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n"
                                for x in lines))
        return path

    def import_lines(self, lines: list[dict[str, Any] | str]) -> Result:
        return self("import", str(self.write(lines)))

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output + (result.stderr or "")
        return json.loads(result.stdout)


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    return Cli(db_url, tmp_path)


def line(type_: str, employer: str | None, effective: str, data: dict[str, Any],
         **envelope: Any) -> dict[str, Any]:
    """One interchange event line."""
    out: dict[str, Any] = {"type": type_, "effective": effective, "data": data, **envelope}
    if employer is not None:
        out["employer"] = employer
    return out


def registration(employer: str = "E-1", effective: str = "2020-01-06", *,
                 partner: str = "GENERIC", program: str = "COR", headcount: int = 25,
                 **envelope: Any) -> dict[str, Any]:
    envelope.setdefault("id", f"{employer}-reg")
    return line("EmployerRegistered", employer, effective, {
        "name": f"{employer} Ltd", "partner": partner, "program": program,
        "classification_units": ["G100"], "headcount": headcount}, **envelope)


def audit(employer: str = "E-1", submitted: str = "2020-06-01", *, audit_id: str = "A1",
          kind: str = "certification", overall: float = 85, started: str = "2020-05-01",
          completed: str = "2020-05-10", auditor_type: str = "external",
          **envelope: Any) -> dict[str, Any]:
    envelope.setdefault("id", f"{employer}-{audit_id}")
    return line("AuditSubmitted", employer, submitted, {
        "audit": audit_id, "kind": kind, "auditor": "ext-1", "auditor_type": auditor_type,
        "started": started, "completed": completed, "overall": overall,
        "elements": {"policy": 90, "hazard_assessment": 80}}, **envelope)


# Fixtures that reach a database, a file system, a process or a server: a test using any of
# them is an integration test; every other test is a pure unit test (`pytest -m unit`).
_INTEGRATION_FIXTURES = frozenset({
    "db_url", "store", "cli", "tmp_path", "tmp_path_factory", "monkeypatch", "capfd"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test `unit` or `integration` by the fixtures it uses."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("integration") or fixtures & _INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
