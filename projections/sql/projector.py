"""The pull-based projector: brings the read models up to the head of the event log.

``eventsourcing``'s ``ProjectionRunner`` cannot subscribe on SQLite, so the projector pulls.
One :func:`project_batch` is one SQLAlchemy transaction: take the slot's tracking row (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT ... FOR UPDATE``), read which employers the events
after its position belong to (:meth:`~storage.store.LedgerStore.touched_after`, without
decoding them), re-fold each over its whole stream (known now), replace that employer's
rows, and advance the position with ``UPDATE ... WHERE position = :last``. If that
update does not hit exactly one row another projector won: roll back, nothing is written.
So every batch is applied exactly once, a killed projector leaves its last commit in place,
and two projectors racing cannot double a row (rows are replaced per employer, keyed by
employer and valid_from, and only the position holder commits).

**Catching up: queries catch up first.** :func:`catch_up` is called by every query that reads
the read models (:mod:`projections.sql.queries`). When nothing is new it costs two indexed reads
(the tracking row and the log's max position). An import does not project: it stays one
short write transaction, and the cost of projecting falls on the first query after it (or on
``corledger projections rebuild`` / a scheduled ``catch_up`` for a big import). A catch-up at
least :data:`PARALLEL_CATCH_UP` events behind (a bulk import, a slot made anew after an
upgrade) shares each batch's fold among worker processes, one per CPU, while this process
holds the slot and writes what they hand back.

**Rebuild** (:func:`rebuild`) fills the slot that is not live from scratch, folding each
employer once, catches it up to the head, then flips which slot is live in the same
transaction as its final catch-up, so queries answer throughout.

**Upgrades.** Each slot records the :data:`~projections.sql.revision.READ_MODEL_REVISION` it
was built under. Rows built by other code (an older corledger, before a rule fix) are wrong
with no new event to say so: :func:`catch_up` finds the live slot stale, empties it and sets
its position to 0 in one locked transaction (one process does it; the others then see a slot
that is merely behind), and catches it up from the first event with progress shown. A query
that does not wait (one employer's ``status``) leaves that to the next list query or
``projections rebuild`` and folds its employer's stream meanwhile.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, inspect, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.schema import CreateIndex, CreateTable

from ledger.codec import decode_rows
from ledger.collector import collector_paused
from ledger.rulebooks import RULES, RuleRegistry
from projections.sql.read_models import (
    SLOTS,
    EmployerRows,
    employer_rows,
    failed,
    revisions,
    slot_tables,
    tracking,
)
from projections.sql.revision import READ_MODEL_REVISION
from projections.timeline import NOT_FOR_STATUS
from storage.bulk import StreamRows, insert_rows, read_streams
from storage.engine import SQLITE_BUSY_TIMEOUT_SECONDS, engine_for
from storage.schema import ensure
from storage.store import LedgerStore, chunks
from storage.workers import ordered_results, worker_pool, worker_store

log = logging.getLogger(__name__)

BATCH_EVENTS = 20_000  # notifications per catch-up transaction
REBUILD_EMPLOYERS = 500  # employers folded per rebuild write


class LostRace(Exception):
    """Another projector advanced the position first: this batch was rolled back."""


class Busy(Exception):
    """The tracking row is locked by another writer and we were asked not to wait."""


@dataclass(frozen=True)
class Progress:
    """Where the live read models stand against the event log."""

    slot: str
    position: int
    head: int
    failed: tuple[Failure, ...] = ()  # employers whose fold failed (their rows are stale)
    revision: int | None = READ_MODEL_REVISION  # the revision the slot was built under

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)

    @property
    def stale(self) -> bool:
        """Built by other code than this: the next query rebuilds the slot from the log."""
        return self.revision != READ_MODEL_REVISION


# --- schema and tracking --------------------------------------------------------------------

_READY: set[str] = set()


def engine_of(store: LedgerStore) -> Engine:
    """The SQLAlchemy engine of the store's database."""
    return engine_for(store.url.render_as_string(hide_password=False))


