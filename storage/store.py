"""The event store: one abstract interface, one small adapter per backend, one factory.

Events are kept by an ``eventsourcing`` application recorder (table ``stored_events``), one
stream per employer plus a reference stream. Beside it, two insert-mostly indexes are written
in the same transaction as the events they index:

- ``ledger_event_ids``: the sender's event ``id`` -> content hash and stream, which makes
  import idempotent and refuses a reused id with different content (the primary key is the
  last line of defence when two imports race);
- ``ledger_employers``: each registered employer, its stream and the date of its earliest
  registration that still counts (a voided ``EmployerRegistered`` does not; ``''`` when none
  does), which answers "is this employer registered, since when?" without replaying its
  stream;
- ``ledger_recorded``: each employer event's transaction time (``recorded_at``) and stream,
  keyed by time first, which answers "which employers did events recorded between two times
  touch?" (:meth:`LedgerStore.touched`, for ``corledger changes``) with one range scan, the
  streams named through ``ledger_employers`` (the stream id, not the employer's name, so any
  name a stream may carry is stored safely). A ledger made before this index gets it filled
  from its events when first opened.

A whole import runs in one write transaction (:meth:`LedgerStore.writer`): it commits at the
end or not at all, so a killed import leaves nothing behind.
"""

from __future__ import annotations

import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NamedTuple, cast
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent, Transcoder
from sqlalchemy.engine import URL, make_url

from ledger.codec import decode_state, encode_state, parse_time
from ledger.events import EmployerRegistered, LedgerEvent, stream_id
from ledger.voids import voided_ids
from storage.log import Db, ImportBatch, LogAppender, LogReader
from storage.sqlite_file import DEFAULT_DB as DEFAULT_DB  # where it always was


class StoreError(Exception):
    """The store cannot be opened or used as asked (bad URL, unsupported backend...)."""


# What a writer raises when an append conflicts with the ledger (a stream version or a
# sender id already taken): the library's IntegrityError, which the PostgreSQL adapter gets
# from eventsourcing, or sqlite3's, which the SQLite adapter lets through. Writers exclude
# each other, so only a bug (or a hand-made batch) gets one; it rolls the whole write back.
WRITE_CONFLICTS: tuple[type[Exception], ...] = (IntegrityError, sqlite3.IntegrityError)


