"""Moving or changing a session reaches the people registered (issue 13): an email in their
language with what changed, old and new, and the new calendar file; calendars update the
event they hold (same UID, higher SEQUENCE, LAST-MODIFIED); a reminder sent for the old
time goes again before the new one. Title, description or capacity alone, and drafts, tell
nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from icalendar import Calendar, Event

from attendees.emails import enqueue_due_reminders
from attendees.registration import cancel_registration
from events.models import Session, SessionStatus
from events.services import unpublish_session
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.i18n import format_date, format_time, in_language
from sala.mail import SmtpTransport, deliver_due
from sala.models import OutboxMessage, Role
from tests.factories import (
    PHNOM_PENH,
    in_days,
    log_in,
    make_session,
    make_staff,
    post_form,
    register_person,
    session_fields,
    token_for,
)
from tests.mail_server import MailServer

CHANGED = "session_changed_to_registrant"
MEETING = "https://meet.example.org/room-51c0de"


def _parts(message: EmailMessage) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)  # type: ignore[arg-type]
    return found


def _text(message: EmailMessage) -> str:
    return str(_parts(message)["text/plain"][0].get_content())


def _bodies(message: EmailMessage) -> str:
    parts = _parts(message)
    return "\n".join(str(p.get_content()) for p in parts["text/plain"] + parts["text/html"])


def _when(starts: datetime, ends: datetime) -> str:
    with in_language("en"):
        day = format_date(starts, tz=PHNOM_PENH)
        return f"{day}, {format_time(starts, PHNOM_PENH)}–{format_time(ends, PHNOM_PENH)}"


def _event(ics: bytes | str) -> Event:
    return next(iter(Calendar.from_ical(ics).walk("VEVENT")))


async def _deliver(settings: Settings) -> None:
    while await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings):
        pass


async def _people(session: Session, settings: Settings) -> None:
    """One confirmed (English) and one waiting (Khmer): make the session's capacity 1."""
    await register_person(session, settings, email="seated@example.org", chosen_name="Dara")
    await register_person(
        session, settings, email="waiting@example.org", chosen_name="សុខា", language="km"
    )


