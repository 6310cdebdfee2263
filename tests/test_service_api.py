"""The HTTP API through Flask's test client, on a real SQLite file and PostgreSQL: tokens,
roles, every endpoint's answer, problem+json errors, ETags, the body limit, the docs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from commands.config import ServeSettings
from service.app import create_app
from storage.engine import engine_for
from tests.conftest import line
from tests.service_support import NOW, OTHER, OWN, bearer, jsonl, seed, tokens


@pytest.fixture
def ledger(db_url: str) -> dict[str, str]:
    seed(db_url)
    return tokens(db_url)


@pytest.fixture
def client(db_url: str, ledger: dict[str, str]) -> Iterator[FlaskClient]:
    app = create_app(db_url, clock=lambda: NOW)
    yield app.test_client()
    app.extensions["corledger"].close()


def get(client: FlaskClient, path: str, token: str | None = None, **headers: str) -> Any:
    return client.get(path, headers={**bearer(token), **headers})


def post(client: FlaskClient, body: bytes, token: str | None, **headers: str) -> Any:
    return client.post("/v1/events", data=body, headers={**bearer(token), **headers})


# --- tokens -----------------------------------------------------------------------------------


def test_only_a_hash_of_each_token_is_stored(db_url: str, ledger: dict[str, str]) -> None:
    with engine_for(db_url).connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_tokens"))
                          for v in row)
    for token in ledger.values():
        assert token not in stored
        assert token.split("_", 2)[2] not in stored  # not even the secret part


@pytest.mark.parametrize("header", ["Bearer clt_00000000_nope", "Bearer garbage", "Basic abc",
                                    "Bearer "])
def test_an_unknown_or_malformed_token_gets_401_everywhere(client: FlaskClient,
                                                           header: str) -> None:
    for path in ("/v1/rules", f"/v1/employers/{OWN}", "/v1/roll"):
        response = client.get(path, headers={"Authorization": header})
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_gets_401(client: FlaskClient, ledger: dict[str, str]) -> None:
    assert get(client, f"/v1/employers/{OWN}", ledger["revoked"]).status_code == 401


def test_a_token_with_a_guessed_secret_gets_401(client: FlaskClient,
                                                ledger: dict[str, str]) -> None:
    real = ledger["partner"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    assert get(client, f"/v1/employers/{OWN}", forged).status_code == 401
    assert get(client, f"/v1/employers/{OWN}", real).status_code == 200


def test_tokens_commands_create_list_and_revoke(cli: Any, db_url: str) -> None:
    assert cli("init").exit_code == 0  # tokens go into an existing ledger
    made = cli.json("tokens", "create", "--role", "partner", "--partner", "bccsa",
                    "--name", "BCCSA QA desk")
    assert made["token"].startswith("clt_") and made["partner"] == "BCCSA"
    listed = cli.json("tokens", "list")["tokens"]
    assert [(t["id"], t["name"], t["revoked_at"]) for t in listed] == \
        [(made["id"], "BCCSA QA desk", None)]
    assert made["token"] not in cli("tokens", "list", "--json").stdout
    assert cli("tokens", "revoke", made["id"]).exit_code == 0
    assert cli.json("tokens", "list")["tokens"][0]["revoked_at"] is not None
    app = create_app(db_url, clock=lambda: NOW)
    assert get(app.test_client(), "/v1/roll", made["token"]).status_code == 401


@pytest.mark.parametrize("args, message", [
    (["--role", "partner", "--name", "x"], "partner token needs --partner"),
    (["--role", "partner", "--partner", "NOPE", "--name", "x"], "expected one of"),
    (["--role", "regulator", "--partner", "BCCSA", "--name", "x"], "only a partner token"),
    (["--role", "regulator", "--name", " "], "a token needs a name"),
    (["--role", "regulator", "--name", "x" * 201], "at most 200 characters"),
])
def test_tokens_create_refuses_a_wrong_partner(cli: Any, args: list[str], message: str) -> None:
    assert cli("init").exit_code == 0
    result = cli("tokens", "create", *args)
    assert result.exit_code != 0 and message in result.output


# --- reading ----------------------------------------------------------------------------------


def test_a_partner_reads_its_employer_and_gets_404_for_another_partners(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    own = get(client, f"/v1/employers/{OWN}", ledger["partner"])
    assert own.status_code == 200 and own.json["employer"] == OWN
    other = get(client, f"/v1/employers/{OTHER}", ledger["partner"])
    unknown = get(client, "/v1/employers/NO-SUCH", ledger["partner"])
    assert other.status_code == unknown.status_code == 404
    # the same answer as for an id that does not exist, but for the id itself
    assert other.json["detail"].replace(OTHER, "X") == unknown.json["detail"].replace(
        "NO-SUCH", "X")


def test_status_takes_as_of_and_known_at(client: FlaskClient, ledger: dict[str, str]) -> None:
    before = get(client, f"/v1/employers/{OWN}?as_of=2020-03-01", ledger["regulator"]).json
    assert before["as_of"] == "2020-03-01" and before["status"] == "registered"
    unknown_then = get(client, f"/v1/employers/{OWN}?known_at=2019-12-31",
                       ledger["regulator"]).json
    assert unknown_then["status"] == "unregistered"
    assert unknown_then["known_at"].startswith("2019-12-31T23:59:59")


def test_explain_lists_each_decision_with_rule_version_and_source(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    doc = get(client, f"/v1/employers/{OWN}/explain", ledger["partner"]).json
    assert doc["status"]["employer"] == OWN
    ruled = [d for d in doc["decisions"] if d["rule"]]
    assert ruled and all(d["in_force_since"] and d["source"] for d in ruled)
    assert doc["receipt"]["tree_size"] > 0 and doc["receipt"]["events"]


def test_explain_is_the_same_document_as_the_command_line(
        db_url: str, client: FlaskClient, ledger: dict[str, str]) -> None:
    """One account for both: the API's explain is `corledger explain --json`."""
    from click.testing import CliRunner

    from commands.cli import main
    api = get(client, f"/v1/employers/{OWN}/explain?as_of=2025-06-01",
              ledger["regulator"]).json
    cli = CliRunner().invoke(main, ["--db", db_url, "explain", OWN, "--as-of", "2025-06-01",
                                    "--json"])
    assert cli.exit_code == 0, cli.output
    assert api == orjson.loads(cli.stdout)


