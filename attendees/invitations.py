"""Invitations to invite-only sessions: personal (one email, one seat) or for an
organisation (a code with N seats)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from attendees.models import Invitation, InvitationKind
from events.models import Session
from sala import audit, mail
from sala.config import Settings
from sala.errors import ValidationFailed
from sala.forms import normalise_email
from sala.i18n import N_
from sala.models import StaffUser

INVITATION_MAIL = "invitation_to_invitee"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
CODE_LENGTH = 10
MAX_SEATS = 1000
MAX_BULK = 500


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class BulkResult:
    invitations: list[Invitation]
    skipped: list[str]


async def invite_person(
    session: Session,
    *,
    email: str,
    actor: StaffUser,
    settings: Settings,
    language: str | None = None,
) -> Invitation:
    """Invite one person (one seat), by email in ``language`` (else the inviter's)."""
    try:
        address = normalise_email(email)
    except ValueError:
        address = None
    if not address:
        raise ValidationFailed({"email": N_("Enter a valid email address.")})
    async with in_transaction():
        invitation = await Invitation.create(
            session=session,
            kind=InvitationKind.PERSONAL,
            code=new_code(),
            email=address,
            seats=1,
            created_by=actor,
        )
        await mail.enqueue(
            INVITATION_MAIL,
            to=address,
            language=language or (actor.language if actor.language in ("km", "en") else "km"),
            params={"invitation_id": invitation.id},
            domain=settings.domain,
        )
        await audit.record(actor, "invitation.create", invitation, {"kind": "personal"})
    return invitation


async def invite_organisation(
    session: Session, *, organisation: str, seats: int, actor: StaffUser
) -> Invitation:
    errors = {}
    if not organisation.strip() or len(organisation) > 200:
        errors["organisation"] = N_("Enter the organisation's name (at most 200 characters).")
    if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS:
        errors["seats"] = N_("Enter a number in the allowed range.")
    if errors:
        raise ValidationFailed(errors)
    async with in_transaction():
        invitation = await Invitation.create(
            session=session,
            kind=InvitationKind.ORGANISATION,
            code=new_code(),
            organisation=organisation.strip(),
            seats=seats,
            created_by=actor,
        )
        await audit.record(actor, "invitation.create", invitation, {"kind": "organisation"})
    return invitation


def split_emails(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text) if part]


async def invite_many(
    session: Session, *, emails: list[str], actor: StaffUser, settings: Settings
) -> BulkResult:
    """One personal invitation per valid address; invalid or repeated ones are listed back."""
    if not emails:
        raise ValidationFailed({"emails": N_("Paste at least one email address.")})
    if len(emails) > MAX_BULK:
        raise ValidationFailed({"emails": N_("At most 500 addresses at a time.")})
    already = {
        str(email)
        for email in await Invitation.filter(
            session_id=session.id, kind=InvitationKind.PERSONAL
        ).values_list("email", flat=True)
    }
    invitations: list[Invitation] = []
    skipped: list[str] = []
    for raw in emails:
        try:
            address = normalise_email(raw)
        except ValueError:
            address = None
        if not address or address in already:
            skipped.append(raw)
            continue
        already.add(address)
        invitations.append(
            await invite_person(session, email=address, actor=actor, settings=settings)
        )
    return BulkResult(invitations, skipped)


async def list_invitations(session: Session) -> list[Invitation]:
    return await Invitation.filter(session_id=session.id).order_by("-id")
