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

Then a facilitator's phone (issue 11: the door phone must not keep the names): after logging
out on the scanner page or on another staff page, after the server turns the login away
(401), and 12 hours after the session ends, an offline reload and a search show no name and
IndexedDB holds no list; unsent scans survive the logout and are sent after the next login;
a version-1 ticket (issued before ticket ids) still checks in offline.

This module launches its own Chromium (the fake camera is a launch flag), so it does not use
conftest's ``browser``.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.api import admin_token, call, published_session, register
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, missing, run_sala, sala_env
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
    registration_ids: list[int]
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
    ids: list[int] = []
    pngs: list[bytes] = []
    for n, name in enumerate(NAMES):
        receipt = register(sala_server, session["id"], name, f"door-{RUN}-{n}@example.org")
        manage_path = receipt["manage_url"].removeprefix(sala_server)
        png = call(sala_server, "GET", manage_path + "/ticket.png")
        pngs.append(png)
        tokens.append(_ticket(png))
        ids.append(receipt["id"])
    return Door(session["id"], tokens, ids, pngs[0], api_token, sala_server)


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

    held = _server_ticket(door, door.registration_ids[0])
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
    first, second = door.registration_ids[:2]
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

    waiting = door.registration_ids[1]
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
    third = door.registration_ids[2]
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


# ----------------------------------------------------------------------------- the phone forgets
#
# A facilitator's phone (not the admin's): the check-in list of their session holds names, and
# must be gone from the phone once they log out, once the server turns the login away, and
# by itself 12 hours after the session ends. The queue of unsent scans is never lost.

FACILITATOR_EMAIL = f"door-{RUN}@e2e.test"
FACILITATOR_PASSWORD = "door facilitator password"
GUESTS = (f"Chanthy Hidden {RUN}", f"Rotha Hidden {RUN}", f"Malis Hidden {RUN}")

# What the phone holds, read from a page of the site (IndexedDB and Cache Storage are per
# origin): the lists (names), the queue, and the paths of the pages the service worker keeps.
HELD_ON_THE_PHONE = """async () => {
  const db = await new Promise((resolve) => {
    const request = indexedDB.open("sala-checkin");
    request.onupgradeneeded = () => request.transaction.abort();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(null);
  });
  const read = (name) => new Promise((resolve) => {
    if (!db || !db.objectStoreNames.contains(name)) return resolve([]);
    const request = db.transaction(name).objectStore(name).getAll();
    request.onsuccess = () => resolve(request.result);
  });
  const lists = await read("lists");
  const queue = await read("queue");
  if (db) db.close();
  const pages = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) {
      const path = new URL(request.url).pathname;
      if (path.startsWith("/staff/")) pages.push(path);
    }
  }
  return {lists: JSON.stringify(lists), list_count: lists.length, queue: queue.length, pages,
          marker: document.cookie.includes("sala_scanner=")};
}"""


@dataclass(frozen=True)
class FacilitatorDoor:
    session_id: int
    tokens: list[str]
    registration_ids: list[int]
    api_token: str
    base_url: str


