"""JSON API of the events package (``/api/v1``): topics and sessions.

GET    /api/v1/topics                      anyone
GET    /api/v1/sessions                    anyone: published public sessions
GET    /api/v1/sessions/{id}               anyone: published public sessions; staff: theirs
                                           (online_url only for staff; invite-only: 404)
POST   /api/v1/sessions                    admin
PATCH  /api/v1/sessions/{id}               admin ("scope": "later" changes the later sessions
                                           of its series too)
POST   /api/v1/sessions/{id}/publish       admin
POST   /api/v1/sessions/{id}/unpublish     admin
POST   /api/v1/sessions/{id}/cancel        admin: {"message", "scope": "this"|"later"}, optional
DELETE /api/v1/sessions/{id}               admin: a draft nobody registered for
POST   /api/v1/series                      admin: generate a monthly series ("preview": true
                                           answers the dates without creating them)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events import services
from events.forms import SeriesScope, parse_cancellation, parse_scope, parse_status, session_values
from events.models import Audience, Session, SessionStatus
from events.routes import month_filter
from events.schemas import session_json, topic_json
from events.series import preview_series
from sala.jsonapi import read_json_object
from sala.models import Role
from sala.openapi import array_of, operation, path_parameter, query_parameter, ref
from sala.permissions import public, staff_api, user_from_token


def _staff_answer(request: Request, session: Session, *, status_code: int = 200) -> Response:
    """A session for the staff who change it: with its online link."""
    base_url = request.app.state.settings.base_url
    return JSONResponse(
        session_json(session, base_url=base_url, by_staff=True), status_code=status_code
    )


@public
async def list_topics(request: Request) -> Response:
    return JSONResponse([topic_json(t) for t in await services.list_topics()])


@public
async def list_sessions(request: Request) -> Response:
    params = request.query_params
    sessions = await services.list_public_sessions(
        topic_code=params.get("topic") or None,
        month=month_filter(params.get("month")),
        upcoming_only=params.get("upcoming", "1") != "0",
        audience=Audience.PUBLIC,
    )
    base_url = request.app.state.settings.base_url
    return JSONResponse([session_json(s, base_url=base_url, by_staff=False) for s in sessions])


@public
async def get_session(request: Request) -> Response:
    user = await user_from_token(request)
    view = await services.get_session_for_viewer(user, request.path_params["session_id"])
    base_url = request.app.state.settings.base_url
    return JSONResponse(session_json(view.session, base_url=base_url, by_staff=view.by_staff))


@staff_api(Role.ADMIN)
async def create_session(request: Request) -> Response:
    settings = request.app.state.settings
    payload = await read_json_object(request)
    data = await services.session_input(payload, default_timezone=settings.timezone)
    status = parse_status(
        payload,
        allowed=(SessionStatus.DRAFT, SessionStatus.PUBLISHED),
        default=SessionStatus.DRAFT,
    )
    session = await services.create_session(
        data, actor=request.state.user, status=status or SessionStatus.DRAFT
    )
    return _staff_answer(request, session, status_code=201)


@staff_api(Role.ADMIN)
async def update_session(request: Request) -> Response:
    settings = request.app.state.settings
    payload = await read_json_object(request)
    session = await services.get_session_for_staff(
        request.state.user, request.path_params["session_id"]
    )
    values: dict[str, Any] = {**session_values(session), **payload}
    if "venue" in payload:
        values.pop("venue_name")
    data = await services.session_input(values, default_timezone=settings.timezone)
    status = parse_status(payload, allowed=tuple(SessionStatus), default=None)
    if parse_scope(payload) == SeriesScope.THIS_AND_LATER:
        changed = await services.update_series_from(
            session, data, actor=request.state.user, settings=settings
        )
        session = changed[0]
    else:
        session = await services.update_session(
            session, data, actor=request.state.user, settings=settings
        )
    if status is not None and status != session.status:
        session = await services.change_status(
            session, status, actor=request.state.user, settings=settings
        )
    return _staff_answer(request, session)


def _status_change(action: str) -> Any:
    change = services.STATUS_ACTIONS[action]

    @staff_api(Role.ADMIN)
    async def endpoint(request: Request) -> Response:
        session = await services.get_session_for_staff(
            request.state.user, request.path_params["session_id"]
        )
        return _staff_answer(
            request,
            await change(session, actor=request.state.user, settings=request.app.state.settings),
        )

    endpoint.__name__ = f"{action}_session"
    return endpoint


@staff_api(Role.ADMIN)
async def cancel_session(request: Request) -> Response:
    cancellation = parse_cancellation(await read_json_object(request, allow_empty=True))
    session = await services.get_session_for_staff(
        request.state.user, request.path_params["session_id"]
    )
    await services.cancel_sessions(
        session, cancellation, actor=request.state.user, settings=request.app.state.settings
    )
    return _staff_answer(request, session)


@staff_api(Role.ADMIN)
async def delete_session(request: Request) -> Response:
    session = await services.get_session_for_staff(
        request.state.user, request.path_params["session_id"]
    )
    await services.delete_draft_session(session, actor=request.state.user)
    return Response(status_code=204)


@staff_api(Role.ADMIN)
async def create_series(request: Request) -> Response:
    settings = request.app.state.settings
    payload = await read_json_object(request)
    data = await services.series_input(payload, default_timezone=settings.timezone)
    if payload.get("preview") is True:
        preview = preview_series(data)
        return JSONResponse(
            {
                "starts": [start.isoformat() for start in preview.starts],
                "first_start_differs": preview.first_start_differs,
            }
        )
    series, sessions = await services.create_series(data, actor=request.state.user)
    base_url = settings.base_url
    return JSONResponse(
        {
            "id": series.id,
            "sessions": [session_json(s, base_url=base_url, by_staff=True) for s in sessions],
        },
        status_code=201,
    )


routes = [
    Route("/api/v1/topics", list_topics, name="api:topics"),
    Route("/api/v1/sessions", list_sessions, methods=["GET"], name="api:sessions"),
    Route("/api/v1/sessions", create_session, methods=["POST"], name="api:session_create"),
    Route("/api/v1/sessions/{session_id:int}", get_session, methods=["GET"], name="api:session"),
    Route(
        "/api/v1/sessions/{session_id:int}",
        update_session,
        methods=["PATCH"],
        name="api:session_update",
    ),
    *(
        Route(
            f"/api/v1/sessions/{{session_id:int}}/{action}",
            _status_change(action),
            methods=["POST"],
            name=f"api:session_{action}",
        )
        for action in services.STATUS_ACTIONS
    ),
    Route(
        "/api/v1/sessions/{session_id:int}/cancel",
        cancel_session,
        methods=["POST"],
        name="api:session_cancel",
    ),
    Route(
        "/api/v1/sessions/{session_id:int}",
        delete_session,
        methods=["DELETE"],
        name="api:session_delete",
    ),
    Route("/api/v1/series", create_series, methods=["POST"], name="api:series_create"),
]

_SESSION_ID = path_parameter("session_id", "session id")

openapi_paths: dict[str, dict[str, Any]] = {
    "/api/v1/topics": {"get": operation("List topics", response=array_of("Topic"))},
    "/api/v1/sessions": {
        "get": operation(
            "List published public sessions, soonest first",
            response=array_of("Session"),
            parameters=[
                query_parameter("topic", "topic code", {"type": "string"}),
                query_parameter("month", "YYYY-MM, in the session's time zone", {"type": "string"}),
                query_parameter("upcoming", "0 to include past sessions", {"type": "string"}),
            ],
        ),
        "post": operation(
            "Create a session (draft unless published later)",
            request=ref("SessionInput"),
            response=ref("Session"),
            status=201,
            staff=True,
        ),
    },
    "/api/v1/sessions/{session_id}": {
        "get": operation(
            "One session (invite-only ones: only for their staff)",
            response=ref("Session"),
            errors=(404,),
            parameters=[_SESSION_ID],
        ),
        "patch": operation(
            "Change a session",
            request=ref("SessionPatch"),
            response=ref("Session"),
            staff=True,
            errors=(404, 409),
            parameters=[_SESSION_ID],
        ),
        "delete": operation(
            "Delete a draft nobody registered for",
            response=None,
            status=204,
            staff=True,
            errors=(404, 409),
            parameters=[_SESSION_ID],
        ),
    },
    "/api/v1/sessions/{session_id}/cancel": {
        "post": operation(
            "Cancel a session (or it and the later ones of its series); everyone confirmed "
            "or waiting is emailed, with the message if one is given",
            request=ref("Cancellation"),
            request_optional=True,
            response=ref("Session"),
            staff=True,
            errors=(404, 422),
            parameters=[_SESSION_ID],
        )
    },
    **{
        f"/api/v1/sessions/{{session_id}}/{action}": {
            "post": operation(
                f"{action.capitalize()} a session",
                response=ref("Session"),
                staff=True,
                errors=(404, 409),
                parameters=[_SESSION_ID],
            )
        }
        for action in services.STATUS_ACTIONS
    },
    "/api/v1/series": {
        "post": operation(
            "Generate a monthly series of sessions from an RRULE",
            request=ref("SeriesInput"),
            response={
                "type": "object",
                "properties": {"id": {"type": "integer"}, "sessions": array_of("Session")},
            },
            status=201,
            staff=True,
        )
    },
}
