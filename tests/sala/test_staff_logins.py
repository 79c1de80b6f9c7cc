"""Staff logins kept on the server (issue 14): logging out ends the login for a copied cookie
too; one's account page lists where one is logged in and ends any of those logins; a new
password, a deactivation or twelve hours end them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from sala.logins import LOGIN_HOURS
from sala.models import Role, StaffLogin, StaffUser
from tests.factories import PASSWORD, csrf_from, log_in, make_staff, token_for

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
SAMSUNG_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
)

Browser = Callable[..., httpx.AsyncClient]


async def _is_logged_in(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/staff/account")
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/staff/login")
        return False
    assert answer.status_code == 200
    return True


def _logins(page: str) -> dict[str, int]:
    """The account page's list of logins: device name → the id its button ends."""
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>.*?name=\"login_id\" value=\"(\d+)\"", page, re.S)
    return {re.sub(r"\s*<strong>.*", "", device).strip(): int(n) for device, n in rows}


async def _post_from_account_page(
    client: httpx.AsyncClient, action: str, data: dict[str, str]
) -> httpx.Response:
    page = await client.get("/staff/account")
    return await client.post(action, data={**data, "csrf_token": csrf_from(page.text)})


async def test_logging_out_ends_the_login_for_a_copied_cookie_too(
    client: httpx.AsyncClient, new_client: Browser
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, facilitator)
    async with new_client("198.51.100.66") as copy:
        copy.cookies.set("sala_session", client.cookies["sala_session"])
        assert await _is_logged_in(copy)  # a copied cookie is as good as the browser …

        page = await client.get("/staff/sessions")
        logout = await client.post("/staff/logout", data={"csrf_token": csrf_from(page.text)})
        assert logout.status_code == 303
        assert not await _is_logged_in(client)
        assert not await _is_logged_in(copy)  # … until the login ends
    assert await StaffLogin.filter(user_id=facilitator.id, ended_at=None).count() == 0


