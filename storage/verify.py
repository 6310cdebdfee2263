"""``verify``: recompute the Merkle log from the stored events and hold it to every tree head.

One pass in append order over the events table and the log table side by side: each event's
leaf is recomputed from its stored bytes and compared with the leaf logged at its index; the
tree is rebuilt as it goes and compared with the stored subtree nodes, the tree heads of every
write, every stored checkpoint and any checkpoint a partner hands in. The first event that
differs is named with its kind of damage:

- ``altered``: the event at this index is the logged one (same stream and version) but its
  stored bytes (payload, times, type) changed;
- ``deleted``: the event logged at this index is gone (``truncated`` when every event from
  it to the log's end is);
- ``inserted``: an event the log never saw (a forged row), or one logged at a version at or
  below one logged before it in its stream (forged with a log entry of its own: the ledger
  appends each stream's versions in rising order);
- ``reordered``: the event is in the log, at another index (rows swapped or moved);
- ``log-altered``: the log's own rows (a leaf hash, the stream and version lines, a node, a
  tree head) differ from the recomputation or are gone (the last write's row or head
  included), while the events still match the tree heads;
- ``rewritten``: log and events agree but not with a signed checkpoint: both were rewritten
  with recomputed hashes; the damage lies between the last checkpoint that still holds and
  the first that does not;
- ``bad-checkpoint``: a checkpoint whose signature does not verify with the public key;
- ``index-altered``: a row of the index tables beside the events (``ledger_employers``,
  ``ledger_event_ids``, ``ledger_recorded``: :mod:`storage.store`) is missing, added or
  differs from what the events make (recomputed in the same pass by the writer's own row
  functions, :class:`IndexCheck`), each difference named with its table and the employer or
  event id (and the event to blame, if one is). Checked once the events hold (the other
  kinds report damaged events first). Not recomputable: a ``content_hash`` is the hash of
  the object the sender sent, which the event does not carry, so it is only held to be a
  SHA-256; and where two counted registrations share the earliest date, either's partner.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ledger.checkpoint import Checkpoint, NoteError, Verifier, open_checkpoint, read_checkpoint
from ledger.codec import format_time, parse_time
from ledger.merkle import EMPTY_ROOT, TreeBuilder, event_leaf
from storage.log import (
    STORED_LEVEL,
    Db,
    LogDamaged,
    LogReader,
    all_entries,
    log_size,
    made_before_the_log,
    stored_blob,
    stored_int,
    stored_text,
)
from storage.store import (
    NOT_REGISTERED,
    StoredRow,
    event_id_rows,
    recorded_rows,
    registration_facts,
    row_of_stored,
    standing_registrations,
)

PROGRESS_EVERY = 5000


@dataclass(frozen=True)
class Damage:
    kind: str
    message: str
    log_index: int | None = None
    event: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "log_index": self.log_index, "event": self.event,
                "message": self.message}


@dataclass
class Report:
    """What ``verify`` found: sizes, the recomputed root, and the damage (first first)."""

    events: int = 0
    log_size: int = 0
    root: bytes = EMPTY_ROOT
    heads_checked: int = 0
    checkpoints_checked: int = 0
    signatures_checked: bool = False
    damage: list[Damage] = field(default_factory=list)
    unlogged: int = 0  # a ledger made before the log, not logged yet: nothing to hold it to

    @property
    def ok(self) -> bool:
        return not self.damage and not self.unlogged

    def as_json(self) -> dict[str, Any]:
        import base64

        return {"ok": self.ok, "events": self.events, "log_size": self.log_size,
                "root_hash": base64.b64encode(self.root).decode(),
                "heads_checked": self.heads_checked,
                "checkpoints_checked": self.checkpoints_checked,
                "signatures_checked": self.signatures_checked, "unlogged": self.unlogged,
                "damage": [d.as_json() for d in self.damage]}


@dataclass(frozen=True)
class GivenCheckpoint:
    """A checkpoint to hold the log to: a stored one (by id) or one handed in (a file)."""

    label: str
    note: str


def _describe(db: Db, stream: str, version: int, topic: Any = None,
              state: Any = None) -> dict[str, Any]:
    """What a person needs to find an event: its sender id, employer, type, stream, version.
    ``topic`` and ``state`` are the row's values as stored, whatever their type (an edit may
    have stored TEXT or NULL): the sender id is read from them when they still hold it."""
    out: dict[str, Any] = {"stream": stream, "version": version, "type": stored_text(topic)}
    if state is None:
        found = db.rows("SELECT topic, state FROM {stored_events} WHERE originator_id ="
                        " {stream_param} AND originator_version = ?", (stream, version))
        if found:
            topic, state = found[0][0], found[0][1]
            out["type"] = stored_text(topic)
    doc: Any = None
    if isinstance(state, bytes | bytearray | memoryview | str):
        try:
            doc = orjson.loads(state)
        except orjson.JSONDecodeError:
            doc = None
    if isinstance(doc, dict):
        out.update(id=doc.get("id"), employer=doc.get("employer"))
    else:  # gone, or its stored state unreadable: the indexes may still name it
        ids = db.rows("SELECT event_id, employer FROM {ledger_event_ids} WHERE stream_id = ?"
                      " AND version = ?", (stream, version))
        out.update(id=ids[0][0] if ids else None, employer=ids[0][1] if ids else None)
    return out


def _name(event: dict[str, Any]) -> str:
    who = f"event {event['id']}" if event.get("id") else "an event"
    where = f"employer {event['employer']}" if event.get("employer") else "the reference data"
    kind = f" ({event['type']})" if event.get("type") else ""
    return f"{who}{kind} of {where}, stream {event['stream']} version {event['version']}"


def _compare(db: Db, events: Iterator[tuple[Any, ...]], log: Iterator[tuple[Any, ...]],
             builder: TreeBuilder,
             on_leaf: Callable[[list[tuple[int, int, bytes]]], None],
             on_event: Callable[[int, str, str, int, bytes], None] = (
                 lambda index, topic, stream, version, state: None),
             ) -> tuple[Damage | None, Damage | None, Damage | None]:
    """Walks events and log rows in step, building the tree from the events' own leaves.

    Returns (``differs``, ``stop``, ``unlogged``): the first event whose leaf differs from
    the one logged at its index (the walk goes on past it: whether the event or the log's
    leaf was edited is decided by the tree heads, see :func:`_blame`), the damage that
    stopped the walk (None when the events and the log's entries pair up to the end), and
    the first event past the log's last entry (the walk goes on past it too: an inserted
    row, or the log's last rows deleted while the events still match the tree heads).
    A stream's versions rise in append order, so in the log: a version at or below one
    logged before it in its stream is a row the ledger never appended there."""
    index = 0
    differs: Damage | None = None
    unlogged: Damage | None = None
    last: dict[str, int] = {}  # each stream's last version logged so far
    while True:
        e = next(events, None)
        try:
            g = next(log, None) if unlogged is None else None
        except LogDamaged as exc:
            return differs, Damage("log-altered", str(exc), index), None
        if e is None and g is None:
            return differs, None, unlogged
        if g is not None and int(g[0]) != index:
            return differs, Damage("log-altered", f"the log has no entry at index {index} "
                                   f"(its next is {g[0]}): log rows were deleted", index), None
        if e is None:  # every event before matched: the rest of the log's are gone
            assert g is not None
            event = _describe(db, g[1], int(g[2]))
            gone = 1 + sum(1 for _ in log)
            return differs, Damage(
                "truncated", f"{_name(event)}, logged at index {index}, is no longer in the "
                f"events table, nor the {gone - 1} logged after it: the last {gone} events "
                "were deleted", index, event), None
        # every value as stored: a type the ledger never writes is an edit, not a crash
        topic, stream, version, state = (stored_text(e[0]), stored_text(e[1]),
                                         stored_int(e[2]), stored_blob(e[3]))
        if stream is None or version is None:
            if unlogged is not None:
                return differs, None, unlogged
            event = _describe(db, g[1], g[2]) if g is not None else {
                "stream": e[1], "version": e[2], "type": topic, "id": None, "employer": None}
            return differs, Damage(
                "altered", f"the event row at position {index} has a stream id or version "
                f"stored as no event has them ({e[1]!r}, {e[2]!r}); the log has "
                f"{_name(event)} there: the row was edited", index, event), None
        leaf = (event_leaf(topic, stream, version, state)
                if topic is not None and state is not None else None)
        if g is None:
            if unlogged is None:
                event = _describe(db, stream, version, e[0], e[3])
                unlogged = Damage("inserted", f"{_name(event)} at position {index} is not in "
                                  "the log: a row inserted behind the ledger's back", index,
                                  event)
        elif (g[1], g[2]) != (stream, version):
            if leaf == g[3]:  # the event is the one whose leaf is logged here: refs edited
                event = _describe(db, stream, version, e[0], e[3])
                return differs, Damage(
                    "log-altered", f"the log names stream {g[1]} version {g[2]} at index "
                    f"{index}, but the leaf logged there is that of {_name(event)}, which is "
                    "where it was appended: the log's row (its stream and version lines) was "
                    "edited", index, event), None
            return differs, _misplaced(db, index, (stream, version, e[0], e[3]),
                                       (g[1], g[2])), None
        elif version <= last.get(stream, version - 1):
            event = _describe(db, stream, version, e[0], e[3])
            return differs, Damage(
                "inserted", f"{_name(event)} is logged at index {index}, after version "
                f"{last[stream]} of its stream: the ledger appends a stream's versions in "
                "rising order, so this row (and its log entry) was put there behind its back",
                index, event), None
        else:
            last[stream] = version
        if g is not None and leaf != g[3] and differs is None:
            event = _describe(db, stream, version, e[0], e[3])
            differs = Damage("altered", f"{_name(event)} at log index {index} differs from "
                             "what was logged: its stored payload, times or type were edited",
                             index, event)
        if leaf is None:  # no leaf to build the tree on: the heads cannot tell who was edited
            return differs, None, unlogged
        on_leaf(builder.append(leaf))
        assert topic is not None and state is not None  # a leaf was computed from them
        on_event(index, topic, stream, version, state)
        index += 1


def _blame(differs: Damage, heads: dict[int, bytes | None], roots: dict[int, bytes],
           unlogged: bool = False) -> Damage:
    """An event's leaf differs from the one logged (or, ``unlogged``, the log ends before
    it): the event was edited (``altered``) or inserted (``inserted``), or the log's row was
    edited or deleted (``log-altered``) when the tree built from the events still matches
    the tree head of the write that appended the event, as it did when that write
    committed."""
    index = differs.log_index
    assert index is not None
    covering = min((size for size in heads if size > index and size in roots), default=None)
    if covering is None or heads[covering] != roots[covering]:
        return differs
    event = differs.event or {}
    if unlogged:
        return Damage("log-altered", f"the log ends at index {index}, but {_name(event)} and "
                      f"the events after it still match the tree head recorded at size "
                      f"{covering}: the log's rows from index {index} on were deleted, no "
                      "event inserted", index, differs.event)
    return Damage("log-altered", f"the leaf hash the log holds at index {index} differs from "
                  f"{_name(event)}, but the event still matches the tree head recorded at size "
                  f"{covering}: the log's row (its leaf hashes) was edited, not the event",
                  index, differs.event)


def _misplaced(db: Db, index: int, found: tuple[str, int, Any, Any],
               logged: tuple[str, int]) -> Damage:
    """The event at ``index`` is not the logged one: deleted, inserted or moved? (``found``:
    its stream, version, and topic and state as stored.)"""
    stream, version, topic, state = found
    gone = not db.rows("SELECT 1 FROM {stored_events} WHERE originator_id = {stream_param}"
                       " AND originator_version = ?", logged)
    if gone:
        event = _describe(db, *logged)
        return Damage("deleted", f"{_name(event)}, logged at index {index}, is no longer in "
                      "the events table: deleted", index, event)
    event = _describe(db, stream, version, topic, state)
    where = [e[0] for e in all_entries(db) if (e[1], e[2]) == (stream, version)][:1]
    if not where:
        return Damage("inserted", f"{_name(event)} at position {index} is not in the log: a "
                      "row inserted behind the ledger's back", index, event)
    return Damage("reordered", f"{_name(event)} is at position {index} but was logged at index "
                  f"{where[0]}: rows were swapped or moved", index, event)


def verify_log(db: Db, checkpoints: Sequence[GivenCheckpoint], verifier: Verifier | None,
               on_progress: Callable[[int], None] | None = None) -> Report:
    """Recomputes the log from the events and checks it against every head and checkpoint,
    all in one snapshot of the database (a write committing meanwhile is not half-seen)."""
    with db.snapshot():
        return _verify(db, checkpoints, verifier, on_progress)


def _verify(db: Db, checkpoints: Sequence[GivenCheckpoint], verifier: Verifier | None,
            on_progress: Callable[[int], None] | None) -> Report:
    report = Report(signatures_checked=verifier is not None)
    report.log_size = log_size(db)
    report.events = int(db.rows("SELECT COUNT(*) FROM {stored_events}")[0][0])
    parsed = _parse_checkpoints(checkpoints, verifier, report)
    if made_before_the_log(db):
        if not any(c.size for _, c in parsed):
            report.unlogged = report.events  # not damage: the log has yet to catch up
        _check_without_log(db, report, parsed)
        return report
    malformed: list[Damage] = []  # the log's own rows holding values of the wrong type
    nodes: dict[tuple[int, int], bytes | None] = {}
    for level, idx, digest in db.rows("SELECT level, idx, hash FROM {ledger_log_nodes}"):
        lv, ix = stored_int(level), stored_int(idx)
        if lv is None or ix is None:
            malformed.append(Damage("log-altered", f"a row of the log's nodes is at level "
                                    f"{level!r}, index {idx!r}: the log's nodes were edited"))
        else:
            nodes[(lv, ix)] = stored_blob(digest)  # None: not a hash as stored; never matches
    heads: dict[int, bytes | None] = {}
    for tree_size, root in db.rows("SELECT tree_size, root FROM {ledger_log_heads}"):
        size = stored_int(tree_size)
        if size is None or size < 0:
            malformed.append(Damage("log-altered", f"a tree head has the size {tree_size!r}: "
                                    "the log's heads were edited"))
        else:
            heads[size] = stored_blob(root)

    wanted = set(heads) | {c.size for _, c in parsed}
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    builder = TreeBuilder()
    bad_nodes: list[Damage] = []

    def on_leaf(completed: list[tuple[int, int, bytes]]) -> None:
        size = builder.size
        if size in wanted:
            roots[size] = builder.root()
        for level, index, digest in completed:
            if level >= STORED_LEVEL and not bad_nodes and nodes.get((level, index)) != digest:
                bad_nodes.append(Damage(
                    "log-altered", f"the log's stored node at level {level}, index {index} "
                    "differs from the events (or is missing): the log's nodes were edited",
                    index << level))
        if on_progress is not None and size % PROGRESS_EVERY == 0:
            on_progress(PROGRESS_EVERY)

    writes: list[tuple[int, bytes | None]] = []  # (first index, appended_at) of each write

    indexes = IndexCheck()

    def on_event(index: int, topic: str, stream: str, version: int, state: bytes) -> None:
        at = _appended_at(state)
        if not writes or writes[-1][1] != at:
            writes.append((index, at))
        indexes.add(topic, stream, version, state)

    events = db.stream("SELECT topic, {stream_text}, originator_version, state"
                       " FROM {stored_events} ORDER BY {order}")
    log = all_entries(db)
    try:
        differs, first, unlogged = _compare(db, events, log, builder, on_leaf, on_event)
    finally:
        events.close()  # type: ignore[attr-defined]
        log.close()  # type: ignore[attr-defined]
    if on_progress is not None:
        on_progress(builder.size % PROGRESS_EVERY)
    report.root = builder.root()
    if differs is not None or first is not None or unlogged is not None:
        report.damage[:0] = [d for d in (differs and _blame(differs, heads, roots), first,
                                         unlogged and _blame(unlogged, heads, roots, True))
                             if d is not None]
        return report
    report.damage.extend(bad_nodes[:1])
    report.damage.extend(malformed[:1])
    size = builder.size
    for head_size, root in sorted(heads.items()):
        report.heads_checked += 1
        if head_size > size:
            report.damage.append(Damage(
                "truncated", f"the log had {head_size} entries after a write, it has {size}: "
                f"the entries from index {size} on were deleted, log rows and all", size))
            break
        if roots[head_size] != root:
            report.damage.append(Damage(
                "log-altered", f"the tree head recorded at size {head_size} does not match "
                "the events: the log's heads were edited, or the events and log rewritten",
                head_size - 1))
            break
    if not report.damage:
        timing = _check_head_times(db, writes, size)
        if timing is not None:
            report.damage.append(timing)
    _check_checkpoints(db, report, parsed, roots, size)
    if all(d.kind == "bad-checkpoint" for d in report.damage):
        # the events hold: the indexes are held to them (against damaged events, every
        # index row of theirs would differ too, which says nothing more)
        report.damage.extend(indexes.compare(db))
    return report


def _parse_checkpoints(checkpoints: Sequence[GivenCheckpoint], verifier: Verifier | None,
                       report: Report) -> list[tuple[GivenCheckpoint, Checkpoint]]:
    """The checkpoints whose signatures hold (each that does not is ``bad-checkpoint``)."""
    parsed: list[tuple[GivenCheckpoint, Checkpoint]] = []
    for given in checkpoints:
        try:
            head = (open_checkpoint(given.note, verifier) if verifier is not None
                    else read_checkpoint(given.note))
        except NoteError as exc:
            report.damage.append(Damage("bad-checkpoint", f"{given.label}: {exc}"))
            continue
        parsed.append((given, head))
    return parsed


def _check_without_log(db: Db, report: Report,
                       parsed: list[tuple[GivenCheckpoint, Checkpoint]]) -> None:
    """The log is empty and the database keeps no tree head or checkpoint: a ledger made
    before the log, or one whose log, heads and stored checkpoints were all deleted. A
    checkpoint handed in (a partner's copy) tells them apart: a ledger made before the log
    never signed a tree of more than 0 entries, so one that did had a log, now gone. It is
    held to the tree the events make in append order (as the log would have logged them):
    larger than the events, ``truncated``; another root, ``rewritten``; the same root,
    ``log-altered`` (the events still match it, so no event is blamed)."""
    if not parsed:
        return
    wanted = {c.size for _, c in parsed}
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    builder = TreeBuilder()
    events = db.stream("SELECT topic, {stream_text}, originator_version, state"
                       " FROM {stored_events} ORDER BY {order}")
    try:
        for topic, stream, version, state in events:
            if builder.size >= max(wanted):
                break
            t, s, v, b = stored_text(topic), stored_text(stream), stored_int(version), (
                stored_blob(state))
            if t is None or s is None or v is None or b is None:
                break  # an edited row: no tree beyond it, no checkpoint beyond it holds
            builder.append(event_leaf(t, s, v, b))
            if builder.size in wanted:
                roots[builder.size] = builder.root()
    finally:
        events.close()  # type: ignore[attr-defined]
    size = builder.size
    holding = sorted(c.size for _, c in parsed if roots.get(c.size) == c.root)
    for given, head in sorted(parsed, key=lambda p: p[1].size):
        report.checkpoints_checked += 1
        if head.size == 0:
            continue  # the empty tree: what a ledger made before the log may have signed
        if head.size > report.events:
            report.damage.append(Damage(
                "truncated", f"{given.label} signs a tree of {head.size} entries; the ledger "
                f"has {report.events} events and no log: the entries from index "
                f"{report.events} on were deleted, with the log, its tree heads and stored "
                "checkpoints", report.events))
        elif head.size <= size and roots[head.size] == head.root:
            report.damage.append(Damage(
                "log-altered", f"{given.label} signs the tree of the first {head.size} "
                "events, which they still make, but the ledger keeps no log: its rows, tree "
                "heads and stored checkpoints were deleted"))
        else:
            low = max((s for s in holding if s < head.size), default=0)
            report.damage.append(Damage(
                "rewritten", f"{given.label} signs a different tree of size {head.size} than "
                f"the events make, and the ledger keeps no log: events were edited and the "
                f"log, its tree heads and stored checkpoints deleted; the first damaged event "
                f"is at a log index from {low} to {head.size - 1}", low))


MAX_INDEX_DAMAGE = 20  # differences named per index table; the rest are counted
HASH_HEX = frozenset("0123456789abcdef")


class IndexCheck:
    """The three index tables beside the events (:mod:`storage.store`), recomputed from the
    events as ``verify`` walks them, by the writer's own functions
    (:func:`~storage.store.row_of_stored` and the row functions it feeds), then compared
    with the stored tables: every row missing, added or differing is ``index-altered``.
    Linear: a dictionary entry per event, one read of each table."""

    def __init__(self) -> None:
        self.ids: dict[str, tuple[str | None, str, int]] = {}  # id -> employer, stream, version
        self.recorded: dict[tuple[str, int], str] = {}  # (stream, version) -> recorded
        # employer -> its stream, its registrations and voids (version, topic, state)
        self.registry: dict[str, tuple[str, list[tuple[int, str, bytes]]]] = {}
        self.pending: list[StoredRow] = []
        self.broken = False  # an event the walk passed cannot be read: damage named before

    def add(self, topic: str, stream: str, version: int, state: bytes) -> None:
        try:
            row = row_of_stored(topic, stream, version, state)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            self.broken = True
            return
        self.pending.append(row)
        if row.employer is not None and (row.partner is not None or topic == "EventVoided"):
            events = self.registry.setdefault(row.employer, (stream, []))[1]
            events.append((version, topic, state))
        if len(self.pending) >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        """The index rows of the events added since, by the writer's own functions."""
        rows, self.pending = self.pending, []
        self.ids.update((event_id, (employer, stream, version)) for event_id, _, employer,
                        stream, version in event_id_rows(rows))
        self.recorded.update(((stream, version), recorded) for recorded, stream, version
                             in recorded_rows(rows))

    def compare(self, db: Db) -> list[Damage]:
        self.flush()
        if self.broken:
            return []
        out: list[Damage] = []
        for name, check in (("ledger_employers", self._employers),
                            ("ledger_event_ids", self._event_ids),
                            ("ledger_recorded", self._recorded)):
            found = sorted(check(db), key=lambda pair: pair[0])
            out.extend(d for _, d in found[:MAX_INDEX_DAMAGE])
            if len(found) > MAX_INDEX_DAMAGE:
                out.append(Damage("index-altered", f"{name}: {len(found) - MAX_INDEX_DAMAGE}"
                                  " more rows differ from the events (not listed)"))
        return _placed(db, out)

    def _blame(self, db: Db, message: str, stream: str, version: int) -> Damage:
        """Damage one event is to blame for; its log index is found by :func:`_placed`."""
        return Damage("index-altered", message, None, _describe(db, stream, version))

    def _event_ids(self, db: Db) -> Iterator[tuple[str, Damage]]:
        expected = dict(self.ids)
        for event_id, digest, employer, stream, version in db.stream(
                "SELECT event_id, content_hash, employer, stream_id, version"
                " FROM {ledger_event_ids}"):
            key = stored_text(event_id)
            want = expected.pop(key, None) if key is not None else None
            if want is not None and type(version) is int and (employer, stream, version) == (
                    want[:3]) and type(digest) is str and len(digest) == 64 and (
                    HASH_HEX.issuperset(digest)):
                continue  # the row as the writer wrote it (most rows): no more to look at
            if want is None:
                yield str(event_id), Damage(
                    "index-altered", f"ledger_event_ids has a row for event id {event_id!r}"
                    f" (stream {stream}, version {version}) that no event has: a row was added"
                    " (the importer would skip an event sent with that id as already there)")
                continue
            assert key is not None
            got = (stored_text(employer) if employer is not None else None, stored_text(stream),
                   stored_int(version))
            text = stored_text(digest)
            if got != want[:3]:
                yield key, self._blame(
                    db, f"ledger_event_ids: the row of event id {key!r} says employer "
                    f"{employer!r}, stream {stream}, version {version}; the event is employer "
                    f"{want[0]!r}, stream {want[1]}, version {want[2]}: the row was edited",
                    want[1], want[2])
            elif text is None or len(text) != 64 or not HASH_HEX.issuperset(text):
                yield key, self._blame(
                    db, f"ledger_event_ids: the content hash of event id {key!r} is "
                    f"{digest!r}, not a SHA-256 as the importer stores it: the row was edited",
                    want[1], want[2])
        for key, (_, stream, version) in expected.items():
            yield key, self._blame(
                db, f"ledger_event_ids has no row for event id {key!r} (stream {stream}, "
                f"version {version}): the row was deleted (the importer would take the event "
                "again if sent again)", stream, version)

    def _recorded(self, db: Db) -> Iterator[tuple[str, Damage]]:
        expected = dict(self.recorded)
        for recorded, stream, version in db.stream(
                "SELECT recorded, stream_id, version FROM {ledger_recorded}"):
            key = (stored_text(stream) or "", stored_int(version) or 0)
            want = expected.pop(key, None)
            if want is not None and type(version) is int and recorded == want:
                continue
            if want is None:
                yield f"{stream} {version}", Damage(
                    "index-altered", f"ledger_recorded has a row (recorded {recorded!r}, "
                    f"stream {stream}, version {version}) that no employer event has: a row "
                    "was added")
            elif stored_text(recorded) != want:
                yield f"{key[0]} {key[1]:012d}", self._blame(
                    db, f"ledger_recorded: the row of stream {key[0]} version {key[1]} says "
                    f"recorded {recorded!r}; the event was recorded {want}: the row was "
                    "edited (`changes` would look for it at the wrong time)", key[0], key[1])
        for (stream, version), recorded in expected.items():
            yield f"{stream} {version:012d}", self._blame(
                db, f"ledger_recorded has no row for stream {stream} version {version} "
                f"(recorded {recorded}): the row was deleted (`changes` would miss it)",
                stream, version)

    def _employers(self, db: Db) -> Iterator[tuple[str, Damage]]:
        expected: dict[str, tuple[str, str, set[str], int]] = {}
        for employer, (stream, events) in self.registry.items():
            registrations, voids = registration_facts((t, s) for _, t, s in events)
            if not registrations:
                continue  # voids only: no registration row
            counted = standing_registrations(registrations, voids)
            first = min(v for v, t, _ in events if t == "EmployerRegistered")
            if counted:
                on = counted[0][0]
                # ties of date: older ledgers kept the first written, newer the lowest id
                partners = {p for e, _, _, p in counted if e == on}
            else:
                on, partners = NOT_REGISTERED, {p for _, _, p in registrations}
            expected[employer] = (stream, on, partners, first)
        for employer, stream, partner, registered_on in db.stream(
                "SELECT employer, stream_id, partner, registered_on FROM {ledger_employers}"):
            key = stored_text(employer)
            want = expected.pop(key, None) if key is not None else None
            if want is None:
                yield str(employer), Damage(
                    "index-altered", f"ledger_employers has a row for employer {employer!r} "
                    "that no registration has: a row was added")
                continue
            assert key is not None
            problems = []
            if stored_text(stream) != want[0]:
                problems.append(f"stream {stream!r}, not {want[0]}")
            if stored_text(registered_on) != want[1]:
                problems.append(f"registered_on {registered_on!r}, not "
                                f"{want[1]!r}")
            if stored_text(partner) not in want[2]:
                problems.append(f"partner {partner!r}, not {' or '.join(sorted(want[2]))}")
            if problems:
                yield key, self._blame(
                    db, f"ledger_employers: the row of employer {key!r} says "
                    f"{'; '.join(problems)} as its registrations and voids make it: the row "
                    "was edited", want[0], want[3])
        for employer, (stream, on, _, index) in expected.items():
            yield employer, self._blame(
                db, f"ledger_employers has no row for employer {employer!r} (registered_on "
                f"{on!r}): the row was deleted (the employer is left out of roll, lapses and "
                "the scan)", stream, index)


def _placed(db: Db, damage: list[Damage]) -> list[Damage]:
    """The damage with the log index of each event it names, found in one pass over the
    log (only when an index differs)."""
    wanted = {(d.event["stream"], d.event["version"]) for d in damage if d.event is not None}
    if not wanted:
        return damage
    at = {(stream, version): index for index, stream, version, _ in all_entries(db)
          if (stream, version) in wanted}
    return [Damage(d.kind, d.message, at.get((d.event["stream"], d.event["version"])), d.event)
            if d.event is not None else d for d in damage]


APPENDED_AT = b'"appended_at":"'


def _appended_at(state: bytes) -> bytes | None:
    """The ``appended_at`` of a stored event, read from its logged bytes (the first such key
    is the event's own: the payload comes after it, and a quote inside a string is escaped)."""
    start = state.find(APPENDED_AT)
    if start < 0:
        return None
    start += len(APPENDED_AT)
    end = state.find(b'"', start)
    return state[start:end] if end > 0 else None


def _check_head_times(db: Db, writes: list[tuple[int, bytes | None]], size: int,
                      ) -> Damage | None:
    """Holds the tree heads' times (the ledger's own time axis, ``--ledger-at``) to the
    logged events' own ``appended_at``, which their hashes cover: a head is never timed
    before the events of its write, nor before the head of the write before it; and where
    the events' ``appended_at`` changes (one write ends, the next begins) after the first
    head, a head must be there; and the last write's head is at the log's end (every write
    records the head it leaves, so entries beyond the last head lost theirs). Events before
    the first head may be a ledger made before the log, logged at once by one write: they
    carry their original times and no heads."""
    rows = db.rows("SELECT tree_size, appended_at FROM {ledger_log_heads} ORDER BY tree_size")
    times: dict[int, datetime] = {}
    for tree_size, text in rows:
        if not isinstance(tree_size, int) or tree_size > size:
            continue  # malformed or beyond the log: reported by the checks before
        try:
            if not isinstance(text, str):
                raise ValueError(text)
            times[tree_size] = parse_time(text)
        except ValueError:
            return Damage("log-altered", f"the tree head at size {tree_size} has the time "
                          f"{text!r}: the log's heads were edited", tree_size - 1)
    starts = [index for index, _ in writes]
    previous: tuple[int, datetime] | None = None
    for tree_size, at in sorted(times.items()):
        if previous is not None and at < previous[1]:
            return Damage("log-altered", f"the tree head at size {tree_size} is timed "
                          f"{format_time(at)}, before the head at size {previous[0]} "
                          f"({format_time(previous[1])}): the log's heads were edited",
                          tree_size - 1)
        previous = (tree_size, at)
        if tree_size == 0:
            continue
        own = writes[bisect.bisect_right(starts, tree_size - 1) - 1][1]
        try:
            appended = parse_time(own.decode()) if own is not None else None
        except (ValueError, UnicodeDecodeError):
            appended = None
        if appended is not None and at < appended:
            return Damage("log-altered", f"the tree head at size {tree_size} is timed "
                          f"{format_time(at)}, before its own write's events were appended "
                          f"({format_time(appended)}): the log's heads were edited",
                          tree_size - 1)
    first_head = min(times, default=None)
    for index, began in writes[1:]:
        if first_head is not None and index > first_head and index not in times:
            return Damage("log-altered", f"the write that ended at log size {index} (the "
                          f"next write's events were appended at "
                          f"{(began or b'?').decode(errors='replace')}) has no tree head: the "
                          "log's heads were deleted", index - 1)
    last_head = max(times, default=0)
    if size > last_head:  # every write records the head it leaves, so the last is at the end
        return Damage("log-altered", f"the log has {size} entries, but its last tree head is "
                      f"at size {last_head}: the head of the write that logged the entries "
                      f"from index {last_head} on was deleted", size - 1)
    return None


def _check_checkpoints(db: Db, report: Report, parsed: list[tuple[GivenCheckpoint, Checkpoint]],
                       roots: dict[int, bytes], size: int) -> None:
    holding = sorted(c.size for _, c in parsed if c.size <= size and roots[c.size] == c.root)
    for given, head in sorted(parsed, key=lambda p: p[1].size):
        report.checkpoints_checked += 1
        if head.size > size:
            report.damage.append(Damage(
                "truncated", f"{given.label} signs a tree of {head.size} entries; the log has "
                f"{size}: entries from index {size} on were deleted", size))
            continue
        if roots[head.size] == head.root:
            continue
        low = max((s for s in holding if s < head.size), default=0)
        event = None
        first = LogReader(db).ref(low)
        if first:
            event = _describe(db, *first)
        report.damage.append(Damage(
            "rewritten", f"{given.label} signs a different tree of size {head.size} than the "
            f"events make: events and log were rewritten with recomputed hashes; the first "
            f"damaged event is at a log index from {low} to {head.size - 1}"
            + (f" (the first checkpoint that still holds ends at {low})" if low else "")
            + (f"; index {low} is {_name(event)}" if event else ""), low, event))
