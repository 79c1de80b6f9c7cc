"""Publishing trainings: topics, sessions and series. Every state change is one function here."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from attendees.models import Registration, RegistrationStatus
from attendees.registration import (
    notify_session_cancelled,
    notify_session_changed,
    promote_from_waitlist,
    remind_again,
)
from events.errors import SessionCancelled, SessionNotDeletable, SessionNotFound, TopicNotFound
from events.forms import (
    CancellationInput,
    SeriesInput,
    SeriesScope,
    SessionInput,
    parse_series,
    parse_session,
    session_values,
)
from events.models import (
    SLUG_MAX,
    TITLE_MAX,
    TOPIC_CODE_MAX,
    Audience,
    Series,
    Session,
    SessionStatus,
    Topic,
    new_slug,
)
from events.series import occurrences
from sala import audit, db
from sala.config import Settings
from sala.errors import PermissionDenied, ValidationFailed
from sala.i18n import N_
from sala.models import StaffUser

# ----------------------------------------------------------------------------- topics


async def list_topics(*, active_only: bool = False) -> list[Topic]:
    query = Topic.all()
    if active_only:
        query = query.filter(is_active=True)
    return await query


# What a topic's code can look like (the seeds: "sogie", "human_rights", …). Anything else,
# from a query string say, names no topic and never reaches the database, which would
# refuse a NUL or a text longer than the column with an error instead of an answer.
_TOPIC_CODE = re.compile(rf"[A-Za-z0-9_-]{{1,{TOPIC_CODE_MAX}}}")


async def topic_by_code(code: str) -> Topic | None:
    """The topic with this code, or None (also for any text that cannot be a code)."""
    return await Topic.get_or_none(code=code) if _TOPIC_CODE.fullmatch(code) else None


async def topic_codes() -> set[str]:
    return set(await Topic.filter(is_active=True).values_list("code", flat=True))  # type: ignore[arg-type]


async def session_input(raw: Mapping[str, Any], *, default_timezone: str) -> SessionInput:
    """Validate raw form or JSON values of a session against the active topics."""
    return parse_session(raw, default_timezone=default_timezone, topic_codes=await topic_codes())


async def series_input(raw: Mapping[str, Any], *, default_timezone: str) -> SeriesInput:
    return parse_series(raw, default_timezone=default_timezone, topic_codes=await topic_codes())


async def get_topic(topic_id: int) -> Topic:
    topic = await Topic.get_or_none(id=topic_id)
    if topic is None:
        raise TopicNotFound()
    return topic


async def update_topic(
    topic: Topic, *, name_en: str, name_km: str, is_active: bool, actor: StaffUser
) -> Topic:
    errors = {}
    for field, value in (("name_en", name_en), ("name_km", name_km)):
        if not value.strip():
            errors[field] = N_("This field is required.")
        elif len(value) > 120:
            errors[field] = N_("This is too long.")
    if errors:
        raise ValidationFailed(errors)
    async with in_transaction():
        topic.name_en = name_en.strip()
        topic.name_km = name_km.strip()
        topic.is_active = is_active
        await topic.save()
        await audit.record(actor, "topic.update", topic, {"is_active": is_active})
    return topic


# ----------------------------------------------------------------------------- reading sessions


async def list_public_sessions(
    *,
    topic_code: str | None = None,
    month: date | None = None,
    upcoming_only: bool = True,
    audience: Audience | None = Audience.PUBLIC,
    now: datetime | None = None,
) -> list[Session]:
    """Published sessions, soonest first; ``month`` is a calendar month in the session zone.

    Invite-only sessions are left out of public listings by default: their page is reached
    from an invitation, not advertised.
    """
    query = Session.filter(status=SessionStatus.PUBLISHED).select_related("topic")
    if audience is not None:
        query = query.filter(audience=audience)
    if upcoming_only:
        query = query.filter(ends_at__gte=now or datetime.now(UTC))
    if topic_code:
        if not _TOPIC_CODE.fullmatch(topic_code):
            return []
        query = query.filter(topic__code=topic_code)
    sessions = await query.order_by("starts_at", "id")
    if month is not None:
        sessions = [s for s in sessions if local_month(s) == (month.year, month.month)]
    return sessions


async def upcoming_months() -> list[date]:
    """The months that have an upcoming published session, for the month filter."""
    sessions = await list_public_sessions()
    return sorted({date(*local_month(s), 1) for s in sessions})


def local_month(session: Session) -> tuple[int, int]:
    """The (year, month) a session starts in, in its own time zone."""
    local = session.starts_at.astimezone(ZoneInfo(session.timezone))
    return local.year, local.month


_SHOWN = (SessionStatus.PUBLISHED, SessionStatus.CANCELLED)  # cancelled: old links still explain


async def get_public_session(session_id: int) -> Session:
    """A public session anyone may see by its id. An invite-only one is not found here, the
    same as a missing one: its page is reached only through its slug."""
    session = await (
        Session.filter(id=session_id, status__in=_SHOWN, audience=Audience.PUBLIC)
        .select_related("topic")
        .first()
    )
    if session is None:
        raise SessionNotFound()
    return session


_SLUG = re.compile(rf"[A-Za-z0-9_-]{{1,{SLUG_MAX}}}")


async def get_session_by_slug(slug: str) -> Session:
    """A published (or cancelled) session by the slug of its invite-only address. A session
    made public since keeps answering to it, so the invitations already sent still work."""
    session = None
    if _SLUG.fullmatch(slug):  # a NUL or other odd text never reaches the database
        session = await Session.filter(slug=slug, status__in=_SHOWN).select_related("topic").first()
    if session is None:
        raise SessionNotFound()
    return session


def runs_session(user: StaffUser, *, assigned: bool) -> bool:
    """**The** rule of who runs a session (sees its people, checks them in, issues their
    certificates): an admin, or a facilitator assigned to it. Every check below calls it."""
    return user.is_admin or assigned


async def _session_run_by(user: StaffUser, session_id: int) -> Session | None:
    """The session, if it exists and this staff member runs it; raises PermissionDenied if
    it exists and they do not."""
    session = await Session.filter(id=session_id).select_related("topic").first()
    if session is None:
        return None
    await session.fetch_related("facilitators")
    if not runs_session(user, assigned=any(f.id == user.id for f in session.facilitators)):
        raise PermissionDenied()
    return session


async def get_session_for_staff(user: StaffUser, session_id: int) -> Session:
    """Load a session for a staff member, refusing one they are not assigned to."""
    session = await _session_run_by(user, session_id)
    if session is None:
        raise SessionNotFound()
    return session


def session_access_steps(user: StaffUser, session_id: int) -> db.Steps[None]:
    """The check of :func:`get_session_for_staff` as one statement, for a transaction written
    as steps (check-in at the door): the same rule and the same errors, no ORM round trips."""
    row = yield db.Query(
        "SELECT EXISTS (SELECT 1 FROM session_facilitator f "
        "WHERE f.session_id = s.id AND f.staffuser_id = ?) AS assigned "
        'FROM "session" s WHERE s.id = ?',
        [user.id, session_id],
    )
    if row is None:
        raise SessionNotFound()
    if not runs_session(user, assigned=bool(row["assigned"])):
        raise PermissionDenied()


@dataclass(frozen=True)
class SessionView:
    """A session as one viewer may see it: ``by_staff`` when they run it (admin or facilitator),
    who alone see what only registrants get (the online link)."""

    session: Session
    by_staff: bool


async def get_session_for_viewer(user: StaffUser | None, session_id: int) -> SessionView:
    """Staff see their own sessions in any state; anyone else a public session by its id."""
    if user is not None:
        with contextlib.suppress(PermissionDenied):
            session = await _session_run_by(user, session_id)
            if session is not None:
                return SessionView(session, by_staff=True)
    return SessionView(await get_public_session(session_id), by_staff=False)


async def list_sessions_for_staff(user: StaffUser, *, include_past: bool = False) -> list[Session]:
    """The sessions this staff member runs (see :func:`runs_session`), as one query."""
    query = Session.all().select_related("topic").prefetch_related("facilitators")
    if not user.is_admin:
        query = query.filter(facilitators__id=user.id)
    if not include_past:
        query = query.filter(ends_at__gte=datetime.now(UTC) - timedelta(days=1))
    return await query.order_by("starts_at", "id")


@dataclass(frozen=True)
class Agenda:
    """A staff member's sessions by day: today's first (those running at any time of the
    day), then the upcoming ones, soonest first, then the past ones, latest first."""

    today: list[Session]
    upcoming: list[Session]
    past: list[Session]


def agenda(sessions: list[Session], *, zone: ZoneInfo, now: datetime | None = None) -> Agenda:
    """``sessions`` (soonest first) split by the day in ``zone``, the organisation's."""
    local_now = (now or datetime.now(UTC)).astimezone(zone)
    day_start = datetime.combine(local_now.date(), time(), tzinfo=zone)
    next_day = datetime.combine(local_now.date() + timedelta(days=1), time(), tzinfo=zone)
    today = [s for s in sessions if s.starts_at < next_day and s.ends_at >= day_start]
    upcoming = [s for s in sessions if s.starts_at >= next_day]
    past = [s for s in sessions if s.ends_at < day_start]
    return Agenda(today, upcoming, past[::-1])


