"""Bad input gets a 4xx with a clear message, never a 500 (DESIGN, "Privacy and security").

First the cases issue 14 named (a lone surrogate, JSON nested thousands deep, ids too large
for the database), then fuzz tests that walk the route table the way
``test_route_access.py`` does and send every route hostile bodies, path ids, query strings
and forms. They are seeded, so a failure repeats; PostgreSQL is where an id overflows.
"""

from __future__ import annotations

import inspect
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from attendees.manage import manage_token
from attendees.models import Registration
from certificates import services as certificates
from checkin.tickets import ticket_for
from curricula import membership
from curricula import services as curricula
from curricula.models import Curriculum, Module
from events.models import Session, Topic
from sala.config import Settings
from sala.forms import NOT_UNICODE
from sala.models import OutboxMessage, Role, StaffUser
from tests.conftest import make_settings
from tests.factories import (
    csrf_from,
    in_days,
    log_in,
    make_session,
    make_staff,
    person_fields,
    register_person,
    token_for,
)
from tests.sala.test_route_access import _routes

HUGE = 99999999999999999999  # 20 digits: past PostgreSQL's bigint, let alone its integer
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Rate limits off: the fuzz sends hundreds of requests from one address."""
    return make_settings(tmp_path, database_url, SALA_RATE_LIMITS="off")


def _json(body: object) -> bytes:
    """As a client would send it: ``\\ud800`` as an escape (``json.dumps`` writes ASCII)."""
    return json.dumps(body).encode()


def _assert_error_shape(answer: httpx.Response, where: object) -> dict[str, Any]:
    error = answer.json()["error"]
    assert isinstance(error["code"], str) and error["code"], where
    assert isinstance(error["message"], str) and error["message"], where
    assert set(error) <= {"code", "message", "fields"}, where
    if "fields" in error:
        assert all(isinstance(m, str) and m for m in error["fields"].values()), where
    return dict(error)


# ----------------------------------------------------------------------------- the world


@dataclass
class World:
    """One of everything a route can name, so hostile input reaches past the lookups."""

    admin: StaffUser
    headers: dict[str, str]
    session: Session
    registration: Registration
    ticket: str
    certificate_code: str
    paths: dict[str, str]  # a real value for each path parameter's name


@pytest.fixture
async def world(client: httpx.AsyncClient, settings: Settings) -> World:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    other = await make_staff(Role.FACILITATOR)
    leader = await make_staff(Role.TEAM_LEADER, email="leader@example.org")
    session = await make_session(facilitators=(admin,))
    registration = (
        await register_person(session, settings, email="member@example.org")
    ).registration
    ticket = await ticket_for(registration, settings.data_dir)
    scan = {"token": ticket, "session_id": session.id, "scan_id": "first-scan"}
    checked = await client.post("/api/v1/checkins", content=_json(scan), headers=headers)
    assert checked.json()["result"] == "checked_in", checked.text
    certificate = (await certificates.issue_certificates(session.id, staff=admin)).issued[0]
    team = await curricula.create_team(
        name="Youth team", leader_emails=[leader.email], curriculum_code=None, staff=admin
    )
    member = await membership.add_member(
        team, membership.read_contact(email="member@example.org"), staff=admin, settings=settings
    )
    await member.fetch_related("person")
    await membership.confirm(member, staff=admin)
    curriculum = await Curriculum.get(code="team_building")
    module = await Module.filter(curriculum_id=curriculum.id).order_by("position").first()
    topic = await Topic.first()
    message = await OutboxMessage.first()
    assert module and topic and message
    await log_in(client, admin)
    paths = {
        "session_id": session.id,
        "registration_id": registration.id,
        "user_id": other.id,
        "topic_id": topic.id,
        "message_id": message.id,
        "certificate_id": certificate.id,
        "team_id": team.id,
        "member_id": member.id,
        "curriculum_id": curriculum.id,
        "module_id": module.id,
        "token": manage_token(registration, settings),
        "slug": session.slug,
        "code": certificate.code,
    }
    return World(
        admin, headers, session, registration, ticket, certificate.code,
        {name: str(value) for name, value in paths.items()},
    )  # fmt: skip


_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _url(route: Route, world: World, **values: str) -> str:
    """The route's path with real values (or those given) for its parameters."""
    return _PARAM.sub(lambda m: values.get(m[1], world.paths.get(m[1], "1")), route.path)


