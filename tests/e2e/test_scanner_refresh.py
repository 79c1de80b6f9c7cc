"""Two door phones at one session stay current, the answer is where the eye is, and the
search finds names however they are typed (issue 13).

Two scanner pages (two browser contexts, the admin logged in on each, 360 px): a check-in on
phone A and a registration made after phone B opened both reach B within 30 s while B stays
online, by B's own refresh (the real interval, no faked clock); offline, B then checks in
the newcomer's ticket from its list. After a check-in by name and a typed code the
green/amber/red answer is in view below the sticky bar, and still announced. The search
ignores case, accents and zero-width spaces, and the phone folds what is typed exactly as
the server folds the names of the list.
"""

from __future__ import annotations

import io
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from checkin.services import name_search_key
from tests.e2e.api import admin_token, call, published_session, register
from tests.e2e.conftest import VIEWPORT
from tests.e2e.pages import log_in

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)
DARA = f"Dara Door {RUN}"
TYPED = f"Typed Code {RUN}"
HOA = f"Nguyễn Thị Hoa {RUN}"
SOKCHEAT = f"សុខ\u200bជាតិ {RUN}"  # a zero-width space between the Khmer words
SREYNEANG = f"ស្រីនាង ចាន់ {RUN}"
NEWCOMER = f"Late Comer {RUN}"
# What the list says as the answer of a phone that saw a check-in: "Checked in at 09:41".
CHECKED_IN_AT = re.compile(r"Checked in at \d\d:\d\d")


@dataclass(frozen=True)
class Door:
    session_id: int
    base_url: str
    api_token: str
    tokens: dict[str, str]  # name → the text of the ticket's QR code


def _register_with_ticket(base_url: str, session_id: int, name: str, n: int) -> str:
    """Register ``name``; the text of the QR code on their ticket (read back with zxing-cpp)."""
    receipt = register(base_url, session_id, name, f"refresh-{RUN}-{n}@example.org")
    png = call(base_url, "GET", receipt["manage_url"].removeprefix(base_url) + "/ticket.png")
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(codes) == 1, f"zxing-cpp found {len(codes)} codes in a ticket PNG"
    return str(codes[0].text)


@pytest.fixture(scope="module")
def door(sala_server: str, sala_data_dir: Path) -> Door:
    """A published session tomorrow with five confirmed people."""
    api_token = admin_token(sala_data_dir, sala_server, "e2e refresh")
    session = published_session(sala_server, api_token, f"Two phones {RUN}")
    tokens = {
        name: _register_with_ticket(sala_server, session["id"], name, n)
        for n, name in enumerate((DARA, TYPED, HOA, SOKCHEAT, SREYNEANG))
    }
    return Door(session["id"], sala_server, api_token, tokens)