# ----------------------------------------------------------------------------- changing sessions


async def _facilitators(ids: tuple[int, ...]) -> list[StaffUser]:
    if not ids:
        return []
    users = await StaffUser.filter(id__in=ids, is_active=True)
    if len(users) != len(ids):
        raise ValidationFailed({"facilitator_ids": N_("Choose active staff members.")})
    return users


def _session_fields(data: SessionInput) -> dict[str, Any]:
    """The model's fields of a session's input, times in UTC. Tortoise stores an aware time
    as given on an update, offset and all; on SQLite, whose times are text, a "+07:00" among
    UTC rows then sorts and compares wrongly (issue 13)."""
    fields = asdict(data)
    for name in ("topic_code", "facilitator_ids"):
        fields.pop(name)
    return {
        name: value.astimezone(UTC) if isinstance(value, datetime) else value
        for name, value in fields.items()
    }


async def create_session(
    data: SessionInput,
    *,
    actor: StaffUser | None,
    status: SessionStatus = SessionStatus.DRAFT,
    series: Series | None = None,
) -> Session:
    topic = await Topic.get_or_none(code=data.topic_code)
    if topic is None:
        raise ValidationFailed({"topic": N_("Choose one of the options.")})
    facilitators = await _facilitators(data.facilitator_ids)
    async with in_transaction():
        session = await Session.create(
            topic=topic, series=series, status=status, **_session_fields(data)
        )
        if facilitators:
            await session.facilitators.add(*facilitators)
        await audit.record(actor, "session.create", session, {"status": status.value})
    session.topic = topic
    return session


