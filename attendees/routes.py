"""HTML routes of the attendees package.

    person   /registrations/{token}                the manage page: status, ticket, calendar
             /registrations/{token}/ticket.png     the ticket's QR code
             /registrations/{token}/calendar.ics   calendar file (online link once confirmed)
             /registrations/{token}/cancel         confirm (GET), cancel (POST)
             /registrations/{token}/name           correct the chosen name (POST)
             /registrations/{token}/about          change or clear the optional answers (POST)
             /registrations/{token}/data.json      download my data
             /registrations/{token}/delete         confirm (GET), delete my data (POST)
             /registrations/lost                   ask for one's links, sent by email
             /registrations/join/{token}           "this was me": join it to my others
             /people/{token}                       (emailed) all my registrations, data, delete
    staff    /staff/sessions/{id}/registrations    confirmed, waitlisted, cancelled; add by hand
             /staff/sessions/{id}/registrations.csv   with who checked each one in, and when
             /staff/sessions/{id}/attendance.csv      registered and attended by sector
             /staff/registrations/{id}/cancel      confirm (GET), cancel (POST)
             /staff/sessions/{id}/invitations      list with status, create, resend, revoke (admin)
             /staff/checkin/                       the door scanner: pick a session
             /staff/checkin/{id}                   the door scanner (camera, search, walk-ins)
             /staff/checkin/sw.js                  its service worker (offline), public
             /staff/checkin/manifest.webmanifest   its install manifest (PWA), public

The registration form itself is on the public session page (``events/routes.py``).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from attendees import invitations as invitation_service
from attendees import manage, people
from attendees.errors import InvitationClosed
from attendees.forms import parse_registration
from attendees.limits import registration_allowed
from attendees.models import Registration, RegistrationSource, RegistrationStatus, Sector
from attendees.registration import cancel_registration, register, waitlist_position
from attendees.views import REACH, REACH_CHOICES, TOTAL, checked_in_by, roster
from certificates.services import curriculum_certificates_of, holder_certificate
from checkin.tickets import ticket_for
from events.calendar import ICS_MEDIA_TYPE, calendar_bytes, registrant_calendar_bytes
from events.services import get_session_for_staff
from learning.manage_page import learning_on_manage_page
from sala.csrf import read_form
from sala.errors import NotFound, RateLimited, SalaError, ValidationFailed
from sala.forms import parse_id
from sala.i18n import gettext
from sala.models import Role
from sala.permissions import public, staff_page
from sala.qrcodes import qr_png
from sala.responses import PRIVATE_HEADERS
from sala.spreadsheets import csv_response
from sala.templating import render

# ----------------------------------------------------------------------------- the person


async def _registration(request: Request) -> Registration:
    return await manage.registration_for_token(
        request.path_params["token"], request.app.state.settings
    )


def _manage_path(request: Request) -> str:
    return str(request.url_for("registration", token=request.path_params["token"]).path)


async def _manage_page(
    request: Request,
    registration: Registration,
    *,
    errors: dict[str, str] | None = None,
    reach_values: dict[str, str] | None = None,
) -> Response:
    """The manage page; with ``errors``, again after a form of it was refused (422), with
    what was typed (``reach_values``: the optional answers' form)."""
    context = {
        "registration": registration,
        "session": registration.session,
        "position": await waitlist_position(registration),
        "token": request.path_params["token"],
        "errors": errors or {},
        "certificate": await holder_certificate(registration),
        "reach_choices": REACH_CHOICES,
        "reach_values": reach_values or {name: getattr(registration, name) for name in REACH},
        "learning": await learning_on_manage_page(registration, request.app.state.settings),
    }
    status = 422 if errors else 200
    return render(
        request, "attendees/manage.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


@public
async def registration_page(request: Request) -> Response:
    return await _manage_page(request, await _registration(request))


@public
async def ticket_png(request: Request) -> Response:
    registration = await _registration(request)
    if registration.status != "confirmed":
        raise NotFound()
    token = await ticket_for(registration, request.app.state.settings.data_dir)
    # 45 modules (version 5 and the quiet zone) of 7 px: 315 px, shown at its own size, so
    # every module stays the same width on a 360 px phone.
    return Response(qr_png(token, box_size=7), media_type="image/png", headers=PRIVATE_HEADERS)


@public
async def registration_ics(request: Request) -> Response:
    """The registrant's calendar file: with the online link once their seat is confirmed."""
    registration = await _registration(request)
    session = registration.session
    base_url = request.app.state.settings.base_url
    if registration.status == RegistrationStatus.CONFIRMED:
        body = registrant_calendar_bytes(session, base_url=base_url)
    else:
        body = calendar_bytes([session], base_url=base_url, name=session.title)
    return Response(
        body,
        media_type=ICS_MEDIA_TYPE,
        headers={**PRIVATE_HEADERS, "content-disposition": 'attachment; filename="training.ics"'},
    )


@public
async def cancel_own(request: Request) -> Response:
    registration = await _registration(request)
    if request.method == "POST":
        await read_form(request)
        await manage.cancel_own(registration, request.app.state.settings)
        return RedirectResponse(_manage_path(request), status_code=303)
    return render(
        request,
        "attendees/confirm_cancel.html",
        {"registration": registration, "session": registration.session},
        headers=PRIVATE_HEADERS,
    )


@public
async def rename(request: Request) -> Response:
    registration = await _registration(request)
    form = await read_form(request)
    try:
        await manage.rename(
            registration, str(form.get("chosen_name", "")), request.app.state.settings
        )
    except ValidationFailed as exc:
        return await _manage_page(request, registration, errors=exc.translated_errors())
    return RedirectResponse(_manage_path(request) + "?renamed=1", status_code=303)


@public
async def answer_for_reports(request: Request) -> Response:
    """Change or clear the optional answers (province, age group, gender identity)."""
    registration = await _registration(request)
    form = await read_form(request)
    typed = {name: str(form.get(name, "")) for name in REACH}
    try:
        await manage.answer_for_reports(registration, typed)
    except ValidationFailed as exc:
        return await _manage_page(
            request, registration, errors=exc.translated_errors(), reach_values=typed
        )
    return RedirectResponse(_manage_path(request) + "?answered=1#about-you", status_code=303)


def _data_download(data: dict[str, Any]) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            **PRIVATE_HEADERS,
            "content-disposition": 'attachment; filename="my-sala-data.json"',
        },
    )


