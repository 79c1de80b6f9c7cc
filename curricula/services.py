"""Curricula, teams, manual marks and invitations: the rules, as plain async functions.

Who may see a team is decided in one place, :func:`get_team_for_staff`: admins see every
team, team leaders only the teams they lead, nobody else any. Who is a member, and when, is
``curricula/membership.py``: marks, invitations and certificates are for members who said
yes (``membership.require_confirmed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from attendees.invitations import invite_person
from attendees.models import Invitation, Person, Registration, RegistrationStatus
from certificates.models import Certificate
from certificates.services import issue_curriculum_certificate
from curricula.errors import (
    CertificateByAdminsOnly,
    CurriculumNotComplete,
    CurriculumNotFound,
    CyclicPrerequisites,
    ModuleHasProgress,
    TeamNotFound,
)
from curricula.membership import require_confirmed
from curricula.models import (
    CURRICULUM_CODE_MAX,
    Curriculum,
    ManualCompletion,
    Module,
    Team,
    TeamMember,
)
from curricula.progress import Matrix, team_matrix
from events.models import TOPIC_CODE_MAX, Audience, Session, SessionStatus, Topic
from sala import audit, db
from sala.config import Settings
from sala.errors import PermissionDenied, ValidationFailed
from sala.forms import FieldReader, normalise_email, parse_id
from sala.i18n import N_
from sala.models import Role, StaffUser

MAX_MODULES = 30

# ----------------------------------------------------------------------------- access


def may_see_teams(staff: StaffUser) -> bool:
    return staff.role in (Role.ADMIN, Role.TEAM_LEADER)


async def list_teams_for_staff(staff: StaffUser) -> list[Team]:
    if staff.role == Role.ADMIN:
        return await Team.all().prefetch_related("leaders", "curriculum").order_by("name", "id")
    if staff.role == Role.TEAM_LEADER:
        return (
            await Team.filter(leaders__id=staff.id)
            .prefetch_related("leaders", "curriculum")
            .order_by("name", "id")
        )
    return []


async def get_team_for_staff(staff: StaffUser, team_id: int) -> Team:
    """The team, if this staff member may see it: a 404 when there is none, a 403 when it
    is someone else's."""
    team = await Team.get_or_none(id=team_id).prefetch_related("leaders")
    if team is None:
        raise TeamNotFound()
    if staff.role == Role.ADMIN:
        return team
    if staff.role == Role.TEAM_LEADER and any(leader.id == staff.id for leader in team.leaders):
        return team
    raise PermissionDenied()


# ----------------------------------------------------------------------------- curricula


async def list_curricula() -> list[Curriculum]:
    return await Curriculum.all().order_by("id")


async def get_curriculum(curriculum_id: int) -> Curriculum:
    curriculum = await Curriculum.get_or_none(id=curriculum_id)
    if curriculum is None:
        raise CurriculumNotFound()
    return curriculum


def _has_cycle(edges: dict[int, set[int]]) -> bool:
    """Does following "requires" from some module lead back to it?"""
    visiting: set[int] = set()
    finished: set[int] = set()

    def visit(node: int) -> bool:
        if node in finished:
            return False
        if node in visiting:
            return True
        visiting.add(node)
        if any(visit(required) for required in edges.get(node, ())):
            return True
        visiting.discard(node)
        finished.add(node)
        return False

    return any(visit(node) for node in list(edges))


def module_input(raw: Mapping[str, Any]) -> dict[str, Any]:
    reader = FieldReader(raw)
    values: dict[str, Any] = {
        "name_km": reader.text("name_km", max_length=200),
        "name_en": reader.text("name_en", max_length=200),
        "position": reader.integer("position", minimum=0, maximum=1000)
        if raw.get("position") not in (None, "")
        else None,
    }
    if not values["name_km"] and not values["name_en"]:
        reader.fail("name_en", N_("Give the module a name in Khmer or English."))
    for key in ("topics", "prerequisites"):
        items = raw.get(key) or []
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            reader.fail(key, N_("Send a list."))
            items = []
        values[key] = [str(item) for item in items]
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return values


