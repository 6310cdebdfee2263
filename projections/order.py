"""The order a fold applies one employer's events in, and the registration that stands.

Kept apart from :mod:`projections.timeline` (and as light: the event types, the voids) so
that the quick ``status`` path (:mod:`projections.sql.quick`) names an employer by the same
rule as the fold, without loading the rulebooks.

Event order: events are sorted by (effective, type precedence, sender id, content), never by
append order, so the same events recorded in any order give the same timeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from operator import itemgetter

from ledger import events as ev
from projections.voids import in_view

# Same-day order: registration first, then facts about the employer, then audits and QA
# (QA after the submission it decides), then incidents, reviews and revocations.
_PRECEDENCE: dict[str, int] = {
    "EmployerRegistered": 0, "ProgramChanged": 1, "HeadcountReported": 1,
    "ClassificationUnitAdded": 1, "ClassificationUnitRemoved": 1, "ScopeChanged": 1,
    "InternalAuditorQualified": 2, "InternalAuditorLeft": 3, "AuditNoticeFiled": 4,
    "AuditSubmitted": 5, "QADecided": 6, "SeriousIncidentReported": 7,
    "InvestigationOpened": 7, "ReviewClosed": 8, "InvestigationClosed": 8,
    "CertificationRevoked": 9,
}


def fold_order(event: ev.LedgerEvent) -> tuple[date, int, str, str]:
    """A total order that depends only on the event's content, never on append order."""
    return (*_cheap_order(event), _content_order(event))


def _cheap_order(event: ev.LedgerEvent) -> tuple[date, int, str]:
    return (event.effective, _PRECEDENCE.get(type(event).__name__, 10), event.event_id or "")


def _content_order(event: ev.LedgerEvent) -> str:
    return event.type_name() + json.dumps(event.data(), sort_keys=True, default=str)


_first = itemgetter(0)


def in_fold_order(events: Iterable[ev.LedgerEvent]) -> list[ev.LedgerEvent]:
    """The events sorted by :func:`fold_order`, rendering an event's content for the order
    only where the cheap part of the key (date, precedence, sender id) ties."""
    keyed = sorted([(_cheap_order(e), e) for e in events], key=_first)
    keys = [key for key, _ in keyed]
    ordered = [e for _, e in keyed]
    start = 0
    for end in range(1, len(ordered) + 1):
        if end == len(ordered) or keys[end] != keys[start]:
            if end - start > 1:
                ordered[start:end] = sorted(ordered[start:end], key=_content_order)
            start = end
    return ordered


def standing_registration(events: Iterable[ev.LedgerEvent], known_at: datetime | None = None
                          ) -> ev.EmployerRegistered | None:
    """The registration that stands for one employer's events as known at ``known_at`` (all
    when None): of the registrations that count (voids applied, void chains resolved, by
    :func:`projections.voids.in_view`), the first in fold order. The status fold keeps that
    one too (a later one is "a second registration: the first one stands"), so every reader
    that names an employer (status, roll, lapses, the pages) names it by this registration.
    """
    return min((e for e in in_view(events, known_at) if isinstance(e, ev.EmployerRegistered)),
               key=fold_order, default=None)


def standing_name(events: Iterable[ev.LedgerEvent], known_at: datetime | None = None
                  ) -> str | None:
    """The name of :func:`standing_registration` (None: no registration stands)."""
    registration = standing_registration(events, known_at)
    return registration.name if registration is not None else None


class NameBook:
    """Employer names kept from a pass over the event log: give it every event (only
    registrations and voids are kept, by employer), ask for :meth:`names`. Each employer's
    name is its :func:`standing_name`, worked out again only when its events changed."""

    def __init__(self, known_at: datetime | None = None) -> None:
        self._known_at = known_at
        self._events: dict[str, list[ev.LedgerEvent]] = {}
        self._names: dict[str, str] = {}
        self._changed: set[str] = set()

    def add(self, event: ev.LedgerEvent) -> None:
        if isinstance(event, ev.EmployerRegistered | ev.EventVoided) and event.employer:
            self._events.setdefault(event.employer, []).append(event)
            self._changed.add(event.employer)

    def names(self) -> dict[str, str]:
        """Each employer's name, by id (employers no registration stands for are left out)."""
        for employer in self._changed:
            name = standing_name(self._events[employer], self._known_at)
            if name is None:
                self._names.pop(employer, None)
            else:
                self._names[employer] = name
        self._changed.clear()
        return self._names
