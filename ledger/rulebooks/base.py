"""Rules as data: a versioned :class:`Rule` record, the :class:`Rulebook` in force on a date,
and the registry that looks rulebooks up by partner and date.

A rule's public id is ``{PARTNER}-{YYYY}.{name}`` (for example ``BCCSA-2000.pass-mark``): the
year is that of the version's ``since`` date, so one rule has at most one version a year.
``rulebook_for(partner, on)`` picks, for every rule name, the latest version in force on
``on``; replaying a past date therefore uses the rules in force then. For dates before a
rule's first version the first version applies (the ledger knows no older rules).

The small pure functions here read the rules' parameters; the partner modules hold the data.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

# The v1 rulebooks' version date: the sources give no earlier version, so v1 governs all the
# history the ledger holds (see base docstring: earlier dates fall back to the first version).
V1 = date(2000, 1, 1)

EITHER, INTERNAL, EXTERNAL = "either", "internal", "external"


@dataclass(frozen=True)
class Rule:
    """One version of one rule of a partner's rulebook: what it says, its data, its source."""

    partner: str
    name: str
    since: date
    source: str
    says: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def id(self) -> str:
        """The public, versioned id used in outputs, e.g. ``BCCSA-2000.pass-mark``."""
        return f"{self.partner}-{self.since.year}.{self.name}"

    @property
    def key(self) -> str:
        """The unversioned id, e.g. ``BCCSA.pass-mark``."""
        return f"{self.partner}.{self.name}"

    def __getitem__(self, param: str) -> Any:
        return self.params[param]


# --- date arithmetic the rules share -------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same date ``years`` later; Feb 29 becomes Feb 28 (DOMAIN "Counting days")."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def add_days(day: date, days: int) -> date:
    """``day`` plus ``days`` calendar days ("within N days of D" means on or before this)."""
    return day + timedelta(days=days)


def year_end(year: int) -> date:
    return date(year, 12, 31)


# --- the rulebook -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassResult:
    """The pass-mark verdict on a set of scores, with the sentence ``because`` shows."""

    passes: bool
    says: str
    limited_scope: bool = False  # failed, but a limited-scope re-audit may repair it


