"""A pre-test and a post-test in a real browser, in Khmer, on a 360 px phone without
JavaScript, and the results page they feed (issue 16).

Set-up as a client would, through the JSON API: a public session tomorrow (so the pre-test is
open) and three people registered, each with their manage link. The admin then builds the
rest through the staff pages, in Khmer at 360 px with JavaScript on, with the real forms: three
questions in the session topic's bank (two with one answer, one with several), a test of
them, and the session's "tests" page choosing it as pre-test and post-test.

Each person, in a browser profile with JavaScript **off** (the pages are plain forms), opens
their manage page in Khmer, follows "take the pre-test", answers (different answers for each,
one of them a part of a multiple-choice answer, which is wrong) and sees their score. A
second visit shows the first result, and sending the form again from a second tab, with other
answers, answers the first result too. Another session of the topic, tomorrow, gets the same
test as its pre-test. The session starts (moved to an hour ago through the API, as a client
would: staff may open the post-test early only once it has started) and the admin opens the
post-test early; each person takes it, better than before. While the other session's
pre-test is still open the post-test shows the score only (the review would give that
pre-test's answers away); once that session has started too the review shows. The results
page then shows the three pairs, the gain and the per-question table, and
``GET /api/v1/sessions/{id}/evaluation`` the figures computed here from the answers given
(fractions of full marks, Hake's g of the pairs' means).

Every page (the person's manage page, the test, its result; the staff bank, test, session
tests and results): ``<html lang="km">``, a Khmer main heading, no sideways scroll at 360 px,
a full-page screenshot in ``test-artifacts/learning-<name>-km-360.png``.

axe-core runs in the page's own JavaScript, so it cannot run in the people's no-JavaScript
profiles. The staff pages are checked where they are used (a JavaScript profile). The people's
pages are opened again, by the same URLs, in a JavaScript profile with axe (a manage link is a
bearer link: any browser holding it sees the same page), with GETs only, so nothing is
answered there: the manage page and the test form of someone who has not taken it yet, and
the results of someone who has (the score, then the review).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.api import admin_token, call, published_session, register
from tests.e2e.conftest import VIEWPORT
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

RUN = secrets.token_hex(3)  # per run: the shared data dir may hold an earlier run's bank
KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


@dataclass(frozen=True)
class Question:
    key: str
    kind: str  # "single" or "multiple"
    text: str
    choices: tuple[str, ...]
    correct: frozenset[int]  # indexes into choices


QUESTIONS = (
    Question(
        "sogie",
        "single",
        f"តើ SOGIE មានន័យថាអ្វី? ({RUN})",
        (
            f"ទំនោរផ្លូវភេទ អត្តសញ្ញាណយេនឌ័រ និងការបញ្ចេញយេនឌ័រ {RUN}",
            f"ឈ្មោះអង្គការមួយ {RUN}",
            f"ច្បាប់ថ្មីមួយ {RUN}",
        ),
        frozenset({0}),
    ),
    Question(
        "identity",
        "multiple",
        f"តើមួយណាខ្លះជាអត្តសញ្ញាណយេនឌ័រ? ({RUN})",
        (f"ស្ត្រីប្លែងភេទ {RUN}", f"បុរសប្លែងភេទ {RUN}", f"ខេត្តកំពត {RUN}"),
        frozenset({0, 1}),
    ),
    Question(
        "idahobit",
        "single",
        f"តើទិវាអន្តរជាតិប្រឆាំងនឹងការរើសអើងលើអ្នកស្រឡាញ់ភេទដូចគ្នា ថ្ងៃណា? ({RUN})",
        (f"១៧ ឧសភា {RUN}", f"១ មករា {RUN}", f"២៥ ធ្នូ {RUN}"),
        frozenset({0}),
    ),
)
BY_KEY = {q.key: q for q in QUESTIONS}
TEST_NAME = f"តេស្តចំណេះដឹង SOGIE {RUN}"

# What each person chooses, per question (indexes into its choices). Before: one right of
# three (a part of the multiple-choice answer is wrong), none, one; after: better.
Answers = dict[str, tuple[int, ...]]
PEOPLE: dict[str, dict[str, Answers]] = {
    "សុខា": {
        "pre": {"sogie": (0,), "identity": (0,), "idahobit": (0,)},  # R W(part) R: 2
        "post": {"sogie": (0,), "identity": (0, 1), "idahobit": (0,)},  # 3
    },
    "ដារ៉ា": {
        "pre": {"sogie": (1,), "identity": (2,), "idahobit": (1,)},  # 0
        "post": {"sogie": (0,), "identity": (0, 1), "idahobit": (2,)},  # 2
    },
    "ចន្ថា": {
        "pre": {"sogie": (2,), "identity": (0, 1), "idahobit": (2,)},  # 1
        "post": {"sogie": (0,), "identity": (1, 0), "idahobit": (1,)},  # 2
    },
}
# Sent from a second tab after the first pre-test: must not count.
OTHER_ANSWERS: Answers = {"sogie": (1,), "identity": (2,), "idahobit": (2,)}


def _right(question: Question, chosen: tuple[int, ...]) -> bool:
    return frozenset(chosen) == question.correct


def _score(answers: Answers) -> int:
    return sum(_right(BY_KEY[key], chosen) for key, chosen in answers.items())


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _expected() -> dict[str, Any]:
    """The figures of the answers above: fractions of full marks, Hake's g of the means."""
    top = len(QUESTIONS)
    pre = _mean([_score(p["pre"]) / top for p in PEOPLE.values()])
    post = _mean([_score(p["post"]) / top for p in PEOPLE.values()])
    per_question = {
        q.key: tuple(sum(_right(q, p[phase][q.key]) for p in PEOPLE.values()) for phase in PHASES)
        for q in QUESTIONS
    }
    return {"pre": pre, "post": post, "gain": (post - pre) / (1 - pre), "right": per_question}


