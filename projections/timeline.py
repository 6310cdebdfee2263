"""The employer timeline: what the status fold builds from one employer's events.

:func:`fold` replays the events in view (``known_at`` on transaction time, ``as_of`` on valid
time) through the partner's rulebook and returns an :class:`EmployerTimeline`: registration
facts, every certificate issued up to ``as_of`` with how and when it ended, every audit with
its judgement and QA, reviews and investigations, the next requirement, and the decisions
(each with the event and the rule behind it). :mod:`projections.status` renders it as the
``status --json`` document; the incentive module asks it questions such as
:meth:`EmployerTimeline.held_valid_certificate_in`,
:meth:`EmployerTimeline.certificates_ended_in`,
:meth:`EmployerTimeline.required_audit_accepted_in`,
:meth:`EmployerTimeline.first_certification_submitted_by_cutoff`,
:meth:`EmployerTimeline.audit_scope` and :meth:`EmployerTimeline.review_open_on`.
Fold up to the end of the year you ask about (``as_of=date(Y, 12, 31)`` or later).

Event order: events are sorted by (effective, type precedence, sender id, content), never by
append order, so the same events recorded in any order give the same timeline.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from itertools import pairwise, takewhile
from typing import Any

from mypy_extensions import mypyc_attr

from ledger import events as ev
from ledger.collector import collector_paused
from ledger.rulebooks import RULES, Rule, Rulebook, RuleRegistry, add_years
from ledger.rulebooks.base import INTERNAL
from projections.order import fold_order as fold_order  # where the fold order is read
from projections.order import in_fold_order
from projections.voids import with_voids

ONE_DAY = timedelta(days=1)
CERTIFYING = ("certification", "recertification")

# --- the timeline's records ---------------------------------------------------------------


@dataclass(frozen=True, init=False)
class Decision:
    """One step of reasoning: on a date, an event (or the calendar) and a rule decided this.
    Its ``__init__`` is written out, as on the other records the fold makes for each event:
    compiled (ledger/compiled.py), the one ``dataclass`` generates would run as Python."""

    on: date
    says: str
    rule: Rule | None = None
    event: ev.LedgerEvent | None = None
    # cited beyond the cycle it fell in: a fact that holds until another like it (a
    # STANDING event's, the size class a headcount report set); see Fold.note
    stands: bool = False
    _because: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __init__(self, on: date, says: str, rule: Rule | None = None,
                 event: ev.LedgerEvent | None = None, stands: bool = False) -> None:
        _set = object.__setattr__  # frozen
        _set(self, "on", on)
        _set(self, "says", says)
        _set(self, "rule", rule)
        _set(self, "event", event)
        _set(self, "stands", stands)
        # A decision never changes, and a rebuild renders it dozens of times: build its
        # ``because`` entry once.
        _set(self, "_because", {
            "event": event.event_id if event is not None else None,
            "type": event.type_name() if event is not None else None,
            "effective": (event.effective if event is not None else on).isoformat(),
            "rule": rule.id if rule is not None else None,
            "says": says,
        })

    def as_because(self) -> dict[str, Any]:
        """The ``because`` entry of INTERCHANGE.md (event and type are null for a date)."""
        return dict(self.entry)

    @property
    def entry(self) -> dict[str, Any]:
        """The ``because`` entry itself, shared by every document that cites this decision
        (read it, never change it): a rebuild renders and compares it thousands of times."""
        return self._because


@dataclass
class Registration:
    """The employer's enrolment: who certifies it and under which program."""

    name: str
    partner: str
    program: str
    classification_units: tuple[str, ...]
    registered: date
    event: ev.EmployerRegistered


@dataclass
class AuditRecord:
    """One submitted audit, its judgement under the rulebook, and its QA decision."""

    audit: str
    kind: str
    auditor: str
    auditor_type: str
    started: date
    completed: date
    submitted: date
    overall: Decimal
    elements: dict[str, Decimal]
    student: bool
    scope: tuple[str, ...]
    event: ev.AuditSubmitted
    counts: bool = True
    why_not: str | None = None
    passes: bool = False
    verdict: str = ""
    limited_scope_until: date | None = None
    repairs: str | None = None  # a limited-scope audit: the audit it re-audits
    repaired_by: str | None = None  # the accepted limited-scope audit that repaired it
    # a limited-scope audit in QA: whether its scores, combined with the audit it repairs
    # (and, at best, the other re-audits of it in QA), could pass once accepted; one that
    # cannot holds nothing (second set, "qa_pending": audits that cannot count do not set it)
    can_repair: bool = True
    final_overall: Decimal | None = None
    final_elements: dict[str, Decimal] | None = None
    final_passes: bool = False
    qa_outcome: str | None = None
    qa_date: date | None = None
    qa_event: ev.QADecided | None = None
    repaired_qa: ev.QADecided | None = None  # the accepted re-audit's QA that repaired it
    used_for: str | None = None  # the requirement it satisfied, e.g. "maintenance 1"
    used_for_year: int | None = None  # the certification year it served
    used_on: date | None = None
    notice_late: bool = False  # its notice was found late (second set, "Audit notices")
    # accepted for the audit owed after one held in QA (Requirement.then): the year it met,
    # whatever the held audit's fate (the chain of requirements waits for that one)
    met_year: int | None = None

    @property
    def accepted(self) -> bool:
        return self.qa_outcome == "accepted"

    @property
    def deciding_qa(self) -> ev.QADecided | None:
        """The QA decision that made it count: its own, or, repaired by a limited-scope
        audit, that audit's (the certificate is issued on the re-audit's QA date)."""
        return self.repaired_qa or self.qa_event

    @property
    def window_closes_on(self) -> date | None:
        """The first day after its limited-scope window (a change point), if it has one."""
        return self.limited_scope_until + ONE_DAY if self.limited_scope_until else None

    @property
    def certifying(self) -> bool:
        return self.kind in CERTIFYING


@dataclass
class Certificate:
    """A certificate issued up to as-of: the audit that earned it, and how it ended."""

    issued: date
    expires: date
    audit: str
    submitted: date
    qa_date: date
    scope: tuple[str, ...]
    ended: str | None = None  # cancelled / expired / revoked / renewed
    ended_on: date | None = None  # the first day it was no longer in force
    maintenance: list[str] = field(default_factory=list)
    first_cycle_year: int = 1  # 3 for a 2020 audit waiver's one-year certificate
    ended_by: ev.LedgerEvent | None = field(default=None, compare=False)  # the event, if one
    issued_by: Rule | None = field(default=None, compare=False)  # validity, or the waiver
    waiver: ev.AuditWaiverGranted | None = field(default=None, compare=False)  # that issued it

    def in_force_on(self, day: date) -> bool:
        return self.issued <= day and (self.ended_on is None or day < self.ended_on)

    def cycle_year(self, day: date) -> int:
        """1 in the first year, 2 from the first anniversary, 3 from the second (a waiver's
        certificate continues the cycle it extends: 3)."""
        return min(3, self.first_cycle_year
                   + sum(1 for anniversary in self.anniversaries if anniversary <= day))

    ANNIVERSARIES = (1, 2)

    @cached_property
    def anniversaries(self) -> tuple[date, ...]:
        """The anniversaries that move ``cycle_year`` (its issue date never changes)."""
        return tuple(add_years(self.issued, k) for k in self.ANNIVERSARIES)

    def change_days(self) -> tuple[date, ...]:
        """The days it may change the status document: its issue date (a waiver's
        certificate starts in the future) and the anniversaries that move ``cycle_year``."""
        return (self.issued, *self.anniversaries)


@dataclass
class Requirement:
    """The next audit the employer owes: its kind, due date (without grace) and window."""

    kind: str  # certification / maintenance / recertification
    opened: date
    rule: Rule | None = None
    number: int = 0  # maintenance audit 1 or 2
    due: date | None = None
    grace_end: date | None = None
    window_start: date | None = None
    start_inclusive: bool = True
    measured_on: str = "submitted"  # which audit date must fall in the window, by due
    held: bool = False  # kept past the lapse date by an on-time audit still in QA
    scope_change: bool = False
    # While held: the audit owed next (maintenance N+1, the recertification after the
    # year-3 maintenance, or a scope change's certification audit), which falls due on its
    # own date whatever QA says of this one. Held (or met) in turn, it has its own ``then``:
    # a chain of owed audits, of which :meth:`owed_after` names the one falling due next.
    then: Requirement | None = None
    # In the chain after a held one: met by an accepted audit (held from then on, also
    # before its due date), so nothing of it is awaited and what is owed after it is next.
    met: bool = False

    def chain(self) -> Iterator[Requirement]:
        """The audits owed after this one (:attr:`then`, and theirs), in order."""
        link = self.then
        while link is not None:
            yield link
            link = link.then

    def owed_after(self) -> tuple[Requirement, Requirement | None]:
        """Along the chain of audits owed after this held one (:attr:`then`): the last one
        held past its due date and still awaited in QA (this one if no other; a link
        :attr:`met` is not), and the audit owed after the held and met ones, which falls due
        on its own date (None: nothing falls due before the expiry decides)."""
        last, link = self, self.then
        while link is not None and link.held:
            if not link.met:
                last = link
            link = link.then
        return last, link

    def owes(self, req: Requirement) -> bool:
        """Whether ``req`` is in the chain of audits owed after this one."""
        return any(link is req for link in self.chain())

    def held_after(self) -> list[Requirement]:
        """The audits owed after this held one that are held past their own due date (or
        met) in turn, in chain order: each must still be met by an audit that holds it."""
        return list(takewhile(lambda link: link.held, self.chain()))

    @property
    def within_expiry(self) -> bool:
        """Whether the certificate's expiry still runs beside it: for every requirement but
        the recertification, which decides what happens at the expiry itself."""
        return self.kind != "recertification"

    @property
    def last_day(self) -> date | None:
        """The last day an audit may be submitted for it (due, or the end of grace)."""
        return self.grace_end or self.due

    @property
    def lapse_on(self) -> date | None:
        return self.last_day + ONE_DAY if self.last_day is not None else None


@dataclass(frozen=True)
class Miss:
    """A requirement that was not met, and the day the certificate ended because of it."""

    requirement: Requirement
    lapsed_on: date
    how: str  # cancelled / expired
    # The last day an audit could still have been submitted for it: the grace end, else the
    # due date, or the close of a limited-scope window that held the certificate past them.
    last_day: date | None = None


@dataclass
class Review:
    """A review opened by a serious incident (or an investigation), until it closes."""

    opened: date
    event: ev.LedgerEvent
    closed: date | None = None
    outcome: str | None = None
    case: str | None = None
    closing: ev.LedgerEvent | None = None  # the event that closed it

    def open_on(self, day: date) -> bool:
        return self.opened <= day and (self.closed is None or day < self.closed)


