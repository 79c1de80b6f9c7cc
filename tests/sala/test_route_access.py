"""Walk the whole route table: every route declares who may call it, and every route that is
not public refuses an anonymous request (HTML: redirect to the login page; API: 401)."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from sala.models import Role
from sala.permissions import access_of
from tests.factories import log_in, make_session, make_staff, token_for

EXPECTED_PUBLIC = {
    "/healthz",
    "/api/v1/openapi.json",
    "/",
    "/sessions/{session_id:int}",
    "/sessions/{session_id:int}/calendar.ics",
    # An invite-only training's page: by its random slug only (its id answers 404).
    "/sessions/i/{slug}",
    "/sessions/i/{slug}/calendar.ics",
    "/calendar.ics",
    "/staff/login",
    # The second step of a two-factor login (only after the right password), and a forgotten
    # password: the same answer for any email; the reset page only through its emailed link.
    "/staff/login/code",
    "/staff/password/forgot",
    "/staff/password/reset/{token}",
    "/static/fonts/noto-sans-khmer.ttf",
    # CSS, scripts, icons, the web font: the files of static/ only (sala/static_files.py).
    "/static/{path:path}",
    "/api/v1/topics",
    "/api/v1/sessions",
    "/api/v1/sessions/{session_id:int}",
    # The person's own pages: public, but only through a signed link (404 otherwise).
    "/registrations/{token}",
    "/registrations/{token}/ticket.png",
    "/registrations/{token}/calendar.ics",
    "/registrations/{token}/cancel",
    "/registrations/{token}/data.json",
    "/registrations/{token}/delete",
    "/registrations/{token}/certificate.pdf",
    # Asking for one's links (the answer is the same for any email), joining a registration
    # to its email's holder, and the holder's page: through links emailed to the holder only.
    "/registrations/lost",
    "/registrations/join/{token}",
    "/teams/join/{token}",
    "/people/{token}",
    "/people/{token}/data.json",
    "/people/{token}/certificates/{code}.pdf",
    "/people/{token}/delete",
    # Checking a certificate: says valid or revoked, never who holds it.
    "/verify",
    "/verify/{code}",
    "/api/v1/certificates/{code}",
    # The door scanner's service worker and install manifest: code and icons, no data.
    "/staff/checkin/sw.js",
    "/staff/checkin/manifest.webmanifest",
    # Learning: the tests, the feedback form and the materials zip through the manage link;
    # a material through its short-lived signed link; the wall QR's page (no data); a
    # material staff made public (404 before its date or unless public); question pictures
    # (random names, no personal data).
    "/registrations/{token}/tests/{phase}",
    "/learning/images/{name}",
    "/registrations/{token}/feedback",
    "/registrations/{token}/materials.zip",
    "/materials/{signed}",
    "/sessions/{session_id:int}/post-test",
    "/sessions/{session_id:int}/materials/{material_id:int}",
}


def _routes(app: Starlette) -> list[Route]:
    return [r for r in app.routes if isinstance(r, Route)]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_declares_its_access(app: Starlette) -> None:
    undeclared = [r.path for r in _routes(app) if access_of(r.endpoint) is None]
    assert undeclared == []
    mounts = [r.path for r in app.routes if isinstance(r, Mount)]
    assert mounts == []  # no route escapes the access check (static files are a route too)


def test_public_routes_are_exactly_the_expected_ones(app: Starlette) -> None:
    public = {
        r.path
        for r in _routes(app)
        if access_of(r.endpoint) == "public" and (r.methods or set()) & {"GET", "HEAD"}
    }
    assert public == EXPECTED_PUBLIC


async def test_every_non_public_route_refuses_anonymous_requests(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_session()
    checked = 0
    for route in _routes(app):
        access = access_of(route.endpoint)
        if access == "public":
            continue
        for method in sorted(route.methods or {"GET"}):
            if method == "HEAD":
                continue
            answer = await client.request(method, _concrete(route.path))
            if access == "staff_page":
                assert answer.status_code == 303, (method, route.path)
                assert answer.headers["location"].startswith("/staff/login"), route.path
            else:
                assert answer.status_code == 401, (method, route.path)
                assert answer.json()["error"]["code"] == "not_authenticated"
            checked += 1
    assert checked >= 20


async def test_every_admin_route_refuses_a_facilitator(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """A wrong role is a 403 everywhere, through a login (HTML) or a token (API)."""
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    await log_in(client, facilitator)
    headers = await token_for(facilitator)
    admin_only_html = [
        "/staff/sessions/new",
        f"/staff/sessions/{session.id}/edit",
        "/staff/series/new",
        "/staff/topics",
        "/staff/users",
        "/staff/users/new",
    ]
    for path in admin_only_html:
        assert (await client.get(path)).status_code == 403, path
    for method, path in [
        ("POST", "/api/v1/sessions"),
        ("PATCH", f"/api/v1/sessions/{session.id}"),
        ("POST", f"/api/v1/sessions/{session.id}/publish"),
        ("POST", f"/api/v1/sessions/{session.id}/cancel"),
        ("POST", "/api/v1/series"),
    ]:
        answer = await client.request(method, path, headers=headers, json={})
        assert answer.status_code == 403, (method, path)
        assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer sala_wrong", "Basic abc", ""])
async def test_bad_tokens_are_401(client: httpx.AsyncClient, header: str) -> None:
    answer = await client.post(
        "/api/v1/sessions", headers={"authorization": header} if header else {}, json={}
    )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_personal_pages_refuse_a_forged_link(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    for route in _routes(app):
        if "{token}" not in route.path:
            continue
        for token in ("forged", "W1sxLCJ4Il0.abc.def", "x" * 300):
            answer = await client.get(route.path.replace("{token}", token))
            assert answer.status_code in (404, 405), (route.path, token)
