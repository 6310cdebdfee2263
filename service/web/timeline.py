"""The two-lane bitemporal timeline of one employer, laid out for an SVG drawn on the server.

:func:`layout` is pure: it takes the folded :class:`EmployerTimeline` (as of a date, as known
at a time) and every event of the employer's stream, and returns positions and labels only.
The valid-time lane shows what was true on each date (status intervals, certificates, audits
with their verdict and QA, due dates and grace); the recorded-time lane shows when the ledger
learned each fact, on the same date axis, so a late-recorded fact sits right of where it took
effect and a connector joins the two. ``templates/_timeline.svg`` draws the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from ledger import events as ev
from projections.timeline import AuditRecord, EmployerTimeline
from projections.voids import in_view

LATE_AFTER_DAYS = 30
"""A fact recorded more than this many days after it took effect is drawn as late-recorded."""

# The drawing's coordinate system (the SVG viewBox); CSS scales it to the page.
WIDTH = 1000
LEFT, RIGHT = 112, 16
PLOT = WIDTH - LEFT - RIGHT
AXIS_Y, VALID_TITLE_Y, BAND_Y, BAND_H = 18, 44, 52, 26
GAP = 46  # between the lanes: the connectors show how late each fact was recorded
CHAR_W = 6.2  # the width of one character of the 11px label font, for label packing

STATUS_LABEL = {"registered": "registered", "certified": "certified", "cancelled": "cancelled",
                "expired": "expired", "revoked": "revoked"}


def event_key(event: ev.LedgerEvent) -> str:
    """The id a page uses for an event: its sender id, else its stream position."""
    return event.event_id or f"position-{event.originator_version}"


@dataclass(frozen=True)
class Band:
    """A status interval on valid time: ``[start, end)``; ``end`` None: still open."""

    status: str
    start: date
    end: date | None
    x: float
    width: float
    label_inside: bool

    @property
    def label(self) -> str:
        until = f" to {self.end - timedelta(days=1)}" if self.end else " onward"
        return f"{self.status} from {self.start}{until}"


@dataclass(frozen=True)
class Mark:
    """One thing drawn at a date: an event, a decision date or a deadline.

    ``key`` names the event it opens (None for a calendar date such as a due date);
    ``shape`` and ``tone`` pick the drawing; ``label`` is the short text beside it, ``title``
    the full text (tooltip and screen readers)."""

    key: str | None
    x: float
    row: int
    shape: str  # diamond / circle / flag / tick / cross / bar
    tone: str  # pass / fail / pending / due / grace / late / void / voided / unknown / plain
    label: str
    title: str
    x2: float | None = None  # bars and grace spans end here
    y: float = 0
    label_y: float = 0
    late: bool = False
    anchor: str = "start"  # "end": the label runs leftwards (near the right edge)

    @property
    def label_x(self) -> float:
        return self.x - 4 if self.anchor == "start" else self.x + 4


@dataclass(frozen=True)
class Connector:
    """Joins an event's effective date (valid lane) to when it was recorded."""

    key: str
    x1: float
    x2: float
    late: bool
    known: bool


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    major: bool


