"""Domain errors: a translatable message for people, a stable code for programs.

    SalaError                      (400)
     ├── ValidationFailed          (422)  one message per form field
     ├── NotFound                  (404)
     ├── PermissionDenied          (403)
     │    └── CsrfFailed           (403)
     ├── NotAuthenticated          (401)  HTML routes redirect to the login page instead
     ├── Conflict                  (409)
     └── RateLimited               (429)

Feature packages subclass these (``events.errors``); services raise them, and the single
handler in :mod:`sala.responses` turns any of them into an HTML page or a JSON body in the
user's language. Messages are gettext message ids, translated only when shown.
"""

from __future__ import annotations

from collections.abc import Mapping

from sala.i18n import N_, gettext


class SalaError(Exception):
    """Base of every error a user or client can cause."""

    status_code = 400
    code = "bad_request"
    message = N_("The request could not be completed.")

    def __init__(self, message: str | None = None, *, code: str | None = None, **params: object):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.params = params
        super().__init__(self.code)

    def translated(self) -> str:
        return gettext(self.message, **self.params) if self.params else gettext(self.message)


class ValidationFailed(SalaError):
    """Some fields of a form or JSON body are wrong; ``errors`` maps field → message id."""

    status_code = 422
    code = "validation_failed"
    message = N_("Please correct the fields marked below.")

    def __init__(self, errors: Mapping[str, str], message: str | None = None) -> None:
        super().__init__(message)
        self.errors = dict(errors)

    def translated_errors(self) -> dict[str, str]:
        return {name: gettext(msg) for name, msg in self.errors.items()}


class NotFound(SalaError):
    """The thing asked for does not exist, or is not visible to this user."""

    status_code = 404
    code = "not_found"
    message = N_("We could not find this page.")


class PermissionDenied(SalaError):
    """The user is known but may not do this."""

    status_code = 403
    code = "forbidden"
    message = N_("You do not have permission to do this.")


class CsrfFailed(PermissionDenied):
    """A form arrived without the token of the page that showed it."""

    code = "csrf_failed"
    message = N_("This form has expired. Please go back, reload the page and try again.")


class NotAuthenticated(SalaError):
    """A staff route was called without a login or a valid API token."""

    status_code = 401
    code = "not_authenticated"
    message = N_("Please log in first.")


class Conflict(SalaError):
    """The request contradicts the current state (e.g. publishing a cancelled session)."""

    status_code = 409
    code = "conflict"


class RateLimited(SalaError):
    """Too many attempts from this address or for this account."""

    status_code = 429
    code = "rate_limited"
    message = N_("Too many attempts. Please wait a minute and try again.")
