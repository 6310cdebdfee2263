"""The synthetic ledger generator: deterministic, realistic in mix and size, and valid.

Validity is checked here against the INTERCHANGE field lists directly, and end to end by
importing a generated file through the real ``corledger import`` (issue 8: every generated
file imports cleanly).
"""

from __future__ import annotations

import collections
import io
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scripts.generate import DEMO_ARGS, REFERENCE, LedgerSpec, case_lines, ledger_lines, main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "commands" / "sample" / "demo.jsonl"

# INTERCHANGE.md v1: (required fields, optional fields) of each type's ``data``.
DATA_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "EmployerRegistered": ({"name", "partner", "program", "classification_units"},
                           {"headcount"}),
    "HeadcountReported": ({"headcount"}, set()),
    "ClassificationUnitAdded": ({"cu"}, set()),
    "ClassificationUnitRemoved": ({"cu"}, set()),
    "ScopeChanged": ({"change", "certification_audit_required"}, {"detail"}),
    "ProgramChanged": ({"program"}, {"reason"}),
    "InternalAuditorQualified": ({"auditor"}, set()),
    "InternalAuditorLeft": ({"auditor"}, set()),
    "AuditNoticeFiled": ({"audit", "planned_start"}, {"team"}),
    "AuditSubmitted": ({"audit", "kind", "auditor", "auditor_type", "started", "completed",
                        "overall", "elements"},
                       {"student", "employees_at_audit", "classification_units"}),
    "QADecided": ({"audit", "outcome"}, {"reasons"}),
    "SeriousIncidentReported": ({"fatality", "description"}, set()),
    "ReviewClosed": ({"outcome"}, set()),
    "CertificationRevoked": ({"authority", "reason"}, set()),
    "ViolationRecorded": ({"kind", "penalty"}, set()),
    "InvestigationOpened": ({"case"}, set()),
    "InvestigationClosed": ({"case"}, set()),
    "BaseRateSet": ({"jurisdiction", "cu", "year", "base_rate"}, set()),
    "PayrollReported": ({"year", "cu", "assessable_payroll"}, {"deadline"}),
    "PremiumPaid": ({"year", "cu", "amount"}, set()),
    "IncentivePaid": ({"year", "amount"}, set()),
    "EventVoided": ({"target", "reason"}, set()),
}
ENVELOPE = {"id", "type", "employer", "effective", "recorded_at", "by", "data"}
MONEY = re.compile(r"^\d+\.\d\d$")
RECORDED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MONEY_FIELDS = {"base_rate", "assessable_payroll", "amount"}
DATE_FIELDS = {"started", "completed", "planned_start", "deadline"}


def generate(employers: int, seed: int = 1, interleave: int = 0, **years: int) -> bytes:
    """The generated ledger as bytes."""
    return b"".join(ledger_lines(LedgerSpec(employers, seed, **years), interleave))


