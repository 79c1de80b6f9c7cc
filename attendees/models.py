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


class Province(StrEnum):
    """Where the person lives: Cambodia's capital and 24 provinces, or abroad. Asked, never
    required, for reports of reach by province (shown only with small counts hidden)."""

    PHNOM_PENH = "phnom_penh"
    BANTEAY_MEANCHEY = "banteay_meanchey"
    BATTAMBANG = "battambang"
    KAMPONG_CHAM = "kampong_cham"
    KAMPONG_CHHNANG = "kampong_chhnang"
    KAMPONG_SPEU = "kampong_speu"
    KAMPONG_THOM = "kampong_thom"
    KAMPOT = "kampot"
    KANDAL = "kandal"
    KEP = "kep"
    KOH_KONG = "koh_kong"
    KRATIE = "kratie"
    MONDULKIRI = "mondulkiri"
    ODDAR_MEANCHEY = "oddar_meanchey"
    PAILIN = "pailin"
    PREAH_SIHANOUK = "preah_sihanouk"
    PREAH_VIHEAR = "preah_vihear"
    PREY_VENG = "prey_veng"
    PURSAT = "pursat"
    RATANAKIRI = "ratanakiri"
    SIEM_REAP = "siem_reap"
    STUNG_TRENG = "stung_treng"
    SVAY_RIENG = "svay_rieng"
    TAKEO = "takeo"
    TBONG_KHMUM = "tbong_khmum"
    ABROAD = "abroad"

    @property
    def label(self) -> str:
        return gettext(_PROVINCE_LABELS[self])


_PROVINCE_LABELS = {
    Province.PHNOM_PENH: N_("Phnom Penh"),
    Province.BANTEAY_MEANCHEY: N_("Banteay Meanchey"),
    Province.BATTAMBANG: N_("Battambang"),
    Province.KAMPONG_CHAM: N_("Kampong Cham"),
    Province.KAMPONG_CHHNANG: N_("Kampong Chhnang"),
    Province.KAMPONG_SPEU: N_("Kampong Speu"),
    Province.KAMPONG_THOM: N_("Kampong Thom"),
    Province.KAMPOT: N_("Kampot"),
    Province.KANDAL: N_("Kandal"),
    Province.KEP: N_("Kep"),
    Province.KOH_KONG: N_("Koh Kong"),
    Province.KRATIE: N_("Kratié"),
    Province.MONDULKIRI: N_("Mondulkiri"),
    Province.ODDAR_MEANCHEY: N_("Oddar Meanchey"),
    Province.PAILIN: N_("Pailin"),
    Province.PREAH_SIHANOUK: N_("Preah Sihanouk"),
    Province.PREAH_VIHEAR: N_("Preah Vihear"),
    Province.PREY_VENG: N_("Prey Veng"),
    Province.PURSAT: N_("Pursat"),
    Province.RATANAKIRI: N_("Ratanakiri"),
    Province.SIEM_REAP: N_("Siem Reap"),
    Province.STUNG_TRENG: N_("Stung Treng"),
    Province.SVAY_RIENG: N_("Svay Rieng"),
    Province.TAKEO: N_("Takéo"),
    Province.TBONG_KHMUM: N_("Tbong Khmum"),
    Province.ABROAD: N_("Outside Cambodia"),
}


class AgeBand(StrEnum):
    UNDER_18 = "under_18"
    FROM_18_TO_24 = "18_24"
    FROM_25_TO_34 = "25_34"
    FROM_35_TO_44 = "35_44"
    FROM_45_TO_54 = "45_54"
    FROM_55 = "55_plus"

    @property
    def label(self) -> str:
        return gettext(_AGE_BAND_LABELS[self])


_AGE_BAND_LABELS = {
    AgeBand.UNDER_18: N_("Under 18"),
    AgeBand.FROM_18_TO_24: N_("18–24"),
    AgeBand.FROM_25_TO_34: N_("25–34"),
    AgeBand.FROM_35_TO_44: N_("35–44"),
    AgeBand.FROM_45_TO_54: N_("45–54"),
    AgeBand.FROM_55: N_("55 or older"),
}


class GenderIdentity(StrEnum):
    """The report's buckets. ``SELF_DESCRIBED`` comes with the person's own words
    (``Registration.gender_identity_text``), which no report shows and the purge removes."""

    WOMAN = "woman"
    MAN = "man"
    TRANS_WOMAN = "trans_woman"
    TRANS_MAN = "trans_man"
    NON_BINARY = "non_binary"
    SELF_DESCRIBED = "self_described"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"

    @property
    def label(self) -> str:
        return gettext(_GENDER_IDENTITY_LABELS[self])


_GENDER_IDENTITY_LABELS = {
    GenderIdentity.WOMAN: N_("Woman"),
    GenderIdentity.MAN: N_("Man"),
    GenderIdentity.TRANS_WOMAN: N_("Trans woman"),
    GenderIdentity.TRANS_MAN: N_("Trans man"),
    GenderIdentity.NON_BINARY: N_("Non-binary"),
    GenderIdentity.SELF_DESCRIBED: N_("In my own words"),
    GenderIdentity.PREFER_NOT_TO_SAY: N_("Prefer not to say"),
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
    # A random key the reports count distinct people by (``reports/``): a person with no
    # contact of their own (their contact is someone else's) shares the holder's key.
    reach_key = fields.CharField(max_length=32, default="", db_default="", db_index=True)
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
    # Optional, for reports only (aggregates with small counts hidden): never shown on a page
    # about one person except the person's own manage page and data export. The retention
    # purge keeps these buckets (not ``gender_identity_text``, the person's own words).
    province = fields.CharField(max_length=20, default="", db_default="")
    age_band = fields.CharField(max_length=10, default="", db_default="")
    gender_identity = fields.CharField(max_length=20, default="", db_default="")
    gender_identity_text = fields.CharField(max_length=60, default="", db_default="")
    # The person's ``reach_key`` when registered (a new random one once anonymised): the
    # reports' unique people, which survive the purge (see reports/services.py).
    reach_key = fields.CharField(max_length=32, default="", db_default="", db_index=True)
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
