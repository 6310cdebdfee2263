"""The status ``because`` names the event that raised each flag holding on as-of, as
``explain``'s flag rows do, also when that event came before the current cycle (before the
submission of the audit that earned the latest certificate): INTERCHANGE.md 2, "``because``
lists the events and rule ids that decided the answer"."""

from __future__ import annotations

from typing import Any

from commands.explain import account
from ledger import events as ev
from projections.status import fold, status
from tests.factories import Ledger, d


def st(ledger: Ledger, as_of: str) -> dict[str, Any]:
    return status(ledger.events, as_of=d(as_of), employer=ledger.employer)


def cited(doc: dict[str, Any]) -> list[str | None]:
    return [b["event"] for b in doc["because"]]


def explained(ledger: Ledger, as_of: str, flag: str) -> list[str | None]:
    t = fold(ledger.events, as_of=d(as_of), known_at=None, employer=ledger.employer)
    return [f["event"] for f in account(t, ledger.events)["flags"] if f["flag"] == flag]


def test_a_headcount_report_before_a_program_change_is_cited_for_the_flag() -> None:
    ledger = Ledger("PC-1")
    ledger.register("2021-01-10", program="COR", headcount=5)
    report = ledger.add(ev.HeadcountReported, "2021-03-01", headcount=12)  # COR: no flag
    ledger.add(ev.ProgramChanged, "2021-05-01", program="SECOR")
    doc = st(ledger, "2021-06-01")
    assert doc["flags"] == ["headcount_exceeds_program"]
    assert report.event_id in cited(doc)
    assert explained(ledger, "2021-06-01", "headcount_exceeds_program") == [report.event_id]
    [entry] = [b for b in doc["because"] if b["event"] == report.event_id]
    assert entry["rule"] == "GENERIC-2000.programs"
    assert entry["says"] == "headcount 12 is over the SECOR limit"


def test_a_headcount_report_before_the_certifying_audit_stays_cited_once_certified() -> None:
    ledger = Ledger("HB-1")
    ledger.register("2020-01-10", program="SECOR", headcount=5)
    report = ledger.add(ev.HeadcountReported, "2020-02-01", headcount=12)
    ledger.certify("2020-03-20", "2020-04-01", started="2020-03-01", completed="2020-03-10")
    before = st(ledger, "2020-03-15")
    doc = st(ledger, "2020-07-01")
    assert doc["status"] == "certified"
    assert doc["flags"] == ["headcount_exceeds_program"]
    # cited once: before the certificate by the fold's own decision, not again as the source
    assert cited(before).count(report.event_id) == 1
    assert cited(doc).count(report.event_id) == 1
    # the flag's source comes after the registration, before the cycle's own decisions
    assert cited(doc)[:2] == [ledger.events[0].event_id, report.event_id]


def test_an_auditor_who_left_before_the_certifying_audit_is_cited_once_certified() -> None:
    """AMHSA SECOR: the next (maintenance) audit is internal, and no auditor is left."""
    ledger = Ledger("IB-1")
    ledger.register("2020-01-10", partner="AMHSA", program="SECOR", headcount=5)
    ledger.auditor("2020-01-10", "kim")
    left = ledger.add(ev.InternalAuditorLeft, "2020-03-05", auditor="kim")
    ledger.audit("2020-03-20", "A1", auditor_type="internal", auditor="kim",
                 started="2020-03-01", completed="2020-03-10")
    ledger.qa("2020-04-01", "A1")
    doc = st(ledger, "2020-07-01")
    assert doc["status"] == "certified"
    assert doc["flags"] == ["no_internal_auditor"]
    assert left.event_id in cited(doc)
    assert explained(ledger, "2020-07-01", "no_internal_auditor") == [left.event_id]
    [entry] = [b for b in doc["because"] if b["event"] == left.event_id]
    assert entry["rule"] == "COR-2000.internal-auditor"


def test_an_auditor_who_left_under_cor_is_cited_when_a_change_to_secor_raises_the_flag(
        ) -> None:
    ledger = Ledger("IC-1")
    ledger.register("2020-01-10", partner="AMHSA", program="COR", headcount=5)
    ledger.auditor("2020-01-10", "kim")
    left = ledger.add(ev.InternalAuditorLeft, "2020-02-01", auditor="kim")
    ledger.certify("2020-03-20", "2020-04-01")
    assert "no_internal_auditor" not in st(ledger, "2020-05-01")["flags"]
    ledger.add(ev.ProgramChanged, "2020-06-01", program="SECOR")
    doc = st(ledger, "2020-07-01")
    assert doc["status"] == "certified"
    assert doc["next_audit"]["auditor"] == "internal"
    assert doc["flags"] == ["no_internal_auditor"]
    assert left.event_id in cited(doc)


def test_a_go2hr_auditor_who_left_before_the_student_certification_is_cited() -> None:
    ledger = Ledger("GS-1")
    ledger.register("2022-01-10", partner="GO2HR", program="SECOR", headcount=8)
    ledger.auditor("2022-01-10", "sam")
    left = ledger.add(ev.InternalAuditorLeft, "2022-02-01", auditor="sam")
    ledger.audit("2022-04-25", "A1", auditor_type="internal", auditor="champ", student=True)
    ledger.qa("2022-05-05", "A1")
    doc = st(ledger, "2022-06-01")
    assert doc["status"] == "certified"
    assert doc["flags"] == ["no_internal_auditor"]
    assert left.event_id in cited(doc)
    assert explained(ledger, "2022-06-01", "no_internal_auditor") == [left.event_id]
