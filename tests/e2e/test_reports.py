"""The reach report and an indicator in a real browser (issue 15): on a 360 px phone in Khmer
and on a 1280 px laptop in English.

The e2e server gets three past months of history with ``sala demo --months 3``, run on its
data dir as an operator would (the server keeps running; a second run adds nothing). The
history's months are the whole months before this one, so the test asks for last month (and
the year it belongs to) rather than the page's default "this year", which in January holds
no history yet.

Each language: the admin opens the report from the staff menu (its table has figures, both
charts are drawn inside the screen), asks for the breakdown by province with the form (a
plain GET form, no JavaScript), opens the printable annex, then defines an indicator
("attended SOGIE", by sector) with a target for this year and opens its page: actual against
target, with a bar. Every page: axe-core finds no serious or critical problem, nothing sticks
out sideways (a table may scroll inside its own box), a full-page screenshot in
``test-artifacts/``. The XLSX is downloaded through the page's link as a browser saves it.
"""

from __future__ import annotations

import re
import secrets
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.e2e.conftest import VIEWPORT, run_sala, sala_env
from tests.e2e.pages import (
    KHMER,
    assert_fits_the_screen,
    assert_no_serious_violations,
    html_lang,
    log_in,
    path_of,
    settle,
)

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)  # per run: the indicators' names are new in the shared data dir
ZONE = ZoneInfo("Asia/Phnom_Penh")  # the demo's and the server's time zone (the default)
PHONE: ViewportSize = {"width": VIEWPORT["width"], "height": VIEWPORT["height"]}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SCREENS = {"km": PHONE, "en": DESKTOP}  # Khmer on the phone, English on the laptop
NUMBER = re.compile(r"^[0-9០-៩][0-9០-៩,.\u00a0\u202f]*$")  # "1,234" whatever the language
HEADINGS = {"km": KHMER, "en": re.compile("Reach report")}
BREAKDOWNS = 8  # sector, organisation, province, month, topic, returning, gender, age band

OpenPage = Callable[[ViewportSize], Page]


@pytest.fixture(scope="module")
def history(sala_server: str, sala_data_dir: Path) -> str:
    """Three past months of sessions, registrations, check-ins and certificates on the
    running server's data dir; what ``sala demo`` said."""
    said = run_sala(["demo", "--months", "3"], sala_env(sala_data_dir, sala_server))
    assert "history" in said, f"`sala demo --months 3` loaded no history: {said!r}"
    return said


@pytest.fixture
def open_page(browser: Browser, sala_server: str, axe_source: str) -> Iterator[OpenPage]:
    """Opens a browser profile of the given screen size with axe-core, as conftest's
    ``axe_page`` (which is phone-sized only); closes them at the end."""
    opened = []

    def open_one(screen: ViewportSize) -> Page:
        ctx = browser.new_context(
            viewport=screen, base_url=sala_server, locale="en-US", accept_downloads=True
        )
        ctx.set_default_timeout(15_000)
        ctx.add_init_script(script=axe_source)
        opened.append(ctx)
        return ctx.new_page()

    yield open_one
    for ctx in opened:
        ctx.close()


# -- helpers ------------------------------------------------------------------------------


def _click_and_wait(target: Locator) -> None:
    with target.page.expect_navigation():
        target.click()


def _this_year() -> int:
    return datetime.now(ZONE).year


def _last_month() -> str:
    """The newest month of the demo history, as YYYY-MM."""
    today = datetime.now(ZONE)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def _screen_width(page: Page) -> int:
    size = page.viewport_size
    assert size is not None
    return int(size["width"])


def _fits(page: Page) -> None:
    """No sideways scroll of the page itself, on the phone or on the laptop."""
    if _screen_width(page) == VIEWPORT["width"]:
        assert_fits_the_screen(page)
        return
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= _screen_width(page), f"{page.url} is {width} px wide (horizontal scroll)"


