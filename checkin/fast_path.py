"""The door's short way through the app: ``POST /api/v1/checkins`` with a bearer token.

A door phone or a scanning tool sends one request per scan, so every layer a scan passes
through is paid thousands of times a minute. This pure-ASGI layer sits right inside
``SecurityHeadersMiddleware`` and sends exactly these requests straight to the route's own
endpoint (``checkin.api.create_checkins``, with its ``staff_api`` check), past the layers
that have nothing to do for them:

- ``CompressionMiddleware``: a single scan's answer is under its 1 KB threshold, so it was
  never compressed; a batch sent with a bearer token (a tool's, not the scanner page's,
  which uses the login cookie and goes the whole way) is answered uncompressed, a few KB more.
- ``SessionMiddleware``: only requests that carry an ``Authorization`` header come this way,
  and ``staff_api`` never reads the login cookie when that header is there (a wrong token is a
  401, not a cookie login). A browser's cookie call, with or without its CSRF header, goes the
  whole way, where the session and the CSRF check are.
- the router: the path is compared exactly, and no route before it matches that path.

What stays, in the same order: the security headers (the layer outside this one), the
language (``LanguageMiddleware`` itself wraps the endpoint: ``Accept-Language`` and the
language cookie choose the words of an error; a ``?lang=`` query, which may set the cookie,
goes the whole way), the bearer token and role (``staff_api``), the session's facilitators
(``check_in``'s first step), the JSON reader's limits, and the error handlers: SalaErrors
and HTTP errors by the app's own handlers (Starlette's ``ExceptionMiddleware``), anything
else by the app's server-error handler, which sits outside every layer.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from checkin.api import create_checkins, routes
from sala.i18n import LanguageMiddleware

# The route itself, as the route table has it (its path, name and endpoint).
_ROUTE = next(
    route for route in routes if isinstance(route, Route) and route.name == "api:checkins"
)
PATH = _ROUTE.path
if _ROUTE.endpoint is not create_checkins or _ROUTE.methods != {"POST"}:
    raise RuntimeError("api:checkins is no longer create_checkins for POST: see this module")


class CheckinFastPath:
    """Bearer-token check-ins go straight to their endpoint; every other request, ``app``.

    Errors are answered by the app's own exception handlers (``scope["app"]``), those for
    ``Exception`` and 500 left to its outermost layer, as Starlette does.
    """

    def __init__(self, app: ASGIApp, *, default_language: str, secure_cookie: bool) -> None:
        self.app = app
        self.default_language = default_language
        self.secure_cookie = secure_cookie
        self._door: ASGIApp | None = None

    def _door_for(self, starlette_app: Any) -> ASGIApp:
        handlers = {
            key: handler
            for key, handler in starlette_app.exception_handlers.items()
            if key not in (500, Exception)
        }
        return LanguageMiddleware(
            ExceptionMiddleware(request_response(create_checkins), handlers=handlers),
            default_language=self.default_language,
            secure_cookie=self.secure_cookie,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "POST"
            and not scope.get("query_string")
            and not scope.get("root_path")
            and _has_authorization(scope["headers"])
        ):
            if self._door is None:
                self._door = self._door_for(scope["app"])
            # What the router would have set.
            scope["endpoint"] = create_checkins
            scope["path_params"] = {}
            scope["route"] = _ROUTE
            await self._door(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_authorization(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"authorization" for name, _value in headers)
