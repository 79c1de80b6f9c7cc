"""What a session's tests and feedback say: the figures of its evaluation.

Scores are compared as fractions of the test's maximum, so a pre-test and a post-test of
different lengths (two parallel forms) still compare. For each phase: ``n`` people who took
it and their mean. **Pairs** are the people who took both; the **normalised gain** is
Hake's class-average gain over the pairs only, g = (post − pre) / (1 − pre) of the pairs'
mean fractions — None without pairs, or when the pairs' pre-test mean is already full marks
(there was nothing left to gain). Feedback: the number of responses and their mean rating.

Per question (:func:`question_figures`): how many answered it before and after, and how many
got it right. What staff may see of the feedback (:func:`feedback_details`): nothing but
the count until the form has closed for everyone, and then from ``SALA_REPORT_MIN_CELL``
responses: see :class:`FeedbackDetails`. Attempts of registrations cancelled since do not
count (as in the reach report).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from attendees.models import RegistrationStatus
from events.models import Session
from learning.feedback import closes_at
from learning.models import (
    Attempt,
    AttemptAnswer,
    FeedbackQuestion,
    FeedbackResponse,
    Phase,
    Question,
    SessionEvaluation,
    TestQuestion,
)


@dataclass(frozen=True)
class PhaseFigures:
    n: int
    mean: float | None  # the mean score, as a fraction of the maximum (0–1)


@dataclass(frozen=True)
class FeedbackFigures:
    responses: int
    mean_rating: float | None


@dataclass(frozen=True)
class Evaluation:
    pre: PhaseFigures
    post: PhaseFigures
    pairs: int
    pairs_pre_mean: float | None
    pairs_post_mean: float | None
    normalised_gain: float | None
    feedback: FeedbackFigures


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def normalised_gain(pre: float | None, post: float | None) -> float | None:
    """Hake's g of two mean fractions; None when it is not defined."""
    if pre is None or post is None or pre >= 1:
        return None
    return (post - pre) / (1 - pre)


async def session_evaluation(session_id: int) -> Evaluation:
    # As the reach report: a registration cancelled since does not count.
    rows = await Attempt.filter(
        session_id=session_id, registration__status__not=RegistrationStatus.CANCELLED
    ).values("registration_id", "phase", "score", "max_score")
    fractions: dict[Phase, dict[int, float]] = {Phase.PRE: {}, Phase.POST: {}}
    for row in rows:
        fraction = row["score"] / row["max_score"] if row["max_score"] else 0.0
        fractions[Phase(row["phase"])][row["registration_id"]] = fraction
    pre, post = fractions[Phase.PRE], fractions[Phase.POST]
    paired = sorted(pre.keys() & post.keys())
    pairs_pre = _mean([pre[key] for key in paired])
    pairs_post = _mean([post[key] for key in paired])
    return Evaluation(
        pre=PhaseFigures(n=len(pre), mean=_mean(list(pre.values()))),
        post=PhaseFigures(n=len(post), mean=_mean(list(post.values()))),
        pairs=len(paired),
        pairs_pre_mean=pairs_pre,
        pairs_post_mean=pairs_post,
        normalised_gain=normalised_gain(pairs_pre, pairs_post),
        feedback=await _feedback(session_id),
    )


async def _feedback(session_id: int) -> FeedbackFigures:
    # The sum, not Avg: Tortoise reads an average back through the field it averages, so an
    # Avg of the (integer) rating comes back cut to a whole number (3.83 read as 3).
    [row] = (
        await FeedbackResponse.filter(session_id=session_id)
        .annotate(responses=Count("id"), total=Sum("rating"))
        .values("responses", "total")
    )
    responses = int(row["responses"] or 0)
    total = row["total"]
    return FeedbackFigures(
        responses=responses,
        mean_rating=int(total) / responses if responses and total is not None else None,
    )


# ----------------------------------------------------------------------------- per question


@dataclass(frozen=True)
class QuestionFigures:
    """How many answered a question before and after, and how many got it right.

    The ``…_before`` figures are None when the question is not in the pre-test (and the
    ``…_after`` ones when it is not in the post-test): with two parallel forms a question is
    asked on one side only, and there is nothing to compare."""

    question: Question
    right_before: int | None
    answered_before: int | None
    right_after: int | None
    answered_after: int | None

    @property
    def share_before(self) -> float | None:
        return _share(self.right_before, self.answered_before)

    @property
    def share_after(self) -> float | None:
        return _share(self.right_after, self.answered_after)

    @property
    def not_moved(self) -> bool:
        """Answered before and after, and no larger share right after: the training did not
        move it (a question everyone already got right before is not moved either)."""
        before, after = self.share_before, self.share_after
        return before is not None and after is not None and after <= before


def _share(right: int | None, answered: int | None) -> float | None:
    return right / answered if right is not None and answered else None


