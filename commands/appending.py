"""Append ledger-made events to registered employers' streams.

Import does the same for partner files, line by line with validation and a bounded head
cache (:mod:`commands.importer`); jobs that derive events from the ledger itself (the lapse
scan) only need the core of it: inside one :meth:`LedgerStore.writer` transaction, read the
stream heads of the employers concerned, number the new events after them, and append them
with their id index rows. Whether an event is new is the caller's to decide, from what the
events say (an id held by the ledger may be another event's: see
:func:`commands.scan.flag_ids`); the ``ledger_event_ids`` primary key refuses an id that is
taken, the last line of defence when two writers race.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ledger.codec import new_event
from ledger.events import LedgerEvent
from storage.store import Appended, Writer


@dataclass(frozen=True)
class Draft:
    """An event to append, before the ledger has given it a stream position."""

    type_name: str
    employer: str
    event_id: str
    effective: date
    content_hash: str
    data: dict[str, Any] = field(default_factory=dict)
    by: str | None = None


@dataclass
class AppendResult:
    """What :func:`append_new` appended."""

    added: list[LedgerEvent] = field(default_factory=list)


class NotRegistered(Exception):
    """A draft names an employer the ledger has no registration for."""


def append_new(writer: Writer, drafts: Sequence[Draft], *, recorded_at: datetime,
               appended_at: datetime) -> AppendResult:
    """Appends the drafts, in the order given, under ids the caller found free.

    Nothing is skipped: an id the ledger holds already (which may be another event's, and
    says nothing of whether this one is there) fails the append at the ``ledger_event_ids``
    primary key (a :data:`storage.store.WRITE_CONFLICTS` error). Raises
    :class:`NotRegistered` for an unknown employer. Either leaves the transaction to be
    rolled back by the caller's ``writer()`` block.
    """
    result = AppendResult()
    fresh = list(drafts)
    if not fresh:
        return result
    heads = writer.heads({d.employer for d in fresh})
    versions = {employer: head.version for employer, head in heads.items()}
    batch: list[Appended] = []
    for draft in fresh:
        if draft.employer not in versions:
            raise NotRegistered(f"{draft.employer!r} is not registered")
        versions[draft.employer] += 1
        event = new_event(draft.type_name, employer=draft.employer,
                          version=versions[draft.employer], effective=draft.effective,
                          recorded_at=recorded_at, appended_at=appended_at,
                          event_id=draft.event_id, by=draft.by, **draft.data)
        batch.append(Appended(event, draft.content_hash))
        result.added.append(event)
    writer.append(batch)
    return result
