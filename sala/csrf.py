"""CSRF protection for HTML forms: a per-browser token in the signed session cookie.

Every state-changing HTML route reads its body with :func:`read_form`, which refuses a form
whose ``csrf_token`` field does not match. JSON routes take bearer tokens; when the staff
pages' own scripts (the check-in scanner) call them with the login cookie instead, they send
the same token in the ``X-CSRF-Token`` header (:func:`header_matches`).
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request

from sala.errors import CsrfFailed, ValidationFailed
from sala.forms import unstorable
from sala.i18n import N_

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SESSION_KEY = "csrf"
MAX_FORM_FIELDS = 200


def csrf_token(request: Request) -> str:
    token = request.session.get(_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = token
    return token


async def read_form(request: Request, *, max_files: int = 0) -> FormData:
    """The submitted form, after checking its CSRF token (``max_files`` for uploads)."""
    try:
        form = await request.form(max_files=max_files, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # multipart errors carry no stable base class
        raise ValidationFailed({}, N_("The form could not be read.")) from exc
    _refuse_unstorable_text(form)
    expected = request.session.get(_SESSION_KEY)
    submitted = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(submitted, str):
        raise CsrfFailed()
    if not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfFailed()
    return form


def _refuse_unstorable_text(form: FormData) -> None:
    """No field of any form can hold a lone surrogate (a multipart form may declare a charset
    such as UTF-7 that decodes to one) or NUL (``%00``): refused here, for every route."""
    errors: dict[str, str] = {}
    for name, value in form.multi_items():
        for text in (name, value) if isinstance(value, str) else (name,):
            if problem := unstorable(text):
                errors.setdefault(name.encode("utf-8", "backslashreplace").decode(), problem)
    if errors:
        raise ValidationFailed(
            errors, N_("The form holds characters that are not allowed. Please type it again.")
        )


def header_matches(request: Request) -> bool:
    """A script of our own pages sent this request: its ``X-CSRF-Token`` header matches.

    Another site can make a browser send our cookie, but not read the token nor set a custom
    header on a cross-site request without a CORS preflight, which we never grant.
    """
    expected = request.session.get(_SESSION_KEY)
    submitted = request.headers.get(CSRF_HEADER)
    return (
        isinstance(expected, str)
        and submitted is not None
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )
