"""A staff member's own security, in a real browser on a 360 px phone screen (issue 14).

Two-factor sign-in set up from the page's secret and a real TOTP code (pyotp, as an
authenticator app makes it), then the code step of the next login, in Khmer; an API token
for a door phone made, used against the API, revoked; "Log out everywhere else" and
"End this login" seen from the other browser; a forgotten password asked for, the link from
the real email opened and a new password set, in both languages; the admins' two-factor rule
as the admins see it. Each page: axe-core finds no serious or critical problem, nothing sticks
out sideways, screenshots in ``test-artifacts/``.

The e2e admin (``E2E_ADMIN_*``) logs in with a password only in the other modules, so every
test here makes its own staff account through that admin's "New staff account" page; the
admins' rule is turned off again in a ``finally`` (it would send every other admin to set-up).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

from tests.e2e.conftest import E2E_ADMIN_PASSWORD, VIEWPORT
from tests.e2e.pages import (
    KHMER,
    assert_fits_the_screen,
    assert_no_serious_violations,
    fill_login,
    html_lang,
    log_in,
    path_of,
    settle,
)
from tests.mail_server import Inbox

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)  # per run: the accounts' emails are new in the shared data dir
STAFF_HOME = re.compile(r"/staff/sessions$")  # where /staff/ sends a facilitator or an admin
TOTP_STEP_SECONDS = 30

OpenPage = Callable[[], Page]  # ``profiles``: one more browser profile, as a page


@dataclass(frozen=True)
class Account:
    email: str
    name: str
    password: str


# -- browsers and accounts ------------------------------------------------------------------


def _new_context(browser: Browser, base_url: str, axe_source: str) -> BrowserContext:
    """A phone-sized profile with axe-core, like conftest's ``axe_page`` (a test here needs two
    at once)."""
    phone = ViewportSize(width=VIEWPORT["width"], height=VIEWPORT["height"])
    ctx = browser.new_context(viewport=phone, base_url=base_url, locale="en-US")
    ctx.set_default_timeout(15_000)
    ctx.add_init_script(script=axe_source)
    return ctx


@pytest.fixture
def profiles(browser: Browser, sala_server: str, axe_source: str) -> Iterator[OpenPage]:
    """Opens more phone-sized profiles (each a page with axe-core); closes them at the end."""
    opened: list[BrowserContext] = []

    def open_page() -> Page:
        ctx = _new_context(browser, sala_server, axe_source)
        opened.append(ctx)
        return ctx.new_page()

    yield open_page
    for ctx in opened:
        ctx.close()


@pytest.fixture(scope="module")
def admin_page(browser: Browser, sala_server: str, axe_source: str) -> Iterator[Page]:
    """The e2e admin, logged in once for the module, to make the tests' staff accounts."""
    ctx = _new_context(browser, sala_server, axe_source)
    page = ctx.new_page()
    log_in(page)
    try:
        yield page
    finally:
        ctx.close()


def _new_account(admin_page: Page, what: str, *, role: str = "facilitator") -> Account:
    """A staff account made on the admin's "New staff account" page, as an admin would."""
    account = Account(f"{what}-{RUN}@e2e.test", f"E2E {what} {RUN}", f"{what} password {RUN}")
    admin_page.goto("/staff/users/new?lang=en")
    admin_page.locator("#email").fill(account.email)
    admin_page.locator("#name").fill(account.name)
    admin_page.locator("#role").select_option(role)
    admin_page.locator("#password").fill(account.password)
    _click_and_wait(admin_page.locator("main form button[type=submit]"))
    expect(admin_page).to_have_url(re.compile(r"/staff/users$"))
    expect(admin_page.locator("main tbody tr", has_text=account.email)).to_have_count(1)
    return account


@pytest.fixture
def account(admin_page: Page, request: pytest.FixtureRequest) -> Account:
    """A new facilitator for this test alone."""
    what = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())
    return _new_account(admin_page, what[:40].strip("-"))


# -- helpers ------------------------------------------------------------------------------


def _click_and_wait(button: Locator) -> None:
    with button.page.expect_navigation():
        button.click()


def _log_in_as(page: Page, account: Account, lang: str) -> None:
    """Fill the login form with the account's password (the code step, if any, comes next)."""
    page.goto(f"/staff/login?lang={lang}")
    fill_login(page, account.password, email=account.email)


def _log_out(page: Page) -> None:
    _click_and_wait(page.locator(".staff-nav form button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/staff/login$"))


