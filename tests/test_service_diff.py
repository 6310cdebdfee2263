"""``GET /v1/employers/{id}/diff`` and ``GET /v1/changes`` on a real server: the same
documents as ``corledger diff --json`` and ``corledger changes``, scoped like every other
employer endpoint and list (tenancy itself is in the matrix of test_service_tenancy)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest

from tests.service_support import OTHER, OWN, http, seed, served, tokens

pytestmark = pytest.mark.integration  # a real server on loopback


def test_diff_and_changes_over_http_name_the_late_records(db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    made = tokens(db_url)
    with served(db_url, tmp_path) as (base, _):
        status, _, body = http("GET", f"{base}/v1/employers/{OWN}/diff?from=2021-01-01@"
                                      "2020-12-01T00:00:00Z&to=2021-01-01", made["partner"])
        assert status == 200
        doc = orjson.loads(body)
        status_change = next(c for c in doc["changes"] if c["field"] == "status")
        # the QA acceptance (and the registration) were recorded only on 2021-01-01
        assert (status_change["from"], status_change["to"]) == ("unregistered", "certified")
        assert {c["event"] for c in status_change["because"]} >= {f"{OWN}-qa"}
        assert all(c["time"] == "transaction" for c in status_change["because"])

        status, _, body = http("GET", f"{base}/v1/employers/{OWN}/diff?from=2021-01-01@",
                               made["partner"])
        assert status == 422 and b"nothing after '@'" in body

        status, _, body = http("GET", f"{base}/v1/changes?since=2020-12-01T00:00:00Z"
                                      "&as_of=2021-01-01", made["regulator"])
        assert status == 200
        changed = orjson.loads(body)["changed"]
        assert [e["employer"] for e in changed] == sorted([OWN, OTHER])
        status, _, body = http("GET", f"{base}/v1/changes?since=2020-12-01T00:00:00Z"
                                      "&as_of=2021-01-01", made["partner"],
                               headers={"Accept": "text/csv"})
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        assert [(r["employer"], r["status_after"]) for r in rows] == [(OWN, "certified")]
