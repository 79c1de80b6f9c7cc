"""CSRF protection for HTML forms: a per-browser token in the signed session cookie.

Every state-changing HTML route reads its body with :func:`read_form`, which refuses a form
whose ``csrf_token`` field does not match. JSON routes take bearer tokens; when the staff
pages' own scripts (the check-in scanner) call them with the login cookie instead, they send
the same token in the ``X-CSRF-Token`` header (:func:`header_matches`).

Pages are compressed, and a compressed page that holds a secret next to text an attacker
chose leaks the secret through its length (BREACH). So a page never holds the secret itself:
each :func:`csrf_token` is a fresh random pad followed by the pad XOR the secret, in base64
(as Django and Rails do), and what comes back is unmasked before the comparison. Any mask of
the browser's secret is accepted, and so is the bare secret (pages rendered before masking):
it appears in no page any more, so accepting it leaks nothing.
"""

from __future__ import annotations

import base64
import binascii
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
    """This browser's token for one form or script: masked afresh at every call."""
    secret = request.session.get(_SESSION_KEY)
    if not isinstance(secret, str):
        secret = secrets.token_urlsafe(32)
        request.session[_SESSION_KEY] = secret
    return mask(secret)


def mask(secret: str) -> str:
    """``secret`` under a one-time pad: ``base64(pad ‖ pad XOR secret)``, never twice alike."""
    raw = secret.encode()
    pad = secrets.token_bytes(len(raw))
    masked = bytes(p ^ s for p, s in zip(pad, raw, strict=True))
    return base64.urlsafe_b64encode(pad + masked).decode().rstrip("=")


def unmask(token: str) -> str | None:
    """The secret a masked token carries, or ``None`` when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    half, odd = divmod(len(raw), 2)
    if odd or not half:
        return None
    pad, masked = raw[:half], raw[half:]
    try:
        return bytes(p ^ m for p, m in zip(pad, masked, strict=True)).decode()
    except UnicodeDecodeError:
        return None


def _matches(expected: object, submitted: object) -> bool:
    """``submitted`` is a mask of the browser's secret, or the bare secret itself."""
    if not isinstance(expected, str) or not isinstance(submitted, str):
        return False
    if hmac.compare_digest(expected.encode(), submitted.encode()):
        return True
    secret = unmask(submitted)
    return secret is not None and hmac.compare_digest(expected.encode(), secret.encode())


async def read_form(request: Request, *, max_files: int = 0) -> FormData:
    """The submitted form, after checking its CSRF token (``max_files`` for uploads)."""
    try:
        form = await request.form(max_files=max_files, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # multipart errors carry no stable base class
        raise ValidationFailed({}, N_("The form could not be read.")) from exc
    _refuse_unstorable_text(form)
    if not _matches(request.session.get(_SESSION_KEY), form.get(CSRF_FIELD)):
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
    return _matches(request.session.get(_SESSION_KEY), request.headers.get(CSRF_HEADER))
