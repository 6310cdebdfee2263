"""The SQLite adapter: the embedded default store, one file beside the user's work."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from sqlalchemy.engine import URL

from ledger.codec import decode_rows
from ledger.collector import collector_paused
from ledger.events import LedgerEvent, stream_id
from storage.log import LogAppender, Logged, log_ddl
from storage.sqlite_file import SQLiteDb, is_read_only, read_only_uri
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
    chunks,
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

# An import holds the write lock while it runs; another writer waits this long for it.
LOCK_TIMEOUT_SECONDS = 600

# Keyed by transaction time first: "employers touched between two times" is a range scan.
RECORDED_DDL = (
    "CREATE TABLE IF NOT EXISTS ledger_recorded ("
    " recorded TEXT NOT NULL, stream_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " PRIMARY KEY (recorded, stream_id, version)) WITHOUT ROWID")
# A write's ledger_recorded rows, until they go into the index in key order before the
# commit (SQLiteWriter.index_recorded); a connection's own table, emptied each time.
PENDING_RECORDED_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS ledger_recorded_pending ("
    " recorded TEXT NOT NULL, stream_id TEXT NOT NULL, version INTEGER NOT NULL)")
# the touched streams are named through ledger_employers
EMPLOYER_STREAM_DDL = ("CREATE INDEX IF NOT EXISTS ledger_employers_stream"
                       " ON ledger_employers (stream_id)")

INDEX_DDL = (
    "CREATE TABLE IF NOT EXISTS ledger_employers ("
    " employer TEXT PRIMARY KEY, stream_id TEXT NOT NULL, partner TEXT NOT NULL,"
    " registered_on TEXT NOT NULL)",
    # A rowid table plus its primary-key index on the sender id, not one b-tree keyed by it
    # (WITHOUT ROWID, as session 1 had it): rows are appended in order, and only the narrow
    # index (id and rowid, ~30 bytes) takes inserts at random places. At millions of events
    # the wide keyed b-tree (~190 bytes a row) outgrew the writer's page cache and spilled
    # and re-read pages at every insert. A ledger made before keeps its table: the columns
    # and queries are the same.
    "CREATE TABLE IF NOT EXISTS ledger_event_ids ("
    " event_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, employer TEXT,"
    " stream_id TEXT NOT NULL, version INTEGER NOT NULL)",
    RECORDED_DDL,
    EMPLOYER_STREAM_DDL,
)

# Page cache of the writer's connection while a write transaction runs (KiB, as SQLite's
# negative cache_size): an import inserts into three b-trees at stream-random places, and
# the default 2 MiB makes it re-read and spill pages. Bounded, so memory stays flat in file
# size. Durability is untouched: the commit is as synchronous as the library configured.
WRITER_CACHE_KIB = 64 * 1024
SORT_CACHE_KIB = 2 * 1024  # the page cache, and so the sorter's memory, for index_recorded


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's recorder, inserting a batch with one ``executemany``.

    The library inserts row by row to return notification ids, which the ledger never
    uses; one statement per batch is what makes imports batched.
    """

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **_: Any) -> None:
        c.executemany(self.insert_events_statement, [
            (s.originator_id.hex, s.originator_version, s.topic, s.state)  # type: ignore[union-attr]
            for s in stored_events
        ])
        return None


def missing_ledger(url: URL) -> None:
    """Refuses an SQLite URL whose file does not exist, naming it and how to create it."""
    database = url.database
    if database and database != ":memory:" and not Path(database).exists():
        raise StoreError(f"no ledger at {Path(database).resolve()}: the file does not exist. "
                         f"Create it with `corledger --db {url.render_as_string()} init` (or "
                         "import into it), or give the right --db / $CORLEDGER_DB")


