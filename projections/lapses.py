"""Lapse risk: employers whose next required audit falls due within a window, or was missed.

One decision, in two pure steps, used by ``lapses`` (the CLI, folding on demand), the read
models' lapse index and the scan:

- :func:`lapse_facts` reads a folded timeline on its as-of date: which case applies
  (``held``, ``due``, ``limited``, ``missed``), the due date(s), the grace end and the reasons.
  The read models store these facts per interval of valid time.
- :func:`lapse_decision` turns facts, an as-of date and a window into the ``lapses --json``
  entry (or None). Levels come from the ``lapse-risk`` rule: ``missed`` (the certificate
  lapsed for a due date at most ``within`` days back), ``critical`` (due within its
  ``critical_days``, in grace, or held past its due by QA), ``warning`` (within
  ``warning_days``), ``notice`` (later, within the window). :class:`LapseWindow` holds the
  date ranges it lists, from which the SQL pre-filter is derived.

``lapse_entry(timeline, within)`` is both steps; ``lapses(streams, as_of, within)`` folds every
stream and lists them soonest due first. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ledger.events import LedgerEvent
from ledger.rulebooks import RULES, Rule, RuleRegistry
from projections.status import flags, qa_pending_audits
from projections.timeline import (
    CERTIFYING,
    AuditRecord,
    EmployerTimeline,
    Requirement,
    binding_expiry,
    can_meet,
    fold,
    next_audit,
    still_pending,
)

LAPSED = ("cancelled", "expired")


@dataclass(frozen=True, init=False)
class LapseFacts:
    """What a timeline says about lapse risk on its as-of date, apart from the window
    (``__init__`` written out: see :class:`~projections.timeline.Decision`)."""

    kind: str  # held / due / limited / missed
    due: date | None  # held, due, limited: the due date listed
    # due: the last day of grace; missed, limited: the miss's last day (its grace end, due
    # date, or the close of the limited-scope window that held it); held: the grace end of
    # the audit owed next, which falls due on its own date meanwhile
    grace_end: date | None
    # missed, limited: the missed requirement's due date; held: the due date of the audit
    # owed next (None: none is listed), listed once the held one no longer is
    miss_due: date | None
    reasons: tuple[str, ...]

    def __init__(self, kind: str, due: date | None, grace_end: date | None,
                 miss_due: date | None, reasons: tuple[str, ...]) -> None:
        _set = object.__setattr__  # frozen
        _set(self, "kind", kind)
        _set(self, "due", due)
        _set(self, "grace_end", grace_end)
        _set(self, "miss_due", miss_due)
        _set(self, "reasons", reasons)


@dataclass(frozen=True)
class LapseWindow:
    """The due dates ``lapses --as-of AS_OF --within WITHIN`` lists, as date ranges."""

    as_of: date
    within: int

    @property
    def upcoming(self) -> tuple[date, date]:
        """Due dates listed as coming up: from as-of to ``within`` days on."""
        return self.as_of, self.as_of + timedelta(days=self.within)

    @property
    def missed(self) -> tuple[date, date]:
        """Last days (grace end, else due) of a miss listed as missed: at most ``within``
        days back, before as-of."""
        return self.as_of - timedelta(days=self.within), self.as_of - timedelta(days=1)

    @property
    def held(self) -> tuple[date, date]:
        """Due dates of a held audit listed: like every entry's, at most ``within`` days
        after as-of, and, held past its due, until ``within`` days after that due (second
        set, "Lapses window")."""
        return self.as_of - timedelta(days=self.within), self.as_of + timedelta(days=self.within)

    def in_grace(self, longest_grace_days: int) -> tuple[date, date]:
        """Due dates that can still be in grace on as-of (none is longer than
        ``longest_grace_days``); whether one is depends on its own grace end."""
        return self.as_of - timedelta(days=longest_grace_days), self.as_of - timedelta(days=1)

    def days_left(self, due: date) -> int:
        return (due - self.as_of).days

    @staticmethod
    def holds(day: date, bounds: tuple[date, date]) -> bool:
        return bounds[0] <= day <= bounds[1]


def longest_grace_days(registry: RuleRegistry = RULES) -> int:
    """The longest submission grace any rulebook version grants, in days."""
    return max((int(rule.params.get("grace_days", 0)) for rule in registry.all()), default=0)


def level_for(days_left: int, rule: Rule) -> str:
    """``critical``, ``warning`` or ``notice`` for a due date ``days_left`` days away, by the
    ``lapse-risk`` rule's thresholds."""
    if days_left <= int(rule["critical_days"]):
        return "critical"
    if days_left <= int(rule["warning_days"]):
        return "warning"
    return "notice"