STANDING = (ev.ProgramChanged, ev.EventVoided)
"""Events whose decisions stand beyond the cycle they fell in: the program in force, and a
void (COR-2000.corrections: an answer from the target's date on cites the void)."""


@dataclass
class _BecauseMemo:
    """:meth:`EmployerTimeline.because` so far: for the cycle from ``since``, the decisions
    chosen among the first ``seen``."""

    since: date
    first: Decision | None
    chosen: list[Decision]
    entries: list[dict[str, Any]]  # the chosen decisions' ``because`` entries
    seen: int
    cited: set[int] = field(default_factory=set)  # ``id`` of each chosen decision's event


@dataclass
class EmployerTimeline:
    """Everything the fold learned about one employer, up to ``as_of`` as known at
    ``known_at``. See the module docstring for the questions it answers."""

    employer: str
    as_of: date
    known_at: datetime | None
    registry: RuleRegistry
    registration: Registration | None = None
    program: str | None = None
    headcounts: list[tuple[date, int]] = field(default_factory=list)
    classification_units: list[str] = field(default_factory=list)
    internal_auditors: dict[str, list[tuple[date, date | None]]] = field(default_factory=dict)
    audits: dict[str, AuditRecord] = field(default_factory=dict)
    # Every notice filed for each audit, in fold order (the earliest decides if it was on time).
    notices: dict[str, list[ev.AuditNoticeFiled]] = field(default_factory=dict)
    certificates: list[Certificate] = field(default_factory=list)
    requirement: Requirement | None = None
    misses: list[Miss] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    investigations: list[Review] = field(default_factory=list)
    violations: list[ev.ViolationRecorded] = field(default_factory=list)
    scope_changes: list[ev.ScopeChanged] = field(default_factory=list)
    after_revocation: bool = False
    # Maintenance audits still in QA when their certificate expired or was revoked: accepted
    # later, each still meets its year (the incentive asks), never the certificate.
    late: list[tuple[Requirement, Certificate, AuditRecord]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    events: list[ev.LedgerEvent] = field(default_factory=list)  # in view, in fold order
    # The voided events, in fold order, each with the void that leaves it out: they decide
    # nothing, but an answer they would have decided cites the void (the incentive asks).
    voided: list[tuple[ev.LedgerEvent, ev.EventVoided]] = field(default_factory=list)
    # The ids of audits that opened a limited-scope window, in ``audits`` order: an index so
    # the questions about open windows do not re-scan every audit of a long history.
    windowed: dict[str, None] = field(default_factory=dict)
    # The ids of audits QA has not decided yet, and of those it rejected (``qa_pending`` and
    # the ``qa_rejected`` lapse risk look only at these, not at every audit of the history).
    awaiting_qa: dict[str, None] = field(default_factory=dict)
    qa_rejected: dict[str, None] = field(default_factory=dict)
    # Memos of answers asked many times on one as-of date (a rebuild renders thousands of
    # days): the rulebook in force, and the decisions behind the answer (see :meth:`because`).
    _rulebook_memo: tuple[date, Rulebook] | None = field(default=None, repr=False,
                                                         compare=False)
    _because_memo: _BecauseMemo | None = field(default=None, repr=False, compare=False)

    # --- facts on the as-of date ------------------------------------------------------------

    @property
    def partner(self) -> str | None:
        return self.registration.partner if self.registration else None

    def rulebook(self, on: date | None = None) -> Rulebook:
        assert self.registration is not None, "an unregistered employer has no rulebook"
        day = on or self.as_of
        memo = self._rulebook_memo
        if memo is not None and memo[0] == day:
            return memo[1]
        book = self.registry.rulebook_for(self.registration.partner, day)
        self._rulebook_memo = (day, book)
        return book

    def because(self) -> list[Decision]:
        """The decisions behind the current answer: the registration that stands, then the
        current cycle (from the submission of the audit that earned the latest certificate),
        and from before it the decisions that still stand (:attr:`Decision.stands`: a
        program change, a void, a size class set). Events before that registration (a
        voided one's, before a re-registration) are left out: they decided nothing. With no
        registration standing: the voids that left each one out (none if there never was
        one), which decide that answer."""
        if self.registration is None:
            return self._voided_registrations()
        return list(self._because().chosen)

    def _voided_registrations(self) -> list[Decision]:
        """The decisions citing the voids of this employer's registrations: while none
        stands, the fold cites no other void under a rule (a void's own place in the fold,
        before any registration, is noted without one)."""
        return [d for d in self.decisions
                if d.rule is not None and isinstance(d.event, ev.EventVoided)]

    def because_entries(self) -> list[dict[str, Any]]:
        """The ``because`` entries of :meth:`because` (shared: read them, never change
        them)."""
        if self.registration is None:
            return [d.entry for d in self._voided_registrations()]
        return list(self._because().entries)

    def _because(self) -> _BecauseMemo:
        """:meth:`because` of a registered employer, kept up to date: decisions are only
        ever appended, so the choice is extended from the last call's while the cycle's
        start stays the same."""
        assert self.registration is not None
        decisions = self.decisions
        since = self.registration.registered
        if self.certificates:
            since = self.certificates[-1].submitted
        memo = self._because_memo
        if memo is None or memo.since != since or memo.seen > len(decisions):
            reg = self.registration.event
            first = next((d for d in decisions if d.event is reg), None)
            if first is None:  # not yet noted: choose afresh next time
                if not decisions:
                    return _BecauseMemo(since, None, [], [], 0)
                first = decisions[0]
                memo = _BecauseMemo(since, first, [first], [first.entry], 0,
                                    {id(first.event)})
            else:
                memo = self._because_memo = _BecauseMemo(since, first, [first],
                                                         [first.entry], 0,
                                                         {id(first.event)})
        first, registered = memo.first, self.registration.registered
        for d in decisions[memo.seen:]:
            if d is not first and (d.on >= since or d.stands) and (
                    d.event is None or d.event.effective >= registered):
                memo.chosen.append(d)
                memo.entries.append(d.entry)
                memo.cited.add(id(d.event))
        memo.seen = len(decisions)
        return memo

    def cites(self, event: ev.LedgerEvent) -> bool:
        """Whether a decision of :meth:`because` cites ``event``."""
        if self.registration is None:
            return any(d.event is event for d in self._voided_registrations())
        return id(event) in self._because().cited

    def headcount_on(self, day: date) -> int | None:
        """The latest headcount effective on or before ``day`` (``headcounts`` is in date
        order, so this is a binary search)."""
        at = bisect_right(self.headcounts, (day, _AFTER_ANY))  # tuples: no key calls
        return self.headcounts[at - 1][1] if at else None

    def headcounts_between(self, start: date, end: date) -> list[int]:
        """The headcounts reported effective from ``start`` to ``end``, inclusive."""
        lo = bisect_left(self.headcounts, (start, _BEFORE_ANY))
        hi = bisect_right(self.headcounts, (end, _AFTER_ANY))
        return [h for _, h in self.headcounts[lo:hi]]

    def size_class(self) -> str | None:
        if self.registration is None:
            return None
        return self.rulebook().size_class(self.headcount_on(self.as_of))

    def internal_auditor_qualified(self, auditor: str, day: date) -> bool:
        return any(start <= day and (end is None or day < end)
                   for start, end in self.internal_auditors.get(auditor, []))

    def qualified_internal_auditors(self, day: date) -> list[str]:
        return sorted(a for a in self.internal_auditors
                      if self.internal_auditor_qualified(a, day))

    @property
    def current_certificate(self) -> Certificate | None:
        """The certificate in force on ``as_of``, if any."""
        for cert in reversed(self.certificates):
            if cert.in_force_on(self.as_of):
                return cert
        return None

    @property
    def status(self) -> str:
        """registered / certified / cancelled / expired / revoked (unregistered if none)."""
        return self.status_given(self.current_certificate)

    def status_given(self, current: Certificate | None) -> str:
        """:attr:`status`, given the :attr:`current_certificate` (for a caller that has it)."""
        if self.registration is None:
            return "unregistered"
        if current is not None:
            return "certified"
        if self.certificates and self.certificates[-1].ended in ("cancelled", "expired",
                                                                  "revoked"):
            return self.certificates[-1].ended or "registered"
        return "registered"

    def open_limited_scope(self, day: date | None = None) -> AuditRecord | None:
        """The failed audit whose limited-scope window is open on ``day`` (default as-of)."""
        day = day or self.as_of
        for audit in self.windowed_audits():
            if (audit.limited_scope_until is not None and audit.repaired_by is None
                    and audit.used_for is None and audit.qa_outcome != "rejected"
                    and audit.submitted <= day <= audit.limited_scope_until):
                return audit
        return None

    def windowed_audits(self) -> Iterable[AuditRecord]:
        """The audits whose limited-scope window was opened, latest first."""
        for audit_id in reversed(self.windowed):
            audit = self.audits.get(audit_id)
            if audit is not None and audit.limited_scope_until is not None:
                yield audit

    # --- questions for the incentive module --------------------------------------------------

    def certificate_on(self, day: date) -> Certificate | None:
        """The certificate in force on ``day`` (``day`` <= as_of)."""
        for cert in reversed(self.certificates):
            if cert.in_force_on(day):
                return cert
        return None

    def held_valid_certificate_in(self, year: int) -> bool:
        """Whether a certificate was in force on any day of ``year``."""
        start, end = date(year, 1, 1), date(year, 12, 31)
        return any(c.issued <= end and (c.ended_on is None or c.ended_on > start)
                   for c in self.certificates)

    def certificates_ended_in(
        self, year: int, how: Sequence[str] = ("cancelled", "revoked")
    ) -> list[Certificate]:
        """Certificates that ended during ``year`` in one of the ways ``how``."""
        return [c for c in self.certificates
                if c.ended in how and c.ended_on is not None and c.ended_on.year == year]

    def able_to_meet(self, req: Requirement) -> list[AuditRecord]:
        """The audits that can meet ``req`` (:func:`can_meet`), in submission order: for the
        audit owed after a held one, which the fold does not index (it is rarely asked)."""
        return [a for a in self.audits.values() if can_meet(req, a)]

    def required_audit_accepted_in(self, year: int) -> AuditRecord | None:
        """The QA-accepted audit that met the requirement of certification year ``year``
        (the certifying audit for the year of issue, a maintenance audit for its due year)."""
        for audit in self.audits.values():
            if (audit.used_for is not None and audit.used_for_year == year) \
                    or audit.met_year == year:
                return audit
        return None

    def first_certification_submitted_by_cutoff(self, year: int) -> bool | None:
        """For a first certification issued in ``year``: was its audit submitted by the
        partner's cutoff (BCCSA/GO2HR: Nov 30) of ``year``? None when not applicable."""
        if self.registration is None:
            return None
        rb = self.rulebook(date(year, 12, 31))
        if not rb.has("first-certification-cutoff"):
            return None
        cutoff = rb.rule("first-certification-cutoff")
        firsts = [c for c in self.certificates if c.issued.year == year
                  and not self._renewal(c)]
        if not firsts:
            return None
        last_day = date(year, int(cutoff["month"]), int(cutoff["day"]))
        return any(c.submitted <= last_day for c in firsts)

    def _renewal(self, cert: Certificate) -> bool:
        before = [c for c in self.certificates if c.issued < cert.issued]
        return bool(before) and before[-1].ended == "renewed"

    def audit_scope(self, audit: str) -> tuple[str, ...]:
        """The CUs in an audit's scope (default: the employer's CUs when it was submitted)."""
        return self.audits[audit].scope

    def review_open_on(self, day: date) -> bool:
        return any(r.open_on(day) for r in self.reviews)

    def investigation_open_on(self, day: date) -> bool:
        return any(r.open_on(day) for r in self.investigations)

    def review_or_investigation_open_in(self, year: int) -> bool:
        start, end = date(year, 1, 1), date(year, 12, 31)
        return any(r.opened <= end and (r.closed is None or r.closed > start)
                   for r in [*self.reviews, *self.investigations])


# --- selecting the events in view ------------------------------------------------------------


def fold(
    events: Iterable[ev.LedgerEvent],
    *,
    as_of: date,
    known_at: datetime | None = None,
    employer: str | None = None,
    registry: RuleRegistry | None = None,
) -> EmployerTimeline:
    """Replay one employer's events as of ``as_of``, as known at ``known_at`` (with the cyclic
    collector paused: :mod:`ledger.collector`)."""
    with collector_paused():
        known, voids = with_voids(events, known_at)
        view = in_fold_order(e for e in known if e.effective <= as_of and not e.reference)
        name = employer or next((e.employer for e in view if e.employer), "")
        engine = Fold(name or "", registry, known_at=known_at, voids=voids)
        for event in view:
            engine.apply(event)
        engine.advance_to(as_of)
        return engine.timeline


# --- the fold -------------------------------------------------------------------------------------


@mypyc_attr(native_class=False)  # compiled, an exception class must stay a Python one
class UnknownEventType(TypeError):
    """An event type the fold has no handler for: a new type must be added to HANDLERS."""


class Fold:
    """The fold engine: applies one employer's events in fold order, and the calendar's
    deadlines between them, to an :class:`EmployerTimeline`.

    ``apply(event)`` takes the next event (in :func:`fold_order`; a step back in valid time
    is refused), ``advance_to(day)`` applies the deadlines up to ``day`` and makes ``day``
    the timeline's as-of date, and ``next_change_after(day)`` says when the answer on ``day``
    can next change without a new event. Each event costs constant work: the audits that can
    meet the open requirement and the open limited-scope windows are indexed, never
    re-scanned.
    """

    def __init__(self, employer: str, registry: RuleRegistry | None = None, *,
                 known_at: datetime | None = None,
                 voids: Mapping[str, ev.EventVoided] | None = None) -> None:
        self.t = EmployerTimeline(employer, date.min, known_at, registry or RULES)
        # Voided event id -> the void that leaves it out (:func:`with_voids`): such an event
        # comes in fold order like the rest, decides nothing, and is cited through its void.
        self._voids = voids or {}
        self._closed_windows: set[str] = set()  # limited-scope windows whose close was applied
        self._last_day = date.min  # the effective date of the last event applied
        # The audits that can meet the open requirement (``_for`` is that requirement).
        self._for: Requirement | None = None
        self._meeting: list[AuditRecord] = []
        self._repairs_of: dict[str, dict[str, None]] = {}  # original audit -> its repairs
        self._calendar: list[date] = []  # a heap: future days the answer may change on
        # Certifying audits submitted since the current certificate was issued: one may renew
        # it while a maintenance audit is still owed (see :func:`renews`).
        self._renewing: list[AuditRecord] = []
        self._year_starts = False  # a program limit that counts every headcount of the year
        # A scope change's certification audit, owed once the open requirement is met: the
        # change came after that requirement's due date (in its grace, or while QA held it),
        # or the certificate expired before it and a renewal settles the expiry (and the
        # change's audit too when submitted after the change).
        self._scope_owed: Requirement | None = None

    @property
    def timeline(self) -> EmployerTimeline:
        """What the fold has learned so far, as of the last ``advance_to`` day."""
        return self.t

    # helpers -----------------------------------------------------------------------------------

    def note(self, on: date, says: str, rule: Rule | None = None,
             event: ev.LedgerEvent | None = None, *, stands: bool = False) -> None:
        """Adds a decision to the answer's reasons; it ``stands`` beyond its cycle when
        told, or when its event is a :data:`STANDING` one."""
        self.t.decisions.append(Decision(on, says, rule, event,
                                         stands or isinstance(event, STANDING)))

    def rb(self, on: date) -> Rulebook:
        return self.t.rulebook(on)

    @property
    def cert(self) -> Certificate | None:
        last = self.t.certificates[-1] if self.t.certificates else None
        return last if last is not None and last.ended is None else None

    # the calendar --------------------------------------------------------------------------------

    def advance_to(self, day: date) -> None:
        """Apply every deadline that takes effect on or before ``day``; the timeline then
        answers as of ``day``."""
        while True:
            moment = self._next_deadline()
            if moment is None or moment > day:
                break
            self._deadline(moment)
        self.t.as_of = day

    def next_change_after(self, day: date) -> date | None:
        """The first day after ``day`` on which the timeline's answer may change with no new
        event (None: never). Each point is marked where its rule takes effect: a deadline
        (due date and grace, :attr:`Requirement.lapse_on`; a held requirement's window),
        a certificate's issue date and anniversaries (:meth:`Certificate.change_days`), a
        limited-scope window's close (:attr:`AuditRecord.window_closes_on`), a rule version
        coming into force and, where a program limit counts the whole year, the next
        January 1."""
        calendar = self._calendar
        while calendar and calendar[0] <= day:
            heapq.heappop(calendar)
        first = calendar[0] if calendar else None
        deadline = self._next_deadline()
        if deadline is not None and deadline > day and (first is None or deadline < first):
            first = deadline
        req = self.t.requirement
        if req is not None and req.held:
            # a held certificate's pending audits stop being pending as their windows close
            for a in self._candidates(None):
                close = a.window_closes_on
                if close is not None and close > day and (first is None or close < first):
                    first = close
        return first

    def _mark(self, *days: date | None) -> None:
        """Note days on which the answer may change (see :meth:`next_change_after`)."""
        for day in days:
            if day is not None and day > self._last_day:
                heapq.heappush(self._calendar, day)

    def _next_deadline(self) -> date | None:
        """The day the open requirement's deadline takes effect (None: none is running): its
        :attr:`Requirement.lapse_on`, or for a held one the close of the window holding it or
        the lapse date of the audit owed next (:meth:`Requirement.owed_after`), whichever is
        first; the certificate's expiry when that comes first and the requirement does not
        renew the certificate (no hold or grace of a maintenance audit runs past
        ``expires``)."""
        req, cert = self.t.requirement, self.cert
        if req is None or cert is None:
            return None
        own: date | None = None
        if not req.held:
            own = req.lapse_on
        else:
            original = self._held_by_window()
            if original is not None and original.limited_scope_until is not None:
                own = original.limited_scope_until + ONE_DAY
            _, then = req.owed_after()
            if then is not None and then.lapse_on is not None \
                    and (own is None or then.lapse_on < own):
                own = then.lapse_on
        if req.within_expiry:
            expiry = cert.expires + ONE_DAY
            if own is None or expiry < own:
                return expiry
        return own

    def _deadline(self, day: date) -> None:
        req, cert = self.t.requirement, self.cert
        assert req is not None
        if cert is not None and req.within_expiry and day > cert.expires:
            self._expire(day)
            return
        then = req.owed_after()[1] if req.held else None
        if then is not None and then.lapse_on is not None and day >= then.lapse_on:
            self._then_due(req, then, day)
            return
        if req.held:  # a limited-scope window that held the certificate has closed
            original = self._held_by_window()
            if original is not None:
                self._closed_windows.add(original.audit)
            self.settle(day)
            return
        pending = self._holding(day)
        if pending:
            self._hold(req, pending, day)
            names = ", ".join(a.audit for a in pending)
            self.note(day, f"{req.kind} due {req.due} passed; audit {names} was submitted "
                           "on time and is still in QA: the certificate stays in force",
                      self.rb(day).rule("qa"))
            return
        self._lapse(day, None)

    def _hold(self, req: Requirement, pending: Sequence[AuditRecord], day: date) -> None:
        """Keep the certificate past ``req``'s due date for its ``pending`` audits (or, for
        an audit owed after a held one, its accepted ones too). A hold keeps it against
        that due date only: the audit owed next (:attr:`Requirement.then`) still falls due
        on its own date (DOMAIN, the cycle 2: "in each of years 2 and 3"), and so on along
        the chain. A scope change's certification audit already waiting after ``req`` (the
        change came after its due date) is that audit."""
        req.held = True
        cert = self.cert
        if req.then is not None or req.kind != "maintenance" or req.scope_change \
                or cert is None:
            return
        first = next((a for a in pending if can_meet(req, a)), None)
        if first is None:  # only a renewal holds it: accepted, it starts a new cycle
            return
        then = req.then = self._after_maintenance(self._maintained(cert), req.number,
                                                  first.completed, day)
        if then.window_start is not None and then.start_inclusive and any(
                (a.completed if then.measured_on == "completed" else a.submitted)
                == then.window_start for a in pending if can_meet(req, a)):
            # an audit on the day the next window opens holds this one: it cannot meet both
            then.start_inclusive = False

    def _then_due(self, req: Requirement, then: Requirement, day: date) -> None:
        """The audit owed next fell due while ``req`` is held: an audit that can meet it,
        accepted or still pending, keeps the certificate (and what is owed after it falls
        due on its own date in turn); otherwise it is missed, whatever QA still says of
        ``req``'s audits (kept so that one accepted later meets its year)."""
        holding = self._then_holding(then, day)
        if holding:
            self._hold(then, holding, day)
            names = ", ".join(a.audit for a in holding)
            self.note(day, f"{then.kind} due {then.due} passed while the {req.kind} audit "
                           f"due {req.due} is still in QA; audit {names} was submitted on "
                           "time: the certificate stays in force", self.rb(day).rule("qa"))
            return
        self._miss_then(req, then, day, None)

    def _then_holding(self, then: Requirement, day: date) -> list[AuditRecord]:
        """The audits that meet, or may still meet, the audit owed after a held one: those
        that can meet it, accepted and passing or pending, and pending renewals."""
        cert = self.cert
        found = [a for a in self.t.able_to_meet(then) if a.submitted <= day
                 and (a.accepted and a.final_passes or self._pending(a, day))]
        if cert is not None:
            found += [a for a in self._renewing if renews(then, cert, a)
                      and a.submitted <= day and self._pending(a, day) and a not in found]
        return found

    def _miss_then(self, req: Requirement, then: Requirement, day: date,
                   why: str | None, by: ev.LedgerEvent | None = None) -> None:
        """The certificate lapses for the audit owed after the held ``req``."""
        cert = self.cert
        assert cert is not None
        self._keep_late(req, cert, day)
        self.t.requirement = then
        self._lapse(day, why, by)

    def _expire(self, day: date) -> None:
        """The certificate's expiry passed while a maintenance audit (or a scope change's
        certification audit) was still owed: only a recertification submitted by ``expires``
        and still in QA keeps it in force; otherwise it is expired from ``day``."""
        cert, owed = self.cert, self.t.requirement
        assert cert is not None and owed is not None
        self._keep_late(owed, cert, day)
        if owed.scope_change:  # a renewal settles the expiry; the change's audit, only if
            # submitted after the change (see _fulfil)
            self._scope_owed = owed
        # the recertification already owed along a held chain keeps its own due date (AMHSA:
        # one year after the last audit, when that is before the expiry)
        owed_renewal = next((link for link in owed.chain() if link.kind == "recertification"),
                            None)
        req = self.t.requirement = owed_renewal or self._renewal(cert, day)
        candidates = self._candidates(day)
        done = next((a for a in candidates if a.accepted and a.final_passes), None)
        if done is not None:  # accepted already, but it could not meet what was owed then
            self._fulfil(req, done, day)
            return
        pending = [a for a in candidates if self._pending(a, day)]
        if not pending:
            self._lapse(day, None)
            return
        req.held = True
        names = ", ".join(a.audit for a in pending)
        self.note(day, f"the certificate expired on {cert.expires}; recertification audit "
                       f"{names} was submitted by then and is still in QA: the certificate "
                       "stays in force", self.rb(day).rule("qa"))

    def _held_by_window(self) -> AuditRecord | None:
        """The failed audit whose limited-scope window keeps a held certificate alive: one
        that can meet the open requirement, or an audit owed after it that is held in turn
        (:meth:`Requirement.held_after`)."""
        req = self.t.requirement
        pools = [self._candidates(None)]
        if req is not None and req.held:
            pools += [self.t.able_to_meet(link) for link in req.held_after()]
        for pool in pools:
            for a in pool:
                if (a.limited_scope_until is not None and a.repaired_by is None
                        and a.audit not in self._closed_windows):
                    return a
        return None

    def _last_chance(self, req: Requirement, day: date) -> date | None:
        """The last day an audit could still have been submitted for ``req``, which lapses
        on ``day``: its grace end or due date, or a limited-scope window closed after them."""
        last = req.grace_end or req.due
        for a in self._candidates(None):
            close = a.limited_scope_until
            if (close is not None and a.audit in self._closed_windows and close < day
                    and (last is None or close > last)):
                last = close
        return last

    def _lapse(self, day: date, why: str | None, by: ev.LedgerEvent | None = None) -> None:
        cert, req = self.cert, self.t.requirement
        assert cert is not None and req is not None
        how = "expired" if req.kind == "recertification" else "cancelled"
        rb = self.rb(day)
        rule = rb.rule("recertification-due" if how == "expired" else "missed-audit")
        if req.held:  # what is still in QA behind it may yet meet its own year
            self._keep_late(req, cert, day)
        self._end(cert, how, day, by)
        self._scope_owed = None
        self.t.misses.append(Miss(req, day, how, self._last_chance(req, day)))
        what = f"no {req.kind} audit submitted by {req.last_day} met it"
        if why:
            what = why
        self.note(day, f"{what}: the certificate is {how} from {day}; the next audit is a "
                       "certification audit", rule, by)
        # an audit submitted after the expiry (while a held certificate ran on) is a new
        # certification already (second set, "Late recertification")
        self.t.requirement = Requirement("certification", min(day, cert.expires + ONE_DAY),
                                         rule)

    # events -----------------------------------------------------------------------------------

    def apply(self, event: ev.LedgerEvent) -> bool:
        """Fold in the next event (events come in :func:`fold_order`). False when the event
        cannot change the answer: the status fold reads nothing from its type, or (a type of
        :data:`LATER_FACTS`) nothing the answer reads today and no decision was noted."""
        name = event.type_name()
        handler = HANDLERS.get(name)
        if handler is None:
            raise UnknownEventType(f"the fold has no handler for event type "
                                   f"{name!r}: add it to HANDLERS")
        if event.effective < self._last_day:
            raise ValueError(f"event {event.event_id} ({event.effective}) comes before the "
                             f"last one folded ({self._last_day}): apply events in fold order")
        noted = len(self.t.decisions)
        self.advance_to(event.effective)
        self._last_day = event.effective
        if event.event_id in self._voids:
            return self._voided(event, handler)
        self.t.events.append(event)
        if isinstance(event, ev.EmployerRegistered):
            self._registered(event)
        elif self.t.registration is None:
            self.note(event.effective, "before registration: not counted", None, event)
            return True
        else:
            handler(self, event)
            self.settle(event.effective)
        if self._year_starts:
            self._mark(date(event.effective.year + 1, 1, 1))
        if name in LATER_FACTS:  # moved the answer only if a decision was noted
            return len(self.t.decisions) > noted
        return handler is not Fold._not_for_status

    def _voided(self, e: ev.LedgerEvent, handler: _Handler) -> bool:
        """A voided event: the answer cites its void from the event's own date on, when the
        event is one the status fold would have read (a registration, or any such event
        once registered). True when it was cited."""
        void = self._voids[e.event_id or ""]
        self.t.voided.append((e, void))
        if handler is Fold._not_for_status:
            return False
        if isinstance(e, ev.EmployerRegistered):
            rb = self.t.registry.rulebook_for(e.partner, e.effective)
        elif self.t.registration is not None:
            rb = self.rb(e.effective)
        else:
            return False
        self.note(e.effective, f"{e.type_name()} {e.event_id} ({e.effective}) was voided: "
                               f"{void.reason}; it counts for nothing",
                  rb.rule("corrections"), void)
        return True

    def _not_for_status(self, e: ev.LedgerEvent) -> None:
        """Events the status fold reads no fact from: money (the incentive module reads
        it), corrections (:func:`in_view` applies them) and the scan's own flags."""

    def _registered(self, e: ev.EmployerRegistered) -> None:
        if self.t.registration is not None:
            self.note(e.effective, "a second registration: the first one stands", None, e)
            return
        partner = self.t.registry
        self._year_starts = partner.limit_counts_whole_year(e.partner)
        self._mark(*partner.since_dates(e.partner))
        self.t.registration = Registration(e.name, e.partner, e.program,
                                           tuple(e.classification_units), e.effective, e)
        self.t.program = e.program
        self.t.classification_units = list(e.classification_units)
        if e.headcount is not None:
            self.t.headcounts.append((e.effective, e.headcount))
        rb = self.rb(e.effective)
        self.note(e.effective, f"registered with {e.partner} for {e.program}; the next audit "
                               "is a certification audit", rb.rule("programs"), e)
        self.t.requirement = Requirement("certification", e.effective,
                                         rb.rule("certification-auditor"))

    def _on_HeadcountReported(self, e: ev.HeadcountReported) -> None:
        before = self.t.headcount_on(e.effective)
        self.t.headcounts.append((e.effective, e.headcount))
        rb = self.rb(e.effective)
        size = rb.size_class(e.headcount)
        if size is not None and size != rb.size_class(before):  # the answer's size_class
            small_max = rb.rule("programs")["small_max"]
            self.note(e.effective, f"headcount {e.headcount}: a {size} employer (small: "
                                   f"{small_max} or fewer)", rb.rule("programs"), e,
                      stands=True)
        limit = rb.program_limit(self.t.program or "")
        if limit is not None and e.headcount > limit:  # what raises the flag, cited
            self.note(e.effective, f"headcount {e.headcount} is over the {self.t.program} "
                                   f"limit of {limit}", rb.rule("programs"), e)

    def _on_ProgramChanged(self, e: ev.ProgramChanged) -> None:
        self.t.program = e.program
        self.note(e.effective, f"program changed to {e.program}",
                  self.rb(e.effective).rule("programs"), e)

    def _on_ClassificationUnitAdded(self, e: ev.ClassificationUnitAdded) -> None:
        if e.cu not in self.t.classification_units:
            self.t.classification_units.append(e.cu)

    def _on_ClassificationUnitRemoved(self, e: ev.ClassificationUnitRemoved) -> None:
        if e.cu in self.t.classification_units:
            self.t.classification_units.remove(e.cu)

    def _on_InternalAuditorQualified(self, e: ev.InternalAuditorQualified) -> None:
        spans = self.t.internal_auditors.setdefault(e.auditor, [])
        if not spans or spans[-1][1] is not None:
            spans.append((e.effective, None))

    def _on_InternalAuditorLeft(self, e: ev.InternalAuditorLeft) -> None:
        spans = self.t.internal_auditors.get(e.auditor, [])
        if spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], e.effective)
        if not self.t.qualified_internal_auditors(e.effective):  # cited where it matters
            self.note(e.effective, f"internal auditor {e.auditor} left: no qualified "
                                   "internal auditor remains",
                      self.rb(e.effective).rule("internal-auditor"), e)

    def _on_AuditNoticeFiled(self, e: ev.AuditNoticeFiled) -> None:
        self.t.notices.setdefault(e.audit, []).append(e)
        a = self.t.audits.get(e.audit)
        if a is not None and a.counts and not a.notice_late:
            # filed after its audit was submitted: it can only be late, and it may be what
            # makes the audit a team audit (BCCSA), whose notice the submission lacked
            self._check_notice(a, self.rb(a.submitted), e)

    def _on_ScopeChanged(self, e: ev.ScopeChanged) -> None:
        self.t.scope_changes.append(e)
        rule = self.rb(e.effective).rule("scope-change")
        if e.certification_audit_required is None:
            self.note(e.effective, f"scope change ({e.change}): the partner has not decided "
                                   "whether a certification audit is required", rule, e)
            return
        if not e.certification_audit_required:
            self.note(e.effective, f"scope change ({e.change}): no certification audit "
                                   "required", rule, e)
            return
        req = self.t.requirement
        if self.cert is not None and req is not None:
            due = date(e.effective.year, 12, 31)  # the change's year, no grace
            owed = Requirement("certification", e.effective, rule, due=due,
                               window_start=e.effective, scope_change=True)
            if req.due is not None and e.effective > req.due:
                # what is past due stays owed: a miss or a QA rejection still ends it
                self._scope_owed = owed
                after = self._owed_after_past_due(req, owed, e.effective)
                if after is None:
                    self.note(e.effective, f"scope change ({e.change}): a certification "
                                           f"audit is required, due by {due} (no grace), "
                                           f"once the {req.kind} audit due {req.due} is "
                                           "settled", rule, e)
                    return
                self.note(e.effective, f"scope change ({e.change}): a certification audit is "
                                       f"required, due by {due} (no grace), after the "
                                       f"{after.kind} audit due {after.due}, which stays "
                                       "owed", rule, e)
                return
            self.t.requirement = owed
            self.note(e.effective, f"scope change ({e.change}): a certification audit is "
                                   f"required, due by {due} (no grace)", rule, e)
        else:
            self.note(e.effective, f"scope change ({e.change}): a certification audit is "
                                   "required", rule, e)

    @staticmethod
    def _owed_after_past_due(req: Requirement, owed: Requirement, day: date
                             ) -> Requirement | None:
        """Put a scope change's certification audit ``owed``, required on ``day`` after
        ``req``'s due date, in the chain of audits owed after ``req``
        (:attr:`Requirement.then`): in place of the first one not yet due on ``day`` (nor
        met), which it replaces (as it replaces an owed audit not yet due), so that it falls
        due on its own date while QA holds ``req`` (DOMAIN, second set, "Scope changes":
        "missed, the certificate is cancelled the day after"). Returns the audit it follows
        (None: it cannot wait in the chain, and waits for ``req`` to be settled)."""
        last, link = req, req.then
        while link is not None and (link.held or link.due is not None and day > link.due):
            last, link = link, link.then
        if last.kind == "recertification" or (last.kind == "certification"
                                              and not last.scope_change):
            return None  # after a recertification held in QA: what renews it decides
        last.then = owed
        return last

    def _on_AuditSubmitted(self, e: ev.AuditSubmitted) -> None:
        audits = self.t.audits
        replaced = e.audit in audits
        audit = audits[e.audit] = self._judge(e)
        self.t.awaiting_qa[e.audit] = None
        self.t.qa_rejected.pop(e.audit, None)
        if audit.repairs is not None:
            self._repairs_of.setdefault(audit.repairs, {})[audit.audit] = None
            self._rejudge_repairs(audit.repairs, e.effective, e)
        if replaced:  # a second submission under the same id takes the first one's place
            self._for = None
            self.t.windowed = {a.audit: None for a in audits.values()
                               if a.limited_scope_until is not None}
        else:
            if audit.limited_scope_until is not None:
                self.t.windowed[audit.audit] = None
            req = self.t.requirement
            if req is not None and req is self._for and can_meet(req, audit):
                self._meeting.append(audit)
            elif req is not None and audit.counts and audit.repairs is None \
                    and (audit.kind == req.kind or audit.certifying and req.kind in CERTIFYING):
                why = outside_window(req, audit)
                if why is not None:  # the status says why it did not count
                    self.note(e.effective, f"{audit.kind} audit {audit.audit} {why}: it does "
                                           f"not meet the {req.kind} audit owed", req.rule, e)
            if audit.certifying and audit.counts and audit.repairs is None:
                self._renewing.append(audit)
        self._mark(audit.window_closes_on)

    def _on_QADecided(self, e: ev.QADecided) -> None:
        audit = self.t.audits.get(e.audit)
        rule = self.rb(e.effective).rule("qa")
        if audit is None:
            self.note(e.effective, f"QA decision for audit {e.audit}, which has not been "
                                   "submitted: ignored", rule, e)
            return
        if audit.qa_outcome is not None:
            self.note(e.effective, f"audit {e.audit} was already decided by QA on "
                                   f"{audit.qa_date}: the first decision stands", rule, e)
            return
        audit.qa_outcome, audit.qa_date, audit.qa_event = e.outcome, e.effective, e
        self.t.awaiting_qa.pop(e.audit, None)
        if e.outcome == "rejected":
            self.t.qa_rejected[e.audit] = None
        reasons = f" ({'; '.join(e.reasons)})" if e.reasons else ""
        self.note(e.effective, f"QA {e.outcome} audit {e.audit}{reasons}", rule, e)
        if audit.repairs is not None and audit.accepted and audit.counts:
            self._repair(audit, e)
        if audit.repairs is not None and audit.counts:
            self._rejudge_repairs(audit.repairs, e.effective, e)

    def _on_SeriousIncidentReported(self, e: ev.SeriousIncidentReported) -> None:
        self.t.reviews.append(Review(e.effective, e))
        what = "fatality" if e.fatality else "serious incident"
        self.note(e.effective, f"{what} reported: the certificate is under review",
                  self.rb(e.effective).rule("review"), e)

    def _on_ReviewClosed(self, e: ev.ReviewClosed) -> None:
        """Ends the review of the certificate: every review open that day, whatever the
        incidents that opened it (a ``ReviewClosed`` names none; a later one opens anew)."""
        rule = self.rb(e.effective).rule("review")
        open_reviews = [r for r in self.t.reviews if r.closed is None]
        if not open_reviews:
            self.note(e.effective, "review closed, but none was open: ignored", rule, e)
            return
        for review in open_reviews:
            review.closed, review.outcome, review.closing = e.effective, e.outcome, e
        self.note(e.effective, f"review closed: {e.outcome.replace('_', ' ')}", rule, e)
        if e.outcome == "revoked":
            self._revoke(e)

    def _on_CertificationRevoked(self, e: ev.CertificationRevoked) -> None:
        self._revoke(e)

    def _on_InvestigationOpened(self, e: ev.InvestigationOpened) -> None:
        self.t.investigations.append(Review(e.effective, e, case=e.case))

    def _on_InvestigationClosed(self, e: ev.InvestigationClosed) -> None:
        for inv in self.t.investigations:
            if inv.case == e.case and inv.closed is None:
                inv.closed, inv.closing = e.effective, e

    def _on_AuditWaiverGranted(self, e: ev.AuditWaiverGranted) -> None:
        """The 2020 audit waiver: a one-year certificate from the original expiry date, or
        a decision saying why it does not count."""
        rb = self.rb(e.effective)
        rule = rb.rule("audit-waiver") if rb.has("audit-waiver") else next(
            iter(self.t.registry.versions("audit-waiver")), None)
        why = self._waiver_refused(e, rb)
        if why is not None:
            self.note(e.effective, f"audit waiver {e.waiver} does not count: {why}", rule, e)
            return
        assert rule is not None and self.cert is not None
        old = self.cert
        expires = add_years(old.expires, int(rule["years"]))
        old.ended, old.ended_on = "renewed", old.expires
        # the audit it extends is still the one that earned it, QA-accepted when it was
        waived = Certificate(old.expires, expires, old.audit, old.submitted, old.qa_date,
                             old.scope, first_cycle_year=3, issued_by=rule, waiver=e)
        self.t.certificates.append(waived)
        self._mark(*waived.change_days())
        self.note(e.effective, f"audit waiver {e.waiver} ({e.authority}): a one-year "
                               f"certificate from {old.expires}, expires {expires}; the next "
                               f"audit is a recertification due by {expires}", rule, e)
        # a recertification submitted for the original certificate still counts (accepted,
        # it renews the waiver's), and what else was owed gives way to it (DOMAIN: "the
        # next audit is a recertification due by the new expiry"), but for a maintenance
        # audit that holds the certificate: the waiver waives the recertification only
        # ("whose recertification audit has not been submitted"), so the held audit still
        # decides, and the waiver's recertification is what is owed after it
        self._scope_owed = None
        renewal = self._waiver_renewal(old, waived)
        req = self.t.requirement
        if req is not None and req.held and req.kind == "maintenance" \
                and not req.scope_change and any(
                    self._pending(a, e.effective) for a in self._candidates(e.effective)):
            last, _ = req.owed_after()
            last.then = renewal
            self.note(e.effective, f"the {req.kind} audit due {req.due} still holds the "
                                   "certificate and decides it: failed, the certificate and "
                                   "the waiver's are cancelled; met, the recertification "
                                   f"due by {expires} is next", rule, e)
            return
        self.t.requirement = renewal

    @staticmethod
    def _waiver_renewal(old: Certificate, waived: Certificate) -> Requirement:
        """The recertification a 2020 waiver's certificate ``waived`` owes, due by its
        expiry: every certifying audit submitted from the issue of ``old``, the certificate
        it continues, can meet it."""
        return Requirement("recertification", old.issued, waived.issued_by, due=waived.expires,
                           window_start=old.issued)

    def _maintained(self, cert: Certificate) -> Certificate:
        """The certificate whose maintenance audits ``cert`` (the current one) owes: a 2020
        waiver's certificate owes none (its next audit is the recertification), so a
        maintenance audit that held the certificate when the waiver was granted is the one
        of the certificate it continues."""
        if cert.waiver is None:
            return cert
        return next((before for before, after in pairwise(self.t.certificates)
                     if after is cert), cert)

    def _waived_by(self, cert: Certificate) -> Certificate | None:
        """The 2020 waiver's certificate that continues ``cert``, if one does."""
        if cert.ended != "renewed":
            return None
        return next((after for before, after in pairwise(self.t.certificates)
                     if before is cert and after.waiver is not None), None)

    def _waiver_refused(self, e: ev.AuditWaiverGranted, rb: Rulebook) -> str | None:
        """Why a waiver does not count (None: it counts)."""
        partners = sorted({p for r in self.t.registry.versions("audit-waiver")
                           for p in r.partners})
        if self.t.partner not in partners:
            return (f"the 2020 audit waiver is WorkSafeBC's, for {' and '.join(partners)} "
                    f"employers, not {self.t.partner}")
        if not rb.has("audit-waiver"):
            first = self.t.registry.versions("audit-waiver", self.t.partner)[0]
            return f"granted {e.effective}, before the waiver came into force on {first.since}"
        rule = rb.rule("audit-waiver")
        last = self.t.certificates[-1] if self.t.certificates else None
        if last is None or last.ended not in (None, "expired"):
            return "no certificate in force that is due for recertification"
        last_day = date.fromisoformat(rule["expires_by"])
        if last.expires > last_day:
            return f"the certificate expires {last.expires}, after {last_day}"
        if e.effective > last.expires:
            return f"granted {e.effective}, after the certificate expired on {last.expires}"
        return None

    def _on_ViolationRecorded(self, e: ev.ViolationRecorded) -> None:
        self.t.violations.append(e)

    def _end(self, cert: Certificate, how: str, day: date,
             by: ev.LedgerEvent | None) -> None:
        """End ``cert`` ``how`` (cancelled / expired / revoked) from ``day``. A 2020
        waiver's certificate not yet started on ``day``: the one it continues, still in force,
        ends with it (a revocation, or a maintenance audit that held it failing)."""
        cert.ended, cert.ended_on, cert.ended_by = how, day, by
        for before in self.t.certificates:
            if before.ended == "renewed" and before.ended_on is not None \
                    and before.issued <= day < before.ended_on:
                before.ended, before.ended_on, before.ended_by = how, day, by

    def _revoke(self, e: ev.LedgerEvent) -> None:
        rule = self.rb(e.effective).rule("revocation")
        cert = self.cert
        self.t.after_revocation = True
        if cert is None:
            self.note(e.effective, "revocation with no certificate in force: the next "
                                   "certification audit must be external", rule, e)
        else:
            if self.t.requirement is not None:
                self._keep_late(self.t.requirement, cert, e.effective)
            self._end(cert, "revoked", e.effective, e)
            self._scope_owed = None
            self.note(e.effective, "certificate revoked; the next audit is a certification "
                                   "audit by an external auditor", rule, e)
        self.t.requirement = Requirement("certification", e.effective, rule)

    # judging audits ------------------------------------------------------------------------------

    def _judge(self, e: ev.AuditSubmitted) -> AuditRecord:
        day = e.effective
        rb = self.rb(day)
        scope = tuple(e.classification_units) if e.classification_units is not None \
            else tuple(self.t.classification_units)
        a = AuditRecord(e.audit, e.kind, e.auditor, e.auditor_type, e.started, e.completed,
                        day, Decimal(e.overall), {k: Decimal(v) for k, v in e.elements.items()},
                        bool(e.student), scope, e)
        judged_kind = e.kind
        if e.kind == "limited_scope":
            original = self._limited_scope_original(e)
            if original is None:
                return self._not_counted(a, "no limited-scope window is open for it",
                                         rb.rule("limited-scope") if rb.has("limited-scope")
                                         else rb.rule("failed-audit"))
            a.repairs = original.audit
            judged_kind = original.kind
        student_rule = None
        if a.student:
            counts_as, student_rule = rb.student_audit_counts_as()
            if counts_as is None:
                return self._not_counted(a, "a student audit does not count", student_rule)
            if self.t.certificates or not (  # before it, a certifying kind is a certification
                    judged_kind == counts_as or {judged_kind, counts_as} <= set(CERTIFYING)):
                return self._not_counted(a, f"a student audit counts only as the initial "
                                            f"{counts_as} audit, before the first "
                                            "certificate", student_rule)
        size = rb.size_class(self.t.headcount_on(a.started))  # the size when it started
        needed, auditor_rule = rb.auditor_required(judged_kind, self.t.program or "",
                                                   size, self.t.after_revocation)
        if not rb.auditor_counts(needed, auditor_rule, a.auditor_type):
            return self._not_counted(a, f"an {a.auditor_type} auditor where an {needed} one "
                                        f"is needed", auditor_rule)
        if a.auditor_type == INTERNAL and student_rule is None \
                and not self.t.internal_auditor_qualified(a.auditor, a.started):
            return self._not_counted(a, f"{a.auditor} was not a qualified internal auditor "
                                        f"of the employer when the audit started "
                                        f"({a.started})",
                                     rb.rule("internal-auditor"))
        deadline = rb.submission_deadline(a.started)
        if deadline is not None and a.submitted > deadline[0]:
            return self._not_counted(a, f"submitted {a.submitted}, more than "
                                        f"{deadline[1]['days']} days after its start "
                                        f"({a.started})", deadline[1])
        self._check_notice(a, rb)
        if a.repairs is not None:
            self.note(day, f"limited-scope audit {a.audit} re-audits "
                           f"{', '.join(sorted(a.elements)) or 'no element'} of audit "
                           f"{a.repairs}; it counts once QA accepts it",
                      rb.rule("limited-scope"), e)
            return a
        verdict, pass_rule = rb.judge_scores(judged_kind, a.overall, a.elements)
        a.passes, a.verdict = verdict.passes, verdict.says
        a.final_passes = verdict.passes
        self.note(day, f"{a.kind} audit {a.audit}: {verdict.says}", pass_rule, e)
        if not verdict.passes and verdict.limited_scope:
            window = rb.limited_scope_window_end(a.completed)
            if window is not None:
                a.limited_scope_until = window[0]
                self.note(day, f"a limited-scope re-audit may repair it if completed by "
                               f"{window[0]}", window[1], e)
        elif not verdict.passes:
            rule = rb.rule("failed-audit") if rb.has("failed-audit") else pass_rule
            self.note(day, "a full re-audit is needed", rule, e)
        return a

    def _not_counted(self, a: AuditRecord, why: str, rule: Rule) -> AuditRecord:
        a.counts, a.why_not, a.verdict = False, why, f"does not count: {why}"
        self.note(a.submitted, f"{a.kind} audit {a.audit} does not count: {why}", rule,
                  a.event)
        return a

    def _check_notice(self, a: AuditRecord, rb: Rulebook,
                      filed_now: ev.AuditNoticeFiled | None = None) -> None:
        """Notes a late notice (second set, "Audit notices"). The audit's latest notice says
        whether it is a team audit; the notice is on time when any notice of the audit was
        filed the rule's days before the start the audit actually had, so the earliest one
        decides (a notice filed again later does not make it late)."""
        if not rb.has("audit-notice"):
            return
        rule = rb.rule("audit-notice")
        filed = self.t.notices.get(a.audit, [])
        days = rule.params.get("days")
        if filed and filed[-1].team and rule.params.get("team_days") is not None:
            days = rule.params["team_days"]
        if days is None:
            return
        if not filed:
            a.notice_late = True
            self.note(a.submitted, f"no notice of audit {a.audit} on file: the notice is "
                                   "late; the audit is not voided, QA decides", rule, a.event)
            return
        earliest = min(n.effective for n in filed)
        if earliest > a.started - timedelta(days=int(days)):
            a.notice_late = True
            after = (f", after the audit was submitted {a.submitted}"
                     if filed_now is not None and filed_now.effective > a.submitted else "")
            self.note(filed_now.effective if filed_now is not None else a.submitted,
                      f"notice of audit {a.audit} filed {earliest}{after}, less than {days} "
                      f"days before its start {a.started}: the notice is late; the audit is "
                      "not voided, QA decides", rule, filed_now or a.event)

    def _limited_scope_original(self, e: ev.AuditSubmitted) -> AuditRecord | None:
        for audit in self.t.windowed_audits():
            if (audit.limited_scope_until is not None and audit.repaired_by is None
                    and audit.qa_outcome != "rejected" and audit.used_for is None
                    and audit.completed <= e.completed <= audit.limited_scope_until):
                return audit
        return None

    def _rejudge_repairs(self, original_id: str, day: date, by: ev.LedgerEvent) -> None:
        """Whether each re-audit of ``original_id`` still in QA could repair it once
        accepted (:attr:`AuditRecord.can_repair`): its overall, and the original's element
        scores as accepted re-audits left them, at best raised by another re-audit of it
        still in QA (accepted before it), then replaced by its own (DOMAIN.md, Limited
        scope). Judged again whenever a re-audit of it is submitted or decided, since either
        changes what it could reach."""
        original = self.t.audits.get(original_id)
        if original is None:
            return
        repairs = [r for r in (self.t.audits.get(i) for i in self._repairs_of.get(original_id, ()))
                   if r is not None and r.counts and r.repairs == original_id]
        for ls in repairs:
            if ls.qa_outcome is not None:
                continue
            elements = dict(original.final_elements or original.elements)
            for r in repairs:
                if r is not ls and r.qa_outcome is None:
                    for name, score in r.elements.items():
                        elements[name] = max(score, elements.get(name, score))
            elements.update(ls.elements)
            verdict, rule = self.rb(ls.submitted).judge_scores(original.kind, ls.overall,
                                                               elements)
            if verdict.passes != ls.can_repair or (not verdict.passes and by is ls.event):
                ls.can_repair = verdict.passes
                self.note(day, f"limited-scope audit {ls.audit}, with audit {original_id}'s "
                               f"other scores, " + (
                                   "could repair it once accepted" if verdict.passes else
                                   f"would still fail ({verdict.says}): it cannot repair it"),
                          rule, by)

    def _repair(self, ls: AuditRecord, e: ev.QADecided) -> None:
        original = self.t.audits[ls.repairs or ""]
        rb = self.rb(e.effective)
        # on the scores an earlier accepted re-audit already replaced (DOMAIN.md, Limited
        # scope: each replaces the re-audited elements' scores; nothing undoes an earlier one)
        elements = {**(original.final_elements or original.elements), **ls.elements}
        verdict, rule = rb.judge_scores(original.kind, ls.overall, elements)
        original.final_overall, original.final_elements = ls.overall, elements
        self.note(e.effective, f"limited-scope audit {ls.audit} replaces audit "
                               f"{original.audit}'s overall and re-audited elements: "
                               f"{verdict.says}", rule, e)
        if verdict.passes:
            original.repaired_by, original.final_passes = ls.audit, True
            original.repaired_qa = e

    # requirements -----------------------------------------------------------------------------

    def _candidates(self, day: date | None) -> list[AuditRecord]:
        """The audits that can meet the open requirement (submitted by ``day``), in
        submission order: indexed when the requirement opens, extended as audits arrive."""
        req = self.t.requirement
        if req is None:
            return []
        if req is not self._for:
            self._for = req
            self._meeting = [a for a in self.t.audits.values() if can_meet(req, a)]
        return [a for a in self._meeting if can_meet(req, a)
                and (day is None or a.submitted <= day)]

    def _pending(self, a: AuditRecord, day: date) -> bool:
        """Still able to meet the requirement: awaiting QA, or in a limited-scope repair."""
        audits = self.t.audits
        return still_pending(a, day, (r for r in (audits.get(i) for i in
                                                  self._repairs_of.get(a.audit, ()))
                                      if r is not None))

    def settle(self, day: date) -> None:
        """Meet the open requirement with any satisfying audit; end a held certificate
        whose last pending audit failed."""
        if self.t.late:
            self._settle_late(day)
        while True:
            req = self.t.requirement
            if req is None:
                return
            candidates = self._candidates(day)
            done = next((a for a in candidates if a.accepted and a.final_passes), None)
            if done is None:
                renewal = self._renewing_audit(req, day)
                if renewal is None:
                    break
                assert self.cert is not None
                req, done = self._renewal(self.cert, day), renewal
            self._fulfil(req, done, day)
        # ``candidates`` are still the open requirement's: nothing changed since
        if req.held and req.then is not None:
            self._met_while_held(req, day)
            if self.t.requirement is not req:  # a scope change's audit issued a certificate
                return
        then = next((link for link in req.held_after() if not self._then_holding(link, day)),
                    None) if req.held and self.cert is not None else None
        if then is not None:
            rejected = [a for a in self.t.able_to_meet(then) if a.qa_outcome == "rejected"]
            if rejected:
                self._miss_then(req, then, day, f"QA rejected audit {rejected[-1].audit} "
                                "after the due date", rejected[-1].qa_event)
            else:
                self._miss_then(req, then, day, "the audit that held the certificate failed")
            return
        if req.held and self.cert is not None and not self._holding(day):
            rejected = [a for a in candidates if a.qa_outcome == "rejected"]
            if rejected:
                self._lapse(day, f"QA rejected audit {rejected[-1].audit} after the due date",
                            rejected[-1].qa_event)
            else:
                self._lapse(day, "the audit that held the certificate failed")

    @staticmethod
    def _count(req: Requirement, cert: Certificate, a: AuditRecord, day: date) -> None:
        """``a`` meets maintenance ``req.number`` of ``cert``, for the year ``req`` falls due."""
        a.used_for, a.used_on = f"maintenance {req.number}", day
        a.used_for_year = req.due.year if req.due else day.year
        cert.maintenance.append(a.audit)

    def _met_while_held(self, req: Requirement, day: date) -> None:
        """While ``req`` is held in QA, a scope change's certification audit owed after it
        and accepted issues a new certificate; a maintenance audit accepted for the audit
        owed next (:attr:`Requirement.then`) met its own year (the incentive asks), whatever then
        becomes of the held one: rejected, renewed over or never decided. That audit is
        :attr:`Requirement.met` from then on, before its due date too: what is owed after
        it falls due next (DOMAIN, Lapse risk: "The next required audit and its due date
        come from the rulebook")."""
        for then in req.chain():  # _hold may extend the chain as it goes: read lazily
            if then.scope_change:
                # a scope change's certification audit accepted: a pass issues a new
                # certificate (DOMAIN, the cycle 1), whatever becomes of the held one
                done = next((a for a in self.t.able_to_meet(then)
                             if a.accepted and a.final_passes and a.submitted <= day), None)
                if done is not None:
                    self._fulfil(then, done, day)
                    return
                continue
            if then.kind != "maintenance" or then.due is None:
                continue
            for a in self.t.able_to_meet(then):
                if not (a.accepted and a.final_passes):
                    continue
                if not then.met:
                    self._hold(then, [a], day)
                    then.met = True
                if a.met_year is None:
                    a.met_year = then.due.year
                    self.note(day, f"maintenance audit {a.audit} accepted while the "
                                   f"{req.kind} audit before it is held in QA: it meets "
                                   f"maintenance {then.number} for {a.met_year}",
                              then.rule, a.deciding_qa)

    def _keep_late(self, owed: Requirement, cert: Certificate, day: date) -> None:
        """The certificate ends while its maintenance audits are pending: keep them, so that
        one accepted later still meets its year (:meth:`_settle_late`); those of the audits
        owed after a held one (:attr:`Requirement.then`, along the chain) too."""
        kept = {id(a) for _, _, a in self.t.late}
        link: Requirement | None = owed
        while link is not None and link.kind == "maintenance":
            audits = self._candidates(day) if link is owed else [
                a for a in self.t.able_to_meet(link) if a.submitted <= day]
            for a in audits:
                if id(a) not in kept and self._pending(a, day):
                    self.t.late.append((link, cert, a))
                    kept.add(id(a))
            link = link.then if link.held or link.met or link is owed else None

    def _settle_late(self, day: date) -> None:
        """A maintenance audit that was in QA (or in a limited-scope repair) when its
        certificate expired (or was revoked) and is accepted and passing now meets its year's
        maintenance: that year's required audit was accepted (the incentive asks), though the
        certificate stays ended."""
        still = []
        for req, cert, a in self.t.late:
            if a.accepted and a.final_passes and a.used_for is None:
                self._count(req, cert, a, day)
                ended = (f"expired on {cert.expires}" if cert.ended == "expired"
                         else f"was {cert.ended} on {cert.ended_on}")
                self.note(day, f"maintenance audit {a.audit} accepted after the certificate "
                               f"{ended}: maintenance {req.number} of the certificate issued "
                               f"{cert.issued} is met for {a.used_for_year}"
                               + ("" if cert.ended == "renewed"
                                  else f"; the certificate stays {cert.ended}"),
                          req.rule, a.deciding_qa)
                self._recount_from(a, day)
            elif self._pending(a, day):  # in QA, or failed with its repair still open
                still.append((req, cert, a))
        self.t.late = still

    def _recount_from(self, a: AuditRecord, day: date) -> None:
        """Where maintenance counts from the last audit completed (AMHSA), an audit of the
        certificate before, completed after the one that renewed it and accepted after the
        renewal, is that last audit: the first maintenance of the certificate in force is
        due a year after it (as when QA accepts the two in the other order, :meth:`_issue`)."""
        cert, req = self.cert, self.t.requirement
        if cert is None or req is None or req.kind != "maintenance" or req.number != 1 \
                or req.held or req.window_start is None or a.completed <= req.window_start:
            return
        rb = self.rb(day)
        if rb.rule("maintenance-due")["basis"] != "last-audit-completion":
            return
        owed = self.t.requirement = self._maintenance(cert, 1, a.completed, day)
        self.note(day, f"maintenance audit {a.audit}, completed {a.completed}, is the last "
                       f"audit: maintenance 1 of the certificate issued {cert.issued} is due "
                       f"by {owed.due}", owed.rule, a.deciding_qa)

    def _holding(self, day: date) -> list[AuditRecord]:
        """The audits that keep the certificate past the open requirement's due date: those
        that can meet it and are still pending (in QA, or in a limited-scope repair), and
        the renewals submitted while the certificate was in force and still pending."""
        held = [a for a in self._candidates(day) if self._pending(a, day)]
        req, cert = self.t.requirement, self.cert
        if req is not None and cert is not None and self._renewing:
            audits, holding = self.t.audits, {id(a) for a in held}
            held += [a for a in self._renewing
                     if renews(req, cert, a) and audits.get(a.audit) is a
                     and id(a) not in holding and a.submitted <= day
                     and self._pending(a, day)]
        return held

    def _renewing_audit(self, req: Requirement, day: date) -> AuditRecord | None:
        """A passing certifying audit, accepted by ``day`` and submitted while the current
        certificate was in force, that renews it although the open requirement is a
        maintenance audit still owed: a certification or recertification audit that passes
        and is accepted issues a certificate (DOMAIN, the cycle 1). Not while a scope
        change's certification audit is owed: that one must follow the change."""
        cert = self.cert
        if cert is None or not self._renewing:
            return None
        audits = self.t.audits
        for a in self._renewing:
            if (a.accepted and a.final_passes and renews(req, cert, a)
                    and audits.get(a.audit) is a and a.submitted <= day):
                return a
        return None

    def _fulfil(self, req: Requirement, a: AuditRecord, day: date) -> None:
        """``a`` meets ``req``: issue or renew the certificate, or count the maintenance;
        then open what is owed next (a scope change's audit waiting for this one first)."""
        owed, self._scope_owed = self._scope_owed, None
        # a certifying audit submitted after the change (a renewal that settled the expiry,
        # say) is the scope change's certification audit too
        also = owed is not None and can_meet(owed, a)
        self._meet(req, a, day)
        self._met_for_due_year(owed if owed is not None and also else req, a)
        if owed is not None and also:
            self.note(day, f"audit {a.audit}, submitted after the scope change, also meets "
                           "its certification audit", owed.rule, a.deciding_qa)
        elif owed is not None and self.cert is not None:
            nxt = self.t.requirement
            if nxt is not None and nxt is not owed and nxt.owes(owed):
                # it waits in the chain behind the audit owed next, which stays owed first
                self._scope_owed = owed
                return
            self.t.requirement = owed
            self.note(day, f"the scope change's certification audit is now the next audit, "
                           f"due by {owed.due}", owed.rule)

    @staticmethod
    def _met_for_due_year(req: Requirement, a: AuditRecord) -> None:
        """A scope change's certification audit (due Dec 31 of the change's year) accepted
        in a later year issues its certificate then, but it was that year's required audit:
        it meets that year too (the incentive asks), as a maintenance audit accepted after
        its year does."""
        if req.scope_change and req.due is not None and a.used_for_year is not None \
                and req.due.year < a.used_for_year and a.met_year is None:
            a.met_year = req.due.year

    def _meet(self, req: Requirement, a: AuditRecord, day: date) -> None:
        rb = self.rb(day)
        cert = self.cert
        if req.kind in CERTIFYING:
            issued = day
            if cert is not None and req.kind == "recertification" and day > cert.expires:
                issued = cert.expires
                self.note(day, f"renewal accepted after the old expiry for an audit submitted "
                               f"on time: issued on the old expiry date {issued}",
                          rb.rule("renewal-continuity"), a.deciding_qa)
            if cert is not None:
                # renewed over a maintenance audit still in QA: one accepted later still
                # meets its year (as when the certificate expires or is revoked)
                owed = self.t.requirement
                if owed is not None and owed is not req:
                    self._keep_late(owed, cert, day)
                cert.ended, cert.ended_on = "renewed", issued
            self._issue(a, issued, day)
            return
        assert cert is not None
        cert = self._maintained(cert)
        self._count(req, cert, a, day)
        self.note(day, f"maintenance audit {a.audit} accepted: maintenance {req.number} of "
                       f"the certificate issued {cert.issued} is met", req.rule, a.deciding_qa)
        then = req.then if req.held else None
        if then is not None and (then.held or then.due is not None and day > then.due):
            # the audit owed next fell due (or was met) while QA held this one: it stays
            # owed as it is, held or in its grace, with the chain owed after it
            self.t.requirement = then
            return
        nxt = self.t.requirement = self._after_maintenance(cert, req.number, a.completed, day)
        if nxt.lapse_on is not None and nxt.lapse_on <= day:
            # it fell due while QA held this one: only its own audits hold it now
            self._hold(nxt, self._candidates(day), day)

    def _renewal(self, cert: Certificate, day: date, due: date | None = None) -> Requirement:
        """The recertification of ``cert``, due by ``due`` (default its expiry): every
        certifying audit submitted while it is in force can meet it."""
        return Requirement("recertification", cert.issued, self.rb(day).rule(
            "recertification-due"), due=due or cert.expires, window_start=cert.issued)

    def _issue(self, a: AuditRecord, issued: date, day: date) -> None:
        rb = self.rb(day)
        expires = rb.expires(issued)
        a.used_for, a.used_on, a.used_for_year = "certification", day, issued.year
        cert = Certificate(issued, expires, a.audit, a.submitted, day, a.scope,
                           issued_by=rb.rule("validity"))
        self.t.certificates.append(cert)
        self._renewing = [r for r in self._renewing if r.submitted >= issued]
        self.t.after_revocation = False
        self.note(day, f"certificate issued {issued}, expires {expires} (audit {a.audit})",
                  rb.rule("validity"), a.deciding_qa)
        self._mark(*cert.change_days())
        # AMHSA counts from the last audit completed, which may be a maintenance audit of the
        # certificate before, completed after the audit that renews it
        last = max([a.completed, *(x.completed for x in self.t.audits.values()
                                   if x.used_for is not None and x.accepted)])
        self._open_maintenance(cert, 1, last, day)

    def _after_maintenance(self, cert: Certificate, number: int, completed: date,
                           day: date) -> Requirement:
        """What is owed once maintenance audit ``number``, completed on ``completed``, is
        met: maintenance 2 after 1, the recertification after 2 (a 2020 waiver's, due by
        the new expiry, when a waiver continues ``cert``)."""
        if number == 1:
            return self._maintenance(cert, 2, completed, day)
        waived = self._waived_by(cert)
        if waived is not None:
            return self._waiver_renewal(cert, waived)
        return self._renewal(cert, day, self.rb(day).recertification_due(cert.expires,
                                                                         completed))

    def _open_maintenance(self, cert: Certificate, number: int, last_completed: date,
                          day: date) -> None:
        self.t.requirement = self._maintenance(cert, number, last_completed, day)

    def _maintenance(self, cert: Certificate, number: int, last_completed: date,
                     day: date) -> Requirement:
        due = self.rb(day).maintenance_due(cert.issued, number, last_completed)
        return Requirement(
            "maintenance", day, due.rule, number=number, due=due.due,
            grace_end=due.grace_end if due.grace_end != due.due else None,
            window_start=due.window_start, start_inclusive=due.start_inclusive,
            measured_on=due.measured_on)


