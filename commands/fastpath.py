"""A fast path for validating interchange lines, compiled from the marshmallow schemas.

marshmallow is the authority on what a valid event is, but it spends ~50 µs a line, which
is most of an import. This module reads the schemas once and compiles, per event type, plain
checks and converters for the common case. It only ever *accepts*: a line it cannot prove
valid returns ``None`` and goes to marshmallow, which refuses it with the precise message.
``tests/test_fastpath.py`` checks that whenever the fast path accepts, marshmallow accepts
with the same typed values.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from types import NoneType, UnionType
from typing import Any

import orjson
from marshmallow import Schema, fields, missing, validate

from commands.schemas import (
    DATA_SCHEMAS,
    DATE,
    ENVELOPE,
    MONEY_TEXT,
    RFC3339,
    AwareTime,
    EmployerId,
    IsoDate,
    MoneyField,
    ScoreField,
    StrictBool,
    StrictInt,
    Text,
    text_problem,
    unstated,
)
from ledger.codec import CODECS, format_time
from ledger.events import (
    EMPLOYER_ID,
    EVENT_TYPES,
    FIRST_DAY,
    LAST_DAY,
    MONEY,
    SCORE,
    type_hints,
)
from storage.store import recorded_key

_FAIL = object()  # a converter's "cannot prove this valid"
_DATE_MATCH = DATE.fullmatch
_TIME_MATCH = RFC3339.fullmatch
_MONEY_MATCH = MONEY_TEXT.fullmatch
_EMPLOYER_MATCH = EMPLOYER_ID.fullmatch
HEAD_CACHE = 4096
Converter = Callable[[Any], Any]


@lru_cache(maxsize=65536)
def _date(value: str) -> Any:
    if not _DATE_MATCH(value):
        return _FAIL
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return _FAIL
    return day if FIRST_DAY <= day <= LAST_DAY else _FAIL  # refused, and said, by schemas


def _iso_date(value: Any) -> Any:
    return _date(value) if type(value) is str else _FAIL


@lru_cache(maxsize=4096)
def _aware_time(value: str) -> Any:
    if not _TIME_MATCH(value):
        return _FAIL
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        return _FAIL


def _money(value: Any) -> Any:
    return Decimal(value) if type(value) is str and _MONEY_MATCH(value) else _FAIL


@lru_cache(maxsize=HEAD_CACHE)
def _employer_ok(value: str) -> bool:
    """Whether an employer id is well formed (cached: a file names each employer often)."""
    return _EMPLOYER_MATCH(value) is not None


def _employer(value: Any) -> Any:
    return value if type(value) is str and _EMPLOYER_MATCH(value) else _FAIL


def _score(value: Any) -> Any:
    kind = type(value)
    if kind is int:
        return Decimal(value) if 0 <= value <= 100 else _FAIL
    if kind is float:
        return Decimal(str(value)) if 0.0 <= value <= 100.0 else _FAIL
    return _FAIL


def _bool(value: Any) -> Any:
    return value if type(value) is bool else _FAIL


def _text(max_length: int, single_line: bool, choices: frozenset[str] | None) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not str or len(value) > max_length \
                or text_problem(value, single_line) is not None:
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
    if isinstance(field, EmployerId):
        return _employer
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
        return _text(field.max_length, field.single_line, _one_of(field))
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


# --- straight to the stored form -----------------------------------------------------------
#
# The import's hot path. For each event type, a function generated once (``exec``) from the
# marshmallow schema *and* the event class checks a decoded line's ``data`` and returns it as
# the stored ``data`` object (JSON values in the class's field order, defaults filled in),
# without building the typed event and encoding it again. Like :func:`fast_load` it only ever
# accepts: anything it cannot prove valid returns None and takes the marshmallow path.
# ``tests/test_fastpath.py`` checks that the stored bytes it leads to equal
# ``encode_state(event)`` of the event marshmallow's path builds from the same line.

_MISSING = object()


def _kind(field: fields.Field) -> tuple[str, Any] | None:
    """What the generator knows how to check: (kind, parameters), or None."""
    if field.validators and not (isinstance(field, Text) and _one_of(field) is not None):
        return None
    if isinstance(field, IsoDate):
        return "date", None
    if isinstance(field, MoneyField):
        return "money", None
    if isinstance(field, ScoreField):
        return "score", None
    if isinstance(field, StrictBool):
        return "bool", None
    if isinstance(field, StrictInt):
        return "int", (field.minimum, field.maximum)
    if isinstance(field, Text):
        return "text", ((field.max_length, field.single_line), _one_of(field))
    if isinstance(field, fields.List) and isinstance(field.inner, Text) \
            and not field.inner.validators:
        return "texts", (field.inner.max_length, field.inner.single_line)
    if isinstance(field, fields.Dict) and isinstance(field.key_field, Text) \
            and not field.key_field.validators and isinstance(field.value_field, ScoreField) \
            and not field.value_field.validators:
        return "scores", (field.key_field.max_length, field.key_field.single_line)
    return None


# Which stored JSON form a kind's checked value already is, per the event class's type hint:
# (kind, hint) pairs for which the generated value equals ``TypeCodec.encode`` of the typed
# value marshmallow would produce.
def _hint_matches(kind: str, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        rest = [a for a in typing.get_args(hint) if a is not NoneType]
        return len(rest) == 1 and _hint_matches(kind, rest[0])
    if origin is typing.Annotated:
        base, *tags = typing.get_args(hint)
        if MONEY in tags or SCORE in tags:
            return (kind, MONEY if MONEY in tags else SCORE) in (("money", MONEY),
                                                                 ("score", SCORE))
        return _hint_matches(kind, base)  # a constraint marker: stored as its base type
    if origin is tuple:
        return kind == "texts" and typing.get_args(hint) == (str, ...)
    if origin is dict:
        key, value = typing.get_args(hint)
        return kind == "scores" and key is str and typing.get_origin(value) is typing.Annotated \
            and typing.get_args(value)[1] == SCORE
    return (kind, hint) in (("date", date), ("bool", bool), ("int", int), ("text", str))


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, UnionType) \
        and NoneType in typing.get_args(hint)


def _text_check(var: str, limits: tuple[int, bool]) -> str:
    """A condition true when ``var`` is not a valid text: printable ASCII with something
    visible passes at once; anything else is decided by :func:`commands.schemas.text_problem`,
    the rule marshmallow's ``Text`` applies."""
    max_length, single_line = limits
    return (f"type({var}) is not str or len({var}) > {max_length} or not ({var}.isascii()"
            f" and {var}.isprintable() and {var} and not {var}.isspace())"
            f" and _text_problem({var}, {single_line!r}) is not None")


