"""People, their registrations for sessions, and invitations to invite-only sessions."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from sala.i18n import N_, gettext
from sala.models import StaffUser


class Sector(StrEnum):
    STUDENT = "student"
    NGO = "ngo"
    GOVERNMENT = "government"
    PRIVATE = "private"
    MEDIA = "media"
    COMMUNITY = "community"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The sector's name in the current language: the one place pages and exports get it."""
        return gettext(_SECTOR_LABELS[self])


_SECTOR_LABELS = {
    Sector.STUDENT: N_("Student"),
    Sector.NGO: N_("NGO"),
    Sector.GOVERNMENT: N_("Government"),
    Sector.PRIVATE: N_("Private company"),
    Sector.MEDIA: N_("Media"),
    Sector.COMMUNITY: N_("Community member"),
    Sector.OTHER: N_("Other"),
}


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class RegistrationSource(StrEnum):
    FORM = "form"
    API = "api"
    STAFF = "staff"
    WALK_IN = "walk_in"


class InvitationKind(StrEnum):
    PERSONAL = "personal"
    ORGANISATION = "organisation"


class Person(Model):
    """One human across sessions: the holder of an email (or, without one, a phone).

    A registration whose contact nobody holds yet makes a person holding it. A registration
    with a contact someone holds gets a person of its own with no contact at all, and joins
    the holder only when they prove they read that email (``attendees.people``).
    """

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, null=True, unique=True)
    phone = fields.CharField(max_length=20, null=True, unique=True)
    chosen_name = fields.CharField(max_length=120)
    pronouns = fields.CharField(max_length=40, default="")
    language = fields.CharField(max_length=2, default="km")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "person"


class Invitation(Model):
    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Session", related_name="invitations", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(InvitationKind, max_length=20)
    code = fields.CharField(max_length=32, unique=True)
    email = fields.CharField(max_length=254, default="")
    organisation = fields.CharField(max_length=200, default="")
    seats = fields.IntField()
    used = fields.IntField(default=0)
    created_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="invitations", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation"
        ordering = ["-id"]

    @property
    def seats_left(self) -> int:
        return max(self.seats - self.used, 0)


class Registration(Model):
    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Session", related_name="registrations", on_delete=fields.CASCADE
    )
    # Null once the person deleted their data: the row stays as an anonymous count.
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "attendees.Person", related_name="registrations", null=True, on_delete=fields.SET_NULL
    )
    chosen_name = fields.CharField(max_length=120)
    pronouns = fields.CharField(max_length=40, default="")
    # The contact typed for this registration: what staff see and where its mail goes. The
    # person's contact on file may differ (a registration stands alone until its submitter
    # proves control of a contact someone already registered with).
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=20, default="")
    sector = fields.CharEnumField(Sector, max_length=20)
    organisation = fields.CharField(max_length=200, default="")
    language = fields.CharField(max_length=2, default="km")
    accessibility_needs = fields.CharField(max_length=500, default="")
    status = fields.CharEnumField(RegistrationStatus, max_length=20, db_index=True)
    source = fields.CharEnumField(
        RegistrationSource, max_length=20, default=RegistrationSource.FORM
    )
    invitation: fields.ForeignKeyNullableRelation[Invitation] = fields.ForeignKeyField(
        "attendees.Invitation", related_name="registrations", null=True, on_delete=fields.SET_NULL
    )
    # Secret parts of the personal manage link and of the ticket; changing one revokes it.
    manage_key = fields.CharField(max_length=32)
    ticket_seed = fields.BigIntField()
    # Random, what a version-2 ticket carries instead of database ids; replacing it revokes.
    ticket_id = fields.CharField(max_length=32, null=True, unique=True)
    consent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    waitlisted_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancelled_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="cancelled_registrations", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    reminder_sent_at = fields.DatetimeField(null=True)
    anonymised_at = fields.DatetimeField(null=True)
    # The check-in that stands (the first one); later scans are kept in CheckinScan.
    checked_in_at = fields.DatetimeField(null=True)
    checked_in_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="checkins", null=True, on_delete=fields.SET_NULL
    )
    checked_in_device = fields.CharField(max_length=64, default="")

    class Meta:
        table = "registration"
        unique_together = (("session", "person"),)
        indexes = (("session_id", "status"),)  # the roster, waitlist positions, promotion
        ordering = ["id"]
