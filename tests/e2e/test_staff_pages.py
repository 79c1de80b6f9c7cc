"""The staff pages in a real browser on a 360 px wide phone screen, as an admin.

What an admin does: log in (a wrong password first), create a session with the form (an
invalid capacity first), publish it and find it on the public home page, generate a monthly
series, and the log-in page and the session form in Khmer. Screenshots go to
``test-artifacts/``; axe-core must find no serious or critical problem.

There is no sign-up: conftest's ``sala_server`` makes the admin (``E2E_ADMIN_*``) with
``sala create-admin`` on its data dir (``sala_data_dir``), where this module also reads the
server's log to show it when a test fails.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import E2E_ADMIN_EMAIL, E2E_ADMIN_NAME, E2E_ADMIN_PASSWORD
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

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo("Asia/Phnom_Penh")  # SALA_TIMEZONE's default: the forms are read in it
STAFF_SESSION_PATH = re.compile(r"/staff/sessions/(\d+)$")
PUBLIC_SESSION_PATH = re.compile(r"/sessions/(\d+)$")

# A per-run mark in the titles, so the tests find their own sessions among the demo ones.
RUN = secrets.token_hex(3)


# -- the server's log ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def server_log(sala_server: str, sala_data_dir: Path) -> Iterator[None]:
    """Print what the server logged during a test: pytest shows it when the test fails
    (a 500 page says nothing; the traceback is in the log). Asks for ``sala_server`` so the
    server, and its log, exist before the test starts."""
    log_path = sala_data_dir / "serve.log"
    start = log_path.stat().st_size
    yield
    with log_path.open("rb") as log:
        log.seek(start)
        new = log.read().decode(errors="replace").strip()
    if new:
        print(f"--- sala serve logged during this test ({log_path}):\n{new}")


# -- helpers ------------------------------------------------------------------------------


def _local(moment: datetime) -> str:
    """The value a ``datetime-local`` input takes."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _screenshot(page: Page, path: Path) -> None:
    settle(page)
    page.screenshot(path=str(path), full_page=True)


