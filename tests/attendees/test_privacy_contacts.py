"""Knowing someone's email or phone opens nothing (issue 11, hole 1).

Each test mounts the attack as a stranger would: register with the victim's contact, then
look at what the answer, the manage link, its data download and its deletion give away.
The victim's mail is read from a real SMTP server.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import httpx

from attendees.models import Person, Registration, RegistrationStatus
from events.models import Audience
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.mail import SmtpTransport, deliver_due
from sala.models import Role
from tests.factories import csrf_from, in_days, log_in, make_session, make_staff
from tests.mail_server import MailServer

BASE = "http://testserver"
VICTIM = "sophea@example.org"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "chosen_name": "Sophea",
        "email": VICTIM,
        "sector": "ngo",
        "language": "en",
        "consent": True,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def _register(
    smtp_client: httpx.AsyncClient, session_id: int, **overrides: Any
) -> httpx.Response:
    return await smtp_client.post(
        f"/api/v1/sessions/{session_id}/registrations", json=_body(**overrides)
    )


async def _mail_to(server: MailServer, settings: Settings, address: str) -> list[tuple[str, str]]:
    """Send what is due; the (subject, text) of every message this address received."""
    while await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings):
        pass
    found = []
    for message in server.inbox.messages:
        if message["To"] == address:
            text = message.get_body(preferencelist=("plain",))
            assert text is not None
            found.append((str(message["Subject"]), str(text.get_content())))
    return found


def _links(text: str, path: str) -> list[str]:
    return re.findall(rf"{re.escape(BASE)}{path}[^\s\"<]+", text)


async def test_a_known_email_gets_the_same_answer_and_nothing_of_the_victim(
    smtp_client: httpx.AsyncClient, mail_server: MailServer, smtp_settings: Settings
) -> None:
    sensitive = await make_session(title_en="Orchid circle for community members")
    other = await make_session(title_en="Lotus forum in the workplace")
    target = await make_session(title_en="Problem solving")
    victim = (await _register(smtp_client, sensitive.id)).json()
    await _register(smtp_client, other.id)

    stranger = await _register(smtp_client, target.id, chosen_name="Stranger")
    unknown = await _register(smtp_client, target.id, email="nobody.yet@example.org")
    assert stranger.status_code == unknown.status_code == 201
    assert stranger.json().keys() == unknown.json().keys()
    assert stranger.json()["status"] == unknown.json()["status"] == "confirmed"
    assert stranger.json()["created"] is unknown.json()["created"] is True
    assert stranger.json()["manage_url"] != victim["manage_url"]

    link = stranger.json()["manage_url"].removeprefix(BASE)
    page = await smtp_client.get(link)
    assert page.status_code == 200
    assert "Problem solving" in page.text
    assert "Orchid" not in page.text and "Lotus" not in page.text
    exported = json.loads((await smtp_client.get(link + "/data.json")).text)
    assert [r["session_title_en"] for r in exported["registrations"]] == ["Problem solving"]
    assert "Orchid" not in json.dumps(exported)

    # Deleting "my data" through the stranger's link deletes that registration only.
    confirm = await smtp_client.get(link + "/delete")
    deleted = await smtp_client.post(link + "/delete", data={"csrf_token": csrf_from(confirm.text)})
    assert deleted.status_code == 200
    kept = await Registration.filter(email=VICTIM, anonymised_at=None)
    assert {r.session_id for r in kept} == {sensitive.id, other.id}  # type: ignore[attr-defined]
    assert all(r.status == RegistrationStatus.CONFIRMED for r in kept)
    assert await Person.filter(email=VICTIM).exists()

    # The victim is told, at their address, and only there.
    subjects = [subject for subject, _ in await _mail_to(mail_server, smtp_settings, VICTIM)]
    assert "Did you just register with Sala?" in subjects


async def test_the_form_never_redirects_to_the_victims_link(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings
) -> None:
    session = await make_session()
    victim = (await _register(smtp_client, session.id)).json()
    page = await smtp_client.get(f"/sessions/{session.id}")
    form = {**_body(consent="on"), "csrf_token": csrf_from(page.text)}
    answer = await smtp_client.post(f"/sessions/{session.id}", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] != victim["manage_url"].removeprefix(BASE)
    mine = await smtp_client.get(answer.headers["location"])
    assert mine.status_code == 200
    assert await Registration.filter(session_id=session.id).count() == 2


async def test_a_phone_in_another_format_opens_nothing(smtp_client: httpx.AsyncClient) -> None:
    sensitive = await make_session(title_en="Orchid basics")
    target = await make_session(title_en="Team building")
    await _register(smtp_client, sensitive.id, email=None, phone="012 345 678")
    for written in ("+855 12 345 678", "85512345678", "0012 345 678".replace("0012", "+85512")):
        answer = await _register(smtp_client, target.id, email=None, phone=written)
        assert answer.status_code == 201
        page = await smtp_client.get(answer.json()["manage_url"].removeprefix(BASE))
        assert "Orchid" not in page.text
        data = await smtp_client.get(answer.json()["manage_url"].removeprefix(BASE) + "/data.json")
        assert "Orchid" not in data.text
    holder = await Person.get(phone="+85512345678")
    assert await Registration.filter(person_id=holder.id).count() == 1


async def test_registering_again_for_the_same_session_sends_the_link_to_the_address_only(
    smtp_client: httpx.AsyncClient, mail_server: MailServer, smtp_settings: Settings
) -> None:
    session = await make_session(title_en="Orchid for students", capacity="5")
    first = (await _register(smtp_client, session.id)).json()
    again = await _register(smtp_client, session.id, chosen_name="Someone")
    assert again.status_code == 201
    assert again.json()["manage_url"] != first["manage_url"]

    messages = await _mail_to(mail_server, smtp_settings, VICTIM)
    claim = next(text for subject, text in messages if subject.startswith("Did you"))
    # The earlier link, through the address on file (signed again: the same registration).
    (join,) = _links(claim, "/registrations/join/")
    (earlier,) = [link for link in _links(claim, "/registrations/") if link != join]
    assert "Your seat is confirmed, Sophea" in (await smtp_client.get(earlier)).text

    # GET only asks (mail scanners open links); POST joins: the duplicate goes, its seat too.
    asked = await smtp_client.get(join.removeprefix(BASE))
    assert asked.status_code == 200
    assert await Registration.filter(session_id=session.id, status="confirmed").count() == 2
    joined = await smtp_client.post(
        join.removeprefix(BASE), data={"csrf_token": csrf_from(asked.text)}
    )
    assert joined.status_code == 303
    kept = await smtp_client.get(joined.headers["location"])
    assert "Your seat is confirmed, Sophea" in kept.text
    assert await Registration.filter(session_id=session.id, status="confirmed").count() == 1
    # Used once: the link no longer does anything.
    assert (await smtp_client.get(join.removeprefix(BASE))).status_code == 404


async def test_joining_through_the_emailed_link_gathers_the_registrations(
    smtp_client: httpx.AsyncClient, mail_server: MailServer, smtp_settings: Settings
) -> None:
    first = await make_session(title_en="Orchid basics")
    second = await make_session(title_en="Human rights basics")
    await _register(smtp_client, first.id)
    await _register(smtp_client, second.id)
    claim = next(
        text
        for subject, text in await _mail_to(mail_server, smtp_settings, VICTIM)
        if subject.startswith("Did you")
    )
    (join,) = _links(claim, "/registrations/join/")
    asked = await smtp_client.get(join.removeprefix(BASE))
    await smtp_client.post(join.removeprefix(BASE), data={"csrf_token": csrf_from(asked.text)})
    holder = await Person.get(email=VICTIM)
    assert await Registration.filter(person_id=holder.id).count() == 2
    assert await Person.all().count() == 1


async def test_all_my_registrations_only_through_the_address_on_file(
    smtp_client: httpx.AsyncClient, mail_server: MailServer, smtp_settings: Settings
) -> None:
    session = await make_session(title_en="Orchid basics")
    await _register(smtp_client, session.id)
    page = await smtp_client.get("/registrations/lost")
    token = csrf_from(page.text)
    known = await smtp_client.post(
        "/registrations/lost", data={"email": VICTIM, "csrf_token": token}
    )
    unknown = await smtp_client.post(
        "/registrations/lost", data={"email": "stranger@example.org", "csrf_token": token}
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(VICTIM, "") == unknown.text.replace("stranger@example.org", "")
    assert "Orchid" not in known.text

    assert await _mail_to(mail_server, smtp_settings, "stranger@example.org") == []
    links = next(
        text
        for subject, text in await _mail_to(mail_server, smtp_settings, VICTIM)
        if subject == "Your links to your registrations"
    )
    (person_link,) = _links(links, "/people/")
    mine = await smtp_client.get(person_link.removeprefix(BASE))
    assert mine.status_code == 200 and "Orchid basics" in mine.text
    exported = json.loads(
        (await smtp_client.get(person_link.removeprefix(BASE) + "/data.json")).text
    )
    assert exported["person"]["email"] == VICTIM
    assert [r["session_title_en"] for r in exported["registrations"]] == ["Orchid basics"]
    assert (await smtp_client.get("/people/forged-token")).status_code == 404

    # From there, and only there, everything can be deleted at once.
    page = person_link.removeprefix(BASE)
    confirm = await smtp_client.get(page + "/delete")
    assert "every training you registered for" in confirm.text
    done = await smtp_client.post(page + "/delete", data={"csrf_token": csrf_from(confirm.text)})
    assert done.status_code == 200
    assert not await Person.filter(email=VICTIM).exists()
    assert not await Registration.filter(email=VICTIM).exists()
    assert (await smtp_client.get(page)).status_code == 404


async def test_whoever_registered_first_with_an_email_sees_nothing_joined_later(
    smtp_client: httpx.AsyncClient, mail_server: MailServer, smtp_settings: Settings
) -> None:
    """A stranger registers first with the victim's email (creating its holder); the victim
    later registers and joins: the stranger's manage link still shows only its own."""
    bait = await make_session(title_en="Problem solving")
    sensitive = await make_session(title_en="Orchid for students")
    stranger = (await _register(smtp_client, bait.id, chosen_name="Stranger")).json()
    await _register(smtp_client, sensitive.id)
    claim = next(
        text
        for subject, text in await _mail_to(mail_server, smtp_settings, VICTIM)
        if subject.startswith("Did you")
    )
    (join,) = _links(claim, "/registrations/join/")
    asked = await smtp_client.get(join.removeprefix(BASE))
    await smtp_client.post(join.removeprefix(BASE), data={"csrf_token": csrf_from(asked.text)})
    link = stranger["manage_url"].removeprefix(BASE)
    page = await smtp_client.get(link)
    assert "Orchid" not in page.text
    assert "Orchid" not in (await smtp_client.get(link + "/data.json")).text
    # Nor can it rename the holder (the name a team page shows).
    holder = await Person.get(email=VICTIM)
    await smtp_client.post(
        link + "/name", data={"chosen_name": "Mallory", "csrf_token": csrf_from(page.text)}
    )
    await holder.refresh_from_db()
    assert holder.chosen_name != "Mallory"


