"""COR: the rules of the cycle every partner shares (DOMAIN "The cycle"), held by every
partner's rulebook under the issuer ``COR``."""

from __future__ import annotations

from ledger.events import PARTNERS
from ledger.rulebooks.base import EXTERNAL, V1, Rule
from ledger.rulebooks.sources import (
    AMHSA_SECOR,
    BCCSA_FAQ,
    COR_VS_SECOR,
    DECIDED,
    DECIDED_2026,
    SECOR_GUIDE,
)

EVERY = tuple(PARTNERS)

RULES: list[Rule] = [
    Rule("COR-2000.validity", V1, COR_VS_SECOR,
         "a certificate is issued on the QA acceptance date and is valid 3 years; a "
         "passing certification or recertification audit submitted while it is in force "
         "and accepted by QA renews it, also while a maintenance audit is still owed",
         {"years": 3}, EVERY),
    Rule("COR-2000.recertification-due", V1, (COR_VS_SECOR, DECIDED_2026),
         "a recertification audit must be submitted by the certificate's expiry date; "
         "otherwise it is expired from the day after (no grace: the grace the sources "
         "give is for maintenance submissions only); one submitted after the expiry counts "
         "as a new certification, issued on its QA date, never backdated. The expiry holds "
         "whatever else is owed: a maintenance audit's grace or QA hold, or a scope "
         "change's audit, keeps the certificate in force no later than its expiry, unless "
         "a recertification audit submitted by then is still in QA", {}, EVERY),
    Rule("COR-2000.renewal-continuity", V1, DECIDED,
         "a renewal accepted after the old expiry, for an audit submitted on time, is "
         "issued on the old expiry date so the cycle stays continuous", {}, EVERY),
    Rule("COR-2000.qa", V1, (BCCSA_FAQ, DECIDED_2026),
         "an audit counts only once the partner's QA accepts it; one submitted on time "
         "(grace included) and still in QA at the due date keeps the certificate "
         "(qa_pending); a rejection after the due date ends it from the rejection date; "
         "audits that cannot count do not set qa_pending, nor does one that fails its "
         "pass mark with no limited-scope re-audit open to it, nor a limited-scope "
         "re-audit whose scores, combined with the audit it repairs, would still fail",
         {}, EVERY),
    Rule("COR-2000.missed-audit", V1, COR_VS_SECOR,
         "a maintenance audit not submitted by its due date (and grace) cancels the "
         "certificate the day after; the next audit is a certification audit", {}, EVERY),
    Rule("COR-2000.revocation", V1, AMHSA_SECOR,
         "a revocation ends the certificate at once; the next certification audit must "
         "be by an external auditor", {"next_auditor": EXTERNAL}, EVERY),
    Rule("COR-2000.review", V1, AMHSA_SECOR,
         "a serious incident or fatality opens a review of the certificate until it "
         "closes (flag under_review); a review closed ends it whatever the incidents "
         "that opened it", {}, EVERY),
    Rule("COR-2000.scope-change", V1, (BCCSA_FAQ, DECIDED_2026),
         "a change of scope needs the partner's decision on a certification audit "
         "(flag scope_change_pending until decided); when one is required it becomes the "
         "next audit, due by Dec 31 of the change's year with no grace, and missed, the "
         "certificate is cancelled the day after; a pass issues a new certificate. An audit "
         "already past its due date when the change comes (in grace, or held in QA or by a "
         "limited-scope window) stays owed first, and a renewal that settles the expiry "
         "leaves the change's audit owed", {},
         EVERY),
    Rule("COR-2000.internal-auditor", V1, BCCSA_FAQ,
         "an internal audit counts only when its auditor is a qualified internal auditor "
         "of the employer when the audit started (InternalAuditorQualified not followed "
         "by InternalAuditorLeft by the start date; decided: one who leaves mid-audit "
         "has conducted it qualified)", {}, EVERY),
    Rule("COR-2000.audit-kinds", V1, DECIDED,
         "certification and recertification audits are interchangeable as the audit "
         "that issues a certificate: the kind the sender gives is a label, the ledger's "
         "state decides which audit is due", {}, EVERY),
    Rule("COR-2000.size-class-basis", V1, (DECIDED, DECIDED_2026),
         "open question decided: size class and program limit follow the latest "
         "headcount effective by the as-of date, not the 12-month average (normal "
         "operating mode); an audit is judged by the size on its started date. Reason: "
         "the normal operating mode (seed 004) governs when an audit may be held and its "
         "interview sample, not the program; employees_at_audit is kept but does not "
         "reclassify the employer", {}, EVERY),
    Rule("COR-2000.secor-growth", V1, (DECIDED, SECOR_GUIDE),
         "open question decided: a SECOR employer that grows past its limit mid-cycle "
         "keeps its certificate, cycle and SECOR audit requirements until a "
         "ProgramChanged event; it gets flag headcount_exceeds_program and the lapse "
         "reason of the same name. Reason: the program stands until ProgramChanged; no "
         "source cancels a certificate for growth, they ask the employer to notify the "
         "partner and plan the transition (seeds 001, 004)", {}, EVERY),
    Rule("COR-2000.lapse-risk", V1, DECIDED,
         "an employer is at lapse risk when its next required audit falls due within the "
         "window asked for: critical within 30 days, in grace, or held past its due date "
         "by QA (until the window's length after it), warning within 60, notice later; "
         "missed while the last day of the audit it lapsed for (grace included) is at most "
         "the window's length back",
         {"critical_days": 30, "warning_days": 60}, EVERY),
    Rule("COR-2000.corrections", V1, (DECIDED, DECIDED_2026),
         "a wrong event is never edited: an EventVoided names it, and from the void's "
         "recorded_at on the target counts for nothing, on every as-of date; a voided void "
         "no longer counts, so its target counts again. An answer from the target's "
         "effective date on cites the void that took it away", {}, EVERY),
]