def next_audit(t: EmployerTimeline) -> dict[str, Any] | None:
    """The next required audit on as-of: kind, due date (null if none) and auditor type."""
    if t.registration is None:
        return None
    rb = t.rulebook()
    size = rb.size_class(t.headcount_on(t.as_of))
    original = t.open_limited_scope() if t.windowed else None
    req = t.requirement
    if original is not None and (req is None or _live_for(t, original)):
        auditor, _ = rb.auditor_required(original.kind, t.program or "", size,
                                         t.after_revocation)
        due = original.limited_scope_until
        return {"kind": "limited_scope", "due": binding_expiry(t, req, due) or due,
                "auditor": auditor}
    if req is None:
        return None
    auditor, _ = rb.auditor_required(req.kind, t.program or "", size, t.after_revocation)
    return {"kind": req.kind, "due": binding_expiry(t, req, req.due) or req.due,
            "auditor": auditor}


def binding_expiry(t: EmployerTimeline, req: Requirement | None, last: date | None
                   ) -> date | None:
    """The expiry of the certificate in force when it comes before ``last`` (the owed
    audit's due date or last day) and binds: ``req`` is not the recertification
    (:attr:`Requirement.within_expiry`) and no accepted renewal waits for the expiry. Past
    it only a recertification keeps the certificate, so the owed audit is due by then."""
    if last is None or req is None or not req.within_expiry:
        return None
    cert = t.current_certificate
    if cert is None or last <= cert.expires:
        return None
    if any(a.certifying and a.accepted and a.final_passes and a.used_for is None
           and cert.issued <= a.submitted <= cert.expires for a in t.audits.values()):
        return None  # it renews the certificate at its expiry
    return cert.expires


