"""The tenancy matrix, against a real ``corledger serve`` (gunicorn, 2 workers) on loopback:
every endpoint x every role x an own and another partner's employer, on SQLite and PostgreSQL.

A cell is one request; it *leaks* when its status code is not the expected one, when a body
names an employer the caller may not see, or when a 404 for another partner's employer
differs from the 404 for an employer that does not exist. The test reports the cells checked
and asserts 0 leaks.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest

from tests.conftest import line
from tests.service_support import OTHER, OWN, http, jsonl, seed, served, tokens

pytestmark = pytest.mark.integration  # a real server on loopback

ROLES = ("partner", "partner_other", "regulator", "operator", "public", "revoked", "unknown")
UNKNOWN_TOKEN = "clt_deadbeef_" + "A" * 43

# endpoint -> role -> (status for the own employer, status for the other partner's)
EMPLOYER_READ = {"partner": (200, 404), "partner_other": (200, 404), "regulator": (200, 200),
                 "operator": (404, 404), "public": (401, 401)}
LIST_READ = {"partner": (200, 200), "partner_other": (200, 200), "regulator": (200, 200),
             "operator": (403, 403), "public": (401, 401)}
PUBLIC_READ = {role: (200, 200) for role in ("partner", "partner_other", "regulator",
                                             "operator", "public")}
EXPECTED: dict[str, dict[str, tuple[int, int]]] = {
    "status": EMPLOYER_READ, "explain": EMPLOYER_READ, "history": EMPLOYER_READ,
    "incentive": EMPLOYER_READ, "diff": EMPLOYER_READ,
    "write": {"partner": (200, 422), "partner_other": (200, 422), "regulator": (403, 403),
              "operator": (422, 422), "public": (401, 401)},
    "lapses": LIST_READ, "roll": LIST_READ, "incentives": LIST_READ, "changes": LIST_READ,
    "verify": PUBLIC_READ, "rules": PUBLIC_READ,
    "scan": {"partner": (403, 403), "partner_other": (403, 403), "regulator": (403, 403),
             "operator": (200, 200), "public": (401, 401)},
}
LISTS = ("lapses", "roll", "incentives", "changes")


def targets(role: str) -> tuple[str, str]:
    """(own, other) employer for a role: GO2HR's partner owns the GO2HR employer."""
    return (OTHER, OWN) if role == "partner_other" else (OWN, OTHER)


def request_for(endpoint: str, employer: str, cell: int) -> tuple[str, str, bytes | None]:
    if endpoint == "write":
        return "POST", "/v1/events", jsonl([line("HeadcountReported", employer, "2024-01-01",
                                                 {"headcount": 10 + cell}, id=f"cell-{cell}")])
    return {
        "status": ("GET", f"/v1/employers/{employer}", None),
        "explain": ("GET", f"/v1/employers/{employer}/explain", None),
        "history": ("GET", f"/v1/employers/{employer}/history", None),
        "incentive": ("GET", f"/v1/employers/{employer}/incentive?year=2021", None),
        "diff": ("GET", f"/v1/employers/{employer}/diff?from=2021-01-01@2020-06-01"
                        "&to=2021-01-01", None),
        "changes": ("GET", "/v1/changes?since=2020-06-01T00:00:00Z&as_of=2021-01-01", None),
        "lapses": ("GET", "/v1/lapses?as_of=2021-05-01&within=365", None),
        "roll": ("GET", "/v1/roll?as_of=2021-01-01", None),
        "incentives": ("GET", "/v1/incentives?year=2021", None),
        "verify": ("GET", f"/v1/verify?employer={employer}", None),
        "rules": ("GET", "/v1/rules", None),
        "scan": ("POST", "/v1/scan?as_of=2021-05-01", None),
    }[endpoint]


def visible(role: str, employer: str) -> bool:
    """May ``role`` see ``employer`` in a list?"""
    if role == "regulator":
        return True
    return role in ("partner", "partner_other") and employer == targets(role)[0]


