"""Validation of interchange events at the boundary (marshmallow), one schema per type.

Strict on purpose: a regulator's record should not depend on guesses. Unknown fields, wrong
JSON types (a number for money, a string for a score, ``1`` for ``true``), dates that are not
``YYYY-MM-DD`` or do not exist, and values outside their enumerations are refused, and every
refusal names its field (``data.overall``). The ``data`` schemas are derived from the event
classes of :mod:`ledger.events`, where each event's fields are declared once.
"""

from __future__ import annotations

import dataclasses
import re
import reprlib
import typing
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from types import NoneType, UnionType
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ledger.events import (
    EMPLOYER_ID,
    EVENT_TYPES,
    FIRST_DAY,
    LAST_DAY,
    MONEY,
    SCORE,
    STATED,
    Choice,
    LedgerEvent,
    Range,
    TextRule,
    type_hints,
)

# The shapes the boundary accepts, each defined once and used by marshmallow's fields and by
# the fast path (:mod:`commands.fastpath`); always ``fullmatch``ed, ASCII digits only.
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MONEY_TEXT = re.compile(r"[0-9]{1,15}\.[0-9]{2}")
"""Money: a non-negative amount with exactly two decimal places, nothing around it."""
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")
"""A ``recorded_at``: RFC 3339 with ``T``, seconds, at most 6 fraction digits and an offset
whose hours run 00-23 and minutes 00-59 (RFC 3339 5.6 ``time-numoffset``: Python's
``fromisoformat`` alone would read ``+05:99`` as ``+06:39``)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0/C1 controls but tab, newline
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # every control character
_VISIBLE = frozenset("LNPS")  # Unicode categories that put ink on the page, but for:
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): code points a renderer
# shows as nothing. Most are format characters or marks, not in _VISIBLE's categories
# anyway; the letters among them, the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), are.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF))
_BLANK_SYMBOLS = "\u2800"  # BRAILLE PATTERN BLANK: a symbol that draws no dot
_INVISIBLE = frozenset(
    [chr(c) for low, high in _DEFAULT_IGNORABLE for c in range(low, high + 1)]
    + list(_BLANK_SYMBOLS))

_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother = 3, 60, 60


def shown(value: Any) -> str:
    """A value as an error message quotes it: short, and safe however deep it is nested."""
    return _short.repr(value)


def text_problem(value: str, single_line: bool = False) -> str | None:
    """Why a text is refused, or None: control characters (tab and newline are allowed unless
    ``single_line``), or nothing visible in it (empty, blank, only zero-width characters or
    others that render as nothing: :data:`_INVISIBLE`)."""
    bad = (_LINE_CONTROL if single_line else _CONTROL).search(value)
    if bad is not None:
        return (f"must not contain the control character U+{ord(bad.group()):04X}"
                f" (at character {bad.start() + 1})")
    if not any(unicodedata.category(c)[0] in _VISIBLE and c not in _INVISIBLE for c in value):
        return "must contain a visible character (it is empty, blank or invisible)"
    return None


class IsoDate(fields.Field):
    """A calendar date written ``YYYY-MM-DD`` that exists (2020-02-30 does not)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> date:
        if not isinstance(value, str) or not DATE.fullmatch(value):
            raise ValidationError(f"must be a date written YYYY-MM-DD, got {shown(value)}")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not a date that exists") from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(f"{value!r} is outside the dates the ledger keeps "
                                  f"({FIRST_DAY} to {LAST_DAY})")
        return day


class AwareTime(fields.Field):
    """An RFC 3339 date-time with an offset (``Z`` or ``+hh:mm``), converted to UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> datetime:
        if not isinstance(value, str) or not RFC3339.fullmatch(value):
            if isinstance(value, str) and RFC3339.fullmatch(value + "Z"):
                raise ValidationError(f"{value!r} has no offset: add Z for UTC")
            raise ValidationError(
                "must be an RFC 3339 date-time with offset, like 2021-06-11T15:02:00Z; "
                f"got {shown(value)}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not a date-time that exists") from None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                f"{value!r} is outside the years 1 to 9999 in UTC") from None


class MoneyField(fields.Field):
    """Dollars as a decimal string with exactly two places (``"8000.00"``), never a float."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError(
                f'must be a decimal string such as "8000.00", not {type(value).__name__} '
                f"{shown(value)}")
        if not MONEY_TEXT.fullmatch(value):
            raise ValidationError(
                "must be a non-negative amount with exactly two decimal places and nothing "
                f'around it, such as "8000.00"; got {shown(value)}')
        return Decimal(value)


class ScoreField(fields.Field):
    """An audit score: a JSON number from 0 to 100."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValidationError(f"must be a number from 0 to 100, got {shown(value)}")
        try:
            score = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(f"must be a number from 0 to 100, got {shown(value)}") from None
        if not score.is_finite() or not 0 <= score <= 100:
            raise ValidationError(f"must be from 0 to 100, got {shown(value)}")
        return score


class StrictInt(fields.Field):
    """A JSON integer (not a bool, not a float, not a string)."""

    def __init__(self, minimum: int | None = None, maximum: int | None = None, **kw: Any):
        super().__init__(**kw)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be a whole number, got {shown(value)}")
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(f"must be at least {self.minimum}, got {shown(value)}")
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(f"must be at most {self.maximum}, got {shown(value)}")
        return value


class StrictBool(fields.Field):
    """A JSON ``true`` or ``false``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(f"must be true or false, got {shown(value)}")
        return value


