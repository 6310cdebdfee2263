"""Stored events for a rebuild, decoded only as far as the status fold reads them.

The status fold reads nothing from the payload of money events (payroll, premiums,
incentives: ``Fold._not_for_status`` in :data:`projections.timeline.HANDLERS`), only their
place: type, sender id, effective date and stream version. They are 40% of a generated
ledger, and a full decode (typed fields, timestamps, the event dataclass) costs three times
reading the JSON. :func:`rebuild_event` gives such an event as a :class:`Skimmed` one, whose
content is decoded on first need (a same-day tie in :func:`projections.timeline.fold_order`,
or ``recorded_at``); every other event is decoded in full. Voids stay full: :func:`in_view`
reads their target.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

import orjson

from ledger import events as ev
from ledger.codec import state_to_event
from projections.timeline import HANDLERS, Fold

SKIMMED = frozenset(name for name, handler in HANDLERS.items()
                    if handler is Fold._not_for_status and name != "EventVoided")
"""The types whose payload the status fold never reads."""


class Skimmed:
    """An event of a :data:`SKIMMED` type: its envelope, and its content on demand."""

    __slots__ = ("_event", "_state", "_topic", "effective", "employer", "event_id",
                 "originator_id", "originator_version")

    def __init__(self, topic: str, originator_id: UUID, version: int,
                 state: dict[str, Any]) -> None:
        self._topic, self._state = topic, state
        self._event: ev.LedgerEvent | None = None
        self.originator_id, self.originator_version = originator_id, version
        self.event_id: str | None = state["id"]
        self.employer: str | None = state["employer"]
        self.effective = date.fromisoformat(state["effective"])

    @property
    def reference(self) -> bool:
        return ev.EVENT_TYPES[self._topic].reference

    def type_name(self) -> str:
        return self._topic

    def full(self) -> ev.LedgerEvent:
        """The event decoded in full (once)."""
        if self._event is None:
            self._event = state_to_event(self._topic, self.originator_id,
                                         self.originator_version, self._state)
        return self._event

    def data(self) -> dict[str, Any]:
        return self.full().data()

    @property
    def recorded_at(self) -> datetime:
        return self.full().recorded_at


def rebuild_event(topic: str, originator_id: UUID, version: int, raw: bytes
                  ) -> ev.LedgerEvent:
    """A stored event as a rebuild's status fold needs it: skimmed when its type is one
    the fold reads no payload of (and stored at its class's current version, so nothing
    needs upcasting), else decoded in full."""
    state = orjson.loads(raw)
    if topic in SKIMMED and state.get("v", 1) == ev.EVENT_TYPES[topic].class_version:
        # Duck-typed: it answers everything the status fold and in_view ask of an event.
        return cast(ev.LedgerEvent, Skimmed(topic, originator_id, version, state))
    return state_to_event(topic, originator_id, version, state)
