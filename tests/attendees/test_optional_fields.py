"""The optional answers for the reports (issue 15): province, age group, gender identity.

The attack first: someone registers with all three, the last in words of their own. Then
every page and answer a staff member can open — as an admin, as the session's facilitator
and as the leader of the person's team — and every email queued must show none of it (the
roster, its CSV, the door's list, the API's registrations, team pages, certificates, mail),
while the person's own manage page and data exports do. Then what the form and the API
accept and refuse (a refused form keeps what was typed), the manage page's own form, and
the anonymising, which keeps the buckets the reports count and forgets the words.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pypdf
from starlette.applications import Starlette
from starlette.routing import Route

from attendees import manage, people
from attendees.models import Person, Province, Registration
from attendees.retention import purge_personal_data
from certificates import services as certificates
from checkin.tickets import ticket_for
from curricula import membership
from curricula import services as curricula
from events.models import Session
from sala.app import MAIL_COMPOSERS, RETENTION_KEEPERS
from sala.config import Settings
from sala.mail import MessageObsolete, compose
from sala.models import OutboxMessage, Role, StaffUser
from tests.factories import csrf_from, log_in, make_session, make_staff, person_fields, token_for

BASE = "http://testserver"
WORDS = "Moonlit starling, two-spirit"
ANSWERS = {
    "province": "mondulkiri",
    "age_band": "45_54",
    "gender_identity": "self_described",
    "gender_identity_text": WORDS,
}
# What no page but the person's own may hold: the answers, their labels, the form's labels.
SECRETS = (
    "mondulkiri",
    "45_54",
    "45–54",
    "self_described",
    "in my own words",
    WORDS.lower(),
    "province",
    "age_band",
    "age group",
    "gender_identity",
    "about you, for our reports",
)
# The person's own pages: they show the answers (checked below), and only the link opens them.
OWN = ("/registrations/{token}", "/people/{token}")
# Pages about nobody that name the choices: the registration form and the API's description.
EVERYONES = {"/sessions/{session_id:int}", "/sessions/i/{slug}", "/api/v1/openapi.json"}


def _path(url: str) -> str:
    return url.removeprefix(BASE)


def _text_of(content: bytes, content_type: str) -> str:
    """What a reader of this answer or attachment sees: a PDF's text, else the bytes."""
    if content_type.startswith("application/pdf"):
        pages = pypdf.PdfReader(io.BytesIO(content)).pages
        return "\n".join(page.extract_text() for page in pages)
    return content.decode("utf-8", errors="replace")


def _assert_hides(text: str, where: object) -> None:
    found = [secret for secret in SECRETS if secret in text.lower()]
    assert not found, f"{where} shows {found}"


def _form(**overrides: str) -> dict[str, str]:
    fields = {
        "chosen_name": "Sophea",
        "email": "sophea@example.org",
        "sector": "ngo",
        "organisation": "Youth NGO",
        "language": "en",
        "consent": "on",
        **ANSWERS,
    }
    fields.update(overrides)
    return fields


async def _register_with_the_form(
    client: httpx.AsyncClient, session: Session, **overrides: str
) -> httpx.Response:
    path = f"/sessions/{session.id}"
    page = await client.get(path)
    assert page.status_code == 200
    return await client.post(path, data={**_form(**overrides), "csrf_token": csrf_from(page.text)})