def ensure_schema(engine: Engine) -> None:
    """Creates the read-model tables and tracking rows if missing (once per process). A
    slot's tables that exist are left as they are: while a rebuild fills them, their
    secondary indexes are made only after the bulk load (:func:`rebuild`)."""
    key = str(engine.url)
    if key in _READY:
        return
    slot_tables_all = [t for slot in SLOTS for t in slot_tables(slot)]
    have = set(inspect(engine).get_table_names())
    ensure(engine, [tracking, failed, revisions,
                    *(t for t in slot_tables_all if t.name not in have)])
    with engine.begin() as conn:
        have = set(conn.execute(select(tracking.c.name)).scalars())
        for slot in SLOTS:
            if slot not in have:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(tracking).values(
                            name=slot, position=0, live=slot == SLOTS[0], token=None))
                        _set_revision(conn, slot)  # empty, so built under this revision
                except IntegrityError:
                    pass  # another process created it first
    _READY.add(key)


def live_slot(conn: Connection) -> tuple[str, int]:
    """The live slot and its position."""
    row = conn.execute(select(tracking.c.name, tracking.c.position)
                       .where(tracking.c.live.is_(True))).one()
    return row.name, int(row.position)


def slot_revision(conn: Connection, slot: str) -> int | None:
    """The revision a slot's rows were built under (None: before revisions were kept)."""
    found = conn.execute(select(revisions.c.revision)
                         .where(revisions.c.slot == slot)).scalar_one_or_none()
    return None if found is None else int(found)


def _set_revision(conn: Connection, slot: str) -> None:
    """Records that the slot's rows are now built under this code's revision."""
    conn.execute(delete(revisions).where(revisions.c.slot == slot))
    conn.execute(insert(revisions).values(slot=slot, revision=READ_MODEL_REVISION))


def progress(store: LedgerStore) -> Progress:
    """The live slot's position, the head of the event log, and so the lag."""
    engine = engine_of(store)
    ensure_schema(engine)
    with engine.connect() as conn:
        slot, position = live_slot(conn)
        failing = tuple(failures(conn, slot))
        revision = slot_revision(conn, slot)
    return Progress(slot, position, store.position(), failing, revision)


@contextmanager
def _locked(engine: Engine, slot: str, wait: bool) -> Any:
    """A transaction holding the slot's tracking row, yielding (connection, position)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        try:
            if sqlite:
                if not wait:
                    conn.exec_driver_sql("PRAGMA busy_timeout = 0")
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, now
                finally:
                    if not wait:
                        conn.exec_driver_sql(
                            f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            query = select(tracking.c.position).where(tracking.c.name == slot)
            if not sqlite:
                query = query.with_for_update(nowait=not wait)
            position = int(conn.execute(query).scalar_one())
        except OperationalError as exc:
            conn.rollback()
            if not wait:
                raise Busy(str(exc)) from exc
            raise
        try:
            yield conn, position
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _advance(conn: Connection, slot: str, last: int, new: int) -> None:
    """Moves the slot's position from ``last`` to ``new``, or raises :class:`LostRace`."""
    result = conn.execute(update(tracking)
                          .where(tracking.c.name == slot, tracking.c.position == last)
                          .values(position=new))
    if result.rowcount != 1:
        raise LostRace(f"slot {slot}: position is no longer {last}")


# --- writing rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """An employer whose stream could not be folded, and why."""

    employer: str
    error: str


@dataclass
class Folded:
    """The rows of the employers that folded, and the employers that did not."""

    rows: list[EmployerRows]
    failures: list[Failure]


def fold_employers(
    store: LedgerStore, employers: Iterable[str], registry: RuleRegistry = RULES
) -> Folded:
    """Each employer's rows, folded over its whole stream as known now. One stream that
    cannot be folded (a bug, a stream too big for memory) is reported, not raised: the
    others still get their rows. Streams are read :data:`REBUILD_EMPLOYERS` at a time, each
    slice in one statement."""
    out = Folded([], [])
    engine = engine_of(store)
    with collector_paused():  # reading and folding make no cycles: see ledger.collector
        for part in chunks(list(employers), REBUILD_EMPLOYERS):
            with engine.connect() as conn:  # the money events change no row: not read
                streams = read_streams(conn, part, leaving_out=NOT_FOR_STATUS)
            for stream in streams:
                _fold_stream(stream, registry, out)
                stream.rows.clear()  # the stored rows are not needed once folded
    return out


