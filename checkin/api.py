"""JSON API of check-in (``/api/v1``).

GET  /api/v1/sessions/{id}/checkin-list           the session's staff: what a scanner needs offline
POST /api/v1/checkins                              the session's staff: one scan or a batch
POST /api/v1/registrations/{id}/undo-checkin       the session's staff
POST /api/v1/sessions/{id}/walk-ins                the session's staff: register and check in
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attendees.forms import parse_registration
from attendees.schemas import registration_json
from checkin.schemas import checkin_list_for
from checkin.services import check_in, parse_scans, undo_check_in, walk_in
from checkin.tickets import load_keys
from events.services import get_session_for_staff
from sala.jsonapi import read_json_object
from sala.models import Role
from sala.openapi import operation, path_parameter, ref
from sala.permissions import staff_api
from sala.responses import PRIVATE_HEADERS


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def checkin_list(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    keys = load_keys(request.app.state.settings.data_dir)
    # Names: never kept in the browser's HTTP cache (the phone keeps the list in IndexedDB,
    # which logging out empties), and never answered from it instead of the server.
    return JSONResponse(
        await checkin_list_for(session, keys, request.state.user), headers=PRIVATE_HEADERS
    )


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def create_checkins(request: Request) -> Response:
    payload = await read_json_object(request)
    scans = parse_scans(payload)
    answers = await check_in(scans, staff=request.state.user, settings=request.app.state.settings)
    if "scans" in payload:
        return JSONResponse({"results": [a.as_json() for a in answers]})
    return JSONResponse(answers[0].as_json())


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def undo_checkin(request: Request) -> Response:
    registration = await undo_check_in(
        request.path_params["registration_id"], staff=request.state.user
    )
    return JSONResponse(registration_json(registration, position=None))


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def create_walk_in(request: Request) -> Response:
    payload = await read_json_object(request)
    data = parse_registration(payload, default_language=request.state.language)
    done = await walk_in(
        request.path_params["session_id"],
        data,
        staff=request.state.user,
        settings=request.app.state.settings,
    )
    return JSONResponse(
        {
            **registration_json(done.registration, position=done.waitlist_position),
            "checked_in": done.checked_in,
        },
        status_code=201,
    )


routes = [
    Route(
        "/api/v1/sessions/{session_id:int}/checkin-list",
        checkin_list,
        methods=["GET"],
        name="api:checkin_list",
    ),
    Route("/api/v1/checkins", create_checkins, methods=["POST"], name="api:checkins"),
    Route(
        "/api/v1/registrations/{registration_id:int}/undo-checkin",
        undo_checkin,
        methods=["POST"],
        name="api:undo_checkin",
    ),
    Route(
        "/api/v1/sessions/{session_id:int}/walk-ins",
        create_walk_in,
        methods=["POST"],
        name="api:walk_in",
    ),
]

_SESSION_ID = path_parameter("session_id", "session id")

openapi_paths: dict[str, dict[str, Any]] = {
    "/api/v1/sessions/{session_id}/checkin-list": {
        "get": operation(
            "What a scanner needs offline: ticket ids, names, status, revocations, public "
            "keys, and until when a phone may keep it",
            response=ref("CheckinList"),
            staff=True,
            errors=(404,),
            parameters=[_SESSION_ID],
        )
    },
    "/api/v1/checkins": {
        "post": operation(
            "Check in one scan, or a batch {scans: [...]}; idempotent on scan_id",
            request=ref("CheckinInput"),
            response=ref("CheckinAnswer"),
            staff=True,
            errors=(404,),
        )
    },
    "/api/v1/registrations/{registration_id}/undo-checkin": {
        "post": operation(
            "Take back a check-in made by mistake",
            response=ref("Registration"),
            staff=True,
            errors=(404,),
            parameters=[path_parameter("registration_id", "registration id")],
        )
    },
    "/api/v1/sessions/{session_id}/walk-ins": {
        "post": operation(
            "Register someone at the door; checked in at once if a seat is left",
            request=ref("RegistrationInput"),
            response=ref("Registration"),
            status=201,
            staff=True,
            errors=(404, 409),
            parameters=[_SESSION_ID],
        )
    },
}
