"""The incentive decision: one employer's events and the reference rates in, the
``incentive --json`` document (INTERCHANGE.md) out, for one certification year.

``incentive(events, reference, year=Y, employer=E, known_at=T)`` is pure: no I/O, no clock.

- **known_at** is a transaction-time filter on *all* events, the employer's and the reference
  stream's alike: only events recorded at or before it count, with the voids recorded by then
  applied (as ``status --known-at`` does). Without it, everything in the ledger counts.
- **Valid time** is not cut at Dec 31 of Y: the decision for Y is made after Y ends, from
  everything known, so payroll reports, premiums, QA decisions and review closures effective
  in Y + 1 all count. The certificate questions are asked of the timeline folded to the
  latest effective date in view (at least Dec 31 of Y) and are about Y itself.

The partner's rulebook (in force on Dec 31 of Y) names the scheme: ``worksafebc`` (BCCSA,
GO2HR: an amount), ``pir`` (AMHSA: a premium discount) or ``not_applicable`` (GENERIC).
Every decision lands in ``because`` with its rule id. Money is ``Decimal`` throughout and only
the reported figures are rounded, half-up to the cent; the document carries them as
two-place strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from ledger import events as ev
from ledger.codec import format_time_or_none
from ledger.rulebooks import Rule, Rulebook, RuleRegistry
from projections.timeline import (
    AuditRecord,
    Certificate,
    Decision,
    EmployerTimeline,
    Review,
    can_meet,
    fold,
)
from projections.voids import in_view, with_voids

__all__ = ["STATES", "incentive", "money", "summarize"]

STATES = ("eligible", "ineligible", "deferred", "open", "not_applicable")
CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
EXACT = Context(prec=80, rounding=ROUND_HALF_UP)
"""The arithmetic of money: wide enough that no product or sum of accepted figures (at most
15 digits before the point, 2 after) is ever rounded but to the cent, on purpose (the
default 28 digits round a payroll times a rate, or cannot quantize the result)."""


def money(value: Decimal) -> str:
    """A sum of money as INTERCHANGE.md writes it: rounded half-up to the cent, 2 places."""
    return str(_cents(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)


def _figure(value: Decimal) -> str:
    """A reported figure (payroll, rate) with at least two places and no precision lost."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return format(value, "f")
    return str(value.quantize(CENT, context=EXACT))


def _opt_money(value: Decimal | None) -> str | None:
    return None if value is None else money(value)


# --- the public function -----------------------------------------------------------------------


def incentive(
    events: Iterable[ev.LedgerEvent],
    reference: Iterable[ev.LedgerEvent],
    *,
    year: int,
    employer: str,
    known_at: datetime | None = None,
    registry: RuleRegistry | None = None,
    asked_on: date | None = None,
) -> dict[str, Any]:
    """The ``incentive --json`` document of ``employer`` for certification ``year``, from
    its events and the reference rates as known at ``known_at`` (see the module docstring).

    ``asked_on`` is the date the question is asked (the command line's today): a decision
    that cannot be final yet on that date (see :func:`outstanding`) is ``open``, with what is
    still outstanding, rather than reading as final; one that is ``deferred`` (on hold) or
    ``ineligible`` for what happened in the year stays so. Without it the decision is as at
    the year's end, whatever the date."""
    with localcontext(EXACT):
        return _incentive(events, reference, year=year, employer=employer, known_at=known_at,
                          registry=registry, asked_on=asked_on)


