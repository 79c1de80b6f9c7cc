"""Reading JSON bodies and shaping JSON answers, the same way for every API route.

:func:`read_json_object` is the one reader. Besides the size and the shape, it refuses what
``json.loads`` lets through but no route can use, so no route has to think of it: ``NaN``,
``Infinity`` and numbers too large for a float (``1e400``), nesting deeper than
``MAX_JSON_DEPTH``, and text no field can store (:func:`sala.forms.unstorable`: lone
surrogates, NUL) in any string, keys included.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from sala.errors import SalaError, ValidationFailed
from sala.forms import NOT_UNICODE, unstorable
from sala.i18n import N_

MAX_JSON_BYTES = 1_000_000
# Our deepest body is a batch of scans, three levels; 32 leaves room and bounds every walk.
MAX_JSON_DEPTH = 32


class InvalidJson(SalaError):
    """The body is not a JSON object."""

    code = "invalid_json"
    message = N_("The request body must be a JSON object.")


class JsonTooDeep(InvalidJson):
    """The body nests objects and lists deeper than any route reads."""

    code = "json_too_deep"
    message = N_(
        "The request body is nested too deeply: at most %(levels)s levels of objects and lists."
    )


class NotUnicode(ValidationFailed):
    """A string of the body holds a lone surrogate (``"\\ud800"``): it is not text at all."""

    code = "invalid_unicode"
    message = N_(
        "Some text in the request is not valid Unicode: it holds a lone surrogate "
        "(such as \\ud800). Send the text as UTF-8."
    )


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
        data = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError as exc:  # the decoder recurses once per level
        raise JsonTooDeep(levels=MAX_JSON_DEPTH) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(N_("The request body is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise InvalidJson()
    check_decoded(data)
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity, -Infinity


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


# Made once: json.loads with any option builds a new decoder per call (about 5 µs a request).
# Decoding the bytes as json.loads itself does: UTF-8, or UTF-16/32 by their first bytes.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


# A place in the body, as a chain: (parent's place, key or index); () is the body itself.
_Place = tuple[Any, ...]


def check_decoded(data: object) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH`` (``JsonTooDeep``) and unstorable text
    (``NotUnicode`` for lone surrogates, else ``ValidationFailed``), naming each field.

    A loop, not recursion: recursion is what deep nesting breaks."""
    errors: dict[str, str] = {}
    todo: list[tuple[object, int, _Place]] = [(data, 0, ())]
    while todo:
        value, depth, place = todo.pop()
        if isinstance(value, str):
            if problem := unstorable(value):
                errors.setdefault(_field_name(place), problem)
            continue
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth >= MAX_JSON_DEPTH:
            raise JsonTooDeep(levels=MAX_JSON_DEPTH)
        for key, item in items:
            if isinstance(key, str) and (problem := unstorable(key)):
                errors.setdefault(_field_name((place, key)), problem)
            todo.append((item, depth + 1, (place, key)))
    if NOT_UNICODE in errors.values():
        raise NotUnicode(errors)
    if errors:
        raise ValidationFailed(errors)


def _field_name(place: _Place) -> str:
    """``scans[0].token`` for a place; keys as escapes where they are not text themselves,
    since the answer naming them must be writable as UTF-8."""
    parts: list[str] = []
    while place:
        place, key = place
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            text = key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
            parts.append(f".{text}" if place else text)
    return "".join(reversed(parts))
