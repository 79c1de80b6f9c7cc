"""What the staff registration pages show."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from attendees.models import Registration, RegistrationStatus, Sector
from attendees.registration import WAITLIST_ORDER
from events.models import Session


@dataclass(frozen=True)
class SessionRoster:
    confirmed: list[Registration]
    waitlisted: list[Registration]  # in the waitlist's order: the first is next
    cancelled: list[Registration]
    by_sector: dict[Sector, int]

    def with_positions(self) -> Iterator[tuple[Registration, int | None]]:
        """Every registration with its waitlist position (None unless waiting): confirmed,
        then waiting in order, then cancelled — as the API and the CSV list them."""
        yield from ((r, None) for r in self.confirmed)
        yield from ((r, index + 1) for index, r in enumerate(self.waitlisted))
        yield from ((r, None) for r in self.cancelled)


async def roster(session: Session) -> SessionRoster:
    registrations = await Registration.filter(session_id=session.id).order_by("id")
    confirmed = [r for r in registrations if r.status == RegistrationStatus.CONFIRMED]
    waitlisted = await Registration.filter(
        session_id=session.id, status=RegistrationStatus.WAITLISTED
    ).order_by(*WAITLIST_ORDER)
    cancelled = [r for r in registrations if r.status == RegistrationStatus.CANCELLED]
    by_sector = dict.fromkeys(Sector, 0)
    for registration in confirmed + waitlisted:
        by_sector[registration.sector] += 1
    return SessionRoster(confirmed, waitlisted, cancelled, by_sector)
