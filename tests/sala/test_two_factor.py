"""Two-factor sign-in for staff (issue 14): set-up with a QR code, codes from a real TOTP
library (pyotp), recovery codes, and the rule that every admin must use it.

Codes are made the way an authenticator app makes them. A code is taken once: the code that
turned two-factor on used up its 30-second step, so the next login types the code of the
following step, which the server accepts as a clock one step ahead.
"""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pyotp
import pytest
import zxingcpp
from PIL import Image
from starlette.applications import Starlette
from starlette.routing import Route

from sala.logins import LoginLimits
from sala.models import AuditEntry, RecoveryCode, Role, StaffUser
from sala.permissions import access_of
from sala.ratelimit import GrowingDelay, RateLimiter
from tests.factories import PASSWORD, csrf_from, log_in, make_staff

SETUP = "/staff/account/two-factor"


@dataclass
class TwoFactor:
    secret: str
    recovery_codes: list[str]

    def code(self, steps_ahead: int = 0) -> str:
        """What the authenticator app shows now (or ``steps_ahead`` 30-second steps later)."""
        return pyotp.TOTP(self.secret).at(time.time() + 30 * steps_ahead)

    def wrong_code(self) -> str:
        """Six digits the app shows at no step near now."""
        near = {self.code(steps) for steps in range(-2, 4)}
        return next(code for code in ("000000", "111111", "222222") if code not in near)


def _qr_text(page: str) -> str:
    match = re.search(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert match, "the set-up page shows no QR code"
    png = base64.b64decode(match.group(1))
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(codes) == 1, f"zxing-cpp found {len(codes)} codes"
    return str(codes[0].text)


def _shown_secret(page: str) -> str:
    match = re.search(r'<code class="secret">([^<]+)</code>', page)
    assert match, "the set-up page shows no secret as text"
    return match.group(1).replace(" ", "")


def _recovery_codes(page: str) -> list[str]:
    listed = re.search(r'<ul class="recovery-codes">(.*?)</ul>', page, re.S)
    return re.findall(r"<code>([^<]+)</code>", listed.group(1)) if listed else []


async def _turn_on(client: httpx.AsyncClient) -> TwoFactor:
    """Scan the set-up page's QR code, type the app's code: two-factor is on."""
    page = await client.get(SETUP)
    assert page.status_code == 200, page.text
    secret = parse_qs(urlsplit(_qr_text(page.text)).query)["secret"][0]
    answer = await client.post(
        SETUP,
        data={
            "action": "on",
            "code": pyotp.TOTP(secret).now(),
            "csrf_token": csrf_from(page.text),
        },
    )
    assert answer.status_code == 200, answer.text
    return TwoFactor(secret, _recovery_codes(answer.text))


async def _password_step(client: httpx.AsyncClient, user: StaffUser) -> httpx.Response:
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )


