"""Transaction time: recorded_at is the sender's, or the time of import; never the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import orjson
import pytest

from commands.importer import Importer, ImportRefused
from storage.store import LedgerStore
from tests.conftest import line, registration

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def run(store: LedgerStore, *lines: dict[str, object], now: datetime = NOW) -> None:
    Importer(store, now=now).run(BytesIO(b"".join(orjson.dumps(x) + b"\n" for x in lines)))


def test_left_out_it_is_the_time_of_import(store: LedgerStore) -> None:
    run(store, registration())
    (event,) = store.stream("E-1")
    assert event.recorded_at == NOW
    assert event.timestamp == NOW  # the ledger's own append time


def test_given_it_is_kept_and_normalised_to_utc(store: LedgerStore) -> None:
    run(store, registration(recorded_at="2020-01-06T10:00:00-08:00"))
    (event,) = store.stream("E-1")
    assert event.recorded_at == datetime(2020, 1, 6, 18, 0, tzinfo=UTC)
    assert event.timestamp == NOW


def test_given_in_the_future_it_is_refused(store: LedgerStore) -> None:
    later = (NOW + timedelta(seconds=1)).isoformat()
    with pytest.raises(ImportRefused) as refused:
        run(store, registration(recorded_at=later))
    assert refused.value.errors[0].field == "recorded_at"
    assert store.stream("E-1") == []


def test_exactly_now_is_not_the_future(store: LedgerStore) -> None:
    run(store, registration(recorded_at=NOW.isoformat()))
    assert store.stream("E-1")[0].recorded_at == NOW


def test_a_migrated_history_keeps_each_events_own_time(store: LedgerStore) -> None:
    run(store, registration(recorded_at="2015-01-05T10:00:00Z"),
        line("HeadcountReported", "E-1", "2020-02-01", {"headcount": 5},
             recorded_at="2016-08-01T09:00:00Z"))
    assert [e.recorded_at.year for e in store.stream("E-1")] == [2015, 2016]
