"""The JSON shape of registrations and invitations, and its OpenAPI description."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from attendees.models import (
    AgeBand,
    GenderIdentity,
    Invitation,
    Province,
    Registration,
    RegistrationStatus,
    Sector,
)


def registration_json(registration: Registration, *, position: int | None) -> dict[str, Any]:
    return {
        "id": registration.id,
        "session_id": registration.session_id,  # type: ignore[attr-defined]
        "chosen_name": registration.chosen_name,
        "sector": registration.sector.value,
        "status": registration.status.value,
        "waitlist_position": position,
        "checked_in_at": (
            registration.checked_in_at.isoformat() if registration.checked_in_at else None
        ),
        "created_at": registration.created_at.isoformat(),
    }


def invitation_json(invitation: Invitation, *, status: str | None = None) -> dict[str, Any]:
    """An invitation; ``status`` (``attendees.invitations.invitation_status``) when known."""
    return {
        "id": invitation.id,
        "session_id": invitation.session_id,  # type: ignore[attr-defined]
        "kind": invitation.kind.value,
        "code": invitation.code,
        "email": invitation.email or None,
        "organisation": invitation.organisation or None,
        "seats": invitation.seats,
        "used": invitation.used,
        **({"status": status} if status is not None else {}),
    }


_STATUS = {"type": "string", "enum": [s.value for s in RegistrationStatus]}


def _optional_choice(choices: type[StrEnum], description: str) -> dict[str, Any]:
    """An optional answer for the reports: one of ``choices``; empty or null: not given."""
    return {
        "type": ["string", "null"],
        "enum": ["", None, *(choice.value for choice in choices)],
        "description": f"Optional: {description}.",
    }


REGISTRATION_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["chosen_name", "sector", "consent"],
    "description": "At least one of email and phone. `province`, `age_band` and "
    "`gender_identity` are optional and feed only the reach reports (small counts hidden): "
    "no answer about one person returns them but the person's own data export.",
    "properties": {
        "chosen_name": {"type": "string", "maxLength": 120},
        "pronouns": {"type": "string", "maxLength": 40},
        "email": {"type": "string", "format": "email"},
        "phone": {"type": "string", "example": "012 345 678"},
        "sector": {"type": "string", "enum": [s.value for s in Sector]},
        "organisation": {"type": "string", "maxLength": 200},
        "language": {"type": "string", "enum": ["km", "en"]},
        "accessibility_needs": {"type": "string", "maxLength": 500},
        "consent": {"type": "boolean", "const": True},
        "invitation_code": {"type": "string"},
        "province": _optional_choice(
            Province, "where the person lives (`abroad`: outside Cambodia)"
        ),
        "age_band": _optional_choice(AgeBand, "the person's age group"),
        "gender_identity": _optional_choice(
            GenderIdentity, "`self_described` goes with `gender_identity_text`"
        ),
        "gender_identity_text": {
            "type": ["string", "null"],
            "maxLength": 60,
            "description": "Optional: the person's own words, kept only with `gender_identity` "
            "`self_described` (or none given, which then becomes it).",
        },
    },
}

REGISTRATION_RECEIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "manage_url"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["confirmed", "waitlisted"]},
        "waitlist_position": {"type": ["integer", "null"]},
        "manage_url": {"type": "string", "description": "the person's private link"},
        "created": {
            "type": "boolean",
            "description": "always true: every answer is a new registration, whoever else "
            "registered with this contact",
        },
    },
}

REGISTRATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "session_id": {"type": "integer"},
        "chosen_name": {"type": "string"},
        "sector": {"type": "string"},
        "status": _STATUS,
        "waitlist_position": {"type": ["integer", "null"]},
        "checked_in_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}

CANCELLATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "registration": {"$ref": "#/components/schemas/Registration"},
        "promoted": {"type": "array", "items": {"$ref": "#/components/schemas/Registration"}},
    },
}

INVITATION_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One of: `email` (personal, one seat), `organisation` with `seats`, "
    "or `emails` (a personal invitation each).",
    "properties": {
        "email": {"type": "string", "format": "email"},
        "organisation": {"type": "string"},
        "seats": {"type": "integer", "minimum": 1, "maximum": 1000},
        "emails": {"type": "array", "items": {"type": "string"}},
        "language": {
            "type": "string",
            "enum": ["km", "en"],
            "description": "the email's language (personal invitations; default: the inviter's)",
        },
    },
}

INVITATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "session_id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["personal", "organisation"]},
        "code": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "organisation": {"type": ["string", "null"]},
        "seats": {"type": "integer"},
        "used": {"type": "integer"},
        "status": {"type": "string", "enum": ["sent", "open", "used", "expired", "revoked"]},
    },
}

SCHEMAS = {
    "RegistrationInput": REGISTRATION_INPUT_SCHEMA,
    "RegistrationReceipt": REGISTRATION_RECEIPT_SCHEMA,
    "Registration": REGISTRATION_SCHEMA,
    "Cancellation": CANCELLATION_SCHEMA,
    "InvitationInput": INVITATION_INPUT_SCHEMA,
    "Invitation": INVITATION_SCHEMA,
}
