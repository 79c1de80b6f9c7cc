"""HTML routes of session materials.

staff    /staff/sessions/{id}/materials                 list; add a file or a link; reorder;
                                                        delete
         /staff/materials/{id}/file                     a file, for staff of its session
person   /materials/{signed}                            a file, by its short-lived signed link
         /registrations/{token}/materials.zip           all the registration may see, one ZIP
anyone   /sessions/{id}/materials/{material id}         a public material, from its date on
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from attendees.manage import registration_for_token
from events.models import Session
from events.services import get_session_for_staff
from learning import materials as service
from learning.errors import (
    MaterialNotFound,
    MaterialsZipBusy,
    MaterialsZipTooOften,
    MaterialTooLarge,
)
from learning.models import Material, MaterialAudience
from sala.config import Settings
from sala.csrf import CSRF_FIELD, read_form
from sala.errors import SalaError, ValidationFailed
from sala.forms import parse_id
from sala.models import Role, StaffUser
from sala.permissions import public, staff_page
from sala.ratelimit import RateLimiter, client_ip
from sala.responses import PRIVATE_HEADERS
from sala.templating import render

# Room in an upload's body for the form's other fields and the multipart framing.
FORM_ALLOWANCE = 64 * 1024
_DONE = ("add_file", "add_link", "up", "down", "delete")

# ZIPs sent at once by one process: each holds a connection and reads the disk while it is
# sent, so a crowd of requests gets a quick "try again" instead of a growing queue.
ZIPS_AT_ONCE = 2
ZIP_BUSY_RETRY_SECONDS = 30
ZIPS_PER_REGISTRATION = (5, 600.0)  # ZIPs per 10 minutes for one registration
ZIPS_PER_ADDRESS = (60, 600.0)  # … and from one address (a whole class behind one network)


def _file_response(material: Material, settings: Settings) -> Response:
    """A stored file, streamed from the disk, as a download the browser cannot take for
    another type: only a type of the allowed list (and ``nosniff``, which
    ``sala.security`` adds to every answer)."""
    path = service.file_path(material, settings)
    if material.is_link or not path.is_file():
        raise MaterialNotFound()
    return FileResponse(
        path,
        media_type=service.served_type(material),
        headers={
            **PRIVATE_HEADERS,
            "content-disposition": service.content_disposition(material.file_name),
        },
    )


# ----------------------------------------------------------------------------- staff


class _CappedBody:
    """The request's body, refused past ``limit`` bytes while it arrives: a huge upload is
    stopped there, not spooled whole to the disk first (a body of unknown length too)."""

    def __init__(self, request: Request, limit: int) -> None:
        self.limit = limit
        self.exceeded = False
        self._read = 0
        self._receive = request.receive
        self.request = Request(request.scope, self.receive)

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._read += len(message.get("body", b""))
            if self._read > self.limit:
                self.exceeded = True
                raise ValueError("body too large")
        return message


async def _read_capped_form(request: Request, settings: Settings) -> FormData:
    too_large = MaterialTooLarge(mb=settings.material_max_mb)
    limit = settings.material_max_mb * service.MB + FORM_ALLOWANCE
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    capped = _CappedBody(request, limit)
    try:
        return await read_form(capped.request, max_files=1)
    except ValidationFailed:
        if capped.exceeded:
            raise too_large from None
        raise


async def _act(
    action: str, form: FormData, session: Session, settings: Settings, staff: StaffUser
) -> None:
    tz = ZoneInfo(session.timezone)
    if action == "add_file":
        upload = form.get("file")
        chosen = upload if isinstance(upload, UploadFile) and upload.filename else None
        missing = {} if chosen else {"file": service.NO_FILE}
        try:
            data = service.read_material_input(form, tz=tz, prefix="file_")
        except ValidationFailed as exc:  # with the missing file, if it is
            raise ValidationFailed({**missing, **exc.errors}) from None
        if chosen is None or chosen.filename is None:
            raise ValidationFailed(missing)
        await service.add_file(
            session,
            data,
            source=chosen.file,
            file_name=chosen.filename,
            settings=settings,
            staff=staff,
        )
    elif action == "add_link":
        data, url = service.read_link_input(form, tz=tz)
        await service.add_link(session, data, url=url, staff=staff)
    elif action in ("up", "down", "delete"):
        material_id = parse_id(form.get("material_id"))
        if material_id is None:
            raise MaterialNotFound()
        if action == "delete":
            await service.delete_material(session, material_id, settings=settings, staff=staff)
        else:
            await service.move_material(session, material_id, up=action == "up", staff=staff)
    else:
        raise ValidationFailed({})


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def staff_materials(request: Request) -> Response:
    staff = request.state.user
    settings: Settings = request.app.state.settings
    session = await get_session_for_staff(staff, request.path_params["session_id"])
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    form_error: str | None = None
    failed = ""
    status = 200
    if request.method == "POST":
        try:
            form = await _read_capped_form(request, settings)
        except MaterialTooLarge as exc:
            form_error, status, failed = exc.translated(), exc.status_code, "add_file"
        else:
            action = str(form.get("action", ""))
            values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
            try:
                await _act(action, form, session, settings, staff)
            except ValidationFailed as exc:
                errors, form_error, status = exc.translated_errors(), exc.translated(), 422
                failed = action
            except SalaError as exc:
                form_error, status = exc.translated(), exc.status_code
            else:
                path = request.url_for("learning:staff_materials", session_id=session.id).path
                return RedirectResponse(f"{path}?done={action}", status_code=303)
    found = await service.session_materials(session.id)
    context = {
        "session": session,
        "materials": [
            {"material": m, "size": None if m.is_link else service.size_label(m.size)}
            for m in found
        ],
        "audiences": [(a.value, a.label) for a in MaterialAudience],
        "values": values,
        "errors": errors,
        "form_error": form_error,
        "failed": failed,
        "done": request.query_params.get("done") if status == 200 else None,
        "max_mb": settings.material_max_mb,
    }
    if context["done"] not in _DONE:
        context["done"] = None
    return render(
        request,
        "learning/staff_materials.html",
        context,
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def staff_material_file(request: Request) -> Response:
    material = await service.material_for_staff(
        request.state.user, request.path_params["material_id"]
    )
    return _file_response(material, request.app.state.settings)


# ----------------------------------------------------------------------------- person


@public
async def material(request: Request) -> Response:
    """A file through its signed link: checked again now, for the registration it names."""
    settings = request.app.state.settings
    found, _ = await service.material_for_token(
        request.path_params["signed"], settings, datetime.now(UTC)
    )
    return _file_response(found, settings)


class ZipSlots:
    """How many ZIPs this process is sending; taken without waiting, or refused.

    A plain counter: the event loop runs one request at a time, so nothing can come
    between the check and the count (an ``asyncio.Semaphore`` would, besides, tie itself to
    the first event loop it waits on)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0

    def take(self) -> bool:
        if self.taken >= self.size:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken = max(0, self.taken - 1)


