"""One "today": every command's default as-of date is today in CORLEDGER_TIMEZONE (default
UTC), the same for status, lapses, explain, roll, demo and scan."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import commands.cli
from commands.session import today_in
from tests.conftest import Cli
from tests.lapse_helpers import certified

# 23:30 UTC on May 19 is already May 20 in Tokyo, still May 19 in Vancouver (a year after
# the bundled demo ledger, so `demo` can import it)
CLOCK = datetime(2027, 5, 19, 23, 30, tzinfo=UTC)


class FixedClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> FixedClock:  # type: ignore[override]
        return CLOCK.astimezone(tz)  # type: ignore[return-value]


@pytest.fixture
def clocked(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr(commands.cli, "datetime", FixedClock)
    monkeypatch.delenv("CORLEDGER_CONFIG", raising=False)
    # GENERIC: maintenance due a year after QA, 2027-06-15
    lines: list[dict[str, Any] | str] = [*certified("E-1", date(2026, 6, 15))]
    assert cli.import_lines(lines).exit_code == 0
    return cli


@pytest.mark.parametrize(("zone", "today"), [(None, "2027-05-19"), ("UTC", "2027-05-19"),
                                             ("Asia/Tokyo", "2027-05-20"),
                                             ("America/Vancouver", "2027-05-19")])
def test_every_command_defaults_to_today_in_the_configured_zone(
        clocked: Cli, monkeypatch: pytest.MonkeyPatch, zone: str | None, today: str) -> None:
    if zone is None:
        monkeypatch.delenv("CORLEDGER_TIMEZONE", raising=False)
    else:
        monkeypatch.setenv("CORLEDGER_TIMEZONE", zone)
    days_left = (date(2027, 6, 15) - date.fromisoformat(today)).days
    assert clocked.json("status", "E-1")["as_of"] == today
    assert [e["days_left"] for e in clocked.json("lapses") if e["employer"] == "E-1"] == \
        [days_left]
    assert clocked.json("roll")["as_of"] == today
    assert clocked.json("scan")["as_of"] == today
    assert f"on {today}" in clocked("explain", "E-1").output
    if zone == "Asia/Tokyo":  # the demo imports a sample ledger: once is enough
        assert f"stands on {today}" in clocked("demo").output


def test_an_unknown_zone_is_refused_with_a_clear_message(
        clocked: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORLEDGER_TIMEZONE", "Mars/Olympus")
    result = clocked("status", "E-1")
    assert result.exit_code != 0
    assert "unknown time zone 'Mars/Olympus'" in result.output


def test_today_in_a_zone_is_the_calendar_date_there() -> None:
    from zoneinfo import ZoneInfo

    assert today_in(CLOCK, ZoneInfo("Asia/Tokyo")) == date(2027, 5, 20)
    assert today_in(CLOCK, UTC) == date(2027, 5, 19)


def test_the_service_defaults_to_today_in_the_configured_zone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 2024-03-01T02:00Z it is still Feb 29 in Vancouver: the API agrees with the CLI."""
    from service.app import create_app

    monkeypatch.setenv("CORLEDGER_TIMEZONE", "America/Vancouver")
    app = create_app(f"sqlite:///{tmp_path / 'l.db'}",
                     clock=lambda: datetime(2024, 3, 1, 2, 0, tzinfo=UTC))
    with app.app_context():
        from service.context import today

        assert today() == date(2024, 2, 29)


def test_outbox_deliver_reads_today_in_its_config_files_zone_as_the_scheduler_does(
        clocked: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`outbox --deliver --config FILE` dates a status notice (its as_of, so its id) by
    today in FILE's scan.timezone, as `scheduler run --config FILE` does, not in UTC."""
    import json

    from tests.conftest import line

    monkeypatch.delenv("CORLEDGER_TIMEZONE", raising=False)
    out = tmp_path / "notices.jsonl"
    config = tmp_path / "c.toml"
    config.write_text(f'[scan]\ntimezone = "Asia/Tokyo"\n[sinks.f]\ntype = "jsonl"\n'
                      f'path = "{out}"\nnotices = ["status"]\n')
    assert clocked("outbox", "--deliver", "--config", str(config)).exit_code == 0  # records
    revoked = line("CertificationRevoked", "E-1", "2027-05-10",
                   {"authority": "WorkSafeBC", "reason": "serious violation"}, id="E-1-rev",
                   recorded_at="2027-05-10T10:00:00Z")
    assert clocked.import_lines([revoked]).exit_code == 0
    assert clocked("outbox", "--deliver", "--config", str(config)).exit_code == 0
    (notice,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert (notice["as_of"], notice["id"]) == ("2027-05-20",
                                               "status:E-1:certified->revoked:2027-05-20")
    assert clocked.json("scan", "--config", str(config))["as_of"] == "2027-05-20"
