"""Import of interchange JSONL: validated, idempotent, atomic, streaming, batched.

One pass over the file inside one write transaction. Each line is checked on its own
(marshmallow, :mod:`commands.schemas`), then against the ledger as it stands with the
earlier lines of the same file (registration, sender ids, void targets), and appended in
batches. Any error refuses the whole file: the transaction is rolled back, so nothing is
written, and a process killed part-way leaves nothing either. Memory stays flat: a batch
and a bounded cache of stream heads are all that is held.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import IO, Any, NamedTuple

import orjson
from marshmallow import ValidationError

from commands.fastpath import fast_line, fast_load
from commands.schemas import FRACTION_TYPES, flatten, load_event
from ledger.codec import format_time, new_event
from ledger.collector import collector_paused
from ledger.events import EVENT_TYPES, LapseRiskFlagged, stream_id
from ledger.ids import FLAG_ID_PREFIX, flag_id, flag_id_fields
from ledger.merkle import LEAF_FORMAT
from storage.store import (
    Appended,
    LedgerStore,
    StoredRow,
    Writer,
    recorded_key,
    registration_facts,
    standing_registrations,
)
from storage.workers import worker_pool

MAX_LINE_BYTES = 1 << 20  # an event line longer than 1 MiB is refused, not read into memory
BATCH_SIZE = 2000
MAX_ERRORS = 20  # a refusal names at most this many errors
HEAD_CACHE_SIZE = 4096
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark, which some editors put at the start


@dataclass(frozen=True)
class LineError:
    """One reason a file was refused, with the line and field it names."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


class ImportRefused(Exception):
    """The file was refused whole; nothing from it was written. At most :data:`MAX_ERRORS`
    errors are kept; ``truncated`` says there were more."""

    def __init__(self, errors: list[LineError], truncated: bool = False) -> None:
        self.errors = errors[:MAX_ERRORS]
        self.truncated = truncated or len(errors) > MAX_ERRORS
        super().__init__("; ".join(str(e) for e in errors[:3]))


@dataclass
class ImportResult:
    added: int = 0  # with a dry run: would be added
    skipped: int = 0
    lines: int = 0


class _DryRunDone(Exception):
    """Raised inside the write transaction of a dry run, so that it rolls back."""


class _Line(NamedTuple):
    """A valid line: what the checks against the ledger need, and its stored form.

    A line the fast path took carries its stored ``state`` already; one that took marshmallow
    carries its typed ``envelope`` instead, and is built into an event when admitted.
    """

    number: int
    type_name: str
    event_id: str | None
    employer: str | None
    effective: str  # YYYY-MM-DD, which orders as the dates do
    content_hash: str
    state: bytes | None
    envelope: dict[str, Any] | None
    recorded: str  # recorded_at (the import's clock when absent) as storage.recorded_key
    # the hash of the line as given to the importer when the HTTP service stamped ``by`` on
    # the submitted object (``content_hash`` is then the submitted object's): what the
    # service stored as the content hash before it hashed the submitted object
    stamped_hash: str | None = None
    leaf: bytes | None = None  # its Merkle leaf if admitted at leaf_version (guess_leaves)
    leaf_version: int = 0  # (these two last: guess_leaves replaces them)


def content_hash(obj: Any) -> str:
    """The hash of a submitted JSON object, independent of key order and spacing."""
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()


def read_lines(stream: IO[bytes], on_bytes: Callable[[int], None] | None = None,
               ) -> Iterator[tuple[int, bytes | LineError]]:
    """Numbered non-blank lines of a binary stream; an overlong line becomes an error."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if on_bytes:
            on_bytes(len(raw))
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line, in pieces
                raw = stream.readline(MAX_LINE_BYTES)
                if on_bytes:
                    on_bytes(len(raw))
            yield number, LineError(number, "line", f"longer than {MAX_LINE_BYTES} bytes")
            continue
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if raw.strip():
            yield number, raw


def read_blocks(stream: IO[bytes], first: int, on_bytes: Callable[[int], None] | None = None,
                ) -> Iterator[tuple[int, bytes, int | None]]:
    """The rest of a binary stream as ``(number of its first line, whole lines, overlong)``:
    blocks of about :data:`BLOCK_BYTES` ending at a newline (or the end of the stream), for
    :func:`parse_block`. ``overlong`` is the number of a line longer than
    :data:`MAX_LINE_BYTES`, refused (its block is empty) and skipped without being held
    whole, as :func:`read_lines` does. Lines are numbered as read_lines numbers them, so a
    block carries its lines' numbers for the price of one count of its newlines here."""
    buf = b""
    while True:
        data = stream.read(BLOCK_BYTES)
        if on_bytes and data:
            on_bytes(len(data))
        buf += data
        if not data:  # the end: what is left is a last line without a newline
            if buf:
                yield from _refusing_overlong(first, buf)
            return
        end = buf.rfind(b"\n")
        if end < 0:
            if len(buf) > MAX_LINE_BYTES:  # a line too long to hold
                yield first, b"", first
                first += 1
                buf = _skip_line(stream, on_bytes)
            continue
        block, buf = buf[:end + 1], buf[end + 1:]
        yield from _refusing_overlong(first, block)
        first += block.count(b"\n")


