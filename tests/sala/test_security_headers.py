"""Security headers on every kind of response: pages, JSON, files, errors."""

from __future__ import annotations

import httpx
import pytest

from events.models import SessionStatus
from sala.models import Role
from tests.factories import log_in, make_session, make_staff


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?lang=en",
        "/api/v1/sessions",
        "/healthz",
        "/static/css/sala.css",
        "/static/fonts/noto-sans-khmer.ttf",
        "/calendar.ics",
        "/no-such-page",
        "/staff/login",
        "/staff/sessions",
    ],
)
async def test_security_headers(client: httpx.AsyncClient, path: str) -> None:
    await make_session()
    answer = await client.get(path)
    csp = answer.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_staff_form_post_without_csrf_is_403(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    session = await make_session(status=SessionStatus.DRAFT)
    answer = await client.post(f"/staff/sessions/{session.id}/publish", data={})
    assert answer.status_code == 403
    await session.refresh_from_db()
    assert session.status == "draft"