class SQLiteStore(LedgerStore):
    """A ledger in one SQLite file (WAL mode), written by one importer at a time."""

    def __init__(self, url: URL) -> None:
        database = url.database
        if not database or database == ":memory:":
            raise StoreError("an SQLite ledger needs a file: sqlite:///PATH/TO/ledger.db")
        path = Path(database)
        if not path.parent.exists():
            raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not an SQLite ledger file")
        self.url = url
        self.path = path
        try:
            self.lock_timeout = int(str(url.query.get("lock_timeout", LOCK_TIMEOUT_SECONDS)))
        except ValueError:
            raise StoreError(f"lock_timeout must be a number of seconds, not "
                             f"{url.query['lock_timeout']!r}") from None
        self.read_only = is_read_only(path)
        try:
            self.app = LedgerApplication(env={
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": read_only_uri(path) if self.read_only else str(path),
                "SQLITE_LOCK_TIMEOUT": str(self.lock_timeout),
                "APPLICATION_RECORDER_TOPIC": "storage.sqlite:LedgerSQLiteRecorder",
                "CREATE_TABLE": "n" if self.read_only else "y",
            })
            if not self.read_only:
                with self._connection() as conn:
                    had_recorded = conn.execute(
                        "SELECT 1 FROM sqlite_master WHERE name = 'ledger_recorded'"
                    ).fetchone()
                    for statement in (*INDEX_DDL, *log_ddl("sqlite")):
                        conn.execute(statement)
                    if not had_recorded:  # a ledger made before the index: fill it
                        conn.executemany(
                            "INSERT OR IGNORE INTO ledger_recorded VALUES (?,?,?)",
                            recorded_backfill(conn.execute(
                                "SELECT originator_id, originator_version, state"
                                " FROM stored_events")))
        except (sqlite3.Error, PersistenceError) as exc:
            raise StoreError(f"{path} cannot be opened as an SQLite ledger: {exc}") from None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection(commit=True) as conn:
            yield conn._sqlite_conn

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        if self.read_only:
            raise StoreError(f"{self.path} is read-only (read-only media, a read-only mount or "
                             "its permissions): nothing was written; commands that only read "
                             "still work")
        with self._connection() as conn:
            cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
            conn.execute(f"PRAGMA cache_size = {-WRITER_CACHE_KIB}")
            try:
                # IMMEDIATE takes the write lock now, so what we read stays true until commit.
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise StoreError(
                        f"{self.path} is being written by another process (an import?); "
                        f"waited {self.lock_timeout} s for it ({exc}). Try again when it "
                        "is done, or give ?lock_timeout=SECONDS in the URL") from exc
                writer = SQLiteWriter(conn, self.app)
                try:
                    yield writer
                    writer.settle()
                    writer.index_recorded()
                    writer.log.finish(self.now())
                except BaseException:
                    writer.settle(raising=False)
                    conn.rollback()
                    raise
                finally:
                    writer.close()
                conn.commit()
            except sqlite3.OperationalError as exc:
                if "full" not in str(exc) and "disk I/O" not in str(exc):
                    raise
                conn.rollback()
                raise StoreError(f"{self.path}: the disk is full or failing ({exc}); nothing "
                                 "was written: free space and import again") from None
            finally:
                conn.execute(f"PRAGMA cache_size = {int(cache_size)}")

    def position_sql(self) -> str:
        return "SELECT MAX(rowid) FROM stored_events"  # as the library's recorder asks it

    def employers(self) -> list[str]:
        with self._connection() as conn:
            rows = conn.execute("SELECT employer FROM ledger_employers ORDER BY employer")
            return [row[0] for row in rows]

    def touched(self, since: datetime, until: datetime | None = None,
                partner: str | None = None) -> list[str]:
        query = ("SELECT e.employer FROM ledger_employers e WHERE e.stream_id IN"
                 " (SELECT r.stream_id FROM ledger_recorded r WHERE r.recorded > ?")
        params: list[Any] = [recorded_key(since)]
        if until is not None:
            query += " AND r.recorded <= ?"
            params.append(recorded_key(until))
        query += ")"
        if partner is not None:
            query += " AND e.partner = ?"
            params.append(partner)
        with self._connection() as conn:
            if not conn.execute("SELECT 1 FROM sqlite_master"
                                " WHERE name = 'ledger_recorded'").fetchone():
                # a read-only ledger made before the index: read every event instead
                return self._touched_by_scan(conn, since, until, partner)
            return sorted(row[0] for row in conn.execute(query, params))

    def _touched_by_scan(self, conn: sqlite3.Connection, since: datetime,
                         until: datetime | None, partner: str | None) -> list[str]:
        low, high = recorded_key(since), recorded_key(until) if until else None
        streams = {stream for recorded, stream, _ in recorded_backfill(conn.execute(
            "SELECT originator_id, originator_version, state FROM stored_events"))
            if recorded > low and (high is None or recorded <= high)}
        return sorted(employer for employer, stream, owner in conn.execute(
            "SELECT employer, stream_id, partner FROM ledger_employers")
            if stream in streams and (partner is None or owner == partner))

    def touched_after(self, after: int, limit: int) -> Touched:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT s.rowid, s.originator_id, e.employer FROM"
                " (SELECT rowid, originator_id FROM stored_events WHERE rowid > ?"
                "  ORDER BY rowid LIMIT ?) s"
                " LEFT JOIN ledger_employers e ON e.stream_id = s.originator_id",
                (after, limit)).fetchall()

            def first_state(stream: str) -> bytes:
                return bytes(conn.execute(
                    "SELECT state FROM stored_events WHERE originator_id = ?"
                    " ORDER BY originator_version LIMIT 1", (stream,)).fetchone()[0])

            return touched_from(rows, after, first_state)

    def _stream(self, originator_id: UUID, leaving_out: frozenset[str] = frozenset()
                ) -> list[LedgerEvent]:
        """One stream in one statement, decoded straight from its rows: the library's
        per-row ``StoredEvent`` and UUID parsing cost as much as decoding the events. Rows
        of the ``leaving_out`` types are skipped by the statement, never decoded."""
        datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
        skip = sorted(leaving_out)
        with collector_paused(), datastore.transaction(commit=False) as cursor:  # a reader
            cursor.execute("SELECT originator_version, topic, state FROM stored_events"
                           " WHERE originator_id = ?"
                           + (f" AND topic NOT IN ({', '.join('?' * len(skip))})" if skip else "")
                           + " ORDER BY originator_version", (originator_id.hex, *skip))
            return decode_rows(originator_id, cursor.fetchall())

    @contextmanager
    def log_db(self) -> Iterator[SQLiteDb]:
        with self._connection() as conn:
            yield SQLiteDb(conn)


