"""Cancelling a session asks first (how many people will be told), carries the staff's
message into the email, can take the later sessions of a series along, and a draft nobody
registered for can be deleted instead (issue 13)."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
import pytest

from events import services as events
from events.forms import CancellationInput, SeriesScope
from events.models import Series, Session, SessionStatus
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.mail import SmtpTransport, deliver_due
from sala.models import AuditEntry, OutboxMessage, Role
from tests.factories import (
    csrf_from,
    log_in,
    make_session,
    make_staff,
    register_person,
    session_fields,
    token_for,
)
from tests.mail_server import MailServer

MESSAGE = "The venue flooded.\nWe will announce a new date next week."


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


async def _series(months: int = 4) -> list[Session]:
    admin = await make_staff(Role.ADMIN)
    data = await events.series_input(
        session_fields(
            title_en="Monthly peer support",
            starts_at="2027-01-02T09:00",
            ends_at="2027-01-02T12:00",
            rrule="FREQ=MONTHLY;BYDAY=1SA",
            months=str(months),
            status="published",
        ),
        default_timezone="Asia/Phnom_Penh",
    )
    _series, sessions = await events.create_series(data, actor=admin)
    return sessions


async def test_cancelling_asks_first_then_emails_everyone_with_the_message(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    session = await make_session(title_en="Rights at work", capacity=2)
    await register_person(session, smtp_settings, email="one@example.org")
    await register_person(session, smtp_settings, email="two@example.org", language="km")
    await register_person(session, smtp_settings, email="three@example.org")  # waitlisted
    await register_person(session, smtp_settings, email="", phone="012 345 678")  # waitlisted
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    mail_server.inbox.messages.clear()
    await log_in(smtp_client, await make_staff(Role.ADMIN))

    # The session page's button only opens the question; nothing is cancelled by a GET.
    overview = await smtp_client.get(f"/staff/sessions/{session.id}?lang=en")
    assert f'href="/staff/sessions/{session.id}/cancel"' in overview.text
    question = await smtp_client.get(f"/staff/sessions/{session.id}/cancel?lang=en")
    assert question.status_code == 200
    assert "3 people confirmed or waiting will be told by email." in question.text
    assert "1 person has no email address: call them." in question.text
    assert "This session belongs to a series" not in question.text
    assert (await Session.get(id=session.id)).status == SessionStatus.PUBLISHED

    answer = await smtp_client.post(
        f"/staff/sessions/{session.id}/cancel",
        data={"message": MESSAGE, "csrf_token": csrf_from(question.text)},
    )
    assert answer.status_code == 303
    cancelled = await Session.get(id=session.id)
    assert cancelled.status == SessionStatus.CANCELLED
    assert cancelled.sequence == 1  # calendars holding the event take its STATUS:CANCELLED
    shown = await smtp_client.get(answer.headers["location"] + "&lang=en")
    assert "1 session cancelled. Everyone confirmed or waiting is being emailed." in shown.text
    entry = await AuditEntry.get(action="session.cancel", object_id=str(session.id))
    assert entry.details == {"people_told": 4, "with_message": True}

    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    told = {str(m["To"]): _text(m) for m in mail_server.inbox.messages}
    assert set(told) == {"one@example.org", "two@example.org", "three@example.org"}
    for body in told.values():
        assert "The venue flooded.\nWe will announce a new date next week." in body
    assert "A message from the organisers:" in told["one@example.org"]
    assert "A message from the organisers:" not in told["two@example.org"]  # in Khmer


async def test_a_message_too_long_is_refused_and_nothing_is_cancelled(
    admin_client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    question = await admin_client.get(f"/staff/sessions/{session.id}/cancel?lang=en")
    answer = await admin_client.post(
        f"/staff/sessions/{session.id}/cancel",
        data={"message": "x" * 2001, "csrf_token": csrf_from(question.text)},
    )
    assert answer.status_code == 422
    assert "This is too long." in answer.text
    assert "x" * 2001 in answer.text  # what was typed is kept
    assert (await Session.get(id=session.id)).status == SessionStatus.PUBLISHED


async def test_only_admins_cancel(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    await log_in(client, facilitator)
    assert (await client.get(f"/staff/sessions/{session.id}/cancel")).status_code == 403
    page = await client.get(f"/staff/sessions/{session.id}")
    answer = await client.post(
        f"/staff/sessions/{session.id}/cancel", data={"csrf_token": csrf_from(page.text)}
    )
    assert answer.status_code == 403
    assert (await Session.get(id=session.id)).status == SessionStatus.PUBLISHED


async def test_this_and_later_sessions_of_a_series_are_cancelled_together(
    admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    first, second, _third, fourth = await _series()
    await register_person(second, settings, email="second@example.org")
    await register_person(fourth, settings, email="fourth@example.org")
    await register_person(first, settings, email="first@example.org")

    question = await admin_client.get(f"/staff/sessions/{second.id}/cancel?lang=en")
    assert "This session belongs to a series" in question.text
    assert "This and the later sessions of the series (3 in all)" in question.text
    told_later = re.search(r'id="told-later">(.*?)</p>', question.text, re.S)
    assert told_later and "2 people confirmed or waiting" in told_later.group(1)

    answer = await admin_client.post(
        f"/staff/sessions/{second.id}/cancel",
        data={"scope": "later", "csrf_token": csrf_from(question.text)},
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("?cancelled=3")
    statuses = [s.status for s in await Session.filter(series_id=first.series_id)]
    assert statuses == ["published", "cancelled", "cancelled", "cancelled"]


async def test_the_api_cancels_with_a_message_and_a_scope(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    first, second, third = await _series(months=3)
    bad = await client.post(
        f"/api/v1/sessions/{second.id}/cancel", json={"scope": "everything"}, headers=headers
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"]["scope"] == "Choose one of the options."
    assert (await Session.get(id=second.id)).status == SessionStatus.PUBLISHED

    plain = await client.post(f"/api/v1/sessions/{first.id}/cancel", headers=headers)
    assert plain.status_code == 200 and plain.json()["status"] == "cancelled"
    assert (await Session.get(id=second.id)).status == SessionStatus.PUBLISHED

    later = await client.post(
        f"/api/v1/sessions/{second.id}/cancel",
        json={"scope": "later", "message": "Sorry."},
        headers=headers,
    )
    assert later.status_code == 200
    assert (await Session.get(id=third.id)).status == SessionStatus.CANCELLED


async def test_cancelling_twice_tells_nobody_twice(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session()
    await register_person(session, settings, email="once@example.org")
    cancellation = CancellationInput(message="", scope=SeriesScope.THIS)
    assert (
        len(await events.cancel_sessions(session, cancellation, actor=admin, settings=settings))
        == 1
    )
    assert await events.cancel_sessions(session, cancellation, actor=admin, settings=settings) == []

    assert await OutboxMessage.filter(kind="session_cancelled_to_registrant").count() == 1


# ----------------------------------------------------------------------------- deleting drafts


async def test_a_draft_nobody_registered_for_can_be_deleted(
    admin_client: httpx.AsyncClient,
) -> None:
    draft = await make_session(title_en="Typo session", status=SessionStatus.DRAFT)
    overview = await admin_client.get(f"/staff/sessions/{draft.id}?lang=en")
    assert "Delete this draft" in overview.text
    question = await admin_client.get(f"/staff/sessions/{draft.id}/delete?lang=en")
    assert question.status_code == 200
    assert "Deleting it cannot be undone." in question.text
    assert await Session.exists(id=draft.id)
    answer = await admin_client.post(
        f"/staff/sessions/{draft.id}/delete", data={"csrf_token": csrf_from(question.text)}
    )
    assert answer.status_code == 303
    assert not await Session.exists(id=draft.id)
    listing = await admin_client.get(answer.headers["location"] + "&lang=en")
    assert "The draft has been deleted." in listing.text
    assert await AuditEntry.exists(action="session.delete", object_id=str(draft.id))


async def test_a_published_session_or_one_with_registrations_is_not_deleted(
    admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    published = await make_session()
    was_published = await make_session()
    await register_person(was_published, settings)
    await events.unpublish_session(was_published, actor=admin, settings=settings)
    for session in (published, was_published):
        overview = await admin_client.get(f"/staff/sessions/{session.id}?lang=en")
        assert "Delete this draft" not in overview.text
        refused = await admin_client.get(f"/staff/sessions/{session.id}/delete?lang=en")
        assert refused.status_code == 409
        assert "Only a draft without registrations can be deleted." in refused.text
        answer = await admin_client.post(
            f"/staff/sessions/{session.id}/delete", data={"csrf_token": csrf_from(overview.text)}
        )
        assert answer.status_code == 409
        assert await Session.exists(id=session.id)


async def test_the_api_deletes_drafts_only_and_a_series_left_empty_goes_too(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    admin = await make_staff(Role.ADMIN)
    sessions = await _series(months=2)
    refused = await client.delete(f"/api/v1/sessions/{sessions[0].id}", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "session_not_deletable"
    for session in sessions:
        await events.unpublish_session(session, actor=admin, settings=settings)
    assert (
        await client.delete(f"/api/v1/sessions/{sessions[0].id}", headers=headers)
    ).status_code == 204
    assert await Series.exists(id=sessions[1].series_id)
    assert (
        await client.delete(f"/api/v1/sessions/{sessions[1].id}", headers=headers)
    ).status_code == 204
    assert not await Series.exists(id=sessions[1].series_id)
    gone = await client.delete(f"/api/v1/sessions/{sessions[1].id}", headers=headers)
    assert gone.status_code == 404
    facilitator = await token_for(await make_staff(Role.FACILITATOR))
    draft = await make_session(status=SessionStatus.DRAFT)
    assert (
        await client.delete(f"/api/v1/sessions/{draft.id}", headers=facilitator)
    ).status_code == 403


@pytest.fixture
async def admin_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await log_in(client, await make_staff(Role.ADMIN))
    return client
