"""HTML routes of taking the tests (``learning/attempts.py``).

person   /registrations/{token}/tests/{phase}          the pre-test or post-test (GET, POST)
public   /sessions/{id}/post-test                      what the wall QR opens: where to go
staff    /staff/sessions/{id}/post-test-poster         the wall poster (A4, its QR)
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from attendees.manage import registration_for_token
from events.errors import SessionNotFound
from events.models import Session
from events.services import get_public_session, get_session_for_staff
from learning import attempts
from learning.attempts import Sitting
from learning.errors import NotYourTest, TestClosed
from sala import links
from sala.config import LANGUAGES
from sala.csrf import read_form
from sala.errors import ValidationFailed
from sala.i18n import N_, current_language, gettext, in_language
from sala.models import Role
from sala.permissions import public, staff_page
from sala.qrcodes import qr_png
from sala.responses import PRIVATE_HEADERS
from sala.templating import render

# ----------------------------------------------------------------------------- the person


def _test_path(request: Request) -> str:
    params = request.path_params
    return str(request.url_for("learning:test", token=params["token"], phase=params["phase"]).path)


async def _result_page(
    request: Request, sitting: Sitting, *, just_taken: bool, status_code: int = 200
) -> Response:
    attempt = sitting.attempt
    assert attempt is not None
    context = {
        "sitting": sitting,
        "phase": sitting.phase,
        "session": sitting.session,
        "token": request.path_params["token"],
        "attempt": attempt,
        "just_taken": just_taken,
        "review": await attempts.review_of(attempt) if sitting.shows_answers else None,
    }
    return render(
        request, "learning/test.html", context, status_code=status_code, headers=PRIVATE_HEADERS
    )


async def _form_page(
    request: Request,
    sitting: Sitting,
    *,
    kept: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
) -> Response:
    context = {
        "sitting": sitting,
        "phase": sitting.phase,
        "session": sitting.session,
        "token": request.path_params["token"],
        "attempt": None,
        "questions": await attempts.questions_of(sitting.test_id),
        "kept": kept or {},
        "errors": errors or {},
        "message": message,
    }
    status = 422 if errors else 200
    return render(
        request, "learning/test.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


def _refused_page(request: Request, error: NotYourTest | TestClosed) -> Response:
    context = {
        "token": request.path_params["token"],
        "phase": request.path_params["phase"],
        "refusal": error.translated(),
    }
    return render(
        request,
        "learning/test.html",
        context,
        status_code=error.status_code,
        headers=PRIVATE_HEADERS,
    )


@public
async def take_test(request: Request) -> Response:
    """The test as a form while it is open and not taken; its result once taken (the first
    result, however often it is sent again)."""
    registration = await registration_for_token(
        request.path_params["token"], request.app.state.settings
    )
    phase = request.path_params["phase"]
    now = datetime.now(UTC)
    try:
        sitting = await attempts.sitting_for(registration, phase, now)
        if request.method == "POST":
            answers: dict[str, list[str]] = {}
            try:
                # A form too large to read (more fields than any test's) is a 422 here too.
                form = await read_form(request)
                answers = {name: [str(v) for v in form.getlist(name)] for name in form}
                submitted = await attempts.submit_test(registration, phase, answers, now=now)
            except ValidationFailed as exc:
                kept = {name: values for name, values in answers.items() if name[:1] == "q"}
                # Read again: the test may have changed while the form was being answered.
                sitting = await attempts.sitting_for(registration, phase, now)
                return await _form_page(
                    request,
                    sitting,
                    kept=kept,
                    errors=exc.translated_errors() or {"form": exc.translated()},
                    message=exc.translated(),
                )
            if submitted.already:
                taken = await attempts.sitting_for(registration, phase, now)
                return await _result_page(request, taken, just_taken=False)
            return RedirectResponse(_test_path(request) + "?taken=1", status_code=303)
        if sitting.attempt is not None:
            just_taken = request.query_params.get("taken") == "1"
            return await _result_page(request, sitting, just_taken=just_taken)
        if not sitting.is_open:
            raise TestClosed(attempts.CLOSED[sitting.phase])
    except (NotYourTest, TestClosed) as exc:
        return _refused_page(request, exc)
    return await _form_page(request, sitting)


# ----------------------------------------------------------------------------- the wall

# What the wall QR's page and the poster say, in both languages at once: one poster, one
# page, for a room where some read Khmer and some English.
_WALL_TEXT = (
    N_("The post-test is on your own registration page."),
    N_("Open the link in your confirmation email, then choose “Take the post-test”."),
    N_("Lost that email? We can send all your links again to the email you registered with."),
)
_WALL_LINK = N_("Send me my links")
_POSTER_TEXT = (
    N_("Post-test"),
    N_("Scan this code with your phone's camera to take the post-test."),
)


def _in_both_languages(messages: tuple[str, ...]) -> list[dict[str, Any]]:
    """``messages`` in the page's language first, then in the other one."""
    first = current_language.get()
    blocks = []
    for language in sorted(LANGUAGES, key=lambda code: code != first):
        with in_language(language):
            blocks.append({"lang": language, "lines": [gettext(m) for m in messages]})
    return blocks


@public
async def wall(request: Request) -> Response:
    """Where the post-test is: never anything about a person, and a session's title only if
    that session is publicly listed (an invite-only one's id can be walked, its page not)."""
    session: Session | None
    try:
        session = await get_public_session(request.path_params["session_id"])
    except SessionNotFound:
        session = None
    blocks = _in_both_languages(_WALL_TEXT)
    for block in blocks:
        with in_language(block["lang"]):
            block["link"] = gettext(_WALL_LINK)
    return render(request, "learning/wall.html", {"session": session, "blocks": blocks})


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def poster(request: Request) -> Response:
    """The printable A4 poster of a session's post-test: its title and the wall page's QR."""
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    settings = request.app.state.settings
    wall_url = links.absolute_url(settings, "learning:wall", session_id=session.id)
    # 16 px modules: a short address is a version 3 code (37 modules with its quiet zone),
    # about 15 cm wide on A4, read from across a room.
    png = qr_png(wall_url, box_size=16)
    context = {
        "session": session,
        "wall_url": wall_url,
        "qr_src": "data:image/png;base64," + base64.b64encode(png).decode(),
        "qr_size": int.from_bytes(png[16:20], "big"),  # the PNG header's width
        "blocks": _in_both_languages(_POSTER_TEXT),
        "has_post_test": await attempts.has_post_test(session.id),
    }
    return render(request, "learning/poster.html", context, headers=PRIVATE_HEADERS)


routes: list[BaseRoute] = [
    Route(
        "/registrations/{token}/tests/{phase}",
        take_test,
        methods=["GET", "POST"],
        name="learning:test",
    ),
    Route("/sessions/{session_id:int}/post-test", wall, name="learning:wall"),
    Route("/staff/sessions/{session_id:int}/post-test-poster", poster, name="learning:poster"),
]
