"""The ledger the page tests run on: the service tests' two partners, plus one BCCSA employer
whose certifying audit and QA were recorded months late, a voided headcount, and a name that
must be shown literally. Dates in one place so the tests and the screenshots agree."""

from __future__ import annotations

from typing import Any

from tests.conftest import audit, line, registration
from tests.service_support import seed_lines

LATE = "BC-LATE"
LATE_NAME = "Late & <Sons> Roofing"
AS_OF = "2021-06-01"  # certified as known now; registered as known before the audit was recorded
BEFORE_AUDIT_KNOWN = "2021-05-02T09:00:00Z"  # the void's recorded time: a slider stop
AUDIT_RECORDED = "2021-07-15T10:00:00Z"


def _rec(when: str) -> dict[str, Any]:
    return {"recorded_at": when, "by": "web-test"}


def web_lines() -> list[dict[str, Any]]:
    reg = registration(LATE, "2021-01-04", partner="BCCSA", **_rec("2021-01-04T09:00:00Z"))
    reg["data"]["name"] = LATE_NAME
    return [
        *seed_lines(),
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
