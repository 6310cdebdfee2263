"""The pages through Flask's test client, on a real SQLite file and PostgreSQL: sign-in and its
cookie, CSRF, tenancy (the API's 404), the employer page as of a date and as known at a time,
the roll's search, filters and CSV, lapses, incentives, public verification, literal output."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from commands.importer import Importer
from service.app import create_app
from service.tokens import revoke_token
from storage.store import open_store
from tests.service_support import NOW, OTHER, OWN, jsonl, tokens
from tests.web_support import AS_OF, AUDIT_RECORDED, BEFORE_AUDIT_KNOWN, LATE, LATE_NAME, web_lines


@pytest.fixture
def ledger(db_url: str) -> dict[str, str]:
    store = open_store(db_url)
    try:
        Importer(store, now=NOW).run(io.BytesIO(jsonl(web_lines())))
    finally:
        store.close()
    return tokens(db_url)


@pytest.fixture
def client(db_url: str, ledger: dict[str, str]) -> Iterator[FlaskClient]:
    app = create_app(db_url, clock=lambda: NOW)
    yield app.test_client()
    app.extensions["corledger"].close()


def csrf(client: FlaskClient, path: str = "/signin") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: FlaskClient, token: str) -> None:
    response = client.post("/signin", data={"csrf_token": csrf(client), "token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def badge(html: str) -> str:
    found = re.search(r'data-status="([a-z]+)"', html)
    assert found, html
    return found.group(1)


# --- sign-in --------------------------------------------------------------------------------------


def test_sign_in_sets_an_http_only_samesite_cookie_without_the_token(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    response = client.post("/signin", data={"csrf_token": csrf(client),
                                            "token": ledger["partner"]})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    secret = ledger["partner"].split("_", 2)[2]
    assert ledger["partner"] not in cookie and secret not in cookie


def test_the_pages_ask_the_public_to_sign_in(client: FlaskClient) -> None:
    for path in (f"/employers/{OWN}", "/roll", "/lapses", "/incentives"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/signin?next=")


def test_sign_in_without_the_csrf_token_is_refused(client: FlaskClient,
                                                   ledger: dict[str, str]) -> None:
    response = client.post("/signin", data={"token": ledger["partner"]})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/roll").status_code == 302  # still signed out


def test_sign_out_without_the_csrf_token_is_refused(client: FlaskClient,
                                                    ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    assert client.post("/signout").status_code == 400
    assert client.get("/roll").status_code == 200
    assert client.post("/signout", data={"csrf_token": csrf(client, "/roll")}).status_code == 302
    assert client.get("/roll").status_code == 302


@pytest.mark.parametrize("which", ["revoked", "nonsense"])
def test_an_unknown_or_revoked_token_does_not_sign_in(client: FlaskClient,
                                                      ledger: dict[str, str],
                                                      which: str) -> None:
    token = ledger.get(which, "clt_00000000_guess")
    response = client.post("/signin", data={"csrf_token": csrf(client), "token": token})
    assert response.status_code == 401
    assert "unknown or revoked" in response.get_data(as_text=True)


def test_revoking_the_token_ends_the_session(client: FlaskClient, db_url: str,
                                             ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    assert client.get("/roll").status_code == 200
    revoke_token(db_url, ledger["regulator"], NOW)
    assert client.get("/roll").status_code == 302


def test_sign_in_goes_back_only_to_a_page_of_this_site(client: FlaskClient,
                                                       ledger: dict[str, str]) -> None:
    for target, expected in (("/lapses", "/lapses"), ("https://evil.example/", "/roll"),
                             ("//evil.example/x", "/roll")):
        client.post("/signout", data={"csrf_token": csrf(client)})
        response = client.post("/signin", data={"csrf_token": csrf(client), "next": target,
                                                "token": ledger["partner"]})
        assert response.headers["Location"] == expected


# --- tenancy --------------------------------------------------------------------------------------


def test_another_partners_employer_is_the_same_404_as_an_unknown_one(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])  # BCCSA
    assert client.get(f"/employers/{OWN}").status_code == 200
    other = client.get(f"/employers/{OTHER}")
    unknown = client.get("/employers/NO-SUCH")
    assert other.status_code == unknown.status_code == 404
    # the same page but for the id, and for the CSRF token, which is signed with the second
    # it was made in (two requests may straddle a second)
    assert _unsigned(other.get_data(as_text=True).replace(OTHER, "X")) == \
        _unsigned(unknown.get_data(as_text=True).replace("NO-SUCH", "X"))


def _unsigned(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', page)


def test_a_regulator_reads_every_partners_employer(client: FlaskClient,
                                                   ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    assert client.get(f"/employers/{OWN}").status_code == 200
    assert client.get(f"/employers/{OTHER}").status_code == 200


def test_an_operator_reads_no_employer(client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["operator"])
    assert client.get(f"/employers/{OWN}").status_code == 404
    assert client.get("/roll").status_code == 403


def test_a_partners_lists_hold_only_its_employers(client: FlaskClient,
                                                  ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    roll = client.get("/roll?as_of=2021-06-01").get_data(as_text=True)
    assert OWN in roll and LATE in roll and OTHER not in roll
    assert OTHER not in client.get("/roll.csv?as_of=2021-06-01").get_data(as_text=True)
    assert "No employer matches." in client.get("/roll?partner=GO2HR").get_data(as_text=True)
    assert OTHER not in client.get("/incentives?year=2021").get_data(as_text=True)


# --- the employer page ----------------------------------------------------------------------------


def test_the_employer_page_shows_the_status_on_a_date_as_known_at_a_time(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    now = client.get(f"/employers/{LATE}?as_of={AS_OF}").get_data(as_text=True)
    then = client.get(f"/employers/{LATE}?as_of={AS_OF}&known_at={BEFORE_AUDIT_KNOWN}")
    assert badge(now) == "certified"
    assert badge(then.get_data(as_text=True)) == "registered"
    assert "issued 2021-03-20" in now
    before_registration = client.get(f"/employers/{LATE}?as_of=2020-12-01")
    assert badge(before_registration.get_data(as_text=True)) == "unregistered"


def test_the_timeline_marks_late_records_voids_and_what_was_not_yet_known(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    html = client.get(f"/employers/{LATE}?as_of={AS_OF}&known_at={BEFORE_AUDIT_KNOWN}"
                      ).get_data(as_text=True)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "late: 136 days" in svg or "recorded later" in svg
    assert "void of BC-LATE-hc" in svg
    assert "tone-voided" in svg and "tone-unknown" in svg
    assert 'class="cursor known-at"' in svg
    assert "Status intervals: registered from 2021-01-04 onward" in svg  # the text alternative


def test_an_event_opens_its_decision_with_rule_version_and_source(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    html = client.get(f"/employers/{LATE}?as_of={AS_OF}&event=BC-LATE-qa").get_data(
        as_text=True)
    panel = html[html.index('id="decision"'):html.index('class="alt"')]
    assert "QADecided" in panel
    assert "certificate issued 2021-03-20" in panel
    assert re.search(r"Rule <code>[A-Z0-9]+-\d{4}\.validity</code>, version in force since", panel)
    assert "Source:" in panel
    assert "Receipt" in panel
    receipt = re.search(r"entry <strong>(\d+)</strong> of the ledger's\s+tamper-evident log, "
                        r"which holds <strong>(\d+)</strong> entries", panel)
    assert receipt is not None, "the decision panel carries the event's receipt"
    assert int(receipt.group(1)) < int(receipt.group(2))


def test_the_slider_stops_at_each_recorded_time_and_the_view_is_linkable(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    html = client.get(f"/employers/{LATE}?as_of={AS_OF}&known_at={BEFORE_AUDIT_KNOWN}"
                      ).get_data(as_text=True)
    slider = re.search(r'<input id="known-slider"[^>]*>', html, re.S)
    assert slider
    assert 'max="5"' in slider.group(0) and 'value="3"' in slider.group(0)
    assert AUDIT_RECORDED in slider.group(0)
    assert f'value="{BEFORE_AUDIT_KNOWN}"' in html  # the known-at field, for the form's GET
    links = re.findall(r'href="(/employers/BC-LATE\?[^"]+)"', html)
    assert links and all("known_at=2021-05-02T09" in link and "as_of=2021-06-01" in link
                         for link in links)


def test_user_data_is_rendered_literally(client: FlaskClient,
                                         ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    html = client.get(f"/employers/{LATE}?as_of={AS_OF}").get_data(as_text=True)
    assert "Late &amp; &lt;Sons&gt; Roofing" in html
    assert LATE_NAME not in html
    verify = client.get(f"/verify?ids={LATE}+%3Cb%3Ex%3C/b%3E").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in verify and "<b>x</b>" not in verify


def test_a_bad_date_is_a_400_naming_the_field(client: FlaskClient,
                                              ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    response = client.get(f"/employers/{LATE}?as_of=June")
    assert response.status_code == 400
    assert "as_of: Not a valid date." in response.get_data(as_text=True)
    response = client.get(f"/employers/{LATE}?known_at=yesterday")
    assert response.status_code == 400
    assert "known_at: &#39;yesterday&#39; is not an ISO date-time" in response.get_data(
        as_text=True)


# --- lists ----------------------------------------------------------------------------------------


def test_the_roll_searches_by_id_or_name_and_filters_by_status(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    by_name = client.get("/roll?as_of=2021-06-01&q=sons").get_data(as_text=True)
    assert LATE in by_name and OWN not in by_name
    by_id = client.get("/roll?as_of=2021-06-01&q=go-oth").get_data(as_text=True)
    assert OTHER in by_id and LATE not in by_id
    certified = client.get("/roll?as_of=2021-06-01&status=certified").get_data(as_text=True)
    assert LATE in certified and OWN not in certified
    flagged = client.get("/roll?as_of=2021-06-01&flag=qa_pending").get_data(as_text=True)
    assert OWN in flagged and LATE not in flagged
    partner = client.get("/roll?as_of=2021-06-01&partner=GO2HR").get_data(as_text=True)
    assert OTHER in partner and OWN not in partner


def test_the_roll_downloads_as_csv_with_the_same_filters(client: FlaskClient,
                                                         ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    response = client.get("/roll.csv?as_of=2021-06-01&status=certified")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("employer,name,partner,program,status")
    assert len(lines) == 2
    assert lines[1].startswith(f"{LATE},{LATE_NAME},BCCSA,COR,certified,2021-03-20")


def test_lapses_list_levels_and_days_left(client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    html = client.get("/lapses?as_of=2022-11-15&within=90").get_data(as_text=True)
    row = html[html.index(f">{LATE}<"):]
    row = row[:row.index("</tr>")]
    assert "2022-12-31" in row and ">46<" in row  # maintenance due, days left
    assert 'class="level level-warning"' in html
    assert client.get("/lapses?within=-1").status_code == 400


def test_incentives_give_each_ineligible_employer_its_reasons(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    html = client.get("/incentives?year=2020").get_data(as_text=True)
    assert "certification year 2020" in html
    row = html[html.index(f">{OWN}<"):]
    row = row[:row.index("</tr>")]
    assert "ineligible" in row and "<li>" in row
    assert client.get("/incentives?year=20x0").status_code == 400


def test_incentives_show_the_totals_difference_as_the_api_reckons_it(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    html = client.get("/incentives?year=2020").get_data(as_text=True)
    api = client.get("/v1/incentives?year=2020",
                     headers={"Authorization": f"Bearer {ledger['regulator']}"}).get_json()
    shown = re.search(r"<dt>Difference</dt><dd>\$([-0-9.]+)</dd>", html)
    assert shown and shown.group(1) == api["totals"]["difference"]
    assert api["totals"]["paid_undecided"] == "0.00"
    assert "not yet decided" not in html  # the line shows only when something was paid so


# --- public verification --------------------------------------------------------------------------


def test_verify_answers_a_pasted_list_without_sign_in(client: FlaskClient) -> None:
    html = client.get(f"/verify?ids={LATE},%20{OTHER}%0ANO-SUCH").get_data(as_text=True)
    rows = re.findall(r'<tr data-employer="([^"]+)">(.*?)</tr>', html, re.S)
    assert [r[0] for r in rows] == [LATE, OTHER, "NO-SUCH"]
    assert "cancelled" in rows[0][1] and "BCCSA" in rows[0][1]  # no maintenance audit by 2024
    assert "unregistered" in rows[2][1]


def test_verify_answers_an_uploaded_file(client: FlaskClient) -> None:
    response = client.post("/verify", data={"file": (io.BytesIO(f"{LATE}\n{OWN}\n".encode()),
                                                     "ids.txt")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert re.findall(r'<tr data-employer="([^"]+)">', html) == [LATE, OWN]


def test_verify_refuses_more_than_150_ids(client: FlaskClient) -> None:
    ids = " ".join(f"E-{n}" for n in range(151))
    response = client.post("/verify", data={"ids": ids})
    assert response.status_code == 400
    assert "151 employer ids given; one verification answers at most 150" in \
        response.get_data(as_text=True)


def test_the_pages_fetch_nothing_from_elsewhere(client: FlaskClient,
                                                ledger: dict[str, str]) -> None:
    sign_in(client, ledger["regulator"])
    for path in ("/", "/verify", f"/employers/{LATE}", "/roll", "/lapses", "/incentives"):
        html = client.get(path).get_data(as_text=True)
        sources = re.findall(r'(?:src|href)="([^"#]+)"', html)
        assert all(s.startswith("/") or s.startswith("?") for s in sources), sources
    assert client.get("/web-static/web.css").status_code == 200
    assert client.get("/web-static/web.js").status_code == 200


def test_the_roll_pages_a_long_list_and_keeps_the_filters(client: FlaskClient,
                                                          ledger: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from service.web import views

    monkeypatch.setattr(views, "ROLL_PAGE", 2)
    sign_in(client, ledger["regulator"])
    first = client.get("/roll?as_of=2021-06-01").get_data(as_text=True)
    assert "3 employers, 1–2 shown" in first and "page 1 of 2" in first
    assert LATE in first and OWN in first and OTHER not in first
    assert 'href="/roll?as_of=2021-06-01&amp;page=2" rel="next"' in first
    second = client.get("/roll?as_of=2021-06-01&page=2").get_data(as_text=True)
    assert OTHER in second and LATE not in second and "3–3 shown" in second
    assert len(client.get("/roll.csv?as_of=2021-06-01").get_data(as_text=True)
               .splitlines()) == 4  # the CSV holds every row


@pytest.mark.parametrize("content, message", [
    (b"E-1\n" * 20000, "ids.txt: larger than 64 KiB, nothing was read"),
    (b"\xff\xfe E-1", "ids.txt: not UTF-8 text"),
])
def test_verify_refuses_an_unreadable_upload_naming_the_file(client: FlaskClient,
                                                             content: bytes,
                                                             message: str) -> None:
    response = client.post("/verify", data={"file": (io.BytesIO(content), "ids.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "<tr data-employer" not in html


def test_the_compare_view_names_what_changed_and_the_late_audit_behind_it(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    """The page's view against the same date as known before the audit was recorded: the
    status moved in transaction time, because of the audit and its QA decision."""
    sign_in(client, ledger["partner"])
    html = client.get(f"/employers/{LATE}?as_of={AS_OF}&compare_as_of={AS_OF}"
                      f"&compare_known_at={BEFORE_AUDIT_KNOWN}").get_data(as_text=True)
    section = html[html.index('id="compare"'):html.index('class="alt"')]
    assert "moving in transaction time" in section
    row = re.search(r'<th scope="row">status</th>\s*<td>registered</td>\s*<td>certified</td>'
                    r'(.*?)</tr>', section, re.S)
    assert row is not None, section
    assert "BC-LATE-qa" in row.group(1) and "transaction time" in row.group(1)
    same = client.get(f"/employers/{LATE}?as_of={AS_OF}&compare_as_of={AS_OF}").get_data(
        as_text=True)
    assert "Unchanged: every field of the status reads the same." in same
    bad = client.get(f"/employers/{LATE}?as_of={AS_OF}&compare_as_of=2021-02-30")
    assert bad.status_code == 400 and "compare_as_of" in bad.get_data(as_text=True)


def test_the_compare_view_of_another_partners_employer_is_the_same_404(
        client: FlaskClient, ledger: dict[str, str]) -> None:
    sign_in(client, ledger["partner"])
    other = client.get(f"/employers/{OTHER}?compare_as_of={AS_OF}")
    unknown = client.get(f"/employers/NO-SUCH-1?compare_as_of={AS_OF}")
    assert other.status_code == unknown.status_code == 404
