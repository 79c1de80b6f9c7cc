"""Staff pages for registrations, invitations and the outbox."""

from __future__ import annotations

import csv
import html
import io
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from attendees.models import Invitation, Registration
from events.models import Audience
from sala.config import Settings
from sala.i18n import format_datetime, in_language
from sala.models import OutboxMessage, Role
from tests.factories import (
    csrf_from,
    log_in,
    make_session,
    make_staff,
    post_form,
    register_person,
    token_for,
)


async def test_facilitator_sees_registrations_by_status_and_sector(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(capacity="2", facilitators=(facilitator,))
    await register_person(session, settings, chosen_name="Ana", sector="student")
    await register_person(session, settings, chosen_name="Bopha", sector="ngo")
    await register_person(session, settings, chosen_name="Chenda", sector="ngo")
    await log_in(client, facilitator)
    page = await client.get(f"/staff/sessions/{session.id}/registrations")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert "Ana" in text and "Bopha" in text and "Chenda" in text
    assert "Confirmed (2)" in text and "Waiting list (1)" in text
    assert '<th scope="row">NGO</th><td>2</td>' in text.replace("\n", "").replace("  ", "")


async def test_other_facilitators_and_the_public_never_see_the_list(
    client: httpx.AsyncClient, new_client, settings: Settings
) -> None:
    assigned = await make_staff(Role.FACILITATOR)
    other = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(assigned,))
    await register_person(session, settings, chosen_name="Secret Person")
    await log_in(client, other)
    for path in (
        f"/staff/sessions/{session.id}/registrations",
        f"/staff/sessions/{session.id}/registrations.csv",
        f"/staff/sessions/{session.id}/attendance.csv",
    ):
        answer = await client.get(path)
        assert answer.status_code == 403
        assert "Secret Person" not in answer.text
    async with new_client() as anonymous:
        for path in ("/", f"/sessions/{session.id}", "/calendar.ics", "/api/v1/sessions"):
            assert "Secret Person" not in (await anonymous.get(path)).text


