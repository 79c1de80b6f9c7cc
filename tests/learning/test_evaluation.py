"""The evaluation figures of a session for hand-made answers, on both databases.

Four questions in one test, used before and after. Dara: 1 then 3 right; Sophea: 2 then 4;
Vanna took only the pre-test (0 right); Kosal only the post-test (4). Pairs: Dara and Sophea.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from events.models import Session, Topic
from learning.evaluation import normalised_gain, session_evaluation
from learning.models import Attempt, FeedbackResponse, LearningTest, Phase
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
