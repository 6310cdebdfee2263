"""One SQLAlchemy engine per ledger database, for read models, jobs and the outbox.

They live in the same database as the events (the URL the user gave), beside the
eventsourcing tables. SQLite gets WAL and a long busy timeout, as the event store does, so a
reader never blocks the importer and a writer waits its turn instead of failing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_SECONDS = 600


# Query parameters of a ledger URL that are the ledger's own, not the driver's.
LEDGER_PARAMS = ("schema", "lock_timeout")


def sqlalchemy_url(url: str) -> str:
    """The URL with the driver SQLAlchemy should use (psycopg 3 for PostgreSQL), without the
    ledger's own query parameters."""
    parsed = make_url(url)
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    parsed = parsed.difference_update_query(LEDGER_PARAMS)
    return parsed.render_as_string(hide_password=False)


def ledger_schema(url: str) -> str | None:
    """The PostgreSQL schema a ledger URL names with ``?schema=`` (None: the default)."""
    value = make_url(url).query.get("schema")
    return str(value) if value else None


@cache
def engine_for(url: str) -> Engine:
    """The shared engine of a ledger database URL."""
    target = sqlalchemy_url(url)
    if make_url(target).get_backend_name() == "sqlite":
        engine = create_engine(target, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    schema = ledger_schema(url)
    # Read models and jobs live beside the events: in the URL's schema, if it names one.
    options = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(target, pool_pre_ping=True, connect_args=options)