def _check_lines(var: str, kind: str, param: Any, consts: dict[str, Any]) -> list[str]:
    """Statements that return None unless ``var`` is valid, leaving its stored value in it."""
    if kind == "text":
        max_length, choices = param
        if choices is not None:
            name = f"_C{len(consts)}"
            consts[name] = choices
            if all(type(c) is str and len(c) <= max_length[0]
                   and text_problem(c, max_length[1]) is None for c in choices):
                return [f"if type({var}) is not str or {var} not in {name}: return None"]
            return [f"if {_text_check(var, max_length)} or {var} not in {name}: return None"]
        return [f"if {_text_check(var, max_length)}: return None"]
    if kind == "int":
        low, high = param
        cond = [f"type({var}) is not int"]
        if low is not None:
            cond.append(f"{var} < {low!r}")
        if high is not None:
            cond.append(f"{var} > {high!r}")
        return [f"if {' or '.join(cond)}: return None"]
    if kind == "bool":
        return [f"if type({var}) is not bool: return None"]
    if kind == "date":
        return [f"if type({var}) is not str or _date({var}) is _FAIL: return None"]
    if kind == "money":  # str(Decimal(s)) is s but for leading zeros ("007.50")
        return [f"if type({var}) is not str or not _MONEY_MATCH({var}): return None",
                f"if {var}[0] == '0' and len({var}) > 1 and {var}[1] != '.':"
                f" {var} = str(Decimal({var}))"]
    if kind == "score":  # score_to_json(Decimal(str(x))): int when whole, else the float
        return [f"if type({var}) is int:",
                f"    if not 0 <= {var} <= 100: return None",
                f"elif type({var}) is float:",
                f"    if not 0.0 <= {var} <= 100.0: return None",
                f"    if {var}.is_integer(): {var} = int({var})",
                "else: return None"]
    if kind == "texts":
        item = f"{var}_i"
        return [f"if type({var}) is not list: return None",
                f"for {item} in {var}:",
                f"    if {_text_check(item, param)}: return None"]
    if kind == "scores":
        key, item = f"{var}_k", f"{var}_v"
        return ([f"if type({var}) is not dict: return None",
                 f"{var}_d = {{}}",
                 f"for {key}, {item} in {var}.items():",
                 f"    if {_text_check(key, param)}: return None"]
                + ["    " + s for s in _check_lines(item, "score", None, consts)]
                + [f"    {var}_d[{key}] = {item}", f"{var} = {var}_d"])
    raise AssertionError(kind)


