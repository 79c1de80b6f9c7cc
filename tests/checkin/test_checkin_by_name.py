"""Checking someone in by name (the scanner's search, for a forgotten phone) and the time an
offline scan records."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from attendees.models import Registration
from checkin.services import name_search_key
from checkin.tickets import ticket_for
from sala.config import Settings
from sala.models import Role
from tests.factories import make_session, make_staff, register_person, token_for


def _by_name(registration: Registration, session_id: int) -> dict[str, object]:
    return {
        "registration_id": registration.id,
        "session_id": session_id,
        "scan_id": uuid.uuid4().hex,
    }


async def test_check_in_by_name_then_again_says_already(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(facilitators=(facilitator,))
    other = await make_session(facilitators=(facilitator,))
    sokha = (await register_person(session, settings, chosen_name="Sokha")).registration
    elsewhere = (await register_person(other, settings, chosen_name="Vanna")).registration
    headers = await token_for(facilitator)

    first = await client.post("/api/v1/checkins", json=_by_name(sokha, session.id), headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "checked_in" and first.json()["chosen_name"] == "Sokha"
    again = await client.post("/api/v1/checkins", json=_by_name(sokha, session.id), headers=headers)
    assert again.json()["result"] == "already_checked_in"
    assert again.json()["checked_in_by"] == "Dara"

    # Someone of another session, picked for this one: not let in here.
    wrong = await client.post(
        "/api/v1/checkins", json=_by_name(elsewhere, session.id), headers=headers
    )
    assert wrong.json()["result"] == "wrong_session"
    assert (await Registration.get(id=elsewhere.id)).checked_in_at is None

    unknown = {"registration_id": 999999, "session_id": session.id, "scan_id": uuid.uuid4().hex}
    assert (await client.post("/api/v1/checkins", json=unknown, headers=headers)).json()[
        "result"
    ] == "invalid"
    neither = {"session_id": session.id, "scan_id": uuid.uuid4().hex}
    assert (await client.post("/api/v1/checkins", json=neither, headers=headers)).status_code == 422

    # Another session's facilitator cannot check Sokha in by name either.
    stranger = await token_for(await make_staff(Role.FACILITATOR))
    refused = await client.post(
        "/api/v1/checkins", json=_by_name(sokha, session.id), headers=stranger
    )
    assert refused.status_code == 403


async def test_offline_scan_records_when_the_person_came_in(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    people = [
        (await register_person(session, settings, chosen_name=name)).registration
        for name in ("Early", "Liar")
    ]
    headers = await token_for(facilitator)
    an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    next_year = datetime.now(UTC) + timedelta(days=365)
    for registration, scanned_at in zip(people, (an_hour_ago, next_year), strict=True):
        scan = {
            "token": await ticket_for(registration, settings.data_dir),
            "session_id": session.id,
            "scan_id": uuid.uuid4().hex,
            "scanned_at": scanned_at.isoformat(),
        }
        answer = await client.post("/api/v1/checkins", json={"scans": [scan]}, headers=headers)
        assert answer.json()["results"][0]["result"] == "checked_in"
    early = await Registration.get(id=people[0].id)
    assert early.checked_in_at == an_hour_ago
    liar = await Registration.get(id=people[1].id)
    assert liar.checked_in_at is not None and liar.checked_in_at < next_year - timedelta(days=300)


async def test_a_scan_id_replayed_for_another_session_tells_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    other = await make_session(facilitators=(facilitator,))
    sokha = (await register_person(session, settings, chosen_name="Sokha")).registration
    headers = await token_for(facilitator)
    scan = {"registration_id": sokha.id, "session_id": session.id, "scan_id": "replayed-0001"}
    assert (await client.post("/api/v1/checkins", json=scan, headers=headers)).json()[
        "chosen_name"
    ] == "Sokha"
    replay = {**scan, "session_id": other.id}
    answer = (await client.post("/api/v1/checkins", json=replay, headers=headers)).json()
    assert answer["result"] == "invalid" and answer["chosen_name"] is None

    # Once Sokha deletes her data, the door's log no longer names her either.
    from attendees.manage import delete_personal_data

    await delete_personal_data(
        await Registration.get(id=sokha.id).prefetch_related("person"), settings
    )
    again = (await client.post("/api/v1/checkins", json=scan, headers=headers)).json()
    assert again["result"] == "checked_in" and again["chosen_name"] is None


async def test_the_door_list_finds_names_whatever_their_case_accents_or_zero_width_spaces(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The scanner's search compares what is typed, folded (static/js/checkin/names.js, the
    same rule as name_search_key), with the key the list carries for each name."""
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    hoa = "Nguyễn Thị Hoa"
    duc = unicodedata.normalize("NFD", "Trần Văn Đức")  # as some keyboards send it
    sokcheat = "សុខ\u200bជាតិ"  # Khmer with a zero-width space between the words
    sreyneang = "ស្រីនាង ចាន់"
    for name in (hoa, duc, sokcheat, sreyneang):
        await register_person(session, settings, chosen_name=name)
    headers = await token_for(facilitator)
    listing = await client.get(f"/api/v1/sessions/{session.id}/checkin-list", headers=headers)
    keys = {t["chosen_name"]: t["search_key"] for t in listing.json()["tickets"]}
    assert set(keys) == {hoa, duc, sokcheat, sreyneang}

    def found(typed: str) -> set[str]:
        query = name_search_key(typed)
        return {name for name, key in keys.items() if query in key}

    assert found("nguyen") == {hoa}
    assert found("NGUYỄN thị") == {hoa}
    assert found(unicodedata.normalize("NFD", "Nguyễn")) == {hoa}
    assert found("tran van duc") == {duc}
    assert found(unicodedata.normalize("NFC", "Trần Văn")) == {duc}
    assert found("đức") == {duc}
    assert found("សុខជាតិ") == {sokcheat}
    assert found("សុខ ជាតិ") == {sokcheat}
    for invisible in ("\u200b", "\u200c", "\u200d", "\ufeff"):
        assert found(f"ស្រីនាង{invisible}ចាន់") == {sreyneang}, repr(invisible)
    assert found("ចាន់") == {sreyneang}
    # Khmer's vowel signs and subscripts still tell names apart.
    assert found("សខ") == set()
    assert found("សរីនាង") == set()
    assert found("nguyen x") == set()