def could_meet_requirement(t: EmployerTimeline, audit: AuditRecord) -> bool:
    """Whether a submitted audit could meet the next required audit (a limited-scope
    re-audit: whether the audit it repairs could), or renew the certificate in force while
    another audit is owed: only such an audit sets ``qa_pending``."""
    original = t.audits.get(audit.repairs) if audit.repairs is not None else audit
    return original is not None and (_live_for(t, original) or _could_renew(t, original))


def owed_behind_hold(t: EmployerTimeline, a: AuditRecord) -> bool:
    """Whether ``a`` can meet an audit owed after the held one: one held in turn
    (:meth:`Requirement.held_after`), or the next one owed, in its grace (a failed one's
    open window then holds the certificate too, second set, "Held certificates")."""
    req = t.requirement
    if req is None or not req.held:
        return False
    _, then = req.owed_after()
    return any(can_meet(link, a) for link in (*req.held_after(), then) if link is not None)


def _could_renew(t: EmployerTimeline, a: AuditRecord) -> bool:
    """Whether an audit could renew the certificate in force once accepted (:func:`renews`)."""
    req = t.requirement
    if req is None or not t.certificates:
        return False
    cert = t.certificates[-1]
    return cert.ended is None and renews(req, cert, a)


def renews(req: Requirement, cert: Certificate, a: AuditRecord) -> bool:
    """Whether audit ``a``, passing and accepted, renews ``cert`` while ``req`` is owed: a
    certifying audit that counts, not used yet, submitted while ``cert`` was in force, and
    the owed audit is a maintenance audit (a recertification counts it as its own
    candidate; a scope change's certification audit must follow the change)."""
    return (req.kind == "maintenance" and a.certifying and a.counts and a.repairs is None
            and a.used_for is None and cert.issued <= a.submitted <= cert.expires)


