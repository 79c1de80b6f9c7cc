"""The learning package's email: the request for feedback, after a session, to those who came.

:func:`enqueue_due_feedback_requests` (a worker job, every round) queues one
``feedback_request_to_registrant`` per checked-in, confirmed, not anonymised registration with
an email, at a published session that ended within :data:`REQUEST_DAYS` days. "Once" is read
from the outbox itself (no column of ``Registration`` says it; the models stay as they are):
a registration is asked when no message of this kind names it in its ``params``. A round
that finds nobody to ask takes no lock; otherwise each session's asking runs in one
transaction under the session's lock, which re-reads the outbox, so two workers ask once.

The message names the registration (to compose it), like every registrant email, and is
never changed by an answer: its status says nothing about who answered, and the email never
holds an answer. It links to the feedback page through the manage token, made when composed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from attendees.manage import manage_token, manage_url
from attendees.models import Registration, RegistrationStatus
from events.models import Session, SessionStatus
from learning.feedback import closes_at
from sala import db, links, mail
from sala.config import Settings
from sala.i18n import N_, gettext
from sala.mail import ComposedEmail, Composer, MessageObsolete
from sala.models import OutboxMessage

FEEDBACK_MAIL = "feedback_request_to_registrant"
REQUEST_DAYS = 7  # sessions that ended longer ago are not asked any more
# How much earlier than the session's end a request may have been queued, by a worker whose
# clock runs ahead: the outbox is searched that far back.
CLOCK_MARGIN = timedelta(days=1)

# (discreet subject, subject with the title)
SUBJECTS = (N_("How was your training?"), N_("Your feedback on %(title)s"))


async def compose_feedback_request(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    """Whether they answered meanwhile is not looked at: the message's fate would tell."""
    registration = (
        await Registration.filter(id=message.params.get("registration_id"), anonymised_at=None)
        .select_related("session", "session__topic")
        .first()
    )
    if registration is None or registration.session.status == SessionStatus.CANCELLED:
        raise MessageObsolete()
    session: Session = registration.session
    token = manage_token(registration, settings)
    context = {
        "registration": registration,
        "session": session,
        "zone": ZoneInfo(session.timezone),
        "feedback_url": links.absolute_url(settings, "learning:feedback", token=token),
        "manage_url": manage_url(registration, settings),
        "closes_at": closes_at(session),
        "settings": settings,
    }
    text, html = mail.render_parts(FEEDBACK_MAIL, context)
    discreet, titled = SUBJECTS
    subject = gettext(discreet) if settings.discreet_mail else gettext(titled, title=session.title)
    return ComposedEmail(subject, text, html)


async def _asked(registration_ids: set[int], since: datetime) -> set[int]:
    """Which of these registrations have a feedback request in the outbox (queued after
    ``since``; ``next_attempt_at`` is indexed and never earlier than the queuing)."""
    found: set[int] = set()
    params = await OutboxMessage.filter(kind=FEEDBACK_MAIL, next_attempt_at__gte=since).values_list(
        "params", flat=True
    )
    for values in params:
        if isinstance(values, dict) and values.get("registration_id") in registration_ids:
            found.add(values["registration_id"])
    return found


def _due(session_ids: list[int]) -> QuerySet[Registration]:
    """Who is asked: checked in, confirmed, not anonymised, with an email."""
    return Registration.filter(
        session_id__in=session_ids,
        status=RegistrationStatus.CONFIRMED,
        checked_in_at__isnull=False,
        anonymised_at=None,
        email__not="",
    )


async def enqueue_due_feedback_requests(settings: Settings, now: datetime | None = None) -> int:
    """Queue the feedback request of everyone who came to a session that ended within
    :data:`REQUEST_DAYS` days and has not been asked; returns how many were queued."""
    now = now or datetime.now(UTC)
    ended = await Session.filter(
        status=SessionStatus.PUBLISHED,
        ends_at__lte=now,
        ends_at__gt=now - timedelta(days=REQUEST_DAYS),
    ).values("id", "ends_at")
    if not ended:
        return 0
    ends = {row["id"]: row["ends_at"] for row in ended}
    candidates = await _due(list(ends)).values("id", "session_id")
    if not candidates:
        return 0
    since = min(ends.values()) - CLOCK_MARGIN
    asked = await _asked({row["id"] for row in candidates}, since)
    waiting = {row["session_id"] for row in candidates if row["id"] not in asked}
    queued = 0
    for session_id in sorted(waiting):
        async with in_transaction() as connection:
            locked = await db.lock_row(connection, "session", session_id, ("id", "status"))
            if locked is None or locked["status"] != SessionStatus.PUBLISHED.value:
                continue
            due = await _due([session_id]).only("id", "email", "language")
            already = await _asked({r.id for r in due}, ends[session_id] - CLOCK_MARGIN)
            for registration in due:
                if registration.id in already:
                    continue
                await mail.enqueue(
                    FEEDBACK_MAIL,
                    to=registration.email,
                    language=registration.language,
                    params={"registration_id": registration.id},
                    domain=settings.domain,
                )
                queued += 1
    return queued


COMPOSERS: dict[str, Composer] = {FEEDBACK_MAIL: compose_feedback_request}

# Each kind in words, for the staff outbox.
NAMES: dict[str, str] = {FEEDBACK_MAIL: N_("Feedback request after the training")}