PHASES = ("pre", "post")


def _numbers(text: str) -> list[int]:
    """The whole numbers in a text, Khmer digits or not."""
    return [int(n) for n in re.findall(r"\d+", text.translate(KHMER_DIGITS).replace(",", ""))]


@dataclass
class Person:
    name: str
    email: str
    manage_path: str  # /registrations/<token>
    page: Page  # a no-JavaScript page of their own browser profile
    scores: dict[str, int] = field(default_factory=dict)


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def contexts(browser: Browser, sala_server: str, axe_source: str) -> Iterator[dict[str, Any]]:
    """Opens browser profiles: ``js`` (with axe) or ``plain`` (JavaScript off); closes them."""
    opened: list[BrowserContext] = []

    def open_one(*, javascript: bool) -> BrowserContext:
        ctx = browser.new_context(
            viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
            base_url=sala_server,
            locale="km-KH",
            java_script_enabled=javascript,
        )
        ctx.set_default_timeout(15_000)
        if javascript:
            ctx.add_init_script(script=axe_source)
        opened.append(ctx)
        return ctx

    yield {"open": open_one}
    for ctx in opened:
        ctx.close()


# -- helpers ------------------------------------------------------------------------------


def _click_and_wait(target: Locator) -> None:
    with target.page.expect_navigation():
        target.click()


def _check_page(page: Page, where: str, artifacts: Path, shot: str | None, *, axe: bool) -> None:
    """In Khmer, a Khmer heading, no sideways scroll, a screenshot (unless the same page was
    shot in the no-JavaScript profile); axe where JavaScript runs."""
    if axe:
        settle(page)
    else:
        page.wait_for_load_state("load")
    assert html_lang(page) == "km", f"{where} is not in Khmer: <html lang={html_lang(page)!r}>"
    heading = page.locator("main h1").first.inner_text()
    assert KHMER.search(heading), f"the heading of {where} is not in Khmer: {heading!r}"
    if axe:
        assert_no_serious_violations(page, where, "km")
    assert_fits_the_screen(page)
    if shot is not None:
        page.screenshot(path=str(artifacts / f"learning-{shot}-km-360.png"), full_page=True)