def _fold_stream(stream: StreamRows, registry: RuleRegistry, out: Folded) -> None:
    """Decodes and folds one stream into ``out`` (its rows, or its failure)."""
    employer, originator_id = stream.employer, stream.originator_id
    try:
        events = decode_rows(originator_id, stream.rows)
        out.rows.append(employer_rows(employer, events, registry))
    except Exception as exc:  # noqa: BLE001 - any failure of one stream is reported
        log.error("read models: employer %s could not be projected: %r", employer, exc)
        out.failures.append(Failure(employer, f"{type(exc).__name__}: {exc}"[:1000]))


@dataclass
class FoldedValues:
    """:class:`Folded` as table rows (:meth:`EmployerRows.status_values`, ``lapse_values``):
    what a worker process hands back, cheap to send (the documents are JSON text already)."""

    employers: list[str]  # those that folded
    status: list[tuple[Any, ...]]
    lapse: list[tuple[Any, ...]]
    because: list[tuple[Any, ...]]
    failures: list[Failure]

    @classmethod
    def of(cls, folded: Folded, log_position: int) -> FoldedValues:
        rows = folded.rows
        return cls([r.employer for r in rows],
                   [v for r in rows for v in r.status_values(log_position)],
                   [v for r in rows for v in r.lapse_values()],
                   [v for r in rows for v in r.because_values()], folded.failures)


def write_rows(conn: Connection, slot: str, values: FoldedValues, log_position: int) -> None:
    """Replaces the folded employers' rows in the slot's tables (batched, no per-row trips)
    and records which employers failed (their last good rows stay)."""
    tables = slot_tables(slot)
    for part in chunks(values.employers):
        for table in tables:
            conn.execute(delete(table).where(table.c.employer.in_(part)))
    record_failures(conn, slot, values.employers, values.failures, log_position)
    _insert_values(conn, slot, values)


def _insert_values(conn: Connection, slot: str, values: FoldedValues) -> None:
    """Inserts the status and lapse rows of folded employers into the slot's tables."""
    status_table, lapse_table, because_table = slot_tables(slot)
    insert_rows(conn, status_table, values.status)
    insert_rows(conn, lapse_table, values.lapse)
    insert_rows(conn, because_table, values.because)


def record_failures(conn: Connection, slot: str, folded: Sequence[str],
                    failures: Sequence[Failure], log_position: int) -> None:
    """Clears the failure marks of employers that folded, and marks those that failed."""
    marked = [*folded, *(f.employer for f in failures)]
    for part in chunks(marked):
        conn.execute(delete(failed).where(failed.c.slot == slot, failed.c.employer.in_(part)))
    if failures:
        conn.execute(insert(failed), [{"slot": slot, "employer": f.employer,
                                       "position": log_position, "error": f.error}
                                      for f in failures])


def failures(conn: Connection, slot: str, employer: str | None = None) -> list[Failure]:
    """The employers (or this employer) whose last fold into ``slot`` failed."""
    query = select(failed.c.employer, failed.c.error).where(failed.c.slot == slot)
    if employer is not None:
        query = query.where(failed.c.employer == employer)
    return [Failure(r.employer, r.error) for r in conn.execute(query.order_by(failed.c.employer))]


# --- catching up -------------------------------------------------------------------------------

# Test seam: called after a batch's rows are written and before its commit.
before_commit: Callable[[str, int], None] | None = None


