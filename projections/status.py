"""The status fold: one employer's events in, the ``status --json`` document out.

``status(events, as_of=..., known_at=..., employer=...)`` is pure: no I/O, no clock. It
folds the events with :func:`projections.timeline.fold` (re-exported here with
:class:`EmployerTimeline`, the object the incentive module questions) and renders
INTERCHANGE.md's document: ISO date strings, flags in a fixed order, and ``because``
listing the decisions of the current cycle with their rule ids.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger import events as ev
from ledger.codec import format_time_or_none
from ledger.events import LedgerEvent
from ledger.rulebooks import Rule, RuleRegistry
from projections.timeline import (
    AuditRecord,
    Certificate,
    Decision,
    EmployerTimeline,
    could_meet_requirement,
    fold,
    next_audit,
    owed_behind_hold,
    still_pending,
)

__all__ = ["EmployerTimeline", "FlagSource", "flag_sources", "flags", "fold", "render",
           "render_with", "status", "unregistered"]

FLAG_ORDER = ("under_review", "qa_pending", "headcount_exceeds_program", "no_internal_auditor",
              "scope_change_pending", "limited_scope_window_open")


def status(
    events: Iterable[LedgerEvent],
    *,
    as_of: date,
    known_at: datetime | None = None,
    employer: str,
    registry: RuleRegistry | None = None,
) -> dict[str, Any]:
    """The ``status --json`` document of ``employer`` on ``as_of`` as known at ``known_at``."""
    timeline = fold(events, as_of=as_of, known_at=known_at, employer=employer,
                    registry=registry)
    return render(timeline)


def unregistered(employer: str, as_of: date, known_at: datetime | None,
                 because: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The document for an employer no registration of which stands; ``because``: what
    left none standing (a registration voided), empty when the ledger never had one."""
    return {"employer": employer, "as_of": as_of.isoformat(),
            "known_at": _iso_time(known_at), "partner": None, "program": None,
            "size_class": None, "status": "unregistered", "certificate": None,
            "next_audit": None, "flags": [], "because": because or []}


def render(t: EmployerTimeline) -> dict[str, Any]:
    """The INTERCHANGE document of a folded timeline."""
    if t.registration is None:
        return unregistered(t.employer, t.as_of, t.known_at, t.because_entries())
    return render_with(t, next_audit(t))


def render_with(t: EmployerTimeline, nxt: dict[str, Any] | None) -> dict[str, Any]:
    """:func:`render` given the next audit (:func:`next_audit`), for a caller that needs it
    too (the read models' lapse facts)."""
    if t.registration is None:
        return unregistered(t.employer, t.as_of, t.known_at, t.because_entries())
    cert = t.current_certificate
    raised = flags(t, nxt)
    return {
        "employer": t.employer,
        "as_of": t.as_of.isoformat(),
        "known_at": _iso_time(t.known_at),
        "partner": t.registration.partner,
        "program": t.program,
        "size_class": t.size_class(),
        "status": t.status_given(cert),
        "certificate": _certificate(cert, t.as_of),
        "next_audit": None if nxt is None else {
            "kind": nxt["kind"], "due": nxt["due"].isoformat() if nxt["due"] else None,
            "auditor": nxt["auditor"]},
        "flags": raised,
        "because": _because_entries(t, raised),
    }


_UNSET: Any = object()


def flags(t: EmployerTimeline, nxt: Any = _UNSET) -> list[str]:
    """The flags that hold on as-of, in INTERCHANGE.md's order (``nxt``: the next audit, if
    the caller has it already; typed Any so that the compiled fold lets the sentinel in)."""
    if t.registration is None:
        return []
    on = t.as_of
    rb = t.rulebook()
    raised: set[str] = set()
    if t.reviews and t.review_open_on(on):
        raised.add("under_review")
    if t.awaiting_qa and any(qa_pending_audits(t)):
        raised.add("qa_pending")
    if headcount_exceeds_program(t):
        raised.add("headcount_exceeds_program")
    if nxt is _UNSET:
        nxt = next_audit(t)
    internal_needed = nxt is not None and (
        nxt["auditor"] == "internal"
        or rb.internal_auditor_expected(nxt["kind"], t.program or ""))
    if nxt is not None and internal_needed and not any(
            t.internal_auditor_qualified(a, on) for a in t.internal_auditors):
        counts_as, _ = rb.student_audit_counts_as()
        # before the first certificate a student audit is the certification (its auditor
        # need not be qualified yet): the flag waits for the first certificate
        student_route = counts_as is not None and not t.certificates \
            and nxt["kind"] in ("certification", "recertification")
        if not student_route:
            raised.add("no_internal_auditor")
    if t.scope_changes and t.scope_changes[-1].certification_audit_required is None:
        raised.add("scope_change_pending")
    if t.windowed:  # a window that can still repair an audit towards what is owed
        original = t.open_limited_scope()
        if original is not None and (could_meet_requirement(t, original)
                                     or owed_behind_hold(t, original)):
            raised.add("limited_scope_window_open")
    return [f for f in FLAG_ORDER if f in raised]


