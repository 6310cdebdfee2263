"""Small SQL helpers for the job tables beside the events (outbox, scan state).

Two scheduler processes may start at the same moment on one database, so table creation
uses ``CREATE ... IF NOT EXISTS`` (``MetaData.create_all`` checks, then creates, and the loser
of that race fails), and seeding rows uses the dialect's "insert, ignoring duplicates".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, CreateTable

_created: set[tuple[str, str]] = set()


def ensure_tables(engine: Engine, tables: Iterable[Table]) -> None:
    """Creates the tables and their indexes when missing; once per engine and table."""
    url = engine.url.render_as_string(hide_password=False)
    todo = [t for t in tables if (url, t.name) not in _created]
    if not todo:
        return
    with engine.begin() as conn:
        for table in todo:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                conn.execute(CreateIndex(index, if_not_exists=True))
    _created.update((url, t.name) for t in todo)


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
