"""Follow-ups of issue 11 (knowing a contact opens nothing): three holes a review found.

1. Two "this was me" joins posted at once must not cancel or anonymise the seat being
   joined, nor each other's: joining is one transaction that serialises on the session.
2. A manage link speaks for its one registration: deleting through it never touches what
   belongs to the holder of the email (their invitations, their mail, their person, their
   team memberships and curriculum certificates).
3. Walking session ids through the public registration API does not find invite-only
   sessions: without a valid invitation code the answer is the one for a missing id.

Each test mounts the attack as the attacker would, through the app.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from attendees import invitations, manage, people
from attendees.models import Invitation, Person, Registration, RegistrationStatus
from attendees.retention import purge_personal_data
from certificates.models import Certificate, CertificateStatus
from certificates.services import issue_certificates, issue_curriculum_certificate
from curricula.models import Curriculum, Team, TeamMember
from events.models import Audience, Session
from sala.app import RETENTION_KEEPERS
from sala.config import Settings
from sala.models import OutboxMessage, OutboxStatus, Role
from tests.factories import csrf_from, make_session, make_staff, register_person

BASE = "http://testserver"
VICTIM = "sophea@example.org"


def _path(url: str) -> str:
    return url.removeprefix(BASE)


async def _register(session: Session, settings: Settings, **overrides: Any) -> Registration:
    outcome = await register_person(session, settings, email=VICTIM, **overrides)
    registration: Registration = outcome.registration
    return registration


async def _claim_path(registration: Registration, settings: Settings) -> str:
    """The "this was me" link, as the claim email to the address on file carries it."""
    holder = await Person.get(email=VICTIM)
    return _path(people.claim_url(registration, holder.id, settings))


async def _manage_path(registration: Registration, settings: Settings) -> str:
    fresh = await Registration.get(id=registration.id)
    return _path(manage.manage_url(fresh, settings))


async def _post_at_once(
    client: httpx.AsyncClient, *paths: str, stagger: float = 0.0
) -> list[httpx.Response]:
    """Open each link like a browser (GET asks), then POST them all together; with a
    ``stagger``, each one that many seconds after the one before (requests in flight at
    once, arriving at different points of each other's work)."""
    tokens = [csrf_from((await client.get(path)).text) for path in paths]

    async def post(index: int, path: str, token: str) -> httpx.Response:
        await asyncio.sleep(index * stagger)
        return await client.post(path, data={"csrf_token": token})

    return list(
        await asyncio.gather(
            *(post(i, p, t) for i, (p, t) in enumerate(zip(paths, tokens, strict=True)))
        )
    )


STAGGERS = (0.0, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.006, 0.01, 0.02, 0.04)


def _shown(answers: list[httpx.Response], settings: Settings) -> list[int]:
    """The registrations the join answers redirected to. A POST that arrives once the link
    was used gets the link's 404, as any later one does."""
    assert {a.status_code for a in answers} <= {303, 404}
    assert 303 in {a.status_code for a in answers}
    tokens = [
        a.headers["location"].removeprefix("/registrations/")
        for a in answers
        if a.status_code == 303
    ]
    return [manage._serializer(settings).loads(token)[0] for token in tokens]


async def _live_seats(session: Session, person: Person) -> list[Registration]:
    return await Registration.filter(
        session_id=session.id,
        person_id=person.id,
        status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED],
    )


async def _assert_counts_true(session: Session) -> None:
    await session.refresh_from_db()
    confirmed = await Registration.filter(
        session_id=session.id, status=RegistrationStatus.CONFIRMED
    ).count()
    waiting = await Registration.filter(
        session_id=session.id, status=RegistrationStatus.WAITLISTED
    ).count()
    assert session.confirmed_count == confirmed
    assert confirmed <= session.capacity
    assert waiting == 0 or confirmed == session.capacity  # no free seat while someone waits