async def test_staff_add_by_hand_even_for_invite_only_and_cancel(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session(capacity="1", audience=Audience.INVITE_ONLY.value)
    await log_in(client, admin)
    path = f"/staff/sessions/{session.id}/registrations"
    added = await post_form(
        client,
        path,
        {"chosen_name": "Walk In", "phone": "012 555 444", "sector": "community", "consent": "on"},
    )
    assert added.status_code == 303
    second = await post_form(
        client,
        path,
        {"chosen_name": "Second", "email": "s@example.org", "sector": "media", "consent": "on"},
    )
    assert second.status_code == 303
    bad = await post_form(client, path, {"chosen_name": "", "sector": "media", "consent": "on"})
    assert bad.status_code == 422
    walk_in = await Registration.get(chosen_name="Walk In")
    waiting = await Registration.get(chosen_name="Second")
    assert (walk_in.status, waiting.status) == ("confirmed", "waitlisted")
    assert walk_in.source == "staff"

    cancel = await post_form(client, path, {}, action=f"/staff/registrations/{walk_in.id}/cancel")
    assert cancel.status_code == 303
    await waiting.refresh_from_db()
    assert waiting.status == "confirmed"


async def test_csv_export_is_utf8_and_neutralises_formulas(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session()
    await register_person(session, settings, chosen_name='=HYPERLINK("x")', organisation="@evil")
    await register_person(session, settings, chosen_name="សុខា")
    await log_in(client, admin)
    answer = await client.get(f"/staff/sessions/{session.id}/registrations.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    names = {row["chosen_name"] for row in rows}
    assert "សុខា" in names
    assert '\'=HYPERLINK("x")' in names
    assert any(row["organisation"] == "'@evil" for row in rows)


async def test_admin_invites_by_email_and_organisation(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session(audience=Audience.INVITE_ONLY.value)
    await log_in(client, admin)
    path = f"/staff/sessions/{session.id}/invitations"
    bulk = await post_form(
        client, path, {"kind": "personal", "emails": "a@example.org, b@example.org\nnot-an-email"}
    )
    assert bulk.status_code == 200
    assert "2 invitations created." in bulk.text and "not-an-email" in bulk.text
    org = await post_form(
        client, path, {"kind": "organisation", "organisation": "Ministry", "seats": "5"}
    )
    code = (await Invitation.get(organisation="Ministry")).code
    assert code in org.text
    # The link to share goes to the invite-only page's slug, not to its id.
    await session.refresh_from_db()
    assert f"{session.public_path}?invitation={code}" in org.text
    assert f"/sessions/{session.id}?" not in org.text
    bad = await post_form(client, path, {"kind": "organisation", "organisation": "X", "seats": "0"})
    assert bad.status_code == 422
    assert await OutboxMessage.filter(kind="invitation_to_invitee").count() == 2


async def test_outbox_is_for_admins_and_shows_the_email(
    client: httpx.AsyncClient, new_client, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(title_en="Outbox training")
    await register_person(session, settings, chosen_name="Mail Reader", email="r@example.org")
    await log_in(client, admin)
    listing = await client.get("/staff/outbox")
    assert "r@example.org" in listing.text and "No mail server is set" in listing.text
    message = await OutboxMessage.get()
    detail = await client.get(f"/staff/outbox/{message.id}")
    assert "Your registration is confirmed" in detail.text
    assert "Mail Reader" in detail.text and html.escape(message.message_id) in detail.text
    async with new_client() as other:
        await log_in(other, facilitator)
        assert (await other.get("/staff/outbox")).status_code == 403
        assert (await other.get(f"/staff/outbox/{message.id}")).status_code == 403


# ----------------------------------------------------------------------------- attendance


async def _scan_by_name(
    client: httpx.AsyncClient, registration: Registration, headers: dict[str, str]
) -> None:
    scan = {
        "registration_id": registration.id,
        "session_id": registration.session_id,  # type: ignore[attr-defined]
        "scan_id": uuid.uuid4().hex,
        "device_id": "door-phone-1",
    }
    answer = await client.post("/api/v1/checkins", json=scan, headers=headers)
    assert answer.json()["result"] == "checked_in", answer.text


async def test_roster_and_csv_show_who_checked_in_when_and_by_whom_with_counts_by_sector(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Dara Door")
    session = await make_session(facilitators=(facilitator,))
    ana = (await register_person(session, settings, chosen_name="Ana", sector="ngo")).registration
    await register_person(session, settings, chosen_name="Bopha", sector="ngo")
    headers = await token_for(facilitator)
    await _scan_by_name(client, ana, headers)
    walk = {"chosen_name": "Chenda", "phone": "012 777 888", "sector": "media", "consent": True}
    walked = await client.post(
        f"/api/v1/sessions/{session.id}/walk-ins", json=walk, headers=headers
    )
    assert walked.json()["checked_in"] is True
    await ana.refresh_from_db()
    zone = ZoneInfo(session.timezone)
    assert ana.checked_in_at is not None

    await log_in(client, facilitator)
    page = await client.get(f"/staff/sessions/{session.id}/registrations")
    flat = page.text.replace("\n", "").replace("  ", "")
    with in_language("en"):
        shown = format_datetime(ana.checked_in_at, zone, fmt="short")
    assert html.escape(shown) in page.text
    assert "Checked in: <strong>2</strong>" in page.text
    assert "Dara Door · walk-in" in page.text  # Chenda, registered at the door
    assert '<th scope="row">NGO</th><td>2</td><td>1</td>' in flat
    assert '<th scope="row">Media</th><td>1</td><td>1</td>' in flat
    assert '<th scope="row">Student</th><td>0</td><td>0</td>' in flat

    answer = await client.get(f"/staff/sessions/{session.id}/registrations.csv")
    rows = {r["chosen_name"]: r for r in csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff")))}
    local = ana.checked_in_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    assert (rows["Ana"]["checked_in_at"], rows["Ana"]["checked_in_by"]) == (local, "Dara Door")
    assert rows["Chenda"]["checked_in_by"] == "Dara Door · walk-in"
    assert (rows["Bopha"]["checked_in_at"], rows["Bopha"]["checked_in_by"]) == ("", "")

    counts = await client.get(f"/staff/sessions/{session.id}/attendance.csv")
    assert counts.status_code == 200 and counts.headers["cache-control"] == "no-store"
    table = list(csv.DictReader(io.StringIO(counts.text.lstrip("\ufeff"))))
    by_sector = {r["sector"]: (r["sector_name"], r["registered"], r["attended"]) for r in table}
    assert by_sector["ngo"] == ("NGO", "2", "1")
    assert by_sector["media"] == ("Media", "1", "1")
    assert by_sector[""] == ("Total", "3", "2")
    khmer = await client.get(f"/staff/sessions/{session.id}/attendance.csv?lang=km")
    assert "NGO" not in khmer.text.split("\n")[2]  # the sector's name in the page's language


async def test_a_check_in_without_a_staff_account_names_the_door_phone(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Gone Soon")
    admin = await make_staff(Role.ADMIN)
    session = await make_session(facilitators=(facilitator,))
    ana = (await register_person(session, settings, chosen_name="Ana")).registration
    await _scan_by_name(client, ana, await token_for(facilitator))
    await facilitator.delete()  # the staff member's account removed: SET NULL
    await log_in(client, admin)
    page = await client.get(f"/staff/sessions/{session.id}/registrations")
    assert "door phone door-pho" in page.text and "Gone Soon" not in page.text


async def test_csv_keeps_phone_numbers_as_they_are_and_still_neutralises_formulas(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session()
    await register_person(
        session, settings, chosen_name="Phone Only", email="", phone="012 345 678",
        organisation="+855 (12) 345-678",
    )  # fmt: skip
    await register_person(
        session, settings, chosen_name="+1+cmd|' /C calc'!A0", organisation="@SUM(1+1)"
    )
    await register_person(session, settings, chosen_name="-2+3+cmd|' /C calc'!A0")
    await log_in(client, admin)
    answer = await client.get(f"/staff/sessions/{session.id}/registrations.csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    phone_only = next(r for r in rows if r["chosen_name"] == "Phone Only")
    assert phone_only["phone"] == "+85512345678"
    assert phone_only["organisation"] == "+855 (12) 345-678"
    names = {r["chosen_name"] for r in rows}
    assert "'+1+cmd|' /C calc'!A0" in names and "'-2+3+cmd|' /C calc'!A0" in names
    assert any(r["organisation"] == "'@SUM(1+1)" for r in rows)
    assert "'+855" not in answer.text


async def test_cancelling_from_the_roster_asks_first_saying_whose_seat_and_the_email(
    client: httpx.AsyncClient, new_client: Any, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,), title_en="Cancel test")
    ana = (
        await register_person(session, settings, chosen_name="Ana Seat", email="ana@example.org")
    ).registration
    no_email = (
        await register_person(
            session, settings, chosen_name="Phone Only", email="", phone="012 345 678"
        )
    ).registration
    await log_in(client, facilitator)
    roster_path = f"/staff/sessions/{session.id}/registrations"
    roster_page = await client.get(roster_path)
    confirm_path = f"/staff/registrations/{ana.id}/cancel"
    assert f'href="{confirm_path}"' in roster_page.text  # a link to the question, not a POST

    question = await client.get(confirm_path)
    assert question.status_code == 200 and question.headers["cache-control"] == "no-store"
    assert "Ana Seat will lose their seat at Cancel test." in question.text
    assert "They will be told by email at ana@example.org." in question.text
    assert f'href="{roster_path}"' in question.text  # "No, keep it"
    await ana.refresh_from_db()
    assert ana.status == "confirmed"  # asking changed nothing

    other = await client.get(f"/staff/registrations/{no_email.id}/cancel")
    assert "no email address on file" in other.text

    answer = await client.post(confirm_path, data={"csrf_token": csrf_from(question.text)})
    assert answer.status_code == 303 and answer.headers["location"].endswith("?cancelled=1")
    await ana.refresh_from_db()
    assert ana.status == "cancelled"
    told = await OutboxMessage.filter(
        to_address="ana@example.org", kind="registration_cancelled_to_registrant"
    )
    assert len(told) == 1
    again = await client.get(confirm_path)
    assert again.status_code == 303  # already cancelled: back to the roster

    async with new_client() as outsider:
        await log_in(outsider, await make_staff(Role.FACILITATOR))
        refused = await outsider.get(f"/staff/registrations/{no_email.id}/cancel")
        assert refused.status_code == 403 and "Phone Only" not in refused.text
