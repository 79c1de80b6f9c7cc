"""HTML routes of certificates.

anyone   /verify                                  type a code
         /verify/{code}                           valid, revoked or unknown; check a name
                                                  (a neutral copy's code: the neutral view)
person   /registrations/{token}/certificate.pdf   their certificate (?neutral=1: the copy
                                                  with a neutral title and its own code)
staff    /staff/sessions/{id}/certificates        issue, progress, revoke, reissue, print all
         /staff/sessions/{id}/certificates/progress.json   issuing's and printing's
         /staff/sessions/{id}/certificates/prints/{print id}.pdf   all of them, one PDF
         /staff/certificates/{id}.pdf
         /staff/certificates/design               wording, logo, signatures (admin)
         /staff/certificates/preview              a sample PDF (admin, POST)
         /staff/certificates/images/{name}        the uploaded images (admin)
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from attendees import manage, people
from attendees.models import Registration, RegistrationStatus
from certificates import printing
from certificates import services as service
from certificates.errors import CertificateNotFound
from certificates.limits import name_check_allowed
from certificates.models import Certificate, CertificateStatus
from events.models import Topic
from events.services import get_session_for_staff, list_topics, topic_by_code
from sala.config import Settings
from sala.csrf import read_form
from sala.errors import NotFound, RateLimited, SalaError, ValidationFailed
from sala.forms import parse_id
from sala.models import Role
from sala.permissions import public, staff_page
from sala.responses import PRIVATE_HEADERS
from sala.templating import render


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={**PRIVATE_HEADERS, "content-disposition": f'inline; filename="{filename}"'},
    )


# ----------------------------------------------------------------------------- anyone


@public
async def verify_start(request: Request) -> Response:
    typed = request.query_params.get("code", "").strip()
    if not typed:
        return render(request, "certificates/verify_start.html", {})
    code = service.normalise_code(typed)
    if code is None:
        return _unknown(request, typed)
    return RedirectResponse(
        str(request.url_for("certificate_verify", code=code).path), status_code=303
    )


def _unknown(request: Request, code: str) -> Response:
    return render(
        request,
        "certificates/verify.html",
        {"certificate": None, "code": code[:40]},
        status_code=404,
        headers={"x-robots-tag": "noindex"},
    )


@public
async def verify(request: Request) -> Response:
    """What a code says. The holder's name never appears: a visitor may type a name and
    learns only whether it matches. A neutral copy's code shows only the neutral view,
    whatever the query string says; the real code only the real one."""
    try:
        copy = await service.find_copy(request.path_params["code"])
    except CertificateNotFound:
        return _unknown(request, request.path_params["code"])
    certificate = copy.certificate
    context: dict[str, Any] = {
        "certificate": certificate,
        "facts": await service.public_facts(copy, request.app.state.settings),
        "checked_name": None,
        "matches": None,
        "error": None,
    }
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        typed = str(form.get("name", ""))[:200]
        if not typed.strip():
            pass  # nothing asked, nothing counted
        elif not name_check_allowed(request, certificate.code):  # both codes share it
            context["error"] = RateLimited().translated()
            status = 429
        else:
            context["checked_name"] = typed
            context["matches"] = service.name_matches(certificate, typed)
    return render(
        request,
        "certificates/verify.html",
        context,
        status_code=status,
        headers={"x-robots-tag": "noindex", "cache-control": "no-store"},
    )


# ----------------------------------------------------------------------------- the holder


@public
async def holder_pdf(request: Request) -> Response:
    settings = request.app.state.settings
    registration = await manage.registration_for_token(request.path_params["token"], settings)
    certificate = await service.holder_certificate(registration)
    if certificate is None:
        raise NotFound()
    copy = await service.holder_copy(certificate, settings, neutral=_neutral_copy(request))
    return _pdf(copy.data, copy.filename)


def _neutral_copy(request: Request) -> bool:
    return request.query_params.get("neutral") == "1"


@public
async def holder_curriculum_pdf(request: Request) -> Response:
    """A curriculum certificate, from the holder's page (the link emailed to them)."""
    settings = request.app.state.settings
    person = await people.person_for_token(request.path_params["token"], settings)
    wanted = service.normalise_code(request.path_params["code"])
    held = await service.curriculum_certificates_of(person)
    certificate = next((c for c in held if c.code == wanted), None)
    if certificate is None:
        raise NotFound()
    copy = await service.holder_copy(certificate, settings, neutral=_neutral_copy(request))
    return _pdf(copy.data, copy.filename)


