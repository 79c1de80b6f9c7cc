"""HTML routes of one's own staff account, and of a forgotten password.

/staff/account                       password, and the list of one's logins
/staff/account/logins/end            end one login, or every other one (POST)
/staff/account/two-factor            set up, turn off, new recovery codes
/staff/account/tokens                one's API tokens: list, make one, revoke
/staff/password/forgot               ask for a reset link by email (anyone)
/staff/password/reset/{token}        set a new password with that link (anyone holding it)
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sala import accounts, logins, password_reset, two_factor
from sala.csrf import read_form
from sala.errors import Conflict, NotFound, RateLimited, ValidationFailed
from sala.forms import parse_id
from sala.i18n import N_, current_language, gettext
from sala.logins import LoginLimits, LoginThrottled
from sala.models import StaffUser
from sala.permissions import log_out, public, staff_page
from sala.qrcodes import qr_png
from sala.ratelimit import RateLimiter, client_ip
from sala.templating import render

PRIVATE: dict[str, str] = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


def _current_login(request: Request) -> int | None:
    return getattr(request.state, "login_id", None)


async def _password_confirms(request: Request, user: StaffUser, password: str) -> bool:
    """One's own password, before a sensitive change. Tried at most as often as a login from
    one address (five a minute), but counted per account: someone holding a copied login
    cookie cannot guess the password behind it from many addresses."""
    limits: LoginLimits = request.app.state.login_limits
    if not limits.per_address_account.hit(f"confirm:{user.id}"):
        raise LoginThrottled(60)
    return await accounts.password_is_right(user, password[:1024])


# ----------------------------------------------------------------------------- password, logins


@staff_page()
async def account(request: Request) -> Response:
    user: StaffUser = request.state.user
    errors: dict[str, str] = {}
    saved = False
    if request.method == "POST":
        form = await read_form(request)
        if not await _password_confirms(request, user, str(form.get("current_password", ""))):
            errors["current_password"] = gettext("Wrong password.")
        else:
            try:
                await accounts.reset_password(
                    user,
                    password=str(form.get("password", "")),
                    actor=user,
                    keep_login=_current_login(request),
                )
            except ValidationFailed as exc:
                errors = exc.translated_errors()
            else:
                saved = True
    context = {
        "errors": errors,
        "saved": saved,
        "logins": await logins.open_logins(user),
        "current_login": _current_login(request),
        "ended": request.query_params.get("ended"),
    }
    return render(request, "staff/account.html", context, status_code=422 if errors else 200)


@staff_page()
async def logins_end(request: Request) -> Response:
    """``login_id``: that login of one's own; ``others``: every login but this one."""
    user: StaffUser = request.state.user
    form = await read_form(request)
    current = _current_login(request)
    if form.get("others"):
        await logins.end_all_logins(user, keep=current)
    else:
        login_id = parse_id(form.get("login_id"))
        if login_id is None:
            raise NotFound()
        ended = await logins.end_own_login(user, login_id)
        if not ended:
            raise NotFound()
        if login_id == current:
            await log_out(request)
            return RedirectResponse(request.url_for("staff:login").path, status_code=303)
    return RedirectResponse(request.url_for("staff:account").path + "?ended=1", status_code=303)


# ----------------------------------------------------------------------------- two-factor


def _qr_data_uri(text: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(text, box_size=6)).decode()


async def _two_factor_page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    codes: list[str] | None = None,
    status: int = 200,
) -> Response:
    user: StaffUser = request.state.user
    context: dict[str, object] = {
        "errors": errors or {},
        "codes": codes,
        "required": await two_factor.must_set_up(user),
        "policy_on": await two_factor.admins_need_two_factor(),
    }
    if user.has_two_factor:
        context["codes_left"] = await two_factor.recovery_codes_left(user)
    else:
        secret = await two_factor.pending_secret(user)
        context["qr"] = _qr_data_uri(two_factor.provisioning_uri(user, secret))
        context["secret"] = two_factor.readable_secret(secret)
    return render(request, "staff/two_factor.html", context, status_code=status, headers=PRIVATE)


