"""The PostgreSQL adapter: the server store, for partners and regulators who run servers.

The events go to the same ``eventsourcing`` application recorder as on SQLite
(``eventsourcing.postgres``, table ``stored_events``), with the same mapper, and the same two
index tables beside them (``ledger_employers``, ``ledger_event_ids``: same columns, plain
``TEXT``/``INTEGER`` DDL). Read models and jobs live in the same database, through
:mod:`storage.engine`.

Writes: :meth:`PostgresStore.writer` is one transaction that first takes
``LOCK TABLE stored_events IN EXCLUSIVE MODE``, the lock the library itself takes to insert
events. It excludes every other writer (ours and the library's) for the whole import, while
plain ``SELECT`` readers go on unhindered; so the stream heads an import reads at its start
stay true until it commits, and notification ids are handed out in commit order. Events and
index rows commit together or not at all; a killed client's transaction is rolled back by
the server when its connection drops.

Connection settings come from the URL ``postgresql://USER:PASSWORD@HOST:PORT/DBNAME``
(``postgresql+psycopg://`` too), with ``?schema=NAME`` for a schema other than ``public``
``?lock_timeout=SECONDS`` for how long a writer waits for another one (default 600) and
``?idle_timeout=SECONDS`` for how long a writer may sit idle inside its transaction before the
server ends its session and so frees the lock (default 120). Every libpq parameter
(``sslmode``, ``sslrootcert``, ``application_name``, ...) is passed to every connection, the
event store's included; any other parameter refuses the URL.
User and password fall back to libpq's ``PGUSER``/``PGPASSWORD`` (and ``~/.pgpass``).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import sql
from psycopg.rows import tuple_row
from sqlalchemy.engine import URL

from ledger.codec import decode_rows
from ledger.collector import collector_paused
from ledger.events import LedgerEvent, stream_id
from storage.engine import LedgerURLError, libpq_params
from storage.log import LOG_TABLES, LogAppender, log_ddl
from storage.schema import SCHEMA_LOCK_KEY
from storage.store import (
    Appended,
    KnownId,
    LedgerApplication,
    LedgerStore,
    StoredRow,
    StoreError,
    StreamHead,
    Touched,
    Writer,
    event_id_rows,
    recorded_backfill,
    recorded_key,
    recorded_rows,
    registered_on_from_column,
    registered_on_to_column,
    registration_rows,
    stored_row,
    touched_from,
)

EVENTS_TABLE = "stored_events"  # as on SQLite, whatever the application's name
LOCK_TIMEOUT_SECONDS = 600  # a writer waits this long for another one, as on SQLite
IDLE_TIMEOUT_SECONDS = 120  # a writer idle this long inside its transaction is ended
CONNECT_TIMEOUT_SECONDS = 10

INDEX_TABLES = ("ledger_employers", "ledger_event_ids", "ledger_recorded")
INDEX_DDL = (
    "CREATE TABLE IF NOT EXISTS {schema}.ledger_employers ("
    " employer TEXT PRIMARY KEY, stream_id TEXT NOT NULL, partner TEXT NOT NULL,"
    " registered_on TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.ledger_event_ids ("
    " event_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, employer TEXT,"
    " stream_id TEXT NOT NULL, version INTEGER NOT NULL)",
    # keyed by transaction time first (byte order, as on SQLite): a range scan answers
    # "which employers did events recorded between two times touch?"
    "CREATE TABLE IF NOT EXISTS {schema}.ledger_recorded ("
    " recorded TEXT COLLATE \"C\" NOT NULL, stream_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, PRIMARY KEY (recorded, stream_id, version))",
    "CREATE INDEX IF NOT EXISTS ledger_employers_stream ON {schema}.ledger_employers"
    " (stream_id)",
)


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder, on table ``stored_events``, inserting a batch with binary COPY.

    The library names the table after the application (``corledger_events``); we keep
    ``stored_events`` so both stores have the same tables. Its own insert locks the table,
    sends NOTIFY and builds an array of composite values to return notification ids, which
    the ledger never uses; inside our writer the table is locked already, and COPY is the
    fastest way PostgreSQL has to take many rows.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE,
                 ) -> None:
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        self.copy_statement = sql.SQL(
            "COPY {}.{} (originator_id, originator_version, topic, state) FROM STDIN"
            " (FORMAT BINARY)").format(sql.Identifier(datastore.schema),
                                       sql.Identifier(EVENTS_TABLE))

    def copy_events(self, cursor: psycopg.Cursor[Any], stored_events: Sequence[StoredEvent],
                    ) -> None:
        """Inserts the events in one COPY; the caller's transaction holds the table lock."""
        with cursor.copy(self.copy_statement) as copy:
            copy.set_types(["uuid", "int8", "text", "bytea"])
            for s in stored_events:
                copy.write_row((s.originator_id, s.originator_version, s.topic, s.state))
        self._notify_channel(cursor)  # type: ignore[arg-type]  # wakes library subscribers