def _submit(page: Page) -> None:
    """Click the main form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()


def _field(page: Page, name: str) -> Any:
    """The ``.field`` wrapper of one form control: its label, hint, control and error."""
    return page.locator(".field").filter(has=page.locator(f"#{name}"))


def _fill_session_fields(
    page: Page, *, title_en: str, title_km: str, starts: datetime, hours: int, capacity: str
) -> None:
    page.locator("#topic").select_option("human_rights")
    page.locator("#title_km").fill(title_km)
    page.locator("#title_en").fill(title_en)
    page.locator("#starts_at").fill(_local(starts))
    page.locator("#ends_at").fill(_local(starts + timedelta(hours=hours)))
    page.locator("#venue_name").fill("CLGBT Training Room")
    page.locator("#capacity").fill(capacity)


def _first_saturday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(5 - first.weekday()) % 7)


# -- log in ---------------------------------------------------------------------------------


def test_wrong_password_thenlog_in(page: Page) -> None:
    response = page.goto("/staff/login?lang=en")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("Staff login")

    fill_login(page, "not the password")
    assert path_of(page.url) == "/staff/login", f"a wrong password led to {page.url}"
    alert = page.locator("main .alert.error[role=alert]")
    expect(alert).to_have_text("Wrong email or password.")
    expect(page.locator("#email")).to_have_value(E2E_ADMIN_EMAIL)
    expect(page.locator("#password")).to_have_value("")

    fill_login(page, E2E_ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/sessions$"))
    expect(page.locator("h1")).to_have_text("Sessions")
    expect(page.locator(".staff-nav")).to_contain_text(E2E_ADMIN_NAME)
    expect(page.locator("main").get_by_role("link", name="New session")).to_be_visible()
    assert page.locator("main .session-card").count() > 0, "the demo sessions are not listed"
    assert_fits_the_screen(page)


# -- one session: form, errors, publish, public page ----------------------------------------


def test_create_and_publish_a_session(page: Page) -> None:
    log_in(page)
    response = page.goto("/staff/sessions/new?lang=en")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("New session")

    title_en = f"E2E first aid for activists {RUN}"
    title_km = f"ជំនួយសង្គ្រោះបឋមសម្រាប់សកម្មជន {RUN}"
    starts = (datetime.now(ZONE) + timedelta(days=10)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    _fill_session_fields(
        page, title_en=title_en, title_km=title_km, starts=starts, hours=3, capacity="-1"
    )

    # novalidate: the browser lets -1 through and the server answers with the field error.
    with page.expect_response(lambda r: path_of(r.url) == "/staff/sessions/new") as answer:
        _submit(page)
    assert answer.value.status == 422, f"an invalid capacity answered {answer.value.status}"
    assert path_of(page.url) == "/staff/sessions/new"
    summary = page.locator("main .alert.error[role=alert]")
    expect(summary).to_contain_text("Please correct the fields marked below.")
    # The summary links each message to its field, so it can be reached from the top.
    expect(summary.locator("a[href='#capacity']")).to_have_text(
        "Enter a number in the allowed range."
    )
    capacity = page.locator("#capacity")
    capacity_error = _field(page, "capacity").locator(".field-error")
    expect(capacity_error).to_have_text("Enter a number in the allowed range.")
    # aria-invalid and `required` are checked by test_form_fields_markup.
    expect(capacity).to_have_attribute("aria-describedby", "capacity-error")
    expect(capacity_error).to_have_attribute("id", "capacity-error")
    # "Next to the field": right under the input, not at the top of a long form.
    box, error_box = capacity.bounding_box(), capacity_error.bounding_box()
    assert box is not None and error_box is not None
    gap = error_box["y"] - (box["y"] + box["height"])
    assert 0 <= gap <= 24, f"the capacity error is {gap:.0f} px away from its field"
    assert page.locator("main .field-error").count() == 1, (
        "only the capacity is wrong, but other fields show errors: "
        f"{page.locator('main .field-error').all_inner_texts()}"
    )
    # What the admin typed is kept.
    expect(page.locator("#title_en")).to_have_value(title_en)
    expect(page.locator("#title_km")).to_have_value(title_km)
    expect(page.locator("#topic")).to_have_value("human_rights")
    expect(page.locator("#starts_at")).to_have_value(_local(starts))
    expect(page.locator("#venue_name")).to_have_value("CLGBT Training Room")
    expect(capacity).to_have_value("-1")
    assert_fits_the_screen(page)

    capacity.fill("25")
    _submit(page)
    expect(page).to_have_url(STAFF_SESSION_PATH)
    expect(page.locator("h1")).to_have_text(title_en)
    expect(page.locator("main .badge")).to_have_text("Draft")
    expect(page.locator("main .facts")).to_contain_text("CLGBT Training Room")
    expect(page.locator("main .facts")).to_contain_text("25")

    with page.expect_navigation():
        page.get_by_role("button", name="Publish", exact=True).click()
    expect(page).to_have_url(STAFF_SESSION_PATH)
    expect(page.locator("main .badge")).to_have_text("Published")
    public_link = page.locator("main").get_by_role("link", name="Public page")
    expect(public_link).to_be_visible()
    public_path = public_link.get_attribute("href")
    assert public_path and PUBLIC_SESSION_PATH.search(public_path), public_path
    assert_fits_the_screen(page)

    # The visitor's side: the home page lists it, and its card opens its page.
    page.goto("/?lang=en")
    card = page.locator(".session-card").filter(has_text=title_en)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("CLGBT Training Room")
    expect(card).to_contain_text("25 seats left")
    card.locator("a").first.click()
    expect(page).to_have_url(re.compile(re.escape(public_path) + "$"))
    expect(page.locator("h1")).to_have_text(title_en)
    page.goto(f"{public_path}?lang=km")
    expect(page.locator("h1")).to_have_text(title_km)


# -- a monthly series -----------------------------------------------------------------------


def test_series_generator(page: Page, artifacts_dir: Path) -> None:
    log_in(page)
    response = page.goto("/staff/series/new?lang=en")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("New monthly series")

    today = datetime.now(ZONE).date()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    first = _first_saturday(next_month.year, next_month.month)
    starts = datetime(first.year, first.month, first.day, 9, 0, tzinfo=ZONE)
    title_en = f"E2E monthly peer support {RUN}"
    _fill_session_fields(
        page,
        title_en=title_en,
        title_km=f"ក្រុមគាំទ្រប្រចាំខែ {RUN}",
        starts=starts,
        hours=3,
        capacity="20",
    )
    page.locator("#rrule").fill("FREQ=MONTHLY;BYDAY=1SA")
    page.locator("#months").fill("3")
    _submit(page)

    # The dates come first, at the top of the form; nothing is created yet.
    preview = page.locator("main .series-preview")
    expect(preview.locator("h2")).to_have_text("This rule makes 3 sessions:")
    expect(preview.locator("li time")).to_have_count(3)
    assert_fits_the_screen(page)
    _screenshot(page, artifacts_dir / "series-preview-en-360.png")
    with page.expect_navigation():
        preview.get_by_role("button", name="Create these 3 sessions").click()

    expect(page).to_have_url(re.compile(r"/staff/sessions\?created=3$"))
    expect(page.locator("main .alert.success")).to_have_text(
        "The series has been created: 3 sessions."
    )
    cards = page.locator("main .session-card").filter(has_text=title_en)
    expect(cards).to_have_count(3)
    expect(cards.locator(".badge")).to_have_text(["Draft", "Draft", "Draft"])

    # Every first Saturday at 09:00 Phnom Penh time, three months in a row.
    stamps = cards.locator("time[datetime]").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"
    )
    starts_seen = [datetime.fromisoformat(s).astimezone(ZONE) for s in stamps]
    months = [(s.year, s.month) for s in starts_seen]
    expected = [(next_month.year, next_month.month)]
    for _ in range(2):
        y, m = expected[-1]
        expected.append((y + m // 12, m % 12 + 1))
    assert months == expected, f"the series' months are {months}, expected {expected}"
    for s in starts_seen:
        assert s.date() == _first_saturday(s.year, s.month), f"{s} is not a first Saturday"
        assert (s.hour, s.minute) == (9, 0), f"{s} does not start at 09:00"

    assert_fits_the_screen(page)
    _screenshot(page, artifacts_dir / "staff-sessions-en-360.png")


# -- Khmer on a phone -----------------------------------------------------------------------


def test_login_and_session_form_in_khmer(page: Page, artifacts_dir: Path) -> None:
    response = page.goto("/staff/login?lang=km")
    assert response is not None and response.status == 200
    assert html_lang(page) == "km"
    heading = page.locator("h1").inner_text()
    assert KHMER.search(heading), f"the login heading is not in Khmer: {heading!r}"
    for name in ("email", "password"):
        label = page.locator(f"label[for={name}]").inner_text()
        assert KHMER.search(label), f"the {name} label is not in Khmer: {label!r}"
    assert_fits_the_screen(page)
    _screenshot(page, artifacts_dir / "staff-login-km-360.png")

    # The form posts without ?lang=: the language cookie keeps Khmer, errors included.
    fill_login(page, "not the password")
    assert html_lang(page) == "km"
    expect(page.locator("main .alert.error")).to_have_text("អ៊ីមែល ឬពាក្យសម្ងាត់មិនត្រឹមត្រូវ។")
    fill_login(page, E2E_ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/sessions$"))
    assert html_lang(page) == "km"
    assert_fits_the_screen(page)

    response = page.goto("/staff/sessions/new?lang=km")
    assert response is not None and response.status == 200
    assert html_lang(page) == "km"
    heading = page.locator("h1").inner_text()
    assert KHMER.search(heading), f"the session form's heading is not in Khmer: {heading!r}"
    for name in ("topic", "title_km", "starts_at", "capacity"):
        label = page.locator(f"label[for={name}]").inner_text()
        assert KHMER.search(label), f"the {name} label is not in Khmer: {label!r}"
    assert_fits_the_screen(page)
    _screenshot(page, artifacts_dir / "staff-session-form-km-360.png")

    # The same form with a field error, in Khmer.
    starts = (datetime.now(ZONE) + timedelta(days=10)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    _fill_session_fields(
        page,
        title_en=f"E2E Khmer form {RUN}",
        title_km=f"វគ្គសាកល្បង {RUN}",
        starts=starts,
        hours=2,
        capacity="-1",
    )
    _submit(page)
    error = _field(page, "capacity").locator(".field-error").inner_text()
    assert KHMER.search(error), f"the capacity error is not in Khmer: {error!r}"
    assert_fits_the_screen(page)
    _screenshot(page, artifacts_dir / "staff-session-form-errors-km-360.png")


# -- form markup: what a screen reader is told about each field ------------------------------

FIELD_PROBLEMS_JS = """() => [...document.querySelectorAll('main div.field')].flatMap(field => {
    const control = field.querySelector('input, select, textarea');
    if (!control) return [];
    const name = '#' + control.id;
    const problems = [];
    for (const attr of control.getAttributeNames()) {
        if (/^required./.test(attr)) problems.push(`${name} has a stray attribute "${attr}"`);
    }
    const label = field.querySelector(`label[for="${control.id}"]`);
    if (label && label.querySelector('[aria-hidden="true"]') && !control.required) {
        problems.push(`${name} is marked * in its label but has no required attribute`);
    }
    const described = (control.getAttribute('aria-describedby') || '').split(/\\s+/);
    const hint = field.querySelector('.hint');
    const error = field.querySelector('.field-error');
    if (error) {
        if (control.getAttribute('aria-invalid') !== 'true') {
            problems.push(`${name} shows an error but has no aria-invalid="true"`);
        }
        if (!described.includes(error.id)) {
            problems.push(`${name}: its error is not in aria-describedby`);
        }
    } else if (hint && !described.includes(hint.id)) {
        problems.push(`${name}: its hint is not in aria-describedby`);
    }
    return problems;
})"""


@pytest.mark.parametrize("form", ["/staff/sessions/new", "/staff/series/new"])
@pytest.mark.parametrize("state", ["empty", "with errors"])
def test_form_fields_markup(page: Page, form: str, state: str) -> None:
    """Required fields say so, hints and errors are tied to their field, errors set
    aria-invalid: the visual asterisk is aria-hidden, so `required` is all a screen reader
    gets."""
    log_in(page)
    page.goto(f"{form}?lang=en")
    if state == "with errors":
        page.locator("#capacity").fill("-1")
        _submit(page)
        assert page.locator("main .field-error").count() > 1, "the empty form gave no errors"
    problems = page.evaluate(FIELD_PROBLEMS_JS)
    assert not problems, f"{form} ({state}):\n" + "\n".join(f"- {p}" for p in problems)


# -- accessibility --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "lang"),
    [
        ("login", "km"),
        ("login", "en"),
        ("session form", "km"),
        ("session form", "en"),
        ("session form with errors", "km"),
        ("sessions list", "en"),
        ("sessions list", "km"),
    ],
)
def test_no_serious_accessibility_violations(axe_page: Page, where: str, lang: str) -> None:
    page = axe_page
    if where == "login":
        page.goto(f"/staff/login?lang={lang}")
    elif where == "sessions list":
        log_in(page, lang)
    else:
        log_in(page, lang)
        page.goto(f"/staff/sessions/new?lang={lang}")
        if where == "session form with errors":
            page.locator("#capacity").fill("-1")
            _submit(page)
            expect(_field(page, "capacity").locator(".field-error")).to_be_visible()
    settle(page)
    assert html_lang(page) == lang

    assert_no_serious_violations(page, f"the staff {where} page", lang)