async def save_module(
    curriculum: Curriculum,
    values: dict[str, Any],
    *,
    staff: StaffUser,
    module: Module | None = None,
) -> Module:
    """Create or change a module. Cyclic prerequisites are refused; a topic taken away from
    a module whose completions came from it is refused too, so progress never vanishes."""
    # A code longer than any names no topic (and would be an error of the database's).
    codes = [code for code in values["topics"] if len(code) <= TOPIC_CODE_MAX]
    topics = await Topic.filter(code__in=codes)
    if len(topics) != len(set(values["topics"])) or not topics:
        raise ValidationFailed({"topics": N_("Pick at least one topic.")})
    if module is not None:
        await _refuse_losing_progress(module, {t.id for t in topics})
    async with in_transaction() as connection:
        # One editor of a curriculum's graph at a time: the cycle check reads what it saves.
        await db.lock_row(connection, "curriculum", curriculum.id)
        siblings = await Module.filter(curriculum_id=curriculum.id).prefetch_related(
            "prerequisites"
        )
        by_id = {m.id: m for m in siblings}
        wanted = {parse_id(p) or 0 for p in values["prerequisites"]}
        if module is not None and module.id in wanted:
            raise CyclicPrerequisites()
        if not wanted <= set(by_id):
            raise ValidationFailed({"prerequisites": N_("Pick modules of this curriculum.")})
        edges = {m.id: {p.id for p in m.prerequisites} for m in siblings}
        edges[module.id if module else -1] = wanted
        if _has_cycle(edges):
            raise CyclicPrerequisites()
        if module is None:
            count = len(siblings)
            if count >= MAX_MODULES:
                raise ValidationFailed({"name_en": N_("A curriculum has at most 30 modules.")})
            module = await Module.create(
                curriculum=curriculum,
                position=values["position"] if values["position"] is not None else count + 1,
                name_km=values["name_km"],
                name_en=values["name_en"],
            )
        else:
            module.name_km = values["name_km"]
            module.name_en = values["name_en"]
            if values["position"] is not None:
                module.position = values["position"]
            await module.save()
            await module.topics.clear()
            await module.prerequisites.clear()
        await module.topics.add(*topics)
        if wanted:
            await module.prerequisites.add(*[by_id[i] for i in wanted])
        await audit.record(staff, "module.save", module, {"topics": sorted(values["topics"])})
    return module


async def _refuse_losing_progress(module: Module, keep_topic_ids: set[int]) -> None:
    """A topic leaves the module only if nobody in a team completed the module through it."""
    current = {t.id for t in await module.topics.all()}
    removed = current - keep_topic_ids
    if not removed:
        return
    members = TeamMember.filter(
        team__curriculum_id=module.curriculum_id,  # type: ignore[attr-defined]
        person_id__isnull=False,
    ).values_list("person_id", flat=True)
    used = await Registration.filter(
        person_id__in=await members,
        status=RegistrationStatus.CONFIRMED,
        checked_in_at__isnull=False,
        session__topic_id__in=removed,
    ).exists()
    if used:
        raise ModuleHasProgress()


async def remove_module(module: Module, *, staff: StaffUser) -> bool:
    """Delete a module nobody has progress in; otherwise archive it, keeping the progress.

    Returns True when it was deleted, False when archived.
    """
    has_marks = await ManualCompletion.filter(module_id=module.id).exists()
    topic_ids = [t.id for t in await module.topics.all()]
    members = await TeamMember.filter(
        team__curriculum_id=module.curriculum_id,  # type: ignore[attr-defined]
        person_id__isnull=False,
    ).values_list("person_id", flat=True)
    attended = await Registration.filter(
        person_id__in=members,
        status=RegistrationStatus.CONFIRMED,
        checked_in_at__isnull=False,
        session__topic_id__in=topic_ids,
    ).exists()
    async with in_transaction():
        if has_marks or attended:
            module.archived_at = datetime.now(UTC)
            await module.save(update_fields=["archived_at"])
            await audit.record(staff, "module.archive", module)
            return False
        await audit.record(staff, "module.delete", module, {"name": module.name_en})
        await module.delete()
        return True