def lapse_facts(t: EmployerTimeline, raised: Sequence[str] | None = None,
                nxt: dict[str, Any] | None | Literal[False] = False, *,
                certified: bool | None = None) -> LapseFacts | None:
    """The lapse facts of a timeline on its as-of date (None: never listed, whatever the
    window). ``raised``: the timeline's flags, ``nxt`` its next audit (:func:`next_audit`)
    and ``certified`` whether a certificate is in force, when the caller has them already."""
    if t.registration is None:
        return None
    if raised is None:
        raised = flags(t)
    reasons = tuple(risk_reasons(t, raised))
    req = t.requirement
    current = t.current_certificate is not None if certified is None else certified
    if nxt is False:
        nxt = next_audit(t)
    limited = nxt is not None and nxt["kind"] == "limited_scope"
    limited_due: date | None = nxt["due"] if nxt is not None and limited else None
    if current and req is not None and req.due is not None:
        if req.held and limited:
            # held past its due by an open limited-scope window (second set, "Held
            # certificates"): the window's close is what falls due; a re-audit in it still
            # in QA makes it a held audit (qa_pending)
            kind = "held" if "qa_pending" in raised else "due"
            return LapseFacts(kind, limited_due, None, None, reasons)
        if req.held:
            # the last audit held past its due (the audits owed after this one fall due in
            # turn, each held when it is met or in QA), and the audit owed after it
            last, then = req.owed_after()
            window = _window_holding(t, last) if last is not req else None
            if window is not None:
                # the audit owed last is held past its due by a failed audit's open
                # limited-scope window, not by QA: the window's close is what falls due, as
                # when nothing before it is held; a re-audit in it still in QA holds it
                kind = "held" if window.qa_outcome is None or any(
                    original is window for _, original in _reaudits_in_qa(t)) else "due"
                return LapseFacts(kind, _close_for(t, last, window), None, None, reasons)
            then_due, then_grace = _held_then(t, then)
            then_window = _window_holding(t, then) if then is not None else None
            if then is not None and then_window is not None:
                # the audit owed next failed with its window open: the window's close is
                # what falls due for it, as when nothing before it is held
                then_due, then_grace = _close_for(t, then, then_window), None
            if then is not None and any(a.qa_outcome is None and still_pending(a, t.as_of, ())
                                        for a in t.able_to_meet(then)):
                # the audit owed next is in QA too, and could meet it (second set,
                # "qa_pending": audits that cannot count do not set it)
                reasons = (*reasons, "qa_pending")
            held_due = _closed_window_held(t, last) or last.due
            return LapseFacts("held", held_due, then_grace, then_due, reasons)
        if limited and limited_due is not None and req.grace_end is not None \
                and limited_due <= req.grace_end:
            limited = False  # the window closes within the grace: the grace is what ends it
        due, grace_end = _before_expiry(t, req, limited_due if limited else req.due)
        if "qa_pending" in raised:  # shown once the due has passed: held in grace
            reasons = (*reasons, "qa_pending")
        return LapseFacts("due", due, grace_end, None, reasons)
    miss_due = miss_last = None  # a missed requirement's due and its grace end
    if not current and t.misses and t.certificates and t.certificates[-1].ended in LAPSED:
        miss_due = t.misses[-1].requirement.due
        miss_last = t.misses[-1].last_day
    if limited_due is not None:
        return LapseFacts("limited", limited_due, miss_last, miss_due, reasons)
    if miss_due is not None:
        return LapseFacts("missed", None, miss_last, miss_due, reasons)
    return None


def _window_holding(t: EmployerTimeline, req: Requirement) -> AuditRecord | None:
    """The failed audit whose limited-scope window, open on as-of, holds ``req`` past its
    due (it could meet ``req`` once repaired), or None (second set, "Held certificates")."""
    original = t.open_limited_scope() if t.windowed else None
    return original if original is not None and can_meet(req, original) else None


def _close_for(t: EmployerTimeline, req: Requirement, window: AuditRecord) -> date:
    """The close of ``window``'s limited-scope window as the due listed for ``req``: cut at
    the certificate's expiry where that binds (:func:`binding_expiry`)."""
    close = window.limited_scope_until
    assert close is not None
    return binding_expiry(t, req, close) or close


def _reaudits_in_qa(t: EmployerTimeline) -> Iterator[tuple[AuditRecord, AuditRecord]]:
    """Each limited-scope re-audit awaiting QA that counts and could repair, with the audit
    it repairs."""
    for audit_id in t.awaiting_qa:
        audit = t.audits.get(audit_id)
        if audit is None or audit.repairs is None or not audit.counts \
                or not audit.can_repair or audit.qa_outcome is not None:
            continue
        original = t.audits.get(audit.repairs)
        if original is not None:
            yield audit, original


def _closed_window_held(t: EmployerTimeline, req: Requirement) -> date | None:
    """The close of a limited-scope window (cut at the expiry, as while it ran) when a
    re-audit submitted in it and still in QA holds ``req`` past it (the open requirement,
    or one owed after it along the chain): the held audit's due, which it keeps once the
    window has closed (second set, "Lapses window"; the re-audit's due is the window's
    close). None: no such re-audit."""
    if req is t.requirement:
        originals: Iterable[AuditRecord | None] = (
            t.audits.get(a.repairs) if a.repairs is not None else None
            for a in qa_pending_audits(t))
    else:
        originals = (original for _, original in _reaudits_in_qa(t)
                     if can_meet(req, original))
    for original in originals:
        close = original.limited_scope_until if original is not None else None
        if close is not None and close < t.as_of:
            return binding_expiry(t, req, close) or close
    return None


