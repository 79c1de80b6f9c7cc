"""JSON routes of the shell: health check and the OpenAPI document.

GET /healthz                  anyone: {"status": "ok"} once the database answers
GET /api/v1/openapi.json      anyone
GET /api/v1/me                any staff token: who this token belongs to
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sala import db
from sala.openapi import operation
from sala.permissions import public, staff_api


@public
async def healthz(request: Request) -> Response:
    try:
        await db.ping()
    except Exception:  # any driver error means "not ready", never a 500 page
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    settings = request.app.state.settings
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    return JSONResponse({"status": "ok", "database": backend})


@public
async def openapi_document(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


@staff_api()
async def me(request: Request) -> Response:
    user = request.state.user
    return JSONResponse({"id": user.id, "email": user.email, "name": user.name, "role": user.role})


routes = [
    Route("/healthz", healthz, name="healthz"),
    Route("/api/v1/openapi.json", openapi_document, name="api:openapi"),
    Route("/api/v1/me", me, name="api:me"),
]

openapi_paths: dict[str, dict[str, Any]] = {
    "/api/v1/me": {
        "get": operation(
            "The staff member this token belongs to",
            response={
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "email": {"type": "string"},
                    "name": {"type": "string"},
                    "role": {"type": "string", "enum": ["admin", "facilitator", "team_leader"]},
                },
            },
            staff=True,
        )
    },
    "/api/v1/openapi.json": {
        "get": operation("This document", response={"type": "object"}),
    },
}
