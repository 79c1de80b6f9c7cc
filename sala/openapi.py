"""The OpenAPI 3.1 document at /api/v1/openapi.json, assembled from each package's ``api.py``.

Each ``api.py`` describes its own routes next to them (``openapi_paths``) with the schemas of
its ``schemas.py``; ``tests/sala/test_openapi.py`` checks that every API route is described.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable, for programs"},
                "message": {"type": "string", "description": "in the request's language"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}

_ERROR_TEXT = {
    400: "Bad request",
    401: "No valid bearer token",
    403: "Not allowed for this token",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    422: "Invalid fields",
    429: "Too many requests",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def operation(
    summary: str,
    *,
    response: dict[str, Any] | None,
    status: int = 200,
    request: dict[str, Any] | None = None,
    request_optional: bool = False,
    staff: bool = False,
    errors: tuple[int, ...] = (),
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    answers: dict[str, Any] = {str(status): {"description": "OK"}}
    if response is not None:
        answers[str(status)]["content"] = _json(response)
    codes = set(errors)
    if staff:
        codes |= {401, 403}
    if request is not None:
        codes |= {400, 413, 422}
    for code in sorted(codes):
        answers[str(code)] = {"description": _ERROR_TEXT[code], "content": _json(ref("Error"))}
    op: dict[str, Any] = {"summary": summary, "responses": answers}
    if request is not None:
        op["requestBody"] = {"required": not request_optional, "content": _json(request)}
    if staff:
        op["security"] = [{"bearer": []}]
    if parameters:
        op["parameters"] = parameters
    return op


def path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer"},
    }


def query_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def build_document(
    *, paths: dict[str, dict[str, Any]], schemas: dict[str, Any], base_url: str
) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sala API",
            "version": "1",
            "description": (
                "Trainings, registrations, check-in and certificates of CLGBT. Messages "
                "follow ?lang=km|en or Accept-Language. Staff routes need a bearer token "
                "from `sala create-token`."
            ),
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **schemas},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