class LedgerMapper(Mapper[UUID]):
    """Maps events to stored rows in the interchange-shaped format of :mod:`ledger.codec`.

    The topic is the interchange type name, a public and stable vocabulary, rather than a
    Python path that a refactoring would break.
    """

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=type(domain_event).__name__,
            state=encode_state(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        originator_id = stored_event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        return decode_state(stored_event.topic, originator_id, stored_event.originator_version,
                            bytes(stored_event.state))


class LedgerApplication(Application[UUID]):
    """The eventsourcing application that owns the recorder; our mapper stores the events."""

    name = "corledger"

    def construct_mapper(self) -> Mapper[UUID]:
        return LedgerMapper(transcoder=_UnusedTranscoder())


class _UnusedTranscoder(Transcoder):
    """The ledger mapper encodes events itself; eventsourcing insists on a transcoder."""

    def encode(self, obj: Any) -> bytes:  # pragma: no cover - never called
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:  # pragma: no cover - never called
        raise NotImplementedError


@dataclass(frozen=True)
class StreamHead:
    """What an import needs to know of an employer's stream before appending to it."""

    employer: str
    version: int
    registered_on: date | None  # None: every registration of it was voided


@dataclass(frozen=True)
class KnownId:
    """A sender's event id already in the ledger."""

    content_hash: str
    employer: str | None


@dataclass(frozen=True)
class Appended:
    """One event to append, with its index rows."""

    event: LedgerEvent
    content_hash: str | None


class StoredRow(NamedTuple):
    """One event already in its stored form, with what its index rows need.

    What writers insert. The import builds these straight from validated lines (without a
    typed event); :func:`stored_row` makes one from an :class:`Appended`.
    """

    topic: str
    stream: str  # the stream id's hex
    version: int
    state: bytes
    event_id: str | None
    content_hash: str | None
    employer: str | None
    partner: str | None  # set on an EmployerRegistered: it writes a ledger_employers row
    effective: str  # YYYY-MM-DD
    recorded: str  # recorded_at as :func:`recorded_key`: writes a ledger_recorded row
    # its Merkle leaf (ledger.merkle.event_leaf of these topic, stream, version and state)
    # when already hashed, as the import's parsing process does; None: the writer hashes it
    leaf: bytes | None = None


@lru_cache(maxsize=4096)  # an import stamps every line without recorded_at with one time
def recorded_key(moment: datetime) -> str:
    """A transaction time as the ``ledger_recorded`` index keeps it: UTC, fixed width
    (``2020-06-01T09:00:00.000000Z``), so text order is time order on both stores."""
    utc = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    # by hand, not strftime: its %Y writes a year below 1000 without its leading zeros, and
    # it costs as much as the rest of verify's work on an event (which makes each key again)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}.{utc.microsecond:06d}Z")


def recorded_key_of(text: str) -> str:
    """:func:`recorded_key` of a stored ``recorded_at`` (its text in an event's state).

    A UTC time is stored as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (:func:`ledger.codec.format_time`):
    once it parses, its key is the same text with six fraction digits, as the import's fast
    path makes it (:func:`commands.fastpath.compile_line`); any other form is parsed."""
    if len(text) in (20, 27) and text[4:19:3] == "--T::" and text[19] in "Z." and (
            text[-1] == "Z" and text.isascii()):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return text if len(text) == 27 else text[:19] + ".000000Z"
    return recorded_key(parse_time(text))


def recorded_rows(rows: Sequence[StoredRow]) -> list[tuple[str, str, int]]:
    """The ``ledger_recorded`` rows (recorded, stream, version) of employer events."""
    return [(r.recorded, r.stream, r.version) for r in rows if r.employer is not None]


def recorded_backfill(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[str, str, int]]:
    """``ledger_recorded`` rows from stored events ``(stream, version, state)``, for a ledger
    made before the index: the state's JSON carries the employer and ``recorded_at``."""
    for stream, version, state in rows:
        hex_id = stream.hex if isinstance(stream, UUID) else UUID(str(stream)).hex
        # the topic does not matter to this index
        yield from recorded_rows([row_of_stored("", hex_id, version, bytes(state))])


def row_of_stored(topic: str, stream: str, version: int, state: bytes) -> StoredRow:
    """A stored event read back as the :class:`StoredRow` its writer inserted, so that its
    index rows are made again by the writer's own functions (:func:`recorded_rows`,
    :func:`event_id_rows`, :func:`registration_rows`): ``verify`` recomputes the indexes
    with them. Its ``content_hash`` is None: it is the hash of the object the sender sent
    (before the ledger stamped its times), which the stored event does not carry."""
    data = orjson.loads(state)
    employer = data.get("employer")
    return StoredRow(topic, stream, version, state, data.get("id"), None, employer,
                     data["data"]["partner"] if topic == "EmployerRegistered" else None,
                     data["effective"], recorded_key_of(data["recorded_at"]))


def event_id_rows(rows: Sequence[StoredRow]) -> list[tuple[str, str | None, str | None, str,
                                                           int]]:
    """The ``ledger_event_ids`` rows (event id, content hash, employer, stream, version)."""
    return [(r.event_id, r.content_hash, r.employer, r.stream, r.version)
            for r in rows if r.event_id is not None]


def registration_rows(rows: Sequence[StoredRow]) -> list[tuple[str | None, str, str, str]]:
    """The ``ledger_employers`` rows (employer, stream, partner, effective) that the writer
    upserts for registrations: a later one replaces the row only when it is effective
    earlier, or when no registration of the employer counts (:func:`standing_registrations`
    decides the row again after a void)."""
    return [(r.employer, r.stream, r.partner, r.effective) for r in rows if r.partner is not None]


def registration_facts(events: Iterable[tuple[str, bytes]],
                       ) -> tuple[list[tuple[str | None, str, str]], list[tuple[str | None, str]]]:
    """An employer's ``EmployerRegistered`` and ``EventVoided`` events (topic, stored state),
    in stream order, as :func:`standing_registrations` takes them: its registrations
    ``(id, effective, partner)`` and voids ``(void id, target)``."""
    registrations: list[tuple[str | None, str, str]] = []
    voids: list[tuple[str | None, str]] = []
    for topic, state in events:
        row = orjson.loads(state)
        if topic == "EmployerRegistered":
            registrations.append((row["id"], row["effective"], row["data"]["partner"]))
        elif topic == "EventVoided":
            voids.append((row["id"], row["data"]["target"]))
    return registrations, voids


def standing_registrations(registrations: Sequence[tuple[str | None, str, str]],
                           voids: Iterable[tuple[str | None, str]],
                           ) -> list[tuple[str, str, int, str]]:
    """An employer's registrations that count once voids are applied (chains resolved), from
    its ``(id, effective, partner)`` registrations in stream order and ``(void id, target)``
    voids: ``(effective, id, position, partner)``, the earliest first, as
    :func:`projections.order.standing_registration` picks it (by effective date, then sender
    id; ties of both: the first written). ``ledger_employers.registered_on`` is the first's
    date (``''`` when none counts). The one place both the importer (after a void) and
    ``verify`` decide it."""
    voided = voided_ids(voids)
    return sorted((effective, event_id or "", n, partner) for n, (event_id, effective, partner)
                  in enumerate(registrations) if event_id not in voided)


def stored_row(item: Appended | StoredRow) -> StoredRow:
    if type(item) is StoredRow:
        return item
    event = item.event  # type: ignore[union-attr]
    return StoredRow(type(event).__name__, event.originator_id.hex, event.originator_version,
                     encode_state(event), event.event_id, item.content_hash,  # type: ignore[union-attr]
                     event.employer,
                     event.partner if isinstance(event, EmployerRegistered) else None,
                     event.effective.isoformat(), recorded_key(event.recorded_at))


@dataclass(frozen=True)
class Touched:
    """A run of the event log, as a catch-up needs it (:meth:`LedgerStore.touched_after`)."""

    events: int  # how many events the run holds
    last: int  # the log position of its last event (the start, when it is empty)
    employers: set[str]  # the employers whose streams its events are in


def touched_from(rows: Sequence[tuple[int, str, str | None]], after: int,
                 first_state: Callable[[str], bytes]) -> Touched:
    """:class:`Touched` from a run's rows ``(position, stream hex, employer)``, the
    employer found by joining the employer index (None for the reference stream). A stream
    the index does not hold (none should) is named by its first event's stored state, read
    with ``first_state(stream hex)``."""
    reference = stream_id(None).hex
    employers = {employer for _, _, employer in rows if employer is not None}
    for stream in {s for _, s, e in rows if e is None and s != reference}:
        employer = orjson.loads(first_state(stream))["employer"]
        if employer:
            employers.add(employer)
    return Touched(len(rows), max((p for p, _, _ in rows), default=after), employers)


class Writer(ABC):
    """One write transaction: reads see what it has appended so far.

    Each writer keeps the Merkle log (:mod:`storage.log`) in step with what it appends, in
    the same transaction, whoever the caller is.
    """

    log: LogAppender

    def record_batch(self, batch: ImportBatch) -> None:
        """Puts this write on the record as an import batch, committed with its events."""
        self.log.batch = batch

    @abstractmethod
    def heads(self, employers: Collection[str]) -> dict[str, StreamHead]:
        """The stream head of each registered employer among ``employers``."""

    @abstractmethod
    def reference_version(self) -> int:
        """The last version of the reference stream (0 when empty)."""

    @abstractmethod
    def known_ids(self, event_ids: Collection[str]) -> dict[str, KnownId]:
        """Which of these sender ids the ledger holds already, with their content hash."""

    @abstractmethod
    def append(self, batch: Sequence[Appended | StoredRow]) -> None:
        """Appends the events (typed, or already in stored form) and their index rows."""

    @abstractmethod
    def registration_events(self, employer: str) -> list[tuple[str, bytes]]:
        """The (topic, stored state) of the employer's ``EmployerRegistered`` and
        ``EventVoided`` events appended so far, in stream order: what decides whether, and
        since when, it is registered once voids are counted."""

    @abstractmethod
    def set_registration(self, employer: str, registered_on: date | None,
                         partner: str | None) -> None:
        """Records the employer's standing registration after a void changed it: its date
        (None: no registration of it counts any more) and partner (None: left as it was)."""


class LedgerStore(ABC):
    """Reads and writes the ledger's events, whatever the backend."""

    url: URL
    read_only: bool = False  # an SQLite file on read-only media: queries work, writers refuse
    app: LedgerApplication

    @abstractmethod
    def writer(self) -> AbstractContextManager[Writer]:
        """A write transaction, exclusive of other writers, committed when the block ends."""

    @abstractmethod
    def employers(self) -> list[str]:
        """Every registered employer, sorted."""

    @abstractmethod
    def log_db(self) -> AbstractContextManager[Db]:
        """A connection for the Merkle log's reads and its checkpoint writes (autocommit)."""

    def log(self) -> AbstractContextManager[LogReader]:
        """The Merkle log, to question (sizes, roots, proofs, checkpoints, batches)."""
        from contextlib import contextmanager

        @contextmanager
        def reader() -> Iterator[LogReader]:
            with self.log_db() as db:
                yield LogReader(db)

        return reader()

    def now(self) -> datetime:
        """The clock the log stamps its tree heads with (the ledger's own time axis)."""
        return datetime.now(UTC)

    def stream(self, employer: str, tree_size: int | None = None, *,
               leaving_out: Collection[str] = ()) -> list[LedgerEvent]:
        """An employer's events in append order (empty when never registered).

        With ``tree_size``, only those among the first ``tree_size`` entries of the log: what
        the ledger held then, whatever the events' ``recorded_at`` (``--ledger-at``). Events
        of the types in ``leaving_out`` are not read at all (a status fold reads nothing
        from money events: :data:`projections.timeline.NOT_FOR_STATUS`).
        """
        return self._cut(self._stream(stream_id(employer), frozenset(leaving_out)), tree_size)

    def _cut(self, events: list[LedgerEvent], tree_size: int | None) -> list[LedgerEvent]:
        """The one place ``--ledger-at``/``--tree-size`` filters what a fold reads."""
        if tree_size is None or not events:
            return events
        with self.log() as log:
            within = log.versions_within(events[0].originator_id.hex, tree_size)
        return [e for e in events if e.originator_version in within]

    def reference(self, tree_size: int | None = None) -> list[LedgerEvent]:
        """The reference data (base rates), in append order (``tree_size``: as in stream)."""
        return self._cut(self._cached_reference(), tree_size)

    @abstractmethod
    def touched(self, since: datetime, until: datetime | None = None,
                partner: str | None = None) -> list[str]:
        """The employers (of ``partner``, if given) with an event recorded after ``since``
        and at or before ``until`` (None: up to now), sorted: one range scan of the
        ``ledger_recorded`` index, whatever the size of the ledger."""


    _reference: tuple[LedgerEvent, ...] = ()

    def _cached_reference(self) -> list[LedgerEvent]:
        """The reference data (base rates), in append order. Read once per store object and
        then kept by its stream position: a later call reads only the events appended since
        (events are never changed), after one indexed look-up of the stream's head."""
        originator_id = stream_id(None)
        recorder = self.app.recorder
        head = recorder.select_events(originator_id, desc=True, limit=1)
        version = head[0].originator_version if head else 0
        cached = self._reference if version >= len(self._reference) else ()
        if version > len(cached):
            mapper = self.app.mapper
            cached += tuple(cast(LedgerEvent, mapper.to_domain_event(s)) for s in
                            recorder.select_events(originator_id, gt=len(cached)))
            self._reference = cached
        return list(cached)

    def _stream(self, originator_id: UUID, leaving_out: frozenset[str] = frozenset()
                ) -> list[LedgerEvent]:
        events: list[LedgerEvent] = list(self.app.events.get(originator_id))  # type: ignore[arg-type]
        return [e for e in events if e.type_name() not in leaving_out]

    def notifications(self, after: int, limit: int) -> list[tuple[int, LedgerEvent]]:
        """Events in global append order after position ``after``, at most ``limit``."""
        rows = self.app.recorder.select_notifications(after, limit, inclusive_of_start=False)
        mapper = self.app.mapper
        return [(n.id, cast(LedgerEvent, mapper.to_domain_event(n))) for n in rows]

    @abstractmethod
    def touched_after(self, after: int, limit: int) -> Touched:
        """What a read-model catch-up needs of the next ``limit`` events after log position
        ``after``: how many there are, the position of the last, and the employers whose
        streams they are in (reference data names none), read without decoding the events
        (their stream ids, joined to the employer index: :func:`touched_from`)."""

    def position(self) -> int:
        """The position of the last appended event (0 when empty)."""
        return self.app.recorder.max_notification_id() or 0

    @abstractmethod
    def position_sql(self) -> str:
        """:meth:`position` as SQL (a query of one value, NULL when empty) in the ledger's
        own database: a read-model query compares its slot with the head of the log in the
        same statement, so in one snapshot and one round trip."""

    def close(self) -> None:
        self.app.close()


def open_store(url: str | None = None, create: bool = True) -> LedgerStore:
    """Opens (creating the schema on first use) the store a database URL names.

    ``url`` defaults to ``$CORLEDGER_DB``, else ``sqlite:///corledger.db``. A
    ``postgresql://`` (or ``postgresql+psycopg://``) URL selects the server store. With
    ``create=False`` a ledger that does not exist is refused rather than created: an SQLite
    file, or the ledger's tables in a PostgreSQL database (a database that does not exist
    is always refused).
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        from storage.sqlite import SQLiteStore, missing_ledger

        if not create:
            missing_ledger(parsed)
        return SQLiteStore(parsed)
    if backend in ("postgresql", "postgres"):
        from storage.postgres import PostgresStore

        return PostgresStore(parsed, create=create)
    raise StoreError(f"unsupported database {backend!r} in {_safe(parsed)!r}: "
                     "use sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME")


def create_database(url: str | None = None) -> bool:
    """Creates the server database a URL names if it does not exist; True when created.

    For SQLite there is nothing to create beforehand (opening the store creates the file),
    so this returns False.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        from storage.postgres import create_database as create_pg_database

        return create_pg_database(parsed)
    return False


def _parse(url: str | None) -> URL:
    text = url or os.environ.get("CORLEDGER_DB") or DEFAULT_DB
    try:
        return make_url(text)
    except Exception as exc:
        raise StoreError(f"not a database URL: {text!r} ({exc})") from None


def _safe(url: URL) -> str:
    """The URL as it may be printed: without its password."""
    return url.render_as_string(hide_password=True)


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Slices of at most ``size`` items, to keep SQL ``IN`` lists within driver limits."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


NOT_REGISTERED = ""
"""``ledger_employers.registered_on`` of an employer none of whose registrations counts."""


def registered_on_from_column(value: str) -> date | None:
    return None if value == NOT_REGISTERED else date.fromisoformat(value)


def registered_on_to_column(value: date | None) -> str:
    return NOT_REGISTERED if value is None else value.isoformat()