# What the people registered are told of when it changes; each change raises the session's
# iCalendar SEQUENCE. Title, description or capacity alone tell nobody.
_TOLD = ("starts_at", "ends_at", "venue_name", "venue_address", "online_url")


def _told_json(changed: Mapping[str, Any]) -> dict[str, Any]:
    """The old values of what changed, for the email's params: times in ISO 8601; of the
    online link only whether there was one, so the outbox keeps no meeting link."""
    was: dict[str, Any] = {}
    for name, old in changed.items():
        if name == "online_url":
            was[name] = bool(old)
        elif isinstance(old, datetime):
            was[name] = old.astimezone(UTC).isoformat()
        else:
            was[name] = old
    return was


async def update_session(
    session: Session, data: SessionInput, *, actor: StaffUser, settings: Settings
) -> Session:
    """Change a session. Raising the capacity promotes people from the waitlist at once.

    When a published session's time, end, venue or online link changes, everyone confirmed
    or waiting is emailed what changed (with the new calendar file), and a reminder already
    sent for the old start goes again before the new one.
    """
    if session.status == SessionStatus.CANCELLED:
        raise SessionCancelled()
    topic = await Topic.get_or_none(code=data.topic_code)
    if topic is None:
        raise ValidationFailed({"topic": N_("Choose one of the options.")})
    facilitators = await _facilitators(data.facilitator_ids)
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session.id)
        locked = await Session.get(id=session.id)
        if data.capacity < locked.confirmed_count:
            raise ValidationFailed(
                {"capacity": N_("More people are already confirmed than this capacity.")}
            )
        before = {name: getattr(locked, name) for name in _TOLD}
        for name, value in _session_fields(data).items():
            setattr(locked, name, value)
        changed = {name: old for name, old in before.items() if getattr(locked, name) != old}
        if changed:
            locked.sequence += 1
        if locked.slug is None:  # a row written without the ORM: its invite-only address
            locked.slug = new_slug()
        locked.topic = topic
        await locked.save()
        await locked.facilitators.clear()
        if facilitators:
            await locked.facilitators.add(*facilitators)
        if "starts_at" in changed:
            await remind_again(locked.id)
        told = 0
        if changed and locked.status == SessionStatus.PUBLISHED:
            told = await notify_session_changed(
                locked.id, was=_told_json(changed), settings=settings
            )
        await audit.record(
            actor, "session.update", locked, {"changed": sorted(changed), "people_told": told}
        )
        promoted = await promote_from_waitlist(locked.id, settings=settings)
    locked.topic = topic
    locked.confirmed_count += len(promoted)
    return locked


