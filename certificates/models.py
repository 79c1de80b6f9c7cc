"""Certificates, their issuing runs and their design. Part of the ``attendees`` Tortoise app
(their tables were created by ``attendees/migrations``), so moving them here needed no
migration."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from attendees.models import Person, Registration
from sala.models import StaffUser


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


class CertificateKind(StrEnum):
    ATTENDANCE = "attendance"  # of one session, for a registration checked in
    CURRICULUM = "curriculum"  # of a whole curriculum, for a person (curricula package)


class Certificate(Model):
    """A certificate of attendance: one valid certificate per registration at most (and one
    valid curriculum certificate per person and curriculum).

    What it says (holder name, training title, dates, place) is kept as issued, so a later
    edit of the session does not change a certificate someone already holds. The holder's
    own name corrections do carry over (their manage page), as their name is theirs.
    """

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=20, unique=True)
    # The code printed on the holder's neutral copy: it only ever verifies as neutral.
    neutral_code = fields.CharField(max_length=20, null=True, unique=True)
    kind = fields.CharEnumField(CertificateKind, max_length=12, default=CertificateKind.ATTENDANCE)
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "attendees.Person", related_name="certificates", null=True, on_delete=fields.SET_NULL
    )
    # "<curriculum code>:<person id>" while valid, as valid_for_registration below.
    valid_for_curriculum = fields.CharField(max_length=80, null=True, unique=True)
    registration: fields.ForeignKeyNullableRelation[Registration] = fields.ForeignKeyField(
        "attendees.Registration", related_name="certificates", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    session: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "events.Session", related_name="certificates", null=True, on_delete=fields.SET_NULL
    )
    # Set while valid, cleared on revocation: the database refuses a second valid
    # certificate for one registration, whoever issues it at the same time.
    valid_for_registration = fields.IntField(null=True, unique=True)
    run: fields.ForeignKeyNullableRelation[CertificateRun] = fields.ForeignKeyField(
        "attendees.CertificateRun", related_name="certificates", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    holder_name = fields.CharField(max_length=120)
    language = fields.CharField(max_length=2, default="km")
    title_km = fields.CharField(max_length=200, default="")
    title_en = fields.CharField(max_length=200, default="")
    topic_code = fields.CharField(max_length=40, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    timezone = fields.CharField(max_length=64, default="Asia/Phnom_Penh")
    place = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(CertificateStatus, max_length=10, default=CertificateStatus.VALID)
    issued_at = fields.DatetimeField(auto_now_add=True)
    issued_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="issued_certificates", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    rendered_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=300, default="")
    revoked_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="revoked_certificates", null=True,
        on_delete=fields.SET_NULL,
    )  # fmt: skip
    replaced_by: fields.ForeignKeyNullableRelation[Certificate] = fields.ForeignKeyField(
        "attendees.Certificate", related_name="replaces", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "certificate"
        ordering = ["id"]


class CertificateRun(Model):
    """One "issue certificates" order for a session.

    The certificates are made at once, and their PDFs and emails are worked through by the
    worker, which reports progress here: a large batch goes on when the page is closed.
    (No semicolon in a model docstring's first line: it becomes a SQL comment, and SQLite
    migrations split statements on semicolons.)
    """

    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Session", related_name="certificate_runs", on_delete=fields.CASCADE
    )
    requested_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="certificate_runs", null=True, on_delete=fields.SET_NULL
    )
    total = fields.IntField(default=0)
    done = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "certificate_run"
        ordering = ["-id"]


class CertificatePrint(Model):
    """One "print every certificate" order for a session.

    The worker puts the session's valid certificates, in the roster's order, into one PDF
    in the data dir, named after ``file_key`` (random, so the file's name tells nothing and
    cannot be guessed), and reports progress here. ``claimed_at`` is a worker's lease.
    """

    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Session", related_name="certificate_prints", on_delete=fields.CASCADE
    )
    requested_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="certificate_prints", null=True, on_delete=fields.SET_NULL
    )
    file_key = fields.CharField(max_length=64, unique=True)
    total = fields.IntField(default=0)
    done = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    claimed_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    failed = fields.BooleanField(default=False)

    class Meta:
        table = "certificate_print"
        ordering = ["-id"]


class CertificateWording(Model):
    """The words of certificates of one topic (or, with no topic, of every other topic).

    Placeholders: ``{name}``, ``{title}``, ``{topic}``, ``{dates}``, ``{place}``,
    ``{organisation}``. The neutral title replaces the training's title (and the topic line
    is left out) on a copy the holder asks for, to show an employer.
    """

    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "events.Topic", related_name="certificate_wording", null=True, unique=True,
        on_delete=fields.CASCADE,
    )  # fmt: skip
    body_km = fields.CharField(max_length=500)
    body_en = fields.CharField(max_length=500)
    neutral_title_km = fields.CharField(max_length=200)
    neutral_title_en = fields.CharField(max_length=200)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certificate_wording"


class CertificateImage(Model):
    """The organisation's logo (``logo``) and signature images (``signature-1`` … ``-3``),
    kept in the database so that every app process and machine prints the same."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=20, unique=True)
    content_type = fields.CharField(max_length=20)
    data = fields.BinaryField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certificate_image"


class CertificateSignatory(Model):
    """Up to three people who sign every certificate (positions 1 to 3)."""

    id = fields.IntField(primary_key=True)
    position = fields.IntField(unique=True)
    name = fields.CharField(max_length=120)
    role = fields.CharField(max_length=120)

    class Meta:
        table = "certificate_signatory"
        ordering = ["position"]
