"""GENERIC: the cycle as seeds 000 and 001 describe it, for partners without a rulebook.

Where the two seeds differ (000: SECOR "10 or less"; 001: "fewer than 10") the rules follow
001, as DOMAIN.md says. Decisions where the seeds are silent are stated in each rule.
"""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, V1, Rule, cycle_rules

PARTNER = "GENERIC"
S000 = "000_b3d96182a0622eb7.txt"
S001 = "001_7eea98df34f298a3.txt"

RULES: list[Rule] = [
    *cycle_rules(PARTNER),
    Rule(PARTNER, "programs", V1, S001,
         "SECOR below 10 employees, COR from 10 (seed 001 over seed 000's '10 or less')",
         {"limits": {"SECOR": 9}}),
    Rule(PARTNER, "certification-auditor", V1, S000,
         "certification and recertification audits: external for COR, internal allowed "
         "for SECOR", {"COR": EXTERNAL, "SECOR": EITHER}),
    Rule(PARTNER, "maintenance-auditor", V1, S000,
         "maintenance audits: internal or external (seed 000: internal auditors audit 'in "
         "addition to' the external certification audit; nothing forbids an external one)",
         {"*": EITHER}),
    Rule(PARTNER, "maintenance-due", V1, S000,
         "a maintenance audit is submitted on or before each anniversary of the certificate's "
         "issue date (the submission date counts), in the year that anniversary closes; "
         "no grace", {"basis": "anniversary", "grace_days": 0}),
    Rule(PARTNER, "pass-mark", V1, S001, "an audit passes with 80% overall",
         {"overall": 80}),
    Rule(PARTNER, "failed-audit", V1, S001,
         "a failed audit is repaired by a full re-audit (no limited-scope audits)"),
    Rule(PARTNER, "student-audit", V1, "DOMAIN.md (Precise rules)",
         "decided (sources silent): a student audit does not count; only go2HR's policy "
         "makes a student audit a certification audit, and it says so explicitly",
         {"counts_as": None}),
    Rule(PARTNER, "incentive", V1, S001,
         "no incentive is decided by the ledger: premium discounts vary by province "
         "(seed 001)", {"scheme": "not_applicable"}),
]