def _incentive(events: Iterable[ev.LedgerEvent], reference: Iterable[ev.LedgerEvent], *,
               year: int, employer: str, known_at: datetime | None,
               registry: RuleRegistry | None, asked_on: date | None) -> dict[str, Any]:
    everything = [*events, *reference]
    view = in_view(everything, known_at)
    rates = [e for e in view if isinstance(e, ev.BaseRateSet)]
    year_end = date(year, 12, 31)
    as_of = max([year_end, *(e.effective for e in view
                             if not e.reference and (e.employer in (None, employer)))])
    # the employer's events with their voids still to apply: the fold applies them, keeping
    # each voided event beside its void so that an answer it would have decided cites it
    own = [e for e in with_voids(everything, known_at)[0]
           if not e.reference and (e.employer in (None, employer))]
    t = fold(own, as_of=as_of, known_at=known_at, employer=employer, registry=registry)
    d = _Decider(t, year, rates, known_at, asked_on)
    if t.registration is None:
        return d.unregistered()
    scheme = d.rb.rule("incentive")
    if scheme["scheme"] not in ("worksafebc", "pir"):
        return d.not_applicable(scheme)
    d.opening(scheme["scheme"])
    doc = d.worksafebc() if scheme["scheme"] == "worksafebc" else d.pir()
    pending = outstanding(t, year, asked_on) if asked_on is not None else []
    # on hold whatever the calendar (DOMAIN.md: deferred while an investigation or a review
    # is open), or ineligible for what happened in the year: the answer stands as it is
    if not pending or doc["state"] == "deferred" or (doc["state"] == "ineligible"
                                                     and d.final):
        return doc
    return d.reopen(doc, pending)


def outstanding(t: EmployerTimeline, year: int, asked_on: date) -> list[str]:
    """What can still change the decision for ``year`` on ``asked_on``: the year itself
    while it runs (an exception may yet happen in it), and a required audit due in the year
    that is not accepted while it may still be submitted (up to the end of its grace) or
    repaired (its limited-scope window is open)."""
    pending = []
    year_end = date(year, 12, 31)
    if asked_on <= year_end:
        pending.append(f"the year {year} runs until {year_end}")
    req = t.requirement
    if req is None or req.due is None or req.due.year != year \
            or t.required_audit_accepted_in(year) is not None:
        return pending
    if req.last_day is not None and asked_on <= req.last_day:
        pending.append(f"the {req.kind} audit due {req.due} (last day {req.last_day}) is not "
                       "accepted yet")
        return pending
    failed = t.open_limited_scope(asked_on)
    if failed is not None and can_meet(req, failed):  # a re-audit may still repair it
        pending.append(f"audit {failed.audit} for the {req.kind} audit due {req.due} failed; "
                       f"a limited-scope re-audit may repair it if completed by "
                       f"{failed.limited_scope_until}")
    return pending