def _make_facilitator(browser: Any, base_url: str) -> None:
    """The admin makes the facilitator's account on the staff page, as an admin would."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url, locale="en-US")
    try:
        page = context.new_page()
        log_in(page)
        page.goto("/staff/users/new?lang=en")
        page.locator("#email").fill(FACILITATOR_EMAIL)
        page.locator("#name").fill(f"Door Facilitator {RUN}")
        page.locator("#role").select_option("facilitator")
        page.locator("#password").fill(FACILITATOR_PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"/staff/users$"))
    finally:
        context.close()


def _facilitated_session(
    door: Door, facilitator_id: int, title: str, *, hours_from_now: float
) -> dict[str, Any]:
    """A published session of the facilitator, starting ``hours_from_now``, three hours."""
    topic = call(door.base_url, "GET", "/api/v1/topics")[0]["code"]
    start = (datetime.now(UTC) + timedelta(hours=hours_from_now)).replace(microsecond=0)
    fields = {
        "topic": topic,
        "title_en": title,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "capacity": 10,
        "venue": "CLGBT office",
        "status": "published",
        "facilitator_ids": [facilitator_id],
    }
    return dict(call(door.base_url, "POST", "/api/v1/sessions", fields, door.api_token))


@pytest.fixture(scope="module")
def facilitator_door(
    door: Door, camera_browser: Any, sala_server: str, sala_data_dir: Path
) -> FacilitatorDoor:
    """A session tomorrow run by a facilitator, with three confirmed guests and their
    tickets (read from the ticket PNGs with zxing-cpp)."""
    _make_facilitator(camera_browser, sala_server)
    printed = run_sala(
        ["create-token", "--email", FACILITATOR_EMAIL, "--label", "e2e door"],
        sala_env(sala_data_dir, sala_server),
    )
    facilitator_token = printed.split()[-1]
    me = call(sala_server, "GET", "/api/v1/me", token=facilitator_token)
    session = _facilitated_session(door, me["id"], f"Forget test {RUN}", hours_from_now=24)
    tokens: list[str] = []
    ids: list[int] = []
    for n, name in enumerate(GUESTS):
        receipt = register(sala_server, session["id"], name, f"forget-{RUN}-{n}@example.org")
        manage_path = receipt["manage_url"].removeprefix(sala_server)
        tokens.append(_ticket(call(sala_server, "GET", manage_path + "/ticket.png")))
        ids.append(receipt["id"])
    return FacilitatorDoor(session["id"], tokens, ids, facilitator_token, sala_server)


def _log_in_as_facilitator(page: Page) -> None:
    page.goto("/staff/login?lang=en")
    page.locator("#email").fill(FACILITATOR_EMAIL)
    page.locator("#password").fill(FACILITATOR_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/staff/sessions$"))


def _open_kept_scanner(page: Page, session_id: int) -> None:
    """Log in, open the scanner, let it download the list, and reload once so the service
    worker controls the page and keeps a copy (as a phone does after the first visit)."""
    _log_in_as_facilitator(page)
    page.goto(f"/staff/checkin/{session_id}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-scanner", "ready")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-scanner", "ready")
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    expect(page.locator("#network")).to_have_text("Online")


def _held(page: Page) -> dict[str, Any]:
    return dict(page.evaluate(HELD_ON_THE_PHONE))


def _search_shows(page: Page, name: str) -> None:
    page.locator("#search").fill("")
    page.locator("#search").fill(name.split()[0].lower())
    expect(page.locator("#search-results li", has_text=name)).to_have_count(1)


def _content(page: Page) -> str:
    """The page's HTML once it stopped navigating (an offline error page loads late)."""
    for _ in range(20):
        try:
            page.wait_for_load_state("load")
            return page.content()
        except PlaywrightError:
            page.wait_for_timeout(100)
    return page.content()


def _assert_names_nowhere(page: Page, where: str) -> None:
    content = _content(page)
    for name in GUESTS:
        assert name not in content, f"{name} is on the page {where}"
        assert name.split()[0] not in content, f"{name.split()[0]} is on the page {where}"


def _offline_search_finds_nobody(page: Page, session_id: int) -> bool:
    """Offline, open the scanner's address and search for every guest. Returns whether the
    page opened at all (a phone that forgot the page shows the browser's offline error)."""
    page.context.set_offline(True)
    try:
        page.goto(f"/staff/checkin/{session_id}?lang=en")
    except PlaywrightError:  # net::ERR_INTERNET_DISCONNECTED: the copy of the page is gone
        _assert_names_nowhere(page, "offline")
        return False
    expect(page.locator("body")).to_have_attribute("data-scanner", "ready")
    for name in GUESTS:
        page.locator("#search").fill(name.split()[0].lower())
        expect(page.locator("#search-results li", has_text=name)).to_have_count(0)
        _assert_names_nowhere(page, f"offline, after searching {name.split()[0]}")
    return True


def test_after_logout_the_phone_shows_no_name_offline(
    phone: Page, facilitator_door: FacilitatorDoor, artifacts_dir: Path
) -> None:
    _open_kept_scanner(phone, facilitator_door.session_id)
    _search_shows(phone, GUESTS[0])
    held = _held(phone)
    assert held["list_count"] == 1 and GUESTS[0] in held["lists"]
    assert f"/staff/checkin/{facilitator_door.session_id}" in held["pages"]

    phone.get_by_role("button", name="Log out").click()
    phone.wait_for_url(re.compile(r"/staff/login"))
    held = _held(phone)
    assert held["list_count"] == 0, "the list (names) is still on the phone after logout"
    assert held["pages"] == [], f"staff pages still kept after logout: {held['pages']}"
    assert not held["marker"]

    opened = _offline_search_finds_nobody(phone, facilitator_door.session_id)
    phone.screenshot(path=str(artifacts_dir / "scanner-after-logout-offline-360.png"))
    assert not opened, "the scanner page still opens offline after logout"
    phone.context.set_offline(False)
    phone.goto("/staff/login?lang=en")
    assert _held(phone)["list_count"] == 0, "IndexedDB holds a list after logout"


