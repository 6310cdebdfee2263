"""Lapse risk: employers whose next required audit falls due within a window, or was missed.

``lapse_entry(timeline, within)`` gives one employer's ``lapses --json`` entry (or None);
``lapses(streams, as_of, within)`` folds every stream and lists them soonest due first.
Levels: ``missed`` (the certificate lapsed for a due date at most ``within`` days back),
``critical`` (due within 30 days, in grace, or held past its due by QA), ``warning`` (within
60), ``notice`` (later, within the window). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from ledger.events import LedgerEvent
from ledger.rulebooks import RuleRegistry
from projections.status import flags
from projections.timeline import CERTIFYING, EmployerTimeline, fold, next_audit

CRITICAL_DAYS, WARNING_DAYS = 30, 60


def level_for(days_left: int) -> str:
    """``critical`` (<= 30 days), ``warning`` (<= 60), else ``notice``."""
    if days_left <= CRITICAL_DAYS:
        return "critical"
    if days_left <= WARNING_DAYS:
        return "warning"
    return "notice"


def lapse_entry(t: EmployerTimeline, within: int = 90) -> dict[str, Any] | None:
    """One employer's lapse-risk entry on ``t.as_of``, or None when nothing is due or
    missed within ``within`` days."""
    if t.registration is None:
        return None
    as_of = t.as_of
    base = {"employer": t.employer, "partner": t.registration.partner, "status": t.status}
    reasons = risk_reasons(t)
    nxt = next_audit(t)
    req = t.requirement
    if t.current_certificate is not None and req is not None and req.due is not None:
        due = nxt["due"] if nxt is not None and nxt["kind"] == "limited_scope" else req.due
        days_left = (due - as_of).days
        if req.held:  # listed within the window back from its due, not after (second set)
            if (as_of - req.due).days > within:
                return None
            return {**base, "due": req.due.isoformat(), "days_left": (req.due - as_of).days,
                    "level": "critical", "reasons": _add(reasons, "qa_pending")}
        if days_left < 0 and req.grace_end is not None and as_of <= req.grace_end:
            return {**base, "due": due.isoformat(), "days_left": days_left,
                    "level": "critical", "reasons": _add(reasons, "in_grace"),
                    "grace_end": req.grace_end.isoformat()}
        if 0 <= days_left <= within:
            return {**base, "due": due.isoformat(), "days_left": days_left,
                    "level": level_for(days_left), "reasons": reasons}
        return None
    if nxt is not None and nxt["kind"] == "limited_scope" and nxt["due"] is not None:
        days_left = (nxt["due"] - as_of).days
        if 0 <= days_left <= within:
            return {**base, "due": nxt["due"].isoformat(), "days_left": days_left,
                    "level": level_for(days_left), "reasons": reasons}
    if t.current_certificate is None and t.misses and t.certificates \
            and t.certificates[-1].ended in ("cancelled", "expired"):
        miss = t.misses[-1]
        due, last_day = miss.requirement.due, miss.requirement.last_day
        # listed while the last day it could have been submitted (grace included) is at
        # most `within` days back; days_left stays counted from due (second set)
        if due is not None and last_day is not None and 0 < (as_of - last_day).days <= within:
            return {**base, "due": due.isoformat(), "days_left": (due - as_of).days,
                    "level": "missed", "reasons": reasons}
    return None


def risk_reasons(t: EmployerTimeline) -> list[str]:
    """What adds risk (DOMAIN "Lapse risk"): a missing internal auditor where one is needed,
    headcount over the program's limit, an open review, a limited-scope window closing, a
    QA rejection of an audit towards the current requirement."""
    raised = flags(t)
    reasons = []
    if "no_internal_auditor" in raised:
        reasons.append("no_internal_auditor")
    if "headcount_exceeds_program" in raised:
        reasons.append("headcount_exceeds_program")
    if "under_review" in raised:
        reasons.append("under_review")
    if "limited_scope_window_open" in raised:
        reasons.append("limited_scope_window_closing")
    if _qa_rejected(t):
        reasons.append("qa_rejected")
    return reasons


def _qa_rejected(t: EmployerTimeline) -> bool:
    req = t.requirement
    if req is None:
        return False
    kinds = CERTIFYING if req.kind in CERTIFYING else (req.kind,)
    return any(a.qa_outcome == "rejected" and a.submitted >= req.opened
               and (a.kind in kinds or a.kind == "limited_scope")
               for a in t.audits.values())


def _add(reasons: list[str], reason: str) -> list[str]:
    return [reason, *(r for r in reasons if r != reason)]


def lapses(
    streams: Iterable[list[LedgerEvent]],
    as_of: date,
    within: int = 90,
    known_at: datetime | None = None,
    registry: RuleRegistry | None = None,
) -> list[dict[str, Any]]:
    """Every employer's lapse-risk entry on ``as_of``, soonest due first."""
    entries = []
    for stream in streams:
        timeline = fold(stream, as_of=as_of, known_at=known_at, registry=registry)
        entry = lapse_entry(timeline, within)
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=lambda e: (e["due"], e["employer"]))