def connection_settings(url: URL) -> dict[str, Any]:
    """libpq keyword arguments for a ``postgresql://`` URL (password included), with every
    libpq parameter of its query (``sslmode`` and the rest); refuses any other parameter."""
    try:
        extra = libpq_params(url)
    except LedgerURLError as exc:
        raise StoreError(f"PostgreSQL URL: {exc}") from None
    return {
        **extra,
        "host": url.host or extra.get("host") or "localhost",
        "port": int(url.port or 5432),
        "dbname": url.database or "postgres",
        "user": url.username or os.environ.get("PGUSER") or getpass.getuser(),
        "password": url.password if url.password is not None else os.environ.get(
            "PGPASSWORD", ""),
    }


# The connection keywords that the event store's pool is given by name (the rest of the
# settings, sslmode and the other libpq parameters, are added to its pool's keywords).
_POOL_NAMED = ("host", "port", "dbname", "user", "password")


def _seconds(query: dict[str, Any], key: str, default: int) -> int:
    """A positive whole number of seconds from the URL's ``?key=``, else ``default``."""
    text = str(query.get(key, default))
    if not text.isdigit() or int(text) < 1:
        raise StoreError(f"{key} must be a whole number of seconds (at least 1), not {text!r}")
    return int(text)


def _ended_for_idling(exc: BaseException) -> bool:
    """Whether an error (or what it wraps) is the server ending an idle transaction."""
    while exc is not None:
        if isinstance(exc, psycopg.errors.IdleInTransactionSessionTimeout) or (
                "idle-in-transaction timeout" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def describe(settings: dict[str, Any], dbname: str | None = None) -> str:
    """Where a connection goes, for error messages: never the password."""
    return (f"database {dbname or settings['dbname']!r} on {settings['host']}:"
            f"{settings['port']} as user {settings['user']!r}")


def _connect(settings: dict[str, Any], dbname: str | None = None) -> psycopg.Connection[Any]:
    """An autocommit connection, or a :class:`StoreError` that says where and why not."""
    kwargs = {**settings, "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if dbname is not None:
        kwargs["dbname"] = dbname
    if not kwargs["password"]:
        del kwargs["password"]  # let libpq look in ~/.pgpass
    try:
        return psycopg.connect(autocommit=True, **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).removeprefix("connection failed: ").strip()
        if f'database "{kwargs["dbname"]}" does not exist' in reason:
            raise StoreError(
                f"PostgreSQL {describe(settings, dbname)}: the database does not exist; "
                "create it with `corledger --db URL init --create-database`") from None
        raise StoreError(f"cannot connect to PostgreSQL {describe(settings, dbname)}: "
                         f"{reason}") from None


def create_database(url: URL) -> bool:
    """Creates the database a URL names unless it exists; True when it was created.

    Connects to the ``postgres`` maintenance database to do so, as ``createdb`` does; the
    name is quoted, so any name the URL can carry is taken literally.
    """
    settings = connection_settings(url)
    name = settings["dbname"]
    with _connect(settings, "postgres") as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # created meanwhile by someone else: just as good
        except psycopg.Error as exc:
            raise StoreError(f"cannot create PostgreSQL {describe(settings)}: "
                             f"{str(exc).strip()}") from None
    return True


class PostgresStore(LedgerStore):
    """A ledger in a PostgreSQL database, written by one importer at a time."""

    def __init__(self, url: URL, create: bool = True) -> None:
        self.url = url
        query = dict(url.query)
        self.settings = connection_settings(url)
        self.schema = str(query.get("schema") or "public")
        self.lock_timeout = _seconds(query, "lock_timeout", LOCK_TIMEOUT_SECONDS)
        self.idle_timeout = _seconds(query, "idle_timeout", IDLE_TIMEOUT_SECONDS)
        with _connect(self.settings) as probe:  # a clear error now, rather than a pool timeout
            ready = self._schema_ready(probe)
            if not ready and not create:
                raise StoreError(
                    f"no ledger in PostgreSQL {describe(self.settings)} (schema "
                    f"{self.schema!r}): create it with `corledger --db URL init`")
            self.app = LedgerApplication(env={
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": self.settings["dbname"],
                "POSTGRES_HOST": self.settings["host"],
                "POSTGRES_PORT": str(self.settings["port"]),
                "POSTGRES_USER": self.settings["user"],
                "POSTGRES_PASSWORD": self.settings["password"],
                "POSTGRES_SCHEMA": self.schema,
                "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
                "POSTGRES_LOCK_TIMEOUT": str(self.lock_timeout),
                # An import parses between statements, idle in its transaction for moments;
                # a writer stopped or hung for longer loses its session, and so its lock.
                "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(self.idle_timeout),
                # one connection for a CLI command, a few more for a server
                "POSTGRES_POOL_SIZE": "1",
                "POSTGRES_MAX_OVERFLOW": "7",
                "APPLICATION_RECORDER_TOPIC": "storage.postgres:LedgerPostgresRecorder",
                # Creating the tables each time would take a SHARE lock (CREATE INDEX IF NOT
                # EXISTS), which waits for a running import: we create them only when missing.
                "CREATE_TABLE": "n",
            })
            # The library's pool knows only host, port, dbname, user and password: give it
            # the URL's other libpq parameters too, before it opens its first connection.
            pool = self.app.recorder.datastore.pool  # type: ignore[attr-defined]
            pool.kwargs.update({k: v for k, v in self.settings.items() if k not in _POOL_NAMED})
            if not ready:
                self._create_schema(probe)

    def _qualified(self, table: str) -> str:
        return f"{self.schema}.{table}"

    def _schema_ready(self, conn: psycopg.Connection[Any]) -> bool:
        names = [self._qualified(t) for t in (EVENTS_TABLE, *INDEX_TABLES, *LOG_TABLES)]
        row = conn.execute(
            "SELECT bool_and(to_regclass(quote_ident(%s) || '.' || quote_ident(t)) IS NOT NULL)"
            " FROM unnest(%s::text[]) AS t",
            (self.schema, [n.split(".", 1)[1] for n in names])).fetchone()
        return bool(row and row[0])

    def _create_schema(self, conn: psycopg.Connection[Any]) -> None:
        """Creates what is missing, one process at a time (DDL races fail on PostgreSQL)."""
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            if self._schema_ready(conn):
                return
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(self.schema)))
            row = conn.execute("SELECT to_regclass(quote_ident(%s) || '.ledger_recorded')",
                               (self.schema,)).fetchone()
            had_recorded = bool(row and row[0])
            self.app.recorder.create_table()  # type: ignore[attr-defined]
            schema = sql.Identifier(self.schema)
            for statement in INDEX_DDL:
                conn.execute(sql.SQL(statement).format(schema=schema))  # type: ignore[arg-type]
            prefix = schema.as_string(conn) + "."
            for statement in log_ddl("postgresql", prefix):
                conn.execute(statement)  # type: ignore[arg-type]
            if not had_recorded:  # a ledger made before the index: fill it from the events
                with conn.transaction(), conn.cursor() as cursor:
                    cursor.execute(sql.SQL("SELECT originator_id, originator_version, state"
                                           " FROM {}.{}")
                                   .format(schema, sql.Identifier(EVENTS_TABLE)))
                    rows = list(recorded_backfill(cursor.fetchall()))
                    with cursor.copy(sql.SQL("COPY {}.ledger_recorded FROM STDIN")
                                     .format(schema)) as copy:
                        for item in rows:
                            copy.write_row(item)
        except PersistenceError as exc:
            raise StoreError(f"cannot create the ledger's tables in PostgreSQL "
                             f"{describe(self.settings)}: {exc}") from None
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        datastore: PostgresDatastore = self.app.recorder.datastore  # type: ignore[attr-defined]
        try:
            with datastore.get_connection() as conn:
                yield conn
        except (OperationalError, InterfaceError) as exc:  # the library's, from psycopg's
            raise StoreError(f"PostgreSQL {describe(self.settings)}: "
                             f"{str(exc).removeprefix('connection failed: ').strip()}") from None

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        try:
            with self._locked_writer() as writer:
                yield writer
        except (PersistenceError, psycopg.Error) as exc:
            if not _ended_for_idling(exc):
                raise
            raise StoreError(
                f"PostgreSQL {describe(self.settings)}: the server ended this writer's session "
                f"after it sat idle inside its transaction for more than {self.idle_timeout} s "
                "(?idle_timeout=SECONDS in the URL); nothing was written") from None

    @contextmanager
    def _locked_writer(self) -> Iterator[Writer]:
        with self._connection() as conn, conn.transaction():
            cursor = conn.cursor()
            cursor.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(
                sql.Literal(f"{self.lock_timeout}s")))
            try:
                cursor.execute(sql.SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
                    sql.Identifier(self.schema), sql.Identifier(EVENTS_TABLE)))
            except psycopg.errors.LockNotAvailable:
                raise StoreError(
                    f"another import has held the ledger's write lock for more than "
                    f"{self.lock_timeout} s ({describe(self.settings)}); nothing was "
                    "written: try again when it has finished") from None
            writer = PostgresWriter(cursor, self.app, self.schema)
            yield writer
            writer.log.finish(self.now())

    def position_sql(self) -> str:
        # as the library's recorder asks it; the schema name is checked (storage.engine)
        return f'SELECT MAX(notification_id) FROM "{self.schema}".{EVENTS_TABLE}'

    def employers(self) -> list[str]:
        with self._connection() as conn:
            rows = conn.execute(sql.SQL("SELECT employer FROM {}.ledger_employers"
                                        " ORDER BY employer").format(
                sql.Identifier(self.schema))).fetchall()
        return [row["employer"] for row in rows]

    def touched(self, since: datetime, until: datetime | None = None,
                partner: str | None = None) -> list[str]:
        schema = sql.Identifier(self.schema)
        query = sql.SQL("SELECT e.employer FROM {}.ledger_employers e WHERE e.stream_id IN"
                        " (SELECT r.stream_id FROM {}.ledger_recorded r"
                        " WHERE r.recorded > %s").format(schema, schema)
        params: list[Any] = [recorded_key(since)]
        if until is not None:
            query += sql.SQL(" AND r.recorded <= %s")
            params.append(recorded_key(until))
        query += sql.SQL(")")
        if partner is not None:
            query += sql.SQL(" AND e.partner = %s")
            params.append(partner)
        with self._connection() as conn:
            rows = conn.execute(query, params).fetchall()
        return sorted(row["employer"] for row in rows)

    def touched_after(self, after: int, limit: int) -> Touched:
        schema = sql.Identifier(self.schema)
        with self._connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(sql.SQL(
                "SELECT s.notification_id, s.stream, e.employer FROM"
                " (SELECT notification_id, replace(originator_id::text, '-', '') AS stream"
                "  FROM {}.{} WHERE notification_id > %s ORDER BY notification_id LIMIT %s) s"
                " LEFT JOIN {}.ledger_employers e ON e.stream_id = s.stream").format(
                    schema, sql.Identifier(EVENTS_TABLE), schema), (after, limit))
            rows = cursor.fetchall()

            def first_state(stream: str) -> bytes:
                cursor.execute(sql.SQL(
                    "SELECT state FROM {}.{} WHERE originator_id = %s::uuid"
                    " ORDER BY originator_version LIMIT 1").format(
                        schema, sql.Identifier(EVENTS_TABLE)), (stream,))
                return bytes(cursor.fetchone()[0])  # type: ignore[index]

            return touched_from(rows, after, first_state)

    def _stream(self, originator_id: UUID, leaving_out: frozenset[str] = frozenset()
                ) -> list[LedgerEvent]:
        """One stream in one prepared statement, its rows as plain tuples decoded straight
        to events (the library's path makes a dictionary row and a ``StoredEvent`` each);
        rows of the ``leaving_out`` types are skipped by the statement, never decoded."""
        with collector_paused(), self._connection() as conn, \
                conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(self._stream_query, (originator_id, sorted(leaving_out)),
                           prepare=True)
            return decode_rows(originator_id, cursor.fetchall())

    @property
    def _stream_query(self) -> sql.Composed:
        return sql.SQL("SELECT originator_version, topic, state FROM {}.{}"
                       " WHERE originator_id = %s AND topic <> ALL(%s::text[])"
                       " ORDER BY originator_version").format(
            sql.Identifier(self.schema), sql.Identifier(EVENTS_TABLE))

    @contextmanager
    def log_db(self) -> Iterator[PostgresDb]:
        with self._connection() as conn:
            yield PostgresDb(conn, self.schema)