@pytest.fixture
def open_phone(browser: Any, door: Door) -> Iterator[Callable[[], Page]]:
    """Phones at the door: each call opens a new browser profile (360 px), logs the admin in
    and opens the session's scanner. JavaScript errors on any of them fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_one() -> Page:
        context = browser.new_context(viewport=VIEWPORT, base_url=door.base_url, locale="en-US")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page)
        page.goto(f"/staff/checkin/{door.session_id}?lang=en")
        expect(page.locator("body")).to_have_attribute("data-scanner", "ready")
        expect(page.locator("#network")).to_have_text("Online")
        return page

    try:
        yield open_one
    finally:
        for context in contexts:
            context.close()
    assert not errors, f"the scanner's script failed: {errors}"


def _server_ticket(door: Door, name: str) -> dict[str, Any]:
    listing = call(
        door.base_url,
        "GET",
        f"/api/v1/sessions/{door.session_id}/checkin-list",
        token=door.api_token,
    )
    return next(t for t in listing["tickets"] if t["chosen_name"] == name)


def _type_code(page: Page, token: str) -> None:
    page.locator("#manual-token").fill(token)
    page.locator("#manual-token").press("Enter")


def _search(page: Page, typed: str) -> Any:
    page.locator("#search").fill(typed)
    return page.locator("#search-results li")


def test_a_check_in_and_a_new_registration_reach_the_other_phone_within_30_seconds(
    open_phone: Callable[[], Page], door: Door
) -> None:
    phone_a = open_phone()
    phone_b = open_phone()
    for phone in (phone_a, phone_b):
        expect(phone.locator("#count-checked-in")).to_have_text("0")
        expect(phone.locator("#count-confirmed")).to_have_text("5")

    # While B stays open and online: Dara is checked in on A, and someone registers.
    _type_code(phone_a, door.tokens[DARA])
    expect(phone_a.locator("#result-title")).to_have_text(f"Welcome, {DARA}")
    newcomer_ticket = _register_with_ticket(door.base_url, door.session_id, NEWCOMER, 9)
    started = time.monotonic()

    expect(phone_b.locator("#count-checked-in")).to_have_text("1", timeout=30_000)
    expect(phone_b.locator("#count-confirmed")).to_have_text("6", timeout=1_000)
    waited = time.monotonic() - started
    assert waited < 30, f"phone B took {waited:.0f} s to show phone A's check-in"
    expect(_search(phone_b, "dara door")).to_contain_text(CHECKED_IN_AT)
    expect(_search(phone_b, "late comer")).to_contain_text("Confirmed")

    # The Wi-Fi fails: B knows the newcomer from its list and checks their ticket in offline.
    phone_b.context.set_offline(True)
    expect(phone_b.locator("#network")).to_have_text("Offline")
    _type_code(phone_b, newcomer_ticket)
    expect(phone_b.locator("#result")).to_have_attribute("data-kind", "ok")
    expect(phone_b.locator("#result-title")).to_have_text(f"Welcome, {NEWCOMER}")
    expect(phone_b.locator("#result-detail")).to_contain_text("sent when the network is back")
    expect(phone_b.locator("#queue")).to_have_attribute("data-count", "1")
    assert not _server_ticket(door, NEWCOMER)["checked_in_at"]

    phone_b.context.set_offline(False)
    expect(phone_b.locator("#queue")).to_have_attribute("data-count", "0", timeout=20_000)
    assert _server_ticket(door, NEWCOMER)["checked_in_at"], "B's offline check-in was lost"
    # And back the other way: A shows B's check-in, within 30 s too.
    expect(phone_a.locator("#count-checked-in")).to_have_text("2", timeout=30_000)
    expect(_search(phone_a, "late")).to_contain_text(CHECKED_IN_AT)


# Where the answer is on the screen: whole, below the sticky bar, above the bottom edge.
ANSWER_IN_VIEW = """() => {
  const bar = document.getElementById("scanner-bar").getBoundingClientRect();
  const box = document.getElementById("result").getBoundingClientRect();
  return box.top >= bar.bottom - 1 && box.bottom <= window.innerHeight;
}"""

# Scroll the page as a phone does to reach a section: its heading just below the sticky bar.
SCROLL_TO = """(id) => {
  const bar = document.getElementById("scanner-bar").getBoundingClientRect().height;
  const heading = document.getElementById(id).getBoundingClientRect().top + window.scrollY;
  window.scrollTo(0, heading - bar);
}"""


def test_the_answer_is_in_view_after_a_check_in_by_name_and_a_typed_code(
    open_phone: Callable[[], Page], door: Door, artifacts_dir: Path
) -> None:
    phone = open_phone()
    result = phone.locator("#result")
    expect(result).to_have_attribute("aria-live", "assertive")

    # By name: the search is further down the page than the answer.
    phone.evaluate(SCROLL_TO, "search-title")
    assert not phone.evaluate(ANSWER_IN_VIEW), "the answer is in view before the search"
    row = _search(phone, "nguyen").filter(has_text=HOA)
    row.get_by_role("button", name="Check in").click()
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {HOA}")
    expect(result).to_have_attribute("data-kind", "ok")
    assert phone.evaluate(ANSWER_IN_VIEW), "after a check-in by name the answer is off-screen"
    phone.screenshot(path=str(artifacts_dir / "scanner-answer-after-search-360.png"))
    # The pressed button has become "Undo": the answer has the focus instead (read out, and
    # a second key press does not take the check-in back).
    assert phone.evaluate("document.activeElement.id") == "result"

    # A typed (or pasted) code, further down still.
    phone.evaluate(SCROLL_TO, "manual-title")
    assert not phone.evaluate(ANSWER_IN_VIEW)
    _type_code(phone, door.tokens[TYPED])
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {TYPED}")
    assert phone.evaluate(ANSWER_IN_VIEW), "after a typed code the answer is off-screen"
    # The focus stays in the field, ready for the next code.
    assert phone.evaluate("document.activeElement.id") == "manual-token"

    # The same code again: the amber answer comes into view the same way.
    phone.evaluate(SCROLL_TO, "manual-title")
    _type_code(phone, door.tokens[TYPED])
    expect(result).to_have_attribute("data-kind", "warn")
    assert phone.evaluate(ANSWER_IN_VIEW), "the amber answer is off-screen"


# Names whose folding the phone and the server must agree on, character for character.
FOLDED_ALIKE = [
    HOA,
    unicodedata.normalize("NFD", HOA),
    "Trần Văn Đức",
    SOKCHEAT,
    "ស្រីនាង\u200c\u200dចាន់\ufeff",
    "Straße Øre Łódź Æsa",
    "İstanbul ΟΔΟΣ naïve",
    "Ｆｕｌｌ\u3000ｗｉｄｔｈ ǅemal",
    "\u00a0Dara\u2009Sok\u00ad\u2060",
]


def test_the_search_ignores_case_accents_and_zero_width_spaces(
    open_phone: Callable[[], Page], door: Door
) -> None:
    phone = open_phone()
    expect(_search(phone, "nguyen").filter(has_text=HOA)).to_have_count(1)
    expect(_search(phone, "NGUYEN thi hoa").filter(has_text=HOA)).to_have_count(1)
    expect(
        _search(phone, unicodedata.normalize("NFD", "Nguyễn")).filter(has_text=HOA)
    ).to_have_count(1)
    # Khmer registered with a zero-width space, typed without; and the other way round.
    expect(_search(phone, "សុខជាតិ").filter(has_text=SOKCHEAT)).to_have_count(1)
    expect(_search(phone, "ស្រីនាង\u200bចាន់").filter(has_text=SREYNEANG)).to_have_count(1)
    # Khmer's vowel signs still tell names apart.
    expect(_search(phone, "សខ")).to_have_text(["Nobody with that name."])

    folded = phone.evaluate(
        """async (names) => {
          const { searchKey } = await import("/static/js/checkin/names.js");
          return names.map(searchKey);
        }""",
        FOLDED_ALIKE,
    )
    assert folded == [name_search_key(name) for name in FOLDED_ALIKE]
