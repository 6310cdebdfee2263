"""AMHSA: SECOR for Alberta municipalities (AMHSA's SECOR page, seed 003), with PIR premium
discounts."""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, INTERNAL, V1, Rule
from ledger.rulebooks.sources import AMHSA_SECOR, DECIDED, DECIDED_2026

S003 = AMHSA_SECOR

RULES: list[Rule] = [
    Rule("AMHSA-2000.programs", V1, S003,
         "SECOR: 10 or fewer employees at every point in the year (any headcount above 10 "
         "in the year exceeds it); otherwise the standard COR requirements apply",
         {"limits": {"SECOR": 10}, "all_year": True}),
    Rule("AMHSA-2000.certification-auditor", V1, S003,
         "SECOR certification: internal; COR: external; after a revocation: external",
         {"SECOR": INTERNAL, "COR": EXTERNAL}),
    Rule("AMHSA-2000.maintenance-auditor", V1, (S003, DECIDED_2026),
         "SECOR maintenance audits are internal audits (\"internal audits must be "
         "conducted\"); an external auditor in place of the internal one still counts",
         {"SECOR": INTERNAL, "COR": EITHER, "stand_in": (EXTERNAL,),
          "expected": {"SECOR": INTERNAL}}),
    Rule("AMHSA-2000.maintenance-due", V1, S003,
         "a maintenance audit is completed within one year of the last audit's completion "
         "date; no grace (so it must also be submitted by then to be known in time). The "
         "recertification falls due on the earlier of the certificate's expiry and one year "
         "after the last audit's completion",
         {"basis": "last-audit-completion", "grace_days": 0}),
    Rule("AMHSA-2000.pass-mark", V1, S003,
         "a certification audit passes with 80% overall; a maintenance audit need not pass, "
         "it must be QA-accepted", {"overall": 80, "need_not_pass": ("maintenance",)}),
    Rule("AMHSA-2000.failed-audit", V1, S003, "a failed audit is repaired by a re-audit"),
    Rule("AMHSA-2000.student-audit", V1, DECIDED,
         "decided (source silent): a student audit does not count", {"counts_as": None}),
    Rule("AMHSA-2000.incentive", V1, S003,
         "PIR: a premium discount while a valid SECOR is held", {"scheme": "pir"}),
    Rule("AMHSA-2000.pir-discount", V1, S003,
         "5% industry rate discount, up to 20% on claims-cost performance",
         {"percent": "5", "max_percent": "20"}),
    Rule("AMHSA-2000.pir-eligibility", V1, DECIDED,
         "eligible for year Y when a valid certificate is held on Dec 31 of Y and no review, "
         "nor investigation of an incident in Y, is open (an open one defers the decision)"),
]
