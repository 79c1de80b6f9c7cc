"""Registrations that arrive together are decided in one transaction per session
(``attendees.registration._desk``, a ``sala.db.GroupCommit``), each still told exactly what it
holds, and one refused request takes nothing from the others."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from attendees.errors import RegistrationClosed
from attendees.forms import parse_registration
from attendees.invitations import invite_organisation
from attendees.models import Invitation, Person, Registration, RegistrationSource
from attendees.registration import register
from events.models import Session
from sala import db
from sala.config import Settings
from sala.models import OutboxMessage, Role
from tests.factories import make_session, make_staff, person_fields, token_for


@pytest.fixture
def group_sizes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many callers each group commit decided together (SQLite or PostgreSQL)."""
    sizes: list[int] = []
    sqlite_group, async_group = db._run_sqlite_group, db._run_async_group

    def on_sqlite(connection: Any, group: list[Any]) -> Any:
        sizes.append(len(group))
        return sqlite_group(connection, group)

    async def on_postgres(group: list[Any]) -> Any:
        sizes.append(len(group))
        return await async_group(group)

    monkeypatch.setattr(db, "_run_sqlite_group", on_sqlite)
    monkeypatch.setattr(db, "_run_async_group", on_postgres)
    yield sizes


async def test_a_burst_for_three_seats_confirms_three_and_queues_the_rest_in_order(
    client: httpx.AsyncClient, group_sizes: list[int]
) -> None:
    session = await make_session(capacity="3")
    count = 40
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/sessions/{session.id}/registrations",
                json=person_fields(chosen_name=f"Burst {n}"),
            )
            for n in range(count)
        )
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert max(group_sizes) > 1, group_sizes  # decided together, not one by one

    told = {a.json()["id"]: a.json() for a in answers}
    assert len(told) == count
    stored = await Registration.filter(session_id=session.id).order_by("id")
    assert [r.id for r in stored] == sorted(told)
    confirmed = [r for r in stored if r.status == "confirmed"]
    waiting = [r for r in stored if r.status == "waitlisted"]
    assert len(confirmed) == 3 and len(waiting) == count - 3
    # First decided, first served: the seats went to the first three ids, the waitlist
    # follows id order, and everyone was told exactly that.
    assert [r.id for r in confirmed] == [r.id for r in stored[:3]]
    assert sorted(waiting, key=lambda r: (r.waitlisted_at, r.id)) == waiting
    for registration in confirmed:
        assert told[registration.id]["status"] == "confirmed"
        assert told[registration.id]["waitlist_position"] is None
    for position, registration in enumerate(waiting, start=1):
        assert told[registration.id]["status"] == "waitlisted"
        assert told[registration.id]["waitlist_position"] == position
    fresh = await Session.get(id=session.id)
    assert fresh.confirmed_count == 3
    # The API's own view agrees, and every registration's email is in the outbox.
    admin = await make_staff(Role.ADMIN)
    listed = await client.get(
        f"/api/v1/sessions/{session.id}/registrations", headers=await token_for(admin)
    )
    positions = {r["id"]: r["waitlist_position"] for r in listed.json()}
    assert all(positions[i] == told[i]["waitlist_position"] for i in told)
    kinds = [m.kind for m in await OutboxMessage.all()]
    assert kinds.count("registration_confirmed_to_registrant") == 3
    assert kinds.count("registration_waitlisted_to_registrant") == count - 3


async def test_a_refused_registration_in_a_batch_takes_nothing_from_the_others(
    client: httpx.AsyncClient, settings: Settings, group_sizes: list[int]
) -> None:
    """Public registrations after the window closed are refused *after* they took an
    invitation seat (the invitation is decided first); staff may still add people. In one
    batch, each refusal rolls back its own seat of the invitation and nothing else."""
    staff = await make_staff(Role.ADMIN)
    session = await make_session(capacity="4", actor=staff)
    code = (await invite_organisation(session, organisation="NGO", seats=20, actor=staff)).code
    await Session.filter(id=session.id).update(
        registration_closes_at=datetime.now(UTC) - timedelta(hours=1)
    )
    people_before = await Person.all().count()

    async def one(n: int) -> Registration | Exception:
        data = parse_registration(
            person_fields(chosen_name=f"Batch {n}", invitation_code=code), default_language="en"
        )
        try:
            outcome = await register(
                session.id,
                data,
                source=RegistrationSource.STAFF if n % 2 == 0 else RegistrationSource.API,
                settings=settings,
                actor=staff if n % 2 == 0 else None,
            )
        except RegistrationClosed as refused:
            return refused
        return outcome.registration

    outcomes = await asyncio.gather(*(one(n) for n in range(12)))
    assert max(group_sizes) > 1, group_sizes
    added = [o for o in outcomes if isinstance(o, Registration)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(added) == 6 and len(refused) == 6
    assert all(isinstance(o, RegistrationClosed) for o in refused)
    # The six staff registrations in order: four seats, then the waitlist.
    assert [r.status for r in added] == ["confirmed"] * 4 + ["waitlisted"] * 2
    stored = await Registration.filter(session_id=session.id).order_by("id")
    assert [(r.id, r.status) for r in stored] == [(r.id, r.status) for r in added]
    assert (await Invitation.get(code=code)).used == 6
    assert (await Session.get(id=session.id)).confirmed_count == 4
    assert await Person.all().count() == people_before + 6
    assert await OutboxMessage.filter(kind__startswith="registration_").count() == 6


async def test_registrations_for_two_sessions_are_decided_apart(
    client: httpx.AsyncClient, settings: Settings, group_sizes: list[int]
) -> None:
    """A group locks one session: registrations for two sessions are two groups."""
    first, second = await make_session(capacity="2"), await make_session(capacity="2")

    async def one(session: Session, n: int) -> str:
        data = parse_registration(person_fields(chosen_name=f"Two {n}"), default_language="en")
        outcome = await register(session.id, data, source=RegistrationSource.API, settings=settings)
        return outcome.registration.status.value

    statuses = await asyncio.gather(*(one(first if n % 2 else second, n) for n in range(8)))
    assert sorted(statuses) == ["confirmed"] * 4 + ["waitlisted"] * 4
    assert len(group_sizes) >= 2
    for session in (first, second):
        assert (await Session.get(id=session.id)).confirmed_count == 2
