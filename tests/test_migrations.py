"""The documented migration path works on every backend: init, stamp, upgrade, check.

A database made by ``corledger init`` holds every table of ``storage.schema``; Alembic then
finds nothing to change (the revisions and the metadata agree), upgrades are no-ops at head,
and the event store's own tables are never proposed for dropping.
"""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage.engine import engine_for
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[1]


def alembic_config(db_url: str) -> Config:
    """The repository's alembic.ini, as ``alembic -x db=URL`` would run it."""
    return Config(str(ROOT / "alembic.ini"), cmd_opts=Namespace(x=[f"db={db_url}"]))


def test_an_initialised_database_is_at_head_and_matches_the_metadata(
        cli: Cli, db_url: str) -> None:
    assert cli("init").exit_code == 0  # creates every table and stamps the head revision
    config = alembic_config(db_url)
    with engine_for(db_url).connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None
    command.upgrade(config, "head")
    command.check(config)  # raises when the metadata and the database differ
    tables = set(inspect(engine_for(db_url)).get_table_names())
    assert {"alembic_version", "stored_events", "ledger_employers"} <= tables


def test_upgrade_on_a_database_without_tables_runs(db_url: str) -> None:
    command.upgrade(alembic_config(db_url), "head")
    assert "alembic_version" in inspect(engine_for(db_url)).get_table_names()