def _check_page(page: Page, where: str, lang: str, artifacts: Path, shot: str) -> None:
    """In its language, no serious axe problem, no sideways scroll; a screenshot."""
    settle(page)
    assert html_lang(page) == lang, f"{where} is not in {lang}: <html lang={html_lang(page)!r}>"
    if lang == "km":
        heading = page.locator("main h1").inner_text()
        assert KHMER.search(heading), f"the heading of {where} is not in Khmer: {heading!r}"
    assert_no_serious_violations(page, where, lang)
    _fits(page)
    width = _screen_width(page)
    page.screenshot(path=str(artifacts / f"reports-{shot}-{lang}-{width}.png"), full_page=True)


def _figures(row: Locator) -> list[str]:
    return [text.strip() for text in row.locator("td.num").all_inner_texts()]


def _assert_table_has_figures(table: Locator, where: str) -> None:
    """Some rows, each with three numbers or one "fewer than" cell; a total with numbers,
    attendances above nought (the history has check-ins)."""
    rows = table.locator("tbody tr")
    assert rows.count() > 0, f"{where}: the table has no rows"
    expect(table.locator("tbody td.empty")).to_have_count(0)
    for i in range(rows.count()):
        row = rows.nth(i)
        figures = _figures(row)
        if "suppressed" in (row.get_attribute("class") or ""):
            assert len(figures) == 1 and figures[0], f"{where}: an empty hidden cell"
            assert not NUMBER.match(figures[0]), f"{where}: a hidden cell shows {figures[0]!r}"
        else:
            assert len(figures) == 3, f"{where}: row {i} has {figures}"
            assert all(NUMBER.match(f) for f in figures), f"{where}: row {i} has {figures}"
    total = _figures(table.locator("tfoot tr"))
    assert len(total) == 3 and all(NUMBER.match(f) for f in total), f"{where}: total {total}"
    assert int(re.sub(r"\D", "", total[1])) > 0, f"{where}: no attendance in the total {total}"


def _lines(cell: Locator) -> int:
    """How many lines the cell's text takes on the screen."""
    return int(
        cell.evaluate(
            "cell => { const r = document.createRange(); r.selectNodeContents(cell);"
            " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }"
        )
    )


def _assert_chart_on_screen(page: Page, chart_id: str) -> None:
    """The SVG is drawn, has bars, and lies inside the screen's width."""
    chart = page.locator(f"svg#{chart_id}")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() > 0, f"the chart {chart_id} has no bars"
    box = chart.bounding_box()
    assert box is not None and box["width"] > 100, f"the chart {chart_id} is not drawn: {box}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= _screen_width(page), (
        f"the chart {chart_id} sticks out of the {_screen_width(page)} px screen: {box}"
    )


# -- the reach report ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["km", "en"])
def test_reach_report(open_page: OpenPage, history: str, lang: str, artifacts_dir: Path) -> None:
    page = open_page(SCREENS[lang])
    log_in(page, lang)
    _click_and_wait(page.locator(".staff-nav a[href='/staff/reports']"))
    assert path_of(page.url) == "/staff/reports"
    expect(page.locator("main h1")).to_have_text(HEADINGS[lang])
    year = _this_year()
    expect(page.locator("#from")).to_have_value(f"{year}-01")  # this year, unless asked
    expect(page.locator("#to")).to_have_value(f"{year}-12")
    page.goto(f"/staff/reports?from={_last_month()}&to={_last_month()}")
    _assert_table_has_figures(page.locator("#reach-table"), "the report by sector")
    for chart_id in ("chart-month", "chart-sector"):
        _assert_chart_on_screen(page, chart_id)
    _check_page(page, "the reach report", lang, artifacts_dir, "reach")

    # The breakdown by province, asked for with the form.
    page.locator("#by").select_option("province")
    _click_and_wait(page.locator("main form.report-form button[type=submit]"))
    assert "by=province" in page.url, f"the form did not ask for the provinces: {page.url}"
    expect(page.locator("#by")).to_have_value("province")
    table = page.locator("#reach-table")
    _assert_table_has_figures(table, "the report by province")
    if lang == "en":
        expect(table.locator("thead th").first).to_have_text("Province")
        expect(table.locator("tbody th[scope=row]").filter(has_text="Phnom Penh")).to_have_count(1)
    for chart_id in ("chart-month", "chart-sector", "chart-breakdown"):
        _assert_chart_on_screen(page, chart_id)
    _check_page(page, "the reach report by province", lang, artifacts_dir, "reach-province")

    # The printable annex, for the same period: every breakdown, each its own table.
    _click_and_wait(page.locator("main a[href^='/staff/reports/print?']"))
    assert path_of(page.url) == "/staff/reports/print"
    expect(page.locator("main h1")).to_have_text(HEADINGS[lang])
    expect(page.locator("main table.reach:not([id^='learning-'])")).to_have_count(BREAKDOWNS)
    _assert_table_has_figures(page.locator("#table-province"), "the annex by province")
    for chart_id in ("chart-month", "chart-sector"):
        _assert_chart_on_screen(page, chart_id)
    _check_page(page, "the printable annex", lang, artifacts_dir, "print")