@staff_page(before_two_factor=True)
async def two_factor_page(request: Request) -> Response:
    """Set-up (QR and the secret as text, then a code); once on, new codes or turning off."""
    user: StaffUser = request.state.user
    if request.method == "GET":
        return await _two_factor_page(request)
    form = await read_form(request)
    action = form.get("action")
    if action == "on":
        try:
            codes = await two_factor.turn_on(user, str(form.get("code", ""))[:40])
        except ValidationFailed as exc:
            return await _two_factor_page(request, errors=exc.translated_errors(), status=422)
        return await _two_factor_page(request, codes=codes)
    if action not in ("codes", "off"):
        raise NotFound()
    if not await _password_confirms(request, user, str(form.get("password", ""))):
        errors = {"password": gettext("Wrong password.")}
        return await _two_factor_page(request, errors=errors, status=422)
    if action == "codes":
        return await _two_factor_page(request, codes=await two_factor.new_recovery_codes(user))
    try:
        await two_factor.turn_off(user, actor=user)
    except Conflict as exc:
        return await _two_factor_page(request, errors={"password": exc.translated()}, status=409)
    return RedirectResponse(request.url_for("staff:two_factor").path, status_code=303)


# ----------------------------------------------------------------------------- API tokens


@staff_page()
async def tokens(request: Request) -> Response:
    """One's own tokens (label, made, last used); a new one is shown once, on this answer."""
    user: StaffUser = request.state.user
    new_token = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await read_form(request)
        label = str(form.get("label", "")).strip()
        if not label or len(label) > 100:
            errors["label"] = gettext(N_("Give the token a name of at most 100 characters."))
        else:
            new_token = await accounts.create_api_token(user, label=label)
    context = {
        "tokens": await accounts.list_api_tokens(user),
        "new_token": new_token,
        "errors": errors,
        "revoked": request.query_params.get("revoked"),
    }
    return render(
        request, "staff/tokens.html", context, status_code=422 if errors else 200, headers=PRIVATE
    )


@staff_page()
async def tokens_revoke(request: Request) -> Response:
    form = await read_form(request)
    raw = form.get("token_id")
    token_id = parse_id(raw) if raw else None
    if raw and token_id is None:
        raise NotFound()
    await accounts.revoke_api_tokens(
        request.state.user, actor=request.state.user, token_id=token_id
    )
    return RedirectResponse(request.url_for("staff:tokens").path + "?revoked=1", status_code=303)


# ----------------------------------------------------------------------------- forgotten password


@public
async def password_forgot(request: Request) -> Response:
    """The same answer whether or not the email has an account."""
    if request.method == "GET":
        return render(request, "staff/password_forgot.html", {"sent": False, "email": ""})
    form = await read_form(request)
    email = str(form.get("email", ""))[:254]
    limiter: RateLimiter = request.app.state.password_reset_limiter
    if not limiter.hit(f"ip:{client_ip(request)}"):
        raise RateLimited()
    await password_reset.request_reset(
        email, language=current_language.get(), settings=request.app.state.settings
    )
    return render(request, "staff/password_forgot.html", {"sent": True, "email": email})


@public
async def password_reset_page(request: Request) -> Response:
    settings = request.app.state.settings
    token = request.path_params["token"]
    try:
        user = await password_reset.user_for_token(token, settings)
    except password_reset.ResetLinkInvalid as exc:
        invalid = {"invalid": exc.translated(), "errors": {}}
        return render(
            request, "staff/password_reset.html", invalid, status_code=410, headers=PRIVATE
        )
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await read_form(request)
        password = str(form.get("password", ""))[:1024]
        if password != str(form.get("password_again", ""))[:1024]:
            errors["password_again"] = gettext(N_("The two passwords are not the same."))
        else:
            try:
                await password_reset.reset_with_token(token, password=password, settings=settings)
            except ValidationFailed as exc:
                errors = exc.translated_errors()
            else:
                target = request.url_for("staff:login").path + "?password_set=1"
                return RedirectResponse(target, status_code=303)
    context: dict[str, object] = {"invalid": None, "errors": errors, "email": user.email}
    return render(
        request,
        "staff/password_reset.html",
        context,
        status_code=422 if errors else 200,
        headers=PRIVATE,
    )


routes = [
    Route("/staff/account", account, methods=["GET", "POST"], name="staff:account"),
    Route("/staff/account/logins/end", logins_end, methods=["POST"], name="staff:logins_end"),
    Route(
        "/staff/account/two-factor",
        two_factor_page,
        methods=["GET", "POST"],
        name="staff:two_factor",
    ),
    Route("/staff/account/tokens", tokens, methods=["GET", "POST"], name="staff:tokens"),
    Route(
        "/staff/account/tokens/revoke", tokens_revoke, methods=["POST"], name="staff:tokens_revoke"
    ),
    Route(
        "/staff/password/forgot",
        password_forgot,
        methods=["GET", "POST"],
        name="staff:password_forgot",
    ),
    Route(
        "/staff/password/reset/{token}",
        password_reset_page,
        methods=["GET", "POST"],
        name="staff:password_reset",
    ),
]
