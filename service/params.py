"""The query parameters of the API, as marshmallow schemas (flask-smorest validates them and
documents them in the OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from commands.options import MAX_WITHIN_DAYS, check_interval, check_reach, read_known_at
from ledger.events import PARTNERS

MAX_VERIFY = 150  # WorkSafeBC's clearance letters check up to 150 firms at once


class KnownAt(fields.Field):
    """An ISO date-time (offset optional, UTC assumed); a bare date is the end of that UTC
    day, as ``--known-at`` reads it (:func:`commands.options.read_known_at`: one rule, so a
    time the command line refuses is refused here, never an overflow further in)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return read_known_at(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class InReach(Schema):
    """An ``as_of`` date (and the ``within`` window of the schemas that have one) that stays
    inside the years 1 to 9999, as the command line's ``--as-of`` must
    (:func:`commands.options.check_reach`); otherwise an error naming ``as_of``."""

    @validates_schema
    def _in_reach(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("as_of") is None:
            return
        try:
            check_reach(data["as_of"], data.get("within", 0))
        except ValueError as exc:
            raise ValidationError(str(exc), field_name="as_of") from None


class LedgerAxis(Schema):
    """The ledger's own time axis, as the command line's ``--ledger-at``/``--tree-size``:
    only the events the ledger had appended by a time, or its log's first N events, so a
    published answer (its receipt names the tree size) replays exactly."""

    ledger_at = KnownAt(metadata={"description": "only the events the ledger had appended by "
                                                 "this time, whatever their recorded_at"})
    tree_size = fields.Integer(validate=validate.Range(min=0), metadata={
        "description": "only the first N events of the ledger's log (a receipt's tree size)"})

    @validates_schema
    def _one_pin(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("ledger_at") is not None and data.get("tree_size") is not None:
            raise ValidationError("give ledger_at or tree_size, not both",
                                  field_name="tree_size")


class StatusArgs(InReach, LedgerAxis):
    as_of = fields.Date(metadata={"description": "the date the status is for (default today)"})
    known_at = KnownAt(metadata={"description": "only what the ledger knew at this time"})


class HistoryArgs(LedgerAxis):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0),
                           metadata={"description": "events after this position"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                           metadata={"description": "at most this many events"})


class IncentiveArgs(LedgerAxis):
    year = fields.Integer(required=True, validate=validate.Range(min=1900, max=9999))
    known_at = KnownAt()


class LapsesArgs(InReach, LedgerAxis):
    as_of = fields.Date()
    within = fields.Integer(load_default=90, validate=validate.Range(min=0, max=MAX_WITHIN_DAYS))
    partner = fields.String(validate=validate.OneOf(PARTNERS))
    known_at = KnownAt(metadata={"description": "only what the ledger knew at this time"})


class RollArgs(InReach, LedgerAxis):
    as_of = fields.Date()
    partner = fields.String(validate=validate.OneOf(PARTNERS))
    known_at = KnownAt(metadata={"description": "the roll as the ledger knew it then (as "
                                                "published that day)"})


class IncentivesArgs(LedgerAxis):
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


class ScanArgs(InReach):
    as_of = fields.Date()
    # left out: the configured window (scan.within), as `corledger scan` without --within
    within = fields.Integer(validate=validate.Range(min=0, max=MAX_WITHIN_DAYS))


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


class DiffArgs(LedgerAxis):
    from_ = ViewArg(required=True, data_key="from",
                    metadata={"description": "the first view, AS_OF[@KNOWN_AT]"})
    to = ViewArg(metadata={"description": "the second view (default: today, known now)"})
    year = fields.Integer(validate=validate.Range(min=1900, max=9999),
                          metadata={"description": "also compare this year's incentive"})


class ChangesArgs(LedgerAxis):
    since = KnownAt(required=True, metadata={"description": "the earlier transaction time"})
    until = KnownAt(metadata={"description": "the later one (default: everything recorded)"})
    as_of = fields.Date(metadata={"description": "the date the status is for (default today)"})
    partner = fields.String(validate=validate.OneOf(PARTNERS))

    @validates_schema
    def _in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        try:  # skipped when a field is already refused (since is then present)
            check_interval(data["since"], data.get("until"))
        except ValueError as exc:
            raise ValidationError(str(exc), field_name="until") from None