LineEncoder = Callable[[dict[str, Any], str], tuple[Any, ...] | None]


def _data_lines(type_name: str, consts: dict[str, Any]) -> list[str] | None:
    """Statements checking ``data`` and leaving its stored form in ``stored``; None if the
    type has no fast form."""
    schema = DATA_SCHEMAS[type_name]
    cls = EVENT_TYPES[type_name]
    hints = {name: unstated(hint) for name, hint in type_hints(cls).items()}
    class_fields = cls.data_fields()
    if {f.name for f in class_fields} != set(schema.fields):
        return None
    encoders = {name: enc for name, enc, _ in CODECS[type_name].fields}
    consts["_KEYS"] = frozenset(schema.fields)
    body = ["if not _KEYS.issuperset(data): return None"]
    for n, f in enumerate(class_fields):
        field = schema.fields[f.name]
        kind = _kind(field)
        if kind is None or not _hint_matches(kind[0], hints[f.name]):
            return None
        var = f"v{n}"
        body.append(f"{var} = data.get({f.name!r}, _MISSING)")
        body.append(f"if {var} is _MISSING:")
        if field.required:
            body.append("    return None")
        else:
            if field.load_default is not missing:
                default = field.load_default
            elif f.default is not dataclasses.MISSING:
                default = f.default
            else:
                body.append("    return None")  # the class would refuse to be built
                default = _MISSING
            if default is not _MISSING:
                try:
                    stored = encoders[f.name](default)
                except Exception:
                    return None
                name = f"_D{len(consts)}"
                consts[name] = stored
                body.append(f"    {var} = {name}")
        # None: allowed only where the schema allows it and the class stores it as null.
        if field.allow_none and _optional(hints[f.name]):
            body.append(f"elif {var} is None: pass")
        body.append("else:")
        body.extend("    " + s for s in _check_lines(var, *kind, consts))
    items = ", ".join(f"{f.name!r}: v{n}" for n, f in enumerate(class_fields))
    body.append(f"stored = {{{items}}}")
    return body


def _envelope_limits() -> tuple[tuple[int, bool], tuple[int, bool]] | None:
    """The (max length, single line) limits of ``id`` and ``by``, if the envelope schema is
    the one the generated code checks (:func:`compile_line`); None turns the direct path
    off."""
    f = ENVELOPE.fields
    expected = {"id": (Text, False), "type": (Text, False), "employer": (EmployerId, True),
                "effective": (IsoDate, False), "recorded_at": (AwareTime, True),
                "by": (Text, True), "data": (fields.Dict, False)}
    if set(f) != set(expected):
        return None
    for name, (kind, allow_none) in expected.items():
        field = f[name]
        if type(field) is not kind or field.allow_none != allow_none \
                or field.load_default is not missing:
            return None
        if name != "type" and field.validators:
            return None
    if f["id"].required or not f["effective"].required or not f["data"].required:
        return None
    id_field, by_field = typing.cast(Text, f["id"]), typing.cast(Text, f["by"])
    return (id_field.max_length, id_field.single_line), (by_field.max_length, by_field.single_line)


_LIMITS = _envelope_limits()


