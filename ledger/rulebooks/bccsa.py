"""BCCSA: COR for BC construction (seed 004 and worksafebc.com).

BCCSA has no SECOR; COR splits into Small (19 or fewer) and Large (20 or more).
"""

from __future__ import annotations

from ledger.rulebooks.base import EITHER, EXTERNAL, V1, Rule, cycle_rules

PARTNER = "BCCSA"
S004 = "004_57bb53264669f1f0.txt"
WSBC = "worksafebc.com"


def worksafebc_incentive_rules(partner: str, source: str) -> list[Rule]:
    """The WorkSafeBC COR incentive, shared by the BC partners (BCCSA, GO2HR)."""
    return [
        Rule(partner, "incentive", V1, source,
             "WorkSafeBC COR financial incentive for each year a valid certificate is held",
             {"scheme": "worksafebc"}),
        Rule(partner, "incentive-rate", V1, S004,
             "per CU in the audit's scope: base premium = assessable payroll x base rate / 100; "
             "incentive = 10% of the sum of base premiums; the base rate is WorkSafeBC's (BC) "
             "for the CU and year", {"rate": "0.10", "jurisdiction": "BC"}),
        Rule(partner, "incentive-floor", V1, S004,
             "the minimum incentive is the lesser of $1,000 and 75% of premiums paid for the "
             "year; amount = max(formula, floor), rounded half-up to the cent",
             {"cap": "1000.00", "premium_share": "0.75"}),
        Rule(partner, "first-certification-cutoff", V1, S004,
             "a new certification audit counts for the year's incentive when submitted by "
             "Nov 30 of that year", {"month": 11, "day": 30}),
        Rule(partner, "incentive-payable", V1, S004,
             "the incentive for certification year Y is paid in Y + 1", {"offset_years": 1}),
        Rule(partner, "incentive-scope", V1, S004,
             "a CU not in the audit's scope earns nothing"),
        Rule(partner, "incentive-exceptions", V1, S004,
             "ineligible: payroll not reported by its deadline, a violation with a penalty in "
             "the year, a certificate cancelled or revoked in the year; deferred while an "
             "investigation or review is open"),
        Rule(partner, "incentive-payroll", V1, f"{S004}; DOMAIN.md (Precise rules)",
             "payroll for Y is on time when the report's effective date is on or before its "
             "deadline (no deadline given: on time); decided (sources silent): a CU in the "
             "audit's scope with no payroll report for Y has no deadline to miss, so it does "
             "not make the year ineligible, but it earns nothing from the formula (the floor "
             "still applies); several reports for one CU: the latest effective one gives the "
             "payroll, and the CU is on time if any of them was"),
        Rule(partner, "incentive-base-rate", V1, "DOMAIN.md (The WorkSafeBC incentive)",
             "decided: a CU's base rate for Y is the latest recorded BaseRateSet for the "
             "jurisdiction, CU and year; a CU in scope without one defers the decision (the "
             "amount cannot be computed yet)"),
        Rule(partner, "incentive-decision", V1, f"{S004}; DOMAIN.md (The WorkSafeBC incentive)",
             "decided (sources silent): the decision for Y uses every event known at the "
             "known-at time whatever its effective date (payroll, premiums, QA and closures "
             "come after Y); a review or investigation opened by Dec 31 of Y and with no close "
             "known defers it, unless no certificate was held for Y; premiums "
             "paid for the floor are those of CUs in the audit's scope; the floor raises the "
             "amount only when it exceeds the formula (a tie is the formula's)"),
    ]


RULES: list[Rule] = [
    *cycle_rules(PARTNER),
    Rule(PARTNER, "programs", V1, S004,
         "COR only, Small with 19 or fewer employees, Large with 20 or more (latest "
         "headcount; unknown headcount is judged by the Large rules, the stricter)",
         {"small_max": 19, "limits": {}}),
    Rule(PARTNER, "certification-auditor", V1, S004,
         "Large COR: certification/recertification by a BCCSA-qualified external auditor; "
         "Small COR: a qualified internal or an external auditor",
         {"small": EITHER, "large": EXTERNAL}),
    Rule(PARTNER, "maintenance-auditor", V1, S004,
         "maintenance audits: a qualified internal auditor, or an external one in its place",
         {"*": EITHER}),
    Rule(PARTNER, "maintenance-due", V1, f"{S004}; {WSBC}",
         "a maintenance audit is completed on site by Dec 31 of each of the two calendar "
         "years after the year of issue; grace: 45 days for its submission (the audit must "
         "be submitted by the end of the grace to count)",
         {"basis": "calendar-year", "grace_days": 45}),
    Rule(PARTNER, "pass-mark", V1, S004,
         "80% overall and at least 50% in every element, for every audit kind",
         {"overall": 80, "element_min": 50}),
    Rule(PARTNER, "limited-scope", V1, S004,
         "70-79% overall, or an element below 50%: a limited-scope re-audit completed within "
         "90 days of the original audit's completion; a QA-accepted one replaces the "
         "original's overall and re-audited elements; below 70%: full re-audit",
         {"overall_min": 70, "window_days": 90}),
    Rule(PARTNER, "student-audit", V1, S004,
         "a student audit assignment never counts towards the audit requirements",
         {"counts_as": None}),
    Rule(PARTNER, "audit-timeframe", V1, S004,
         "an audit is completed and submitted within 45 calendar days of its start",
         {"days": 45}),
    Rule(PARTNER, "audit-notice", V1, S004,
         "team audits need a notice 3 weeks before they start; decided: advisory, since QA "
         "reviews the audit's procedure and its acceptance stands", {"team_days": 21}),
    *worksafebc_incentive_rules(PARTNER, f"{S004}; {WSBC}"),
]
