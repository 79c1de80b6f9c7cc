"""The door scanner in a real browser: Chromium's fake camera films a real ticket.

Three people register through the public API; their tickets are the QR PNGs of their manage
pages, read back with zxing-cpp. Ticket 1 becomes a video (``.y4m``) that Chromium plays as
its camera (``--use-file-for-fake-video-capture``). As the admin, on a 360 px phone screen:

- the camera scans ticket 1: green "Welcome, <name>", the counter moves, and the server holds
  the check-in;
- the phone goes offline (the context's network is cut), the scanner page reloads from the
  service worker, ticket 2 is scanned (typed in): green, marked offline, one scan waiting;
  a forged ticket is red; back online, the queue empties by itself and the server holds
  ticket 2's check-in too.

This module launches its own Chromium (the fake camera is a launch flag), so it does not use
conftest's ``browser``.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.api import admin_token, call, published_session, register
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, missing
from tests.e2e.pages import (
    KHMER,
    assert_fits_the_screen,
    assert_no_serious_violations,
    log_in,
    settle,
)

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)
NAMES = (f"Sokha Camera {RUN}", f"Dara Offline {RUN}", f"Vanna Later {RUN}")


@dataclass(frozen=True)
class Door:
    session_id: int
    tokens: list[str]
    ticket_png: bytes
    api_token: str
    base_url: str


def _ticket(png: bytes) -> str:
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(codes) == 1, f"zxing-cpp found {len(codes)} codes in a ticket PNG"
    return str(codes[0].text)


@pytest.fixture(scope="module")
def door(sala_server: str, sala_data_dir: Path) -> Door:
    """A published session tomorrow with three confirmed registrations and their tickets."""
    api_token = admin_token(sala_data_dir, sala_server, "e2e scanner")
    session = published_session(sala_server, api_token, f"Door test {RUN}")
    tokens: list[str] = []
    pngs: list[bytes] = []
    for n, name in enumerate(NAMES):
        receipt = register(sala_server, session["id"], name, f"door-{RUN}-{n}@example.org")
        manage_path = receipt["manage_url"].removeprefix(sala_server)
        png = call(sala_server, "GET", manage_path + "/ticket.png")
        pngs.append(png)
        tokens.append(_ticket(png))
    return Door(session["id"], tokens, pngs[0], api_token, sala_server)


def _y4m(png: bytes, path: Path) -> Path:
    """A 640×480 video of the ticket on white, as Chromium's fake camera reads it."""
    width, height = 640, 480
    frame = Image.new("RGB", (width, height), "white")
    qr = Image.open(io.BytesIO(png)).convert("RGB")
    side = 360
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    frame.paste(qr, ((width - side) // 2, (height - side) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            video.write(b"FRAME\n" + planes)
    return path


@pytest.fixture(scope="module")
def camera_browser(door: Door, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    video = _y4m(door.ticket_png, tmp_path_factory.mktemp("camera") / "ticket.y4m")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def phone(camera_browser: Any, door: Door) -> Iterator[Page]:
    context = camera_browser.new_context(
        viewport=VIEWPORT, base_url=door.base_url, locale="en-US", permissions=["camera"]
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: print(f"page error: {error}"))
        yield page
    finally:
        context.close()


@pytest.fixture
def axe_phone(camera_browser: Any, door: Door, axe_source: str) -> Iterator[Page]:
    """A phone with axe-core injected (see conftest's ``axe_page``)."""
    context = camera_browser.new_context(viewport=VIEWPORT, base_url=door.base_url, locale="en-US")
    context.set_default_timeout(15_000)
    context.add_init_script(script=axe_source)
    try:
        yield context.new_page()
    finally:
        context.close()


def _server_ticket(door: Door, registration_id: int) -> dict[str, Any]:
    listing = call(
        door.base_url,
        "GET",
        f"/api/v1/sessions/{door.session_id}/checkin-list",
        token=door.api_token,
    )
    return next(t for t in listing["tickets"] if t["registration_id"] == registration_id)


def _registration_id(token: str) -> int:
    from attendees.tickets import base45_decode

    return int.from_bytes(base45_decode(token)[2:6], "big")


def _open_scanner(page: Page, door: Door) -> None:
    log_in(page)
    page.goto(f"/staff/checkin/{door.session_id}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-scanner", "ready")
    expect(page.locator("#network")).to_have_text("Online")


def test_camera_scan_then_offline_scan_both_reach_the_server(
    phone: Page, door: Door, artifacts_dir: Path
) -> None:
    _open_scanner(phone, door)
    expect(phone.locator("#count-checked-in")).to_have_text("0")
    expect(phone.locator("#count-confirmed")).to_have_text("3")

    phone.get_by_role("button", name="Start camera").click()
    result = phone.locator("#result")
    expect(result).to_have_attribute("data-kind", "ok", timeout=20_000)
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {NAMES[0]}")
    expect(phone.locator("#count-checked-in")).to_have_text("1")
    settle(phone)
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(artifacts_dir / "scanner-green-360.png"))

    held = _server_ticket(door, _registration_id(door.tokens[0]))
    assert held["checked_in_at"], "the camera scan said welcome but the server has no check-in"
    assert held["checked_in_by"] == "E2E Admin"

    # Held in front of the camera, the ticket is one scan; shown again later, it is amber.
    phone.get_by_role("button", name="Stop camera").click()
    phone.get_by_role("button", name="Start camera").click()
    expect(result).to_have_attribute("data-kind", "warn", timeout=20_000)
    expect(phone.locator("#result-title")).to_contain_text("Already checked in at")
    expect(phone.locator("#result-title")).to_contain_text("by E2E Admin")
    phone.get_by_role("button", name="Stop camera").click()

    # The Wi-Fi fails: the next ticket is decided on the phone, queued, then sent.
    _go_offline_and_back(phone, door, artifacts_dir)
    first, second = (_registration_id(token) for token in door.tokens[:2])
    assert _server_ticket(door, first)["checked_in_at"], "the camera check-in was lost"
    assert _server_ticket(door, second)["checked_in_at"], "the offline check-in was lost"


def _go_offline_and_back(phone: Page, door: Door, artifacts_dir: Path) -> None:
    # The service worker has the page once it controls it (it then keeps it for offline).
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.reload()
    expect(phone.locator("body")).to_have_attribute("data-scanner", "ready")
    assert phone.evaluate("navigator.serviceWorker.controller !== null"), (
        "the service worker does not control the scanner page"
    )
    # Chromium's own verdict on the manifest, icons and service worker: installable (but
    # for Playwright's contexts being incognito, which no phone's browser is).
    verdict = phone.context.new_cdp_session(phone).send("Page.getInstallabilityErrors")
    errors = [e["errorId"] for e in verdict["installabilityErrors"]]
    assert [e for e in errors if e != "in-incognito"] == [], verdict

    phone.context.set_offline(True)
    phone.reload()  # no network: the service worker serves the page, IndexedDB the list
    expect(phone.locator("body")).to_have_attribute("data-scanner", "ready")
    expect(phone.locator("#network")).to_have_text("Offline")

    phone.locator("#manual-token").fill(door.tokens[1])
    phone.get_by_role("button", name="Check", exact=True).click()
    expect(phone.locator("#result")).to_have_attribute("data-kind", "ok")
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {NAMES[1]}")
    expect(phone.locator("#result-detail")).to_contain_text("sent when the network is back")
    expect(phone.locator("#queue")).to_have_attribute("data-count", "1")
    expect(phone.locator("#queue")).to_have_text("Waiting to send: 1")

    # A forged ticket (one character changed) is refused on the phone, and not queued.
    forged = door.tokens[2][:-3] + ("A" if door.tokens[2][-3] != "A" else "B") + door.tokens[2][-2:]
    phone.locator("#manual-token").fill(forged)
    phone.get_by_role("button", name="Check", exact=True).click()
    expect(phone.locator("#result")).to_have_attribute("data-kind", "bad")
    expect(phone.locator("#result-title")).to_have_text("Not a valid ticket")
    expect(phone.locator("#queue")).to_have_attribute("data-count", "1")
    phone.screenshot(path=str(artifacts_dir / "scanner-offline-360.png"))

    waiting = _registration_id(door.tokens[1])
    assert not _server_ticket(door, waiting)["checked_in_at"], "offline scan reached the server"

    phone.context.set_offline(False)
    expect(phone.locator("#network")).to_have_text("Online", timeout=15_000)
    expect(phone.locator("#queue")).to_have_attribute("data-count", "0", timeout=20_000)
    expect(phone.locator("#camera-message")).to_contain_text("Sent 1 scans")
    held = _server_ticket(door, waiting)
    assert held["checked_in_at"], "the queued scan was sent but the server holds no check-in"
    expect(phone.locator("#count-checked-in")).to_have_text("2")


def test_search_by_name_and_undo(phone: Page, door: Door) -> None:
    _open_scanner(phone, door)
    phone.locator("#search").fill("vanna later")
    row = phone.locator("#search-results li", has_text=NAMES[2])
    expect(row).to_contain_text("Confirmed")
    row.get_by_role("button", name="Check in").click()
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {NAMES[2]}")
    third = _registration_id(door.tokens[2])
    assert _server_ticket(door, third)["checked_in_at"]

    row = phone.locator("#search-results li", has_text=NAMES[2])
    expect(row).to_contain_text(re.compile(r"Checked in at \d\d:\d\d"))
    row.get_by_role("button", name="Undo").click()
    expect(phone.locator("#result-title")).to_have_text(f"Check-in of {NAMES[2]} taken back.")
    assert not _server_ticket(door, third)["checked_in_at"]

    # Offline, by name: queued on the phone like a scanned ticket, and sent when back online.
    phone.context.set_offline(True)
    expect(phone.locator("#network")).to_have_text("Offline")
    phone.locator("#search").fill("")
    phone.locator("#search").fill("vanna later")
    row = phone.locator("#search-results li", has_text=NAMES[2])
    row.get_by_role("button", name="Check in").click()
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {NAMES[2]}")
    expect(phone.locator("#queue")).to_have_attribute("data-count", "1")
    phone.context.set_offline(False)
    expect(phone.locator("#queue")).to_have_attribute("data-count", "0", timeout=20_000)
    assert _server_ticket(door, third)["checked_in_at"], "the offline check-in by name was lost"


def test_walk_in_is_registered_and_checked_in(phone: Page, door: Door) -> None:
    _open_scanner(phone, door)
    before = int(phone.locator("#count-checked-in").inner_text())
    phone.get_by_role("button", name="Register and check in").click()
    expect(phone.locator("#walk-in-error")).to_be_visible()
    expect(phone.locator("#walk-in-consent-error")).to_be_visible()

    phone.locator("#walk-in-name").fill(f"Walk In {RUN}")
    phone.locator("#walk-in-phone").fill("012 345 678")
    phone.locator("#walk-in-consent").check()
    phone.get_by_role("button", name="Register and check in").click()
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, Walk In {RUN}")
    expect(phone.locator("#count-checked-in")).to_have_text(str(before + 1))


def test_scanner_in_khmer_fits_a_phone_and_passes_axe(
    axe_phone: Page, door: Door, artifacts_dir: Path
) -> None:
    log_in(axe_phone, lang="km")
    axe_phone.goto(f"/staff/checkin/{door.session_id}?lang=km")
    expect(axe_phone.locator("body")).to_have_attribute("data-scanner", "ready")
    assert KHMER.search(axe_phone.locator("#result-title").inner_text())
    assert KHMER.search(axe_phone.locator("#network").inner_text())
    settle(axe_phone)
    assert_fits_the_screen(axe_phone)
    axe_phone.screenshot(path=str(artifacts_dir / "scanner-km-360.png"), full_page=True)
    assert_no_serious_violations(axe_phone, "the door scanner", "km")
