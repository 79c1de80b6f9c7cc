"""Staff accounts: creating, logging in, deactivating, resetting passwords, API tokens.

Passwords are hashed with argon2id in a small pool of threads of their own
(:data:`PASSWORD_THREADS`): a hash takes ~50 ms of CPU, and on the event loop a dozen parallel
logins would stop every other request, the door scanners' among them. argon2 releases the GIL
while it works. At most :data:`MAX_WAITING_HASHES` wait for a thread; beyond that a login is
told to try again in a moment (the per-address limits of sala/logins.py come first).

Taking access away — a password reset, a deactivation, a new role — ends every login and
revokes every API token of the account for good: reactivating it brings none of them back.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from sala import audit
from sala.errors import Conflict, NotFound, SalaError, ValidationFailed
from sala.forms import fold_email, normalise_email
from sala.i18n import N_
from sala.logins import end_all_logins
from sala.models import ApiToken, Role, StaffUser

T = TypeVar("T")

PASSWORD_MIN_LENGTH = 10
TOKEN_PREFIX = "sala_"  # noqa: S105 - a prefix, not a secret

# argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs the same time as a
# wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash and verify staff passwords with ``hasher`` from now on; returns the one it replaces.

    The test suite's seam (a cheap argon2 for in-process tests); Sala itself never calls it.
    """
    global _hasher, _DUMMY_HASH
    replaced = _hasher
    _hasher = hasher
    _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))
    return replaced


PASSWORD_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sala-password")
MAX_WAITING_HASHES = 16
_waiting_hashes = 0


class PasswordCheckBusy(SalaError):
    """More logins at once than the password threads can take: try again in a moment."""

    status_code = 503
    code = "busy"
    message = N_("Many people are logging in right now. Please try again in a few seconds.")


async def _in_password_thread(work: Callable[..., T], *args: str) -> T:
    global _waiting_hashes
    if _waiting_hashes >= MAX_WAITING_HASHES:
        raise PasswordCheckBusy()
    _waiting_hashes += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(PASSWORD_THREADS, work, *args)
    finally:
        _waiting_hashes -= 1


async def hash_password(password: str) -> str:
    return await _in_password_thread(_hasher.hash, password)


async def _password_matches(stored: str, password: str) -> bool:
    def verify(stored: str, password: str) -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    return await _in_password_thread(verify, stored, password)