def compile_line(type_name: str) -> LineEncoder | None:
    """The generated direct path of one event type: ``line(obj, now_text)`` checks a decoded
    line (envelope and ``data``) and returns ``(id, employer, effective, recorded, state)``:
    ``effective`` as ``YYYY-MM-DD``, ``recorded`` the ``recorded_at`` as
    :func:`storage.store.recorded_key` (fixed-width UTC text, which orders as the times do)
    or None when absent (then the state holds ``now_text``), ``state`` the stored bytes; or
    None to ask marshmallow."""
    if _LIMITS is None:
        return None
    id_max, by_max = _LIMITS
    consts: dict[str, Any] = {}
    data_lines = _data_lines(type_name, consts)
    if data_lines is None:
        return None
    cls = EVENT_TYPES[type_name]
    if cls.reference:  # reference data has no employer
        employer = ['employer = obj.get("employer")',
                    "if employer is not None: return None"]
    else:
        employer = ['employer = obj.get("employer")',
                    "if type(employer) is not str or not _employer_ok(employer): return None"]
    body = [
        "if not _ENVELOPE_KEYS.issuperset(obj): return None",
        'event_id = obj.get("id", _MISSING)',
        "if event_id is _MISSING: event_id = None",
        f"elif {_text_check('event_id', id_max)}: return None",
        *employer,
        'effective = obj.get("effective")',
        "if type(effective) is not str or _date(effective) is _FAIL: return None",
        'recorded = obj.get("recorded_at")',
        "if recorded is None:",
        "    recorded_key = None",
        "    recorded_text = now_text",
        "elif type(recorded) is not str: return None",
        # YYYY-MM-DDTHH:MM:SSZ, the form a UTC time is stored in: kept as it is once it parses
        # (ASCII, so its digits are ASCII digits once fromisoformat has read them), and its
        # index key is the same text with six zero fraction digits
        'elif len(recorded) == 20 and recorded[4::3] == "--T::Z" and recorded.isascii():',
        "    try:",
        "        recorded_at = _fromisoformat(recorded)",
        "    except ValueError:",
        "        return None",
        "    recorded_text = recorded",
        '    recorded_key = recorded[:19] + ".000000Z"',
        "else:",
        "    recorded_at = _aware_time(recorded)",
        "    if recorded_at is _FAIL: return None",
        "    recorded_text = _format_time(recorded_at)",
        "    recorded_key = _recorded_key(recorded_at)",
        'by = obj.get("by")',
        f"if by is not None and ({_text_check('by', by_max)}): return None",
        'data = obj.get("data")',
        "if type(data) is not dict: return None",
        *data_lines,
        "return (event_id, employer, effective, recorded_key, _dumps({"
        f'"v": {cls.class_version!r}, "id": event_id, "employer": employer,'
        ' "effective": effective, "recorded_at": recorded_text, "appended_at": now_text,'
        ' "by": by, "data": stored}))',
    ]
    source = (f"def line_{type_name}(obj, now_text):\n"
              + "\n".join("    " + s for s in body) + "\n")
    namespace: dict[str, Any] = {
        "_ENVELOPE_KEYS": frozenset(ENVELOPE.fields), "_MISSING": _MISSING, "_FAIL": _FAIL,
        "_date": _date, "_aware_time": _aware_time, "_format_time": format_time,
        "_fromisoformat": datetime.fromisoformat, "_MONEY_MATCH": _MONEY_MATCH,
        "_employer_ok": _employer_ok, "_recorded_key": recorded_key,
        "_text_problem": text_problem,
        "Decimal": Decimal, "_dumps": orjson.dumps, **consts}
    exec(compile(source, f"<fastpath line_{type_name}>", "exec"), namespace)  # noqa: S102
    function: LineEncoder = namespace[f"line_{type_name}"]
    function.__source__ = source  # type: ignore[attr-defined]
    return function


LINES: dict[str, LineEncoder] = {
    name: line for name in DATA_SCHEMAS if (line := compile_line(name)) is not None}


def fast_line(obj: Any, now_text: str) -> tuple[str, str | None, str | None, str,
                                                str | None, bytes] | None:
    """A valid line in stored form, or None to ask marshmallow (which is the authority).

    Returns ``(type, id, employer, effective, recorded, state)`` (see
    :func:`compile_line`); ``now_text`` is the import's clock reading as stored, the
    ``appended_at`` of every event and the ``recorded_at`` of a line without one. ``state``
    equals :func:`ledger.codec.encode_state` of the event the marshmallow path would build.
    """
    if type(obj) is not dict:
        return None
    type_name = obj.get("type")
    line = LINES.get(type_name) if type(type_name) is str else None
    if line is None:
        return None
    found = line(obj, now_text)
    return None if found is None else (type_name, *found)
