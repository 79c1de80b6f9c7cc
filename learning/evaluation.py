"""What a session's tests and feedback say: the figures of its evaluation.

Scores are compared as fractions of the test's maximum, so a pre-test and a post-test of
different lengths (two parallel forms) still compare. For each phase: ``n`` people who took
it and their mean. **Pairs** are the people who took both; the **normalised gain** is
Hake's class-average gain over the pairs only, g = (post − pre) / (1 − pre) of the pairs'
mean fractions — None without pairs, or when the pairs' pre-test mean is already full marks
(there was nothing left to gain). Feedback: the number of responses and their mean rating.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Avg, Count

from learning.models import Attempt, FeedbackResponse, Phase


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
    [row] = (
        await FeedbackResponse.filter(session_id=session_id)
        .annotate(responses=Count("id"), mean_rating=Avg("rating"))
        .values("responses", "mean_rating")
    )
    responses = int(row["responses"] or 0)
    mean = row["mean_rating"]
    return FeedbackFigures(
        responses=responses, mean_rating=float(mean) if responses and mean is not None else None
    )