def _refusing_overlong(first: int, block: bytes) -> Iterator[tuple[int, bytes, int | None]]:
    """A block as it is, or, when it is long enough to hold an overlong line, cut around
    the refusals of such lines (the slow way, line by line: a rare case)."""
    if len(block) <= MAX_LINE_BYTES:
        yield first, block, None
        return
    start, number, piece, piece_first = 0, first, 0, first
    while start < len(block):
        newline = block.find(b"\n", start)
        end = len(block) if newline < 0 else newline
        if end - start > MAX_LINE_BYTES:
            if piece < start:
                yield piece_first, block[piece:start], None
            yield number, b"", number
            piece, piece_first = end + 1, number + 1
        start, number = end + 1, number + 1
    if piece < len(block):
        yield piece_first, block[piece:], None


def _skip_line(stream: IO[bytes], on_bytes: Callable[[int], None] | None) -> bytes:
    """Reads past the end of an overlong line; returns what follows its newline."""
    while True:
        data = stream.read(BLOCK_BYTES)
        if on_bytes and data:
            on_bytes(len(data))
        if not data:
            return b""
        end = data.find(b"\n")
        if end >= 0:
            return data[end + 1:]


@dataclass
class Importer:
    """Imports one JSONL stream into a store; ``now`` is the import's clock reading (UTC)."""

    store: LedgerStore
    now: datetime
    batch_size: int = BATCH_SIZE
    dry_run: bool = False  # check every line against the ledger, then write nothing
    on_bytes: Callable[[int], None] | None = None
    # Called inside the write transaction once the import is whole, before it commits (the
    # CLI and API put the import batch on the record there: see commands.session).
    on_commit: Callable[[Writer, ImportResult], None] | None = None
    # Whose events the sender may know of (an employer id; None: the reference data). None:
    # everyone's, as at the command line. A void naming an event the sender may not know of
    # is refused as one naming no event, so a refusal never tells one partner of another's.
    may_know: Callable[[str | None], bool] | None = None
    # Lines the HTTP service gave a ``by`` the sender left out (line number -> the hash of
    # the object as submitted). Idempotency compares the submitted object (DOMAIN.md, "Ids"),
    # so such a line is stored under its submitted object's hash, and one already in the
    # ledger under the stamped line's hash (as the service stored it before) is the same.
    submitted: Mapping[int, str] | None = None
    errors: list[LineError] = field(default_factory=list)
    result: ImportResult = field(default_factory=ImportResult)

    def run(self, stream: IO[bytes]) -> ImportResult:
        """Imports the whole stream, or raises :class:`ImportRefused` having written nothing.
        A dry run checks the same and raises the same, but rolls back what it appended."""
        try:
            with collector_paused():  # an import makes no cycles: see ledger.collector
                return self._run(stream)
        except _DryRunDone:
            return self.result

    def _run(self, stream: IO[bytes]) -> ImportResult:
        self._now_text = format_time(self.now)
        with self.store.writer() as writer:
            # employer -> [version, registered_on, ids]: a bounded cache of stream heads, LRU;
            # ids: the sender ids of its registrations and voids, or None when not known
            # (its head came from the ledger): see _changes_registration
            self._heads: OrderedDict[str, list[Any]] = OrderedDict()
            # per employer: (due, level) of each flag -> its sender id (None: imported without)
            self._flags: dict[str, dict[tuple[str, str], str | None]] = {}
            self._last_employer: str | None = None
            self._tied = False  # the line just admitted ties the registration's date
            self._last_head: list[Any] | None = None
            # the last batch admitted, appended once the next one's ledger reads are done
            self._held: list[StoredRow | Appended] = []
            self._held_ids: dict[str, tuple[str, str | None]] = {}
            # holds every employer of two batches (see _flush)
            self._head_limit = max(HEAD_CACHE_SIZE, 2 * self.batch_size + 1)
            self._reference_version = writer.reference_version()
            errors, batch_size = self.errors, self.batch_size
            pending: list[_Line] = []
            lines = 0
            parsed = self._parsed(stream)
            try:
                for line in parsed:
                    lines += 1
                    if type(line) is _Line:
                        pending.append(line)
                        if len(pending) < batch_size:
                            continue
                        self._flush(writer, pending)
                        pending = []
                    else:
                        errors.extend(line)  # type: ignore[arg-type]
                    if len(errors) >= MAX_ERRORS:
                        self.result.lines = lines
                        raise ImportRefused(errors, truncated=True)
            finally:
                parsed.close()  # stops the parsing process, if any
            self.result.lines = lines
            self._flush(writer, pending)
            self._append_held(writer)
            if errors:
                raise ImportRefused(errors)
            if self.dry_run:
                raise _DryRunDone
            if self.on_commit is not None:
                self.on_commit(writer, self.result)
        return self.result

    def _parsed(self, stream: IO[bytes]) -> Generator[_Line | list[LineError], None, None]:
        """Each numbered line parsed, in order: a :class:`_Line`, or the errors refusing it.

        A file of fewer than :data:`PARALLEL_FROM_LINES` lines is parsed here. For a longer
        one a second process parses (validation, hashing and encoding are CPU-bound Python,
        a third of an import) while this one checks the lines against the ledger and
        appends: the file is read in blocks of whole lines (:func:`read_blocks`) and at most
        :data:`CHUNKS_IN_FLIGHT` blocks are out at once, so memory stays flat. The process is
        started as soon as the file looks long enough (:func:`_lines_left`, at line
        :data:`PROBE_LINES`) and takes over once it is ready, at line
        :data:`PARALLEL_FROM_LINES` at the latest; its start-up (a spawned interpreter
        importing the parser) overlaps the lines parsed here meanwhile. The parsing process
        only parses the bytes it is sent; it never reads the file or writes.
        """
        now, now_text = self.now, self._now_text
        with ExitStack() as stack:
            pool: ProcessPoolExecutor | None = None
            ready: Future[bool] | None = None
            number = length = 0
            for number, raw in read_lines(stream, self.on_bytes):
                yield parse_line(number, raw, now, now_text)
                if ready is None:
                    length += MAX_LINE_BYTES if isinstance(raw, LineError) else len(raw)
                    if number >= PARALLEL_FROM_LINES or number == PROBE_LINES and \
                            _lines_left(stream, number, length) >= PARALLEL_FROM_LINES:
                        pool = stack.enter_context(worker_pool(1))
                        ready = pool.submit(_parser_ready)
                    else:
                        continue
                if number >= PARALLEL_FROM_LINES or ready.done():
                    break
            else:
                return
            assert pool is not None and ready is not None
            ready.result()
            blocks = read_blocks(stream, number + 1, self.on_bytes)
            for parsed in shared_parse(pool, blocks, now, now_text):
                yield from _unpacked(parsed)

    def _error(self, line: int, field_name: str, message: str) -> None:
        self.errors.append(LineError(line, field_name, message))

    def _flush(self, writer: Writer, pending: list[_Line]) -> None:
        """Checks a batch of lines against the ledger and this file so far, and holds what it
        admits; appends the batch held before.

        The ledger is read for a batch (sender ids, stream heads) before the batch held
        before it is appended, so that while the writer inserts that one (a SQLite writer
        does so in a helper thread), this batch is checked. What the held batch adds and
        the ledger read does not show is known here all the same: its sender ids are kept
        beside it, and its employers' heads are in the head cache, which holds every
        employer of two batches.
        """
        if not pending:
            return
        ids = {line.event_id for line in pending if line.event_id is not None}
        ids |= {_target(line) for line in pending if line.type_name == "EventVoided"}
        # the key of a flag without an id, which no event may hold as its id (_flag_taken)
        ids |= {_idless_flag_key(line) for line in pending if line.event_id is None
                and line.type_name == "LapseRiskFlagged" and line.employer is not None}
        # sender id -> (content hash, employer), the ledger's and this file's so far
        known: dict[str, tuple[str, str | None]] = {
            event_id: (k.content_hash, k.employer)
            for event_id, k in (writer.known_ids(ids) if ids else {}).items()}
        self._load_heads(writer, {line.employer for line in pending})
        known.update(self._held_ids)
        self._append_held(writer)
        admitted = self._held_ids
        admit, submitted = self._admit, self.submitted
        batch: list[StoredRow | Appended] = []
        for line in pending:
            if submitted is not None and line.number in submitted:
                line = line._replace(content_hash=submitted[line.number],
                                     stamped_hash=line.content_hash)
            item = admit(line, known)
            if item is not None:
                batch.append(item)
                if line.event_id is not None:
                    known[line.event_id] = admitted[line.event_id] = (line.content_hash,
                                                                      line.employer)
                if line.employer is not None and (self._tied or (
                        line.type_name == "EventVoided" and self._changes_registration(line))):
                    self._tied = False
                    writer.append(batch)  # what may change the registration must be in
                    self.result.added += len(batch)  # the ledger
                    batch = []
                    self._recount_registration(writer, line.employer)
        self._held = batch

    def _append_held(self, writer: Writer) -> None:
        writer.append(self._held)
        self.result.added += len(self._held)
        self._held, self._held_ids = [], {}

    def _changes_registration(self, void: _Line) -> bool:
        """Whether an admitted void may change its employer's registration date: only a void
        of a registration or of a void (which may bring one back) can. When the employer's
        registrations and voids are known, a void of anything else is passed over; recounting
        means waiting for the pending append and reading the ledger back (most voids correct a
        report, and an import would otherwise stop at each)."""
        ids = self._last_head[2] if self._last_head is not None else None
        return ids is None or _target(void) in ids

    def _recount_registration(self, writer: Writer, employer: str) -> None:
        """After a void: the employer's registration date as the ledger now counts it, the
        earliest registration not voided (void chains resolved), or None when none counts."""
        registrations, voids = registration_facts(writer.registration_events(employer))
        counted = standing_registrations(registrations, voids)
        registered_on = counted[0][0] if counted else None
        partner = counted[0][3] if counted else None
        head = self._last_head  # the void's employer's: the void is the last line admitted
        assert head is not None and self._last_employer == employer
        head[2] = {event_id for event_id, _, _ in registrations} | {
            event_id for event_id, _ in voids}
        head[2].discard(None)
        head[1] = registered_on
        writer.set_registration(
            employer, None if registered_on is None else date.fromisoformat(registered_on),
            partner)

    def _load_heads(self, writer: Writer, employers: set[str | None]) -> None:
        missing = {e for e in employers if e is not None and e not in self._heads}
        found = writer.heads(missing) if missing else {}
        for employer in missing:
            head = found.get(employer)
            if head is not None:
                registered = head.registered_on
                self._remember(employer, [head.version, registered and registered.isoformat(),
                                          None])

    def _remember(self, employer: str, head: list[Any]) -> None:
        heads = self._heads
        heads[employer] = head
        heads.move_to_end(employer)
        if len(heads) > self._head_limit:
            heads.popitem(last=False)

    def _admit(self, line: _Line, known: dict[str, tuple[str, str | None]],
               ) -> StoredRow | Appended | None:
        """Checks a valid line against the ledger; returns the row to append, if any."""
        event_id = line.event_id
        if event_id is not None and event_id in known:
            if known[event_id][0] in (line.content_hash, line.stamped_hash):
                self.result.skipped += 1
                return None
            self._error(line.number, "id",
                        f"{event_id!r} is already in the ledger with different content "
                        "(a correction is a new event, e.g. EventVoided)")
            return None
        type_name = line.type_name
        employer = line.employer
        if type_name == "LapseRiskFlagged" and employer is not None and \
                self._flag_taken(line, employer, known):
            return None
        if event_id is not None and event_id.startswith(FLAG_ID_PREFIX) and \
                self._idless_flags_key(line, event_id):
            return None
        if _REFERENCE[type_name] or employer is None:  # reference data, or a void of it
            if type_name == "EventVoided" and not self._void_target_ok(line, known, None):
                return None
            self._reference_version += 1
            version = self._reference_version
        else:
            assert employer is not None
            registration = type_name == "EmployerRegistered"
            # [version, registered_on]: mutated in place once the line is admitted
            head = self._last_head if employer == self._last_employer else \
                self._heads.get(employer)
            if head is None:
                if not registration:
                    self._error(line.number, "employer",
                                f"{employer!r} is not registered (no EmployerRegistered for "
                                "it in the ledger or earlier in this file)")
                    return None
                registered_on = line.effective
            elif head[1] is None:  # every registration of it was voided
                if registration:
                    registered_on = line.effective
                elif type_name == "EventVoided":  # which may bring a registration back
                    registered_on = None
                else:
                    self._error(line.number, "employer",
                                f"{employer!r} is not registered: its registration was "
                                "voided, and no EmployerRegistered for it follows (in the "
                                "ledger or earlier in this file)")
                    return None
            elif line.effective < head[1]:
                if not registration:
                    self._error(line.number, "effective",
                                f"{line.effective} is before {employer}'s registration "
                                f"on {head[1]}")
                    return None
                registered_on = line.effective
            else:
                registered_on = head[1]
                # a second registration on the day of the one counted: which stands is
                # decided by sender id (standing_registrations), not by the order written
                self._tied = registration and line.effective == registered_on
            if type_name == "EventVoided" and not self._void_target_ok(line, known, employer):
                return None
            if head is None:
                head = [1, registered_on, set()]
                self._remember(employer, head)
            else:
                head[0] += 1
                head[1] = registered_on
                if employer != self._last_employer:
                    self._remember(employer, head)
            if (registration or type_name == "EventVoided") and head[2] is not None \
                    and event_id is not None:
                head[2].add(event_id)
            self._last_employer, self._last_head = employer, head
            version = head[0]
        if line.state is None:
            env = line.envelope
            assert env is not None
            event = new_event(
                type_name, employer=employer, version=version, effective=env["effective"],
                recorded_at=env.get("recorded_at") or self.now, appended_at=self.now,
                event_id=event_id, by=env.get("by"), **env["data"])
            return Appended(event, line.content_hash)
        return StoredRow(type_name, _stream_hex(employer), version, line.state, event_id,
                         line.content_hash, employer,
                         _partner(line) if type_name == "EmployerRegistered" else None,
                         line.effective, line.recorded,
                         line.leaf if line.leaf_version == version else None)

    def _flag_taken(self, line: _Line, employer: str,
                    known: dict[str, tuple[str, str | None]]) -> bool:
        """Refuses a lapse flag whose employer, due date and level the ledger (or this file)
        already holds under any id: a flag is never written twice, whoever writes it. And a
        flag without an id whose key (:func:`commands.scan.flag_key`, the id the scan would
        give it) an event in the ledger or this file holds as its id: the outbox announces
        each flag under its key, which must be no other's. The ledger's flags are read once
        per employer; the write lock keeps them true."""
        data = _data(line)
        key = (str(data["due"]), str(data["level"]))
        flags = self._employer_flags(employer)
        if key in flags:
            self._error(line.number, "data.due",
                        f"a LapseRiskFlagged for {employer}, due {key[0]}, level {key[1]} is "
                        "already in the ledger or earlier in this file: a flag is never "
                        "written twice")
            return True
        if line.event_id is None and (derived := flag_id(employer, *key)) in known:
            self._error(line.number, "id",
                        f"none given, so this flag's key would be {derived!r}, which another "
                        "event in the ledger or earlier in this file has as its id: give the "
                        "flag an id of its own (a flag is announced under its key, which is "
                        "never another event's)")
            return True
        flags[key] = line.event_id
        return False

    def _idless_flags_key(self, line: _Line, event_id: str) -> bool:
        """Refuses a sender id equal to the key of a flag imported without an id, in the
        ledger or earlier in this file: that flag is announced under it, and two events
        under one key would be one notification."""
        fields = flag_id_fields(event_id)
        if fields is None:
            return False
        employer, due, level = fields
        flags = self._employer_flags(employer)
        if (due, level) not in flags or flags[(due, level)] is not None:
            return False
        self._error(line.number, "id",
                    f"{event_id!r} is the key of the LapseRiskFlagged for {employer}, due "
                    f"{due}, level {level}, which was imported without an id (in the ledger "
                    "or earlier in this file): a flag is announced under its key, which is "
                    "never another event's id")
        return True

    def _employer_flags(self, employer: str) -> dict[tuple[str, str], str | None]:
        """(due, level) -> sender id of the employer's flags, the ledger's and this file's
        so far; the ledger's are read once per employer."""
        flags = self._flags.get(employer)
        if flags is None:
            flags = self._flags[employer] = {
                (e.due.isoformat(), e.level): e.event_id for e in self.store.stream(employer)
                if isinstance(e, LapseRiskFlagged)}
        return flags

    def _void_target_ok(self, line: _Line, known: dict[str, tuple[str, str | None]],
                        employer: str | None) -> bool:
        target = _target(line)
        found = known.get(target)
        if found is None or (found[1] != employer and self.may_know is not None
                             and not self.may_know(found[1])):
            self._error(line.number, "data.target", f"no event with id {target!r} to void")
            return False
        if found[1] != employer:
            self._error(line.number, "data.target",
                        f"event {target!r} belongs to {found[1] or 'the reference data'}, "
                        f"not {employer or 'the reference data'}")
            return False
        return True