@dataclass(frozen=True)
class Rulebook:
    """The rules of one partner in force on one date, with the functions that read them."""

    partner: str
    on: date
    rules: Mapping[str, Rule]

    def rule(self, name: str) -> Rule:
        try:
            return self.rules[name]
        except KeyError:
            raise KeyError(f"{self.partner} has no rule {name!r} in force on {self.on}") from None

    def has(self, name: str) -> bool:
        return name in self.rules

    # programs and size ------------------------------------------------------------------

    def size_class(self, headcount: int | None) -> str | None:
        """``small``/``large`` where the partner splits COR by size (BCCSA), else None."""
        rule = self.rule("programs")
        small_max = rule.params.get("small_max")
        if small_max is None or headcount is None:
            return None
        return "small" if headcount <= small_max else "large"

    def program_limit(self, program: str) -> int | None:
        """The largest headcount the program allows, or None when it has no upper limit."""
        return self.rule("programs").params.get("limits", {}).get(program)

    def limit_applies_all_year(self) -> bool:
        """AMHSA: the limit holds "at every point in the year", so any report in it counts."""
        return bool(self.rule("programs").params.get("all_year", False))

    # auditors ---------------------------------------------------------------------------------

    def auditor_required(
        self, kind: str, program: str, size_class: str | None, after_revocation: bool
    ) -> tuple[str, Rule]:
        """Which auditor type (internal/external/either) the audit ``kind`` needs, and why."""
        if kind in ("certification", "recertification") and after_revocation:
            rule = self.rule("revocation")
            return rule["next_auditor"], rule
        name = "maintenance-auditor" if kind == "maintenance" else "certification-auditor"
        rule = self.rule(name)
        by = rule.params
        if size_class is None and "large" in by:
            size_class = "large"  # unknown size: the stricter rule (see programs rule)
        for key in (size_class, program, "*"):
            if key is not None and key in by:
                return by[key], rule
        return EITHER, rule

    def internal_auditor_expected(self, kind: str, program: str) -> bool:
        """Whether the partner expects the employer's own internal auditor for ``kind``
        (raises no_internal_auditor when none is qualified), even where one may stand in."""
        name = "maintenance-auditor" if kind == "maintenance" else "certification-auditor"
        return self.rule(name).params.get("expected", {}).get(program) == INTERNAL

    # scores ---------------------------------------------------------------------------------------

    def judge_scores(
        self, kind: str, overall: Decimal, elements: Mapping[str, Decimal]
    ) -> tuple[PassResult, Rule]:
        """The pass-mark verdict for an audit of ``kind``; limited scope where allowed."""
        rule = self.rule("pass-mark")
        if kind in rule.params.get("need_not_pass", ()):
            return PassResult(True, f"a {kind} audit need not pass, only be QA-accepted"), rule
        mark = Decimal(rule["overall"])
        element_min = rule.params.get("element_min")
        low = sorted(n for n, s in elements.items()
                     if element_min is not None and s < Decimal(element_min))
        overall_ok = overall >= mark
        if overall_ok and not low:
            tail = f", every element at least {element_min}%" if element_min is not None else ""
            return PassResult(True, f"{_pct(overall)}% overall{tail}: pass"), rule
        why = [] if overall_ok else [f"{_pct(overall)}% overall is below {mark}%"]
        if low:
            why.append(f"{', '.join(low)} below {element_min}%")
        limited = False
        if self.has("limited-scope"):
            floor = Decimal(self.rule("limited-scope")["overall_min"])
            limited = overall >= floor
        return PassResult(False, "; ".join(why) + ": fail", limited), rule

    def limited_scope_window_end(self, completed: date) -> tuple[date, Rule] | None:
        """The last day a limited-scope re-audit may be completed, if the partner has them."""
        if not self.has("limited-scope"):
            return None
        rule = self.rule("limited-scope")
        return add_days(completed, int(rule["window_days"])), rule

    def student_audit_counts_as(self) -> tuple[str | None, Rule]:
        """The audit kind a student audit counts as (GO2HR: certification), or None."""
        rule = self.rule("student-audit")
        return rule.params.get("counts_as"), rule

    def submission_deadline(self, started: date) -> tuple[date, Rule] | None:
        """BCCSA: an audit is completed and submitted within N days of its start."""
        if not self.has("audit-timeframe"):
            return None
        rule = self.rule("audit-timeframe")
        return add_days(started, int(rule["days"])), rule

    # the cycle ---------------------------------------------------------------------------

    def expires(self, issued: date) -> date:
        return add_years(issued, int(self.rule("validity")["years"]))

    def maintenance_due(
        self, issued: date, number: int, last_completed: date | None
    ) -> MaintenanceDue:
        """When maintenance audit ``number`` (1 or 2) of a certificate issued on ``issued``
        falls due, the window it must fall in, and the grace for its submission."""
        rule = self.rule("maintenance-due")
        basis = rule["basis"]
        grace = int(rule.params.get("grace_days", 0))
        if basis == "anniversary":
            due = add_years(issued, number)
            start = add_years(issued, number - 1)
            return MaintenanceDue(due, add_days(due, grace), start, "submitted", rule,
                                  start_inclusive=False)
        if basis == "calendar-year":
            year = issued.year + number
            due = year_end(year)
            return MaintenanceDue(due, add_days(due, grace), date(year, 1, 1), "completed", rule)
        if basis == "last-audit-completion":
            last = last_completed or issued
            due = add_years(last, 1)
            return MaintenanceDue(due, add_days(due, grace), last, "completed", rule,
                                  start_inclusive=False)
        raise ValueError(f"unknown maintenance-due basis {basis!r}")


@dataclass(frozen=True)
class MaintenanceDue:
    """A maintenance requirement's dates: ``due`` (without grace), the grace end, and the
    window the audit's ``measured_on`` date (submitted or completed) must fall in."""

    due: date
    grace_end: date
    window_start: date
    measured_on: str
    rule: Rule
    start_inclusive: bool = True


def _pct(value: Decimal) -> str:
    """A score as people write it: 85, 86.5 (no trailing zeros, no exponent)."""
    return format(Decimal(value).normalize(), "f")


