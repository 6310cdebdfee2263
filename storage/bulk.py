"""Bulk reads and writes for the read models: many streams in one statement, rows in one
``executemany`` (SQLite) or ``COPY`` (PostgreSQL).

A rebuild reads every stream once and writes a row per interval of valid time. Through the
library (a query, a ``StoredEvent`` and a UUID per row) and SQLAlchemy's per-row parameter
processing, that overhead cost as much as the fold. Here a slice of employers' streams is one
statement on the driver's cursor, returned as plain rows for the caller to decode, and rows
go out through the driver's ``executemany`` with the values already in the column's stored
form (SQLite keeps a ``Date`` as its ISO text, exactly as SQLAlchemy writes it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import Connection, Date, Table

from ledger.events import stream_id

INSERT_CHUNK = 5_000  # rows per executemany


class StreamRows(NamedTuple):
    """One employer's stored events, undecoded, in stream order."""

    employer: str
    originator_id: UUID
    rows: list[tuple[int, str, bytes]]  # (originator_version, topic, state)


def read_streams(conn: Connection, employers: Sequence[str],
                 leaving_out: Collection[str] = ()) -> list[StreamRows]:
    """The stored events of ``employers`` (registered or not: an empty stream then), in one
    statement, each stream in version order; in the order of ``employers``. Rows of the
    ``leaving_out`` types are skipped by the statement."""
    if not employers:
        return []
    ids = {employer: stream_id(employer) for employer in employers}
    skip = sorted(leaving_out)
    if conn.dialect.name == "sqlite":
        keys: list[Any] = [ids[e].hex for e in employers]
        marks = ", ".join("?" * len(keys))
        without = f" AND topic NOT IN ({', '.join('?' * len(skip))})" if skip else ""
        query = ("SELECT originator_id, originator_version, topic, state FROM stored_events"
                 f" WHERE originator_id IN ({marks}){without}"
                 " ORDER BY originator_id, originator_version")
        params: Any = (*keys, *skip)
    else:
        keys = [ids[e] for e in employers]
        query = ("SELECT originator_id, originator_version, topic, state FROM stored_events"
                 " WHERE originator_id = ANY(%s) AND topic <> ALL(%s::text[])"
                 " ORDER BY originator_id, originator_version")
        params = (keys, skip)
    out = [StreamRows(e, ids[e], []) for e in employers]
    by_key: dict[Any, StreamRows] = dict(zip(keys, out, strict=True))
    # the driver's own cursor, on the connection's transaction: SQLAlchemy's result would
    # add a Python call per row (a tenth of a rebuild's reading)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(query, params)
        current_key: Any = None
        rows: list[tuple[int, str, bytes]] = []
        for key, version, topic, state in cursor:
            if key != current_key:
                current_key, rows = key, by_key[key].rows
            rows.append((version, topic, bytes(state)))
    finally:
        cursor.close()
    return out


def insert_rows(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Inserts rows (tuples in the table's column order, dates as ``date`` or ISO text): on
    SQLite with the driver's ``executemany``, in chunks of :data:`INSERT_CHUNK`; on
    PostgreSQL in one ``COPY``."""
    if not rows:
        return
    columns = list(table.c)
    sqlite = conn.dialect.name == "sqlite"
    if not sqlite:
        _copy_rows(conn, table, rows)
        return
    mark = "?"
    statement = (f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)})"
                 f" VALUES ({', '.join([mark] * len(columns))})")
    dates = [i for i, c in enumerate(columns) if isinstance(c.type, Date)]
    for start in range(0, len(rows), INSERT_CHUNK):
        part: Sequence[tuple[Any, ...]] = rows[start:start + INSERT_CHUNK]
        if dates:
            part = [_iso_dates(row, dates) for row in part]
        conn.exec_driver_sql(statement, list(part))


def _copy_rows(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows in one ``COPY`` on the connection's own transaction (psycopg
    writes each value as its Python type says: a date as a date, None as NULL)."""
    names = ", ".join(c.name for c in table.c)
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _iso_dates(row: Sequence[Any], dates: list[int]) -> tuple[Any, ...]:
    """The row with its date columns as SQLite stores them (``YYYY-MM-DD`` text: what
    ``date.isoformat`` gives, four-digit years included); ISO text is kept as it is."""
    values = list(row)
    for i in dates:
        value = values[i]
        if value.__class__ is date:
            values[i] = value.isoformat()
    return tuple(values)
