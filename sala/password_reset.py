"""Forgotten staff passwords: a link by email that works once, for an hour.

The link carries a signed token of the account's id and a fingerprint of its password hash:
setting a new password changes the hash, so the link (and every other link sent before) stops
working the moment it is used. Nothing is stored until then. Asking answers the same whether or
not the email has an account, and at most :data:`MAILS_PER_ACCOUNT_PER_HOUR` links go to one
address an hour (more are silently not sent), so the form cannot be used to flood an inbox.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from tortoise.transactions import in_transaction

from sala import accounts, audit, mail
from sala.config import Settings
from sala.errors import NotFound, SalaError
from sala.forms import fold_email
from sala.i18n import N_
from sala.links import absolute_url
from sala.models import OutboxMessage, StaffUser

PASSWORD_RESET_MAIL = "staff_password_reset_to_staff"  # noqa: S105 - a mail kind
LINK_HOURS = 1
MAILS_PER_ACCOUNT_PER_HOUR = 3


class ResetLinkInvalid(SalaError):
    """The link is older than an hour, was used already, or was never ours."""

    status_code = 410
    code = "reset_link_invalid"
    message = N_(
        "This link has expired or was already used. Ask for a new one: it works for one hour."
    )


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="sala.staff.password-reset")


def _fingerprint(user: StaffUser) -> str:
    return hashlib.sha256(f"{user.id}:{user.password_hash}".encode()).hexdigest()[:20]


def reset_token(user: StaffUser, settings: Settings) -> str:
    return _serializer(settings).dumps([user.id, _fingerprint(user)])


def reset_url(user: StaffUser, settings: Settings) -> str:
    return absolute_url(settings, "staff:password_reset", token=reset_token(user, settings))


async def request_reset(email: str, *, language: str, settings: Settings) -> None:
    """Email a reset link to the active account with this email, if there is one."""
    user = await StaffUser.get_or_none(email=fold_email(email)[:254], is_active=True)
    if user is None:
        return
    since = datetime.now(UTC) - timedelta(hours=1)
    async with in_transaction():
        recent = await OutboxMessage.filter(
            kind=PASSWORD_RESET_MAIL, to_address=user.email, created_at__gte=since
        ).count()
        if recent >= MAILS_PER_ACCOUNT_PER_HOUR:
            return
        await mail.enqueue(
            PASSWORD_RESET_MAIL,
            to=user.email,
            language=language,
            params={"user_id": user.id, "token": reset_token(user, settings)},
            domain=settings.domain,
        )
        await audit.record(None, "staff.password_reset_requested", user)


async def user_for_token(token: str, settings: Settings) -> StaffUser:
    """The account a valid, unused, unexpired link is for: :class:`ResetLinkInvalid` for a link
    of ours that expired or was used, :class:`NotFound` for one that never was ours."""
    if len(token) > 300:
        raise NotFound()
    try:
        data = _serializer(settings).loads(token, max_age=LINK_HOURS * 3600)
    except SignatureExpired as exc:
        raise ResetLinkInvalid() from exc
    except BadSignature as exc:
        raise NotFound() from exc
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int)):
        raise NotFound()
    user = await StaffUser.get_or_none(id=data[0], is_active=True)
    if user is None or not hmac.compare_digest(_fingerprint(user), str(data[1])):
        raise ResetLinkInvalid()
    return user


async def reset_with_token(token: str, *, password: str, settings: Settings) -> StaffUser:
    """Set the new password; every login and API token of the account ends."""
    user = await user_for_token(token, settings)
    await accounts.reset_password(user, password=password, actor=user)
    return user
