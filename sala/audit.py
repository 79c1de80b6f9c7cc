"""The audit log: who changed what, when. Called inside the service's own transaction."""

from __future__ import annotations

from typing import Any

from tortoise.models import Model

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
