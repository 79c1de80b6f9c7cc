"""A forgotten staff password (issue 14): a link by email, through a real SMTP server, that
works once and for an hour, ends every other login and token of the account, and answers
the same whether or not the email has an account."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from email.message import EmailMessage

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner
from starlette.applications import Starlette

from sala import accounts, password_reset
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.mail import SmtpTransport, deliver_due
from sala.models import AuditEntry, OutboxMessage, Role, StaffUser
from tests.factories import PASSWORD, csrf_from, log_in, make_staff, token_for
from tests.mail_server import MailServer

NEW_PASSWORD = "a brand new long password"
FORGOT = "/staff/password/forgot"
USED_OR_EXPIRED = "This link has expired or was already used."

Browser = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def browser(smtp_app: Starlette) -> Browser:
    """Another browser on the app that sends mail: cookies of its own."""

    @asynccontextmanager
    async def make(language: str = "en") -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=smtp_app, client=("127.0.0.1", 123))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"accept-language": language},
        ) as client:
            yield client

    return make


async def _ask(client: httpx.AsyncClient, email: str) -> httpx.Response:
    page = await client.get(FORGOT)
    assert page.status_code == 200
    return await client.post(FORGOT, data={"email": email, "csrf_token": csrf_from(page.text)})


async def _deliver(settings: Settings) -> int:
    return await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings)


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _html(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def _link_path(message: EmailMessage) -> str:
    found = re.findall(r"http://testserver(/staff/password/reset/\S+)", _text(message))
    assert len(found) == 1, _text(message)
    return str(found[0])


async def _set_password(
    client: httpx.AsyncClient, path: str, password: str, again: str | None = None
) -> httpx.Response:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    data = {"password": password, "password_again": password if again is None else again}
    return await client.post(path, data={**data, "csrf_token": csrf_from(page.text)})


async def _login_status(client: httpx.AsyncClient, user: StaffUser, password: str) -> int:
    page = await client.get("/staff/login")
    answer = await client.post(
        "/staff/login",
        data={"email": user.email, "password": password, "csrf_token": csrf_from(page.text)},
    )
    return answer.status_code


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


async def test_the_emailed_link_sets_a_new_password_once(
    smtp_client: httpx.AsyncClient,
    smtp_settings: Settings,
    mail_server: MailServer,
    browser: Browser,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    asked = await _ask(smtp_client, facilitator.email.upper())
    assert asked.status_code == 200
    assert "we have sent it a link" in asked.text
    assert await _deliver(smtp_settings) == 1

    (message,) = mail_server.inbox.messages
    assert message["To"] == facilitator.email
    assert "Hello Dara," in _text(message)
    path = _link_path(message)
    form = await smtp_client.get(path)
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    assert facilitator.email in form.text
    assert 'name="password"' in form.text and 'name="password_again"' in form.text

    answer = await _set_password(smtp_client, path, NEW_PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login?password_set=1"
    landing = await smtp_client.get(answer.headers["location"])
    assert "Your new password is set." in landing.text
    async with browser() as laptop:
        assert await _login_status(laptop, facilitator, PASSWORD) == 401
        assert await _login_status(laptop, facilitator, NEW_PASSWORD) == 303

    again = await smtp_client.get(path)
    assert again.status_code == 410
    assert USED_OR_EXPIRED in again.text
    used = await smtp_client.post(
        path,
        data={"password": "yet another password", "password_again": "yet another password"},
    )
    assert used.status_code == 410
    actions = [entry.action for entry in await AuditEntry.filter(object_id=str(facilitator.id))]
    assert "staff.password_reset_requested" in actions and "staff.reset_password" in actions


async def test_a_new_password_ends_every_other_login_and_every_token(
    smtp_client: httpx.AsyncClient,
    smtp_settings: Settings,
    mail_server: MailServer,
    browser: Browser,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    bearer = await token_for(facilitator)
    async with browser() as stolen_laptop:
        await log_in(stolen_laptop, facilitator)
        assert (await stolen_laptop.get("/staff/sessions")).status_code == 200
        assert (await smtp_client.get("/api/v1/me", headers=bearer)).status_code == 200

        await _ask(smtp_client, facilitator.email)
        await _deliver(smtp_settings)
        (message,) = mail_server.inbox.messages
        assert (
            await _set_password(smtp_client, _link_path(message), NEW_PASSWORD)
        ).status_code == 303

        answer = await stolen_laptop.get("/staff/sessions")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/staff/login")
    assert (await smtp_client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert all(token.revoked_at for token in await accounts.list_api_tokens(facilitator))


async def test_a_new_password_keeps_two_factor_on(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    """Whoever reads the mailbox still needs the phone."""
    facilitator = await make_staff(Role.FACILITATOR)
    await StaffUser.filter(id=facilitator.id).update(
        totp_secret="JBSWY3DPEHPK3PXP", totp_enabled_at=facilitator.created_at
    )
    await _ask(smtp_client, facilitator.email)
    await _deliver(smtp_settings)
    (message,) = mail_server.inbox.messages
    assert (await _set_password(smtp_client, _link_path(message), NEW_PASSWORD)).status_code == 303
    page = await smtp_client.get("/staff/login")
    answer = await smtp_client.post(
        "/staff/login",
        data={
            "email": facilitator.email,
            "password": NEW_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert answer.headers["location"] == "/staff/login/code"
    assert (await smtp_client.get("/staff/sessions")).status_code == 303


async def test_unknown_and_deactivated_accounts_get_the_same_page_and_no_email(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    admin = await make_staff(Role.ADMIN)
    active = await make_staff(Role.FACILITATOR)
    gone = await make_staff(Role.FACILITATOR)
    await accounts.update_staff(gone, name=gone.name, role=gone.role, is_active=False, actor=admin)

    pages = [
        _without_csrf((await _ask(smtp_client, email)).text)
        for email in ("nobody@example.org", gone.email, active.email)
    ]
    assert pages[0] == pages[1] == pages[2]
    assert await _deliver(smtp_settings) == 1
    assert [m["To"] for m in mail_server.inbox.messages] == [active.email]


async def test_at_most_three_emails_an_hour_for_one_account(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    for _ in range(5):
        answer = await _ask(smtp_client, facilitator.email)
        assert answer.status_code == 200
        assert "we have sent it a link" in answer.text
    assert await _deliver(smtp_settings) == 3
    assert len(mail_server.inbox.messages) == 3


async def test_a_link_older_than_an_hour_has_expired(
    smtp_client: httpx.AsyncClient,
    smtp_settings: Settings,
    mail_server: MailServer,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await _ask(smtp_client, facilitator.email)
    await _deliver(smtp_settings)
    (message,) = mail_server.inbox.messages
    path = _link_path(message)
    sent = int(time.time())

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: sent + 59 * 60)
    assert (await smtp_client.get(path)).status_code == 200
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: sent + 61 * 60)
    late = await smtp_client.get(path)
    assert late.status_code == 410
    assert USED_OR_EXPIRED in late.text
    assert 'href="/staff/password/forgot"' in late.text
    refused = await smtp_client.post(
        path, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert refused.status_code == 410
    monkeypatch.undo()
    async with browser() as laptop:
        assert await _login_status(laptop, facilitator, PASSWORD) == 303


async def test_a_forged_link_is_not_found(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    real = password_reset.reset_token(facilitator, smtp_settings)
    other_key = URLSafeTimedSerializer("not our secret key", salt="sala.staff.password-reset")
    forged = [
        "not-a-token",
        real[:-2] + ("AA" if not real.endswith("AA") else "BB"),  # a changed signature
        other_key.dumps([facilitator.id, "0" * 20]),
        "x" * 400,
    ]
    for token in forged:
        answer = await smtp_client.get(f"/staff/password/reset/{token}")
        assert answer.status_code == 404, token
    assert (await smtp_client.get(f"/staff/password/reset/{real}")).status_code == 200


async def test_mismatched_or_short_passwords_keep_the_form(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, browser: Browser
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    path = f"/staff/password/reset/{password_reset.reset_token(facilitator, smtp_settings)}"

    mismatched = await _set_password(smtp_client, path, NEW_PASSWORD, again=NEW_PASSWORD + "!")
    assert mismatched.status_code == 422
    assert "The two passwords are not the same." in mismatched.text
    assert 'name="password_again"' in mismatched.text
    short = await _set_password(smtp_client, path, "short")
    assert short.status_code == 422
    assert "at least 10 characters" in short.text

    # Nothing changed: the old password works, and the link still does.
    async with browser() as laptop:
        assert await _login_status(laptop, facilitator, PASSWORD) == 303
    assert (await _set_password(smtp_client, path, NEW_PASSWORD)).status_code == 303


@pytest.mark.parametrize(("language", "greeting"), [("km", "ជម្រាបសួរ Dara,"), ("en", "Hello Dara,")])
async def test_the_email_is_in_the_language_of_the_page_that_asked(
    smtp_settings: Settings,
    mail_server: MailServer,
    browser: Browser,
    language: str,
    greeting: str,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    async with browser(language) as phone:
        page = await phone.get(FORGOT)
        assert f'lang="{language}"' in page.text
        await phone.post(
            FORGOT, data={"email": facilitator.email, "csrf_token": csrf_from(page.text)}
        )
    assert await _deliver(smtp_settings) == 1
    (message,) = mail_server.inbox.messages
    assert greeting in _text(message)
    assert f'<html lang="{language}">' in _html(message)
    assert (await OutboxMessage.get(to_address=facilitator.email)).language == language


async def test_the_outbox_shows_the_email_without_its_link_key(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    await _ask(smtp_client, facilitator.email)
    stored = await OutboxMessage.get(to_address=facilitator.email)
    token = stored.params["token"]

    await log_in(smtp_client, admin)
    page = await smtp_client.get(f"/staff/outbox/{stored.id}")
    assert page.status_code == 200
    assert "Staff password reset link" in page.text
    assert "/staff/password/reset/" in page.text
    assert token not in page.text
    assert token[:20] not in page.text