zip_slots = ZipSlots(ZIPS_AT_ONCE)


class _ZipResponse(StreamingResponse):
    """The streamed ZIP; whatever happens to the answer (sent, the person gone, an error),
    its slot is given back and the making of it closed, so no file stays open."""

    def __init__(self, chunks: AsyncIterator[bytes], slots: ZipSlots) -> None:
        super().__init__(
            chunks,
            media_type="application/zip",
            headers={
                **PRIVATE_HEADERS,
                "content-disposition": service.content_disposition("materials.zip"),
            },
        )
        self._chunks = chunks
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give_back()
            aclose = getattr(self._chunks, "aclose", None)
            if aclose is not None:
                await aclose()


def zip_limiters(request: Request) -> tuple[RateLimiter, RateLimiter]:
    """The ZIP's limits (per registration, per address), kept on the app and made on first
    use, switched on or off with ``SALA_RATE_LIMITS`` like every other limit."""
    state = request.app.state
    limiters: tuple[RateLimiter, RateLimiter] | None = getattr(state, "zip_limiters", None)
    if limiters is None:
        enabled = state.settings.rate_limits
        limiters = (
            RateLimiter(
                limit=ZIPS_PER_REGISTRATION[0],
                window_seconds=ZIPS_PER_REGISTRATION[1],
                enabled=enabled,
            ),
            RateLimiter(
                limit=ZIPS_PER_ADDRESS[0], window_seconds=ZIPS_PER_ADDRESS[1], enabled=enabled
            ),
        )
        state.zip_limiters = limiters
    return limiters


def _refused(request: Request, exc: SalaError, retry_after: int) -> Response:
    return render(
        request,
        "error.html",
        {"status": exc.status_code, "code": exc.code, "message": exc.translated()},
        status_code=exc.status_code,
        headers={**PRIVATE_HEADERS, "retry-after": str(retry_after)},
    )


@public
async def materials_zip(request: Request) -> Response:
    """All the registration may see, one ZIP streamed as it is made: limited per
    registration and per address, and refused (503) while ``ZIPS_AT_ONCE`` are being sent."""
    settings = request.app.state.settings
    registration = await registration_for_token(request.path_params["token"], settings)
    chunks = await service.materials_zip(registration, settings, datetime.now(UTC))
    # Busy first: a "try again in a minute" does not count against the person's own tries.
    if zip_slots.taken >= zip_slots.size:
        return _refused(request, MaterialsZipBusy(), ZIP_BUSY_RETRY_SECONDS)
    by_registration, by_address = zip_limiters(request)
    if not (
        by_registration.hit(f"registration:{registration.id}")
        and by_address.hit(client_ip(request))
    ):
        return _refused(request, MaterialsZipTooOften(), int(ZIPS_PER_REGISTRATION[1]))
    zip_slots.take()  # free: nothing was awaited since the check above
    return _ZipResponse(chunks, zip_slots)


# ----------------------------------------------------------------------------- anyone


@public
async def public_material(request: Request) -> Response:
    """A public material from its date on; before it, and for any other, a 404."""
    found = await service.public_material(
        request.path_params["session_id"], request.path_params["material_id"], datetime.now(UTC)
    )
    if found.is_link:
        return RedirectResponse(found.link_url, status_code=303)
    return _file_response(found, request.app.state.settings)


routes: list[BaseRoute] = [
    Route(
        "/staff/sessions/{session_id:int}/materials",
        staff_materials,
        methods=["GET", "POST"],
        name="learning:staff_materials",
    ),
    Route(
        "/staff/materials/{material_id:int}/file",
        staff_material_file,
        name="learning:staff_material_file",
    ),
    Route("/materials/{signed}", material, name="learning:material"),
    Route("/registrations/{token}/materials.zip", materials_zip, name="learning:materials_zip"),
    Route(
        "/sessions/{session_id:int}/materials/{material_id:int}",
        public_material,
        name="learning:public_material",
    ),
]