_REFERENCE = {name: cls.reference for name, cls in EVENT_TYPES.items()}
PARALLEL_FROM_LINES = 20_000  # below this, starting a parsing process costs more than it saves
PROBE_LINES = 1_000  # where a seekable file's length in lines is first estimated
BLOCK_BYTES = 1 << 19  # a parsing process's share of the file at a time (~2,000 lines)
CHUNKS_IN_FLIGHT = 3
PARSED_HERE_AHEAD = 2  # blocks the importing process parses itself while it waits, at most


def bytes_left(stream: IO[bytes]) -> int | None:
    """How many bytes a stream has left, when it can tell without reading: a file or an
    in-memory buffer (by seeking to its end and back), or a wrapper with its own
    ``bytes_left()`` (:class:`commands.session.DigestingReader`); None for a pipe."""
    own = getattr(stream, "bytes_left", None)
    if own is not None:
        return own()  # type: ignore[no-any-return]
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end - here


def _lines_left(stream: IO[bytes], lines: int, length: int) -> float:
    """About how many lines a stream has left, given that its last ``lines`` lines took
    ``length`` bytes; 0 when it cannot tell (a pipe: the threshold decides)."""
    left = bytes_left(stream)
    return left * lines / length if left and length else 0


def _parser_ready() -> bool:
    """A parsing process's first task: unpickling it imports this module (the parser), so
    once it is done the process parses at full speed."""
    return True


