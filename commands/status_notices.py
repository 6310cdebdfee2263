"""Status-change notices: "an employer's status changed", through the lapse outbox.

:func:`relay_status_changes` compares each employer's status today (as known now) with the
status last announced (table ``status_notice_seen``), and for each that moved enqueues one
``StatusChanged`` notice per sink configured with ``notices = ["status", ...]``, in the
``lapse_outbox`` of :mod:`commands.notify`, which delivers it with the same guarantees:
at least once, an idempotency key (``status:<employer>:<from>-><to>:<as-of>``, the row's
``event_id`` and the webhook's ``Idempotency-Key``), retries with backoff, dead letters.

Which employers it reads: those touched by events appended since its last position in the
ledger's notification log, and those whose status the calendar may change by today (the
``recheck_on`` date stored with the last status: the lapse date of the requirement or the
expiry of the certificate in force). Everything else cannot have moved.

One run is one transaction: the notices, the statuses seen and the new position commit
together or not at all. The first run with a status sink configured records every status
without announcing it (a sink added later hears of changes from then on). The clock is
passed in; nothing here reads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Date, DateTime, Engine, Index, String, Table, select, update
from sqlalchemy.engine import Connection

from commands.notify import RELAY_PAGE, Sink, outbox_table, takes, tracking_table
from projections.diff import View, diff
from projections.sql.queries import status_stream
from projections.status import render
from projections.timeline import EmployerTimeline, fold
from storage.schema import ensure, insert_ignore, metadata
from storage.store import LedgerStore

RELAY_NAME = "status-notices"
NOTICE_TYPE = "StatusChanged"

seen_table = Table(
    "status_notice_seen", metadata,
    Column("employer", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("known_at", DateTime, nullable=False),  # naive UTC: when it was seen
    Column("recheck_on", Date),  # the calendar may change the status on this date
    Index("ix_status_notice_recheck", "recheck_on"),
)
"""The status last announced (or recorded at the start) of each employer."""


def notice_id(employer: str, before: str, after: str, as_of: date) -> str:
    """The idempotency key of a notice: one per employer, change and as-of date."""
    return f"status:{employer}:{before}->{after}:{as_of.isoformat()}"


def recheck_on(t: EmployerTimeline) -> date | None:
    """The first day after ``t.as_of`` on which the calendar alone may change the status:
    the lapse of the open requirement or the expiry of the certificate in force (a
    certificate held past its due date by QA: the next day). None: only an event can."""
    cert = t.current_certificate
    if cert is None:
        return None
    days = [cert.expires]
    req = t.requirement
    if req is not None and req.held:
        days.append(t.as_of + timedelta(days=1))
    elif req is not None and req.lapse_on is not None:
        days.append(req.lapse_on)
    later = [d for d in days if d > t.as_of]
    return min(later) if later else t.as_of + timedelta(days=1)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def relay_status_changes(store: LedgerStore, engine: Engine, sinks: Mapping[str, Sink],
                         now: datetime, as_of: date | None = None) -> int:
    """Enqueues a notice for every employer whose status on ``as_of`` (default: ``now``'s
    UTC date) differs from the one last announced; returns how many outbox rows it added.
    Does nothing while no sink wants status notices."""
    if not any(takes(sink, "status") for sink in sinks.values()):
        return 0
    day = as_of or now.astimezone(UTC).date()
    ensure(engine, (outbox_table, tracking_table, seen_table))
    with engine.begin() as conn:
        where = tracking_table.c.name == RELAY_NAME
        # Writing the tracking row first takes the lock: two relays take turns.
        moved = conn.execute(update(tracking_table).where(where)
                             .values(position=tracking_table.c.position))
        if moved.rowcount == 0:
            _start(conn, store, now, day)
            return 0
        position = conn.execute(select(tracking_table.c.position).where(where)).scalar_one()
        touched, last = _touched_since(store, position)
        due = conn.execute(select(seen_table.c.employer)
                           .where(seen_table.c.recheck_on <= day)).scalars().all()
        added = 0
        for employer in sorted(touched | set(due)):
            added += _check(conn, store, sinks, employer, now, day, last)
        conn.execute(update(tracking_table).where(where).values(position=last))
    return added


def _start(conn: Connection, store: LedgerStore, now: datetime, day: date) -> None:
    """The first run: every employer's status, recorded without a notice."""
    position = store.position()
    for employer in store.employers():
        t = fold(status_stream(store, employer), as_of=day, employer=employer)
        _remember(conn, employer, t, now, day)
    insert_ignore(conn, tracking_table, [{"name": RELAY_NAME, "position": position}],
                  ["name"])


def _touched_since(store: LedgerStore, position: int) -> tuple[set[str], int]:
    """The employers of the events appended after ``position``, and the last position."""
    touched: set[str] = set()
    while True:
        items = store.notifications(after=position, limit=RELAY_PAGE)
        touched.update(e.employer for _, e in items if e.employer is not None)
        if items:
            position = items[-1][0]
        if len(items) < RELAY_PAGE:
            return touched, position


def _check(conn: Connection, store: LedgerStore, sinks: Mapping[str, Sink], employer: str,
           now: datetime, day: date, position: int) -> int:
    """Compares one employer's status with the one seen; enqueues and remembers a change."""
    events = store.stream(employer)
    t = fold(events, as_of=day, employer=employer)
    seen = conn.execute(select(seen_table).where(seen_table.c.employer == employer)
                        ).mappings().first()
    before = seen["status"] if seen else "unregistered"
    after = t.status
    _remember(conn, employer, t, now, day, update_row=seen is not None)
    if before == after:
        return 0
    since = View(seen["as_of"], seen["known_at"].replace(tzinfo=UTC)) if seen else None
    payload = notice(employer, events, t, before, since, now, day)
    text = json.dumps(payload, sort_keys=True)
    rows = [{"event_id": payload["id"], "sink": sink.name, "position": position,
             "employer": employer, "payload": text, "status": "pending", "attempts": 0,
             "created_at": _naive(now), "next_attempt_at": _naive(now)}
            for sink in sinks.values() if sink.wants(payload)]
    return insert_ignore(conn, outbox_table, rows, ["event_id", "sink"])


def notice(employer: str, events: list[Any], t: EmployerTimeline, before: str,
           since: View | None, now: datetime, day: date) -> dict[str, Any]:
    """The payload every sink receives: who, from what to what on which date, and the
    events (or the calendar) and rules behind the change (:func:`projections.diff.diff`
    from the view last seen)."""
    doc = render(t)
    payload: dict[str, Any] = {
        "type": NOTICE_TYPE, "id": notice_id(employer, before, t.status, day),
        "employer": employer, "partner": t.partner, "as_of": day.isoformat(),
        "from": before, "to": t.status, "certificate": doc["certificate"],
        "next_audit": doc["next_audit"], "fields": ["status"], "because": [],
        "since": since.label() if since else None,
    }
    if since is not None:
        result = diff(events, employer=employer, before=since, after=View(day, None))
        payload["fields"] = [c["field"] for c in result["changes"]]
        payload["because"] = next((c["because"] for c in result["changes"]
                                   if c["field"] == "status"), [])
    return payload


def _remember(conn: Connection, employer: str, t: EmployerTimeline, now: datetime,
              day: date, update_row: bool = False) -> None:
    values = {"status": t.status, "as_of": day, "known_at": _naive(now),
              "recheck_on": recheck_on(t)}
    if update_row:
        conn.execute(update(seen_table).where(seen_table.c.employer == employer)
                     .values(**values))
    else:
        insert_ignore(conn, seen_table, [{"employer": employer, **values}], ["employer"])
