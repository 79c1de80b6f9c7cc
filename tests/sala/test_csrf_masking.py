"""The CSRF token is masked afresh in every page (BREACH): what an attacker can and cannot do.

Compressed pages leak, through their length, whatever secret repeats in them next to text the
attacker chose. A token that is different in every answer (a random pad XOR the secret, as
Django and Rails do) gives nothing to converge on; the server unmasks what it gets back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import httpx

from events.models import SessionStatus
from sala.csrf import mask, unmask
from sala.models import Role
from tests.factories import PASSWORD, csrf_from, log_in, make_session, make_staff


def _tokens(html: str) -> list[str]:
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)


async def test_the_same_page_twice_carries_different_tokens(client: httpx.AsyncClient) -> None:
    first = csrf_from((await client.get("/staff/login")).text)
    second = csrf_from((await client.get("/staff/login")).text)
    assert first != second
    assert unmask(first) == unmask(second)  # one secret under two pads


async def test_the_secret_never_appears_in_a_page(client: httpx.AsyncClient) -> None:
    page = (await client.get("/staff/login")).text
    secret = unmask(csrf_from(page))
    assert secret is not None and secret not in page


async def test_an_old_masked_token_still_works(client: httpx.AsyncClient) -> None:
    user = await make_staff(Role.ADMIN)
    old = csrf_from((await client.get("/staff/login")).text)
    await client.get("/staff/login")  # newer pages, newer masks
    answer = await client.post(
        "/staff/login", data={"email": user.email, "password": PASSWORD, "csrf_token": old}
    )
    assert answer.status_code == 303


async def test_the_unmasked_secret_is_still_accepted(client: httpx.AsyncClient) -> None:
    """A page rendered before masking (an open form, a scanner page kept offline) still posts:
    the bare secret never appears in a page any more, so accepting it leaks nothing."""
    user = await make_staff(Role.ADMIN)
    secret = unmask(csrf_from((await client.get("/staff/login")).text))
    assert secret is not None
    answer = await client.post(
        "/staff/login", data={"email": user.email, "password": PASSWORD, "csrf_token": secret}
    )
    assert answer.status_code == 303


async def test_forged_tokens_fail(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    real = csrf_from((await client.get("/staff/login")).text)
    raw = base64.urlsafe_b64decode(real + "=" * (-len(real) % 4))
    flipped = bytes([raw[0] ^ 1]) + raw[1:]
    other_browser = mask("x" * 43)
    forgeries = [
        "",
        "not-a-token",
        base64.urlsafe_b64encode(flipped).decode().rstrip("="),  # one bit of the pad changed
        other_browser,  # a well-formed token of another secret
        real[:-2],  # cut short
        real + "AA",
    ]
    for forged in forgeries:
        answer = await client.post(
            "/staff/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": forged}
        )
        assert answer.status_code == 403, forged


async def test_a_token_from_another_browser_fails(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    admin = await make_staff(Role.ADMIN)
    async with new_client() as attacker:
        theirs = csrf_from((await attacker.get("/staff/login")).text)
    await client.get("/staff/login")  # the victim has a secret of their own
    answer = await client.post(
        "/staff/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": theirs}
    )
    assert answer.status_code == 403


async def test_the_scanner_header_accepts_a_masked_token_and_refuses_a_forged_one(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    session = await make_session(status=SessionStatus.PUBLISHED)
    page = await client.get(f"/staff/checkin/{session.id}")
    tokens = _tokens(page.text)
    assert tokens
    url = f"/api/v1/sessions/{session.id}/checkin-list"
    assert (await client.get(url, headers={"x-csrf-token": tokens[0]})).status_code == 200
    assert (await client.get(url, headers={"x-csrf-token": mask("y" * 43)})).status_code in (
        401,
        403,
    )
