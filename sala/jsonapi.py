"""Reading JSON bodies and shaping JSON answers, the same way for every API route."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from sala.errors import SalaError
from sala.i18n import N_

MAX_JSON_BYTES = 1_000_000


class InvalidJson(SalaError):
    """The body is not a JSON object."""

    code = "invalid_json"
    message = N_("The request body must be a JSON object.")


class BodyTooLarge(SalaError):
    """The body is larger than any route accepts."""

    status_code = 413
    code = "body_too_large"
    message = N_("What you sent is too large.")


async def read_json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The body as a JSON object; with ``allow_empty``, no body at all reads as ``{}``."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise BodyTooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise BodyTooLarge()
    if allow_empty and not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson() from exc
    if not isinstance(data, dict):
        raise InvalidJson()
    return data