class Text(fields.Field):
    """A JSON string with something visible in it and no control characters."""

    def __init__(self, *, max_length: int = 10_000, single_line: bool = False, **kw: Any):
        super().__init__(**kw)
        self.max_length = max_length
        self.single_line = single_line

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(f"must be a string, got {shown(value)}")
        if len(value) > self.max_length:
            raise ValidationError(f"must be at most {self.max_length} characters")
        problem = text_problem(value, self.single_line)
        if problem is not None:
            raise ValidationError(problem)
        return value


class EmployerId(fields.Field):
    """An employer id as :data:`ledger.events.EMPLOYER_ID` spells it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(f"must be a string, got {shown(value)}")
        if not EMPLOYER_ID.fullmatch(value):
            raise ValidationError(
                "must be 1 to 64 ASCII letters, digits, '.', '_' or '-', starting and ending "
                f"with a letter or digit (like BC-1104729); got {shown(value)}")
        return value


class DataSchema(Schema):
    """Base of the ``data`` schemas: unknown fields are refused."""

    class Meta:
        unknown = RAISE


def unstated(hint: Any) -> Any:
    """The type a field marked :data:`ledger.events.STATED` holds (the marker says only that
    its key must be given); any other hint as it is."""
    if typing.get_origin(hint) is typing.Annotated and STATED in typing.get_args(hint)[1:]:
        return typing.get_args(hint)[0]
    return hint


def _field_for(hint: Any, has_default: bool) -> fields.Field:
    """The marshmallow field of one event-class field, from its type hint and markers.

    ``X | None`` allows null; a field with a default in the class may be left out (the class
    fills it in), unless marked :data:`ledger.events.STATED`; any other field is required.
    """
    stated = hint is not unstated(hint)
    hint = unstated(hint)
    optional = typing.get_origin(hint) in (typing.Union, UnionType) \
        and NoneType in typing.get_args(hint)
    kw: dict[str, Any] = {"required": stated or not (optional or has_default)}
    if optional:
        kw["allow_none"] = True
        (hint,) = [a for a in typing.get_args(hint) if a is not NoneType]
    return _value_field(hint, kw)


def _value_field(hint: Any, kw: dict[str, Any]) -> fields.Field:
    markers: tuple[Any, ...] = ()
    if typing.get_origin(hint) is typing.Annotated:
        hint, *extra = typing.get_args(hint)
        markers = tuple(extra)
    if MONEY in markers:
        return MoneyField(**kw)
    if SCORE in markers:
        return ScoreField(**kw)
    if hint is str:
        rule = next((m for m in markers if isinstance(m, TextRule)), TextRule())
        choice = next((m for m in markers if isinstance(m, Choice)), None)
        if choice is not None:
            kw["validate"] = validate.OneOf(choice.choices,
                                            error="must be one of {choices}; got {input}")
        return Text(max_length=rule.max_length, single_line=rule.single_line, **kw)
    if hint is bool:
        return StrictBool(**kw)
    if hint is int:
        bounds = next((m for m in markers if isinstance(m, Range)), Range())
        return StrictInt(minimum=bounds.minimum, maximum=bounds.maximum, **kw)
    if hint is date:
        return IsoDate(**kw)
    origin = typing.get_origin(hint)
    if origin is tuple and typing.get_args(hint)[1:] == (...,):
        return fields.List(_value_field(typing.get_args(hint)[0], {}), **kw)
    if origin is dict:
        key, value = typing.get_args(hint)
        return fields.Dict(keys=_value_field(key, {}), values=_value_field(value, {}), **kw)
    raise TypeError(f"no boundary field for the event field type {hint!r}")


def data_schema(cls: type[LedgerEvent]) -> Schema:
    """The ``data`` schema of an event type, derived from the class's fields (declared once,
    in :mod:`ledger.events`)."""
    hints = type_hints(cls)
    declared = {f.name: _field_for(hints[f.name], f.default is not dataclasses.MISSING)
                for f in cls.data_fields()}
    return DataSchema.from_dict(declared, name=f"{cls.__name__}Data")()


DATA_SCHEMAS: dict[str, Schema] = {name: data_schema(cls) for name, cls in EVENT_TYPES.items()}
assert set(DATA_SCHEMAS) == set(EVENT_TYPES), "every event type needs a data schema"


def _takes_fraction(field: fields.Field | None) -> bool:
    """Whether a field accepts a JSON number with a fraction (a score), itself or inside."""
    if isinstance(field, fields.List):
        return _takes_fraction(field.inner)
    if isinstance(field, fields.Dict):
        return _takes_fraction(field.value_field)
    return isinstance(field, ScoreField)


FRACTION_TYPES = frozenset(name for name, schema in DATA_SCHEMAS.items()
                           if any(_takes_fraction(f) for f in schema.fields.values()))
"""The event types whose lines may hold a number with a fraction: any other type's line
holding one is refused for its shape (no other field takes one)."""


class EnvelopeSchema(Schema):
    """The fields every event line carries; ``data`` is checked by its type's schema."""

    class Meta:
        unknown = RAISE

    id = Text(max_length=128, single_line=True)
    type = Text(required=True, validate=validate.OneOf(
        tuple(EVENT_TYPES), error="unknown event type {input!r} (see INTERCHANGE.md v1)"))
    employer = EmployerId(allow_none=True)
    effective = IsoDate(required=True)
    recorded_at = AwareTime(allow_none=True)
    by = Text(allow_none=True, max_length=256, single_line=True)
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
