"""The sessions API: public reads, admin writes, clear 4xx answers for bad input."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from tortoise import connections

from events.models import Session, SessionStatus
from sala.models import AuditEntry, Role
from tests.factories import in_days, make_session, make_staff, token_for


def _body(**overrides: Any) -> dict[str, Any]:
    starts = in_days(14)
    body: dict[str, Any] = {
        "topic": "human_rights",
        "title_en": "Human rights for NGO staff",
        "title_km": "សិទ្ធិមនុស្សសម្រាប់បុគ្គលិកអង្គការ",
        "description_en": "Bring questions.",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "venue": "CLGBT office",
        "capacity": 30,
        "audience": "public",
    }
    body.update(overrides)
    return body


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await token_for(await make_staff(Role.ADMIN))


async def test_create_publish_and_read_a_session(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post("/api/v1/sessions", json=_body(), headers=admin_headers)
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["status"] == "draft"
    assert session["topic"] == "human_rights"
    assert session["venue"] == "CLGBT office"
    assert session["seats_left"] == 30
    assert session["timezone"] == "Asia/Phnom_Penh"
    assert session["starts_at"].endswith("+07:00")
    assert datetime.fromisoformat(session["starts_at"]) == in_days(14)

    # A draft is not public.
    assert (await client.get(f"/api/v1/sessions/{session['id']}")).status_code == 404
    listed = (await client.get("/api/v1/sessions")).json()
    assert session["id"] not in [s["id"] for s in listed]
    # ... but the admin token sees it.
    seen = await client.get(f"/api/v1/sessions/{session['id']}", headers=admin_headers)
    assert seen.status_code == 200 and seen.json()["status"] == "draft"

    published = await client.post(
        f"/api/v1/sessions/{session['id']}/publish", headers=admin_headers
    )
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    public = await client.get(f"/api/v1/sessions/{session['id']}")
    assert public.status_code == 200
    assert public.json()["title_km"] == "សិទ្ធិមនុស្សសម្រាប់បុគ្គលិកអង្គការ"
    assert session["id"] in [s["id"] for s in (await client.get("/api/v1/sessions")).json()]
    assert await AuditEntry.filter(action="session.publish", object_id=str(session["id"])).exists()


async def test_times_without_offset_are_phnom_penh_time(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = _body(starts_at="2027-03-06T09:00", ends_at="2027-03-06T12:00")
    created = (await client.post("/api/v1/sessions", json=body, headers=admin_headers)).json()
    assert created["starts_at"] == "2027-03-06T09:00:00+07:00"
    stored = await Session.get(id=created["id"])
    assert stored.starts_at.astimezone().utcoffset() is not None
    assert (
        stored.starts_at.timestamp()
        == datetime.fromisoformat("2027-03-06T02:00:00+00:00").timestamp()
    )


async def test_patch_changes_only_the_given_fields(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = (await client.post("/api/v1/sessions", json=_body(), headers=admin_headers)).json()
    patched = await client.patch(
        f"/api/v1/sessions/{created['id']}",
        json={"capacity": 45, "title_en": "Renamed"},
        headers=admin_headers,
    )
    assert patched.status_code == 200, patched.text
    answer = patched.json()
    assert (answer["capacity"], answer["title_en"]) == (45, "Renamed")
    assert answer["starts_at"] == created["starts_at"]
    assert answer["venue"] == "CLGBT office"
    assert answer["title_km"] == created["title_km"]


async def test_topics_are_seeded(client: httpx.AsyncClient) -> None:
    topics = (await client.get("/api/v1/topics")).json()
    codes = [t["code"] for t in topics]
    assert codes == [
        "sogie",
        "human_rights",
        "problem_analysis",
        "team_building",
        "problem_solving",
    ]
    assert all(t["name_en"] and t["name_km"] for t in topics)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"capacity": -1}, "capacity"),
        ({"capacity": 10_000_000}, "capacity"),
        ({"capacity": "lots"}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"title_en": "x" * 201}, "title_en"),
        ({"title_en": "", "title_km": ""}, "title_en"),
        ({"topic": "astrology"}, "topic"),
        ({"audience": "everyone"}, "audience"),
        ({"starts_at": "next Tuesday"}, "starts_at"),
        ({"starts_at": None}, "starts_at"),
        ({"ends_at": in_days(13).isoformat()}, "ends_at"),
        ({"ends_at": in_days(40).isoformat()}, "ends_at"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"venue": "", "online_url": ""}, "venue_name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"registration_closes_at": in_days(20).isoformat()}, "registration_closes_at"),
        ({"facilitator_ids": [99999]}, "facilitator_ids"),
        ({"facilitator_ids": "me"}, "facilitator_ids"),
    ],
)
async def test_bad_fields_are_422_with_the_field_named(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    overrides: dict[str, Any],
    field: str,
) -> None:
    answer = await client.post("/api/v1/sessions", json=_body(**overrides), headers=admin_headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["fields"]
    assert await Session.all().count() == 0


@pytest.mark.parametrize(
    ("content", "code", "status"),
    [
        (b"", "invalid_json", 400),
        (b"{not json", "invalid_json", 400),
        (b"[1, 2]", "invalid_json", 400),
        (b'"text"', "invalid_json", 400),
        (b"\xff\xfe", "invalid_json", 400),
        (b'{"a": "' + b"x" * 1_100_000 + b'"}', "body_too_large", 413),
    ],
)
async def test_malformed_bodies_are_4xx(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    content: bytes,
    code: str,
    status: int,
) -> None:
    answer = await client.post(
        "/api/v1/sessions",
        content=content,
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


async def test_bad_patch_keeps_what_was_saved(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = (await client.post("/api/v1/sessions", json=_body(), headers=admin_headers)).json()
    answer = await client.patch(
        f"/api/v1/sessions/{created['id']}",
        json={"capacity": 0, "title_en": "Should not stick"},
        headers=admin_headers,
    )
    assert answer.status_code == 422
    stored = await Session.get(id=created["id"])
    assert (stored.capacity, stored.title_en) == (30, "Human rights for NGO staff")


async def test_cancelled_session_cannot_be_published_or_edited(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    session = await make_session()
    cancelled = await client.post(f"/api/v1/sessions/{session.id}/cancel", headers=admin_headers)
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/api/v1/sessions/{session.id}/publish", headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "session_cancelled"
    edit = await client.patch(
        f"/api/v1/sessions/{session.id}", json={"capacity": 10}, headers=admin_headers
    )
    assert edit.status_code == 409
    assert (await Session.get(id=session.id)).status == SessionStatus.CANCELLED


async def test_unknown_session_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/sessions/31337")).status_code == 404
    answer = await client.patch("/api/v1/sessions/31337", json={}, headers=admin_headers)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "session_not_found"
    assert (await client.get("/api/v1/sessions/not-a-number")).status_code == 404


async def test_facilitator_token_sees_own_draft_but_not_others(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    mine = await make_session(status=SessionStatus.DRAFT, facilitators=(facilitator,))
    theirs = await make_session(status=SessionStatus.DRAFT)
    headers = await token_for(facilitator)
    assert (await client.get(f"/api/v1/sessions/{mine.id}", headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/sessions/{theirs.id}", headers=headers)).status_code == 404


async def test_series_through_the_api(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = _body(
        starts_at="2027-01-02T09:00",
        ends_at="2027-01-02T12:00",
        rrule="FREQ=MONTHLY;BYDAY=1SA",
        months=6,
        status="published",
    )
    answer = await client.post("/api/v1/series", json=body, headers=admin_headers)
    assert answer.status_code == 201, answer.text
    starts = [s["starts_at"] for s in answer.json()["sessions"]]
    assert starts == [
        "2027-01-02T09:00:00+07:00",
        "2027-02-06T09:00:00+07:00",
        "2027-03-06T09:00:00+07:00",
        "2027-04-03T09:00:00+07:00",
        "2027-05-01T09:00:00+07:00",
        "2027-06-05T09:00:00+07:00",
    ]
    assert all(s["status"] == "published" for s in answer.json()["sessions"])


async def test_status_can_be_set_in_the_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/sessions", json=_body(status="published"), headers=admin_headers
    )
    assert created.status_code == 201 and created.json()["status"] == "published"
    assert (await client.get(f"/api/v1/sessions/{created.json()['id']}")).status_code == 200
    refused = await client.post(
        "/api/v1/sessions", json=_body(status="cancelled"), headers=admin_headers
    )
    assert refused.status_code == 422 and "status" in refused.json()["error"]["fields"]
    patched = await client.patch(
        f"/api/v1/sessions/{created.json()['id']}",
        json={"status": "cancelled"},
        headers=admin_headers,
    )
    assert patched.json()["status"] == "cancelled"
    assert await AuditEntry.filter(action="session.cancel").exists()
    bad = await client.patch(
        f"/api/v1/sessions/{created.json()['id']}", json={"status": "gone"}, headers=admin_headers
    )
    assert bad.status_code in (409, 422)


async def test_an_edited_session_keeps_its_place_in_time(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Issue 13: on SQLite an edit stored the time with its +07:00 offset while others were
    UTC, so a 09:00 session listed after a 12:00 one and counted as upcoming too long."""
    day = (datetime.now() + timedelta(days=10)).strftime("%Y-%m-%d")
    nine = (await client.post(
        "/api/v1/sessions",
        json=_body(starts_at=f"{day}T10:00", ends_at=f"{day}T11:00", title_en="Nine"),
        headers=admin_headers,
    )).json()  # fmt: skip
    noon = (await client.post(
        "/api/v1/sessions",
        json=_body(starts_at=f"{day}T12:00", ends_at=f"{day}T13:00", title_en="Noon"),
        headers=admin_headers,
    )).json()  # fmt: skip
    edited = await client.patch(
        f"/api/v1/sessions/{nine['id']}",
        json={"starts_at": f"{day}T09:00", "ends_at": f"{day}T10:30"},
        headers=admin_headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["starts_at"] == f"{day}T09:00:00+07:00"
    stored = await Session.get(id=nine["id"])
    assert stored.starts_at.utcoffset() == timedelta(0)
    assert stored.starts_at.strftime("%H:%M") == "02:00"
    order = await Session.filter(id__in=[nine["id"], noon["id"]]).order_by("starts_at")
    assert [s.id for s in order] == [nine["id"], noon["id"]]
    before_noon = stored.starts_at + timedelta(hours=2)
    later = await Session.filter(id__in=[nine["id"], noon["id"]], starts_at__gt=before_noon)
    assert [s.id for s in later] == [noon["id"]]


async def test_the_migration_puts_times_written_with_an_offset_back_in_utc(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Rows an edit wrote before the fix (SQLite: "+07:00" text) are rewritten in UTC."""
    session = await make_session(title_en="Edited before the fix")
    connection = connections.get("default")
    if connection.capabilities.dialect != "sqlite":
        pytest.skip("PostgreSQL stores timestamptz: nothing was ever written with an offset")
    local = session.starts_at.astimezone(timezone(timedelta(hours=7)))
    await connection.execute_query(
        'UPDATE "session" SET starts_at = ? WHERE id = ?', [str(local), session.id]
    )
    migration = importlib.import_module("events.migrations.0004_session_times_in_utc")
    await migration._times_in_utc(None, SimpleNamespace(client=connection))
    _count, rows = await connection.execute_query(
        'SELECT starts_at FROM "session" WHERE id = ?', [session.id]
    )
    assert rows[0]["starts_at"] == str(session.starts_at.astimezone(UTC))
    assert rows[0]["starts_at"].endswith("+00:00")
