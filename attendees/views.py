"""What the registration pages show: the staff roster, and the choices of the optional
answers on the registration form and the manage page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from attendees.forms import ReachAnswers
from attendees.models import (
    AgeBand,
    GenderIdentity,
    Province,
    Registration,
    RegistrationStatus,
    Sector,
)
from attendees.registration import WAITLIST_ORDER
from checkin.services import WALK_IN_DEVICE
from events.models import Session
from sala.i18n import N_, gettext

WALK_IN = N_("walk-in")
DOOR_PHONE = N_("door phone %(device)s")
TOTAL = N_("Total")

# The optional answers' fields for the reports, as the forms name them.
REACH = tuple(ReachAnswers.__annotations__)
# Their choices, in the order the forms list them (``Province``'s own: the capital, the
# provinces, then abroad). The template ``attendees/_reach_fields.html`` takes this as
# ``choices``.
REACH_CHOICES: dict[str, tuple[StrEnum, ...]] = {
    "province": tuple(Province),
    "age_band": tuple(AgeBand),
    "gender_identity": tuple(GenderIdentity),
}


@dataclass(frozen=True)
class SessionRoster:
    confirmed: list[Registration]
    waitlisted: list[Registration]  # in the waitlist's order: the first is next
    cancelled: list[Registration]
    by_sector: dict[Sector, int]
    attended_by_sector: dict[Sector, int]  # confirmed and checked in

    def with_positions(self) -> Iterator[tuple[Registration, int | None]]:
        """Every registration with its waitlist position (None unless waiting): confirmed,
        then waiting in order, then cancelled — as the API and the CSV list them."""
        yield from ((r, None) for r in self.confirmed)
        yield from ((r, index + 1) for index, r in enumerate(self.waitlisted))
        yield from ((r, None) for r in self.cancelled)

    @property
    def attended(self) -> int:
        return sum(self.attended_by_sector.values())


async def roster(session: Session) -> SessionRoster:
    registrations = (
        await Registration.filter(session_id=session.id)
        .order_by("id")
        .prefetch_related("checked_in_by")
    )
    confirmed = [r for r in registrations if r.status == RegistrationStatus.CONFIRMED]
    waitlisted = await Registration.filter(
        session_id=session.id, status=RegistrationStatus.WAITLISTED
    ).order_by(*WAITLIST_ORDER)
    cancelled = [r for r in registrations if r.status == RegistrationStatus.CANCELLED]
    by_sector = dict.fromkeys(Sector, 0)
    for registration in confirmed + waitlisted:
        by_sector[registration.sector] += 1
    attended_by_sector = dict.fromkeys(Sector, 0)
    for registration in confirmed:
        if registration.checked_in_at is not None:
            attended_by_sector[registration.sector] += 1
    return SessionRoster(confirmed, waitlisted, cancelled, by_sector, attended_by_sector)


def checked_in_by(registration: Registration) -> str:
    """Who checked the person in, as staff read it: the staff member's name (with
    "walk-in" for someone registered at the door), else the way it was done."""
    if registration.checked_in_at is None:
        return ""
    staff = registration.checked_in_by
    walk_in = registration.checked_in_device == WALK_IN_DEVICE
    if staff is not None:
        return f"{staff.name} · {gettext(WALK_IN)}" if walk_in else staff.name
    if walk_in:
        return gettext(WALK_IN)
    if registration.checked_in_device:
        return gettext(DOOR_PHONE, device=registration.checked_in_device[:8])
    return ""
