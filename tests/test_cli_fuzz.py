"""Every command driven with generated arguments over stored data that is odd on purpose
(markup, escapes, control characters, long ids, extreme dates and numbers): no traceback,
only an answer or a clear refusal, and nothing that acts on the terminal."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.cli import main
from tests.test_cli_hardened import append_generated, append_hostile

pytestmark = pytest.mark.integration  # a real database, processes, files


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo ledger plus an employer whose stored text is hostile."""
    db = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'ledger.db'}"
    assert CliRunner().invoke(main, ["--db", db, "demo"]).exit_code == 0
    append_hostile(db)
    return db


ODD_TEXT = st.one_of(
    st.sampled_from(["BC-1104729", "BC-9000001", "AB-1136405", "NOBODY", "[/]", "[bold]x",
                     "\x1b[31m", " BC-1104729", "BC-1104729\n", "@reference", "-", "--json",
                     "A" * 300, "ВС-1", "BC\u20101", ""]),
    st.text(min_size=0, max_size=20))
DATES = st.one_of(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
                  .map(date.isoformat),
                  st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30", "yesterday",
                                   "2020-01-01T00:00:00+14:00", "2020-01-01T25:00"]),
                  st.text(max_size=12))
NUMBERS = st.one_of(st.integers(-10**12, 10**12).map(str),
                    st.sampled_from(["0", "-1", "99999999", "1e9", "NaN", "", "9" * 40]))
KNOWN_AT = st.one_of(DATES, st.sampled_from(["0001-01-01T00:00:00Z",
                                             "9999-12-31T23:59:59-12:00"]))


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    """One command line: a query command and a few of its options, each value generated."""
    command = draw(st.sampled_from(["status", "explain", "history", "lapses", "roll",
                                    "incentive", "incentives", "projections", "scan",
                                    "outbox"]))
    args: list[str] = []
    if command in ("status", "explain", "history", "incentive"):
        args.append(draw(ODD_TEXT))
    if command == "projections":
        return ["projections", draw(st.sampled_from(["status", "rebuild"])),
                *draw(st.lists(st.sampled_from(["--json"]), max_size=1))]
    if command == "outbox":
        return ["outbox", *draw(st.lists(st.sampled_from(["--failed", "--requeue", "--json"]),
                                         unique=True))]
    options: dict[str, Any] = {
        "--as-of": DATES, "--known-at": KNOWN_AT, "--within": NUMBERS,
        "--partner": st.one_of(st.sampled_from(["BCCSA", "AMHSA", "NOPE", ""]), ODD_TEXT),
        "--year": NUMBERS, "--json": st.just(None),
    }
    valid = {"status": ["--as-of", "--known-at", "--json"],
             "explain": ["--as-of", "--known-at", "--json"],
             "history": ["--json"],
             "lapses": ["--as-of", "--within", "--partner", "--known-at", "--json"],
             "roll": ["--as-of", "--partner", "--known-at", "--json"],
             "incentive": ["--year", "--known-at", "--json"],
             "incentives": ["--year", "--partner", "--known-at", "--json"],
             "scan": ["--as-of", "--within", "--json"]}[command]
    for option in draw(st.lists(st.sampled_from(valid), unique=True, max_size=len(valid))):
        value = draw(options[option])
        args += [option] if value is None else [option, value]
    if command == "roll" and "--as-of" not in args and draw(st.booleans()):
        args += ["--as-of", draw(DATES)]
    if command in ("incentive", "incentives") and "--year" not in args and draw(st.booleans()):
        args += ["--year", draw(NUMBERS)]
    return [command, *args]


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=invocations())
def test_no_command_line_gives_a_traceback_or_acts_on_the_terminal(
        fuzz_db: str, argv: list[str]) -> None:
    result = CliRunner().invoke(main, ["--db", fuzz_db, *argv])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv, result.exception)
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, result.output)
    assert "Traceback" not in result.output
    output = result.stdout + result.stderr
    assert "\x1b" not in output and "\x07" not in output, (argv, output)
    if result.exit_code == 1:
        assert result.stderr.startswith("Error:"), (argv, result.stderr)


def test_a_csv_export_to_a_generated_path_never_tracebacks(fuzz_db: str,
                                                           tmp_path: Path) -> None:
    for target in (str(tmp_path / "missing" / "x.csv"), str(tmp_path), "/proc/nope.csv",
                   str(tmp_path / "ok.csv")):
        result = CliRunner().invoke(main, ["--db", fuzz_db, "roll", "--as-of", "2026-01-01",
                                           "--csv", target])
        assert result.exception is None or isinstance(result.exception, SystemExit)


_SEQUENCE = iter(range(1, 10**9))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.text(max_size=40), by=st.one_of(st.none(), st.text(max_size=20)),
       reason=st.text(max_size=40), headcount=st.integers(0, 2**62),
       effective=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
       as_of=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_generated_stored_data_never_gives_a_traceback(
        fuzz_db: str, name: str, by: str | None, reason: str, headcount: int,
        effective: date, as_of: date) -> None:
    """A new employer with generated text, numbers and dates (stored through the store, as
    any past import or migration may have left them), then every query about it."""
    employer = f"FZ-{next(_SEQUENCE)}"
    append_generated(fuzz_db, employer, name=name, by=by, reason=reason,
                     headcount=headcount, effective=effective)
    for argv in (["status", employer, "--as-of", as_of.isoformat()],
                 ["status", employer, "--as-of", as_of.isoformat(), "--known-at",
                  "9999-12-31"],
                 ["explain", employer, "--as-of", as_of.isoformat()],
                 ["explain", employer, "--json"], ["history", employer],
                 ["incentive", employer, "--year", str(max(effective.year, 1900))],
                 ["roll", "--as-of", as_of.isoformat()],
                 ["lapses", "--as-of", as_of.isoformat(), "--within", "3653"]):
        result = CliRunner().invoke(main, ["--db", fuzz_db, *argv])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            argv, result.exception)
        assert result.exit_code in (0, 1, 2), (argv, result.output)
        output = result.stdout + result.stderr
        assert "\x1b" not in output and "\x07" not in output and "\x9b" not in output, argv
