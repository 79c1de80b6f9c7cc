"""The anonymous feedback form, reached from the manage page and the feedback email.

    person   /registrations/{token}/feedback   the form (GET), one answer (POST)

The page answers with a page of its own, never a 500: 404 for a forged or old link, 403
with the reason while the form is not open to this registration, the thanks once answered
(409 for a second answer), 422 with what was typed for a missing rating or words too long.
A stored answer redirects to the same page, which then thanks: no id, no answer in the URL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from attendees.manage import registration_for_token
from attendees.models import Registration
from learning import feedback as service
from sala.csrf import read_form
from sala.errors import ValidationFailed
from sala.permissions import public
from sala.responses import PRIVATE_HEADERS
from sala.templating import render


def _typed(form: FormData) -> dict[str, str]:
    """What was typed, to show it again (the words only of the form's own fields)."""
    return {
        name: value[: service.ANSWER_MAX * 2]
        for name, value in form.multi_items()
        if isinstance(value, str) and (name == "rating" or name.startswith("answer_"))
    }


async def _page(
    request: Request,
    registration: Registration,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    context: dict[str, object] = {
        "registration": registration,
        "session": registration.session,
        "token": request.path_params["token"],
        "values": values or {},
        "errors": errors or {},
        "ratings": service.rating_choices(),
        "answer_max": service.ANSWER_MAX,
        "answer_field": service.answer_field,
        "form": None,
        "given": False,
        "closed": None,
    }
    status = 422 if errors else 200
    try:
        context["form"] = await service.feedback_form(registration, datetime.now(UTC))
    except service.FeedbackAlreadyGiven:
        context["given"] = True
    except service.FeedbackClosed as exc:
        context["closed"] = exc.translated()
        status = exc.status_code
    return render(
        request, "learning/feedback.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


@public
async def feedback(request: Request) -> Response:
    registration = await registration_for_token(
        request.path_params["token"], request.app.state.settings
    )
    if request.method != "POST":
        return await _page(request, registration)
    form = await read_form(request)
    try:
        await service.give_feedback(registration, form)
    except ValidationFailed as exc:
        return await _page(
            request, registration, values=_typed(form), errors=exc.translated_errors()
        )
    except service.FeedbackAlreadyGiven as exc:
        return render(
            request,
            "learning/feedback.html",
            {
                "registration": registration,
                "session": registration.session,
                "token": request.path_params["token"],
                "given": True,
                "closed": None,
            },
            status_code=exc.status_code,
            headers=PRIVATE_HEADERS,
        )
    except service.FeedbackClosed:
        return await _page(request, registration)
    return RedirectResponse(request.url.path, status_code=303)


routes: list[BaseRoute] = [
    Route(
        "/registrations/{token}/feedback",
        feedback,
        methods=["GET", "POST"],
        name="learning:feedback",
    ),
]