def _live_for(t: EmployerTimeline, original: AuditRecord) -> bool:
    """Whether a failed audit can still meet the current requirement (so its repair is the
    next audit)."""
    req = t.requirement
    return req is not None and can_meet(req, original)


def can_meet(req: Requirement, a: AuditRecord) -> bool:
    """Whether audit ``a`` counts towards requirement ``req``: it counts, is not a repair nor
    used already, is of the right kind and falls in the requirement's window on time."""
    if not a.counts or a.repairs is not None or a.used_for is not None:
        return False
    if req.kind in CERTIFYING:
        if not a.certifying or a.submitted < req.opened:
            return False
    elif req.kind == "maintenance" and a.kind != "maintenance":
        return False
    measured = a.completed if req.measured_on == "completed" else a.submitted
    if req.window_start is not None and (
            measured < req.window_start
            or (measured == req.window_start and not req.start_inclusive)):
        return False
    late = req.due is not None and (
        measured > req.due or a.submitted > (req.last_day or req.due))
    return not late


def still_pending(a: AuditRecord, day: date, repairs: Iterable[AuditRecord]) -> bool:
    """Whether audit ``a`` can still meet what it was submitted for on ``day``: a passing
    audit awaiting QA, or a failed one whose limited-scope window is open or whose re-audit
    (among ``repairs``) awaits QA. The fold's holds and the ``qa_pending`` flag both ask."""
    if a.qa_outcome == "rejected":
        return False
    if a.qa_outcome is None and (a.passes or a.final_passes):
        return True  # passing, or repaired by an accepted re-audit: its own QA is awaited
    if a.final_passes or a.limited_scope_until is None:
        return False  # satisfied, or failed with nothing to repair it
    return day <= a.limited_scope_until or any(
        r.repairs == a.audit and r.counts and r.can_repair and r.qa_outcome is None
        for r in repairs)


