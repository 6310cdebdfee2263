"""Answers from the read models: ``status`` (known now), ``lapses`` and the roll call.

Each query first calls :func:`projections.sql.projector.catch_up`, so it sees every event
committed before it started, then reads the live slot; ``status`` first tries one statement
that reads its row and checks, in the same snapshot, that the slot is live and at the head
of the log (then it needs no catch-up). The answers are the documents the
on-demand fold gives (:func:`projections.status.status`, :func:`projections.lapses.lapses`):
the tests hold them equal over random histories, dates and windows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    Date,
    Row,
    Select,
    String,
    and_,
    bindparam,
    literal_column,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.exc import DBAPIError

from ledger.events import EVENT_TYPES, LedgerEvent
from ledger.rulebooks import RULES, Rule
from projections.lapses import (
    LapseFacts,
    LapseWindow,
    lapse_decision,
    lapses,
    longest_grace_days,
)
from projections.sql.projector import (
    OnProgress,
    catch_up,
    engine_of,
    ensure_schema,
    failures,
)
from projections.sql.quick import stored_status
from projections.sql.read_models import (
    SLOTS,
    failed,
    revisions,
    slot_tables,
    tracking,
)
from projections.sql.revision import READ_MODEL_REVISION
from projections.status import render, unregistered
from projections.timeline import NOT_FOR_STATUS, fold
from storage.store import LedgerStore


def status_stream(store: LedgerStore, employer: str, tree_size: int | None = None,
                  ) -> list[LedgerEvent]:
    """What a status fold reads of an employer's stream: every event but those it reads
    nothing from (money, rates, flags: :data:`NOT_FOR_STATUS`), which are left unread. A long
    history is mostly payroll and premiums; ``status --known-at`` then costs what the
    employer's certification history holds."""
    return store.stream(employer, tree_size, leaving_out=NOT_FOR_STATUS)


def status_from_read_model(store: LedgerStore, employer: str, as_of: date, *,
                           on_progress: OnProgress | None = None) -> dict[str, Any]:
    """The ``status --json`` document of ``employer`` on ``as_of``, as known now.

    When another projector holds the lock and the read models are behind, or the
    employer's last projection failed, it folds the employer's stream instead (same answer,
    one stream's cost)."""
    current = None if store.read_only else _status_if_current(store, employer, as_of)
    if current is not None:
        return _status_document(store, employer, as_of, current[0])
    slot = catch_up(store, wait=False, on_progress=on_progress)
    if slot is None:
        return render(fold(status_stream(store, employer), as_of=as_of, employer=employer))
    _LIVE[_key(store)] = slot
    with engine_of(store).connect() as conn:
        if not store.read_only and failures(conn, slot, employer):  # its rows are stale
            return render(fold(status_stream(store, employer), as_of=as_of, employer=employer))
        row = conn.execute(_latest(slot), {"employer": employer, "as_of": as_of}).first()
    return _status_document(store, employer, as_of, row)


ALL_BUT_VOIDS = frozenset(EVENT_TYPES) - {"EventVoided"}  # a stream read for its voids alone
_LIVE: dict[str, str] = {}  # per ledger: the slot last found live (a guess each query checks)
_EMPLOYER, _AS_OF = bindparam("employer", type_=String), bindparam("as_of", type_=Date)


def _key(store: LedgerStore) -> str:
    return store.url.render_as_string(hide_password=False)


@cache
def _latest(slot: str) -> Select[tuple[str, date | None]]:
    """The employer's status row in force on ``as_of`` in a slot: the last one from before
    (``employer`` and ``as_of`` bound at execution; built once)."""
    table, _, because = slot_tables(slot)
    row = (select(table.c.document, table.c.valid_to, table.c.because_cycle,
                  table.c.because_count)
           .where(table.c.employer == _EMPLOYER, table.c.valid_from <= _AS_OF)
           .order_by(table.c.valid_from.desc()).limit(1)).subquery()
    return (select(row.c.document, row.c.valid_to, row.c.because_count, because.c.entries)
            .select_from(row.outerjoin(because, and_(because.c.employer == _EMPLOYER,
                                                     because.c.cycle == row.c.because_cycle))))