async def test_invite_only_asks_for_the_invitation_before_anything_else(
    smtp_client: httpx.AsyncClient,
) -> None:
    closed = await make_session(
        audience=Audience.INVITE_ONLY.value,
        registration_closes_at=(in_days(-1)).isoformat(),
        starts_at=in_days(3).isoformat(),
        ends_at=(in_days(3) + timedelta(hours=2)).isoformat(),
    )
    full = await make_session(audience=Audience.INVITE_ONLY.value, capacity="1")
    await _register(smtp_client, full.id, email="invited@example.org", invitation_code=None)
    for session in (closed, full):
        for email in (VICTIM, "unknown@example.org"):
            answer = await _register(smtp_client, session.id, email=email)
            assert answer.status_code == 404  # as a missing session: ids tell nothing
            assert answer.json()["error"]["code"] == "session_not_found"
    assert await Registration.all().count() == 0


async def test_staff_see_only_the_contact_typed_for_each_registration(
    smtp_client: httpx.AsyncClient,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, email="fac@example.org")
    session = await make_session()
    await session.facilitators.add(facilitator)
    other = await make_session(title_en="Elsewhere")
    await _register(smtp_client, other.id, phone="012 345 678")  # the victim: email and phone
    await log_in(smtp_client, facilitator)
    page = await smtp_client.get(f"/staff/sessions/{session.id}/registrations")
    form = {
        "csrf_token": csrf_from(page.text),
        "chosen_name": "Walk-in by phone",
        "phone": "012345678",
        "sector": "student",
        "consent": "on",
    }
    added = await smtp_client.post(f"/staff/sessions/{session.id}/registrations", data=form)
    assert added.status_code == 303
    roster = await smtp_client.get(f"/staff/sessions/{session.id}/registrations")
    assert "+85512345678" in roster.text and VICTIM not in roster.text
    csv = await smtp_client.get(f"/staff/sessions/{session.id}/registrations.csv")
    assert "+85512345678" in csv.text and VICTIM not in csv.text


