"""Employer names for the lists people read (status, roll, lapses): the name of each
employer's latest registration, in one pass over the registrations rather than a fold per
employer. Names are for display only; no decision reads them."""

from __future__ import annotations

from ledger.events import EmployerRegistered, LedgerEvent
from storage.store import LedgerStore

PAGE = 10_000


def registered_names(store: LedgerStore) -> dict[str, str]:
    """Each registered employer's name (its latest registration's), by employer id."""
    recorder = store.app.recorder
    mapper = store.app.mapper
    names: dict[str, str] = {}
    start = 0
    while True:
        rows = recorder.select_notifications(start, PAGE, topics=["EmployerRegistered"],
                                             inclusive_of_start=False)
        for row in rows:
            event = mapper.to_domain_event(row)
            if isinstance(event, EmployerRegistered) and event.employer:
                names[event.employer] = event.name
        if len(rows) < PAGE:
            return names
        start = rows[-1].id


def name_in(events: list[LedgerEvent]) -> str | None:
    """The name of the latest registration among one employer's events, if any."""
    for event in reversed(events):
        if isinstance(event, EmployerRegistered):
            return event.name
    return None
