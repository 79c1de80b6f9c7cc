"""The staff pages in a real browser on a 360 px wide phone screen, as an admin.

What an admin does: log in (a wrong password first), create a session with the form (an
invalid capacity first), publish it and find it on the public home page, generate a monthly
series, and the log-in page and the session form in Khmer. Screenshots go to
``test-artifacts/``; axe-core must find no serious or critical problem.

conftest's ``sala_server`` does not say where its data lives, and an admin can only be made
with ``sala create-admin`` on the server's data dir (there is no sign-up). So this module
overrides ``sala_server`` with its own server (same recipe: ``sala demo`` then ``sala serve``)
that also has an admin; conftest's ``context``, ``page`` and ``axe_page`` use it here.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    REPO_ROOT,
    SALA,
    STARTUP_TIMEOUT,
    VIEWPORT,
    _free_port,
    _healthy,
)

pytestmark = pytest.mark.e2e

ADMIN_EMAIL = "admin@e2e.test"
ADMIN_NAME = "E2E Admin"
ADMIN_PASSWORD = "e2e admin password"

ZONE = ZoneInfo("Asia/Phnom_Penh")  # SALA_TIMEZONE's default: the forms are read in it
KHMER = re.compile("[\u1780-\u17ff]")
STAFF_SESSION_PATH = re.compile(r"/staff/sessions/(\d+)$")
PUBLIC_SESSION_PATH = re.compile(r"/sessions/(\d+)$")

# A per-run mark in the titles, so the tests find their own sessions among the demo ones.
RUN = secrets.token_hex(3)


# -- the server, with an admin ------------------------------------------------------------


def _sala(args: list[str], env: dict[str, str]) -> None:
    """Run one ``sala`` command to completion; fail the tests with its output if it fails."""
    done = subprocess.run(
        [str(SALA), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"`sala {args[0]}` failed with exit code {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The same real server as conftest's, with the demo data, plus an admin made by
    ``sala create-admin`` on the same data dir; yields its base URL and its log file."""
    if not SALA.exists():
        pytest.fail(f"the sala command is not installed next to the Python: {SALA}")
    data_dir = tmp_path_factory.mktemp("sala-e2e-staff-data")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SALA_")}
    env.update(SALA_DATA_DIR=str(data_dir), SALA_BASE_URL=base_url, SALA_RATE_LIMITS="off")

    _sala(["demo"], env)
    _sala(
        [
            "create-admin",
            "--email",
            ADMIN_EMAIL,
            "--name",
            ADMIN_NAME,
            "--password",
            ADMIN_PASSWORD,
        ],
        env,
    )

    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(SALA), "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(f"{base_url}/healthz"):
            if server.poll() is not None:
                pytest.fail(
                    f"`sala serve` exited with code {server.returncode} before answering "
                    f"/healthz:\n{log_path.read_text(errors='replace')}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`sala serve` did not answer GET /healthz with 200 within "
                    f"{STARTUP_TIMEOUT:.0f} s:\n{log_path.read_text(errors='replace')}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield base_url, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def sala_server(staff_server: tuple[str, Path]) -> str:
    """Overrides conftest's ``sala_server`` for this module, so that conftest's ``context``,
    ``page`` and ``axe_page`` talk to the server that has the admin."""
    return staff_server[0]


@pytest.fixture(autouse=True)
def server_log(staff_server: tuple[str, Path]) -> Iterator[None]:
    """Print what the server logged during a test: pytest shows it when the test fails
    (a 500 page says nothing; the traceback is in the log)."""
    log_path = staff_server[1]
    start = log_path.stat().st_size
    yield
    with log_path.open("rb") as log:
        log.seek(start)
        new = log.read().decode(errors="replace").strip()
    if new:
        print(f"--- sala serve logged during this test ({log_path}):\n{new}")


# -- helpers ------------------------------------------------------------------------------


def _path(url: str) -> str:
    return urlsplit(url).path


def _html_lang(page: Page) -> str | None:
    return page.locator("html").get_attribute("lang")


def _local(moment: datetime) -> str:
    """The value a ``datetime-local`` input takes."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _assert_fits_the_screen(page: Page) -> None:
    """Nothing sticks out sideways at 360 px: no horizontal scrolling on a phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], (
        f"{page.url} is {width} px wide on a {VIEWPORT['width']} px screen (horizontal scroll)"
    )


def _screenshot(page: Page, path: Path) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(path), full_page=True)


