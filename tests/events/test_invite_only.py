"""Invite-only trainings (issue 11): not found by walking ids, reached only by a random slug,
never indexed; every link to them uses the slug."""

from __future__ import annotations

import importlib
import re
from types import SimpleNamespace
from typing import Any

import httpx
from starlette.applications import Starlette
from tortoise import connections

from attendees.invitations import invite_organisation, invite_person
from attendees.models import Registration
from events.models import Audience, Session, SessionStatus
from sala import mail
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.models import OutboxMessage, Role
from tests.factories import csrf_from, log_in, make_session, make_staff, token_for

SECRET_TITLE = "Safety planning for trans students"
BASE = "http://testserver"


async def _invite_only(**overrides: str) -> Session:
    fields: dict[str, Any] = {
        "title_en": SECRET_TITLE,
        "audience": Audience.INVITE_ONLY.value,
        **overrides,
    }
    return await make_session(**fields)


async def test_walking_ids_finds_no_invite_only_training(client: httpx.AsyncClient) -> None:
    """The attack: try every id on the page, its calendar file, the form's POST and the API."""
    await make_session(title_en="Open to all")
    hidden = await _invite_only()
    missing = hidden.id + 1000
    ways = [
        ("GET", "/sessions/{}"),
        ("GET", "/sessions/{}/calendar.ics"),
        ("POST", "/sessions/{}"),
        ("GET", "/api/v1/sessions/{}"),
    ]
    for method, pattern in ways:
        for session_id in range(1, hidden.id + 3):
            answer = await client.request(method, pattern.format(session_id))
            assert SECRET_TITLE not in answer.text, (method, pattern, session_id)
        # The invite-only one answers exactly like an id nobody has.
        found = await client.request(method, pattern.format(hidden.id))
        nothing = await client.request(method, pattern.format(missing))
        assert found.status_code == nothing.status_code == 404, pattern
        # (Only the address is replaced: static links carry a hex version, digits included.)
        page_of = found.text.replace(pattern.format(hidden.id), "ID")
        assert page_of == nothing.text.replace(pattern.format(missing), "ID")
    listed = await client.get("/api/v1/sessions")
    assert SECRET_TITLE not in listed.text
    assert SECRET_TITLE not in (await client.get("/calendar.ics")).text
    assert SECRET_TITLE not in (await client.get("/")).text


async def test_the_slug_page_works_and_is_never_indexed(client: httpx.AsyncClient) -> None:
    hidden = await _invite_only()
    assert hidden.slug and len(hidden.slug) >= 22 and str(hidden.id) != hidden.slug
    other = await _invite_only()
    assert other.slug != hidden.slug

    page = await client.get(f"/sessions/i/{hidden.slug}")
    assert page.status_code == 200 and SECRET_TITLE in page.text
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    assert "noindex" in page.headers["x-robots-tag"]
    assert f'<meta property="og:url" content="{BASE}/sessions/i/{hidden.slug}">' in page.text
    assert f'action="/sessions/i/{hidden.slug}#register"' in page.text
    assert f'href="/sessions/i/{hidden.slug}/calendar.ics"' in page.text
    calendar = await client.get(f"/sessions/i/{hidden.slug}/calendar.ics")
    assert calendar.status_code == 200 and "noindex" in calendar.headers["x-robots-tag"]
    assert f"/sessions/i/{hidden.slug}" in calendar.text.replace("\r\n ", "")

    # Public pages are indexed as before.
    public = await make_session(title_en="Open to all")
    open_page = await client.get(f"/sessions/{public.id}")
    assert 'name="robots"' not in open_page.text and "x-robots-tag" not in open_page.headers

    # Wrong, long, or odd text (a NUL byte is an error in PostgreSQL's text): the same 404.
    odd = ("%00" + hidden.slug[1:], hidden.slug[:5] + "%C3%A9", hidden.slug + "%20")
    for wrong in ("x", "A" * 22, "A" * 500, hidden.slug.upper(), *odd):
        if wrong != hidden.slug:
            assert (await client.get(f"/sessions/i/{wrong}")).status_code == 404
    draft = await _invite_only(title_en="Not yet")
    await Session.filter(id=draft.id).update(status=SessionStatus.DRAFT)
    assert (await client.get(f"/sessions/i/{draft.slug}")).status_code == 404


