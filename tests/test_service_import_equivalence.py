"""Import through the API equals import through the CLI: the same stored bytes (events and
both indexes) and the same refusals, line by line, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from commands.import_cli import run_import
from commands.session import Session
from service.app import create_app
from service.tokens import create_token
from storage.engine import engine_for
from storage.store import open_store
from tests.conftest import audit, line, registration
from tests.service_support import NOW, bearer, jsonl

LATER = datetime(2030, 1, 1, tzinfo=UTC)  # after every time the bundled sample records
SAMPLE = Path(__file__).resolve().parents[1] / "commands" / "sample" / "demo.jsonl"


def sample_for(partner: str) -> tuple[bytes, bytes]:
    """The bundled sample split into (``partner``'s employers' events, the reference data)."""
    lines = [orjson.loads(raw) for raw in SAMPLE.read_bytes().splitlines() if raw.strip()]
    mine = {x["employer"] for x in lines
            if x["type"] == "EmployerRegistered" and x["data"]["partner"] == partner}
    employer_lines = [x for x in lines if x.get("employer") in mine]
    reference = [x for x in lines if "employer" not in x]
    assert employer_lines and reference
    return jsonl(employer_lines), jsonl(reference)


def cli_import(db_url: str, body: bytes) -> None:
    """What ``corledger import FILE`` runs, with the test's clock."""
    session = Session(db_url, clock=lambda: LATER)
    try:
        run_import(session, session.store(create=True), io.BytesIO(body), len(body), "file")
    finally:
        session.close()


def stored(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the events and the two indexes, in a stable order."""
    position = "rowid" if db_url.startswith("sqlite") else "notification_id"
    queries = {
        "stored_events": "SELECT originator_id, originator_version, topic, state "
                         f"FROM stored_events ORDER BY {position}",
        "ledger_event_ids": "SELECT * FROM ledger_event_ids ORDER BY event_id",
        "ledger_employers": "SELECT * FROM ledger_employers ORDER BY employer",
    }
    with engine_for(db_url).connect() as conn:
        return {name: [tuple(bytes(v) if isinstance(v, memoryview) else str(v) for v in row)
                       for row in conn.execute(text(q))] for name, q in queries.items()}


def second_database(db_url: str, tmp_path: Path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'api.db'}"
    from tests.pg import fresh_database_url

    return fresh_database_url()


def test_api_import_stores_the_same_bytes_as_the_cli(db_url: str, tmp_path: Path) -> None:
    employers, reference = sample_for("BCCSA")
    cli_db, api_db = db_url, second_database(db_url, tmp_path)
    cli_import(cli_db, reference)
    cli_import(cli_db, employers)
    open_store(api_db).close()
    partner = create_token(api_db, name="BCCSA QA desk", role="partner", partner="BCCSA",
                           now=NOW)[0]
    operator = create_token(api_db, name="ops", role="operator", partner=None, now=NOW)[0]
    app = create_app(api_db, clock=lambda: LATER)
    client = app.test_client()
    first = client.post("/v1/events", data=reference, headers=bearer(operator))
    second = client.post("/v1/events", data=employers, headers=bearer(partner))
    app.extensions["corledger"].close()
    assert (first.status_code, second.status_code) == (200, 200), second.data
    assert first.json["added"] + second.json["added"] == reference.count(b"\n") + \
        employers.count(b"\n")
    expected, got = stored(cli_db), stored(api_db)
    assert len(got["stored_events"]) > 100
    assert got == expected


REFUSED = [
    registration("BC-9", partner="BCCSA", id="reg-9", by="x", recorded_at="2020-01-07T00:00:00Z"),
    audit("BC-9", "2020-06-01", overall=130, by="x", recorded_at="2020-06-02T00:00:00Z"),
    line("HeadcountReported", "BC-9", "2020-02-30", {"headcount": 3}, by="x"),
    line("NoSuchType", "BC-9", "2020-03-01", {}, by="x"),
    "{not json",
    line("HeadcountReported", "BC-9", "2019-01-01", {"headcount": 3}, by="x"),
    line("EventVoided", "BC-9", "2020-03-01", {"target": "nope", "reason": "typo"}, by="x"),
    registration("BC-9", partner="BCCSA", id="reg-9", by="someone else",
                 recorded_at="2020-01-07T00:00:00Z"),
]


def test_api_import_refuses_with_the_same_lines_and_fields_as_the_cli(
        cli: Any, db_url: str) -> None:
    body = jsonl(REFUSED)
    result = cli("import", str(cli.write(REFUSED)))
    assert result.exit_code != 0
    cli_errors = [x.strip() for x in result.output.splitlines() if x.startswith("  line ")]
    token = create_token(db_url, name="BCCSA QA desk", role="partner", partner="BCCSA",
                         now=NOW)[0]
    app = create_app(db_url, clock=lambda: NOW)
    refused = app.test_client().post("/v1/events", data=body, headers=bearer(token))
    app.extensions["corledger"].close()
    assert refused.status_code == 422
    api_errors = [f"line {e['line']}: {e['field']}: {e['message']}"
                  for e in refused.json["errors"]]
    assert len(cli_errors) >= 6
    assert api_errors == cli_errors


@pytest.mark.parametrize("as_array", [False, True])
def test_a_json_array_and_jsonl_number_their_lines_alike(db_url: str, as_array: bool) -> None:
    lines = [registration("BC-9", partner="BCCSA"),
             line("HeadcountReported", "BC-9", "2020-02-30", {"headcount": 3})]
    body = orjson.dumps(lines) if as_array else b"\n" + jsonl(lines)  # a blank first line
    token = create_token(db_url, name="desk", role="partner", partner="BCCSA", now=NOW)[0]
    app = create_app(db_url, clock=lambda: NOW)
    refused = app.test_client().post("/v1/events", data=body, headers=bearer(token))
    app.extensions["corledger"].close()
    assert [(e["line"], e["field"]) for e in refused.json["errors"]] == \
        [(2 if as_array else 3, "effective")]
