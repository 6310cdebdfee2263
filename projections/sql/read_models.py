"""The read models: each employer's status timeline and lapse index, as SQL tables.

The status document changes only on a few dates: when an event takes effect, when the
calendar applies a deadline (a due date and its grace passing), on a certificate's
anniversaries (``cycle_year``), the day after a limited-scope window ends, when a rulebook
version comes into force and (AMHSA) on each January 1. :func:`employer_rows` folds an
employer's stream once, walking those change points in date order, and keeps one row per
run of identical documents: a row holds for valid time ``[valid_from, valid_to)``
(``valid_to`` NULL: from then on). The document is stored rendered (without its per-query
``as_of``), beside indexed columns for the cross-employer queries (``roll``). Its ``because``
is stored apart, once per cycle: within a certification cycle the fold only appends
decisions, so every row of a cycle cites a prefix of the cycle's longest list (table
``rm_because``; the row keeps the cycle's number and how many entries it cites). It was four
fifths of each stored document.

The lapse index holds, for the same intervals, the :class:`projections.lapses.LapseFacts`
(which case applies, ``held``, ``due``, ``limited`` or ``missed``, the due date(s), the grace
end and the reasons): :func:`projections.lapses.lapse_decision` needs only those, the as-of
date and the window. ``lapses --as-of D
--within N`` is then a range query over it (see :mod:`projections.sql.queries`).

Every table exists twice, in slots ``a`` and ``b``: queries read the live slot while
``projections rebuild`` fills the other one, then the rebuild flips which slot is live.
Everything here answers "as known now" only; ``--known-at`` queries fold the stream.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from ledger import events as ev
from ledger.rulebooks import RULES, Rule, Rulebook, RuleRegistry
from projections.lapses import LapseFacts, lapse_facts
from projections.status import render_with
from projections.timeline import Fold, in_fold_order, next_audit
from projections.voids import with_voids
from storage.schema import metadata

SLOTS = ("a", "b")
TRACKING = "rm_tracking"

tracking = Table(
    TRACKING, metadata,
    Column("name", String(32), primary_key=True),  # the slot: "a" or "b"
    Column("position", BigInteger, nullable=False),  # last event log position applied
    Column("live", Boolean, nullable=False),  # whether queries read this slot
    Column("token", String(64), nullable=True),  # the rebuild filling it, if any
)
"""Per slot: how far in the event log its tables are, and whether queries read it."""


def _status_table(slot: str) -> Table:
    name = f"rm_status_{slot}"
    return Table(
        name, metadata,
        Column("employer", String(128), primary_key=True),
        Column("valid_from", Date, primary_key=True),
        Column("valid_to", Date, nullable=True),  # exclusive; NULL: open-ended
        Column("partner", String(16), nullable=False),
        Column("program", String(16), nullable=True),
        Column("status", String(16), nullable=False),
        Column("cert_issued", Date, nullable=True),
        Column("cert_expires", Date, nullable=True),
        Column("next_kind", String(16), nullable=True),
        Column("next_due", Date, nullable=True),
        Column("flags", String(256), nullable=False),  # comma-separated, INTERCHANGE order
        Column("event_version", Integer, nullable=True),  # stream position of its event
        Column("log_position", BigInteger, nullable=False),  # event log when projected
        Column("document", Text, nullable=False),  # the status JSON, as_of null, no because
        # its ``because``: the first because_count entries of the employer's cycle
        # because_cycle in the because table (a cycle's entries only grow, so are kept once)
        Column("because_cycle", Integer, nullable=False),
        Column("because_count", Integer, nullable=False),
        Index(f"ix_{name}_roll", "valid_from", "valid_to"),
        Index(f"ix_{name}_partner", "partner", "valid_from"),
    )


def _lapse_table(slot: str) -> Table:
    name = f"rm_lapse_{slot}"
    return Table(
        name, metadata,
        Column("employer", String(128), primary_key=True),
        Column("valid_from", Date, primary_key=True),
        Column("valid_to", Date, nullable=True),
        Column("partner", String(16), nullable=False),
        Column("status", String(16), nullable=False),
        Column("kind", String(8), nullable=False),  # held / due / limited / missed
        Column("due", Date, nullable=True),  # held, due, limited: the due date listed
        Column("grace_end", Date, nullable=True),  # the last day of grace (of a miss too)
        Column("miss_due", Date, nullable=True),  # the missed requirement's due date
        Column("reasons", String(256), nullable=False),  # JSON list
        Index(f"ix_{name}_due", "due"),
        Index(f"ix_{name}_grace", "grace_end"),
        Index(f"ix_{name}_miss", "miss_due"),
        # a held row is found by its own due date, or by the due date of the audit owed
        # after it (miss_due): each branch of the lapses query is one range of one index
        Index(f"ix_{name}_kind", "kind", "due"),
        Index(f"ix_{name}_kind_next", "kind", "miss_due"),
    )


def _because_table(slot: str) -> Table:
    return Table(
        f"rm_because_{slot}", metadata,
        Column("employer", String(128), primary_key=True),
        Column("cycle", Integer, primary_key=True),  # numbered from 0 per employer
        Column("entries", Text, nullable=False),  # JSON list: the cycle's longest because
    )


failed = Table(
    "rm_failed", metadata,
    Column("slot", String(32), primary_key=True),
    Column("employer", String(128), primary_key=True),
    Column("position", BigInteger, nullable=False),  # the event log when the fold failed
    Column("error", Text, nullable=False),
)
"""Employers whose stream could not be folded into a slot: their rows there are the last
good ones, and a status query folds their stream on demand instead."""

revisions = Table(
    "rm_revision", metadata,
    Column("slot", String(32), primary_key=True),
    Column("revision", Integer, nullable=False),
)
"""Per slot: the :data:`projections.sql.revision.READ_MODEL_REVISION` its rows were built
under (no row: built by code older than the revisions, so stale)."""

STATUS = {slot: _status_table(slot) for slot in SLOTS}
LAPSE = {slot: _lapse_table(slot) for slot in SLOTS}
BECAUSE = {slot: _because_table(slot) for slot in SLOTS}


STATUS_COLUMNS = tuple(c.name for c in STATUS[SLOTS[0]].c)
LAPSE_COLUMNS = tuple(c.name for c in LAPSE[SLOTS[0]].c)


def slot_tables(slot: str) -> tuple[Table, Table, Table]:
    """The status, lapse and because tables of a slot."""
    return STATUS[slot], LAPSE[slot], BECAUSE[slot]


# --- rows of one employer ------------------------------------------------------------------


@dataclass(init=False)
class Interval:
    """One run of identical status documents, ``[valid_from, valid_to)`` (``__init__``
    written out: see :class:`~projections.timeline.Decision`)."""

    valid_from: date
    valid_to: date | None
    document: dict[str, Any]
    lapse: LapseFacts | None
    event_version: int | None

    def __init__(self, valid_from: date, valid_to: date | None, document: dict[str, Any],
                 lapse: LapseFacts | None, event_version: int | None) -> None:
        self.valid_from = valid_from
        self.valid_to = valid_to
        self.document = document
        self.lapse = lapse
        self.event_version = event_version


@dataclass
class EmployerRows:
    """An employer's rows: the status intervals (its lapse rows derive from them)."""

    employer: str
    intervals: list[Interval]
    _cycles_memo: tuple[list[tuple[int, int]], list[list[Any]]] | None = field(
        default=None, repr=False, compare=False)

    def status_values(self, log_position: int) -> list[tuple[Any, ...]]:
        """Rows for the status table, as tuples in :data:`STATUS_COLUMNS` order (the
        certificate's and next audit's dates as the document's ISO text, which is how
        SQLite stores a date and what PostgreSQL's ``COPY`` reads)."""
        out = []
        employer = self.employer
        dumps = orjson.dumps
        cycles = self._cycles()[0]
        for i, (cycle, count) in zip(self.intervals, cycles, strict=True):
            doc = dict(i.document)
            del doc["because"]
            cert = doc["certificate"]
            nxt = doc["next_audit"]
            out.append((
                employer, i.valid_from, i.valid_to, doc["partner"], doc["program"],
                doc["status"],
                cert["issued"] if cert else None,
                cert["expires"] if cert else None,
                nxt["kind"] if nxt else None,
                nxt["due"] if nxt else None,
                ",".join(doc["flags"]), i.event_version, log_position,
                dumps(doc).decode(), cycle, count))
        return out

    def because_values(self) -> list[tuple[Any, ...]]:
        """Rows for the because table: each cycle's entries, once."""
        return [(self.employer, n, orjson.dumps(entries).decode())
                for n, entries in enumerate(self._cycles()[1])]

    def _cycles(self) -> tuple[list[tuple[int, int]], list[list[Any]]]:
        """Each interval's (cycle, count), and each cycle's entries: consecutive intervals
        whose ``because`` lists are prefixes of one another share a cycle (within a
        certification cycle the fold only appends decisions), kept as the longest."""
        if self._cycles_memo is not None:
            return self._cycles_memo
        of: list[tuple[int, int]] = []
        cycles: list[list[Any]] = []
        for i in self.intervals:
            entries = i.document["because"]
            if cycles:
                last = cycles[-1]
                n = min(len(last), len(entries))
                if last[:n] == entries[:n]:
                    if len(entries) > len(last):
                        cycles[-1] = entries
                    of.append((len(cycles) - 1, len(entries)))
                    continue
            cycles.append(entries)
            of.append((len(cycles) - 1, len(entries)))
        self._cycles_memo = (of, cycles)
        return self._cycles_memo

    def status_rows(self, log_position: int) -> list[dict[str, Any]]:
        """Rows for the status table, as column -> value."""
        return [dict(zip(STATUS_COLUMNS, row, strict=True))
                for row in self.status_values(log_position)]

    def lapse_values(self) -> list[tuple[Any, ...]]:
        """Rows for the lapse index, as tuples in :data:`LAPSE_COLUMNS` order: consecutive
        intervals with the same facts merged."""
        out: list[tuple[Any, ...]] = []
        last: LapseFacts | None = None
        for i in self.intervals:
            facts = i.lapse
            if facts is not None and facts == last and out[-1][2] == i.valid_from:
                out[-1] = (*out[-1][:2], i.valid_to, *out[-1][3:])
            elif facts is not None:
                doc = i.document
                out.append((self.employer, i.valid_from, i.valid_to, doc["partner"],
                            doc["status"], facts.kind, facts.due, facts.grace_end,
                            facts.miss_due, orjson.dumps(list(facts.reasons)).decode()))
            last = facts
        return out

    def lapse_rows(self) -> list[dict[str, Any]]:
        """Rows for the lapse index, as column -> value."""
        return [dict(zip(LAPSE_COLUMNS, row, strict=True)) for row in self.lapse_values()]