def cycle_rules(partner: str, since: date = V1) -> list[Rule]:
    """The rules DOMAIN.md's "The cycle" gives every partner, under ``partner``'s name."""
    dom = "DOMAIN.md (The cycle)"
    return [
        Rule(partner, "validity", since, "000_b3d96182a0622eb7.txt",
             "a certificate is issued on the QA acceptance date and is valid 3 years",
             {"years": 3}),
        Rule(partner, "recertification-due", since, "000_b3d96182a0622eb7.txt",
             "a recertification audit must be submitted by the certificate's expiry date; "
             "otherwise it is expired from the day after (no grace: the grace the sources "
             "give is for maintenance submissions only)"),
        Rule(partner, "renewal-continuity", since, dom,
             "a renewal accepted after the old expiry, for an audit submitted on time, is "
             "issued on the old expiry date so the cycle stays continuous"),
        Rule(partner, "qa", since, "004_57bb53264669f1f0.txt",
             "an audit counts only once the partner's QA accepts it; one submitted on time "
             "and still in QA at the due date keeps the certificate (qa_pending); a rejection "
             "after the due date ends it from the rejection date"),
        Rule(partner, "missed-audit", since, "000_b3d96182a0622eb7.txt",
             "a maintenance audit not submitted by its due date (and grace) cancels the "
             "certificate the day after; the next audit is a certification audit"),
        Rule(partner, "revocation", since, "003_9119c7477a17270a.txt",
             "a revocation ends the certificate at once; the next certification audit must "
             "be by an external auditor", {"next_auditor": EXTERNAL}),
        Rule(partner, "review", since, "003_9119c7477a17270a.txt",
             "a serious incident or fatality opens a review of the certificate until it "
             "closes (flag under_review)"),
        Rule(partner, "scope-change", since, "004_57bb53264669f1f0.txt",
             "a change of scope needs the partner's decision on a certification audit "
             "(flag scope_change_pending until decided); when one is required it replaces "
             "the next audit, due by that audit's due date (the sources give no other "
             "deadline), and a pass issues a new certificate"),
        Rule(partner, "internal-auditor", since, "004_57bb53264669f1f0.txt",
             "an internal audit counts only when its auditor is a qualified internal auditor "
             "of the employer when the audit started (InternalAuditorQualified not followed "
             "by InternalAuditorLeft by the start date; decided: one who leaves mid-audit "
             "has conducted it qualified)"),
        Rule(partner, "audit-kinds", since, "DOMAIN.md (Words)",
             "certification and recertification audits are interchangeable as the audit "
             "that issues a certificate: the kind the sender gives is a label, the ledger's "
             "state decides which audit is due"),
        Rule(partner, "size-class-basis", since, "DOMAIN.md (Precise rules)",
             "open question decided: size class and program limit follow the latest "
             "headcount effective by the as-of date, not the 12-month average (normal "
             "operating mode). Reason: NOM (seed 004) governs when an audit may be held and "
             "its interview sample, not the program; employees_at_audit is kept but does "
             "not reclassify the employer"),
        Rule(partner, "secor-growth", since, "DOMAIN.md (Precise rules)",
             "open question decided: a SECOR employer that grows past its limit mid-cycle "
             "keeps its certificate, cycle and SECOR audit requirements until a "
             "ProgramChanged event; it gets flag headcount_exceeds_program and the lapse "
             "reason of the same name. Reason: the program stands until ProgramChanged "
             "(Precise rules); no source cancels a certificate for growth, they ask the "
             "employer to notify the partner and plan the transition (seeds 001, 004)"),
        Rule(partner, "lapse-risk", since, "DOMAIN.md (Lapse risk)",
             "an employer is at lapse risk when its next required audit falls due within "
             "the window asked for: critical within 30 days (or in grace, or held past its "
             "due date by QA), warning within 60, notice later; missed when the due date "
             "passed within the window and the certificate lapsed",
             {"critical_days": 30, "warning_days": 60}),
    ]


# --- the registry -----------------------------------------------------------------------------


class RuleRegistry:
    """Every version of every rule, by partner; answers which rules are in force on a date."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: dict[str, dict[str, list[Rule]]] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> None:
        versions = self._rules.setdefault(rule.partner, {}).setdefault(rule.name, [])
        if any(v.since.year == rule.since.year for v in versions):
            raise ValueError(f"{rule.id}: one version of a rule per year")
        versions.append(rule)
        versions.sort(key=lambda r: r.since)

    def with_rules(self, *rules: Rule) -> RuleRegistry:
        """A copy with further rule versions (tests use it to add a future version)."""
        copy = RuleRegistry(self.all())
        for rule in rules:
            copy.add(rule)
        return copy

    def partners(self) -> list[str]:
        return sorted(self._rules)

    def all(self) -> list[Rule]:
        return [r for by_name in self._rules.values() for vs in by_name.values() for r in vs]

    def rulebook_for(self, partner: str, on: date) -> Rulebook:
        """The rules of ``partner`` in force on ``on`` (the first version for earlier dates)."""
        try:
            by_name = self._rules[partner]
        except KeyError:
            raise KeyError(f"no rulebook for partner {partner!r}") from None
        chosen: dict[str, Rule] = {}
        for name, versions in by_name.items():
            in_force = [v for v in versions if v.since <= on]
            chosen[name] = in_force[-1] if in_force else versions[0]
        return Rulebook(partner, on, MappingProxyType(chosen))

    def version_dates(self, partner: str) -> tuple[date, ...]:
        """The days a version of one of ``partner``'s rules comes into force, in order: on
        each of them a status may change with no new event."""
        return tuple(sorted({r.since for by_name in self._rules.get(partner, {}).values()
                             for r in by_name}))

    def limit_counts_whole_year(self, partner: str) -> bool:
        """Whether any version of ``partner``'s program limit counts every headcount of the
        year (AMHSA, :meth:`Rulebook.limit_applies_all_year`): then January 1 can change a
        status, as the reports of the year before stop counting."""
        return any(r.params.get("all_year")
                   for r in self._rules.get(partner, {}).get("programs", []))

    def find(self, rule_id: str) -> Rule | None:
        """A rule version by its public id (``BCCSA-2000.pass-mark``)."""
        for rule in self.all():
            if rule.id == rule_id:
                return rule
        return None
