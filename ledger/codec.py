"""The stored event format: a normalized interchange envelope, as JSON.

One event is stored as the JSON object
``{"v", "id", "employer", "effective", "recorded_at", "appended_at", "by", "data"}`` under the
topic of its interchange type name (``AuditSubmitted``), so the stored rows read like the
interchange files partners send. Golden files in ``tests/golden/`` pin this format: a change
to it needs a new ``class_version`` and an ``upcast_vN_vN+1`` static method on the class.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from types import NoneType, UnionType
from typing import Any
from uuid import UUID

import orjson

from ledger.collector import collector_paused
from ledger.events import EVENT_TYPES, MONEY, SCORE, LedgerEvent, stream_id, type_hints

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def score_to_json(value: Decimal) -> int | float:
    """A score as a JSON number: an int when whole, else the shortest float."""
    return int(value) if value == value.to_integral_value() else float(value)


def score_from_json(value: Any) -> Decimal:
    return Decimal(str(value))


@lru_cache(maxsize=4096)  # an import stamps every event with the same time
def format_time(value: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a ``Z``."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_time_or_none(value: datetime | None) -> str | None:
    """:func:`format_time`, passing None through (an optional time in a JSON answer)."""
    return None if value is None else format_time(value)


@lru_cache(maxsize=4096)  # a stream holds few distinct times: its imports' append times
def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _identity(value: Any) -> Any:
    return value


def _converters(hint: Any) -> tuple[Encoder, Decoder]:
    """The (to JSON, from JSON) pair for one annotated data field type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not NoneType]
        enc, dec = _converters(inner)
        return (lambda v: None if v is None else enc(v)), (lambda v: None if v is None else dec(v))
    if origin is typing.Annotated:
        base, tag = typing.get_args(hint)[:2]
        if tag == MONEY:
            return str, Decimal
        if tag == SCORE:
            return score_to_json, score_from_json
        return _converters(base)
    if origin is tuple:
        return list, tuple
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        venc, vdec = _converters(value_hint)
        return ((lambda d: {k: venc(v) for k, v in d.items()}),
                (lambda d: {k: vdec(v) for k, v in d.items()}))
    if hint is date:
        return date.isoformat, date.fromisoformat
    if hint is Decimal:
        return str, Decimal
    if hint in (str, int, bool):
        return _identity, _identity
    raise TypeError(f"no JSON converter for field type {hint!r}")


@dataclass(frozen=True)
class TypeCodec:
    """Converts one event type's ``data`` between typed values and JSON values."""

    cls: type[LedgerEvent]
    fields: tuple[tuple[str, Encoder, Decoder], ...]
    # Every data field in declaration order, with its decoder, or None where the JSON value
    # already is the typed value (text, whole numbers, booleans): no call for those.
    decoders: tuple[tuple[str, Decoder | None], ...]
    # The values of the data fields a stored ``data`` may leave out (the class's defaults).
    defaults: dict[str, Any]

    @classmethod
    def for_class(cls, event_cls: type[LedgerEvent]) -> TypeCodec:
        hints = type_hints(event_cls)
        fields = tuple((f.name, *_converters(hints[f.name])) for f in event_cls.data_fields())
        if any(f.default_factory is not MISSING for f in event_cls.data_fields()):
            raise TypeError(f"{event_cls.__name__}: an event field takes a plain default, "
                            "not a default_factory (events are immutable; build shares it)")
        defaults = {f.name: f.default for f in event_cls.data_fields()
                    if f.default is not MISSING}
        return cls(event_cls, fields,
                   tuple((name, None if dec is _identity else dec) for name, _, dec in fields),
                   defaults)

    def encode(self, event: LedgerEvent) -> dict[str, Any]:
        return {name: enc(getattr(event, name)) for name, enc, _ in self.fields}

    def build(self, values: dict[str, Any], data: dict[str, Any]) -> LedgerEvent:
        """The event of the envelope ``values`` (its fields, typed) and the stored ``data``
        object, whose fields are decoded into ``values`` (which becomes the event's).

        The object gets its attributes as one dictionary, as ``copy`` and ``pickle`` restore
        a frozen dataclass, rather than through the generated ``__init__`` (one
        ``object.__setattr__`` per field and keyword-argument merging: most of the cost of
        reading a stream). The result equals ``cls(**fields)``: every field set, absent data
        fields to the class's defaults, ``originator_id`` a UUID as ``__post_init__`` checks.
        """
        defaults = self.defaults
        for name, dec in self.decoders:
            if name in data:
                value = data[name]
                values[name] = value if dec is None else dec(value)
            elif name in defaults:
                values[name] = defaults[name]
            else:
                raise TypeError(f"a stored {self.cls.__name__} has no {name!r} in its data")
        if not isinstance(values["originator_id"], UUID):
            raise TypeError(f"{self.cls} was initialized with a non-UUID originator_id: "
                            f"{values['originator_id']!r}")
        event = _new(self.cls)
        _set_attribute(event, "__dict__", values)
        return event


