"""The JSON shape of teams, modules and progress, and its OpenAPI description."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from curricula.progress import Matrix


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def matrix_json(matrix: Matrix) -> dict[str, Any]:
    return {
        "team_id": matrix.team.id,
        "curriculum": matrix.curriculum.code,
        "modules": [
            {
                "id": module.id,
                "name_km": module.name_km,
                "name_en": module.name_en,
                "percent_done": matrix.module_percent[module.id],
            }
            for module in matrix.modules
        ],
        "members": [
            {
                "member_id": row.member.id,
                "chosen_name": row.person.chosen_name,
                "percent_done": row.percent,
                "modules": [
                    {
                        "module_id": module.id,
                        "status": row.cells[module.id].status.value,
                        "completed_at": _moment(row.cells[module.id].completed_at),
                        "how": row.cells[module.id].how or None,
                    }
                    for module in matrix.modules
                ],
                "next_module_id": row.next_module.id if row.next_module else None,
                "next_session_id": row.next_session.id if row.next_session else None,
            }
            for row in matrix.rows
        ],
    }


_STATUS = {"type": "string", "enum": ["done", "booked", "not_started", "blocked"]}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Module": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "position": {"type": "integer"},
            "name_km": {"type": "string"},
            "name_en": {"type": "string"},
            "topics": {"type": "array", "items": {"type": "string"}},
            "prerequisites": {"type": "array", "items": {"type": "integer"}},
            "archived": {"type": "boolean"},
        },
    },
    "ModuleInput": {
        "type": "object",
        "properties": {
            "name_km": {"type": "string"},
            "name_en": {"type": "string"},
            "position": {"type": "integer"},
            "topics": {"type": "array", "items": {"type": "string"}, "description": "topic codes"},
            "prerequisites": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "Curriculum": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "code": {"type": "string"},
            "name_km": {"type": "string"},
            "name_en": {"type": "string"},
            "modules": {"type": "array", "items": {"$ref": "#/components/schemas/Module"}},
        },
    },
    "TeamInput": {
        "type": "object",
        "required": ["name", "leader_emails"],
        "properties": {
            "name": {"type": "string", "maxLength": 120},
            "leader_emails": {"type": "array", "items": {"type": "string", "format": "email"}},
            "curriculum": {"type": "string", "description": "code; default team_building"},
        },
    },
    "Member": {
        "type": "object",
        "description": "A member who confirmed, or a pending request: then only id, status and "
        "added_at are set, whoever the request is for. Never an email or a phone.",
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["pending", "confirmed"]},
            "chosen_name": {"type": ["string", "null"]},
            "has_email": {"type": ["boolean", "null"]},
            "added_at": {"type": "string", "format": "date-time"},
            "confirmed_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "MemberInput": {
        "type": "object",
        "description": "An email or a phone number (the email when both are given). The "
        "person holding it on file is asked by email to confirm.",
        "properties": {"email": {"type": "string"}, "phone": {"type": "string"}},
    },
    "MarkInput": {
        "type": "object",
        "required": ["module_id", "completed_on"],
        "properties": {
            "module_id": {"type": "integer"},
            "completed_on": {"type": "string", "format": "date"},
            "note": {"type": "string", "maxLength": 300},
        },
    },
    "Team": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "curriculum": {"type": "string"},
            "leader_emails": {"type": "array", "items": {"type": "string"}},
            "members": {"type": "array", "items": {"$ref": "#/components/schemas/Member"}},
        },
    },
    "Progress": {
        "type": "object",
        "properties": {
            "team_id": {"type": "integer"},
            "curriculum": {"type": "string"},
            "modules": {"type": "array", "items": {"type": "object"}},
            "members": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "member_id": {"type": "integer"},
                        "chosen_name": {"type": "string"},
                        "percent_done": {"type": "integer"},
                        "modules": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "module_id": {"type": "integer"},
                                    "status": _STATUS,
                                    "completed_at": {"type": ["string", "null"]},
                                },
                            },
                        },
                        "next_module_id": {"type": ["integer", "null"]},
                        "next_session_id": {"type": ["integer", "null"]},
                    },
                },
            },
        },
    },
}
