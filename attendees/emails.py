"""The emails of registrations, composed at send time in the registrant's language.

Templates are ``templates/email/<kind>.txt`` and ``.html``, named by trigger and recipient.
In discreet mode (``SALA_DISCREET_MAIL``, on by default) subjects never carry the training's
title or topic, so a lock screen or a shared inbox shows nothing about LGBT trainings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    }
    attachments: list[Attachment] = []
    with_ticket = (
        message.kind in WITH_TICKET and registration.status == RegistrationStatus.CONFIRMED
    )
    context["with_ticket"] = with_ticket
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
    window. The conditional update makes it once only, even with several workers."""
    now = now or datetime.now(UTC)
    due = await Registration.filter(
        status=RegistrationStatus.CONFIRMED,
        reminder_sent_at=None,
        anonymised_at=None,
        email__not="",
        session__status=SessionStatus.PUBLISHED,
        session__starts_at__gt=now,
        session__starts_at__lte=now + timedelta(hours=settings.reminder_hours),
    )
    queued = 0
    for registration in due:
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
    INVITATION_MAIL: compose_invitation,
    reg.CLAIM_MAIL: compose_claim,
    people.LINKS_MAIL: compose_links,
}
