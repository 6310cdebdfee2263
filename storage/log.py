"""The Merkle log beside the events: its tables, its upkeep in each write, and its reads.

Every event a writer appends (import, scan, API) gets a leaf in ``ledger_log`` in the same
transaction, in append order (see :mod:`ledger.merkle` for the hashing and the entry bytes).
Tables, all insert-only:

- ``ledger_log``: the leaves, one row per write batch (first log index, how many, their leaf
  hashes concatenated, and each event's stream and version as ``stream version`` lines): one
  row per batch rather than per event keeps the append path to one sequential insert;
- ``ledger_log_nodes``: the hash of every perfect subtree of ``2**STORED_LEVEL`` leaves or
  more, so an append costs O(log n) and a proof or root reads O(log n) nodes plus at most
  ``2**STORED_LEVEL`` leaves per edge of the tree, never the whole log;
- ``ledger_log_heads``: the tree size and root at the end of each write, and when (the ledger's
  own time axis, ``--ledger-at``);
- ``ledger_checkpoints``: signed checkpoint notes (the private key is never here);
- ``ledger_batches``: one row per import: who, the file's SHA-256, counts, first and last log
  index, start and end times.

SQL is written once with ``?`` placeholders; :class:`Db` adapts it to each driver.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ledger.codec import format_time, parse_time
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_FORMAT,
    TreeBuilder,
    consistency_proof,
    entry_bytes,
    inclusion_proof,
    node_hash,
    root_of,
    subtree_hash,
)

# Perfect subtrees of 2**8 = 256 leaves and up are stored (about n/128 rows): small subtrees
# are hashed from their leaves when a proof needs them, which keeps the append path light.
STORED_LEVEL = 8
TILE = 1 << STORED_LEVEL

LOG_TABLES = ("ledger_log", "ledger_log_nodes", "ledger_log_heads", "ledger_checkpoints",
              "ledger_batches")


def log_ddl(dialect: str, prefix: str = "") -> list[str]:
    """The log's CREATE statements for ``sqlite`` or ``postgresql`` (tables named with
    ``prefix``, e.g. a quoted schema and a dot)."""
    blob, big = ("BLOB", "INTEGER") if dialect == "sqlite" else ("BYTEA", "BIGINT")
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if dialect == "sqlite" else (
        "BIGSERIAL PRIMARY KEY")
    rowid = " WITHOUT ROWID" if dialect == "sqlite" else ""
    p = prefix
    return [
        f"CREATE TABLE IF NOT EXISTS {p}ledger_log (first_idx {big} PRIMARY KEY,"
        f" entries INTEGER NOT NULL, leaves {blob} NOT NULL, refs TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {p}ledger_log_nodes (level INTEGER NOT NULL,"
        f" idx {big} NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (level, idx)){rowid}",
        f"CREATE TABLE IF NOT EXISTS {p}ledger_log_heads (tree_size {big} PRIMARY KEY,"
        f" root {blob} NOT NULL, appended_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {p}ledger_checkpoints (id {serial},"
        f" tree_size {big} NOT NULL, note TEXT NOT NULL, signed_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {p}ledger_batches (id {serial}, source TEXT NOT NULL,"
        f" by_whom TEXT, sha256 TEXT NOT NULL, lines {big} NOT NULL, added {big} NOT NULL,"
        f" skipped {big} NOT NULL, first_index {big}, last_index {big},"
        f" started_at TEXT NOT NULL, finished_at TEXT NOT NULL)",
    ]


class Db(Protocol):
    """One connection (in its transaction, if any), as the log uses it."""

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Runs a query written with ``?`` placeholders and {table} names; all rows."""

    def stream(self, query: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Like :meth:`rows`, a batch at a time, for whole-log reads."""

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
               ) -> None:
        """Inserts many rows (COPY on PostgreSQL)."""

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: every query inside sees the same state of the database."""


# --- the log's rows ----------------------------------------------------------------------------

LOG_COLUMNS = ("first_idx", "entries", "leaves", "refs")
# An event to log: (stream hex, topic, version, state), and optionally its leaf hash.
LogRow = tuple[str, str, int, bytes] | tuple[str, str, int, bytes, bytes | None]
BACKFILL_ROW = 4096  # events per log row when a ledger made before the log is logged


def pack(first: int, leaves: Sequence[bytes], refs: Sequence[tuple[str, int]],
         ) -> tuple[int, int, bytes, str]:
    """One log row: ``len(leaves)`` entries from index ``first``."""
    return (first, len(leaves), b"".join(leaves),
            "\n".join(f"{stream} {version}" for stream, version in refs))


def stored_blob(value: Any) -> bytes | None:
    """A BLOB (BYTEA) column's value exactly as stored; None when it is stored as another
    type (TEXT, NULL, a number), which the ledger never writes: damage, never a value to
    convert. Every value read back for verification goes through these three."""
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None


def stored_int(value: Any) -> int | None:
    """An INTEGER column's value as stored; None when stored as another type."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stored_text(value: Any) -> str | None:
    """A TEXT column's value as stored; None when stored as another type (a BLOB, NULL)."""
    return value if isinstance(value, str) else None


def unpack(row: Sequence[Any]) -> list[tuple[int, str, int, bytes]]:
    """A log row's entries as (index, stream, version, leaf); LogDamaged when malformed
    (a value stored with another type than the log writes included)."""
    first, count, blob, refs = (stored_int(row[0]), stored_int(row[1]), stored_blob(row[2]),
                                stored_text(row[3]))
    if first is None:
        raise LogDamaged(f"a row of the log has the first index {row[0]!r}: it was edited")
    if count is None or blob is None or refs is None:
        raise LogDamaged(f"the log's row from index {first} is malformed (a value stored "
                         "as another type than the log writes): it was edited")
    lines = refs.split("\n") if count else []
    if len(blob) != HASH_SIZE * count or len(lines) != count:
        raise LogDamaged(f"the log's row from index {first} is malformed: it was edited")
    out = []
    for k, line in enumerate(lines):
        stream, _, version = line.partition(" ")
        if not version.isdigit():
            raise LogDamaged(f"the log's entry {first + k} is malformed: it was edited")
        out.append((first + k, stream, int(version), blob[HASH_SIZE * k:HASH_SIZE * (k + 1)]))
    return out


def stored_node(found: Sequence[tuple[Any, ...]], level: int, index: int) -> bytes:
    """The hash of a stored node, from its query's rows; LogDamaged when missing or not a
    hash as the log stores it."""
    digest = stored_blob(found[0][0]) if found else None
    if digest is None or len(digest) != HASH_SIZE:
        raise LogDamaged(f"the log's stored node at level {level}, index {index} is "
                         f"{'not a hash' if found else 'missing'}: run `corledger verify`")
    return digest


def made_before_the_log(db: Db) -> bool:
    """Whether the log has yet to catch up with a ledger made before it: events, and no log
    entry, tree head, or checkpoint of a tree that is not empty (one signed over the empty
    log by a version that did not catch up first says nothing the catch-up contradicts).
    The next write logs such a ledger's events, in append order; until then ``verify``
    has nothing to hold them to. The one place this is decided."""
    return bool(log_size(db) == 0 and db.rows("SELECT 1 FROM {stored_events} LIMIT 1")
                and not db.rows("SELECT 1 FROM {ledger_log_heads} LIMIT 1")
                and not db.rows("SELECT 1 FROM {ledger_checkpoints} WHERE tree_size <> 0"
                                " LIMIT 1"))


def log_size(db: Db) -> int:
    found = db.rows("SELECT first_idx + entries FROM {ledger_log} ORDER BY first_idx DESC"
                    " LIMIT 1")
    return int(found[0][0]) if found else 0


def log_entries(db: Db, start: int, end: int) -> list[tuple[int, str, int, bytes]]:
    """The entries ``[start, end)`` as (index, stream, version, leaf); LogDamaged when some
    are missing."""
    if end <= start:
        return []
    rows = db.rows("SELECT first_idx, entries, leaves, refs FROM {ledger_log}"
                   " WHERE first_idx < ? AND first_idx >= COALESCE((SELECT MAX(first_idx)"
                   " FROM {ledger_log} WHERE first_idx <= ?), 0) ORDER BY first_idx",
                   (end, start))
    found = [e for row in rows for e in unpack(row) if start <= e[0] < end]
    if [e[0] for e in found] != list(range(start, end)):
        raise LogDamaged(f"the log is missing entries between index {start} and {end - 1}:"
                         " run `corledger verify`")
    return found


def all_entries(db: Db) -> Iterator[tuple[int, str, int, bytes]]:
    """Every entry in index order, a row at a time."""
    for row in db.stream("SELECT first_idx, entries, leaves, refs FROM {ledger_log}"
                         " ORDER BY first_idx"):
        yield from unpack(row)


# --- the append path ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportBatch:
    """An import, as put on the record with the events it added."""

    source: str
    by: str | None
    sha256: str
    lines: int
    added: int
    skipped: int
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class Logged:
    """Log rows and subtree nodes hashed for a batch, ready to insert."""

    rows: list[tuple[Any, ...]]
    nodes: list[tuple[Any, ...]]


class LogAppender:
    """Keeps the log in step with one write transaction's appends.

    The tree is loaded lazily at the first append: its size, the stored perfect subtrees on
    its right edge (``high``, levels >= STORED_LEVEL, highest first), and the leaves since
    the last stored subtree (``pending``). Per event the hot path hashes one leaf; every
    ``TILE`` leaves it hashes the tile and stores it with the nodes it completes.
    """

    def __init__(self, db: Db) -> None:
        self.db = db
        self.size: int | None = None
        self.high: list[tuple[int, bytes]] = []
        self.pending: list[bytes] = []
        self.first: int | None = None
        self.batch: ImportBatch | None = None
        self.backfilled = False  # this write logged a ledger made before the log

    def catch_up(self) -> None:
        """Loads the tree, so a ledger made before the log has its events logged by this
        write even when it appends none (``checkpoint`` before it signs)."""
        if self.size is None:
            self._load()

    def _load(self) -> None:
        size = log_size(self.db)
        if size == 0 and self.db.rows("SELECT 1 FROM {stored_events} LIMIT 1"):
            if not made_before_the_log(self.db):
                raise LogDamaged("the ledger's Merkle log is empty, but it had tree heads: "
                                 "its rows were deleted. Nothing was written; run "
                                 "`corledger verify`")
            self._backfill()
            return
        self.high = []
        for level in range(size.bit_length() - 1, STORED_LEVEL - 1, -1):
            if size >> level & 1:
                index = (size >> (level + 1)) << 1  # the subtree starting at the bit's offset
                self.high.append((level, self._node(level, index)))
        tail_start = size - size % TILE
        self.pending = [e[3] for e in log_entries(self.db, tail_start, size)]
        self.size = size

    def _node(self, level: int, index: int) -> bytes:
        found = self.db.rows("SELECT hash FROM {ledger_log_nodes} WHERE level = ? AND idx = ?",
                             (level, index))
        return stored_node(found, level, index)

    def _backfill(self) -> None:
        """A ledger made before the log: its events enter the log once, in append order."""
        self.size, self.high, self.pending = 0, [], []
        rows = [(r[1], r[0], int(r[2]), bytes(r[3])) for r in self.db.stream(
            "SELECT topic, {stream_text}, originator_version, state FROM {stored_events}"
            " ORDER BY {order}")]
        for start in range(0, len(rows), BACKFILL_ROW):
            self.write(self._hash_leaves(rows[start:start + BACKFILL_ROW]))
        self.first = None  # the backfill is not part of this write's own appends
        self.backfilled = True

    def append(self, rows: Sequence[LogRow]) -> None:
        """Logs events as (stream hex, topic, version, state[, leaf]), in their append order
        (the first call loads the tree, so it comes before the events themselves are
        inserted). A leaf given is :func:`ledger.merkle.event_leaf` of the row, hashed by
        the caller already; a row without one (or with None) is hashed here."""
        self.write(self.prepare(rows))

    def prepare(self, rows: Sequence[LogRow]) -> Logged:
        """Hashes the events' leaves (those not given) and the subtrees they complete,
        without writing: a writer may do this while its previous batch is being inserted."""
        if self.size is None:
            self._load()
        return self._hash_leaves(rows)

    def write(self, logged: Logged) -> None:
        """Inserts what :meth:`prepare` hashed."""
        self.db.insert("ledger_log", LOG_COLUMNS, logged.rows)
        if logged.nodes:
            self.db.insert("ledger_log_nodes", ("level", "idx", "hash"), logged.nodes)

    def _hash_leaves(self, rows: Sequence[LogRow]) -> Logged:
        size = self.size
        assert size is not None
        if self.first is None:
            self.first = size
        pending, high = self.pending, self.high
        nodes: list[tuple[Any, ...]] = []
        first = size
        sha256, leaf_format = hashlib.sha256, LEAF_FORMAT  # event_leaf, inlined: the hot loop
        leaves = [row[4] if len(row) > 4 and row[4] is not None else sha256(  # type: ignore[misc]
            leaf_format % (row[1].encode(), row[0].encode(), row[2], row[3])).digest()
            for row in rows]
        size += len(leaves)
        base = first - len(pending)  # where the pending tile starts: a multiple of TILE
        pending.extend(leaves)
        while len(pending) >= TILE:
            base += TILE
            level, index, digest = STORED_LEVEL, (base >> STORED_LEVEL) - 1, root_of(
                pending[:TILE])
            del pending[:TILE]
            nodes.append((level, index, digest))
            while high and high[-1][0] == level:
                digest = node_hash(high.pop()[1], digest)
                level, index = level + 1, index >> 1
                nodes.append((level, index, digest))
            high.append((level, digest))
        log_rows = [pack(first, leaves, [(r[0], r[2]) for r in rows])] if leaves else []
        self.size = size
        return Logged(log_rows, nodes)

    def root(self) -> bytes:
        """The root of the tree as this write leaves it."""
        assert self.size is not None
        builder = TreeBuilder(self.size - len(self.pending), self.high)
        for leaf in self.pending:
            builder.append(leaf)
        return builder.root()

    def finish(self, now: datetime) -> None:
        """Records the tree head this write leaves (and its import batch), before commit:
        whenever it logged anything, a backfill included."""
        grew = self.first is not None and self.first != self.size
        if self.size is None or not (grew or self.backfilled):
            if self.batch is not None:
                self._record_batch(None, None)
            return
        self.db.insert("ledger_log_heads", ("tree_size", "root", "appended_at"),
                       [(self.size, self.root(), format_time(now))])
        if self.batch is not None:
            self._record_batch(*((self.first, self.size - 1) if grew else (None, None)))

    def _record_batch(self, first: int | None, last: int | None) -> None:
        b = self.batch
        assert b is not None
        self.db.insert("ledger_batches", (
            "source", "by_whom", "sha256", "lines", "added", "skipped", "first_index",
            "last_index", "started_at", "finished_at"), [(
                b.source, b.by, b.sha256, b.lines, b.added, b.skipped, first, last,
                format_time(b.started_at), format_time(b.finished_at))])


class LogDamaged(Exception):
    """The log is not as its own upkeep left it; ``corledger verify`` says where."""


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The tree at the end of one write."""

    size: int
    root: bytes
    appended_at: datetime


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    size: int
    note: str
    signed_at: datetime


@dataclass(frozen=True)
class BatchRow:
    id: int
    source: str
    by: str | None
    sha256: str
    lines: int
    added: int
    skipped: int
    first_index: int | None
    last_index: int | None
    started_at: datetime
    finished_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "by": self.by, "sha256": self.sha256,
                "lines": self.lines, "added": self.added, "skipped": self.skipped,
                "first_index": self.first_index, "last_index": self.last_index,
                "started_at": format_time(self.started_at),
                "finished_at": format_time(self.finished_at)}


class LogReader:
    """Questions to the log, over one connection."""

    def __init__(self, db: Db) -> None:
        self.db = db

    def size(self) -> int:
        return log_size(self.db)

    def leaves(self, start: int, end: int) -> list[bytes]:
        return [e[3] for e in log_entries(self.db, start, end)]

    def ref(self, index: int) -> tuple[str, int] | None:
        """The stream and version logged at ``index`` (None: no such entry, or its row is
        malformed). Reads the one line it needs of its row, not every entry of it: a
        receipt's binary searches ask for a few hundred single entries."""
        found = self.db.rows("SELECT first_idx, entries, length(leaves), refs FROM {ledger_log}"
                             " WHERE first_idx <= ? ORDER BY first_idx DESC LIMIT 1", (index,))
        if not found or index < 0:
            return None
        first, count, size, refs = int(found[0][0]), int(found[0][1]), found[0][2], found[0][3]
        lines = str(refs).split("\n") if count else []
        if index - first >= count or size != HASH_SIZE * count or len(lines) != count:
            return None
        stream, _, version = lines[index - first].partition(" ")
        return (stream, int(version)) if version.isdigit() else None

    def perfect(self, level: int, index: int) -> bytes:
        """The hash of a perfect subtree: stored when large, else from its leaves."""
        if level >= STORED_LEVEL:
            found = self.db.rows(
                "SELECT hash FROM {ledger_log_nodes} WHERE level = ? AND idx = ?",
                (level, index))
            return stored_node(found, level, index)
        return root_of(self.leaves(index << level, (index + 1) << level))

    def subtree(self, start: int, end: int) -> bytes:
        return subtree_hash(start, end, self.perfect)

    def root(self, size: int) -> bytes:
        return self.subtree(0, size) if size else EMPTY_ROOT

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(index, size, self.subtree)

    def consistency(self, old: int, new: int) -> list[bytes]:
        return consistency_proof(old, new, self.subtree)

    def entry(self, index: int) -> bytes | None:
        """The entry bytes of the event at a log index, read from the events table."""
        ref = self.ref(index)
        if ref is None:
            return None
        stream, version = ref
        event = self.db.rows(
            "SELECT topic, state FROM {stored_events} WHERE originator_id = {stream_param}"
            " AND originator_version = ?", (stream, version))
        if not event:
            return None
        return entry_bytes(event[0][0], stream, int(version), bytes(event[0][1]))

    def position_of(self, index: int) -> int | None:
        """The events table's position (rowid / notification id) of the event logged at
        ``index``; None when it is gone."""
        ref = self.ref(index)
        return self._position(*ref) if ref else None

    def _position(self, stream: str, version: int) -> int | None:
        found = self.db.rows("SELECT {order} FROM {stored_events} WHERE originator_id ="
                             " {stream_param} AND originator_version = ?", (stream, version))
        return int(found[0][0]) if found else None

    def index_of(self, stream: str, version: int) -> int | None:
        """The log index of an event, by binary search: log order is the events' order.

        The log has no index on (stream, version), which would cost every append a random
        b-tree insert; O(log n) lookups on two primary keys answer instead.
        """
        target = self._position(stream, version)
        if target is None:
            return None
        low, high = 0, self.size() - 1
        while low <= high:
            middle = (low + high) // 2
            position = self.position_of(middle)
            if position is None:
                raise LogDamaged(f"the event logged at index {middle} is gone: run "
                                 "`corledger verify`")
            if position == target:
                return middle
            if position < target:
                low = middle + 1
            else:
                high = middle - 1
        return None

    def index_of_event_id(self, event_id: str) -> int | None:
        """The log index of the event a sender's id names."""
        found = self.db.rows("SELECT stream_id, version FROM {ledger_event_ids}"
                             " WHERE event_id = ?", (event_id,))
        return self.index_of(found[0][0], int(found[0][1])) if found else None

    def versions_within(self, stream: str, tree_size: int) -> set[int]:
        """The versions of the stream's events among the first ``tree_size`` log entries:
        those appended no later than the event logged at ``tree_size - 1`` (log order is
        append order, as ``verify`` holds it; a version forged below the stream's last, its
        row appended later, is left out as the log places it)."""
        if tree_size <= 0:
            return set()
        return {int(v) for (v,) in self.db.rows(
            "SELECT originator_version FROM {stored_events} WHERE originator_id ="
            " {stream_param} AND {order} <= ?", (stream, self.last_position(tree_size)))}

    def last_position(self, tree_size: int) -> int:
        """The events table's position of the last of the first ``tree_size`` log entries
        (0 for none): the events at or before it are what the ledger held at that size."""
        if tree_size <= 0:
            return 0
        position = self.position_of(tree_size - 1)
        if position is None:
            raise LogDamaged(f"the event logged at index {tree_size - 1} is gone: run "
                             "`corledger verify`")
        return position

    def size_at(self, moment: datetime) -> int:
        """The tree size the ledger had at ``moment``: the last write committed by then."""
        found = self.db.rows("SELECT MAX(tree_size) FROM {ledger_log_heads}"
                             " WHERE appended_at <= ?", (format_time(moment),))
        return int(found[0][0] or 0)

    def heads(self) -> list[Head]:
        return [Head(int(s), bytes(r), parse_time(t)) for s, r, t in self.db.rows(
            "SELECT tree_size, root, appended_at FROM {ledger_log_heads} ORDER BY tree_size")]

    def head(self, size: int) -> Head | None:
        found = self.db.rows("SELECT tree_size, root, appended_at FROM {ledger_log_heads}"
                             " WHERE tree_size = ?", (size,))
        return Head(int(found[0][0]), bytes(found[0][1]), parse_time(found[0][2])) if (
            found) else None

    def add_checkpoint(self, size: int, note: str, signed_at: datetime) -> None:
        self.db.insert("ledger_checkpoints", ("tree_size", "note", "signed_at"),
                       [(size, note, format_time(signed_at))])

    def checkpoints(self) -> list[StoredCheckpoint]:
        return [StoredCheckpoint(int(i), int(s), n, parse_time(t)) for i, s, n, t in
                self.db.rows("SELECT id, tree_size, note, signed_at FROM {ledger_checkpoints}"
                             " ORDER BY id")]

    def batches(self) -> list[BatchRow]:
        return [BatchRow(int(r[0]), r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6]),
                         None if r[7] is None else int(r[7]),
                         None if r[8] is None else int(r[8]), parse_time(r[9]),
                         parse_time(r[10])) for r in self.db.rows(
            "SELECT id, source, by_whom, sha256, lines, added, skipped, first_index,"
            " last_index, started_at, finished_at FROM {ledger_batches} ORDER BY id")]