def check_new_password(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed({"password": N_("The password must have at least 10 characters.")})


def _check_staff_fields(email: str, name: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        valid = normalise_email(email) is not None
    except ValueError:
        valid = False
    if not valid:
        errors["email"] = N_("Enter a valid email address.")
    if not name.strip() or len(name) > 120:
        errors["name"] = N_("Enter a name of at most 120 characters.")
    return errors


async def create_staff(
    *, email: str, name: str, role: Role, password: str, actor: StaffUser | None
) -> StaffUser:
    email = fold_email(email)
    errors = _check_staff_fields(email, name)
    if len(password) < PASSWORD_MIN_LENGTH:
        errors["password"] = N_("The password must have at least 10 characters.")
    if errors:
        raise ValidationFailed(errors)
    password_hash = await hash_password(password)
    async with in_transaction():
        if await StaffUser.filter(email=email).exists():
            raise ValidationFailed({"email": N_("A staff account with this email already exists.")})
        user = await StaffUser.create(
            email=email, name=name.strip(), role=role, password_hash=password_hash
        )
        await audit.record(actor, "staff.create", user, {"role": role.value})
    return user


async def update_staff(
    user: StaffUser, *, name: str, role: Role, is_active: bool, actor: StaffUser
) -> StaffUser:
    errors = _check_staff_fields(user.email, name)
    if errors:
        raise ValidationFailed(errors)
    if user.id == actor.id and (role != Role.ADMIN or not is_active):
        raise Conflict(N_("You cannot remove your own admin role or deactivate yourself."))
    async with in_transaction():
        changed_access = user.role != role or user.is_active != is_active
        user.name = name.strip()
        user.role = role
        user.is_active = is_active
        await user.save()
        if changed_access:
            await _take_access_away(user)
        await audit.record(
            actor, "staff.update", user, {"role": role.value, "is_active": is_active}
        )
    forget_cached_tokens()  # after the commit, so no request caches the old account again
    return user


async def _take_access_away(user: StaffUser, *, keep_login: int | None = None) -> None:
    """Every login (but ``keep_login``) and every API token of ``user`` ends, for good.
    Runs in the caller's transaction."""
    await end_all_logins(user, keep=keep_login)
    await ApiToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=datetime.now(UTC))


async def reset_password(
    user: StaffUser, *, password: str, actor: StaffUser | None, keep_login: int | None = None
) -> None:
    """Set a new password; every login of this account (but ``keep_login``, the browser of
    someone changing their own) and every API token ends."""
    check_new_password(password)
    password_hash = await hash_password(password)
    async with in_transaction():
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash"])
        await _take_access_away(user, keep_login=keep_login)
        await audit.record(actor, "staff.reset_password", user)
    forget_cached_tokens()


async def ensure_admin(*, email: str, name: str, password: str) -> tuple[StaffUser, bool]:
    """Create an admin, or make an existing account an active admin with this password."""
    email = fold_email(email)
    user = await StaffUser.get_or_none(email=email)
    if user is None:
        return await create_staff(
            email=email, name=name, role=Role.ADMIN, password=password, actor=None
        ), True
    check_new_password(password)
    password_hash = await hash_password(password)
    async with in_transaction():
        user.name = name or user.name
        user.role = Role.ADMIN
        user.is_active = True
        user.password_hash = password_hash
        await user.save()
        await _take_access_away(user)
        await audit.record(None, "staff.reset_admin", user)
    forget_cached_tokens()
    return user, False


async def authenticate(email: str, password: str) -> StaffUser | None:
    """The active account with this email and password, or None. Constant work either way."""
    user = await StaffUser.get_or_none(email=fold_email(email))
    stored = user.password_hash if user is not None else _DUMMY_HASH
    if not await _password_matches(stored, password):
        return None
    if user is None or not user.is_active:
        return None
    user.last_login_at = datetime.now(UTC)
    update_fields = ["last_login_at"]
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
        update_fields.append("password_hash")
    await user.save(update_fields=update_fields)
    return user


async def password_is_right(user: StaffUser, password: str) -> bool:
    """For confirming a sensitive change (one's own password, two-factor) while logged in."""
    return await _password_matches(user.password_hash, password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_token(user: StaffUser, *, label: str = "") -> str:
    """A new bearer token for ``user``; only its hash is kept, so show it now or never."""
    if not user.is_active:
        raise Conflict(N_("This staff account is deactivated."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with in_transaction():
        await ApiToken.create(user=user, token_hash=hash_token(token), label=label[:100])
        await audit.record(user, "token.create", user, {"label": label[:100]})
    return token


# Bearer tokens are looked up on every API call (a scanner sends one per scan), so this
# process remembers each token's staff member for a few seconds. Every change here that
# takes access away (revoking, deactivating, a new role, a password reset) forgets them all
# at once; another process notices within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 5.0
# "Last used" is written at most this often per token, not once per scan.
LAST_USED_EVERY = timedelta(minutes=1)
TOKEN_CACHE_SIZE = 1000
_token_cache: dict[str, tuple[float, StaffUser]] = {}
# Bumped by every forget: a lookup that read the database before the change does not cache.
_token_generation = 0


def forget_cached_tokens() -> None:
    """Look every token up again: called after any change that can take access away."""
    global _token_generation
    _token_generation += 1
    _token_cache.clear()


async def user_for_token(token: str) -> StaffUser | None:
    """The active staff member of an unrevoked token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    token_hash = hash_token(token)
    cached = _token_cache.get(token_hash)
    if cached is not None and cached[0] > monotonic():
        return cached[1]
    generation = _token_generation
    api_token = (
        await ApiToken.filter(token_hash=token_hash, revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if api_token is None or not api_token.user.is_active:
        _token_cache.pop(token_hash, None)
        return None
    now = datetime.now(UTC)
    if api_token.last_used_at is None or api_token.last_used_at < now - LAST_USED_EVERY:
        await ApiToken.filter(id=api_token.id).update(last_used_at=now)
    if generation != _token_generation:  # access changed meanwhile: no caching this answer
        return api_token.user
    if len(_token_cache) >= TOKEN_CACHE_SIZE:
        del _token_cache[next(iter(_token_cache))]  # the oldest entry
    _token_cache[token_hash] = (monotonic() + TOKEN_CACHE_SECONDS, api_token.user)
    return api_token.user


async def list_api_tokens(user: StaffUser) -> list[ApiToken]:
    """The account's tokens, newest first, revoked ones included (they say when)."""
    return await ApiToken.filter(user_id=user.id).order_by("-id")


async def revoke_api_tokens(
    user: StaffUser, *, actor: StaffUser | None, token_id: int | None = None
) -> int:
    """Revoke one token of ``user`` (``token_id``) or all of them; the number revoked.
    An id that is not one of this account's open tokens is :class:`NotFound`."""
    async with in_transaction():
        query = ApiToken.filter(user_id=user.id, revoked_at=None)
        if token_id is not None:
            query = query.filter(id=token_id)
        tokens = await query.select_for_update()
        if token_id is not None and not tokens:
            raise NotFound()
        now = datetime.now(UTC)
        for token in tokens:
            token.revoked_at = now
            await token.save(update_fields=["revoked_at"])
            await audit.record(actor, "token.revoke", token, {"label": token.label})
    forget_cached_tokens()
    return len(tokens)


async def get_staff(user_id: int) -> StaffUser:
    user = await StaffUser.get_or_none(id=user_id)
    if user is None:
        raise NotFound()
    return user
