"""GET /api/v1/sessions/{id}/evaluation on hand-made answers, on both databases, and who
may call it.

The data (``results_data``, also used by test_results.py): four questions in one test, used
before and after. Dara: q1 right before; q1–q3 after (1 then 3). Sophea: q1 and q4 before,
everything after (2 then 4). Vanna took only the pre-test (0 right); Kosal only the
post-test (q1–q3: 3). Pairs: Dara and Sophea, pre mean 0.375, post mean 0.875, g = 0.8.
Another session's attempt (4 of 4) and feedback are never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from events.models import Session, Topic
from learning.feedback import closes_at
from learning.models import (
    Attempt,
    AttemptAnswer,
    FeedbackQuestion,
    FeedbackResponse,
    LearningTest,
    Phase,
    Question,
    SessionEvaluation,
    TestQuestion,
)
from sala.config import Settings
from sala.models import Role, StaffUser
from tests.factories import (
    log_in,
    make_session,
    make_staff,
    move_session,
    register_person,
    token_for,
)

ANSWERS: dict[str, dict[Phase, set[int]]] = {  # who: phase: the questions (1–4) right
    "dara": {Phase.PRE: {1}, Phase.POST: {1, 2, 3}},
    "sophea": {Phase.PRE: {1, 4}, Phase.POST: {1, 2, 3, 4}},
    "vanna": {Phase.PRE: set()},
    "kosal": {Phase.POST: {1, 2, 3}},
}


@dataclass
class ResultsData:
    session: Session
    other: Session
    admin: StaffUser
    facilitator: StaffUser
    other_facilitator: StaffUser
    leader: StaffUser
    questions: list[Question]
    feedback_question: FeedbackQuestion


async def make_question(topic: Topic, text: str) -> Question:
    return await Question.create(topic=topic, text_en=text, text_km=f"{text} (km)")


async def make_test(topic: Topic, name: str, questions: list[Question]) -> LearningTest:
    test = await LearningTest.create(topic=topic, name_en=name)
    for position, question in enumerate(questions):
        await TestQuestion.create(test=test, question=question, position=position)
    return test


async def take(
    session: Session,
    registration_id: int,
    test: LearningTest,
    phase: Phase,
    answers: dict[Question, bool],
) -> None:
    """An attempt as the test page stores one: the answers, each right or wrong, scored."""
    attempt = await Attempt.create(
        registration_id=registration_id,
        session_id=session.id,
        phase=phase,
        test=test,
        score=sum(answers.values()),
        max_score=len(answers),
        submitted_at=datetime.now(UTC),
    )
    for question, correct in answers.items():
        await AttemptAnswer.create(attempt=attempt, question=question, chosen="", correct=correct)


async def give_feedback(
    session: Session, ratings: list[int], texts: dict[FeedbackQuestion, list[str]] | None = None
) -> None:
    """Anonymous responses, as the feedback form stores them; the n-th text of a question
    goes with the n-th rating."""
    for n, rating in enumerate(ratings):
        answers = {
            str(question.id): words[n]
            for question, words in (texts or {}).items()
            if n < len(words)
        }
        await FeedbackResponse.create(
            session=session, day=date(2026, 12, 3), rating=rating, answers=answers
        )


async def build_results_data(settings: Settings) -> ResultsData:
    """The answers of the module docstring, with the staff who may and may not see them."""
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR, name="Sokha")
    other_facilitator = await make_staff(Role.FACILITATOR, name="Bopha")
    leader = await make_staff(Role.TEAM_LEADER, name="Leakhena")
    session = await make_session(topic="sogie", capacity="20", facilitators=(facilitator,))
    other = await make_session(topic="sogie", capacity="20", facilitators=(other_facilitator,))
    topic = await Topic.get(code="sogie")
    questions = [await make_question(topic, f"Question {n}") for n in range(1, 5)]
    test = await make_test(topic, "SOGIE basics", questions)
    await SessionEvaluation.create(session=session, pre_test=test, post_test=test)
    await SessionEvaluation.create(session=other, pre_test=test, post_test=test)
    for name, phases in ANSWERS.items():
        outcome = await register_person(session, settings, email=f"{name}@example.org")
        for phase, right in phases.items():
            await take(
                session,
                outcome.registration.id,
                test,
                phase,
                {q: n in right for n, q in enumerate(questions, start=1)},
            )
    elsewhere = await register_person(other, settings)
    await take(other, elsewhere.registration.id, test, Phase.PRE, dict.fromkeys(questions, True))
    await give_feedback(other, [1] * 6)
    feedback_question = await FeedbackQuestion.create(text_en="What will you use?")
    # Three weeks ago: the feedback form has closed (ratings show only then).
    for held in (session, other):
        await move_session(held, datetime.now(UTC) - timedelta(days=21))
    session = await Session.get(id=session.id)
    other = await Session.get(id=other.id)
    return ResultsData(
        session=session,
        other=other,
        admin=admin,
        facilitator=facilitator,
        other_facilitator=other_facilitator,
        leader=leader,
        questions=questions,
        feedback_question=feedback_question,
    )


@pytest.fixture
async def results_data(client: httpx.AsyncClient, settings: Settings) -> ResultsData:
    return await build_results_data(settings)


def _url(session: Session | int) -> str:
    session_id = session if isinstance(session, int) else session.id
    return f"/api/v1/sessions/{session_id}/evaluation"


async def test_figures_of_hand_made_answers(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    await give_feedback(results_data.session, [5, 4, 4, 3, 5, 2])
    answer = await client.get(
        _url(results_data.session), headers=await token_for(results_data.facilitator)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {
        "pre": {"n": 3, "mean": 0.25},  # (1 + 2 + 0) / 3 people / 4 questions
        "post": {"n": 3, "mean": 0.8333},  # (3 + 4 + 3) / 12, rounded to 4 decimals
        "pairs": 2,  # Vanna and Kosal took one test each: not in the pairs
        "pairs_pre_mean": 0.375,
        "pairs_post_mean": 0.875,
        "normalised_gain": 0.8,  # (0.875 - 0.375) / (1 - 0.375)
        "feedback": {
            "responses": 6,
            "mean_rating": 3.8333,
            "suppressed": False,
            "ratings_from": closes_at(results_data.session).isoformat(),
        },
        "min_cell": 5,
    }


async def test_the_mean_rating_waits_for_the_feedback_form_to_close(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    """Watched while answers arrive, a mean gives each new rating away (8 × m8 − 7 × m7)."""
    session = results_data.session
    await move_session(session, datetime.now(UTC) - timedelta(days=2))
    await give_feedback(session, [5, 4, 4, 3, 5, 2])
    headers = await token_for(results_data.admin)
    feedback = (await client.get(_url(session), headers=headers)).json()["feedback"]
    assert feedback["responses"] == 6
    assert (feedback["mean_rating"], feedback["suppressed"]) == (None, True)
    closing = datetime.fromisoformat(feedback["ratings_from"])
    assert closing == closes_at(await Session.get(id=session.id))
    assert closing > datetime.now(UTC)


async def test_a_session_without_answers_has_nulls(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    empty = await make_session(topic="sogie", facilitators=(results_data.facilitator,))
    answer = await client.get(_url(empty), headers=await token_for(results_data.admin))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["pre"] == {"n": 0, "mean": None} and body["post"] == {"n": 0, "mean": None}
    assert (body["pairs"], body["normalised_gain"]) == (0, None)
    feedback = body["feedback"]
    assert (feedback["responses"], feedback["mean_rating"], feedback["suppressed"]) == (
        0,
        None,
        False,
    )


async def test_the_mean_rating_of_fewer_than_min_cell_responses_is_withheld(
    client: httpx.AsyncClient, results_data: ResultsData
) -> None:
    await give_feedback(results_data.session, [5, 1, 4, 3])  # 4 < SALA_REPORT_MIN_CELL = 5
    answer = await client.get(
        _url(results_data.session), headers=await token_for(results_data.admin)
    )
    feedback = answer.json()["feedback"]
    assert (feedback["responses"], feedback["mean_rating"], feedback["suppressed"]) == (
        4,
        None,
        True,
    )
    await give_feedback(results_data.session, [2])
    answer = await client.get(
        _url(results_data.session), headers=await token_for(results_data.admin)
    )
    feedback = answer.json()["feedback"]
    assert (feedback["responses"], feedback["mean_rating"], feedback["suppressed"]) == (
        5,
        3.0,
        False,
    )


async def test_full_marks_before_leave_the_gain_null(
    client: httpx.AsyncClient, results_data: ResultsData, settings: Settings
) -> None:
    session = await make_session(topic="sogie")
    test = await LearningTest.get(name_en="SOGIE basics")
    outcome = await register_person(session, settings)
    everything = dict.fromkeys(results_data.questions, True)
    for phase in (Phase.PRE, Phase.POST):
        await take(session, outcome.registration.id, test, phase, everything)
    body = (await client.get(_url(session), headers=await token_for(results_data.admin))).json()
    assert (body["pairs"], body["pre"]["mean"], body["normalised_gain"]) == (1, 1.0, None)


async def test_who_may_read_the_figures(
    client: httpx.AsyncClient, new_client, results_data: ResultsData
) -> None:
    url = _url(results_data.session)
    anonymous = await client.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"]
    for stranger in (results_data.other_facilitator, results_data.leader):
        refused = await client.get(url, headers=await token_for(stranger))
        assert refused.status_code == 403, stranger.role
        assert "pre" not in refused.json()
    for allowed in (results_data.admin, results_data.facilitator):
        assert (await client.get(url, headers=await token_for(allowed))).status_code == 200
    missing = await client.get(_url(999_999), headers=await token_for(results_data.admin))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"
    # A staff member's browser login alone is not enough: the CSRF header is needed too.
    async with new_client() as browser:
        await log_in(browser, results_data.admin)
        assert (await browser.get(url)).status_code == 401


async def test_the_openapi_document_describes_the_route(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/sessions/{session_id}/evaluation"]["get"]
    assert operation["security"] == [{"bearer": []}]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    schema = document["components"]["schemas"]["SessionEvaluation"]
    assert {"pre", "post", "pairs", "normalised_gain", "feedback"} <= set(schema["required"])
    feedback = schema["properties"]["feedback"]["properties"]
    assert {"responses", "mean_rating"} <= set(feedback)
    assert "min_cell" in feedback["mean_rating"]["description"]
    assert set(schema["properties"]["pre"]["properties"]) == {"n", "mean"}