async def _manage_path(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


# ----------------------------------------------------------------------------- the attack


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


async def _a_full_history(
    client: httpx.AsyncClient, settings: Settings
) -> tuple[dict[str, StaffUser], dict[str, str]]:
    """Sophea registered with every answer, was checked in by the facilitator, got a
    certificate, and joined a team; a value for each path parameter of the routes."""
    admin = await make_staff(Role.ADMIN, name="Admin Chenda")
    facilitator = await make_staff(Role.FACILITATOR, name="Facilitator Rith")
    leader = await make_staff(Role.TEAM_LEADER, name="Leader Leakhena")
    session = await make_session(facilitators=(facilitator,))
    await _manage_path(await _register_with_the_form(client, session))
    registration = await Registration.get(session_id=session.id)
    assert {name: getattr(registration, name) for name in ANSWERS} == ANSWERS

    scan = {
        "token": await ticket_for(registration, settings.data_dir),
        "session_id": session.id,
        "scan_id": uuid.uuid4().hex,
    }
    checked = await client.post("/api/v1/checkins", json=scan, headers=await token_for(facilitator))
    assert checked.status_code == 200 and checked.json()["result"] == "checked_in", checked.text
    certificate = (await certificates.issue_certificates(session.id, staff=facilitator)).issued[0]
    await certificates.render_pending(settings)  # its PDF, and its email queued (the worker's job)
    team = await curricula.create_team(
        name="Youth team", leader_emails=[leader.email], curriculum_code=None, staff=admin
    )
    member = await membership.add_member(
        team, membership.read_contact(email="sophea@example.org"), staff=admin, settings=settings
    )
    await member.fetch_related("person")
    await membership.confirm(member, staff=admin)
    message = await OutboxMessage.first()
    assert message is not None
    paths = {
        "session_id": session.id,
        "registration_id": registration.id,
        "certificate_id": certificate.id,
        "code": certificate.code,
        "team_id": team.id,
        "member_id": member.id,
        "message_id": message.id,
        "user_id": facilitator.id,
        "slug": session.slug,
        "token": manage.manage_token(registration, settings),
    }
    staff = {"admin": admin, "facilitator": facilitator, "leader": leader}
    return staff, {name: str(value) for name, value in paths.items()}


def _pages_to_walk(app: Starlette) -> list[Route]:
    """Every GET route but the person's own pages, the pages that name the choices for
    everyone, and the reports (aggregates with small counts hidden: tests/reports)."""
    return [
        route
        for route in app.routes
        if isinstance(route, Route)
        and "GET" in (route.methods or set())
        and not route.path.startswith(OWN)
        and route.path not in EVERYONES
        and not route.endpoint.__module__.startswith("reports.")
    ]


async def _walk(
    client: httpx.AsyncClient, routes: list[Route], paths: dict[str, str], token: dict[str, str]
) -> dict[str, int]:
    """Open every route as this staff member (login cookie for pages, token for the API)."""
    statuses = {}
    for route in routes:
        url = _PARAM.sub(lambda m: paths.get(m[1], "1"), route.path)
        headers = token if route.path.startswith("/api/") else {}
        answer = await client.get(url, headers=headers)
        assert answer.status_code < 500, (url, answer.text[:300])
        _assert_hides(_text_of(answer.content, answer.headers.get("content-type", "")), url)
        statuses[route.path] = answer.status_code
    return statuses


async def test_no_page_or_answer_about_the_person_shows_their_answers_but_their_own(
    app: Starlette,
    client: httpx.AsyncClient,
    new_client: Callable[[], httpx.AsyncClient],
    settings: Settings,
) -> None:
    staff, paths = await _a_full_history(client, settings)
    routes = _pages_to_walk(app)
    roster = "/staff/sessions/{session_id:int}/registrations"
    seen: dict[str, dict[str, int]] = {}
    for role, user in staff.items():
        async with new_client() as browser:
            await log_in(browser, user)
            seen[role] = await _walk(browser, routes, paths, await token_for(user))
            if role != "leader":  # the pages are about Sophea: her name is there
                page = await browser.get(f"/staff/sessions/{paths['session_id']}/registrations")
                assert "Sophea" in page.text
    # The walk reached the pages that hold the person, for each of the roles that may see them.
    for role in ("admin", "facilitator"):
        for path in (
            roster,
            roster + ".csv",
            "/staff/sessions/{session_id:int}/attendance.csv",
            "/staff/checkin/{session_id:int}",
            "/staff/sessions/{session_id:int}/certificates",
            "/staff/certificates/{certificate_id:int}.pdf",
            "/api/v1/sessions/{session_id:int}/registrations",
            "/api/v1/sessions/{session_id:int}/checkin-list",
            "/api/v1/certificates/{code}/pdf",
        ):
            assert seen[role][path] == 200, (role, path)
    for role in ("admin", "leader"):
        for path in (
            "/staff/teams/{team_id:int}",
            "/staff/teams/{team_id:int}/progress.csv",
            "/api/v1/teams/{team_id:int}",
            "/api/v1/teams/{team_id:int}/progress",
        ):
            assert seen[role][path] == 200, (role, path)
    assert seen["admin"]["/staff/outbox/{message_id:int}"] == 200

    # Every email queued, as it would be sent (a request answered meanwhile is not sent).
    sent = set()
    for message in await OutboxMessage.all():
        with contextlib.suppress(MessageObsolete):
            email = await compose(MAIL_COMPOSERS, message, settings)
            attached = [_text_of(a.data, a.content_type) for a in email.attachments]
            _assert_hides(
                "\n".join([email.subject, email.text, email.html, *attached]), message.kind
            )
            sent.add(message.kind)
    assert sent >= {"registration_confirmed_to_registrant", "certificate_issued"}, sent

    # The person's own: the manage page, its data download and the holder's.
    manage_path = f"/registrations/{paths['token']}"
    page = await client.get(manage_path)
    assert page.status_code == 200
    assert '<option value="mondulkiri" selected>' in page.text
    assert '<option value="45_54" selected>' in page.text
    assert '<option value="self_described" selected>' in page.text
    assert f'value="{WORDS}"' in page.text
    mine = (await client.get(manage_path + "/data.json")).json()["registrations"][0]
    assert {name: mine[name] for name in ANSWERS} == ANSWERS
    holder = await Person.get(email="sophea@example.org")
    everything = await client.get(_path(people.person_url(holder, settings)) + "/data.json")
    assert everything.status_code == 200
    registrations = everything.json()["registrations"]
    assert [{name: r[name] for name in ANSWERS} for r in registrations] == [ANSWERS]


# ----------------------------------------------------------------------------- the form


async def test_the_form_offers_every_choice_in_order_and_requires_none(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    page = (await client.get(f"/sessions/{session.id}")).text
    provinces = re.search(r'<select id="province".*?</select>', page, re.S)
    assert provinces is not None
    values = re.findall(r'<option value="([^"]*)"', provinces.group())
    assert values == ["", *(p.value for p in Province)]
    assert len(values) == 27  # not given, the capital and 24 provinces, outside Cambodia
    assert ">Prefer not to say / not given<" in provinces.group()
    assert ">Outside Cambodia<" in provinces.group()
    for name in ("province", "age_band", "gender_identity"):
        assert f'id="{name}-hint"' in page and f'aria-describedby="{name}-hint"' in page
    assert "Reports show only counts of 5 or more people" in page
    assert ">Prefer not to say<" in page  # a choice of its own, for gender identity
    assert 'name="gender_identity_text"' in page and 'maxlength="60"' in page
    assert "<script" not in page

    # None is needed.
    none_given = await _register_with_the_form(
        client, session, province="", age_band="", gender_identity="", gender_identity_text=""
    )
    await _manage_path(none_given)
    registration = await Registration.get(session_id=session.id)
    assert [getattr(registration, name) for name in ANSWERS] == ["", "", "", ""]


async def test_a_wrong_choice_is_refused_at_its_field_and_the_form_keeps_what_was_typed(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    answer = await _register_with_the_form(
        client, session, province="atlantis", age_band="18-24", pronouns="they/them"
    )
    assert answer.status_code == 422
    page = answer.text
    for name in ("province", "age_band"):
        error = re.search(rf'<p class="field-error" id="{name}-error">([^<]+)</p>', page)
        assert error is not None and "Choose one of the options." in error.group(1), name
        assert f'aria-describedby="{name}-hint {name}-error"' in page
    assert "gender_identity-error" not in page
    assert '<option value="self_described" selected>' in page
    assert f'value="{WORDS}"' in page and 'value="Sophea"' in page and 'value="they/them"' in page
    assert not await Registration.filter(session_id=session.id).exists()

    too_long = await _register_with_the_form(client, session, gender_identity_text="x" * 61)
    assert too_long.status_code == 422
    assert 'id="gender_identity_text-error">This is too long.' in too_long.text


async def test_words_without_a_choice_are_in_my_own_words_and_with_another_are_dropped(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    await _manage_path(await _register_with_the_form(client, session, gender_identity=""))
    other = await make_session()
    await _manage_path(
        await _register_with_the_form(
            client, other, gender_identity="non_binary", email="dara@example.org"
        )
    )
    own = await Registration.get(session_id=session.id)
    assert (own.gender_identity, own.gender_identity_text) == ("self_described", WORDS)
    chose = await Registration.get(session_id=other.id)
    assert (chose.gender_identity, chose.gender_identity_text) == ("non_binary", "")


# ----------------------------------------------------------------------------- the API


async def test_the_api_takes_the_answers_and_refuses_a_wrong_one_naming_its_field(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    url = f"/api/v1/sessions/{session.id}/registrations"
    made = await client.post(url, json=person_fields(**ANSWERS))
    assert made.status_code == 201, made.text
    stored = await Registration.get(id=made.json()["id"])
    assert {name: getattr(stored, name) for name in ANSWERS} == ANSWERS
    not_given = await client.post(
        url, json=person_fields(province=None, age_band="", gender_identity=None)
    )
    assert not_given.status_code == 201, not_given.text

    wrong = {
        "province": "atlantis",
        "age_band": "18-24",
        "gender_identity": "robot",
        "gender_identity_text": "x" * 61,
    }
    for name, value in [*wrong.items(), ("province", 5), ("gender_identity", ["woman"])]:
        answer = await client.post(url, json=person_fields(**{name: value}))
        assert answer.status_code == 422, (name, value)
        error = answer.json()["error"]
        assert error["code"] == "validation_failed"
        assert list(error["fields"]) == [name], (name, error)
    assert await Registration.filter(session_id=session.id).count() == 2

    document = (await client.get("/api/v1/openapi.json")).json()
    schema = document["components"]["schemas"]["RegistrationInput"]["properties"]
    assert schema["province"]["enum"] == ["", None, *(p.value for p in Province)]
    assert "self_described" in schema["gender_identity"]["enum"]
    assert schema["gender_identity_text"]["maxLength"] == 60


# ----------------------------------------------------------------------------- the manage page


async def test_the_person_changes_and_clears_their_answers_on_the_manage_page(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    manage_path = await _manage_path(await _register_with_the_form(client, session))

    async def post(**fields: str) -> httpx.Response:
        page = await client.get(manage_path)
        return await client.post(
            manage_path + "/about", data={**fields, "csrf_token": csrf_from(page.text)}
        )

    changed = await post(province="abroad", age_band="25_34", gender_identity="trans_woman")
    assert changed.status_code == 303
    assert changed.headers["location"].endswith("?answered=1#about-you")
    page = await client.get(changed.headers["location"])
    assert "Your answers have been saved." in page.text
    assert '<option value="abroad" selected>' in page.text
    registration = await Registration.get(session_id=session.id)
    assert [getattr(registration, name) for name in ANSWERS] == [
        "abroad", "25_34", "trans_woman", "",
    ]  # fmt: skip

    refused = await post(
        province="mars", age_band="", gender_identity="", gender_identity_text="Mine"
    )
    assert refused.status_code == 422
    assert 'id="province-error">Choose one of the options.' in refused.text
    assert 'value="Mine"' in refused.text  # what was typed, not what is stored
    await registration.refresh_from_db()
    assert registration.province == "abroad"

    cleared = await post(province="", age_band="", gender_identity="", gender_identity_text="")
    assert cleared.status_code == 303
    await registration.refresh_from_db()
    assert [getattr(registration, name) for name in ANSWERS] == ["", "", "", ""]


# ----------------------------------------------------------------------------- anonymising


async def test_anonymising_keeps_the_buckets_and_forgets_the_words(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await make_session()
    by_link = await _manage_path(
        await _register_with_the_form(client, session, email="link@example.org")
    )
    by_holder = await _manage_path(
        await _register_with_the_form(client, session, email="holder@example.org")
    )
    await _manage_path(await _register_with_the_form(client, session, email="old@example.org"))
    rows = {r.email: r.id for r in await Registration.filter(session_id=session.id)}

    confirm = await client.get(by_link + "/delete")
    deleted = await client.post(by_link + "/delete", data={"csrf_token": csrf_from(confirm.text)})
    assert deleted.status_code == 200
    holder = await Person.get(email="holder@example.org")
    holder_path = _path(people.person_url(holder, settings))
    confirm = await client.get(holder_path + "/delete")
    deleted = await client.post(
        holder_path + "/delete", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert deleted.status_code == 200
    assert by_holder  # its manage link went with it
    later = datetime.now(UTC) + timedelta(days=settings.retention_days + 30)
    assert await purge_personal_data(settings, RETENTION_KEEPERS, now=later) == 1

    for email, registration_id in rows.items():
        row = await Registration.get(id=registration_id)
        assert row.anonymised_at is not None and row.chosen_name == "", email
        kept = {name: getattr(row, name) for name in ANSWERS}
        assert kept == {**ANSWERS, "gender_identity_text": ""}, email


async def test_answers_saved_after_a_deletion_do_not_come_back(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The manage page's form posted while its registration was being deleted (a stale
    copy) writes nothing: the words stay forgotten."""
    session = await make_session()
    await _manage_path(await _register_with_the_form(client, session))
    stale = await Registration.get(session_id=session.id)
    await manage.delete_personal_data(await Registration.get(id=stale.id), settings)
    await manage.answer_for_reports(stale, {**ANSWERS, "gender_identity_text": "Back again"})
    row = await Registration.get(id=stale.id)
    assert row.gender_identity_text == "" and row.anonymised_at is not None
