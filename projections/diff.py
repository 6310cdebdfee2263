"""What changed between two views of one employer, and why: the pure diff.

A *view* is a valid-time date (``as_of``) and a transaction time (``known_at``; None means
everything recorded). :func:`diff` compares the status document (and, with a year, the
incentive decision) in two views field by field, and names for each differing field the
cause, labelled by the time axis that moved:

- **transaction time** (same as-of, later known-at): the events recorded in between, voids
  included (with what they voided);
- **valid time** (same known-at, later as-of): the events effective in between, and the
  calendar (a due date passing, an expiry, an anniversary).

When both move, the path goes first along transaction time (``from.as_of`` as known at
``to.known_at``), then along valid time, and each cause carries its label.

Attribution is counterfactual, on the fold: an event recorded (or effective) in between is
responsible for a field when taking it out of the richer view changes that field; for a
field that no single removal explains (two events each enough), the events that alone would
move it from the poorer view. The calendar is responsible when the field moves without the
events in between, or when those events (as of the last of them) do not yet give its new
value. The rules named are those of the decisions the event brought about (the fold's
``because``; for an incentive field, the incentive's decisions that cite it). When only a
combination of events moves a field, a smallest set of them that moves it is named and the
cause says ``jointly``. A later known-at also asks the incentive on a later day: a field
the same events read otherwise on that day is put down to the calendar (a year that ended is
no longer ``open``). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ledger import events as ev
from ledger.codec import format_time
from ledger.rulebooks import RuleRegistry, add_years
from projections.incentive import asked_on, incentive
from projections.status import render
from projections.timeline import Decision, EmployerTimeline, fold
from projections.voids import in_view

__all__ = ["TRANSACTION", "VALID", "View", "apply_changes", "compare", "comparable", "diff",
           "document"]

TRANSACTION, VALID = "transaction", "valid"

# The fields of the status document that describe the employer (the rest names the view or
# explains it), and those of the incentive document.
STATUS_FIELDS = ("partner", "program", "size_class", "status", "certificate", "next_audit",
                 "flags")
_INCENTIVE_SKIP = ("employer", "year", "known_at", "because")
_ABSENT: Any = object()


@dataclass(frozen=True)
class View:
    """A point of view on the ledger: a date in valid time, a moment in transaction time."""

    as_of: date
    known_at: datetime | None = None  # None: everything recorded

    def label(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(),
                "known_at": format_time(self.known_at) if self.known_at else None}


# --- the documents compared ------------------------------------------------------------------


def comparable(status_doc: dict[str, Any],
               incentive_doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields a diff compares: the status document's (and the incentive's, under
    ``incentive``) without those that only name the view or explain it."""
    doc = {k: status_doc[k] for k in STATUS_FIELDS}
    if incentive_doc is not None:
        doc["incentive"] = {k: v for k, v in incentive_doc.items() if k not in _INCENTIVE_SKIP}
    return doc