def parse_line(number: int, raw: bytes | LineError, now: datetime, now_text: str,
               ) -> _Line | list[LineError]:
    """One line on its own: valid (a :class:`_Line`, in stored form when the fast path took
    it), or the errors that refuse it. ``now`` is the import's clock (UTC), ``now_text`` it
    as stored."""
    if isinstance(raw, LineError):
        return [raw]
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return [LineError(number, "line", f"not valid JSON ({exc})")]
    try:
        canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        return [LineError(number, _deep_field(obj), "is nested too deeply")]
    twice = key_given_twice(raw, canonical)
    if twice is not None:
        return [LineError(number, twice, "is given twice in one JSON object (a reader "
                          "taking the first value would see another event)")]
    digest = hashlib.sha256(canonical).hexdigest()
    fast = fast_line(obj, now_text)
    if fast is not None:
        type_name, event_id, employer, effective, recorded, state = fast
        if type_name in FRACTION_TYPES and (inexact := inexact_number(raw, obj)) is not None:
            return [LineError(number, *inexact)]
        now_key = recorded_key(now)  # cached: one clock reading per import
        if recorded is None:
            recorded = now_key
        elif recorded > now_key:  # fixed-width keys: text order is time order
            return [_future(number, obj, now)]
        return _Line(number, type_name, event_id, employer, effective, digest, state, None,
                     recorded)
    try:
        envelope = fast_load(obj) or load_event(obj)
    except ValidationError as exc:
        return [LineError(number, path, message) for path, message in flatten(exc.messages)]
    if envelope["type"] in FRACTION_TYPES and (inexact := inexact_number(raw, obj)) is not None:
        return [LineError(number, *inexact)]
    recorded_at = envelope.get("recorded_at")
    if recorded_at is not None and recorded_at > now:
        return [_future(number, obj, now)]
    return _Line(number, envelope["type"], envelope.get("id"), envelope.get("employer"),
                 envelope["effective"].isoformat(), digest, None, envelope,
                 recorded_key(recorded_at or now))


