"""Who may call which route: the one place that checks it.

Every endpoint is wrapped by exactly one of :func:`public`, :func:`staff_page` or
:func:`staff_api`; ``tests/sala/test_route_access.py`` walks the route table and fails on any
route that has none, and proves that every non-public route refuses an anonymous request.

Permissions on one object (a facilitator and *their* session) are checked by the service that
loads the object, e.g. ``events.services.get_session_for_staff``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Literal

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sala import accounts, logins, two_factor
from sala.csrf import header_matches
from sala.errors import NotAuthenticated, PermissionDenied
from sala.models import Role, StaffUser

Endpoint = Callable[[Request], Awaitable[Response]]
Access = Literal["public", "staff_page", "staff_api"]

SESSION_USER_KEY = "staff"


def access_of(endpoint: object) -> Access | None:
    return getattr(endpoint, "sala_access", None)


def public(endpoint: Endpoint) -> Endpoint:
    endpoint.sala_access = "public"  # type: ignore[attr-defined]
    return endpoint


def staff_page(*roles: Role, before_two_factor: bool = False) -> Callable[[Endpoint], Endpoint]:
    """An HTML staff page: no login redirects to the login page; a wrong role is a 403.

    Where admins need two-factor sign-in, an admin without it is sent to set it up first;
    ``before_two_factor`` marks the pages that stay open to them (the set-up page, logout).
    """

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            user = await user_from_login(request)
            if user is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                login = request.url_for("staff:login").include_query_params(next=target)
                return RedirectResponse(str(login.path) + "?" + login.query, status_code=303)
            # Known before the role is checked: the 403 page links a staff member home.
            request.state.user = user
            if not before_two_factor and await two_factor.must_set_up(user):
                setup = request.url_for("staff:two_factor").path
                return RedirectResponse(setup, status_code=303)
            _check_role(user, roles)
            return await endpoint(request)

        wrapper.sala_access = "staff_page"  # type: ignore[attr-defined]
        return wrapper

    return decorate


def staff_api(*roles: Role) -> Callable[[Endpoint], Endpoint]:
    """A JSON staff route: needs ``Authorization: Bearer <token>``, or the login cookie with
    the CSRF token in ``X-CSRF-Token`` (our own pages' scripts); 401 without, 403 wrong role."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            user = await user_from_token(request)
            if user is None and "authorization" not in request.headers and header_matches(request):
                user = await user_from_login(request)
                if user is not None and await two_factor.must_set_up(user):
                    raise two_factor.TwoFactorRequired()
            if user is None:
                raise NotAuthenticated()
            _check_role(user, roles)
            request.state.user = user
            return await endpoint(request)

        wrapper.sala_access = "staff_api"  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _check_role(user: StaffUser, roles: tuple[Role, ...]) -> None:
    if roles and user.role not in roles:
        raise PermissionDenied()


async def user_from_login(request: Request) -> StaffUser | None:
    """The staff member of this browser session, if their login is still open
    (``request.state.login_id`` is then its id)."""
    data = request.session.get(SESSION_USER_KEY)
    if not isinstance(data, dict):
        return None
    found = await logins.user_of_login(data.get("id"), data.get("key"))
    if found is None:
        request.session.pop(SESSION_USER_KEY, None)
        return None
    user, login = found
    request.state.login_id = login.id
    return user


async def user_from_token(request: Request) -> StaffUser | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return await accounts.user_for_token(token.strip())


async def log_in(request: Request, user: StaffUser) -> None:
    # A fresh session on login: nothing from before the login survives (session fixation),
    # and a login this browser held before (another account's) ends.
    await log_out(request)
    login_id, key = await logins.start_login(user, user_agent=request.headers.get("user-agent", ""))
    request.session[SESSION_USER_KEY] = {"id": login_id, "key": key}
    request.state.login_id = login_id


async def log_out(request: Request) -> None:
    data = request.session.get(SESSION_USER_KEY)
    if isinstance(data, dict):
        await logins.end_login(data.get("id"))
    request.session.clear()


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
