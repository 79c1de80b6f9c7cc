"""The door scanner's page, service worker and manifest, and how its script calls the API
with the login cookie (``X-CSRF-Token``) instead of a bearer token.

What the scanner does in the browser (camera, offline queue) is in tests/e2e.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkin.tickets import ticket_for
from sala.app import STAFF_LOGIN_HOURS
from sala.config import STATIC_DIR, Settings
from sala.models import Role
from sala.static_files import static_path
from tests.factories import csrf_from, log_in, make_session, make_staff, register_person

REPO_ROOT = Path(__file__).resolve().parents[2]


def _config(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="checkin-config">(.*?)</script>', html)
    assert match, "the scanner page carries no configuration for its script"
    return dict(json.loads(match.group(1)))


async def test_facilitator_opens_the_scanner_of_their_session(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Kanha")
    session = await make_session(facilitators=(facilitator,))
    await register_person(session, settings, chosen_name="Ana", email="ana@example.org")
    await log_in(client, facilitator)

    page = await client.get(f"/staff/checkin/{session.id}?lang=km")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert 'rel="manifest"' in page.text
    config = _config(page.text)
    assert config["session_id"] == session.id
    assert config["staff_name"] == "Kanha"
    assert config["strings"]["welcome"] == "សូមស្វាគមន៍ {name}"
    # The page itself names nobody and holds no contact data: names come with the list.
    assert "Ana" not in page.text and "ana@example.org" not in page.text

    listing = await client.get("/staff/checkin/")
    assert listing.status_code == 200
    assert f"/staff/checkin/{session.id}" in listing.text


async def test_only_the_sessions_staff_open_its_scanner(
    client: httpx.AsyncClient, new_client: Any
) -> None:
    assigned = await make_staff(Role.FACILITATOR)
    other = await make_staff(Role.FACILITATOR)
    leader = await make_staff(Role.TEAM_LEADER)
    session = await make_session(facilitators=(assigned,))
    await log_in(client, other)
    assert (await client.get(f"/staff/checkin/{session.id}")).status_code == 403
    async with new_client() as team_leader:
        await log_in(team_leader, leader)
        assert (await team_leader.get(f"/staff/checkin/{session.id}")).status_code == 403
    async with new_client() as anonymous:
        answer = await anonymous.get(f"/staff/checkin/{session.id}")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/staff/login")


async def test_the_scanners_script_calls_the_api_with_the_login_and_its_csrf_header(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    outcome = await register_person(session, settings, chosen_name="Bopha")
    token = await ticket_for(outcome.registration, settings.data_dir)
    await log_in(client, facilitator)
    config = _config((await client.get(f"/staff/checkin/{session.id}")).text)
    header = {"x-csrf-token": config["csrf_token"]}
    scan = {"token": token, "session_id": session.id, "scan_id": "scanner-page-0001"}

    # The cookie alone is not enough: another site could make the browser send it.
    assert (await client.post(config["urls"]["checkins"], json=scan)).status_code == 401
    wrong = {"x-csrf-token": "not-the-token"}
    assert (
        await client.post(config["urls"]["checkins"], json=scan, headers=wrong)
    ).status_code == 401

    listing = await client.get(config["urls"]["checkin_list"], headers=header)
    assert listing.status_code == 200
    assert [t["chosen_name"] for t in listing.json()["tickets"]] == ["Bopha"]

    answer = await client.post(config["urls"]["checkins"], json=scan, headers=header)
    assert answer.status_code == 200
    assert answer.json()["result"] == "checked_in"
    listing = await client.get(config["urls"]["checkin_list"], headers=header)
    ticket = listing.json()["tickets"][0]
    assert ticket["checked_in_by"] == facilitator.name


async def test_service_worker_keeps_the_scanner_and_nothing_else(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/staff/checkin/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    assets = json.loads(re.search(r"const ASSETS = (\[.*?\]);", answer.text).group(1))  # type: ignore[union-attr]
    assert static_path("js/checkin/scanner.js") in assets
    assert static_path("vendor/jsqr/jsQR.js") in assets
    assert static_path("fonts/noto-sans-khmer.woff2") in assets  # the font the CSS asks for
    for path in assets:
        assert (await client.get(path)).status_code == 200, f"{path} is listed but not served"
    assert re.search(r'const CACHE = "sala-checkin-[0-9a-f]{12}";', answer.text)

    manifest = await client.get("/staff/checkin/manifest.webmanifest?lang=km")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["scope"] == body["start_url"] == "/staff/checkin/"
    assert body["display"] == "standalone"
    assert body["lang"] == "km"
    sizes = {icon["sizes"] for icon in body["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes  # what install prompts need
    for icon in body["icons"]:
        assert (await client.get(icon["src"])).status_code == 200, icon["src"]


def test_the_qr_decoder_is_the_pinned_npm_release_with_its_licence() -> None:
    package = json.loads((REPO_ROOT / "package.json").read_text())
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    version = package["dependencies"]["jsqr"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "jsqr must be pinned to one version"
    assert lock["packages"]["node_modules/jsqr"]["version"] == version
    vendored = STATIC_DIR / "vendor" / "jsqr"
    assert "Apache License" in (vendored / "LICENSE").read_text()
    installed = REPO_ROOT / "node_modules" / "jsqr" / "dist" / "jsQR.js"
    if not installed.exists():
        pytest.skip("node_modules/jsqr is not installed (npm ci)")
    assert (vendored / "jsQR.js").read_bytes() == installed.read_bytes(), (
        "static/vendor/jsqr/jsQR.js differs from the pinned npm release: copy it again"
    )


async def test_logging_out_deletes_the_scanners_login_marker(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Without the marker a door phone shows no stored name (static/js/checkin/store.js).
    The logout form is on every staff page: whichever page it is sent from, its answer
    deletes the marker, while the scanner page sends it through its own script first."""
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    await log_in(client, facilitator)
    page = await client.get(f"/staff/checkin/{session.id}")
    logout = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert logout, "the scanner page has no logout form"
    assert f'data-logout-url="{logout.group(1)}"' in page.text, (
        "the scanner's script would not recognise the logout form"
    )

    answer = await client.post(logout.group(1), data={"csrf_token": csrf_from(page.text)})
    assert answer.status_code == 303
    deleting = [c for c in answer.headers.get_list("set-cookie") if c.startswith("sala_scanner=")]
    assert deleting, "the logout answer leaves the scanner's marker on the phone"
    assert "Max-Age=0" in deleting[0] and "Path=/staff/checkin/" in deleting[0]


def test_the_scanner_trusts_a_login_no_longer_than_the_login_lasts() -> None:
    """The phone's marker lasts 12 hours after the server's last answer, as the login cookie
    does (it is renewed with every answer, like the marker)."""
    store = (STATIC_DIR / "js" / "checkin" / "store.js").read_text()
    match = re.search(r"export const LOGIN_SECONDS = (\d+) \* 3600;", store)
    assert match, "store.js no longer says how long it trusts a login"
    assert int(match.group(1)) == STAFF_LOGIN_HOURS