@cache
def _current_row(slot: str, position_sql: str) -> Select[Any]:
    """:func:`_latest` with, in the same statement, the slot's tracking row and revision, the
    head of the log and whether the employer's last fold into the slot failed (built once:
    building a statement costs more client time than the server takes to run it)."""
    latest = _latest(slot).subquery()
    failing = select(failed.c.employer).where(failed.c.slot == slot,
                                              failed.c.employer == _EMPLOYER).exists()
    revision = select(revisions.c.revision).where(revisions.c.slot == slot).scalar_subquery()
    return (select(tracking.c.live, tracking.c.position,
                   literal_column(f"({position_sql})").label("head"),
                   failing.label("failing"), revision.label("revision"),
                   latest.c.document, latest.c.valid_to, latest.c.because_count,
                   latest.c.entries)
            .select_from(tracking.outerjoin(latest, true()))
            .where(tracking.c.name == slot))


def _status_if_current(store: LedgerStore, employer: str, as_of: date,
                       ) -> tuple[Row[Any] | None] | None:
    """The employer's status row on ``as_of`` (or None in a 1-tuple: no row), read in one
    statement with the checks that make it the answer: the slot is live, built under this
    code's revision, at the head of the log and has no failed fold of this employer. None
    when a check fails: the caller then catches up first, as before. One statement and, on
    PostgreSQL, no transaction: one round trip after the pool's ping, where the checks on
    their own took eleven.
    """
    engine = engine_of(store)
    ensure_schema(engine)
    slot = _LIVE.get(_key(store), SLOTS[0])
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(_current_row(slot, store.position_sql()),
                               {"employer": employer, "as_of": as_of}).first()
    except DBAPIError:  # the slot's tables laid out by other code: the catch-up remakes them
        return None
    if (row is None or not row.live or row.failing or row.revision != READ_MODEL_REVISION
            or row.position < (row.head or 0)):
        return None
    return (row if row.document is not None else None,)


def _status_document(store: LedgerStore, employer: str, as_of: date, row: Row[Any] | None,
                     ) -> dict[str, Any]:
    """The ``status --json`` document from the employer's status row in force (None: none).
    With none, the employer is unregistered on as-of; when its stream holds a void (which
    may have left its registration out, and which the answer then cites), the fold says."""
    if row is None or (row.valid_to is not None and row.valid_to <= as_of):
        if store.stream(employer, leaving_out=ALL_BUT_VOIDS):
            return render(fold(status_stream(store, employer), as_of=as_of, employer=employer))
        return unregistered(employer, as_of, None)
    document = stored_status(row.document, row.entries, row.because_count)
    document["as_of"] = as_of.isoformat()
    return document


def lapses_from_read_model(store: LedgerStore, as_of: date, within: int = 90,
                           partner: str | None = None, *,
                           on_progress: OnProgress | None = None) -> list[dict[str, Any]]:
    """Every employer's lapse-risk entry on ``as_of`` (optionally one partner's; as
    :func:`projections.lapses.lapses` gives them, soonest due first), from one range query
    over the lapse index: the rows are pre-filtered by the window's date ranges, then
    :func:`lapse_decision` decides each."""
    slot = catch_up(store, on_progress=on_progress)
    if slot is None:  # a read-only ledger whose read models are behind: fold every stream
        return [e for e in lapses((status_stream(store, e) for e in store.employers()), as_of,
                                  within)
                if partner is None or e["partner"] == partner]
    window = LapseWindow(as_of, within)
    with engine_of(store).connect() as conn:
        t = slot_tables(slot)[1]
        in_force = and_(t.c.valid_from <= as_of,
                        or_(t.c.valid_to.is_(None), t.c.valid_to > as_of))
        if partner is not None:
            in_force = and_(in_force, t.c.partner == partner)
        # One indexed, date-bounded branch per way of being listed, so the query reads the
        # rows near as-of rather than every later row in the ledger's history.
        branches = [
            and_(t.c.kind == "held", t.c.due.between(*window.held)),
            # held past its window: the audit owed next (its due in miss_due), coming up, in
            # grace or missed
            and_(t.c.kind == "held", t.c.miss_due.between(
                as_of - timedelta(days=within + _longest_grace()),
                as_of + timedelta(days=within))),
            t.c.due.between(*window.upcoming),
            # in grace: grace_end = due + grace, so due lies within the longest grace before
            and_(t.c.due.between(*window.in_grace(_longest_grace())), t.c.grace_end >= as_of),
            # missed: listed while its last day (kept in grace_end) is within the window
            and_(t.c.miss_due.is_not(None), t.c.grace_end.between(*window.missed)),
            # (its due, when it has no grace: a superset, which lapse_decision narrows; a
            # "grace_end IS NULL" term would have the planner read every such row instead)
            t.c.miss_due.between(*window.missed),
        ]
        rows = conn.execute(union(*(select(t).where(in_force, b) for b in branches))).all()
    entries = [e for e in (lapse_entry_of(row, as_of, within) for row in rows) if e is not None]
    return sorted(entries, key=lambda e: (e["due"], e["employer"]))


