"""HTML routes of the shell: staff login and logout, staff accounts.

/staff/login, /staff/logout          everyone / staff (POST)
/staff/                              staff home: team leaders their team(s), others their sessions
/staff/account                       change one's own password
/staff/users, /staff/users/new       staff accounts (admin)
/staff/users/{id}                    edit, deactivate (admin)
/staff/users/{id}/password           reset a password (admin)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from curricula.services import list_teams_for_staff
from sala import accounts
from sala.csrf import read_form
from sala.errors import Conflict, NotFound, ValidationFailed
from sala.forms import fold_email
from sala.i18n import N_, gettext
from sala.links import mask_links
from sala.mail import MessageObsolete, compose
from sala.models import OutboxMessage, OutboxStatus, Role, StaffUser
from sala.permissions import log_in, log_out, public, safe_next, staff_page, user_from_login
from sala.ratelimit import RateLimiter, client_ip
from sala.templating import render

LOGIN_ATTEMPTS_PER_MINUTE = 5


@public
async def login(request: Request) -> Response:
    limiter: RateLimiter = request.app.state.login_limiter
    next_url = safe_next(request.query_params.get("next"), request.url_for("staff:home").path)
    if request.method == "GET":
        if await user_from_login(request) is not None:
            return RedirectResponse(next_url, status_code=303)
        return render(request, "staff/login.html", {"email": "", "error": None, "next": next_url})
    form = await read_form(request)
    email = fold_email(str(form.get("email", "")))[:254]
    password = str(form.get("password", ""))[:1024]
    next_url = safe_next(str(form.get("next", "")), next_url)
    if not limiter.hit(f"ip:{client_ip(request)}:{email}", f"account:{email}"):
        error, status = N_("Too many attempts. Please wait a minute and try again."), 429
    else:
        user = await accounts.authenticate(email, password)
        if user is not None:
            log_in(request, user)
            return RedirectResponse(next_url, status_code=303)
        error, status = N_("Wrong email or password."), 401
    return render(
        request,
        "staff/login.html",
        {"email": email, "error": gettext(error), "next": next_url},
        status_code=status,
    )


@staff_page()
async def logout(request: Request) -> Response:
    await read_form(request)
    log_out(request)
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


@staff_page()
async def account(request: Request) -> Response:
    user: StaffUser = request.state.user
    errors: dict[str, str] = {}
    saved = False
    if request.method == "POST":
        form = await read_form(request)
        current = str(form.get("current_password", ""))
        new = str(form.get("password", ""))
        if await accounts.authenticate(user.email, current) is None:
            errors["current_password"] = gettext("Wrong password.")
        else:
            try:
                await accounts.reset_password(user, password=new, actor=user)
            except ValidationFailed as exc:
                errors = exc.translated_errors()
            else:
                await user.refresh_from_db()
                log_in(request, user)
                saved = True
    return render(
        request,
        "staff/account.html",
        {"errors": errors, "saved": saved},
        status_code=422 if errors else 200,
    )


@staff_page(Role.ADMIN)
async def users(request: Request) -> Response:
    return render(request, "staff/users.html", {"users": await StaffUser.all()})


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
    return render(
        request,
        "staff/user_form.html",
        {"values": values, "errors": errors, "roles": list(Role), "account": account},
        status_code=status,
    )


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
        return render(
            request,
            "staff/user_form.html",
            {
                "values": values,
                "errors": exc.translated_errors(),
                "roles": list(Role),
                "account": account,
            },
            status_code=422,
        )
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
    Route("/staff/logout", logout, methods=["POST"], name="staff:logout"),
    Route("/staff/", staff_home, name="staff:home"),
    Route("/staff/account", account, methods=["GET", "POST"], name="staff:account"),
    Route("/staff/users", users, name="staff:users"),
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
]
