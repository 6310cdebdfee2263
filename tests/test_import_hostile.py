"""Hostile and unlucky input is refused cleanly (issue 19): a message naming line and field,
never a traceback, nothing written, on every store."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Cli, line, registration
from tests.test_import_refusals import refused

HEADCOUNT = line("HeadcountReported", "E-1", "2021-01-01", {"headcount": 3})


def premium(amount: Any, cu: Any = "G100") -> dict[str, Any]:
    return line("PremiumPaid", "E-1", "2021-01-01", {"year": 2020, "cu": cu, "amount": amount})


@pytest.mark.parametrize(("bad", "field", "says"), [
    # a recorded_at whose UTC form leaves years 1-9999 (was an OverflowError)
    ({**HEADCOUNT, "recorded_at": "0001-01-01T00:00:00+14:00"}, "recorded_at",
     "outside the years 1 to 9999"),
    ({**HEADCOUNT, "recorded_at": "9999-12-31T23:59:59-01:00"}, "recorded_at",
     "outside the years 1 to 9999"),
    # RFC 3339 only: T, seconds, an offset, at most 6 fraction digits, ASCII digits
    ({**HEADCOUNT, "recorded_at": "2020-06-01 10:00:00Z"}, "recorded_at", "RFC 3339"),
    ({**HEADCOUNT, "recorded_at": "2020-06-01T10:00Z"}, "recorded_at", "RFC 3339"),
    ({**HEADCOUNT, "recorded_at": "2020-06-01T10:00:00.1234567Z"}, "recorded_at", "RFC 3339"),
    ({**HEADCOUNT, "recorded_at": "2020-06-01T10:00:00+0100"}, "recorded_at", "RFC 3339"),
    ({**HEADCOUNT, "recorded_at": "2020-06-01T10:00:00Z\n"}, "recorded_at", "RFC 3339"),
    ({**HEADCOUNT, "recorded_at": "2020-06-01T10:00:00"}, "recorded_at", "no offset"),
    ({**HEADCOUNT, "recorded_at": "٢٠٢٠-06-01T10:00:00Z"}, "recorded_at", "RFC 3339"),
    ({**HEADCOUNT, "effective": "２０２１-01-01"}, "effective", "YYYY-MM-DD"),
    # a value nested about 1,000 deep (was a RecursionError building the message)
    ({**HEADCOUNT, "data": {"headcount": [[[[[]]]]]}}, "data.headcount", "whole number"),
    # NUL and other control characters
    ({**HEADCOUNT, "employer": "E-1\u0000"}, "employer", "ASCII letters"),
    ({**HEADCOUNT, "id": "h\u00001"}, "id", "control character U+0000"),
    ({**HEADCOUNT, "by": "clerk\u001b[31m"}, "by", "control character U+001B"),
    (line("SeriousIncidentReported", "E-1", "2021-01-01",
          {"fatality": False, "description": "fell\u0007"}), "data.description",
     "control character U+0007"),
    # the reference stream's name is the ledger's own
    ({**HEADCOUNT, "employer": "@reference"}, "employer", "ASCII letters"),
    # lookalike employer ids
    ({**HEADCOUNT, "employer": "Е-1"}, "employer", "ASCII letters"),  # Cyrillic Е
    ({**HEADCOUNT, "employer": "E\u20111"}, "employer", "ASCII letters"),  # non-breaking hyphen
    ({**HEADCOUNT, "employer": "E-\u200b1"}, "employer", "ASCII letters"),  # zero-width space
    ({**HEADCOUNT, "employer": "E-1 "}, "employer", "ASCII letters"),
    ({**HEADCOUNT, "employer": " E-1"}, "employer", "ASCII letters"),
    # text made only of invisible characters
    (premium("10.00", cu="\u200b\u200b"), "data.cu", "visible character"),
    (premium("10.00", cu="\u00a0\u2060"), "data.cu", "visible character"),
    (premium("10.00", cu="\u034f\u200c"), "data.cu", "visible character"),  # a lone mark
    # money: exactly two places, ASCII digits, nothing around it
    (premium("8000.00\n"), "data.amount", "exactly two decimal places"),
    (premium("8000"), "data.amount", "exactly two decimal places"),
    (premium("8000.5"), "data.amount", "exactly two decimal places"),
    (premium(" 8000.00"), "data.amount", "exactly two decimal places"),
    (premium("٨٠٠٠.٠٠"), "data.amount", "exactly two decimal places"),  # Arabic-Indic
    (premium("８０００.００"), "data.amount", "exactly two decimal places"),  # full-width
])
def test_hostile_values_are_refused_naming_line_and_field(cli: Cli, bad: Any, field: str,
                                                          says: str) -> None:
    assert cli.import_lines([registration()]).exit_code == 0
    error = refused(cli, [HEADCOUNT, bad])
    assert f"line 2: {field}: " in error
    assert says in error
    assert "Traceback" not in error


@pytest.mark.parametrize("offset", ["+05:99", "+05:60", "+00:99", "-00:60", "+24:00",
                                    "+99:00"])
def test_an_offset_past_23_59_is_refused_not_carried_over(cli: Cli, offset: str) -> None:
    """RFC 3339 5.6: an offset's hours run 00-23 and its minutes 00-59 (``+05:99`` was read
    as ``+06:39``); nothing of the file is written. The widest offsets are read."""
    widest = [{**HEADCOUNT, "id": f"h{n}", "recorded_at": f"2021-01-10T12:00:00{o}"}
              for n, o in enumerate(("+23:59", "-23:59", "-00:00", "+05:30"))]
    assert cli.import_lines([registration(), *widest]).exit_code == 0
    bad = {**HEADCOUNT, "recorded_at": f"2021-01-10T12:00:00{offset}"}
    error = refused(cli, [HEADCOUNT, bad])
    assert "line 2: recorded_at: must be an RFC 3339 date-time" in error
    assert len(cli.json("history", "E-1")["events"]) == 5


@pytest.mark.parametrize("blank", ["\u3164", "\u115f", "\u1160", "\uffa0", "\u2800",
                                   "\u3164 \u2800\u200b", "\ufeff\u3164", "\u2800\u2800"])
def test_text_that_renders_as_nothing_is_refused(cli: Cli, blank: str) -> None:
    """The Hangul fillers are letters, U+2800 BRAILLE PATTERN BLANK a symbol, but all draw
    nothing (the fillers are Default_Ignorable_Code_Point): a name of only them shows
    nothing and is refused like a blank one, on the fast path and marshmallow's alike."""
    from commands.fastpath import fast_line
    from commands.schemas import text_problem

    assert text_problem(blank) is not None
    named = registration()
    named["data"]["name"] = blank
    assert fast_line(named, "2026-01-01T00:00:00Z") is None
    error = refused(cli, [registration("E-0"), named])
    assert "line 2: data.name: must contain a visible character" in error
    assert cli.json("status", "E-1", "--as-of", "2021-06-01")["status"] == "unregistered"
    shown = {**named, "data": {**named["data"], "name": f"\u3164{blank}\u1100"}}
    assert cli.import_lines([shown]).exit_code == 0  # a Hangul letter shows


