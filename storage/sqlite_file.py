"""An SQLite ledger file as the standard library sees it, without opening a store.

What a command may need before (or instead of) the store: the default ledger URL, the path
an ``sqlite:///PATH`` URL names, whether the file can be written and how to open it when it
cannot, and the Merkle log's view of a plain ``sqlite3`` connection (:class:`SQLiteDb`).
Only the standard library is imported here, so the quick read-model answers
(:mod:`projections.sql.quick`) start without SQLAlchemy or eventsourcing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # ``corledger --help`` imports this module for DEFAULT_DB alone
    import sqlite3

DEFAULT_DB = "sqlite:///corledger.db"
"""The ledger a command opens when neither ``--db`` nor ``$CORLEDGER_DB`` names one."""


def sqlite_path(url: str) -> Path | None:
    """The file a plain ``sqlite:///PATH`` URL names; None for any other URL (another
    backend or driver, a query string, %-escapes, an in-memory database), which only the
    store's own URL parsing (SQLAlchemy's) may interpret."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix):]
    if not database or database == ":memory:" or any(c in database for c in "?#%"):
        return None
    return Path(database)


def is_read_only(path: Path) -> bool:
    """Whether an existing ledger file cannot be written (read-only media or mount, or
    permissions): then it is opened read-only and immutable, since SQLite in WAL mode would
    otherwise try to create its shared-memory file beside it and fail."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def read_only_uri(path: Path) -> str:
    """The SQLite URI that opens ``path`` read-only, without locks or a -shm file."""
    from urllib.parse import quote

    return f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"


# How the log's queries name the events table's parts on SQLite (see storage.log).
SQLITE_NAMES = {"stored_events": "stored_events", "stream_text": "originator_id",
                "stream_param": "?", "order": "rowid"}


class SQLiteDb:
    """The log's view of one SQLite connection (:class:`storage.log.Db`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(_named(query), params).fetchall()

    def stream(self, query: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self.conn.execute(_named(query), params)
        while batch := cursor.fetchmany(2000):
            yield from batch

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One consistent view for a whole-log read (a read transaction, in WAL mode)."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
               ) -> None:
        if rows:
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES"
                                  f" ({','.join('?' * len(columns))})", rows)


def _named(query: str) -> str:
    """A log query with its {names} filled in for SQLite: tables are named as they are."""
    return query.format_map(_SQLiteNames())


class _SQLiteNames(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return SQLITE_NAMES.get(key, key)
