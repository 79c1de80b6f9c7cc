"""Staff pages for registrations, invitations and the outbox."""

from __future__ import annotations

import csv
import html
import io

import httpx

from attendees.models import Invitation, Registration
from events.models import Audience
from sala.config import Settings
from sala.models import OutboxMessage, Role
from tests.factories import log_in, make_session, make_staff, post_form, register_person


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
