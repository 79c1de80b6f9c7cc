"""The retention purge keeps the reach report's figures for a past year, by every breakdown
but organisation (which it blanks), on both databases.

The history (2022, moved into the past after it was made; everyone's person made then too):

- January, SOGIE: Dara, Sophea, Bopha and Sokha come; Vanna does not.
- March, human rights: Dara and Bopha again (the same email, never claimed: a contactless
  person of their own each, with the holder's key) come, Sophea again does not; Kosal (by
  phone only) comes; Thida cancels.
- June, SOGIE, 2 seats: Chenda and Rith come, Mealea stays on the waitlist.
- Sokha registers again (the same email, never claimed) for a session still to come: her
  reach group has a recent session, so none of it is purged.

Province, age band and gender identity (one self-described, in her own words) are given by
most, not all.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from attendees.manage import manage_url
from attendees.models import Person, Registration
from attendees.people import person_url
from attendees.registration import cancel_registration
from attendees.retention import purge_personal_data
from reports.services import Dimension
from sala.app import RETENTION_KEEPERS
from sala.config import Settings
from sala.models import Role, StaffUser
from tests.factories import (
    check_in,
    make_session,
    make_staff,
    move_session,
    post_form,
    register_person,
    token_for,
)

ZONE = ZoneInfo("Asia/Phnom_Penh")
YEAR = {"from": "2022-01", "to": "2022-12"}
LONG_AGO = datetime(2022, 1, 1, tzinfo=UTC)

DARA = {
    "chosen_name": "Dara",
    "email": "dara@example.org",
    "organisation": "RUPP",
    "province": "phnom_penh",
    "age_band": "18_24",
    "gender_identity": "woman",
}
SOPHEA = {
    "chosen_name": "Sophea",
    "email": "sophea@example.org",
    "sector": "ngo",
    "organisation": "Rainbow NGO",
    "province": "phnom_penh",
    "age_band": "25_34",
    "gender_identity": "self_described",
    "gender_identity_text": "kathoey",
}
BOPHA = {
    "chosen_name": "Bopha",
    "email": "bopha@example.org",
    "sector": "government",
    "organisation": "Ministry of Youth",
    "province": "phnom_penh",
    "age_band": "35_44",
    "gender_identity": "prefer_not_to_say",
}
SOKHA = {
    "chosen_name": "Sokha",
    "email": "sokha@example.org",
    "province": "phnom_penh",
    "age_band": "18_24",
    "gender_identity": "trans_woman",
}


@pytest.fixture
async def admin(client: httpx.AsyncClient, settings: Settings) -> StaffUser:
    """The admin who reads the report, after the history above was made."""
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    january = await make_session(topic="sogie", capacity="20")
    march = await make_session(topic="human_rights", capacity="20")
    june = await make_session(topic="sogie", capacity="2")
    coming = await make_session(topic="sogie", capacity="20")

    for came in (DARA, SOPHEA, BOPHA, SOKHA):
        await check_in(client, headers, await register_person(january, settings, **came))
    await register_person(
        january, settings, chosen_name="Vanna", email="vanna@example.org", sector="ngo",
        province="kandal", age_band="25_34", gender_identity="man",
    )  # fmt: skip

    for came in (DARA, BOPHA):
        again = await register_person(march, settings, **came)
        assert (
            again.registration.person_id
            != (  # type: ignore[attr-defined]
                await Person.get(email=came["email"])
            ).id
        )  # a person of its own: the holder never claimed it
        await check_in(client, headers, again)
    await register_person(march, settings, **SOPHEA)
    kosal = await register_person(
        march, settings, chosen_name="Kosal", email="", phone="012 345 678", sector="private"
    )
    await check_in(client, headers, kosal)
    thida = await register_person(
        march, settings, chosen_name="Thida", email="thida@example.org",
        province="phnom_penh", age_band="18_24", gender_identity="non_binary",
    )  # fmt: skip
    await cancel_registration(thida.registration.id, settings=settings, actor=None)

    for name, sector, gender in (
        ("Chenda", "student", "woman"),
        ("Rith", "community", "trans_man"),
    ):
        outcome = await register_person(
            june, settings, chosen_name=name, email=f"{name.lower()}@example.org", sector=sector,
            province="phnom_penh", age_band="18_24", gender_identity=gender,
        )  # fmt: skip
        await check_in(client, headers, outcome)
    mealea = await register_person(
        june, settings, chosen_name="Mealea", email="mealea@example.org", sector="media",
        province="phnom_penh", gender_identity="woman",
    )  # fmt: skip
    assert mealea.registration.status == "waitlisted"

    await register_person(coming, settings, **SOKHA)  # the recent session

    await move_session(january, datetime(2022, 1, 15, 9, tzinfo=ZONE))
    await move_session(march, datetime(2022, 3, 10, 9, tzinfo=ZONE))
    await move_session(june, datetime(2022, 6, 20, 9, tzinfo=ZONE))
    await Person.all().update(created_at=LONG_AGO)  # Sokha's latest person too
    return admin


async def _reports(client: httpx.AsyncClient, admin: StaffUser) -> dict[str, dict[str, Any]]:
    """The report for 2022 by every breakdown, as the admin gets it from the API."""
    headers = await token_for(admin)
    reports: dict[str, dict[str, Any]] = {}
    for by in Dimension:
        answer = await client.get(
            "/api/v1/reports/reach", params={"by": by.value, **YEAR}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        reports[by.value] = answer.json()
    return reports


def _past(settings: Settings) -> Settings:
    """Settings under which 2022 is past retention and a session still to come is not."""
    return dataclasses.replace(settings, retention_days=365)


async def _keys(**filters: Any) -> dict[int, str]:
    return {r.id: r.reach_key for r in await Registration.filter(**filters)}


async def test_a_past_year_gives_the_same_figures_after_the_purge(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    before = await _reports(client, admin)
    total = before["sector"]["total"]
    # 12 not cancelled, 9 checked in, 7 people: Dara and Bopha each counted once.
    assert (total["registrations"], total["attendances"], total["people"]) == (12, 9, 7)
    province = {row["key"]: row for row in before["province"]["rows"]}
    assert province["phnom_penh"]["people"] == 6  # enough people to be shown
    assert before["returning"]["rows"][-1]["key"] == "returning"  # Dara and Bopha in March
    sokha = await Person.get(email="sokha@example.org")
    sokha_keys = await _keys(reach_key=sokha.reach_key)
    assert len(sokha_keys) == 2

    # Everyone but Sokha's two persons: 12 persons go.
    assert await purge_personal_data(_past(settings), RETENTION_KEEPERS) == 12

    after = await _reports(client, admin)
    for by in Dimension:
        if by != Dimension.ORGANISATION:
            assert after[by.value] == before[by.value], by
    # The purge blanks organisations: everything purged falls into "not given".
    assert after["organisation"]["total"] == before["organisation"]["total"]
    assert after["organisation"] != before["organisation"]
    assert [row["key"] for row in after["organisation"]["rows"]] == [""]

    # Sokha's group has a session to come: she keeps her data and her key.
    assert {p.id for p in await Person.all()} == {
        sokha.id, *(r.person_id for r in await Registration.filter(reach_key=sokha.reach_key))  # type: ignore[attr-defined]
    }  # fmt: skip
    assert await _keys(reach_key=sokha.reach_key) == sokha_keys
    assert {r.chosen_name for r in await Registration.filter(id__in=sokha_keys)} == {"Sokha"}
    assert await Registration.filter(anonymised_at=None).count() == 2

    # The new keys lead nowhere: no live registration shares one; a group shares one.
    gone = await Registration.filter(anonymised_at__isnull=False)
    assert {r.reach_key for r in gone}.isdisjoint(sokha_keys.values())
    assert all(r.gender_identity_text == "" and r.organisation == "" for r in gone)
    # 12 registrations of 12 persons, but 9 people: Dara, Sophea and Bopha each one key.
    assert len(gone) == 12 and len({r.reach_key for r in gone}) == 9


async def test_a_keeper_keeps_the_whole_reach_group(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    dara = await Person.get(email="dara@example.org")

    async def keep_dara() -> set[int]:
        return {dara.id}

    keys_before = await _keys(reach_key=dara.reach_key)
    assert len(keys_before) == 2
    assert await purge_personal_data(_past(settings), (keep_dara,)) == 10
    assert await _keys(reach_key=dara.reach_key) == keys_before
    kept = await Registration.filter(id__in=keys_before)
    assert all(r.anonymised_at is None and r.chosen_name == "Dara" for r in kept)
    assert await Person.filter(reach_key=dara.reach_key).count() == 2


async def test_deleting_my_data_leaves_the_registrations_nobody_proved_were_mine(
    client: httpx.AsyncClient, settings: Settings, admin: StaffUser
) -> None:
    """The holder's "delete my data" takes their own registrations only: the one made with
    their email and never claimed may be someone else's, who keeps it and its manage link."""
    bopha = await Person.get(email="bopha@example.org")
    old_key = bopha.reach_key
    own = await _keys(person_id=bopha.id)
    unclaimed = await Registration.get(reach_key=old_key, person_id__not=bopha.id)

    path = person_url(bopha, settings).removeprefix("http://testserver")
    answer = await post_form(client, path + "/delete", {})
    assert answer.status_code == 200, answer.text

    deleted = await Registration.filter(id__in=own)
    assert all(r.anonymised_at is not None and r.chosen_name == "" for r in deleted)
    assert len({r.reach_key for r in deleted}) == 1 and deleted[0].reach_key != old_key
    still = await Registration.get(id=unclaimed.id)
    assert (still.chosen_name, still.email, still.reach_key) == ("Bopha", BOPHA["email"], old_key)
    page = await client.get(manage_url(still, settings).removeprefix("http://testserver"))
    assert page.status_code == 200 and "Bopha" in page.text
    assert not await Person.filter(email=BOPHA["email"]).exists()
    assert not await Registration.filter(
        reach_key=deleted[0].reach_key, anonymised_at=None
    ).exists()
