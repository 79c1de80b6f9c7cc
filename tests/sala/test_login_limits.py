"""Login limits that stop guessing without locking the genuine user out (issue 14).

Before: five wrong passwords a minute for an email, from anywhere, made the right password
answer 429 — anyone could lock any facilitator out at the door.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

from sala import accounts
from sala.logins import LoginLimits
from sala.models import Role
from sala.ratelimit import GrowingDelay, RateLimiter
from tests.factories import PASSWORD, csrf_from, make_staff

ATTACKER = "198.51.100.66"
GENUINE = "203.0.113.10"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Starlette) -> FakeClock:
    """The app's login limits on a clock the test moves."""
    fake = FakeClock()
    app.state.login_limits = LoginLimits.default(enabled=True, clock=fake)
    return fake


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
    )


async def _log_out(client: httpx.AsyncClient) -> None:
    page = await client.get("/staff/account")
    await client.post("/staff/logout", data={"csrf_token": csrf_from(page.text)})


async def test_guessing_from_anywhere_never_locks_out_the_facilitators_phone(
    new_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    async with new_client(GENUINE) as phone, new_client(ATTACKER) as attacker:
        assert (await _attempt(phone, facilitator.email, PASSWORD)).status_code == 303
        await _log_out(phone)
        # The attacker guesses as fast as they are let: they slow themselves down …
        answers = [
            (await _attempt(attacker, facilitator.email, "guess")).status_code for _ in range(8)
        ]
        assert answers[:3] == [401, 401, 401]
        assert 429 in answers[3:]
        # … but the phone that logged in before gets in at once, with the right password.
        back = await _attempt(phone, facilitator.email, PASSWORD)
        assert back.status_code == 303
        assert (await phone.get("/staff/sessions")).status_code == 200


async def test_a_new_device_waits_seconds_not_forever(
    new_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    admin = await make_staff()
    async with new_client(ATTACKER) as attacker, new_client(GENUINE) as laptop:
        for _ in range(3):
            assert (await _attempt(attacker, admin.email, "guess")).status_code == 401
        waiting = await _attempt(laptop, admin.email, PASSWORD)
        assert waiting.status_code == 429
        assert waiting.headers["retry-after"] == "1"
        assert "Please wait 1 seconds" in waiting.text
        clock.now += 1
        assert (await _attempt(attacker, admin.email, "guess")).status_code == 401
        # Each failure doubles the wait, up to a minute: never a lock.
        for _ in range(10):
            clock.now += 61
            assert (await _attempt(attacker, admin.email, "guess")).status_code == 401
        capped = await _attempt(laptop, admin.email, PASSWORD)
        assert capped.status_code == 429
        assert int(capped.headers["retry-after"]) == 60
        clock.now += 60
        assert (await _attempt(laptop, admin.email, PASSWORD)).status_code == 303


async def test_wait_message_is_in_khmer_for_khmer_users(
    new_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    admin = await make_staff()
    async with new_client(ATTACKER, **{"accept-language": "km"}) as client:
        for _ in range(3):
            await _attempt(client, admin.email, "guess")
        answer = await _attempt(client, admin.email, "guess")
    assert answer.status_code == 429
    assert 'lang="km"' in answer.text
    assert "Please wait" not in answer.text
    assert re.search(r"រង់ចាំ", answer.text)


async def test_one_address_guessing_many_accounts_is_stopped(
    app: Starlette, new_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    limits: LoginLimits = app.state.login_limits
    async with new_client(ATTACKER) as attacker:
        answers = [
            (await _attempt(attacker, f"person{n}@example.org", "guess")).status_code
            for n in range(limits.per_address.limit + 1)
        ]
    assert answers[:-1] == [401] * limits.per_address.limit
    assert answers[-1] == 429


async def test_one_address_and_account_get_five_tries_a_minute_even_from_a_known_device(
    new_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    admin = await make_staff()
    async with new_client(GENUINE) as phone:
        assert (await _attempt(phone, admin.email, PASSWORD)).status_code == 303
        await _log_out(phone)
        answers = [(await _attempt(phone, admin.email, "typo")).status_code for _ in range(5)]
        assert answers == [401, 401, 401, 401, 429]  # the fifth try of the minute


async def test_unknown_emails_are_limited_like_real_ones(
    new_client: Callable[..., httpx.AsyncClient], clock: FakeClock
) -> None:
    admin = await make_staff()
    async with new_client(ATTACKER) as attacker:
        real = [(await _attempt(attacker, admin.email, "guess")).status_code for _ in range(4)]
        fake = [(await _attempt(attacker, "no@example.org", "guess")).status_code for _ in range(4)]
    assert real == fake == [401, 401, 401, 429]


def test_the_growing_delay_doubles_and_forgets_on_success() -> None:
    clock = FakeClock()
    delay = GrowingDelay(free=3, first_seconds=1, longest_seconds=60, clock=clock)
    waits = []
    for _ in range(10):
        delay.failed("a")
        waits.append(delay.wait_seconds("a"))
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert delay.wait_seconds("b") == 0
    delay.succeeded("a")
    assert delay.wait_seconds("a") == 0
    assert RateLimiter(limit=1, window_seconds=1, enabled=False).hit("x")


# ----------------------------------------------------------------------------- hashing


class _WatchedHasher(PasswordHasher):
    """The cheap test hasher, recording in which thread each hash runs and how many at once."""

    def __init__(self, pause: float = 0.0) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.pause = pause
        self.threads: set[str] = set()
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.threads.add(threading.current_thread().name)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.pause:
                threading.Event().wait(self.pause)  # a slow hash, as argon2 on a cheap server
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


async def test_password_checks_run_in_a_few_threads_and_health_answers_meanwhile(
    app: Starlette, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    admin = await make_staff()
    hasher = _WatchedHasher(pause=0.3)
    previous = accounts.use_password_hasher(hasher)
    try:

        async def login(n: int) -> int:
            async with new_client(f"192.0.2.{n + 1}") as browser:
                return (await _attempt(browser, admin.email, PASSWORD)).status_code

        logins = [asyncio.create_task(login(n)) for n in range(12)]
        await asyncio.sleep(0.05)
        async with new_client() as monitor:
            health = await monitor.get("/healthz")
        # The door keeps working while a dozen people log in: /healthz answered while
        # password checks were still running (on the event loop it would wait for all 12).
        assert health.status_code == 200
        assert not all(task.done() for task in logins)
        results = await asyncio.gather(*logins)
    finally:
        accounts.use_password_hasher(previous)
    assert results == [303] * 12
    assert all(name.startswith("sala-password") for name in hasher.threads)
    assert hasher.most_at_once <= accounts.PASSWORD_THREADS._max_workers


async def test_a_flood_of_logins_is_told_to_come_back_not_queued_forever(
    app: Starlette, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    admin = await make_staff()
    hasher = _WatchedHasher(pause=0.2)
    previous = accounts.use_password_hasher(hasher)
    try:

        async def login(n: int) -> httpx.Response:
            async with new_client(f"10.0.{n // 200}.{n % 200 + 1}") as browser:
                return await _attempt(browser, admin.email, PASSWORD)

        answers = await asyncio.gather(*(login(n) for n in range(accounts.MAX_WAITING_HASHES + 8)))
    finally:
        accounts.use_password_hasher(previous)
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(303) >= accounts.MAX_WAITING_HASHES - 2
    busy = [answer for answer in answers if answer.status_code == 503]
    assert busy, statuses
    assert "Please try again in a few seconds" in busy[0].text