class _Twice(dict):  # type: ignore[type-arg]
    """A JSON object in which ``key`` was given more than once."""

    key: str


def _keep_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    twice = None
    for key, value in pairs:
        if key in out and twice is None:
            twice = key
        out[key] = value
    if twice is None:
        return out
    marked = _Twice(out)
    marked.key = twice
    return marked


def key_given_twice(raw: bytes, canonical: bytes) -> str | None:
    """The path of a key given twice in one object of the line ``raw``, or None, at the
    import's speed; ``canonical`` is orjson's sorted form of what it read from ``raw``.

    orjson keeps the last of a key given twice. Each key has one ``:`` after it and the only
    other ``:`` are inside strings, which the canonical form writes as they were read unless
    an escape was used: so equal counts and no backslash prove there is no duplicate key, and
    only a line that fails that test is parsed again, slowly, to look.
    """
    if b"\\" in raw or raw.count(b":") != canonical.count(b":"):
        return duplicate_key(raw)
    return None


# A run of 16 digits and points: the shortest number text that can hold more significant
# digits than a binary double keeps (any decimal of at most 15 is read back as written),
# found as a run of 16 ones once digits and points are ones and all else zeros.
_DIGITS_AS_ONES = bytes(0x31 if chr(b) in "0123456789." else 0x30 for b in range(256))
_LONG_RUN = b"1" * 16


