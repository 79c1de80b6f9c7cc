"""The shell's own tables: staff accounts, API tokens and the audit log."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = "admin"
    FACILITATOR = "facilitator"
    TEAM_LEADER = "team_leader"


class StaffUser(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=120)
    role = fields.CharEnumField(Role, max_length=20, default=Role.FACILITATOR)
    password_hash = fields.CharField(max_length=255)
    is_active = fields.BooleanField(default=True)
    # Bumped on password reset or deactivation: every login cookie carrying the old value dies.
    auth_version = fields.IntField(default=1)
    language = fields.CharField(max_length=2, default="km")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_user"
        ordering = ["name"]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="api_tokens", on_delete=fields.CASCADE
    )
    # Only a SHA-256 of the token is stored; the token itself is shown once.
    token_hash = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=60)
    object_type = fields.CharField(max_length=40)
    object_id = fields.CharField(max_length=40, default="")
    details: fields.JSONField[dict] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_entry"
        ordering = ["-id"]
