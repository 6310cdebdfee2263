"""What each page shows, gathered from the ledger: plain data for the templates.

Every function takes the store and the already-checked scope (the partner a list is limited
to, or None for every partner); access checks stay in :mod:`service.auth`. The employer page
folds the stream as of a date as known at a time; the lists read the SQL read models.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from commands.csvout import render as render_csv
from commands.receipts import current_size, receipt
from ledger import events as ev
from ledger.codec import event_to_state
from projections.diff import View, diff
from projections.incentive import summarize
from projections.order import NameBook
from projections.sql.payment_run import DecisionCache
from projections.sql.queries import ROLL_FIELDS, lapses_from_read_model, roll_call
from projections.status import render
from projections.timeline import Decision, EmployerTimeline, fold
from projections.voids import in_view
from service.params import MAX_VERIFY
from service.web.timeline import TimelineLayout, event_key, is_late, layout
from storage.store import LedgerStore

# --- the employer page --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    """One event of the stream as the page lists it, with what the fold made of it."""

    key: str
    type: str
    effective: date
    recorded_at: datetime
    by: str | None
    data: dict[str, Any]
    late: bool
    known: bool  # recorded by known-at
    counted: bool  # in view: known and not voided
    decisions: tuple[Decision, ...]


@dataclass
class EmployerPage:
    employer: str
    name: str | None
    document: dict[str, Any]
    timeline: EmployerTimeline
    chart: TimelineLayout
    events: list[EventRow]
    moments: list[datetime]  # every distinct recorded time: the known-at slider's stops
    selected: EventRow | None = None
    bands: list[tuple[str, date, date | None]] = field(default_factory=list)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def employer_page(stream: Sequence[ev.LedgerEvent], employer: str, as_of: date,
                  known_at: datetime | None, selected: str | None) -> EmployerPage:
    """The employer page's data from the employer's whole stream (pure)."""
    from service.web.timeline import bands

    t = fold(stream, as_of=as_of, known_at=known_at, employer=employer)
    counted = {id(e) for e in in_view(stream, known_at)}
    by_event: dict[str, list[Decision]] = {}
    for d in t.decisions:
        if d.event is not None:
            by_event.setdefault(event_key(d.event), []).append(d)
    rows = []
    for e in stream:
        if e.reference:
            continue
        key = event_key(e)
        known = known_at is None or _aware(e.recorded_at) <= known_at
        rows.append(EventRow(key, e.type_name(), e.effective, _aware(e.recorded_at), e.by,
                             event_to_state(e)["data"], is_late(e), known,
                             id(e) in counted and e.effective <= as_of,
                             tuple(by_event.get(key, ()))))
    chosen = next((r for r in rows if r.key == selected), None)
    return EmployerPage(
        employer, t.registration.name if t.registration else None, render(t), t,
        layout(t, stream, chosen.key if chosen else None), rows,
        sorted({_aware(e.recorded_at) for e in stream if not e.reference}), chosen, bands(t))


def compared(stream: Sequence[ev.LedgerEvent], employer: str, from_as_of: date,
             from_known_at: datetime | None, as_of: date, known_at: datetime | None
             ) -> dict[str, Any]:
    """What changed between another view and the page's (the diff of ``corledger diff``):
    each differing field with the events, voids, calendar and rules that made it change."""
    return diff(stream, employer=employer, before=View(from_as_of, from_known_at),
                after=View(as_of, known_at))


def event_receipt(store: LedgerStore, stream: Sequence[ev.LedgerEvent], key: str
                  ) -> dict[str, Any] | None:
    """The receipt shown beside a selected event: the log's current tree size and root hash,
    and the event's index in the log, so that a kept checkpoint of that size (or a later one)
    with ``corledger proof`` proves the event is the one the page shows."""
    event = next((e for e in stream if event_key(e) == key), None)
    if event is None:
        return None
    doc = receipt(store, current_size(store), [])
    with store.log() as log:
        doc["event_index"] = log.index_of(event.originator_id.hex, event.originator_version)
    return doc


# --- names: for the roll's search and the verification -----------------------------------------


class NameIndex:
    """Each employer's name (its standing registration's: :class:`projections.order.NameBook`,
    the rule every reader names employers by), kept up to date from the event log's
    notifications (the read models carry no names). One per process; it reads only events
    appended since it last looked."""

    def __init__(self) -> None:
        self._book = NameBook()
        self._position = 0
        self._lock = threading.Lock()

    def names(self, store: LedgerStore) -> dict[str, str]:
        with self._lock:
            while True:
                batch = store.notifications(self._position, 5000)
                if not batch:
                    break
                for position, event in batch:
                    self._book.add(event)
                    self._position = position
            return dict(self._book.names())


NAMES = NameIndex()


# --- the roll -------------------------------------------------------------------------------------


ROLL_COLUMNS = ("employer", "name", *ROLL_FIELDS[1:])


def roll(store: LedgerStore, as_of: date, scope: str | None, *, query: str = "",
         partner: str | None = None, status: str | None = None, flag: str | None = None
         ) -> list[dict[str, Any]]:
    """The roll on ``as_of`` within ``scope``, filtered by partner, status and flag, and
    searched by id or name (case-insensitive substring)."""
    if scope is not None and partner not in (None, scope):
        return []
    rows = roll_call(store, as_of, scope or partner)
    names = NAMES.names(store)
    needle = query.strip().casefold()
    out = []
    for row in rows:
        name = names.get(row["employer"], "")
        if status and row["status"] != status:
            continue
        if flag and flag not in row["flags"]:
            continue
        if needle and needle not in row["employer"].casefold() and needle not in name.casefold():
            continue
        out.append({"name": name, **row})
    return out


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV: one line per row, lists joined with spaces, empty cells for nulls, formula
    cells neutralised (the one CSV writer, :mod:`commands.csvout`)."""
    return render_csv(columns, rows)


# --- lapses and incentives ------------------------------------------------------------------------


def lapses(store: LedgerStore, as_of: date, within: int, scope: str | None, *,
           partner: str | None = None) -> list[dict[str, Any]]:
    """The lapse-risk entries on ``as_of`` within ``scope``, filtered by partner (as the
    roll is), soonest due first."""
    if scope is not None and partner not in (None, scope):
        return []
    return lapses_from_read_model(store, as_of, within, scope or partner)


def incentives(store: LedgerStore, employers: Iterable[str], year: int, today: date,
               runs: DecisionCache) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each employer's incentive decision for ``year`` as asked ``today`` (through the
    service's kept ``runs``), and the totals."""
    docs = [d for d in runs.run(store, list(employers), year, known_at=None, asked_on=today)
            if d["partner"] is not None]
    return docs, summarize(docs)


def reasons(doc: dict[str, Any]) -> list[str]:
    """Why an incentive decision came out as it did: its decisions after the registration."""
    return [b["says"] for b in doc["because"][1:]]


# --- public verification --------------------------------------------------------------------------


class TooMany(ValueError):
    """More ids than one verification answers."""


def parse_ids(text: str) -> list[str]:
    """Employer ids from pasted or uploaded text (commas, spaces or lines between them),
    in order, each once; more than :data:`MAX_VERIFY` is refused."""
    ids: list[str] = []
    for part in text.replace(",", " ").replace(";", " ").split():
        if part not in ids:
            ids.append(part)
    if len(ids) > MAX_VERIFY:
        raise TooMany(f"{len(ids)} employer ids given; one verification answers at most "
                      f"{MAX_VERIFY}")
    return ids