async def question_figures(session_id: int) -> list[QuestionFigures]:
    """The questions of the session's pre-test, then those only in its post-test (in the
    tests' order), then any answered here that the tests no longer hold (a test changed
    after people took it), with the counts of the session's attempts. Counted in SQL."""
    setup = await SessionEvaluation.get_or_none(session_id=session_id)
    asked: dict[Phase, list[int]] = {Phase.PRE: [], Phase.POST: []}
    if setup is not None:
        for phase, test_id in ((Phase.PRE, setup.pre_test_id), (Phase.POST, setup.post_test_id)):
            if test_id is not None:
                asked[phase] = await _questions_of(test_id)
    counted = (
        await AttemptAnswer.filter(
            attempt__session_id=session_id,
            attempt__registration__status__not=RegistrationStatus.CANCELLED,
        )
        .annotate(answered=Count("id"), right=Count("id", _filter=Q(correct=True)))
        .group_by("question_id", "attempt__phase")
        .values("question_id", "attempt__phase", "answered", "right")
    )
    counts: dict[tuple[int, Phase], tuple[int, int]] = {
        (row["question_id"], Phase(row["attempt__phase"])): (
            int(row["right"]),
            int(row["answered"]),
        )
        for row in counted
    }
    for question_id, phase in sorted(counts):
        if question_id not in asked[phase]:
            asked[phase].append(question_id)
    order = list(dict.fromkeys([*asked[Phase.PRE], *asked[Phase.POST]]))
    questions = {q.id: q for q in await Question.filter(id__in=order)}

    def side(question_id: int, phase: Phase) -> tuple[int | None, int | None]:
        if question_id not in asked[phase]:
            return None, None
        return counts.get((question_id, phase), (0, 0))

    figures = []
    for question_id in order:
        right_before, answered_before = side(question_id, Phase.PRE)
        right_after, answered_after = side(question_id, Phase.POST)
        figures.append(
            QuestionFigures(
                question=questions[question_id],
                right_before=right_before,
                answered_before=answered_before,
                right_after=right_after,
                answered_after=answered_after,
            )
        )
    return figures


async def _questions_of(test_id: int) -> list[int]:
    ids = (
        await TestQuestion.filter(test_id=test_id)
        .order_by("position", "id")
        .values_list("question_id", flat=True)
    )
    return [int(i) for i in ids]  # type: ignore[call-overload]


# ----------------------------------------------------------------------------- feedback

RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class RatingCell:
    rating: int
    count: int


@dataclass(frozen=True)
class WrittenAnswers:
    question: FeedbackQuestion | None  # None: a question since deleted
    texts: list[str]  # in random order


@dataclass(frozen=True)
class FeedbackDetails:
    """What staff may see of a session's feedback.

    While the form is open, and below ``min_cell`` responses, only their number is shown
    (:func:`feedback_shown`): a mean of one response is that person's rating, and with a
    handful of answers the staff who met them can tell who wrote what. Once closed, from
    ``min_cell`` on: the mean rating, the distribution unless a rating was given by too few
    (see :func:`rating_distribution`) and the written answers, shuffled so that their order
    says nothing about who answered when."""

    responses: int
    min_cell: int
    closes_at: datetime  # when the form closes, and the ratings and answers can show
    closed: bool
    mean_rating: float | None
    distribution: list[RatingCell]  # empty when a rating was given by too few people
    answers: list[WrittenAnswers]

    @property
    def shown(self) -> bool:
        return feedback_shown(self.responses, self.min_cell, closed=self.closed)


def feedback_shown(responses: int, min_cell: int, *, closed: bool) -> bool:
    """**The** rule: a session's ratings and answers are shown once its feedback form has
    closed for everyone, and from ``min_cell`` responses. While it is open, figures that
    change with each answer would give that answer away to whoever looks before and after
    (the count goes from 7 to 8: the new rating is 8 × the new mean − 7 × the old)."""
    return closed and responses >= min_cell


def feedback_closed(session: Session, now: datetime) -> bool:
    return now >= closes_at(session)


def rating_distribution(counts: dict[int, int], *, min_cell: int) -> list[RatingCell]:
    """A cell for each rating — or none at all when some rating was given by fewer than
    ``min_cell`` people (but some). Hiding only the small cells does not hold: the responses
    minus the cells shown give back the hidden ones together, and with two hidden, the mean
    rating shown beside them gives back each (6 responses, mean 4.33: one 1 and five 5s)."""
    if any(0 < counts.get(r, 0) < min_cell for r in RATINGS):
        return []
    return [RatingCell(r, counts.get(r, 0)) for r in RATINGS]


async def feedback_details(
    session: Session,
    *,
    min_cell: int,
    now: datetime,
    shuffle: Callable[[list[str]], None] | None = None,
) -> FeedbackDetails:
    session_id = session.id
    figures = await _feedback(session_id)
    closed = feedback_closed(session, now)
    if not feedback_shown(figures.responses, min_cell, closed=closed):
        return FeedbackDetails(
            responses=figures.responses,
            min_cell=min_cell,
            closes_at=closes_at(session),
            closed=closed,
            mean_rating=None,
            distribution=[],
            answers=[],
        )
    counted = (
        await FeedbackResponse.filter(session_id=session_id)
        .annotate(count=Count("id"))
        .group_by("rating")
        .values("rating", "count")
    )
    counts = {int(row["rating"]): int(row["count"]) for row in counted}
    return FeedbackDetails(
        responses=figures.responses,
        min_cell=min_cell,
        closes_at=closes_at(session),
        closed=closed,
        mean_rating=figures.mean_rating,
        distribution=rating_distribution(counts, min_cell=min_cell),
        answers=await _written_answers(session_id, shuffle or _RANDOM.shuffle),
    )


_RANDOM = random.SystemRandom()


async def _written_answers(
    session_id: int, shuffle: Callable[[list[str]], None]
) -> list[WrittenAnswers]:
    texts: dict[str, list[str]] = {}
    for answers in await FeedbackResponse.filter(session_id=session_id).values_list(
        "answers", flat=True
    ):
        for key, text in (answers or {}).items():  # type: ignore[union-attr]
            if isinstance(text, str) and text.strip():
                texts.setdefault(str(key), []).append(text.strip())
    ids = [int(key) for key in texts if key.isdigit()]
    questions = {str(q.id): q for q in await FeedbackQuestion.filter(id__in=ids)}
    order = sorted(
        texts,
        key=lambda key: (
            (0, questions[key].position, questions[key].id) if key in questions else (1, 0, 0)
        ),
    )
    found = []
    for key in order:
        shuffle(texts[key])
        found.append(WrittenAnswers(question=questions.get(key), texts=texts[key]))
    return found
