"""Every event type survives the store unchanged (hypothesis over typed values)."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from types import NoneType, UnionType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.codec import decode_state, encode_state
from ledger.events import (
    EMPLOYER_ID,
    EVENT_TYPES,
    MONEY,
    SCORE,
    Choice,
    LedgerEvent,
    Range,
    stream_id,
    type_hints,
)
from storage.store import Appended, LedgerStore

# What validation lets through: no control characters (PostgreSQL's TEXT refuses NUL, and the
# import refuses every control but tab and newline), no lone surrogates.
text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12)
employer_ids = st.from_regex(EMPLOYER_ID, fullmatch=True)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.just(UTC))
money = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False)
scores = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)


def strategy(hint: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not NoneType]
        return st.none() | strategy(inner)
    if origin is typing.Annotated:
        base, *markers = typing.get_args(hint)
        for marker in markers:
            if marker in (MONEY, SCORE):
                return {MONEY: money, SCORE: scores}[marker]
            if isinstance(marker, Choice):
                return st.sampled_from(marker.choices)
            if isinstance(marker, Range):
                return st.integers(marker.minimum or 0, marker.maximum or 10**6)
        return strategy(base)
    if origin is tuple:
        return st.lists(text, max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(text, scores, max_size=4)
    return {str: text, int: st.integers(0, 10**6), bool: st.booleans(), date: dates,
            Decimal: money}[hint]


@st.composite
def events(draw: st.DrawFn, cls: type[LedgerEvent] | None = None) -> LedgerEvent:
    cls = cls or draw(st.sampled_from(list(EVENT_TYPES.values())))
    hints = type_hints(cls)
    employer = None if cls.reference else draw(employer_ids)
    return cls(originator_id=stream_id(employer), originator_version=draw(st.integers(1, 10**6)),
               timestamp=draw(times), event_id=draw(st.none() | text), employer=employer,
               effective=draw(dates), recorded_at=draw(times), by=draw(st.none() | text),
               **{f.name: draw(strategy(hints[f.name])) for f in cls.data_fields()})


@given(events())
def test_the_codec_round_trips_every_event_type(event: LedgerEvent) -> None:
    decoded = decode_state(type(event).__name__, event.originator_id, event.originator_version,
                           encode_state(event))
    assert decoded == event


@settings(max_examples=60, deadline=None,  # a real database: its latency is not the point
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(events(), min_size=1, max_size=5))
def test_the_store_round_trips_every_event_type(store: LedgerStore,
                                                drawn: list[LedgerEvent]) -> None:
    """Appended through a write transaction and read back by stream: equal, typed values."""
    heads: dict[Any, int] = {}
    appended = []
    for event in drawn:  # renumber so each stream's versions follow on from what is stored
        version = heads.get(event.originator_id) or len(store._stream(event.originator_id))
        heads[event.originator_id] = version + 1
        appended.append(type(event)(**{**vars(event), "originator_version": version + 1,
                                       "event_id": None}))
    with store.writer() as writer:
        writer.append([Appended(e, None) for e in appended])
    for event in appended:
        stored = store._stream(event.originator_id)
        assert stored[event.originator_version - 1] == event
