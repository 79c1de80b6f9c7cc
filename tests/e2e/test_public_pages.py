"""The public pages in a real browser on a 360 px wide phone screen, in Khmer and English.

What a visitor sees: the list of trainings, a training's page, its calendar file, the language
switch (remembered), the 404 page, the Khmer web font, and no serious accessibility problem
(axe-core). Screenshots go to ``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import pytest

from tests.e2e.pages import (
    KHMER,
    assert_fits_the_screen,
    assert_no_serious_violations,
    click_first_session_card,
    html_lang,
    path_of,
    settle,
)

pytestmark = pytest.mark.e2e

FONT_PATH = "/fonts/noto-sans-khmer.woff2"  # under /static/<version>/ (sala/static_files.py)


def _open_first_session(page: Any, lang: str = "en") -> str:
    """From the home page, click the first training card; returns the session page's path."""
    page.goto(f"/?lang={lang}")
    return click_first_session_card(page)


def test_home_in_khmer_uses_the_khmer_web_font(page: Any, artifacts_dir: Any) -> None:
    font_responses: list[Any] = []
    page.on(
        "response",
        lambda r: font_responses.append(r) if path_of(r.url).endswith(FONT_PATH) else None,
    )

    response = page.goto("/?lang=km")
    assert response is not None and response.status == 200
    settle(page)

    assert html_lang(page) == "km"
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

    assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "home-km-360.png"), full_page=True)


def test_home_in_english(page: Any, artifacts_dir: Any) -> None:
    response = page.goto("/?lang=en")
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")

    assert html_lang(page) == "en"
    assert page.locator("h1").first.inner_text().strip() == "Upcoming trainings"
    assert page.locator(".session-card").count() > 0

    assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "home-en-360.png"), full_page=True)


def test_session_page_and_calendar_file(page: Any, artifacts_dir: Any) -> None:
    _open_first_session(page, "en")
    page.wait_for_load_state("networkidle")

    title = page.locator("h1")
    assert title.count() == 1
    assert title.inner_text().strip(), "the session page has an empty title"
    calendar = page.get_by_role("link", name="Add to my calendar")
    assert calendar.count() == 1, "no 'Add to my calendar' link on the session page"
    assert_fits_the_screen(page)
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
    assert html_lang(page) == "en"

    page.locator(".lang-switch").get_by_role("link", name="ខ្មែរ", exact=True).click()
    page.wait_for_load_state("load")
    assert path_of(page.url) == session_path, "the language switch left the session page"
    assert html_lang(page) == "km"
    assert page.locator(".lang-switch .current").inner_text().strip() == "ខ្មែរ"
    settle(page)
    assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "session-km-360.png"), full_page=True)

    # No ?lang= any more and the browser asks for English: only the cookie can keep Khmer.
    page.goto("/")
    assert html_lang(page) == "km"
    assert KHMER.search(page.locator("h1").first.inner_text())
    page.goto(session_path)
    assert html_lang(page) == "km"


def test_unknown_session_is_a_404_in_khmer(page: Any, artifacts_dir: Any) -> None:
    response = page.goto("/sessions/999999?lang=km")
    assert response is not None
    assert response.status == 404
    assert html_lang(page) == "km"
    page.screenshot(path=str(artifacts_dir / "not-found-km-360.png"), full_page=True)


# -- accessibility -------------------------------------------------------------------------


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
    settle(page)
    assert html_lang(page) == lang

    assert_no_serious_violations(page, f"the {where} page", lang)
