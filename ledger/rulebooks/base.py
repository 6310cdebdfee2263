"""Rules as data: a versioned :class:`Rule` record, the :class:`Rulebook` in force on a date,
and the registry that looks rulebooks up by partner and date.

A rule version is written once, under its public id ``{ISSUER}-{YYYY}.{name}`` (BCCSA's
pass mark of 2000 is ``BCCSA-2000`` then ``.pass-mark``), so grepping ``ledger/`` for an id
finds the one place that defines it (this text never spells a real id whole). The issuer is
a partner, ``COR`` (the cycle every partner shares) or ``WSBC`` (WorkSafeBC's rules for its
BC partners). A version is in force from its ``since`` day (not year): a second version in
one year writes its day in the id (``{ISSUER}-{YYYY-MM-DD}.{name}``).
``rulebook_for(partner, on)`` picks, for every rule name, the latest version in force on
``on``; replaying a past date therefore uses the rules in force then. A rule whose first
version is dated :data:`V1` also governs earlier dates (the ledger knows no older rules); a
rule introduced later (the 2020 audit waiver) does not exist before its first day.

The small pure functions here read the rules' parameters; the partner modules hold the data.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from mypy_extensions import mypyc_attr

from ledger.rulebooks.sources import Source

# The v1 rulebooks' version date: the sources give no earlier version, so v1 governs all the
# history the ledger holds (see base docstring: earlier dates fall back to the first version).
V1 = date(2000, 1, 1)

EITHER, INTERNAL, EXTERNAL = "either", "internal", "external"


_ID = re.compile(r"(?P<issuer>[A-Z0-9]+)-(?P<day>\d{4}(?:-\d{2}-\d{2})?)\.(?P<name>[a-z0-9-]+)")


@dataclass(frozen=True)
class Rule:
    """One version of one rule: its public id, the day it came into force, what it says,
    its data, its sources, and the partners whose rulebooks hold it (default: the issuer)."""

    id: str
    since: date
    sources: Source | tuple[Source, ...]
    says: str
    params: Mapping[str, Any] = field(default_factory=dict)
    partners: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        match = _ID.fullmatch(self.id)
        if match is None:
            raise ValueError(f"{self.id!r} is not a rule id: ISSUER-YYYY.name (or "
                             "ISSUER-YYYY-MM-DD.name)")
        day = match["day"]
        if day != str(self.since.year) and day != self.since.isoformat():
            raise ValueError(f"{self.id}: the id's date must be the year or day of {self.since}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        if isinstance(self.sources, Source):
            object.__setattr__(self, "sources", (self.sources,))
        if not self.partners:
            object.__setattr__(self, "partners", (match["issuer"],))

    @property
    def issuer(self) -> str:
        """Who made the rule: a partner, ``COR`` (every partner) or ``WSBC``."""
        return self.id.split("-", 1)[0]

    @property
    def name(self) -> str:
        """The rule's name within a rulebook, e.g. ``pass-mark``."""
        return self.id.split(".", 1)[1]

    @property
    def key(self) -> str:
        """The unversioned id, e.g. ``BCCSA.pass-mark``."""
        return f"{self.issuer}.{self.name}"

    @property
    def source(self) -> str:
        """The sources by title, for people (``BCCSA COR FAQ; WorkSafeBC: ...``)."""
        return "; ".join(s.title for s in self.sources)  # type: ignore[union-attr]

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


@dataclass(frozen=True, init=False)
class PassResult:
    """The pass-mark verdict on a set of scores, with the sentence ``because`` shows
    (``__init__`` written out: see :class:`MaintenanceDue`)."""

    passes: bool
    says: str
    limited_scope: bool = False  # failed, but a limited-scope re-audit may repair it

    def __init__(self, passes: bool, says: str, limited_scope: bool = False) -> None:
        _set = object.__setattr__  # frozen
        _set(self, "passes", passes)
        _set(self, "says", says)
        _set(self, "limited_scope", limited_scope)


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
        """``small``/``large`` where the partner splits COR by size (BCCSA), else None; an
        unknown headcount is judged by the Large rules (the stricter), so it reads large."""
        rule = self.rule("programs")
        small_max = rule.params.get("small_max")
        if small_max is None:
            return None
        return "small" if headcount is not None and headcount <= small_max else "large"

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

    @staticmethod
    def auditor_counts(needed: str, rule: Rule, auditor_type: str) -> bool:
        """Whether an ``auditor_type`` auditor meets a need for ``needed`` under ``rule``
        (an external auditor may stand in for an internal one where the rule says so)."""
        return needed in (EITHER, auditor_type) or auditor_type in rule.params.get(
            "stand_in", ())

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

    def recertification_due(self, expires: date, last_completed: date) -> date:
        """The expiry; AMHSA (audits within a year of the last one): the earlier of the
        expiry and one year after the last audit's completion."""
        if self.rule("maintenance-due")["basis"] == "last-audit-completion":
            return min(expires, add_years(last_completed, 1))
        return expires

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
            # the anniversary before opens the cycle year (``cycle_year`` changes on it)
            return MaintenanceDue(due, add_days(due, grace), start, "submitted", rule)
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