async def update_series_from(
    session: Session, data: SessionInput, *, actor: StaffUser, settings: Settings
) -> list[Session]:
    """Apply one session's edit to it and to every later session of its series not cancelled,
    in one transaction: all change or none.

    Only what this edit changed is carried over, so a later session's own venue or text stays
    unless this edit changed it. A new time moves each later session by as many days as this
    one moved, to its new time of day (wall-clock time, like the rule). Each is then changed
    like any session, so its people are told.
    """
    await session.fetch_related("topic", "facilitators")
    before = await session_input(session_values(session), default_timezone=session.timezone)
    times = {"starts_at", "ends_at", "registration_opens_at", "registration_closes_at"}
    carried = {
        name: value
        for name, value in asdict(data).items()
        if name not in times and value != getattr(before, name)
    }
    retimed = any(getattr(data, name) != getattr(before, name) for name in times)
    zone = ZoneInfo(data.timezone)
    new_start = data.starts_at.astimezone(zone)
    day_shift = new_start.date() - before.starts_at.astimezone(ZoneInfo(before.timezone)).date()

    def moved(moment: datetime | None, start: datetime) -> datetime | None:
        return None if moment is None else start + (moment - data.starts_at)

    updated: list[Session] = []
    async with in_transaction():
        for target in await sessions_in_scope(session, SeriesScope.THIS_AND_LATER):
            if target.id == session.id:
                target_data = data
            else:
                await target.fetch_related("topic", "facilitators")
                own = await session_input(session_values(target), default_timezone=target.timezone)
                target_data = replace(own, **carried)
                if retimed:
                    local = target.starts_at.astimezone(ZoneInfo(target.timezone))
                    start = datetime.combine(local.date() + day_shift, new_start.time(), zone)
                    target_data = replace(
                        target_data,
                        starts_at=start,
                        ends_at=start + (data.ends_at - data.starts_at),
                        registration_opens_at=moved(data.registration_opens_at, start),
                        registration_closes_at=moved(data.registration_closes_at, start),
                    )
            updated.append(
                await update_session(target, target_data, actor=actor, settings=settings)
            )
    return updated


_STATUS_AUDIT = {
    SessionStatus.PUBLISHED: "session.publish",
    SessionStatus.DRAFT: "session.unpublish",
    SessionStatus.CANCELLED: "session.cancel",
}


async def change_status(
    session: Session, status: SessionStatus, *, actor: StaffUser, settings: Settings
) -> Session:
    """Publish, unpublish or cancel; a cancelled session stays cancelled."""
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session.id)
        locked = await Session.get(id=session.id)
        if locked.status == SessionStatus.CANCELLED and status != SessionStatus.CANCELLED:
            raise SessionCancelled()
        if status == SessionStatus.CANCELLED:
            await _cancel_locked(locked, message="", actor=actor, settings=settings)
        elif locked.status != status:
            locked.status = status
            await locked.save(update_fields=["status", "updated_at"])
            await audit.record(actor, _STATUS_AUDIT[status], locked)
    session.status = status
    return session


async def _cancel_locked(
    locked: Session, *, message: str, actor: StaffUser, settings: Settings
) -> bool:
    """Cancel a session whose row the caller has locked, and queue the emails telling
    everyone confirmed or waiting. False when it was cancelled already."""
    if locked.status == SessionStatus.CANCELLED:
        return False
    locked.status = SessionStatus.CANCELLED
    locked.sequence += 1  # calendars that hold the event apply its STATUS:CANCELLED
    await locked.save(update_fields=["status", "sequence", "updated_at"])
    told = await notify_session_cancelled(locked.id, settings=settings, message=message)
    await audit.record(
        actor, "session.cancel", locked, {"people_told": told, "with_message": bool(message)}
    )
    return True


@dataclass(frozen=True)
class PeopleToTell:
    """How many confirmed or waiting people a change reaches, and how many of them have no
    email address (they registered by phone: staff must call them)."""

    by_email: int
    without_email: int


async def people_to_tell(session_ids: list[int]) -> PeopleToTell:
    registrations = Registration.filter(
        session_id__in=session_ids,
        status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED],
    )
    total = await registrations.count()
    without_email = await registrations.filter(email="").count()
    return PeopleToTell(by_email=total - without_email, without_email=without_email)


async def sessions_in_scope(session: Session, scope: SeriesScope) -> list[Session]:
    """The session alone, or it and every later session of its series not cancelled yet."""
    if scope == SeriesScope.THIS or session.series_id is None:
        return [session]
    return await Session.filter(
        series_id=session.series_id, starts_at__gte=session.starts_at
    ).exclude(status=SessionStatus.CANCELLED)


