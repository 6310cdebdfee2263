"""The event catalogue: every fact the ledger records, as an immutable domain event.

Each class is one interchange type of ``spec/INTERCHANGE.md`` (v1). The envelope fields
(`event_id`, `employer`, `effective`, `recorded_at`, `by`) sit on :class:`LedgerEvent`; the
type's ``data`` fields are the subclass's own fields, typed (dates as ``date``, money and
scores as ``Decimal``). ``timestamp`` (from eventsourcing) is the ledger's own append time.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import DomainEvent

from ledger import ids

PARTNERS = ("BCCSA", "GO2HR", "AMHSA", "GENERIC")
PROGRAMS = ("COR", "SECOR")
AUDIT_KINDS = ("certification", "recertification", "maintenance", "limited_scope")
AUDITOR_TYPES = ("internal", "external")
QA_OUTCOMES = ("accepted", "rejected")
REVIEW_OUTCOMES = ("certificate_stands", "revoked")
SCOPE_CHANGES = ("merger", "acquisition", "account_number", "other")
LAPSE_LEVELS = ("missed", "critical", "warning", "notice")

MONEY = "money"
SCORE = "score"
STATED = "stated"  # the sender must give the key, though its value may be null
Money = Annotated[Decimal, MONEY]
"""An amount of dollars: a decimal string with two places in JSON, never a float."""
Score = Annotated[Decimal, SCORE]
"""An audit score from 0 to 100: a JSON number, held as Decimal so 79.99 never rounds up (a
number written more precisely than it is read is refused at import:
:func:`commands.importer.inexact_number`)."""



# --- what a field accepts ---------------------------------------------------------------
#
# Each event's fields are declared once, below, as typed class attributes; these markers in
# ``Annotated`` say what the boundary accepts beyond the type. ``commands.schemas`` derives
# the marshmallow schemas (and so the import's fast path) from them; the codec ignores them.


@dataclass(frozen=True)
class Choice:
    """The text must be one of these values."""

    choices: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """The whole number must lie within these bounds (None: unbounded)."""

    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class TextRule:
    """Limits of a text: its length, and whether tabs and line breaks may appear in it."""

    max_length: int = 10_000
    single_line: bool = False


Count = Annotated[int, Range(minimum=0)]
"""A number of people: a whole number, zero or more."""
Year = Annotated[int, Range(1900, 2200)]
"""A calendar (payroll, incentive) year."""
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2200, 12, 31)
"""The dates an event may carry (``effective`` and every date in its data), the years a
:data:`Year` may name: far enough that the rules' own date arithmetic (an expiry three
years on, a window of days, the reach of a query) stays inside the calendar."""
EventRef = Annotated[str, TextRule(max_length=128, single_line=True)]
"""A sender's event ``id``, as another event names it (a void's ``target``)."""
Partner = Annotated[str, Choice(PARTNERS)]
Program = Annotated[str, Choice(PROGRAMS)]
AuditKind = Annotated[str, Choice(AUDIT_KINDS)]
AuditorType = Annotated[str, Choice(AUDITOR_TYPES)]
QAOutcome = Annotated[str, Choice(QA_OUTCOMES)]
ReviewOutcome = Annotated[str, Choice(REVIEW_OUTCOMES)]
ScopeChange = Annotated[str, Choice(SCOPE_CHANGES)]
LapseLevel = Annotated[str, Choice(LAPSE_LEVELS)]

EMPLOYER_ID = ids.EMPLOYER_ID  # the one definition, in ledger/ids.py (re-exported here)

STREAM_NAMESPACE = uuid5(NAMESPACE_URL, "https://corledger/streams")
REFERENCE_STREAM = "@reference"  # the stream of reference data (base rates)


@lru_cache(maxsize=65536)
def stream_id(employer: str | None) -> UUID:
    """The deterministic stream id of an employer (or of the reference stream for None)."""
    return uuid5(STREAM_NAMESPACE, employer if employer is not None else REFERENCE_STREAM)


class LedgerEvent(DomainEvent):
    """The envelope every ledger event carries.

    ``effective`` is valid time (when the fact took effect in the world); ``recorded_at`` is
    transaction time (when the ledger learned it, UTC); ``timestamp`` is when it was appended.
    """

    event_id: str | None
    employer: str | None
    effective: date
    recorded_at: datetime
    by: str | None

    class_version: ClassVar[int] = 1
    reference: ClassVar[bool] = False  # reference data has no employer
    employer_optional: ClassVar[bool] = False  # may be sent with or without an employer

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def data_fields(cls) -> tuple[dataclasses.Field[Any], ...]:
        """The fields of the type's ``data`` object, in declaration order."""
        return _data_fields(cls)

    def data(self) -> dict[str, Any]:
        """The typed ``data`` values of this event."""
        return {f.name: getattr(self, f.name) for f in self.data_fields()}


_ENVELOPE = {"originator_id", "originator_version", "timestamp", "event_id", "employer",
             "effective", "recorded_at", "by"}
_FIELDS_CACHE: dict[type, tuple[dataclasses.Field[Any], ...]] = {}
_HINTS_CACHE: dict[type, dict[str, Any]] = {}


def _data_fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    cached = _FIELDS_CACHE.get(cls)
    if cached is None:
        cached = tuple(f for f in dataclasses.fields(cls) if f.name not in _ENVELOPE)
        _FIELDS_CACHE[cls] = cached
    return cached


