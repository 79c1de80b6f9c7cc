"""The results page of a session's evaluation, for its staff.

GET /staff/sessions/{id}/evaluation     admin, the session's facilitators: n, means, pairs,
                                        gain; right answers per question before and after;
                                        the feedback, with small groups kept from view
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from events.services import get_session_for_staff
from learning.evaluation import feedback_details, question_figures, session_evaluation
from sala.models import Role
from sala.permissions import staff_page
from sala.templating import render


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def results(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    min_cell = request.app.state.settings.report_min_cell
    return render(
        request,
        "learning/results.html",
        {
            "session": session,
            "evaluation": await session_evaluation(session.id),
            "questions": await question_figures(session.id),
            "feedback": await feedback_details(session, min_cell=min_cell, now=datetime.now(UTC)),
        },
    )


routes: list[BaseRoute] = [
    Route("/staff/sessions/{session_id:int}/evaluation", results, name="learning:results"),
]
