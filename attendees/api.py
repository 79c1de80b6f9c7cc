"""JSON API of the attendees package (``/api/v1``).

POST /api/v1/sessions/{id}/registrations     anyone: register (same rules as the form)
GET  /api/v1/sessions/{id}/registrations     admin, the session's facilitators
POST /api/v1/registrations/{id}/cancel       admin, the session's facilitators
GET  /api/v1/sessions/{id}/invitations       admin
POST /api/v1/sessions/{id}/invitations       admin: personal, organisation or bulk
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attendees import invitations
from attendees.errors import (
    InvitationInvalid,
    InvitationRequired,
    InvitationWithdrawn,
    RegistrationNotFound,
)
from attendees.forms import parse_registration
from attendees.limits import registration_allowed
from attendees.manage import manage_url
from attendees.models import Invitation, Registration, RegistrationSource
from attendees.registration import cancel_registration, register, waitlist_position
from attendees.schemas import invitation_json, registration_json
from attendees.views import roster
from events.errors import SessionNotFound
from events.services import get_session_for_staff
from sala.errors import RateLimited, ValidationFailed
from sala.i18n import N_
from sala.jsonapi import read_json_object
from sala.models import Role
from sala.openapi import array_of, operation, path_parameter, ref
from sala.permissions import public, staff_api


@public
async def create_registration(request: Request) -> Response:
    settings = request.app.state.settings
    payload = await read_json_object(request)
    if not registration_allowed(request, payload):
        raise RateLimited()
    data = parse_registration(payload, default_language=request.state.language)
    session_id = request.path_params["session_id"]
    try:
        outcome = await register(session_id, data, source=RegistrationSource.API, settings=settings)
    except (InvitationRequired, InvitationInvalid, InvitationWithdrawn) as refused:
        # Walking ids must not find invite-only sessions: without a code that is one of the
        # session's invitations, the answer is a missing session's (its invitees have its
        # page, /sessions/i/{slug}, whose form does say an invitation is needed or withdrawn).
        # A withdrawn code counts as none: it may have been sent to the wrong person.
        code = data.invitation_code
        if (
            not code
            or not await Invitation.filter(
                code=code, session_id=session_id, revoked_at=None
            ).exists()
        ):
            raise SessionNotFound() from refused
        raise
    registration = outcome.registration
    return JSONResponse(
        {
            "id": registration.id,
            "status": registration.status.value,
            "waitlist_position": outcome.waitlist_position,
            "manage_url": manage_url(registration, settings),
            # Always a new registration: the answer tells nothing about who else registered.
            "created": True,
        },
        status_code=201,
    )


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def list_registrations(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    session_roster = await roster(session)
    items = [registration_json(r, position=p) for r, p in session_roster.with_positions()]
    return JSONResponse(items)


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def cancel(request: Request) -> Response:
    registration = await Registration.get_or_none(id=request.path_params["registration_id"])
    if registration is None:
        raise RegistrationNotFound()
    await get_session_for_staff(request.state.user, registration.session_id)  # type: ignore[attr-defined]
    outcome = await cancel_registration(
        registration.id, settings=request.app.state.settings, actor=request.state.user
    )
    return JSONResponse(
        {
            **registration_json(outcome.registration, position=None),
            "registration": registration_json(outcome.registration, position=None),
            "promoted": [
                registration_json(r, position=await waitlist_position(r)) for r in outcome.promoted
            ],
        }
    )


@staff_api(Role.ADMIN)
async def list_invitations(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    return JSONResponse(
        [
            invitation_json(i, status=invitations.invitation_status(i, session))
            for i in await invitations.list_invitations(session)
        ]
    )


@staff_api(Role.ADMIN)
async def create_invitations(request: Request) -> Response:
    settings = request.app.state.settings
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    payload = await read_json_object(request)
    actor = request.state.user
    language = None if payload.get("language") is None else str(payload["language"])
    if "emails" in payload:
        emails = payload["emails"]
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise ValidationFailed({"emails": N_("Paste at least one email address.")})
        result = await invitations.invite_many(
            session, emails=emails, actor=actor, settings=settings, language=language
        )
        return JSONResponse(
            {
                "invitations": [
                    invitation_json(i, status=invitations.invitation_status(i, session))
                    for i in result.invitations
                ],
                "skipped": result.skipped,
            },
            status_code=201,
        )
    if "organisation" in payload:
        organisation = payload.get("organisation")
        invitation = await invitations.invite_organisation(
            session,
            organisation=organisation if isinstance(organisation, str) else "",
            seats=payload.get("seats"),  # type: ignore[arg-type]
            actor=actor,
        )
    else:
        email = payload.get("email")
        invitation = await invitations.invite_person(
            session,
            email=email if isinstance(email, str) else "",
            actor=actor,
            settings=settings,
            language=language,
        )
    status = invitations.invitation_status(invitation, session)
    return JSONResponse(invitation_json(invitation, status=status), status_code=201)


routes = [
    Route(
        "/api/v1/sessions/{session_id:int}/registrations",
        create_registration,
        methods=["POST"],
        name="api:registration_create",
    ),
    Route(
        "/api/v1/sessions/{session_id:int}/registrations",
        list_registrations,
        methods=["GET"],
        name="api:registrations",
    ),
    Route(
        "/api/v1/registrations/{registration_id:int}/cancel",
        cancel,
        methods=["POST"],
        name="api:registration_cancel",
    ),
    Route(
        "/api/v1/sessions/{session_id:int}/invitations",
        list_invitations,
        methods=["GET"],
        name="api:invitations",
    ),
    Route(
        "/api/v1/sessions/{session_id:int}/invitations",
        create_invitations,
        methods=["POST"],
        name="api:invitation_create",
    ),
]

_SESSION_ID = path_parameter("session_id", "session id")

openapi_paths: dict[str, dict[str, Any]] = {
    "/api/v1/sessions/{session_id}/registrations": {
        "post": operation(
            "Register for a session (always a new registration, 201)",
            request=ref("RegistrationInput"),
            response=ref("RegistrationReceipt"),
            status=201,
            errors=(404, 409, 429),
            parameters=[_SESSION_ID],
        ),
        "get": operation(
            "The session's registrations: confirmed, waitlisted in order, cancelled",
            response=array_of("Registration"),
            staff=True,
            errors=(404,),
            parameters=[_SESSION_ID],
        ),
    },
    "/api/v1/registrations/{registration_id}/cancel": {
        "post": operation(
            "Cancel a registration; the first waitlisted person is promoted",
            response=ref("Cancellation"),
            staff=True,
            errors=(404,),
            parameters=[path_parameter("registration_id", "registration id")],
        )
    },
    "/api/v1/sessions/{session_id}/invitations": {
        "get": operation(
            "The session's invitations",
            response=array_of("Invitation"),
            staff=True,
            errors=(404,),
            parameters=[_SESSION_ID],
        ),
        "post": operation(
            "Invite a person, an organisation (a code with seats), or a list of emails",
            request=ref("InvitationInput"),
            response=ref("Invitation"),
            status=201,
            staff=True,
            errors=(404,),
            parameters=[_SESSION_ID],
        ),
    },
}
