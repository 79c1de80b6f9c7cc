"""The online meeting link (issue 11, hole 6): only confirmed registrants and the session's
staff get it. Not the public page, the public API, the calendar feed or a session's public
calendar file; not a waitlisted person until their seat is confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx

from attendees.emails import enqueue_due_reminders
from attendees.registration import cancel_registration
from events.calendar import registrant_calendar_bytes
from events.models import Session
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.mail import SmtpTransport, deliver_due
from sala.models import Role
from tests.factories import log_in, make_staff, register_person, token_for
from tests.mail_server import MailServer

MEETING = "https://meet.example.org/room-7f3a9c"


async def _online_session(smtp_client: httpx.AsyncClient, headers: dict[str, str]) -> dict:
    starts = datetime.now(UTC) + timedelta(hours=30)  # a reminder is due in 6 hours
    body = {
        "topic": "sogie",
        "title_en": "SOGIE online",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "online_url": MEETING,
        "capacity": 1,
    }
    created = await smtp_client.post("/api/v1/sessions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    published = await smtp_client.post(
        f"/api/v1/sessions/{created.json()['id']}/publish", headers=headers
    )
    return published.json()


def _bodies(message: EmailMessage) -> str:
    parts = [p for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
    return "\n".join(str(p.get_content()) for p in parts)


def _mail_to(server: MailServer, address: str, kind_words: str) -> str:
    found = [
        _bodies(m) for m in server.inbox.messages if m["To"] == address and kind_words in _bodies(m)
    ]
    assert len(found) == 1, (address, kind_words, [m["Subject"] for m in server.inbox.messages])
    return found[0]


async def test_nobody_but_staff_and_confirmed_registrants_gets_the_meeting_link(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    session = await _online_session(smtp_client, headers)
    assert session["online_url"] == MEETING  # the admin who made it sees it

    # The attack: a visitor reads every public view of the session.
    page = await smtp_client.get(f"/sessions/{session['id']}")
    assert page.status_code == 200
    assert "The link is sent to confirmed participants." in page.text
    public_views = [
        page,
        await smtp_client.get(f"/sessions/{session['id']}?lang=km"),
        await smtp_client.get(f"/sessions/{session['id']}/calendar.ics"),
        await smtp_client.get("/calendar.ics"),
        await smtp_client.get(f"/api/v1/sessions/{session['id']}"),
        await smtp_client.get("/api/v1/sessions"),
        await smtp_client.get("/"),
    ]
    for answer in public_views:
        assert answer.status_code == 200, answer.url
        assert "room-7f3a9c" not in answer.text, answer.url
    one = public_views[4].json()
    assert one["online_url"] is None and one["online"] is True
    assert [s["online_url"] for s in public_views[5].json()] == [None]
    # A staff member who does not run the session is anyone.
    outsider = await token_for(await make_staff(Role.FACILITATOR))
    not_theirs = await smtp_client.get(f"/api/v1/sessions/{session['id']}", headers=outsider)
    assert not_theirs.json()["online_url"] is None

    # The session's staff see it in the API and on the staff page.
    staff_view = await smtp_client.get(f"/api/v1/sessions/{session['id']}", headers=headers)
    assert staff_view.json()["online_url"] == MEETING
    await log_in(smtp_client, admin)
    assert MEETING in (await smtp_client.get(f"/staff/sessions/{session['id']}")).text

    # The confirmed registrant gets it by email; the waitlisted one does not.
    stored = await Session.get(id=session["id"])
    first = await register_person(stored, smtp_settings, email="first@example.org")
    await register_person(stored, smtp_settings, email="second@example.org")
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    assert MEETING in _mail_to(mail_server, "first@example.org", "Your seat is confirmed")
    waiting = _mail_to(mail_server, "second@example.org", "waiting list")
    assert "room-7f3a9c" not in waiting
    assert "The link is sent to confirmed participants." in waiting

    # A seat comes free: the promotion email carries it; so does the reminder.
    await cancel_registration(first.registration.id, settings=smtp_settings, actor=admin)
    later = datetime.now(UTC) + timedelta(hours=7)
    assert await enqueue_due_reminders(smtp_settings, now=later) == 1
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    assert MEETING in _mail_to(mail_server, "second@example.org", "a seat has become free")
    assert MEETING in _mail_to(mail_server, "second@example.org", "A reminder")
    cancelled = _mail_to(mail_server, "first@example.org", "has been cancelled")
    assert "room-7f3a9c" not in cancelled


async def test_a_registrants_calendar_file_carries_the_link_the_public_one_does_not(
    smtp_client: httpx.AsyncClient,
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    session = await _online_session(smtp_client, headers)
    stored = await Session.get(id=session["id"]).select_related("topic")
    mine = registrant_calendar_bytes(stored, base_url="http://testserver").decode()
    assert "room-7f3a9c" in mine.replace("\r\n ", "")
    public = (await smtp_client.get(f"/sessions/{session['id']}/calendar.ics")).text
    assert "room-7f3a9c" not in public.replace("\r\n ", "")
    assert "LOCATION:Online" in public


async def test_the_manage_page_and_its_calendar_give_the_link_once_the_seat_is_confirmed(
    smtp_client: httpx.AsyncClient,
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    session = await _online_session(smtp_client, headers)
    register = f"/api/v1/sessions/{session['id']}/registrations"
    person = {"chosen_name": "Dara", "sector": "ngo", "consent": True}
    seated = await smtp_client.post(register, json={**person, "email": "seated@example.org"})
    waiting = await smtp_client.post(register, json={**person, "email": "waiting@example.org"})
    assert (seated.json()["status"], waiting.json()["status"]) == ("confirmed", "waitlisted")
    seated_page = seated.json()["manage_url"].removeprefix("http://testserver")
    waiting_page = waiting.json()["manage_url"].removeprefix("http://testserver")
    assert MEETING in (await smtp_client.get(seated_page)).text
    assert MEETING in (await smtp_client.get(seated_page + "/calendar.ics")).text
    assert MEETING not in (await smtp_client.get(waiting_page)).text
    waiting_calendar = await smtp_client.get(waiting_page + "/calendar.ics")
    assert waiting_calendar.status_code == 200 and MEETING not in waiting_calendar.text
    assert "no-store" in waiting_calendar.headers["cache-control"]
