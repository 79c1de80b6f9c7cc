"""Team leaders cannot profile anyone (issue 11, hole 5).

Each test mounts the attack as a team leader would: add someone whose email or phone they
know, and look at what the answers, the matrix, the CSV and the API give away — then checks
that the person's consent, through the link emailed to them (read from a real SMTP server or
from the outbox), is what makes their progress visible, and that declining, a second use of
the link, a leader confirming for them, or a leader issuing a curriculum certificate do not.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate as run_migrations

from attendees.models import Person, Registration
from attendees.retention import purge_personal_data
from certificates.models import Certificate
from checkin.tickets import ticket_for
from curricula.emails import DISCREET_SUBJECT
from curricula.membership import MEMBERSHIP_MAIL
from curricula.models import Module, TeamMember
from curricula.models import Team as TeamModel
from events.models import Session
from sala import db
from sala.app import MAIL_COMPOSERS, RETENTION_KEEPERS, create_app
from sala.config import Settings
from sala.mail import compose
from sala.models import OutboxMessage, Role, StaffUser
from tests.curricula.joining import (
    answer,
    join_link_from_outbox,
    join_link_in,
    mail_to,
    text_of,
)
from tests.factories import (
    csrf_from,
    in_days,
    log_in,
    make_session,
    make_staff,
    register_person,
    token_for,
)
from tests.mail_server import MailServer

SOPHEA = "sophea@example.org"
SOPHEA_PHONE = "012 345 678"  # on file as +85512345678
NOBODY = "nobody.yet@example.org"
NOBODYS_PHONE = "012 999 888"
DARA_PHONE = "097 111 2222"  # Dara registered with a phone only
# What a leader must never read about Sophea or Dara before they say yes.
THEIRS = ("Sophea", SOPHEA, "12345678", "345 678", "Dara", "971112222")

Browser = Callable[[], httpx.AsyncClient]


@dataclass(frozen=True)
class Team:
    id: int
    leader: StaffUser
    admin: StaffUser
    leader_headers: dict[str, str]
    admin_headers: dict[str, str]

    @property
    def page(self) -> str:
        return f"/staff/teams/{self.id}"

    @property
    def api(self) -> str:
        return f"/api/v1/teams/{self.id}"


async def _team(client: httpx.AsyncClient) -> Team:
    admin = await make_staff(Role.ADMIN, name="Admin Chenda")
    leader = await make_staff(Role.TEAM_LEADER, name="Leakhena", email="leakhena@example.org")
    admin_headers = await token_for(admin)
    made = await client.post(
        "/api/v1/teams",
        json={"name": "Youth team", "leader_emails": [leader.email]},
        headers=admin_headers,
    )
    assert made.status_code == 201, made.text
    return Team(made.json()["id"], leader, admin, await token_for(leader), admin_headers)


async def _checked_in(
    client: httpx.AsyncClient, settings: Settings, session: Session, registration: Registration
) -> None:
    """Checked in at the door, as the scanner does it."""
    facilitator = await make_staff(Role.FACILITATOR)
    await session.facilitators.add(facilitator)
    scan = {
        "token": await ticket_for(registration, settings.data_dir),
        "session_id": session.id,
        "scan_id": uuid.uuid4().hex,
    }
    checked = await client.post("/api/v1/checkins", json=scan, headers=await token_for(facilitator))
    assert checked.json()["result"] == "checked_in", checked.text


async def _sophea(client: httpx.AsyncClient, settings: Settings, **overrides: Any) -> Person:
    """Sophea attended a SOGIE training (checked in)."""
    sogie = await make_session(topic="sogie", title_en="SOGIE for communities")
    fields = {"chosen_name": "Sophea", "email": SOPHEA, "phone": SOPHEA_PHONE, **overrides}
    attended = (await register_person(sogie, settings, **fields)).registration
    await _checked_in(client, settings, sogie, attended)
    return await Person.get(id=attended.person_id)  # type: ignore[attr-defined]


async def _dara(client: httpx.AsyncClient, settings: Settings) -> Person:
    """Dara registered with a phone number only, and attended a SOGIE training."""
    sogie = await make_session(topic="sogie", title_en="SOGIE evening")
    attended = (
        await register_person(sogie, settings, chosen_name="Dara", email="", phone=DARA_PHONE)
    ).registration
    await _checked_in(client, settings, sogie, attended)
    return await Person.get(id=attended.person_id)  # type: ignore[attr-defined]


def _json_shape(body: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(body))


def _without_ids(member: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in member.items() if key not in ("id", "added_at")}


def _assert_tells_nothing(*texts: str) -> None:
    for text in texts:
        for secret in THEIRS:
            assert secret not in text, f"{secret!r} is readable: {text[:300]}"


def _pending_rows(html: str) -> dict[int, str]:
    """Each pending row of the team page, its own id, action URLs and CSRF token made neutral
    (each form's token is masked afresh: sala/csrf.py)."""
    rows = re.findall(r'<li class="pending-request" id="request-(\d+)">(.*?)</li>', html, re.S)
    return {
        int(row_id): re.sub(
            r'name="csrf_token" value="[^"]*"', "CSRF", re.sub(r"members/\d+", "members/ID", body)
        )
        for row_id, body in rows
    }


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


async def _cells(client: httpx.AsyncClient, team: Team) -> dict[str, list[str]]:
    """Each confirmed member's statuses, by name, from the progress API."""
    progress = (await client.get(f"{team.api}/progress", headers=team.leader_headers)).json()
    return {m["chosen_name"]: [c["status"] for c in m["modules"]] for m in progress["members"]}


# ----------------------------------------------------------------------------- the attack


async def test_the_api_answers_a_leader_the_same_for_known_and_unknown_contacts(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    team = await _team(client)
    await _sophea(client, settings)
    await _dara(client, settings)
    contacts = {
        "Sophea's email": {"email": "SOPHEA@example.org"},
        "an unknown email": {"email": NOBODY},
        "Sophea's phone": {"phone": SOPHEA_PHONE},
        "an unknown phone": {"phone": NOBODYS_PHONE},
        "Dara's phone": {"phone": DARA_PHONE},
    }
    added = {
        name: await client.post(f"{team.api}/members", json=body, headers=team.leader_headers)
        for name, body in contacts.items()
    }
    assert {name: a.status_code for name, a in added.items()} == dict.fromkeys(contacts, 201)
    shapes = {_json_shape(a.json()) for a in added.values()}
    assert len(shapes) == 1, shapes
    assert [_without_ids(a.json()) for a in added.values()] == [
        {"status": "pending", "chosen_name": None, "has_email": None, "confirmed_at": None}
    ] * len(contacts)

    # The same contact twice: the same refusal, known or not.
    twice = [
        await client.post(f"{team.api}/members", json=body, headers=team.leader_headers)
        for body in ({"email": SOPHEA}, {"email": NOBODY})
    ]
    assert [t.status_code for t in twice] == [422, 422]
    assert twice[0].json() == twice[1].json()
    assert twice[0].json()["error"]["code"] == "already_asked"

    # What the leader can read afterwards: pending requests, all alike, and no progress.
    team_answer = await client.get(team.api, headers=team.leader_headers)
    progress = await client.get(f"{team.api}/progress", headers=team.leader_headers)
    listed = await client.get("/api/v1/teams", headers=team.leader_headers)
    members = team_answer.json()["members"]
    assert [_without_ids(m) for m in members] == [
        _without_ids(added["an unknown email"].json())
    ] * 5
    assert progress.json()["members"] == []
    assert all(m["percent_done"] == 0 for m in progress.json()["modules"])
    _assert_tells_nothing(
        *(a.text for a in added.values()), team_answer.text, progress.text, listed.text
    )


async def test_the_team_page_answers_a_leader_the_same_for_known_and_unknown_contacts(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    team = await _team(client)
    await _sophea(client, settings)
    await log_in(client, team.leader)
    token = csrf_from((await client.get(team.page)).text)
    answers = [
        await client.post(team.page, data={"contact": contact, "csrf_token": token})
        for contact in (SOPHEA, NOBODY, SOPHEA_PHONE, NOBODYS_PHONE)
    ]
    assert [a.status_code for a in answers] == [303] * 4
    assert len({a.headers["location"] for a in answers}) == 1

    page = await client.get(answers[0].headers["location"])
    assert "Request recorded." in page.text
    rows = list(_pending_rows(page.text).values())
    assert len(rows) == 4
    labels = [SOPHEA, NOBODY, "+85512345678", "+85512999888"]  # as typed, normalised
    neutral = {row.replace(label, "CONTACT") for row, label in zip(rows, labels, strict=True)}
    assert len(neutral) == 1, neutral  # the rows differ only by what the leader typed
    assert 'data-status="' not in page.text  # no matrix: nobody has said yes
    export = await client.get(f"{team.page}/progress.csv")
    assert len(_csv_rows(export.text)) == 2  # the header and the totals, no member
    _assert_tells_nothing(page.text.replace(SOPHEA, "").replace("+85512345678", ""), export.text)


async def test_another_leader_of_the_team_does_not_read_the_contact_typed(
    client: httpx.AsyncClient, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    team = await _team(client)
    await client.post(f"{team.api}/members", json={"email": NOBODY}, headers=team.leader_headers)
    co_leader = await make_staff(Role.TEAM_LEADER, name="Vuthy")
    await (await TeamModel.get(id=team.id)).leaders.add(co_leader)
    async with new_client() as theirs, new_client() as mine:
        await log_in(theirs, co_leader)
        await log_in(mine, team.leader)
        assert NOBODY not in (their_page := (await theirs.get(team.page)).text)
        assert "Asked by another member of staff" in their_page
        assert NOBODY in (await mine.get(team.page)).text  # what the leader typed themselves


async def test_typing_a_contact_does_not_change_the_list_of_people_who_attended(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The leader ran the session Sophea attended, so she is offered to them by name. Typing
    her phone must not make her vanish from that list (that would tell whose phone it is)."""
    team = await _team(client)
    sophea = await _sophea(client, settings)
    sogie = await Registration.get(person_id=sophea.id, checked_in_at__isnull=False)
    session = await Session.get(id=sogie.session_id)  # type: ignore[attr-defined]
    await session.facilitators.add(team.leader)
    await log_in(client, team.leader)
    page = await client.get(team.page)
    assert f'name="person_id" value="{sophea.id}"' in page.text
    await client.post(team.page, data={"contact": SOPHEA_PHONE, "csrf_token": csrf_from(page.text)})
    page = await client.get(team.page)
    assert f'name="person_id" value="{sophea.id}"' in page.text
    # Picking her by name asks her once more only if a day has passed: one email today.
    await client.post(
        team.page, data={"person_id": str(sophea.id), "csrf_token": csrf_from(page.text)}
    )
    page = await client.get(team.page)
    assert f'name="person_id" value="{sophea.id}"' not in page.text
    assert sorted(m.invited_as for m in await TeamMember.filter(team_id=team.id)) == [
        "+85512345678",
        "Sophea",
    ]
    assert await OutboxMessage.filter(kind=MEMBERSHIP_MAIL, to_address=SOPHEA).count() == 1


# ----------------------------------------------------------------------------- consent


async def test_progress_shows_only_after_the_person_says_yes_through_the_emailed_link(
    web: Browser, mail_server: MailServer, smtp_settings: Settings
) -> None:
    async with web() as leader, web() as sophea_phone:
        team = await _team(leader)
        await _sophea(leader, smtp_settings)
        added = await leader.post(
            f"{team.api}/members", json={"email": SOPHEA}, headers=team.leader_headers
        )
        member_id = added.json()["id"]
        await log_in(leader, team.leader)
        assert await _cells(leader, team) == {}
        assert "Sophea" not in (await leader.get(team.page)).text

        # Sophea's mailbox: one neutral email, in her language, with the team and who asked.
        requests = [
            m
            for m in await mail_to(mail_server, smtp_settings, SOPHEA)
            if "/teams/join/" in text_of(m)
        ]
        assert len(requests) == 1
        subject, text = str(requests[0]["Subject"]), text_of(requests[0])
        assert subject == DISCREET_SUBJECT
        # (The lock-screen preview line, when discreet, comes first: sala/mail.py.)
        assert "Hello Sophea," in [line for line in text.splitlines() if line.strip()][:2]
        assert "Youth team" in text and "Leakhena" in text
        for word in ("SOGIE", "LGBT", "sexual", "gender"):
            assert word.lower() not in subject.lower()
            assert word.lower() not in text.lower()
        link = join_link_in(text)
        assert link.endswith("?lang=en")

        # Opening the link (a mail scanner does) changes nothing; a form without the
        # page's CSRF token is refused.
        question = await sophea_phone.get(link)
        assert question.status_code == 200
        assert "Join the team?" in question.text and "Youth team" in question.text
        assert "SOGIE training" in question.text  # what the team would see, told to her only
        assert (await sophea_phone.get(link)).status_code == 200
        forged = await sophea_phone.post(link, data={"answer": "yes"})
        assert forged.status_code == 403
        assert await _cells(leader, team) == {}
        assert not (await TeamMember.get(id=member_id)).confirmed

        said_yes = await sophea_phone.post(
            link, data={"answer": "yes", "csrf_token": csrf_from(question.text)}
        )
        assert said_yes.status_code == 200 and "You are in the team" in said_yes.text

        # Now, and only now, the leader sees her and what she attended.
        cells = await _cells(leader, team)
        assert cells["Sophea"] == ["not_started", "done", "blocked", "blocked", "blocked"]
        page = await leader.get(team.page)
        assert "Sophea" in page.text and 'data-status="done"' in page.text
        export = _csv_rows((await leader.get(f"{team.page}/progress.csv")).text)
        assert export[1][0] == "Sophea" and export[1][2].startswith("done")

        # The link worked once.
        assert (await sophea_phone.get(link)).status_code == 404
        again = await sophea_phone.post(
            link, data={"answer": "no", "csrf_token": csrf_from(question.text)}
        )
        assert again.status_code == 404
        assert (await TeamMember.get(id=member_id)).confirmed

        # No answer of the team API carries her email or phone.
        answers = [
            await leader.get(team.api, headers=team.leader_headers),
            await leader.get(f"{team.api}/progress", headers=team.leader_headers),
            await leader.post(
                f"{team.api}/members/{member_id}/marks",
                json={
                    "module_id": await _module_id("team_building"),
                    "completed_on": in_days(-2).date().isoformat(),
                },
                headers=team.leader_headers,
            ),
            await leader.post(
                f"{team.api}/members/{member_id}/invitations",
                json={"session_id": (await make_session(topic="sogie")).id},
                headers=team.leader_headers,
            ),
        ]
        assert [a.status_code for a in answers] == [200, 200, 201, 201]
        for body in answers:  # the only addresses are the team's staff (DESIGN: leader_emails)
            assert set(re.findall(r"[\w.+-]+@[\w.-]+", body.text)) <= {team.leader.email}
            assert "12345678" not in body.text and "345 678" not in body.text


async def _module_id(topic: str) -> int:
    module = await Module.get(curriculum__code="team_building", topics__code=topic)
    return module.id


async def test_saying_no_unties_the_person_and_the_leader_sees_no_difference(
    client: httpx.AsyncClient, settings: Settings, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    team = await _team(client)
    sophea = await _sophea(client, settings)
    for contact in (SOPHEA, NOBODY):
        await client.post(
            f"{team.api}/members", json={"email": contact}, headers=team.leader_headers
        )
    before = (await client.get(team.api, headers=team.leader_headers)).json()["members"]
    link = await join_link_from_outbox(settings, SOPHEA)

    async with new_client() as sophea_phone:
        said_no = await answer(sophea_phone, link, "no")
        assert said_no.status_code == 200 and "You said no" in said_no.text
        assert (await sophea_phone.get(link)).status_code == 404

    assert not await TeamMember.filter(person_id=sophea.id).exists()
    after = (await client.get(team.api, headers=team.leader_headers)).json()["members"]
    assert after == before  # still two unanswered requests, alike
    assert [_without_ids(m) for m in after] == [_without_ids(after[1])] * 2
    assert await _cells(client, team) == {}
    await log_in(client, team.leader)
    page = await client.get(team.page)
    rows = list(_pending_rows(page.text).values())
    assert rows[0].replace(SOPHEA, "X") == rows[1].replace(NOBODY, "X")
    # Asking again does not ask her again.
    asked = await client.post(f"{team.page}/requests", data={"csrf_token": csrf_from(page.text)})
    assert asked.status_code == 303
    assert await OutboxMessage.filter(kind=MEMBERSHIP_MAIL, to_address=SOPHEA).count() == 1
    assert not await TeamMember.filter(person_id=sophea.id).exists()


async def test_phone_only_people_are_confirmed_by_an_admin_after_asking_never_by_a_leader(
    client: httpx.AsyncClient, settings: Settings, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    team = await _team(client)
    await _dara(client, settings)
    for phone in (DARA_PHONE, NOBODYS_PHONE):
        await client.post(f"{team.api}/members", json={"phone": phone}, headers=team.leader_headers)
    assert not await OutboxMessage.filter(kind=MEMBERSHIP_MAIL).exists()  # no email to ask
    dara_row, nobody_row = await TeamMember.filter(team_id=team.id).order_by("id")

    await log_in(client, team.leader)
    page = await client.get(team.page)
    assert "an admin confirms them after asking them in person" in page.text
    assert 'value="confirm"' not in page.text
    refused = await client.post(
        f"{team.page}/members/{dara_row.id}",
        data={"action": "confirm", "csrf_token": csrf_from(page.text)},
    )
    assert refused.status_code == 403
    assert await _cells(client, team) == {}
    # Nor may a leader mark or invite a pending request: the same 409 whoever it is for.
    for row in (dara_row, nobody_row):
        marked = await client.post(
            f"{team.api}/members/{row.id}/marks",
            json={"module_id": await _module_id("sogie"), "completed_on": "2026-01-05"},
            headers=team.leader_headers,
        )
        assert marked.status_code == 409 and marked.json()["error"]["code"] == "member_pending"

    async with new_client() as admins_laptop:
        await log_in(admins_laptop, team.admin)
        page = await admins_laptop.get(team.page)
        token = csrf_from(page.text)
        nobody = await admins_laptop.post(
            f"{team.page}/members/{nobody_row.id}", data={"action": "confirm", "csrf_token": token}
        )
        assert nobody.status_code == 409
        confirmed = await admins_laptop.post(
            f"{team.page}/members/{dara_row.id}", data={"action": "confirm", "csrf_token": token}
        )
        assert confirmed.status_code == 303
    assert (await _cells(client, team))["Dara"][1] == "done"


async def test_a_request_is_in_the_persons_language_and_names_the_team_only_when_allowed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    team = await _team(client)
    await _sophea(client, settings, language="km")
    await client.post(f"{team.api}/members", json={"email": SOPHEA}, headers=team.leader_headers)
    message = await OutboxMessage.get(kind=MEMBERSHIP_MAIL, to_address=SOPHEA)
    assert message.language == "km"
    khmer = await compose(MAIL_COMPOSERS, message, settings)
    assert re.search("[\u1780-\u17ff]", khmer.subject) and "Youth team" not in khmer.subject
    assert re.search("[\u1780-\u17ff]", khmer.text.splitlines()[0])
    link = join_link_in(khmer.text)
    assert link.endswith("?lang=km")
    page = await client.get(link)
    assert '<html lang="km">' in page.text

    # Without discreet mail the subject names the team (never a training).
    titled = await compose(MAIL_COMPOSERS, message, replace(settings, discreet_mail=False))
    assert "Youth team" in titled.subject


# ----------------------------------------------------------------------------- certificates


async def test_a_team_leader_cannot_issue_a_curriculum_certificate(
    client: httpx.AsyncClient, settings: Settings, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    team = await _team(client)
    await _sophea(client, settings)
    added = await client.post(
        f"{team.api}/members", json={"email": SOPHEA}, headers=team.leader_headers
    )
    member_id = added.json()["id"]
    async with new_client() as sophea_phone:
        await answer(sophea_phone, await join_link_from_outbox(settings, SOPHEA))
    for module in await Module.filter(curriculum__code="team_building"):
        marked = await client.post(
            f"{team.api}/members/{member_id}/marks",
            json={"module_id": module.id, "completed_on": in_days(-1).date().isoformat()},
            headers=team.leader_headers,
        )
        assert marked.status_code == 201, marked.text
    assert (await _cells(client, team))["Sophea"] == ["done"] * 5
    assert not await Certificate.filter(kind="curriculum").exists()  # nothing automatic

    by_api = await client.post(
        f"{team.api}/members/{member_id}/certificate", headers=team.leader_headers
    )
    assert by_api.status_code == 403
    assert by_api.json()["error"]["code"] == "certificate_by_admins_only"
    await log_in(client, team.leader)
    page = await client.get(team.page)
    by_page = await client.post(
        f"{team.page}/members/{member_id}",
        data={"action": "certificate", "csrf_token": csrf_from(page.text)},
    )
    assert by_page.status_code == 403
    assert "Only an admin can issue a curriculum certificate." in by_page.text
    assert not await Certificate.filter(kind="curriculum").exists()
    assert not await OutboxMessage.filter(kind="certificate_issued").exists()

    by_admin = await client.post(
        f"{team.api}/members/{member_id}/certificate", headers=team.admin_headers
    )
    assert by_admin.status_code == 201
    assert await Certificate.filter(kind="curriculum").count() == 1


# ----------------------------------------------------------------------------- retention


async def test_retention_purges_a_pending_members_person_and_keeps_a_confirmed_one(
    client: httpx.AsyncClient, settings: Settings, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    team = await _team(client)
    session = await make_session(topic="team_building")
    for name in ("Pending", "Joined"):
        await register_person(session, settings, chosen_name=name, email=f"{name}@example.org")
        await client.post(
            f"{team.api}/members",
            json={"email": f"{name}@example.org"},
            headers=team.leader_headers,
        )
    async with new_client() as joined_phone:
        await answer(joined_phone, await join_link_from_outbox(settings, "joined@example.org"))

    later = datetime.now(UTC) + timedelta(days=settings.retention_days + 30)
    assert await purge_personal_data(settings, RETENTION_KEEPERS, now=later) == 1
    assert not await Person.filter(email="pending@example.org").exists()
    assert await Person.filter(email="joined@example.org").exists()
    assert (await _cells(client, team)).keys() == {"Joined"}


# ----------------------------------------------------------------------------- before consent


async def test_members_added_before_consent_become_pending_until_they_say_yes(
    settings: Settings,
) -> None:
    """The migration makes every existing membership a request (they were added without
    asking); the leader's "ask again" button sends the first email."""
    EXECUTOR_CACHE.clear()
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app) as client:
        team = await _team(client)
        session = await make_session(topic="team_building")
        registered = await register_person(
            session, settings, chosen_name="Old member", email="old@example.org"
        )
    person_id = registered.registration.person_id
    await Tortoise.close_connections()

    # The database as it was before: curricula at 0002, with a membership row of that time.
    await run_migrations(
        config=db.tortoise_config(settings), target="curricula.0002_seed_team_building"
    )
    await db.execute(
        connections.get("default"),
        "INSERT INTO team_member (team_id, person_id, added_at, added_by_id) VALUES (?, ?, ?, ?)",
        [team.id, person_id, datetime.now(UTC), team.leader.id],
    )
    await Tortoise.close_connections()
    await db.migrate(settings)

    EXECUTOR_CACHE.clear()
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        _client(app) as client,
        _client(app) as their_phone,
    ):
        row = await TeamMember.get(team_id=team.id)
        assert not row.confirmed and row.invited_as == "Old member"
        assert await _cells(client, team) == {}
        assert not await OutboxMessage.filter(kind=MEMBERSHIP_MAIL).exists()  # none yet
        await log_in(client, team.leader)
        page = await client.get(team.page)
        assert next(iter(_pending_rows(page.text).values())).count("Old member") == 1
        asked = await client.post(
            f"{team.page}/requests", data={"csrf_token": csrf_from(page.text)}
        )
        assert asked.status_code == 303
        assert "were asked again" in (await client.get(asked.headers["location"])).text
        await answer(their_phone, await join_link_from_outbox(settings, "old@example.org"))
        assert (await _cells(client, team)).keys() == {"Old member"}


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"accept-language": "en"},
    )