class PostgresDb:
    """The log's view of one PostgreSQL connection (:class:`storage.log.Db`)."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self.cursor = conn.cursor(row_factory=tuple_row)
        prefix = sql.Identifier(schema).as_string(conn) + "."
        self.names = {t: prefix + t for t in (EVENTS_TABLE, *INDEX_TABLES, *LOG_TABLES)}
        self.names.update(stream_text="replace(originator_id::text, '-', '')",
                          stream_param="?::uuid", order="notification_id")
        self.prefix = prefix
        self._streams = 0

    def _sql(self, query: str) -> str:
        return query.format_map(self.names).replace("?", "%s")

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(self._sql(query), params)  # type: ignore[arg-type]
        return self.cursor.fetchall()

    def stream(self, query: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Through a server-side cursor, which lives in a transaction: the snapshot's, or one
        of its own outside a snapshot."""
        conn = self.cursor.connection
        self._streams += 1
        outside = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with (conn.transaction() if outside else nullcontext()), conn.cursor(
                name=f"ledger_log_{self._streams}", row_factory=tuple_row) as cursor:
            cursor.itersize = 5000
            cursor.execute(self._sql(query), params)  # type: ignore[arg-type]
            yield from cursor

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One consistent view for a whole-log read (a repeatable-read transaction)."""
        conn = self.cursor.connection
        with conn.transaction():
            self.cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
               ) -> None:
        if not rows:
            return
        with self.cursor.copy(f"COPY {self.prefix}{table} ({', '.join(columns)})"  # type: ignore[arg-type]
                              " FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


class PostgresWriter(Writer):
    """Reads and appends inside one locked transaction (see :meth:`PostgresStore.writer`)."""

    def __init__(self, cursor: psycopg.Cursor[Any], app: LedgerApplication, schema: str,
                 ) -> None:
        self.cursor = cursor
        self.recorder: LedgerPostgresRecorder = app.recorder  # type: ignore[assignment]
        self.mapper = app.mapper
        self.names = {name: sql.SQL("{}.{}").format(sql.Identifier(schema),
                                                    sql.Identifier(name))
                      for name in (EVENTS_TABLE, *INDEX_TABLES)}
        self.log = LogAppender(PostgresDb(cursor.connection, schema))

    def _rows(self, query: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        self.cursor.execute(sql.SQL(query).format(**self.names), params)  # type: ignore[arg-type]
        return self.cursor.fetchall()

    def heads(self, employers: Collection[str]) -> dict[str, StreamHead]:
        rows = self._rows(
            "SELECT e.employer, e.registered_on,"
            " (SELECT MAX(s.originator_version) FROM {stored_events} s"
            "  WHERE s.originator_id = e.stream_id::uuid) AS version"
            " FROM {ledger_employers} e WHERE e.employer = ANY(%s)", (list(employers),))
        return {row["employer"]: StreamHead(row["employer"], row["version"] or 0,
                                            registered_on_from_column(row["registered_on"]))
                for row in rows}

    def reference_version(self) -> int:
        rows = self._rows("SELECT MAX(originator_version) AS version FROM {stored_events}"
                          " WHERE originator_id = %s", (stream_id(None),))
        return rows[0]["version"] or 0

    def known_ids(self, event_ids: Collection[str]) -> dict[str, KnownId]:
        rows = self._rows("SELECT event_id, content_hash, employer FROM {ledger_event_ids}"
                          " WHERE event_id = ANY(%s)", (list(event_ids),))
        return {row["event_id"]: KnownId(row["content_hash"], row["employer"]) for row in rows}

    def append(self, batch: Sequence[Appended | StoredRow]) -> None:
        if not batch:
            return
        rows = [stored_row(item) for item in batch]
        self.log.append([(r.stream, r.topic, r.version, r.state, r.leaf) for r in rows])
        self.recorder.copy_events(self.cursor, [
            StoredEvent(originator_id=UUID(r.stream), originator_version=r.version,
                        topic=r.topic, state=r.state) for r in rows])
        ids = event_id_rows(rows)
        if ids:
            with self.cursor.copy(sql.SQL(
                    "COPY {} (event_id, content_hash, employer, stream_id, version)"
                    " FROM STDIN").format(self.names["ledger_event_ids"])) as copy:
                for row in ids:
                    copy.write_row(row)
        with self.cursor.copy(sql.SQL("COPY {} (recorded, stream_id, version) FROM STDIN")
                              .format(self.names["ledger_recorded"])) as copy:
            for item in recorded_rows(rows):
                copy.write_row(item)
        registrations = registration_rows(rows)
        if registrations:
            self.cursor.executemany(sql.SQL(
                "INSERT INTO {} AS t VALUES (%s, %s, %s, %s) ON CONFLICT (employer) DO UPDATE"
                " SET registered_on = excluded.registered_on, partner = excluded.partner"
                " WHERE excluded.registered_on < t.registered_on"
                " OR t.registered_on = ''").format(
                self.names["ledger_employers"]), registrations)

    def registration_events(self, employer: str) -> list[tuple[str, bytes]]:
        rows = self._rows(
            "SELECT topic, state FROM {stored_events} WHERE originator_id = %s"
            " AND topic IN ('EmployerRegistered', 'EventVoided') ORDER BY originator_version",
            (stream_id(employer),))
        return [(row["topic"], bytes(row["state"])) for row in rows]

    def set_registration(self, employer: str, registered_on: date | None,
                         partner: str | None) -> None:
        self.cursor.execute(sql.SQL("UPDATE {} SET registered_on = %s,"
                                    " partner = COALESCE(%s, partner) WHERE employer = %s")
                            .format(self.names["ledger_employers"]),
                            (registered_on_to_column(registered_on), partner, employer))