def summarize(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals for a payment run: how many employers in each state, the amount due, what was
    paid, and the difference (deferred and open decisions count in neither amount nor
    difference: they are counted apart, in ``by_state``). ``paid`` is every payment on
    record for the year, and ``paid_undecided`` the part of it made to employers whose
    decision is deferred or open, so that ``amount - (paid - paid_undecided) = difference``:
    the run reconciles."""
    with localcontext(EXACT):
        return _summarize(documents)


def _summarize(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    by_state = {state: 0 for state in STATES}
    amount = paid = undecided = difference = ZERO
    for doc in documents:
        by_state[doc["state"]] = by_state.get(doc["state"], 0) + 1
        amount += Decimal(doc["amount"]) if doc["amount"] is not None else ZERO
        paid += Decimal(doc["paid_total"])
        if doc["difference"] is None:
            undecided += Decimal(doc["paid_total"])
        else:
            difference += Decimal(doc["difference"])
    return {"employers": len(documents), "by_state": by_state, "amount": money(amount),
            "paid": money(paid), "paid_undecided": money(undecided),
            "difference": money(difference)}


# --- the per-CU figures -------------------------------------------------------------------


@dataclass
class _CuLine:
    """One CU's figures for the year: payroll, base rate, base premium, premiums paid."""

    cu: str
    in_scope: bool
    payroll: ev.PayrollReported | None = None
    rate: ev.BaseRateSet | None = None
    premiums: list[ev.PremiumPaid] = field(default_factory=list)

    @property
    def base_premium(self) -> Decimal | None:
        """Assessable payroll x base rate / 100 (unrounded), when both are known."""
        if self.payroll is None or self.rate is None:
            return None
        return self.payroll.assessable_payroll * self.rate.base_rate / HUNDRED

    @property
    def premiums_paid(self) -> Decimal:
        return sum((p.amount for p in self.premiums), ZERO)


# --- the decider ---------------------------------------------------------------------------------


class _Decider:
    """Asks the folded timeline the questions of the partner's incentive rules for one year,
    collecting each answer as a :class:`Decision` for ``because``."""

    def __init__(self, t: EmployerTimeline, year: int, rates: list[ev.BaseRateSet],
                 known_at: datetime | None, asked_on: date | None = None) -> None:
        self.t = t
        self.asked_on = asked_on
        self.year = year
        self.year_end = date(year, 12, 31)
        self.rates = rates
        self.known_at = known_at
        self.because: list[Decision] = []
        # An ineligibility for what happened in Y (a certificate ended, a penalty): no later
        # event of the year can undo it, so the answer is final while the year still runs.
        self.final = False
        self.rb: Rulebook = t.rulebook(self.year_end) if t.registration else _no_rulebook()

    # helpers ----------------------------------------------------------------------------------

    def note(self, says: str, rule: Rule | str | None, event: ev.LedgerEvent | None = None,
             on: date | None = None) -> None:
        if isinstance(rule, str):
            rule = self.rb.rule(rule)
        self.because.append(Decision(on or self.year_end, says, rule, event))

    def document(self, state: str, **fields: Any) -> dict[str, Any]:
        """The INTERCHANGE document, with the project's extra fields (partner, known_at,
        formula, floor, discount_percent, paid_total, difference)."""
        doc: dict[str, Any] = {
            "employer": self.t.employer, "year": self.year,
            "partner": self.t.partner, "known_at": _iso_time(self.known_at),
            "state": state, "amount": None, "payable_in": None, "minimum_applied": False,
            "formula": None, "floor": None, "discount_percent": None, "by_cu": [],
        }
        doc.update(fields)
        paid = self.payments()
        total = sum((p.amount for p in paid), ZERO)
        due: Decimal | None
        if state == "eligible":
            due = Decimal(doc["amount"]) if doc["amount"] is not None else None
        else:
            due = None if state in ("deferred", "open") else ZERO
        difference = None if due is None else due - total
        if paid and difference is not None:
            self._note_difference(total, due or ZERO, difference)
        doc["paid"] = [{"event": p.event_id, "effective": p.effective.isoformat(),
                        "amount": money(p.amount)} for p in paid]
        doc["paid_total"] = money(total)
        doc["difference"] = _opt_money(difference)
        doc["because"] = [b.as_because() for b in self.because]
        return doc

    def payments(self) -> list[ev.IncentivePaid]:
        return [e for e in self.t.events if isinstance(e, ev.IncentivePaid)
                and e.year == self.year]

    def _note_difference(self, paid: Decimal, due: Decimal, difference: Decimal) -> None:
        rb = self.rb  # none for an employer not registered (a registration voided, say)
        rule = next((rb.rule(name) for name in ("incentive-payable", "incentive")
                     if rb.has(name)), None)
        if difference > 0:
            says = f"paid {money(paid)} of {money(due)} due: {money(difference)} still owed"
        elif difference < 0:
            says = f"paid {money(paid)} but {money(due)} is due: {money(-difference)} overpaid"
        else:
            says = f"paid {money(paid)}: the amount due is paid in full"
        self.note(says, rule, self.payments()[-1])

    def _registered(self) -> None:
        reg = self.t.registration
        assert reg is not None
        self.note(f"registered with {reg.partner} for {self.t.program}",
                  "incentive", reg.event, reg.registered)

    def opening(self, scheme: str) -> None:
        """The first decisions of a program's incentive: the registration, then each void
        that took away an event which would otherwise have decided the year (COR-2000
        .corrections: an answer cites the void that took its target away)."""
        self._registered()
        for e, void in self.t.voided:
            if self.would_decide(e, scheme):
                then = f"{e.target} counts again" if isinstance(e, ev.EventVoided) else \
                    f"it does not decide {self.year}"
                self.note(f"{e.type_name()} {e.event_id} ({e.effective}) was voided: "
                          f"{void.reason}; {then}", "corrections", void, e.effective)

    def would_decide(self, e: ev.LedgerEvent, scheme: str) -> bool:
        """Whether ``e``, had it counted, would have decided Y under ``scheme``, by the
        questions below: a certificate revoked during Y (also by a review closed
        ``revoked``), a review that would hold Y (:meth:`_bears_on_year`) or the close that
        would have released it; for ``worksafebc`` also a violation with a penalty in Y,
        payroll or premiums for Y; under either, an investigation (or its close) as a
        review. A void would have decided Y when its target, which counts again, decides it."""
        t, year = self.t, self.year
        if isinstance(e, ev.EventVoided):
            target = next((x for x in t.events if x.event_id == e.target), None)
            return target is not None and self.would_decide(target, scheme)
        if scheme != "worksafebc" and isinstance(e, ev.ViolationRecorded | ev.PayrollReported
                                                 | ev.PremiumPaid):
            return False
        if isinstance(e, ev.ViolationRecorded):
            return bool(e.penalty) and e.effective.year == year
        if isinstance(e, (ev.PayrollReported, ev.PremiumPaid)):
            return bool(e.year == year)
        if isinstance(e, ev.InvestigationOpened):
            return bool(e.incident_on.year == year)
        if isinstance(e, ev.SeriousIncidentReported):
            # its review would still be open in Y unless a review closed before Y began
            # (the review it opened is not in the fold, the incident being void: the close
            # of its review, which still counts, is read from the events)
            start = date(year, 1, 1)
            return e.effective <= self.year_end and not any(
                isinstance(x, ev.ReviewClosed) and e.effective <= x.effective < start
                for x in t.events)
        if isinstance(e, ev.CertificationRevoked | ev.ReviewClosed):
            revoked = (not isinstance(e, ev.ReviewClosed) or e.outcome == "revoked")
            if revoked and e.effective.year == year and t.certificate_on(e.effective):
                return True
        if isinstance(e, ev.ReviewClosed | ev.InvestigationClosed):
            holds = t.reviews if isinstance(e, ev.ReviewClosed) else [
                i for i in t.investigations if i.case == e.case]
            return e.effective.year >= year and any(
                self._bears_on_year(r) and r.opened <= e.effective
                and (r.closed is None or r.closed > e.effective) for r in holds)
        return False

    # outcomes -------------------------------------------------------------------------------

    def reopen(self, doc: dict[str, Any], pending: list[str]) -> dict[str, Any]:
        """The decision as it stands, marked ``open``: nothing is due or final yet."""
        rule = self.rb.rule("incentive")
        self.note(f"not final yet: it stands at {doc['state']} so far, and "
                  f"{'; '.join(pending)}", rule)
        reopened = self.document("open", by_cu=doc["by_cu"])
        reopened["outstanding"] = pending
        return reopened

    def unregistered(self) -> dict[str, Any]:
        known = f" as known at {_iso_time(self.known_at)}" if self.known_at else ""
        voids = self.t.because()  # the voids that left its registrations out, if any
        employer = self.t.employer
        what = f"no registration of {employer} stands in this ledger (each was voided)" \
            if voids else f"{employer} is not registered in this ledger"
        self.because.append(Decision(self.year_end, f"{what}{known}: no incentive program "
                                     "applies"))
        self.because.extend(voids)
        return self.document("not_applicable")

    def not_applicable(self, scheme: Rule) -> dict[str, Any]:
        self._registered()
        self.note(scheme.says, scheme)
        return self.document("not_applicable")

    def pir(self) -> dict[str, Any]:
        """AMHSA PIR: a valid certificate on Dec 31 of Y and no open review or investigation
        of an incident in Y (open: deferred)."""
        rule = self.rb.rule("pir-eligibility")
        cert = self.t.certificate_on(self.year_end)
        if cert is None:
            last = [c for c in self.t.certificates if c.issued <= self.year_end]
            if last and last[-1].ended_on is not None and last[-1].ended_on <= self.year_end:
                ended = last[-1]
                self.note(f"the certificate issued {ended.issued} was {ended.ended} on "
                          f"{ended.ended_on}", rule, self._end_event(ended), ended.ended_on)
            self.note(f"no valid certificate on {self.year_end}: no PIR discount for "
                      f"{self.year}", rule)
            return self.document("ineligible")
        self.note(f"certificate issued {cert.issued} (expires {cert.expires}) is valid on "
                  f"{self.year_end}", rule, self._cert_event(cert))
        # an investigation defers "the incentive decision of the incident's year" (second
        # set, "Investigations"), the PIR's as the WorkSafeBC one
        holds = [*self.t.reviews, *self.t.investigations]
        open_holds = self.open_holds(holds)
        if open_holds:
            for r in open_holds:
                what = f"investigation {r.case}" if r.case is not None else "review"
                self.note(f"{what} opened {r.opened} is still open: the PIR decision for "
                          f"{self.year} waits for it to close", rule, r.event, r.opened)
            return self.document("deferred")
        self.closed_holds(holds, rule)
        self.note(f"no review or investigation open for {self.year}", rule)
        discount = self.rb.rule("pir-discount")
        percent = Decimal(str(discount["percent"]))
        self.note(f"PIR discount of {percent}% on the industry rate (up to "
                  f"{discount['max_percent']}% on claims-cost performance)", discount)
        return self.document("eligible", discount_percent=str(percent.quantize(CENT)))

    def worksafebc(self) -> dict[str, Any]:
        """The WorkSafeBC COR incentive (DOMAIN.md): eligibility, exceptions, the amount."""
        basis, audit = self.certificate_basis()
        open_holds = self.open_holds([*self.t.reviews, *self.t.investigations])
        if basis == "none" or (basis == "missed" and not open_holds):
            self.ended_exceptions()  # final when a certificate ended in Y by the day asked
            return self.document("ineligible")
        scope = audit.scope if audit is not None else tuple(self.t.classification_units)
        lines = self.cu_lines(scope)
        for r in open_holds:
            what = f"investigation {r.case}" if r.case is not None else "review"
            self.note(f"{what} opened {r.opened} is still open: no decision for "
                      f"{self.year} until it ends", "incentive-exceptions", r.event, r.opened)
        exceptions = self.exceptions(lines)
        if open_holds:
            return self.document("deferred", by_cu=self.by_cu(lines, None))
        if exceptions:
            return self.document("ineligible", by_cu=self.by_cu(lines, None))
        self.closed_holds([*self.t.reviews, *self.t.investigations], "incentive-decision")
        self.note(f"no review or investigation open for {self.year}", "incentive-decision")
        missing = [line for line in lines
                   if line.in_scope and line.rate is None and line.payroll is not None]
        for line in missing:
            self.note(f"no {self.jurisdiction} base rate for CU {line.cu} in {self.year}: the "
                      "amount cannot be computed yet", "incentive-base-rate")
        if basis == "pending" or missing:
            return self.document("deferred", by_cu=self.by_cu(lines, None))
        return self.amount(lines)

    # eligibility ------------------------------------------------------------------------------

    def certificate_basis(self) -> tuple[str, AuditRecord | None]:
        """Whether a valid certificate is held for Y: ``ok`` (with the audit whose scope
        counts), ``pending`` (the year's audit is still in QA), ``missed`` (a certificate
        was in force in Y, but the year's required audit was not accepted, or its first
        certification was submitted after the cutoff and an incident since its issue is
        under review: an open review or investigation still defers the decision) or
        ``none``."""
        t, year = self.t, self.year
        if not t.held_valid_certificate_in(year):
            self.note(f"no certificate was in force in {year}", "incentive")
            return "none", None
        firsts = [c for c in t.certificates if c.issued.year == year and not _renewal(t, c)]
        if firsts:
            cert = firsts[-1]
            audit = t.audits[cert.audit]
            cutoff_rule = self.rb.rule("first-certification-cutoff")
            cutoff = date(year, int(cutoff_rule["month"]), int(cutoff_rule["day"]))
            if cert.submitted <= cutoff:
                self.note(f"first certification: audit {audit.audit} submitted "
                          f"{cert.submitted}, by {cutoff}; certificate issued {cert.issued}",
                          cutoff_rule, audit.event)
                if audit.qa_event is not None:
                    self.note(f"QA accepted audit {audit.audit} on {cert.qa_date}, by "
                              f"{self.year_end}", cutoff_rule, audit.qa_event, cert.qa_date)
                return "ok", audit
            self.note(f"first certification: audit {audit.audit} submitted {cert.submitted}, "
                      f"after {cutoff}: it counts for {year + 1}, not {year}", cutoff_rule,
                      audit.event)
            # certified from its issue all the same: an incident from then on involves the
            # certified employer, and its open review or investigation defers the year
            if any(_incident_day(r) >= cert.issued
                   for r in self.open_holds([*t.reviews, *t.investigations])):
                return "missed", None
            return "none", None
        accepted = t.required_audit_accepted_in(year)
        if accepted is not None:
            repair = accepted.repaired_qa
            self.note(f"{accepted.kind} audit {accepted.audit} for {year} accepted by QA on "
                      f"{accepted.qa_date}" + (
                          f": the certificate is held for {year}" if repair is None else
                          f", failing; limited-scope audit {accepted.repaired_by} repairs it"),
                      "incentive", accepted.qa_event or accepted.event)
            if repair is not None:  # the re-audit's acceptance is what made it pass
                self.note(f"QA accepted limited-scope audit {accepted.repaired_by} on "
                          f"{repair.effective}: audit {accepted.audit} passes, and the "
                          f"certificate is held for {year}", "incentive", repair)
            return "ok", accepted
        pending = self.pending_required_audit()
        if pending is not None:
            self.note(f"{pending.kind} audit {pending.audit} for {year} was submitted "
                      f"{pending.submitted} and is still in QA: the decision waits for it",
                      "qa", pending.event)
            return "pending", pending
        self.note(f"no required audit for {year} was accepted: no valid certificate is held "
                  f"for {year}", "incentive")
        return "missed", None

    def pending_required_audit(self) -> AuditRecord | None:
        """An audit submitted for the year's still-open requirement and awaiting QA."""
        late = [a for req, _, a in self.t.late
                if a.qa_outcome is None and req.due is not None and req.due.year == self.year]
        if late:  # the certificate ended while it was in QA: it still meets its year
            return late[-1]
        head = self.t.requirement
        # the year's audit may be owed after one held in QA (Requirement.then): look along
        links = [head, *head.chain()] if head is not None and head.held else [head]
        req = next((link for link in links if link is not None and link.due is not None
                    and link.due.year == self.year
                    and (link.kind != "certification" or link.scope_change)), None)
        if req is None or req.due is None:
            return None
        last = req.last_day or req.due
        audits = self.t.audits
        waiting = [a for a in audits.values()
                   if a.counts and a.qa_outcome is None and (
                       req.opened <= a.submitted <= last if a.repairs is None
                       # a re-audit that could repair an audit that meets it
                       else a.can_repair and a.repairs in audits
                       and can_meet(req, audits[a.repairs]))]
        return waiting[-1] if waiting else None

    def open_holds(self, holds: Sequence[Review]) -> list[Review]:
        """Reviews opened by Dec 31 of Y, and investigations of an incident in Y (its
        ``incident_date``, else the day it opened), with no close known."""
        return [r for r in holds if r.closed is None and self._bears_on_year(r)]

    def _bears_on_year(self, r: Review) -> bool:
        """An investigation of an incident in Y, or a review opened by Dec 31 of Y."""
        if isinstance(r.event, ev.InvestigationOpened):
            return bool(r.event.incident_on.year == self.year)
        return r.opened <= self.year_end

    def closed_holds(self, holds: Sequence[Review], rule: Rule | str) -> None:
        """Notes each review or investigation that would have held Y's decision but is
        known to have closed (the closing is what let the decision be taken)."""
        for r in holds:
            if r.closed is None or r.closed.year < self.year or not self._bears_on_year(r):
                continue
            what = f"investigation {r.case}" if r.case is not None else "review"
            outcome = f" ({r.outcome.replace('_', ' ')})" if r.outcome else ""
            self.note(f"{what} opened {r.opened} closed on {r.closed}{outcome}: it no longer "
                      f"holds the decision for {self.year}", rule, r.closing, r.closed)

    def exceptions(self, lines: list[_CuLine]) -> bool:
        """Notes every exception that makes Y ineligible; True when there is one."""
        found = self.ended_exceptions()
        for v in self.t.violations:
            if v.effective.year != self.year:
                continue
            if v.penalty:
                self.note(f"violation ({v.kind}) with a penalty in {self.year}",
                          "incentive-exceptions", v)
                found = self.final = True
            else:
                self.note(f"violation ({v.kind}) without a penalty: no effect on the incentive",
                          "incentive-exceptions", v)
        return self.payroll_exceptions(lines) or found

    def ended_exceptions(self) -> bool:
        """Notes each certificate cancelled or revoked during Y; True when there is one."""
        ended = self.t.certificates_ended_in(self.year)
        for cert in ended:
            self.note(f"the certificate issued {cert.issued} was {cert.ended} on "
                      f"{cert.ended_on}, during {self.year}", "incentive-exceptions",
                      self._end_event(cert), cert.ended_on)
        # final once it has happened: a lapse the fold foresees after the day asked (the
        # grace may yet be used) can still be undone
        self.final = self.final or any(
            self.asked_on is None or (c.ended_on is not None and c.ended_on <= self.asked_on)
            for c in ended)
        return bool(ended)

    def payroll_exceptions(self, lines: list[_CuLine]) -> bool:
        """Payroll reported after its deadline, for any CU (a CU without a report is noted:
        it earns nothing, but with no deadline known it is not late)."""
        found = False
        reports = self.reports()
        for line in lines:
            mine = [r for r in reports if r.cu == line.cu]
            if not mine:
                if line.in_scope:
                    self.note(f"no payroll reported for CU {line.cu} for {self.year}: no "
                              "deadline to miss, and it earns nothing from the formula",
                              "incentive-payroll")
                continue
            on_time = [r for r in mine if r.deadline is None or r.effective <= r.deadline]
            shown = on_time[0] if on_time else mine[0]
            if on_time:
                when = f"by its deadline {shown.deadline}" if shown.deadline else \
                    "no deadline given"
                self.note(f"payroll for CU {line.cu} for {self.year} reported "
                          f"{shown.effective}, {when}", "incentive-payroll", shown)
            else:
                self.note(f"payroll for CU {line.cu} for {self.year} reported "
                          f"{shown.effective}, after its deadline {shown.deadline}",
                          "incentive-payroll", shown)
                found = True
        return found

    # the amount -----------------------------------------------------------------------------------

    @property
    def jurisdiction(self) -> str:
        return str(self.rb.rule("incentive-rate").params.get("jurisdiction", "BC"))

    def reports(self) -> list[ev.PayrollReported]:
        return [e for e in self.t.events if isinstance(e, ev.PayrollReported)
                and e.year == self.year]

    def cu_lines(self, scope: Sequence[str]) -> list[_CuLine]:
        """Every CU in scope or with payroll or premiums for Y, with its figures."""
        reports = self.reports()
        premiums = [e for e in self.t.events if isinstance(e, ev.PremiumPaid)
                    and e.year == self.year]
        cus = sorted({*scope, *(r.cu for r in reports), *(p.cu for p in premiums)})
        lines = []
        for cu in cus:
            mine = [r for r in reports if r.cu == cu]  # fold order: latest effective last
            lines.append(_CuLine(cu, cu in scope, mine[-1] if mine else None,
                                 self.base_rate(cu), [p for p in premiums if p.cu == cu]))
        return lines

    def base_rate(self, cu: str) -> ev.BaseRateSet | None:
        """The latest recorded base rate for (jurisdiction, cu, year), if any."""
        found = [(e.recorded_at, i, e) for i, e in enumerate(self.rates)
                 if e.jurisdiction == self.jurisdiction and e.cu == cu and e.year == self.year]
        return max(found, key=lambda x: (x[0], x[1]))[2] if found else None

    def by_cu(self, lines: list[_CuLine], rate: Decimal | None) -> list[dict[str, Any]]:
        """The ``by_cu`` rows; a CU's amount is its formula share (null unless eligible)."""
        rows = []
        for line in lines:
            premium = line.base_premium
            amount: str | None = None
            if rate is not None:
                amount = money(rate * premium) if line.in_scope and premium is not None \
                    else money(ZERO)
            rows.append({
                "cu": line.cu, "in_scope": line.in_scope,
                "assessable_payroll": _figure(line.payroll.assessable_payroll)
                if line.payroll else None,
                "base_rate": _figure(line.rate.base_rate) if line.rate else None,
                "base_premium": _opt_money(premium),
                "premiums_paid": money(line.premiums_paid),
                "amount": amount,
            })
        return rows

    def amount(self, lines: list[_CuLine]) -> dict[str, Any]:
        """amount = max(10% x base premiums in scope, min($1,000, 75% x every premium paid
        for Y, whatever the CU))."""
        rate_rule, floor_rule = self.rb.rule("incentive-rate"), self.rb.rule("incentive-floor")
        rate = Decimal(str(rate_rule["rate"]))
        scoped = [line for line in lines if line.in_scope]
        for line in lines:
            if not line.in_scope:
                self.note(f"CU {line.cu} is not in the audit's scope: it earns nothing",
                          "incentive-scope", line.payroll)
        for line in scoped:
            if line.rate is None or line.payroll is None:
                continue  # no payroll on record: noted with the payroll checks
            self.note(f"CU {line.cu}: {_figure(line.payroll.assessable_payroll)} x "
                      f"{_figure(line.rate.base_rate)} / 100 = base premium "
                      f"{money(line.base_premium or ZERO)}", rate_rule, line.rate)
        base = sum((line.base_premium or ZERO for line in scoped), ZERO)
        formula = rate * base
        paid = sum((line.premiums_paid for line in lines), ZERO)  # every CU (second set)
        cap, share = Decimal(str(floor_rule["cap"])), Decimal(str(floor_rule["premium_share"]))
        floor = min(cap, share * paid)
        self.note(f"formula: {rate * 100:.0f}% of base premiums {money(base)} = "
                  f"{money(formula)}", rate_rule)
        # the floor and the formula compared as they are; only the amount is rounded
        minimum_applied = floor > formula
        amount = max(_cents(formula), _cents(floor))
        verdict = "the floor applies" if minimum_applied else "the formula stands"
        for line in lines:
            for premium in line.premiums:
                self.note(f"premium {money(premium.amount)} paid for CU {line.cu} for "
                          f"{self.year}", floor_rule, premium, premium.effective)
        self.note(f"floor: lesser of {money(cap)} and {share * 100:.0f}% "
                  f"of premiums paid {money(paid)} = {money(floor)}; {verdict}: "
                  f"{money(amount)}", floor_rule)
        payable = self.year + int(self.rb.rule("incentive-payable")["offset_years"])
        self.note(f"eligible for {self.year}: {money(amount)} payable in {payable}",
                  "incentive-payable")
        return self.document("eligible", amount=money(amount), payable_in=payable,
                             minimum_applied=minimum_applied, formula=money(formula),
                             floor=money(floor), by_cu=self.by_cu(lines, rate))

    # events behind certificates --------------------------------------------------------------

    def _cert_event(self, cert: Certificate) -> ev.LedgerEvent | None:
        audit = self.t.audits.get(cert.audit)
        return (audit.qa_event or audit.event) if audit is not None else None

    @staticmethod
    def _end_event(cert: Certificate) -> ev.LedgerEvent | None:
        """The event that ended a certificate: a revocation, a review closed with
        ``revoked``, or QA's rejection of the audit that held it (None: a deadline)."""
        return cert.ended_by


def _renewal(t: EmployerTimeline, cert: Certificate) -> bool:
    """A certificate that renewed the one before it (not a first certification)."""
    before = [c for c in t.certificates if c.issued < cert.issued]
    return bool(before) and before[-1].ended == "renewed"


def _no_rulebook() -> Rulebook:
    from types import MappingProxyType

    return Rulebook("", date.min, MappingProxyType({}))


_iso_time = format_time_or_none


def asked_on(today: date, known_at: datetime | None) -> date:
    """The day an incentive question is asked: today, or the day of an earlier ``known_at``
    replay (a year not yet over on that day reads ``open``)."""
    if known_at is not None:
        return min(known_at.astimezone(UTC).date(), today)
    return today


def _incident_day(r: Review) -> date:
    """The day of the incident a review or an investigation is about (an investigation's
    ``incident_date``, else the day it opened)."""
    if isinstance(r.event, ev.InvestigationOpened):
        return r.event.incident_on
    return r.opened
