"""Invitations (issue 13): the inviter chooses the email's language (default: the page's);
the table shows each invitation's status (sent, open, used, expired, revoked) with resend and
revoke; a revoked link says so clearly; resending sends the same, still working link."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from attendees.models import Invitation, Registration
from events.models import Audience, Session
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.mail import SmtpTransport, deliver_due
from sala.models import AuditEntry, OutboxMessage, OutboxStatus, Role
from tests.factories import (
    csrf_from,
    in_days,
    log_in,
    make_session,
    make_staff,
    register_person,
    token_for,
)
from tests.mail_server import MailServer

KHMER = re.compile("[\u1780-\u17ff]")


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def _deliver(settings: Settings) -> int:
    return await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings)


async def _invite_only(**overrides: Any) -> Session:
    return await make_session(audience=Audience.INVITE_ONLY.value, **overrides)


def _row(page: str, invitation: Invitation) -> str:
    """The table row of one invitation."""
    start = page.index(f"<code>{invitation.code}</code>")
    return page[start : page.index("</tr>", start)]


@pytest.fixture
async def admin(smtp_client: httpx.AsyncClient) -> httpx.AsyncClient:
    await log_in(smtp_client, await make_staff(Role.ADMIN))
    return smtp_client


async def _post(client: httpx.AsyncClient, url: str, data: dict[str, str]) -> httpx.Response:
    page = await client.get(url)
    return await client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


async def test_the_inviter_chooses_the_emails_language_and_the_page_language_is_the_default(
    admin: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    session = await _invite_only(title_en="Safe spaces", title_km="កន្លែងសុវត្ថិភាព")
    url = f"/staff/sessions/{session.id}/invitations"
    english_page = await admin.get(url)
    assert '<option value="en" selected>' in english_page.text
    khmer_page = await admin.get(f"{url}?lang=km")
    assert '<option value="km" selected>' in khmer_page.text
    await admin.get(f"{url}?lang=en")

    sent = await _post(admin, url, {"kind": "personal", "emails": "dara@example.org"})
    assert sent.status_code == 200 and "1 invitation created." in sent.text
    chosen = await _post(
        admin, url, {"kind": "personal", "emails": "sokha@example.org", "language": "km"}
    )
    assert chosen.status_code == 200
    assert await _deliver(smtp_settings) == 2
    by_address = {m["To"]: _text(m) for m in mail_server.inbox.messages}
    assert "You are invited to a training" in by_address["dara@example.org"]
    assert not KHMER.search(by_address["dara@example.org"].split("Safe spaces")[0])
    assert KHMER.search(by_address["sokha@example.org"])
    assert "You are invited to a training" not in by_address["sokha@example.org"]

    wrong = await _post(
        admin, url, {"kind": "personal", "emails": "x@example.org", "language": "fr"}
    )
    assert wrong.status_code == 422
    assert await Invitation.filter(email="x@example.org").count() == 0


async def test_the_table_shows_each_status(
    admin: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    session = await _invite_only()
    url = f"/staff/sessions/{session.id}/invitations"
    await _post(admin, url, {"kind": "personal", "emails": "a@example.org b@example.org"})
    await _post(admin, url, {"kind": "organisation", "organisation": "Youth NGO", "seats": "3"})
    waiting = await Invitation.get(email="a@example.org")
    used = await Invitation.get(email="b@example.org")
    code = await Invitation.get(organisation="Youth NGO")
    await register_person(session, smtp_settings, email="b@example.org", invitation_code=used.code)

    page = (await admin.get(url)).text
    assert ">Sent<" in _row(page, waiting) and "Send again" in _row(page, waiting)
    assert ">Used<" in _row(page, used) and "Send again" not in _row(page, used)
    assert ">Open<" in _row(page, code) and ">Revoke</summary>" in _row(page, code)

    revoked = await _post(admin, url, {"action": "revoke", "invitation_id": str(waiting.id)})
    assert revoked.status_code == 303
    page = (await admin.get(revoked.headers["location"])).text
    assert "The invitation has been revoked" in page
    assert ">Revoked<" in _row(page, waiting)
    assert "Send again" not in _row(page, waiting)
    assert ">Revoke</summary>" not in _row(page, waiting)

    started = await _invite_only(starts_at=in_days(-1).strftime("%Y-%m-%dT%H:%M"),
                                 ends_at=in_days(1).strftime("%Y-%m-%dT%H:%M"))  # fmt: skip
    late_url = f"/staff/sessions/{started.id}/invitations"
    await _post(admin, late_url, {"kind": "personal", "emails": "late@example.org"})
    late = await Invitation.get(email="late@example.org")
    page = (await admin.get(late_url)).text
    assert ">Expired<" in _row(page, late) and "Send again" not in _row(page, late)


async def test_resending_sends_the_same_working_link_again_in_the_chosen_language(
    admin: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    session = await _invite_only()
    url = f"/staff/sessions/{session.id}/invitations"
    await _post(admin, url, {"kind": "personal", "emails": "vanna@example.org", "language": "en"})
    invitation = await Invitation.get(email="vanna@example.org")
    answer = await _post(
        admin, url, {"action": "resend", "invitation_id": str(invitation.id), "language": "km"}
    )
    assert answer.status_code == 303
    assert "sent again" in (await admin.get(answer.headers["location"])).text
    assert await _deliver(smtp_settings) == 2
    first, again = (_text(m) for m in mail_server.inbox.messages)
    assert "You are invited to a training" in first
    assert "You are invited to a training" not in again and KHMER.search(again)
    link = f"{session.public_path}?invitation={invitation.code}"
    assert link in first and link in again  # the first email's link still works, too
    assert await AuditEntry.filter(action="invitation.resend").count() == 1

    await register_person(
        session, smtp_settings, email="vanna@example.org", invitation_code=invitation.code
    )
    refused = await _post(admin, url, {"action": "resend", "invitation_id": str(invitation.id)})
    assert refused.status_code == 409
    assert "This invitation is no longer open" in refused.text
    assert await OutboxMessage.filter(kind="invitation_to_invitee").count() == 2


async def test_a_revoked_link_says_so_and_registering_with_it_is_refused_clearly(
    admin: httpx.AsyncClient, smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer
) -> None:
    session = await _invite_only()
    url = f"/staff/sessions/{session.id}/invitations"
    await _post(admin, url, {"kind": "personal", "emails": "kunthea@example.org"})
    invitation = await Invitation.get(email="kunthea@example.org")
    await _post(admin, url, {"action": "revoke", "invitation_id": str(invitation.id)})
    # The email still waiting in the outbox is not sent.
    assert await _deliver(smtp_settings) == 0 and mail_server.inbox.messages == []
    assert (await OutboxMessage.get(kind="invitation_to_invitee")).status == OutboxStatus.FAILED

    link = f"{session.public_path}?invitation={invitation.code}"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=smtp_app),
        base_url="http://testserver",
        headers={"accept-language": "en"},
    ) as invitee:
        page = await invitee.get(link)
        assert page.status_code == 200
        assert "This invitation has been withdrawn by the organisers." in page.text
        form = {
            "csrf_token": csrf_from(page.text),
            "chosen_name": "Kunthea",
            "email": "kunthea@example.org",
            "sector": "student",
            "consent": "on",
            "invitation_code": invitation.code,
        }
        refused = await invitee.post(session.public_path, data=form)
        assert refused.status_code == 422
        assert "This invitation has been withdrawn" in refused.text
        assert await Registration.filter(session_id=session.id).count() == 0

        api = await invitee.post(
            f"/api/v1/sessions/{session.id}/registrations",
            json={k: v for k, v in form.items() if k != "csrf_token"} | {"consent": True},
        )
        # By id, a withdrawn code is no code: the session stays hidden (it may have gone to
        # the wrong person), answered like a missing one.
        assert api.status_code == 404
        assert api.json()["error"]["code"] == "session_not_found"

    # Invited again: a new code, which works.
    again = await _post(admin, url, {"kind": "personal", "emails": "kunthea@example.org"})
    assert "1 invitation created." in again.text
    fresh = await Invitation.get(email="kunthea@example.org", revoked_at=None)
    assert fresh.code != invitation.code
    await register_person(
        session, smtp_settings, email="kunthea@example.org", invitation_code=fresh.code
    )


async def test_the_api_takes_the_language_and_shows_the_status(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    session = await _invite_only()
    url = f"/api/v1/sessions/{session.id}/invitations"
    made = await smtp_client.post(
        url, json={"email": "api@example.org", "language": "en"}, headers=headers
    )
    assert made.status_code == 201 and made.json()["status"] == "sent"
    wrong = await smtp_client.post(
        url, json={"email": "api2@example.org", "language": "xx"}, headers=headers
    )
    assert wrong.status_code == 422 and "language" in wrong.json()["error"]["fields"]
    listed = await smtp_client.get(url, headers=headers)
    assert [i["status"] for i in listed.json()] == ["sent"]
    assert await _deliver(smtp_settings) == 1
    assert "You are invited to a training" in _text(mail_server.inbox.messages[0])