def _status_of(page: Page, path: str) -> int:
    response = page.goto(path)
    assert response is not None
    return response.status


def _answer(page: Page, answers: Answers) -> None:
    """Tick each question's choices (radios and checkboxes need no JavaScript)."""
    for key, chosen in answers.items():
        question = BY_KEY[key]
        fieldset = page.locator("fieldset.question").filter(
            has=page.locator("legend", has_text=question.text)
        )
        expect(fieldset).to_have_count(1)
        kind = "checkbox" if question.kind == "multiple" else "radio"
        expect(fieldset.locator(f"input[type={kind}]")).to_have_count(len(question.choices))
        for index in chosen:
            fieldset.get_by_label(question.choices[index], exact=True).check()


def _send(page: Page) -> int:
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    response = navigation.value
    assert response is not None
    return response.status


def _score_shown(page: Page) -> tuple[int, int]:
    text = page.locator("main .status.confirmed").inner_text()
    assert KHMER.search(text), f"the score is not told in Khmer: {text!r}"
    numbers = _numbers(text)
    assert len(numbers) >= 2, f"no score in {text!r}"
    return numbers[-2], numbers[-1]


def _follow_test_link(person: Person, phase: str) -> None:
    person.page.goto(person.manage_path)
    link = person.page.locator(f"main a[href$='/tests/{phase}']")
    expect(link).to_have_count(1)
    assert KHMER.search(link.inner_text()), f"the {phase}-test link is not in Khmer"
    _click_and_wait(link)
    assert path_of(person.page.url) == f"{person.manage_path}/tests/{phase}"


# -- the admin's part ---------------------------------------------------------------------


def _add_question(page: Page, question: Question) -> None:
    page.locator("#kind").select_option(question.kind)
    page.locator("#text_km").fill(question.text)
    for index, text in enumerate(question.choices, start=1):
        page.locator(f"#choice_km_{index}").fill(text)
        if index - 1 in question.correct:
            page.locator(f"#correct_{index}").check()
    _click_and_wait(page.locator("main section.narrow form button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/staff/topics/\d+/questions\?saved=\d+$"))
    expect(page.locator("main .question-list")).to_contain_text(question.text)


def _build_tests(page: Page, session_id: int, artifacts: Path) -> None:
    """Bank, test and the session's choice, through the staff pages' forms."""
    page.goto(f"/staff/sessions/{session_id}")
    _click_and_wait(page.locator(f"main a[href='/staff/sessions/{session_id}/tests']"))
    assert path_of(page.url) == f"/staff/sessions/{session_id}/tests"
    _click_and_wait(page.locator("main a[href^='/staff/topics/'][href$='/tests']"))
    tests_path = path_of(page.url)
    assert re.fullmatch(r"/staff/topics/\d+/tests", tests_path), page.url
    _click_and_wait(page.locator("main a[href$='/questions']"))
    assert re.fullmatch(r"/staff/topics/\d+/questions", path_of(page.url)), page.url

    for question in QUESTIONS:
        _add_question(page, question)
    _check_page(page, "the question bank", artifacts, "bank", axe=True)

    page.goto(tests_path)
    page.locator("#name_km").fill(TEST_NAME)
    _click_and_wait(page.locator("main section.narrow form button[type=submit]"))
    assert re.fullmatch(r"/staff/learning-tests/\d+", path_of(page.url)), page.url
    for question in QUESTIONS:
        page.get_by_label(question.text, exact=True).check()
    _click_and_wait(page.locator("main button[name=action][value=add]"))
    expect(page).to_have_url(re.compile(r"\?saved=1$"))
    entries = page.locator("main ol.question-list > li")
    expect(entries).to_have_count(len(QUESTIONS))
    for question in QUESTIONS:
        expect(page.locator("main ol.question-list")).to_contain_text(question.text)
    _check_page(page, "the test", artifacts, "test-edit", axe=True)

    page.goto(f"/staff/sessions/{session_id}/tests")
    page.locator("#pre_test").select_option(label=TEST_NAME)
    page.locator("#post_test").select_option(label=TEST_NAME)
    _click_and_wait(page.locator("main button[name=action][value=tests]"))
    expect(page).to_have_url(re.compile(r"\?saved=tests$"))
    expect(page.locator("#pre_test option:checked")).to_have_text(TEST_NAME)
    expect(page.locator("#post_test option:checked")).to_have_text(TEST_NAME)
    expect(page.locator("main button[name=action][value=open]")).to_have_count(1)
    _check_page(page, "the session's tests", artifacts, "session-tests", axe=True)


