"""Scans sent by the door phones. Part of the ``attendees`` Tortoise app (its table was
created by ``attendees/migrations``), so moving it here needed no migration."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from sala.models import StaffUser


class ScanResult(StrEnum):
    CHECKED_IN = "checked_in"
    ALREADY_CHECKED_IN = "already_checked_in"
    INVALID = "invalid"
    WRONG_SESSION = "wrong_session"
    CANCELLED = "cancelled"
    WAITLISTED = "waitlisted"
    REVOKED = "revoked"


class CheckinScan(Model):
    """Every scan a facilitator's device sent, once per ``scan_id`` (made by the device).

    The answer given is stored with it, so a scan sent again — a retry, a replayed offline
    queue — gets the very same answer and changes nothing.
    """

    id = fields.BigIntField(primary_key=True)
    scan_id = fields.CharField(max_length=64, unique=True)
    session_id = fields.IntField(db_index=True)
    registration_id = fields.IntField(null=True)
    staff: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="scans", null=True, on_delete=fields.SET_NULL
    )
    device_id = fields.CharField(max_length=64, default="")
    scanned_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField()
    result = fields.CharField(max_length=20)
    answer = fields.TextField(default="")

    class Meta:
        table = "checkin_scan"