def parse(text: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def ledger() -> list[dict[str, Any]]:
    """400 employers with the benchmark defaults (2014, ten years)."""
    return parse(generate(400, seed=11))


def by_employer(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    streams: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for event in events:
        if "employer" in event:
            streams[event["employer"]].append(event)
    return streams


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_same_bytes_different_seed_different_bytes() -> None:
    first = generate(40, seed=5)
    assert first == generate(40, seed=5)
    assert first != generate(40, seed=6)


def test_cli_output_is_byte_identical_to_the_library(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    assert main(["--employers", "25", "--seed", "9", "--out", str(out)]) == 0
    assert out.read_bytes() == generate(25, seed=9)


def test_employer_i_does_not_depend_on_how_many_are_generated() -> None:
    small, large = generate(10, seed=3), generate(30, seed=3)
    assert large.startswith(small)


def test_interleaved_blocks_hold_the_same_lines_with_registration_first() -> None:
    plain, mixed = generate(30, seed=4), generate(30, seed=4, interleave=10)
    assert plain != mixed
    assert sorted(plain.splitlines()) == sorted(mixed.splitlines())
    seen: set[str] = set()
    for event in parse(mixed):
        if "employer" in event:
            if event["type"] == "EmployerRegistered":
                seen.add(event["employer"])
            assert event["employer"] in seen


# --- the mix and the size ------------------------------------------------------------------


def test_partner_mix_and_programs_follow_the_partners(ledger: list[dict[str, Any]]) -> None:
    registrations = [e["data"] for e in ledger if e["type"] == "EmployerRegistered"]
    partners = collections.Counter(r["partner"] for r in registrations)
    assert partners == {"BCCSA": 160, "GO2HR": 80, "AMHSA": 60, "GENERIC": 100}
    limits = {"GO2HR": 19, "AMHSA": 10, "GENERIC": 9}  # the largest SECOR headcount
    programs: dict[str, set[str]] = collections.defaultdict(set)
    for r in registrations:
        programs[r["partner"]].add(r["program"])
        if r["partner"] == "BCCSA":
            assert r["program"] == "COR"
        elif r["program"] == "SECOR":
            assert r["headcount"] <= limits[r["partner"]]
        else:
            assert r["headcount"] > limits[r["partner"]]
    assert programs == {"BCCSA": {"COR"}, "GO2HR": {"COR", "SECOR"},
                        "AMHSA": {"COR", "SECOR"}, "GENERIC": {"COR", "SECOR"}}
    bccsa = [r["headcount"] for r in registrations if r["partner"] == "BCCSA"]
    assert min(bccsa) <= 19 and max(bccsa) >= 20  # both size classes


@pytest.mark.parametrize("seed", [1, 2])
def test_about_thirty_to_forty_events_per_employer(seed: int) -> None:
    streams = by_employer(parse(generate(500, seed=seed)))
    mean = sum(map(len, streams.values())) / len(streams)
    assert 30 <= mean <= 40


def test_every_kind_of_fact_occurs(ledger: list[dict[str, Any]]) -> None:
    types = collections.Counter(e["type"] for e in ledger)
    assert set(DATA_FIELDS) <= set(types)
    kinds = collections.Counter(e["data"]["kind"] for e in ledger if e["type"] == "AuditSubmitted")
    assert set(kinds) == {"certification", "maintenance", "recertification", "limited_scope"}
    outcomes = collections.Counter(e["data"]["outcome"] for e in ledger if e["type"] == "QADecided")
    assert 0.02 < outcomes["rejected"] / outcomes.total() < 0.15


# --- validity ------------------------------------------------------------------------------


def check_event(event: dict[str, Any]) -> None:
    """One line against INTERCHANGE: envelope, data fields exactly, money, scores, dates."""
    assert set(event) <= ENVELOPE and {"type", "effective", "data"} <= set(event)
    kind, data = event["type"], event["data"]
    assert ("employer" in event) == (kind != "BaseRateSet")
    assert isinstance(event["id"], str) and 0 < len(event["id"]) <= 128
    date.fromisoformat(event["effective"])
    required, optional = DATA_FIELDS[kind]
    assert required <= set(data) <= required | optional, (kind, sorted(data))
    for name, value in data.items():
        if name in MONEY_FIELDS:
            assert isinstance(value, str) and MONEY.match(value), (name, value)
        if name in DATE_FIELDS:
            assert date.fromisoformat(value).isoformat() == value
    if kind == "AuditSubmitted":
        scores = [data["overall"], *data["elements"].values()]
        assert all(isinstance(s, int | float) and 0 <= s <= 100 for s in scores)
        assert data["started"] <= data["completed"] <= event["effective"]


def test_every_line_is_valid_interchange(ledger: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    for event in ledger:
        check_event(event)
        assert RECORDED.match(event["recorded_at"])
        recorded = datetime.fromisoformat(event["recorded_at"])
        assert recorded <= REFERENCE and recorded <= now
        assert recorded.date().isoformat() >= event["effective"]


def test_ids_are_unique_and_voids_target_earlier_events(ledger: list[dict[str, Any]]) -> None:
    ids = [e["id"] for e in ledger]
    assert len(ids) == len(set(ids))
    seen: dict[str, dict[str, Any]] = {}
    voids = 0
    for event in ledger:
        if event["type"] == "EventVoided":
            target = seen[event["data"]["target"]]
            assert target["employer"] == event["employer"]
            assert target["effective"] <= event["effective"]
            assert target["recorded_at"] < event["recorded_at"]
            voids += 1
        seen[event["id"]] = event
    assert voids > 0


def test_each_stream_starts_with_registration_and_stays_in_order(
        ledger: list[dict[str, Any]]) -> None:
    employers: list[str] = []
    for event in ledger:
        if "employer" in event and (not employers or employers[-1] != event["employer"]):
            assert event["employer"] not in employers, "employers are written one by one"
            assert event["type"] == "EmployerRegistered"
            employers.append(event["employer"])
    for events in by_employer(ledger).values():
        registered = events[0]["effective"]
        assert all(e["effective"] >= registered for e in events)
        submitted: dict[str, str] = {}
        for event in events:
            if event["type"] == "AuditSubmitted":
                assert event["data"]["audit"] not in submitted, "audit ids unique per employer"
                submitted[event["data"]["audit"]] = event["effective"]
            elif event["type"] == "QADecided":
                assert event["effective"] >= submitted[event["data"]["audit"]]


def test_base_rates_come_first_for_every_cu_and_year(ledger: list[dict[str, Any]]) -> None:
    rates = {(e["data"]["cu"], e["data"]["year"]) for e in ledger if e["type"] == "BaseRateSet"}
    first_employer = next(i for i, e in enumerate(ledger) if "employer" in e)
    assert all(e["type"] == "BaseRateSet" for e in ledger[:first_employer])
    assert len(rates) == first_employer
    for event in ledger:
        if event["type"] in ("PayrollReported", "PremiumPaid"):
            assert (event["data"]["cu"], event["data"]["year"]) in rates


# --- the bundled demo ------------------------------------------------------------------------


def test_demo_ledger_is_what_the_generator_makes() -> None:
    """If this fails after a change to the generator, regenerate the demo (DEMO_ARGS)."""
    out = io.BytesIO()
    spec = LedgerSpec(*(int(v) for v in DEMO_ARGS[1::2]))
    out.write(b"".join(ledger_lines(spec)))
    assert DEMO.read_bytes() == out.getvalue()


def test_demo_ledger_shows_the_interesting_cases() -> None:
    spec = LedgerSpec(*(int(v) for v in DEMO_ARGS[1::2]))
    cases = [json.loads(line) for line in case_lines(spec)]
    assert {c["partner"] for c in cases} == {"BCCSA", "GO2HR", "AMHSA", "GENERIC"}
    shown = collections.Counter(name for c in cases for name in c["cases"])
    for name in ("certified", "cancelled", "expired", "revoked", "in_grace",
                 "limited_scope_window_open", "qa_rejected", "under_review"):
        assert shown[name] > 0, name
    assert any(c["partner"] == "BCCSA" and "incentive_paid" in c["cases"] for c in cases)


# --- imports cleanly -------------------------------------------------------------------------


def corledger(db: Path, *args: str) -> dict[str, Any]:
    """Runs the real CLI in a subprocess and returns its JSON document."""
    done = subprocess.run(
        [sys.executable, "-m", "commands.cli", "--db", f"sqlite:///{db}", *args],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_generated_file_imports_cleanly_and_reimport_skips_everything(
        tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(generate(50, seed=21))
    lines = len(path.read_bytes().splitlines())
    db = tmp_path / "x.db"
    first = corledger(db, "import", "--json", str(path))
    assert (first["added"], first["skipped"]) == (lines, 0)
    again = corledger(db, "import", "--json", str(path))
    assert (again["added"], again["skipped"]) == (0, lines)
