"""Team membership by consent: a team leader asks, the person says yes or no.

Knowing someone's email or phone must not let a team leader see what they attended, nor
even learn whether they ever registered. So adding a member only makes a *request*:

    add_member             for a contact the leader typed; the answer, and everything the
                           leader sees afterwards, is the same whether or not anyone holds it
    add_candidate          for someone picked among the people checked in at the leader's
                           own sessions (the leader knows them by name already)
    request_confirmations  asks every pending person again (at most once a day each); a
                           request made before anyone held its contact finds its person now
    confirm, decline       from the single-use link emailed to the person (/teams/join/…)
    confirm_in_person      an admin, for someone without an email, after asking them

The holder of a contact is the person whose contact on file it is (``Person.email`` /
``Person.phone``), and only the email on file is ever written to. A request shows the leader
what they typed or picked (``invited_as``) and nothing else until the person confirms; only
then do their name and progress appear (``curricula/progress.py`` reads confirmed rows only).

Requests the leader made by typing a contact never change visibly except by confirmation:
one that nobody holds, or whose person declined, or that ended in another row's membership,
stays a request without a person. Picked requests (and those from before consent existed)
name a person the leader knows already: they are removed when that person declines or
joins through another request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from itsdangerous import BadSignature, URLSafeTimedSerializer
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from attendees.forms import normalise_phone
from attendees.models import Person
from curricula.errors import (
    AlreadyAsked,
    JoinLinkInvalid,
    MemberPending,
    NobodyToConfirm,
    TeamNotFound,
)
from curricula.models import Team, TeamMember
from sala import audit, db, links, mail
from sala.config import Settings
from sala.errors import PermissionDenied, ValidationFailed
from sala.forms import normalise_email
from sala.i18n import N_
from sala.models import Role, StaffUser

MEMBERSHIP_MAIL = "team_membership_request_to_member"
JOIN_LINK_DAYS = 30
ASK_AGAIN_AFTER = timedelta(days=1)
_MAX_TOKEN = 300

# ----------------------------------------------------------------------------- the link


@cache
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="sala.team.join")


def join_url(member: TeamMember, settings: Settings, *, language: str = "") -> str:
    """The person's link to say yes or no, opening in their language; it works once, while
    the request is pending."""
    token = _serializer(settings.secret_key).dumps([member.id, member.join_key])
    query = {"lang": language} if language else None
    return links.absolute_url(settings, "team_join", token=token, query=query)


async def member_for_token(token: str, settings: Settings) -> TeamMember:
    """The pending request of a link, with its team, person and asker; ``JoinLinkInvalid``
    when the link is forged, too old, already used or the request was withdrawn."""
    if len(token) > _MAX_TOKEN:
        raise JoinLinkInvalid()
    try:
        member_id, key = _serializer(settings.secret_key).loads(
            token, max_age=JOIN_LINK_DAYS * 24 * 3600
        )
    except (BadSignature, ValueError, TypeError) as exc:
        raise JoinLinkInvalid() from exc
    if not isinstance(member_id, int) or not isinstance(key, str) or not key:
        raise JoinLinkInvalid()
    member = await TeamMember.get_or_none(
        id=member_id, join_key=key, confirmed_at=None, person_id__isnull=False
    ).select_related("team", "person", "added_by")
    if member is None:
        raise JoinLinkInvalid()
    return member


# ----------------------------------------------------------------------------- asking


def read_contact(*, email: str = "", phone: str = "") -> str:
    """The contact a leader typed, normalised: the email when there is one, else the phone."""
    try:
        contact = normalise_email(email or "") or normalise_phone(phone or "")
    except ValueError as exc:
        raise ValidationFailed(
            {"contact": N_("Enter a valid email address or phone number.")}
        ) from exc
    if not contact:
        raise ValidationFailed({"contact": N_("Enter an email address or a phone number.")})
    return contact


def read_contact_field(contact: str) -> str:
    """The page's one field: an email when it has an @, else a phone number."""
    contact = contact.strip()
    return read_contact(email=contact) if "@" in contact else read_contact(phone=contact)