def test_xlsx_download(open_page: OpenPage, history: str, artifacts_dir: Path) -> None:
    """The page's "Download XLSX" link gives a spreadsheet (an XLSX is a zip file)."""
    page = open_page(PHONE)
    log_in(page)
    page.goto("/staff/reports?lang=en")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download XLSX").click()
    download = download_info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    saved = artifacts_dir / f"reports-{download.suggested_filename}"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"PK"), f"not a zip file: {data[:16]!r}"
    with zipfile.ZipFile(saved) as xlsx:
        assert "xl/workbook.xml" in xlsx.namelist(), xlsx.namelist()


# -- an indicator -------------------------------------------------------------------------


NAMES = {"km": f"មនុស្សដែលបានហ្វឹកហ្វឺនលើ SOGIE {RUN}", "en": f"People trained on SOGIE {RUN}"}


@pytest.mark.parametrize("lang", ["km", "en"])
def test_indicator(open_page: OpenPage, history: str, lang: str, artifacts_dir: Path) -> None:
    page = open_page(SCREENS[lang])
    log_in(page, lang)
    page.goto("/staff/reports")
    _click_and_wait(page.locator("main a[href='/staff/reports/indicators']"))
    _click_and_wait(page.locator("main a[href='/staff/reports/indicators/new']"))
    _check_page(page, "the new indicator form", lang, artifacts_dir, "indicator-new")

    name = NAMES[lang]
    page.locator(f"#name_{lang}").fill(name)
    page.locator("#kind-attended_topics").check()
    page.locator("#topic-sogie").check()
    page.locator("#by_sector").check()
    _click_and_wait(page.locator("main form.narrow button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/staff/reports/indicators/\d+\?done=created$"))
    expect(page.locator("main h1")).to_have_text(name)

    # A target for the year of last month (the history's), with the form for a new period.
    year = _last_month()[:4]
    page.locator("#period-new").fill(year)
    page.locator("#baseline-new").fill("10")
    page.locator("#target-new").fill("200")
    _click_and_wait(page.locator("main form:has(#period-new) button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/staff/reports/indicators/\d+\?done=target$"))

    table = page.locator("#indicator-table")
    expect(table.locator("tbody tr")).to_have_count(1)
    row = table.locator("tbody tr").first
    expect(row.locator("th")).to_contain_text(year)
    assert _lines(row.locator("th")) == 1, f"the period {year} is broken over lines"
    baseline, target, actual = _figures(row)
    assert (baseline, target) == ("10", "200"), (baseline, target)
    assert NUMBER.match(actual) and int(re.sub(r"\D", "", actual)) > 0, (
        f"nobody attended SOGIE in {year} after `sala demo --months 3`: {actual!r}"
    )
    bar = row.locator("progress")
    expect(bar).to_be_visible()
    assert bar.get_attribute("max") == "200"
    assert int(bar.get_attribute("value") or "0") == min(int(re.sub(r"\D", "", actual)), 200)
    expect(page.locator("main table.sectors")).to_have_count(1)
    _check_page(page, "the indicator page", lang, artifacts_dir, "indicator")

    page.goto("/staff/reports/indicators")
    card = page.locator("main .session-card").filter(has_text=name)
    expect(card).to_have_count(1)
    expect(card).to_contain_text(year)
    _check_page(page, "the indicators list", lang, artifacts_dir, "indicators")
