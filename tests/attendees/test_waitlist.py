"""Capacity and waitlist rules, through the services, including under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from attendees.models import Person, Registration, RegistrationStatus
from attendees.registration import cancel_registration, waitlist_position
from events import services as events
from events.forms import session_values
from events.models import Session
from sala.config import Settings
from sala.models import OutboxMessage, Role
from tests.factories import make_session, make_staff, register_person

pytestmark = pytest.mark.usefixtures("app")


async def test_confirmed_while_seats_remain_then_waitlisted_in_order(settings: Settings) -> None:
    session = await make_session(capacity="2")
    outcomes = [await register_person(session, settings) for _ in range(4)]
    assert [o.registration.status for o in outcomes] == [
        "confirmed",
        "confirmed",
        "waitlisted",
        "waitlisted",
    ]
    assert [o.waitlist_position for o in outcomes] == [None, None, 1, 2]
    await session.refresh_from_db()
    assert (session.confirmed_count, session.seats_left) == (2, 0)
    kinds = sorted(await OutboxMessage.all().values_list("kind", flat=True))
    assert (
        kinds
        == ["registration_confirmed_to_registrant"] * 2
        + ["registration_waitlisted_to_registrant"] * 2
    )


async def test_registering_twice_makes_a_second_registration_that_stands_alone(
    settings: Settings,
) -> None:
    """The same email again is a new registration with a person of its own (no contact on
    file), and its holder is asked at that address whether it was them."""
    session = await make_session()
    first = await register_person(session, settings, email="Dara@Example.org")
    again = await register_person(session, settings, email="  dara@example.ORG ")
    assert again.registration.id != first.registration.id
    alone = await Person.get(id=again.registration.person_id)  # type: ignore[attr-defined]
    assert (alone.email, alone.phone) == (None, None)
    assert again.registration.email == "dara@example.org"
    kinds = sorted(m.kind for m in await OutboxMessage.all())
    assert kinds == [
        "registration_claim_to_registrant",
        "registration_confirmed_to_registrant",
        "registration_confirmed_to_registrant",
    ]


async def test_a_known_contact_never_joins_its_holder(settings: Settings) -> None:
    first, second = await make_session(), await make_session(title_en="Second")
    a = await register_person(first, settings, email="same@example.org")
    b = await register_person(second, settings, email="SAME@example.org", chosen_name="Other")
    holder = a.registration.person_id  # type: ignore[attr-defined]
    assert b.registration.person_id != holder  # type: ignore[attr-defined]
    assert (await Person.get(id=holder)).email == "same@example.org"
    by_phone = await register_person(first, settings, email="", phone="012 345 678")
    again = await register_person(second, settings, email="", phone="+855 12 345 678")
    phone_holder = by_phone.registration.person_id  # type: ignore[attr-defined]
    assert again.registration.person_id != phone_holder  # type: ignore[attr-defined]
    assert (await Person.get(id=phone_holder)).phone == "+85512345678"
    assert again.registration.phone == "+85512345678"


async def test_cancelling_a_confirmed_seat_promotes_the_first_waiting(settings: Settings) -> None:
    session = await make_session(capacity="1")
    holder = (await register_person(session, settings)).registration
    first_waiting = (await register_person(session, settings)).registration
    second_waiting = (await register_person(session, settings)).registration
    outcome = await cancel_registration(holder.id, settings=settings, actor=None)
    assert [r.id for r in outcome.promoted] == [first_waiting.id]
    await first_waiting.refresh_from_db()
    await second_waiting.refresh_from_db()
    assert first_waiting.status == RegistrationStatus.CONFIRMED
    assert await waitlist_position(second_waiting) == 1
    await session.refresh_from_db()
    assert session.confirmed_count == 1
    assert await OutboxMessage.filter(kind="registration_promoted_to_registrant").count() == 1
    # Cancelling again changes nothing and promotes no one.
    again = await cancel_registration(holder.id, settings=settings, actor=None)
    assert again.promoted == []


async def test_cancelling_a_waitlisted_person_promotes_no_one(settings: Settings) -> None:
    session = await make_session(capacity="1")
    await register_person(session, settings)
    waiting = (await register_person(session, settings)).registration
    outcome = await cancel_registration(waiting.id, settings=settings, actor=None)
    assert outcome.promoted == []
    await session.refresh_from_db()
    assert session.confirmed_count == 1


async def test_raising_the_capacity_promotes_from_the_waitlist(settings: Settings) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session(capacity="1")
    registrations = [(await register_person(session, settings)).registration for _ in range(4)]
    session = await Session.get(id=session.id).prefetch_related("topic", "facilitators")
    values = {**session_values(session), "capacity": "3"}
    data = await events.session_input(values, default_timezone="Asia/Phnom_Penh")
    updated = await events.update_session(session, data, actor=admin, settings=settings)
    assert updated.confirmed_count == 3
    statuses = [(await Registration.get(id=r.id)).status for r in registrations]
    assert statuses == ["confirmed", "confirmed", "confirmed", "waitlisted"]


async def test_capacity_below_confirmed_is_refused(settings: Settings) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session(capacity="3")
    for _ in range(3):
        await register_person(session, settings)
    session = await Session.get(id=session.id).prefetch_related("topic", "facilitators")
    data = await events.session_input(
        {**session_values(session), "capacity": "2"}, default_timezone="Asia/Phnom_Penh"
    )
    try:
        await events.update_session(session, data, actor=admin, settings=settings)
    except Exception as exc:
        assert getattr(exc, "errors", {}).get("capacity")
    else:
        raise AssertionError("capacity below the confirmed count was accepted")
    assert (await Session.get(id=session.id)).capacity == 3


async def test_hundreds_of_simultaneous_registrations_never_oversell(settings: Settings) -> None:
    session = await make_session(capacity="50")
    outcomes = await asyncio.gather(*(register_person(session, settings) for _ in range(300)))
    confirmed = [o for o in outcomes if o.registration.status == RegistrationStatus.CONFIRMED]
    waiting = [o for o in outcomes if o.registration.status == RegistrationStatus.WAITLISTED]
    assert len(confirmed) == 50 and len(waiting) == 250
    await session.refresh_from_db()
    assert session.confirmed_count == 50
    assert await Registration.filter(status=RegistrationStatus.CONFIRMED).count() == 50
    # The waitlist positions are 1..250 with no gap or repeat, and each person was told the
    # place they actually hold.
    positions = [await waitlist_position(o.registration) for o in waiting]
    assert sorted(positions) == list(range(1, 251))  # type: ignore[type-var]
    assert [o.waitlist_position for o in waiting] == positions


async def test_simultaneous_cancellations_promote_exactly_one_each(settings: Settings) -> None:
    session = await make_session(capacity="20")
    outcomes = [await register_person(session, settings) for _ in range(40)]
    holders = [o.registration for o in outcomes[:20]]
    waiting = [o.registration for o in outcomes[20:]]
    results = await asyncio.gather(
        *(cancel_registration(r.id, settings=settings, actor=None) for r in holders[:10])
    )
    promoted = [p.id for result in results for p in result.promoted]
    assert sorted(promoted) == sorted(r.id for r in waiting[:10])  # the first ten, in order
    assert len(set(promoted)) == 10
    await session.refresh_from_db()
    assert session.confirmed_count == 20
    assert await Registration.filter(status=RegistrationStatus.CONFIRMED).count() == 20


async def test_same_new_person_in_two_sessions_at_once(settings: Settings) -> None:
    sessions = [await make_session(title_en=f"S{i}") for i in range(6)]
    outcomes = await asyncio.gather(
        *(register_person(s, settings, email="new.person@example.org") for s in sessions)
    )
    # One of them holds the email; the others stand alone until the holder says they are theirs.
    assert await Person.filter(email="new.person@example.org").count() == 1
    assert len({o.registration.person_id for o in outcomes}) == 6  # type: ignore[attr-defined]
    assert await Registration.filter(status=RegistrationStatus.CONFIRMED).count() == 6
    assert await OutboxMessage.filter(kind="registration_claim_to_registrant").count() == 5