def qa_pending_audits(t: EmployerTimeline) -> Iterator[AuditRecord]:
    """The audits awaiting QA that set ``qa_pending``: those that could meet the next
    required audit (second set, "qa_pending"); audits that cannot count do not, nor does one
    that fails its pass mark with no limited-scope re-audit open to it (QA's acceptance
    would not make it meet anything; a re-audit is judged with the audit it repairs)."""
    audits = t.audits
    waiting = [audits[i] for i in t.awaiting_qa]
    return (a for a in waiting
            if a.counts and a.qa_outcome is None
            and (a.can_repair if a.repairs is not None else still_pending(a, t.as_of, waiting))
            and could_meet_requirement(t, a))


def headcount_exceeds_program(t: EmployerTimeline) -> bool:
    """Latest headcount above the program's limit (AMHSA: any headcount in the year)."""
    return headcount_over_limit(t) is not None


def headcount_over_limit(t: EmployerTimeline) -> tuple[date, int] | None:
    """The headcount report (effective date, count) that puts the employer over its
    program's limit on as-of, or None: the latest headcount, or for AMHSA the latest one
    above the limit in force at any point of the as-of year (second set, "AMHSA dates"), so
    that ``explain`` names the report that raised the flag, not a later one within it."""
    rb = t.rulebook()
    limit = rb.program_limit(t.program or "")
    if limit is None:
        return None
    counts = t.headcounts  # in date order
    if rb.limit_applies_all_year():
        start = date(t.as_of.year, 1, 1)
        first = bisect_left(counts, start, key=_day)  # the year's first report
        end = bisect_right(counts, t.as_of, key=_day)
        if first and (first == end or counts[first][0] != start):
            first -= 1  # the report carried over into Jan 1
        over = [r for r in counts[first:end] if r[1] > limit]
        return over[-1] if over else None
    at = bisect_right(counts, t.as_of, key=_day)
    return counts[at - 1] if at and counts[at - 1][1] > limit else None


def _day(report: tuple[date, int]) -> date:
    return report[0]


def because(t: EmployerTimeline) -> list[Decision]:
    """The decisions behind the current answer: :meth:`EmployerTimeline.because` (the
    registration that stands, then the current cycle's decisions), with the events that
    raised the flags holding on as-of that those do not cite (:func:`flag_decisions`) after
    the registration."""
    chosen = t.because()
    if t.registration is None:
        return chosen
    return [*chosen[:1], *flag_decisions(t, flags(t)), *chosen[1:]]


def _because_entries(t: EmployerTimeline, raised: Sequence[str]) -> list[dict[str, Any]]:
    """:func:`because`'s entries, given the raised flags (the document's ``because``). The
    flag sources come before the cycle's own decisions, so that within a cycle the list
    mostly grows at its end (the read models keep a cycle's list once, as a prefix)."""
    entries = t.because_entries()
    extra = flag_decisions(t, raised)
    if not extra:
        return entries
    return [*entries[:1], *(d.entry for d in extra), *entries[1:]]


def flag_decisions(t: EmployerTimeline, raised: Sequence[str]) -> list[Decision]:
    """For each raised flag, the event that raised it (:func:`flag_sources`) as a decision
    citing the flag's rule, unless :meth:`EmployerTimeline.because` cites that event
    already: a flag can be raised by an event from before the current cycle (a headcount
    report, an auditor leaving before the certifying audit), and INTERCHANGE.md's ``because``
    lists the events that decided the answer."""
    out: list[Decision] = []
    seen: set[int] = set()
    for source in flag_sources(t, raised):
        event = source.event
        if event is None or id(event) in seen or t.cites(event):
            continue
        seen.add(id(event))
        out.append(Decision(event.effective, source.says, source.rule, event))
    return out