def _methods(route: Route) -> list[str]:
    return sorted((route.methods or {"GET"}) - {"HEAD"})


def _is_api(route: Route) -> bool:
    return route.path.startswith("/api/")


async def _send(
    client: httpx.AsyncClient,
    world: World,
    route: Route,
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    data: dict[str, str] | None = None,
) -> httpx.Response:
    """The request as the admin (token for the API, login cookie for pages); a 500 fails."""
    headers = dict(world.headers) if _is_api(route) else {}
    if content is not None:
        headers["content-type"] = "application/json"
    answer = await client.request(method, url, content=content, data=data, headers=headers)
    where = (method, url, (content or b"")[:200], data)
    assert answer.status_code < 500, (where, answer.text[:500])
    if _is_api(route) and answer.status_code >= 400:
        _assert_error_shape(answer, where)
    return answer


# ----------------------------------------------------------------------------- named cases


async def test_a_lone_surrogate_in_a_registration_is_refused_with_a_message(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    url = f"/api/v1/sessions/{session.id}/registrations"
    escaped = _json(person_fields(chosen_name="Dara\ud800"))
    raw = (
        json.dumps(person_fields(chosen_name="Dara")).encode().replace(b"Dara", b"Dara\xed\xa0\x80")
    )
    for content in (escaped, raw):
        answer = await client.post(
            url, content=content, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_unicode"
        assert "lone surrogate" in error["message"]
        assert error["fields"] == {"chosen_name": NOT_UNICODE}
    assert await Registration.filter(session_id=session.id).count() == 0


async def test_the_field_holding_a_surrogate_is_named_even_deep_or_in_a_key(
    client: httpx.AsyncClient,
) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    body = {"scans": [{"token": "x", "scan_id": "a"}, {"token": "\udfff"}], "\ud800": 1}
    answer = await client.post("/api/v1/checkins", content=_json(body), headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_unicode"
    assert set(answer.json()["error"]["fields"]) == {"scans[1].token", "\\ud800"}


@pytest.mark.parametrize("levels", [33, 200, 100_000])
async def test_json_nested_too_deep_is_400(client: httpx.AsyncClient, levels: int) -> None:
    session = await make_session()
    url = f"/api/v1/sessions/{session.id}/registrations"
    for content in (
        b'{"chosen_name": ' + b"[" * levels + b"]" * levels + b"}",
        b'{"a": ' * levels + b"1" + b"}" * levels,
    ):
        answer = await client.post(url, content=content)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "json_too_deep"
        assert error["message"] == (
            "The request body is nested too deeply: at most 32 levels of objects and lists."
        )


async def test_json_nested_within_the_bound_is_read(client: httpx.AsyncClient) -> None:
    session = await make_session()
    body = person_fields(accessibility_needs=json.loads("[" * 31 + "]" * 31))
    answer = await client.post(f"/api/v1/sessions/{session.id}/registrations", content=_json(body))
    assert answer.status_code == 422  # read, then refused as a field: not text
    assert answer.json()["error"]["fields"] == {"accessibility_needs": "This must be text."}


async def test_facilitator_ids_too_large_are_422_and_nothing_is_saved(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    starts = in_days(14)
    body = {
        "topic": "sogie",
        "title_en": "Too large",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "venue": "CLGBT office",
        "capacity": 20,
    }
    for ids in ([HUGE], [2**31], [admin.id, HUGE], [True], [1.0], ["99999999999999999999"]):
        answer = await client.post(
            "/api/v1/sessions", content=_json({**body, "facilitator_ids": ids}), headers=headers
        )
        assert answer.status_code == 422, (ids, answer.text)
        assert answer.json()["error"]["fields"] == {"facilitator_ids": "Choose from the list."}
    assert await Session.all().count() == 0

    session = await make_session(facilitators=(admin,), title_en="Kept")
    answer = await client.patch(
        f"/api/v1/sessions/{session.id}",
        content=_json({"title_en": "Changed", "facilitator_ids": [HUGE]}),
        headers=headers,
    )
    assert answer.status_code == 422
    assert "facilitator_ids" in answer.json()["error"]["fields"]
    kept = await Session.get(id=session.id).prefetch_related("facilitators")
    assert kept.title_en == "Kept" and [f.id for f in kept.facilitators] == [admin.id]


async def test_a_staff_form_with_a_facilitator_id_too_large_saves_nothing(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client, await make_staff(Role.ADMIN))
    page = await client.get("/staff/sessions/new")
    starts = in_days(14)
    answer = await client.post(
        "/staff/sessions/new",
        data={
            "csrf_token": csrf_from(page.text),
            "topic": "sogie",
            "title_en": "Too large",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "venue_name": "CLGBT office",
            "capacity": "20",
            "facilitator_ids": str(HUGE),
        },
    )
    assert answer.status_code == 422
    assert "Choose from the list." in answer.text
    assert await Session.all().count() == 0


@pytest.mark.parametrize("value", [str(HUGE), str(2**31), str(2**63), "1000000000"])
async def test_ids_too_large_in_paths_are_404(client: httpx.AsyncClient, value: str) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    for method, path in [
        ("GET", f"/api/v1/sessions/{value}"),
        ("PATCH", f"/api/v1/sessions/{value}"),
        ("POST", f"/api/v1/sessions/{value}/registrations"),
        ("GET", f"/api/v1/teams/{value}/progress"),
    ]:
        answer = await client.request(method, path, headers=headers, json={})
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"]["code"] == "not_found"
    await log_in(client, admin)
    for path in (f"/staff/sessions/{value}", f"/staff/teams/{value}", f"/sessions/{value}"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "We could not find this page." in answer.text


async def test_nul_is_422_wherever_the_text_goes(client: httpx.AsyncClient, world: World) -> None:
    registration = _json(person_fields(chosen_name="Da\x00ra"))
    answer = await client.post(
        f"/api/v1/sessions/{world.session.id}/registrations", content=registration
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"] == {
        "chosen_name": "This contains characters that are not allowed."
    }
    revoke = f"/api/v1/certificates/{world.certificate_code}/revoke"
    answer = await client.post(revoke, content=_json({"reason": "\x00"}), headers=world.headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"] == {
        "reason": "This contains characters that are not allowed."
    }


@pytest.mark.parametrize(
    ("capacity", "code"),
    [
        (b"1e400", "invalid_json"),
        (b"NaN", "invalid_json"),
        (b"-Infinity", "invalid_json"),
        (b"1" + b"0" * 5000, "invalid_json"),
        (str(10**30).encode(), "validation_failed"),
        (b"30.0", "validation_failed"),
        (b"true", "validation_failed"),
        (b'"3e1"', "validation_failed"),
    ],
)
async def test_numbers_where_a_whole_number_belongs(
    client: httpx.AsyncClient, world: World, capacity: bytes, code: str
) -> None:
    body = b'{"capacity": ' + capacity + b"}"
    url = f"/api/v1/sessions/{world.session.id}"
    answer = await client.patch(url, content=body, headers=world.headers)
    assert answer.status_code in (400, 422), answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    if code == "validation_failed":
        assert set(error["fields"]) == {"capacity"}
    else:
        assert error["message"] == "The request body is not valid JSON."
    assert (await Session.get(id=world.session.id)).capacity == 30


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "America", "Unknown time zone."),  # a folder of the zone database
        ("timezone", "x" * 300, "This is too long."),
        ("starts_at", "9999-12-31T23:59:59-14:00", "Enter a year between 1900 and 2999."),
        ("starts_at", "0001-01-01T00:00:00+14:00", "Enter a year between 1900 and 2999."),
        ("registration_closes_at", "0001-01-01T00:00", "Enter a year between 1900 and 2999."),
    ],
)
async def test_session_fields_the_standard_library_chokes_on(
    client: httpx.AsyncClient, world: World, field: str, value: str, message: str
) -> None:
    url = f"/api/v1/sessions/{world.session.id}"
    answer = await client.patch(url, content=_json({field: value}), headers=world.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["fields"] == {field: message}


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/api/v1/teams", {"name": "T", "leader_emails": ["x" * 5000]}, "leader_emails"),
        ("/api/v1/teams", {"name": "T", "leader_emails": [], "curriculum": "x" * 50}, "curriculum"),
        ("/api/v1/curricula/{curriculum_id}/modules", {"name_en": "M", "topics": ["x" * 50]},
         "topics"),
    ],
)  # fmt: skip
async def test_text_too_long_for_the_column_it_is_looked_up_in_is_422(
    client: httpx.AsyncClient, world: World, route: str, body: dict[str, Any], field: str
) -> None:
    url = route.format(**world.paths)
    answer = await client.post(url, content=_json(body), headers=world.headers)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["fields"]


@pytest.mark.parametrize("text", ["%00", "x" * 3000, "%ED%A0%80"])
async def test_text_in_a_url_that_names_nothing_is_an_ordinary_answer(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    listed = await client.get(f"/api/v1/sessions?topic={text}")
    assert listed.status_code == 200 and listed.json() == []
    page = await client.get(f"/sessions/{world.session.id}?invitation={text}")
    assert page.status_code == 200 and "SOGIE basics" in page.text
    for path in (f"/staff/certificates/design?topic={text}", f"/staff/certificates/images/{text}"):
        assert (await client.get(path)).status_code == 404, path


async def test_forms_refuse_nul_and_lone_surrogates(client: httpx.AsyncClient) -> None:
    session = await make_session()
    page = await client.get(f"/sessions/{session.id}")
    token = csrf_from(page.text)
    fields = {**person_fields(), "consent": "1", "csrf_token": token}
    answer = await client.post(f"/sessions/{session.id}", data={**fields, "chosen_name": "a\x00"})
    assert answer.status_code == 422
    assert "The form holds characters that are not allowed." in answer.text
    # A multipart form may name its charset; UTF-7 decodes "+2AA-" to a lone surrogate.
    parts = [
        f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in {**fields, "chosen_name": "Dara+2AA-"}.items()
    ]
    answer = await client.post(
        f"/sessions/{session.id}",
        content=("".join(parts) + "--b--\r\n").encode(),
        headers={"content-type": "multipart/form-data; boundary=b; charset=utf-7"},
    )
    assert answer.status_code == 422
    assert "The form holds characters that are not allowed." in answer.text
    # Percent-encoded invalid UTF-8 is read as U+FFFD by Starlette: text, stored as such.
    others = str(httpx.QueryParams({k: v for k, v in fields.items() if k != "chosen_name"}))
    answer = await client.post(
        f"/sessions/{session.id}",
        content=others.encode() + b"&chosen_name=Dara%ED%A0%80",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 303, answer.text
    stored = await Registration.filter(session_id=session.id).prefetch_related("person")
    assert [r.chosen_name for r in stored] == ["Dara\ufffd\ufffd\ufffd"]


# ----------------------------------------------------------------------------- fuzz: JSON


def _valid_bodies(world: World) -> dict[str, dict[str, Any]]:
    """A body each JSON route accepts, by route name: the fuzz spoils one field at a time."""
    starts = in_days(21)
    session = {
        "topic": "sogie",
        "title_en": "Fuzzed",
        "title_km": "សាកល្បង",
        "description_en": "Text.",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "timezone": "Asia/Phnom_Penh",
        "venue": {"name": "Office", "address": "Phnom Penh", "map_url": "https://example.org"},
        "online_url": "https://meet.example.org/x",
        "capacity": 25,
        "audience": "public",
        "registration_opens_at": datetime.now(UTC).isoformat(),
        "registration_closes_at": (starts - timedelta(days=1)).isoformat(),
        "facilitator_ids": [world.admin.id],
        "status": "draft",
    }
    return {
        "api:registration_create": {**person_fields(), "invitation_code": ""},
        "api:walk_in": person_fields(),
        "api:invitation_create": {"email": "invitee@example.org", "language": "km"},
        "api:checkins": {
            "scans": [
                {
                    "token": world.ticket,
                    "session_id": world.session.id,
                    "scan_id": "scan-2",
                    "scanned_at": datetime.now(UTC).isoformat(),
                    "device_id": "door",
                },
                {
                    "registration_id": world.registration.id,
                    "session_id": world.session.id,
                    "scan_id": "scan-3",
                },
            ]
        },
        "api:session_create": session,
        "api:session_update": {**session, "scope": "this"},
        "api:session_cancel": {"message": "Sorry.", "scope": "this"},
        "api:series_create": {**session, "rrule": "FREQ=WEEKLY", "months": 1, "preview": True},
        "api:certificates_issue": {"registration_ids": [world.registration.id]},
        "api:certificate_revoke": {"reason": "A typo."},
        "api:certificate_reissue": {"reason": "A typo."},
        "api:module_create": {
            "name_en": "New",
            "name_km": "ថ្មី",
            "topics": ["sogie"],
            "prerequisites": [world.paths["module_id"]],
            "position": 3,
        },
        "api:module_update": {"name_en": "Renamed", "topics": ["team_building"], "position": 1},
        "api:team_create": {"name": "New team", "leader_emails": ["leader@example.org"]},
        "api:member_add": {"email": "someone@example.org"},
        "api:member_mark": {
            "module_id": world.paths["module_id"],
            "completed_on": "2025-01-15",
            "note": "Done.",
        },
        "api:member_invite": {"session_id": world.session.id},
    }


# Each field of a valid body is spoilt with every value of ALWAYS (lone surrogates, NUL, an
# id too large, a text too long for any column) and two of SPOILERS, picked by the seed.
SPOILERS: list[object] = [
    -HUGE, 2**31, 2**63, 10**30, -1, 0, 1.5, 1e308, True, False, None, "", " ", str(HUGE),
    "-1", "²", "1e400", "NaN", [], {}, [str(HUGE)], ["x"], [{}], {"a": HUGE},
    [[[[[[[[]]]]]]]], ["\ud800"], {"k": "\x00"}, "\u202e", "2025-13-45T99:99", "+2AA-", "<b>",
    "America", "../../etc/passwd", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
    "0001-01-01", "9999-12-31T23:59",
]  # fmt: skip
ALWAYS: list[object] = ["\ud800", "a\udfffb", "\x00", HUGE, [HUGE], "x" * 5000, ["x" * 5000]]
RAW_BODIES: list[bytes] = [
    b"", b" ", b"null", b"[]", b"[{}]", b'"x"', b"1e400", b"{", b"\xff\xfe\xfd",
    b'{"a": "\xed\xa0\x80"}', b'{"\xed\xa0\x80": 1}', b'{"a": NaN}', b'{"a": 1e400}',
    b'{"a": -Infinity}', b'{"a": 1' + b"0" * 5000 + b"}", b"[" * 50_000,
    b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, b'{"a": "\\u0000"}', "{}".encode("utf-16"),
]  # fmt: skip


def _schema_fields(app: Starlette, route: Route, method: str) -> set[str]:
    """The property names of the route's request body in the OpenAPI document."""
    doc = app.state.openapi
    path = re.sub(r":\w+\}", "}", route.path)
    body = doc["paths"].get(path, {}).get(method.lower(), {}).get("requestBody")
    if body is None:
        return set()
    todo = [body["content"]["application/json"]["schema"]]
    names: set[str] = set()
    while todo:
        schema = todo.pop()
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        names |= set(schema.get("properties", {}))
        todo += [*schema.get("oneOf", []), *schema.get("anyOf", []), *schema.get("allOf", [])]
    return names


def _json_routes(app: Starlette) -> Iterator[tuple[Route, str]]:
    for route in _routes(app):
        if _is_api(route):
            for method in _methods(route):
                if method in ("POST", "PATCH", "PUT"):
                    yield route, method


def _spoilt(base: dict[str, Any], name: str, value: object) -> dict[str, Any]:
    """``base`` with one field spoilt; in a batch of scans, the field of the first scan."""
    if "scans" in base and name != "scans":
        return {"scans": [{**base["scans"][0], name: value}, *base["scans"][1:]]}
    return {**base, name: value}


async def test_every_json_route_answers_hostile_bodies_with_a_4xx(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    rng = random.Random(14)
    valid = _valid_bodies(world)
    routes = list(_json_routes(app))
    takes_body = {r.name for r, m in routes if _schema_fields(app, r, m)}
    assert takes_body <= set(valid), f"give these routes a valid body: {takes_body - set(valid)}"
    sent = 0
    for route, method in routes:
        url = _url(route, world)
        base = valid.get(route.name, {})
        # A route that documents no body (publish, undo a check-in) gets the worst two.
        for content in RAW_BODIES if route.name in takes_body else RAW_BODIES[-4:-2]:
            await _send(client, world, route, method, url, content=content)
        await _send(client, world, route, method, url, content=_json([base]))
        fields = set(base) | _schema_fields(app, route, method)
        if "scans" in base:
            fields |= set(base["scans"][0])
        for name in sorted(fields):
            for value in [*ALWAYS, *rng.sample(SPOILERS, 2)]:
                answer = await _send(
                    client, world, route, method, url, content=_json(_spoilt(base, name, value))
                )
                if value in ALWAYS[:3] and route.name in valid:
                    expected = "validation_failed" if "\x00" in str(value) else "invalid_unicode"
                    assert answer.status_code == 422, (route.path, name, value, answer.text)
                    assert answer.json()["error"]["code"] == expected
                sent += 1
    assert sent > 500


# ----------------------------------------------------------------------------- fuzz: URLs

# Ids no row can have: 10 digits and more do not match ``{id:int}`` (sala/__init__.py).
UNREACHABLE_IDS = [str(HUGE), str(2**31), str(2**63), "1000000000"]
ODD_IDS = ["999999999", "0", "00000000001"]


async def test_every_route_answers_ids_too_large_with_a_404(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    csrf = csrf_from((await client.get("/staff/sessions/new")).text)
    checked = 0
    for route in _routes(app):
        ids = [m[1] for m in _PARAM.finditer(route.path) if m[2] == "int"]
        for method in _methods(route) if ids else []:
            body: dict[str, Any] = {}
            if method != "GET":
                body = {"content": b"{}"} if _is_api(route) else {"data": {"csrf_token": csrf}}
            for name in ids:
                for value in UNREACHABLE_IDS + ODD_IDS:
                    url = _url(route, world, **{name: value})
                    answer = await _send(client, world, route, method, url, **body)
                    if value in UNREACHABLE_IDS:
                        assert answer.status_code == 404, (method, url)
                    checked += 1
    assert checked > 200


# Every query parameter a route reads, and a few it does not.
QUERY_NAMES = [
    "topic", "month", "upcoming", "code", "next", "status", "lang", "past", "cancelled",
    "invitation", "done", "saved", "neutral", "from", "to", "by", "page", "id",
]  # fmt: skip
# Each given to every name at once; then a few mixes of these and others.
QUERY_WORST = ["%00", "%ED%A0%80", "x" * 3000, str(HUGE), f"{HUGE}-01"]
QUERY_VALUES = [
    *QUERY_WORST, "a%00b", "%FF", "%C0%80", "-1", "2025-99", "99999999-12", "%C2%B2", "1e400",
    "NaN", "%E2%80%AE", "",
]  # fmt: skip


async def test_every_get_route_answers_hostile_query_strings_without_a_500(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    rng = random.Random(1414)
    for route in _routes(app):
        if "GET" not in (route.methods or set()):
            continue
        queries = [[value] * len(QUERY_NAMES) for value in QUERY_WORST]
        queries.append([rng.choice(QUERY_VALUES) for _ in QUERY_NAMES])
        for values in queries:
            query = "&".join(
                f"{name}={value}" for name, value in zip(QUERY_NAMES, values, strict=True)
            )
            await _send(client, world, route, "GET", f"{_url(route, world)}?{query}")
        for text_param in ("token", "slug", "code", "name"):
            if "{" + text_param in route.path:
                for value in ("%00", "%ED%A0%80", "x" * 3000, "%2e%2e"):
                    await _send(
                        client, world, route, "GET", _url(route, world, **{text_param: value})
                    )


# ----------------------------------------------------------------------------- fuzz: forms


def _form_field_names() -> list[str]:
    """Every field name a template or a route reads from a form."""
    names = set()
    for template in (ROOT / "templates").rglob("*.html"):
        names |= set(re.findall(r'name="([a-z_]+)"', template.read_text()))
    for routes in ROOT.glob("*/routes.py"):
        names |= set(re.findall(r'\.get(?:list)?\("([a-z_]+)"', routes.read_text()))
    return sorted(names - {"csrf_token", "viewport", "robots"})


def _choices_of(route: Route) -> list[str]:
    """The values the endpoint compares a field with ("issue_all", "yes", …): one form
    for each reaches each branch."""
    source = inspect.getsource(inspect.unwrap(route.endpoint))
    return sorted(set(re.findall(r'(?:==|in \(|, )\s*"([a-z_]+)"', source)))


FORM_VALUES = [
    str(HUGE), str(2**31), "-1", "0", "²", "1e400", "NaN", "", "x" * 3000, "\u202e", "on",
    "2025-13-45", "99999999-01-01", "+2AA-", "America", "0001-01-01T00:00", "9999-12-31T23:59",
]  # fmt: skip


async def test_every_form_answers_hostile_fields_without_a_500(
    app: Starlette, client: httpx.AsyncClient, world: World, new_client: Callable[..., Any]
) -> None:
    rng = random.Random(141414)
    names = _form_field_names()
    selectors = ("action", "part", "kind", "answer", "scope")
    for route in _routes(app):
        if _is_api(route) or "POST" not in (route.methods or set()):
            continue
        # A fresh admin each time: a form may log its sender out or change their password.
        async with new_client() as browser:
            await log_in(browser, await make_staff(Role.ADMIN))
            csrf = csrf_from((await browser.get("/staff/sessions/new")).text)
            url = _url(route, world)
            nul = await _send(
                browser, world, route, "POST", url, data={"csrf_token": csrf, "note": "\x00"}
            )
            # Refused by ``read_form`` (422), or refused before any form is read.
            assert nul.status_code >= 300, route.path
            for choice in [None, *_choices_of(route)]:
                form = {name: rng.choice(FORM_VALUES) for name in names}
                form |= {"csrf_token": csrf}
                if choice is not None:
                    form |= dict.fromkeys(selectors, choice)
                await _send(browser, world, route, "POST", url, data=form)
                huge = dict.fromkeys(names, str(HUGE)) | {"csrf_token": csrf}
                if choice is not None:
                    huge |= dict.fromkeys(selectors, choice)
                await _send(browser, world, route, "POST", url, data=huge)