def _submit(page: Page) -> None:
    """Click the main form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()


def _fill_login(page: Page, password: str) -> None:
    page.locator("#email").fill(ADMIN_EMAIL)
    page.locator("#password").fill(password)
    _submit(page)


def _log_in(page: Page, lang: str = "en") -> None:
    page.goto(f"/staff/login?lang={lang}")
    _fill_login(page, ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/sessions$"))


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


def test_wrong_password_then_log_in(page: Page) -> None:
    response = page.goto("/staff/login?lang=en")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("Staff login")

    _fill_login(page, "not the password")
    assert _path(page.url) == "/staff/login", f"a wrong password led to {page.url}"
    alert = page.locator("main .alert.error[role=alert]")
    expect(alert).to_have_text("Wrong email or password.")
    expect(page.locator("#email")).to_have_value(ADMIN_EMAIL)
    expect(page.locator("#password")).to_have_value("")

    _fill_login(page, ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/sessions$"))
    expect(page.locator("h1")).to_have_text("Sessions")
    expect(page.locator(".staff-nav")).to_contain_text(ADMIN_NAME)
    expect(page.locator("main").get_by_role("link", name="New session")).to_be_visible()
    assert page.locator("main .session-card").count() > 0, "the demo sessions are not listed"
    _assert_fits_the_screen(page)


# -- one session: form, errors, publish, public page ----------------------------------------


def test_create_and_publish_a_session(page: Page) -> None:
    _log_in(page)
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
    with page.expect_response(lambda r: _path(r.url) == "/staff/sessions/new") as answer:
        _submit(page)
    assert answer.value.status == 422, f"an invalid capacity answered {answer.value.status}"
    assert _path(page.url) == "/staff/sessions/new"
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
    _assert_fits_the_screen(page)

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
    _assert_fits_the_screen(page)

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
    _log_in(page)
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

    _assert_fits_the_screen(page)
    _screenshot(page, artifacts_dir / "staff-sessions-en-360.png")


# -- Khmer on a phone -----------------------------------------------------------------------


def test_login_and_session_form_in_khmer(page: Page, artifacts_dir: Path) -> None:
    response = page.goto("/staff/login?lang=km")
    assert response is not None and response.status == 200
    assert _html_lang(page) == "km"
    heading = page.locator("h1").inner_text()
    assert KHMER.search(heading), f"the login heading is not in Khmer: {heading!r}"
    for name in ("email", "password"):
        label = page.locator(f"label[for={name}]").inner_text()
        assert KHMER.search(label), f"the {name} label is not in Khmer: {label!r}"
    _assert_fits_the_screen(page)
    _screenshot(page, artifacts_dir / "staff-login-km-360.png")

    # The form posts without ?lang=: the language cookie keeps Khmer, errors included.
    _fill_login(page, "not the password")
    assert _html_lang(page) == "km"
    expect(page.locator("main .alert.error")).to_have_text("អ៊ីមែល ឬពាក្យសម្ងាត់មិនត្រឹមត្រូវ។")
    _fill_login(page, ADMIN_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/sessions$"))
    assert _html_lang(page) == "km"
    _assert_fits_the_screen(page)

    response = page.goto("/staff/sessions/new?lang=km")
    assert response is not None and response.status == 200
    assert _html_lang(page) == "km"
    heading = page.locator("h1").inner_text()
    assert KHMER.search(heading), f"the session form's heading is not in Khmer: {heading!r}"
    for name in ("topic", "title_km", "starts_at", "capacity"):
        label = page.locator(f"label[for={name}]").inner_text()
        assert KHMER.search(label), f"the {name} label is not in Khmer: {label!r}"
    _assert_fits_the_screen(page)
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
    _assert_fits_the_screen(page)
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
    _log_in(page)
    page.goto(f"{form}?lang=en")
    if state == "with errors":
        page.locator("#capacity").fill("-1")
        _submit(page)
        assert page.locator("main .field-error").count() > 1, "the empty form gave no errors"
    problems = page.evaluate(FIELD_PROBLEMS_JS)
    assert not problems, f"{form} ({state}):\n" + "\n".join(f"- {p}" for p in problems)


# -- accessibility --------------------------------------------------------------------------


def _serious_violations(page: Page) -> list[dict[str, Any]]:
    assert page.evaluate("typeof window.axe") == "object", "axe-core did not load in the page"
    results = page.evaluate("window.axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


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
        _log_in(page, lang)
    else:
        _log_in(page, lang)
        page.goto(f"/staff/sessions/new?lang={lang}")
        if where == "session form with errors":
            page.locator("#capacity").fill("-1")
            _submit(page)
            expect(_field(page, "capacity").locator(".field-error")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert _html_lang(page) == lang

    violations = _serious_violations(page)
    assert not violations, (
        f"axe-core found serious/critical problems on the staff {where} page ({lang}, "
        f"{VIEWPORT['width']} px):\n{_describe(violations)}"
    )
