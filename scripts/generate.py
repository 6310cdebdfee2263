"""A deterministic synthetic ledger: N employers' ten-year COR/SECOR histories as INTERCHANGE JSONL.

Used for benchmarks (issue 8) and for the bundled demo ledger. Same arguments give
byte-identical output: every random draw comes from a ``random.Random`` seeded from
``--seed`` (one per employer, so employer *i* is the same whatever ``--employers`` is), and
every ``recorded_at`` is derived from the data (effective date + a seeded delay), never from
the clock, and never after :data:`REFERENCE` (2026-11-01T00:00:00Z).

Output order: the ``BaseRateSet`` reference data first, then each employer's events,
registration first, the rest by effective date. Employers are written one after another
(streaming, so memory stays flat at any size); ``--interleave K`` mixes the events of each
block of K employers by effective date instead, still with each registration first.

    python -m scripts.generate --employers 1000 --seed 1 --out ledger.jsonl
    python -m scripts.generate --employers 36 --seed 7 --start-year 2017 --years 10 \\
        --out commands/sample/demo.jsonl          # the bundled demo ledger (DEMO_ARGS)
    python -m scripts.generate --employers 36 --seed 7 --start-year 2017 --cases
                                                 # which employer shows which case, and when
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any

import orjson

REFERENCE = datetime(2026, 11, 1, tzinfo=UTC)
"""No generated ``recorded_at`` is after this instant, so a generated file is always 'past'."""

DEMO_ARGS = ("--employers", "36", "--seed", "7", "--start-year", "2017", "--years", "10")
"""The arguments that produced ``commands/sample/demo.jsonl`` (a test regenerates it)."""

_MIN_PER_DAY = 1440
_REF_ORD = REFERENCE.date().toordinal()
_LAST_RECORDED = _REF_ORD * _MIN_PER_DAY - 60  # 2026-10-31T23:00Z: the latest recorded_at
_LAST_EFFECTIVE = date(2026, 10, 15).toordinal()  # leaves room for a recording delay


# --- dates and money -----------------------------------------------------------------------

_ISO: dict[int, str] = {}


def iso(ordinal: int) -> str:
    """``YYYY-MM-DD`` of a proleptic ordinal (cached: a run formats a few thousand dates)."""
    text = _ISO.get(ordinal)
    if text is None:
        text = _ISO[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


def ordinal(year: int, month: int, day: int) -> int:
    """The ordinal of a calendar date."""
    return date(year, month, day).toordinal()


def year_of(ordinal_: int) -> int:
    """The calendar year of an ordinal."""
    return date.fromordinal(ordinal_).year


def add_years(ordinal_: int, years: int) -> int:
    """The same date ``years`` later (DOMAIN: Feb 29 becomes Feb 28)."""
    d = date.fromordinal(ordinal_)
    try:
        return d.replace(year=d.year + years).toordinal()
    except ValueError:
        return d.replace(year=d.year + years, day=28).toordinal()


def end_of_february(year: int) -> int:
    """The payroll deadline of WorkSafeBC and the Alberta WCB: the last day of February."""
    return ordinal(year, 3, 1) - 1


def money(cents: int) -> str:
    """Cents as an INTERCHANGE money string (two places, never a float)."""
    return f"{cents // 100}.{cents % 100:02d}"


def cents_half_up(value: Decimal) -> int:
    """Dollars rounded half-up to whole cents."""
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def recorded_text(minutes: int) -> str:
    """An absolute minute count (ordinal * 1440 + minute of day) as ISO UTC with ``Z``."""
    day, minute = divmod(minutes, _MIN_PER_DAY)
    return f"{iso(day)}T{minute // 60:02d}:{minute % 60:02d}:00Z"


# --- the partners --------------------------------------------------------------------------

_COMMON_ELEMENTS = ("policy", "hazard_assessment", "inspections", "training",
                    "incident_investigation")


@dataclass(frozen=True)
class PartnerProfile:
    """What the generator needs to know of a certifying partner to write believable histories.

    ``secor_limit`` is the largest SECOR headcount (None: no SECOR); ``maintenance`` names the
    rulebook's due rule: ``anniversary`` of issue, ``calendar`` year end (+45 days' grace for
    the submission) or a year after the ``last_completion``.
    """

    name: str
    account_prefix: str
    jurisdiction: str
    classification_units: tuple[str, ...]
    base_rate_range: tuple[int, int]  # cents per $100 of payroll
    secor_limit: int | None
    secor_share: float
    elements: tuple[str, ...]
    maintenance: str
    pays_incentive: bool
    reports_payroll: bool
    limited_scope: bool
    notice_always: bool
    trade: tuple[str, ...]
    incidents: tuple[str, ...]


PARTNER_PROFILES: dict[str, PartnerProfile] = {
    "BCCSA": PartnerProfile(
        "BCCSA", "BC", "BC",
        ("721002", "721003", "721005", "721008", "721011", "721013", "722004", "723009"),
        (180, 950), None, 0.0,
        _COMMON_ELEMENTS + ("safe_work_procedures", "emergency_preparedness"),
        "calendar", True, True, True, False,
        ("Construction", "Framing", "Concrete", "Roofing", "Excavating", "Electrical",
         "Mechanical", "Drywall", "Paving", "Steel Erectors"),
        ("worker fell from a ladder", "struck by excavator bucket", "trench wall collapse",
         "fall from scaffold", "electrical contact during tie-in", "crane load dropped"),
    ),
    "GO2HR": PartnerProfile(
        "GO2HR", "BC", "BC",
        ("761002", "761003", "761011", "761030", "763001", "764004"),
        (60, 260), 19, 0.6,
        _COMMON_ELEMENTS + ("emergency_preparedness",),
        "calendar", True, True, False, True,
        ("Hospitality", "Resort", "Lodge", "Catering", "Adventure Tours", "Hotel",
         "Bistro Group", "Ski Hill"),
        ("burn from a deep fryer", "guest vehicle struck a lift operator",
         "slip on kitchen floor, fractured wrist", "rafting guide injured on the river"),
    ),
    "AMHSA": PartnerProfile(
        "AMHSA", "AB", "AB",
        ("87000", "87100", "87200", "87300", "88100"),
        (90, 420), 10, 0.5,
        _COMMON_ELEMENTS + ("emergency_preparedness",),
        "last_completion", False, True, False, False,
        ("Municipal District", "Town Utilities", "Village Public Works", "County Roads",
         "Regional Water Commission", "Summer Village"),
        ("grader rollover on a gravel road", "water-main crew caught in a cave-in",
         "mower operator struck by debris", "confined-space exposure at a lift station"),
    ),
    "GENERIC": PartnerProfile(
        "GENERIC", "GEN", "CA",
        ("G100", "G200", "G300", "G400"),
        (100, 500), 9, 0.5,
        _COMMON_ELEMENTS,
        "anniversary", False, False, False, False,
        ("Manufacturing", "Logistics", "Fabrication", "Services", "Distribution",
         "Printing"),
        ("forklift struck a pedestrian", "amputation at a press brake",
         "fall from a loading dock"),
    ),
}

# Employer index -> partner: an exact, repeating mix of 8 BCCSA : 4 GO2HR : 3 AMHSA : 5 GENERIC.
_PARTNER_CYCLE = ("BCCSA", "GENERIC", "GO2HR", "BCCSA", "AMHSA", "BCCSA", "GENERIC", "GO2HR",
                  "BCCSA", "AMHSA", "GENERIC", "BCCSA", "GO2HR", "BCCSA", "GENERIC", "AMHSA",
                  "BCCSA", "GO2HR", "GENERIC", "BCCSA")

_PLACES = ("Northern", "Coastal", "Summit", "Cedar", "Fraser", "Okanagan", "Prairie", "Ridge",
           "Kootenay", "Island", "Peace River", "Bow Valley", "Harbour", "Cariboo", "Chinook",
           "Granite", "Evergreen", "Lakeshore", "Foothills", "Pacific")
_SUFFIXES = ("Ltd", "Inc", "Corp", "Ltd", "Group Inc", "& Sons Ltd")
_GIVEN = "ajkmrspdtlncegh"
_SURNAMES = ("singh", "nguyen", "smith", "chen", "brown", "wilson", "tremblay", "martin",
             "lee", "patel", "roy", "macdonald", "gill", "wong", "campbell", "anderson")
_REJECTIONS = ("insufficient documentation of interviews", "sample of observations too small",
               "scores not supported by evidence", "audit tool out of date",
               "auditor not qualified for this audit kind", "missing site observations")
_REVOCATION_REASONS = ("falsified audit records", "audit integrity review failed",
                       "misrepresented scope of operations")
_VIOLATIONS = (("order", False), ("warning_letter", False), ("administrative_penalty", True),
               ("stop_work_order", False), ("administrative_penalty", True))
_PROGRAM_REASON = "headcount grew past the small-employer limit"


# --- one employer's history ------------------------------------------------------------------


class Event:
    """One generated event before serialisation; ``parent`` must be recorded before it."""

    __slots__ = ("effective", "seq", "type", "data", "by", "parent", "delay", "recorded", "id")

    def __init__(self, effective: int, seq: int, type_: str, data: dict[str, Any],
                 by: str | None, parent: Event | None, delay: int) -> None:
        self.effective = effective
        self.seq = seq
        self.type = type_
        self.data = data
        self.by = by
        self.parent = parent
        self.delay = delay
        self.recorded = 0
        self.id = ""


@dataclass(slots=True)
class Audit:
    """The outcome of one submitted audit, as the simulation needs it."""

    audit: str
    kind: str
    auditor: str
    auditor_type: str
    started: int
    completed: int
    submitted: int
    qa: int
    accepted: bool
    passed: bool
    low_elements: tuple[str, ...]
    submission_event: Event | None


@dataclass(slots=True)
class Certificate:
    """A certificate the simulated employer held: from ``issued`` to ``ended`` (or open)."""

    issued: int
    kind: str
    submitted: int
    scope: tuple[str, ...]
    completed: int
    ended: int | None = None
    end_reason: str | None = None


class EmployerHistory:
    """Simulates one employer from registration to the horizon and returns its events.

    The simulation follows the rulebooks closely enough that the ledger's verdicts are
    varied and believable (certified, cancelled, expired, revoked, in grace, limited-scope
    window open...), but it never needs to agree with them: the ledger judges what it stores.
    """

    def __init__(self, index: int, seed: int, start: int, horizon: int,
                 rates: dict[tuple[str, int], int]) -> None:
        self.rates = rates
        self.rng = rng = random.Random(f"corledger-generate:{seed}:{index}")
        self.index = index
        self.partner = PARTNER_PROFILES[_PARTNER_CYCLE[index % len(_PARTNER_CYCLE)]]
        p = self.partner
        self.account = f"{p.account_prefix}-{1_000_000 + (index * 7919 + 104_729) % 9_000_000}"
        self.name = (f"{rng.choice(_PLACES)} {rng.choice(p.trade)} "
                     f"{rng.choice(_SUFFIXES)}")
        self.events: list[Event] = []
        self.cases: dict[str, str] = {}
        self.horizon = horizon
        self.audit_count = 0
        self.case_count = 0
        span = horizon - start
        if rng.random() < 0.3:
            self.registered = start + rng.randrange(min(365, span // 2))
        else:
            self.registered = start + rng.randrange(max(1, span - 900))
        if p.secor_limit is None:
            self.program = "COR"
            small = rng.random() < 0.55
            self.headcount = rng.randint(3, 19) if small else rng.randint(20, 240)
        elif rng.random() < p.secor_share:
            self.program = "SECOR"
            self.headcount = rng.randint(1, p.secor_limit)
        else:
            self.program = "COR"
            self.headcount = rng.randint(p.secor_limit + 1, 320)
        n_cus = 1 if rng.random() < 0.85 else (2 if rng.random() < 0.8 else 3)
        self.cus0 = tuple(sorted(rng.sample(p.classification_units, n_cus)))
        self.wage = rng.randint(38_000, 78_000)
        self._plan_background()

    # --- emission -------------------------------------------------------------------------

    def emit(self, effective: int, type_: str, data: dict[str, Any], by: str | None = None,
             parent: Event | None = None) -> Event | None:
        """Adds an event, unless it falls after the horizon (the world has not got there)."""
        if effective > self.horizon:
            return None
        if effective < self.registered:
            raise AssertionError(f"{self.account}: {type_} before registration")
        rng = self.rng
        roll = rng.random()
        if roll < 0.90:
            days = rng.choice((0, 0, 0, 1, 1, 2, 3))
        elif roll < 0.99:
            days = rng.randint(4, 45)
        else:
            days = rng.randint(60, 400)  # migrated history, learned long after the fact
        delay = days * _MIN_PER_DAY + rng.randint(8 * 60, 18 * 60)
        event = Event(effective, len(self.events), type_, data, by, parent, delay)
        self.events.append(event)
        return event

    def case(self, name: str, when: int) -> None:
        """Notes the first date on which the employer shows a case worth demonstrating."""
        if when <= self.horizon:
            self.cases.setdefault(name, iso(when))

    # --- background plans (drawn first: the certification cycle consults them) -------------

    def _plan_background(self) -> None:
        rng, p = self.rng, self.partner
        reg, horizon = self.registered, self.horizon
        # headcount reports, and the program change of a SECOR employer that outgrows it
        self.headcounts: list[tuple[int, int]] = [(reg, self.headcount)]
        self.program_changes: list[tuple[int, str]] = []
        may_outgrow = rng.random() < 0.12
        h, program = self.headcount, self.program
        for year in range(year_of(reg) + 1, year_of(horizon) + 1):
            if rng.random() >= 0.3:
                continue
            day = ordinal(year, 1, 1) + rng.randrange(365)
            h = max(1, round(h * rng.uniform(0.82, 1.22)) + rng.randint(-1, 2))
            if program == "SECOR" and p.secor_limit is not None and h > p.secor_limit:
                if may_outgrow and not self.program_changes:
                    program = "COR"
                    self.program_changes.append((day + rng.randint(20, 120), "COR"))
                else:
                    h = p.secor_limit - rng.randint(0, 3)
            elif program == "COR" and p.secor_limit is not None:
                h = max(h, p.secor_limit + 1)
            self.headcounts.append((day, max(1, h)))
        # internal auditors: qualified, leave, replaced
        self.auditors: list[tuple[str, int, int | None]] = []
        if self.program == "SECOR" or rng.random() < 0.85:
            day = reg + rng.randint(15, 150)
            used: set[str] = set()
            while day <= horizon:
                name = f"{rng.choice(_GIVEN)}.{rng.choice(_SURNAMES)}"
                if name in used:
                    name = f"{name}{len(used) + 1}"
                used.add(name)
                left = day + int(rng.expovariate(1 / 2600)) + 200
                self.auditors.append((name, day, left if left <= horizon else None))
                if left > horizon or rng.random() < 0.12:
                    break
                day = left + rng.randint(30, 300)
        # classification units added and removed
        self.cu_changes: list[tuple[int, str, str]] = []
        if rng.random() < 0.25:
            spare = [cu for cu in p.classification_units if cu not in self.cus0]
            if spare:
                self.cu_changes.append((reg + rng.randrange(max(1, horizon - reg)),
                                        "ClassificationUnitAdded", rng.choice(spare)))
        if len(self.cus0) > 1 and rng.random() < 0.3:
            self.cu_changes.append((reg + rng.randrange(max(1, horizon - reg)),
                                    "ClassificationUnitRemoved", self.cus0[-1]))
        self.cu_changes.sort()
        # scope changes, incidents, violations, investigations, revocations for cause
        self.scope_changes: list[tuple[int, str, bool | None]] = []
        if rng.random() < 0.05:
            change = rng.choice(("merger", "acquisition", "account_number", "other"))
            required = {"merger": True, "acquisition": True, "account_number": False,
                        "other": None}[change]
            self.scope_changes.append((reg + rng.randint(200, max(201, horizon - reg)),
                                       change, required))
        self.incidents = self._poisson_days(0.06)
        self.violations = self._poisson_days(0.06)
        self.investigations = self._poisson_days(0.05)
        self.revocation_for_cause = (reg + rng.randint(400, max(401, horizon - reg))
                                     if rng.random() < 0.03 else None)

    def _poisson_days(self, per_year: float) -> list[int]:
        """Days of a Poisson process at ``per_year`` over the employer's history."""
        days: list[int] = []
        day = self.registered
        while True:
            day += int(self.rng.expovariate(per_year / 365)) + 1
            if day > self.horizon:
                return days
            days.append(day)

    def headcount_at(self, day: int) -> int:
        """The latest planned headcount effective by ``day``."""
        h = self.headcount
        for when, value in self.headcounts:
            if when > day:
                break
            h = value
        return h

    def program_at(self, day: int) -> str:
        """The program in force on ``day``."""
        program = self.program
        for when, value in self.program_changes:
            if when <= day:
                program = value
        return program

    def auditor_at(self, day: int) -> str | None:
        """The qualified internal auditor on ``day``, if any."""
        for name, joined, left in self.auditors:
            if joined <= day and (left is None or day < left):
                return name
        return None

    def cus_at(self, day: int) -> tuple[str, ...]:
        """The employer's classification units on ``day``."""
        cus = list(self.cus0)
        for when, kind, cu in self.cu_changes:
            if when > day:
                break
            if kind == "ClassificationUnitAdded":
                cus.append(cu)
            elif cu in cus:
                cus.remove(cu)
        return tuple(cus)

    # --- audits ---------------------------------------------------------------------------

    def _scores(self, plan: str) -> tuple[float, dict[str, int], tuple[str, ...]]:
        """Element scores and the reported overall for a planned outcome."""
        rng, elements = self.rng, self.partner.elements
        if plan == "pass":
            base, low, floor = rng.uniform(83, 95), 0, 55
        elif plan == "element_fail":
            base, low, floor = rng.uniform(82, 92), 1, 55
        elif plan == "overall_fail":
            base, low, floor = rng.uniform(71, 78), 0, 50
        elif plan == "weak":
            base, low, floor = rng.uniform(64, 79), 0, 40
        else:
            base, low, floor = rng.uniform(52, 68), 0, 20
        scores = {e: min(100, max(floor, round(base + rng.gauss(0, 5)))) for e in elements}
        if low:
            scores[rng.choice(elements)] = rng.randint(25, 49)
        overall = round(sum(scores.values()) / len(scores), 1)
        if plan == "pass":
            overall = max(overall, 80.5)
        elif plan == "overall_fail":
            overall = min(max(overall, 70.0), 79.5)
        weakest = tuple(sorted(scores, key=lambda e: (scores[e], e))[:2])
        failing = tuple(e for e in elements if scores[e] < 50) or weakest
        return overall, scores, failing

    def _choose_auditor(self, kind: str, day: int, external: bool) -> tuple[str, str] | None:
        """Who audits: (auditor, type), or None where only a missing internal auditor may."""
        rng, p = self.rng, self.partner
        program = self.program_at(day)
        internal = self.auditor_at(day)
        ext = f"ext-{p.name.lower()}-{rng.randint(1, 60):03d}"
        if external:
            return ext, "external"
        if kind in ("certification", "recertification"):
            if p.name == "BCCSA":
                small = self.headcount_at(day) <= 19
                if small and internal and rng.random() < 0.6:
                    return internal, "internal"
                return ext, "external"
            if program == "COR":
                return ext, "external"
            if internal:
                return internal, "internal"
            return (ext, "external") if p.name == "GENERIC" else None
        if internal:
            return internal, "internal"
        return (ext, "external") if program == "COR" or rng.random() < 0.5 else None

    def _audit(self, kind: str, start: int, who: tuple[str, str], plan: str,
               completion_by: int | None = None, submission_by: int | None = None,
               elements_only: tuple[str, ...] | None = None) -> Audit | None:
        """Writes notice, submission and QA decision of one audit; None past the horizon."""
        rng, p = self.rng, self.partner
        self.audit_count += 1
        audit_id = f"A-{year_of(start)}-{self.audit_count}"
        team = kind != "limited_scope" and self.headcount_at(start) >= 60 and rng.random() < 0.3
        if p.notice_always or team or rng.random() < 0.15:
            lead = rng.randint(22, 40) if (team or p.notice_always) else rng.randint(7, 30)
            notice_day = max(self.registered, start - lead)
            self.emit(notice_day, "AuditNoticeFiled",
                      {"audit": audit_id, "planned_start": iso(start), "team": team},
                      by=who[0])
        completed = start + rng.randint(1, 4 if kind == "limited_scope" else 14)
        if completion_by is not None:
            completed = max(start, min(completed, completion_by))
        submitted = completed + rng.randint(1, 28)
        if p.name == "BCCSA":
            submitted = min(submitted, start + 45)  # completed and submitted within 45 days
        if submission_by is not None:
            submitted = max(completed, min(submitted, submission_by))
        overall, scores, low = self._scores(plan)
        if elements_only is not None:
            scores = {e: max(scores[e], rng.randint(60, 88)) for e in elements_only}
            overall = max(overall, round(rng.uniform(80.5, 88), 1))
        data: dict[str, Any] = {
            "audit": audit_id, "kind": kind, "auditor": who[0], "auditor_type": who[1],
            "started": iso(start), "completed": iso(completed), "overall": overall,
            "elements": scores, "student": False,
        }
        if rng.random() < 0.8:
            data["employees_at_audit"] = self.headcount_at(start)
        cus = self.cus_at(start)
        if len(cus) > 1 and rng.random() < 0.5:
            data["classification_units"] = list(cus)
        submission = self.emit(submitted, "AuditSubmitted", data, by=who[0])
        qa = submitted + rng.randint(4, 40)
        accepted = rng.random() >= 0.07
        decision: dict[str, Any] = {"audit": audit_id,
                                    "outcome": "accepted" if accepted else "rejected"}
        if not accepted:
            decision["reasons"] = sorted(rng.sample(_REJECTIONS, rng.randint(1, 2)))
            self.case("qa_rejected", qa)
        self.emit(qa, "QADecided", decision, by=f"qa@{p.name.lower()}", parent=submission)
        if submission is None:
            return None
        passed = plan == "pass" or (plan == "weak" and kind == "maintenance"
                                    and p.name == "AMHSA")
        if elements_only is not None:
            passed = True
        if qa > self.horizon:
            self.case("qa_pending_at_horizon", submitted)
        return Audit(audit_id, kind, who[0], who[1], start, completed, submitted, qa, accepted,
                     passed, low, submission)

    def _student_audit(self, start: int) -> None:
        """A BCCSA student audit: stored, QA'd, and never counted (the rule says so)."""
        internal = self.auditor_at(start) or "student-auditor"
        self.audit_count += 1
        audit_id = f"A-{year_of(start)}-{self.audit_count}"
        overall, scores, _ = self._scores("pass")
        completed = start + self.rng.randint(2, 10)
        sub = self.emit(completed + self.rng.randint(2, 20), "AuditSubmitted",
                        {"audit": audit_id, "kind": "certification", "auditor": internal,
                         "auditor_type": "internal", "started": iso(start),
                         "completed": iso(completed), "overall": overall, "elements": scores,
                         "student": True}, by=internal)
        if sub is not None:
            self.emit(sub.effective + self.rng.randint(5, 30), "QADecided",
                      {"audit": audit_id, "outcome": "accepted"}, by="qa@bccsa", parent=sub)
            self.case("student_audit", sub.effective)

    def _certify(self, start: int, kind: str, external: bool,
                 submission_by: int | None = None) -> Certificate | None:
        """Audits until a certificate is issued; None when the employer runs out of tries."""
        rng, p = self.rng, self.partner
        if kind == "certification" and p.name == "BCCSA" and rng.random() < 0.04:
            self._student_audit(start)
            start += rng.randint(60, 150)
        for _attempt in range(4):
            if start > self.horizon:
                return None
            if submission_by is not None and start > submission_by - 12:
                return None
            if self._hazards(start, certified=submission_by is not None):
                return None
            who = self._choose_auditor(kind, start, external)
            if who is None:  # a SECOR employer without its internal auditor waits for one
                start += rng.randint(60, 200)
                continue
            roll = rng.random()
            if roll < 0.80:
                plan = "pass"
            elif p.limited_scope and roll < 0.86:
                plan = "element_fail"
            elif p.limited_scope and roll < 0.91:
                plan = "overall_fail"
            else:
                plan = "fail"
            audit = self._audit(kind, start, who, plan, submission_by=submission_by)
            if audit is None:
                return None
            self._last_qa = audit.qa
            if not audit.accepted:
                start = audit.qa + rng.randint(14, 60)
                continue
            if audit.passed:
                return self._issue(audit, audit, kind)
            if plan in ("element_fail", "overall_fail"):
                self.case("limited_scope_window_open", audit.qa)
                window_end = audit.completed + 90
                ls_start = min(audit.qa + rng.randint(5, 40), window_end - 6)
                if rng.random() < 0.85 and ls_start > audit.qa:
                    who = (audit.auditor, audit.auditor_type)
                    if who[1] == "internal" and self.auditor_at(ls_start) != who[0]:
                        who = (f"ext-{p.name.lower()}-{rng.randint(1, 60):03d}", "external")
                    ls = self._audit("limited_scope", ls_start, who, "pass",
                                     completion_by=window_end, elements_only=audit.low_elements)
                    if ls is None:
                        return None
                    if ls.accepted:
                        self.case("limited_scope_passed", ls.qa)
                        return self._issue(ls, audit, kind)
                else:
                    self.case("limited_scope_window_missed", window_end + 1)
                start = window_end + rng.randint(30, 120)
            else:
                self.case("failed_audit", audit.qa)
                start = audit.qa + (rng.randint(10, 40) if submission_by else
                                    rng.randint(45, 200))
        return None

    def _issue(self, decisive: Audit, original: Audit, kind: str) -> Certificate:
        """A certificate issued on the QA acceptance of the decisive audit."""
        return Certificate(decisive.qa, kind, original.submitted, self.cus_at(original.started),
                           decisive.completed)

    # --- hazards: incidents, reviews, revocations for cause -----------------------------------

    def _hazards(self, until: int, certified: bool) -> bool:
        """Writes incidents and revocations before ``until``; True when revoked."""
        rng, p = self.rng, self.partner
        while self.incidents and self.incidents[0] < until:
            day = self.incidents.pop(0)
            fatality = rng.random() < 0.1
            report = self.emit(day, "SeriousIncidentReported",
                               {"fatality": fatality, "description": rng.choice(p.incidents)},
                               by=f"prevention@{p.name.lower()}")
            close = day + rng.randint(20, 160)
            revoke = certified and close < until and rng.random() < (0.5 if fatality else 0.15)
            self.case("under_review", day)
            self.emit(close, "ReviewClosed",
                      {"outcome": "revoked" if revoke else "certificate_stands"},
                      by=f"qa@{p.name.lower()}", parent=report)
            if revoke:
                self.emit(close, "CertificationRevoked",
                          {"authority": p.name, "reason": "serious incident review"},
                          by=f"qa@{p.name.lower()}", parent=report)
                self._revoked_on = close
                return True
        cause = self.revocation_for_cause
        if cause is not None and cause < until:
            self.revocation_for_cause = None
            if certified:
                self.emit(cause, "CertificationRevoked",
                          {"authority": p.name, "reason": rng.choice(_REVOCATION_REASONS)},
                          by=f"qa@{p.name.lower()}")
                self._revoked_on = cause
                return True
        return False

    # --- the certification cycle ------------------------------------------------------------

    def _maintenance_due(self, cert: Certificate, k: int, last_completed: int
                         ) -> tuple[int, int, int]:
        """(planned start, completion due, submission due incl. grace) of maintenance k."""
        rng, rule = self.rng, self.partner.maintenance
        if rule == "anniversary":
            due = add_years(cert.issued, k)
            return due - rng.randint(25, 100), due, due
        if rule == "calendar":
            due = ordinal(year_of(cert.issued) + k, 12, 31)
            return due - rng.randint(12, 130), due, due + 45
        due = add_years(last_completed, 1)
        return due - rng.randint(15, 90), due, due

    def run(self) -> None:
        """The certification cycle, then the incidents it did not reach."""
        self._cycle()
        self._hazards(self.horizon + 1, certified=False)

    def _cycle(self) -> None:
        """Registration, then certification, maintenance and renewal until the horizon."""
        rng = self.rng
        self.certificates: list[Certificate] = []
        self._revoked_on = 0
        self._last_qa = 0
        self.emit(self.registered, "EmployerRegistered", {
            "name": self.name, "partner": self.partner.name, "program": self.program,
            "classification_units": list(self.cus0), "headcount": self.headcount,
        }, by=f"registry@{self.partner.name.lower()}")
        start = self.registered + rng.randint(60, 420)
        external = False
        while start <= self.horizon:
            cert = self._certify(start, "certification", external)
            if cert is None:
                start += rng.randint(200, 500)
                continue
            external = False
            while cert is not None:
                self.certificates.append(cert)
                self.case("certified", cert.issued)
                nxt, end_reason, end_day = self._hold(cert)
                if end_reason is None:
                    return  # the horizon came first
                cert.ended, cert.end_reason = end_day, end_reason
                self.case(end_reason, end_day)
                cert = nxt
            if end_reason == "revoked":
                external = True  # after a revocation: an external certification audit
            if end_reason in ("expired", "cancelled") and rng.random() < 0.45:
                self.horizon = min(self.horizon, end_day + rng.randint(30, 200))
                self.case("left_the_program", end_day)
                return
            start = end_day + rng.randint(30, 400)

    def _hold(self, cert: Certificate) -> tuple[Certificate | None, str | None, int]:
        """Keeps a certificate through its maintenance audits and renewal.

        Returns (the renewed certificate or None, why this one ended, the day it ended);
        a None reason means the horizon came first.
        """
        rng, p = self.rng, self.partner
        expires = add_years(cert.issued, 3)
        last_completed = cert.completed
        self._revoked_on = 0
        for k in (1, 2):
            start, due, submission_due = self._maintenance_due(cert, k, last_completed)
            start = max(start, cert.issued + 30)
            if start > self.horizon:
                return None, None, 0
            if self._hazards(start, certified=True):
                return None, "revoked", self._revoked_on
            for day, _change, required in self.scope_changes:
                if required and cert.issued < day < start:
                    self.case("scope_change", day)
                    nxt = self._certify(day + rng.randint(60, 150), "certification", False)
                    return nxt, "replaced", nxt.issued if nxt else day
            lapse_day = submission_due + 1
            if rng.random() < 0.05:
                if lapse_day > self.horizon:
                    return None, None, 0
                self.case("missed_maintenance", lapse_day)
                return None, "cancelled", lapse_day
            done = False
            rejected_on = 0
            for _try in range(2):
                who = self._choose_auditor("maintenance", start, False)
                if who is None:
                    self.case("no_internal_auditor", start)
                    break
                late = rng.random() < 0.03
                plan = "pass" if rng.random() < 0.93 else (
                    "weak" if p.name == "AMHSA" else "fail")
                audit = self._audit("maintenance", start, who, plan, completion_by=due,
                                    submission_by=None if late else submission_due)
                if audit is None:
                    return None, None, 0
                if audit.submitted > due and audit.submitted <= submission_due:
                    self.case("in_grace", due + 1)
                if audit.submitted > submission_due:
                    self.case("late_maintenance", audit.submitted)
                    break
                if audit.accepted and audit.passed:
                    last_completed = audit.completed
                    done = True
                    break
                if not audit.accepted:
                    rejected_on = audit.qa  # a rejection after the due date cancels from then
                start = audit.qa + rng.randint(5, 20)
                if start > due - 5:
                    break
            if not done:
                lapse_day = max(lapse_day, rejected_on)
                if lapse_day > self.horizon:
                    return None, None, 0
                return None, "cancelled", lapse_day
        # renewal
        if rng.random() < 0.12:
            return None, "expired", expires + 1
        start = max(last_completed + 60, expires - rng.randint(50, 180))
        renewed = self._certify(start, "recertification", False, submission_by=expires)
        if renewed is None:
            if self._revoked_on and self._revoked_on > cert.issued:
                return None, "revoked", self._revoked_on
            # an on-time renewal still in QA keeps the certificate until QA decides
            ended = max(expires + 1, self._last_qa) if self._last_qa > start else expires + 1
            if ended > self.horizon:
                return None, None, 0
            return None, "expired", ended
        if renewed.issued > expires:
            self.case("renewed_in_qa_after_expiry", expires)
            renewed.issued = expires
        return renewed, "renewed", renewed.issued

    # --- everything else, written once the cycle has fixed the horizon ------------------------

    def write_background(self) -> None:
        """Headcounts, auditors, scope, enforcement, payroll, premiums and incentives."""
        rng, p = self.rng, self.partner
        by_registry = f"registry@{p.name.lower()}"
        for day, h in self.headcounts[1:]:
            if rng.random() < 0.03:  # a typo, voided and corrected
                wrong = self.emit(day, "HeadcountReported", {"headcount": h * 10},
                                  by=by_registry)
                fix = day + rng.randint(1, 20)
                self.emit(fix, "HeadcountReported", {"headcount": h}, by=by_registry)
                if wrong is not None:
                    self.emit(fix, "EventVoided", {"target": None,
                              "reason": "headcount keyed with an extra digit"},
                              by=by_registry, parent=wrong)
                    self.case("voided_headcount", fix)
            else:
                self.emit(day, "HeadcountReported", {"headcount": h}, by=by_registry)
        for day, program in self.program_changes:
            self.emit(day, "ProgramChanged", {"program": program, "reason": _PROGRAM_REASON},
                      by=by_registry)
            self.case("program_changed", day)
        for name, joined, left in self.auditors:
            self.emit(joined, "InternalAuditorQualified", {"auditor": name}, by=by_registry)
            if left is not None:
                self.emit(left, "InternalAuditorLeft", {"auditor": name}, by=by_registry)
        for day, kind, cu in self.cu_changes:
            self.emit(day, kind, {"cu": cu}, by=by_registry)
        for day, change, required in self.scope_changes:
            data: dict[str, Any] = {"change": change}
            if change == "other":
                data["detail"] = "new operating name, partner decision pending"
            data["certification_audit_required"] = required
            self.emit(day, "ScopeChanged", data, by=by_registry)
        penalties: set[int] = set()
        for day in self.violations:
            kind, penalty = rng.choice(_VIOLATIONS)
            self.emit(day, "ViolationRecorded", {"kind": kind, "penalty": penalty},
                      by="enforcement")
            if penalty:
                penalties.add(year_of(day))
        open_cases: list[tuple[int, int]] = []
        for day in self.investigations:
            self.case_count += 1
            case_id = f"C-{year_of(day)}-{self.case_count}"
            opened = self.emit(day, "InvestigationOpened", {"case": case_id},
                               by="enforcement")
            closed = day + rng.randint(40, 300)
            self.emit(closed, "InvestigationClosed", {"case": case_id}, by="enforcement",
                      parent=opened)
            open_cases.append((day, closed))
            if closed > self.horizon:
                self.case("investigation_open_at_horizon", day)
        if p.reports_payroll:
            self._write_money(penalties, open_cases)

    def _write_money(self, penalties: set[int], open_cases: list[tuple[int, int]]) -> None:
        """Yearly payroll and premiums per CU; the WorkSafeBC incentive where earned."""
        rng, p = self.rng, self.partner
        last_year = year_of(self.horizon) - 1
        for year in range(year_of(self.registered), last_year + 1):
            year_start, year_end = ordinal(year, 1, 1), ordinal(year, 12, 31)
            deadline = end_of_february(year + 1)
            cus = self.cus_at(year_end)
            weights = [1.0 + 0.5 * i for i in range(len(cus))][::-1]
            total_pay = (self.headcount_at(year_start + 182) * self.wage
                         * (1.025 ** (year - 2014)))
            from_day = max(year_start, self.registered)
            share_of_year = (year_end - from_day + 1) / (year_end - year_start + 1)
            on_time = rng.random() >= 0.05
            reported = (deadline - rng.randint(0, 50) if on_time
                        else deadline + rng.randint(1, 75))
            if reported > self.horizon:
                break
            if not on_time:
                self.case("payroll_late", reported)
            by_cu: list[tuple[str, int, int]] = []
            for cu, weight in zip(cus, weights, strict=True):
                payroll = round(total_pay * share_of_year * weight / sum(weights)
                                * rng.uniform(0.93, 1.07) * 100)
                payroll = max(payroll, 500_000)
                rate = self.rates.get((cu, year), 0)
                premium = payroll * rate // 10_000
                data = {"year": year, "cu": cu, "assessable_payroll": money(payroll),
                        "deadline": iso(deadline)}
                if rng.random() < 0.02:  # reported wrongly once, voided and re-reported
                    bad = dict(data, assessable_payroll=money(payroll // 2))
                    wrong = self.emit(reported, "PayrollReported", bad, by="payroll")
                    fix = reported + rng.randint(1, 10)
                    self.emit(fix, "PayrollReported", data, by="payroll")
                    self.emit(fix, "EventVoided", {"target": None,
                              "reason": "payroll reported without the second half-year"},
                              by="payroll", parent=wrong)
                    self.case("voided_payroll", fix)
                else:
                    self.emit(reported, "PayrollReported", data, by="payroll")
                paid = round(premium * rng.uniform(0.88, 1.15))
                self.emit(reported + rng.randint(0, 40), "PremiumPaid",
                          {"year": year, "cu": cu, "amount": money(paid)}, by="payroll")
                by_cu.append((cu, payroll, paid))
            if p.pays_incentive and on_time and year not in penalties:
                self._pay_incentive(year, by_cu, open_cases)

    def _pay_incentive(self, year: int, by_cu: list[tuple[str, int, int]],
                       open_cases: list[tuple[int, int]]) -> None:
        """IncentivePaid in Y+1 when the simulation held a valid certificate for all of Y."""
        year_start, year_end = ordinal(year, 1, 1), ordinal(year, 12, 31)
        holding = None
        for cert in self.certificates:
            if cert.end_reason in ("cancelled", "revoked") and cert.ended is not None \
                    and year_start <= cert.ended <= year_end:
                return
            if cert.issued <= year_end and (cert.ended is None or cert.ended > year_end):
                holding = cert
        if holding is None:
            return
        if holding.kind == "certification" and year_of(holding.issued) == year \
                and holding.submitted > ordinal(year, 11, 30):
            return
        formula = Decimal(0)
        premiums = 0
        for cu, payroll, paid in by_cu:
            if cu in holding.scope:
                rate = self.rates.get((cu, year), 0)
                formula += Decimal(payroll) * rate / 10_000 / 100 / 10  # dollars
                premiums += paid
        if not premiums:
            return
        floor = min(Decimal(1000), Decimal(premiums) * 3 / 4 / 100)
        amount = cents_half_up(max(formula, floor))
        pay_day = ordinal(year + 1, 6, 1) + self.rng.randrange(150)
        for opened, closed in open_cases:
            if opened <= pay_day < closed:
                pay_day = closed + self.rng.randint(20, 60)
                self.case("incentive_deferred", opened)
        if self.emit(pay_day, "IncentivePaid", {"year": year, "amount": money(amount)},
                     by="worksafebc") is not None:
            self.case("incentive_paid", ordinal(year, 12, 31))

    # --- output ----------------------------------------------------------------------------

    def finish(self) -> list[Event]:
        """Orders the events, gives them ids and recording times, resolves void targets."""
        events = [e for e in self.events if e.effective <= self.horizon]
        events.sort(key=lambda e: (e.effective, e.seq))
        kept: list[Event] = []
        n = 0
        for event in events:
            recorded = event.effective * _MIN_PER_DAY + event.delay
            parent = event.parent
            if parent is not None:
                if not parent.id:  # the parent fell past the horizon
                    if event.type == "EventVoided":
                        continue
                else:
                    recorded = max(recorded, parent.recorded + 1 + event.delay % 240)
            recorded = min(recorded, _LAST_RECORDED)
            if event.type == "EventVoided":
                if parent is None or recorded <= parent.recorded:
                    continue
                event.data["target"] = parent.id
            n += 1
            event.id = f"gen-{self.account}-{n}"
            event.recorded = recorded
            kept.append(event)
        return kept


def generate_employer(index: int, seed: int, start: int, horizon: int,
                      rates: dict[tuple[str, int], int]) -> EmployerHistory:
    """Simulates employer ``index`` of the ledger generated with ``seed``."""
    history = EmployerHistory(index, seed, start, horizon, rates)
    history.run()
    history.write_background()
    return history


# --- the reference data ------------------------------------------------------------------------


def base_rates(seed: int, years: range) -> dict[tuple[str, int], int]:
    """Base rates in cents per $100 of payroll, for every partner CU and year (seeded)."""
    rng = random.Random(f"corledger-generate:{seed}:rates")
    rates: dict[tuple[str, int], int] = {}
    for profile in PARTNER_PROFILES.values():
        for cu in profile.classification_units:
            rate = rng.randint(*profile.base_rate_range)
            for year in years:
                rates[(cu, year)] = rate
                rate = max(20, round(rate * rng.uniform(0.94, 1.06)))
    return rates


def rate_lines(rates: dict[tuple[str, int], int]) -> Iterator[bytes]:
    """``BaseRateSet`` events (no employer), each effective and recorded on Jan 1."""
    jurisdiction = {cu: p.jurisdiction for p in PARTNER_PROFILES.values()
                    for cu in p.classification_units}
    for (cu, year), rate in rates.items():
        day = ordinal(year, 1, 1)
        yield orjson.dumps({
            "id": f"rate-{jurisdiction[cu]}-{cu}-{year}", "type": "BaseRateSet",
            "effective": iso(day), "recorded_at": recorded_text(day * _MIN_PER_DAY),
            "by": "rates", "data": {"jurisdiction": jurisdiction[cu], "cu": cu,
                                    "year": year, "base_rate": money(rate)},
        }) + b"\n"


def event_line(event: Event, employer: str) -> bytes:
    """One event as an INTERCHANGE JSONL line."""
    return orjson.dumps({
        "id": event.id, "type": event.type, "employer": employer,
        "effective": iso(event.effective), "recorded_at": recorded_text(event.recorded),
        "by": event.by, "data": event.data,
    }) + b"\n"


# --- the whole ledger ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerSpec:
    """What to generate: how many employers, which seed, which years."""

    employers: int
    seed: int = 1
    start_year: int = 2014
    years: int = 10

    @property
    def start(self) -> int:
        """The first day of the first year."""
        return ordinal(self.start_year, 1, 1)

    @property
    def horizon(self) -> int:
        """The last effective date: the end of March after the last year (for its payroll)."""
        return min(ordinal(self.start_year + self.years, 3, 31), _LAST_EFFECTIVE)


def histories(spec: LedgerSpec) -> Iterator[EmployerHistory]:
    """The employers' simulated histories, one at a time."""
    rates = base_rates(spec.seed, range(spec.start_year, spec.start_year + spec.years))
    for index in range(spec.employers):
        yield generate_employer(index, spec.seed, spec.start, spec.horizon, rates)


def ledger_lines(spec: LedgerSpec, interleave: int = 0,
                 progress: IO[str] | None = None) -> Iterator[bytes]:
    """The whole ledger as JSONL lines: reference data, then the employers (streaming).

    With ``interleave`` > 1, each block of that many employers is written merged by
    effective date (registration still first for each employer); memory grows with the
    block, never with the file.
    """
    if spec.start_year + spec.years > REFERENCE.year + 1 or spec.years < 1:
        raise ValueError(f"years must end by {REFERENCE.year}")
    rates = base_rates(spec.seed, range(spec.start_year, spec.start_year + spec.years))
    yield from rate_lines(rates)
    block: list[tuple[int, int, int, bytes]] = []
    began = time.monotonic()
    for index in range(spec.employers):
        history = generate_employer(index, spec.seed, spec.start, spec.horizon, rates)
        events = history.finish()
        if interleave > 1:
            block.extend((e.effective, index, e.seq, event_line(e, history.account))
                         for e in events)
            if len(block) and (index + 1) % interleave == 0:
                block.sort()
                yield from (line for *_, line in block)
                block.clear()
        else:
            for event in events:
                yield event_line(event, history.account)
        if progress is not None and (index + 1) % 1000 == 0:
            rate = (index + 1) / max(1e-9, time.monotonic() - began)
            progress.write(f"\r{index + 1}/{spec.employers} employers ({rate:,.0f}/s)")
            progress.flush()
    if block:
        block.sort()
        yield from (line for *_, line in block)
    if progress is not None:
        progress.write("\n")


def case_lines(spec: LedgerSpec) -> Iterator[bytes]:
    """Per employer: partner, program and the cases it shows, with the first date of each."""
    for history in histories(spec):
        history.finish()
        yield orjson.dumps({"employer": history.account, "partner": history.partner.name,
                            "program": history.program, "cases": history.cases}) + b"\n"


def write(lines: Iterable[bytes], out: IO[bytes]) -> tuple[int, int]:
    """Writes lines in large chunks; returns (lines, bytes)."""
    count = size = 0
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == 4096:
            data = b"".join(chunk)
            out.write(data)
            count, size = count + len(chunk), size + len(data)
            chunk.clear()
    data = b"".join(chunk)
    out.write(data)
    return count + len(chunk), size + len(data)


def main(argv: list[str] | None = None) -> int:
    """The command line: parse, then stream the ledger (or the case list) to --out."""
    parser = argparse.ArgumentParser(
        prog="scripts/generate.py",
        description="Write a deterministic synthetic corledger ledger as INTERCHANGE JSONL.")
    parser.add_argument("--employers", type=int, required=True, help="how many employers")
    parser.add_argument("--seed", type=int, default=1, help="the seed (default 1)")
    parser.add_argument("--out", default="-", help="output file, - for stdout (default)")
    parser.add_argument("--start-year", type=int, default=2014, help="first year (2014)")
    parser.add_argument("--years", type=int, default=10, help="years of history (10)")
    parser.add_argument("--interleave", type=int, default=0, metavar="K",
                        help="merge each block of K employers by effective date "
                             "(default: employers one after another)")
    parser.add_argument("--cases", action="store_true",
                        help="instead of events, one line per employer naming the cases it "
                             "shows (certified, cancelled, in_grace...) and their first dates")
    args = parser.parse_args(argv)
    if args.employers < 0:
        parser.error("--employers must be >= 0")
    spec = LedgerSpec(args.employers, args.seed, args.start_year, args.years)
    if spec.start_year + spec.years > REFERENCE.year + 1 or spec.years < 1:
        parser.error(f"the history must end by {REFERENCE.year}")
    progress = sys.stderr if sys.stderr.isatty() else None
    lines = case_lines(spec) if args.cases else ledger_lines(spec, args.interleave, progress)
    if args.out == "-":
        write(lines, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        with open(args.out, "wb") as out:
            write(lines, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
