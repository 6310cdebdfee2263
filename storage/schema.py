"""The SQL schema beside the events: one ``MetaData``, and the one way its tables are made.

Read models, jobs and the outbox define their tables on :data:`metadata`. Every process that
needs tables calls :func:`ensure` (``CREATE ... IF NOT EXISTS``, once per engine and table,
safe when two processes start at once), and ``corledger init`` calls :func:`bootstrap`, which
creates them all and stamps the Alembic revision they correspond to, so later migrations
(``alembic upgrade head``, scripts shipped in ``storage/migrations``) start from the right place.
The event store's own tables (``stored_events``, ``ledger_*``) belong to the store adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, MetaData, Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex, CreateTable

metadata = MetaData()

MIGRATIONS = "storage:migrations"  # the Alembic scripts, shipped inside the package
# Any fixed 64-bit number: the key of the advisory lock that serialises schema creation on
# PostgreSQL (where two concurrent CREATE TABLE IF NOT EXISTS may still collide).
SCHEMA_LOCK_KEY = 0x636F726C6564676  # "corledg"

_created: set[tuple[str, str]] = set()


def ensure(engine: Engine, tables: Iterable[Table] | None = None) -> None:
    """Creates the tables (default: every table on :data:`metadata`) and their indexes when
    missing; once per engine and table in a process."""
    url = engine.url.render_as_string(hide_password=False)
    chosen = list(metadata.sorted_tables if tables is None else tables)
    todo = [t for t in chosen if (url, t.name) not in _created]
    if not todo:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        for table in todo:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                conn.execute(CreateIndex(index, if_not_exists=True))
    _created.update((url, t.name) for t in todo)


def bootstrap(engine: Engine) -> str | None:
    """Creates every table on :data:`metadata` and, on a database Alembic has not seen yet,
    stamps the head revision; returns the revision stamped (None: it was already stamped)."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    ensure(engine)
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    script = ScriptDirectory.from_config(config)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # one stamper at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": SCHEMA_LOCK_KEY})
            context = MigrationContext.configure(conn)
            if context.get_current_revision() is not None:
                return None
            head = script.get_current_head()
            assert head is not None, "the migrations have a head revision"
            context.stamp(script, head)
            return head
    except IntegrityError:  # another process stamped it between our look and our write
        return None


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                  keys: Sequence[str]) -> int:
    """Inserts the rows, skipping those whose ``keys`` are already present; returns how many
    were inserted."""
    if not rows:
        return 0
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:  # pragma: no cover - the ledger runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"no insert-ignore for {name}")
    # Count what RETURNING gives back: psycopg reports rowcount -1 for ON CONFLICT DO NOTHING.
    statement = insert(table).on_conflict_do_nothing(index_elements=list(keys)).returning(
        *(table.c[k] for k in keys))
    return sum(len(conn.execute(statement.values(**row)).all()) for row in rows)
