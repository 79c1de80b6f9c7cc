"""Topics, monthly series and the sessions they generate."""

from __future__ import annotations

import secrets
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from sala import links
from sala.i18n import pick
from sala.models import StaffUser


class Audience(StrEnum):
    PUBLIC = "public"
    INVITE_ONLY = "invite_only"


class SessionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


TITLE_MAX = 200
MAX_CAPACITY = 10_000
SLUG_MAX = 32


def new_slug() -> str:
    """The random part of an invite-only session's address: 128 bits, 22 URL-safe characters."""
    return secrets.token_urlsafe(16)


TOPIC_CODE_MAX = 40


class Topic(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=TOPIC_CODE_MAX, unique=True)
    name_en = fields.CharField(max_length=120)
    name_km = fields.CharField(max_length=120)
    position = fields.IntField(default=0)
    is_active = fields.BooleanField(default=True)

    class Meta:
        table = "topic"
        ordering = ["position", "id"]

    @property
    def name(self) -> str:
        return pick(self.name_km, self.name_en)


class Series(Model):
    """A monthly rule (RFC 5545 RRULE) that generated a set of sessions."""

    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "events.Topic", related_name="series", on_delete=fields.RESTRICT
    )
    title_en = fields.CharField(max_length=TITLE_MAX, default="")
    title_km = fields.CharField(max_length=TITLE_MAX, default="")
    rrule = fields.CharField(max_length=500)
    first_start = fields.DatetimeField()
    duration_minutes = fields.IntField()
    months = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "series"


class Session(Model):
    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyRelation[Topic] = fields.ForeignKeyField(
        "events.Topic", related_name="sessions", on_delete=fields.RESTRICT
    )
    series: fields.ForeignKeyNullableRelation[Series] = fields.ForeignKeyField(
        "events.Series", related_name="sessions", null=True, on_delete=fields.SET_NULL
    )
    series_id: int | None  # the column Tortoise adds for ``series``, declared for the type checker
    title_en = fields.CharField(max_length=TITLE_MAX, default="")
    title_km = fields.CharField(max_length=TITLE_MAX, default="")
    description_en = fields.TextField(default="")
    description_km = fields.TextField(default="")
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    timezone = fields.CharField(max_length=64, default="Asia/Phnom_Penh")
    venue_name = fields.CharField(max_length=200, default="")
    venue_address = fields.CharField(max_length=500, default="")
    venue_map_url = fields.CharField(max_length=500, default="")
    online_url = fields.CharField(max_length=500, default="")
    capacity = fields.IntField()
    # Kept by the registration service inside the transaction that takes or frees a seat.
    confirmed_count = fields.IntField(default=0)
    audience = fields.CharEnumField(Audience, max_length=20, default=Audience.PUBLIC)
    status = fields.CharEnumField(SessionStatus, max_length=20, default=SessionStatus.DRAFT)
    registration_opens_at = fields.DatetimeField(null=True)
    registration_closes_at = fields.DatetimeField(null=True)
    # An invite-only session's page is /sessions/i/{slug}, never /sessions/{id}: its id can be
    # walked, its slug cannot. Every session gets one, so a change of audience needs nothing.
    slug = fields.CharField(max_length=SLUG_MAX, null=True, unique=True, default=new_slug)
    facilitators: fields.ManyToManyRelation[StaffUser] = fields.ManyToManyField(
        "sala.StaffUser", related_name="facilitated_sessions", through="session_facilitator"
    )
    # The iCalendar SEQUENCE: raised each time a change reaches the people registered (time,
    # end, venue, online link), so a calendar updates the event it already holds.
    sequence = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "session"
        ordering = ["starts_at", "id"]

    @property
    def title(self) -> str:
        return pick(self.title_km, self.title_en)

    @property
    def description(self) -> str:
        return pick(self.description_km, self.description_en)

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed_count, 0)

    @property
    def is_published(self) -> bool:
        return self.status == SessionStatus.PUBLISHED

    @property
    def is_invite_only(self) -> bool:
        return self.audience == Audience.INVITE_ONLY

    @property
    def public_path(self) -> str:
        """The path of the session's public page: the one rule for every link to it (pages,
        emails, calendar files, the API), from the routes ``session`` and ``invited_session``."""
        if self.is_invite_only:
            return links.path_for("invited_session", slug=self.slug)
        return links.path_for("session", session_id=self.id)

    @property
    def calendar_path(self) -> str:
        """The path of the session's public calendar file (no online link in it)."""
        if self.is_invite_only:
            return links.path_for("invited_session_ics", slug=self.slug)
        return links.path_for("session_ics", session_id=self.id)
