"""Cancelling one person's seat from the staff roster, in a real browser on a phone: the
roster's "Cancel" asks first (whose seat, at which training, that they will be emailed),
"No, keep it" changes nothing, and only "Yes" cancels. Without JavaScript: a page, then a
POST."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.api import admin_token, published_session, register
from tests.e2e.pages import (
    assert_fits_the_screen,
    assert_no_serious_violations,
    log_in,
    path_of,
    settle,
)

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)


def test_the_roster_asks_before_cancelling_a_seat(
    axe_page: Page, sala_server: str, sala_data_dir: Path, artifacts_dir: Path
) -> None:
    page = axe_page
    token = admin_token(sala_data_dir, sala_server, "e2e roster cancel")
    title = f"Roster cancel {RUN}"
    session = published_session(sala_server, token, title)
    name = f"Sophea {RUN}"
    email = f"sophea-{RUN}@example.org"
    register(sala_server, session["id"], name, email)
    register(sala_server, session["id"], f"Keeps {RUN}", f"keeps-{RUN}@example.org")

    log_in(page)
    roster = f"/staff/sessions/{session['id']}/registrations"
    page.goto(roster)
    row = page.locator("tr", has_text=name)
    row.get_by_role("link", name="Cancel").click()

    expect(page.locator("h1")).to_have_text("Cancel this registration?")
    expect(page.locator("main")).to_contain_text(f"{name} will lose their seat at {title}.")
    expect(page.locator("main")).to_contain_text(f"They will be told by email at {email}.")
    settle(page)
    assert_fits_the_screen(page)
    assert_no_serious_violations(page, "the roster's cancel question", "en")
    page.screenshot(path=str(artifacts_dir / "roster-cancel-confirm-360.png"), full_page=True)

    page.get_by_role("link", name="No, keep it").click()
    assert path_of(page.url) == roster
    expect(page.locator("main")).to_contain_text("Confirmed (2)")

    page.locator("tr", has_text=name).get_by_role("link", name="Cancel").click()
    page.get_by_role("button", name="Yes, cancel the registration").click()
    expect(page.locator(".alert.success")).to_have_text("The registration has been cancelled.")
    assert path_of(page.url) == roster
    expect(page.locator("main")).to_contain_text("Confirmed (1)")
    expect(page.locator("main")).to_contain_text("Cancelled (1)")
    cancelled_table = page.locator("h2", has_text="Cancelled").locator(
        "xpath=following-sibling::div[1]"
    )
    expect(cancelled_table).to_contain_text(name)