def test_history_is_paginated_with_a_next_link(client: FlaskClient,
                                               ledger: dict[str, str]) -> None:
    first = get(client, f"/v1/employers/{OWN}/history?limit=1", ledger["partner"]).json
    assert [e["position"] for e in first["events"]] == [1]
    rest = get(client, first["next"].replace("limit=1", "limit=5"), ledger["partner"]).json
    assert [e["position"] for e in rest["events"]] == [2, 3]
    assert rest["next"] is None
    assert rest["events"][0]["by"] == "seed"


def test_incentive_needs_a_year(client: FlaskClient, ledger: dict[str, str]) -> None:
    missing = get(client, f"/v1/employers/{OWN}/incentive", ledger["partner"])
    assert missing.status_code == 422 and missing.mimetype == "application/problem+json"
    assert missing.json["errors"] == [{"field": "year",
                                       "message": "Missing data for required field."}]
    doc = get(client, f"/v1/employers/{OWN}/incentive?year=2021", ledger["partner"]).json
    assert doc["employer"] == OWN and doc["year"] == 2021


def test_lists_are_scoped_to_the_partner_and_whole_for_a_regulator(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    roll = get(client, "/v1/roll?as_of=2021-01-01", ledger["partner"]).json
    assert [r["employer"] for r in roll["employers"]] == [OWN]
    everyone = get(client, "/v1/roll?as_of=2021-01-01", ledger["regulator"]).json
    assert [r["employer"] for r in everyone["employers"]] == [OWN, OTHER]
    year = get(client, "/v1/incentives?year=2021", ledger["partner"]).json
    assert [d["employer"] for d in year["decisions"]] == [OWN]
    asked_other = get(client, "/v1/roll?partner=GO2HR", ledger["partner"])
    assert asked_other.status_code == 403
    lapses = get(client, "/v1/lapses?as_of=2021-05-01&within=365", ledger["partner"]).json
    assert [e["employer"] for e in lapses["lapses"]] == [OWN]
    every = get(client, "/v1/lapses?as_of=2021-05-01&within=365", ledger["regulator"]).json
    assert [e["employer"] for e in every["lapses"]] == [OWN, OTHER]
    assert get(client, "/v1/lapses", ledger["operator"]).status_code == 403
    assert get(client, "/v1/lapses").status_code == 401


def test_the_incentives_list_follows_the_ledger_between_requests(
        client: FlaskClient, ledger: dict[str, str], db_url: str) -> None:
    """The service keeps each run between requests; an import in between is still seen."""
    before = get(client, "/v1/incentives?year=2021", ledger["regulator"]).json["decisions"]
    assert post(client, jsonl([line("IncentivePaid", OWN, "2022-03-01",
                                    {"year": 2021, "amount": "125.00"}, id="paid-2021")]),
                ledger["partner"]).status_code == 200
    after = get(client, "/v1/incentives?year=2021", ledger["regulator"]).json["decisions"]
    assert [d["employer"] for d in after] == [OWN, OTHER]
    assert (before[0]["paid_total"], after[0]["paid_total"]) == ("0.00", "125.00")
    assert after[1] == before[1]
    fresh = create_app(db_url, clock=lambda: NOW)  # no kept runs: decides from scratch
    try:
        assert get(fresh.test_client(), "/v1/incentives?year=2021",
                   ledger["regulator"]).json["decisions"] == after
    finally:
        fresh.extensions["corledger"].close()


def test_lists_answer_csv_when_asked(client: FlaskClient, ledger: dict[str, str]) -> None:
    roll = get(client, "/v1/roll?as_of=2021-01-01", ledger["regulator"], Accept="text/csv")
    assert roll.mimetype == "text/csv"
    rows = roll.data.decode().splitlines()
    assert rows[0].startswith("employer,partner,program,status") and len(rows) == 3
    year = get(client, "/v1/incentives?year=2021", ledger["regulator"], Accept="text/csv")
    assert year.data.decode().splitlines()[0].startswith("employer,partner,state,amount")
    lapses = get(client, "/v1/lapses?as_of=2021-05-01&within=365", ledger["regulator"],
                 Accept="text/csv")
    assert lapses.data.decode().splitlines() == [  # the columns of `lapses --csv`
        "employer,name,partner,status,due,days_left,level,reasons,grace_end",
        f"{OWN},{OWN} Ltd,BCCSA,certified,2021-12-31,244,notice,,",
        f"{OTHER},{OTHER} Ltd,GO2HR,certified,2021-12-31,244,notice,,"]


def test_verify_is_public_and_says_only_id_name_partner_status_expiry(
        client: FlaskClient) -> None:
    doc = client.get(f"/v1/verify?employer={OWN}&employer=NO-SUCH").json
    assert [set(e) for e in doc["employers"]] == [
        {"employer", "name", "partner", "status", "certificate_expires"}] * 2
    assert doc["employers"][0]["name"] == f"{OWN} Ltd"
    assert doc["employers"][1]["status"] == "unregistered"


def test_verify_takes_at_most_150_employers(client: FlaskClient) -> None:
    many = "&".join(f"employer=E{i}" for i in range(151))
    refused = client.get(f"/v1/verify?{many}")
    assert refused.status_code == 422 and "150" in refused.json["errors"][0]["message"]
    fine = "&".join(f"employer=E{i}" for i in range(150))
    assert len(client.get(f"/v1/verify?{fine}").json["employers"]) == 150


def test_rules_are_public_with_their_sources(client: FlaskClient) -> None:
    rules = client.get("/v1/rules?partner=BCCSA").json["rules"]
    assert rules and all("BCCSA" in r["partners"] and r["source"] and r["versions"]
                         and all(v["in_force_from"] for v in r["versions"]) for r in rules)
    assert any(r["id"] == "BCCSA-2000.pass-mark" for r in rules)


def test_etag_and_if_none_match_give_304(client: FlaskClient, ledger: dict[str, str]) -> None:
    first = get(client, f"/v1/employers/{OWN}", ledger["partner"])
    etag = first.headers["ETag"]
    assert set(first.headers["Cache-Control"].split(", ")) == {"no-cache", "private"}
    assert client.get("/v1/rules").headers["Cache-Control"] == "no-cache"
    again = get(client, f"/v1/employers/{OWN}", ledger["partner"], **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    post(client, jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": 30},
                             id="hc-etag")]), ledger["partner"])
    changed = get(client, f"/v1/employers/{OWN}/history", ledger["partner"],
                  **{"If-None-Match": etag})
    assert changed.status_code == 200