def type_hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of an event class (cached: the codec asks on every event)."""
    cached = _HINTS_CACHE.get(cls)
    if cached is None:
        cached = typing.get_type_hints(cls, include_extras=True)
        _HINTS_CACHE[cls] = cached
    return cached


# --- registration and scope -------------------------------------------------------------


class EmployerRegistered(LedgerEvent):
    """Enrolment with a certifying partner; the partner picks the rulebook."""

    name: str
    partner: Partner
    program: Program
    classification_units: tuple[str, ...]
    headcount: Count | None = None


class HeadcountReported(LedgerEvent):
    """Employees as the partner counts them (part-time, seasonal, subcontractors included)."""

    headcount: Count


class ClassificationUnitAdded(LedgerEvent):
    cu: str


class ClassificationUnitRemoved(LedgerEvent):
    cu: str


class ScopeChanged(LedgerEvent):
    """A merger, acquisition or account change; the partner decides on a new audit."""

    change: ScopeChange
    # null while the partner has not decided, but never left out (INTERCHANGE); the default
    # only reads stored events written before the key was required
    certification_audit_required: Annotated[bool | None, STATED] = None
    detail: str | None = None


class ProgramChanged(LedgerEvent):
    program: Program
    reason: str | None = None


class InternalAuditorQualified(LedgerEvent):
    auditor: str


class InternalAuditorLeft(LedgerEvent):
    auditor: str


# --- audits -------------------------------------------------------------------------------


class AuditNoticeFiled(LedgerEvent):
    audit: str
    planned_start: date
    team: bool = False


class AuditSubmitted(LedgerEvent):
    """An audit handed to the partner; ``effective`` is the submission date."""

    audit: str
    kind: AuditKind
    auditor: str
    auditor_type: AuditorType
    started: date
    completed: date
    overall: Score
    elements: dict[str, Score]
    student: bool = False
    employees_at_audit: Count | None = None
    classification_units: tuple[str, ...] | None = None


class QADecided(LedgerEvent):
    """The partner's quality-assurance review of an audit; ``effective`` is the decision date."""

    audit: str
    outcome: QAOutcome
    reasons: tuple[str, ...] | None = None


# --- incidents and enforcement -------------------------------------------------------------


class SeriousIncidentReported(LedgerEvent):
    fatality: bool
    description: str


class ReviewClosed(LedgerEvent):
    outcome: ReviewOutcome


class CertificationRevoked(LedgerEvent):
    authority: str
    reason: str


class ViolationRecorded(LedgerEvent):
    kind: str
    penalty: bool


class InvestigationOpened(LedgerEvent):
    """An investigation that defers the incentive decision of its incident's year.

    v2 (2026-11-29) adds ``incident_date`` (None: the event's ``effective`` date).
    """

    class_version: ClassVar[int] = 2

    case: str
    incident_date: date | None = None

    @property
    def incident_on(self) -> date:
        """The day of the incident under investigation (default: the opening date)."""
        return self.incident_date or self.effective

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
        """v1 rows have no ``incident_date``: the incident is taken as on ``effective``."""
        return {**state, "v": 2, "data": {**state["data"], "incident_date": None}}


class InvestigationClosed(LedgerEvent):
    case: str


class AuditWaiverGranted(LedgerEvent):
    """WorkSafeBC's 2020 audit waiver for a certificate due for recertification (v2,
    2026-11-29); ``effective`` is the approval date. WorkSafeBC's rule ``audit-waiver``
    (ledger/rulebooks/worksafebc.py) decides whether it counts."""

    waiver: str
    authority: str


# --- money ------------------------------------------------------------------------------------


class BaseRateSet(LedgerEvent):
    """Reference data: the base rate per $100 of payroll for a CU and year."""

    reference: ClassVar[bool] = True

    jurisdiction: str
    cu: str
    year: Year
    base_rate: Money


class PayrollReported(LedgerEvent):
    year: Year
    cu: str
    assessable_payroll: Money
    deadline: date | None = None


class PremiumPaid(LedgerEvent):
    year: Year
    cu: str
    amount: Money


class IncentivePaid(LedgerEvent):
    year: Year
    amount: Money


# --- corrections and derived flags ----------------------------------------------------------------


class EventVoided(LedgerEvent):
    """A correction: from its ``recorded_at`` on, the target event no longer counts.

    Without an employer it voids reference data (a ``BaseRateSet``) and lives in the
    reference stream.
    """

    employer_optional: ClassVar[bool] = True

    target: EventRef
    reason: str


class LapseRiskFlagged(LedgerEvent):
    """Written by the scheduled lapse scan, at most once per employer, due date and level."""

    due: date
    level: LapseLevel
    reasons: tuple[str, ...]


EVENT_TYPES: dict[str, type[LedgerEvent]] = {
    cls.__name__: cls
    for cls in (
        EmployerRegistered, HeadcountReported, ClassificationUnitAdded, ClassificationUnitRemoved,
        ScopeChanged, ProgramChanged, InternalAuditorQualified, InternalAuditorLeft,
        AuditNoticeFiled, AuditSubmitted, QADecided, SeriousIncidentReported, ReviewClosed,
        CertificationRevoked, ViolationRecorded, InvestigationOpened, InvestigationClosed,
        AuditWaiverGranted, BaseRateSet, PayrollReported, PremiumPaid, IncentivePaid,
        EventVoided, LapseRiskFlagged,
    )
}
