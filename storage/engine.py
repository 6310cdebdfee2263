"""One SQLAlchemy engine per ledger database, for read models, jobs and the outbox.

They live in the same database as the events (the URL the user gave), beside the
eventsourcing tables. SQLite gets WAL and a long busy timeout, as the event store does, so a
reader never blocks the importer and a writer waits its turn instead of failing.
"""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

SQLITE_BUSY_TIMEOUT_SECONDS = 600


# Query parameters of a ledger URL that are the ledger's own, not the driver's.
LEDGER_PARAMS = ("schema", "lock_timeout", "idle_timeout")

# The libpq connection parameters a PostgreSQL URL may carry (PostgreSQL 15's list, less the
# ones the URL's own parts give: host, port, dbname, user, password). Every connection the
# ledger opens, to the events and to the read models, passes each of them on; any other
# parameter refuses the URL, so a typo such as ?sslmod=require never silently means "no TLS".
LIBPQ_PARAMS = frozenset({
    "hostaddr", "passfile", "channel_binding", "connect_timeout", "client_encoding", "options",
    "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication",
    "gssencmode", "sslmode", "requiressl", "sslcompression", "sslcert", "sslkey",
    "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
    "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib",
    "service", "target_session_attrs", "load_balance_hosts", "sslnegotiation", "host"})
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# A schema the ledger can name the same way in every statement and in search_path.
SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class LedgerURLError(ValueError):
    """A database URL the ledger refuses, with the reason in words."""


def libpq_params(url: URL) -> dict[str, str]:
    """The libpq parameters of a PostgreSQL ledger URL, checked; raises LedgerURLError."""
    params: dict[str, str] = {}
    for key, value in url.query.items():
        if not isinstance(value, str):
            raise LedgerURLError(f"?{key}= is given more than once")
        if key in LEDGER_PARAMS:
            continue
        if key not in LIBPQ_PARAMS:
            raise LedgerURLError(
                f"unknown URL parameter ?{key}= (the ledger's own: {', '.join(LEDGER_PARAMS)};"
                " or a libpq connection parameter such as sslmode)")
        params[key] = value
    if "sslmode" in params and params["sslmode"] not in SSLMODES:
        raise LedgerURLError(f"?sslmode={params['sslmode']!r} is not one of "
                             f"{', '.join(SSLMODES)}")
    schema = url.query.get("schema")
    if schema is not None and not SCHEMA_NAME.fullmatch(str(schema)):
        raise LedgerURLError(f"?schema={schema!r} is not a schema name the ledger can use: "
                             "letters, digits and _, not starting with a digit, at most 63")
    return params


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
    parsed = make_url(target)
    if parsed.get_backend_name() == "sqlite":
        from storage.sqlite_file import is_read_only, read_only_uri

        if parsed.database and is_read_only(Path(parsed.database)):
            uri = read_only_uri(Path(parsed.database))
            return create_engine("sqlite://", creator=lambda: sqlite3.connect(
                uri, uri=True, check_same_thread=False))
        engine = create_engine(target, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    libpq_params(make_url(url))  # refuses what the event store would refuse
    schema = ledger_schema(url)
    # Read models and jobs live beside the events: in the URL's schema, if it names one
    # (quoted, so that a mixed-case name means the same schema as the events' quoted one).
    options = {"options": f'-csearch_path="{schema}"'} if schema else {}
    return create_engine(target, pool_pre_ping=True, connect_args=options)