async def test_the_certificate_of_a_registration_that_stands_alone_reaches_its_email(
    smtp_client: httpx.AsyncClient, mail_server: MailServer, smtp_settings: Settings
) -> None:
    from certificates.services import issue_certificates, render_pending

    admin = await make_staff(Role.ADMIN)
    first = await make_session(title_en="Earlier")
    session = await make_session(title_en="Later")
    await _register(smtp_client, first.id)
    alone = (await _register(smtp_client, session.id)).json()
    await Registration.filter(id=alone["id"]).update(checked_in_at=in_days(0))
    await issue_certificates(session.id, staff=admin)
    assert await render_pending(smtp_settings) == 1
    subjects = [subject for subject, _ in await _mail_to(mail_server, smtp_settings, VICTIM)]
    assert "Your certificate" in subjects


async def test_a_walk_in_with_a_known_phone_shows_only_that_phone(
    smtp_client: httpx.AsyncClient,
) -> None:
    from tests.factories import token_for

    facilitator = await make_staff(Role.FACILITATOR, email="door@example.org")
    session = await make_session(title_en="At the door")
    await session.facilitators.add(facilitator)
    elsewhere = await make_session(title_en="Orchid circle")
    await _register(smtp_client, elsewhere.id, phone="012 345 678")  # the victim
    walked = await smtp_client.post(
        f"/api/v1/sessions/{session.id}/walk-ins",
        json={"chosen_name": "Walk-in", "phone": "+85512345678", "sector": "ngo", "consent": True},
        headers=await token_for(facilitator),
    )
    assert walked.status_code == 201 and walked.json()["checked_in"] is True
    assert VICTIM not in walked.text and "Orchid" not in walked.text
    await log_in(smtp_client, facilitator)
    csv = await smtp_client.get(f"/staff/sessions/{session.id}/registrations.csv")
    assert "+85512345678" in csv.text and VICTIM not in csv.text
    holder = await Person.get(phone="+85512345678")
    assert await Registration.filter(person_id=holder.id).count() == 1