def test_logging_out_on_another_staff_page_hides_the_names_too(
    phone: Page, facilitator_door: FacilitatorDoor
) -> None:
    """The logout form is on every staff page; the scanner's script runs only on its own.
    Logged out elsewhere, the list and the kept scanner pages are deleted on the login page
    the logout leads to."""
    _open_kept_scanner(phone, facilitator_door.session_id)
    _search_shows(phone, GUESTS[1])
    phone.goto("/staff/sessions?lang=en")
    phone.get_by_role("button", name="Log out").click()
    phone.wait_for_url(re.compile(r"/staff/login"))
    assert not _held(phone)["marker"], "the logout answer did not delete the scanner's marker"
    # The login page asked the scanner's service worker: the names are off the phone already,
    # not only when the scanner is opened again (a stolen phone need not open it).
    for _ in range(50):
        held = _held(phone)
        if held["list_count"] == 0 and held["pages"] == []:
            break
        phone.wait_for_timeout(100)
    assert held["list_count"] == 0, "IndexedDB still holds a list on the login page"
    assert held["pages"] == [], "the phone still keeps copies of staff pages"
    # Offline, the scanner's address opens nothing: its copy went with the names.
    assert not _offline_search_finds_nobody(phone, facilitator_door.session_id)
    phone.context.set_offline(False)


def test_a_refused_login_deletes_the_names_at_once(
    phone: Page, facilitator_door: FacilitatorDoor
) -> None:
    """The login expires (its cookie goes) while the scanner is open: the next answer of the
    server is a 401, and the phone deletes the list and the kept pages there and then."""
    _open_kept_scanner(phone, facilitator_door.session_id)
    _search_shows(phone, GUESTS[2])
    phone.context.clear_cookies(name="sala_session")
    phone.locator("#manual-token").fill(facilitator_door.tokens[2])
    phone.get_by_role("button", name="Check", exact=True).click()
    expect(phone.locator("#result-title")).to_contain_text("Log in again")
    expect(phone.locator("#search-results li", has_text=GUESTS[2])).to_have_count(0)
    held = _held(phone)
    assert held["list_count"] == 0 and held["pages"] == [] and not held["marker"]
    assert not _offline_search_finds_nobody(phone, facilitator_door.session_id)
    phone.context.set_offline(False)


def test_unsent_scans_survive_logout_and_are_sent_after_the_next_login(
    phone: Page, facilitator_door: FacilitatorDoor
) -> None:
    _open_kept_scanner(phone, facilitator_door.session_id)
    # The venue's network lets pages through but not the check-ins: the scan waits.
    phone.route("**/api/v1/checkins", lambda route: route.abort("internetdisconnected"))
    phone.locator("#manual-token").fill(facilitator_door.tokens[0])
    phone.get_by_role("button", name="Check", exact=True).click()
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {GUESTS[0]}")
    expect(phone.locator("#queue")).to_have_attribute("data-count", "1")

    phone.get_by_role("button", name="Log out").click()
    phone.wait_for_url(re.compile(r"/staff/login"))
    held = _held(phone)
    assert held["queue"] == 1, "the unsent scan was lost at logout"
    assert held["list_count"] == 0
    first = facilitator_door.registration_ids[0]
    assert not _facilitator_ticket(facilitator_door, first)["checked_in_at"]

    phone.unroute("**/api/v1/checkins")
    _log_in_as_facilitator(phone)
    phone.goto(f"/staff/checkin/{facilitator_door.session_id}?lang=en")
    expect(phone.locator("body")).to_have_attribute("data-scanner", "ready")
    expect(phone.locator("#camera-message")).to_contain_text("Sent 1 scans", timeout=20_000)
    expect(phone.locator("#queue")).to_have_attribute("data-count", "0")
    assert _held(phone)["queue"] == 0
    assert _facilitator_ticket(facilitator_door, first)["checked_in_at"], "the scan was lost"


