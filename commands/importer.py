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
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import orjson
from marshmallow import ValidationError

from commands.fastpath import fast_load
from commands.schemas import flatten, load_event
from ledger.codec import new_event
from ledger.events import EVENT_TYPES, EmployerRegistered, EventVoided
from ledger.store import Appended, KnownId, LedgerStore, StreamHead, Writer

MAX_LINE_BYTES = 1 << 20  # an event line longer than 1 MiB is refused, not read into memory
BATCH_SIZE = 2000
MAX_ERRORS = 20
HEAD_CACHE_SIZE = 4096


@dataclass(frozen=True)
class LineError:
    """One reason a file was refused, with the line and field it names."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


class ImportRefused(Exception):
    """The file was refused whole; nothing from it was written."""

    def __init__(self, errors: list[LineError], truncated: bool = False) -> None:
        self.errors = errors
        self.truncated = truncated
        super().__init__("; ".join(str(e) for e in errors[:3]))


@dataclass
class ImportResult:
    added: int = 0
    skipped: int = 0
    lines: int = 0


@dataclass
class _Line:
    number: int
    envelope: dict[str, Any]
    content_hash: str


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
        if raw.strip():
            yield number, raw


@dataclass
class Importer:
    """Imports one JSONL stream into a store; ``now`` is the import's clock reading (UTC)."""

    store: LedgerStore
    now: datetime
    batch_size: int = BATCH_SIZE
    on_bytes: Callable[[int], None] | None = None
    errors: list[LineError] = field(default_factory=list)
    result: ImportResult = field(default_factory=ImportResult)

    def run(self, stream: IO[bytes]) -> ImportResult:
        """Imports the whole stream, or raises :class:`ImportRefused` having written nothing."""
        with self.store.writer() as writer:
            self._heads: OrderedDict[str, StreamHead] = OrderedDict()
            self._reference_version = writer.reference_version()
            pending: list[_Line] = []
            for number, raw in read_lines(stream, self.on_bytes):
                self.result.lines += 1
                line = self._parse(number, raw)
                if line is not None:
                    pending.append(line)
                if len(pending) >= self.batch_size:
                    self._flush(writer, pending)
                    pending = []
                if len(self.errors) >= MAX_ERRORS:
                    raise ImportRefused(self.errors, truncated=True)
            self._flush(writer, pending)
            if self.errors:
                raise ImportRefused(self.errors)
        return self.result

    def _error(self, line: int, field_name: str, message: str) -> None:
        self.errors.append(LineError(line, field_name, message))

    def _parse(self, number: int, raw: bytes | LineError) -> _Line | None:
        if isinstance(raw, LineError):
            self.errors.append(raw)
            return None
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            self._error(number, "line", f"not valid JSON ({exc})")
            return None
        try:
            envelope = fast_load(obj) or load_event(obj)
        except ValidationError as exc:
            for path, message in flatten(exc.messages):
                self._error(number, path, message)
            return None
        recorded_at = envelope.get("recorded_at")
        if recorded_at is not None and recorded_at > self.now:
            self._error(number, "recorded_at",
                        f"{obj['recorded_at']} is in the future (the ledger's clock reads "
                        f"{self.now.isoformat()})")
            return None
        return _Line(number, envelope, content_hash(obj))

    def _flush(self, writer: Writer, pending: list[_Line]) -> None:
        if not pending:
            return
        ids = {line.envelope["id"] for line in pending if "id" in line.envelope}
        ids |= {line.envelope["data"]["target"] for line in pending
                if line.envelope["type"] == "EventVoided"}
        known: dict[str, KnownId] = writer.known_ids(ids) if ids else {}
        self._load_heads(writer, {line.envelope.get("employer") for line in pending})
        batch: list[Appended] = []
        for line in pending:
            item = self._admit(line, known)
            if item is not None:
                batch.append(item)
                if item.event.event_id is not None:
                    known[item.event.event_id] = KnownId(line.content_hash, item.event.employer)
        writer.append(batch)
        self.result.added += len(batch)

    def _load_heads(self, writer: Writer, employers: set[str | None]) -> None:
        missing = {e for e in employers if e is not None and e not in self._heads}
        found = writer.heads(missing) if missing else {}
        for employer in missing:
            head = found.get(employer)
            if head is not None:
                self._remember(head)

    def _remember(self, head: StreamHead) -> None:
        self._heads[head.employer] = head
        self._heads.move_to_end(head.employer)
        while len(self._heads) > HEAD_CACHE_SIZE:
            self._heads.popitem(last=False)

    def _admit(self, line: _Line, known: dict[str, KnownId]) -> Appended | None:
        """Checks a valid line against the ledger; returns the event to append, if any."""
        env = line.envelope
        event_id = env.get("id")
        if event_id is not None and event_id in known:
            if known[event_id].content_hash == line.content_hash:
                self.result.skipped += 1
                return None
            self._error(line.number, "id",
                        f"{event_id!r} is already in the ledger with different content "
                        "(a correction is a new event, e.g. EventVoided)")
            return None
        cls = EVENT_TYPES[env["type"]]
        employer: str | None = env.get("employer")
        if cls.reference:
            self._reference_version += 1
            version = self._reference_version
        else:
            assert employer is not None
            head = self._heads.get(employer)
            if head is None and cls is not EmployerRegistered:
                self._error(line.number, "employer",
                            f"{employer!r} is not registered (no EmployerRegistered for it "
                            "in the ledger or earlier in this file)")
                return None
            if head is None:
                head = StreamHead(employer, 0, env["effective"])
            elif env["effective"] < head.registered_on:  # type: ignore[operator]
                if cls is not EmployerRegistered:
                    self._error(line.number, "effective",
                                f"{env['effective']} is before {employer}'s registration "
                                f"on {head.registered_on}")
                    return None
                head = StreamHead(employer, head.version, env["effective"])
            if cls is EventVoided and not self._void_target_ok(line, known, employer):
                return None
            head = StreamHead(employer, head.version + 1, head.registered_on)
            self._remember(head)
            version = head.version
        event = new_event(
            env["type"], employer=employer, version=version, effective=env["effective"],
            recorded_at=env.get("recorded_at") or self.now, appended_at=self.now,
            event_id=event_id, by=env.get("by"), **env["data"])
        return Appended(event, line.content_hash)

    def _void_target_ok(self, line: _Line, known: dict[str, KnownId], employer: str) -> bool:
        target = line.envelope["data"]["target"]
        found = known.get(target)
        if found is None:
            self._error(line.number, "data.target", f"no event with id {target!r} to void")
            return False
        if found.employer != employer:
            self._error(line.number, "data.target",
                        f"event {target!r} belongs to {found.employer or 'the reference data'}, "
                        f"not {employer}")
            return False
        return True
