"""Check-in through the API: tickets, forgeries, idempotency, two devices, permissions."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from attendees.models import Registration
from attendees.registration import cancel_registration
from checkin.models import CheckinScan
from checkin.tickets import issue_token, issue_v1_token, load_keys, replace_ticket, ticket_for
from sala.config import Settings
from sala.models import Role
from tests.factories import make_session, make_staff, register_person, token_for


def _scan(token: str, session_id: int, **extra: object) -> dict[str, object]:
    return {
        "token": token,
        "session_id": session_id,
        "scan_id": extra.pop("scan_id", uuid.uuid4().hex),
        "device_id": "phone-1",
        "scanned_at": "2026-12-05T09:02:00+07:00",
        **extra,
    }


@pytest.fixture
async def door(client: httpx.AsyncClient, settings: Settings):  # type: ignore[no-untyped-def]
    """A session with a facilitator, two confirmed people and one waiting."""
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(capacity="2", facilitators=(facilitator,))
    people = [
        (await register_person(session, settings, chosen_name=name)).registration
        for name in ("Sokha", "Vanna", "Later")
    ]
    headers = await token_for(facilitator)
    return facilitator, session, people, headers


async def test_scan_checks_in_then_says_already(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    token = await ticket_for(people[0], settings.data_dir)
    first = await client.post("/api/v1/checkins", json=_scan(token, session.id), headers=headers)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["result"] == "checked_in"
    assert answer["chosen_name"] == "Sokha" and answer["checked_in_by"] == "Dara"
    stored = await Registration.get(id=people[0].id)
    assert stored.checked_in_at is not None and stored.checked_in_device == "phone-1"

    again = await client.post("/api/v1/checkins", json=_scan(token, session.id), headers=headers)
    assert again.json()["result"] == "already_checked_in"
    assert again.json()["checked_in_by"] == "Dara"
    assert again.json()["checked_in_at"] is not None

    listed = await client.get(f"/api/v1/sessions/{session.id}/registrations", headers=headers)
    row = next(r for r in listed.json() if r["id"] == people[0].id)
    assert row["checked_in_at"] is not None


async def test_same_scan_twice_is_one_check_in_and_the_same_answer(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    scan = _scan(
        await ticket_for(people[1], settings.data_dir), session.id, scan_id="scan-0001-abc"
    )
    first = await client.post("/api/v1/checkins", json=scan, headers=headers)
    second = await client.post("/api/v1/checkins", json=scan, headers=headers)
    assert first.json() == second.json()
    assert first.json()["result"] == "checked_in"
    assert await CheckinScan.filter(scan_id="scan-0001-abc").count() == 1


async def test_two_devices_one_ticket_first_stands(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    other = await make_staff(Role.ADMIN, name="Admin at the side door")
    other_headers = await token_for(other)
    token = await ticket_for(people[0], settings.data_dir)
    answers = await asyncio.gather(
        client.post(
            "/api/v1/checkins", json=_scan(token, session.id, device_id="a"), headers=headers
        ),
        client.post(
            "/api/v1/checkins", json=_scan(token, session.id, device_id="b"), headers=other_headers
        ),
    )
    results = sorted(a.json()["result"] for a in answers)
    assert results == ["already_checked_in", "checked_in"]
    winner = next(a.json() for a in answers if a.json()["result"] == "checked_in")
    loser = next(a.json() for a in answers if a.json()["result"] == "already_checked_in")
    assert loser["checked_in_by"] == winner["checked_in_by"]
    assert loser["checked_in_at"] == winner["checked_in_at"]


async def test_batch_from_an_offline_queue(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    scans = [_scan(await ticket_for(p, settings.data_dir), session.id) for p in people]
    answer = await client.post("/api/v1/checkins", json={"scans": scans}, headers=headers)
    assert answer.status_code == 200
    assert [r["result"] for r in answer.json()["results"]] == [
        "checked_in",
        "checked_in",
        "waitlisted",
    ]
    replay = await client.post("/api/v1/checkins", json={"scans": scans}, headers=headers)
    assert replay.json() == answer.json()


async def test_every_bad_ticket_gets_its_red_answer(
    client: httpx.AsyncClient, settings: Settings, door, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    good = await ticket_for(people[0], settings.data_dir)
    other_session = await make_session(title_en="Other")
    elsewhere = (await register_person(other_session, settings)).registration
    foreign_keys = load_keys(tmp_path / "another-installation")
    keys = load_keys(settings.data_dir)
    cases = {
        "garbage": ("hello world", "invalid"),
        "truncated": (good[:-5], "invalid"),
        "flipped": (good[:40] + ("1" if good[40] != "1" else "2") + good[41:], "invalid"),
        "other key": (issue_token(foreign_keys, ticket_id=str(people[0].ticket_id)), "invalid"),
        "other key, version 1": (
            issue_v1_token(foreign_keys, registration_id=people[0].id, session_id=session.id,
                           seed=people[0].ticket_seed),
            "invalid",
        ),
        # Signed with our key but held by no registration: issued once, then replaced.
        "ticket id no longer held": (issue_token(keys, ticket_id="00" * 12), "revoked"),
        "other session": (await ticket_for(elsewhere, settings.data_dir), "wrong_session"),
        "other session, version 1": (
            issue_v1_token(keys, registration_id=elsewhere.id, session_id=other_session.id,
                           seed=elsewhere.ticket_seed),
            "wrong_session",
        ),
        # A version-1 ticket that claims this session for another session's registration.
        "version 1, ids mixed": (
            issue_v1_token(keys, registration_id=elsewhere.id, session_id=session.id,
                           seed=elsewhere.ticket_seed),
            "invalid",
        ),
        "waitlisted": (await ticket_for(people[2], settings.data_dir), "waitlisted"),
    }  # fmt: skip
    for name, (token, expected) in cases.items():
        answer = await client.post(
            "/api/v1/checkins", json=_scan(token, session.id), headers=headers
        )
        assert answer.status_code == 200, name
        assert answer.json()["result"] == expected, name
        if expected == "wrong_session":  # the other session's person is not named here
            assert answer.json()["chosen_name"] is None, name
            assert answer.json()["registration_id"] is None, name
    assert (await Registration.get(id=people[0].id)).checked_in_at is None
    assert (await Registration.get(id=elsewhere.id)).checked_in_at is None

    await cancel_registration(people[1].id, settings=settings, actor=None)
    cancelled = await client.post(
        "/api/v1/checkins",
        json=_scan(await ticket_for(people[1], settings.data_dir), session.id),
        headers=headers,
    )
    assert cancelled.json()["result"] == "cancelled"


async def test_a_replaced_ticket_is_revoked(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    old_token = await ticket_for(people[0], settings.data_dir)
    old_v1 = issue_v1_token(
        load_keys(settings.data_dir),
        registration_id=people[0].id,
        session_id=session.id,
        seed=people[0].ticket_seed,
    )
    await replace_ticket(people[0].id)
    for token in (old_token, old_v1):
        answer = await client.post(
            "/api/v1/checkins", json=_scan(token, session.id), headers=headers
        )
        assert answer.json()["result"] == "revoked"
    replaced = await Registration.get(id=people[0].id)
    assert replaced.ticket_id != people[0].ticket_id
    assert replaced.ticket_seed != people[0].ticket_seed
    new_token = await ticket_for(replaced, settings.data_dir)
    assert new_token != old_token
    answer = await client.post(
        "/api/v1/checkins", json=_scan(new_token, session.id), headers=headers
    )
    assert answer.json()["result"] == "checked_in"
    assert answer.json()["registration_id"] == people[0].id


async def test_a_version_1_ticket_issued_before_still_checks_in(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    """Tickets already in people's mailboxes, minted the old way (ids in the payload), work
    at the door beside the new ones, including for a row from before ticket ids."""
    _facilitator, session, people, headers = door
    await Registration.filter(id=people[1].id).update(ticket_id=None)
    keys = load_keys(settings.data_dir)
    tokens = [
        issue_v1_token(keys, registration_id=p.id, session_id=session.id, seed=p.ticket_seed)
        for p in people[:2]
    ]
    for person, token in zip(people[:2], tokens, strict=True):
        answer = await client.post(
            "/api/v1/checkins", json=_scan(token, session.id), headers=headers
        )
        assert answer.json()["result"] == "checked_in"
        assert answer.json()["registration_id"] == person.id
        assert answer.json()["chosen_name"] == person.chosen_name
    again = await client.post(
        "/api/v1/checkins", json=_scan(tokens[0], session.id), headers=headers
    )
    assert again.json()["result"] == "already_checked_in"
    # The new ticket of the same registration names the same check-in.
    fresh = await ticket_for(await Registration.get(id=people[1].id), settings.data_dir)
    newer = await client.post("/api/v1/checkins", json=_scan(fresh, session.id), headers=headers)
    assert newer.json()["result"] == "already_checked_in"
    assert newer.json()["registration_id"] == people[1].id


async def test_checkin_list_has_no_contact_data(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    facilitator, session, people, headers = door
    await cancel_registration(people[1].id, settings=settings, actor=None)
    answer = await client.get(f"/api/v1/sessions/{session.id}/checkin-list", headers=headers)
    assert answer.status_code == 200
    # Names stay out of the browser's HTTP cache, and every refresh asks the server.
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert "@" not in answer.text
    ids = {t["registration_id"]: t for t in body["tickets"]}
    assert ids[people[0].id]["seed"] == people[0].ticket_seed
    assert ids[people[0].id]["ticket_id"] == people[0].ticket_id
    assert ids[people[0].id]["chosen_name"] == "Sokha"
    assert people[1].id not in ids
    assert body["revocations"] == [people[1].id]
    assert body["revoked_ticket_ids"] == [people[1].ticket_id]
    keys = load_keys(settings.data_dir).public_keys_raw()
    assert {k: base64.b64decode(v) for k, v in body["public_keys"].items()} == {
        str(k): v for k, v in keys.items()
    }
    # Whose list it is and until when a phone may keep it: 12 hours after the session ends.
    assert body["staff_id"] == facilitator.id
    ends_at = datetime.fromisoformat(body["ends_at"])
    assert ends_at == session.ends_at
    assert datetime.fromisoformat(body["expires_at"]) - ends_at == timedelta(hours=12)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 400),
        (b"[]", 400),
        (b'{"scans": []}', 422),
        (b'{"scans": "x"}', 422),
        (b'{"token": "x"}', 422),
        (b'{"token": "x", "session_id": 1, "scan_id": "short"}', 422),
        (b'{"a": "' + b"x" * 1_100_000 + b'"}', 413),
    ],
)
async def test_malformed_bodies_are_4xx(
    client: httpx.AsyncClient, door, content: bytes, status: int
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, _session, _people, headers = door
    answer = await client.post(
        "/api/v1/checkins", content=content, headers={**headers, "content-type": "application/json"}
    )
    assert answer.status_code == status


async def test_only_the_sessions_facilitators_check_in(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, _headers = door
    outsider = await make_staff(Role.FACILITATOR)
    leader = await make_staff(Role.TEAM_LEADER)
    token = await ticket_for(people[0], settings.data_dir)
    for user in (outsider, leader):
        headers = await token_for(user)
        answer = await client.post(
            "/api/v1/checkins", json=_scan(token, session.id), headers=headers
        )
        assert answer.status_code == 403
        listing = await client.get(f"/api/v1/sessions/{session.id}/checkin-list", headers=headers)
        assert listing.status_code == 403
    anonymous = await client.post("/api/v1/checkins", json=_scan(token, session.id))
    assert anonymous.status_code == 401
    assert (await Registration.get(id=people[0].id)).checked_in_at is None


async def test_undo_and_walk_in_and_the_counter(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    token = await ticket_for(people[0], settings.data_dir)
    await client.post("/api/v1/checkins", json=_scan(token, session.id), headers=headers)
    counts = await client.get(f"/api/v1/sessions/{session.id}/checkin-list", headers=headers)
    assert counts.json()["counts"] == {"confirmed": 2, "checked_in": 1}

    undone = await client.post(
        f"/api/v1/registrations/{people[0].id}/undo-checkin", headers=headers
    )
    assert undone.status_code == 200 and undone.json()["checked_in_at"] is None
    again = await client.post("/api/v1/checkins", json=_scan(token, session.id), headers=headers)
    assert again.json()["result"] == "checked_in"

    # The session is full: a walk-in waits; after a cancellation the next walk-in gets in.
    walk = {"chosen_name": "At the door", "phone": "012 777 888", "sector": "community",
            "consent": True}  # fmt: skip
    full = await client.post(f"/api/v1/sessions/{session.id}/walk-ins", json=walk, headers=headers)
    assert full.status_code == 201
    assert full.json()["checked_in"] is False and full.json()["status"] == "waitlisted"
    session.capacity = 10
    await session.save()
    seated = await client.post(
        f"/api/v1/sessions/{session.id}/walk-ins",
        json={**walk, "phone": "012 777 999", "chosen_name": "Second"},
        headers=headers,
    )
    assert seated.json()["checked_in"] is True and seated.json()["checked_in_at"] is not None
    # The door's check-in, the same as a scan: on the scan record, on every phone's list.
    scans = await CheckinScan.filter(registration_id=seated.json()["id"])
    assert [(s.result, s.device_id) for s in scans] == [("checked_in", "walk-in")]
    listing = await client.get(f"/api/v1/sessions/{session.id}/checkin-list", headers=headers)
    door_entry = next(t for t in listing.json()["tickets"] if t["chosen_name"] == "Second")
    assert door_entry["checked_in_by"] == _facilitator.name
    outsider_headers = await token_for(await make_staff(Role.FACILITATOR))
    refused = await client.post(
        f"/api/v1/sessions/{session.id}/walk-ins", json=walk, headers=outsider_headers
    )
    assert refused.status_code == 403
    assert (
        await client.post(f"/api/v1/registrations/{people[0].id}/undo-checkin",
                          headers=outsider_headers)
    ).status_code == 403  # fmt: skip


async def test_many_doors_at_once_each_get_their_own_answer(
    client: httpx.AsyncClient, settings: Settings, new_client
) -> None:  # type: ignore[no-untyped-def]
    """Scans arriving together are decided together; each still gets the right answer."""
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(capacity="30", facilitators=(facilitator,))
    people = [(await register_person(session, settings)).registration for _ in range(24)]
    headers = await token_for(facilitator)
    tokens = [await ticket_for(p, settings.data_dir) for p in people]
    # Every ticket scanned at two doors, and every first scan sent twice (a retry).
    first = [_scan(t, session.id, device_id="front") for t in tokens]
    second = [_scan(t, session.id, device_id="side") for t in tokens]
    scans = [*first, *second, *first]

    async def post(scan: dict[str, object]) -> dict[str, object]:
        answer = await client.post("/api/v1/checkins", json=scan, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    answers = await asyncio.gather(*(post(scan) for scan in scans))
    by_scan = {scan["scan_id"]: answer for scan, answer in zip(scans, answers, strict=True)}
    for index, person in enumerate(people):
        front, side = by_scan[first[index]["scan_id"]], by_scan[second[index]["scan_id"]]
        assert sorted([front["result"], side["result"]]) == ["already_checked_in", "checked_in"]
        assert front["registration_id"] == side["registration_id"] == person.id
        assert front["checked_in_at"] == side["checked_in_at"]
        assert front["checked_in_by"] == side["checked_in_by"] == "Dara"
        retried = answers[2 * len(people) + index]
        assert retried == front  # the same scan again: the same answer
    assert (
        await Registration.filter(session_id=session.id, checked_in_at__isnull=False).count() == 24
    )
    assert await CheckinScan.filter(session_id=session.id).count() == 48


async def test_a_refused_scan_among_many_leaves_the_others_standing(
    client: httpx.AsyncClient, settings: Settings, door
) -> None:  # type: ignore[no-untyped-def]
    _facilitator, session, people, headers = door
    outsider = await token_for(await make_staff(Role.FACILITATOR))
    good = [await ticket_for(p, settings.data_dir) for p in people[:2]]
    requests = [
        client.post("/api/v1/checkins", json=_scan(good[0], session.id), headers=headers),
        client.post("/api/v1/checkins", json=_scan(good[1], session.id), headers=outsider),
        client.post("/api/v1/checkins", json=_scan(good[1], 999_999), headers=headers),
        client.post("/api/v1/checkins", json=_scan("not a ticket", session.id), headers=headers),
        client.post("/api/v1/checkins", json=_scan(good[1], session.id), headers=headers),
    ]
    answers = await asyncio.gather(*requests)
    assert [a.status_code for a in answers] == [200, 403, 404, 200, 200]
    assert answers[1].json()["error"]["code"] == "forbidden"
    assert answers[2].json()["error"]["code"] == "session_not_found"
    assert [answers[i].json()["result"] for i in (0, 3, 4)] == [
        "checked_in",
        "invalid",
        "checked_in",
    ]
    stored = await Registration.get(id=people[1].id)
    assert stored.checked_in_device == "phone-1"
    assert await CheckinScan.filter(session_id=999_999).count() == 0
