"""The JSON shape of topics and sessions, and its OpenAPI description (one place for both)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from events.forms import CANCEL_MESSAGE_MAX, SeriesScope
from events.models import MAX_CAPACITY, TITLE_MAX, Audience, Session, SessionStatus, Topic


def topic_json(topic: Topic) -> dict[str, Any]:
    return {
        "id": topic.id,
        "code": topic.code,
        "name_en": topic.name_en,
        "name_km": topic.name_km,
        "is_active": topic.is_active,
    }


def _iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value else None


def session_json(session: Session, *, base_url: str, by_staff: bool) -> dict[str, Any]:
    """Needs ``topic`` fetched. The online link goes only to the session's staff (and, by
    email and on their manage page, to confirmed registrants): with it anyone could join and
    see who attends. Others get ``online_url: null`` and ``online: true|false``."""
    zone = ZoneInfo(session.timezone)
    return {
        "id": session.id,
        "topic": session.topic.code,
        "title_en": session.title_en,
        "title_km": session.title_km,
        "description_en": session.description_en,
        "description_km": session.description_km,
        "starts_at": _iso(session.starts_at, zone),
        "ends_at": _iso(session.ends_at, zone),
        "timezone": session.timezone,
        "venue": session.venue_name,
        "venue_address": session.venue_address,
        "venue_map_url": session.venue_map_url,
        "online_url": session.online_url if by_staff else None,
        "online": bool(session.online_url),
        "capacity": session.capacity,
        "seats_left": session.seats_left,
        "audience": session.audience.value,
        "status": session.status.value,
        "registration_opens_at": _iso(session.registration_opens_at, zone),
        "registration_closes_at": _iso(session.registration_closes_at, zone),
        "url": f"{base_url}{session.public_path}",
        "series_id": session.series_id,
    }


_DATETIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
_URL = {"type": "string", "maxLength": 500}

TOPIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "name_en", "name_km"],
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "name_en": {"type": "string"},
        "name_km": {"type": "string"},
        "is_active": {"type": "boolean"},
    },
}

_SESSION_WRITABLE: dict[str, Any] = {
    "topic": {"type": "string", "description": "topic code, e.g. sogie"},
    "title_en": {"type": "string", "maxLength": TITLE_MAX},
    "title_km": {"type": "string", "maxLength": TITLE_MAX},
    "description_en": {"type": "string", "description": "Markdown"},
    "description_km": {"type": "string", "description": "Markdown"},
    "starts_at": {**_DATETIME, "description": "ISO 8601; without an offset, in `timezone`"},
    "ends_at": _DATETIME,
    "timezone": {"type": "string", "default": "Asia/Phnom_Penh"},
    "venue": {"type": "string", "description": "venue name"},
    "venue_address": {"type": "string"},
    "venue_map_url": _URL,
    "online_url": _URL,
    "capacity": {"type": "integer", "minimum": 1, "maximum": MAX_CAPACITY},
    "audience": {"type": "string", "enum": [a.value for a in Audience]},
    "registration_opens_at": _NULLABLE_DATETIME,
    "registration_closes_at": _NULLABLE_DATETIME,
    "facilitator_ids": {"type": "array", "items": {"type": "integer"}},
    "status": {
        "type": "string",
        "enum": [s.value for s in SessionStatus],
        "description": "create: draft (default) or published; PATCH: any",
    },
}

SESSION_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["topic", "starts_at", "ends_at", "capacity"],
    "properties": _SESSION_WRITABLE,
    "description": "At least one of title_en / title_km, and a venue or an online_url.",
}

SESSION_PATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_SESSION_WRITABLE,
        "scope": {
            "type": "string",
            "enum": [scope.value for scope in SeriesScope],
            "description": "later: make the same change to the later sessions of its series",
        },
    },
    "description": "Only the fields to change.",
}

SESSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "topic", "starts_at", "ends_at", "capacity", "seats_left", "status"],
    "properties": {
        **{k: v for k, v in _SESSION_WRITABLE.items() if k != "facilitator_ids"},
        "id": {"type": "integer"},
        "starts_at": _DATETIME,
        "online_url": {
            **_URL,
            "type": ["string", "null"],
            "description": "the meeting link: null unless the caller runs the session",
        },
        "online": {"type": "boolean", "description": "true when the session is held online"},
        "seats_left": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in SessionStatus]},
        "url": {"type": "string", "description": "the public page (invite-only: by its slug)"},
        "series_id": {"type": ["integer", "null"]},
    },
}

SERIES_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [*SESSION_INPUT_SCHEMA["required"], "rrule", "months"],
    "properties": {
        **_SESSION_WRITABLE,
        "rrule": {"type": "string", "example": "FREQ=MONTHLY;BYDAY=1SA"},
        "months": {"type": "integer", "minimum": 1, "maximum": 36},
        "status": {"type": "string", "enum": ["draft", "published"]},
        "preview": {
            "type": "boolean",
            "description": "true: answer {starts, first_start_differs} and create nothing",
        },
    },
    "description": "The first session's fields; the RRULE repeats it for `months` months.",
}

CANCELLATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {
            "type": "string",
            "maxLength": CANCEL_MESSAGE_MAX,
            "description": "goes into the email to everyone confirmed or waiting",
        },
        "scope": {
            "type": "string",
            "enum": [scope.value for scope in SeriesScope],
            "description": "this: the session only; later: it and the later ones of its series",
        },
    },
}

SCHEMAS = {
    "Topic": TOPIC_SCHEMA,
    "Session": SESSION_SCHEMA,
    "SessionInput": SESSION_INPUT_SCHEMA,
    "SessionPatch": SESSION_PATCH_SCHEMA,
    "SeriesInput": SERIES_INPUT_SCHEMA,
    "Cancellation": CANCELLATION_SCHEMA,
}
