"""GO2HR: COR and SECOR for BC tourism and hospitality (seed 002 and go2hr.ca).

Maintenance timing follows BCCSA (the WorkSafeBC calendar year). The student audit of the
trained internal auditor is the initial SECOR certification audit.
"""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, INTERNAL, V1, Rule, cycle_rules
from ledger.rulebooks.bccsa import worksafebc_incentive_rules

PARTNER = "GO2HR"
S002 = "002_95a31b97c5774447.txt"
SITE = "go2hr.ca"

RULES: list[Rule] = [
    *cycle_rules(PARTNER),
    Rule(PARTNER, "programs", V1, f"{S002}; {SITE}", "SECOR below 20 FTE, COR from 20",
         {"limits": {"SECOR": 19}}),
    Rule(PARTNER, "certification-auditor", V1, S002,
         "SECOR: the trained internal auditor; COR: an external auditor",
         {"SECOR": INTERNAL, "COR": EXTERNAL}),
    Rule(PARTNER, "maintenance-auditor", V1, S002,
         "maintenance audits: the trained internal auditor is expected (SECOR); decided: an "
         "external auditor may stand in, since DOMAIN.md fixes the auditor for certification "
         "audits only and WorkSafeBC's partners allow it (seed 004)",
         {"SECOR": EITHER, "COR": EITHER, "expected": {"SECOR": INTERNAL}}),
    Rule(PARTNER, "maintenance-due", V1, f"{SITE}; worksafebc.com",
         "as BCCSA: completed by Dec 31 of each of the two calendar years after the year of "
         "issue; 45 days' grace for the submission",
         {"basis": "calendar-year", "grace_days": 45}),
    Rule(PARTNER, "pass-mark", V1, SITE, "80% overall and at least 50% in every element",
         {"overall": 80, "element_min": 50}),
    Rule(PARTNER, "failed-audit", V1, SITE, "a failed audit is repaired by a full re-audit"),
    Rule(PARTNER, "student-audit", V1, S002,
         "the student audit of the trained internal auditor is the initial certification "
         "audit; decided: its auditor need not be qualified yet (the student audit is what "
         "qualifies them), and it counts for certification only",
         {"counts_as": "certification"}),
    Rule(PARTNER, "audit-notice", V1, S002,
         "notice of audit activity at least 2 weeks before the audit starts; decided: "
         "advisory, since QA reviews the audit's procedure and its acceptance stands",
         {"days": 14}),
    *worksafebc_incentive_rules(PARTNER, f"{S002}; worksafebc.com"),
]