async def test_logging_in_as_someone_else_ends_the_login_this_browser_held(
    client: httpx.AsyncClient, new_client: Browser
) -> None:
    """A shared office laptop: the next person's login ends the previous one's."""
    first = await make_staff(Role.FACILITATOR)
    second = await make_staff(Role.FACILITATOR)
    await log_in(client, first)
    async with new_client("198.51.100.66") as copy:
        copy.cookies.set("sala_session", client.cookies["sala_session"])
        assert await _is_logged_in(copy)
        page = await client.get("/staff/account")  # the login form redirects a logged-in browser
        answer = await client.post(
            "/staff/login",
            data={"email": second.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        )
        assert answer.status_code == 303
        assert not await _is_logged_in(copy)
    assert await StaffLogin.filter(user_id=first.id, ended_at=None).count() == 0
    assert await StaffLogin.filter(user_id=second.id, ended_at=None).count() == 1


async def test_the_account_page_lists_each_device_and_marks_this_one(new_client: Browser) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    async with (
        new_client("203.0.113.1", **{"user-agent": CHROME_ANDROID}) as phone,
        new_client("203.0.113.2", **{"user-agent": FIREFOX_WINDOWS}) as laptop,
        new_client("203.0.113.3", **{"user-agent": SAFARI_IPHONE}) as iphone,
        new_client("203.0.113.4", **{"user-agent": SAMSUNG_ANDROID}) as samsung,
    ):
        for browser in (phone, laptop, iphone, samsung):
            await log_in(browser, facilitator)
        page = await laptop.get("/staff/account")
        assert set(_logins(page.text)) == {
            "Chrome · Android",
            "Firefox · Windows",
            "Safari · iPhone",
            "Samsung Internet · Android",
        }
        assert re.search(r"Firefox · Windows\s*<strong>\(this device\)</strong>", page.text)
        assert page.text.count("(this device)") == 1


async def test_ending_another_browsers_login(new_client: Browser) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    async with (
        new_client("203.0.113.1", **{"user-agent": CHROME_ANDROID}) as lost_phone,
        new_client("203.0.113.2", **{"user-agent": FIREFOX_WINDOWS}) as laptop,
    ):
        await log_in(lost_phone, facilitator)
        await log_in(laptop, facilitator)
        phone_login = _logins((await laptop.get("/staff/account")).text)["Chrome · Android"]

        answer = await _post_from_account_page(
            laptop, "/staff/account/logins/end", {"login_id": str(phone_login)}
        )
        assert answer.status_code == 303
        page = await laptop.get(answer.headers["location"])
        assert "The login has ended." in page.text
        assert list(_logins(page.text)) == ["Firefox · Windows"]
        assert not await _is_logged_in(lost_phone)
        assert await _is_logged_in(laptop)


async def test_no_one_ends_a_login_that_is_not_theirs(new_client: Browser) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    async with new_client("203.0.113.1") as admins, new_client("203.0.113.2") as theirs:
        await log_in(admins, admin)
        await log_in(theirs, facilitator)
        admin_login = (await StaffLogin.get(user_id=admin.id)).id
        answer = await _post_from_account_page(
            theirs, "/staff/account/logins/end", {"login_id": str(admin_login)}
        )
        assert answer.status_code == 404
        for bad in ("", "not a number", "99999999999999999999"):
            refused = await _post_from_account_page(
                theirs, "/staff/account/logins/end", {"login_id": bad}
            )
            assert refused.status_code == 404, bad
        assert await _is_logged_in(admins)


async def test_ending_this_login_from_the_list_logs_out(new_client: Browser) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    async with new_client(**{"user-agent": CHROME_ANDROID}) as phone:
        await log_in(phone, facilitator)
        this = _logins((await phone.get("/staff/account")).text)["Chrome · Android"]
        answer = await _post_from_account_page(
            phone, "/staff/account/logins/end", {"login_id": str(this)}
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/staff/login"
        assert not await _is_logged_in(phone)


async def test_log_out_everywhere_else_keeps_this_login(new_client: Browser) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    async with (
        new_client("203.0.113.1", **{"user-agent": CHROME_ANDROID}) as phone,
        new_client("203.0.113.2", **{"user-agent": FIREFOX_WINDOWS}) as laptop,
        new_client("203.0.113.3", **{"user-agent": SAFARI_IPHONE}) as iphone,
    ):
        for browser in (phone, laptop, iphone):
            await log_in(browser, facilitator)
        page = await phone.get("/staff/account")
        assert "Log out everywhere else" in page.text
        answer = await _post_from_account_page(phone, "/staff/account/logins/end", {"others": "1"})
        assert answer.status_code == 303
        assert await _is_logged_in(phone)
        assert not await _is_logged_in(laptop)
        assert not await _is_logged_in(iphone)
        page = await phone.get("/staff/account")
        assert list(_logins(page.text)) == ["Chrome · Android"]
        assert "Log out everywhere else" not in page.text


async def test_a_new_password_of_ones_own_keeps_this_login_and_ends_the_rest(
    client: httpx.AsyncClient, new_client: Browser
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    bearer = await token_for(facilitator)
    async with new_client("203.0.113.1") as phone, new_client("203.0.113.2") as laptop:
        await log_in(phone, facilitator)
        await log_in(laptop, facilitator)

        wrong = await _post_from_account_page(
            laptop,
            "/staff/account",
            {"current_password": "not my password", "password": "a brand new password"},
        )
        assert wrong.status_code == 422
        assert "Wrong password." in wrong.text
        assert await _is_logged_in(phone)

        changed = await _post_from_account_page(
            laptop,
            "/staff/account",
            {"current_password": PASSWORD, "password": "a brand new password"},
        )
        assert changed.status_code == 200
        assert "Your password has been changed." in changed.text
        assert await _is_logged_in(laptop)
        assert not await _is_logged_in(phone)
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    await log_in(client, facilitator, password="a brand new password")


async def test_a_deactivated_accounts_logins_end_for_good(
    client: httpx.AsyncClient, new_client: Browser
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, admin)
    async with new_client("203.0.113.1") as phone:
        await log_in(phone, facilitator)
        edit = f"/staff/users/{facilitator.id}"
        page = await client.get(edit)
        fields = {
            "name": facilitator.name,
            "role": "facilitator",
            "csrf_token": csrf_from(page.text),
        }
        assert (await client.post(edit, data=fields)).status_code == 303  # no is_active: off
        assert not await _is_logged_in(phone)

        assert (await client.post(edit, data={**fields, "is_active": "on"})).status_code == 303
        assert (await StaffUser.get(id=facilitator.id)).is_active
        assert not await _is_logged_in(phone)  # reactivated: the old login stays ended


async def test_a_login_older_than_twelve_hours_has_ended(new_client: Browser) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    async with new_client("203.0.113.1") as phone, new_client("203.0.113.2") as laptop:
        await log_in(phone, facilitator)
        await log_in(laptop, facilitator)
        phone_login, laptop_login = await StaffLogin.filter(user_id=facilitator.id).order_by("id")
        now = datetime.now(UTC)
        hours = timedelta(hours=LOGIN_HOURS)
        await StaffLogin.filter(id=phone_login.id).update(
            created_at=now - hours - timedelta(minutes=1)
        )
        await StaffLogin.filter(id=laptop_login.id).update(
            created_at=now - hours + timedelta(minutes=1)
        )

        assert not await _is_logged_in(phone)
        assert await _is_logged_in(laptop)  # a minute younger: still open
        page = await laptop.get("/staff/account")
        assert len(_logins(page.text)) == 1


async def test_a_reset_by_an_admin_ends_the_persons_logins(
    client: httpx.AsyncClient, new_client: Browser
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    await log_in(client, admin)
    async with new_client("203.0.113.1") as phone:
        await log_in(phone, facilitator)
        page = await client.get(f"/staff/users/{facilitator.id}")
        answer = await client.post(
            f"/staff/users/{facilitator.id}/password",
            data={"password": "set by the admin", "csrf_token": csrf_from(page.text)},
        )
        assert answer.status_code == 303
        assert not await _is_logged_in(phone)
    assert await _is_logged_in(client)  # the admin's own login goes on


async def test_a_stolen_login_cannot_be_used_to_guess_its_password(new_client: Browser) -> None:
    """The account page checks the current password before a change: with someone's login
    cookie, from any number of addresses, that check is tried five times a minute, no more."""
    facilitator = await make_staff(Role.FACILITATOR)
    async with new_client("203.0.113.1") as phone:
        await log_in(phone, facilitator)
        csrf = csrf_from((await phone.get("/staff/account")).text)
        cookie = phone.cookies["sala_session"]
    answers = []
    for guess in range(6):
        async with new_client(f"198.51.100.{guess + 1}") as thief:
            thief.cookies.set("sala_session", cookie)
            answer = await thief.post(
                "/staff/account",
                data={"current_password": f"guess {guess}", "password": "taken over, ha ha",
                      "csrf_token": csrf},
            )  # fmt: skip
            answers.append(answer.status_code)
    assert answers == [422] * 5 + [429]