async def test_moving_a_published_session_emails_everyone_confirmed_or_waiting(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    admin = await make_staff(Role.ADMIN)
    starts = in_days(10, hour=9)
    session = await make_session(
        capacity="1",
        online_url=MEETING,
        starts_at=starts.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(starts + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    )
    await _people(session, smtp_settings)
    await register_person(session, smtp_settings, email="", phone="012 345 678")  # staff call
    gone = await register_person(session, smtp_settings, email="gone@example.org")
    await cancel_registration(gone.registration.id, settings=smtp_settings, actor=None)
    await _deliver(smtp_settings)
    before = {m["To"]: m for m in mail_server.inbox.messages}
    uid = _event(_parts(before["seated@example.org"])["text/calendar"][0].get_content())["UID"]
    mail_server.inbox.messages.clear()

    moved = starts + timedelta(days=1, hours=5)  # the next day, 14:00
    answer = await smtp_client.patch(
        f"/api/v1/sessions/{session.id}",
        json={
            "starts_at": moved.isoformat(),
            "ends_at": (moved + timedelta(hours=2)).isoformat(),
            "venue_name": "Meeting hall",
            "venue_address": "Street 5, Phnom Penh",
        },
        headers=await token_for(admin),
    )
    assert answer.status_code == 200, answer.text
    await _deliver(smtp_settings)

    received = {m["To"]: m for m in mail_server.inbox.messages}
    assert sorted(received) == ["seated@example.org", "waiting@example.org"]
    seated = received["seated@example.org"]
    assert seated["Subject"] == "A training you registered for has changed"
    text = _text(seated)
    old = _when(starts, starts + timedelta(hours=3))
    new = _when(moved, moved + timedelta(hours=2))
    assert "9:00" in old and "2:00" in new  # in the session's zone
    assert f"When: {old} → {new}" in text
    assert "Where: CLGBT office, Phnom Penh → Meeting hall, Street 5, Phnom Penh" in text
    assert MEETING in text  # a confirmed seat: the link, as in the confirmation

    (ics,) = _parts(seated)["text/calendar"]
    event = _event(ics.get_content())
    assert event["UID"] == uid  # the calendar updates the event it holds
    assert event.decoded("DTSTART") == moved
    assert event.decoded("DTEND") == moved + timedelta(hours=2)
    assert event.decoded("SEQUENCE") == 1
    assert "Meeting hall" in str(event["LOCATION"])
    assert MEETING in str(event["DESCRIPTION"])

    waiting = received["waiting@example.org"]
    assert "Hello" not in _text(waiting) and "សុខា" in _text(waiting)  # in their language
    assert "ពេលវេលា" in _text(waiting)  # "When", with the dates in Khmer
    assert "Meeting hall" in _text(waiting)
    assert "room-51c0de" not in _bodies(waiting)  # not confirmed: no link, no calendar file
    assert "text/calendar" not in _parts(waiting)


async def test_the_staff_form_tells_of_a_new_online_link_only_where_the_rules_allow(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    await log_in(smtp_client, await make_staff(Role.ADMIN))
    session = await make_session(capacity="1")
    await _people(session, smtp_settings)
    await _deliver(smtp_settings)
    mail_server.inbox.messages.clear()

    edit = await post_form(
        smtp_client,
        f"/staff/sessions/{session.id}/edit",
        session_fields(capacity="1", online_url=MEETING),
    )
    assert edit.status_code == 303, edit.text
    await _deliver(smtp_settings)
    received = {m["To"]: m for m in mail_server.inbox.messages}
    seated = _text(received["seated@example.org"])
    assert "The training can now also be joined online." in seated
    assert f"Online: {MEETING}" in seated
    waiting = _bodies(received["waiting@example.org"])
    assert "room-51c0de" not in waiting
    outbox = await OutboxMessage.filter(kind=CHANGED)
    assert outbox and all("room-51c0de" not in str(m.params) for m in outbox)


async def test_a_quick_correction_makes_one_email_and_a_change_undone_none(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    session = await make_session(venue_name="CLGBT office", venue_address="Phnom Penh")
    await register_person(session, smtp_settings, email="seated@example.org")
    await _deliver(smtp_settings)
    mail_server.inbox.messages.clear()
    url = f"/api/v1/sessions/{session.id}"

    for venue in ("Meting hal", "Meeting hall"):  # a typo, corrected before the mail went
        answer = await smtp_client.patch(url, json={"venue_name": venue}, headers=headers)
        assert answer.status_code == 200, answer.text
    await _deliver(smtp_settings)
    (message,) = mail_server.inbox.messages
    text = _text(message)
    assert "Where: CLGBT office, Phnom Penh → Meeting hall, Phnom Penh" in text
    assert "Meting hal" not in text
    mail_server.inbox.messages.clear()

    for venue in ("Elsewhere", "Meeting hall"):  # changed, then changed back
        answer = await smtp_client.patch(url, json={"venue_name": venue}, headers=headers)
        assert answer.status_code == 200, answer.text
    await _deliver(smtp_settings)
    assert mail_server.inbox.messages == []
    assert (await Session.get(id=session.id)).sequence == 4


async def test_title_description_or_capacity_alone_tell_nobody(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    session = await make_session()
    await _people(session, smtp_settings)
    answer = await smtp_client.patch(
        f"/api/v1/sessions/{session.id}",
        json={"title_en": "Renamed", "description_en": "More words.", "capacity": 40},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert await OutboxMessage.filter(kind=CHANGED).count() == 0
    assert (await Session.get(id=session.id)).sequence == 0


async def test_a_draft_session_tells_nobody(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session()
    await _people(session, smtp_settings)
    await unpublish_session(session, actor=admin, settings=smtp_settings)
    moved = in_days(12, hour=14)
    answer = await smtp_client.patch(
        f"/api/v1/sessions/{session.id}",
        json={"starts_at": moved.isoformat(), "ends_at": (moved + timedelta(hours=2)).isoformat()},
        headers=await token_for(admin),
    )
    assert answer.status_code == 200, answer.text
    stored = await Session.get(id=session.id)
    assert stored.status == SessionStatus.DRAFT and stored.starts_at == moved
    assert await OutboxMessage.filter(kind=CHANGED).count() == 0


async def test_a_reminder_sent_for_the_old_time_goes_again_before_the_new_one(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    session = await make_session(
        starts_at=starts.isoformat(), ends_at=(starts + timedelta(hours=2)).isoformat()
    )
    await register_person(session, smtp_settings, email="seated@example.org")
    reminded_at = starts - timedelta(hours=20)
    assert await enqueue_due_reminders(smtp_settings, now=reminded_at) == 1

    moved = starts + timedelta(days=2)
    answer = await smtp_client.patch(
        f"/api/v1/sessions/{session.id}",
        json={"starts_at": moved.isoformat(), "ends_at": (moved + timedelta(hours=2)).isoformat()},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert await enqueue_due_reminders(smtp_settings, now=reminded_at) == 0  # not due yet
    assert await enqueue_due_reminders(smtp_settings, now=moved - timedelta(hours=20)) == 1
    reminders = await OutboxMessage.filter(kind="session_reminder_to_registrant")
    assert [m.to_address for m in reminders] == ["seated@example.org"] * 2


async def _calendars(client: httpx.AsyncClient, session: Session, manage: str) -> list[Event]:
    """The session's public file, its entry in the feed, and the registrant's own."""
    public = await client.get(f"/sessions/{session.id}/calendar.ics")
    feed = await client.get("/calendar.ics")
    own = await client.get(manage + "/calendar.ics")
    for answer in (public, feed, own):
        assert answer.status_code == 200, answer.url
    events = [_event(public.content), _event(own.content)]
    events += [
        e for e in Calendar.from_ical(feed.content).walk("VEVENT") if e["UID"] == events[0]["UID"]
    ]
    return events


def _seconds(moment: datetime) -> datetime:
    """As iCalendar writes a time: UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0)


def _stamp(event: Event) -> dict[str, Any]:
    return {
        "uid": str(event["UID"]),
        "sequence": event.decoded("SEQUENCE"),
        "last_modified": event.decoded("LAST-MODIFIED"),
        "start": event.decoded("DTSTART"),
    }


async def test_every_calendar_file_carries_sequence_and_last_modified(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    session = await make_session(title_en="Calendars")
    registered = await smtp_client.post(
        f"/api/v1/sessions/{session.id}/registrations",
        json={"chosen_name": "Dara", "email": "dara@example.org", "sector": "ngo",
              "consent": True},
    )  # fmt: skip
    manage = registered.json()["manage_url"].removeprefix("http://testserver")

    first = [_stamp(e) for e in await _calendars(smtp_client, session, manage)]
    assert len(first) == 3 and all(s == first[0] for s in first)
    assert first[0]["sequence"] == 0
    assert first[0]["last_modified"] == _seconds(session.updated_at)

    moved = in_days(9, hour=14)
    patch = {"starts_at": moved.isoformat(), "ends_at": (moved + timedelta(hours=2)).isoformat()}
    answer = await smtp_client.patch(f"/api/v1/sessions/{session.id}", json=patch, headers=headers)
    assert answer.status_code == 200, answer.text
    after = [_stamp(e) for e in await _calendars(smtp_client, session, manage)]
    assert all(s == after[0] for s in after)
    assert after[0]["uid"] == first[0]["uid"]
    assert after[0]["sequence"] == 1 and after[0]["start"] == moved.astimezone(PHNOM_PENH)
    stored = await Session.get(id=session.id)
    assert after[0]["last_modified"] == _seconds(stored.updated_at)

    renamed = await smtp_client.patch(
        f"/api/v1/sessions/{session.id}", json={"title_en": "Renamed"}, headers=headers
    )
    assert renamed.status_code == 200
    again = [_stamp(e) for e in await _calendars(smtp_client, session, manage)]
    assert again[0]["sequence"] == 1  # nothing a calendar must move
