"""HTML routes of the events package: the public listing and the staff pages for sessions.

public   /                                     upcoming trainings, by topic and month
         /sessions/{id}                        one public training (invite-only ones: 404)
         /sessions/{id}/calendar.ics           its calendar file (no online link)
         /sessions/i/{slug}                    one invite-only training, by its random slug
         /sessions/i/{slug}/calendar.ics       its calendar file
         /calendar.ics                         feed of every published training
staff    /staff/sessions                       list (facilitators: their own)
         /staff/sessions/new                   create (admin)
         /staff/sessions/{id}                  overview
         /staff/sessions/{id}/edit             edit (admin)
         /staff/sessions/{id}/{publish|unpublish}   (admin, POST)
         /staff/sessions/{id}/cancel           asks (who is told, a message), then cancels (admin)
         /staff/sessions/{id}/delete           asks, then deletes a draft nobody registered for
         /staff/series/new                     series generator: shows the dates, then creates
         /staff/topics, /staff/topics/{id}     topics (admin)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from attendees.errors import InvitationWithdrawn
from attendees.forms import parse_registration
from attendees.invitations import is_withdrawn
from attendees.limits import registration_allowed
from attendees.manage import manage_url
from attendees.models import RegistrationSource, Sector
from attendees.registration import register, registration_window
from attendees.views import REACH_CHOICES
from events import services
from events.calendar import ICS_MEDIA_TYPE, calendar_bytes
from events.errors import SessionCancelled, SessionNotDeletable
from events.forms import SeriesScope, parse_cancellation, parse_scope, session_values
from events.models import Audience, Session, SessionStatus
from events.series import SeriesPreview, preview_series
from learning.materials import materials_for_session_page
from sala.csrf import read_form
from sala.errors import RateLimited, SalaError, ValidationFailed
from sala.i18n import gettext
from sala.models import Role, StaffUser
from sala.permissions import public, staff_page
from sala.templating import render

# ----------------------------------------------------------------------------- public pages


def month_filter(raw: str | None) -> date | None:
    if not raw or len(raw) != 7:
        return None
    try:
        year, month = int(raw[:4]), int(raw[5:])
        return date(year, month, 1)
    except ValueError:
        return None


@public
async def home(request: Request) -> Response:
    topic_code = request.query_params.get("topic") or None
    month = month_filter(request.query_params.get("month"))
    topics = await services.list_topics(active_only=True)
    if topic_code not in {t.code for t in topics}:
        topic_code = None
    sessions = await services.list_public_sessions(topic_code=topic_code, month=month)
    months = await services.upcoming_months()
    return render(
        request,
        "events/home.html",
        {
            "sessions": sessions,
            "windows": {s.id: registration_window(s).state for s in sessions},
            "topics": topics,
            "months": months,
            "selected_topic": topic_code,
            "selected_month": month,
        },
    )


@public
async def session_page(request: Request) -> Response:
    """A public training's page, with its registration form (GET shows it, POST registers)."""
    session = await services.get_public_session(request.path_params["session_id"])
    return await _training_page(request, session)


@public
async def invited_session_page(request: Request) -> Response:
    """An invite-only training's page, at its unguessable address; never indexed."""
    session = await services.get_session_by_slug(request.path_params["slug"])
    if not session.is_invite_only:  # made public since the invitation went out
        return _moved(request, session.public_path)
    return await _training_page(request, session)


def _moved(request: Request, path: str) -> Response:
    query = request.url.query
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=307)


async def _training_page(request: Request, session: Session) -> Response:
    settings = request.app.state.settings
    values: dict[str, Any] = {
        "language": request.state.language,
        "invitation_code": request.query_params.get("invitation", "")[:32],
    }
    errors: dict[str, str] = {}
    form_error: str | None = None
    status = 200
    if request.method == "GET" and await is_withdrawn(session, values["invitation_code"]):
        # A revoked invitation's link says so at once, not after the form is filled in.
        form_error = InvitationWithdrawn().translated()
    if request.method == "POST":
        form = await read_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        if values.get("website"):  # the honeypot: only bots fill a field nobody can see
            return _unlisted(
                session, render(request, "attendees/honeypot.html", {"session": session})
            )
        if not registration_allowed(request, values):
            form_error = gettext(RateLimited.message)
            status = 429
        else:
            try:
                data = parse_registration(values, default_language=request.state.language)
                outcome = await register(
                    session.id, data, source=RegistrationSource.FORM, settings=settings
                )
            except ValidationFailed as exc:
                errors, form_error, status = exc.translated_errors(), exc.translated(), 422
            except SalaError as exc:
                form_error, status = exc.translated(), exc.status_code
            else:
                url = manage_url(outcome.registration, settings)
                return RedirectResponse(url.removeprefix(settings.base_url), status_code=303)
    context = _session_page_context(session, values, errors, form_error)
    context["series_dates"] = await services.public_series_dates(session)
    context["materials"] = await materials_for_session_page(session, datetime.now(UTC))
    return _unlisted(session, render(request, "events/session.html", context, status_code=status))