def _held_then(t: EmployerTimeline, then: Requirement | None
               ) -> tuple[date | None, date | None]:
    """The due date and grace end of the audit owed after a held one, to list once the held
    one is no longer listed (the recertification at the expiry too: a certificate held by
    a maintenance audit in QA still expires, and is listed ahead of time)."""
    cert = t.current_certificate
    if then is None or then.due is None or cert is None:
        return None, None
    return _before_expiry(t, then, then.due)


def _before_expiry(t: EmployerTimeline, req: Requirement, due: date | None
                   ) -> tuple[date | None, date | None]:
    """The due date and grace end to list for an owed audit, cut at the certificate's
    expiry where that comes first: past ``expires`` only a recertification keeps the
    certificate, so a later due date (a scope change's, a limited-scope window's) is listed
    as the expiry, and a grace running past it ends there."""
    grace_end = req.grace_end
    expiry = binding_expiry(t, req, grace_end or due)
    if expiry is None:
        return due, grace_end
    if due is not None and due <= expiry:
        return due, expiry
    return expiry, None


def lapse_decision(facts: LapseFacts | None, window: LapseWindow, rule: Rule, *,
                   employer: str, partner: str, status: str) -> dict[str, Any] | None:
    """The ``lapses --json`` entry the facts give in ``window`` (None: not listed); ``rule``
    is the partner's ``lapse-risk`` rule in force on as-of."""
    if facts is None:
        return None
    base = {"employer": employer, "partner": partner, "status": status}
    reasons = list(facts.reasons)
    if facts.kind == "held" and facts.due is not None:
        if window.holds(facts.due, window.held):
            return {**base, "due": facts.due.isoformat(),
                    "days_left": window.days_left(facts.due), "level": "critical",
                    "reasons": _add(reasons, "qa_pending")}
        if facts.miss_due is None or facts.due > window.as_of:
            return None
        # then the audit owed next, due on its own date whatever QA says of the held one
        facts = LapseFacts("due", facts.miss_due, facts.grace_end, None, facts.reasons)
    if facts.kind in ("due", "limited") and facts.due is not None:
        days_left = window.days_left(facts.due)
        if facts.kind == "due" and days_left < 0 and facts.grace_end is not None \
                and window.as_of <= facts.grace_end:
            return {**base, "due": facts.due.isoformat(), "days_left": days_left,
                    "level": "critical", "reasons": _add(reasons, "in_grace"),
                    "grace_end": facts.grace_end.isoformat()}
        if window.holds(facts.due, window.upcoming):  # before its due, no audit is held yet
            return {**base, "due": facts.due.isoformat(), "days_left": days_left,
                    "level": level_for(days_left, rule),
                    "reasons": [r for r in reasons if r != "qa_pending"]}
        if facts.kind == "due":
            return None
    # a miss is listed while its last day (see LapseFacts.grace_end; else its due) is
    # within the window back;
    # days_left stays counted from its due (second set)
    miss_last = facts.grace_end if facts.kind in ("missed", "limited") and facts.grace_end \
        else facts.miss_due
    if facts.miss_due is not None and miss_last is not None \
            and window.holds(miss_last, window.missed):
        return {**base, "due": facts.miss_due.isoformat(),
                "days_left": window.days_left(facts.miss_due), "level": "missed",
                "reasons": reasons}
    return None


def lapse_entry(t: EmployerTimeline, within: int = 90) -> dict[str, Any] | None:
    """One employer's lapse-risk entry on ``t.as_of``, or None when nothing is due or
    missed within ``within`` days."""
    if t.registration is None:
        return None
    return lapse_decision(lapse_facts(t), LapseWindow(t.as_of, within),
                          t.rulebook().rule("lapse-risk"), employer=t.employer,
                          partner=t.registration.partner, status=t.status)


def risk_reasons(t: EmployerTimeline, raised: Sequence[str] | None = None) -> list[str]:
    """What adds risk (DOMAIN "Lapse risk"): a missing internal auditor where one is needed,
    headcount over the program's limit, an open review, a limited-scope window closing, a
    QA rejection of an audit towards the current requirement."""
    if raised is None:
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
    """A QA rejection of an audit towards the current requirement or, once the certificate
    lapsed, towards the requirement it missed (a rejection after the due date is why)."""
    if not t.qa_rejected:
        return False
    reqs = [t.requirement]
    if t.misses and t.certificates and t.certificates[-1].ended in LAPSED \
            and t.current_certificate is None:
        reqs.append(t.misses[-1].requirement)
    audits = [t.audits[i] for i in t.qa_rejected]
    for req in reqs:
        if req is None:
            continue
        kinds = CERTIFYING if req.kind in CERTIFYING else (req.kind,)
        if any(a.qa_outcome == "rejected" and a.submitted >= req.opened
               and (a.kind in kinds or a.kind == "limited_scope") for a in audits):
            return True
    return False


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
