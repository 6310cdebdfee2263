"""The pages in a real browser (Debian's Chromium driven by Playwright) against a real
``corledger serve`` on loopback, on SQLite and PostgreSQL: the employer page's status for a
date, the known-at slider, a partner's 404 for another partner's employer, the public
verification, keyboard reach, no sideways scrolling at 390 px, and a screenshot of each page
at 1280 and 390 px (on the SQLite run; to docs/screenshots/ with CORLEDGER_SCREENSHOTS=1)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from commands.importer import Importer
from storage.store import open_store
from tests.conftest import BACKENDS
from tests.service_support import OTHER, jsonl, served, tokens
from tests.web_support import AS_OF, BEFORE_AUDIT_KNOWN, LATE, LATE_NAME, web_lines

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
WIDTHS = (1280, 390)
DEMO_EMPLOYER = "AB-1334380"  # in the bundled sample: six facts recorded late

pytestmark = [
    pytest.mark.integration,  # a real server and browser
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install -y "
               "chromium); Playwright cannot download browsers here"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Site:
    base: str
    tokens: dict[str, str]
    backend: str


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    """A served ledger: the bundled sample plus the page tests' own events, with tokens."""
    tmp = tmp_path_factory.mktemp(f"web-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'ledger.db'}"
    else:
        from tests.pg import fresh_database_url

        url = fresh_database_url()
    store = open_store(url)
    try:
        sample = resources.files("commands") / "sample" / "demo.jsonl"
        now = datetime.now(UTC)
        with sample.open("rb") as stream:
            Importer(store, now=now).run(stream)
        Importer(store, now=now).run(io.BytesIO(jsonl(web_lines())))
    finally:
        store.close()
    made = tokens(url)
    with served(url, tmp) as (base, _log):
        yield Site(base, made, request.param)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Any, site: Site, token: str | None, width: int = 1280) -> Any:
    """A fresh browser context (own cookies), signed in through the form when ``token``."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    if token is not None:
        page.goto(f"{site.base}/signin")
        page.fill("#token", token)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert "/signin" not in page.url
    return page


def status_badge(page: Any) -> str:
    return str(page.locator("#status-card .badge").inner_text().strip())


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_the_employer_page_shows_the_status_for_a_date(browser: Any, site: Site) -> None:
    page = new_page(browser, site, site.tokens["partner"])
    page.goto(f"{site.base}/employers/{LATE}?as_of={AS_OF}")
    assert status_badge(page) == "certified"
    assert "issued 2021-03-20" in page.locator("#status-card").inner_text()
    assert page.locator("h1").inner_text().startswith(LATE_NAME)  # literal, not markup
    page.goto(f"{site.base}/employers/{LATE}?as_of=2021-02-01")
    assert status_badge(page) == "registered"
    page.context.close()


def test_moving_the_slider_before_a_late_recorded_audit_shows_the_status_then_known(
        browser: Any, site: Site) -> None:
    page = new_page(browser, site, site.tokens["partner"])
    page.goto(f"{site.base}/employers/{LATE}?as_of={AS_OF}")
    assert status_badge(page) == "certified"
    slider = page.locator("#known-slider")
    moments = page.evaluate("JSON.parse(document.getElementById('known-slider')"
                            ".dataset.moments)")
    stop = moments.index(BEFORE_AUDIT_KNOWN)
    with page.expect_navigation():
        slider.fill(str(stop))
    assert query(page) == {"as_of": [AS_OF], "known_at": [BEFORE_AUDIT_KNOWN]}
    assert status_badge(page) == "registered"
    assert "tone-unknown" in page.locator("svg.timeline").inner_html()
    page.reload()  # the URL alone gives the same view
    assert status_badge(page) == "registered"
    slider.focus()  # from the keyboard: End is everything recorded
    with page.expect_navigation():
        page.keyboard.press("End")
    assert query(page) == {"as_of": [AS_OF]}
    assert status_badge(page) == "certified"
    page.context.close()


def test_selecting_an_event_on_the_timeline_opens_its_decision(browser: Any,
                                                               site: Site) -> None:
    page = new_page(browser, site, site.tokens["partner"])
    page.goto(f"{site.base}/employers/{LATE}?as_of={AS_OF}")
    with page.expect_navigation():
        page.locator("svg.timeline a[href*='event=BC-LATE-qa']").first.click()
    panel = page.locator("#decision").inner_text()
    assert "QADecided" in panel and "certificate issued 2021-03-20" in panel
    assert "version in force since" in panel and "Source:" in panel
    page.context.close()


def test_the_slider_and_the_timeline_marks_are_reachable_from_the_keyboard(
        browser: Any, site: Site) -> None:
    page = new_page(browser, site, site.tokens["partner"])
    page.goto(f"{site.base}/employers/{LATE}?as_of={AS_OF}")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("(() => { const e = document.activeElement;"
                                  " return e.id || e.getAttribute('class') || e.tagName })()"))
    assert "known-slider" in reached and "mark-link" in reached
    page.context.close()


def test_on_a_narrow_screen_the_chart_opens_at_its_recent_end(browser: Any,
                                                             site: Site) -> None:
    page = new_page(browser, site, site.tokens["regulator"], 390)
    page.goto(f"{site.base}/employers/{DEMO_EMPLOYER}?as_of=2026-11-01")
    scroll = page.evaluate("(() => { const s = document.querySelector('.chart-scroll');"
                           " return [s.scrollLeft, s.scrollWidth - s.clientWidth] })()")
    assert scroll[1] > 0 and scroll[0] == scroll[1]
    page.context.close()


def test_a_partners_session_gets_404_on_another_partners_employer(browser: Any,
                                                                  site: Site) -> None:
    page = new_page(browser, site, site.tokens["partner_other"])  # GO2HR
    own = page.goto(f"{site.base}/employers/{OTHER}")
    assert own is not None and own.status == 200
    other = page.goto(f"{site.base}/employers/{LATE}")
    assert other is not None and other.status == 404
    other_text = page.locator("main").inner_text().replace(LATE, "X")
    unknown = page.goto(f"{site.base}/employers/NO-SUCH")
    assert unknown is not None and unknown.status == 404
    assert page.locator("main").inner_text().replace("NO-SUCH", "X") == other_text
    page.context.close()


def test_the_verify_page_answers_a_pasted_list_without_sign_in(browser: Any,
                                                                site: Site) -> None:
    page = new_page(browser, site, None)
    page.goto(f"{site.base}/verify")
    page.fill("#ids", f"{LATE}\n{OTHER}, NO-SUCH")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    rows = page.locator("table.verify tbody tr")
    assert rows.count() == 3
    answers = {rows.nth(i).get_attribute("data-employer"):
               rows.nth(i).locator("td").nth(3).inner_text() for i in range(3)}
    assert answers["NO-SUCH"] == "unregistered"
    assert answers[LATE] in ("certified", "cancelled", "expired")
    assert rows.nth(0).locator("td").nth(1).inner_text() == LATE_NAME
    page.context.close()


PAGES = {  # screenshot name: (path, signed in as)
    "home": ("/", None),
    "verify": (f"/verify?ids={LATE}+BC-1104729+GEN-1271028+BC-1120567+NO-SUCH", None),
    "signin": ("/signin", None),
    "employer": (f"/employers/{DEMO_EMPLOYER}?as_of=2026-11-01&event=gen-{DEMO_EMPLOYER}-49"
                 "#decision", "regulator"),
    "employer-known-at": (f"/employers/{LATE}?as_of={AS_OF}&known_at={BEFORE_AUDIT_KNOWN}",
                          "regulator"),
    "roll": ("/roll?as_of=2026-11-01", "regulator"),
    "lapses": ("/lapses?as_of=2026-11-01&within=90", "regulator"),
    "incentives": ("/incentives?year=2025", "regulator"),
}


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_width_loads_nothing_from_elsewhere_and_is_screenshotted(
        browser: Any, site: Site, width: int, tmp_path: Path) -> None:
    """Screenshots go to a temporary folder, or to docs/screenshots with
    CORLEDGER_SCREENSHOTS=1 (a test run leaves the checkout as it found it)."""
    shots = SCREENSHOTS if os.environ.get("CORLEDGER_SCREENSHOTS") == "1" else tmp_path
    pages = {None: new_page(browser, site, None, width),
             "regulator": new_page(browser, site, site.tokens["regulator"], width)}
    elsewhere: list[str] = []
    errors: list[str] = []
    for page in pages.values():
        page.on("request", lambda r: None if r.url.startswith(site.base)
                else elsewhere.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shots.mkdir(parents=True, exist_ok=True)
    for name, (path, who) in PAGES.items():
        page = pages[who]
        response = page.goto(f"{site.base}{path}")
        assert response is not None and response.status == 200, name
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} scrolls sideways at {width} px ({overflow} px)"
        if site.backend == "sqlite":
            shot = shots / f"{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes().startswith(b"\x89PNG")
    assert elsewhere == [] and errors == []  # no CDN, no content-security-policy refusals
    for page in pages.values():
        page.context.close()
