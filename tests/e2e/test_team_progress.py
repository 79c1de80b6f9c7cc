"""The team progress matrix in a real browser, as a team leader (issue 6).

Set up through the running server: the admin makes two team-leader accounts on the staff
accounts page, and through the API a team led by the first, with three members who registered
for real sessions:

- Sophea attended (was checked in at) a team-building session: Team building is done, SOGIE
  and Human rights are open (not started), the two modules after them are blocked; her next
  module, SOGIE, has an upcoming session, so she can be invited to it;
- Dara holds a seat at the upcoming team-building session: booked, everything after it blocked;
- Vanna holds a seat at the SOGIE session but has not done Team building: not started, booked,
  the rest blocked.

Adding a member only asks them (issue 11): until each one says yes through the link Sala
emails them, the team sees nothing of them. Each link is read from the email a real SMTP
server received (the admin's outbox page names the email but hides the key in its link), and
opened in a browser of its own, where the member presses "Yes".

The leader opens the matrix on a 360 px phone (Khmer and English) and on a 1280 px laptop,
invites Sophea with one click, and the other team's leader is refused with a 403.
"""

from __future__ import annotations

import io
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.api import admin_token, call, register
from tests.e2e.conftest import VIEWPORT
from tests.e2e.pages import (
    KHMER,
    assert_fits_the_screen,
    assert_no_serious_violations,
    html_lang,
    log_in,
    path_of,
    settle,
)
from tests.mail_server import Inbox

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)
PHONE: ViewportSize = {"width": VIEWPORT["width"], "height": VIEWPORT["height"]}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
LEADER_PASSWORD = "team leader e2e password"
# The team-building curriculum's modules, in order, by their topic (the seeded curriculum).
TOPICS = ("team_building", "sogie", "human_rights", "problem_analysis", "problem_solving")


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    statuses: tuple[str, ...]  # the expected cells, module by module (TOPICS' order)


SOPHEA = Member(
    f"សុភា Sophea {RUN}",
    f"sophea-{RUN}@example.org",
    ("done", "not_started", "not_started", "blocked", "blocked"),
)
DARA = Member(
    f"Dara Booked {RUN}",
    f"dara-{RUN}@example.org",
    ("booked", "blocked", "blocked", "blocked", "blocked"),
)
VANNA = Member(
    f"Vanna New {RUN}",
    f"vanna-{RUN}@example.org",
    ("not_started", "booked", "blocked", "blocked", "blocked"),
)
MEMBERS = (SOPHEA, DARA, VANNA)


@dataclass(frozen=True)
class Team:
    id: int
    leader_email: str
    other_leader_email: str
    other_team_id: int
    sogie_session_id: int
    admin_token: str


def _session(base_url: str, token: str, topic: str, title: str, hours: int) -> int:
    """A published public session of ``topic`` starting in ``hours`` hours: sooner than the
    demo's and the other browser tests' sessions, so it is each member's next one."""
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)
    fields = {
        "topic": topic,
        "title_en": title,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "capacity": 10,
        "venue": "CLGBT office",
        "status": "published",
    }
    return int(call(base_url, "POST", "/api/v1/sessions", fields, token)["id"])


def _check_in(base_url: str, token: str, session_id: int, receipt: dict[str, Any]) -> None:
    """Check the registration in as the door scanner would: the QR of its ticket PNG."""
    png = call(base_url, "GET", receipt["manage_url"].removeprefix(base_url) + "/ticket.png")
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(codes) == 1, f"zxing-cpp found {len(codes)} codes in a ticket PNG"
    scan = {"token": codes[0].text, "session_id": session_id, "scan_id": uuid.uuid4().hex}
    assert call(base_url, "POST", "/api/v1/checkins", scan, token)["result"] == "checked_in"


