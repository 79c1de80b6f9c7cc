"""HTML routes of the shell: staff login and logout, staff accounts.

/staff/login, /staff/logout          everyone / staff (POST)
/staff/login/code                    the second step of a two-factor sign-in
/staff/                              staff home: team leaders their team(s), others their sessions
/staff/users, /staff/users/new       staff accounts, the two-factor rule for admins (admin)
/staff/users/{id}                    edit, deactivate; their tokens, their two-factor (admin)
/staff/users/{id}/password           reset a password (admin)
/staff/outbox                        the mail outbox (admin)

One's own account (password, two-factor, tokens, logins) and a forgotten password are in
sala/account_pages.py.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from curricula.services import list_teams_for_staff
from sala import accounts, two_factor
from sala.csrf import read_form
from sala.errors import Conflict, NotFound, ValidationFailed
from sala.forms import fold_email, parse_id
from sala.i18n import N_, gettext
from sala.links import mask_links
from sala.logins import (
    KNOWN_DEVICE_COOKIE,
    KNOWN_DEVICE_DAYS,
    LoginLimits,
    LoginThrottled,
    is_known_device,
    known_device_cookie,
)
from sala.mail import MessageObsolete, compose
from sala.models import OutboxMessage, OutboxStatus, Role, StaffUser
from sala.permissions import log_in, log_out, public, safe_next, staff_page, user_from_login
from sala.ratelimit import RateLimiter, client_ip
from sala.templating import render

# Between the password and the code of a two-factor sign-in: the password step is forgotten
# after this long, or after this many wrong codes.
CODE_STEP_SECONDS = 300
CODE_STEP_TRIES = 5
_PENDING_KEY = "pending_login"
# The codes tried after one right password, counted by that password step's random id here,
# on the server: the ``tries`` in the browser's cookie alone would start again at 0 each time
# a guesser sent the cookie from right after the password. Per process, like every limit.
_CODE_TRIES = RateLimiter(limit=CODE_STEP_TRIES, window_seconds=CODE_STEP_SECONDS)


def _throttled(
    request: Request, template: str, context: dict[str, Any], exc: LoginThrottled
) -> Response:
    return render(
        request,
        template,
        {**context, "error": exc.translated()},
        status_code=429,
        headers={"retry-after": str(exc.seconds)},
    )


async def _logged_in(request: Request, user: StaffUser, email: str, next_url: str) -> Response:
    """Open the login, and mark this browser as one this account logs in from."""
    limits: LoginLimits = request.app.state.login_limits
    limits.succeeded(email)
    await log_in(request, user)
    response = RedirectResponse(next_url, status_code=303)
    settings = request.app.state.settings
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        known_device_cookie(settings.secret_key, email),
        max_age=KNOWN_DEVICE_DAYS * 86400,
        path=request.url_for("staff:login").path,
        httponly=True,
        samesite="lax",
        secure=settings.https,
    )
    return response


def _check_limits(request: Request, email: str) -> None:
    limits: LoginLimits = request.app.state.login_limits
    settings = request.app.state.settings
    known = is_known_device(settings.secret_key, request.cookies.get(KNOWN_DEVICE_COOKIE), email)
    limits.check(address=client_ip(request), account=email, known_device=known)


@public
async def login(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"), request.url_for("staff:home").path)
    if request.method == "GET":
        if await user_from_login(request) is not None:
            return RedirectResponse(next_url, status_code=303)
        return render(request, "staff/login.html", {"email": "", "error": None, "next": next_url})
    form = await read_form(request)
    email = fold_email(str(form.get("email", "")))[:254]
    password = str(form.get("password", ""))[:1024]
    next_url = safe_next(str(form.get("next", "")), next_url)
    context = {"email": email, "next": next_url}
    try:
        _check_limits(request, email)
    except LoginThrottled as exc:
        return _throttled(request, "staff/login.html", context, exc)
    user = await accounts.authenticate(email, password)
    if user is None:
        request.app.state.login_limits.failed(email)
        error = gettext(N_("Wrong email or password."))
        return render(request, "staff/login.html", {**context, "error": error}, status_code=401)
    if user.has_two_factor:
        await log_out(request)  # whoever was logged in here before is no longer
        request.session[_PENDING_KEY] = {
            "id": user.id,
            "at": int(time.time()),
            "next": next_url,
            "tries": 0,
            "step": secrets.token_urlsafe(16),
        }
        return RedirectResponse(request.url_for("staff:login_code").path, status_code=303)
    return await _logged_in(request, user, email, next_url)


@public
async def login_code(request: Request) -> Response:
    """The code from the authenticator app (or a recovery code), after the right password."""
    form = await read_form(request) if request.method == "POST" else None
    stored = request.session.get(_PENDING_KEY)
    pending: dict[str, Any] = stored if isinstance(stored, dict) else {}
    fresh = int(pending.get("at", 0)) > time.time() - CODE_STEP_SECONDS
    user_id = parse_id(pending.get("id"))
    user = await StaffUser.get_or_none(id=user_id, is_active=True) if fresh and user_id else None
    if user is None or not user.has_two_factor:
        request.session.pop(_PENDING_KEY, None)
        return RedirectResponse(request.url_for("staff:login").path, status_code=303)
    if form is None:
        return render(request, "staff/login_code.html", {"error": None})
    try:
        _check_limits(request, user.email)
    except LoginThrottled as exc:
        return _throttled(request, "staff/login_code.html", {}, exc)
    step = pending.get("step")
    if not isinstance(step, str) or not _CODE_TRIES.hit(f"step:{step}"):
        request.session.pop(_PENDING_KEY, None)
        return RedirectResponse(request.url_for("staff:login").path, status_code=303)
    if await two_factor.code_is_right(user, str(form.get("code", ""))[:40]):
        request.session.pop(_PENDING_KEY, None)
        return await _logged_in(request, user, user.email, str(pending.get("next", "/staff/")))
    request.app.state.login_limits.failed(user.email)
    pending["tries"] = int(pending.get("tries", 0)) + 1
    if pending["tries"] >= CODE_STEP_TRIES:
        request.session.pop(_PENDING_KEY, None)
    else:
        request.session[_PENDING_KEY] = pending
    error = gettext(N_("This code is not right. Type the newest code, or a recovery code."))
    return render(request, "staff/login_code.html", {"error": error}, status_code=401)


@staff_page(before_two_factor=True)
async def logout(request: Request) -> Response:
    await read_form(request)
    await log_out(request)
    response = RedirectResponse(request.url_for("staff:login").path, status_code=303)
    # The scanner's copies of its pages go too; its queue of unsent scans stays (storage).
    response.headers["clear-site-data"] = '"cache"'
    # The door scanner's "logged in" marker: without it no stored name is shown again.
    response.delete_cookie("sala_scanner", path="/staff/checkin/")
    return response


@staff_page()
async def staff_home(request: Request) -> Response:
    """Where a login lands: a team leader on their team (the list if they lead several or
    none), everyone else on their sessions."""
    user: StaffUser = request.state.user
    if user.role == Role.TEAM_LEADER:
        teams = await list_teams_for_staff(user)
        if len(teams) == 1:
            return RedirectResponse(request.url_for("staff:team", team_id=teams[0].id).path, 303)
        return RedirectResponse(request.url_for("staff:teams").path, status_code=303)
    return RedirectResponse(request.url_for("staff:sessions").path, status_code=303)


@staff_page(Role.ADMIN)
async def users(request: Request) -> Response:
    user: StaffUser = request.state.user
    error = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        try:
            await two_factor.set_admins_need_two_factor(
                form.get("admins_need_two_factor") == "on", actor=user
            )
        except Conflict as exc:
            error, status = exc.translated(), 409
        else:
            return RedirectResponse(request.url_for("staff:users").path, status_code=303)
    context = {
        "users": await StaffUser.all(),
        "admins_need_two_factor": await two_factor.admins_need_two_factor(),
        "policy_error": error,
    }
    return render(request, "staff/users.html", context, status_code=status)


@staff_page(Role.ADMIN)
async def user_new(request: Request) -> Response:
    values = {"email": "", "name": "", "role": Role.FACILITATOR.value}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await read_form(request)
        values = {k: str(form.get(k, "")) for k in ("email", "name", "role")}
        role = values["role"] if values["role"] in tuple(Role) else Role.FACILITATOR
        try:
            await accounts.create_staff(
                email=values["email"],
                name=values["name"],
                role=Role(role),
                password=str(form.get("password", "")),
                actor=request.state.user,
            )
        except ValidationFailed as exc:
            errors = exc.translated_errors()
        else:
            return RedirectResponse(request.url_for("staff:users").path, status_code=303)
    return render(
        request,
        "staff/user_form.html",
        {"values": values, "errors": errors, "roles": list(Role), "account": None},
        status_code=422 if errors else 200,
    )


@staff_page(Role.ADMIN)
async def user_edit(request: Request) -> Response:
    account = await accounts.get_staff(request.path_params["user_id"])
    values = {"name": account.name, "role": account.role.value, "is_active": account.is_active}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        role = str(form.get("role", ""))
        values = {
            "name": str(form.get("name", "")),
            "role": role,
            "is_active": form.get("is_active") == "on",
        }
        try:
            await accounts.update_staff(
                account,
                name=str(values["name"]),
                role=Role(role) if role in tuple(Role) else account.role,
                is_active=bool(values["is_active"]),
                actor=request.state.user,
            )
        except ValidationFailed as exc:
            errors, status = exc.translated_errors(), 422
        except Conflict as exc:
            errors, status = {"role": exc.translated()}, 409
        else:
            return RedirectResponse(request.url_for("staff:users").path, status_code=303)
    return await _account_page(request, account, values, errors, status)


async def _account_page(
    request: Request,
    account: StaffUser,
    values: Mapping[str, object],
    errors: dict[str, str],
    status: int,
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "roles": list(Role),
        "account": account,
        "tokens": await accounts.list_api_tokens(account),
    }
    return render(
        request,
        "staff/user_form.html",
        context,
        status_code=status,
        headers={"cache-control": "no-store"},
    )


@staff_page(Role.ADMIN)
async def user_tokens_revoke(request: Request) -> Response:
    """One token of the account (``token_id``), or all of them."""
    account = await accounts.get_staff(request.path_params["user_id"])
    form = await read_form(request)
    token_id = parse_id(form.get("token_id")) if form.get("token_id") else None
    if form.get("token_id") and token_id is None:
        raise NotFound()
    await accounts.revoke_api_tokens(account, actor=request.state.user, token_id=token_id)
    target = request.url_for("staff:user_edit", user_id=account.id).path + "?revoked=1"
    return RedirectResponse(target, status_code=303)


@staff_page(Role.ADMIN)
async def user_two_factor_off(request: Request) -> Response:
    """For someone who lost both their phone and their recovery codes."""
    account = await accounts.get_staff(request.path_params["user_id"])
    await read_form(request)
    await two_factor.turn_off(account, actor=request.state.user)
    target = request.url_for("staff:user_edit", user_id=account.id).path + "?two_factor_off=1"
    return RedirectResponse(target, status_code=303)


@staff_page(Role.ADMIN)
async def user_password(request: Request) -> Response:
    account = await accounts.get_staff(request.path_params["user_id"])
    form = await read_form(request)
    try:
        await accounts.reset_password(
            account, password=str(form.get("password", "")), actor=request.state.user
        )
    except ValidationFailed as exc:
        values = {"name": account.name, "role": account.role.value, "is_active": account.is_active}
        return await _account_page(request, account, values, exc.translated_errors(), 422)
    return RedirectResponse(request.url_for("staff:users").path + "?reset=1", status_code=303)


@staff_page(Role.ADMIN)
async def outbox(request: Request) -> Response:
    status = request.query_params.get("status")
    query = OutboxMessage.all()
    if status in tuple(OutboxStatus):
        query = query.filter(status=status)
    messages = await query.order_by("-id").limit(200)
    counts = {s.value: await OutboxMessage.filter(status=s).count() for s in OutboxStatus}
    context = {
        "messages": messages,
        "counts": counts,
        "selected": status,
        "kind_names": request.app.state.mail_kind_names,
    }
    return render(request, "staff/outbox.html", context, headers={"cache-control": "no-store"})


@staff_page(Role.ADMIN)
async def outbox_message(request: Request) -> Response:
    message = await OutboxMessage.get_or_none(id=request.path_params["message_id"])
    if message is None:
        raise NotFound()
    settings = request.app.state.settings
    try:
        content = await compose(request.app.state.mail_composers, message, settings)
    except MessageObsolete:
        content = None
    context = {
        "message": message,
        "subject": content.subject if content else None,
        # What the email says, not the keys it hands its recipient (their manage link…).
        "text": mask_links(content.text, settings.base_url) if content else None,
        "kind_names": request.app.state.mail_kind_names,
    }
    return render(
        request, "staff/outbox_message.html", context, headers={"cache-control": "no-store"}
    )


routes = [
    Route("/staff/login", login, methods=["GET", "POST"], name="staff:login"),
    Route("/staff/login/code", login_code, methods=["GET", "POST"], name="staff:login_code"),
    Route("/staff/logout", logout, methods=["POST"], name="staff:logout"),
    Route("/staff/", staff_home, name="staff:home"),
    Route("/staff/users", users, methods=["GET", "POST"], name="staff:users"),
    Route("/staff/users/new", user_new, methods=["GET", "POST"], name="staff:user_new"),
    Route("/staff/users/{user_id:int}", user_edit, methods=["GET", "POST"], name="staff:user_edit"),
    Route("/staff/outbox", outbox, name="staff:outbox"),
    Route("/staff/outbox/{message_id:int}", outbox_message, name="staff:outbox_message"),
    Route(
        "/staff/users/{user_id:int}/password",
        user_password,
        methods=["POST"],
        name="staff:user_password",
    ),
    Route(
        "/staff/users/{user_id:int}/tokens/revoke",
        user_tokens_revoke,
        methods=["POST"],
        name="staff:user_tokens_revoke",
    ),
    Route(
        "/staff/users/{user_id:int}/two-factor/off",
        user_two_factor_off,
        methods=["POST"],
        name="staff:user_two_factor_off",
    ),
]
