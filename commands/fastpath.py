"""A fast path for validating interchange lines, compiled from the marshmallow schemas.

marshmallow is the authority on what a valid event is, but it spends ~50 µs a line, which
is most of an import. This module reads the schemas once and compiles, per event type, plain
checks and converters for the common case. It only ever *accepts*: a line it cannot prove
valid returns ``None`` and goes to marshmallow, which refuses it with the precise message.
``tests/test_fastpath.py`` checks that whenever the fast path accepts, marshmallow accepts
with the same typed values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from marshmallow import Schema, fields, missing, validate

from commands.schemas import (
    _DATE,
    _DATETIME,
    _MONEY,
    DATA_SCHEMAS,
    ENVELOPE,
    AwareTime,
    IsoDate,
    MoneyField,
    ScoreField,
    StrictBool,
    StrictInt,
    Text,
)
from ledger.events import EVENT_TYPES

_FAIL = object()  # a converter's "cannot prove this valid"
Converter = Callable[[Any], Any]


@lru_cache(maxsize=65536)
def _date(value: str) -> Any:
    if not _DATE.match(value):
        return _FAIL
    try:
        return date.fromisoformat(value)
    except ValueError:
        return _FAIL


def _iso_date(value: Any) -> Any:
    return _date(value) if type(value) is str else _FAIL


@lru_cache(maxsize=4096)
def _aware_time(value: str) -> Any:
    if not _DATETIME.match(value):
        return _FAIL
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return _FAIL
    return _FAIL if parsed.tzinfo is None else AwareTime().deserialize(value)


def _money(value: Any) -> Any:
    return Decimal(value) if type(value) is str and _MONEY.match(value) else _FAIL


def _score(value: Any) -> Any:
    kind = type(value)
    if kind is int:
        return Decimal(value) if 0 <= value <= 100 else _FAIL
    if kind is float:
        return Decimal(str(value)) if 0.0 <= value <= 100.0 else _FAIL
    return _FAIL


def _bool(value: Any) -> Any:
    return value if type(value) is bool else _FAIL


def _text(max_length: int, choices: frozenset[str] | None) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not str or not value.strip() or len(value) > max_length:
            return _FAIL
        if choices is not None and value not in choices:
            return _FAIL
        return value
    return convert


def _int(minimum: int | None, maximum: int | None) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not int:
            return _FAIL
        if (minimum is not None and value < minimum) or (maximum is not None
                                                         and value > maximum):
            return _FAIL
        return value
    return convert


def _list(item: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not list:
            return _FAIL
        out = tuple(item(v) for v in value)
        return _FAIL if _FAIL in out else out
    return convert


def _dict(key: Converter, item: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not dict:
            return _FAIL
        out = {}
        for k, v in value.items():
            ck, cv = key(k), item(v)
            if ck is _FAIL or cv is _FAIL:
                return _FAIL
            out[ck] = cv
        return out
    return convert


def compile_field(field: fields.Field) -> Converter | None:
    """The fast converter of one schema field, or None when it has no fast form."""
    if field.validators and not (isinstance(field, Text) and _one_of(field) is not None):
        return None
    if isinstance(field, IsoDate):
        return _iso_date
    if isinstance(field, AwareTime):
        return lambda v: _aware_time(v) if type(v) is str else _FAIL
    if isinstance(field, MoneyField):
        return _money
    if isinstance(field, ScoreField):
        return _score
    if isinstance(field, StrictBool):
        return _bool
    if isinstance(field, StrictInt):
        return _int(field.minimum, field.maximum)
    if isinstance(field, Text):
        return _text(field.max_length, _one_of(field))
    if isinstance(field, fields.List):
        inner = compile_field(field.inner)
        return _list(inner) if inner is not None else None
    if isinstance(field, fields.Dict):
        if field.key_field is None or field.value_field is None:
            return (lambda v: v if type(v) is dict else _FAIL) if field.key_field is None \
                and field.value_field is None else None
        key, item = compile_field(field.key_field), compile_field(field.value_field)
        return _dict(key, item) if key is not None and item is not None else None
    return None


def _one_of(field: fields.Field) -> frozenset[str] | None:
    choices = [v for v in field.validators if isinstance(v, validate.OneOf)]
    if len(choices) != len(field.validators) or len(choices) > 1:
        return None
    return frozenset(choices[0].choices) if choices else None


Plan = tuple[dict[str, tuple[Converter, bool, bool, Any]], frozenset[str]]


def compile_schema(schema: Schema) -> Plan | None:
    """Per field: (converter, required, allow_none, default); None if any field has no fast form.

    Schema-level validators (``@validates_schema``) are not compiled: the envelope's one is
    re-checked by :func:`fast_load` itself.
    """
    plan: dict[str, tuple[Converter, bool, bool, Any]] = {}
    for name, field in schema.fields.items():
        convert = compile_field(field)
        if convert is None:
            return None
        default = field.load_default
        plan[name] = (convert, field.required, field.allow_none,
                      default if default is not missing else _ABSENT)
    return plan, frozenset(plan)


_ABSENT = object()


def _apply(plan: Plan, obj: dict[str, Any]) -> dict[str, Any] | None:
    fields_plan, allowed = plan
    if not allowed.issuperset(obj):
        return None
    out: dict[str, Any] = {}
    for name, (convert, required, allow_none, default) in fields_plan.items():
        if name not in obj:
            if required:
                return None
            if default is not _ABSENT:
                out[name] = default
            continue
        value = obj[name]
        if value is None:
            if not allow_none:
                return None
            out[name] = None
            continue
        converted = convert(value)
        if converted is _FAIL:
            return None
        out[name] = converted
    return out


def _envelope_plan() -> Plan | None:
    """The envelope's plan without ``data``, which is checked by its type's own plan."""
    plan = compile_schema(ENVELOPE)
    if plan is None:
        return None
    checks = {k: v for k, v in plan[0].items() if k != "data"}
    return checks, frozenset(checks)


_ENVELOPE_PLAN = _envelope_plan()
_DATA_PLANS = {name: compile_schema(schema) for name, schema in DATA_SCHEMAS.items()}


def fast_load(obj: Any) -> dict[str, Any] | None:
    """The envelope :func:`commands.schemas.load_event` would return, or None to ask it."""
    if type(obj) is not dict or _ENVELOPE_PLAN is None:
        return None
    type_name = obj.get("type")
    if type(type_name) is not str:
        return None
    cls = EVENT_TYPES.get(type_name)
    data_plan = _DATA_PLANS.get(type_name)
    if cls is None or data_plan is None or type(obj.get("data")) is not dict:
        return None
    envelope = _apply(_ENVELOPE_PLAN, {k: v for k, v in obj.items() if k != "data"})
    if envelope is None or (envelope.get("employer") is None) != cls.reference:
        return None
    data = _apply(data_plan, obj["data"])
    if data is None:
        return None
    envelope["data"] = data
    return envelope