@dataclass(frozen=True, init=False)
class MaintenanceDue:
    """A maintenance requirement's dates: ``due`` (without grace), the grace end, and the
    window the audit's ``measured_on`` date (submitted or completed) must fall in.
    (``__init__`` is written out: compiled, the generated one would run as Python.)"""

    due: date
    grace_end: date
    window_start: date
    measured_on: str
    rule: Rule
    start_inclusive: bool = True

    def __init__(self, due: date, grace_end: date, window_start: date, measured_on: str,
                 rule: Rule, start_inclusive: bool = True) -> None:
        _set = object.__setattr__  # frozen
        _set(self, "due", due)
        _set(self, "grace_end", grace_end)
        _set(self, "window_start", window_start)
        _set(self, "measured_on", measured_on)
        _set(self, "rule", rule)
        _set(self, "start_inclusive", start_inclusive)


def _pct(value: Decimal) -> str:
    """A score as people write it: 85, 86.5 (no trailing zeros, no exponent)."""
    return format(Decimal(value).normalize(), "f")


# --- the registry -----------------------------------------------------------------------------


@mypyc_attr(allow_interpreted_subclasses=True)  # read models cache it (CachedRegistry)
class RuleRegistry:
    """Every version of every rule, by partner; answers which rules are in force on a date."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: dict[str, dict[str, list[Rule]]] = {}
        self._ids: dict[str, Rule] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> None:
        if rule.id in self._ids:
            raise ValueError(f"{rule.id}: a rule id is defined once")
        for partner in rule.partners:
            versions = self._rules.setdefault(partner, {}).setdefault(rule.name, [])
            if any(v.since == rule.since for v in versions):
                raise ValueError(f"{rule.id}: {partner} already has a version of "
                                 f"{rule.name} from {rule.since}")
            versions.append(rule)
            versions.sort(key=lambda r: r.since)
        self._ids[rule.id] = rule

    def with_rules(self, *rules: Rule) -> RuleRegistry:
        """A copy with further rule versions (tests use it to add a future version)."""
        copy = RuleRegistry(self.all())
        for rule in rules:
            copy.add(rule)
        return copy

    def partners(self) -> list[str]:
        return sorted(self._rules)

    def all(self) -> list[Rule]:
        """Every rule version, each once, in the order they were added."""
        return list(self._ids.values())

    def fingerprint(self) -> str:
        """A SHA-256 of what every rule version decides with (id, day in force, partners,
        parameters, what it says), sorted by id: it moves when a rule changes or a version
        is added, and not when only a source's description does."""
        decided = sorted((r.id, r.since.isoformat(), r.partners, sorted(r.params.items()),
                          r.says) for r in self._ids.values())
        return hashlib.sha256(repr(decided).encode()).hexdigest()

    def rulebook_for(self, partner: str, on: date) -> Rulebook:
        """The rules of ``partner`` in force on ``on`` (a V1 rule's first version for
        earlier dates; a rule introduced later is absent before its first day)."""
        try:
            by_name = self._rules[partner]
        except KeyError:
            raise KeyError(f"no rulebook for partner {partner!r}") from None
        chosen: dict[str, Rule] = {}
        for name, versions in by_name.items():
            in_force = [v for v in versions if v.since <= on]
            if in_force:
                chosen[name] = in_force[-1]
            elif versions[0].since == V1:
                chosen[name] = versions[0]
        return Rulebook(partner, on, MappingProxyType(chosen))

    def limit_counts_whole_year(self, partner: str) -> bool:
        """Whether any version of ``partner``'s program limit counts every headcount of the
        year (AMHSA, :meth:`Rulebook.limit_applies_all_year`): then January 1 can change a
        status, as the reports of the year before stop counting."""
        return any(r.params.get("all_year")
                   for r in self._rules.get(partner, {}).get("programs", []))

    def find(self, rule_id: str) -> Rule | None:
        """A rule version by its public id (``{ISSUER}-{YYYY}.{name}``)."""
        return self._ids.get(rule_id)

    def versions(self, name: str, partner: str | None = None) -> list[Rule]:
        """Every version of the rule ``name`` (of ``partner``, or any), oldest first: what a
        decision cites when the rule is not in force for the employer (yet, or at all)."""
        found = {r.id: r for p, by_name in self._rules.items()
                 if partner is None or p == partner for r in by_name.get(name, [])}
        return sorted(found.values(), key=lambda r: (r.since, r.id))

    def since_dates(self, partner: str) -> list[date]:
        """The days on which a version of one of ``partner``'s rules came into force: on
        each of them a status may change with no new event."""
        return sorted({r.since for vs in self._rules.get(partner, {}).values() for r in vs})