def _confirm_delete(request: Request, *, everything: bool, back: str) -> Response:
    context = {"everything": everything, "back": back}
    return render(request, "attendees/confirm_delete.html", context, headers=PRIVATE_HEADERS)


@public
async def my_data(request: Request) -> Response:
    return _data_download(await manage.export_data(await _registration(request)))


@public
async def delete_my_data(request: Request) -> Response:
    registration = await _registration(request)
    if request.method == "POST":
        await read_form(request)
        await manage.delete_personal_data(registration, request.app.state.settings)
        return render(request, "attendees/deleted.html", {}, headers=PRIVATE_HEADERS)
    return _confirm_delete(request, everything=False, back=_manage_path(request))


# ----------------------------------------------------------------------------- joining, lost links


@public
async def join_registration(request: Request) -> Response:
    """The emailed "this was me" link: GET asks (mail scanners open links), POST joins."""
    settings = request.app.state.settings
    registration, person = await people.claim_for_token(request.path_params["token"], settings)
    if request.method == "POST":
        await read_form(request)
        shown = await people.join(registration, person, settings)
        return RedirectResponse(
            manage.manage_url(shown, settings).removeprefix(settings.base_url), status_code=303
        )
    return render(
        request,
        "attendees/join.html",
        {"registration": registration, "session": registration.session},
        headers=PRIVATE_HEADERS,
    )