# -- the test -----------------------------------------------------------------------------


def test_pre_and_post_test_in_khmer_without_javascript(
    contexts: dict[str, Any], sala_server: str, sala_data_dir: Path, artifacts_dir: Path
) -> None:
    open_context = contexts["open"]
    token = admin_token(sala_data_dir, sala_server, f"e2e learning {RUN}")
    session = published_session(sala_server, token, f"SOGIE basics, tested {RUN}")
    session_id = session["id"]
    # The manage page's heading is the session's title: give it its Khmer one.
    khmer_title = {"title_km": f"មូលដ្ឋានគ្រឹះ SOGIE {RUN}"}
    call(sala_server, "PATCH", f"/api/v1/sessions/{session_id}", khmer_title, token)

    admin = open_context(javascript=True).new_page()
    log_in(admin, "km")
    _build_tests(admin, session_id, artifacts_dir)

    people: list[Person] = []
    for number, name in enumerate(PEOPLE, start=1):
        email = f"learner{number}.{RUN}@e2e.test"
        receipt = register(sala_server, session_id, name, email)
        manage_path = path_of(receipt["manage_url"])
        page = open_context(javascript=False).new_page()
        response = page.goto(f"{manage_path}?lang=km")  # the cookie remembers it
        assert response is not None and response.status == 200
        people.append(Person(name, email, manage_path, page))
    viewer = open_context(javascript=True).new_page()  # axe on the people's pages (GET only)

    # -- the pre-test ------------------------------------------------------------------
    first = people[0]
    _check_page(first.page, "the manage page", artifacts_dir, "manage", axe=False)
    viewer.goto(f"{first.manage_path}?lang=km")
    _check_page(viewer, "the manage page (axe)", artifacts_dir, None, axe=True)
    viewer.goto(f"{first.manage_path}/tests/pre")
    expect(viewer.locator("main fieldset.question")).to_have_count(len(QUESTIONS))
    _check_page(viewer, "the pre-test form (axe)", artifacts_dir, None, axe=True)

    for person in people:
        answers = PEOPLE[person.name]["pre"]
        _follow_test_link(person, "pre")
        page = person.page
        expect(page.locator("main fieldset.question")).to_have_count(len(QUESTIONS))
        if person is first:
            _check_page(page, "the pre-test form", artifacts_dir, "pre-test", axe=False)
            # A second tab of the same form, to send other answers after the first.
            second_tab = page.context.new_page()
            second_tab.goto(path_of(page.url))
            _answer(second_tab, OTHER_ANSWERS)
        _answer(page, answers)
        assert _send(page) == 200  # 303 then the result page
        assert path_of(page.url) == f"{person.manage_path}/tests/pre"
        score = _score_shown(page)
        person.scores["pre"] = score[0]
        assert score == (_score(answers), len(QUESTIONS)), f"{person.name}'s pre-test score"
        expect(page.locator("main .alert.success")).to_have_count(1)  # "your answers are saved"
        expect(page.locator("main ol.test-review")).to_have_count(0)  # no answers shown before
        if person is first:
            _check_page(page, "the pre-test's result", artifacts_dir, "pre-result", axe=False)
            # Taking it twice answers the first result, whatever was sent the second time.
            assert _send(second_tab) == 200
            assert _score_shown(second_tab) == score, "a second pre-test changed the score"
            expect(second_tab.locator("main .alert.success")).to_have_count(0)
            second_tab.close()
            # A second visit shows the first result, not the form.
            page.goto(f"{person.manage_path}/tests/pre")
            assert _score_shown(page) == score
            expect(page.locator("main form button[type=submit]")).to_have_count(0)
            viewer.goto(f"{person.manage_path}/tests/pre")
            _check_page(viewer, "the pre-test's result (axe)", artifacts_dir, None, axe=True)
        page.goto(person.manage_path)
        tests = page.locator("main section.learning-tests")
        assert _numbers(tests.inner_text())[:2] == [score[0], score[1]], tests.inner_text()
        expect(tests.locator("a[href$='/tests/post']")).to_have_count(0)  # not open yet

    # -- another session uses the same test as its pre-test; this one starts -----------
    later_id = published_session(sala_server, token, f"SOGIE basics, again {RUN}")["id"]
    admin.goto(f"/staff/sessions/{later_id}/tests")
    admin.locator("#pre_test").select_option(label=TEST_NAME)
    _click_and_wait(admin.locator("main button[name=action][value=tests]"))
    expect(admin).to_have_url(re.compile(r"\?saved=tests$"))

    def start(target_id: int) -> None:
        """The session started an hour ago (its pre-test is closed)."""
        started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        times = {"starts_at": started, "ends_at": started + timedelta(hours=3)}
        fields = {key: when.isoformat() for key, when in times.items()}
        call(sala_server, "PATCH", f"/api/v1/sessions/{target_id}", fields, token)

    start(session_id)

    # -- the admin opens the post-test early ---------------------------------------------
    admin.goto(f"/staff/sessions/{session_id}/tests")
    _click_and_wait(admin.locator("main button[name=action][value=open]"))
    expect(admin).to_have_url(re.compile(r"\?saved=open$"))
    expect(admin.locator("main button[name=action][value=close]")).to_have_count(1)
    _check_page(admin, "the session's tests, post-test open", artifacts_dir, "post-open", axe=True)

    viewer.goto(f"{people[1].manage_path}/tests/post")
    expect(viewer.locator("main fieldset.question")).to_have_count(len(QUESTIONS))
    _check_page(viewer, "the post-test form (axe)", artifacts_dir, None, axe=True)

    # -- the post-test, while the other session's pre-test is open: the score only -------
    def take_post(person: Person, *, shot: bool) -> Page:
        answers = PEOPLE[person.name]["post"]
        _follow_test_link(person, "post")
        page = person.page
        if shot:
            _check_page(page, "the post-test form", artifacts_dir, "post-test", axe=False)
        _answer(page, answers)
        assert _send(page) == 200
        score = _score_shown(page)
        person.scores["post"] = score[0]
        assert score == (_score(answers), len(QUESTIONS)), f"{person.name}'s post-test score"
        assert score[0] >= person.scores["pre"], f"{person.name} did worse after the training"
        return page

    page = take_post(first, shot=True)
    expect(page.locator("main ol.test-review")).to_have_count(0)
    _check_page(page, "the post-test's result (score only)", artifacts_dir, "post-score", axe=False)

    # -- the other session has started (no pre-test of it is open): the review shows ----
    start(later_id)
    for person in people[1:]:
        page = take_post(person, shot=False)
        _assert_review(page, PEOPLE[person.name]["post"])
    first.page.goto(f"{first.manage_path}/tests/post")
    _assert_review(first.page, PEOPLE[first.name]["post"])
    _check_page(first.page, "the post-test's review", artifacts_dir, "post-review", axe=False)
    viewer.goto(f"{first.manage_path}/tests/post")
    _check_page(viewer, "the post-test's review (axe)", artifacts_dir, None, axe=True)

    # -- the results -------------------------------------------------------------------
    expected = _expected()
    admin.goto(f"/staff/sessions/{session_id}")
    _click_and_wait(admin.locator(f"main a[href='/staff/sessions/{session_id}/evaluation']"))
    assert path_of(admin.url) == f"/staff/sessions/{session_id}/evaluation"
    facts = admin.locator("main dl.facts dd")
    expect(facts).to_have_count(4)
    pre_n, post_n, pairs, gain = (_numbers(text) for text in facts.all_inner_texts())
    percent = {k: round(expected[k] * 100) for k in ("pre", "post", "gain")}
    assert pre_n == [len(PEOPLE), percent["pre"]], facts.all_inner_texts()
    assert post_n == [len(PEOPLE), percent["post"]], facts.all_inner_texts()
    assert pairs == [len(PEOPLE), percent["pre"], percent["post"]], facts.all_inner_texts()
    assert gain == [percent["gain"]], facts.all_inner_texts()
    lead = admin.locator("main p.lead").inner_text()
    assert KHMER.search(lead) and percent["gain"] in _numbers(lead), lead
    rows = admin.locator("#question-table tbody tr")
    expect(rows).to_have_count(len(QUESTIONS))
    for question in QUESTIONS:
        row = rows.filter(has=admin.locator("th", has_text=question.text))
        expect(row).to_have_count(1)
        before, after = row.locator("td.num").all_inner_texts()
        right_before, right_after = expected["right"][question.key]
        people_n = len(PEOPLE)
        assert _numbers(before)[:2] == [right_before, people_n], (question.key, before)
        assert _numbers(after)[:2] == [right_after, people_n], (question.key, after)
        not_moved = "not-moved" in (row.get_attribute("class") or "")
        assert not_moved == (right_after <= right_before), (question.key, before, after)
    wrap = admin.locator("main .table-wrap:has(#question-table)")
    sizes = wrap.evaluate("box => [box.scrollWidth, box.clientWidth]")
    assert sizes[0] <= sizes[1], f"the question table scrolls sideways in its box: {sizes}"
    _check_page(admin, "the results page", artifacts_dir, "results", axe=True)

    figures = call(sala_server, "GET", f"/api/v1/sessions/{session_id}/evaluation", token=token)
    assert figures["pairs"] == len(PEOPLE), figures
    assert figures["pre"] == {"n": len(PEOPLE), "mean": round(expected["pre"], 4)}, figures
    assert figures["post"] == {"n": len(PEOPLE), "mean": round(expected["post"], 4)}, figures
    assert figures["normalised_gain"] == round(expected["gain"], 4), figures
    assert figures["normalised_gain"] == pytest.approx(2 / 3, abs=1e-4)  # the answers' g


def _assert_review(page: Page, answers: Answers) -> None:
    """Each question right or wrong, with the person's answers and the correct ones."""
    review = page.locator("main ol.test-review > li")
    expect(review).to_have_count(len(QUESTIONS))
    for key, chosen in answers.items():
        question = BY_KEY[key]
        item = review.filter(has=page.locator("p strong", has_text=question.text))
        expect(item).to_have_count(1)
        badge = "published" if _right(question, chosen) else "cancelled"
        expect(item.locator(f"p .badge.{badge}")).to_have_count(1)
        lines = item.locator("ul > li")
        for index, text in enumerate(question.choices):
            line = lines.filter(has_text=text)
            expect(line).to_have_count(1)
            expect(line.locator("em")).to_have_count(1 if index in chosen else 0)
            expect(line.locator("strong")).to_have_count(1 if index in question.correct else 0)