# --- writing ----------------------------------------------------------------------------------


def test_a_partner_imports_its_employers_events_and_by_defaults_to_its_name(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    body = jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": 30}, id="hc-1"),
                  line("HeadcountReported", OWN, "2024-02-01", {"headcount": 31}, id="hc-2",
                       by="k.lee@bccsa")])
    first = post(client, body, ledger["partner"])
    assert first.status_code == 200
    assert first.json == {"added": 2, "skipped": 0, "lines": 2,
                          "by": {"name": "BCCSA QA desk", "role": "partner",
                                 "partner": "BCCSA"}}
    assert post(client, body, ledger["partner"]).json["skipped"] == 2  # idempotent
    events = get(client, f"/v1/employers/{OWN}/history", ledger["partner"]).json["events"]
    assert [(e["id"], e["by"]) for e in events[-2:]] == [("hc-1", "BCCSA QA desk"),
                                                        ("hc-2", "k.lee@bccsa")]


def test_a_partner_posts_a_lapse_flag_and_it_is_imported_as_the_command_line_does(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    """A LapseRiskFlagged is an employer's event: its partner may send it, once per
    employer, due date and level, as `corledger import` takes it (never a 500)."""
    flag = {"due": "2024-12-31", "level": "warning", "reasons": []}
    first = post(client, jsonl([line("LapseRiskFlagged", OWN, "2024-05-01", flag,
                                     id="bccsa-flag-1")]), ledger["partner"])
    assert first.status_code == 200 and first.json["added"] == 1
    again = post(client, jsonl([line("LapseRiskFlagged", OWN, "2024-05-02", flag,
                                     id="bccsa-flag-2")]), ledger["partner"])
    assert again.status_code == 422
    assert again.json["errors"] == [{
        "line": 1, "field": "data.due",
        "message": f"a LapseRiskFlagged for {OWN}, due 2024-12-31, level warning is already "
                   "in the ledger or earlier in this file: a flag is never written twice"}]
    events = get(client, f"/v1/employers/{OWN}/history", ledger["partner"]).json["events"]
    assert [e["id"] for e in events if e["type"] == "LapseRiskFlagged"] == ["bccsa-flag-1"]


def test_a_json_array_body_imports_like_jsonl(client: FlaskClient,
                                              ledger: dict[str, str]) -> None:
    body = orjson.dumps([line("HeadcountReported", OWN, "2024-01-01", {"headcount": 30},
                              id="hc-a")])
    response = post(client, body, ledger["partner"], **{"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json["added"] == 1


def test_a_body_naming_another_partners_employer_is_refused_whole(
        client: FlaskClient, db_url: str, ledger: dict[str, str]) -> None:
    body = jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": 30}, id="ok-1"),
                  line("HeadcountReported", OTHER, "2024-01-01", {"headcount": 3}, id="x-1"),
                  line("HeadcountReported", "NO-SUCH", "2024-01-01", {"headcount": 3})])
    refused = post(client, body, ledger["partner"])
    assert refused.status_code == 422
    assert refused.json["errors"] == [
        {"line": 2, "field": "employer", "message": f"'{OTHER}' is not registered with BCCSA"},
        {"line": 3, "field": "employer", "message": "'NO-SUCH' is not registered with BCCSA"}]
    history = get(client, f"/v1/employers/{OWN}/history", ledger["partner"]).json
    assert "ok-1" not in [e["id"] for e in history["events"]]


def test_a_partner_registers_employers_only_with_itself(client: FlaskClient,
                                                       ledger: dict[str, str]) -> None:
    from tests.conftest import registration

    body = jsonl([registration("BC-NEW", partner="GO2HR"),
                  registration(OTHER, partner="BCCSA", id="steal")])
    refused = post(client, body, ledger["partner"])
    assert [(e["line"], e["field"]) for e in refused.json["errors"]] == [
        (1, "data.partner"), (2, "employer")]
    fine = jsonl([registration("BC-NEW", partner="BCCSA"),
                  line("HeadcountReported", "BC-NEW", "2024-01-01", {"headcount": 30})])
    assert post(client, fine, ledger["partner"]).json["added"] == 2
    assert get(client, "/v1/employers/BC-NEW", ledger["partner"]).status_code == 200
    assert get(client, "/v1/employers/BC-NEW", ledger["partner_other"]).status_code == 404


def test_reference_data_is_written_by_operators_only(client: FlaskClient,
                                                     ledger: dict[str, str]) -> None:
    rate = jsonl([line("BaseRateSet", None, "2022-01-01", {"jurisdiction": "BC", "cu": "G100",
                                                           "year": 2022, "base_rate": "3.00"},
                       id="rate-2022")])
    by_partner = post(client, rate, ledger["partner"])
    assert by_partner.status_code == 422 and by_partner.json["errors"][0]["field"] == "type"
    assert post(client, rate, ledger["operator"]).json["added"] == 1
    employer_event = jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": 3})])
    assert post(client, employer_event, ledger["operator"]).status_code == 422


def _history_ids(client: FlaskClient, employer: str, token: str) -> list[str]:
    return [e["id"] for e in get(client, f"/v1/employers/{employer}/history", token)
            .json["events"]]


def test_a_byte_order_mark_does_not_carry_a_body_past_the_partner_check(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    """The importer drops a BOM from the first line: the partner check reads the same line."""
    revoke = line("CertificationRevoked", OTHER, "2024-01-01",
                  {"authority": "x", "reason": "y"}, id="bom-1")
    refused = post(client, b"\xef\xbb\xbf" + jsonl([revoke]), ledger["partner"])
    assert refused.status_code == 422
    assert refused.json["errors"] == [
        {"line": 1, "field": "employer", "message": f"'{OTHER}' is not registered with BCCSA"}]
    assert "bom-1" not in _history_ids(client, OTHER, ledger["partner_other"])
    own = line("HeadcountReported", OWN, "2024-01-01", {"headcount": 30}, id="bom-2")
    assert post(client, b"\xef\xbb\xbf" + jsonl([own]), ledger["partner"]).json["added"] == 1


def test_a_void_of_reference_data_is_written_by_operators_only(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    void = jsonl([line("EventVoided", None, "2024-01-01",
                       {"target": "rate-G100-2021", "reason": "wrong rate"}, id="void-rate")])
    by_partner = post(client, void, ledger["partner"])
    assert by_partner.status_code == 422
    assert by_partner.json["errors"][0]["field"] == "type"
    assert post(client, void, ledger["operator"]).json["added"] == 1


def test_a_void_of_another_partners_event_is_refused_as_one_of_no_event(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    void = jsonl([line("EventVoided", OWN, "2024-01-01",
                       {"target": f"{OTHER}-qa", "reason": "x"}, id="void-other")])
    refused = post(client, void, ledger["partner"])
    assert refused.status_code == 422
    assert refused.json["errors"] == [{"line": 1, "field": "data.target",
                                       "message": f"no event with id '{OTHER}-qa' to void"}]
    assert "belongs to" not in refused.get_data(as_text=True)


def test_a_key_given_twice_in_a_json_array_element_is_refused_like_a_line(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    body = (b'[{"id":"hc-ok","type":"HeadcountReported","employer":"BC-OWN",'
            b'"effective":"2024-01-01","data":{"headcount":3}},'
            b'{"id":"hc-2","type":"HeadcountReported","employer":"BC-OWN",'
            b'"effective":"2024-01-01","data":{"headcount":30,"headcount":3}}]')
    refused = post(client, body, ledger["partner"], **{"Content-Type": "application/json"})
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json["errors"]] == [(2, "data.headcount")]
    assert "hc-ok" not in _history_ids(client, OWN, ledger["partner"])


@pytest.mark.parametrize(("as_array", "by"), [(False, ""), (False, ', "by": "x"'),
                                             (True, "")])
def test_a_score_written_more_precisely_than_it_is_read_is_refused_like_a_line(
        client: FlaskClient, ledger: dict[str, str], as_array: bool, by: str) -> None:
    """Written back (an array's element, a line given its ``by``), 79.99999999999999999
    would reach the importer as 80.0 and pass the 80% mark: it is refused as the command
    line refuses it, naming the element's line and field."""
    ok = (b'{"id":"hc-ok","type":"HeadcountReported","employer":"BC-OWN",'
          b'"effective":"2024-01-01","data":{"headcount":3}}')
    audit = ('{"id":"a-9","type":"AuditSubmitted","employer":"BC-OWN","effective":'
             '"2024-03-10"@by,"data":{"audit":"A9","kind":"maintenance","auditor":"x",'
             '"auditor_type":"external","started":"2024-03-01","completed":"2024-03-05",'
             '"overall":85,"elements":{"policy":79.99999999999999999}}}').replace(
                 "@by", by).encode()
    body = b"[" + ok + b"," + audit + b"]" if as_array else ok + b"\n" + audit + b"\n"
    refused = post(client, body, ledger["partner"], **{"Content-Type": "application/json"}
                   if as_array else {})
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json["errors"]] == [
        (2, "data.elements.policy")]
    assert "79.99999999999999999 is written more precisely" in \
        refused.json["errors"][0]["message"]
    assert "hc-ok" not in _history_ids(client, OWN, ledger["partner"])


@pytest.mark.parametrize("as_array", [False, True])
def test_a_value_nested_too_deeply_is_refused_not_a_crash(
        client: FlaskClient, ledger: dict[str, str], as_array: bool) -> None:
    deep = b"[" * 600 + b"1" + b"]" * 600
    event = (b'{"id":"deep","type":"HeadcountReported","employer":"BC-OWN",'
             b'"effective":"2024-01-01","data":{"headcount":' + deep + b"}}")
    body = b"[" + event + b"]" if as_array else event + b"\n"
    refused = post(client, body, ledger["partner"])
    assert refused.status_code == 422
    assert refused.json["errors"][0]["line"] == 1
    assert "nested too deeply" in refused.json["errors"][0]["message"]


def test_regulators_and_the_public_write_nothing(client: FlaskClient,
                                                 ledger: dict[str, str]) -> None:
    body = jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": 30})])
    assert post(client, body, ledger["regulator"]).status_code == 403
    assert post(client, body, None).status_code == 401


def test_a_body_over_the_limit_gets_a_clear_413(db_url: str, ledger: dict[str, str]) -> None:
    app = create_app(db_url, clock=lambda: NOW, settings=ServeSettings(max_body_bytes=2000))
    body = jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": i},
                       id=f"hc-{i}") for i in range(40)])
    assert len(body) > 2000
    response = post(app.test_client(), body, ledger["partner"])
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert "2000 bytes" in response.json["detail"] and response.json["limit"] == 2000


