"""Validation of session and series input, shared by the staff pages and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from events.models import MAX_CAPACITY, TITLE_MAX, Audience, Session, SessionStatus
from sala.errors import ValidationFailed
from sala.forms import FieldReader
from sala.i18n import N_

DESCRIPTION_MAX = 20_000
MAX_SESSION_LENGTH = timedelta(days=14)
MAX_SERIES_SESSIONS = 36
MAX_SERIES_MONTHS = 36


@dataclass(frozen=True)
class SessionInput:
    topic_code: str
    title_en: str
    title_km: str
    description_en: str
    description_km: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue_name: str
    venue_address: str
    venue_map_url: str
    online_url: str
    capacity: int
    audience: Audience
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    facilitator_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class SeriesInput:
    """The parts of a session every occurrence shares, plus the rule that repeats it."""

    template: SessionInput
    rrule: str
    months: int
    status: SessionStatus


def _read_zone(reader: FieldReader, default: str) -> ZoneInfo:
    name = reader.text("timezone", max_length=64) or default
    if "timezone" in reader.errors:
        return ZoneInfo(default)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        reader.fail("timezone", N_("Unknown time zone."))
        return ZoneInfo(default)


def _read_venue(reader: FieldReader) -> tuple[str, str, str]:
    venue = reader.raw.get("venue")
    name = reader.text("venue_name", max_length=200)
    address = reader.text("venue_address", max_length=500)
    map_url = reader.url("venue_map_url")
    if isinstance(venue, str) and not name:
        name = venue.strip()[:200]
    elif isinstance(venue, Mapping):
        sub = FieldReader(venue)
        name = name or sub.text("name", max_length=200)
        address = address or sub.text("address", max_length=500)
        map_url = map_url or sub.url("map_url")
        for key in sub.errors:
            reader.fail("venue", sub.errors[key])
    return name, address, map_url


def parse_session(
    raw: Mapping[str, Any], *, default_timezone: str, topic_codes: set[str]
) -> SessionInput:
    reader = FieldReader(raw)
    zone = _read_zone(reader, default_timezone)
    topic_code = reader.choice("topic", tuple(sorted(topic_codes)) or ("",))
    title_en = reader.text("title_en", max_length=TITLE_MAX)
    title_km = reader.text("title_km", max_length=TITLE_MAX)
    if not title_en and not title_km and "title_en" not in reader.errors:
        reader.fail("title_en", N_("Give the training a title in Khmer or English."))
    starts_at = reader.moment("starts_at", tz=zone, required=True)
    ends_at = reader.moment("ends_at", tz=zone, required=True)
    if starts_at and ends_at:
        if ends_at <= starts_at:
            reader.fail("ends_at", N_("The end must be after the start."))
        elif ends_at - starts_at > MAX_SESSION_LENGTH:
            reader.fail("ends_at", N_("A session can last at most 14 days."))
    venue_name, venue_address, venue_map_url = _read_venue(reader)
    online_url = reader.url("online_url")
    if not venue_name and not online_url and "online_url" not in reader.errors:
        reader.fail("venue_name", N_("Give a venue or an online link."))
    opens = reader.moment("registration_opens_at", tz=zone)
    closes = reader.moment("registration_closes_at", tz=zone)
    if opens and closes and closes <= opens:
        reader.fail("registration_closes_at", N_("Registration must close after it opens."))
    if closes and ends_at and closes > ends_at:
        reader.fail("registration_closes_at", N_("Registration must close before the end."))
    data = SessionInput(
        topic_code=topic_code,
        title_en=title_en,
        title_km=title_km,
        description_en=reader.text("description_en", max_length=DESCRIPTION_MAX, multiline=True),
        description_km=reader.text("description_km", max_length=DESCRIPTION_MAX, multiline=True),
        starts_at=starts_at or datetime.min,
        ends_at=ends_at or datetime.min,
        timezone=zone.key,
        venue_name=venue_name,
        venue_address=venue_address,
        venue_map_url=venue_map_url,
        online_url=online_url,
        capacity=reader.integer("capacity", minimum=1, maximum=MAX_CAPACITY),
        audience=Audience(reader.choice("audience", tuple(Audience), default=Audience.PUBLIC)),
        registration_opens_at=opens,
        registration_closes_at=closes,
        facilitator_ids=reader.ids("facilitator_ids"),
    )
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return data


def parse_series(
    raw: Mapping[str, Any], *, default_timezone: str, topic_codes: set[str]
) -> SeriesInput:
    """A series: the first session's fields, an RRULE and how many months to generate."""
    errors: dict[str, str] = {}
    try:
        template = parse_session(raw, default_timezone=default_timezone, topic_codes=topic_codes)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        template = None
    reader = FieldReader(raw)
    rrule = reader.text("rrule", max_length=500, required=True).upper().removeprefix("RRULE:")
    months = reader.integer("months", minimum=1, maximum=MAX_SERIES_MONTHS)
    status = reader.choice(
        "status", (SessionStatus.DRAFT, SessionStatus.PUBLISHED), default=SessionStatus.DRAFT
    )
    errors.update(reader.errors)
    if errors or template is None:
        raise ValidationFailed(errors)
    return SeriesInput(template=template, rrule=rrule, months=months, status=SessionStatus(status))


def session_values(session: Session) -> dict[str, Any]:
    """A session as raw form values (local times without offset), to edit or to patch.

    Needs ``topic`` and ``facilitators`` fetched.
    """
    zone = ZoneInfo(session.timezone)

    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""

    return {
        "topic": session.topic.code,
        "title_en": session.title_en,
        "title_km": session.title_km,
        "description_en": session.description_en,
        "description_km": session.description_km,
        "starts_at": local(session.starts_at),
        "ends_at": local(session.ends_at),
        "timezone": session.timezone,
        "venue_name": session.venue_name,
        "venue_address": session.venue_address,
        "venue_map_url": session.venue_map_url,
        "online_url": session.online_url,
        "capacity": str(session.capacity),
        "audience": session.audience.value,
        "registration_opens_at": local(session.registration_opens_at),
        "registration_closes_at": local(session.registration_closes_at),
        "facilitator_ids": [str(f.id) for f in session.facilitators],
    }


CANCEL_MESSAGE_MAX = 2_000


class SeriesScope(StrEnum):
    """Which sessions of a series a change or a cancellation applies to."""

    THIS = "this"
    THIS_AND_LATER = "later"


@dataclass(frozen=True)
class CancellationInput:
    message: str
    scope: SeriesScope


def parse_scope(raw: Mapping[str, Any]) -> SeriesScope:
    """Which sessions of a series a change or a cancellation applies to (default: this one)."""
    reader = FieldReader(raw)
    scope = reader.choice("scope", tuple(SeriesScope), default=SeriesScope.THIS)
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return SeriesScope(scope)


def parse_cancellation(raw: Mapping[str, Any]) -> CancellationInput:
    """The staff's optional message to the people told, and which sessions to cancel."""
    reader = FieldReader(raw)
    message = reader.text("message", max_length=CANCEL_MESSAGE_MAX, multiline=True)
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return CancellationInput(message=message, scope=parse_scope(raw))


def parse_status(
    raw: Mapping[str, Any], *, allowed: tuple[SessionStatus, ...], default: SessionStatus | None
) -> SessionStatus | None:
    """The ``status`` field of an API body, when a client sets it directly."""
    reader = FieldReader(raw)
    value = reader.choice("status", tuple(allowed), default=default.value if default else "")
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return SessionStatus(value) if value else None