def inexact_number(raw: bytes, obj: Any) -> tuple[str, str] | None:
    """The path and refusal of the first number the JSON text ``raw`` writes more precisely
    than it was read into ``obj`` (orjson's reading of it), or None, at the import's speed.

    orjson reads a number with a point or exponent (or an integer too long for 64 bits) as
    a binary double: ``79.99999999999999999`` becomes ``80.0`` and would pass the 80% mark,
    ``100.00000000000000001`` the 0-100 range. A number is taken as written or refused: a
    score is held as ``Decimal(str(float))``, which equals what was written exactly when
    this finds nothing. Only a line with 16 digits in a row is parsed again, slowly, to
    compare (a key given twice is refused before this is asked). :func:`parse_line` asks
    only of a line it would accept of a type that takes such a number
    (:data:`commands.schemas.FRACTION_TYPES`): any other line holding one is refused."""
    if _LONG_RUN not in raw.translate(_DIGITS_AS_ONES):
        return None
    try:
        written = json.loads(raw, parse_float=Decimal)
    except (RecursionError, ValueError):
        return None  # what orjson read and this cannot is refused for its shape anyway
    stack: list[tuple[Any, Any, str]] = [(obj, written, "")]
    while stack:
        read, exact, path = stack.pop()
        if type(read) is float:
            if Decimal(repr(read)) != exact:
                return path or "line", (
                    f"{exact} is written more precisely than a number is read (it would be "
                    f"taken as {read!r}): give at most 15 significant digits")
        elif type(read) is dict and type(exact) is dict:
            stack.extend((v, exact.get(k), _joined(path, k)) for k, v in reversed(read.items()))
        elif type(read) is list and type(exact) is list:
            stack.extend((v, e, _joined(path, str(i))) for i, (v, e)
                         in reversed(list(enumerate(zip(read, exact, strict=False)))))
    return None