def test_import_refusals_name_each_line_and_field(client: FlaskClient,
                                                  ledger: dict[str, str]) -> None:
    body = jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": -1}),
                  "not json"])
    refused = post(client, body, ledger["partner"])
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json["errors"]] == [
        (1, "data.headcount"), (2, "line")]
    assert refused.json["type"].endswith("/import-refused")


# --- operations -------------------------------------------------------------------------------


def test_health_answers_without_a_token(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json["status"] == "ok"
    assert response.json["position"] == 7


def test_an_operator_runs_a_scan_and_a_partner_may_not(client: FlaskClient,
                                                       ledger: dict[str, str]) -> None:
    assert client.post("/v1/scan", headers=bearer(ledger["partner"])).status_code == 403
    done = client.post("/v1/scan?as_of=2021-05-01&within=365",
                       headers=bearer(ledger["operator"]))
    assert done.status_code == 200 and done.json["as_of"] == "2021-05-01"


def test_a_scan_for_a_date_after_today_is_refused_naming_as_of_and_writes_nothing(
        client: FlaskClient, db_url: str, ledger: dict[str, str]) -> None:
    """As `corledger scan --as-of` refuses it (commands.scan.check_scan_date): a flag
    records what a scan saw, not a forecast, and its key would be held for good."""
    def flags() -> int:
        with engine_for(db_url).connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM stored_events WHERE topic = "
                                         "'LapseRiskFlagged'")).scalar_one())

    refused = client.post("/v1/scan?as_of=2024-06-02&within=3653",
                          headers=bearer(ledger["operator"]))
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert refused.json["errors"] == [{
        "field": "as_of", "message": "2024-06-02 is after today (2024-06-01): a flag records "
                                     "what a scan saw, not a forecast"}]
    assert flags() == 0
    today = client.post("/v1/scan?as_of=2024-06-01&within=3653",
                        headers=bearer(ledger["operator"]))
    assert today.status_code == 200 and flags() == len(today.json["flagged"]) > 0