def project_batch(store: LedgerStore, slot: str | None = None, *, limit: int = BATCH_EVENTS,
                  wait: bool = True, registry: RuleRegistry = RULES,
                  employers: int | None = None, pool: Executor | None = None) -> int:
    """Applies the next batch of at most ``limit`` events to a slot (default: the live one)
    in one transaction; returns how many events it applied (0: the slot was at the head).

    With ``employers``, the batch reads on, ``limit`` events at a time, while it touches
    fewer employers than that: each employer it touches is re-folded once over its whole
    stream, so a long stream appended in many pages is folded once, not once a page. With
    a ``pool`` of worker processes (:func:`catch_up` of a long lag) they fold, a share each,
    while this process holds the slot and writes."""
    engine = engine_of(store)
    ensure_schema(engine)
    if slot is None:
        with engine.connect() as conn:
            slot, _ = live_slot(conn)
    # paused over the batch: its events and rows make no cycles (ledger.collector)
    with _locked(engine, slot, wait) as (conn, last), collector_paused():
        new, applied = last, 0
        touched: set[str] = set()
        while True:
            run = store.touched_after(new, limit)
            if not run.events:
                break
            new, applied = run.last, applied + run.events
            touched |= run.employers
            if employers is None or run.events < limit or len(touched) >= employers:
                break
        if not applied:
            return 0
        write_rows(conn, slot, _fold_values(store, sorted(touched), registry, new, pool), new)
        _advance(conn, slot, last, new)
        if before_commit is not None:
            before_commit(slot, new)
        return applied


