"""A read-model ``status`` answered straight from an SQLite file, for a fast start.

``corledger status EMPLOYER`` (known now) is one indexed row of the read models. When the
ledger is a plain SQLite file whose read models are already at the head of its log, this
reads that row with the standard library's ``sqlite3``, in one read-only transaction: no
SQLAlchemy, no eventsourcing application, no catch-up machinery to import. Whenever it
cannot be sure that :func:`projections.sql.queries.status_from_read_model` would answer from
the same row without writing first (a table missing, a writable file not in WAL mode, the
read models built by other code or behind, the employer's last projection failed, a URL only
SQLAlchemy can read, any database error), it returns None and the caller takes that full
path, so the answers, and what is written, stay the same.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

import orjson

from projections.sql.revision import READ_MODEL_REVISION
from storage.sqlite_file import SQLiteDb, is_read_only, read_only_uri, sqlite_path

if TYPE_CHECKING:
    from storage.log import LogReader

SLOTS = ("a", "b")  # as projections.sql.read_models.SLOTS (a test holds them equal)

# Every table and index a store opened on the file and a catch-up would create if missing
# (the store adapter's, the log's, the read models'): a test holds this list equal to what
# they create, so the quick path never skips a write the full path would make.
SLOT_INDEXES = frozenset({
    *(f"ix_rm_status_{slot}_{ix}" for slot in SLOTS for ix in ("roll", "partner")),
    *(f"ix_rm_lapse_{slot}_{ix}" for slot in SLOTS
      for ix in ("due", "grace", "miss", "kind", "kind_next")),
})
REQUIRED = frozenset({
    "stored_events", "ledger_employers", "ledger_event_ids", "ledger_recorded",
    "ledger_employers_stream", "ledger_log", "ledger_log_nodes", "ledger_log_heads",
    "ledger_checkpoints", "ledger_batches", "rm_tracking", "rm_failed", "rm_revision",
    *(f"{name}_{slot}" for slot in SLOTS for name in ("rm_status", "rm_lapse", "rm_because")),
    *SLOT_INDEXES,
})
# A slot's secondary indexes are made with its tables, or by a rebuild once its rows are in;
# the full path never adds them to tables that exist (a rebuild that stopped midway leaves
# its slot without them), so the quick path does not wait for them either.
MUST_EXIST = REQUIRED - SLOT_INDEXES

ReceiptOf = Callable[["LogReader", int, list[dict[str, Any]]], dict[str, Any]]
"""Makes an answer's receipt from the log, its tree size and its ``because``."""


def stored_status(document: str | bytes, entries: str | bytes | None,
                  count: int) -> dict[str, Any]:
    """A status document from its read-model row (``as_of`` still null): the stored
    document and its ``because``, the first ``count`` entries of its cycle's ``entries``
    (:meth:`projections.sql.read_models.EmployerRows.because_values`)."""
    doc: dict[str, Any] = orjson.loads(document)
    doc["because"] = orjson.loads(entries)[:count] if count and entries else []
    return doc


class QuickStatus(NamedTuple):
    """A read-model status and what the command prints with it, from one snapshot."""

    document: dict[str, Any]  # the ``status --json`` document
    tree_size: int  # the log's size in that snapshot: the events the answer rests on
    name: str | None  # the latest registration's name (when asked and registered)
    receipt: dict[str, Any] | None  # when asked


def quick_status(url: str | None, employer: str, as_of: Callable[[], date], *,
                 name: bool = False, receipt: ReceiptOf | None = None) -> QuickStatus | None:
    """The status of ``employer`` on ``as_of()`` from an SQLite ledger's read models, or None
    when only the full path may answer (see the module's docstring). ``as_of`` is called
    only once the file is known to be a ledger whose read models are current, so a bad date
    or configuration is reported after what the full path reports first."""
    path = sqlite_path(url) if url else None
    if path is None or not path.is_file():
        return None
    read_only = is_read_only(path)
    uri = read_only_uri(path) if read_only else f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("BEGIN")  # one snapshot: the row, the log's size and the name agree
        try:
            return _answer(conn, employer, as_of, read_only, name, receipt)
        finally:
            conn.execute("COMMIT")
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _answer(conn: sqlite3.Connection, employer: str, as_of: Callable[[], date],
            read_only: bool, name: bool, receipt: ReceiptOf | None) -> QuickStatus | None:
    have = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if MUST_EXIST - have:
        return None  # the full path would create what is missing
    if not read_only and conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return None  # the store's connection would switch the file to WAL first
    live = conn.execute("SELECT name, position FROM rm_tracking WHERE live = 1").fetchall()
    if len(live) != 1 or live[0][0] not in SLOTS:
        return None
    slot, position = live[0][0], int(live[0][1])
    revision = conn.execute("SELECT revision FROM rm_revision WHERE slot = ?", (slot,)).fetchone()
    if revision is None or revision[0] != READ_MODEL_REVISION:
        return None  # built by other code: the full path rebuilds the slot first
    head = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0] or 0
    if position < head:
        return None  # behind: the full path catches up first, with progress shown
    if not read_only and conn.execute("SELECT 1 FROM rm_failed WHERE slot = ? AND employer = ?",
                                      (slot, employer)).fetchone():
        return None  # its rows are stale: the full path folds its stream
    day = as_of()
    row = conn.execute(f"SELECT s.document, s.valid_to, s.because_count, b.entries FROM"
                       f" (SELECT document, valid_to, because_cycle, because_count"
                       f" FROM rm_status_{slot} WHERE employer = ? AND valid_from <= ?"
                       f" ORDER BY valid_from DESC LIMIT 1) s LEFT JOIN rm_because_{slot} b"
                       f" ON b.employer = ? AND b.cycle = s.because_cycle",
                       (employer, day.isoformat(), employer)).fetchone()
    if row is None or (row[1] is not None and date.fromisoformat(row[1]) <= day):
        if conn.execute("SELECT 1 FROM ledger_employers e JOIN stored_events s"
                        " ON s.originator_id = e.stream_id WHERE e.employer = ?"
                        " AND s.topic = 'EventVoided' LIMIT 1", (employer,)).fetchone():
            return None  # unregistered by a void, which the answer cites: the fold says so
        from projections.status import unregistered

        document = unregistered(employer, day, None)
    else:
        document = stored_status(row[0], row[3], row[2])
        document["as_of"] = day.isoformat()
    from storage.log import LogReader

    log = LogReader(SQLiteDb(conn))
    size = log.size()
    return QuickStatus(
        document, size,
        registered_name(conn, employer) if name and document["partner"] else None,
        receipt(log, size, document["because"]) if receipt is not None else None)


def registered_name(conn: sqlite3.Connection, employer: str) -> str | None:
    """The name of the employer's standing registration (its registrations and voids read,
    decoded by the one codec, and judged as :func:`commands.names.name_in` judges them)."""
    from ledger.codec import decode_state
    from ledger.events import stream_id
    from projections.order import standing_name

    stream = stream_id(employer)
    rows = conn.execute("SELECT originator_version, topic, state FROM stored_events"
                        " WHERE originator_id = ? AND topic IN ('EmployerRegistered',"
                        " 'EventVoided') ORDER BY originator_version", (stream.hex,))
    return standing_name(decode_state(topic, stream, version, bytes(state))
                         for version, topic, state in rows)