_new = object.__new__
_set_attribute = object.__setattr__  # past the frozen dataclass's refusing __setattr__


CODECS: dict[str, TypeCodec] = {name: TypeCodec.for_class(c) for name, c in EVENT_TYPES.items()}


def event_to_state(event: LedgerEvent) -> dict[str, Any]:
    """The stored (and ``history --json``) JSON object of an event."""
    return {
        "v": type(event).class_version,
        "id": event.event_id,
        "employer": event.employer,
        "effective": event.effective.isoformat(),
        "recorded_at": format_time(event.recorded_at),
        "appended_at": format_time(event.timestamp),
        "by": event.by,
        "data": CODECS[type(event).__name__].encode(event),
    }


def encode_state(event: LedgerEvent) -> bytes:
    return orjson.dumps(event_to_state(event))


def upcast(cls: type[LedgerEvent], state: dict[str, Any]) -> dict[str, Any]:
    """Brings an old stored state up to the class's version, one step at a time."""
    version = state.get("v", 1)
    while version < cls.class_version:
        step = getattr(cls, f"upcast_v{version}_v{version + 1}")
        state = step(state)
        version += 1
    return state


def state_to_event(topic: str, originator_id: UUID, version: int, state: dict[str, Any],
                   ) -> LedgerEvent:
    codec = CODECS[topic]
    if state.get("v", 1) != codec.cls.class_version:
        state = upcast(codec.cls, state)
    return codec.build({
        "originator_id": originator_id,
        "originator_version": version,
        "timestamp": parse_time(state["appended_at"]),
        "event_id": state["id"],
        "employer": state["employer"],
        "effective": date.fromisoformat(state["effective"]),
        "recorded_at": parse_time(state["recorded_at"]),
        "by": state["by"],
    }, state["data"])


def decode_state(topic: str, originator_id: UUID, version: int, raw: bytes) -> LedgerEvent:
    return state_to_event(topic, originator_id, version, orjson.loads(raw))


def decode_rows(originator_id: UUID, rows: Iterable[Sequence[Any]]) -> list[LedgerEvent]:
    """One stream's stored rows ``(version, topic, state)`` as events, in the rows' order
    (the cyclic collector paused meanwhile: :mod:`ledger.collector`). A row is any sequence
    (a tuple, the driver's row): typed as a tuple, the compiled module would refuse the
    others."""
    loads = orjson.loads
    with collector_paused():
        return [state_to_event(topic, originator_id, version, loads(state))
                for version, topic, state in rows]


def new_event(type_name: str, *, employer: str | None, version: int, effective: date,
              recorded_at: datetime, appended_at: datetime, event_id: str | None = None,
              by: str | None = None, **data: Any) -> LedgerEvent:
    """Builds a typed event for an employer's stream (or the reference stream)."""
    cls = EVENT_TYPES[type_name]
    fields: dict[str, Any] = {
        "originator_id": stream_id(employer), "originator_version": version,
        "timestamp": appended_at, "event_id": event_id, "employer": employer,
        "effective": effective, "recorded_at": recorded_at, "by": by, **data}
    return cls(**fields)
