"""HTML routes of the curricula package.

person   /teams/join/{token}                       (emailed) join a team: asks (GET), yes or
                                                   no (POST); works once
staff    /staff/teams                              teams (admin: all, and new; leaders: theirs)
         /staff/teams/{id}                         the progress matrix; add members (requests)
         /staff/teams/{id}/requests                (POST) ask pending members again
         /staff/teams/{id}/progress.csv
         /staff/teams/{id}/members/{member}        (POST) mark, unmark, invite, remove;
                                                   admins: confirm in person, curriculum
                                                   certificate
         /staff/curricula/{id}                     modules (admin)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from curricula import membership, services
from curricula.errors import CurriculumNotFound
from curricula.models import Curriculum, Module, Team
from curricula.progress import Status, active_modules, team_matrix
from events.services import list_topics
from sala.csrf import read_form
from sala.errors import PermissionDenied, SalaError, ValidationFailed
from sala.forms import parse_id
from sala.i18n import N_, gettext
from sala.models import Role, StaffUser
from sala.permissions import public, staff_page
from sala.responses import PRIVATE_HEADERS
from sala.spreadsheets import csv_response
from sala.templating import render

LEADERS = (Role.ADMIN, Role.TEAM_LEADER)


@staff_page(*LEADERS)
async def teams(request: Request) -> Response:
    staff = request.state.user
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if staff.role != Role.ADMIN:
            raise PermissionDenied()
        form = await read_form(request)
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            team = await services.create_team(
                name=values.get("name", ""),
                leader_emails=values.get("leader_emails", "").replace(",", " ").split(),
                curriculum_code=values.get("curriculum") or None,
                staff=staff,
            )
        except ValidationFailed as exc:
            errors, status = exc.translated_errors(), 422
        else:
            return RedirectResponse(_team_path(request, team), status_code=303)
    context = {
        "teams": await services.list_teams_for_staff(staff),
        "curricula": await services.list_curricula(),
        "leaders": await StaffUser.filter(role=Role.TEAM_LEADER, is_active=True).order_by("name"),
        "values": values,
        "errors": errors,
    }
    return render(
        request, "curricula/teams.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


def _team_path(request: Request, team: Team) -> str:
    return str(request.url_for("staff:team", team_id=team.id).path)


@staff_page(*LEADERS)
async def team(request: Request) -> Response:
    """The matrix; its POST adds a member, which makes a request the person confirms. The
    answer is the same whoever holds the contact typed, or if nobody does."""
    staff = request.state.user
    settings = request.app.state.settings
    found = await services.get_team_for_staff(staff, request.path_params["team_id"])
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            picked = parse_id(values.get("person_id"))
            if picked is not None:
                person = await services.candidate(found, picked)
                await membership.add_candidate(found, person, staff=staff, settings=settings)
            else:
                contact = membership.read_contact_field(values.get("contact", ""))
                await membership.add_member(found, contact, staff=staff, settings=settings)
        except ValidationFailed as exc:
            errors, status = exc.translated_errors(), 422
        else:
            return RedirectResponse(_team_path(request, found) + "?done=added", status_code=303)
    return await _team_page(
        request,
        found,
        status=status,
        values=values,
        errors=errors,
        done=request.query_params.get("done"),
    )


async def _team_page(
    request: Request,
    team: Team,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str | None = None,
    form_error: str | None = None,
    error_details: dict[str, str] | None = None,
) -> Response:
    """The matrix page, after a GET or with what a refused POST needs to say."""
    matrix = await team_matrix(team)
    context = {
        "team": team,
        "matrix": matrix,
        "pending": await membership.pending_requests(team, viewer=request.state.user),
        "invited": await services.invited(matrix),
        "candidates": await services.candidates(team),
        "values": values or {},
        "errors": errors or {},
        "done": done,
        "form_error": form_error,
        "error_details": error_details or {},
    }
    return render(
        request, "curricula/team.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


@staff_page(*LEADERS)
async def ask_again(request: Request) -> Response:
    """Email every pending person of the team again (at most once a day each)."""
    staff = request.state.user
    found = await services.get_team_for_staff(staff, request.path_params["team_id"])
    await read_form(request)
    await membership.request_confirmations(found, staff=staff, settings=request.app.state.settings)
    return RedirectResponse(_team_path(request, found) + "?done=asked", status_code=303)


@staff_page(*LEADERS)
async def member_action(request: Request) -> Response:
    """One form per action on a member, each a plain POST: works without JavaScript."""
    staff = request.state.user
    found = await services.get_team_for_staff(staff, request.path_params["team_id"])
    member = await membership.get_member(found, request.path_params["member_id"])
    form = await read_form(request)
    action = str(form.get("action", ""))
    module_id = parse_id(form.get("module_id"))
    try:
        if action == "mark":
            await services.mark_done(
                found,
                member,
                module_id or 0,
                completed_on=str(form.get("completed_on", "")),
                note=str(form.get("note", "")),
                staff=staff,
            )
        elif action == "unmark" and module_id is not None:
            await services.unmark(found, member, module_id, staff=staff)
        elif action == "invite":
            await services.invite_member(
                found,
                member,
                parse_id(form.get("session_id")) or 0,
                staff=staff,
                settings=request.app.state.settings,
            )
        elif action == "remove":
            await services.remove_member(found, member.id, staff=staff)
        elif action == "certificate":
            await services.curriculum_certificate(found, member, staff=staff)
        elif action == "confirm":
            await membership.confirm_in_person(found, member, staff=staff)
        else:
            raise ValidationFailed({})
    except SalaError as exc:
        return await _team_page(
            request,
            found,
            status=exc.status_code,
            form_error=exc.translated(),
            error_details=exc.translated_errors() if isinstance(exc, ValidationFailed) else {},
        )
    return RedirectResponse(_team_path(request, found) + f"?done={action}", status_code=303)


@staff_page(*LEADERS)
async def progress_csv(request: Request) -> Response:
    found = await services.get_team_for_staff(request.state.user, request.path_params["team_id"])
    matrix = await team_matrix(found)
    names = {
        Status.DONE: gettext("done"),
        Status.BOOKED: gettext("booked"),
        Status.NOT_STARTED: gettext("not started"),
        Status.BLOCKED: gettext("blocked"),
    }
    lines: list[list[object]] = [
        [gettext("Name"), *[m.name for m in matrix.modules], gettext("Done (%)")]
    ]
    for row in matrix.rows:
        cells = []
        for module in matrix.modules:
            cell = row.cells[module.id]
            when = cell.completed_at.date().isoformat() if cell.completed_at else ""
            cells.append(f"{names[cell.status]} {when}".strip())
        lines.append([row.person.chosen_name, *cells, row.percent])
    lines.append([gettext("Done (%)"), *[matrix.module_percent[m.id] for m in matrix.modules], ""])
    return csv_response(lines, filename=f"team-{found.id}-progress.csv")


@public
async def join_team(request: Request) -> Response:
    """The emailed link: GET asks (mail scanners open links), POST says yes or no. Used
    once, the link is gone: a second use is a 404."""
    settings = request.app.state.settings
    member = await membership.member_for_token(request.path_params["token"], settings)
    answer: str | None = None
    if request.method == "POST":
        form = await read_form(request)
        answer = str(form.get("answer", ""))
        if answer == "yes":
            await membership.confirm(member)
        elif answer == "no":
            await membership.decline(member)
        else:
            raise ValidationFailed({}, N_("Press yes or no."))
    curriculum = await Curriculum.get(id=member.team.curriculum_id)  # type: ignore[attr-defined]
    context = {
        "team": member.team,
        "asker": member.added_by.name if member.added_by else "",
        "modules": await active_modules(curriculum),
        "answer": answer,
    }
    return render(request, "curricula/join.html", context, headers=PRIVATE_HEADERS)


@staff_page(Role.ADMIN)
async def curriculum(request: Request) -> Response:
    staff = request.state.user
    found = await services.get_curriculum(request.path_params["curriculum_id"])
    errors: dict[str, str] = {}
    message: str | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        raw: dict[str, Any] = {
            "name_km": form.get("name_km", ""),
            "name_en": form.get("name_en", ""),
            "position": form.get("position", ""),
            "topics": [str(v) for v in form.getlist("topics")],
            "prerequisites": [str(v) for v in form.getlist("prerequisites")],
        }
        module_id = parse_id(form.get("module_id"))
        module = None
        if module_id is not None:
            module = await Module.get_or_none(id=module_id, curriculum_id=found.id)
            if module is None:
                raise CurriculumNotFound()
        try:
            if form.get("action") == "remove" and module is not None:
                await services.remove_module(module, staff=staff)
            else:
                values = services.module_input(raw)
                await services.save_module(found, values, staff=staff, module=module)
        except SalaError as exc:
            message, status = exc.translated(), exc.status_code
            errors = exc.translated_errors() if isinstance(exc, ValidationFailed) else {}
        else:
            path = request.url_for("staff:curriculum", curriculum_id=found.id).path
            return RedirectResponse(f"{path}?saved=1", status_code=303)
    modules = (
        await Module.filter(curriculum_id=found.id)
        .prefetch_related("topics", "prerequisites")
        .order_by("archived_at", "position", "id")
    )
    context = {
        "curriculum": found,
        "modules": modules,
        "topics": await list_topics(),
        "errors": errors,
        "form_error": message,
        "saved": request.query_params.get("saved"),
    }
    return render(
        request, "curricula/curriculum.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


routes = [
    Route("/teams/join/{token}", join_team, methods=["GET", "POST"], name="team_join"),
    Route("/staff/teams", teams, methods=["GET", "POST"], name="staff:teams"),
    Route("/staff/teams/{team_id:int}", team, methods=["GET", "POST"], name="staff:team"),
    Route(
        "/staff/teams/{team_id:int}/requests",
        ask_again,
        methods=["POST"],
        name="staff:team_requests",
    ),
    Route("/staff/teams/{team_id:int}/progress.csv", progress_csv, name="staff:team_csv"),
    Route(
        "/staff/teams/{team_id:int}/members/{member_id:int}",
        member_action,
        methods=["POST"],
        name="staff:team_member",
    ),
    Route(
        "/staff/curricula/{curriculum_id:int}",
        curriculum,
        methods=["GET", "POST"],
        name="staff:curriculum",
    ),
]
