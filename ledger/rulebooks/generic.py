"""GENERIC: the cycle as seeds 000 and 001 describe it, for partners without a rulebook.

Where the two seeds differ (000: SECOR "10 or less"; 001: "fewer than 10") the rules follow
001. Decisions where the seeds are silent are stated in each rule.
"""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, V1, Rule
from ledger.rulebooks.sources import COR_VS_SECOR, DECIDED, SECOR_GUIDE

S000 = COR_VS_SECOR
S001 = SECOR_GUIDE

RULES: list[Rule] = [
    Rule("GENERIC-2000.programs", V1, S001,
         "SECOR below 10 employees, COR from 10 (seed 001 over seed 000's '10 or less')",
         {"limits": {"SECOR": 9}}),
    Rule("GENERIC-2000.certification-auditor", V1, S000,
         "certification and recertification audits: external for COR, internal allowed "
         "for SECOR", {"COR": EXTERNAL, "SECOR": EITHER}),
    Rule("GENERIC-2000.maintenance-auditor", V1, S000,
         "maintenance audits: internal or external (seed 000: internal auditors audit 'in "
         "addition to' the external certification audit; nothing forbids an external one)",
         {"*": EITHER}),
    Rule("GENERIC-2000.maintenance-due", V1, S000,
         "a maintenance audit is submitted on or before each anniversary of the certificate's "
         "issue date (the submission date counts), in the year that anniversary closes "
         "(from the issue date or the anniversary before, that day included); no grace",
         {"basis": "anniversary", "grace_days": 0}),
    Rule("GENERIC-2000.pass-mark", V1, S001, "an audit passes with 80% overall",
         {"overall": 80}),
    Rule("GENERIC-2000.failed-audit", V1, S001,
         "a failed audit is repaired by a full re-audit (no limited-scope audits)"),
    Rule("GENERIC-2000.student-audit", V1, DECIDED,
         "decided (sources silent): a student audit does not count; only go2HR's policy "
         "makes a student audit a certification audit, and it says so explicitly",
         {"counts_as": None}),
    Rule("GENERIC-2000.incentive", V1, S001,
         "no incentive is decided by the ledger: premium discounts vary by province "
         "(seed 001)", {"scheme": "not_applicable"}),
]