class SQLiteWriter(Writer):
    """One write transaction.

    :meth:`append` inserts in a helper thread and returns at once: ``sqlite3`` lets go of the
    GIL while SQLite inserts, so the caller prepares its next batch meanwhile. The connection
    is still used by one thread at a time: every other method, and the end of the
    transaction, first waits for the pending append (and raises its error, if any).
    """

    def __init__(self, conn: sqlite3.Connection, app: LedgerApplication) -> None:
        self.conn = conn
        self.recorder: LedgerSQLiteRecorder = app.recorder  # type: ignore[assignment]
        self.mapper = app.mapper
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self._recorded_pending = False  # rows wait in temp.ledger_recorded_pending
        self.log = LogAppender(SQLiteDb(conn))

    def settle(self, raising: bool = True) -> None:
        """Waits for the pending append; raises its error unless told not to."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except BaseException:
            if raising:
                raise

    def close(self) -> None:
        self.settle(raising=False)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def heads(self, employers: Collection[str]) -> dict[str, StreamHead]:
        self.settle()
        found: dict[str, StreamHead] = {}
        for part in chunks(sorted(employers)):
            rows = self.conn.execute(
                "SELECT e.employer, e.registered_on,"
                " (SELECT MAX(s.originator_version) FROM stored_events s"
                "  WHERE s.originator_id = e.stream_id)"
                f" FROM ledger_employers e WHERE e.employer IN ({','.join('?' * len(part))})",
                list(part))
            for employer, registered_on, version in rows:
                found[employer] = StreamHead(employer, version or 0,
                                             registered_on_from_column(registered_on))
        return found

    def reference_version(self) -> int:
        self.settle()
        row = self.conn.execute(
            "SELECT MAX(originator_version) FROM stored_events WHERE originator_id = ?",
            (stream_id(None).hex,)).fetchone()
        return row[0] or 0

    def known_ids(self, event_ids: Collection[str]) -> dict[str, KnownId]:
        self.settle()
        found: dict[str, KnownId] = {}
        for part in chunks(sorted(event_ids)):
            rows = self.conn.execute(
                "SELECT event_id, content_hash, employer FROM ledger_event_ids"
                f" WHERE event_id IN ({','.join('?' * len(part))})", list(part))
            for event_id, content_hash, employer in rows:
                found[event_id] = KnownId(content_hash, employer)
        return found

    def append(self, batch: Sequence[Appended | StoredRow]) -> None:
        self.settle()
        if not batch:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-append")
        rows = [stored_row(item) for item in batch]
        # Hashing the log's leaves is Python work: done here, while no insert is pending,
        # so the helper thread's inserts (which let go of the GIL) overlap the next batch.
        logged = self.log.prepare([(r.stream, r.topic, r.version, r.state, r.leaf)
                                   for r in rows])
        self._pending = self._pool.submit(self._insert, rows, logged)

    def _insert(self, rows: Sequence[StoredRow], logged: Logged) -> None:
        # The library's statement into its own table; one executemany (see the recorder).
        self.log.write(logged)
        self.conn.executemany(self.recorder.insert_events_statement,
                              [(r.stream, r.version, r.topic, r.state) for r in rows])
        self.conn.executemany(
            "INSERT INTO ledger_event_ids VALUES (?,?,?,?,?)",
            event_id_rows(rows))
        recorded = recorded_rows(rows)
        if recorded:
            if not self._recorded_pending:
                self.conn.execute(PENDING_RECORDED_DDL)
                self._recorded_pending = True
            self.conn.executemany("INSERT INTO temp.ledger_recorded_pending VALUES (?,?,?)",
                                  recorded)
        registrations = registration_rows(rows)
        if registrations:
            self.conn.executemany(
                "INSERT INTO ledger_employers VALUES (?,?,?,?) ON CONFLICT(employer) DO UPDATE"
                " SET registered_on = excluded.registered_on, partner = excluded.partner"
                " WHERE excluded.registered_on < ledger_employers.registered_on"
                " OR ledger_employers.registered_on = ''",
                registrations)

    def index_recorded(self) -> None:
        """Moves this write's ``ledger_recorded`` rows into the index, in key order.

        Rows are keyed by transaction time first, so an import's rows land all over the
        index: inserted as they come, each would touch a random page, and at millions of rows
        the index outgrows the page cache and every insert reads a page back. They are kept
        in a temporary table (appended in order) instead and inserted here, sorted, before
        the commit: one pass over the index. Nothing in the write reads the index meanwhile.
        """
        self.settle()
        if self._recorded_pending:
            # SQLite sorts in as much memory as the page cache may hold, on top of the
            # cache: a small cache for the sort keeps the write's memory where it was (it
            # merges sorted runs from temporary files instead, no slower; an insert in key
            # order needs few pages; the writer restores the cache after)
            self.conn.execute(f"PRAGMA cache_size = {-SORT_CACHE_KIB}")
            self.conn.execute("INSERT INTO ledger_recorded SELECT recorded, stream_id, version"
                              " FROM temp.ledger_recorded_pending"
                              " ORDER BY recorded, stream_id, version")
            self.conn.execute("DELETE FROM temp.ledger_recorded_pending")
            self._recorded_pending = False

    def registration_events(self, employer: str) -> list[tuple[str, bytes]]:
        self.settle()
        rows = self.conn.execute(
            "SELECT topic, state FROM stored_events WHERE originator_id = ?"
            " AND topic IN ('EmployerRegistered', 'EventVoided') ORDER BY originator_version",
            (stream_id(employer).hex,))
        return [(topic, bytes(state)) for topic, state in rows]

    def set_registration(self, employer: str, registered_on: date | None,
                         partner: str | None) -> None:
        self.settle()
        self.conn.execute("UPDATE ledger_employers SET registered_on = ?,"
                          " partner = COALESCE(?, partner) WHERE employer = ?",
                          (registered_on_to_column(registered_on), partner, employer))
