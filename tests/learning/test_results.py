"""The results page of a session's evaluation (/staff/sessions/{id}/evaluation), on both
databases, on the hand-made answers of test_evaluation_api.py (its docstring tells them).

Per question (one test before and after): q1 2 of 3 right → 3 of 3; q2 0 of 3 → 3 of 3;
q3 0 of 3 → 3 of 3; q4 1 of 3 → 1 of 3 (Sophea only both times: not moved).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from events.models import Topic
from learning.models import Phase, SessionEvaluation
from sala.config import Settings
from tests.factories import log_in, make_session, move_session, register_person
from tests.learning.test_evaluation_api import (
    ResultsData,
    build_results_data,
    give_feedback,
    make_question,
    make_test,
    take,
)


@pytest.fixture
async def results_data(client: httpx.AsyncClient, settings: Settings) -> ResultsData:
    return await build_results_data(settings)


def _url(session_id: int) -> str:
    return f"/staff/sessions/{session_id}/evaluation"


async def _page(client: httpx.AsyncClient, session_id: int) -> str:
    answer = await client.get(_url(session_id))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert not re.search(r"\sstyle=", answer.text)  # the CSP forbids inline styles
    assert "<script" not in answer.text.split("</header>", 1)[-1].split("<footer", 1)[0]
    return answer.text


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _rows(page: str, table_id: str) -> list[list[str]]:
    found = re.search(rf'<table[^>]* id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.DOTALL)
    assert found, f"no table {table_id}"
    return [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.DOTALL)
    ]


async def test_the_page_shows_the_figures(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    await log_in(client, results_data.facilitator)
    page = _text(await _page(client, results_data.session.id))
    assert "Pre-test 3 people took it; mean score 25%" in page
    assert "Post-test 3 people took it; mean score 83%" in page
    assert "Took both tests 2 people; mean score 38% before, 88% after" in page
    assert "Normalised gain 80%" in page
    assert "The 2 people who took both tests closed 80% of the gap to full marks" in page
    rows = _rows(await _page(client, results_data.session.id), "question-table")
    assert rows == [
        ["Question 1", "2 of 3 (67%)", "3 of 3 (100%)"],
        ["Question 2", "0 of 3 (0%)", "3 of 3 (100%)"],
        ["Question 3", "0 of 3 (0%)", "3 of 3 (100%)"],
        ["Question 4 Not moved by the training", "1 of 3 (33%)", "1 of 3 (33%)"],
    ]


async def test_in_khmer(client: httpx.AsyncClient, results_data: ResultsData) -> None:
    await log_in(client, results_data.admin)
    answer = await client.get(_url(results_data.session.id) + "?lang=km")
    assert answer.status_code == 200
    assert '<html lang="km"' in answer.text
    assert "Question 1 (km)" in answer.text  # the bank's Khmer text


async def test_parallel_forms_show_not_asked_for_the_other_test(
    client: httpx.AsyncClient, results_data: ResultsData, settings: Settings
) -> None:
    topic = await Topic.get(code="sogie")
    before, after = await make_question(topic, "Form A"), await make_question(topic, "Form B")
    pre, post = await make_test(topic, "A", [before]), await make_test(topic, "B", [after])
    session = await make_session(topic="sogie", facilitators=(results_data.facilitator,))
    await SessionEvaluation.create(session=session, pre_test=pre, post_test=post)
    outcome = await register_person(session, settings)
    await take(session, outcome.registration.id, pre, Phase.PRE, {before: False})
    await log_in(client, results_data.facilitator)
    page = await _page(client, session.id)
    assert _rows(page, "question-table") == [
        ["Form A", "0 of 1 (0%)", "not asked"],
        ["Form B", "not asked", "no answers yet"],
    ]
    assert "Nobody has taken both tests yet" in _text(page)


async def test_feedback_below_the_minimum_cell_shows_only_its_count(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    question = results_data.feedback_question
    secrets = ["The venue was far", "I am the only one from Kampot", "More games", "Thanks"]
    await give_feedback(results_data.session, [5, 4, 1, 5], {question: secrets})
    await log_in(client, results_data.facilitator)
    page = await _page(client, results_data.session.id)
    text = _text(page)
    assert "4 responses" in text
    assert "Too few answers to show without identifying anyone" in text
    for secret in secrets:
        assert secret not in page
    assert "Mean rating" not in text and 'id="rating-table"' not in page


async def test_feedback_from_the_minimum_cell_shows_ratings_and_answers(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    question = results_data.feedback_question
    words = [f"Answer number {n}" for n in range(1, 8)]
    await give_feedback(results_data.session, [5] * 5 + [4] * 6, {question: words})
    await log_in(client, results_data.facilitator)
    page = await _page(client, results_data.session.id)
    text = _text(page)
    assert "11 responses" in text
    assert "Mean rating: 4.5 out of 5" in text  # 49 / 11
    assert _rows(page, "rating-table") == [
        ["1", "0"],
        ["2", "0"],
        ["3", "0"],
        ["4", "6"],
        ["5", "5"],
    ]
    assert "What will you use?" in text
    listed = re.findall(r"<li>(Answer number \d)</li>", page)
    assert sorted(listed) == words  # every written answer, once, in some order
    assert "Too few answers" not in text


async def test_a_rating_given_by_a_small_group_hides_the_ratings_one_by_one(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    """Hiding only the lone 2 would not hold: 11 responses minus the cells shown give it
    back; with two cells hidden, the mean beside them gives back each."""
    await give_feedback(results_data.session, [5] * 5 + [4] * 5 + [2])
    await log_in(client, results_data.admin)
    page = await _page(client, results_data.session.id)
    text = _text(page)
    assert "Mean rating: 4.3 out of 5" in text  # 47 / 11
    assert 'id="rating-table"' not in page
    assert "some rating was given by fewer than 5 people" in text


async def test_nothing_but_the_count_while_the_feedback_form_is_open(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    """A facilitator who reloads the page after each answer must not learn that answer."""
    question = results_data.feedback_question
    await move_session(results_data.session, datetime.now(UTC) - timedelta(days=1))
    await give_feedback(results_data.session, [5] * 6, {question: ["A secret answer"] * 6})
    await log_in(client, results_data.facilitator)
    page = await _page(client, results_data.session.id)
    text = _text(page)
    assert "6 responses" in text
    assert "show when the feedback form closes" in text
    assert "Mean rating" not in text and "A secret answer" not in page
    assert 'id="rating-table"' not in page


async def test_written_answers_come_in_random_order(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    words = [f"Answer number {n}" for n in range(10, 40)]
    await give_feedback(results_data.session, [4] * 30, {results_data.feedback_question: words})
    await log_in(client, results_data.admin)
    orders = {
        tuple(
            re.findall(
                r"<li>(Answer number \d+)</li>", await _page(client, results_data.session.id)
            )
        )
        for _ in range(3)
    }
    assert len(orders) > 1  # 30! orders: three the same would be chance of 1 in 10^64


async def test_who_may_see_the_page(
    client: httpx.AsyncClient, new_client, results_data: ResultsData
) -> None:
    url = _url(results_data.session.id)
    anonymous = await client.get(url)
    assert anonymous.status_code == 303 and "/staff/login" in anonymous.headers["location"]
    for stranger in (results_data.other_facilitator, results_data.leader):
        async with new_client() as browser:
            await log_in(browser, stranger)
            refused = await browser.get(url)
            assert refused.status_code == 403, stranger.role
            assert "Question 1" not in refused.text and "Pre-test" not in refused.text
    async with new_client() as browser:
        await log_in(browser, results_data.admin)
        assert (await browser.get(url)).status_code == 200
        assert (await browser.get(_url(999_999))).status_code == 404