# ----------------------------------------------------------------------------- teams


def _addresses(emails: list[str]) -> list[str] | None:
    """The typed addresses (``normalise_email``); None when one is not an address."""
    try:
        found = [normalise_email(e) for e in emails if isinstance(e, str)]
    except ValueError:
        return None
    return [address for address in found if address]


async def _leaders(emails: list[str]) -> list[StaffUser]:
    addresses = _addresses(emails)
    leaders = await StaffUser.filter(email__in=addresses, is_active=True) if addresses else []
    found = {leader.email for leader in leaders}
    if not addresses or found != set(addresses):
        raise ValidationFailed(
            {"leader_emails": N_("Give the emails of staff accounts with the team leader role.")}
        )
    if any(leader.role not in (Role.TEAM_LEADER, Role.ADMIN) for leader in leaders):
        raise ValidationFailed(
            {"leader_emails": N_("Give the emails of staff accounts with the team leader role.")}
        )
    return list(leaders)


async def create_team(
    *, name: str, leader_emails: list[str], curriculum_code: str | None, staff: StaffUser
) -> Team:
    reader = FieldReader({"name": name, "curriculum": curriculum_code})
    name = reader.text("name", max_length=120, required=True)
    code = reader.text("curriculum", max_length=CURRICULUM_CODE_MAX) or "team_building"
    if reader.errors:
        raise ValidationFailed(reader.errors)
    curriculum = await Curriculum.get_or_none(code=code)
    if curriculum is None:
        raise ValidationFailed({"curriculum": N_("There is no such curriculum.")})
    leaders = await _leaders(leader_emails)
    async with in_transaction():
        team = await Team.create(name=name, curriculum=curriculum)
        await team.leaders.add(*leaders)
        await audit.record(staff, "team.create", team, {"name": name})
    return team


async def remove_member(team: Team, member_id: int, *, staff: StaffUser) -> None:
    """Remove a member, or withdraw a request (its link stops working)."""
    async with in_transaction():
        deleted = await TeamMember.filter(team_id=team.id, id=member_id).delete()
        if deleted:
            await audit.record(staff, "team.member_remove", team, {"member": member_id})


async def candidates(team: Team, *, limit: int = 50) -> list[Person]:
    """People checked in at sessions led by the team's leaders, not yet in the team: the
    quick way to add the people a leader has met at their own sessions.

    Left out: members, and people the leader already asked by name. A request made by
    typing a contact leaves the list alone, whoever holds the contact: the list must not
    tell a leader whose phone they typed."""
    leader_ids = [leader.id for leader in await team.leaders.all()]
    in_team = (
        await TeamMember.filter(team_id=team.id, person_id__isnull=False)
        .filter(Q(confirmed_at__isnull=False) | Q(invited_contact__isnull=True))
        .values_list("person_id", flat=True)
    )
    person_ids = await Registration.filter(
        session__facilitators__id__in=leader_ids,
        checked_in_at__isnull=False,
        person_id__isnull=False,
    ).values_list("person_id", flat=True)
    known = set(in_team)
    wanted = {pid for pid in person_ids if pid not in known}
    return await Person.filter(id__in=wanted).order_by("chosen_name").limit(limit)


async def candidate(team: Team, person_id: int) -> Person:
    """One of :func:`candidates`, picked by a team leader; nobody else can be added by id."""
    for person in await candidates(team, limit=10_000):
        if person.id == person_id:
            return person
    raise TeamNotFound()


# ----------------------------------------------------------------------------- marks


