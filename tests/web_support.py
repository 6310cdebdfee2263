"""The ledger the page tests run on: the service tests' two partners, plus one BCCSA employer
whose certifying audit and QA were recorded months late, a voided headcount, and a name that
must be shown literally. Dates in one place so the tests and the screenshots agree."""

from __future__ import annotations

from typing import Any

from tests.conftest import audit, line, registration
from tests.service_support import OTHER, OWN

LATE = "BC-LATE"
LATE_NAME = "Late & <Sons> Roofing"
AS_OF = "2021-06-01"  # certified as known now; registered as known before the audit was recorded
BEFORE_AUDIT_KNOWN = "2021-05-02T09:00:00Z"  # the void's recorded time: a slider stop
AUDIT_RECORDED = "2021-07-15T10:00:00Z"


def _rec(when: str) -> dict[str, Any]:
    return {"recorded_at": when, "by": "web-test"}


def web_lines() -> list[dict[str, Any]]:
    """Our own BCCSA and GO2HR employers, each with an audit still in QA, a base rate, and
    the late-recorded employer."""
    rec = _rec("2021-01-01T00:00:00Z")
    reg = registration(LATE, "2021-01-04", partner="BCCSA", **_rec("2021-01-04T09:00:00Z"))
    reg["data"]["name"] = LATE_NAME
    return [
        line("BaseRateSet", None, "2021-01-01",
             {"jurisdiction": "BC", "cu": "G100", "year": 2021, "base_rate": "3.10"},
             id="rate-G100-2021", **rec),
        registration(OWN, "2020-01-06", partner="BCCSA", **rec),
        audit(OWN, "2020-06-01", **_rec("2020-06-02T00:00:00Z")),
        registration(OTHER, "2020-01-06", partner="GO2HR", **rec),
        audit(OTHER, "2020-06-01", **_rec("2020-06-02T00:00:00Z")),
        reg,
        line("HeadcountReported", LATE, "2021-05-01", {"headcount": 30}, id="BC-LATE-hc",
             **_rec("2021-05-01T09:00:00Z")),
        line("EventVoided", LATE, "2021-05-02", {"target": "BC-LATE-hc", "reason": "typo"},
             id="BC-LATE-void", **_rec(BEFORE_AUDIT_KNOWN)),
        audit(LATE, "2021-03-01", audit_id="A-21", started="2021-02-01", completed="2021-02-10",
              **_rec(AUDIT_RECORDED)),
        line("QADecided", LATE, "2021-03-20", {"audit": "A-21", "outcome": "accepted"},
             id="BC-LATE-qa", **_rec("2021-07-15T10:05:00Z")),
    ]
