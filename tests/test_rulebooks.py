"""The rulebooks: versioned lookup, every rule's data at its boundaries, decided questions."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from ledger.rulebooks import RULES, Rule, add_years, rulebook_for
from ledger.rulebooks.base import EITHER, EXTERNAL, INTERNAL
from ledger.rulebooks.sources import Source
from projections.status import status
from tests.factories import Ledger

PARTNERS = ("GENERIC", "BCCSA", "GO2HR", "AMHSA")
TEST = Source("a test's own rule")
D = Decimal
GOOD = {"policy": D(90), "hazard_assessment": D(85)}


def test_every_partner_has_the_rules_the_fold_needs() -> None:
    needed = {"programs", "validity", "certification-auditor", "maintenance-auditor",
              "maintenance-due", "pass-mark", "student-audit", "qa", "missed-audit",
              "recertification-due", "renewal-continuity", "revocation", "review",
              "scope-change", "internal-auditor", "incentive", "secor-growth",
              "size-class-basis"}
    for partner in PARTNERS:
        assert needed <= set(rulebook_for(partner, date(2020, 1, 1)).rules)


def test_every_rule_has_a_versioned_id_and_a_source() -> None:
    for rule in RULES.all():
        assert re.fullmatch(r"[A-Z0-9]+-\d{4}(-\d{2}-\d{2})?\.[a-z-]+", rule.id)
        assert rule.source and rule.says and rule.partners
        assert rule.key == f"{rule.issuer}.{rule.name}"
        assert rule.id.split("-", 1)[1].startswith(str(rule.since.year))


def test_open_questions_are_decided_with_a_reason_in_every_rulebook() -> None:
    for partner in PARTNERS:
        rb = rulebook_for(partner, date(2023, 1, 1))
        assert "ProgramChanged" in rb.rule("secor-growth").says
        assert "latest headcount" in rb.rule("size-class-basis").says


def test_lookup_by_date_uses_the_rule_version_in_force_then() -> None:
    stricter = Rule("BCCSA-2030.pass-mark", date(2030, 1, 1), TEST, "85% overall, 50% each",
                    {"overall": 85, "element_min": 50})
    registry = RULES.with_rules(stricter)
    before = registry.rulebook_for("BCCSA", date(2029, 12, 31))
    after = registry.rulebook_for("BCCSA", date(2030, 1, 1))
    assert before.rule("pass-mark").id == "BCCSA-2000.pass-mark"
    assert after.rule("pass-mark").id == "BCCSA-2030.pass-mark"
    assert before.judge_scores("certification", D(82), GOOD)[0].passes
    assert not after.judge_scores("certification", D(82), GOOD)[0].passes


def test_replaying_a_past_date_judges_an_audit_by_the_rules_in_force_then() -> None:
    registry = RULES.with_rules(Rule("GENERIC-2030.pass-mark", date(2030, 1, 1), TEST,
                                     "85% overall", {"overall": 85}))
    old, new = Ledger("OLD"), Ledger("NEW")
    for ledger, year in ((old, 2029), (new, 2031)):
        ledger.register(f"{year}-01-05")
        ledger.audit(f"{year}-06-01", "A1", overall=82)
        ledger.qa(f"{year}-06-15", "A1")
    assert status(old.events, as_of=date(2029, 7, 1), employer="OLD",
                  registry=registry)["status"] == "certified"
    late = status(new.events, as_of=date(2031, 7, 1), employer="NEW", registry=registry)
    assert late["status"] == "registered"
    assert any(b["rule"] == "GENERIC-2030.pass-mark" for b in late["because"])


def test_a_rule_id_is_defined_once() -> None:
    with pytest.raises(ValueError, match="defined once"):
        RULES.with_rules(Rule("BCCSA-2000.pass-mark", date(2000, 6, 1), TEST, "x"))


def test_a_rule_id_must_carry_the_year_or_day_it_came_into_force() -> None:
    with pytest.raises(ValueError, match="year or day"):
        Rule("BCCSA-2001.pass-mark", date(2000, 6, 1), TEST, "x")
    with pytest.raises(ValueError, match="not a rule id"):
        Rule("BCCSA.pass-mark", date(2000, 6, 1), TEST, "x")


def test_a_second_version_in_one_year_is_in_force_from_its_day() -> None:
    july = Rule("GENERIC-2030-07-01.pass-mark", date(2030, 7, 1), TEST, "90% overall",
                {"overall": 90})
    registry = RULES.with_rules(
        Rule("GENERIC-2030.pass-mark", date(2030, 1, 1), TEST, "85%", {"overall": 85}), july)
    assert registry.rulebook_for("GENERIC", date(2030, 6, 30)).rule("pass-mark").id == \
        "GENERIC-2030.pass-mark"
    assert registry.rulebook_for("GENERIC", date(2030, 7, 1)).rule("pass-mark") is july


def test_dates_before_the_first_version_use_the_first_version() -> None:
    assert rulebook_for("GENERIC", date(1990, 1, 1)).rule("pass-mark").id == \
        "GENERIC-2000.pass-mark"


@pytest.mark.parametrize(("partner", "overall", "passes"), [
    ("GENERIC", "80", True), ("GENERIC", "79.9", False),
    ("BCCSA", "80", True), ("BCCSA", "79.99", False),
    ("GO2HR", "80", True), ("GO2HR", "79", False),
    ("AMHSA", "80", True), ("AMHSA", "79.5", False),
])
def test_pass_mark_overall_at_the_boundary(partner: str, overall: str, passes: bool) -> None:
    rb = rulebook_for(partner, date(2020, 1, 1))
    assert rb.judge_scores("certification", D(overall), GOOD)[0].passes is passes


@pytest.mark.parametrize(("partner", "element", "passes"), [
    ("BCCSA", "50", True), ("BCCSA", "49.9", False), ("GO2HR", "50", True),
    ("GO2HR", "49", False), ("GENERIC", "10", True), ("AMHSA", "10", True),
])
def test_element_minimum_at_the_boundary(partner: str, element: str, passes: bool) -> None:
    rb = rulebook_for(partner, date(2020, 1, 1))
    result, _ = rb.judge_scores("maintenance" if partner != "AMHSA" else "certification",
                                D(90), {"policy": D(element)})
    assert result.passes is passes


def test_bccsa_limited_scope_from_70_overall_or_any_low_element() -> None:
    rb = rulebook_for("BCCSA", date(2022, 1, 1))
    assert rb.judge_scores("certification", D(70), GOOD)[0].limited_scope
    assert not rb.judge_scores("certification", D("69.9"), GOOD)[0].limited_scope
    assert rb.judge_scores("certification", D(85), {"policy": D(45)})[0].limited_scope
    assert rb.limited_scope_window_end(date(2022, 4, 15))[0] == date(2022, 7, 14)  # type: ignore[index]
    assert rulebook_for("GENERIC", date(2022, 1, 1)).limited_scope_window_end(
        date(2022, 4, 15)) is None


def test_amhsa_maintenance_need_not_pass() -> None:
    rb = rulebook_for("AMHSA", date(2022, 1, 1))
    assert rb.judge_scores("maintenance", D(40), GOOD)[0].passes
    assert not rb.judge_scores("certification", D(40), GOOD)[0].passes


def test_maintenance_due_generic_is_each_anniversary_without_grace() -> None:
    due = rulebook_for("GENERIC", date(2015, 6, 15)).maintenance_due(date(2015, 6, 15), 2, None)
    assert (due.due, due.grace_end, due.measured_on) == (date(2017, 6, 15), date(2017, 6, 15),
                                                        "submitted")


def test_maintenance_due_bccsa_and_go2hr_dec_31_with_45_days_grace() -> None:
    for partner in ("BCCSA", "GO2HR"):
        due = rulebook_for(partner, date(2023, 6, 20)).maintenance_due(date(2023, 6, 20), 1,
                                                                       None)
        assert (due.due, due.grace_end, due.window_start, due.measured_on) == (
            date(2024, 12, 31), date(2025, 2, 14), date(2024, 1, 1), "completed")


def test_maintenance_due_amhsa_one_year_after_last_completion() -> None:
    due = rulebook_for("AMHSA", date(2021, 6, 1)).maintenance_due(date(2021, 6, 1), 1,
                                                                  date(2021, 5, 10))
    assert (due.due, due.grace_end) == (date(2022, 5, 10), date(2022, 5, 10))


def test_one_year_after_feb_29_is_feb_28() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert rulebook_for("GENERIC", date(2024, 2, 29)).expires(date(2024, 2, 29)) == \
        date(2027, 2, 28)


@pytest.mark.parametrize(("partner", "kind", "program", "size", "needed"), [
    ("GENERIC", "certification", "COR", None, EXTERNAL),
    ("GENERIC", "certification", "SECOR", None, EITHER),
    ("GENERIC", "maintenance", "COR", None, EITHER),
    ("BCCSA", "certification", "COR", "large", EXTERNAL),
    ("BCCSA", "recertification", "COR", "small", EITHER),
    ("BCCSA", "certification", "COR", None, EXTERNAL),
    ("BCCSA", "maintenance", "COR", "large", EITHER),
    ("GO2HR", "certification", "SECOR", None, INTERNAL),
    ("GO2HR", "maintenance", "SECOR", None, INTERNAL),
    ("AMHSA", "certification", "SECOR", None, INTERNAL),
    ("AMHSA", "maintenance", "SECOR", None, INTERNAL),
])
def test_who_audits(partner: str, kind: str, program: str, size: str | None,
                    needed: str) -> None:
    rb = rulebook_for(partner, date(2020, 1, 1))
    assert rb.auditor_required(kind, program, size, False)[0] == needed


def test_after_a_revocation_certification_needs_an_external_auditor() -> None:
    for partner in PARTNERS:
        rb = rulebook_for(partner, date(2020, 1, 1))
        assert rb.auditor_required("certification", "SECOR", "small", True)[0] == EXTERNAL


def test_bccsa_size_class_small_up_to_19_large_from_20_and_large_when_unknown() -> None:
    rb = rulebook_for("BCCSA", date(2020, 1, 1))
    assert (rb.size_class(19), rb.size_class(20), rb.size_class(None)) == ("small", "large",
                                                                          "large")
    assert rulebook_for("GO2HR", date(2020, 1, 1)).size_class(5) is None


def test_program_limits() -> None:
    assert rulebook_for("GENERIC", date(2020, 1, 1)).program_limit("SECOR") == 9
    assert rulebook_for("GO2HR", date(2020, 1, 1)).program_limit("SECOR") == 19
    amhsa = rulebook_for("AMHSA", date(2020, 1, 1))
    assert amhsa.program_limit("SECOR") == 10 and amhsa.limit_applies_all_year()
    assert rulebook_for("BCCSA", date(2020, 1, 1)).program_limit("COR") is None


def test_student_audits_count_only_at_go2hr_and_as_certification() -> None:
    assert rulebook_for("GO2HR", date(2020, 1, 1)).student_audit_counts_as()[0] == \
        "certification"
    for partner in ("BCCSA", "GENERIC", "AMHSA"):
        assert rulebook_for(partner, date(2020, 1, 1)).student_audit_counts_as()[0] is None


def test_bccsa_audit_timeframe_is_45_days_from_start() -> None:
    deadline = rulebook_for("BCCSA", date(2020, 1, 1)).submission_deadline(date(2023, 5, 1))
    assert deadline is not None and deadline[0] == date(2023, 6, 15)
    assert rulebook_for("GENERIC", date(2020, 1, 1)).submission_deadline(date(2023, 5, 1)) \
        is None


def test_incentive_parameters_are_rules_with_ids() -> None:
    for partner in ("BCCSA", "GO2HR"):
        rb = rulebook_for(partner, date(2023, 1, 1))
        assert rb.rule("incentive")["scheme"] == "worksafebc"
        assert D(rb.rule("incentive-rate")["rate"]) == D("0.10")
        floor = rb.rule("incentive-floor")
        assert (D(floor["cap"]), D(floor["premium_share"])) == (D(1000), D("0.75"))
        cutoff = rb.rule("first-certification-cutoff")
        assert (cutoff["month"], cutoff["day"]) == (11, 30)
        assert rb.rule("incentive-payable")["offset_years"] == 1
    amhsa = rulebook_for("AMHSA", date(2023, 1, 1))
    assert amhsa.rule("incentive")["scheme"] == "pir"
    assert D(amhsa.rule("pir-discount")["percent"]) == D(5)
    assert rulebook_for("GENERIC", date(2023, 1, 1)).rule("incentive")["scheme"] == \
        "not_applicable"