async def cancel_sessions(
    session: Session, cancellation: CancellationInput, *, actor: StaffUser, settings: Settings
) -> list[Session]:
    """Cancel a session, or it and the later ones of its series, in one transaction; everyone
    confirmed or waiting gets an email with the staff's message. Returns those cancelled now."""
    targets = await sessions_in_scope(session, cancellation.scope)
    cancelled: list[Session] = []
    async with in_transaction() as connection:
        for target in targets:
            await db.lock_row(connection, "session", target.id)
            locked = await Session.get(id=target.id)
            if await _cancel_locked(
                locked, message=cancellation.message, actor=actor, settings=settings
            ):
                cancelled.append(locked)
    session.status = SessionStatus.CANCELLED
    return cancelled


async def delete_draft_session(session: Session, *, actor: StaffUser) -> None:
    """Delete a draft nobody registered for (a mistake, a duplicate). A series left without
    sessions goes with it."""
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session.id)
        locked = await Session.get_or_none(id=session.id)
        if locked is None:
            raise SessionNotFound()
        if (
            locked.status != SessionStatus.DRAFT
            or await Registration.filter(session_id=locked.id).exists()
        ):
            raise SessionNotDeletable()
        await audit.record(actor, "session.delete", locked, {"series_id": locked.series_id})
        series_id = locked.series_id
        await locked.delete()
        if series_id is not None and not await Session.filter(series_id=series_id).exists():
            await Series.filter(id=series_id).delete()


async def publish_session(session: Session, *, actor: StaffUser, settings: Settings) -> Session:
    return await change_status(session, SessionStatus.PUBLISHED, actor=actor, settings=settings)


async def unpublish_session(session: Session, *, actor: StaffUser, settings: Settings) -> Session:
    return await change_status(session, SessionStatus.DRAFT, actor=actor, settings=settings)


async def is_deletable(session: Session) -> bool:
    return (
        session.status == SessionStatus.DRAFT
        and not await Registration.filter(session_id=session.id).exists()
    )


async def series_sessions(session: Session) -> list[Session]:
    """Every session of the session's series, in order (none when it has no series)."""
    if session.series_id is None:
        return []
    return await Session.filter(series_id=session.series_id)


async def public_series_dates(session: Session) -> list[Session]:
    """The other upcoming published sessions of a public session's series, for its public
    page. An invite-only session lists none: the others' pages are for their invitees."""
    if session.series_id is None or session.is_invite_only:
        return []
    return await Session.filter(
        series_id=session.series_id,
        status=SessionStatus.PUBLISHED,
        audience=Audience.PUBLIC,
        ends_at__gte=datetime.now(UTC),
    ).exclude(id=session.id)


# The status buttons of the staff page and the API actions, by the name in their URL.
# Cancelling has its own routes: it asks first and carries a message (``cancel_sessions``).
STATUS_ACTIONS: dict[str, Callable[..., Awaitable[Session]]] = {
    "publish": publish_session,
    "unpublish": unpublish_session,
}


async def create_series(
    data: SeriesInput, *, actor: StaffUser | None
) -> tuple[Series, list[Session]]:
    """Generate every session of a series; each can then be edited or cancelled on its own."""
    template = data.template
    starts = occurrences(data.rrule, template.starts_at, data.months)
    duration = template.ends_at - template.starts_at
    topic = await Topic.get_or_none(code=template.topic_code)
    if topic is None:
        raise ValidationFailed({"topic": N_("Choose one of the options.")})
    facilitators = await _facilitators(template.facilitator_ids)
    sessions: list[Session] = []
    async with in_transaction():
        series = await Series.create(
            topic=topic,
            title_en=template.title_en[:TITLE_MAX],
            title_km=template.title_km[:TITLE_MAX],
            rrule=data.rrule,
            first_start=template.starts_at,
            duration_minutes=int(duration.total_seconds() // 60),
            months=data.months,
        )
        for start in starts:
            shift = start - template.starts_at
            session = await Session.create(
                topic=topic,
                series=series,
                status=data.status,
                **{
                    **_session_fields(template),
                    "starts_at": start.astimezone(UTC),
                    "ends_at": (start + duration).astimezone(UTC),
                    "registration_opens_at": _shifted(template.registration_opens_at, shift),
                    "registration_closes_at": _shifted(template.registration_closes_at, shift),
                },
            )
            if facilitators:
                await session.facilitators.add(*facilitators)
            sessions.append(session)
        await audit.record(actor, "series.create", series, {"sessions": len(sessions)})
    return series, sessions


def _shifted(moment: datetime | None, shift: timedelta) -> datetime | None:
    return (moment + shift).astimezone(UTC) if moment is not None else None
