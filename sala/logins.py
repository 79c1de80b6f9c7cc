"""Staff logins kept on the server, and the limits on trying to log in.

A login is a :class:`~sala.models.StaffLogin` row; the browser's signed cookie holds its id
and a random key (only the key's SHA-256 is stored). Logging out ends that row, a password
reset or a deactivation ends every row of the account: a copied cookie then opens nothing.

Limits (:class:`LoginLimits`) are counted in each process's memory, like every other limit
(sala/ratelimit.py). They never lock the genuine user out:

- per address: generous (a school's or a carrier's network is one address for many people);
- per address and account: five tries a minute;
- per account, from anywhere: after three failures in a row each try waits twice as long as
  the last, up to a minute — except from a browser that logged in to this account before (the
  *known device* cookie, OWASP's "device cookie"), so someone guessing from elsewhere slows
  themselves, not the facilitator at the door.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from tortoise.expressions import Q

from sala.errors import SalaError
from sala.i18n import N_
from sala.models import StaffLogin, StaffUser
from sala.ratelimit import GrowingDelay, RateLimiter

LOGIN_HOURS = 12
# last_seen_at is written at most this often per login: not one write per page.
LAST_SEEN_EVERY = timedelta(minutes=5)
KNOWN_DEVICE_COOKIE = "sala_device"
KNOWN_DEVICE_DAYS = 180


class LoginThrottled(SalaError):
    """Too many tries to log in: wait, then try again."""

    status_code = 429
    code = "login_throttled"
    message = N_("Too many attempts. Please wait %(seconds)s seconds and try again.")

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds=seconds)
        self.seconds = seconds


# ----------------------------------------------------------------------------- limits


@dataclass
class LoginLimits:
    per_address: RateLimiter
    per_address_account: RateLimiter
    per_account: GrowingDelay

    @classmethod
    def default(cls, *, enabled: bool, clock: Callable[[], float] = time.monotonic) -> LoginLimits:
        return cls(
            per_address=RateLimiter(limit=30, window_seconds=60, enabled=enabled, clock=clock),
            per_address_account=RateLimiter(
                limit=5, window_seconds=60, enabled=enabled, clock=clock
            ),
            per_account=GrowingDelay(
                free=3, first_seconds=1, longest_seconds=60, enabled=enabled, clock=clock
            ),
        )

    def check(self, *, address: str, account: str, known_device: bool) -> None:
        """Count one try; raises :class:`LoginThrottled` with the seconds to wait."""
        if not self.per_address.hit(f"ip:{address}"):
            raise LoginThrottled(60)
        if not self.per_address_account.hit(f"ip:{address}:{account}"):
            raise LoginThrottled(60)
        if not known_device:
            wait = self.per_account.wait_seconds(account)
            if wait > 0:
                raise LoginThrottled(max(1, round(wait)))

    def failed(self, account: str) -> None:
        self.per_account.failed(account)

    def succeeded(self, account: str) -> None:
        self.per_account.succeeded(account)


def _device_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="sala.staff.known-device")


def _account_tag(account: str) -> str:
    return hashlib.sha256(account.encode()).hexdigest()[:16]


def known_device_cookie(secret_key: str, account: str) -> str:
    """The value that marks this browser as one that logged in to ``account`` before."""
    return _device_serializer(secret_key).dumps(_account_tag(account))


def is_known_device(secret_key: str, cookie: str | None, account: str) -> bool:
    if not cookie or len(cookie) > 200:
        return False
    try:
        tag = _device_serializer(secret_key).loads(cookie, max_age=KNOWN_DEVICE_DAYS * 86400)
    except BadSignature:
        return False
    return isinstance(tag, str) and hmac.compare_digest(tag, _account_tag(account))


# ----------------------------------------------------------------------------- logins


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def start_login(user: StaffUser, *, user_agent: str) -> tuple[int, str]:
    """A new login of ``user``: its id and key, for the cookie."""
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    login = await StaffLogin.create(
        user=user, key_hash=_hash(key), device=device_name(user_agent), last_seen_at=now
    )
    return login.id, key


async def user_of_login(login_id: object, key: object) -> tuple[StaffUser, StaffLogin] | None:
    """The active staff member of an open login, or None."""
    if not isinstance(login_id, int) or not isinstance(key, str) or len(key) > 100:
        return None
    login = await StaffLogin.get_or_none(id=login_id, ended_at=None).select_related("user")
    if login is None or not hmac.compare_digest(login.key_hash, _hash(key)):
        return None
    now = datetime.now(UTC)
    if login.created_at < now - timedelta(hours=LOGIN_HOURS) or not login.user.is_active:
        return None
    if login.last_seen_at < now - LAST_SEEN_EVERY:
        login.last_seen_at = now
        await StaffLogin.filter(id=login.id).update(last_seen_at=now)
    return login.user, login


async def end_login(login_id: object) -> None:
    if isinstance(login_id, int):
        await StaffLogin.filter(id=login_id, ended_at=None).update(ended_at=datetime.now(UTC))


async def end_own_login(user: StaffUser, login_id: int) -> bool:
    """End one open login of ``user``; False if it is not theirs or already ended."""
    ended = await StaffLogin.filter(id=login_id, user_id=user.id, ended_at=None).update(
        ended_at=datetime.now(UTC)
    )
    return bool(ended)


async def end_all_logins(user: StaffUser, *, keep: int | None = None) -> int:
    """End every open login of ``user`` but ``keep``; run it in the caller's transaction."""
    query = StaffLogin.filter(user_id=user.id, ended_at=None)
    if keep is not None:
        query = query.filter(~Q(id=keep))
    return await query.update(ended_at=datetime.now(UTC))


async def open_logins(user: StaffUser) -> list[StaffLogin]:
    since = datetime.now(UTC) - timedelta(hours=LOGIN_HOURS)
    return await StaffLogin.filter(user_id=user.id, ended_at=None, created_at__gte=since)


_BROWSERS = (("Edg/", "Edge"), ("SamsungBrowser", "Samsung Internet"), ("Firefox", "Firefox"))
_BROWSERS_LAST = (("Chrome", "Chrome"), ("Safari", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_name(user_agent: str) -> str:
    """ "Chrome · Android": enough to recognise one's own phone in the list, no more."""
    agent = re.sub(r"\s+", " ", user_agent)[:500]
    browser = next((name for key, name in (*_BROWSERS, *_BROWSERS_LAST) if key in agent), "")
    system = next((name for key, name in _SYSTEMS if key in agent), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system