def _unlisted(session: Session, response: Response) -> Response:
    """Search engines leave invite-only pages (and their calendar files) out."""
    if session.is_invite_only:
        response.headers["x-robots-tag"] = "noindex, nofollow"
    return response


def _session_page_context(
    session: Session, values: dict[str, Any], errors: dict[str, str], form_error: str | None
) -> dict[str, Any]:
    return {
        "session": session,
        "window": registration_window(session),
        "values": values,
        "errors": errors,
        "form_error": form_error,
        "sectors": list(Sector),
        "reach_choices": REACH_CHOICES,
    }


@public
async def session_ics(request: Request) -> Response:
    return _session_calendar(
        request, await services.get_public_session(request.path_params["session_id"])
    )


@public
async def invited_session_ics(request: Request) -> Response:
    session = await services.get_session_by_slug(request.path_params["slug"])
    if not session.is_invite_only:
        return _moved(request, session.calendar_path)
    return _session_calendar(request, session)


def _session_calendar(request: Request, session: Session) -> Response:
    """A session's public calendar file: no online link (that goes to registrants only)."""
    settings = request.app.state.settings
    body = calendar_bytes([session], base_url=settings.base_url, name=session.title)
    response = Response(
        body,
        media_type=ICS_MEDIA_TYPE,
        headers={"content-disposition": 'attachment; filename="training.ics"'},
    )
    return _unlisted(session, response)


@public
async def calendar_feed(request: Request) -> Response:
    settings = request.app.state.settings
    sessions = await services.list_public_sessions(upcoming_only=False)
    body = calendar_bytes(sessions, base_url=settings.base_url, name=settings.organisation_name)
    return Response(body, media_type=ICS_MEDIA_TYPE, headers={"cache-control": "max-age=300"})


# ----------------------------------------------------------------------------- staff pages


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["facilitator_ids"] = form.getlist("facilitator_ids")
    return values


async def _form_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    topics = await services.list_topics(active_only=True)
    return {
        "values": values,
        "errors": errors,
        "topic_options": [(t.code, t.name) for t in topics],
        "staff": await StaffUser.filter(is_active=True),
        "audiences": list(Audience),
    }


async def _render_session_form(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    session: Session | None,
    later_count: int = 0,
) -> Response:
    context = await _form_context(values, errors)
    return render(
        request,
        "events/staff_session_form.html",
        {**context, "session": session, "later_count": later_count},
        status_code=422 if errors else 200,
    )


@staff_page()
async def staff_sessions(request: Request) -> Response:
    include_past = request.query_params.get("past") == "1"
    sessions = await services.list_sessions_for_staff(request.state.user, include_past=include_past)
    context = {
        "sessions": sessions,
        "agenda": services.agenda(sessions, zone=request.app.state.settings.tz),
        "include_past": include_past,
    }
    return render(request, "events/staff_sessions.html", context)


@staff_page()
async def staff_session(request: Request) -> Response:
    session = await services.get_session_for_staff(
        request.state.user, request.path_params["session_id"]
    )
    return render(
        request,
        "events/staff_session.html",
        {
            "session": session,
            "series_sessions": await services.series_sessions(session),
            "deletable": await services.is_deletable(session),
            "cancelled_now": request.query_params.get("cancelled"),
        },
    )


