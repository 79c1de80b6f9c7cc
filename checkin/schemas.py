"""The JSON shape of check-in: the scanner's offline list, scans and answers, and its
OpenAPI description."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from attendees.models import Registration, RegistrationStatus
from checkin.models import ScanResult
from checkin.services import name_search_key, offline_list_expiry
from checkin.tickets import TicketKeys
from events.models import Session
from sala.models import StaffUser


async def checkin_list_for(session: Session, keys: TicketKeys, staff: StaffUser) -> dict[str, Any]:
    """Everything a scanner needs to decide offline, and nothing more: no contact data.

    A token is valid offline when it verifies with one of ``public_keys`` and names a ticket
    in ``tickets`` with status ``confirmed``: a version-2 token by its ``ticket_id``, a
    version-1 token (issued before ticket ids) by its registration id and seed. A cancelled
    registration is not in ``tickets``: its registration id is in ``revocations`` and its
    ticket id in ``revoked_ticket_ids``; a replaced ticket is in neither list.

    The phone keeps the list (names) only for ``staff_id``'s login and only until
    ``expires_at``, 12 hours after the session ends.
    """
    rows = await Registration.filter(session_id=session.id, anonymised_at=None).values(
        "id",
        "ticket_id",
        "ticket_seed",
        "chosen_name",
        "status",
        "checked_in_at",
        "checked_in_by__name",
    )
    confirmed = [row for row in rows if row["status"] == RegistrationStatus.CONFIRMED]
    cancelled = [row for row in rows if row["status"] == RegistrationStatus.CANCELLED]
    return {
        "session_id": session.id,
        "staff_id": staff.id,
        "generated_at": datetime.now(UTC).isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "expires_at": offline_list_expiry(session).isoformat(),
        "capacity": session.capacity,
        "counts": {
            "confirmed": len(confirmed),
            "checked_in": sum(1 for row in confirmed if row["checked_in_at"]),
        },
        "tickets": [
            {
                "registration_id": row["id"],
                "ticket_id": row["ticket_id"],
                "seed": row["ticket_seed"],
                "chosen_name": row["chosen_name"],
                "search_key": name_search_key(row["chosen_name"]),
                "status": row["status"],
                "checked_in_at": row["checked_in_at"].isoformat() if row["checked_in_at"] else None,
                "checked_in_by": row["checked_in_by__name"],
            }
            for row in rows
            if row["status"] != RegistrationStatus.CANCELLED
        ],
        "revocations": [row["id"] for row in cancelled],
        "revoked_ticket_ids": [row["ticket_id"] for row in cancelled if row["ticket_id"]],
        "public_keys": {
            str(key_id): base64.b64encode(raw).decode()
            for key_id, raw in keys.public_keys_raw().items()
        },
    }


_SCAN = {
    "type": "object",
    "required": ["session_id", "scan_id"],
    "description": "A ticket (token), or a person checked in by name (registration_id).",
    "properties": {
        "token": {"type": "string", "description": "the text of the ticket's QR code"},
        "registration_id": {
            "type": "integer",
            "description": "instead of a token: check this registration in by name",
        },
        "session_id": {"type": "integer"},
        "scan_id": {
            "type": "string",
            "description": "made by the device; 8-64 of A-Z a-z 0-9 _ . : -",
        },
        "scanned_at": {
            "type": "string",
            "format": "date-time",
            "description": "when the phone read it; recorded as the arrival time if within "
            "the last two days (offline queues)",
        },
        "device_id": {"type": "string", "maxLength": 64},
    },
}
_ANSWER = {
    "type": "object",
    "required": ["scan_id", "result"],
    "properties": {
        "scan_id": {"type": "string"},
        "result": {"type": "string", "enum": [r.value for r in ScanResult]},
        "registration_id": {"type": ["integer", "null"]},
        "chosen_name": {"type": ["string", "null"]},
        "checked_in_at": {"type": ["string", "null"], "format": "date-time"},
        "checked_in_by": {"type": ["string", "null"]},
    },
}
CHECKIN_INPUT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        _SCAN,
        {
            "type": "object",
            "required": ["scans"],
            "properties": {"scans": {"type": "array", "items": _SCAN, "maxItems": 500}},
        },
    ]
}
CHECKIN_ANSWER_SCHEMA: dict[str, Any] = {
    "oneOf": [
        _ANSWER,
        {"type": "object", "properties": {"results": {"type": "array", "items": _ANSWER}}},
    ]
}
CHECKIN_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "session_id": {"type": "integer"},
        "staff_id": {
            "type": "integer",
            "description": "whose login fetched it: the phone keeps it for that login only",
        },
        "generated_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time", "description": "the session's end"},
        "expires_at": {
            "type": "string",
            "format": "date-time",
            "description": "12 hours after the session ends: a phone deletes the list then",
        },
        "capacity": {"type": "integer"},
        "tickets": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "registration_id": {"type": "integer"},
                    "ticket_id": {
                        "type": ["string", "null"],
                        "description": "what a version-2 ticket carries (24 hex characters); "
                        "null until the registration's first ticket is made",
                    },
                    "seed": {"type": "integer", "description": "checks version-1 tickets"},
                    "chosen_name": {"type": "string"},
                    "search_key": {
                        "type": "string",
                        "description": "the name as the search compares it: no case, accents, "
                        "spaces or zero-width characters (checkin.services.name_search_key)",
                    },
                    "status": {"type": "string", "enum": ["confirmed", "waitlisted"]},
                    "checked_in_at": {"type": ["string", "null"], "format": "date-time"},
                    "checked_in_by": {"type": ["string", "null"], "description": "staff name"},
                },
            },
        },
        "revocations": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "registration ids of cancelled registrations",
        },
        "revoked_ticket_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "ticket ids of cancelled registrations",
        },
        "public_keys": {
            "type": "object",
            "additionalProperties": {"type": "string", "description": "raw Ed25519, base64"},
        },
    },
}

SCHEMAS = {
    "CheckinInput": CHECKIN_INPUT_SCHEMA,
    "CheckinAnswer": CHECKIN_ANSWER_SCHEMA,
    "CheckinList": CHECKIN_LIST_SCHEMA,
}