async def _holder(team: Team, contact: str) -> Person | None:
    """The person whose contact on file this is, unless they are a member already (then the
    request stays without a person, as for a contact nobody holds)."""
    if "@" in contact:
        person = await Person.get_or_none(email=contact)
    else:
        person = await Person.get_or_none(phone=contact)
    if person is None or await _is_member(team.id, person.id):
        return None
    return person


async def _is_member(team_id: int, person_id: int) -> bool:
    return await TeamMember.filter(
        team_id=team_id, person_id=person_id, confirmed_at__isnull=False
    ).exists()


async def add_member(
    team: Team, contact: str, *, staff: StaffUser, settings: Settings
) -> TeamMember:
    """A request to join for a contact the leader typed (see :func:`read_contact`).

    The holder of an email on file is asked at once by email. Whoever holds the contact, or
    if nobody does, the leader gets the same answer and later sees the same pending row."""
    if await TeamMember.filter(team_id=team.id, invited_contact=contact).exists():
        raise AlreadyAsked()
    person = await _holder(team, contact)
    try:
        async with in_transaction():
            member = await TeamMember.create(
                team=team, person=person, invited_as=contact, invited_contact=contact,
                added_by=staff,
            )  # fmt: skip
            await _ask(member, team=team, asker=staff, settings=settings)
            await audit.record(staff, "team.member_add", team, {"member": member.id})
    except IntegrityError as exc:  # the same contact added at the same moment
        raise AlreadyAsked() from exc
    return member


async def add_candidate(
    team: Team, person: Person, *, staff: StaffUser, settings: Settings
) -> TeamMember:
    """A request for someone the leader picked by name (``services.candidate``)."""
    async with in_transaction():
        member = await TeamMember.create(
            team=team, person=person, invited_as=person.chosen_name, added_by=staff
        )
        await _ask(member, team=team, asker=staff, settings=settings)
        await audit.record(staff, "team.member_add", team, {"member": member.id})
    return member


async def _ask(
    member: TeamMember,
    *,
    team: Team,
    asker: StaffUser | None,
    settings: Settings,
    now: datetime | None = None,
) -> bool:
    """Queue the confirmation email, in the caller's transaction, when the request has a
    person with an email on file who was not asked for this team within a day."""
    person = member.person
    if person is None or not person.email or member.declined_at is not None:
        return False
    now = now or datetime.now(UTC)
    recently = await TeamMember.filter(
        team_id=team.id, person_id=person.id, requested_at__gte=now - ASK_AGAIN_AFTER
    ).exists()
    if recently:
        return False
    member.join_key = member.join_key or secrets.token_hex(16)
    member.requested_at = now
    await member.save(update_fields=["join_key", "requested_at"])
    await mail.enqueue(
        MEMBERSHIP_MAIL,
        to=person.email,
        language=person.language,
        params={"member_id": member.id, "asked_by": asker.id if asker else None},
        domain=settings.domain,
    )
    return True


async def request_confirmations(team: Team, *, staff: StaffUser, settings: Settings) -> int:
    """Ask every pending person of the team again (the page's "ask again" button; also how
    rows made before consent existed get their first email). A typed request without a
    person looks its contact up again: whoever registered with it since is asked now."""
    asked = 0
    pending = await TeamMember.filter(
        team_id=team.id, confirmed_at=None, declined_at=None
    ).select_related("person")
    async with in_transaction():
        for member in pending:
            if member.person is None and member.invited_contact:
                member.person = await _holder(team, member.invited_contact)
                if member.person is None:
                    continue
                await TeamMember.filter(id=member.id, person_id__isnull=True).update(
                    person_id=member.person.id
                )
            asked += await _ask(member, team=team, asker=staff, settings=settings)
        await audit.record(staff, "team.members_asked", team, {"asked": asked})
    return asked


# ----------------------------------------------------------------------------- answering