@cache
def _longest_grace() -> int:
    return longest_grace_days(RULES)


def lapse_entry_of(row: Row[Any], as_of: date, within: int) -> dict[str, Any] | None:
    """One lapse-index row's entry on ``as_of``: its facts, decided as the fold's are."""
    facts = LapseFacts(row.kind, row.due, row.grace_end, row.miss_due,
                       tuple(orjson.loads(row.reasons)))
    return lapse_decision(facts, LapseWindow(as_of, within), _lapse_rule(row.partner, as_of),
                          employer=row.employer, partner=row.partner, status=row.status)


@lru_cache(maxsize=1024)
def _lapse_rule(partner: str, on: date) -> Rule:
    return RULES.rulebook_for(partner, on).rule("lapse-risk")


ROLL_FIELDS = ("employer", "partner", "program", "status", "certificate_issued",
               "certificate_expires", "next_audit", "next_due", "flags")


def roll_call(store: LedgerStore, as_of: date, partner: str | None = None, *,
              on_progress: OnProgress | None = None) -> list[dict[str, Any]]:
    """Every registered employer's status on ``as_of`` (optionally one partner's), by
    employer: the regulator's list. Employers not yet registered on that date are left out."""
    slot = catch_up(store, on_progress=on_progress)
    if slot is None:  # a read-only ledger whose read models are behind: fold every stream
        return roll_by_folding(store, as_of, partner)
    with engine_of(store).connect() as conn:
        t = slot_tables(slot)[0]
        query = select(t.c.employer, t.c.partner, t.c.program, t.c.status, t.c.cert_issued,
                       t.c.cert_expires, t.c.next_kind, t.c.next_due, t.c.flags).where(
            t.c.valid_from <= as_of, or_(t.c.valid_to.is_(None), t.c.valid_to > as_of))
        if partner is not None:
            query = query.where(t.c.partner == partner)
        rows = conn.execute(query.order_by(t.c.employer)).all()
    return [{"employer": r.employer, "partner": r.partner, "program": r.program,
             "status": r.status, "certificate_issued": _iso(r.cert_issued),
             "certificate_expires": _iso(r.cert_expires), "next_audit": r.next_kind,
             "next_due": _iso(r.next_due), "flags": r.flags.split(",") if r.flags else []}
            for r in rows]


def roll_by_folding(store: LedgerStore, as_of: date, partner: str | None,
                    known_at: datetime | None = None, tree_size: int | None = None,
                    ) -> list[dict[str, Any]]:
    """The roll computed from the events themselves (no read models): for a ``known_at``
    replay (and one of the first ``tree_size`` log entries), and for a read-only ledger
    whose read models are behind."""
    rows = []
    for employer in store.employers():
        doc = render(fold(status_stream(store, employer, tree_size), as_of=as_of,
                          known_at=known_at, employer=employer))
        if doc["status"] == "unregistered" or (partner is not None and doc["partner"] != partner):
            continue
        cert, nxt = doc["certificate"] or {}, doc["next_audit"] or {}
        rows.append({"employer": employer, "partner": doc["partner"],
                     "program": doc["program"], "status": doc["status"],
                     "certificate_issued": cert.get("issued"),
                     "certificate_expires": cert.get("expires"),
                     "next_audit": nxt.get("kind"), "next_due": nxt.get("due"),
                     "flags": doc["flags"]})
    return rows


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
