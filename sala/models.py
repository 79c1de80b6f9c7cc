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
    # No longer read: logins are ended on the server now (StaffLogin). Kept because dropping
    # a column on SQLite rebuilds the table, and the rebuild cascades to every foreign key.
    auth_version = fields.IntField(default=1)
    language = fields.CharField(max_length=2, default="km")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    # Two-factor sign-in (sala/two_factor.py): the authenticator app's shared secret (base32),
    # kept from the set-up page on; it counts only once a code confirmed it (enabled_at).
    totp_secret = fields.CharField(max_length=64, null=True)
    totp_enabled_at = fields.DatetimeField(null=True)
    # The last 30-second step a code was accepted for: a code seen once is not taken again.
    totp_last_step = fields.BigIntField(null=True)

    class Meta:
        table = "staff_user"
        ordering = ["name"]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None


class StaffLogin(Model):
    """One browser's login (sala/logins.py). The cookie holds its id and a key whose SHA-256 is
    stored here, so logging out, a password reset or a deactivation ends it on the server: a
    copied cookie stops working too."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="logins", on_delete=fields.CASCADE
    )
    key_hash = fields.CharField(max_length=64, unique=True)
    # What the staff member sees in their list of logins ("Chrome on Android"), nothing more.
    device = fields.CharField(max_length=60, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "staff_login"
        ordering = ["-id"]


class RecoveryCode(Model):
    """A one-time code that signs in instead of the authenticator app (a lost phone)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="recovery_codes", on_delete=fields.CASCADE
    )
    code_hash = fields.CharField(max_length=64)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_recovery_code"


class SecurityPolicy(Model):
    """The installation's staff security rules, set by admins: one row (id 1)."""

    id = fields.IntField(primary_key=True)
    admins_need_two_factor = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "security_policy"


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


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Model):
    """An email to send. Written in the transaction of the change that caused it.

    The content is composed when the message is sent (``sala.mail``), from ``kind`` and
    ``params``, so the request that enqueued it pays nothing for QR codes or templates.
    """

    id = fields.BigIntField(primary_key=True)
    message_id = fields.CharField(max_length=200, unique=True)
    kind = fields.CharField(max_length=80)
    to_address = fields.CharField(max_length=254)
    language = fields.CharField(max_length=2, default="km")
    params: fields.JSONField[dict] = fields.JSONField(default=dict)
    status = fields.CharEnumField(OutboxStatus, max_length=10, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        ordering = ["-id"]
