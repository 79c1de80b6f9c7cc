"""Staff login: success, wrong password, rate limit, CSRF, deactivation and password reset."""

from __future__ import annotations

import httpx

from sala import accounts
from sala.models import Role
from tests.factories import PASSWORD, csrf_from, log_in, make_staff


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
    )


async def test_staff_page_without_login_redirects_to_login(client: httpx.AsyncClient) -> None:
    answer = await client.get("/staff/sessions")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/staff/login?next=")


async def test_login_then_staff_page_then_logout(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN, name="Sophea")
    answer = await _attempt(client, admin.email.upper(), PASSWORD)
    assert answer.status_code == 303
    page = await client.get("/staff/sessions")
    assert page.status_code == 200
    assert "Sophea" in page.text
    assert page.headers["cache-control"] == "no-store"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if "sala_session" in h)
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()

    logout = await client.post("/staff/logout", data={"csrf_token": csrf_from(page.text)})
    assert logout.status_code == 303
    assert (await client.get("/staff/sessions")).status_code == 303


async def test_login_follows_only_local_next_links(client: httpx.AsyncClient) -> None:
    admin = await make_staff()
    page = await client.get("/staff/login?next=https://evil.example/")
    answer = await client.post(
        "/staff/login",
        data={
            "email": admin.email,
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert answer.headers["location"] == "/staff/"


async def test_wrong_password_and_unknown_email_get_the_same_generic_message(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff()
    wrong_password = await _attempt(client, admin.email, "not the password")
    unknown = await _attempt(client, "nobody@example.org", "not the password")
    assert wrong_password.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong_password.text
    assert "Wrong email or password." in unknown.text


async def test_wrong_password_message_is_in_khmer_for_khmer_users(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff()
    client.headers["accept-language"] = "km"
    answer = await _attempt(client, admin.email, "not the password")
    assert answer.status_code == 401
    assert 'lang="km"' in answer.text
    assert "Wrong email or password." not in answer.text


async def test_login_without_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    admin = await make_staff()
    await client.get("/staff/login")
    answer = await client.post("/staff/login", data={"email": admin.email, "password": PASSWORD})
    assert answer.status_code == 403
    wrong = await client.post(
        "/staff/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": "x"}
    )
    assert wrong.status_code == 403
    assert (await client.get("/staff/sessions")).status_code == 303


async def test_deactivated_staff_cannot_log_in_and_is_logged_out(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    assert (await client.get("/staff/sessions")).status_code == 200

    await accounts.update_staff(
        facilitator, name=facilitator.name, role=Role.FACILITATOR, is_active=False, actor=admin
    )
    assert (await client.get("/staff/sessions")).status_code == 303
    assert (await _attempt(client, facilitator.email, PASSWORD)).status_code == 401


async def test_password_reset_ends_existing_logins(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    await accounts.reset_password(facilitator, password="another long password", actor=admin)
    assert (await client.get("/staff/sessions")).status_code == 303
    assert (await _attempt(client, facilitator.email, PASSWORD)).status_code == 401
    assert (await _attempt(client, facilitator.email, "another long password")).status_code == 303


async def test_staff_changes_own_password(client: httpx.AsyncClient) -> None:
    user = await make_staff(Role.FACILITATOR)
    await log_in(client, user)
    page = await client.get("/staff/account")
    wrong = await client.post(
        "/staff/account",
        data={
            "current_password": "nope",
            "password": "a brand new password",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert wrong.status_code == 422
    ok = await client.post(
        "/staff/account",
        data={
            "current_password": PASSWORD,
            "password": "a brand new password",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert ok.status_code == 200
    assert "Your password has been changed." in ok.text
    # Still logged in in this browser after the change.
    assert (await client.get("/staff/sessions")).status_code == 200
    assert await accounts.authenticate(user.email, "a brand new password") is not None