def outside_window(req: Requirement, a: AuditRecord) -> str | None:
    """Why an audit of the kind owed falls outside the requirement's window (too early,
    completed or submitted too late), or None when its dates fit."""
    completed = req.measured_on == "completed"
    measured, what = (a.completed, "completed") if completed else (a.submitted, "submitted")
    start = req.window_start
    if start is not None and (measured < start or (measured == start
                                                   and not req.start_inclusive)):
        return f"was {what} {measured}, before its window opened ({start})"
    if req.due is not None and measured > req.due:
        return f"was {what} {measured}, after its due date {req.due}"
    last = req.last_day
    if last is not None and a.submitted > last:
        return f"was submitted {a.submitted}, after the last day {last}"
    if req.kind in CERTIFYING and a.submitted < req.opened:
        return f"was submitted {a.submitted}, before this {req.kind} audit was owed"
    return None


_AFTER_ANY: Any = float("inf")  # (day, _AFTER_ANY) sorts after every headcount of that day
_BEFORE_ANY: Any = float("-inf")  # and (day, _BEFORE_ANY) before them


_Handler = Callable[[Fold, Any], None]

LATER_FACTS = frozenset({"AuditNoticeFiled", "ClassificationUnitAdded",
                         "ClassificationUnitRemoved", "ViolationRecorded",
                         "InvestigationOpened", "InvestigationClosed"})
