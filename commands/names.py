"""Employer names for the lists people read (status, roll, lapses): the name of each
employer's standing registration (:func:`projections.order.standing_registration`: voids
applied, the first that counts, as the status fold keeps it), in one pass over the
registrations and voids rather than a fold per employer. Names are for display only; no
decision reads them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ledger.events import LedgerEvent
from projections.order import NameBook, standing_name
from storage.store import LedgerStore

PAGE = 10_000
NAME_TOPICS = ["EmployerRegistered", "EventVoided"]  # all a standing registration depends on


def registered_names(store: LedgerStore, known_at: datetime | None = None,
                     tree_size: int | None = None) -> dict[str, str]:
    """Each registered employer's name (its standing registration's, as known at
    ``known_at``; default: everything recorded), by employer id; with ``tree_size``, from
    the first ``tree_size`` events of the log only (the ledger's own axis)."""
    recorder = store.app.recorder
    mapper = store.app.mapper
    book = NameBook(known_at)
    last: int | None = None
    if tree_size is not None:
        with store.log() as log:
            last = log.last_position(tree_size)
    start = 0
    while True:
        rows = recorder.select_notifications(start, PAGE, topics=NAME_TOPICS,
                                             inclusive_of_start=False)
        for row in rows:
            if last is not None and row.id > last:
                return book.names()
            event = mapper.to_domain_event(row)
            if isinstance(event, LedgerEvent):
                book.add(event)
        if len(rows) < PAGE:
            return book.names()
        start = rows[-1].id


def name_in(events: Iterable[LedgerEvent], known_at: datetime | None = None) -> str | None:
    """The name of the standing registration among one employer's events, if any."""
    return standing_name(events, known_at)
