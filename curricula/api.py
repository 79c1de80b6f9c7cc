"""JSON API of the curricula package (``/api/v1``).

GET  /api/v1/curricula                              admin, team leaders: curricula and modules
POST /api/v1/curricula/{id}/modules                 admin
PATCH /api/v1/modules/{id}, DELETE /api/v1/modules/{id}   admin (delete archives if used)
GET  /api/v1/teams                                  admin: all; team leaders: theirs
POST /api/v1/teams                                  admin: name, leader_emails
GET  /api/v1/teams/{id}                             the team, its members and pending requests
POST /api/v1/teams/{id}/members                     email or phone → a pending request
DELETE /api/v1/teams/{id}/members/{member_id}       remove a member, withdraw a request
POST /api/v1/teams/{id}/members/{member_id}/marks   module_id, completed_on, note
POST /api/v1/teams/{id}/members/{member_id}/invitations   session_id
POST /api/v1/teams/{id}/members/{member_id}/certificate   admin
GET  /api/v1/teams/{id}/progress                    confirmed members × modules

No answer carries a member's email or phone, not even the one the caller typed: a pending
request is an id, a status and a date, the same whoever holds the contact (see
``curricula/membership.py``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from curricula import membership, services
from curricula.errors import CurriculumNotFound
from curricula.models import Curriculum, Module, Team, TeamMember
from curricula.progress import Matrix, team_matrix
from curricula.schemas import matrix_json
from sala.errors import ValidationFailed
from sala.forms import parse_id
from sala.i18n import N_
from sala.jsonapi import read_json_object
from sala.models import Role
from sala.openapi import array_of, operation, path_parameter, ref
from sala.permissions import staff_api

LEADERS = (Role.ADMIN, Role.TEAM_LEADER)


async def module_json(module: Module) -> dict[str, Any]:
    await module.fetch_related("topics", "prerequisites")
    return {
        "id": module.id,
        "position": module.position,
        "name_km": module.name_km,
        "name_en": module.name_en,
        "topics": [t.code for t in module.topics],
        "prerequisites": [p.id for p in module.prerequisites],
        "archived": module.archived_at is not None,
    }


async def team_json(team: Team, *, with_members: bool = False) -> dict[str, Any]:
    await team.fetch_related("leaders", "curriculum")
    body: dict[str, Any] = {
        "id": team.id,
        "name": team.name,
        "curriculum": team.curriculum.code,
        "leader_emails": [leader.email for leader in team.leaders],
    }
    if with_members:
        members = await TeamMember.filter(team_id=team.id).select_related("person")
        body["members"] = [member_json(m) for m in members]
    return body


def member_json(member: TeamMember) -> dict[str, Any]:
    """A member who said yes: their name, and whether the team can invite them by email
    (never the address). A pending request: the same keys, and nothing about anyone."""
    person = member.person if member.confirmed else None
    return {
        "id": member.id,
        "status": "confirmed" if person is not None else "pending",
        "chosen_name": person.chosen_name if person is not None else None,
        "has_email": bool(person.email) if person is not None else None,
        "added_at": member.added_at.isoformat(),
        "confirmed_at": member.confirmed_at.isoformat() if member.confirmed_at else None,
    }


@staff_api(*LEADERS)
async def list_curricula(request: Request) -> Response:
    body = []
    for curriculum in await services.list_curricula():
        modules = await Module.filter(curriculum_id=curriculum.id).order_by("position", "id")
        body.append(
            {
                "id": curriculum.id,
                "code": curriculum.code,
                "name_km": curriculum.name_km,
                "name_en": curriculum.name_en,
                "modules": [await module_json(m) for m in modules],
            }
        )
    return JSONResponse(body)


@staff_api(Role.ADMIN)
async def create_module(request: Request) -> Response:
    curriculum = await services.get_curriculum(request.path_params["curriculum_id"])
    values = services.module_input(await read_json_object(request))
    module = await services.save_module(curriculum, values, staff=request.state.user)
    return JSONResponse(await module_json(module), status_code=201)


async def _module(request: Request) -> tuple[Curriculum, Module]:
    module = await Module.get_or_none(id=request.path_params["module_id"])
    if module is None:
        raise CurriculumNotFound()
    curriculum = await Curriculum.get(id=module.curriculum_id)  # type: ignore[attr-defined]
    return curriculum, module


@staff_api(Role.ADMIN)
async def update_module(request: Request) -> Response:
    curriculum, module = await _module(request)
    current = await module_json(module)
    payload = await read_json_object(request)
    merged = {key: payload.get(key, current[key]) for key in ("name_km", "name_en", "topics")}
    prerequisites = payload.get("prerequisites", current["prerequisites"])
    merged["prerequisites"] = prerequisites if isinstance(prerequisites, list) else []
    merged["prerequisites"] = [str(p) for p in merged["prerequisites"]]
    merged["position"] = payload.get("position", current["position"])
    values = services.module_input(merged)
    module = await services.save_module(curriculum, values, staff=request.state.user, module=module)
    return JSONResponse(await module_json(module))


@staff_api(Role.ADMIN)
async def delete_module(request: Request) -> Response:
    _curriculum, module = await _module(request)
    deleted = await services.remove_module(module, staff=request.state.user)
    return JSONResponse({"id": module.id, "deleted": deleted, "archived": not deleted})


@staff_api(*LEADERS)
async def list_teams(request: Request) -> Response:
    teams = await services.list_teams_for_staff(request.state.user)
    return JSONResponse([await team_json(t) for t in teams])


@staff_api(Role.ADMIN)
async def create_team(request: Request) -> Response:
    payload = await read_json_object(request)
    emails = payload.get("leader_emails")
    if not isinstance(emails, list):
        raise ValidationFailed(
            {"leader_emails": N_("Give the emails of staff accounts with the team leader role.")}
        )
    team = await services.create_team(
        name=str(payload.get("name") or ""),
        leader_emails=emails,
        curriculum_code=_text(payload, "curriculum") or None,
        staff=request.state.user,
    )
    return JSONResponse(await team_json(team, with_members=True), status_code=201)


async def _team(request: Request) -> Team:
    return await services.get_team_for_staff(request.state.user, request.path_params["team_id"])


async def _member(request: Request) -> tuple[Team, TeamMember]:
    team = await _team(request)
    return team, await membership.get_member(team, request.path_params["member_id"])


@staff_api(*LEADERS)
async def get_team(request: Request) -> Response:
    return JSONResponse(await team_json(await _team(request), with_members=True))


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


@staff_api(*LEADERS)
async def add_member(request: Request) -> Response:
    """A pending request; the same answer whoever holds the contact, or if nobody does."""
    team = await _team(request)
    payload = await read_json_object(request)
    contact = membership.read_contact(email=_text(payload, "email"), phone=_text(payload, "phone"))
    member = await membership.add_member(
        team, contact, staff=request.state.user, settings=request.app.state.settings
    )
    return JSONResponse(member_json(member), status_code=201)


@staff_api(*LEADERS)
async def remove_member(request: Request) -> Response:
    team, member = await _member(request)
    await services.remove_member(team, member.id, staff=request.state.user)
    return JSONResponse({"id": member.id, "removed": True})


@staff_api(*LEADERS)
async def mark(request: Request) -> Response:
    team, member = await _member(request)
    payload = await read_json_object(request)
    module_id = payload.get("module_id")
    done = await services.mark_done(
        team,
        member,
        parse_id(module_id) or 0,
        completed_on=_text(payload, "completed_on"),
        note=_text(payload, "note"),
        staff=request.state.user,
    )
    return JSONResponse(
        {
            "member_id": member.id,
            "module_id": done.module_id,  # type: ignore[attr-defined]
            "completed_on": done.completed_on.isoformat(),
            "note": done.note,
        },
        status_code=201,
    )


@staff_api(*LEADERS)
async def invite(request: Request) -> Response:
    team, member = await _member(request)
    payload = await read_json_object(request)
    session_id = payload.get("session_id")
    invitation = await services.invite_member(
        team,
        member,
        parse_id(session_id) or 0,
        staff=request.state.user,
        settings=request.app.state.settings,
    )
    invited_to: int = invitation.session_id  # type: ignore[attr-defined]
    body = {"invitation_id": invitation.id, "session_id": invited_to, "member_id": member.id}
    return JSONResponse(body, status_code=201)


@staff_api(*LEADERS)
async def curriculum_certificate(request: Request) -> Response:
    """Admins only; the service says so to a team leader (403, certificate_by_admins_only)."""
    team, member = await _member(request)
    certificate = await services.curriculum_certificate(team, member, staff=request.state.user)
    return JSONResponse(
        {"code": certificate.code, "member_id": member.id, "status": certificate.status.value},
        status_code=201,
    )


@staff_api(*LEADERS)
async def progress(request: Request) -> Response:
    matrix: Matrix = await team_matrix(await _team(request))
    return JSONResponse(matrix_json(matrix))


routes = [
    Route("/api/v1/curricula", list_curricula, name="api:curricula"),
    Route(
        "/api/v1/curricula/{curriculum_id:int}/modules",
        create_module,
        methods=["POST"],
        name="api:module_create",
    ),
    Route(
        "/api/v1/modules/{module_id:int}",
        update_module,
        methods=["PATCH"],
        name="api:module_update",
    ),
    Route(
        "/api/v1/modules/{module_id:int}",
        delete_module,
        methods=["DELETE"],
        name="api:module_delete",
    ),
    Route("/api/v1/teams", list_teams, methods=["GET"], name="api:teams"),
    Route("/api/v1/teams", create_team, methods=["POST"], name="api:team_create"),
    Route("/api/v1/teams/{team_id:int}", get_team, name="api:team"),
    Route(
        "/api/v1/teams/{team_id:int}/members", add_member, methods=["POST"], name="api:member_add"
    ),
    Route(
        "/api/v1/teams/{team_id:int}/members/{member_id:int}",
        remove_member,
        methods=["DELETE"],
        name="api:member_remove",
    ),
    Route(
        "/api/v1/teams/{team_id:int}/members/{member_id:int}/marks",
        mark,
        methods=["POST"],
        name="api:member_mark",
    ),
    Route(
        "/api/v1/teams/{team_id:int}/members/{member_id:int}/invitations",
        invite,
        methods=["POST"],
        name="api:member_invite",
    ),
    Route(
        "/api/v1/teams/{team_id:int}/members/{member_id:int}/certificate",
        curriculum_certificate,
        methods=["POST"],
        name="api:member_certificate",
    ),
    Route("/api/v1/teams/{team_id:int}/progress", progress, name="api:team_progress"),
]

_TEAM = path_parameter("team_id", "team id")
_MEMBER = path_parameter("member_id", "member id")
_MODULE = path_parameter("module_id", "module id")

openapi_paths: dict[str, dict[str, Any]] = {
    "/api/v1/curricula": {
        "get": operation("Curricula and their modules", response=array_of("Curriculum"), staff=True)
    },
    "/api/v1/curricula/{curriculum_id}/modules": {
        "post": operation(
            "Add a module (cyclic prerequisites are refused)",
            request=ref("ModuleInput"),
            response=ref("Module"),
            status=201,
            staff=True,
            errors=(404,),
            parameters=[path_parameter("curriculum_id", "curriculum id")],
        )
    },
    "/api/v1/modules/{module_id}": {
        "patch": operation(
            "Change a module; removing a topic that recorded progress came from is refused",
            request=ref("ModuleInput"),
            response=ref("Module"),
            staff=True,
            errors=(404, 409),
            parameters=[_MODULE],
        ),
        "delete": operation(
            "Delete a module, or archive it when members have progress in it",
            response={"type": "object"},
            staff=True,
            errors=(404,),
            parameters=[_MODULE],
        ),
    },
    "/api/v1/teams": {
        "get": operation(
            "Teams: all for admins, their own for team leaders",
            response=array_of("Team"),
            staff=True,
        ),
        "post": operation(
            "Create a team", request=ref("TeamInput"), response=ref("Team"), status=201, staff=True
        ),
    },
    "/api/v1/teams/{team_id}": {
        "get": operation(
            "A team, its members and its pending requests (no contact details)",
            response=ref("Team"),
            staff=True,
            errors=(404,),
            parameters=[_TEAM],
        )
    },
    "/api/v1/teams/{team_id}/members": {
        "post": operation(
            "Ask someone to join by email or phone: a pending request until they confirm by "
            "the emailed link; the same answer whoever holds the contact, or if nobody does",
            request=ref("MemberInput"),
            response=ref("Member"),
            status=201,
            staff=True,
            errors=(404, 422),
            parameters=[_TEAM],
        )
    },
    "/api/v1/teams/{team_id}/members/{member_id}": {
        "delete": operation(
            "Remove a member, or withdraw a request (their progress stays theirs)",
            response={"type": "object"},
            staff=True,
            errors=(404,),
            parameters=[_TEAM, _MEMBER],
        )
    },
    "/api/v1/teams/{team_id}/members/{member_id}/marks": {
        "post": operation(
            "Mark a module done by hand, with a date and a note (confirmed members only)",
            request=ref("MarkInput"),
            response={"type": "object"},
            status=201,
            staff=True,
            errors=(404, 409),
            parameters=[_TEAM, _MEMBER],
        )
    },
    "/api/v1/teams/{team_id}/members/{member_id}/invitations": {
        "post": operation(
            "Invite the member (personal invitation by email) to a session",
            request={"type": "object", "properties": {"session_id": {"type": "integer"}}},
            response={"type": "object"},
            status=201,
            staff=True,
            errors=(404, 409),
            parameters=[_TEAM, _MEMBER],
        )
    },
    "/api/v1/teams/{team_id}/members/{member_id}/certificate": {
        "post": operation(
            "The curriculum certificate of a member who completed every module (once); admins only",
            response={"type": "object"},
            status=201,
            staff=True,
            errors=(403, 404, 409),
            parameters=[_TEAM, _MEMBER],
        )
    },
    "/api/v1/teams/{team_id}/progress": {
        "get": operation(
            "Confirmed members × modules: done (with completed_at), booked, not_started, blocked",
            response=ref("Progress"),
            staff=True,
            errors=(404,),
            parameters=[_TEAM],
        )
    },
}
