"""Errors of the attendees package (see ``sala.errors`` for the whole tree)."""

from __future__ import annotations

from sala.errors import Conflict, NotFound, ValidationFailed
from sala.i18n import N_


class RegistrationNotFound(NotFound):
    """No registration with this id or manage link."""

    code = "registration_not_found"
    message = N_("We could not find this registration. The link may be old or mistyped.")


class RegistrationNotOpen(Conflict):
    """Before the session's ``registration_opens_at``."""

    code = "registration_not_open"
    message = N_("Registration for this training is not open yet.")


class RegistrationClosed(Conflict):
    """After the session's ``registration_closes_at`` (without one: once it has started)."""

    code = "registration_closed"
    message = N_("Registration for this training is closed.")


class SessionNotOpenForRegistration(Conflict):
    """The session is a draft or cancelled."""

    code = "session_not_open"
    message = N_("This training is not taking registrations.")


class InvitationRequired(ValidationFailed):
    """An invite-only session, and no valid invitation code."""

    code = "invitation_required"

    def __init__(self) -> None:
        super().__init__(
            {
                "invitation_code": N_(
                    "This training is by invitation only. Enter your invitation code."
                )
            },
            N_("This training is by invitation only."),
        )


class InvitationInvalid(ValidationFailed):
    """A code that is no invitation to this session (or a personal invitation for another email)."""

    code = "invitation_invalid"

    def __init__(self) -> None:
        super().__init__(
            {"invitation_code": N_("This invitation code is not valid for this training.")}
        )


class InvitationUsedUp(ValidationFailed):
    """An organisation's code whose seats have all been taken."""

    code = "invitation_used_up"

    def __init__(self) -> None:
        super().__init__(
            {"invitation_code": N_("All the seats of this invitation code have been taken.")}
        )


class InvitationWithdrawn(ValidationFailed):
    """An invitation the organisers revoked: its link and code no longer give a seat."""

    code = "invitation_withdrawn"
    message = N_(
        "This invitation has been withdrawn by the organisers. If you think this is a "
        "mistake, ask the person who invited you."
    )

    def __init__(self) -> None:
        super().__init__({"invitation_code": N_("This invitation has been withdrawn.")})


class InvitationNotFound(NotFound):
    """No invitation with this id at this session."""

    code = "invitation_not_found"
    message = N_("We could not find this invitation.")


class InvitationClosed(Conflict):
    """Resending or revoking an invitation that is used, expired or already revoked."""

    code = "invitation_closed"
    message = N_("This invitation is no longer open: it was used, has expired or was revoked.")


class LinkExpired(NotFound):
    """A joining or "my registrations" link that is forged, too old or already used."""

    code = "link_expired"
    message = N_(
        "This link is no longer valid: it may be old or already used. "
        "Ask for a new one on the “Lost your link?” page."
    )
