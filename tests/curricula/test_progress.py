"""Team progress through the API, derived from real registrations and check-ins; manual
marks, prerequisites, invitations, the matrix page and CSV, and who may see a team.

Members here said yes through the link of their confirmation email (read from the outbox);
what a pending request hides is ``test_membership.py``."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from attendees.models import Invitation, Person, Registration
from certificates.models import Certificate
from checkin.tickets import ticket_for
from curricula.models import Module
from sala.config import Settings
from sala.models import OutboxMessage, Role
from tests.curricula.joining import answer, join_link_from_outbox
from tests.factories import (
    csrf_from,
    in_days,
    log_in,
    make_session,
    make_staff,
    register_person,
    token_for,
)


async def _module_ids() -> dict[str, int]:
    modules = await Module.filter(curriculum__code="team_building").prefetch_related("topics")
    return {m.topics[0].code: m.id for m in modules}


@pytest.fixture
async def team(client: httpx.AsyncClient, settings: Settings, new_client: Any) -> dict[str, Any]:
    """A team led by Leakhena, with Sokha (registered before) as its only member: Leakhena
    asked, Sokha said yes through the link emailed to her."""
    admin = await make_staff(Role.ADMIN)
    leader = await make_staff(Role.TEAM_LEADER, name="Leakhena", email="leakhena@example.org")
    admin_headers = await token_for(admin)
    created = await client.post(
        "/api/v1/teams",
        json={"name": "Youth team", "leader_emails": ["Leakhena@example.org"]},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["curriculum"] == "team_building" and body["leader_emails"] == [leader.email]
    team_day = await make_session(topic="team_building", title_en="Team day")
    await register_person(team_day, settings, chosen_name="Sokha", email="sokha@example.org")
    headers = await token_for(leader)
    added = await client.post(
        f"/api/v1/teams/{body['id']}/members", json={"email": "SOKHA@example.org"}, headers=headers
    )
    assert added.status_code == 201, added.text
    assert added.json()["status"] == "pending"
    async with new_client() as sokhas_phone:
        said_yes = await answer(
            sokhas_phone, await join_link_from_outbox(settings, "sokha@example.org")
        )
    assert said_yes.status_code == 200 and "You are in the team" in said_yes.text
    return {
        "id": body["id"],
        "leader": leader,
        "admin": admin,
        "headers": headers,
        "admin_headers": admin_headers,
        "member_id": added.json()["id"],
        "team_session": team_day,
    }


def _cells(progress: dict[str, Any], member_id: int) -> dict[int, dict[str, Any]]:
    row = next(m for m in progress["members"] if m["member_id"] == member_id)
    return {cell["module_id"]: cell for cell in row["modules"]}


async def test_register_then_check_in_completes_the_module(
    client: httpx.AsyncClient, settings: Settings, team: dict[str, Any]
) -> None:
    modules = await _module_ids()
    url = f"/api/v1/teams/{team['id']}/progress"
    cells = _cells((await client.get(url, headers=team["headers"])).json(), team["member_id"])
    # Registered for the (upcoming) team-building session: booked; the rest wait for it.
    assert cells[modules["team_building"]]["status"] == "booked"
    assert cells[modules["sogie"]]["status"] == "blocked"
    assert cells[modules["problem_solving"]]["status"] == "blocked"

    # The facilitator scans Sokha's ticket at the door.
    facilitator = await make_staff(Role.FACILITATOR)
    session = team["team_session"]
    await session.facilitators.add(facilitator)
    registration = await Registration.get(session_id=session.id)
    scan = {
        "token": await ticket_for(registration, settings.data_dir),
        "session_id": session.id,
        "scan_id": uuid.uuid4().hex,
    }
    checked = await client.post("/api/v1/checkins", json=scan, headers=await token_for(facilitator))
    assert checked.json()["result"] == "checked_in"

    progress = (await client.get(url, headers=team["headers"])).json()
    cells = _cells(progress, team["member_id"])
    assert cells[modules["team_building"]]["status"] == "done"
    assert cells[modules["team_building"]]["completed_at"] is not None
    assert cells[modules["sogie"]]["status"] == "not_started"  # no longer blocked
    assert cells[modules["human_rights"]]["status"] == "not_started"
    assert cells[modules["problem_analysis"]]["status"] == "blocked"
    row = next(m for m in progress["members"] if m["member_id"] == team["member_id"])
    assert row["percent_done"] == 20
    module_percent = {m["id"]: m["percent_done"] for m in progress["modules"]}
    assert module_percent[modules["team_building"]] == 100
    assert module_percent[modules["sogie"]] == 0


async def test_manual_marks_and_prerequisites(
    client: httpx.AsyncClient, team: dict[str, Any]
) -> None:
    modules = await _module_ids()
    marks = f"/api/v1/teams/{team['id']}/members/{team['member_id']}/marks"
    future = (in_days(3)).date().isoformat()
    refused = await client.post(
        marks,
        json={"module_id": modules["sogie"], "completed_on": future},
        headers=team["headers"],
    )
    assert refused.status_code == 422
    assert "future" in refused.json()["error"]["fields"]["completed_on"]
    bad_date = await client.post(
        marks,
        json={"module_id": modules["sogie"], "completed_on": "yesterday"},
        headers=team["headers"],
    )
    assert bad_date.status_code == 422

    done_on = (in_days(-30)).date().isoformat()
    for topic in ("team_building", "sogie", "human_rights"):
        answer = await client.post(
            marks,
            json={"module_id": modules[topic], "completed_on": done_on, "note": "partner NGO"},
            headers=team["headers"],
        )
        assert answer.status_code == 201, answer.text
    cells = _cells(
        (await client.get(f"/api/v1/teams/{team['id']}/progress", headers=team["headers"])).json(),
        team["member_id"],
    )
    assert cells[modules["sogie"]]["status"] == "done"
    assert cells[modules["sogie"]]["completed_at"].startswith(done_on)
    assert cells[modules["sogie"]]["how"] == "manual"
    assert cells[modules["problem_analysis"]]["status"] == "not_started"
    assert cells[modules["problem_solving"]]["status"] == "blocked"


async def test_cyclic_prerequisites_and_losing_progress_are_refused(
    client: httpx.AsyncClient, settings: Settings, team: dict[str, Any]
) -> None:
    modules = await _module_ids()
    admin = team["admin_headers"]
    # Team building requires Problem solving, which (through the others) requires it.
    cycle = await client.patch(
        f"/api/v1/modules/{modules['team_building']}",
        json={"prerequisites": [modules["problem_solving"]]},
        headers=admin,
    )
    assert cycle.status_code == 422
    assert cycle.json()["error"]["code"] == "cyclic_prerequisites"
    itself = await client.patch(
        f"/api/v1/modules/{modules['sogie']}",
        json={"prerequisites": [modules["sogie"]]},
        headers=admin,
    )
    assert itself.status_code == 422

    # Sokha completed Team building by attending: its topic cannot be taken away...
    session = team["team_session"]
    await Registration.filter(session_id=session.id).update(checked_in_at=session.starts_at)
    moved = await client.patch(
        f"/api/v1/modules/{modules['team_building']}", json={"topics": ["sogie"]}, headers=admin
    )
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "module_has_progress"
    # ...and removing the module archives it, keeping what was recorded.
    removed = await client.delete(f"/api/v1/modules/{modules['team_building']}", headers=admin)
    assert removed.json() == {"id": modules["team_building"], "deleted": False, "archived": True}
    assert await Module.filter(id=modules["team_building"]).exists()
    progress = (
        await client.get(f"/api/v1/teams/{team['id']}/progress", headers=team["headers"])
    ).json()
    assert modules["team_building"] not in [m["id"] for m in progress["modules"]]

    # A new module nobody has progress in is really deleted.
    created = await client.post(
        "/api/v1/curricula/1/modules",
        json={"name_en": "Facilitation", "topics": ["problem_solving"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    gone = await client.delete(f"/api/v1/modules/{created.json()['id']}", headers=admin)
    assert gone.json()["deleted"] is True


async def test_adding_a_contact_twice_or_a_bad_one_is_refused(
    client: httpx.AsyncClient, team: dict[str, Any]
) -> None:
    url = f"/api/v1/teams/{team['id']}/members"
    again = await client.post(url, json={"email": "sokha@example.org"}, headers=team["headers"])
    assert again.status_code == 422 and again.json()["error"]["code"] == "already_asked"
    assert "already added this contact" in again.json()["error"]["fields"]["contact"]
    garbage = await client.post(url, json={"email": "not an email"}, headers=team["headers"])
    assert garbage.status_code == 422
    assert "valid email" in garbage.json()["error"]["fields"]["contact"]
    empty = await client.post(url, json={}, headers=team["headers"])
    assert empty.status_code == 422


async def test_another_teams_leader_and_facilitators_get_403(
    client: httpx.AsyncClient, new_client: Any, team: dict[str, Any]
) -> None:
    other_leader = await make_staff(Role.TEAM_LEADER)
    for role_headers in (
        await token_for(other_leader),
        await token_for(await make_staff(Role.FACILITATOR)),
    ):
        for path in (f"/api/v1/teams/{team['id']}/progress", f"/api/v1/teams/{team['id']}"):
            assert (await client.get(path, headers=role_headers)).status_code == 403
        add = await client.post(
            f"/api/v1/teams/{team['id']}/members",
            json={"email": "x@example.org"},
            headers=role_headers,
        )
        assert add.status_code == 403
    mine = await client.get("/api/v1/teams", headers=await token_for(other_leader))
    assert mine.json() == []
    assert (
        await client.get("/api/v1/teams/9999/progress", headers=team["headers"])
    ).status_code == 404
    leader_creates = await client.post(
        "/api/v1/teams", json={"name": "Mine", "leader_emails": []}, headers=team["headers"]
    )
    assert leader_creates.status_code == 403
    async with new_client() as browser:
        await log_in(browser, other_leader)
        assert (await browser.get(f"/staff/teams/{team['id']}")).status_code == 403
        assert (await browser.get(f"/staff/teams/{team['id']}/progress.csv")).status_code == 403


async def test_matrix_page_invites_the_member_to_the_session_that_completes_their_next_module(
    client: httpx.AsyncClient, settings: Settings, team: dict[str, Any]
) -> None:
    modules = await _module_ids()
    await client.post(
        f"/api/v1/teams/{team['id']}/members/{team['member_id']}/marks",
        json={
            "module_id": modules["team_building"],
            "completed_on": in_days(-3).date().isoformat(),
        },
        headers=team["headers"],
    )
    starts = in_days(10)
    sogie = await make_session(
        topic="sogie",
        title_en="SOGIE for teams",
        starts_at=starts.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    )
    await log_in(client, team["leader"])
    page = await client.get(f"/staff/teams/{team['id']}")
    assert page.status_code == 200
    assert "Sokha" in page.text and "SOGIE for teams" in page.text
    assert 'data-status="done"' in page.text and 'data-status="blocked"' in page.text
    answer = await client.post(
        f"/staff/teams/{team['id']}/members/{team['member_id']}",
        data={"action": "invite", "session_id": str(sogie.id), "csrf_token": csrf_from(page.text)},
    )
    assert answer.status_code == 303
    invitation = await Invitation.get(session_id=sogie.id)
    assert invitation.email == "sokha@example.org"
    assert "sokha@example.org" not in (await client.get(f"/staff/teams/{team['id']}")).text
    assert await OutboxMessage.filter(
        kind="invitation_to_invitee", to_address="sokha@example.org"
    ).exists()

    export = await client.get(f"/staff/teams/{team['id']}/progress.csv")
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Name" and rows[0][1] == "Team building training"
    assert rows[1][0] == "Sokha" and rows[1][1].startswith("done")
    assert rows[1][-1] == "20"

    # A team leader invites only to public sessions of the curriculum.
    closed = await make_session(topic="sogie", audience="invite_only", title_en="Closed")
    elsewhere = await make_session(topic="human_rights", title_en="Open")
    await Module.filter(id=modules["human_rights"]).update(archived_at=closed.starts_at)
    for refused_session in (closed, elsewhere):
        refused = await client.post(
            f"/api/v1/teams/{team['id']}/members/{team['member_id']}/invitations",
            json={"session_id": refused_session.id},
            headers=team["headers"],
        )
        assert refused.status_code == 422, refused_session.title_en
    # The invitation's answer names the member, not their address.
    sent = await client.post(
        f"/api/v1/teams/{team['id']}/members/{team['member_id']}/invitations",
        json={"session_id": sogie.id},
        headers=team["headers"],
    )
    assert sent.status_code == 201 and "@" not in sent.text
    assert sent.json()["member_id"] == team["member_id"]


async def test_curriculum_certificate_for_a_member_who_completed_everything(
    client: httpx.AsyncClient, settings: Settings, team: dict[str, Any], new_client: Any
) -> None:
    modules = await _module_ids()
    member_url = f"/staff/teams/{team['id']}/members/{team['member_id']}"
    async with new_client() as leaders_laptop:
        await log_in(leaders_laptop, team["leader"])
        token = csrf_from((await leaders_laptop.get(f"/staff/teams/{team['id']}")).text)
        for topic in modules:
            marked = await leaders_laptop.post(
                member_url,
                data={
                    "action": "mark",
                    "module_id": str(modules[topic]),
                    "completed_on": in_days(-1).date().isoformat(),
                    "csrf_token": token,
                },
            )
            assert marked.status_code == 303
        # Every module marked done by the leader: nothing is issued, nothing emailed.
        page = await leaders_laptop.get(f"/staff/teams/{team['id']}")
        assert "an admin issues the curriculum certificate" in page.text
        assert 'value="certificate"' not in page.text
        assert not await Certificate.filter(kind="curriculum").exists()
        assert not await OutboxMessage.filter(kind="certificate_issued").exists()

    await log_in(client, team["admin"])
    page = await client.get(f"/staff/teams/{team['id']}")
    token = csrf_from(page.text)
    issued = await client.post(member_url, data={"action": "certificate", "csrf_token": token})
    assert issued.status_code == 303
    person = await Person.get(email="sokha@example.org")
    certificate = await Certificate.get(person_id=person.id)
    assert certificate.kind == "curriculum" and certificate.title_en == "Team-building curriculum"
    again = await client.post(member_url, data={"action": "certificate", "csrf_token": token})
    assert again.status_code == 303
    assert await Certificate.filter(person_id=person.id).count() == 1

    # The holder downloads it from the page of all their registrations (emailed to them).
    from attendees.people import person_url

    mine = (await client.get(person_url(person, settings).removeprefix(settings.base_url))).text
    links = re.findall(rf'href="([^"]*{certificate.code}[^"]*)"', mine)
    assert links, "the holder's page offers no download of the curriculum certificate"
    pdf = await client.get(links[0].replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_a_member_who_has_not_completed_everything_gets_no_certificate(
    client: httpx.AsyncClient, team: dict[str, Any]
) -> None:
    early = await client.post(
        f"/api/v1/teams/{team['id']}/members/{team['member_id']}/certificate",
        headers=team["admin_headers"],
    )
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "curriculum_not_complete"
