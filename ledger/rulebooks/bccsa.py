"""BCCSA: COR for BC construction (the BCCSA COR FAQ, seed 004, and WorkSafeBC).

BCCSA has no SECOR; COR splits into Small (19 or fewer) and Large (20 or more). The
WorkSafeBC incentive and the 2020 audit waiver are in :mod:`ledger.rulebooks.worksafebc`.
"""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, V1, Rule
from ledger.rulebooks.sources import BCCSA_FAQ, DECIDED_2026, WSBC_INCENTIVES

S004 = BCCSA_FAQ

RULES: list[Rule] = [
    Rule("BCCSA-2000.programs", V1, S004,
         "COR only, Small with 19 or fewer employees, Large with 20 or more (latest "
         "headcount; unknown headcount is judged by the Large rules, the stricter)",
         {"small_max": 19, "limits": {}}),
    Rule("BCCSA-2000.certification-auditor", V1, S004,
         "Large COR: certification/recertification by a BCCSA-qualified external auditor; "
         "Small COR: a qualified internal or an external auditor",
         {"small": EITHER, "large": EXTERNAL}),
    Rule("BCCSA-2000.maintenance-auditor", V1, S004,
         "maintenance audits: a qualified internal auditor, or an external one in its place",
         {"*": EITHER}),
    Rule("BCCSA-2000.maintenance-due", V1, (S004, WSBC_INCENTIVES),
         "a maintenance audit is completed on site by Dec 31 of each of the two calendar "
         "years after the year of issue; grace: 45 days for its submission (the audit must "
         "be submitted by the end of the grace to count)",
         {"basis": "calendar-year", "grace_days": 45}),
    Rule("BCCSA-2000.pass-mark", V1, S004,
         "80% overall and at least 50% in every element, for every audit kind",
         {"overall": 80, "element_min": 50}),
    Rule("BCCSA-2000.limited-scope", V1, S004,
         "70-79% overall, or an element below 50%: a limited-scope re-audit completed within "
         "90 days of the original audit's completion; a QA-accepted one replaces the "
         "original's overall and re-audited elements; below 70%: full re-audit",
         {"overall_min": 70, "window_days": 90}),
    Rule("BCCSA-2000.student-audit", V1, S004,
         "a student audit assignment never counts towards the audit requirements",
         {"counts_as": None}),
    Rule("BCCSA-2000.audit-timeframe", V1, S004,
         "an audit is completed and submitted within 45 calendar days of its start",
         {"days": 45}),
    Rule("BCCSA-2000.audit-notice", V1, (S004, DECIDED_2026),
         "team audits need a notice 3 weeks before they start; a notice filed late or not "
         "at all does not void the audit (QA decides), and the audit's decision says so",
         {"team_days": 21}),
]