def audit_line(event_id: str, overall: str, policy: str = "90") -> str:
    """An AuditSubmitted line with its scores written exactly as given."""
    event = line("AuditSubmitted", "E-1", "2021-03-10", {
        "audit": event_id, "kind": "certification", "auditor": "x", "auditor_type": "external",
        "started": "2021-03-01", "completed": "2021-03-05", "overall": "@overall",
        "elements": {"policy": "@policy"}}, id=event_id)
    return json.dumps(event).replace('"@overall"', overall).replace('"@policy"', policy)


@pytest.mark.parametrize(("overall", "policy", "field", "taken_as"), [
    ("79.99999999999999999", "90", "data.overall", "80.0"),  # below the pass mark
    ("100.00000000000000001", "90", "data.overall", "100.0"),  # above the range
    ("85", "49.999999999999999999", "data.elements.policy", "50.0"),
    ("7999999999999999999e-17", "90", "data.overall", "80.0"),
])
def test_a_score_written_more_precisely_than_it_is_read_is_refused(
        cli: Cli, overall: str, policy: str, field: str, taken_as: str) -> None:
    """DOMAIN.md: ``overall`` is taken as reported. A JSON reader holds a number with a point
    as a binary double, so 79.99999999999999999 would be 80.0 and pass: a score is taken as
    written or refused, naming its field. Scores read back as written are taken, and a
    file imported before is skipped, its content hash unchanged."""
    exact = [registration(), audit_line("ok-1", "85.5", "49.25"),
             audit_line("ok-2", "85.500000000000000", "0.30000000000000004")]
    assert "3 events added" in cli.import_lines(exact).stdout
    assert "0 events added, 3 skipped" in cli.import_lines(exact).stdout
    assert [e["data"]["overall"] for e in cli.json("history", "E-1")["events"][1:]] == [
        85.5, 85.5]
    error = refused(cli, [HEADCOUNT, audit_line("bad", overall, policy)])
    assert f"line 2: {field}: {Decimal(policy if 'policy' in field else overall)} is " \
        f"written more precisely than a number is read (it would be taken as {taken_as})" \
        in error


