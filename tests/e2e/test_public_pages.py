"""The public pages in a real browser on a 360 px wide phone screen, in Khmer and English.

What a visitor sees: the list of trainings, a training's page, its calendar file, the language
switch (remembered), the 404 page, the Khmer web font, and no serious accessibility problem
(axe-core). Screenshots go to ``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from tests.e2e.conftest import VIEWPORT

pytestmark = pytest.mark.e2e

KHMER = re.compile("[\u1780-\u17ff]")
FONT_PATH = "/static/fonts/noto-sans-khmer.ttf"
SESSION_PATH = re.compile(r"^/sessions/(\d+)$")


def _path(url: str) -> str:
    return urlsplit(url).path


def _html_lang(page: Any) -> str | None:
    return page.locator("html").get_attribute("lang")


def _assert_fits_the_screen(page: Any) -> None:
    """Nothing sticks out sideways at 360 px: no horizontal scrolling on a phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], (
        f"{page.url} is {width} px wide on a {VIEWPORT['width']} px screen (horizontal scroll)"
    )


def _open_first_session(page: Any, lang: str = "en") -> str:
    """From the home page, click the first training card; returns the session page's path."""
    page.goto(f"/?lang={lang}")
    cards = page.locator(".session-card")
    assert cards.count() > 0, "the home page lists no trainings after `sala demo`"
    cards.first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    path = _path(page.url)
    assert SESSION_PATH.match(path), f"the card led to {page.url}, not /sessions/<id>"
    return path


def test_home_in_khmer_uses_the_khmer_web_font(page: Any, artifacts_dir: Any) -> None:
    font_responses: list[Any] = []
    page.on("response", lambda r: font_responses.append(r) if _path(r.url) == FONT_PATH else None)

    response = page.goto("/?lang=km")
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")

    assert _html_lang(page) == "km"
    assert page.locator(".session-card").count() > 0, "no training cards on the Khmer home page"
    heading = page.locator("h1").first.inner_text()
    assert KHMER.search(heading), f"the heading is not in Khmer: {heading!r}"

    assert font_responses, f"the page never requested {FONT_PATH}"
    statuses = [r.status for r in font_responses]
    assert 200 in statuses, f"{FONT_PATH} answered {statuses}, never 200"
    assert page.evaluate("document.fonts.check('16px \"Noto Sans Khmer\"', 'ក')"), (
        "document.fonts.check says Noto Sans Khmer is not ready for Khmer text"
    )
    # fonts.check() is also true when no face matches at all: make sure the face is loaded.
    loaded = page.evaluate(
        """() => [...document.fonts]
            .filter(f => f.family.replace(/["']/g, '') === 'Noto Sans Khmer')
            .map(f => f.status)"""
    )
    assert "loaded" in loaded, f"the Noto Sans Khmer font face is not loaded: {loaded}"
    family = page.locator("h1").first.evaluate("el => getComputedStyle(el).fontFamily")
    assert family.strip("\"' ").startswith("Noto Sans Khmer"), family

    _assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "home-km-360.png"), full_page=True)


def test_home_in_english(page: Any, artifacts_dir: Any) -> None:
    response = page.goto("/?lang=en")
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")

    assert _html_lang(page) == "en"
    assert page.locator("h1").first.inner_text().strip() == "Upcoming trainings"
    assert page.locator(".session-card").count() > 0

    _assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "home-en-360.png"), full_page=True)


def test_session_page_and_calendar_file(page: Any, artifacts_dir: Any) -> None:
    _open_first_session(page, "en")
    page.wait_for_load_state("networkidle")

    title = page.locator("h1")
    assert title.count() == 1
    assert title.inner_text().strip(), "the session page has an empty title"
    calendar = page.get_by_role("link", name="Add to my calendar")
    assert calendar.count() == 1, "no 'Add to my calendar' link on the session page"
    _assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "session-en-360.png"), full_page=True)

    href = calendar.get_attribute("href")
    assert href
    ics = page.request.get(urljoin(page.url, href))
    assert ics.status == 200, f"GET {href} answered {ics.status}"
    content_type = ics.headers.get("content-type", "")
    assert content_type.startswith("text/calendar"), content_type
    body = ics.text()
    assert body.startswith("BEGIN:VCALENDAR"), body[:200]
    assert "TZID=Asia/Phnom_Penh" in body, body


def test_language_switch_is_remembered(page: Any, artifacts_dir: Any) -> None:
    session_path = _open_first_session(page, "en")
    assert _html_lang(page) == "en"

    page.locator(".lang-switch").get_by_role("link", name="ខ្មែរ", exact=True).click()
    page.wait_for_load_state("load")
    assert _path(page.url) == session_path, "the language switch left the session page"
    assert _html_lang(page) == "km"
    assert page.locator(".lang-switch .current").inner_text().strip() == "ខ្មែរ"
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    _assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "session-km-360.png"), full_page=True)

    # No ?lang= any more and the browser asks for English: only the cookie can keep Khmer.
    page.goto("/")
    assert _html_lang(page) == "km"
    assert KHMER.search(page.locator("h1").first.inner_text())
    page.goto(session_path)
    assert _html_lang(page) == "km"


def test_unknown_session_is_a_404_in_khmer(page: Any, artifacts_dir: Any) -> None:
    response = page.goto("/sessions/999999?lang=km")
    assert response is not None
    assert response.status == 404
    assert _html_lang(page) == "km"
    page.screenshot(path=str(artifacts_dir / "not-found-km-360.png"), full_page=True)


# -- accessibility -------------------------------------------------------------------------


def _serious_violations(page: Any) -> list[dict[str, Any]]:
    assert page.evaluate("typeof window.axe") == "object", "axe-core did not load in the page"
    results = page.evaluate("window.axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("where", "lang"),
    [("home", "km"), ("home", "en"), ("session", "en"), ("session", "km")],
)
def test_no_serious_accessibility_violations(axe_page: Any, where: str, lang: str) -> None:
    page = axe_page
    if where == "home":
        page.goto(f"/?lang={lang}")
    else:
        _open_first_session(page, lang)
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert _html_lang(page) == lang

    violations = _serious_violations(page)
    assert not violations, (
        f"axe-core found serious/critical problems on the {where} page ({lang}, "
        f"{VIEWPORT['width']} px):\n{_describe(violations)}"
    )