@public
async def lost_link(request: Request) -> Response:
    """Ask for one's links by email. The answer is the same whether or not anyone holds the
    address; the links go to that address only."""
    sent = False
    status = 200
    form_error: str | None = None
    values: dict[str, Any] = {}
    if request.method == "POST":
        form = await read_form(request)
        values = {"email": str(form.get("email", ""))[:254]}
        if not registration_allowed(request, values):
            form_error, status = gettext(RateLimited.message), 429
        else:
            await people.send_my_links(
                values["email"],
                language=request.state.language,
                settings=request.app.state.settings,
            )
            sent = True
    return render(
        request,
        "attendees/lost_link.html",
        {"sent": sent, "values": values, "form_error": form_error, "errors": {}},
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


async def _person(request: Request) -> Any:
    return await people.person_for_token(request.path_params["token"], request.app.state.settings)


@public
async def person_page(request: Request) -> Response:
    settings = request.app.state.settings
    person = await _person(request)
    registrations = await people.registrations_of(person)
    context = {
        "person": person,
        "token": request.path_params["token"],
        "registrations": [(r, manage.manage_url(r, settings)) for r in registrations],
        "curriculum_certificates": await curriculum_certificates_of(person),
    }
    return render(request, "attendees/person.html", context, headers=PRIVATE_HEADERS)


@public
async def person_data(request: Request) -> Response:
    return _data_download(await people.export_person(await _person(request)))


@public
async def person_delete(request: Request) -> Response:
    person = await _person(request)
    if request.method == "POST":
        await read_form(request)
        await people.delete_person(person, request.app.state.settings)
        return render(request, "attendees/deleted.html", {}, headers=PRIVATE_HEADERS)
    back = str(request.url_for("person", token=request.path_params["token"]).path)
    return _confirm_delete(request, everything=True, back=back)


# ----------------------------------------------------------------------------- staff


@staff_page()
async def staff_registrations(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    values: dict[str, Any] = {"language": request.state.language, "consent": "on"}
    errors: dict[str, str] = {}
    message: str | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            data = parse_registration(values, default_language=request.state.language)
            await register(
                session.id,
                data,
                source=RegistrationSource.STAFF,
                settings=request.app.state.settings,
                actor=request.state.user,
            )
        except ValidationFailed as exc:
            errors, message, status = exc.translated_errors(), exc.translated(), 422
        except SalaError as exc:
            message, status = exc.translated(), exc.status_code
        else:
            path = request.url_for("staff:registrations", session_id=session.id).path
            return RedirectResponse(path + "?added=1", status_code=303)
    context = {
        "session": session,
        "roster": await roster(session),
        "checked_in_by": checked_in_by,
        "values": values,
        "errors": errors,
        "form_error": message,
        "sectors": list(Sector),
    }
    return render(
        request,
        "attendees/staff_registrations.html",
        context,
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


@staff_page()
async def staff_registrations_csv(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    session_roster = await roster(session)
    header: list[object] = [
        "id", "status", "waitlist_position", "chosen_name", "pronouns", "email", "phone",
        "sector", "organisation", "language", "accessibility_needs", "registered_at",
        "checked_in_at", "checked_in_by",
    ]  # fmt: skip
    zone = ZoneInfo(session.timezone)
    lines: list[list[object]] = [header]
    for registration, position in session_roster.with_positions():
        checked_in_at = registration.checked_in_at
        lines.append(
            [
                registration.id,
                registration.status.value,
                position or "",
                registration.chosen_name,
                registration.pronouns,
                registration.email,
                registration.phone,
                registration.sector.value,
                registration.organisation,
                registration.language,
                registration.accessibility_needs,
                registration.created_at.isoformat(),
                # The wall-clock time at the venue, in a form every spreadsheet reads as one.
                checked_in_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if checked_in_at else "",
                checked_in_by(registration),
            ]
        )
    return csv_response(lines, filename=f"session-{session.id}-registrations.csv")


@staff_page()
async def staff_attendance_csv(request: Request) -> Response:
    """Registered and attended by sector: the counts the roster shows, for a spreadsheet."""
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    counts = await roster(session)
    lines: list[list[object]] = [["sector", "sector_name", "registered", "attended"]]
    for sector, registered in counts.by_sector.items():
        lines.append([sector.value, sector.label, registered, counts.attended_by_sector[sector]])
    lines.append(["", gettext(TOTAL), sum(counts.by_sector.values()), counts.attended])
    return csv_response(lines, filename=f"session-{session.id}-attendance-by-sector.csv")


@staff_page()
async def staff_cancel_registration(request: Request) -> Response:
    """GET asks (whose seat, and that they will be emailed); POST cancels."""
    registration = await Registration.get_or_none(id=request.path_params["registration_id"])
    if registration is None:
        raise NotFound()
    session = await get_session_for_staff(request.state.user, registration.session_id)  # type: ignore[attr-defined]
    roster_path = request.url_for("staff:registrations", session_id=session.id).path
    if registration.status == RegistrationStatus.CANCELLED:
        return RedirectResponse(roster_path + "?cancelled=1", status_code=303)
    if request.method == "GET":
        context = {"session": session, "registration": registration, "back": roster_path}
        return render(
            request, "attendees/staff_confirm_cancel.html", context, headers=PRIVATE_HEADERS
        )
    await read_form(request)
    await cancel_registration(
        registration.id, settings=request.app.state.settings, actor=request.state.user
    )
    return RedirectResponse(roster_path + "?cancelled=1", status_code=303)


@staff_page(Role.ADMIN)
async def staff_invitations(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    settings = request.app.state.settings
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    notice: dict[str, Any] | None = None
    form_error: str | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        kind = values.get("kind")
        action = values.get("action")
        language = values.get("language") or request.state.language
        try:
            if action in ("resend", "revoke"):
                invitation_id = parse_id(values.get("invitation_id")) or 0
                if action == "resend":
                    await invitation_service.resend_invitation(
                        session,
                        invitation_id,
                        actor=request.state.user,
                        settings=settings,
                        language=language,
                    )
                else:
                    await invitation_service.revoke_invitation(
                        session, invitation_id, actor=request.state.user
                    )
                path = request.url_for("staff:invitations", session_id=session.id).path
                return RedirectResponse(f"{path}?done={action}", status_code=303)
            if kind == "organisation":
                seats_text = values.get("seats", "").strip()
                invitation = await invitation_service.invite_organisation(
                    session,
                    organisation=values.get("organisation", ""),
                    seats=parse_id(seats_text) or -1,
                    actor=request.state.user,
                )
                notice = {"created": 1, "code": invitation.code, "skipped": []}
            else:
                result = await invitation_service.invite_many(
                    session,
                    emails=invitation_service.split_emails(values.get("emails", "")),
                    actor=request.state.user,
                    settings=settings,
                    language=language,
                )
                notice = {
                    "created": len(result.invitations),
                    "code": None,
                    "skipped": result.skipped,
                }
            values = {}
        except ValidationFailed as exc:
            errors, status = exc.translated_errors(), 422
        except InvitationClosed as exc:
            form_error, status = exc.translated(), exc.status_code
    invitations = await invitation_service.list_invitations(session)
    context = {
        "session": session,
        "invitations": [
            (invitation, invitation_service.invitation_status(invitation, session))
            for invitation in invitations
        ],
        "status_names": invitation_service.STATUS_NAMES,
        "values": {"language": request.state.language, **values},
        "errors": errors,
        "notice": notice,
        "form_error": form_error,
        "done": request.query_params.get("done"),
    }
    return render(
        request,
        "attendees/staff_invitations.html",
        context,
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


routes = [
    Route("/registrations/lost", lost_link, methods=["GET", "POST"], name="registration_lost"),
    Route(
        "/registrations/join/{token}",
        join_registration,
        methods=["GET", "POST"],
        name="registration_join",
    ),
    Route("/people/{token}", person_page, name="person"),
    Route("/people/{token}/data.json", person_data, name="person_data"),
    Route("/people/{token}/delete", person_delete, methods=["GET", "POST"], name="person_delete"),
    Route("/registrations/{token}", registration_page, name="registration"),
    Route("/registrations/{token}/ticket.png", ticket_png, name="registration_ticket"),
    Route("/registrations/{token}/calendar.ics", registration_ics, name="registration_ics"),
    Route(
        "/registrations/{token}/cancel",
        cancel_own,
        methods=["GET", "POST"],
        name="registration_cancel",
    ),
    Route("/registrations/{token}/name", rename, methods=["POST"], name="registration_rename"),
    Route(
        "/registrations/{token}/about",
        answer_for_reports,
        methods=["POST"],
        name="registration_about",
    ),
    Route("/registrations/{token}/data.json", my_data, name="registration_data"),
    Route(
        "/registrations/{token}/delete",
        delete_my_data,
        methods=["GET", "POST"],
        name="registration_delete",
    ),
    Route(
        "/staff/sessions/{session_id:int}/registrations",
        staff_registrations,
        methods=["GET", "POST"],
        name="staff:registrations",
    ),
    Route(
        "/staff/sessions/{session_id:int}/registrations.csv",
        staff_registrations_csv,
        name="staff:registrations_csv",
    ),
    Route(
        "/staff/sessions/{session_id:int}/attendance.csv",
        staff_attendance_csv,
        name="staff:attendance_csv",
    ),
    Route(
        "/staff/registrations/{registration_id:int}/cancel",
        staff_cancel_registration,
        methods=["GET", "POST"],
        name="staff:registration_cancel",
    ),
    Route(
        "/staff/sessions/{session_id:int}/invitations",
        staff_invitations,
        methods=["GET", "POST"],
        name="staff:invitations",
    ),
]
