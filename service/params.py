"""The query parameters of the API, as marshmallow schemas (flask-smorest validates them and
documents them in the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from ledger.events import PARTNERS

MAX_VERIFY = 150  # WorkSafeBC's clearance letters check up to 150 firms at once


class KnownAt(fields.Field):
    """An ISO date-time (offset optional, UTC assumed); a bare date is the end of that UTC
    day, as ``--known-at`` reads it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        text = str(value).strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time.max, UTC)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{value!r} is not an ISO date-time "
                                  "(e.g. 2016-07-01T00:00:00Z)") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class StatusArgs(Schema):
    as_of = fields.Date(metadata={"description": "the date the status is for (default today)"})
    known_at = KnownAt(metadata={"description": "only what the ledger knew at this time"})


class HistoryArgs(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0),
                           metadata={"description": "events after this position"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                           metadata={"description": "at most this many events"})


class IncentiveArgs(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=1900, max=9999))
    known_at = KnownAt()


class LapsesArgs(Schema):
    as_of = fields.Date()
    within = fields.Integer(load_default=90, validate=validate.Range(min=0, max=3660))
    partner = fields.String(validate=validate.OneOf(PARTNERS))


class RollArgs(Schema):
    as_of = fields.Date()
    partner = fields.String(validate=validate.OneOf(PARTNERS))


class IncentivesArgs(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=1900, max=9999))
    partner = fields.String(validate=validate.OneOf(PARTNERS))
    known_at = KnownAt()


class RulesArgs(Schema):
    partner = fields.String(validate=validate.OneOf(PARTNERS))


class VerifyArgs(Schema):
    employer = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                           required=True,
                           validate=validate.Length(min=1, max=MAX_VERIFY,
                                                    error=f"from 1 to {MAX_VERIFY} employers"))


class ScanArgs(Schema):
    as_of = fields.Date()
    within = fields.Integer(load_default=90, validate=validate.Range(min=0, max=3660))


class ViewArg(fields.Field):
    """``AS_OF[@KNOWN_AT]``, as ``corledger diff --from`` reads it: ``(as_of, known_at)``,
    either part None when left out (as-of: today; known-at: everything recorded)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> tuple[date | None, datetime | None]:
        as_of_text, at, known_text = str(value).partition("@")
        try:
            as_of = date.fromisoformat(as_of_text.strip()) if as_of_text.strip() else None
        except ValueError:
            raise ValidationError(f"{as_of_text!r} is not a date (YYYY-MM-DD)") from None
        if at and not known_text.strip():
            raise ValidationError(f"{value!r}: nothing after '@' (give a known-at time, or "
                                  "leave out the '@')")
        known_at = KnownAt()._deserialize(known_text, attr, data) if known_text.strip() \
            else None
        return as_of, known_at


class DiffArgs(Schema):
    from_ = ViewArg(required=True, data_key="from",
                    metadata={"description": "the first view, AS_OF[@KNOWN_AT]"})
    to = ViewArg(metadata={"description": "the second view (default: today, known now)"})
    year = fields.Integer(validate=validate.Range(min=1900, max=9999),
                          metadata={"description": "also compare this year's incentive"})


class ChangesArgs(Schema):
    since = KnownAt(required=True, metadata={"description": "the earlier transaction time"})
    until = KnownAt(metadata={"description": "the later one (default: everything recorded)"})
    as_of = fields.Date(metadata={"description": "the date the status is for (default today)"})
    partner = fields.String(validate=validate.OneOf(PARTNERS))
