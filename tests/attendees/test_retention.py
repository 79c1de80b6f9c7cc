"""The retention purge: old personal data goes, counts and team members stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from attendees.models import Person, Registration
from attendees.retention import purge_personal_data
from curricula.models import Curriculum, Team, TeamMember
from sala.app import RETENTION_KEEPERS
from sala.config import Settings
from tests.factories import make_session, register_person


async def test_people_without_a_recent_session_are_anonymised_but_members_kept(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await make_session()
    old = (
        await register_person(session, settings, chosen_name="Old", email="old@example.org")
    ).registration
    member = (
        await register_person(session, settings, chosen_name="Member", email="member@example.org")
    ).registration
    team = await Team.create(name="Team", curriculum=await Curriculum.get(code="team_building"))
    # A confirmed member is kept (a pending request is not: tests/curricula/test_membership.py).
    await TeamMember.create(
        team=team,
        person_id=member.person_id,  # type: ignore[attr-defined]
        invited_as="Member",
        confirmed_at=datetime.now(UTC),
    )

    # Today nobody is past retention: the session is still to come.
    assert await purge_personal_data(settings, RETENTION_KEEPERS) == 0
    later = datetime.now(UTC) + timedelta(days=settings.retention_days + 30)
    assert await purge_personal_data(settings, RETENTION_KEEPERS, now=later) == 1

    gone = await Registration.get(id=old.id)
    assert gone.chosen_name == "" and gone.person_id is None and gone.anonymised_at is not None  # type: ignore[attr-defined]
    assert gone.sector == old.sector and gone.status == old.status  # the counts stay true
    assert not await Person.filter(email="old@example.org").exists()
    kept = await Registration.get(id=member.id)
    assert kept.chosen_name == "Member"
    assert await Person.filter(email="member@example.org").exists()
