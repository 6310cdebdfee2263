"""GO2HR: COR and SECOR for BC tourism and hospitality (go2HR's SECOR steps, seed 002).

Maintenance timing follows BCCSA (the WorkSafeBC calendar year). The student audit of the
trained internal auditor is the initial SECOR certification audit. The WorkSafeBC incentive
and the 2020 audit waiver are in :mod:`ledger.rulebooks.worksafebc`.
"""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, INTERNAL, V1, Rule
from ledger.rulebooks.sources import BCCSA_FAQ, DECIDED_2026, GO2HR_SECOR

S002 = GO2HR_SECOR
SITE = GO2HR_SECOR

RULES: list[Rule] = [
    Rule("GO2HR-2000.programs", V1, S002, "SECOR below 20 FTE, COR from 20",
         {"limits": {"SECOR": 19}}),
    Rule("GO2HR-2000.certification-auditor", V1, S002,
         "SECOR: the trained internal auditor; COR: an external auditor",
         {"SECOR": INTERNAL, "COR": EXTERNAL}),
    Rule("GO2HR-2000.maintenance-auditor", V1, (S002, DECIDED_2026),
         "SECOR: every audit is by the trained internal auditor, so maintenance audits are "
         "internal, and an external auditor does not count in their place (only AMHSA's "
         "rule allows that stand-in); COR: either",
         {"SECOR": INTERNAL, "COR": EITHER, "expected": {"SECOR": INTERNAL}}),
    Rule("GO2HR-2000.maintenance-due", V1, (SITE, BCCSA_FAQ),
         "as BCCSA: completed by Dec 31 of each of the two calendar years after the year of "
         "issue; 45 days' grace for the submission",
         {"basis": "calendar-year", "grace_days": 45}),
    Rule("GO2HR-2000.pass-mark", V1, SITE, "80% overall and at least 50% in every element",
         {"overall": 80, "element_min": 50}),
    Rule("GO2HR-2000.failed-audit", V1, SITE, "a failed audit is repaired by a full re-audit"),
    Rule("GO2HR-2000.student-audit", V1, (S002, DECIDED_2026),
         "the student audit of the trained internal auditor is the initial certification "
         "audit; decided: its auditor need not be qualified yet (the student audit is what "
         "qualifies them), and it counts only as the initial certification audit, before "
         "the first certificate (second set: `no_internal_auditor` is not raised then)",
         {"counts_as": "certification"}),
    Rule("GO2HR-2000.audit-notice", V1, (S002, DECIDED_2026),
         "notice of audit activity at least 2 weeks before the audit starts; a notice filed "
         "late or not at all does not void the audit (QA decides), and the audit's decision "
         "says so",
         {"days": 14}),
]
