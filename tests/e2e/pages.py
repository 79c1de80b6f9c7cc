"""Helpers shared by the browser tests: where a page is, its language, waiting for it to
settle, whether it fits a phone screen, and what axe-core finds wrong with it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.e2e.conftest import E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD, VIEWPORT

KHMER = re.compile("[\u1780-\u17ff]")
SESSION_PATH = re.compile(r"^/sessions/(\d+)$")


def path_of(url: str) -> str:
    """The path part of a URL (no query, no fragment)."""
    return urlsplit(url).path


def html_lang(page: Page) -> str | None:
    """The page's ``<html lang>``."""
    return page.locator("html").get_attribute("lang")


def settle(page: Page) -> None:
    """Wait until the page, its images and the Khmer web font are in."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")


def click_first_session_card(page: Page) -> str:
    """On the home page, click the first card of a training open for registration (another
    test may have started one); returns the session page's path."""
    cards = page.locator(".session-card[data-registration=open]")
    assert cards.count() > 0, "the home page lists no trainings after `sala demo`"
    cards.first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    path = path_of(page.url)
    assert SESSION_PATH.match(path), f"the card led to {page.url}, not /sessions/<id>"
    return path


def assert_fits_the_screen(page: Page) -> None:
    """Nothing sticks out sideways at 360 px: no horizontal scrolling on a phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], (
        f"{page.url} is {width} px wide on a {VIEWPORT['width']} px screen (horizontal scroll)"
    )


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page (axe must be loaded in it)."""
    assert page.evaluate("typeof window.axe") == "object", "axe-core did not load in the page"
    results = page.evaluate("window.axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """axe-core violations as readable lines for an assertion message."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def assert_no_serious_violations(page: Page, where: str, lang: str) -> None:
    """axe-core finds no serious or critical problem on the page (``where``, e.g. "the home
    page", and ``lang`` only go into the failure message)."""
    violations = serious_violations(page)
    assert not violations, (
        f"axe-core found serious/critical problems on {where} ({lang}, "
        f"{VIEWPORT['width']} px):\n{describe_violations(violations)}"
    )


def fill_login(page: Page, password: str, *, email: str = E2E_ADMIN_EMAIL) -> None:
    """Fill the login form (as the e2e admin unless ``email`` says who) and submit it."""
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()


def log_in(page: Page, lang: str = "en") -> None:
    """Log in as the e2e admin; lands on the staff session list."""
    page.goto(f"/staff/login?lang={lang}")
    fill_login(page, E2E_ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/sessions$"))
