"""The audit log: who changed what, when. Called inside the service's own transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tortoise.models import Model

from sala.db import Query
from sala.models import AuditEntry, StaffUser


async def record(
    actor: StaffUser | None, action: str, target: Model, details: dict[str, Any] | None = None
) -> None:
    await AuditEntry.create(
        actor=actor,
        action=action,
        object_type=type(target).__name__,
        object_id=str(target.pk),
        details=details or {},
    )


def entry_insert(
    actor_id: int, action: str, object_type: str, object_id: int, details: dict[str, Any]
) -> Query:
    """The same entry as :func:`record`, as a statement for a transaction written as steps."""
    return Query(
        "INSERT INTO audit_entry (actor_id, action, object_type, object_id, details, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [actor_id, action, object_type, str(object_id), json.dumps(details), datetime.now(UTC)],
        returns_row=False,
    )
