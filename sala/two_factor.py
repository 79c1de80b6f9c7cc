"""Two-factor sign-in for staff: TOTP codes from an authenticator app (RFC 6238, via pyotp),
recovery codes for a lost phone, and the admins' rule that every admin must use it.

Set-up keeps a fresh secret on the account (``totp_secret``) and shows it as a QR code and as
text; it counts only once the staff member typed a code it made (``totp_enabled_at``). A code
is taken once: the 30-second step it was made for is kept (``totp_last_step``) and a code of
that step or an earlier one is refused, so a code read over someone's shoulder is useless.
Recovery codes are shown once and kept as SHA-256 hashes (each has 50 random bits and is
tried only behind the login limits, so a slow hash would add nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from sala import audit
from sala.errors import Conflict, SalaError, ValidationFailed
from sala.i18n import N_
from sala.models import RecoveryCode, SecurityPolicy, StaffUser

ISSUER = "Sala"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


class TwoFactorRequired(SalaError):
    """Admins must use two-factor sign-in here, and this one has not set it up yet."""

    status_code = 403
    code = "two_factor_required"
    message = N_("Set up two-factor sign-in before you continue.")


# ----------------------------------------------------------------------------- codes


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step (now, one before or one after: clocks drift) that made ``code``."""
    code = _clean(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def _take_step(user: StaffUser, step: int) -> bool:
    """Record ``step`` as used; False if it or a later one was used already (a replay)."""
    taken = await StaffUser.filter(
        Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step), id=user.id
    ).update(totp_last_step=step)
    if taken:
        user.totp_last_step = step
    return bool(taken)


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    letters = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{letters[:5]}-{letters[5:]}"


async def _replace_recovery_codes(user: StaffUser) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    await RecoveryCode.filter(user_id=user.id).delete()
    await RecoveryCode.bulk_create(
        [RecoveryCode(user_id=user.id, code_hash=_hash_recovery(code)) for code in codes]
    )
    return codes


async def _use_recovery_code(user: StaffUser, code: str) -> bool:
    cleaned = _clean(code)
    if len(cleaned) != 10:
        return False
    used = await RecoveryCode.filter(
        user_id=user.id, code_hash=_hash_recovery(cleaned), used_at=None
    ).update(used_at=datetime.now(UTC))
    if used:
        await audit.record(user, "staff.recovery_code_used", user)
    return bool(used)


async def code_is_right(user: StaffUser, code: str, *, now: datetime | None = None) -> bool:
    """A code from the authenticator app (once) or an unused recovery code (used up)."""
    if not user.has_two_factor or not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, now or datetime.now(UTC))
    if step is not None:
        return await _take_step(user, step)
    return await _use_recovery_code(user, code)


async def recovery_codes_left(user: StaffUser) -> int:
    return await RecoveryCode.filter(user_id=user.id, used_at=None).count()


# ----------------------------------------------------------------------------- set-up


def provisioning_uri(user: StaffUser, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the set-up page's QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def readable_secret(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


async def pending_secret(user: StaffUser) -> str:
    """The secret the set-up page shows: the one already shown, or a new one."""
    if user.has_two_factor:
        raise Conflict(N_("Two-factor sign-in is already on."))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        await user.save(update_fields=["totp_secret"])
    return user.totp_secret


async def turn_on(user: StaffUser, code: str, *, now: datetime | None = None) -> list[str]:
    """Turn two-factor sign-in on once ``code`` proves the app has the secret; the recovery
    codes, to show once."""
    if user.has_two_factor:
        raise Conflict(N_("Two-factor sign-in is already on."))
    secret = user.totp_secret
    step = _matching_step(secret, code, now or datetime.now(UTC)) if secret else None
    if step is None:
        raise ValidationFailed({"code": N_("This code is not right. Type the newest code.")})
    async with in_transaction():
        user.totp_enabled_at = datetime.now(UTC)
        user.totp_last_step = step
        await user.save(update_fields=["totp_enabled_at", "totp_last_step"])
        codes = await _replace_recovery_codes(user)
        await audit.record(user, "staff.two_factor_on", user)
    return codes


async def new_recovery_codes(user: StaffUser) -> list[str]:
    """Ten fresh codes; the old ones stop working."""
    if not user.has_two_factor:
        raise Conflict(N_("Two-factor sign-in is off."))
    async with in_transaction():
        codes = await _replace_recovery_codes(user)
        await audit.record(user, "staff.recovery_codes_new", user)
    return codes


async def turn_off(user: StaffUser, *, actor: StaffUser) -> None:
    """By the staff member (after their password) or by an admin for someone who lost their
    phone and their codes."""
    if user.is_admin and user.id == actor.id and await admins_need_two_factor():
        raise Conflict(N_("Admins must use two-factor sign-in here."))
    async with in_transaction():
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        await user.save(update_fields=["totp_secret", "totp_enabled_at", "totp_last_step"])
        await RecoveryCode.filter(user_id=user.id).delete()
        await audit.record(actor, "staff.two_factor_off", user)


# ----------------------------------------------------------------------------- the rule


async def admins_need_two_factor() -> bool:
    policy = await SecurityPolicy.get_or_none(id=1)
    return policy is not None and policy.admins_need_two_factor


async def set_admins_need_two_factor(value: bool, *, actor: StaffUser) -> None:
    """Only an admin who uses two-factor sign-in may require it of every admin."""
    if value and not actor.has_two_factor:
        raise Conflict(N_("Turn on two-factor sign-in for yourself first."))
    async with in_transaction():
        policy, _ = await SecurityPolicy.get_or_create(id=1)
        policy.admins_need_two_factor = value
        await policy.save()
        await audit.record(actor, "security.admins_need_two_factor", policy, {"value": value})


async def must_set_up(user: StaffUser) -> bool:
    """An admin without two-factor sign-in where admins need it: sent to set it up."""
    return user.is_admin and not user.has_two_factor and await admins_need_two_factor()
