"""Void chains (DOMAIN.md, second set): a void counts from its recorded_at, a voided void no
longer counts so its target counts again, for chains of any length, as known at the query's
time; and a voided registration leaves the employer unregistered."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import events as ev
from projections.order import standing_name
from projections.timeline import fold
from projections.voids import voided_ids
from tests.conftest import Cli, line, registration
from tests.factories import Ledger


@pytest.mark.parametrize(("length", "target_void"), [(1, True), (2, False), (3, True),
                                                     (4, False), (5, True), (500, False)])
def test_a_chain_of_voids_alternates_the_target(length: int, target_void: bool) -> None:
    pairs = [("v1", "q1"), *((f"v{i}", f"v{i - 1}") for i in range(2, length + 1))]
    assert ("q1" in voided_ids(pairs)) is target_void


def test_any_counting_void_of_an_event_voids_it() -> None:
    # v1 and w1 both void q1; v2 voids v1; w1 still counts, so q1 stays void
    assert "q1" in voided_ids([("v1", "q1"), ("w1", "q1"), ("v2", "v1")])
    assert "q1" not in voided_ids([("v1", "q1"), ("w1", "q1"), ("v2", "v1"), ("w2", "w1")])


def test_a_void_without_id_cannot_be_voided_and_always_counts() -> None:
    assert voided_ids([(None, "q1")]) == {"q1"}


def _at(day: str) -> str:
    return f"{day}T10:00:00Z"


CERTIFIED = [
    registration("E-1", "2018-01-08", recorded_at=_at("2018-01-08")),
    line("AuditSubmitted", "E-1", "2018-05-01", {
        "audit": "A1", "kind": "certification", "auditor": "x", "auditor_type": "external",
        "started": "2018-04-10", "completed": "2018-04-20", "overall": 88,
        "elements": {"policy": 88}}, id="a1", recorded_at=_at("2018-05-01")),
    line("QADecided", "E-1", "2018-05-20", {"audit": "A1", "outcome": "accepted"}, id="q1",
         recorded_at=_at("2018-05-20")),
]


def _void(n: int, target: str, day: str) -> dict[str, object]:
    return line("EventVoided", "E-1", day, {"target": target, "reason": f"void {n}"},
                id=f"v{n}", recorded_at=_at(day))


CHAIN = [_void(1, "q1", "2018-06-01"), _void(2, "v1", "2018-06-05"),
         _void(3, "v2", "2018-06-09")]


@pytest.mark.parametrize(("known_at", "expected"), [
    ("2018-05-31T00:00:00Z", "certified"),   # before any void
    ("2018-06-02T00:00:00Z", "registered"),  # v1 voids the QA decision
    ("2018-06-06T00:00:00Z", "certified"),   # v2 voids v1: the decision counts again
    ("2018-06-10T00:00:00Z", "registered"),  # v3 voids v2: v1 counts again
    (None, "registered"),                    # as known now (the read models)
])
def test_a_chain_of_three_voids_resolves_as_known_at_the_query_time(
        cli: Cli, known_at: str | None, expected: str) -> None:
    assert cli.import_lines([*CERTIFIED, *CHAIN]).exit_code == 0
    args = ["status", "E-1", "--as-of", "2018-07-01"]
    if known_at is not None:
        args += ["--known-at", known_at]
    assert cli.json(*args)["status"] == expected


def test_a_fourth_void_in_the_chain_restores_the_certificate(cli: Cli) -> None:
    assert cli.import_lines([*CERTIFIED, *CHAIN, _void(4, "v3", "2018-06-12")]).exit_code == 0
    assert cli.json("status", "E-1", "--as-of", "2018-07-01")["status"] == "certified"
    lapses = cli.json("lapses", "--as-of", "2019-04-20", "--within", "60")
    assert [e["employer"] for e in lapses] == ["E-1"]


def test_a_voided_registration_leaves_the_employer_unregistered_from_then_on(cli: Cli) -> None:
    void = line("EventVoided", "E-1", "2018-06-01", {"target": "E-1-reg", "reason": "wrong"},
                id="vreg", recorded_at=_at("2018-06-01"))
    assert cli.import_lines([*CERTIFIED, void]).exit_code == 0
    assert cli.json("status", "E-1", "--as-of", "2018-07-01")["status"] == "unregistered"
    before = cli.json("status", "E-1", "--as-of", "2018-07-01", "--known-at",
                      "2018-05-31T00:00:00Z")
    assert before["status"] == "certified"


def test_because_after_a_re_registration_starts_with_the_new_registration(cli: Cli) -> None:
    void = line("EventVoided", "E-1", "2018-06-01", {"target": "E-1-reg", "reason": "wrong"},
                id="vreg", recorded_at=_at("2018-06-01"))
    again = registration("E-1", "2018-09-03", id="E-1-reg2", recorded_at=_at("2018-09-03"))
    assert cli.import_lines([*CERTIFIED, void, again]).exit_code == 0
    document = cli.json("status", "E-1", "--as-of", "2018-10-01")
    assert document["status"] == "registered"
    assert document["because"][0]["event"] == "E-1-reg2"
    assert not any("before registration" in b["says"] for b in document["because"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 20), st.integers(0, 4)),
                min_size=1, max_size=5),
       st.lists(st.tuples(st.integers(0, 9), st.integers(0, 30)), max_size=6),
       st.integers(0, 40))
def test_the_standing_registration_is_the_one_the_fold_keeps(
        registrations: list[tuple[int, int, int]], voids: list[tuple[int, int]],
        known_day: int) -> None:
    """Every reader names an employer by :func:`standing_name`; the status fold (explain,
    the employer page, verification) by the registration it keeps: always the same one,
    whatever registrations, voids and voids of voids, as known at any time."""
    ledger = Ledger("E-1")
    start = date(2024, 1, 1)
    for n, (offset, recorded, tie) in enumerate(registrations):
        ledger.add(ev.EmployerRegistered, (start + timedelta(days=offset)).isoformat(),
                   (start + timedelta(days=offset + recorded)).isoformat(),
                   event_id=f"reg-{tie}-{n}", name=f"Name {n}", partner="GENERIC",
                   program="COR", classification_units=("G100",), headcount=10)
    for n, (target, recorded) in enumerate(voids):
        ids = [e.event_id for e in ledger.events]
        day = (start + timedelta(days=recorded)).isoformat()
        ledger.add(ev.EventVoided, day, day, event_id=f"void-{n}",
                   target=ids[target % len(ids)], reason="test")
    known_at = datetime.combine(start + timedelta(days=known_day), time.max, UTC)
    for when in (None, known_at):
        t = fold(ledger.events, as_of=date(2030, 1, 1), known_at=when, employer="E-1")
        assert standing_name(ledger.events, when) == \
            (t.registration.name if t.registration is not None else None)


def test_two_voids_of_one_event_cite_the_same_void_in_either_append_order() -> None:
    """The answer cites one void of a voided event: the first recorded (then the least id),
    not whichever was appended first, so the same events give the same ``because``."""
    ledger = Ledger("E-1")
    ledger.register("2020-01-06")
    ledger.certify("2020-06-01", "2020-06-15", "A1")
    qa = ledger.events[-1]
    ledger.add(ev.EventVoided, "2020-09-01", "2020-09-01", event_id="V-b", target=qa.event_id,
               reason="second")
    ledger.add(ev.EventVoided, "2020-09-01", "2020-09-01", event_id="V-a", target=qa.event_id,
               reason="first")
    forward = fold(ledger.events, as_of=date(2020, 12, 31))
    backward = fold([*ledger.events[:-2], *reversed(ledger.events[-2:])],
                    as_of=date(2020, 12, 31))
    cited = [d.event.event_id for d in forward.decisions if isinstance(d.event, ev.EventVoided)]
    assert cited == ["V-a"]
    assert [d.as_because() for d in forward.decisions] == \
        [d.as_because() for d in backward.decisions]