def duplicate_key(raw: bytes) -> str | None:
    """The path (``data.amount``) of the first key given twice in one object of a JSON line,
    or None. Slow (the standard library's parser): only for lines that may have one."""
    try:
        value = json.loads(raw, object_pairs_hook=_keep_twice)
    except RecursionError:
        return "line"  # deeper than can be checked: refused, naming the line
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if type(item) is _Twice:
            return _joined(path, item.key)
        if isinstance(item, dict):
            stack.extend((v, _joined(path, str(k))) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((v, _joined(path, str(i))) for i, v in reversed(list(enumerate(item))))
    return None


def _joined(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _deep_field(obj: Any) -> str:
    """The field holding a value too deep to write: a top-level key, or ``data.``'s."""
    if not isinstance(obj, dict):
        return "line"
    for key, value in obj.items():
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError:
            if key == "data" and isinstance(value, dict):
                inner = _deep_field(value)
                return "data" if inner == "line" else _joined("data", inner)
            return str(key)
    return "line"


def _future(number: int, obj: dict[str, Any], now: datetime) -> LineError:
    return LineError(number, "recorded_at",
                     f"{obj['recorded_at']} is in the future (the ledger's clock reads "
                     f"{now.isoformat()})")


def parse_chunk(chunk: list[tuple[int, bytes | LineError]], now: datetime, now_text: str,
                ) -> list[Any]:
    """:func:`parse_line` of each line, in the parsing process, with its leaf guessed
    (:func:`guess_leaves`). A valid line travels as a plain tuple (cheaper to pickle than
    the named one), errors as a list."""
    return guess_leaves([parse_line(number, raw, now, now_text) for number, raw in chunk],
                        now_text)


# The parsing process's count of lines per employer in this import (for guess_leaves): an
# import's clock reading, and its employers most recently seen, at most HEAD_CACHE_SIZE.
_line_counts: tuple[str, OrderedDict[str, int]] = ("", OrderedDict())


def guess_leaves(parsed: list[_Line | list[LineError]], now_text: str) -> list[Any]:
    """Parsed lines as plain tuples, each fast-path employer line with the Merkle leaf
    (:func:`ledger.merkle.event_leaf`) of the version it most likely gets: one more than the
    lines for its employer so far, as for an employer new to the ledger. Hashing here takes
    that work off the importing process, which uses a leaf only if it admits the line at
    that very version (else it hashes the line itself): an employer already in the ledger,
    a skipped line or a forgotten count cost a wasted hash, never a wrong leaf."""
    global _line_counts
    if _line_counts[0] != now_text:  # a new import
        _line_counts = (now_text, OrderedDict())
    counts = _line_counts[1]
    sha256, leaf_format = hashlib.sha256, LEAF_FORMAT
    out: list[Any] = []
    for p in parsed:
        if type(p) is not _Line:
            out.append(p)
            continue
        employer = p.employer
        if p.state is None or employer is None:
            out.append(tuple(p))
            continue
        version = counts.pop(employer, 0) + 1
        counts[employer] = version
        if len(counts) > HEAD_CACHE_SIZE:
            counts.popitem(last=False)
        leaf = sha256(leaf_format % (p.type_name.encode(), _stream_hex(employer).encode(),
                                     version, p.state)).digest()
        out.append((*p[:-2], leaf, version))
    return out


def parse_block(first: int, block: bytes, overlong: int | None, now: datetime,
                now_text: str) -> list[Any]:
    """:func:`parse_chunk` of a block from :func:`read_blocks`: its lines numbered from
    ``first``, blank ones skipped, each with its newline as :func:`read_lines` yields it;
    or the refusal of an overlong line."""
    if overlong is not None:
        return [[LineError(overlong, "line", f"longer than {MAX_LINE_BYTES} bytes")]]
    lines = block.split(b"\n")
    last = lines.pop()  # after the final newline: empty, or a last line without one
    chunk: list[tuple[int, bytes | LineError]] = [
        (first + k, raw + b"\n") for k, raw in enumerate(lines) if raw.strip()]
    if last.strip():
        chunk.append((first + len(lines), last))
    with collector_paused():  # in the parsing process too
        return parse_chunk(chunk, now, now_text)


def shared_parse(pool: Executor, blocks: Iterable[tuple[int, bytes, int | None]],
                 now: datetime, now_text: str) -> Iterator[list[Any]]:
    """:func:`parse_block` of each block, in order: in the parsing process, at most
    :data:`CHUNKS_IN_FLIGHT` blocks out at once, except that when the next result is not
    ready this process parses the next block itself rather than wait (at most
    :data:`PARSED_HERE_AHEAD` held), so both cores parse while the checks and inserts here
    leave time. Memory stays bounded; the lines come out as one process would parse them."""
    slots: deque[Future[bytes | list[Any]] | list[Any]] = deque()
    source = iter(blocks)
    in_flight = held_here = 0
    more = True
    while True:
        while more and in_flight < CHUNKS_IN_FLIGHT:
            block = next(source, None)
            if block is None:
                more = False
            else:
                slots.append(pool.submit(packed, parse_block, *block, now, now_text))
                in_flight += 1
        if not slots:
            return
        head = slots[0]
        if type(head) is list:
            held_here -= 1
            yield slots.popleft()  # type: ignore[misc]
            continue
        assert isinstance(head, Future)
        if more and held_here < PARSED_HERE_AHEAD and not head.done():
            block = next(source, None)
            if block is None:
                more = False
            else:
                slots.append(parse_block(*block, now, now_text))
                held_here += 1
            continue
        slots.popleft()
        in_flight -= 1
        result = head.result()
        yield marshal.loads(result) if isinstance(result, bytes) else result


def packed(parse: Callable[..., list[Any]], *args: Any) -> bytes | list[Any]:
    """``parse(*args)`` for its way back from the parsing process: as ``marshal`` bytes when
    every item is a valid line's plain tuple (several times cheaper to write and read than
    pickling the list, a tenth of an import's work), else the list itself. Both processes
    are one interpreter, so marshal's format is the same at both ends."""
    parsed = parse(*args)
    if all(type(p) is tuple for p in parsed):
        try:
            return marshal.dumps(parsed)
        except ValueError:  # a value marshal does not write: a typed envelope's dates
            pass
    return parsed


def _unpacked(parsed: list[Any]) -> Iterator[_Line | list[LineError]]:
    make = _Line._make
    for p in parsed:
        yield make(p) if type(p) is tuple else p


@lru_cache(maxsize=HEAD_CACHE_SIZE)
def _stream_hex(employer: str | None) -> str:
    """:func:`ledger.events.stream_id` as hex, through a cache as small as the head cache
    (stream_id's own holds 65536 UUIDs: an import of more employers would fill it)."""
    return stream_id.__wrapped__(employer).hex


def _data(line: _Line) -> dict[str, Any]:
    """A line's ``data``: typed (marshmallow path) or stored (fast path); the same for the
    text fields read here."""
    if line.envelope is not None:
        return line.envelope["data"]  # type: ignore[no-any-return]
    return orjson.loads(line.state)["data"]  # type: ignore[arg-type,no-any-return]


def _idless_flag_key(line: _Line) -> str:
    """The key of a flag line without an id: :func:`ledger.ids.flag_id` of it."""
    data = _data(line)
    assert line.employer is not None
    return flag_id(line.employer, str(data["due"]), str(data["level"]))


def _target(line: _Line) -> str:
    return _data(line)["target"]  # type: ignore[no-any-return]


def _partner(line: _Line) -> str:
    return _data(line)["partner"]  # type: ignore[no-any-return]