class CachedRegistry(RuleRegistry):
    """A registry that remembers each (partner, date) rulebook it built: the fold asks for
    the same few dates thousands of times, and a rulebook is immutable. Which rules are in
    force changes only on the days rule versions come into force, so the rules chosen for a
    new date are found among those already chosen for its span between two such days."""

    def __init__(self, base: RuleRegistry) -> None:
        super().__init__(base.all())
        self._books: dict[tuple[str, date], Rulebook] = {}
        self._spans: dict[str, list[date]] = {}  # partner -> the days its rules change
        self._chosen: dict[tuple[str, int], Mapping[str, Rule]] = {}  # (partner, span)

    def rulebook_for(self, partner: str, on: date) -> Rulebook:
        key = (partner, on)
        book = self._books.get(key)
        if book is None:
            if len(self._books) > 100_000:
                self._books.clear()
            spans = self._spans.get(partner)
            if spans is None:
                spans = self._spans[partner] = self.since_dates(partner)
            span = (partner, bisect_right(spans, on))
            rules = self._chosen.get(span)
            if rules is None:
                book = super().rulebook_for(partner, on)
                self._chosen[span] = book.rules
            else:
                book = Rulebook(partner, on, rules)
            self._books[key] = book
        return book


@cache
def cached(registry: RuleRegistry) -> CachedRegistry:
    """The caching twin of a registry (one per registry, for the process)."""
    return registry if isinstance(registry, CachedRegistry) else CachedRegistry(registry)


