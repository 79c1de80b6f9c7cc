"""The OpenAPI 3.1 document describes every API route, with request and response schemas."""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Route


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return document["components"]["schemas"][name]
    return schema


async def test_document_is_openapi_3_1(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_every_api_route_is_described(app: Starlette, client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    missing = []
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/v1"):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods or set():
            if method == "HEAD":
                continue
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is None:
                missing.append(f"{method} {path}")
                continue
            ok = next(code for code in operation["responses"] if code.startswith("2"))
            if ok == "204":  # No Content: nothing to describe
                assert "content" not in operation["responses"][ok], f"{method} {path}"
                continue
            schema = operation["responses"][ok]["content"]["application/json"]["schema"]
            assert _resolve(document, schema), path
            if method in {"POST", "PATCH"} and "requestBody" not in operation:
                # Actions without a body (publish, cancel) are fine; creations are not.
                assert not path.endswith(("/sessions", "/series")), f"{method} {path}"
    assert missing == []


async def test_every_reference_resolves(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    text = str(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"], name


async def test_session_schema_names_the_design_fields(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    properties = document["components"]["schemas"]["Session"]["properties"]
    for field in [
        "id",
        "topic",
        "title_en",
        "title_km",
        "description_en",
        "description_km",
        "starts_at",
        "ends_at",
        "timezone",
        "venue",
        "online_url",
        "capacity",
        "seats_left",
        "audience",
        "status",
        "registration_opens_at",
        "registration_closes_at",
    ]:
        assert field in properties, field
