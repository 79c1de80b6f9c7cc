"""Publishing trainings: topics, sessions and series. Every state change is one function here."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from attendees.registration import notify_session_cancelled, promote_from_waitlist
from events.errors import SessionCancelled, SessionNotFound, TopicNotFound
from events.forms import SeriesInput, SessionInput, parse_series, parse_session
from events.models import (
    SLUG_MAX,
    TITLE_MAX,
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


async def update_session(
    session: Session, data: SessionInput, *, actor: StaffUser, settings: Settings
) -> Session:
    """Change a session. Raising the capacity promotes people from the waitlist at once."""
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
        for name, value in _session_fields(data).items():
            setattr(locked, name, value)
        if locked.slug is None:  # a row written without the ORM: its invite-only address
            locked.slug = new_slug()
        locked.topic = topic
        await locked.save()
        await locked.facilitators.clear()
        if facilitators:
            await locked.facilitators.add(*facilitators)
        await audit.record(actor, "session.update", locked)
        promoted = await promote_from_waitlist(locked.id, settings=settings)
    locked.topic = topic
    locked.confirmed_count += len(promoted)
    return locked


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
        if locked.status != status:
            locked.status = status
            await locked.save(update_fields=["status", "updated_at"])
            await audit.record(actor, _STATUS_AUDIT[status], locked)
            if status == SessionStatus.CANCELLED:
                await notify_session_cancelled(locked.id, settings=settings)
    session.status = status
    return session


async def publish_session(session: Session, *, actor: StaffUser, settings: Settings) -> Session:
    return await change_status(session, SessionStatus.PUBLISHED, actor=actor, settings=settings)


async def unpublish_session(session: Session, *, actor: StaffUser, settings: Settings) -> Session:
    return await change_status(session, SessionStatus.DRAFT, actor=actor, settings=settings)


async def cancel_session(session: Session, *, actor: StaffUser, settings: Settings) -> Session:
    """Cancel a session; everyone confirmed or waiting is told by email."""
    return await change_status(session, SessionStatus.CANCELLED, actor=actor, settings=settings)


# The status buttons of the staff page and the API actions, by the name in their URL.
STATUS_ACTIONS: dict[str, Callable[..., Awaitable[Session]]] = {
    "publish": publish_session,
    "unpublish": unpublish_session,
    "cancel": cancel_session,
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