def _check_page(page: Page, where: str, lang: str, artifacts: Path, shot: str) -> None:
    """What every page here must be: in its language, no serious axe problem, no sideways
    scroll at 360 px; a full-page screenshot for a person to look at."""
    settle(page)
    assert html_lang(page) == lang, f"{where} is not in {lang}: <html lang={html_lang(page)!r}>"
    if lang == "km":
        heading = page.locator("main h1").inner_text()
        assert KHMER.search(heading), f"the heading of {where} is not in Khmer: {heading!r}"
    assert_no_serious_violations(page, where, lang)
    assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts / f"{shot}-{lang}-360.png"), full_page=True)


def _step(moment: float) -> int:
    return int(moment // TOTP_STEP_SECONDS)


def _code_after(totp: pyotp.TOTP, used_step: int) -> str:
    """The code the app shows once its 30-second step is past ``used_step``: Sala takes each
    code once (a code read over a shoulder is useless), so a person logging in again right
    after set-up waits for the next code, and so does this test."""
    while _step(time.time()) <= used_step:
        time.sleep(0.5)
    return totp.now()


def _wrong_code(totp: pyotp.TOTP) -> str:
    """Six digits that none of the steps Sala accepts now (one before, now, one after) make."""
    now = time.time()
    right = {totp.at(now + drift) for drift in (-60, -30, 0, 30, 60)}
    return next(code for code in ("123456", "654321", "111111", "999999") if code not in right)


def _set_up_two_factor(page: Page, lang: str, artifacts: Path) -> tuple[pyotp.TOTP, int]:
    """On the set-up page: read the key the page shows as text, type the code an app makes
    from it. Returns the app (pyotp) and the step of the code it used."""
    page.goto(f"/staff/account/two-factor?lang={lang}")
    qr = page.locator("main img[src^='data:image/png']")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code did not load"
    secret = page.locator("main code.secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", secret), f"not a key to type: {secret!r}"
    _check_page(page, "the two-factor set-up page", lang, artifacts, "two-factor-setup")

    totp = pyotp.TOTP("".join(secret.split()))
    now = time.time()
    page.locator("#code").fill(totp.at(now))
    _click_and_wait(page.locator("main form:has(input[name=action][value=on]) button"))
    return totp, _step(now)


def _api_me(base_url: str, token: str) -> httpx.Response:
    """``GET /api/v1/me`` as a door phone would call it: the token only, no cookie."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    return httpx.get(f"{base_url}/api/v1/me", headers=headers, timeout=10)


def _reset_link(inbox: Inbox, address: str, *, seconds: float = 20) -> str:
    """The reset link of the email Sala sent ``address``, once it came (the worker sends every
    couple of seconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in [m for m in inbox.messages if m["To"] == address]:
            body = message.get_body(preferencelist=("plain",))
            if body is None:
                continue
            links = re.findall(r"https?://\S+/staff/password/reset/\S+", str(body.get_content()))
            if links:
                return str(links[0])
        time.sleep(0.2)
    raise AssertionError(f"no email with a reset link reached {address}")


# -- two-factor sign-in, in Khmer -------------------------------------------------------------


def test_two_factor_set_up_then_log_in_with_a_code(
    axe_page: Page, account: Account, artifacts_dir: Path
) -> None:
    page, lang = axe_page, "km"
    _log_in_as(page, account, lang)
    expect(page).to_have_url(STAFF_HOME)

    totp, used_step = _set_up_two_factor(page, lang, artifacts_dir)
    codes = page.locator("main .recovery-codes li code")
    expect(codes).to_have_count(10)
    for code in codes.all_inner_texts():
        assert re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code), f"not a recovery code: {code!r}"
    _check_page(page, "the recovery codes", lang, artifacts_dir, "two-factor-recovery-codes")
    page.goto("/staff/account/two-factor")
    expect(page.locator("main .recovery-codes")).to_have_count(0)  # shown once, only then
    expect(page.locator("main code.secret")).to_have_count(0)  # and the key is gone too

    _log_out(page)
    _log_in_as(page, account, lang)
    expect(page).to_have_url(re.compile(r"/staff/login/code$"))
    label = page.locator("label[for=code]").inner_text()
    assert KHMER.search(label), f"the code's label is not in Khmer: {label!r}"
    _check_page(page, "the code step of the login", lang, artifacts_dir, "login-code")

    page.locator("#code").fill(_wrong_code(totp))
    _click_and_wait(page.locator("main form button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/staff/login/code$"))
    error = page.locator("main .alert.error[role=alert]").inner_text()
    assert KHMER.search(error), f"the wrong-code message is not in Khmer: {error!r}"
    _check_page(page, "a wrong code at the login", lang, artifacts_dir, "login-code-wrong")

    page.locator("#code").fill(_code_after(totp, used_step))
    _click_and_wait(page.locator("main form button[type=submit]"))
    expect(page).to_have_url(STAFF_HOME)
    expect(page.locator(".staff-nav")).to_contain_text(account.name)
    assert html_lang(page) == lang


# -- API tokens -------------------------------------------------------------------------------


def test_token_for_a_door_phone(
    axe_page: Page, account: Account, sala_server: str, artifacts_dir: Path
) -> None:
    page, lang = axe_page, "en"
    _log_in_as(page, account, lang)
    expect(page).to_have_url(STAFF_HOME)
    page.goto(f"/staff/account/tokens?lang={lang}")
    expect(page.locator("main")).to_contain_text("No tokens.")
    _check_page(page, "the tokens page, empty", lang, artifacts_dir, "tokens-empty")

    page.locator("#label").fill("door phone")
    _click_and_wait(page.get_by_role("button", name="Make a token"))
    shown = page.locator("main code.secret")
    expect(shown).to_have_count(1)
    token = shown.inner_text().strip()
    assert len(token) >= 32 and " " not in token, f"not a token: {token!r}"
    row = page.locator("main tbody tr", has_text="door phone")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("never")
    _check_page(page, "the tokens page with a new token", lang, artifacts_dir, "tokens-new")

    page.goto("/staff/account/tokens")  # opened again: the token is not shown any more
    expect(page.locator("main code.secret")).to_have_count(0)
    assert token not in page.content(), "the token is shown again"

    answer = _api_me(sala_server, token)
    assert answer.status_code == 200, f"a fresh token got {answer.status_code}: {answer.text}"
    assert answer.json()["email"] == account.email
    page.goto("/staff/account/tokens")
    expect(row.locator("td").nth(2)).not_to_have_text("never")  # "Last used" shows the call

    _click_and_wait(row.get_by_role("button", name="Revoke"))
    expect(page).to_have_url(re.compile(r"/staff/account/tokens\?revoked=1$"))
    expect(page.locator("main .alert.success")).to_have_text("The token has been revoked.")
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    _check_page(page, "the tokens page after a revoke", lang, artifacts_dir, "tokens-revoked")

    answer = _api_me(sala_server, token)
    assert answer.status_code == 401, f"a revoked token got {answer.status_code}: {answer.text}"


# -- where one is logged in -------------------------------------------------------------------


def test_log_out_everywhere_else(profiles: OpenPage, account: Account, artifacts_dir: Path) -> None:
    lang = "en"
    here, there = profiles(), profiles()
    for page in (here, there):
        _log_in_as(page, account, lang)
        expect(page).to_have_url(STAFF_HOME)

    here.goto(f"/staff/account?lang={lang}")
    rows = here.locator("main tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="(this device)")).to_have_count(1)
    _check_page(here, "the account page with two logins", lang, artifacts_dir, "account-logins")

    _click_and_wait(here.get_by_role("button", name="Log out everywhere else"))
    expect(here.locator("main .alert.success")).to_have_text("The login has ended.")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("(this device)")
    expect(here.get_by_role("button", name="Log out everywhere else")).to_have_count(0)
    _check_page(
        here,
        "the account page after logging out elsewhere",
        lang,
        artifacts_dir,
        "account-one-login",
    )

    there.goto("/staff/sessions")
    expect(there).to_have_url(re.compile(r"/staff/login\?next=%2Fstaff%2Fsessions$"))
    expect(there.locator(".staff-nav")).to_have_count(0)

    # Logged in there again, then ended from here, one login by name.
    fill_login(there, account.password, email=account.email)
    expect(there).to_have_url(STAFF_HOME)
    here.goto("/staff/account")
    other = rows.filter(has_not_text="(this device)")
    expect(other).to_have_count(1)
    _click_and_wait(other.get_by_role("button", name="End this login"))
    expect(here.locator("main .alert.success")).to_have_text("The login has ended.")
    expect(rows).to_have_count(1)
    there.goto("/staff/account")
    expect(there).to_have_url(re.compile(r"/staff/login\?next=%2Fstaff%2Faccount$"))

    here.goto("/staff/sessions")  # this login was kept all along
    expect(here).to_have_url(STAFF_HOME)


# -- a forgotten password ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["km", "en"])
def test_forgotten_password(
    axe_page: Page, account: Account, inbox: Inbox, lang: str, artifacts_dir: Path
) -> None:
    page = axe_page
    page.goto(f"/staff/password/forgot?lang={lang}")
    _check_page(page, "the forgot-password page", lang, artifacts_dir, "password-forgot")

    answers = []
    for email in (f"nobody-{RUN}@e2e.test", account.email):
        page.goto("/staff/password/forgot")
        page.locator("#email").fill(email)
        _click_and_wait(page.locator("main form button[type=submit]"))
        answers.append(page.locator("main .alert.success[role=status]").inner_text())
    assert answers[0] == answers[1], f"a made-up email is told something else: {answers}"
    _check_page(page, "the forgot-password answer", lang, artifacts_dir, "password-forgot-sent")

    link = _reset_link(inbox, account.email)
    page.goto(link)
    expect(page.locator("main")).to_contain_text(account.email)
    _check_page(page, "the new-password page", lang, artifacts_dir, "password-reset")

    new_password = f"new {account.password}"
    page.locator("#password").fill(new_password)
    page.locator("#password_again").fill(new_password)
    _click_and_wait(page.locator("main form button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/staff/login\?password_set=1$"))
    expect(page.locator("main .alert.success[role=status]")).to_be_visible()
    _check_page(page, "the login after a new password", lang, artifacts_dir, "password-set")

    fill_login(page, new_password, email=account.email)
    expect(page).to_have_url(STAFF_HOME)
    page.goto(link)  # the link worked once
    expect(page.locator("main .alert.error[role=alert]")).to_be_visible()
    expect(page.locator("#password")).to_have_count(0)


# -- the admins' rule -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "km"])
def test_staff_accounts_page(axe_page: Page, lang: str, artifacts_dir: Path) -> None:
    """The e2e admin sees the admins' rule, off, with its checkbox."""
    page = axe_page
    log_in(page, lang)
    page.goto("/staff/users")
    expect(page.locator("#admins_need_two_factor")).not_to_be_checked()
    expect(page.locator("label[for=admins_need_two_factor]")).to_be_visible()
    _check_page(page, "the staff accounts page", lang, artifacts_dir, "staff-users")


def test_admins_rule_sends_an_admin_to_set_up(
    profiles: OpenPage, admin_page: Page, artifacts_dir: Path
) -> None:
    """An admin must use two-factor sign-in to require it; once they do, the e2e admin,
    logging in, is sent to set it up. The rule goes off again whatever happens."""
    lang = "en"
    strict = _new_account(admin_page, "strict-admin", role="admin")
    page = profiles()
    _log_in_as(page, strict, lang)
    expect(page).to_have_url(STAFF_HOME)
    try:
        page.goto("/staff/users")
        _save_the_rule(page, on=True)
        expect(page.locator("main .alert.error[role=alert]")).to_contain_text(
            "Turn on two-factor sign-in for yourself first."
        )
        expect(page.locator("#admins_need_two_factor")).not_to_be_checked()
        _check_page(page, "the rule refused", lang, artifacts_dir, "staff-users-rule-refused")

        _set_up_two_factor(page, lang, artifacts_dir)
        expect(page.locator("main .recovery-codes li")).to_have_count(10)
        page.goto("/staff/users")
        _save_the_rule(page, on=True)
        expect(page).to_have_url(re.compile(r"/staff/users$"))
        expect(page.locator("#admins_need_two_factor")).to_be_checked()
        _check_page(page, "the rule on", lang, artifacts_dir, "staff-users-rule-on")

        other = profiles()
        other.goto(f"/staff/login?lang={lang}")
        fill_login(other, E2E_ADMIN_PASSWORD)
        expect(other).to_have_url(re.compile(r"/staff/account/two-factor$"))
        expect(other.locator("main .alert.warning[role=alert]")).to_have_text(
            "Admins must use two-factor sign-in here. Set it up to continue."
        )
        other.goto("/staff/sessions")  # any other page sends them back to set-up
        expect(other).to_have_url(re.compile(r"/staff/account/two-factor$"))
        _check_page(
            other, "the set-up an admin is sent to", lang, artifacts_dir, "two-factor-required"
        )
    finally:
        _turn_the_rule_off(page, lang, artifacts_dir)


def _save_the_rule(page: Page, *, on: bool) -> None:
    page.locator("#admins_need_two_factor").set_checked(on)
    _click_and_wait(page.locator("main form:has(#admins_need_two_factor) button"))


def _turn_the_rule_off(page: Page, lang: str, artifacts: Path) -> None:
    """Off, even if this admin was sent to set up two-factor sign-in first (the rule went on
    before they had it): the other modules' admin logs in with a password only."""
    page.goto("/staff/users")
    if path_of(page.url) == "/staff/account/two-factor":
        _set_up_two_factor(page, lang, artifacts)
        page.goto("/staff/users")
    _save_the_rule(page, on=False)
    expect(page.locator("#admins_need_two_factor")).not_to_be_checked()
