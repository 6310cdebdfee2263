"""Validation of interchange events at the boundary (marshmallow), one schema per type.

Strict on purpose: a regulator's record should not depend on guesses. Unknown fields, wrong
JSON types (a number for money, a string for a score, ``1`` for ``true``), dates that are not
``YYYY-MM-DD`` or do not exist, and values outside their enumerations are refused, and every
refusal names its field (``data.overall``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ledger.events import (
    AUDIT_KINDS,
    AUDITOR_TYPES,
    EVENT_TYPES,
    PARTNERS,
    PROGRAMS,
    QA_OUTCOMES,
    REVIEW_OUTCOMES,
    SCOPE_CHANGES,
)

LAPSE_LEVELS = ("missed", "critical", "warning", "notice")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY = re.compile(r"^\d{1,15}(\.\d{1,2})?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class IsoDate(fields.Field):
    """A calendar date written ``YYYY-MM-DD`` that exists (2020-02-30 does not)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> date:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValidationError(f"must be a date written YYYY-MM-DD, got {value!r}")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not a date that exists") from None


class AwareTime(fields.Field):
    """An ISO 8601 date-time with an offset (``Z`` or ``+hh:mm``), converted to UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> datetime:
        if not isinstance(value, str) or not _DATETIME.match(value):
            raise ValidationError(
                f"must be an ISO date-time with offset, like 2021-06-11T15:02:00Z; got {value!r}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not a date-time that exists") from None
        if parsed.tzinfo is None:
            raise ValidationError(f"{value!r} has no offset: add Z for UTC")
        return parsed.astimezone(UTC)


class MoneyField(fields.Field):
    """Dollars as a decimal string with at most two places (``"8000.00"``), never a float."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError(
                f'must be a decimal string such as "8000.00", not {type(value).__name__} {value!r}')
        if not _MONEY.match(value):
            raise ValidationError(
                f'must be a non-negative amount with at most two decimal places, got {value!r}')
        return Decimal(value)


class ScoreField(fields.Field):
    """An audit score: a JSON number from 0 to 100."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValidationError(f"must be a number from 0 to 100, got {value!r}")
        try:
            score = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(f"must be a number from 0 to 100, got {value!r}") from None
        if not score.is_finite() or not 0 <= score <= 100:
            raise ValidationError(f"must be from 0 to 100, got {value}")
        return score


class StrictInt(fields.Field):
    """A JSON integer (not a bool, not a float, not a string)."""

    def __init__(self, minimum: int | None = None, maximum: int | None = None, **kw: Any):
        super().__init__(**kw)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be a whole number, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(f"must be at least {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(f"must be at most {self.maximum}, got {value}")
        return value


class StrictBool(fields.Field):
    """A JSON ``true`` or ``false``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(f"must be true or false, got {value!r}")
        return value


class Text(fields.Field):
    """A non-empty JSON string."""

    def __init__(self, *, max_length: int = 10_000, **kw: Any):
        super().__init__(**kw)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(f"must be a string, got {value!r}")
        if not value.strip():
            raise ValidationError("must not be empty")
        if len(value) > self.max_length:
            raise ValidationError(f"must be at most {self.max_length} characters")
        return value


def one_of(choices: tuple[str, ...], **kw: Any) -> Text:
    return Text(validate=validate.OneOf(choices, error="must be one of {choices}; got {input}"),
                **kw)


def text_list(**kw: Any) -> fields.List:
    return fields.List(Text(), **kw)


class DataSchema(Schema):
    """Base of the ``data`` schemas: unknown fields are refused."""

    class Meta:
        unknown = RAISE


class EmployerRegisteredData(DataSchema):
    name = Text(required=True)
    partner = one_of(PARTNERS, required=True)
    program = one_of(PROGRAMS, required=True)
    classification_units = text_list(required=True)
    headcount = StrictInt(minimum=0, allow_none=True)


class HeadcountReportedData(DataSchema):
    headcount = StrictInt(minimum=0, required=True)


class CUData(DataSchema):
    cu = Text(required=True)


class ScopeChangedData(DataSchema):
    change = one_of(SCOPE_CHANGES, required=True)
    detail = Text(allow_none=True)
    certification_audit_required = StrictBool(allow_none=True, load_default=None)


class ProgramChangedData(DataSchema):
    program = one_of(PROGRAMS, required=True)
    reason = Text(allow_none=True)


class AuditorData(DataSchema):
    auditor = Text(required=True)


class AuditNoticeFiledData(DataSchema):
    audit = Text(required=True)
    planned_start = IsoDate(required=True)
    team = StrictBool()


class AuditSubmittedData(DataSchema):
    audit = Text(required=True)
    kind = one_of(AUDIT_KINDS, required=True)
    auditor = Text(required=True)
    auditor_type = one_of(AUDITOR_TYPES, required=True)
    started = IsoDate(required=True)
    completed = IsoDate(required=True)
    overall = ScoreField(required=True)
    elements = fields.Dict(keys=Text(), values=ScoreField(), required=True)
    student = StrictBool()
    employees_at_audit = StrictInt(minimum=0, allow_none=True)
    classification_units = text_list(allow_none=True)


class QADecidedData(DataSchema):
    audit = Text(required=True)
    outcome = one_of(QA_OUTCOMES, required=True)
    reasons = text_list(allow_none=True)


class SeriousIncidentReportedData(DataSchema):
    fatality = StrictBool(required=True)
    description = Text(required=True)


class ReviewClosedData(DataSchema):
    outcome = one_of(REVIEW_OUTCOMES, required=True)


