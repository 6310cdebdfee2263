"""AMHSA: SECOR for Alberta municipalities (seed 003), with PIR premium discounts."""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, INTERNAL, V1, Rule, cycle_rules

PARTNER = "AMHSA"
S003 = "003_9119c7477a17270a.txt"

RULES: list[Rule] = [
    *cycle_rules(PARTNER),
    Rule(PARTNER, "programs", V1, S003,
         "SECOR: 10 or fewer employees at every point in the year (any headcount above 10 "
         "in the year exceeds it); otherwise the standard COR requirements apply",
         {"limits": {"SECOR": 10}, "all_year": True}),
    Rule(PARTNER, "certification-auditor", V1, S003,
         "SECOR certification: internal; COR: external; after a revocation: external",
         {"SECOR": INTERNAL, "COR": EXTERNAL}),
    Rule(PARTNER, "maintenance-auditor", V1, S003,
         "SECOR maintenance audits are internal audits (expected); decided: an external "
         "auditor may stand in, since DOMAIN.md fixes the auditor for certification audits "
         "only", {"SECOR": EITHER, "COR": EITHER, "expected": {"SECOR": INTERNAL}}),
    Rule(PARTNER, "maintenance-due", V1, S003,
         "a maintenance audit is completed within one year of the last audit's completion "
         "date; no grace (so it must also be submitted by then to be known in time). The "
         "recertification stays due by the certificate's expiry (DOMAIN.md, The cycle)",
         {"basis": "last-audit-completion", "grace_days": 0}),
    Rule(PARTNER, "pass-mark", V1, S003,
         "a certification audit passes with 80% overall; a maintenance audit need not pass, "
         "it must be QA-accepted", {"overall": 80, "need_not_pass": ("maintenance",)}),
    Rule(PARTNER, "failed-audit", V1, S003, "a failed audit is repaired by a re-audit"),
    Rule(PARTNER, "student-audit", V1, "DOMAIN.md (Precise rules)",
         "decided (source silent): a student audit does not count", {"counts_as": None}),
    Rule(PARTNER, "incentive", V1, S003,
         "PIR: a premium discount while a valid SECOR is held", {"scheme": "pir"}),
    Rule(PARTNER, "pir-discount", V1, S003,
         "5% industry rate discount, up to 20% on claims-cost performance",
         {"percent": "5", "max_percent": "20"}),
    Rule(PARTNER, "pir-eligibility", V1, "DOMAIN.md (Precise rules)",
         "eligible for year Y when a valid certificate is held on Dec 31 of Y and no review "
         "is open (an open one defers the decision)"),
]
