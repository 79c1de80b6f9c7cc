"""Compressed answers: public pages and files for browsers that ask, never a private page."""

from __future__ import annotations

import gzip
import re

import brotli
import httpx
import pytest

from attendees import manage
from events.models import SessionStatus
from sala.compression import preferred_encoding
from sala.config import Settings
from sala.models import Role
from sala.static_files import static_path
from tests.factories import log_in, make_session, make_staff, register_person, token_for


def _decoded(answer: httpx.Response) -> bytes:
    """The body as sent, decoded by hand (httpx would hide the encoding)."""
    raw = answer.content
    encoding = answer.headers.get("content-encoding")
    if encoding == "br":
        return brotli.decompress(raw)
    if encoding == "gzip":
        return gzip.decompress(raw)
    return raw


async def _raw_get(client: httpx.AsyncClient, url: str, accept: str) -> httpx.Response:
    """GET without httpx decoding the body, so the test sees the bytes on the wire."""
    request = client.build_request("GET", url, headers={"accept-encoding": accept})
    answer = await client.send(request, stream=True)
    answer._content = b"".join([chunk async for chunk in answer.aiter_raw()])
    await answer.aclose()
    return answer


@pytest.mark.parametrize(("accept", "encoding"), [("gzip, deflate, br", "br"), ("gzip", "gzip")])
async def test_a_public_page_is_compressed_for_a_browser_that_asks(
    client: httpx.AsyncClient, accept: str, encoding: str
) -> None:
    await make_session(title_km="វគ្គបណ្តុះបណ្តាល")
    plain = await _raw_get(client, "/?lang=km", "identity")
    answer = await _raw_get(client, "/?lang=km", accept)
    assert answer.headers["content-encoding"] == encoding
    assert "accept-encoding" in answer.headers["vary"].lower()
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert len(answer.content) < len(plain.content) / 2
    # The same page, but for the masked CSRF token of each answer (if the page has one).
    mask = re.compile(rb'name="csrf_token" value="[^"]+"')
    assert mask.sub(b"", _decoded(answer)) == mask.sub(b"", plain.content)
    assert "content-encoding" not in plain.headers
    assert "accept-encoding" in plain.headers["vary"].lower()


async def test_json_and_css_are_compressed_too(client: httpx.AsyncClient) -> None:
    for number in range(8):
        await make_session(title_en=f"Training number {number}")
    api = await _raw_get(client, "/api/v1/sessions", "br")
    assert api.headers["content-encoding"] == "br"
    assert brotli.decompress(api.content).startswith(b"{") or brotli.decompress(
        api.content
    ).startswith(b"[")
    css = await _raw_get(client, static_path("css/sala.css"), "gzip")
    assert css.headers["content-encoding"] == "gzip"
    assert b"@font-face" in gzip.decompress(css.content)


async def test_a_small_answer_is_left_alone(client: httpx.AsyncClient) -> None:
    answer = await _raw_get(client, "/healthz", "br, gzip")
    assert "content-encoding" not in answer.headers
    assert answer.json()["status"] == "ok"


async def test_images_are_left_alone(client: httpx.AsyncClient) -> None:
    answer = await _raw_get(client, static_path("img/og-image.png"), "br, gzip")
    assert "content-encoding" not in answer.headers
    assert answer.content.startswith(b"\x89PNG")


async def test_staff_pages_are_never_compressed(client: httpx.AsyncClient) -> None:
    """A logged-in page holds staff data and reflects what staff typed (BREACH): no-store,
    and so sent as it is."""
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    for number in range(3):
        session = await make_session(title_en=f"Training number {number}")
    for url in ("/staff/sessions", f"/staff/sessions/{session.id}"):
        answer = await _raw_get(client, url, "br, gzip")
        assert answer.status_code == 200
        assert "no-store" in answer.headers["cache-control"]
        assert "content-encoding" not in answer.headers, url
        assert len(answer.content) > 1024


async def test_the_manage_page_and_the_ticket_are_never_compressed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await make_session()
    outcome = await register_person(session, settings)
    path = manage.manage_url(outcome.registration, settings).removeprefix(settings.base_url)
    page = await _raw_get(client, path, "br, gzip")
    assert page.status_code == 200 and len(page.content) > 1024
    assert "content-encoding" not in page.headers
    ticket = await _raw_get(client, path + "/ticket.png", "br, gzip")
    assert "content-encoding" not in ticket.headers


async def test_a_staff_api_answer_with_personal_data_is_compressed_only_if_not_private(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The check-in list (names, seeds) is no-store: sent as it is."""
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    session = await make_session(status=SessionStatus.PUBLISHED)
    for number in range(12):
        await register_person(session, settings, email=f"p{number}@example.org")
    request = client.build_request(
        "GET",
        f"/api/v1/sessions/{session.id}/checkin-list",
        headers={**headers, "accept-encoding": "br"},
    )
    answer = await client.send(request)
    assert answer.status_code == 200
    assert "content-encoding" not in answer.headers


def test_preferred_encoding() -> None:
    assert preferred_encoding("gzip, deflate, br, zstd") == "br"
    assert preferred_encoding("gzip;q=1.0, br;q=0") == "gzip"
    assert preferred_encoding("deflate") == "identity"
    assert preferred_encoding("") == "identity"
    assert preferred_encoding("*") == "br"
    assert preferred_encoding("br;q=nonsense, gzip") == "gzip"
    assert preferred_encoding("br", {"identity": b""}) == "identity"