class CertificationRevokedData(DataSchema):
    authority = Text(required=True)
    reason = Text(required=True)


class ViolationRecordedData(DataSchema):
    kind = Text(required=True)
    penalty = StrictBool(required=True)


class CaseData(DataSchema):
    case = Text(required=True)


class InvestigationOpenedData(CaseData):
    incident_date = IsoDate(allow_none=True)


class AuditWaiverGrantedData(DataSchema):
    waiver = Text(required=True)
    authority = Text(required=True)


YEAR = {"minimum": 1900, "maximum": 2200}


class BaseRateSetData(DataSchema):
    jurisdiction = Text(required=True)
    cu = Text(required=True)
    year = StrictInt(required=True, **YEAR)
    base_rate = MoneyField(required=True)


class PayrollReportedData(DataSchema):
    year = StrictInt(required=True, **YEAR)
    cu = Text(required=True)
    assessable_payroll = MoneyField(required=True)
    deadline = IsoDate(allow_none=True)


class PremiumPaidData(DataSchema):
    year = StrictInt(required=True, **YEAR)
    cu = Text(required=True)
    amount = MoneyField(required=True)


class IncentivePaidData(DataSchema):
    year = StrictInt(required=True, **YEAR)
    amount = MoneyField(required=True)


class EventVoidedData(DataSchema):
    target = Text(required=True, max_length=128)
    reason = Text(required=True)


class LapseRiskFlaggedData(DataSchema):
    due = IsoDate(required=True)
    level = one_of(LAPSE_LEVELS, required=True)
    reasons = text_list(required=True)


DATA_SCHEMAS: dict[str, Schema] = {
    "EmployerRegistered": EmployerRegisteredData(),
    "HeadcountReported": HeadcountReportedData(),
    "ClassificationUnitAdded": CUData(),
    "ClassificationUnitRemoved": CUData(),
    "ScopeChanged": ScopeChangedData(),
    "ProgramChanged": ProgramChangedData(),
    "InternalAuditorQualified": AuditorData(),
    "InternalAuditorLeft": AuditorData(),
    "AuditNoticeFiled": AuditNoticeFiledData(),
    "AuditSubmitted": AuditSubmittedData(),
    "QADecided": QADecidedData(),
    "SeriousIncidentReported": SeriousIncidentReportedData(),
    "ReviewClosed": ReviewClosedData(),
    "CertificationRevoked": CertificationRevokedData(),
    "ViolationRecorded": ViolationRecordedData(),
    "InvestigationOpened": InvestigationOpenedData(),
    "InvestigationClosed": CaseData(),
    "AuditWaiverGranted": AuditWaiverGrantedData(),
    "BaseRateSet": BaseRateSetData(),
    "PayrollReported": PayrollReportedData(),
    "PremiumPaid": PremiumPaidData(),
    "IncentivePaid": IncentivePaidData(),
    "EventVoided": EventVoidedData(),
    "LapseRiskFlagged": LapseRiskFlaggedData(),
}
assert set(DATA_SCHEMAS) == set(EVENT_TYPES), "every event type needs a data schema"


class EnvelopeSchema(Schema):
    """The fields every event line carries; ``data`` is checked by its type's schema."""

    class Meta:
        unknown = RAISE

    id = Text(max_length=128)
    type = Text(required=True, validate=validate.OneOf(
        tuple(EVENT_TYPES), error="unknown event type {input!r} (see INTERCHANGE.md v1)"))
    employer = Text(max_length=128, allow_none=True)
    effective = IsoDate(required=True)
    recorded_at = AwareTime(allow_none=True)
    by = Text(allow_none=True, max_length=256)
    data = fields.Dict(required=True)

    @validates_schema
    def employer_matches_type(self, envelope: dict[str, Any], **_: Any) -> None:
        cls = EVENT_TYPES.get(envelope.get("type", ""))
        if cls is None:
            return
        if cls.reference and envelope.get("employer") is not None:
            raise ValidationError("reference data has no employer", "employer")
        if not cls.reference and not cls.employer_optional \
                and envelope.get("employer") is None:
            raise ValidationError("Missing data for required field.", "employer")


ENVELOPE = EnvelopeSchema()


def flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested messages as (field path, message) pairs."""
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key, sub in messages.items():
            if key in ("_schema", "value"):  # a schema-wide error; a dict value's error
                path = prefix
            elif key == "key":  # a dict key's error
                path = f"{prefix} (name)"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten(sub, path))
        return out
    if isinstance(messages, list):
        return [(prefix or "line", str(m)) for m in messages]
    return [(prefix or "line", str(messages))]


def load_event(obj: Any) -> dict[str, Any]:
    """Validates one decoded JSON line; returns the envelope with typed ``data``.

    Raises ``ValidationError`` whose ``messages`` flatten to field paths.
    """
    if not isinstance(obj, dict):
        raise ValidationError({"line": [f"must be a JSON object, got {type(obj).__name__}"]})
    errors: dict[str, Any] = {}
    envelope: dict[str, Any] = {}
    try:
        envelope = ENVELOPE.load(obj)
    except ValidationError as exc:
        errors.update(exc.messages)  # type: ignore[arg-type]
    type_name = obj.get("type")
    schema = DATA_SCHEMAS.get(type_name) if isinstance(type_name, str) else None
    data = obj.get("data")
    if schema is not None and isinstance(data, dict):
        try:
            loaded = schema.load(data)
        except ValidationError as exc:
            errors["data"] = exc.messages
        else:
            envelope["data"] = {k: tuple(v) if isinstance(v, list) else v
                                for k, v in loaded.items()}
    if errors:
        raise ValidationError(errors)
    return envelope