async def mark_done(
    team: Team,
    member: TeamMember,
    module_id: int,
    *,
    completed_on: str,
    note: str,
    staff: StaffUser,
) -> ManualCompletion:
    """A team leader's mark: module done on a date, with a note ("done at a partner NGO")."""
    person = require_confirmed(member)
    curriculum_id: int = team.curriculum_id  # type: ignore[attr-defined]
    module = await Module.get_or_none(id=module_id, curriculum_id=curriculum_id, archived_at=None)
    reader = FieldReader({"completed_on": completed_on, "note": note})
    text = reader.text("completed_on", max_length=10, required=True)
    note = reader.text("note", max_length=300)
    day: date | None = None
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        reader.fail("completed_on", N_("Enter a date, e.g. 2026-03-14."))
    if day is not None and day > datetime.now(UTC).date():
        reader.fail("completed_on", N_("The date cannot be in the future."))
    if module is None:
        reader.fail("module", N_("Pick a module of this team's curriculum."))
    if reader.errors or day is None or module is None:
        raise ValidationFailed(reader.errors)
    async with in_transaction():
        await ManualCompletion.filter(person_id=person.id, module_id=module.id).delete()
        mark = await ManualCompletion.create(
            person=person, module=module, completed_on=day, note=note, marked_by=staff
        )
        await audit.record(staff, "module.mark", mark, {"team": team.id})
    return mark


async def unmark(team: Team, member: TeamMember, module_id: int, *, staff: StaffUser) -> None:
    person = require_confirmed(member)
    async with in_transaction():
        await ManualCompletion.filter(person_id=person.id, module_id=module_id).delete()
        await audit.record(staff, "module.unmark", team, {"member": member.id, "module": module_id})


# ----------------------------------------------------------------------------- invitations


async def invited(matrix: Matrix) -> set[tuple[int, int]]:
    """(member id, session id) of the personal invitations already sent for the members'
    next sessions, so the page can say so instead of inviting twice by mistake."""
    members_by_email = {r.person.email: r.member.id for r in matrix.rows if r.person.email}
    sessions = [r.next_session.id for r in matrix.rows if r.next_session]
    rows = await Invitation.filter(
        email__in=list(members_by_email), session_id__in=sessions
    ).values("email", "session_id")
    return {(members_by_email[row["email"]], row["session_id"]) for row in rows}


async def invite_member(
    team: Team, member: TeamMember, session_id: int, *, staff: StaffUser, settings: Settings
) -> Invitation:
    """A personal invitation (emailed, one seat) to the session that would complete the
    member's next module."""
    person = require_confirmed(member)
    if not person.email:
        raise ValidationFailed(
            {"contact": N_("This member has no email address: call or message them instead.")}
        )
    session = await Session.get_or_none(
        id=session_id, status=SessionStatus.PUBLISHED, starts_at__gt=datetime.now(UTC)
    )
    if session is None:
        raise ValidationFailed({"session": N_("This session is not open any more.")})
    # A team leader invites to the curriculum's own trainings, public ones; admins to any.
    curriculum_id: int = team.curriculum_id  # type: ignore[attr-defined]
    topic_ids = await Module.filter(curriculum_id=curriculum_id, archived_at=None).values_list(
        "topics__id", flat=True
    )
    if staff.role != Role.ADMIN and (
        session.topic_id not in set(topic_ids)  # type: ignore[attr-defined]
        or session.audience != Audience.PUBLIC
    ):
        raise ValidationFailed(
            {"session": N_("Invite team members to a public session of their curriculum.")}
        )
    return await invite_person(
        session, email=person.email, actor=staff, settings=settings, language=person.language
    )


# ----------------------------------------------------------------------------- completion


async def curriculum_certificate(
    team: Team, member: TeamMember, *, staff: StaffUser
) -> Certificate:
    """The curriculum certificate of a member who completed every module (once per person:
    asking again gives the one they hold). Made and emailed by the certificate worker.

    An admin's decision only: a team leader marking every module done by hand issues
    nothing, and cannot issue it either."""
    if staff.role != Role.ADMIN:
        raise CertificateByAdminsOnly()
    require_confirmed(member)
    matrix = await team_matrix(team)
    row = next((r for r in matrix.rows if r.member.id == member.id), None)
    if row is None or not row.complete:
        raise CurriculumNotComplete()
    moments = [c.completed_at for c in row.cells.values() if c.completed_at is not None]
    return await issue_curriculum_certificate(
        row.person,
        curriculum_code=matrix.curriculum.code,
        title_km=matrix.curriculum.name_km,
        title_en=matrix.curriculum.name_en,
        first_day=min(moments),
        last_day=max(moments),
        staff=staff,
    )
