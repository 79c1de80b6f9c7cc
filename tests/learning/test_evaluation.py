"""The evaluation figures of a session for hand-made answers, on both databases.

Four questions in one test, used before and after. Dara: 1 then 3 right; Sophea: 2 then 4;
Vanna took only the pre-test (0 right); Kosal only the post-test (4). Pairs: Dara and Sophea.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from events.models import Session, Topic
from learning.evaluation import (
    RatingCell,
    feedback_details,
    normalised_gain,
    question_figures,
    rating_distribution,
    session_evaluation,
)
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
from tests.factories import make_session, register_person


async def _attempt(
    session: Session, test: LearningTest, outcome: object, phase: Phase, score: int
) -> None:
    registration = outcome.registration  # type: ignore[attr-defined]
    await Attempt.create(
        registration_id=registration.id,
        session_id=session.id,
        phase=phase,
        test=test,
        score=score,
        max_score=4,
        submitted_at=datetime.now(UTC),
    )


async def test_gain_counts_only_people_who_took_both(client: object, settings: Settings) -> None:
    session = await make_session(topic="sogie", capacity="10")
    other = await make_session(topic="sogie", capacity="10")
    topic = await Topic.get(code="sogie")
    test = await LearningTest.create(topic=topic, name_en="SOGIE basics")
    people = {
        name: await register_person(session, settings, email=f"{name}@example.org")
        for name in ("dara", "sophea", "vanna", "kosal")
    }
    for name, phase, score in [
        ("dara", Phase.PRE, 1), ("dara", Phase.POST, 3),
        ("sophea", Phase.PRE, 2), ("sophea", Phase.POST, 4),
        ("vanna", Phase.PRE, 0), ("kosal", Phase.POST, 4),
    ]:  # fmt: skip
        await _attempt(session, test, people[name], phase, score)
    elsewhere = await register_person(other, settings)
    await _attempt(other, test, elsewhere, Phase.PRE, 4)
    for rating in (5, 4, 3):
        await FeedbackResponse.create(session=session, day=date(2026, 12, 3), rating=rating)
    await FeedbackResponse.create(session=other, day=date(2026, 12, 3), rating=1)

    figures = await session_evaluation(session.id)

    assert (figures.pre.n, figures.post.n, figures.pairs) == (3, 3, 2)
    assert figures.pre.mean == pytest.approx(0.75 / 3)
    assert figures.post.mean == pytest.approx(2.75 / 3)
    assert figures.pairs_pre_mean == pytest.approx(0.375)
    assert figures.pairs_post_mean == pytest.approx(0.875)
    assert figures.normalised_gain == pytest.approx(0.8)
    assert (figures.feedback.responses, figures.feedback.mean_rating) == (3, 4.0)


async def test_a_session_without_answers_has_no_figures(client: object) -> None:
    session = await make_session(topic="sogie")
    figures = await session_evaluation(session.id)
    assert (figures.pre.n, figures.post.n, figures.pairs) == (0, 0, 0)
    assert figures.pre.mean is None and figures.normalised_gain is None
    assert (figures.feedback.responses, figures.feedback.mean_rating) == (0, None)


def test_full_marks_before_leave_nothing_to_gain() -> None:
    assert normalised_gain(1.0, 1.0) is None
    assert normalised_gain(0.5, 0.25) == pytest.approx(-0.5)  # people can unlearn
    assert normalised_gain(None, 0.5) is None


async def test_the_mean_rating_keeps_its_fraction(client: object) -> None:
    session = await make_session(topic="sogie")
    for rating in (5, 4, 2):
        await FeedbackResponse.create(session=session, day=date(2026, 12, 3), rating=rating)
    figures = await session_evaluation(session.id)
    assert figures.feedback.mean_rating == pytest.approx(11 / 3)  # not cut to 3


async def test_question_figures_count_right_and_answered_per_phase(
    client: object, settings: Settings
) -> None:
    session = await make_session(topic="sogie")
    other = await make_session(topic="sogie")
    topic = await Topic.get(code="sogie")
    first, second, third = [await Question.create(topic=topic, text_en=t) for t in "ABC"]
    pre = await LearningTest.create(topic=topic, name_en="pre")
    post = await LearningTest.create(topic=topic, name_en="post")
    for test, questions in ((pre, (second, first)), (post, (first, third))):
        for position, question in enumerate(questions):
            await TestQuestion.create(test=test, question=question, position=position)
    await SessionEvaluation.create(session=session, pre_test=pre, post_test=post)

    async def answers(where: Session, test: LearningTest, phase: Phase, marks: dict) -> None:  # type: ignore[type-arg]
        outcome = await register_person(where, settings)
        attempt = await Attempt.create(
            registration_id=outcome.registration.id, session_id=where.id, phase=phase,
            test=test, score=sum(marks.values()), max_score=len(marks),
            submitted_at=datetime.now(UTC),
        )  # fmt: skip
        for question, correct in marks.items():
            await AttemptAnswer.create(attempt=attempt, question=question, correct=correct)

    await answers(session, pre, Phase.PRE, {second: True, first: False})
    await answers(session, pre, Phase.PRE, {second: True, first: True})
    await answers(session, post, Phase.POST, {first: True, third: False})
    await answers(other, pre, Phase.PRE, {second: False, first: False})  # not counted

    figures = await question_figures(session.id)

    assert [
        (f.question.text_en, f.right_before, f.answered_before, f.right_after, f.answered_after)
        for f in figures
    ] == [
        ("B", 2, 2, None, None),  # the pre-test's order first; only in the pre-test
        ("A", 1, 2, 1, 1),
        ("C", None, None, 0, 1),
    ]
    assert [f.not_moved for f in figures] == [False, False, False]
    assert figures[1].share_before == 0.5 and figures[1].share_after == 1.0


async def test_a_session_without_tests_has_no_question_figures(client: object) -> None:
    session = await make_session(topic="sogie")
    assert await question_figures(session.id) == []


def test_the_ratings_one_by_one_show_only_when_no_rating_is_a_small_group() -> None:
    def counts(cells: list[RatingCell]) -> list[int]:
        return [cell.count for cell in cells]

    assert counts(rating_distribution({5: 6, 4: 5}, min_cell=5)) == [0, 0, 0, 5, 6]
    # Hiding the small cells alone gives them back: 7 responses, five 5s and two hidden
    # cells of 1 and 2 must each be 1; with the mean beside two hidden cells, each count.
    assert rating_distribution({5: 5, 2: 1, 1: 1}, min_cell=5) == []
    assert rating_distribution({5: 5, 1: 1}, min_cell=5) == []
    assert rating_distribution({5: 7, 4: 6, 2: 1}, min_cell=5) == []


async def test_feedback_shows_once_the_form_closed_and_from_the_minimum_cell(
    client: object,
) -> None:
    session = await make_session(topic="sogie")
    question = await FeedbackQuestion.create(text_en="What will you use?")
    for n, rating in enumerate((5, 5, 4, 5, 4, 4, 5, 5)):
        await FeedbackResponse.create(
            session=session, day=date(2026, 12, 3), rating=rating,
            answers={str(question.id): f"words {n}"} if n % 2 == 0 else {},
        )  # fmt: skip
    open_until = closes_at(session)
    while_open = await feedback_details(session, min_cell=4, now=open_until - timedelta(hours=1))
    assert (while_open.responses, while_open.shown, while_open.mean_rating) == (8, False, None)
    assert (while_open.distribution, while_open.answers) == ([], [])

    too_few = await feedback_details(session, min_cell=9, now=open_until)
    assert (too_few.responses, too_few.shown, too_few.mean_rating) == (8, False, None)
    assert (too_few.distribution, too_few.answers) == ([], [])

    shown = await feedback_details(session, min_cell=3, now=open_until, shuffle=list.reverse)
    assert (shown.responses, shown.shown, shown.mean_rating) == (8, True, 4.625)
    assert [c.count for c in shown.distribution] == [0, 0, 0, 3, 5]
    [written] = shown.answers
    assert written.question is not None and written.question.id == question.id
    assert sorted(written.texts) == ["words 0", "words 2", "words 4", "words 6"]

    small_cell = await feedback_details(session, min_cell=4, now=open_until)
    assert (small_cell.shown, small_cell.mean_rating) == (True, 4.625)
    assert small_cell.distribution == []  # three 4s: a small group