def test_a_version_1_ticket_still_checks_in_offline(
    phone: Page, facilitator_door: FacilitatorDoor, sala_data_dir: Path
) -> None:
    """A ticket issued before ticket ids (ids in clear), read on the phone offline."""
    from checkin.tickets import issue_v1_token, load_keys

    second = facilitator_door.registration_ids[1]
    token = issue_v1_token(
        load_keys(sala_data_dir),
        registration_id=second,
        session_id=facilitator_door.session_id,
        seed=_facilitator_ticket(facilitator_door, second)["seed"],
    )
    _open_kept_scanner(phone, facilitator_door.session_id)
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.locator("body")).to_have_attribute("data-scanner", "ready")
    phone.locator("#manual-token").fill(token)
    phone.get_by_role("button", name="Check", exact=True).click()
    expect(phone.locator("#result-title")).to_have_text(f"Welcome, {GUESTS[1]}")
    phone.context.set_offline(False)
    expect(phone.locator("#queue")).to_have_attribute("data-count", "0", timeout=20_000)
    assert _facilitator_ticket(facilitator_door, second)["checked_in_at"]


def test_a_list_is_not_used_once_its_session_ended_12_hours_ago(
    phone: Page, door: Door, facilitator_door: FacilitatorDoor
) -> None:
    me = call(door.base_url, "GET", "/api/v1/me", token=facilitator_door.api_token)
    # Ended an hour ago: the phone keeps the list, until 12 hours after the end.
    recent = _facilitated_session(door, me["id"], f"Ended {RUN}", hours_from_now=24)
    guest = f"Sophea Expired {RUN}"
    register(door.base_url, recent["id"], guest, f"ended-{RUN}@example.org")
    past = datetime.now(UTC) - timedelta(hours=4)
    moved = {"starts_at": past.isoformat(), "ends_at": (past + timedelta(hours=3)).isoformat()}
    call(door.base_url, "PATCH", f"/api/v1/sessions/{recent['id']}", moved, door.api_token)

    _open_kept_scanner(phone, recent["id"])
    _search_shows(phone, guest)
    assert _held(phone)["list_count"] == 1
    # Offline, half a day later (the phone's clock): the list has expired.
    phone.context.set_offline(True)
    phone.clock.set_system_time(datetime.now(UTC) + timedelta(hours=12, minutes=5))
    phone.reload()
    expect(phone.locator("body")).to_have_attribute("data-scanner", "ready")
    phone.locator("#search").fill("sophea")
    expect(phone.locator("#search-results li", has_text=guest)).to_have_count(0)
    assert guest not in _content(phone)
    assert _held(phone)["list_count"] == 0, "an expired list is still on the phone"
    phone.context.set_offline(False)


def test_a_list_of_a_session_ended_long_ago_is_never_kept(
    phone: Page, door: Door, facilitator_door: FacilitatorDoor
) -> None:
    me = call(door.base_url, "GET", "/api/v1/me", token=facilitator_door.api_token)
    old = _facilitated_session(door, me["id"], f"Long ago {RUN}", hours_from_now=24)
    guest = f"Kosal Longago {RUN}"
    register(door.base_url, old["id"], guest, f"longago-{RUN}@example.org")
    past = datetime.now(UTC) - timedelta(hours=16)
    moved = {"starts_at": past.isoformat(), "ends_at": (past + timedelta(hours=3)).isoformat()}
    call(door.base_url, "PATCH", f"/api/v1/sessions/{old['id']}", moved, door.api_token)

    _open_kept_scanner(phone, old["id"])
    assert _held(phone)["list_count"] == 0, "the list of a session ended 13 hours ago was kept"
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.locator("body")).to_have_attribute("data-scanner", "ready")
    phone.locator("#search").fill("kosal")
    expect(phone.locator("#search-results li", has_text=guest)).to_have_count(0)
    assert guest not in _content(phone)
    phone.context.set_offline(False)


def _facilitator_ticket(door: FacilitatorDoor, registration_id: int) -> dict[str, Any]:
    listing = call(
        door.base_url,
        "GET",
        f"/api/v1/sessions/{door.session_id}/checkin-list",
        token=door.api_token,
    )
    return next(t for t in listing["tickets"] if t["registration_id"] == registration_id)