@staff_page(Role.ADMIN)
async def staff_session_new(request: Request) -> Response:
    settings = request.app.state.settings
    values: dict[str, Any] = {"timezone": settings.timezone, "capacity": "30", "audience": "public"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form_values(await read_form(request))
        try:
            data = await services.session_input(values, default_timezone=settings.timezone)
            session = await services.create_session(data, actor=request.state.user)
        except ValidationFailed as exc:
            errors = exc.translated_errors()
        else:
            url = request.url_for("staff:session", session_id=session.id)
            return RedirectResponse(url.path, status_code=303)
    return await _render_session_form(request, values, errors, session=None)


@staff_page(Role.ADMIN)
async def staff_session_edit(request: Request) -> Response:
    settings = request.app.state.settings
    session = await services.get_session_for_staff(
        request.state.user, request.path_params["session_id"]
    )
    values = session_values(session)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form_values(await read_form(request))
        try:
            data = await services.session_input(values, default_timezone=settings.timezone)
            if parse_scope(values) == SeriesScope.THIS_AND_LATER:
                await services.update_series_from(
                    session, data, actor=request.state.user, settings=settings
                )
            else:
                await services.update_session(
                    session, data, actor=request.state.user, settings=settings
                )
        except ValidationFailed as exc:
            errors = exc.translated_errors()
        else:
            url = request.url_for("staff:session", session_id=session.id)
            return RedirectResponse(url.path, status_code=303)
    later = await services.sessions_in_scope(session, SeriesScope.THIS_AND_LATER)
    return await _render_session_form(
        request, values, errors, session=session, later_count=len(later)
    )


def _status_action(action: str) -> Any:
    change = services.STATUS_ACTIONS[action]

    @staff_page(Role.ADMIN)
    async def endpoint(request: Request) -> Response:
        await read_form(request)
        session = await services.get_session_for_staff(
            request.state.user, request.path_params["session_id"]
        )
        await change(session, actor=request.state.user, settings=request.app.state.settings)
        url = request.url_for("staff:session", session_id=session.id)
        return RedirectResponse(url.path, status_code=303)

    endpoint.__name__ = f"staff_session_{action}"
    return endpoint


@staff_page(Role.ADMIN)
async def staff_session_cancel(request: Request) -> Response:
    """Cancelling asks first: how many people will be told, an optional message for them,
    and for a session of a series, whether the later ones go too."""
    settings = request.app.state.settings
    session = await services.get_session_for_staff(
        request.state.user, request.path_params["session_id"]
    )
    if session.status == SessionStatus.CANCELLED:
        raise SessionCancelled()
    values: dict[str, Any] = {"scope": SeriesScope.THIS.value, "message": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form_values(await read_form(request))
        try:
            cancellation = parse_cancellation(values)
            cancelled = await services.cancel_sessions(
                session, cancellation, actor=request.state.user, settings=settings
            )
        except ValidationFailed as exc:
            errors = exc.translated_errors()
        else:
            url = request.url_for("staff:session", session_id=session.id)
            return RedirectResponse(f"{url.path}?cancelled={len(cancelled)}", status_code=303)
    later = await services.sessions_in_scope(session, SeriesScope.THIS_AND_LATER)
    return render(
        request,
        "events/staff_session_cancel.html",
        {
            "session": session,
            "values": values,
            "errors": errors,
            "told_this": await services.people_to_tell([session.id]),
            "later": later,
            "told_later": await services.people_to_tell([s.id for s in later]),
        },
        status_code=422 if errors else 200,
    )


@staff_page(Role.ADMIN)
async def staff_session_delete(request: Request) -> Response:
    session = await services.get_session_for_staff(
        request.state.user, request.path_params["session_id"]
    )
    if request.method == "POST":
        await read_form(request)
        await services.delete_draft_session(session, actor=request.state.user)
        return RedirectResponse(
            f"{request.url_for('staff:sessions').path}?deleted=1", status_code=303
        )
    if not await services.is_deletable(session):
        raise SessionNotDeletable()
    return render(request, "events/staff_session_delete.html", {"session": session})


@staff_page(Role.ADMIN)
async def staff_series_new(request: Request) -> Response:
    """Two steps: the form shows the dates its rule makes; only the dates shown are created
    (changing a field after the preview shows the new dates first)."""
    settings = request.app.state.settings
    values: dict[str, Any] = {
        "timezone": settings.timezone,
        "capacity": "30",
        "audience": "public",
        "rrule": "FREQ=MONTHLY;BYDAY=1SA",
        "months": "6",
        "status": "draft",
    }
    errors: dict[str, str] = {}
    preview: SeriesPreview | None = None
    if request.method == "POST":
        values = _form_values(await read_form(request))
        try:
            data = await services.series_input(values, default_timezone=settings.timezone)
            preview = preview_series(data)
            if values.get("action") == "create" and values.get("dates") == _dates_shown(preview):
                _series, sessions = await services.create_series(data, actor=request.state.user)
                url = request.url_for("staff:sessions")
                return RedirectResponse(f"{url.path}?created={len(sessions)}", status_code=303)
        except ValidationFailed as exc:
            errors, preview = exc.translated_errors(), None
    context = await _form_context(values, errors)
    return render(
        request,
        "events/staff_series_form.html",
        {
            **context,
            "statuses": [SessionStatus.DRAFT, SessionStatus.PUBLISHED],
            "preview": preview,
            "dates_shown": _dates_shown(preview) if preview else "",
            "preview_stale": preview is not None and values.get("action") == "create",
        },
        status_code=422 if errors else 200,
    )


def _dates_shown(preview: SeriesPreview) -> str:
    return ",".join(start.astimezone(UTC).strftime("%Y%m%dT%H%M") for start in preview.starts)


@staff_page(Role.ADMIN)
async def staff_topics(request: Request) -> Response:
    return render(request, "events/staff_topics.html", {"topics": await services.list_topics()})


@staff_page(Role.ADMIN)
async def staff_topic_edit(request: Request) -> Response:
    topic = await services.get_topic(request.path_params["topic_id"])
    errors: dict[str, str] = {}
    values = {"name_en": topic.name_en, "name_km": topic.name_km, "is_active": topic.is_active}
    if request.method == "POST":
        form = await read_form(request)
        values = {
            "name_en": str(form.get("name_en", "")),
            "name_km": str(form.get("name_km", "")),
            "is_active": form.get("is_active") == "on",
        }
        try:
            await services.update_topic(
                topic,
                name_en=str(values["name_en"]),
                name_km=str(values["name_km"]),
                is_active=bool(values["is_active"]),
                actor=request.state.user,
            )
        except ValidationFailed as exc:
            errors = exc.translated_errors()
        else:
            return RedirectResponse(request.url_for("staff:topics").path, status_code=303)
    return render(
        request,
        "events/staff_topic_form.html",
        {"topic": topic, "values": values, "errors": errors, "title": gettext("Edit topic")},
        status_code=422 if errors else 200,
    )


routes = [
    Route("/", home, name="home"),
    # Session.public_path and .calendar_path give these paths; a test checks they agree.
    Route("/sessions/{session_id:int}", session_page, methods=["GET", "POST"], name="session"),
    Route("/sessions/{session_id:int}/calendar.ics", session_ics, name="session_ics"),
    Route(
        "/sessions/i/{slug}", invited_session_page, methods=["GET", "POST"], name="invited_session"
    ),
    Route("/sessions/i/{slug}/calendar.ics", invited_session_ics, name="invited_session_ics"),
    Route("/calendar.ics", calendar_feed, name="calendar_feed"),
    Route("/staff/sessions", staff_sessions, name="staff:sessions"),
    Route(
        "/staff/sessions/new", staff_session_new, methods=["GET", "POST"], name="staff:session_new"
    ),
    Route("/staff/sessions/{session_id:int}", staff_session, name="staff:session"),
    Route(
        "/staff/sessions/{session_id:int}/edit",
        staff_session_edit,
        methods=["GET", "POST"],
        name="staff:session_edit",
    ),
    *(
        Route(
            f"/staff/sessions/{{session_id:int}}/{action}",
            _status_action(action),
            methods=["POST"],
            name=f"staff:session_{action}",
        )
        for action in services.STATUS_ACTIONS
    ),
    Route(
        "/staff/sessions/{session_id:int}/cancel",
        staff_session_cancel,
        methods=["GET", "POST"],
        name="staff:session_cancel",
    ),
    Route(
        "/staff/sessions/{session_id:int}/delete",
        staff_session_delete,
        methods=["GET", "POST"],
        name="staff:session_delete",
    ),
    Route("/staff/series/new", staff_series_new, methods=["GET", "POST"], name="staff:series_new"),
    Route("/staff/topics", staff_topics, name="staff:topics"),
    Route(
        "/staff/topics/{topic_id:int}",
        staff_topic_edit,
        methods=["GET", "POST"],
        name="staff:topic_edit",
    ),
]
