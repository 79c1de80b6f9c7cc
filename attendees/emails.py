"""The emails of registrations, composed at send time in the registrant's language.

Templates are ``templates/email/<kind>.txt`` and ``.html``, named by trigger and recipient.
In discreet mode (``SALA_DISCREET_MAIL``, on by default) subjects never carry the training's
title or topic, so a lock screen or a shared inbox shows nothing about LGBT trainings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from attendees import people
from attendees import registration as reg
from attendees.invitations import INVITATION_MAIL
from attendees.manage import manage_url
from attendees.models import Invitation, Person, Registration, RegistrationStatus
from checkin.tickets import ticket_for
from events.calendar import registrant_calendar_bytes
from events.models import Session, SessionStatus
from learning.attempts import pre_test_url
from sala import mail
from sala.config import Settings
from sala.i18n import N_, gettext
from sala.mail import Attachment, ComposedEmail, Composer, MessageObsolete
from sala.models import OutboxMessage
from sala.qrcodes import qr_png

REMINDER_MAIL = "session_reminder_to_registrant"

# kind: (discreet subject, subject with the title)
SUBJECTS = {
    reg.CONFIRMED_MAIL: (
        N_("Your registration is confirmed"),
        N_("Registration confirmed: %(title)s"),
    ),
    reg.WAITLISTED_MAIL: (
        N_("You are on the waiting list"),
        N_("Waiting list: %(title)s"),
    ),
    reg.PROMOTED_MAIL: (
        N_("A seat is now yours"),
        N_("A seat is now yours: %(title)s"),
    ),
    reg.CANCELLED_MAIL: (
        N_("Your registration has been cancelled"),
        N_("Registration cancelled: %(title)s"),
    ),
    reg.SESSION_CANCELLED_MAIL: (
        N_("A training you registered for is cancelled"),
        N_("Cancelled: %(title)s"),
    ),
    REMINDER_MAIL: (
        N_("Reminder: your training starts soon"),
        N_("Reminder: %(title)s"),
    ),
    reg.SESSION_CHANGED_MAIL: (
        N_("A training you registered for has changed"),
        N_("Changed: %(title)s"),
    ),
    reg.WITHDRAWN_MAIL: (
        N_("You have cancelled your registration"),
        N_("You have cancelled: %(title)s"),
    ),
    INVITATION_MAIL: (
        N_("You are invited to a training"),
        N_("Invitation: %(title)s"),
    ),
}
# Neither names a training, discreet or not: they go to whoever holds the address.
CLAIM_SUBJECT = N_("Did you just register with Sala?")
LINKS_SUBJECT = N_("Your links to your registrations")

WITH_TICKET = {reg.CONFIRMED_MAIL, reg.PROMOTED_MAIL, REMINDER_MAIL}


def _subject(kind: str, session: Session, settings: Settings) -> str:
    discreet, titled = SUBJECTS[kind]
    if settings.discreet_mail:
        return gettext(discreet)
    return gettext(titled, title=session.title)


async def compose_for_registration(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    registration = (
        await Registration.filter(id=message.params.get("registration_id"), anonymised_at=None)
        .select_related("session", "session__topic")
        .first()
    )
    if registration is None:
        raise MessageObsolete()
    session: Session = registration.session
    context = {
        "registration": registration,
        "session": session,
        "zone": ZoneInfo(session.timezone),
        "manage_url": manage_url(registration, settings),
        "waitlist_position": await reg.waitlist_position(registration),
        "settings": settings,
        "staff_message": str(message.params.get("staff_message") or ""),
        "left_waitlist": message.params.get("was") == RegistrationStatus.WAITLISTED.value,
    }
    attachments: list[Attachment] = []
    with_ticket = (
        message.kind in WITH_TICKET and registration.status == RegistrationStatus.CONFIRMED
    )
    context["with_ticket"] = with_ticket
    context["pre_test_url"] = (
        await pre_test_url(registration, settings, datetime.now(UTC))
        if message.kind == reg.CONFIRMED_MAIL
        else ""
    )
    if with_ticket:
        attachments.append(
            Attachment(
                "ticket.png",
                "image/png",
                qr_png(await ticket_for(registration, settings.data_dir)),
                inline_cid="ticket",
            )
        )
        attachments.append(
            Attachment(
                "training.ics",
                "text/calendar",
                registrant_calendar_bytes(session, base_url=settings.base_url),
            )
        )
    text, html = mail.render_parts(message.kind, context)
    return ComposedEmail(_subject(message.kind, session, settings), text, html, attachments)


@dataclass(frozen=True)
class SessionChange:
    """What differs between a session now and the old values an email was queued with
    (``reg.notify_session_changed``): each old value, or None where nothing differs."""

    old_starts_at: datetime | None
    old_ends_at: datetime | None
    old_venue: str | None
    venue: str
    online: str | None  # "added", "changed" or "removed"

    @property
    def moved(self) -> bool:
        return self.old_starts_at is not None

    @property
    def anything(self) -> bool:
        return self.moved or self.old_venue is not None or self.online is not None


def _venue(name: str, address: str) -> str:
    return ", ".join(part for part in (name, address) if part)


def _old_moment(was: Mapping[str, Any], name: str, now: datetime) -> datetime:
    value = was.get(name)
    return datetime.fromisoformat(value) if isinstance(value, str) else now


def _session_change(session: Session, was: Mapping[str, Any]) -> SessionChange:
    """Compared with the session as it is when the email goes: a second change made before
    then is in it too, and a change undone meanwhile is not."""
    starts = _old_moment(was, "starts_at", session.starts_at)
    ends = _old_moment(was, "ends_at", session.ends_at)
    moved = (starts, ends) != (session.starts_at, session.ends_at)
    venue = _venue(
        str(was.get("venue_name", session.venue_name)),
        str(was.get("venue_address", session.venue_address)),
    )
    online = None
    if "online_url" in was:
        had, has = bool(was["online_url"]), bool(session.online_url)
        online = {(False, True): "added", (True, True): "changed", (True, False): "removed"}.get(
            (had, has)
        )
    now = _venue(session.venue_name, session.venue_address)
    return SessionChange(
        old_starts_at=starts if moved else None,
        old_ends_at=ends if moved else None,
        old_venue=venue if venue != now else None,
        venue=now,
        online=online,
    )


async def compose_session_changed(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    """What changed, old and new, and the session as it is now; a confirmed seat gets the new
    calendar file (with the online link, like its confirmation)."""
    registration = (
        await Registration.filter(
            id=message.params.get("registration_id"),
            anonymised_at=None,
            status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED],
        )
        .select_related("session", "session__topic")
        .first()
    )
    was = message.params.get("was")
    if registration is None or not isinstance(was, dict):
        raise MessageObsolete()
    session: Session = registration.session
    change = _session_change(session, was)
    if session.status != SessionStatus.PUBLISHED or not change.anything:
        raise MessageObsolete()
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    context = {
        "registration": registration,
        "session": session,
        "zone": ZoneInfo(session.timezone),
        "manage_url": manage_url(registration, settings),
        "waitlist_position": await reg.waitlist_position(registration),
        "settings": settings,
        "change": change,
        "with_calendar": confirmed,
    }
    attachments = []
    if confirmed:
        calendar = registrant_calendar_bytes(session, base_url=settings.base_url)
        attachments.append(Attachment("training.ics", "text/calendar", calendar))
    text, html = mail.render_parts(message.kind, context)
    return ComposedEmail(_subject(message.kind, session, settings), text, html, attachments)


async def compose_invitation(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    invitation = (
        await Invitation.filter(id=message.params.get("invitation_id"), revoked_at=None)
        .select_related("session", "session__topic")
        .first()
    )
    if invitation is None:
        raise MessageObsolete()
    session: Session = invitation.session
    context = {
        "invitation": invitation,
        "session": session,
        "zone": ZoneInfo(session.timezone),
        "settings": settings,
    }
    text, html = mail.render_parts(INVITATION_MAIL, context)
    return ComposedEmail(_subject(INVITATION_MAIL, session, settings), text, html)


async def compose_claim(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    """Asks the holder of an email whether a new registration with it was theirs."""
    registration = (
        await Registration.filter(id=message.params.get("registration_id"), anonymised_at=None)
        .select_related("session", "session__topic")
        .first()
    )
    person_id = message.params.get("person_id")
    if registration is None or not isinstance(person_id, int):
        raise MessageObsolete()
    earlier = await Registration.filter(
        session_id=registration.session.id,
        person_id=person_id,
        anonymised_at=None,
        status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED],
    ).first()
    context = {
        "join_url": people.claim_url(registration, person_id, settings),
        "earlier_url": manage_url(earlier, settings) if earlier else None,
        "settings": settings,
    }
    text, html = mail.render_parts(message.kind, context)
    return ComposedEmail(gettext(CLAIM_SUBJECT), text, html)


async def compose_links(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    person = await Person.get_or_none(id=message.params.get("person_id"))
    if person is None or not person.email:
        raise MessageObsolete()
    context = {"person_url": people.person_url(person, settings), "settings": settings}
    text, html = mail.render_parts(message.kind, context)
    return ComposedEmail(gettext(LINKS_SUBJECT), text, html)


async def enqueue_due_reminders(settings: Settings, now: datetime | None = None) -> int:
    """Queue one reminder per confirmed attendee of sessions starting within the reminder
    window. The conditional update makes it once only, even with several workers. Whoever
    registered after the reminder was due gets none: their confirmation has just told them."""
    now = now or datetime.now(UTC)
    window = timedelta(hours=settings.reminder_hours)
    due = await Registration.filter(
        status=RegistrationStatus.CONFIRMED,
        reminder_sent_at=None,
        anonymised_at=None,
        email__not="",
        session__status=SessionStatus.PUBLISHED,
        session__starts_at__gt=now,
        session__starts_at__lte=now + window,
    ).select_related("session")
    queued = 0
    for registration in due:
        if registration.created_at >= registration.session.starts_at - window:
            continue
        async with in_transaction():
            claimed = await Registration.filter(id=registration.id, reminder_sent_at=None).update(
                reminder_sent_at=now
            )
            if claimed:
                await mail.enqueue(
                    REMINDER_MAIL,
                    to=registration.email,
                    language=registration.language,
                    params={"registration_id": registration.id},
                    domain=settings.domain,
                )
                queued += 1
    return queued


COMPOSERS: dict[str, Composer] = {
    reg.CONFIRMED_MAIL: compose_for_registration,
    reg.WAITLISTED_MAIL: compose_for_registration,
    reg.PROMOTED_MAIL: compose_for_registration,
    reg.CANCELLED_MAIL: compose_for_registration,
    reg.SESSION_CANCELLED_MAIL: compose_for_registration,
    REMINDER_MAIL: compose_for_registration,
    reg.SESSION_CHANGED_MAIL: compose_session_changed,
    reg.WITHDRAWN_MAIL: compose_for_registration,
    INVITATION_MAIL: compose_invitation,
    reg.CLAIM_MAIL: compose_claim,
    people.LINKS_MAIL: compose_links,
}

# Each kind in words, for the staff outbox (tests/sala/test_outbox_page.py: one per composer).
NAMES: dict[str, str] = {
    reg.CONFIRMED_MAIL: N_("Registration confirmed"),
    reg.WAITLISTED_MAIL: N_("On the waiting list"),
    reg.PROMOTED_MAIL: N_("Seat from the waiting list"),
    reg.CANCELLED_MAIL: N_("Registration cancelled"),
    reg.SESSION_CANCELLED_MAIL: N_("Training cancelled"),
    REMINDER_MAIL: N_("Reminder before the training"),
    reg.SESSION_CHANGED_MAIL: N_("Training changed"),
    reg.WITHDRAWN_MAIL: N_("Cancelled by the registrant"),
    INVITATION_MAIL: N_("Invitation"),
    reg.CLAIM_MAIL: N_("Was this registration yours?"),
    people.LINKS_MAIL: N_("Links to one's registrations"),
}
