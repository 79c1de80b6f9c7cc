"""The registrations and invitations API, as a partner website or a staff tool uses it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from attendees.models import Invitation, Registration
from events.models import Audience
from sala.models import OutboxMessage, Role
from tests.factories import make_session, make_staff, token_for


def _person(**overrides: Any) -> dict[str, Any]:
    body = {
        "chosen_name": "Rathana",
        "pronouns": "she/her",
        "email": "rathana@example.org",
        "sector": "government",
        "organisation": "Ministry",
        "language": "km",
        "consent": True,
    }
    body.update(overrides)
    return body


async def test_register_through_the_api(client: httpx.AsyncClient) -> None:
    session = await make_session(capacity="1")
    first = await client.post(f"/api/v1/sessions/{session.id}/registrations", json=_person())
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "confirmed" and body["waitlist_position"] is None
    assert body["manage_url"].startswith("http://testserver/registrations/")
    assert (
        await client.get(body["manage_url"].removeprefix("http://testserver"))
    ).status_code == 200

    second = await client.post(
        f"/api/v1/sessions/{session.id}/registrations",
        json=_person(email="second@example.org"),
    )
    assert second.status_code == 201
    assert second.json()["status"] == "waitlisted"
    assert second.json()["waitlist_position"] == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"email": None, "phone": None}, "email"),
        ({"consent": False}, "consent"),
        ({"sector": "unknown"}, "sector"),
        ({"chosen_name": 42}, "chosen_name"),
        ({"language": "fr"}, "language"),
    ],
)
async def test_bad_registration_bodies_are_422(
    client: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    session = await make_session()
    body = {k: v for k, v in _person(**overrides).items() if v is not None}
    answer = await client.post(f"/api/v1/sessions/{session.id}/registrations", json=body)
    assert answer.status_code == 422
    assert field in answer.json()["error"]["fields"]
    assert await Registration.all().count() == 0


async def test_registration_for_unknown_or_draft_session_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v1/sessions/9999/registrations", json=_person())
    assert answer.status_code == 404
    assert (await client.post("/api/v1/sessions/1/registrations", content=b"")).status_code in (
        400,
        404,
    )


async def test_staff_list_and_cancel_with_promotion(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    outsider = await make_staff(Role.FACILITATOR)
    session = await make_session(capacity="1", facilitators=(facilitator,))
    ids = []
    for index in range(3):
        answer = await client.post(
            f"/api/v1/sessions/{session.id}/registrations",
            json=_person(email=f"p{index}@example.org", chosen_name=f"P{index}"),
        )
        ids.append(answer.json()["id"])
    headers = await token_for(facilitator)
    listed = await client.get(f"/api/v1/sessions/{session.id}/registrations", headers=headers)
    assert listed.status_code == 200
    rows = {r["id"]: r for r in listed.json()}
    assert rows[ids[0]]["status"] == "confirmed"
    assert [rows[i]["waitlist_position"] for i in ids[1:]] == [1, 2]
    assert "email" not in rows[ids[0]] and rows[ids[0]]["checked_in_at"] is None

    outsider_headers = await token_for(outsider)
    assert (
        await client.get(f"/api/v1/sessions/{session.id}/registrations", headers=outsider_headers)
    ).status_code == 403
    assert (await client.get(f"/api/v1/sessions/{session.id}/registrations")).status_code == 401
    assert (
        await client.post(f"/api/v1/registrations/{ids[0]}/cancel", headers=outsider_headers)
    ).status_code == 403

    cancelled = await client.post(f"/api/v1/registrations/{ids[0]}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert [p["id"] for p in cancelled.json()["promoted"]] == [ids[1]]
    assert await OutboxMessage.filter(kind="registration_cancelled_to_registrant").count() == 1
    assert await OutboxMessage.filter(kind="registration_promoted_to_registrant").count() == 1
    missing = await client.post("/api/v1/registrations/99999/cancel", headers=headers)
    assert missing.status_code == 404


async def test_invitations_personal_organisation_and_bulk(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    session = await make_session(audience=Audience.INVITE_ONLY.value, capacity="10")
    url = f"/api/v1/sessions/{session.id}/invitations"

    personal = await client.post(url, json={"email": "Invitee@Example.org"}, headers=headers)
    assert personal.status_code == 201
    code = personal.json()["code"]
    assert personal.json()["kind"] == "personal" and personal.json()["seats"] == 1
    assert await OutboxMessage.filter(
        kind="invitation_to_invitee", to_address="invitee@example.org"
    ).exists()

    register = f"/api/v1/sessions/{session.id}/registrations"
    without = await client.post(register, json=_person())
    # Without an invitation, an invite-only session answers as a missing one (issue 12).
    assert without.status_code == 404
    assert without.json()["error"]["code"] == "session_not_found"
    used = await client.post(
        register, json=_person(email="invitee@example.org", invitation_code=code.lower())
    )
    assert used.status_code == 201
    again = await client.post(
        register, json=_person(email="invitee@example.org", invitation_code=code)
    )
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "invitation_used_up"
    # A personal invitation is bound to the email it was sent to.
    other = await client.post(
        register, json=_person(email="other@example.org", invitation_code=code)
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "invitation_invalid"

    org = await client.post(
        url, json={"organisation": "Ministry of Youth", "seats": 2}, headers=headers
    )
    org_code = org.json()["code"]
    results = [
        (
            await client.post(
                register, json=_person(email=f"m{i}@example.org", invitation_code=org_code)
            )
        ).status_code
        for i in range(3)
    ]
    assert results == [201, 201, 422]
    assert (await Invitation.get(code=org_code)).used == 2

    bulk = await client.post(
        url,
        json={"emails": ["a@example.org", "bad-address", "a@example.org", "b@example.org"]},
        headers=headers,
    )
    assert bulk.status_code == 201
    assert len(bulk.json()["invitations"]) == 2
    assert bulk.json()["skipped"] == ["bad-address", "a@example.org"]

    listed = await client.get(url, headers=headers)
    assert len(listed.json()) == 4

    for body in ({"email": "x"}, {"organisation": "", "seats": 0}, {"emails": []}, {"emails": "a"}):
        assert (await client.post(url, json=body, headers=headers)).status_code == 422


async def test_cancelling_frees_the_invitation_seat(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    session = await make_session(audience=Audience.INVITE_ONLY.value)
    org = await client.post(
        f"/api/v1/sessions/{session.id}/invitations",
        json={"organisation": "School", "seats": 1},
        headers=headers,
    )
    code = org.json()["code"]
    first = await client.post(
        f"/api/v1/sessions/{session.id}/registrations", json=_person(invitation_code=code)
    )
    await client.post(f"/api/v1/registrations/{first.json()['id']}/cancel", headers=headers)
    second = await client.post(
        f"/api/v1/sessions/{session.id}/registrations",
        json=_person(email="next@example.org", invitation_code=code),
    )
    assert second.status_code == 201


async def test_cancelling_the_session_tells_everyone(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    session = await make_session(capacity="1")
    for index in range(3):
        await client.post(
            f"/api/v1/sessions/{session.id}/registrations",
            json=_person(email=f"c{index}@example.org"),
        )
    await client.post(f"/api/v1/sessions/{session.id}/cancel", headers=headers)
    assert await OutboxMessage.filter(kind="session_cancelled_to_registrant").count() == 3
