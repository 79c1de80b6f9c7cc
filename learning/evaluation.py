"""What a session's tests and feedback say: the figures of its evaluation.

Scores are compared as fractions of the test's maximum, so a pre-test and a post-test of
different lengths (two parallel forms) still compare. For each phase: ``n`` people who took
it and their mean. **Pairs** are the people who took both; the **normalised gain** is
Hake's class-average gain over the pairs only, g = (post − pre) / (1 − pre) of the pairs'
mean fractions — None without pairs, or when the pairs' pre-test mean is already full marks
(there was nothing left to gain). Feedback: the number of responses and their mean rating.

Per question (:func:`question_figures`): how many answered it before and after, and how many
got it right. What staff may see of the feedback (:func:`feedback_details`) follows
``SALA_REPORT_MIN_CELL``: see :class:`FeedbackDetails`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

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
    rows = await Attempt.filter(session_id=session_id).values(
        "registration_id", "phase", "score", "max_score"
    )
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
        await AttemptAnswer.filter(attempt__session_id=session_id)
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
    count: int | None  # None: hidden, fewer than the minimum cell (or hidden with one)


@dataclass(frozen=True)
class WrittenAnswers:
    question: FeedbackQuestion | None  # None: a question since deleted
    texts: list[str]  # in random order


@dataclass(frozen=True)
class FeedbackDetails:
    """What staff may see of a session's feedback.

    Below ``min_cell`` responses only their number is shown: a mean of one response is that
    person's rating, and with a handful of answers the staff who met them can tell who wrote
    what. From ``min_cell`` on: the mean rating, the distribution with its small cells hidden
    (see :func:`rating_distribution`) and the written answers, shuffled so that their order
    says nothing about who answered when."""

    responses: int
    min_cell: int
    mean_rating: float | None
    distribution: list[RatingCell]
    answers: list[WrittenAnswers]

    @property
    def shown(self) -> bool:
        return feedback_shown(self.responses, self.min_cell)


def feedback_shown(responses: int, min_cell: int) -> bool:
    """**The** rule: a session's ratings and answers are shown from ``min_cell`` responses."""
    return responses >= min_cell


def rating_distribution(counts: dict[int, int], *, min_cell: int) -> list[RatingCell]:
    """A cell for each rating, those with fewer than ``min_cell`` (but some) hidden. With
    exactly one cell hidden the responses minus the cells shown would give it back, so the
    smallest cell shown (that is not 0) is hidden too, as reports do (reports/suppression.py)."""
    hidden = {r for r in RATINGS if 0 < counts.get(r, 0) < min_cell}
    if len(hidden) == 1:
        shown = [r for r in RATINGS if r not in hidden and counts.get(r, 0) > 0]
        if shown:
            hidden.add(min(shown, key=lambda r: counts[r]))
    return [RatingCell(r, None if r in hidden else counts.get(r, 0)) for r in RATINGS]


async def feedback_details(
    session_id: int, *, min_cell: int, shuffle: Callable[[list[str]], None] | None = None
) -> FeedbackDetails:
    figures = await _feedback(session_id)
    if not feedback_shown(figures.responses, min_cell):
        return FeedbackDetails(
            responses=figures.responses,
            min_cell=min_cell,
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