async def test_registering_through_the_slug_page(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    hidden = await _invite_only()
    invitation = await invite_organisation(hidden, organisation="School", seats=5, actor=admin)
    path = f"/sessions/i/{hidden.slug}"
    page = await client.get(f"{path}?invitation={invitation.code}")
    assert f'value="{invitation.code}"' in page.text
    form = {
        "csrf_token": csrf_from(page.text),
        "chosen_name": "Sophea",
        "email": "sophea@example.org",
        "sector": "student",
        "consent": "on",
        "invitation_code": invitation.code,
    }
    answer = await client.post(path, data=form)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/registrations/")
    assert await Registration.filter(session_id=hidden.id).count() == 1
    refused = await client.post(path, data={**form, "invitation_code": "", "email": "x@e.org"})
    assert refused.status_code == 422 and "noindex" in refused.headers["x-robots-tag"]


async def test_staff_see_an_invite_only_session_by_id_with_its_slug_link(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff(Role.ADMIN)
    outsider = await make_staff(Role.FACILITATOR)
    hidden = await _invite_only()
    url = f"/api/v1/sessions/{hidden.id}"
    seen = await client.get(url, headers=await token_for(admin))
    assert seen.status_code == 200
    assert seen.json()["url"] == f"{BASE}/sessions/i/{hidden.slug}"
    # Staff who do not run it are anyone.
    assert (await client.get(url, headers=await token_for(outsider))).status_code == 404

    await log_in(client, admin)
    staff_page = await client.get(f"/staff/sessions/{hidden.id}")
    assert f'href="/sessions/i/{hidden.slug}"' in staff_page.text
    assert f"{BASE}/sessions/i/{hidden.slug}" in staff_page.text  # the link to share
    assert f'href="/sessions/{hidden.id}"' not in staff_page.text


async def test_changing_the_audience_moves_the_page(client: httpx.AsyncClient) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    session = await make_session(title_en=SECRET_TITLE)
    assert (await client.get(f"/sessions/{session.id}")).status_code == 200

    patched = await client.patch(
        f"/api/v1/sessions/{session.id}", json={"audience": "invite_only"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    slug = (await Session.get(id=session.id)).slug
    assert slug and patched.json()["url"] == f"{BASE}/sessions/i/{slug}"
    assert (await client.get(f"/sessions/{session.id}")).status_code == 404
    assert (await client.get(f"/api/v1/sessions/{session.id}")).status_code == 404
    assert (await client.get(f"/sessions/i/{slug}")).status_code == 200

    await client.patch(
        f"/api/v1/sessions/{session.id}", json={"audience": "public"}, headers=headers
    )
    # Invitations already sent keep working: the slug leads to the public page.
    moved = await client.get(f"/sessions/i/{slug}?invitation=ABC")
    assert moved.status_code == 307
    assert moved.headers["location"] == f"/sessions/{session.id}?invitation=ABC"
    assert (await client.get(f"/sessions/{session.id}")).status_code == 200


async def test_a_session_without_a_slug_gets_one_when_it_is_saved(
    client: httpx.AsyncClient,
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    session = await make_session()
    await Session.filter(id=session.id).update(slug=None)  # a row from before slugs
    await client.patch(
        f"/api/v1/sessions/{session.id}", json={"audience": "invite_only"}, headers=headers
    )
    slug = (await Session.get(id=session.id)).slug
    assert slug and (await client.get(f"/sessions/i/{slug}")).status_code == 200


async def test_the_migration_gives_existing_sessions_a_slug(client: httpx.AsyncClient) -> None:
    sessions = [await _invite_only(), await make_session(), await _invite_only()]
    await Session.all().update(slug=None)
    migration = importlib.import_module("events.migrations.0003_session_slug")
    editor = SimpleNamespace(client=connections.get("default"))
    await migration._give_every_session_a_slug(None, editor)
    slugs = [(await Session.get(id=s.id)).slug for s in sessions]
    assert all(slug and len(slug) >= 22 for slug in slugs)
    assert len(set(slugs)) == len(slugs)


async def test_invitation_email_links_to_the_slug(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    hidden = await _invite_only()
    invitation = await invite_person(
        hidden, email="guest@example.org", actor=admin, settings=settings, language="en"
    )
    message = await OutboxMessage.get(kind="invitation_to_invitee")
    content = await mail.compose(MAIL_COMPOSERS, message, settings)
    link = f"{BASE}/sessions/i/{hidden.slug}?invitation={invitation.code}"
    assert link in content.text and f'href="{link}"' in content.html
    assert not re.search(rf"/sessions/{hidden.id}\b", content.text + content.html)
    followed = await client.get(link.removeprefix(BASE))
    assert followed.status_code == 200 and f'value="{invitation.code}"' in followed.text


async def test_the_routes_serve_the_paths_sessions_give(app: Starlette) -> None:
    """``Session.public_path`` is the one rule for links; the routes must agree with it."""
    public = Session(id=7, slug="s" * 22, audience=Audience.PUBLIC)
    hidden = Session(id=8, slug="t" * 22, audience=Audience.INVITE_ONLY)
    assert public.public_path == app.url_path_for("session", session_id=7)
    assert public.calendar_path == app.url_path_for("session_ics", session_id=7)
    assert hidden.public_path == app.url_path_for("invited_session", slug="t" * 22)
    assert hidden.calendar_path == app.url_path_for("invited_session_ics", slug="t" * 22)