def test_openapi_lists_every_endpoint_and_docs_fetch_nothing_from_outside(
        client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/v1/events", "/v1/employers/{employer}", "/v1/employers/{employer}/explain",
            "/v1/employers/{employer}/history", "/v1/employers/{employer}/incentive",
            "/v1/lapses", "/v1/roll", "/v1/incentives", "/v1/rules", "/v1/verify"} <= \
        set(spec["paths"])
    page = client.get("/docs").data.decode()
    assert "/v1/employers/{employer}/history" in page
    assert "<script" not in page and "src=" not in page and "https://" not in page


def test_the_access_log_names_the_principal_and_never_the_token(
        client: FlaskClient, ledger: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="corledger.access"):
        get(client, f"/v1/employers/{OWN}", ledger["partner"])
        get(client, "/v1/roll", ledger["revoked"])
    entries = [orjson.loads(r.getMessage()) for r in caplog.records
               if r.name == "corledger.access"]
    assert [(e["path"], e["status"], e["principal"]) for e in entries] == [
        (f"/v1/employers/{OWN}", 200, "BCCSA QA desk"), ("/v1/roll", 401, "public")]
    assert not any(t in caplog.text for t in ledger.values())


def test_two_partners_registering_one_new_id_at_once_leave_it_with_the_first(
        db_url: str, ledger: dict[str, str]) -> None:
    """BCCSA's body passed its check while X was unknown; GO2HR registers X before BCCSA's
    import takes the write lock: BCCSA's import is refused whole, X stays GO2HR's."""
    from commands.importer import Importer
    from service.auth import Principal, Role
    from service.importing import TenancyRefused, body_lines, check_tenancy, import_lines
    from storage.store import open_store
    from tests.conftest import registration

    store = open_store(db_url)
    try:
        bccsa = Principal("BCCSA QA desk", Role.PARTNER, "BCCSA")
        lines = body_lines(jsonl([registration("X-1", partner="BCCSA", id="b-reg"),
                                  line("HeadcountReported", "X-1", "2024-01-01",
                                       {"headcount": 3}, id="b-hc")]))
        new = check_tenancy(store, bccsa, lines)
        assert new == {"X-1": 1}
        Importer(store, now=NOW).run(io.BytesIO(jsonl([registration("X-1", partner="GO2HR",
                                                                    id="g-reg")])))
        with pytest.raises(TenancyRefused) as refused:
            import_lines(store, bccsa, lines, new, NOW)
        assert [str(e) for e in refused.value.errors] == [
            "line 1: employer: 'X-1' cannot be registered with BCCSA: the id is taken"]
        assert [e.event_id for e in store.stream("X-1")] == ["g-reg"]
    finally:
        store.close()