def test_tenancy_matrix_has_no_leaks(db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    made = {**tokens(db_url), "unknown": UNKNOWN_TOKEN}
    cells = 0
    leaks: list[str] = []
    with served(db_url, tmp_path) as (base, log):
        # what each employer endpoint answers for an id that does not exist
        unknown_404 = {e: http("GET", base + request_for(e, "NO-SUCH", 0)[1],
                               made["regulator"])[2]
                       for e in ("status", "explain", "history", "incentive", "diff")}
        counter = itertools.count()
        for endpoint, role, which in itertools.product(EXPECTED, ROLES, (0, 1)):
            employer = targets(role)[which]
            token = None if role == "public" else made[role]
            expected = 401 if role in ("revoked", "unknown") else EXPECTED[endpoint][role][which]
            method, path, body = request_for(endpoint, employer, next(counter))
            status, _, payload = http(method, base + path, token, body)
            cells += 1
            where = f"{endpoint} as {role} on {employer}"
            if status != expected:
                leaks.append(f"{where}: {status}, expected {expected}: {payload[:200]!r}")
                continue
            if endpoint in LISTS and status == 200:
                hidden = [e for e in (OWN, OTHER) if not visible(role, e)]
                if any(e.encode() in payload for e in hidden):
                    leaks.append(f"{where}: the body names {hidden}")
                if visible(role, employer) and employer.encode() not in payload:
                    leaks.append(f"{where}: the body leaves out {employer}")
            if status == 404:
                same = payload.replace(employer.encode(), b"X") == \
                    unknown_404[endpoint].replace(b"NO-SUCH", b"X")
                if not same:
                    leaks.append(f"{where}: its 404 differs from an unknown employer's")
        server_log = log.read_text()
    print(f"\ntenancy matrix on {db_url.split(':')[0]}: {cells} cells, {len(leaks)} leaks")
    assert cells == len(EXPECTED) * len(ROLES) * 2
    assert leaks == [], f"{len(leaks)} leaks in {cells} cells:\n" + "\n".join(leaks)
    assert not any(t in server_log for t in made.values()), "a token is in the server's log"
    access = [orjson.loads(x) for x in server_log.splitlines() if x.startswith('{"time"')]
    assert len(access) == cells + 6  # every request: the health check, the 5 unknown 404s


@pytest.mark.parametrize("endpoint", ["status", "history"])
def test_a_revoked_token_is_refused_by_a_running_server(db_url: str, tmp_path: Path,
                                                        endpoint: str) -> None:
    from service.tokens import create_token, revoke_token
    from tests.service_support import NOW

    seed(db_url)
    token, info = create_token(db_url, name="desk", role="regulator", partner=None, now=NOW)
    with served(db_url, tmp_path) as (base, _):
        method, path, _body = request_for(endpoint, OWN, 0)
        assert http(method, base + path, token)[0] == 200
        revoke_token(db_url, info.token_id, NOW)
        assert http(method, base + path, token)[0] == 401


def test_concurrent_requests_to_forked_workers_all_succeed(db_url: str, tmp_path: Path) -> None:
    """Workers forked from ``serve`` share no database connection (each request gets 200)."""
    from concurrent.futures import ThreadPoolExecutor

    seed(db_url)
    made = tokens(db_url)
    with served(db_url, tmp_path, workers=4) as (base, log):
        def ask(i: int) -> int:
            method, path, body = request_for(("status", "history", "roll", "write")[i % 4],
                                             OWN, 1000 + i)
            return http(method, base + path, made["partner"], body)[0]

        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(ask, range(48)))
        server_log = log.read_text()
    assert statuses == [200] * 48, "Traceback" in server_log and server_log[-3000:]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_gets_413_and_writes_nothing(db_url: str, tmp_path: Path,
                                                           chunked: bool) -> None:
    """Also a chunked body (no Content-Length), which werkzeug would silently cut at the
    limit: a cut JSONL body must not import its first lines. The body is far larger than
    the socket buffers, so the client is still sending when the server refuses: it must
    get the 413, not a reset connection."""
    seed(db_url)
    made = tokens(db_url)
    lines = jsonl([line("HeadcountReported", OWN, "2024-01-01", {"headcount": i},
                        id=f"big-{i}") for i in range(20000)]) * 10
    assert len(lines) > 10_000_000  # more than loopback's socket buffers hold
    with served(db_url, tmp_path, environ={"CORLEDGER_SERVE_MAX_BODY_BYTES": "4000"}) \
            as (base, _):
        body = iter([lines[i:i + 65536] for i in range(0, len(lines), 65536)]) if chunked \
            else lines
        status, _, payload = http("POST", f"{base}/v1/events", made["partner"], body)
        assert status == 413, payload
        assert orjson.loads(payload)["limit"] == 4000
        history = http("GET", f"{base}/v1/employers/{OWN}/history", made["partner"])[2]
        assert b"big-" not in history