async def _code_step(client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/staff/login/code")
    assert page.status_code == 200, f"no code step: {page.status_code}"
    return await client.post(
        "/staff/login/code", data={"code": code, "csrf_token": csrf_from(page.text)}
    )


async def _log_in_with(client: httpx.AsyncClient, user: StaffUser, code: str) -> httpx.Response:
    password = await _password_step(client, user)
    assert password.headers["location"] == "/staff/login/code"
    return await _code_step(client, code)


async def _log_out(client: httpx.AsyncClient, page_url: str = "/staff/account") -> None:
    page = await client.get(page_url)
    answer = await client.post("/staff/logout", data={"csrf_token": csrf_from(page.text)})
    assert answer.status_code == 303


async def _actions(user: StaffUser) -> list[str]:
    entries = await AuditEntry.filter(object_type="StaffUser", object_id=str(user.id))
    return [entry.action for entry in reversed(entries)]


async def _set_rule(client: httpx.AsyncClient, on: bool) -> httpx.Response:
    page = await client.get("/staff/users")
    data = {"csrf_token": csrf_from(page.text)}
    if on:
        data["admins_need_two_factor"] = "on"
    return await client.post("/staff/users", data=data)


@pytest.fixture
def no_login_limits(app: Starlette) -> None:
    """Wrong codes counted by the code step only: the login limits (tests/sala/
    test_login_limits.py) would otherwise slow a run of five wrong codes first."""
    app.state.login_limits = LoginLimits(
        per_address=RateLimiter(limit=1, window_seconds=60, enabled=False),
        per_address_account=RateLimiter(limit=1, window_seconds=60, enabled=False),
        per_account=GrowingDelay(free=1, first_seconds=1, longest_seconds=1, enabled=False),
    )


# ----------------------------------------------------------------------------- set-up


async def test_the_set_up_page_shows_a_qr_code_and_the_same_secret_as_text(
    client: httpx.AsyncClient,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, email="dara@example.org")
    await log_in(client, facilitator)
    page = await client.get(SETUP)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"

    uri = urlsplit(_qr_text(page.text))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/Sala:dara@example.org"
    query = parse_qs(uri.query)
    assert query["issuer"] == ["Sala"]
    assert query["secret"] == [_shown_secret(page.text)]
    # The same secret on a second look, until it is confirmed: a reload does not break the
    # account the app already added.
    assert _shown_secret((await client.get(SETUP)).text) == query["secret"][0]


async def test_turning_on_needs_a_right_code_and_shows_ten_recovery_codes_once(
    client: httpx.AsyncClient,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    page = await client.get(SETUP)
    wrong_code = TwoFactor(_shown_secret(page.text), []).wrong_code()
    wrong = await client.post(
        SETUP, data={"action": "on", "code": wrong_code, "csrf_token": csrf_from(page.text)}
    )
    assert wrong.status_code == 422
    assert "This code is not right." in wrong.text
    assert not (await StaffUser.get(id=facilitator.id)).has_two_factor

    two_factor = await _turn_on(client)
    assert len(two_factor.recovery_codes) == 10
    assert len(set(two_factor.recovery_codes)) == 10
    assert (await StaffUser.get(id=facilitator.id)).has_two_factor
    again = await client.get(SETUP)
    assert "Two-factor sign-in is on." in again.text
    assert "Recovery codes left: 10" in again.text
    assert _recovery_codes(again.text) == []
    assert not any(code in again.text for code in two_factor.recovery_codes)
    assert "staff.two_factor_on" in await _actions(facilitator)


# ----------------------------------------------------------------------------- logging in


async def test_login_asks_for_the_code_after_the_password(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    two_factor = await _turn_on(client)

    async with new_client() as phone:
        password = await _password_step(phone, facilitator)
        assert password.status_code == 303
        assert password.headers["location"] == "/staff/login/code"
        # The right password alone opens nothing.
        assert (await phone.get("/staff/sessions")).status_code == 303

        wrong = await _code_step(phone, two_factor.wrong_code())
        assert wrong.status_code == 401
        assert "This code is not right." in wrong.text
        assert (await phone.get("/staff/sessions")).status_code == 303

        right = await _code_step(phone, two_factor.code(1))
        assert right.status_code == 303
        assert right.headers["location"] == "/staff/"
        assert (await phone.get("/staff/sessions")).status_code == 200


async def test_the_code_step_goes_on_to_the_page_the_login_was_for(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    two_factor = await _turn_on(client)
    async with new_client() as phone:
        asked = await phone.get("/staff/account/tokens")
        login_page = await phone.get(asked.headers["location"])
        password = await phone.post(
            "/staff/login",
            data={
                "email": facilitator.email,
                "password": PASSWORD,
                "next": "/staff/account/tokens",
                "csrf_token": csrf_from(login_page.text),
            },
        )
        assert password.headers["location"] == "/staff/login/code"
        answer = await _code_step(phone, two_factor.code(1))
        assert answer.headers["location"] == "/staff/account/tokens"


async def test_a_code_is_taken_only_once(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    two_factor = await _turn_on(client)
    code = two_factor.code(1)

    async with new_client("203.0.113.10") as phone, new_client("198.51.100.7") as onlooker:
        assert (await _log_in_with(phone, facilitator, code)).status_code == 303
        # Someone who read the code over the facilitator's shoulder, with the password too.
        replay = await _log_in_with(onlooker, facilitator, code)
        assert replay.status_code == 401
        assert (await onlooker.get("/staff/sessions")).status_code == 303
        # The code that turned it on (an earlier step) is refused as well.
        older = await _code_step(onlooker, two_factor.code(0))
        assert older.status_code == 401


async def test_a_recovery_code_logs_in_once(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    two_factor = await _turn_on(client)
    code = two_factor.recovery_codes[3]

    async with new_client() as borrowed:
        # Typed as a person types it from paper: upper case, spaces around.
        answer = await _log_in_with(borrowed, facilitator, f"  {code.upper()} ")
        assert answer.status_code == 303
        assert (await borrowed.get("/staff/sessions")).status_code == 200
        setup = await borrowed.get(SETUP)
        assert "Recovery codes left: 9" in setup.text
    async with new_client() as again:
        assert (await _log_in_with(again, facilitator, code)).status_code == 401
    assert "staff.recovery_code_used" in await _actions(facilitator)


async def test_after_five_wrong_codes_the_password_is_asked_again(
    client: httpx.AsyncClient, no_login_limits: None
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    two_factor = await _turn_on(client)
    await _log_out(client)

    assert (await _password_step(client, facilitator)).status_code == 303
    right = two_factor.code(1)
    wrong = two_factor.wrong_code()
    for _ in range(5):
        assert (await _code_step(client, wrong)).status_code == 401
    # The code step is gone: even the right code now needs the password first.
    assert (await client.get("/staff/login/code")).headers["location"] == "/staff/login"
    assert (await _log_in_with(client, facilitator, right)).status_code == 303
    assert (await client.get("/staff/sessions")).status_code == 200


async def test_sending_the_cookie_from_before_the_wrong_codes_gives_no_more_tries(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient], no_login_limits: None
) -> None:
    """Someone who has the password keeps the browser's cookie from right after it, and sends
    it again with every guess: the wrong codes are counted all the same."""
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    two_factor = await _turn_on(client)
    right = two_factor.code(1)
    wrong = two_factor.wrong_code()

    async with new_client() as guesser:
        assert (await _password_step(guesser, facilitator)).status_code == 303
        form = await guesser.get("/staff/login/code")
        saved, csrf = guesser.cookies["sala_session"], csrf_from(form.text)

    async def guess(code: str) -> httpx.Response:
        async with new_client() as replay:
            replay.cookies.set("sala_session", saved)
            return await replay.post("/staff/login/code", data={"code": code, "csrf_token": csrf})

    for _ in range(5):
        assert (await guess(wrong)).status_code == 401
    sixth = await guess(right)
    assert sixth.status_code == 303
    assert sixth.headers["location"] == "/staff/login"


async def test_new_recovery_codes_need_the_password_and_end_the_old_ones(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    two_factor = await _turn_on(client)

    page = await client.get(SETUP)
    refused = await client.post(
        SETUP,
        data={"action": "codes", "password": "not it", "csrf_token": csrf_from(page.text)},
    )
    assert refused.status_code == 422
    assert "Wrong password." in refused.text
    assert _recovery_codes(refused.text) == []

    made = await client.post(
        SETUP,
        data={"action": "codes", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert made.status_code == 200
    fresh = _recovery_codes(made.text)
    assert len(fresh) == 10 and not set(fresh) & set(two_factor.recovery_codes)
    assert await RecoveryCode.filter(user_id=facilitator.id).count() == 10

    async with new_client() as old:
        assert (
            await _log_in_with(old, facilitator, two_factor.recovery_codes[0])
        ).status_code == 401
    async with new_client() as new:
        assert (await _log_in_with(new, facilitator, fresh[0])).status_code == 303
    assert "staff.recovery_codes_new" in await _actions(facilitator)


async def test_turning_off_needs_the_password(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    await _turn_on(client)

    page = await client.get(SETUP)
    refused = await client.post(
        SETUP, data={"action": "off", "password": "not it", "csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 422
    assert (await StaffUser.get(id=facilitator.id)).has_two_factor

    off = await client.post(
        SETUP, data={"action": "off", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert off.status_code == 303
    assert not (await StaffUser.get(id=facilitator.id)).has_two_factor
    assert await RecoveryCode.filter(user_id=facilitator.id).count() == 0
    async with new_client() as phone:
        password = await _password_step(phone, facilitator)
        assert password.headers["location"] == "/staff/"
    assert "staff.two_factor_off" in await _actions(facilitator)


# ----------------------------------------------------------------------------- the admins' rule


async def test_an_admin_without_two_factor_cannot_require_it(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    answer = await _set_rule(client, on=True)
    assert answer.status_code == 409
    assert "Turn on two-factor sign-in for yourself first." in answer.text
    assert "checked" not in answer.text.split('id="admins_need_two_factor"')[1].split(">")[0]
    assert (await client.get("/staff/sessions")).status_code == 200


def _get_routes(app: Starlette) -> list[tuple[str, str]]:
    """Every staff page and staff API route a browser can GET (ids filled in), but set-up."""
    found = []
    for route in app.routes:
        access = access_of(getattr(route, "endpoint", None))
        if not isinstance(route, Route) or access not in ("staff_page", "staff_api"):
            continue
        if "GET" in (route.methods or ()) and route.path != SETUP:
            found.append((re.sub(r"\{[^}]+\}", "1", route.path), str(access)))
    assert len(found) > 20
    return found


async def test_when_admins_need_it_an_admin_without_it_is_sent_to_set_it_up(
    app: Starlette, client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    admin = await make_staff(Role.ADMIN, name="Chenda")
    other = await make_staff(Role.ADMIN, name="Sokha")
    await log_in(client, admin)
    await _turn_on(client)
    answer = await _set_rule(client, on=True)
    assert answer.status_code == 303
    users = await client.get("/staff/users")
    assert re.search(r'id="admins_need_two_factor"[^>]*checked', users.text)
    assert "security.admins_need_two_factor" in [e.action for e in await AuditEntry.all()]
    # The admin who set the rule goes on working.
    assert (await client.get("/staff/users")).status_code == 200

    async with new_client() as laptop:
        await log_in(laptop, other)
        setup = await laptop.get(SETUP)
        assert setup.status_code == 200
        assert "Admins must use two-factor sign-in here." in setup.text
        csrf = {"x-csrf-token": csrf_from(setup.text)}
        for path, access in _get_routes(app):
            answer = await laptop.get(path, headers=csrf)
            if access == "staff_page":
                assert answer.status_code == 303, path
                assert answer.headers["location"] == SETUP, path
            else:  # the pages' own scripts get a JSON answer that says why
                assert answer.status_code == 403, path
                assert answer.json()["error"]["code"] == "two_factor_required", path

        await _turn_on(laptop)
        assert (await laptop.get("/staff/users")).status_code == 200
        api = await laptop.get("/api/v1/me", headers={"x-csrf-token": csrf_from(setup.text)})
        assert api.status_code == 200


async def test_an_admin_sent_to_set_up_can_still_log_out(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    admin = await make_staff(Role.ADMIN)
    other = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    await _turn_on(client)
    assert (await _set_rule(client, on=True)).status_code == 303
    async with new_client() as laptop:
        await log_in(laptop, other)
        await _log_out(laptop, page_url=SETUP)
        answer = await laptop.get(SETUP)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/staff/login")


async def test_an_admin_with_the_rule_on_cannot_turn_their_own_off(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    await _turn_on(client)
    assert (await _set_rule(client, on=True)).status_code == 303
    page = await client.get(SETUP)
    assert "Turn off two-factor sign-in" not in page.text
    answer = await client.post(
        SETUP, data={"action": "off", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert answer.status_code == 409
    assert "Admins must use two-factor sign-in here." in answer.text
    assert (await StaffUser.get(id=admin.id)).has_two_factor


async def test_facilitators_and_team_leaders_are_not_held_by_the_rule(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    await _turn_on(client)
    assert (await _set_rule(client, on=True)).status_code == 303
    facilitator = await make_staff(Role.FACILITATOR)
    leader = await make_staff(Role.TEAM_LEADER)
    async with new_client() as phone, new_client() as laptop:
        await log_in(phone, facilitator)
        assert (await phone.get("/staff/sessions")).status_code == 200
        assert (await phone.get("/staff/account")).status_code == 200
        await log_in(laptop, leader)
        assert (await laptop.get("/staff/account")).status_code == 200
        setup = await laptop.get(SETUP)
        assert "Admins must use two-factor sign-in here." not in setup.text


async def test_an_admin_turns_off_two_factor_for_someone_who_lost_their_phone(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    async with new_client() as phone:
        await log_in(phone, facilitator)
        await _turn_on(phone)

    await log_in(client, admin)
    page = await client.get(f"/staff/users/{facilitator.id}")
    assert "Turn off two-factor sign-in" in page.text
    answer = await client.post(
        f"/staff/users/{facilitator.id}/two-factor/off",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert answer.status_code == 303
    assert (
        "Two-factor sign-in is off for this account."
        in (await client.get(answer.headers["location"])).text
    )

    async with new_client() as new_phone:
        # Password only now, and the set-up page offers a new secret.
        assert (await _password_step(new_phone, facilitator)).headers["location"] == "/staff/"
        assert _shown_secret((await new_phone.get(SETUP)).text)
    entries = await AuditEntry.filter(
        action="staff.two_factor_off", object_id=str(facilitator.id)
    ).values_list("actor_id", flat=True)
    assert entries == [admin.id]


async def test_only_admins_turn_off_someone_elses_two_factor(
    client: httpx.AsyncClient, new_client: Callable[..., httpx.AsyncClient]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    colleague = await make_staff(Role.FACILITATOR)
    async with new_client() as phone:
        await log_in(phone, colleague)
        await _turn_on(phone)
    await log_in(client, facilitator)
    page = await client.get("/staff/account")
    answer = await client.post(
        f"/staff/users/{colleague.id}/two-factor/off", data={"csrf_token": csrf_from(page.text)}
    )
    assert answer.status_code == 403
    assert (await StaffUser.get(id=colleague.id)).has_two_factor