@dataclass
class TimelineLayout:
    """Everything the SVG template needs, in viewBox units, and the text alternative."""

    start: date
    end: date
    ticks: list[Tick]
    bands: list[Band]
    valid_marks: list[Mark]
    recorded_marks: list[Mark]
    connectors: list[Connector]
    as_of_x: float
    known_at_x: float | None
    as_of: date
    known_at: datetime | None
    selected: str | None = None
    row_titles: list[tuple[str, float]] = field(default_factory=list)
    valid_bottom: float = 0
    recorded_title_y: float = 0
    recorded_line_y: float = 0
    height: float = 0
    width: int = WIDTH
    left: int = LEFT
    right: int = WIDTH - RIGHT
    axis_y: int = AXIS_Y
    valid_title_y: int = VALID_TITLE_Y
    band_y: int = BAND_Y
    band_h: int = BAND_H

    @property
    def summary(self) -> str:
        """One sentence for the chart's text alternative."""
        parts = [b.label for b in self.bands]
        late = sum(1 for m in self.recorded_marks if m.tone == "late")
        voids = sum(1 for m in self.recorded_marks if m.tone == "void")
        return (f"Status intervals: {'; '.join(parts) or 'none'}. "
                f"{_count(len(self.recorded_marks), 'event')} recorded, {late} late-recorded, "
                f"{_count(voids, 'void')}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class _Scale:
    """Maps dates (and moments, by their UTC day fraction) to x."""

    def __init__(self, start: date, end: date) -> None:
        self.start, self.days = start, max((end - start).days, 1)

    def x(self, day: date) -> float:
        return round(LEFT + PLOT * (day - self.start).days / self.days, 1)

    def moment(self, when: datetime) -> float:
        utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        fraction = (utc.hour * 3600 + utc.minute * 60 + utc.second) / 86400
        return round(self.x(utc.date()) + PLOT * fraction / self.days, 1)


def _recorded_day(e: ev.LedgerEvent) -> date:
    when = e.recorded_at
    return (when.astimezone(UTC) if when.tzinfo else when).date()


def is_late(e: ev.LedgerEvent) -> bool:
    """Recorded more than :data:`LATE_AFTER_DAYS` after it took effect."""
    return (_recorded_day(e) - e.effective).days > LATE_AFTER_DAYS


def _span(t: EmployerTimeline, stream: Sequence[ev.LedgerEvent]) -> tuple[date, date]:
    days = [e.effective for e in stream] + [_recorded_day(e) for e in stream] + [t.as_of]
    req = t.requirement
    if req is not None:
        days += [d for d in (req.due, req.grace_end) if d is not None]
    if t.known_at is not None:
        days.append(t.known_at.astimezone(UTC).date())
    start, end = min(days), max(days)
    pad = max((end - start).days // 25, 20)
    return start - timedelta(days=pad), end + timedelta(days=pad)


def _ticks(scale: _Scale, start: date, end: date) -> list[Tick]:
    years = list(range(start.year + 1, end.year + 1))
    step = 1 if len(years) <= 12 else 2
    ticks = [Tick(scale.x(date(y, 1, 1)), str(y), True) for y in years if y % step == 0]
    if len(years) <= 2:  # a short history: quarters as well
        ticks += [Tick(scale.x(date(y, m, 1)), date(y, m, 1).strftime("%b"), False)
                  for y in range(start.year, end.year + 1) for m in (4, 7, 10)
                  if start < date(y, m, 1) < end]
    return sorted(ticks, key=lambda k: k.x)


def bands(t: EmployerTimeline) -> list[tuple[str, date, date | None]]:
    """The status intervals up to as-of: registered until the first certificate, certified
    while one is in force (a renewal continues it), then how the last one ended."""
    if t.registration is None:
        return []
    out: list[tuple[str, date, date | None]] = []
    cursor, status = t.registration.registered, "registered"
    for cert in t.certificates:
        if cert.issued > cursor:
            out.append((status, cursor, cert.issued))
        cursor, status = cert.issued, "certified"
        if cert.ended_on is not None and cert.ended != "renewed":
            out.append(("certified", cert.issued, cert.ended_on))
            cursor, status = cert.ended_on, cert.ended or "registered"
    out.append((status, cursor, None))
    merged: list[tuple[str, date, date | None]] = []
    for status, start, end in out:
        if merged and merged[-1][0] == status and merged[-1][2] == start:
            merged[-1] = (status, merged[-1][1], end)
        elif end is None or end > start:
            merged.append((status, start, end))
    return merged


def _audit_marks(scale: _Scale, a: AuditRecord) -> list[Mark]:
    key = event_key(a.event)
    if not a.counts:
        tone, verdict = "fail", "does not count"
    elif a.repairs is not None:
        tone, verdict = "pending", f"re-audit of {a.repairs}"
    else:
        tone, verdict = ("pass", "pass") if a.passes else ("fail", "fail")
    score = f" {a.overall}" if a.counts and a.repairs is None else ""
    marks = [Mark(key, scale.x(a.submitted), 1, "diamond", tone,
                  f"{a.kind} {a.audit}: {verdict}{score}",
                  f"{a.kind} audit {a.audit} submitted {a.submitted}: "
                  f"{a.verdict or verdict} (overall {a.overall})")]
    if a.qa_outcome is not None and a.qa_date is not None and a.qa_event is not None:
        qa_tone = "pass" if a.accepted else "fail"
        marks.append(Mark(event_key(a.qa_event), scale.x(a.qa_date), 2, "circle", qa_tone,
                          f"QA {a.qa_outcome}", f"QA {a.qa_outcome} audit {a.audit} on "
                                                f"{a.qa_date}"))
    elif a.counts:
        marks.append(Mark(None, scale.x(a.submitted), 2, "circle", "pending", "QA pending",
                          f"audit {a.audit} awaits QA"))
    return marks


def _deadline_marks(scale: _Scale, t: EmployerTimeline) -> list[Mark]:
    marks: list[Mark] = []
    for miss in t.misses:
        missed = miss.requirement
        if missed.due is not None:
            marks.append(Mark(None, scale.x(missed.due), 3, "flag", "fail",
                              f"{missed.kind} due {missed.due}: missed",
                              f"{missed.kind} audit was due {missed.due}; the certificate "
                              f"was {miss.how} on {miss.lapsed_on}"))
    req = t.requirement
    if req is not None and req.due is not None:
        due = req.due
        what = f"{req.kind} {req.number}" if req.number else req.kind
        marks.append(Mark(None, scale.x(due), 3, "flag", "due", f"{what} due {due}",
                          f"next required audit: {what}, due {due}"))
        if req.grace_end is not None:
            marks.append(Mark(None, scale.x(due), 4, "bar", "grace",
                              f"grace to {req.grace_end}",
                              f"grace: an audit submitted by {req.grace_end} still counts",
                              x2=scale.x(req.grace_end + timedelta(days=1))))
    return marks


ROW_TITLES = {0: "certificates", 1: "audits", 2: "QA", 3: "due dates", 4: "grace",
              5: "other facts"}
OTHER_FACTS = {"EmployerRegistered": "registered", "SeriousIncidentReported": "incident",
               "ReviewClosed": "review closed", "CertificationRevoked": "revoked",
               "ScopeChanged": "scope change", "ProgramChanged": "program change"}


MAX_LABEL_LINES = 3
ROW_H, LINE_H = 20, 13


def _pack(marks: list[Mark], top: float
          ) -> tuple[list[Mark], float, list[tuple[int, float]]]:
    """Places the rows from ``top`` down and gives each label a line under its row so labels
    do not overlap (at most :data:`MAX_LABEL_LINES`; a label with no room is left to the
    tooltip and the table). Returns the marks and the y below the last row."""
    ends: dict[tuple[int, int], float] = {}
    levels: list[tuple[Mark, int]] = []
    for m in sorted(marks, key=lambda m: (m.row, m.x)):
        level = 0
        width = len(m.label) * CHAR_W + 12
        if m.x - 6 + width > WIDTH - 2:
            m = replace(m, anchor="end")
        start = m.x - 6 if m.anchor == "start" else m.x + 6 - width
        if m.label:
            while ends.get((m.row, level), -1e9) > start and level < MAX_LABEL_LINES:
                level += 1
            if level < MAX_LABEL_LINES:
                ends[(m.row, level)] = max(start + width, m.x + 8)
        levels.append((m, level))
    out, y = [], top
    rows: list[tuple[int, float]] = []
    for row in sorted({m.row for m in marks}):
        rows.append((row, y + ROW_H / 2))
        in_row = [(m, lv) for m, lv in levels if m.row == row]
        lines = max((lv + 1 for m, lv in in_row if m.label and lv < MAX_LABEL_LINES), default=0)
        mid = y + ROW_H / 2
        for m, lv in in_row:
            shown = m.label if lv < MAX_LABEL_LINES else ""
            out.append(replace(m, label=shown, y=mid, label_y=mid + 14 + lv * LINE_H))
        y += ROW_H + lines * LINE_H + 4
    return out, y, rows


def layout(t: EmployerTimeline, stream: Sequence[ev.LedgerEvent],
           selected: str | None = None) -> TimelineLayout:
    """Positions and labels of both lanes for ``t`` (folded as of ``t.as_of``, known at
    ``t.known_at``), with every event of ``stream`` on the recorded-time lane."""
    stream = [e for e in stream if not e.reference]
    start, end = _span(t, stream)
    scale = _Scale(start, end)
    drawn_bands = []
    for status, b_start, b_end in bands(t):
        x1 = scale.x(b_start)
        x2 = scale.x(min(b_end, t.as_of + timedelta(days=1)) if b_end else
                     t.as_of + timedelta(days=1))
        width = max(x2 - x1, 1.5)
        drawn_bands.append(Band(status, b_start, b_end, x1, width,
                                width >= len(status) * CHAR_W + 8))
    valid: list[Mark] = []
    for cert in t.certificates:
        valid.append(Mark(None, scale.x(cert.issued), 0, "bar", "cert",
                          f"certificate {cert.issued.year}" + (
                              f", {cert.ended} {cert.ended_on}" if cert.ended else
                              f" to {cert.expires}"),
                          f"certificate issued {cert.issued}, expires {cert.expires}"
                          + (f", {cert.ended} {cert.ended_on}" if cert.ended else ""),
                          x2=scale.x(cert.ended_on or cert.expires)))
    for audit in t.audits.values():
        valid += _audit_marks(scale, audit)
    valid += _deadline_marks(scale, t)
    for e in t.events:
        if e.type_name() in OTHER_FACTS:
            valid.append(Mark(event_key(e), scale.x(e.effective), 5, "tick", "plain",
                              OTHER_FACTS[e.type_name()],
                              f"{e.type_name()} effective {e.effective}"))
    valid_marks, valid_bottom, rows = _pack(valid, BAND_Y + BAND_H + 8)
    recorded_title_y = valid_bottom + GAP + 8
    recorded, connectors = _recorded_lane(scale, t, stream)
    recorded_marks, bottom, _ = _pack(recorded, recorded_title_y + 10)
    known_x = scale.moment(t.known_at) if t.known_at is not None else None
    return TimelineLayout(start, end, _ticks(scale, start, end), drawn_bands, valid_marks,
                          recorded_marks, connectors, scale.x(t.as_of), known_x, t.as_of,
                          t.known_at, selected,
                          row_titles=[(ROW_TITLES[r], y) for r, y in rows],
                          valid_bottom=valid_bottom,
                          recorded_title_y=recorded_title_y,
                          recorded_line_y=recorded_marks[0].y if recorded_marks else bottom,
                          height=bottom + 8)


def _recorded_lane(scale: _Scale, t: EmployerTimeline, stream: Sequence[ev.LedgerEvent]
                   ) -> tuple[list[Mark], list[Connector]]:
    known = {id(e) for e in in_view(stream, t.known_at)} if t.known_at else None
    seen = {id(e) for e in stream if t.known_at is None
            or _aware(e.recorded_at) <= t.known_at}
    voided = {e.target for e in stream if isinstance(e, ev.EventVoided) and id(e) in seen}
    marks, connectors = [], []
    for e in stream:
        key = event_key(e)
        late = is_late(e)
        if id(e) not in seen:
            tone = "unknown"
        elif isinstance(e, ev.EventVoided):
            tone = "void"
        elif e.event_id in voided and (known is None or id(e) not in known):
            tone = "voided"
        else:
            tone = "late" if late else "plain"
        noted = tone in ("late", "void", "voided") or (tone == "unknown" and late)
        label = _short(e) if noted else ""
        if tone == "unknown" and late:
            label += " (recorded later)"
        elif tone == "late":
            label += f" (late: {(_recorded_day(e) - e.effective).days} days)"
        elif tone == "void":
            label = f"void of {e.target}"  # type: ignore[attr-defined]
        elif tone == "voided":
            label += " (voided)"
        title = (f"{e.type_name()} {key}: effective {e.effective}, recorded "
                 f"{_aware(e.recorded_at).isoformat().replace('+00:00', 'Z')}")
        shape = "cross" if tone == "void" else "circle"
        marks.append(Mark(key, scale.moment(e.recorded_at), 0, shape, tone, label, title,
                          late=late))
        connectors.append(Connector(key, scale.x(e.effective), scale.moment(e.recorded_at),
                                    late, tone != "unknown"))
    return marks, connectors


def _short(e: ev.LedgerEvent) -> str:
    if isinstance(e, ev.AuditSubmitted):
        return f"audit {e.audit}"
    if isinstance(e, ev.QADecided):
        return f"QA {e.audit}"
    return OTHER_FACTS.get(e.type_name(), e.type_name())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
