"""Invitations to invite-only sessions: personal (one email, one seat) or for an
organisation (a code with N seats); their status, resending and revoking.

Resending sends the same link again, in the language the inviter picks: a personal
invitation is bound to its address, so a copy of the link is no use to anyone else, and the
first email, found later, still works. An inviter who wants the old link dead revokes it
(the link then says so) and invites the address again, which makes a new code.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from tortoise.transactions import in_transaction

from attendees.errors import InvitationClosed, InvitationNotFound
from attendees.models import Invitation, InvitationKind
from attendees.registration import registration_window
from events.models import Session, SessionStatus
from sala import audit, mail
from sala.config import LANGUAGES, Settings
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


class InvitationStatus(StrEnum):
    SENT = "sent"  # a personal invitation, emailed, not used yet
    OPEN = "open"  # an organisation's code with seats left
    USED = "used"  # every seat taken
    EXPIRED = "expired"  # the session's registration closed, or the session was cancelled
    REVOKED = "revoked"


STATUS_NAMES = {
    InvitationStatus.SENT: N_("Sent"),
    InvitationStatus.OPEN: N_("Open"),
    InvitationStatus.USED: N_("Used"),
    InvitationStatus.EXPIRED: N_("Expired"),
    InvitationStatus.REVOKED: N_("Revoked"),
}


def invitation_status(
    invitation: Invitation, session: Session, *, now: datetime | None = None
) -> InvitationStatus:
    if invitation.revoked_at is not None:
        return InvitationStatus.REVOKED
    if invitation.used >= invitation.seats:
        return InvitationStatus.USED
    closed = registration_window(session, now).state == "closed"
    if closed or session.status == SessionStatus.CANCELLED:
        return InvitationStatus.EXPIRED
    if invitation.kind == InvitationKind.PERSONAL:
        return InvitationStatus.SENT
    return InvitationStatus.OPEN


def mail_language(language: str | None, actor: StaffUser) -> str:
    """The invitation email's language: the one chosen, else the inviter's."""
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed({"language": N_("Choose Khmer or English.")})
    return language or (actor.language if actor.language in LANGUAGES else "km")


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
    language = mail_language(language, actor)
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
            language=language,
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
    session: Session,
    *,
    emails: list[str],
    actor: StaffUser,
    settings: Settings,
    language: str | None = None,
) -> BulkResult:
    """One personal invitation per valid address, emailed in ``language`` (else the
    inviter's); invalid ones, and ones with an invitation not revoked, are listed back."""
    language = mail_language(language, actor)
    if not emails:
        raise ValidationFailed({"emails": N_("Paste at least one email address.")})
    if len(emails) > MAX_BULK:
        raise ValidationFailed({"emails": N_("At most 500 addresses at a time.")})
    already = {
        str(email)
        for email in await Invitation.filter(
            session_id=session.id, kind=InvitationKind.PERSONAL, revoked_at=None
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
            await invite_person(
                session, email=address, actor=actor, settings=settings, language=language
            )
        )
    return BulkResult(invitations, skipped)


async def list_invitations(session: Session) -> list[Invitation]:
    return await Invitation.filter(session_id=session.id).order_by("-id")


async def get_invitation(session: Session, invitation_id: int) -> Invitation:
    invitation = await Invitation.get_or_none(id=invitation_id, session_id=session.id)
    if invitation is None:
        raise InvitationNotFound()
    return invitation


async def resend_invitation(
    session: Session,
    invitation_id: int,
    *,
    actor: StaffUser,
    settings: Settings,
    language: str | None = None,
) -> Invitation:
    """Email a personal invitation again (the same link; see the module's docstring), in
    ``language``; only while it can still be used."""
    language = mail_language(language, actor)
    async with in_transaction():
        invitation = await get_invitation(session, invitation_id)
        if (
            invitation.kind != InvitationKind.PERSONAL
            or invitation_status(invitation, session) != InvitationStatus.SENT
        ):
            raise InvitationClosed()
        await mail.enqueue(
            INVITATION_MAIL,
            to=invitation.email,
            language=language,
            params={"invitation_id": invitation.id},
            domain=settings.domain,
        )
        await audit.record(actor, "invitation.resend", invitation, {"language": language})
    return invitation


async def revoke_invitation(
    session: Session, invitation_id: int, *, actor: StaffUser
) -> Invitation:
    """The invitation's link and code stop giving seats (registrations made with it stay);
    its emails not yet sent are not sent."""
    async with in_transaction():
        invitation = await get_invitation(session, invitation_id)
        if invitation.revoked_at is not None:
            raise InvitationClosed()
        invitation.revoked_at = datetime.now(UTC)
        await invitation.save(update_fields=["revoked_at"])
        await audit.record(actor, "invitation.revoke", invitation, {"used": invitation.used})
    return invitation


# What a code can look like; other text (a NUL from a link's query string) names none and
# never reaches the database, which would answer it with an error.
_CODE_SHAPE = re.compile(r"[A-Z0-9_-]{1,32}")


async def is_withdrawn(session: Session, code: str) -> bool:
    """Whether ``code`` is a revoked invitation of this session (its link says so)."""
    code = code.strip().upper()
    if not _CODE_SHAPE.fullmatch(code):
        return False
    return await Invitation.filter(
        session_id=session.id, code=code, revoked_at__isnull=False
    ).exists()