def _fold_values(store: LedgerStore, employers: list[str], registry: RuleRegistry,
                 log_position: int, pool: Executor | None) -> FoldedValues:
    """The employers folded into table rows: here, or shared out among ``pool``'s workers
    (when there is one, the rules are the ledger's own, and enough employers to share)."""
    workers = _cpus()
    if pool is None or registry is not RULES or len(employers) < 2 * workers:
        return FoldedValues.of(fold_employers(store, employers, registry), log_position)
    url = store.url.render_as_string(hide_password=False)
    size = -(-len(employers) // workers)
    out = FoldedValues([], [], [], [], [])
    try:
        shares = [pool.submit(_fold_values_in_worker, url, employers[i:i + size],
                              log_position) for i in range(0, len(employers), size)]
        for share in shares:
            part = share.result()
            out.employers += part.employers
            out.status += part.status
            out.lapse += part.lapse
            out.because += part.because
            out.failures += part.failures
    except BrokenProcessPool as exc:  # a worker died (killed, out of memory): fold here
        log.warning("read models: a catch-up worker died (%s); folding in this process", exc)
        return FoldedValues.of(fold_employers(store, employers, registry), log_position)
    return out


def _fold_values_in_worker(url: str, employers: list[str], log_position: int) -> FoldedValues:
    """A catch-up worker: :func:`fold_employers` with the worker's own store, as rows."""
    with collector_paused():
        return FoldedValues.of(fold_employers(worker_store(url), employers, RULES),
                               log_position)


def _cpus() -> int:
    return os.cpu_count() or 1


PARALLEL_CATCH_UP = 50_000
"""Events behind: a catch-up of at least this many folds in one worker process per CPU
(a bulk import, or a slot made anew after an upgrade); below, starting them costs more."""


OnProgress = Callable[[int, int], None]
"""Told (events applied, events to apply) before and after each batch of a catch-up."""


def catch_up(store: LedgerStore, *, wait: bool = True, limit: int = BATCH_EVENTS,
             registry: RuleRegistry = RULES, on_progress: OnProgress | None = None
             ) -> str | None:
    """Brings the live slot to the head of the log and returns its name; cheap when nothing
    is new. Returns None when ``wait`` is False and another writer holds the lock (the live
    slot may then be behind). ``on_progress`` hears how far a catch-up has come, so the
    caller never waits in silence."""
    engine = engine_of(store)
    if store.read_only:  # nothing can be written: the read models serve only when current
        return _current_slot(engine, store)
    ensure_schema(engine)
    start: int | None = None
    with ExitStack() as stack:
        pool: Executor | None = None
        while True:
            with engine.connect() as conn:
                slot, position = live_slot(conn)
                revision = slot_revision(conn, slot)
            if revision != READ_MODEL_REVISION:
                if not wait:  # a one-employer query folds its stream rather than rebuild all
                    return None
                _reset_stale(engine, slot, wait)
                continue  # the slot is now empty at position 0: catch it up like any other
            head = store.position()
            if start is None:
                start = position
            if on_progress is not None and head > start:
                on_progress(min(position, head) - start, head - start)
            if position >= head:
                return slot
            if pool is None and wait and head - position >= PARALLEL_CATCH_UP \
                    and _cpus() > 1 and registry is RULES:
                pool = stack.enter_context(worker_pool(_cpus()))
            try:
                project_batch(store, slot, limit=limit, wait=wait, registry=registry,
                              employers=REBUILD_EMPLOYERS * (_cpus() if pool else 1),
                              pool=pool)
            except Busy:
                return None
            except LostRace:
                continue  # someone else applied that batch: look again


def _reset_stale(engine: Engine, slot: str, wait: bool) -> None:
    """Empties a slot built under another revision and sets it to position 0 and this
    revision, in one transaction holding its tracking row; a no-op if another process did
    it first. Its tables are made anew, as this code declares them: other code may have
    laid them out otherwise (a column or an index since added)."""
    with _locked(engine, slot, wait) as (conn, position):
        if slot_revision(conn, slot) == READ_MODEL_REVISION:
            return
        log.warning("read models: slot %s was built by other code (revision %s, now %s): "
                    "rebuilding it from the event log", slot, slot_revision(conn, slot),
                    READ_MODEL_REVISION)
        tables = slot_tables(slot)
        _drop_tables(conn, tables)
        for table in tables:
            conn.execute(CreateTable(table))
        _create_indexes(conn, tables)
        conn.execute(delete(failed).where(failed.c.slot == slot))
        _advance(conn, slot, position, 0)
        _set_revision(conn, slot)


def _current_slot(engine: Engine, store: LedgerStore) -> str | None:
    """The live slot when it exists, was built under this revision and is at the head of
    the log, else None."""
    try:
        with engine.connect() as conn:
            slot, position = live_slot(conn)
            revision = slot_revision(conn, slot)
    except DBAPIError:  # no read-model tables in this ledger
        return None
    current = revision == READ_MODEL_REVISION and position >= store.position()
    return slot if current else None


# --- rebuilding --------------------------------------------------------------------------------


def _rebuild_part(store: LedgerStore, employers: Sequence[str], head: int, slot: str,
                  token: str, registry: RuleRegistry) -> list[Failure]:
    """Folds a slice of employers and writes their rows into the slot being rebuilt, in
    one transaction that first checks the rebuild still owns the slot; returns the
    employers that failed. Run in a worker, the rows never cross a process boundary."""
    engine = engine_of(store)
    # Paused until the rows are freed: resumed while they live, the collector would first
    # traverse every object folded (they are all young).
    with collector_paused():
        folded = fold_employers(store, employers, registry)
        with _locked(engine, slot, True) as (conn, _):
            _check_token(conn, slot, token)
            _insert_values(conn, slot, FoldedValues.of(folded, head))
            record_failures(conn, slot, (), folded.failures, head)
        failures = folded.failures
        del folded
    return failures


def _rebuild_part_in_worker(url: str, employers: Sequence[str], head: int, slot: str,
                            token: str) -> int:
    """A rebuild worker: :func:`_rebuild_part` with the worker's own store."""
    _rebuild_part(worker_store(url), employers, head, slot, token, RULES)
    return len(employers)
PARALLEL_FROM = 2_000  # employers: below this, forking workers costs more than it saves


def _rebuilt_parts(store: LedgerStore, employers: Sequence[str], head: int, slot: str,
                   token: str, workers: int, registry: RuleRegistry) -> Iterator[int]:
    """Folds and writes the employers slice by slice, in ``workers`` processes when there
    are enough employers (the fold is CPU-bound Python); yields each slice's size when it
    is written."""
    parts = list(chunks(employers, REBUILD_EMPLOYERS))
    if workers <= 1 or len(employers) < PARALLEL_FROM or registry is not RULES:
        for part in parts:
            _rebuild_part(store, part, head, slot, token, registry)
            yield len(part)
        return
    url = store.url.render_as_string(hide_password=False)
    with worker_pool(workers) as pool:
        yield from ordered_results(pool, _rebuild_part_in_worker,
                                   ((url, part, head, slot, token) for part in parts),
                                   in_flight=2 * workers)


def rebuild(store: LedgerStore, *, on_progress: Callable[[int, int], None] | None = None,
            registry: RuleRegistry = RULES, workers: int | None = None) -> Progress:
    """Rebuilds the read models from scratch into the slot that is not live, then makes it
    live. ``on_progress(done, total)`` is called as employers are folded; ``workers``
    processes fold (default: one per CPU), each employer once."""
    engine = engine_of(store)
    ensure_schema(engine)
    token = uuid.uuid4().hex
    with engine.begin() as conn:
        live, _ = live_slot(conn)
        target = next(s for s in SLOTS if s != live)
        conn.execute(update(tracking).where(tracking.c.name == target)
                     .values(position=0, token=token))
    tables = slot_tables(target)
    with engine.begin() as conn:
        _drop_tables(conn, tables)
        for table in tables:  # bare: rows load faster with only the primary key to keep
            conn.execute(CreateTable(table, if_not_exists=True))
        conn.execute(delete(failed).where(failed.c.slot == target))
    head = store.position()
    employers = store.employers()
    total = len(employers)
    if on_progress is not None:
        on_progress(0, total)
    done = 0
    for count in _rebuilt_parts(store, employers, head, target, token,
                                workers or os.cpu_count() or 1, registry):
        done += count
        if on_progress is not None:
            on_progress(done, total)
    with engine.begin() as conn:
        _check_token(conn, target, token)
        _create_indexes(conn, tables)
        _advance(conn, target, 0, head)
    # Events appended while we folded: catch the new slot up, then flip it live in the same
    # transaction as its last (possibly empty) batch.
    while project_batch(store, target, registry=registry) > 0:
        pass
    with _locked(engine, target, True) as (conn, last):
        run = store.touched_after(last, BATCH_EVENTS)
        if run.events:
            write_rows(conn, target, _fold_values(store, sorted(run.employers), registry,
                                                  run.last, None), run.last)
            _advance(conn, target, last, run.last)
            last = run.last
        _check_token(conn, target, token)
        _set_revision(conn, target)
        conn.execute(update(tracking).values(live=tracking.c.name == target))
        conn.execute(update(tracking).where(tracking.c.name == target).values(token=None))
    with engine.connect() as conn:
        failed_now = tuple(failures(conn, target))
    return Progress(target, last, store.position(), failed_now)


def _drop_tables(conn: Connection, tables: Iterable[Table]) -> None:
    """Drops the slot's old tables. On SQLite without overwriting their freed pages with
    zeros (``secure_delete``, on in many builds): those pages held rows derived from the
    events that stay in the same file, and zeroing them wrote the whole old slot again (at
    10k employers 2.2 s of CPU, a ninth of a rebuild)."""
    with _sqlite_pragma(conn, "secure_delete", 0):
        for table in tables:
            table.drop(conn, checkfirst=True)


def _create_indexes(conn: Connection, tables: Iterable[Table]) -> None:
    """Builds the tables' secondary indexes, as their :class:`Table` declares them, once
    their rows are in: one sorted build instead of an insert into each index per row. It
    runs alone at the end of a rebuild, so on SQLite the sort may use a helper thread per
    CPU (at 100k employers, 4.0 s instead of 5.3 s)."""
    with _sqlite_pragma(conn, "threads", min(os.cpu_count() or 1, 8)):
        for table in tables:
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                conn.execute(CreateIndex(index, if_not_exists=True))


@contextmanager
def _sqlite_pragma(conn: Connection, name: str, value: int) -> Iterator[None]:
    """On SQLite, an integer PRAGMA set to ``value`` for the block, then put back as it was
    (the connection returns to the pool); elsewhere, nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    was = conn.exec_driver_sql(f"PRAGMA {name}").scalar()
    conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA {name} = {int(was or 0)}")


def _check_token(conn: Connection, slot: str, token: str) -> None:
    found = conn.execute(select(tracking.c.token).where(tracking.c.name == slot)).scalar_one()
    if found != token:
        raise LostRace(f"another rebuild took over slot {slot}")