def document(events: Sequence[ev.LedgerEvent], view: View, *, employer: str,
             reference: Sequence[ev.LedgerEvent] = (), year: int | None = None,
             registry: RuleRegistry | None = None) -> dict[str, Any]:
    """The comparable document of ``employer`` in ``view``."""
    return _Docs(events, reference, employer, year, registry).doc(view)


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Every differing field as ``{"field", "from", "to"}``: a sub-field (``certificate.
    expires``) when both sides are objects, else the whole field."""
    out: list[dict[str, Any]] = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            for sub in [*old, *(k for k in new if k not in old)]:
                if old.get(sub, _ABSENT) != new.get(sub, _ABSENT):
                    out.append({"field": f"{key}.{sub}", "from": old.get(sub),
                                "to": new.get(sub)})
        elif old != new:
            out.append({"field": key, "from": old, "to": new})
    return out


def apply_changes(doc: dict[str, Any], changes: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``doc`` with each change's ``to`` value written at its field (a copy)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    for change in changes:
        key, _, sub = change["field"].partition(".")
        if sub:
            out[key][sub] = change["to"]
        else:
            out[key] = change["to"]
    return out


def _get(doc: dict[str, Any], field: str) -> Any:
    key, _, sub = field.partition(".")
    value = doc.get(key, _ABSENT)
    if not sub:
        return value
    return value.get(sub, _ABSENT) if isinstance(value, dict) else _ABSENT


def _related(field: str, other: str) -> bool:
    """Whether a change of ``other`` is part of a change of ``field`` (or the reverse)."""
    return field == other or field.startswith(other + ".") or other.startswith(field + ".")


# --- folding views ----------------------------------------------------------------------------


class _Docs:
    """Folds one employer's events in a view, keeping the timeline for its decisions; a
    diff asks for the same set of events on the same date several times, so each answer is
    kept for the length of one diff."""

    def __init__(self, events: Sequence[ev.LedgerEvent], reference: Sequence[ev.LedgerEvent],
                 employer: str, year: int | None, registry: RuleRegistry | None,
                 today: date | None = None) -> None:
        self.events, self.reference = list(events), list(reference)
        self.employer, self.year, self.registry = employer, year, registry
        self.today = today
        self._memo: dict[tuple[frozenset[int], date, date | None],
                         tuple[dict[str, Any], EmployerTimeline]] = {}
        self._reasons: dict[tuple[frozenset[int], date, date | None],
                            list[dict[str, Any]]] = {}

    def asked(self, known_at: datetime | None) -> date | None:
        """The day the incentive is decided as on in a view known at ``known_at``."""
        return asked_on(self.today, known_at) \
            if self.year is not None and self.today is not None else None

    def at(self, events: Sequence[ev.LedgerEvent], as_of: date,
           known_at: datetime | None = None) -> tuple[dict[str, Any], EmployerTimeline]:
        """The comparable document and the timeline of these events (the employer's and
        the reference's, voids not yet applied) on ``as_of``; the incentive, if asked, is
        decided as on the day of ``known_at`` (or today), as ``incentive`` decides it."""
        key = (frozenset(map(id, events)), as_of, self.asked(known_at))
        found = self._memo.get(key)
        if found is None:
            own = [e for e in events if not e.reference]
            t = fold(own, as_of=as_of, employer=self.employer, registry=self.registry)
            inc = None
            if self.year is not None:
                inc = incentive(own, [e for e in events if e.reference], year=self.year,
                                employer=self.employer, registry=self.registry,
                                asked_on=key[2])
                self._reasons[key] = inc["because"]
            found = self._memo[key] = (comparable(render(t), inc), t)
        return found

    def reasons(self, events: Sequence[ev.LedgerEvent], as_of: date,
                known_at: datetime | None = None) -> list[dict[str, Any]]:
        """The incentive's ``because`` in the view of :meth:`at` (empty without a year)."""
        self.at(events, as_of, known_at)
        return self._reasons.get((frozenset(map(id, events)), as_of, self.asked(known_at)), [])

    def doc(self, view: View) -> dict[str, Any]:
        return self.at(_known([*self.events, *self.reference], view.known_at), view.as_of,
                       view.known_at)[0]


def _known(events: Iterable[ev.LedgerEvent], known_at: datetime | None) -> list[ev.LedgerEvent]:
    """The events recorded by ``known_at`` (voids not yet applied: the fold applies them)."""
    if known_at is None:
        return list(events)
    limit = _aware(known_at)
    return [e for e in events if _aware(e.recorded_at) <= limit]


def recorded_between(events: Iterable[ev.LedgerEvent], since: datetime,
                     until: datetime | None) -> list[ev.LedgerEvent]:
    """The events recorded after ``since`` and by ``until`` (None: up to now): what moves
    between two known-ats, by :func:`_known`'s reading of a known-at."""
    earlier = {id(e) for e in _known(events, since)}
    return [e for e in _known(events, until) if id(e) not in earlier]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _later(a: datetime | None, b: datetime | None) -> bool:
    """Whether known-at ``a`` is later than ``b`` (None is the latest)."""
    if a is None:
        return b is not None
    return b is not None and _aware(a) > _aware(b)


# --- the diff ----------------------------------------------------------------------------------


def diff(events: Sequence[ev.LedgerEvent], *, employer: str, before: View, after: View,
         reference: Sequence[ev.LedgerEvent] = (), year: int | None = None,
         registry: RuleRegistry | None = None, today: date | None = None) -> dict[str, Any]:
    """The differing fields of ``employer``'s documents in ``before`` and ``after``, each
    with the events and rules (or the calendar) that made the difference. ``today``: the day
    the question is asked, so that a ``year`` still running reads ``open`` as ``incentive``
    says (None: each year decided as at its end)."""
    docs = _Docs(events, reference, employer, year, registry, today)
    start, end = docs.doc(before), docs.doc(after)
    changes = compare(start, end)
    legs: list[tuple[str, View, View]] = []
    middle = View(before.as_of, after.known_at)
    if before.known_at != after.known_at:
        legs.append((TRANSACTION, before, middle))
    if before.as_of != after.as_of:
        legs.append((VALID, middle, after))
    causes: list[list[dict[str, Any]]] = [[] for _ in changes]
    if changes:
        for axis, lo, hi in legs:
            attribute = _transaction_leg if axis == TRANSACTION else _valid_leg
            found = attribute(docs, lo, hi)
            for i, change in enumerate(changes):
                for field, entries in found.items():
                    if _related(change["field"], field):
                        causes[i].extend(e for e in entries if e not in causes[i])
    return {
        "employer": employer,
        "from": before.label(),
        "to": after.label(),
        "year": year,
        "moved": [axis for axis, _, _ in legs],
        "unchanged": not changes,
        "before": start,
        "after": end,
        "changes": [{**c, "because": because} for c, because in zip(changes, causes,
                                                                       strict=True)],
    }


def _transaction_leg(docs: _Docs, a: View, b: View) -> dict[str, list[dict[str, Any]]]:
    """Causes of each field that differs between two known-ats at one as-of."""
    rich_at, poor_at = (a.known_at, b.known_at) if _later(a.known_at, b.known_at) \
        else (b.known_at, a.known_at)
    as_of = a.as_of
    all_events = [*docs.events, *docs.reference]
    rich, poor = _known(all_events, rich_at), _known(all_events, poor_at)
    poor_ids = {id(e) for e in poor}
    candidates = [e for e in rich if id(e) not in poor_ids]

    rich_doc, rich_t = docs.at(rich, as_of, rich_at)
    poor_doc, poor_t = docs.at(poor, as_of, poor_at)
    changed = [c["field"] for c in compare(poor_doc, rich_doc)]
    # First the events without which a field would not have moved; for a field that none
    # of them moves alone (two events each enough), the events that alone would move it.
    found = _removal_causes(docs, TRANSACTION, candidates, rich, as_of, changed, rich_doc,
                            rich_t, poor_t, rich_at)
    _asked_later(docs, poor, as_of, poor_at, rich_at, poor_doc, rich_t, found)
    unexplained = [f for f in changed if not found[f]]
    if unexplained:
        for candidate in candidates:
            alone_doc, _ = docs.at([*poor, candidate], as_of, poor_at)
            moved = [f for f in unexplained if _get(alone_doc, f) != _get(poor_doc, f)]
            if moved:
                without_t = docs.at([e for e in rich if e is not candidate], as_of, rich_at)[1]
                entry = _event_entry(TRANSACTION, candidate, rich, rich_t, without_t, poor_t)
                for f in moved:
                    found[f].append(entry)
    for field, entries in found.items():
        if not entries:  # only a combination of the events moves it
            entries.extend({**_event_entry(TRANSACTION, c, rich, rich_t, None, poor_t),
                            "jointly": True}
                           for c in _together(docs, poor, candidates, as_of, rich_at, field,
                                              _get(rich_doc, field)))
    _incentive_rules(found, docs.reasons(rich, as_of, rich_at),
                     docs.reasons(poor, as_of, poor_at))
    return found


def _asked_later(docs: _Docs, poor: Sequence[ev.LedgerEvent], as_of: date,
                 poor_at: datetime | None, rich_at: datetime | None,
                 poor_doc: dict[str, Any], rich_t: EmployerTimeline,
                 found: dict[str, list[dict[str, Any]]]) -> None:
    """The calendar of transaction time: a later known-at asks the incentive on a later day
    (a year that has ended is no longer ``open``). Each incentive field that the same
    events read otherwise on the later day is put down to that day."""
    later, earlier = docs.asked(rich_at), docs.asked(poor_at)
    if later is None or later == earlier or docs.year is None:
        return
    shifted = docs.at(poor, as_of, rich_at)[0]
    moved = [f for f in found if f.startswith("incentive")
             and _get(shifted, f) != _get(poor_doc, f)]
    if not moved:
        return
    year_end = date(docs.year, 12, 31)
    entry = {"time": TRANSACTION, "event": None, "type": "calendar",
             "effective": later.isoformat(), "recorded_at": None, "voided": None,
             "rules": [{"rule": _rule_id(rich_t, "incentive", year_end),
                        "on": later.isoformat(),
                        "says": f"the decision for {docs.year} is taken as on {later}, the day "
                                f"of the later known-at, where it was taken as on {earlier}"}]}
    for f in moved:
        found[f].append(entry)


def _together(docs: _Docs, base: Sequence[ev.LedgerEvent],
              candidates: Sequence[ev.LedgerEvent], as_of: date, known_at: datetime | None,
              field: str, target: Any) -> list[ev.LedgerEvent]:
    """A smallest set of ``candidates`` that, added to ``base``, still gives ``field`` the
    value ``target``: each candidate in turn, latest first, is left out when the field
    reads the same without it. Names the events a combination needs, not every event in
    between (all of them if none can be left out)."""
    kept = list(candidates)
    for candidate in reversed(candidates):
        trial = [e for e in kept if e is not candidate]
        if trial and _get(docs.at([*base, *trial], as_of, known_at)[0], field) == target:
            kept = trial
    return kept


def _incentive_rules(found: dict[str, list[dict[str, Any]]], rich: list[dict[str, Any]],
                     poor: list[dict[str, Any]]) -> None:
    """Gives an event named for an incentive field the rules of the incentive's own
    decisions that cite it (a void: those that cited its target), where it has any: the
    status fold's decisions say nothing of premiums, rates or exceptions."""
    for field, entries in found.items():
        if not field.startswith("incentive"):
            continue
        for i, entry in enumerate(entries):
            if entry["event"] is None:
                continue
            cited, reasons = (entry["voided"]["event"], poor) if entry["voided"] \
                else (entry["event"], rich)
            if cited is None:
                continue
            rules: list[dict[str, Any]] = []
            for b in reasons:
                item = {"rule": b["rule"], "on": b["effective"], "says": b["says"]}
                if b["event"] == cited and item not in rules:
                    rules.append(item)
            if rules:
                entries[i] = {**entry, "rules": rules}


def _removal_causes(docs: _Docs, axis: str, candidates: Sequence[ev.LedgerEvent],
                    pool: Sequence[ev.LedgerEvent], as_of: date, changed: list[str],
                    rich_doc: dict[str, Any], rich_t: EmployerTimeline,
                    poor_t: EmployerTimeline, known_at: datetime | None,
                    ) -> dict[str, list[dict[str, Any]]]:
    """Each changed field's causes among ``candidates``: the events without which (taken
    out of ``pool``, the richer view's events, known at ``known_at``) the field would not
    read as it does."""
    found: dict[str, list[dict[str, Any]]] = {f: [] for f in changed}
    for candidate in candidates:
        without_doc, without_t = docs.at([e for e in pool if e is not candidate], as_of,
                                         known_at)
        fields = [f for f in changed if _get(without_doc, f) != _get(rich_doc, f)]
        if fields:
            entry = _event_entry(axis, candidate, pool, rich_t, without_t, poor_t)
            for f in fields:
                found[f].append(entry)
    return found


def _valid_leg(docs: _Docs, a: View, b: View) -> dict[str, list[dict[str, Any]]]:
    """Causes of each field that differs between two as-ofs at one known-at."""
    lo, hi = sorted((a.as_of, b.as_of))
    known = _known([*docs.events, *docs.reference], a.known_at)
    # A void applies on every as-of alike, so it is never a valid-time cause.
    candidates = [e for e in in_view(known, None) if lo < e.effective <= hi
                  and not isinstance(e, ev.EventVoided) and not e.reference]

    rich_doc, rich_t = docs.at(known, hi, a.known_at)
    poor_doc, poor_t = docs.at(known, lo, a.known_at)
    changed = [c["field"] for c in compare(poor_doc, rich_doc)]
    found = _removal_causes(docs, VALID, candidates, known, hi, changed, rich_doc, rich_t,
                            poor_t, a.known_at)
    # The calendar moved a field when its value still moves after the last event in
    # between, or when no event moves it and it moves without them.
    ids = {id(c) for c in candidates}
    calendar_doc, _ = docs.at([e for e in known if id(e) not in ids], hi, a.known_at)
    last = max([lo, *(c.effective for c in candidates)])
    still_doc = docs.at(known, last, a.known_at)[0]
    for f in changed:
        if _get(still_doc, f) != _get(rich_doc, f) or (
                not found[f] and _get(calendar_doc, f) != _get(poor_doc, f)):
            day = _moved_on(docs, known, a.known_at, f, last, hi, rich_doc)
            found[f].extend(_calendar_entries(f, rich_t, lo, hi, day))
        elif not found[f]:  # only a combination of the events moves it
            base = [e for e in known if id(e) not in ids]
            found[f].extend({**_event_entry(VALID, c, known, rich_t, None, poor_t),
                             "jointly": True}
                            for c in _together(docs, base, candidates, hi, a.known_at, f,
                                               _get(rich_doc, f)))
    _incentive_rules(found, docs.reasons(known, hi, a.known_at),
                     docs.reasons(known, lo, a.known_at))
    return found


# --- naming causes ------------------------------------------------------------------------------


def _event_ref(event: ev.LedgerEvent) -> dict[str, Any]:
    return {"event": event.event_id, "type": event.type_name(),
            "effective": event.effective.isoformat(),
            "recorded_at": format_time(event.recorded_at)}


def _key(d: Decision) -> tuple[Any, ...]:
    return (d.on, d.says, d.rule.id if d.rule else None, id(d.event))


def _rules(decisions: Iterable[Decision]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for d in decisions:
        item = {"rule": d.rule.id if d.rule else None, "on": d.on.isoformat(), "says": d.says}
        if item not in out:
            out.append(item)
    return out


def _event_entry(axis: str, event: ev.LedgerEvent, pool: Sequence[ev.LedgerEvent],
                 rich_t: EmployerTimeline, without_t: EmployerTimeline | None,
                 poor_t: EmployerTimeline) -> dict[str, Any]:
    """One event named as a cause: what it is, what it voided, and the rules of the
    decisions it brought about (or, for a void, the decisions it took away)."""
    entry: dict[str, Any] = {"time": axis, **_event_ref(event), "voided": None}
    own: list[Decision] = [d for d in rich_t.decisions if d.event is event]
    if isinstance(event, ev.EventVoided):
        target = next((e for e in pool if e.event_id == event.target), None)
        if target is not None:
            entry["voided"] = _event_ref(target)
            own = [d for d in poor_t.decisions if d.event is target]
    if not own and without_t is not None:
        before = {_key(d) for d in without_t.decisions}
        own = [d for d in rich_t.decisions if _key(d) not in before]
    entry["rules"] = _rules(own)
    return entry


# What the calendar did to a field when no dated decision of the fold says so.
_CALENDAR_RULES: dict[str, str] = {"certificate.cycle_year": "validity",
                                   "flags": "limited-scope"}


def _moved_on(docs: _Docs, known: Sequence[ev.LedgerEvent], known_at: datetime | None,
              field: str, after: date, hi: date, rich_doc: dict[str, Any]) -> date:
    """The first day after ``after`` from which ``field`` reads as on ``hi`` (a bisection:
    the calendar moves a field once between two events)."""
    target = _get(rich_doc, field)
    lo_day, hi_day = after, hi  # reads otherwise on lo_day (or it is ``after``), so on hi_day
    while (hi_day - lo_day).days > 1:
        mid = lo_day + (hi_day - lo_day) // 2
        if _get(docs.at(known, mid, known_at)[0], field) == target:
            hi_day = mid
        else:
            lo_day = mid
    return hi_day


def _calendar_entries(field: str, rich_t: EmployerTimeline, lo: date, hi: date,
                      day: date) -> list[dict[str, Any]]:
    """The calendar as a cause on ``day``, the day the field moved: the fold's decisions of
    no event on it (a due date passing, an expiry), the anniversary that moved the cycle
    year, or the rule behind the field's new value."""
    dated = [d for d in rich_t.decisions if d.event is None and d.on == day]

    def entry(on: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {"time": VALID, "event": None, "type": "calendar", "effective": on,
                "recorded_at": None, "voided": None, "rules": rules}

    if dated:
        return [entry(d.on.isoformat(), _rules([d])) for d in dated]
    cert = rich_t.current_certificate
    if field.startswith("certificate") and cert is not None:
        for k in (1, 2):
            anniversary = add_years(cert.issued, k)
            if lo < anniversary <= hi and anniversary == day:
                return [entry(anniversary.isoformat(), [{
                    "rule": _rule_id(rich_t, "validity", anniversary), "on":
                    anniversary.isoformat(), "says": f"anniversary {k} of the certificate "
                                                     f"issued {cert.issued} passed"}])]
    rule = _calendar_rule(field, rich_t, day)
    return [entry(day.isoformat(), [{
        "rule": rule, "on": day.isoformat(),
        "says": f"{field} reads differently from {day} on: the calendar moved on"}])]


def _calendar_rule(field: str, t: EmployerTimeline, day: date) -> str | None:
    """The rule behind a field the calendar moved: a certificate's start (its issue, or a
    waiver's), the open requirement's for the next audit, the rule named for the field."""
    cert = t.current_certificate
    if field.startswith("certificate") and cert is not None and cert.issued == day \
            and cert.issued_by is not None:
        return cert.issued_by.id
    if field.startswith("next_audit") and t.requirement is not None \
            and t.requirement.rule is not None:
        return t.requirement.rule.id
    name = _CALENDAR_RULES.get(field) or ("validity" if field.startswith("certificate")
                                          else None)
    return _rule_id(t, name, day) if name else None


def _rule_id(t: EmployerTimeline, name: str, on: date) -> str | None:
    if t.registration is None:
        return None
    rb = t.rulebook(on)
    return rb.rule(name).id if rb.has(name) else None
