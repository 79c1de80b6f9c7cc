"""Turning errors into answers: one handler for every :class:`SalaError`, HTML or JSON."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sala.errorlog import log_error
from sala.errors import NotAuthenticated, NotFound, SalaError, ValidationFailed
from sala.i18n import N_, gettext
from sala.templating import render

log = logging.getLogger("sala")

# For pages and files with personal data: never stored by a cache, never indexed.
PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex"}

_HTTP_MESSAGES = {
    404: N_("We could not find this page."),
    405: N_("This action is not allowed here."),
    413: N_("What you sent is too large."),
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_json(status_code: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code)


async def sala_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SalaError)
    if wants_json(request):
        extra = {"fields": exc.translated_errors()} if isinstance(exc, ValidationFailed) else {}
        response = error_json(exc.status_code, exc.code, exc.translated(), **extra)
        if isinstance(exc, NotAuthenticated):
            response.headers["www-authenticate"] = "Bearer"
        return response
    if isinstance(exc, NotAuthenticated):
        return RedirectResponse(request.url_for("staff:login").path, status_code=303)
    return render(
        request,
        "error.html",
        {"status": exc.status_code, "code": exc.code, "message": exc.translated()},
        status_code=exc.status_code,
    )


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = gettext(
        _HTTP_MESSAGES.get(exc.status_code, N_("The request could not be completed."))
    )
    code = NotFound.code if exc.status_code == 404 else f"http_{exc.status_code}"
    if wants_json(request):
        return error_json(exc.status_code, code, message)
    return render(
        request,
        "error.html",
        {"status": exc.status_code, "code": code, "message": message},
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def server_error_handler(request: Request, exc: Exception) -> Response:
    # The route's pattern, not the path (a manage link's path is its token), never the query
    # or the body: they may hold personal data.
    route = getattr(request.scope.get("route"), "path", "(no route)")
    log_error(log, exc, "unhandled error on %s %s", request.method, route)
    message = gettext(N_("Something went wrong on our side. Please try again."))
    if wants_json(request):
        return error_json(500, "server_error", message)
    return render(
        request,
        "error.html",
        {"status": 500, "code": "server_error", "message": message},
        status_code=500,
    )
