"""Registering for a training in a real browser, in Khmer, on a 360 px wide phone screen.

What a person does: open the home page in Khmer, open the first training, fill the
registration form wrongly once (no email or phone, no consent: the errors come back in Khmer
with status 422 and the typed name kept), then properly (a Khmer name, emails in Khmer), land
on their private manage page with the ticket QR code, and cancel the registration. The QR code
is read back from a screenshot with zxing-cpp: it must carry the 117-character signed ticket
and nothing personal. axe-core must find no serious or critical problem on the form, the
manage page and the cancel confirmation, and no page may scroll sideways. Screenshots go to
``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

import io
import re
import secrets
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, Response, expect

from tests.e2e.conftest import VIEWPORT
from tests.e2e.pages import (
    KHMER,
    click_first_session_card,
    describe_violations,
    html_lang,
    path_of,
    serious_violations,
    settle,
)

pytestmark = pytest.mark.e2e

MANAGE_PATH = re.compile(r"^/registrations/([^/]+)$")
TICKET_LENGTH = 117
MIN_TICKET_WIDTH = 300

NAME = "សុខា ចាន់"
NAME_PARTS = ("សុខា", "ចាន់")
SECTOR = "ngo"


def _check_page(page: Page, label: str, problems: list[str]) -> None:
    """axe-core (serious/critical) and no horizontal scrolling; problems are collected, so one
    bad page does not hide the others, and the test fails on them at the end."""
    settle(page)
    assert html_lang(page) == "km", f"{label} is not in Khmer"
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > VIEWPORT["width"]:
        wide = page.evaluate(
            """(limit) => [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > limit)
                .slice(0, 5)
                .map(el => el.outerHTML.slice(0, 120))""",
            VIEWPORT["width"],
        )
        problems.append(
            f"{label} ({path_of(page.url)}) is {width} px wide on a {VIEWPORT['width']} px "
            f"screen (horizontal scroll); sticking out: {wide}"
        )
    violations = serious_violations(page)
    if violations:
        problems.append(
            f"axe-core found serious/critical problems on {label} ({path_of(page.url)}, km, "
            f"{VIEWPORT['width']} px):\n{describe_violations(violations)}"
        )


def _is_form_post(session_path: str) -> Any:
    def predicate(response: Response) -> bool:
        return response.request.method == "POST" and path_of(response.url) == session_path

    return predicate


def _field_errors(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(".field-error").all_inner_texts()]


def test_register_in_khmer_then_cancel(axe_page: Page, artifacts_dir: Any) -> None:
    page = axe_page
    email = f"sokha.{secrets.token_hex(4)}@e2e.test"
    problems: list[str] = []

    # 1. The home page in Khmer, the first training, its registration form.
    response = page.goto("/?lang=km")
    assert response is not None and response.status == 200
    session_path = click_first_session_card(page)
    form_section = page.locator("section#register")
    expect(form_section).to_have_count(1)
    form_section.scroll_into_view_if_needed()
    expect(form_section).to_be_in_viewport()
    form = form_section.locator("form")
    submit = form.locator("button[type=submit]")
    _check_page(page, "the session page with the registration form", problems)

    # 2. Once with problems: a name, but no email or phone and no consent.
    page.locator("#chosen_name").fill(NAME)
    page.locator(f"#sector-{SECTOR}").check()
    page.locator("#language-km").check()
    with page.expect_response(_is_form_post(session_path)) as posted:
        submit.click()
    assert posted.value.status == 422, (
        f"the form POST with no contact and no consent answered {posted.value.status}, not 422"
    )
    page.wait_for_load_state("load")
    assert path_of(page.url) == session_path
    assert html_lang(page) == "km"
    errors = _field_errors(page)
    assert errors, "no .field-error on the page after a refused registration"
    not_khmer = [text for text in errors if not KHMER.search(text)]
    assert not not_khmer, f"field errors not in Khmer: {not_khmer} (all: {errors})"
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#consent-error")).to_be_visible()
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#consent")).to_have_attribute("aria-invalid", "true")
    assert page.locator("#chosen_name").input_value() == NAME, "the typed name was not kept"
    expect(page.locator(f"#sector-{SECTOR}")).to_be_checked()
    expect(page.locator("#language-km")).to_be_checked()
    _check_page(page, "the session page with field errors", problems)

    # 3. Properly: contact and consent added. Screenshot the filled form before submitting.
    page.locator("#chosen_name").fill(NAME)
    page.locator("#email").fill(email)
    page.locator(f"#sector-{SECTOR}").check()
    page.locator("#language-km").check()
    page.locator("#consent").check()
    form_section.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "register-form-km-360.png"), full_page=True)
    with page.expect_response(_is_form_post(session_path)) as posted:
        submit.click()
    assert posted.value.status == 303, (
        f"the valid registration answered {posted.value.status}, not a 303 to the manage page"
    )
    # The redirect keeps the form's "#register" fragment: match on the path only.
    page.wait_for_url(lambda url: bool(MANAGE_PATH.match(path_of(url))))
    manage_path = path_of(page.url)
    token = MANAGE_PATH.match(manage_path)
    assert token, f"the registration led to {page.url}, not /registrations/<token>"
    settle(page)

    status = page.locator(".status.confirmed")
    expect(status).to_be_visible()
    status_text = status.inner_text()
    assert KHMER.search(status_text), f"the confirmation is not in Khmer: {status_text!r}"
    assert NAME in status_text, f"the confirmation does not greet {NAME!r}: {status_text!r}"

    ticket = page.locator(".ticket img")
    expect(ticket).to_have_count(1)
    ticket.scroll_into_view_if_needed()
    natural_width = ticket.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert natural_width > 0, "the ticket QR image did not load (naturalWidth is 0)"
    box = ticket.bounding_box()
    assert box is not None, "the ticket image is not displayed"
    assert box["width"] >= MIN_TICKET_WIDTH, (
        f"the ticket QR code is {box['width']:.0f} px wide on a {VIEWPORT['width']} px "
        f"screen; a door scanner needs at least {MIN_TICKET_WIDTH} px"
    )

    png = ticket.screenshot()
    (artifacts_dir / "ticket-km-360.png").write_bytes(png)
    barcodes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(barcodes) == 1, f"zxing-cpp found {len(barcodes)} codes in the ticket image"
    qr = barcodes[0]
    assert qr.format == zxingcpp.BarcodeFormat.QRCode, f"the ticket is a {qr.format}, not a QR"
    assert len(qr.text) == TICKET_LENGTH, (
        f"the QR code holds {len(qr.text)} characters, not the {TICKET_LENGTH} of a ticket: "
        f"{qr.text!r}"
    )
    personal = [
        piece
        for piece in (NAME, *NAME_PARTS, email, email.split("@")[0])
        if piece.casefold() in qr.text.casefold()
    ]
    assert not personal, f"the QR code carries personal data {personal}: {qr.text!r}"

    page.screenshot(path=str(artifacts_dir / "manage-km-360.png"), full_page=True)
    _check_page(page, "the manage page (confirmed)", problems)

    # 4. Cancel, confirm, and the manage page says so.
    cancel = page.locator('main a[href$="/cancel"]')
    expect(cancel).to_have_count(1)
    assert KHMER.search(cancel.inner_text()), "the cancel link is not in Khmer"
    cancel.click()
    page.wait_for_url(lambda url: path_of(url) == f"{manage_path}/cancel")
    _check_page(page, "the cancel confirmation page", problems)
    page.screenshot(path=str(artifacts_dir / "cancel-confirm-km-360.png"), full_page=True)
    confirm = page.locator("main form button[type=submit]")
    expect(confirm).to_have_count(1)
    assert KHMER.search(confirm.inner_text()), "the confirm button is not in Khmer"
    confirm.click()
    page.wait_for_url(lambda url: path_of(url) == manage_path)
    cancelled = page.locator(".status.cancelled")
    expect(cancelled).to_be_visible()
    assert KHMER.search(cancelled.inner_text()), "the cancelled status is not in Khmer"
    expect(page.locator(".status.confirmed")).to_have_count(0)
    expect(page.locator(".ticket img")).to_have_count(0)
    expect(page.locator('main a[href$="/cancel"]')).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "manage-cancelled-km-360.png"), full_page=True)
    _check_page(page, "the manage page (cancelled)", problems)

    # 5 and 6. axe-core and horizontal scrolling on every page above.
    assert not problems, "\n\n".join(problems)