@dataclass(frozen=True, init=False)
class FlagSource:
    """A raised flag, the event that raised it (None if none can be named), what the flag
    means there, and the rule that raises it (``__init__`` written out: see
    :class:`~projections.timeline.Decision`)."""

    flag: str
    event: LedgerEvent | None
    says: str
    rule: Rule | None

    def __init__(self, flag: str, event: LedgerEvent | None, says: str,
                 rule: Rule | None) -> None:
        _set = object.__setattr__  # frozen
        _set(self, "flag", flag)
        _set(self, "event", event)
        _set(self, "says", says)
        _set(self, "rule", rule)


FLAG_RULES = {"under_review": "review", "qa_pending": "qa",
              "headcount_exceeds_program": "programs", "no_internal_auditor": "internal-auditor",
              "scope_change_pending": "scope-change",
              "limited_scope_window_open": "limited-scope"}


def flag_sources(t: EmployerTimeline, raised: Sequence[str]) -> list[FlagSource]:
    """Each raised flag with the event that raised it (``qa_pending``: one per audit), what
    it means and its rule: what ``explain``'s flag rows and the status ``because`` name."""
    if not raised or t.registration is None:  # an unregistered employer raises none
        return []
    rb = t.rulebook()
    rows: list[FlagSource] = []
    for flag in raised:
        name = FLAG_RULES.get(flag)
        rule = rb.rule(name) if name is not None and rb.has(name) else None
        if flag == "under_review":
            review = next((r for r in reversed(t.reviews) if r.open_on(t.as_of)), None)
            rows.append(FlagSource(flag, review.event if review else None,
                                   f"a review opened {review.opened} is still open" if review
                                   else "a review is open", rule))
        elif flag == "qa_pending":
            rows.extend(FlagSource(flag, a.event, f"audit {a.audit} submitted {a.submitted} "
                                   "awaits its QA decision", rule)
                        for a in qa_pending_audits(t))
        elif flag == "headcount_exceeds_program":
            over = headcount_over_limit(t)
            rows.append(FlagSource(flag, _headcount_event(t, over),
                                   f"headcount {over[1] if over else None} is over the "
                                   f"{t.program} limit", rule))
        elif flag == "no_internal_auditor":
            rows.append(FlagSource(flag, _auditor_left(t),
                                   "no qualified internal auditor for the next audit", rule))
        elif flag == "scope_change_pending":
            change = t.scope_changes[-1]
            rows.append(FlagSource(flag, change, f"scope change ({change.change}) awaits the "
                                   "partner's decision on a certification audit", rule))
        elif flag == "limited_scope_window_open":
            audit = t.open_limited_scope()
            rows.append(FlagSource(flag, audit.event if audit else None,
                                   f"a limited-scope re-audit may repair audit {audit.audit} "
                                   f"until {audit.limited_scope_until}" if audit
                                   else "limited-scope window", rule))
        else:
            rows.append(FlagSource(flag, None, flag, rule))
    return rows


def _headcount_event(t: EmployerTimeline, report: tuple[date, int] | None
                     ) -> LedgerEvent | None:
    """The registration or headcount report behind ``report`` (its effective date and
    count): the latest such event of that date with that count."""
    if report is None:
        return None
    return next((e for e in reversed(t.events)
                 if isinstance(e, (ev.HeadcountReported, ev.EmployerRegistered))
                 and e.effective == report[0] and e.headcount == report[1]), None)


def _auditor_left(t: EmployerTimeline) -> LedgerEvent | None:
    """What leaves no qualified internal auditor: the latest ``InternalAuditorLeft``
    effective by as-of, or the registration if none ever left."""
    return next((e for e in reversed(t.events)
                 if isinstance(e, (ev.InternalAuditorLeft, ev.EmployerRegistered))
                 and e.effective <= t.as_of), None)


def _certificate(cert: Certificate | None, as_of: date) -> dict[str, Any] | None:
    if cert is None:
        return None
    return {"issued": cert.issued.isoformat(), "expires": cert.expires.isoformat(),
            "cycle_year": cert.cycle_year(as_of)}


_iso_time = format_time_or_none
