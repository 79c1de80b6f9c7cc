"""``POST /api/v1/checkins`` with a bearer token takes the short way (``checkin/fast_path.py``):
the same answers, the same refusals and the same security headers as the whole way."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

import checkin.fast_path
from attendees.models import Registration
from checkin.models import CheckinScan
from checkin.tickets import ticket_for
from sala.config import Settings
from sala.models import Role
from tests.factories import log_in, make_session, make_staff, register_person, token_for


@pytest.fixture
def door_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests that took the short way (counted at its endpoint)."""
    calls: list[str] = []
    real = checkin.fast_path.request_response

    def counting(endpoint):  # type: ignore[no-untyped-def]
        inner = real(endpoint)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            calls.append(scope["path"])
            await inner(scope, receive, send)

        return app

    monkeypatch.setattr(checkin.fast_path, "request_response", counting)
    yield calls


def _scan(token: str, session_id: int) -> dict[str, object]:
    return {
        "token": token,
        "session_id": session_id,
        "scan_id": uuid.uuid4().hex,
        "device_id": "phone-1",
    }


def _assert_security_headers(answer: httpx.Response) -> None:
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert answer.headers["x-frame-options"] == "DENY"


async def test_a_bearer_scan_takes_the_short_way_and_is_stored(
    client: httpx.AsyncClient, settings: Settings, door_calls: list[str]
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(facilitators=(facilitator,))
    person = (await register_person(session, settings, chosen_name="Sokha")).registration
    token = await ticket_for(person, settings.data_dir)
    answer = await client.post(
        "/api/v1/checkins",
        json=_scan(token, session.id),
        headers={**await token_for(facilitator), "accept-encoding": "gzip, br"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "checked_in" and answer.json()["chosen_name"] == "Sokha"
    assert door_calls == ["/api/v1/checkins"]
    _assert_security_headers(answer)
    assert "content-encoding" not in answer.headers
    stored = await Registration.get(id=person.id)
    assert stored.checked_in_at is not None
    assert await CheckinScan.filter(registration_id=person.id, result="checked_in").count() == 1


@pytest.mark.parametrize(
    "authorization", ["Bearer sala_not-a-token", "Bearer ", "Basic Zm9vOmJhcg==", "bearer x"]
)
async def test_a_bad_token_is_refused_on_the_short_way(
    client: httpx.AsyncClient, settings: Settings, door_calls: list[str], authorization: str
) -> None:
    session = await make_session()
    person = (await register_person(session, settings)).registration
    token = await ticket_for(person, settings.data_dir)
    answer = await client.post(
        "/api/v1/checkins", json=_scan(token, session.id), headers={"authorization": authorization}
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "not_authenticated"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert door_calls == ["/api/v1/checkins"]
    _assert_security_headers(answer)
    assert (await Registration.get(id=person.id)).checked_in_at is None
    assert await CheckinScan.all().count() == 0


async def test_a_facilitator_of_another_session_is_refused_on_the_short_way(
    client: httpx.AsyncClient, settings: Settings, door_calls: list[str]
) -> None:
    ours = await make_staff(Role.FACILITATOR, name="Dara")
    theirs = await make_staff(Role.FACILITATOR, name="Vibol")
    session = await make_session(facilitators=(ours,))
    await make_session(facilitators=(theirs,))
    person = (await register_person(session, settings)).registration
    token = await ticket_for(person, settings.data_dir)
    answer = await client.post(
        "/api/v1/checkins", json=_scan(token, session.id), headers=await token_for(theirs)
    )
    assert answer.status_code in (403, 404), answer.text
    assert door_calls == ["/api/v1/checkins"]
    _assert_security_headers(answer)
    assert (await Registration.get(id=person.id)).checked_in_at is None
    assert await CheckinScan.all().count() == 0


async def test_a_team_leader_token_is_refused_on_the_short_way(
    client: httpx.AsyncClient, settings: Settings, door_calls: list[str]
) -> None:
    session = await make_session()
    leader = await make_staff(Role.TEAM_LEADER)
    person = (await register_person(session, settings)).registration
    token = await ticket_for(person, settings.data_dir)
    answer = await client.post(
        "/api/v1/checkins", json=_scan(token, session.id), headers=await token_for(leader)
    )
    assert answer.status_code == 403, answer.text
    assert door_calls == ["/api/v1/checkins"]
    assert (await Registration.get(id=person.id)).checked_in_at is None


async def test_a_browser_cookie_call_without_csrf_goes_the_whole_way_and_is_refused(
    client: httpx.AsyncClient, settings: Settings, door_calls: list[str]
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    session = await make_session()
    person = (await register_person(session, settings)).registration
    token = await ticket_for(person, settings.data_dir)
    answer = await client.post("/api/v1/checkins", json=_scan(token, session.id))
    assert answer.status_code == 401, answer.text
    wrong = await client.post(
        "/api/v1/checkins", json=_scan(token, session.id), headers={"x-csrf-token": "forged"}
    )
    assert wrong.status_code == 401, wrong.text
    assert door_calls == []  # no Authorization header: the session and CSRF layers decide
    _assert_security_headers(answer)
    assert (await Registration.get(id=person.id)).checked_in_at is None
    assert await CheckinScan.all().count() == 0


async def test_errors_and_languages_on_the_short_way_are_the_apps(
    client: httpx.AsyncClient, settings: Settings, door_calls: list[str]
) -> None:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    broken = await client.post(
        "/api/v1/checkins",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    missing = await client.post(
        "/api/v1/checkins", json={"scans": []}, headers={**headers, "accept-language": "km"}
    )
    assert missing.status_code == 422
    english = await client.post("/api/v1/checkins", json={"scans": []}, headers=headers)
    # Accept-Language chooses the words, as the language layer does on the whole way.
    assert missing.json()["error"]["fields"] != english.json()["error"]["fields"]
    assert door_calls == ["/api/v1/checkins"] * 3
    # A ?lang= (which may set the language cookie) and other methods go the whole way.
    await client.post("/api/v1/checkins?lang=km", json={"scans": []}, headers=headers)
    options = await client.get("/api/v1/checkins", headers=headers)
    assert options.status_code == 405
    assert door_calls == ["/api/v1/checkins"] * 3