def employer_rows(
    employer: str, events: Iterable[ev.LedgerEvent], registry: RuleRegistry = RULES
) -> EmployerRows:
    """Folds an employer's whole stream (known now) once, rendering the status document on
    each day an event that can change it takes effect and each day the fold says its answer
    may change (:meth:`Fold.next_change_after`), keeping one interval per run of identical
    documents."""
    known, voids = with_voids(events, None)
    view = in_fold_order(e for e in known if not e.reference)
    engine = Fold(employer, cached(registry), voids=voids)
    timeline = engine.timeline
    intervals: list[Interval] = []
    index, count = 0, len(view)
    day: date | None = view[0].effective if view else None
    change: date | None = None
    while day is not None:
        version = None
        moved = day == change  # a day the fold named: the calendar may change the answer
        while index < count and view[index].effective <= day:
            event = view[index]
            moved = engine.apply(event) or moved
            version = event.originator_version
            index += 1
        engine.advance_to(day)
        change = engine.next_change_after(day)
        if moved and timeline.registration is not None:
            nxt = next_audit(timeline)
            document = render_with(timeline, nxt)
            document["as_of"] = None
            facts = lapse_facts(timeline, document["flags"], nxt,
                                certified=document["certificate"] is not None)
            if not (intervals and intervals[-1].document == document
                    and intervals[-1].lapse == facts):
                if intervals:
                    intervals[-1].valid_to = day
                intervals.append(Interval(day, None, document, facts, version))
        if index < count:  # the next event's day, or the fold's next change if sooner
            upcoming = view[index].effective
            day = change if change is not None and change < upcoming else upcoming
        else:
            day = change
    return EmployerRows(employer, intervals)