async def confirm(member: TeamMember, *, staff: StaffUser | None = None) -> TeamMember:
    """The person said yes (through their link, or to an admin in person): the team sees
    their progress from now on. Their other requests in the team are let go."""
    person = member.person
    if person is None:
        raise NobodyToConfirm()
    team_id: int = member.team_id  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    async with in_transaction() as connection:
        # One membership per person and team: two links clicked at once confirm one.
        await db.lock_row(connection, "team", team_id)
        if await _is_member(team_id, person.id):  # joined through another request meanwhile
            await _let_go(team_id, person.id, declined_at=None)
            return member
        done = await TeamMember.filter(id=member.id, person_id=person.id, confirmed_at=None).update(
            confirmed_at=now, join_key=None
        )
        if not done:
            raise JoinLinkInvalid()
        await _let_go(team_id, person.id, declined_at=None, keep=member.id)
        await audit.record(staff, "team.member_confirm", member, {"in_person": staff is not None})
    member.confirmed_at, member.join_key = now, None
    return member


async def decline(member: TeamMember) -> None:
    """The person said no: nothing ties them to the team any more. The leader's typed
    requests stay as they were (unanswered, as if nobody held the contact); picked ones go."""
    person = member.person
    if person is None:
        raise JoinLinkInvalid()
    team_id: int = member.team_id  # type: ignore[attr-defined]
    async with in_transaction():
        await _let_go(team_id, person.id, declined_at=datetime.now(UTC))
        await audit.record(None, "team.member_decline", member)


async def _let_go(
    team_id: int, person_id: int, *, declined_at: datetime | None, keep: int | None = None
) -> None:
    """Untie a person's pending requests in a team (but ``keep``): typed ones lose their
    person and link, picked ones are removed."""
    pending = TeamMember.filter(team_id=team_id, person_id=person_id, confirmed_at=None)
    if keep is not None:
        pending = pending.exclude(id=keep)
    await pending.filter(invited_contact__isnull=False).update(
        person_id=None, join_key=None, declined_at=declined_at
    )
    await (
        TeamMember.filter(
            team_id=team_id, person_id=person_id, confirmed_at=None, invited_contact__isnull=True
        )
        .exclude(id=keep or 0)
        .delete()
    )


async def confirm_in_person(team: Team, member: TeamMember, *, staff: StaffUser) -> TeamMember:
    """An admin confirms someone who said yes in person (people without an email cannot
    get the link). Team leaders may not: the person's consent is not theirs to give."""
    if staff.role != Role.ADMIN:
        raise PermissionDenied()
    if member.confirmed:
        return member
    return await confirm(member, staff=staff)


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class PendingRequest:
    """A request as one staff member sees it: ``label`` is what they typed or picked
    themselves (admins: any), else empty. Nothing else about the person, whoever it is."""

    member: TeamMember
    label: str


async def pending_requests(team: Team, *, viewer: StaffUser) -> list[PendingRequest]:
    """The team's requests not confirmed yet, oldest first."""
    rows = await TeamMember.filter(team_id=team.id, confirmed_at=None).order_by("id")
    return [
        PendingRequest(
            row,
            row.invited_as
            if viewer.role == Role.ADMIN or row.added_by_id == viewer.id  # type: ignore[attr-defined]
            else "",
        )
        for row in rows
    ]


async def get_member(team: Team, member_id: int) -> TeamMember:
    """A row of this team, pending or confirmed, with its person (or none)."""
    member = await TeamMember.get_or_none(team_id=team.id, id=member_id).select_related("person")
    if member is None:
        raise TeamNotFound()
    return member


def require_confirmed(member: TeamMember) -> Person:
    """The person of a member who said yes. A pending request gets the same 409 whoever it
    is for: nothing is shown or recorded about someone who has not agreed."""
    if not member.confirmed or member.person is None:
        raise MemberPending()
    return member.person


async def confirmed_members() -> set[int]:
    """The retention purge spares people who joined a team (their progress is their
    registrations); a pending request keeps nobody."""
    rows = await TeamMember.filter(confirmed_at__isnull=False, person_id__isnull=False).values(
        "person_id"
    )
    return {int(row["person_id"]) for row in rows}
