"""HTML routes of the door scanner.

staff    /staff/checkin/                       pick a session
         /staff/checkin/{id}                   the scanner (camera, search, walk-ins)
         /staff/checkin/sw.js                  its service worker (offline), public
         /staff/checkin/manifest.webmanifest   its install manifest (PWA), public
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attendees.models import Sector
from events.models import SessionStatus
from events.services import agenda, get_session_for_staff, list_sessions_for_staff
from learning.attempts import has_post_test
from sala.csrf import csrf_token
from sala.i18n import gettext
from sala.models import Role
from sala.permissions import public, staff_page
from sala.responses import PRIVATE_HEADERS
from sala.static_files import WEB_FONT, static_path, static_version
from sala.templating import render, templates

# What the service worker keeps for offline use, besides the scanner page itself.
SCANNER_ASSETS = (
    "js/checkin/scanner.js",
    "js/checkin/tickets.js",
    "js/checkin/store.js",
    "js/checkin/names.js",
    "vendor/jsqr/jsQR.js",
    "css/sala.css",
    "img/icon.svg",
)


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def scanner_sessions(request: Request) -> Response:
    sessions = [
        session
        for session in await list_sessions_for_staff(request.state.user)
        if session.status == SessionStatus.PUBLISHED
    ]
    context = {
        "sessions": sessions,
        "agenda": agenda(sessions, zone=request.app.state.settings.tz),
    }
    return render(request, "checkin/sessions.html", context)


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def scanner(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    settings = request.app.state.settings
    session_id = session.id
    config = {
        "session_id": session_id,
        "csrf_token": csrf_token(request),
        "staff_name": request.state.user.name,
        "language": request.state.language,
        "timezone": session.timezone,
        "urls": {
            "checkin_list": str(request.url_for("api:checkin_list", session_id=session_id).path),
            "checkins": str(request.url_for("api:checkins").path),
            "undo": str(request.url_for("api:undo_checkin", registration_id=0).path),
            "walk_in": str(request.url_for("api:walk_in", session_id=session_id).path),
            "service_worker": str(request.url_for("staff:scanner_worker").path),
            "login": str(request.url_for("staff:login").path) + "?next=" + request.url.path,
        },
        "strings": _scanner_strings(),
        "base_url": settings.base_url,
    }
    return render(
        request,
        "checkin/scanner.html",
        {
            "session": session,
            "config": config,
            "sectors": list(Sector),
            "has_post_test": await has_post_test(session_id),
        },
        headers=PRIVATE_HEADERS,
    )


def _scanner_strings() -> dict[str, str]:
    """The scanner's words, in the page's language, for its script."""
    return {
        "welcome": gettext("Welcome, {name}"),
        "checked_in": gettext("Checked in"),
        "already": gettext("Already checked in"),
        "already_at": gettext("Already checked in at {time} by {staff}"),
        "already_at_no_staff": gettext("Already checked in at {time}"),
        "invalid": gettext("Not a valid ticket"),
        "wrong_session": gettext("This ticket is for another session"),
        "cancelled": gettext("This registration was cancelled"),
        "waitlisted": gettext("On the waiting list, not confirmed"),
        "revoked": gettext("This ticket was replaced by a newer one"),
        "offline_saved": gettext("Saved on this phone; sent when the network is back."),
        "online": gettext("Online"),
        "offline": gettext("Offline"),
        "queue": gettext("Waiting to send: {count}"),
        "synced": gettext("Sent {count} scans from this phone."),
        "sync_conflicts": gettext("{count} of them were already checked in on another phone."),
        "sync_refused": gettext("{count} could not be read by the server and were dropped."),
        "login_again": gettext("Your login has expired. Log in again to send the waiting scans."),
        "forbidden": gettext("You are not a facilitator of this session."),
        "server_error": gettext("The server could not answer. Try again."),
        "camera_denied": gettext("The camera could not be opened. Allow it, or search by name."),
        "camera_missing": gettext("This browser cannot open the camera. Search by name instead."),
        "no_list": gettext("The check-in list is not on this phone yet. Connect once to get it."),
        "check_in": gettext("Check in"),
        "undo": gettext("Undo"),
        "undone": gettext("Check-in of {name} taken back."),
        "needs_network": gettext("This needs the network."),
        "no_match": gettext("Nobody with that name."),
        "status_confirmed": gettext("Confirmed"),
        "status_waitlisted": gettext("Waiting list"),
        "status_checked_in": gettext("Checked in at {time}"),
        "walk_in_waitlisted": gettext("No seat left: {name} is on the waiting list."),
    }


@public
async def scanner_worker(request: Request) -> Response:
    """The scanner's service worker. Served from ``/staff/checkin/`` so that its scope is
    the scanner and nothing else of the site."""
    # Versioned addresses (sala/static_files.py): the version changes whenever a static
    # file changes, so phones drop their old copies. The font is the one the CSS asks for.
    assets = [static_path(path) for path in (*SCANNER_ASSETS, WEB_FONT)]
    body = templates.get_template("checkin/sw.js").render(
        cache_name=f"sala-checkin-{static_version()}", assets=json.dumps(assets)
    )
    return Response(
        body,
        media_type="text/javascript",
        headers={"cache-control": "no-cache", "service-worker-allowed": "/staff/checkin/"},
    )


# PNG icons for install prompts (drawn from img/icon.svg); "maskable" has a safe margin.
_INSTALL_ICONS = (
    ("icon-192", "192x192", "any"),
    ("icon-512", "512x512", "any"),
    ("icon-maskable-512", "512x512", "maskable"),
)


@public
async def scanner_manifest(request: Request) -> Response:
    scope = str(request.url_for("staff:scanner_sessions").path)
    return JSONResponse(
        {
            "name": gettext("Sala check-in"),
            "short_name": gettext("Check-in"),
            "lang": request.state.language,
            "start_url": scope,
            "scope": scope,
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#fffdf8",
            "theme_color": "#6b2fa0",
            "icons": [
                {
                    "src": static_path("img/icon.svg"),
                    "sizes": "any",
                    "type": "image/svg+xml",
                    "purpose": "any",
                },
                *[
                    {
                        "src": static_path(f"img/{name}.png"),
                        "sizes": size,
                        "type": "image/png",
                        "purpose": purpose,
                    }
                    for name, size, purpose in _INSTALL_ICONS
                ],
            ],
        },
        media_type="application/manifest+json",
        headers={"cache-control": "no-cache"},
    )


routes = [
    Route("/staff/checkin/", scanner_sessions, name="staff:scanner_sessions"),
    Route("/staff/checkin/sw.js", scanner_worker, name="staff:scanner_worker"),
    Route("/staff/checkin/manifest.webmanifest", scanner_manifest, name="staff:scanner_manifest"),
    Route("/staff/checkin/{session_id:int}", scanner, name="staff:scanner"),
]