def _new_team_leader(page: Page, email: str, name: str) -> None:
    """As the admin, on the staff accounts page: a team-leader account with a known password
    (there is no JSON route for staff accounts)."""
    page.goto("/staff/users/new?lang=en")
    page.locator("#email").fill(email)
    page.locator("#name").fill(name)
    page.locator("#role").select_option("team_leader")
    page.locator("#password").fill(LEADER_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert path_of(page.url) == "/staff/users", f"creating {email} ended on {page.url}"
    expect(page.locator("main")).to_contain_text(email)


@pytest.fixture(scope="module")
def team(browser: Browser, sala_server: str, sala_data_dir: Path, inbox: Inbox) -> Team:
    base = sala_server
    token = admin_token(sala_data_dir, base, "e2e team progress")
    leader = f"leader-{RUN}@example.org"
    other = f"other-leader-{RUN}@example.org"
    ctx = browser.new_context(viewport=PHONE, base_url=base, locale="en-US")
    try:
        page = ctx.new_page()
        log_in(page)
        _new_team_leader(page, leader, f"Leakhena Leader {RUN}")
        _new_team_leader(page, other, f"Other Leader {RUN}")
    finally:
        ctx.close()

    team_day = _session(base, token, "team_building", f"Team day {RUN}", hours=2)
    sogie_day = _session(base, token, "sogie", f"SOGIE day {RUN}", hours=3)
    _check_in(base, token, team_day, register(base, team_day, SOPHEA.name, SOPHEA.email))
    register(base, team_day, DARA.name, DARA.email)
    register(base, sogie_day, VANNA.name, VANNA.email)

    made = call(
        base,
        "POST",
        "/api/v1/teams",
        {"name": f"Youth team {RUN}", "leader_emails": [leader]},
        token,
    )
    assert made["curriculum"] == "team_building" and made["leader_emails"] == [leader], made
    for member in MEMBERS:
        asked = call(
            base, "POST", f"/api/v1/teams/{made['id']}/members", {"email": member.email}, token
        )
        assert asked["status"] == "pending" and asked["chosen_name"] is None, asked
    # Nobody has said yes yet: the team sees no one.
    progress = call(base, "GET", f"/api/v1/teams/{made['id']}/progress", token=token)
    assert progress["members"] == [], progress
    _members_say_yes(browser, base, MEMBERS, inbox)
    theirs = call(
        base,
        "POST",
        "/api/v1/teams",
        {"name": f"Other team {RUN}", "leader_emails": [other]},
        token,
    )
    return Team(made["id"], leader, other, theirs["id"], sogie_day, token)


def _links_received(inbox: Inbox, address: str, pattern: str, *, seconds: float = 20) -> list[str]:
    """The links matching ``pattern`` in the emails ``address`` received, once one has come
    (the server's worker sends every 2 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        links = []
        for message in [m for m in inbox.messages if m["To"] == address]:
            body = message.get_body(preferencelist=("plain",))
            links += re.findall(pattern, str(body.get_content()) if body else "")
        if links:
            return links
        time.sleep(0.2)
    raise AssertionError(f"no email with {pattern} reached {address}")


def _members_say_yes(
    browser: Browser, base_url: str, members: tuple[Member, ...], inbox: Inbox
) -> None:
    """Each member opens the link of the email Sala sent them and says yes. The admin's
    outbox names each email in words and hides the key of its link."""
    ctx = browser.new_context(viewport=PHONE, base_url=base_url, locale="en-US")
    try:
        admin = ctx.new_page()
        log_in(admin)
        for member in members:
            links = _links_received(inbox, member.email, r"https?://\S+/teams/join/\S+")
            assert len(links) == 1, f"the email to {member.email} has no single join link"
            admin.goto("/staff/outbox?lang=en")
            row = admin.locator("main tbody tr", has_text=member.email).filter(
                has_text="Team membership request"
            )
            expect(row).to_have_count(1)
            with admin.expect_navigation():
                row.locator("a").click()
            shown = admin.locator("pre.email-text").inner_text()
            assert "/teams/join/•••" in shown and links[0] not in shown
            _say_yes(browser, links[0])
    finally:
        ctx.close()


def _say_yes(browser: Browser, link: str) -> None:
    """On the member's own phone: the link asks, in the member's language (opening it
    changes nothing); yes joins; used once, the link is gone."""
    ctx = browser.new_context(viewport=PHONE, locale="en-US")
    try:
        page = ctx.new_page()
        page.goto(link)
        asked_in = re.search(r"[?&]lang=(km|en)", link)
        assert asked_in is not None and html_lang(page) == asked_in.group(1), link
        yes = page.locator("#team-join form button[name=answer][value=yes]")
        expect(yes).to_have_count(1)
        with page.expect_navigation():
            yes.click()
        expect(page.locator("#team-join form")).to_have_count(0)
        expect(page.locator("#team-join h1")).not_to_be_empty()
        response = page.goto(link)
        assert response is not None and response.status == 404, "the link worked twice"
    finally:
        ctx.close()


@contextmanager
def leader_page(
    browser: Browser, base_url: str, axe_source: str, viewport: ViewportSize, email: str
) -> Iterator[Page]:
    """A fresh browser profile at ``viewport``, with axe-core loaded in every page (as
    conftest's ``axe_page``), logged in as the team leader ``email``."""
    ctx = browser.new_context(viewport=viewport, base_url=base_url, locale="en-US")
    ctx.set_default_timeout(15_000)
    ctx.add_init_script(script=axe_source)
    try:
        page = ctx.new_page()
        page.goto("/staff/login?lang=en")
        page.locator("#email").fill(email)
        page.locator("#password").fill(LEADER_PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").last.click()
        assert path_of(page.url) != "/staff/login", f"{email} could not log in"
        yield page
    finally:
        ctx.close()


def _open_matrix(page: Page, team: Team, lang: str) -> None:
    response = page.goto(f"/staff/teams/{team.id}?lang={lang}")
    assert response is not None and response.status == 200, f"the matrix answered {response}"
    assert html_lang(page) == lang
    settle(page)


def _assert_matrix(page: Page, lang: str) -> None:
    """Each member's row holds their name and the expected status in every module column."""
    headers = page.locator(".matrix thead th")
    # Member, the five modules, Done (%).
    expect(headers).to_have_count(len(TOPICS) + 2)
    if lang == "km":
        assert KHMER.search(headers.nth(1).inner_text()), "the module names are not in Khmer"
    else:
        expect(headers.nth(1)).to_contain_text("Team building training")
        expect(headers.nth(2)).to_contain_text("SOGIE training")
    rows = page.locator(".matrix tbody tr")
    expect(rows).to_have_count(len(MEMBERS))
    for member in MEMBERS:
        row = rows.filter(has=page.locator("th", has_text=member.name))
        expect(row).to_have_count(1)
        expect(row.locator("th")).to_be_visible()
        cells = row.locator("td[data-status]")
        statuses = tuple(cells.nth(i).get_attribute("data-status") for i in range(cells.count()))
        assert statuses == member.statuses, f"{member.name}'s cells ({lang})"
        # 1 of 5 modules done for Sophea, none for the others.
        percent = "20%" if member is SOPHEA else "0%"
        expect(row.locator("td").last).to_have_text(percent)


def _sticking_out(page: Page) -> list[str]:
    """What makes the page wider than the screen: elements past its right edge that the
    matrix's scrolling box does not clip, because they are outside it or positioned against
    something outside it (an absolutely positioned element is clipped by a scrolling box only
    when the box or something in it is its containing block)."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => {
                const box = e.closest('.matrix-scroll');
                if (!box) return true;
                const position = getComputedStyle(e).position;
                if (position === 'fixed') return true;
                return position === 'absolute' && !(e.offsetParent && box.contains(e.offsetParent));
            })
            .map(e => `<${e.tagName.toLowerCase()} class="${e.className}"> in `
                + `<${e.parentElement.tagName.toLowerCase()}>, position `
                + `${getComputedStyle(e).position}, right edge at `
                + `${Math.round(e.getBoundingClientRect().right)} px`)"""
    )
    return found


def _assert_does_not_scroll_sideways(page: Page) -> None:
    culprits = _sticking_out(page)
    assert not culprits, (
        f"{page.url} scrolls sideways on a {VIEWPORT['width']} px screen, because of:\n"
        + "\n".join(sorted(set(culprits)))
    )
    assert_fits_the_screen(page)


def test_leader_reads_the_matrix_on_a_phone(
    browser: Browser, sala_server: str, axe_source: str, team: Team, artifacts_dir: Path
) -> None:
    with leader_page(browser, sala_server, axe_source, PHONE, team.leader_email) as page:
        for lang in ("km", "en"):
            _open_matrix(page, team, lang)
            _assert_matrix(page, lang)
            # Five modules do not fit a phone: the table scrolls inside its own box, with the
            # members' names kept in view, and the last column can be reached.
            box = page.locator(".matrix-scroll")
            assert box.evaluate("e => e.scrollWidth > e.clientWidth"), "the box does not scroll"
            assert box.evaluate("e => getComputedStyle(e).overflowX") == "auto"
            box.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
            expect(page.locator(".matrix thead th").last).to_be_in_viewport()
            expect(page.locator(".matrix tbody th", has_text=SOPHEA.name)).to_be_in_viewport()
            box.evaluate("e => { e.scrollLeft = 0; }")
            name = "team-matrix-360.png" if lang == "km" else "team-matrix-en-360.png"
            page.screenshot(path=str(artifacts_dir / name), full_page=True)
            assert_no_serious_violations(page, "the team progress matrix", lang)
        # Last, so that a page too wide does not hide what else is wrong: the page itself
        # never scrolls sideways.
        for lang in ("km", "en"):
            _open_matrix(page, team, lang)
            _assert_does_not_scroll_sideways(page)


def test_leader_reads_the_matrix_on_a_laptop(
    browser: Browser, sala_server: str, axe_source: str, team: Team, artifacts_dir: Path
) -> None:
    with leader_page(browser, sala_server, axe_source, DESKTOP, team.leader_email) as page:
        for lang in ("en", "km"):
            _open_matrix(page, team, lang)
            _assert_matrix(page, lang)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= DESKTOP["width"], f"the page is {width} px wide at 1280 px ({lang})"
            # Every module column in view without scrolling the box.
            box = page.locator(".matrix-scroll")
            scroll, client = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
            assert scroll <= client, f"the matrix scrolls at 1280 px ({lang}): {scroll} > {client}"
            headers = page.locator(".matrix thead th")
            for i in range(headers.count()):
                expect(headers.nth(i)).to_be_in_viewport()
            name = "team-matrix-1280.png" if lang == "en" else "team-matrix-km-1280.png"
            page.screenshot(path=str(artifacts_dir / name), full_page=True)
            assert_no_serious_violations(
                page, f"the team progress matrix at 1280 px ({lang})", lang
            )


def test_leader_invites_a_member_to_their_next_session(
    browser: Browser, sala_server: str, axe_source: str, team: Team, artifacts_dir: Path
) -> None:
    with leader_page(browser, sala_server, axe_source, PHONE, team.leader_email) as page:
        _open_matrix(page, team, "en")
        step = page.locator(".members li.member").filter(
            has=page.locator("strong", has_text=SOPHEA.name)
        )
        expect(step).to_contain_text("Next: SOGIE training")
        expect(step).to_contain_text(f"SOGIE day {RUN}")
        form = step.locator("form", has=page.locator("button[value=invite]"))
        assert form.locator("input[name=session_id]").input_value() == str(team.sogie_session_id)
        # Dara's next module is blocked behind the booked one: nothing to invite her to.
        dara = page.locator(".members li.member").filter(
            has=page.locator("strong", has_text=DARA.name)
        )
        expect(dara.get_by_role("button", name="Invite")).to_have_count(0)

        with page.expect_navigation():
            step.get_by_role("button", name="Invite").click()
        assert path_of(page.url) == f"/staff/teams/{team.id}"
        expect(page.locator(".alert.success")).to_have_text("Invitation sent by email.")
        settle(page)
        page.screenshot(path=str(artifacts_dir / "team-invited-360.png"), full_page=True)

        # The invitation is Sophea's own, to the SOGIE session...
        path = f"/api/v1/sessions/{team.sogie_session_id}/invitations"
        invitations = call(sala_server, "GET", path, token=team.admin_token)
        assert [(i["email"], i["kind"]) for i in invitations] == [(SOPHEA.email, "personal")]
        # ...and its email is in the admin's outbox, named in words.
        admin_ctx = browser.new_context(viewport=PHONE, base_url=sala_server, locale="en-US")
        try:
            admin = admin_ctx.new_page()
            log_in(admin)
            admin.goto("/staff/outbox?lang=en")
            rows = admin.locator("main tbody tr", has_text=SOPHEA.email)
            expect(rows.filter(has_text="Invitation")).to_have_count(1)
        finally:
            admin_ctx.close()

        # Last: the page with its message still fits the phone.
        _assert_does_not_scroll_sideways(page)


def test_another_teams_leader_is_refused(
    browser: Browser, sala_server: str, axe_source: str, team: Team
) -> None:
    with leader_page(browser, sala_server, axe_source, PHONE, team.other_leader_email) as page:
        response = page.goto(f"/staff/teams/{team.id}?lang=en")
        assert response is not None and response.status == 403
        content = page.content()
        assert all(member.name not in content for member in MEMBERS)
        assert f"Youth team {RUN}" not in content
        csv = page.request.get(f"/staff/teams/{team.id}/progress.csv")
        assert csv.status == 403
        # Their own team list holds their team only.
        page.goto("/staff/teams?lang=en")
        main = page.locator("main")
        expect(main).to_contain_text(f"Other team {RUN}")
        expect(main).not_to_contain_text(f"Youth team {RUN}")
        response = page.goto(f"/staff/teams/{team.other_team_id}?lang=en")
        assert response is not None and response.status == 200
        expect(page.locator("h1")).to_have_text(f"Other team {RUN}")