def test_a_value_nested_a_thousand_deep_is_refused_not_a_crash(cli: Cli) -> None:
    deep = ('{"type": "HeadcountReported", "employer": "E-1", "effective": "2021-01-01",'
            ' "data": {"headcount": ' + "[" * 1000 + "]" * 1000 + "}}")
    assert cli.import_lines([registration()]).exit_code == 0
    error = refused(cli, [HEADCOUNT, deep])
    assert "line 2: data.headcount: " in error


@pytest.mark.parametrize(("raw", "field"), [
    ('{"type": "HeadcountReported", "employer": "E-1", "effective": "2999-12-31",'
     ' "effective": "2021-03-01", "data": {"headcount": 3}}', "effective"),
    ('{"type": "HeadcountReported", "employer": "E-1", "effective": "2021-03-01",'
     ' "data": {"headcount": 3, "headcount": 4}}', "data.headcount"),
    # the same key spelled with an escape: equal once decoded
    ('{"type": "HeadcountReported", "employer": "E-1", "effective": "2021-03-01",'
     ' "data": {"headcount": 3, "h\\u0065adcount": 4}}', "data.headcount"),
    ('{"type": "AuditSubmitted", "employer": "E-1", "effective": "2021-03-01", "data":'
     ' {"audit": "A", "kind": "certification", "auditor": "x", "auditor_type": "external",'
     ' "started": "2021-02-01", "completed": "2021-02-02", "overall": 90,'
     ' "elements": {"policy": 90, "policy": 10}}}', "data.elements.policy"),
])
def test_a_key_given_twice_in_one_object_is_refused(cli: Cli, raw: str, field: str) -> None:
    assert cli.import_lines([registration()]).exit_code == 0
    error = refused(cli, [HEADCOUNT, raw])
    assert f"line 2: {field}: is given twice" in error


def test_a_colon_inside_a_text_is_not_taken_for_a_duplicate_key(cli: Cli) -> None:
    text = {**HEADCOUNT, "by": "clerk: a:b", "recorded_at": "2021-01-02T10:00:00+01:00"}
    escaped = ('{"type": "HeadcountReported", "employer": "E-1", "effective": "2021-03-01",'
               ' "by": "caf\\u00e9: \\u003a", "data": {"headcount": 4}}')
    assert cli.import_lines([registration(), text, escaped]).exit_code == 0
    assert [e["by"] for e in cli.json("history", "E-1")["events"]][1:] == [
        "clerk: a:b", "café: :"]


def test_the_error_list_stops_at_20(cli: Cli) -> None:
    assert cli.import_lines([registration()]).exit_code == 0
    many_fields = {**HEADCOUNT, **{f"x{n}": n for n in range(819)}}
    error = refused(cli, [HEADCOUNT, many_fields])
    assert error.count("\n  line ") == 20
    assert "(stopped after 20 errors)" in error


def test_the_error_list_stops_at_20_when_the_ledger_refuses_many_lines(cli: Cli) -> None:
    unregistered = [line("HeadcountReported", f"NOBODY-{n}", "2021-01-01", {"headcount": 1})
                    for n in range(300)]
    error = refused(cli, unregistered)
    assert error.count("\n  line ") == 20
    assert "(stopped after 20 errors)" in error


def test_valid_unicode_text_is_kept_literally(cli: Cli) -> None:
    named = registration("BC-1104729", id="reg-1")
    named["data"]["name"] = "Ωmega Bâtiment 株式会社\tand sons\n(Ltd)"
    assert cli.import_lines([named]).exit_code == 0
    assert cli.json("history", "BC-1104729")["events"][0]["data"]["name"] == \
        "Ωmega Bâtiment 株式会社\tand sons\n(Ltd)"