async def _assert_opens(client: httpx.AsyncClient, path: str, text: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200, path
    assert text in page.text


# ----------------------------------------------------------------------------- 1. joining


async def test_one_join_link_posted_twice_at_once_keeps_the_joined_seat(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    elsewhere = await make_session(title_en="Elsewhere")
    await _register(elsewhere, settings, chosen_name="Sophea")  # holds the email
    holder = await Person.get(email=VICTIM)
    for stagger in STAGGERS:
        session = await make_session(title_en=f"Orchid circle {stagger}", capacity="5")
        joined = await _register(session, settings, chosen_name="Sophea")  # stands alone
        claim = await _claim_path(joined, settings)
        link = await _manage_path(joined, settings)

        # A double click (or a mail scanner and the person): the second POST passed the
        # link's check before the first one joined.
        answers = await _post_at_once(client, claim, claim, stagger=stagger)
        assert set(_shown(answers, settings)) == {joined.id}, stagger

        assert [r.id for r in await _live_seats(session, holder)] == [joined.id], stagger
        await _assert_opens(client, link, f"Orchid circle {stagger}")
        await _assert_counts_true(session)
        # Once used, the link does nothing.
        assert (await client.get(claim)).status_code == 404
    assert await Person.all().count() == 1


async def test_a_join_decided_while_the_same_link_was_in_flight_keeps_the_seat(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving of the test above that hurt, every time: both POSTs passed the
    link's check, then one join was decided entirely before the other began."""
    elsewhere = await make_session(title_en="Elsewhere")
    session = await make_session(title_en="Orchid circle", capacity="1")
    await _register(elsewhere, settings)  # holds the email
    joined = await _register(session, settings)  # stands alone
    waiting = (await register_person(session, settings, email="waiting@example.org")).registration
    one_at_a_time = asyncio.Lock()
    join = people.join

    async def after_the_other(*args: Any) -> Registration:
        async with one_at_a_time:
            return await join(*args)

    monkeypatch.setattr(people, "join", after_the_other)
    claim = await _claim_path(joined, settings)
    answers = await _post_at_once(client, claim, claim)
    assert _shown(answers, settings) == [joined.id, joined.id]
    holder = await Person.get(email=VICTIM)
    assert [r.id for r in await _live_seats(session, holder)] == [joined.id]
    await _assert_opens(client, await _manage_path(joined, settings), "Orchid circle")
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.WAITLISTED
    await _assert_counts_true(session)


async def test_two_join_links_at_one_session_posted_at_once_leave_one_seat(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    elsewhere = await make_session(title_en="Elsewhere")
    await _register(elsewhere, settings)  # holds the email
    holder = await Person.get(email=VICTIM)
    for round_, stagger in enumerate(STAGGERS):
        session = await make_session(title_en=f"Orchid circle {round_}", capacity="2")
        first = await _register(session, settings)  # both stand alone
        second = await _register(session, settings)
        waiting = (
            await register_person(session, settings, email=f"waiting{round_}@example.org")
        ).registration
        assert waiting.status == RegistrationStatus.WAITLISTED

        answers = await _post_at_once(
            client,
            await _claim_path(first, settings),
            await _claim_path(second, settings),
            stagger=stagger,
        )
        assert [a.status_code for a in answers] == [303, 303], stagger

        # Both confirmed: the older seat stays, the other goes to the waitlist. Whichever
        # join was decided first showed its own seat; the older one shows in the end.
        assert [r.id for r in await _live_seats(session, holder)] == [first.id], stagger
        assert first.id in _shown(answers, settings)
        assert set(_shown(answers, settings)) <= {first.id, second.id}
        await _assert_opens(client, await _manage_path(first, settings), f"Orchid circle {round_}")
        assert (await Registration.get(id=second.id)).status == RegistrationStatus.CANCELLED
        assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.CONFIRMED
        await _assert_counts_true(session)
    assert await Person.filter(email=VICTIM).count() == 1


async def test_joining_keeps_the_checked_in_seat_and_gives_the_other_to_the_waitlist(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await make_session(title_en="Orchid circle", capacity="2")
    earlier = await _register(session, settings)  # the holder's own seat
    joined = await _register(session, settings)  # stands alone: the same person at the door
    waiting = (await register_person(session, settings, email="waiting@example.org")).registration
    await Registration.filter(id=joined.id).update(checked_in_at=datetime.now(UTC))
    claim = await _claim_path(joined, settings)
    link = await _manage_path(joined, settings)

    answers = await _post_at_once(client, claim, claim)
    assert set(_shown(answers, settings)) == {joined.id}

    holder = await Person.get(email=VICTIM)
    assert [r.id for r in await _live_seats(session, holder)] == [joined.id]
    await _assert_opens(client, link, "Orchid circle")
    kept = await Registration.get(id=joined.id)
    assert kept.status == RegistrationStatus.CONFIRMED and kept.checked_in_at is not None
    assert (await Registration.get(id=earlier.id)).status == RegistrationStatus.CANCELLED
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.CONFIRMED
    await _assert_counts_true(session)


async def test_joining_a_confirmed_seat_over_a_waitlisted_one_keeps_the_confirmed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await make_session(title_en="Orchid circle", capacity="1")
    other = (await register_person(session, settings, email="other@example.org")).registration
    earlier = await _register(session, settings)  # the holder, waiting
    assert earlier.status == RegistrationStatus.WAITLISTED
    joined = await _register(session, settings)  # waiting too, then promoted first by staff
    await Registration.filter(id=other.id).update(status=RegistrationStatus.CANCELLED)
    await Registration.filter(id=joined.id).update(
        status=RegistrationStatus.CONFIRMED, waitlisted_at=None
    )
    claim = await _claim_path(joined, settings)
    link = await _manage_path(joined, settings)

    answers = await _post_at_once(client, claim, claim)
    assert set(_shown(answers, settings)) == {joined.id}
    holder = await Person.get(email=VICTIM)
    assert [r.id for r in await _live_seats(session, holder)] == [joined.id]
    await _assert_opens(client, link, "Orchid circle")
    assert (await Registration.get(id=earlier.id)).status == RegistrationStatus.CANCELLED
    await _assert_counts_true(session)


# ----------------------------------------------------------------------------- 2. deleting


async def _sent_everything() -> None:
    """The worker sent what was queued (its rows stay, with the address, as sent)."""
    await OutboxMessage.filter(status=OutboxStatus.PENDING).update(status=OutboxStatus.SENT)


async def _delete_through(client: httpx.AsyncClient, link: str) -> None:
    confirm = await client.get(link + "/delete")
    deleted = await client.post(link + "/delete", data={"csrf_token": csrf_from(confirm.text)})
    assert deleted.status_code == 200


async def test_a_strangers_manage_link_deletes_nothing_of_the_emails_holder(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The stranger registered first with the victim's email, so the person holding it was
    made for the stranger's registration; the victim's own then stood alone."""
    admin = await make_staff(Role.ADMIN)
    bait = await make_session(title_en="Problem solving")
    private = await make_session(title_en="Orchid circle", audience=Audience.INVITE_ONLY.value)
    stranger = await _register(bait, settings, chosen_name="Stranger")
    invitation = await invitations.invite_person(
        private, email=VICTIM, actor=admin, settings=settings
    )
    victims = await _register(private, settings, invitation_code=invitation.code)
    holder = await Person.get(email=VICTIM)
    team = await Team.create(name="Team", curriculum=await Curriculum.get(code="team_building"))
    await TeamMember.create(
        team=team, person=holder, invited_as="Sophea", confirmed_at=datetime.now(UTC)
    )
    await _sent_everything()
    victims_mail = {
        m.id: m.to_address
        for m in await OutboxMessage.filter(to_address=VICTIM)
        if m.params.get("registration_id") != stranger.id
    }
    assert len(victims_mail) >= 3  # the invitation, the confirmation, "was it you?"
    strangers_mail = [
        m.id
        for m in await OutboxMessage.filter(to_address=VICTIM)
        if m.params.get("registration_id") == stranger.id
    ]
    assert strangers_mail

    await _delete_through(client, await _manage_path(stranger, settings))

    gone = await Registration.get(id=stranger.id)
    assert gone.anonymised_at is not None and gone.email == "" and gone.person_id is None  # type: ignore[attr-defined]
    for message in await OutboxMessage.filter(id__in=strangers_mail):
        assert message.to_address == ""  # the stranger's own mail forgets the address
    # The holder's invitation, mail, person and team membership are all there.
    assert (await Invitation.get(id=invitation.id)).email == VICTIM
    for message in await OutboxMessage.filter(id__in=list(victims_mail)):
        assert message.to_address == victims_mail[message.id]
    assert await Person.filter(id=holder.id, email=VICTIM).exists()
    assert await TeamMember.filter(team=team, person_id=holder.id).exists()
    kept = await Registration.get(id=victims.id)
    assert kept.anonymised_at is None and kept.email == VICTIM
    # And the victim can still join their registration to the address they hold.
    claim = await _claim_path(victims, settings)
    joined = await client.post(
        claim, data={"csrf_token": csrf_from((await client.get(claim)).text)}
    )
    assert joined.status_code == 303
    assert (await Registration.get(id=victims.id)).person_id == holder.id  # type: ignore[attr-defined]


async def test_deleting_a_joined_registration_keeps_the_holders_team_and_certificates(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A manage link covers its registration, even once joined to the holder: what spans
    the person (team memberships, curriculum certificates, invitations) is not its to delete."""
    admin = await make_staff(Role.ADMIN)
    session = await make_session(title_en="Orchid circle")
    other = await make_session(title_en="Human rights basics")
    first = await _register(session, settings)  # holds the email
    second = await _register(other, settings)  # stands alone, then joined
    claim = await _claim_path(second, settings)
    assert (
        await client.post(claim, data={"csrf_token": csrf_from((await client.get(claim)).text)})
    ).status_code == 303
    holder = await Person.get(email=VICTIM)
    team = await Team.create(name="Team", curriculum=await Curriculum.get(code="team_building"))
    await TeamMember.create(
        team=team, person=holder, invited_as="Sophea", confirmed_at=datetime.now(UTC)
    )
    now = datetime.now(UTC)
    diploma = await issue_curriculum_certificate(
        holder, curriculum_code="team_building", title_km="ក", title_en="Team building",
        first_day=now, last_day=now, staff=admin,
    )  # fmt: skip
    await Registration.filter(id=second.id).update(checked_in_at=now)
    await issue_certificates(other.id, staff=admin)
    attendance = await Certificate.get(registration_id=second.id)
    unrelated = await invitations.invite_person(
        await make_session(audience=Audience.INVITE_ONLY.value),
        email=VICTIM,
        actor=admin,
        settings=settings,
    )
    await _sent_everything()

    await _delete_through(client, await _manage_path(first, settings))
    await _delete_through(client, await _manage_path(second, settings))

    for registration in (first, second):
        assert (await Registration.get(id=registration.id)).anonymised_at is not None
    # Its own certificate goes with it; the holder's curriculum certificate stays.
    attendance = await Certificate.get(id=attendance.id)
    assert attendance.status == CertificateStatus.REVOKED and attendance.holder_name == ""
    diploma = await Certificate.get(id=diploma.id)
    assert diploma.status == CertificateStatus.VALID and diploma.holder_name != ""
    assert diploma.person_id == holder.id  # type: ignore[attr-defined]
    assert await Person.filter(id=holder.id, email=VICTIM).exists()
    assert await TeamMember.filter(team=team, person_id=holder.id).exists()
    assert (await Invitation.get(id=unrelated.id)).email == VICTIM
    assert any(
        m.params.get("invitation_id") == unrelated.id
        for m in await OutboxMessage.filter(to_address=VICTIM)
    )


async def test_a_manage_link_deletes_its_person_when_nothing_else_is_theirs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await make_session()
    registration = await _register(session, settings)
    await _sent_everything()
    await _delete_through(client, await _manage_path(registration, settings))
    assert not await Person.filter(email=VICTIM).exists()
    assert not await OutboxMessage.filter(to_address=VICTIM).exists()
    await _assert_counts_true(session)


async def test_the_retention_purge_still_removes_the_person_and_keeps_the_register(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session()
    registration = await _register(session, settings, chosen_name="Old")
    await Registration.filter(id=registration.id).update(checked_in_at=datetime.now(UTC))
    await issue_certificates(session.id, staff=admin)
    later = datetime.now(UTC) + timedelta(days=settings.retention_days + 30)
    assert await purge_personal_data(settings, RETENTION_KEEPERS, now=later) == 1
    gone = await Registration.get(id=registration.id)
    assert gone.anonymised_at is not None and gone.chosen_name == "" and gone.email == ""
    assert not await Person.filter(email=VICTIM).exists()
    certificate = await Certificate.get(registration_id=registration.id)
    assert certificate.status == CertificateStatus.VALID and certificate.holder_name == "Old"


# ----------------------------------------------------------------------------- 3. walking ids


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "chosen_name": "Walker",
        "email": "walker@example.org",
        "sector": "ngo",
        "language": "en",
        "consent": True,
    }
    body.update(overrides)
    return body


def _whole(answer: httpx.Response) -> tuple[int, str, Any]:
    return answer.status_code, answer.headers["content-type"], answer.json()


async def test_an_invite_only_id_answers_like_a_missing_one_without_a_valid_code(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    hidden = await make_session(audience=Audience.INVITE_ONLY.value, capacity="5")
    elsewhere = await make_session(audience=Audience.INVITE_ONLY.value)
    revoked = await invitations.invite_organisation(
        hidden, organisation="Old partner", seats=5, actor=admin
    )
    await Invitation.filter(id=revoked.id).update(revoked_at=datetime.now(UTC))
    others = await invitations.invite_organisation(
        elsewhere, organisation="Partner", seats=5, actor=admin
    )
    missing_id = (await Session.all().order_by("-id").first()).id + 1000  # type: ignore[union-attr]

    def url(session_id: int) -> str:
        return f"/api/v1/sessions/{session_id}/registrations"

    missing = _whole(await client.post(url(missing_id), json=_body()))
    assert missing[0] == 404
    for index, code in enumerate((None, "", "WRONGCODE2", revoked.code, others.code)):
        body = _body(email=f"walker{index}@example.org")
        if code is not None:
            body["invitation_code"] = code
        assert _whole(await client.post(url(hidden.id), json=body)) == missing, code
        # The same wrong code at a missing id: nothing to tell the two apart.
        assert _whole(await client.post(url(missing_id), json=body)) == missing, code
    assert await Registration.filter(session_id=hidden.id).count() == 0


async def test_a_valid_code_still_registers_through_the_api(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    hidden = await make_session(audience=Audience.INVITE_ONLY.value, capacity="5")
    code = (
        await invitations.invite_organisation(hidden, organisation="Partner", seats=1, actor=admin)
    ).code
    url = f"/api/v1/sessions/{hidden.id}/registrations"
    registered = await client.post(url, json=_body(invitation_code=code.lower()))
    assert registered.status_code == 201
    assert registered.json()["status"] == "confirmed"
    # A valid code then answers as before: the invitation's seats are used up.
    again = await client.post(url, json=_body(email="again@example.org", invitation_code=code))
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "invitation_used_up"
    # A personal invitation is bound to its email: its holder is told so, as before.
    personal = await invitations.invite_person(
        hidden, email="invitee@example.org", actor=admin, settings=settings
    )
    other = await client.post(url, json=_body(invitation_code=personal.code))
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "invitation_invalid"
    # The HTML page of the session, at its invitation address, is unchanged.
    page = await client.get(hidden.public_path)
    assert page.status_code == 200


async def test_the_holders_link_carries_no_address_and_dies_with_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A signed token is readable by anyone who sees the URL (browser history, a proxy's
    log, a shared screen): the holder's link must not spell out their address."""
    session = await make_session(title_en="Orchid circle")
    await register_person(session, settings, email=VICTIM)
    holder = await Person.get(email=VICTIM)
    url = people.person_url(holder, settings)
    token = url.rsplit("/", 1)[1]
    payload = token.split(".")[0]
    readable = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert VICTIM.encode() not in readable and b"sophea" not in readable
    page = await client.get(url.removeprefix(settings.base_url))
    assert page.status_code == 200 and "Orchid circle" in page.text

    # Another address on file (a deletion, a correction): the old link opens nothing.
    await Person.filter(id=holder.id).update(email="new.address@example.org")
    assert (await client.get(url.removeprefix(settings.base_url))).status_code == 404
