"""Cancelling a session in a real browser at 360 px: the button asks first, says how many
people will be told, takes a message, and "No, keep it" changes nothing (issue 13)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.api import admin_token, call, published_session, register
from tests.e2e.pages import assert_fits_the_screen, assert_no_serious_violations, log_in, settle

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)


def test_cancelling_a_session_asks_how_many_will_be_told_and_takes_a_message(
    axe_page: Page, sala_server: str, sala_data_dir: Path, artifacts_dir: Path
) -> None:
    page = axe_page
    token = admin_token(sala_data_dir, sala_server, "e2e session cancel")
    session = published_session(sala_server, token, f"Cancel test {RUN}")
    for n in range(2):
        register(sala_server, session["id"], f"Dara {n}", f"dara{n}-{RUN}@example.org")
    log_in(page)

    page.goto(f"/staff/sessions/{session['id']}?lang=en")
    page.get_by_role("link", name="Cancel this session").click()
    expect(page.locator("h1")).to_have_text("Cancel this session?")
    expect(page.locator("#told-this")).to_contain_text(
        "2 people confirmed or waiting will be told by email."
    )
    settle(page)
    assert_fits_the_screen(page)
    assert_no_serious_violations(page, "the cancel confirmation", "en")
    page.screenshot(path=str(artifacts_dir / "session-cancel-confirm-en-360.png"), full_page=True)

    # Changing one's mind changes nothing.
    page.get_by_role("link", name="No, keep it").click()
    expect(page.locator(".badge")).to_have_text("Published")
    assert call(sala_server, "GET", f"/api/v1/sessions/{session['id']}")["status"] == "published"

    page.get_by_role("link", name="Cancel this session").click()
    page.locator("#message").fill("The venue flooded. A new date follows.")
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, cancel and email them").click()
    expect(page.locator("main .alert.success")).to_contain_text("1 session cancelled.")
    expect(page.locator(".badge").first).to_have_text("Cancelled")
    expect(page.get_by_role("link", name="Cancel this session")).to_have_count(0)
    staff_view = call(sala_server, "GET", f"/api/v1/sessions/{session['id']}", token=token)
    assert staff_view["status"] == "cancelled"
