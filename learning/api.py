"""JSON API of the learning package (``/api/v1``).

GET /api/v1/sessions/{id}/evaluation     admin, the session's facilitators: what its tests
                                         and feedback say, in figures
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from events.services import get_session_for_staff
from learning.evaluation import Evaluation, feedback_closed, feedback_shown, session_evaluation
from learning.feedback import closes_at
from sala.models import Role
from sala.openapi import operation, path_parameter, ref
from sala.permissions import staff_api

DECIMALS = 4  # fractions, the gain and the mean rating: enough to compare, no false precision


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def evaluation_json(
    evaluation: Evaluation, *, min_cell: int, closes_at: datetime, closed: bool
) -> dict[str, Any]:
    """While the feedback form is open, and below ``min_cell`` responses, the mean rating is
    ``null`` and ``suppressed`` true (the same rule as the results page: ``feedback_shown``)."""
    feedback = evaluation.feedback
    shown = feedback_shown(feedback.responses, min_cell, closed=closed)
    return {
        "pre": {"n": evaluation.pre.n, "mean": _rounded(evaluation.pre.mean)},
        "post": {"n": evaluation.post.n, "mean": _rounded(evaluation.post.mean)},
        "pairs": evaluation.pairs,
        "pairs_pre_mean": _rounded(evaluation.pairs_pre_mean),
        "pairs_post_mean": _rounded(evaluation.pairs_post_mean),
        "normalised_gain": _rounded(evaluation.normalised_gain),
        "feedback": {
            "responses": feedback.responses,
            "mean_rating": _rounded(feedback.mean_rating) if shown else None,
            "suppressed": feedback.responses > 0 and not shown,
            "ratings_from": closes_at.isoformat(),
        },
        "min_cell": min_cell,
    }


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def session_evaluation_figures(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    evaluation = await session_evaluation(session.id)
    figures = evaluation_json(
        evaluation,
        min_cell=request.app.state.settings.report_min_cell,
        closes_at=closes_at(session),
        closed=feedback_closed(session, datetime.now(UTC)),
    )
    return JSONResponse(figures, headers={"cache-control": "no-store"})


routes: list[BaseRoute] = [
    Route(
        "/api/v1/sessions/{session_id:int}/evaluation",
        session_evaluation_figures,
        methods=["GET"],
        name="api:session_evaluation",
    ),
]

openapi_paths: dict[str, Any] = {
    "/api/v1/sessions/{session_id}/evaluation": {
        "get": operation(
            "What the session's pre/post tests and feedback say: n and mean score before and "
            "after, the people who took both, their normalised gain, and the feedback",
            response=ref("SessionEvaluation"),
            staff=True,
            errors=(404,),
            parameters=[path_parameter("session_id", "session id")],
        )
    },
}

_FRACTION = {"type": ["number", "null"], "minimum": 0, "maximum": 1}


def _phase(when: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["n", "mean"],
        "properties": {
            "n": {"type": "integer", "minimum": 0, "description": f"people who took the {when}"},
            "mean": {
                **_FRACTION,
                "description": "their mean score as a fraction of the test's maximum (0–1), "
                f"rounded to {DECIMALS} decimals; null when n is 0",
            },
        },
    }


EVALUATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["pre", "post", "pairs", "normalised_gain", "feedback"],
    "description": "Scores compare as fractions of each test's maximum, so two parallel forms "
    "of different lengths still compare.",
    "properties": {
        "pre": _phase("pre-test"),
        "post": _phase("post-test"),
        "pairs": {
            "type": "integer",
            "minimum": 0,
            "description": "people who took both tests: the gain is computed over them only",
        },
        "pairs_pre_mean": {**_FRACTION, "description": "the pairs' mean pre-test fraction"},
        "pairs_post_mean": {**_FRACTION, "description": "the pairs' mean post-test fraction"},
        "normalised_gain": {
            "type": ["number", "null"],
            "maximum": 1,
            "description": "Hake's g = (post − pre) / (1 − pre) of the pairs' mean fractions, "
            f"rounded to {DECIMALS} decimals; negative when they scored lower after; null "
            "without pairs or when the pairs had full marks before (nothing left to gain)",
        },
        "feedback": {
            "type": "object",
            "required": ["responses", "mean_rating"],
            "properties": {
                "responses": {"type": "integer", "minimum": 0, "description": "answers given"},
                "mean_rating": {
                    "type": ["number", "null"],
                    "minimum": 1,
                    "maximum": 5,
                    "description": f"the mean 1–5 rating, rounded to {DECIMALS} decimals; null "
                    "without responses, and null (suppressed) until the feedback form has "
                    "closed (ratings_from) or with fewer than min_cell responses: a mean "
                    "watched while answers arrive, or of so few answers, gives a person's "
                    "rating away",
                },
                "suppressed": {
                    "type": "boolean",
                    "description": "true when mean_rating is withheld: some responses, but "
                    "the form is still open or they are fewer than min_cell",
                },
                "ratings_from": {
                    "type": "string",
                    "format": "date-time",
                    "description": "when the feedback form closes and the mean rating shows",
                },
            },
        },
        "min_cell": {"type": "integer", "description": "SALA_REPORT_MIN_CELL"},
    },
}

SCHEMAS: dict[str, Any] = {"SessionEvaluation": EVALUATION_SCHEMA}
