"""WSBC: WorkSafeBC's rules for its BC certifying partners (BCCSA, GO2HR): the COR financial
incentive, and the 2020 audit waiver, the first rule with a real in-force day."""

from __future__ import annotations

from datetime import date

from ledger.rulebooks.base import V1, Rule
from ledger.rulebooks.sources import (
    BCCSA_FAQ,
    DECIDED,
    DECIDED_2026,
    WSBC_2020_WAIVER,
    WSBC_INCENTIVES,
)

BC = ("BCCSA", "GO2HR")

RULES: list[Rule] = [
    Rule("WSBC-2000.incentive", V1, WSBC_INCENTIVES,
         "WorkSafeBC COR financial incentive for each year a valid certificate is held",
         {"scheme": "worksafebc"}, BC),
    Rule("WSBC-2000.incentive-rate", V1, BCCSA_FAQ,
         "per CU in the audit's scope: base premium = assessable payroll x base rate / 100; "
         "incentive = 10% of the sum of base premiums; the base rate is WorkSafeBC's (BC) "
         "for the CU and year", {"rate": "0.10", "jurisdiction": "BC"}, BC),
    Rule("WSBC-2000.incentive-floor", V1, (BCCSA_FAQ, DECIDED_2026),
         "the minimum incentive is the lesser of $1,000 and 75% of every premium the "
         "employer paid for the year, whatever the CU; amount = max(formula, floor), "
         "rounded half-up to the cent; minimum_applied only when the floor is strictly "
         "greater", {"cap": "1000.00", "premium_share": "0.75"}, BC),
    Rule("WSBC-2000.first-certification-cutoff", V1, (BCCSA_FAQ, DECIDED_2026),
         "a new certification counts for year Y's incentive when its audit is submitted by "
         "Nov 30 of Y and accepted by QA by Dec 31 of Y; accepted later, the certificate is "
         "issued in Y + 1 and the first eligible year is Y + 1", {"month": 11, "day": 30},
         BC),
    Rule("WSBC-2000.incentive-payable", V1, BCCSA_FAQ,
         "the incentive for certification year Y is paid in Y + 1", {"offset_years": 1}, BC),
    Rule("WSBC-2000.incentive-scope", V1, BCCSA_FAQ,
         "a CU not in the audit's scope earns nothing", {}, BC),
    Rule("WSBC-2000.incentive-exceptions", V1, (BCCSA_FAQ, DECIDED_2026),
         "ineligible: payroll not reported by its deadline, a violation with a penalty in "
         "the year, a certificate cancelled or revoked in the year; deferred while an "
         "investigation or review is open; an investigation defers the year of its "
         "incident (incident_date, default the day it opened)", {}, BC),
    Rule("WSBC-2000.incentive-payroll", V1, (BCCSA_FAQ, DECIDED),
         "payroll for Y is on time when the report's effective date is on or before its "
         "deadline (no deadline given: on time); decided (sources silent): a CU in the "
         "audit's scope with no payroll report for Y has no deadline to miss, so it does "
         "not make the year ineligible, but it earns nothing from the formula (the floor "
         "still applies); several reports for one CU: the latest effective one gives the "
         "payroll, and the CU is on time if any of them was", {}, BC),
    Rule("WSBC-2000.incentive-base-rate", V1, (DECIDED, DECIDED_2026),
         "decided: a CU's base rate for Y is the BaseRateSet for the jurisdiction, CU and "
         "year recorded last (a voided one does not count); a CU in scope without one "
         "defers the decision (the amount cannot be computed yet)", {}, BC),
    Rule("WSBC-2000.incentive-decision", V1, (BCCSA_FAQ, DECIDED),
         "decided (sources silent): the decision for Y uses every event known at the "
         "known-at time whatever its effective date (payroll, premiums, QA and closures "
         "come after Y); a review or investigation opened by Dec 31 of Y and with no close "
         "known defers it, unless no certificate was in force in Y (also when Y's "
         "required audit was missed); a certificate that ends while Y's maintenance "
         "audit is in QA leaves Y deferred until QA decides it", {}, BC),
    Rule("WSBC-2020.audit-waiver", date(2020, 3, 30), WSBC_2020_WAIVER,
         "a certificate expiring on or before 2020-08-31 whose recertification audit is not "
         "submitted may get a 2020 audit waiver (AuditWaiverGranted); granted on or before "
         "the expiry, it issues a one-year certificate from the original expiry date "
         "(cycle year 3), the next audit a recertification due by the new expiry. A "
         "waiver granted after the expiry, for a later expiry, before 2020-03-30, or by a "
         "partner outside BC does not count. Decided: a recertification audit already "
         "submitted still counts (accepted, it renews the waiver's certificate); a "
         "maintenance audit that holds the certificate when the waiver is granted (in QA, "
         "or by an open limited-scope window) still decides: failed, the certificate is "
         "cancelled from that day and the waiver's with it, met, it meets its year and the "
         "recertification follows; whatever else was owed gives way to the recertification",
         {"expires_by": "2020-08-31", "years": 1}, BC),
]
