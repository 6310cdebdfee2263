"""Which events a set of voids leaves out: void chains of any length, as known at a time.

DOMAIN.md (Corrections; Precise rules, second set, "Void chains"): a void counts from its
``recorded_at``; a void that is itself voided no longer counts, so its target counts again;
a chain of any length resolves the same way. :func:`ledger.voids.voided_ids` (re-exported
here) is the one place that resolves chains; :func:`in_view` applies it to the events known
at a time. The status fold, the incentive decision and the SQL read models all select their
events through :func:`in_view`, or through :func:`with_voids`, which keeps the voided events
beside the void that leaves each out, so that an answer a void changed can cite it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ledger import events as ev
from ledger.voids import voided_ids as voided_ids  # the one place chains resolve


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def in_view(events: Iterable[ev.LedgerEvent], known_at: datetime | None,
            ) -> list[ev.LedgerEvent]:
    """The events known at ``known_at`` (all when None) without those the voids known by
    then leave out (for every as-of date alike)."""
    known, voided = _known(events, known_at)
    if not voided:
        return known
    return [e for e in known if e.event_id is None or e.event_id not in voided]


def with_voids(events: Iterable[ev.LedgerEvent], known_at: datetime | None,
               ) -> tuple[list[ev.LedgerEvent], dict[str, ev.EventVoided]]:
    """The events known at ``known_at``, voided ones included, and for each voided one (by
    id) a void known by then that leaves it out: the one to cite, the same whatever the
    order the voids were appended in (the first recorded; then the first effective, then the
    least id)."""
    known, voided = _known(events, known_at)
    by_target: dict[str, ev.EventVoided] = {}
    if voided:
        for e in known:
            if (isinstance(e, ev.EventVoided) and e.target in voided
                    and (e.event_id is None or e.event_id not in voided)):
                cited = by_target.get(e.target)
                if cited is None or _citation_order(e) < _citation_order(cited):
                    by_target[e.target] = e
    return known, by_target


def _citation_order(void: ev.EventVoided) -> tuple[datetime, object, str]:
    return _aware(void.recorded_at), void.effective, void.event_id or ""


def _known(events: Iterable[ev.LedgerEvent], known_at: datetime | None,
           ) -> tuple[list[ev.LedgerEvent], set[str]]:
    """The events recorded by ``known_at`` (all when None), and the ids their voids leave
    out."""
    limit = _aware(known_at) if known_at is not None else None
    known = [e for e in events if limit is None or _aware(e.recorded_at) <= limit]
    return known, voided_ids((e.event_id, e.target) for e in known
                             if isinstance(e, ev.EventVoided))