# ----------------------------------------------------------------------------- staff


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def session_certificates(request: Request) -> Response:
    staff = request.state.user
    settings = request.app.state.settings
    session = await get_session_for_staff(staff, request.path_params["session_id"])
    message: str | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        action = form.get("action")
        try:
            if action == "print_all":
                await printing.request_print(session.id, staff=staff)
            elif action in ("revoke", "reissue"):
                certificate_id = parse_id(form.get("certificate_id")) or 0
                reason = str(form.get("reason", ""))
                if action == "revoke":
                    await service.revoke_certificate(
                        certificate_id, staff=staff, reason=reason, settings=settings
                    )
                else:
                    await service.reissue_certificate(
                        certificate_id, staff=staff, reason=reason, settings=settings
                    )
            else:
                picked = [i for i in map(parse_id, form.getlist("registration_id")) if i]
                await service.issue_certificates(
                    session.id,
                    staff=staff,
                    registration_ids=picked if action == "issue_picked" else None,
                )
        except SalaError as exc:
            message, status = exc.translated(), exc.status_code
        else:
            path = request.url_for("staff:certificates", session_id=session.id).path
            return RedirectResponse(f"{path}?done={action}", status_code=303)
    attended = await Registration.filter(
        session_id=session.id,
        status=RegistrationStatus.CONFIRMED,
        checked_in_at__isnull=False,
        anonymised_at=None,
    ).order_by("chosen_name")
    issued = await Certificate.filter(session_id=session.id).order_by("-id")
    by_registration: dict[int, list[Certificate]] = {}
    for certificate in issued:
        by_registration.setdefault(certificate.registration_id, []).append(certificate)  # type: ignore[attr-defined]
    run = await service.latest_run(session)
    job = await printing.current_print(session)
    context = {
        "session": session,
        "attended": attended,
        "by_registration": by_registration,
        "without": [r for r in attended if not by_registration.get(r.id)],
        "valid": [c for c in issued if c.status == CertificateStatus.VALID],
        "revoked": [
            c
            for c in issued
            if c.status == CertificateStatus.REVOKED
            and c.replaced_by_id is None  # type: ignore[attr-defined]
            and c.holder_name
        ],
        "run": run,
        "progress": await service.run_progress(run) if run else None,
        "print": job,
        "print_progress": printing.print_progress(job) if job else None,
        "form_error": message,
        "done": request.query_params.get("done"),
    }
    return render(
        request,
        "certificates/staff_session.html",
        context,
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def session_progress(request: Request) -> Response:
    session = await get_session_for_staff(request.state.user, request.path_params["session_id"])
    run = await service.latest_run(session)
    body: dict[str, object] = (
        await service.run_progress(run) if run else {"total": 0, "done": 0, "finished": True}
    )
    job = await printing.current_print(session)
    body["print"] = printing.print_progress(job) if job else None
    return JSONResponse(body, headers=PRIVATE_HEADERS)


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def session_print_pdf(request: Request) -> Response:
    session_id = request.path_params["session_id"]
    data = await printing.print_pdf(
        request.state.user, session_id, request.path_params["print_id"], request.app.state.settings
    )
    disposition = f'attachment; filename="session-{session_id}-certificates.pdf"'
    headers = {**PRIVATE_HEADERS, "cache-control": "private, no-store"}
    return Response(
        data,
        media_type="application/pdf",
        headers={**headers, "content-disposition": disposition},
    )


@staff_page(Role.ADMIN, Role.FACILITATOR)
async def staff_pdf(request: Request) -> Response:
    certificate = await service.certificate_for_staff(
        request.state.user, request.path_params["certificate_id"]
    )
    data = await service.certificate_pdf(certificate, request.app.state.settings)
    return _pdf(data, f"certificate-{certificate.code}.pdf")


async def _topic(request: Request) -> Topic | None:
    code = request.query_params.get("topic", "")
    if not code:
        return None
    topic = await topic_by_code(code)
    if topic is None:
        raise NotFound()
    return topic


@staff_page(Role.ADMIN)
async def design(request: Request) -> Response:
    staff = request.state.user
    settings = request.app.state.settings
    topic = await _topic(request)
    errors: dict[str, str] = {}
    message: str | None = None
    wording = await service.wording_for(topic.code if topic else "")
    status = 200
    if request.method == "POST":
        form = await read_form(request, max_files=4)
        part = str(form.get("part", ""))
        try:
            if part == "wording":
                wording = {k: str(form.get(k, "")) for k in service.DEFAULT_WORDING}
                await service.save_wording(
                    topic, service.wording_input(wording), staff=staff, settings=settings
                )
            elif part == "images":
                await _save_images(form, staff, settings)
            else:
                raise ValidationFailed({})
        except ValidationFailed as exc:
            errors, message, status = exc.translated_errors(), exc.translated(), 422
        else:
            path = request.url_for("staff:certificate_design").path
            query = f"?saved={part}" + (f"&topic={topic.code}" if topic else "")
            return RedirectResponse(f"{path}{query}", status_code=303)
    context = {
        "topics": await list_topics(),
        "topic": topic,
        "wording": wording,
        "inherited": await service.inherited_wording(topic),
        "placeholders": service.PLACEHOLDERS,
        "signatories": await service.signatories(),
        "images": await service.image_names(),
        "errors": errors,
        "form_error": message,
        "saved": request.query_params.get("saved"),
    }
    return render(
        request, "certificates/design.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


async def _save_images(form: Any, staff: Any, settings: Settings) -> None:
    """Logo and signatures: the names and roles, then each uploaded or removed image."""
    errors: dict[str, str] = {}
    for position in (1, 2, 3):
        try:
            await service.save_signatory(
                position,
                name=str(form.get(f"signatory_{position}_name", "")),
                role=str(form.get(f"signatory_{position}_role", "")),
                staff=staff,
                settings=settings,
            )
        except ValidationFailed as exc:
            errors.update({f"signatory_{position}_{k}": v for k, v in exc.errors.items()})
    for name in service.IMAGE_NAMES:
        upload = form.get(f"image_{name}")
        if form.get(f"remove_{name}"):
            await service.remove_image(name, staff=staff, settings=settings)
        elif isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(service.MAX_IMAGE_BYTES + 1)
            try:
                await service.save_image(name, data, staff=staff, settings=settings)
            except ValidationFailed as exc:
                errors[f"image_{name}"] = exc.errors["image"]
    if errors:
        raise ValidationFailed(errors)


@staff_page(Role.ADMIN)
async def preview(request: Request) -> Response:
    topic = await _topic(request)
    form = await read_form(request)
    values = service.wording_input({k: str(form.get(k, "")) for k in service.DEFAULT_WORDING})
    data = await service.preview_pdf(
        topic, values, request.app.state.settings, language=request.state.language
    )
    return _pdf(data, "certificate-preview.pdf")


@staff_page(Role.ADMIN)
async def image(request: Request) -> Response:
    found = await service.get_image(request.path_params["name"])
    if found is None:
        raise NotFound()
    return Response(found.data, media_type=found.content_type, headers=PRIVATE_HEADERS)


routes = [
    Route("/verify", verify_start, name="certificate_verify_start"),
    Route("/verify/{code}", verify, methods=["GET", "POST"], name="certificate_verify"),
    Route("/registrations/{token}/certificate.pdf", holder_pdf, name="registration_certificate"),
    Route(
        "/people/{token}/certificates/{code}.pdf", holder_curriculum_pdf, name="person_certificate"
    ),
    Route(
        "/staff/sessions/{session_id:int}/certificates",
        session_certificates,
        methods=["GET", "POST"],
        name="staff:certificates",
    ),
    Route(
        "/staff/sessions/{session_id:int}/certificates/progress.json",
        session_progress,
        name="staff:certificates_progress",
    ),
    Route(
        "/staff/sessions/{session_id:int}/certificates/prints/{print_id:int}.pdf",
        session_print_pdf,
        name="staff:certificates_print_pdf",
    ),
    Route("/staff/certificates/{certificate_id:int}.pdf", staff_pdf, name="staff:certificate_pdf"),
    Route(
        "/staff/certificates/design",
        design,
        methods=["GET", "POST"],
        name="staff:certificate_design",
    ),
    Route(
        "/staff/certificates/preview",
        preview,
        methods=["POST"],
        name="staff:certificate_preview",
    ),
    Route("/staff/certificates/images/{name}", image, name="staff:certificate_image"),
]
