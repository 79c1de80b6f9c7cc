"""JSON API of certificates (``/api/v1``).

POST /api/v1/sessions/{id}/certificates      admin, the session's facilitators: issue
GET  /api/v1/certificates/{code}             anyone: valid or revoked, never the holder's name
                                             (a neutral copy's code: the neutral facts only)
GET  /api/v1/certificates/{code}/pdf         admin, the session's facilitators
POST /api/v1/certificates/{code}/revoke      admin, the session's facilitators ({reason})
POST /api/v1/certificates/{code}/reissue     admin, the session's facilitators ({reason})
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from certificates import services as service
from certificates.models import Certificate
from sala.errors import ValidationFailed
from sala.forms import parse_id
from sala.i18n import N_
from sala.jsonapi import read_json_object
from sala.models import Role
from sala.openapi import array_of, operation, path_parameter, ref
from sala.permissions import public, staff_api


def certificate_json(certificate: Certificate) -> dict[str, Any]:
    """For staff: the code, whose registration, and its state."""
    return {
        "code": certificate.code,
        "registration_id": certificate.registration_id,  # type: ignore[attr-defined]
        "session_id": certificate.session_id,  # type: ignore[attr-defined]
        "status": certificate.status.value,
        "issued_at": certificate.issued_at.isoformat(),
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
    }


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def issue(request: Request) -> Response:
    payload = await read_json_object(request, allow_empty=True)
    raw = payload.get("registration_ids")
    picked: list[int] | None = None
    if raw is not None:
        ids = [parse_id(i) for i in raw] if isinstance(raw, list) else [None]
        if None in ids:
            raise ValidationFailed({"registration_ids": N_("Send a list of registration ids.")})
        picked = [i for i in ids if i is not None]
    outcome = await service.issue_certificates(
        request.path_params["session_id"], staff=request.state.user, registration_ids=picked
    )
    return JSONResponse(
        [certificate_json(c) for c in outcome.issued],
        status_code=201 if outcome.issued else 200,
    )


@public
async def verify(request: Request) -> Response:
    copy = await service.find_copy(request.path_params["code"])
    facts = await service.public_facts(copy, request.app.state.settings)
    return JSONResponse(facts, headers={"cache-control": "no-store"})


async def _for_staff(request: Request) -> Certificate:
    certificate = await service.find_certificate(request.path_params["code"])
    return await service.certificate_for_staff(request.state.user, certificate.id)


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def pdf(request: Request) -> Response:
    certificate = await _for_staff(request)
    data = await service.certificate_pdf(certificate, request.app.state.settings)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "cache-control": "no-store",
            "content-disposition": f'inline; filename="certificate-{certificate.code}.pdf"',
        },
    )


def _reason(payload: dict[str, Any]) -> str:
    reason = payload.get("reason")
    return reason if isinstance(reason, str) else ""


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def revoke(request: Request) -> Response:
    certificate = await _for_staff(request)
    payload = await read_json_object(request)
    revoked = await service.revoke_certificate(
        certificate.id,
        staff=request.state.user,
        reason=_reason(payload),
        settings=request.app.state.settings,
    )
    return JSONResponse(certificate_json(revoked))


@staff_api(Role.ADMIN, Role.FACILITATOR)
async def reissue(request: Request) -> Response:
    certificate = await _for_staff(request)
    payload = await read_json_object(request)
    new = await service.reissue_certificate(
        certificate.id,
        staff=request.state.user,
        reason=_reason(payload),
        settings=request.app.state.settings,
    )
    return JSONResponse(certificate_json(new), status_code=201)


routes = [
    Route(
        "/api/v1/sessions/{session_id:int}/certificates",
        issue,
        methods=["POST"],
        name="api:certificates_issue",
    ),
    Route("/api/v1/certificates/{code}", verify, name="api:certificate"),
    Route("/api/v1/certificates/{code}/pdf", pdf, name="api:certificate_pdf"),
    Route(
        "/api/v1/certificates/{code}/revoke",
        revoke,
        methods=["POST"],
        name="api:certificate_revoke",
    ),
    Route(
        "/api/v1/certificates/{code}/reissue",
        reissue,
        methods=["POST"],
        name="api:certificate_reissue",
    ),
]

_CODE = path_parameter("code", "certificate code, e.g. K7QF-3MXD-9TZA")

openapi_paths: dict[str, dict[str, Any]] = {
    "/api/v1/sessions/{session_id}/certificates": {
        "post": operation(
            "Issue certificates to every checked-in attendee without one "
            "(or to {registration_ids}); 201 with the new ones, 200 [] when all hold one",
            request=ref("CertificateIssueInput"),
            response=array_of("Certificate"),
            status=201,
            staff=True,
            errors=(404, 409),
            parameters=[path_parameter("session_id", "session id")],
        )
    },
    "/api/v1/certificates/{code}": {
        "get": operation(
            "Verify a certificate: valid or revoked, the training, dates and issuer; "
            "never the holder's name. The code of a holder's neutral copy gives its "
            "neutral title, status and issuer only (no topic, place or dates: null)",
            response=ref("CertificateFacts"),
            errors=(404,),
            parameters=[_CODE],
        )
    },
    "/api/v1/certificates/{code}/pdf": {
        "get": operation(
            "The certificate as a PDF (application/pdf)",
            response={"type": "string", "format": "binary"},
            staff=True,
            errors=(404,),
            parameters=[_CODE],
        )
    },
    "/api/v1/certificates/{code}/revoke": {
        "post": operation(
            "Revoke a certificate; the reason is kept",
            request=ref("CertificateReason"),
            response=ref("Certificate"),
            staff=True,
            errors=(404,),
            parameters=[_CODE],
        )
    },
    "/api/v1/certificates/{code}/reissue": {
        "post": operation(
            "A new certificate (new code) in place of this one, which is revoked",
            request=ref("CertificateReason"),
            response=ref("Certificate"),
            status=201,
            staff=True,
            errors=(404,),
            parameters=[_CODE],
        )
    },
}

_DATETIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Certificate": {
        "type": "object",
        "required": ["code", "registration_id", "status"],
        "properties": {
            "code": {"type": "string"},
            "registration_id": {"type": ["integer", "null"]},
            "session_id": {"type": ["integer", "null"]},
            "status": {"type": "string", "enum": ["valid", "revoked"]},
            "issued_at": _DATETIME,
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "CertificateFacts": {
        "type": "object",
        "required": ["code", "status", "training", "issuer"],
        "properties": {
            "code": {"type": "string"},
            "status": {"type": "string", "enum": ["valid", "revoked"]},
            "training": {
                "type": "object",
                "properties": {
                    "title_km": {"type": "string"},
                    "title_en": {"type": "string"},
                    "topic": {"type": "string"},
                    "topic_name_km": {"type": "string"},
                    "topic_name_en": {"type": "string"},
                },
            },
            "starts_at": _NULLABLE_DATETIME,
            "ends_at": _NULLABLE_DATETIME,
            "dates": {
                "type": "string",
                "description": "in the request's language; empty for a neutral copy",
            },
            "issued_at": _NULLABLE_DATETIME,
            "issuer": {"type": "string"},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "CertificateIssueInput": {
        "type": "object",
        "description": "Empty (everyone checked in) or the attendees picked.",
        "properties": {"registration_ids": {"type": "array", "items": {"type": "integer"}}},
    },
    "CertificateReason": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "maxLength": 300}},
    },
}