"""Types whose handlers record only facts the status document does not read on the day:
a notice and the CUs are read when an audit is submitted (and any finding noted then),
violations and investigations by the incentive decision. Every change of the answer they
can bring about that day (a requirement settled, a certificate lapsed) notes a decision."""

HANDLERS: dict[str, _Handler] = {
    "EmployerRegistered": Fold._registered,
    "HeadcountReported": Fold._on_HeadcountReported,
    "ClassificationUnitAdded": Fold._on_ClassificationUnitAdded,
    "ClassificationUnitRemoved": Fold._on_ClassificationUnitRemoved,
    "ScopeChanged": Fold._on_ScopeChanged,
    "ProgramChanged": Fold._on_ProgramChanged,
    "InternalAuditorQualified": Fold._on_InternalAuditorQualified,
    "InternalAuditorLeft": Fold._on_InternalAuditorLeft,
    "AuditNoticeFiled": Fold._on_AuditNoticeFiled,
    "AuditSubmitted": Fold._on_AuditSubmitted,
    "QADecided": Fold._on_QADecided,
    "SeriousIncidentReported": Fold._on_SeriousIncidentReported,
    "ReviewClosed": Fold._on_ReviewClosed,
    "CertificationRevoked": Fold._on_CertificationRevoked,
    "ViolationRecorded": Fold._on_ViolationRecorded,
    "InvestigationOpened": Fold._on_InvestigationOpened,
    "InvestigationClosed": Fold._on_InvestigationClosed,
    "AuditWaiverGranted": Fold._on_AuditWaiverGranted,
    "BaseRateSet": Fold._not_for_status,
    "PayrollReported": Fold._not_for_status,
    "PremiumPaid": Fold._not_for_status,
    "IncentivePaid": Fold._not_for_status,
    "EventVoided": Fold._not_for_status,
    "LapseRiskFlagged": Fold._not_for_status,
}
"""Event type -> the fold's handler: every type in :data:`ledger.events.EVENT_TYPES`, so a
new type fails loudly (:class:`UnknownEventType`) until it is given one here."""

NOT_FOR_STATUS = frozenset(name for name, handler in HANDLERS.items()
                           if handler is Fold._not_for_status and name != "EventVoided")
"""The types whose events the status fold reads nothing from, not even their place (money,
reference rates, the scan's flags): a status fold may leave them unread, with the same
answer. Voids stay: :func:`projections.voids.in_view` reads them."""
