"""Progress through a curriculum, derived every time from what happened.

A module is **done** when the member was checked in at a session of one of its topics, or a
team leader marked it (the earliest of these dates counts). It is **booked** when the member
holds a confirmed seat at an upcoming session of one of its topics, **blocked** when a module
it requires is not done yet, and **not started** otherwise. Nothing is stored, so attending a
session counts by itself and a manual mark can never disagree with a check-in.

Only members who confirmed they want to be in the team are in it: a pending request shows
nothing of anyone's progress (``curricula/membership.py``).

The matrix for a team takes a fixed number of queries, whatever the team's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from attendees.models import Person, Registration, RegistrationStatus
from curricula.models import Curriculum, ManualCompletion, Module, Team, TeamMember
from events.models import Audience, Session, SessionStatus


class Status(StrEnum):
    DONE = "done"
    BOOKED = "booked"
    NOT_STARTED = "not_started"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Cell:
    status: Status
    completed_at: datetime | None = None
    how: str = ""  # "attended" or "manual", for a done cell
    note: str = ""
    booked_session: Session | None = None


@dataclass
class MemberRow:
    member: TeamMember
    person: Person
    cells: dict[int, Cell]  # by module id
    done: int = 0
    next_module: Module | None = None
    next_session: Session | None = None

    @property
    def percent(self) -> int:
        total = len(self.cells)
        return round(100 * self.done / total) if total else 0

    @property
    def booked(self) -> Session | None:
        """The first session this member holds a seat at that completes a module."""
        return next((c.booked_session for c in self.cells.values() if c.booked_session), None)

    @property
    def complete(self) -> bool:
        return bool(self.cells) and self.done == len(self.cells)


@dataclass
class Matrix:
    team: Team
    curriculum: Curriculum
    modules: list[Module]
    rows: list[MemberRow]
    module_percent: dict[int, int] = field(default_factory=dict)


async def active_modules(curriculum: Curriculum) -> list[Module]:
    """The curriculum's modules in order, with topics and prerequisites, archived left out."""
    return (
        await Module.filter(curriculum_id=curriculum.id, archived_at=None)
        .prefetch_related("topics", "prerequisites")
        .order_by("position", "id")
    )


async def team_matrix(team: Team, *, now: datetime | None = None) -> Matrix:
    now = now or datetime.now(UTC)
    curriculum = await Curriculum.get(id=team.curriculum_id)  # type: ignore[attr-defined]
    modules = await active_modules(curriculum)
    members = [
        (member, member.person)
        for member in await TeamMember.filter(team_id=team.id, confirmed_at__isnull=False)
        .select_related("person")
        .order_by("id")
        if member.person is not None
    ]
    person_ids = [person.id for _member, person in members]
    topics_of = {module.id: {t.id for t in module.topics} for module in modules}
    all_topics = set().union(*topics_of.values()) if topics_of else set()

    attended = await Registration.filter(
        person_id__in=person_ids,
        status=RegistrationStatus.CONFIRMED,
        checked_in_at__isnull=False,
        session__topic_id__in=all_topics,
    ).values("person_id", "checked_in_at", "session__topic_id")
    booked = await Registration.filter(
        person_id__in=person_ids,
        status=RegistrationStatus.CONFIRMED,
        checked_in_at=None,
        session__status=SessionStatus.PUBLISHED,
        session__starts_at__gt=now,
        session__topic_id__in=all_topics,
    ).select_related("session")
    marks = await ManualCompletion.filter(
        person_id__in=person_ids, module_id__in=[m.id for m in modules]
    )
    upcoming = (
        await Session.filter(
            status=SessionStatus.PUBLISHED,
            starts_at__gt=now,
            topic_id__in=all_topics,
            audience=Audience.PUBLIC,
        )
        .select_related("topic")
        .order_by("starts_at", "id")
    )

    rows = []
    for member, person in members:
        person_id = person.id
        cells: dict[int, Cell] = {}
        for module in modules:
            cells[module.id] = _done_cell(
                module.id, topics_of[module.id], person_id, attended, marks
            ) or _booked_cell(topics_of[module.id], person_id, booked)
        for module in modules:  # blocked needs every module's done-ness first
            if cells[module.id].status == Status.NOT_STARTED and any(
                cells.get(p.id, Cell(Status.DONE)).status != Status.DONE
                for p in module.prerequisites
                if p.archived_at is None
            ):
                cells[module.id] = Cell(Status.BLOCKED)
        row = MemberRow(member, person, cells)
        row.done = sum(1 for c in cells.values() if c.status == Status.DONE)
        row.next_module = next(
            (m for m in modules if cells[m.id].status == Status.NOT_STARTED), None
        )
        if row.next_module is not None:
            wanted = topics_of[row.next_module.id]
            row.next_session = next(
                (s for s in upcoming if s.topic_id in wanted),  # type: ignore[attr-defined]
                None,
            )
        rows.append(row)
    matrix = Matrix(team, curriculum, modules, rows)
    for module in modules:
        done = sum(1 for r in rows if r.cells[module.id].status == Status.DONE)
        matrix.module_percent[module.id] = round(100 * done / len(rows)) if rows else 0
    return matrix


def _done_cell(
    module_id: int,
    topic_ids: set[int],
    person_id: int,
    attended: list[dict[str, object]],
    marks: list[ManualCompletion],
) -> Cell | None:
    dates: list[tuple[datetime, str, str]] = []
    for row in attended:
        if row["person_id"] == person_id and row["session__topic_id"] in topic_ids:
            moment = row["checked_in_at"]
            assert isinstance(moment, datetime)
            dates.append((moment, "attended", ""))
    for mark in marks:
        if mark.person_id == person_id and mark.module_id == module_id:  # type: ignore[attr-defined]
            moment = datetime.combine(mark.completed_on, datetime.min.time(), tzinfo=UTC)
            dates.append((moment, "manual", mark.note))
    if not dates:
        return None
    moment, how, note = min(dates, key=lambda item: item[0])
    return Cell(Status.DONE, completed_at=moment, how=how, note=note)


def _booked_cell(topic_ids: set[int], person_id: int, booked: list[Registration]) -> Cell:
    for registration in booked:
        if registration.person_id == person_id and registration.session.topic_id in topic_ids:  # type: ignore[attr-defined]
            return Cell(Status.BOOKED, booked_session=registration.session)
    return Cell(Status.NOT_STARTED)
