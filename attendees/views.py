"""What the staff registration pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from attendees.models import Registration, RegistrationStatus, Sector
from events.models import Session


@dataclass(frozen=True)
class SessionRoster:
    confirmed: list[Registration]
    waitlisted: list[Registration]
    cancelled: list[Registration]
    by_sector: dict[Sector, int]


async def roster(session: Session) -> SessionRoster:
    registrations = await Registration.filter(session_id=session.id)
    confirmed = [r for r in registrations if r.status == RegistrationStatus.CONFIRMED]
    waitlisted = sorted(
        (r for r in registrations if r.status == RegistrationStatus.WAITLISTED),
        key=lambda r: (r.waitlisted_at or datetime.min.replace(tzinfo=UTC), r.id),
    )
    cancelled = [r for r in registrations if r.status == RegistrationStatus.CANCELLED]
    by_sector = dict.fromkeys(Sector, 0)
    for registration in confirmed + waitlisted:
        by_sector[registration.sector] += 1
    return SessionRoster(confirmed, waitlisted, cancelled, by_sector)
