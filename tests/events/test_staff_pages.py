"""Admins manage sessions, series and topics in the staff pages; facilitators see theirs."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from events.models import Session, SessionStatus, Topic
from sala.models import Role
from tests.factories import (
    PHNOM_PENH,
    csrf_from,
    log_in,
    make_session,
    make_staff,
    post_form,
    session_fields,
)


@pytest.fixture
async def admin_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await log_in(client, await make_staff(Role.ADMIN))
    return client


async def test_admin_creates_a_session_with_the_form(admin_client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR, name="Vanna")
    fields = session_fields(title_en="From the form", facilitator_ids=str(facilitator.id))
    answer = await post_form(admin_client, "/staff/sessions/new", fields)
    assert answer.status_code == 303
    session = await Session.get(title_en="From the form").prefetch_related("facilitators")
    assert session.status == SessionStatus.DRAFT
    assert [f.name for f in session.facilitators] == ["Vanna"]
    page = await admin_client.get(answer.headers["location"])
    assert "From the form" in page.text and "Vanna" in page.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"capacity": "-1"}, "Enter a number in the allowed range."),
        ({"capacity": "10000000"}, "Enter a number in the allowed range."),
        ({"capacity": "abc"}, "Enter a whole number."),
        ({"ends_at": "2020-01-01T09:00"}, "The end must be after the start."),
        ({"title_en": "t" * 201}, "This is too long."),
        ({"title_en": "", "title_km": ""}, "Give the training a title in Khmer or English."),
        ({"starts_at": ""}, "This field is required."),
        ({"venue_map_url": "maps"}, "Enter a full web address starting with https://."),
    ],
)
async def test_bad_session_form_is_shown_again_with_the_message_at_the_field(
    admin_client: httpx.AsyncClient, overrides: dict[str, Any], message: str
) -> None:
    answer = await post_form(
        admin_client, "/staff/sessions/new", session_fields(**{"title_en": "Kept", **overrides})
    )
    assert answer.status_code == 422
    assert '<p class="field-error"' in answer.text
    assert message in answer.text
    assert 'aria-invalid="true"' in answer.text
    # What the admin typed is still in the form.
    if "title_en" not in overrides:
        assert 'value="Kept"' in answer.text
    assert await Session.all().count() == 0


async def test_bad_form_in_khmer_gets_khmer_messages(admin_client: httpx.AsyncClient) -> None:
    admin_client.headers["accept-language"] = "km"
    answer = await post_form(admin_client, "/staff/sessions/new", session_fields(capacity="-1"))
    assert answer.status_code == 422
    assert '<html lang="km">' in answer.text
    assert "Enter a number in the allowed range." not in answer.text


async def test_edit_publish_unpublish_cancel(admin_client: httpx.AsyncClient) -> None:
    session = await make_session(status=SessionStatus.DRAFT)
    edit = await post_form(
        admin_client,
        f"/staff/sessions/{session.id}/edit",
        session_fields(title_en="Edited title", capacity="12"),
    )
    assert edit.status_code == 303
    await session.refresh_from_db()
    assert (session.title_en, session.capacity) == ("Edited title", 12)

    for action, status in [
        ("publish", SessionStatus.PUBLISHED),
        ("unpublish", SessionStatus.DRAFT),
        ("publish", SessionStatus.PUBLISHED),
        ("cancel", SessionStatus.CANCELLED),
    ]:
        answer = await post_form(
            admin_client,
            f"/staff/sessions/{session.id}",
            {},
            action=f"/staff/sessions/{session.id}/{action}",
        )
        assert answer.status_code == 303, action
        await session.refresh_from_db()
        assert session.status == status, action

    page = await admin_client.get(f"/staff/sessions/{session.id}")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    again = await admin_client.post(
        f"/staff/sessions/{session.id}/publish", data={"csrf_token": token}
    )
    assert again.status_code == 409
    await session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED


async def test_edit_form_shows_phnom_penh_times(admin_client: httpx.AsyncClient) -> None:
    session = await make_session(starts_at="2027-05-01T09:30", ends_at="2027-05-01T12:00")
    page = await admin_client.get(f"/staff/sessions/{session.id}/edit")
    assert 'value="2027-05-01T09:30"' in page.text


async def test_facilitator_sees_only_assigned_sessions(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    mine = await make_session(title_en="Mine to run", facilitators=(facilitator,))
    other = await make_session(title_en="Someone else's")
    await log_in(client, facilitator)
    listing = await client.get("/staff/sessions")
    assert "Mine to run" in listing.text and "Someone else's" not in listing.text
    assert (await client.get(f"/staff/sessions/{mine.id}")).status_code == 200
    assert (await client.get(f"/staff/sessions/{other.id}")).status_code == 403
    assert (await client.get(f"/staff/sessions/{mine.id}/edit")).status_code == 403


async def test_series_generator_makes_editable_sessions(admin_client: httpx.AsyncClient) -> None:
    fields = session_fields(
        title_en="Monthly SOGIE",
        starts_at="2027-01-02T09:00",
        ends_at="2027-01-02T12:00",
        rrule="FREQ=MONTHLY;BYDAY=1SA",
        months="4",
        status="published",
    )
    # First the dates the rule makes, and nothing created yet.
    preview = await post_form(admin_client, "/staff/series/new", {**fields, "action": "preview"})
    assert preview.status_code == 200
    assert "This rule makes 4 sessions:" in preview.text
    assert "The rule does not fall on the start you typed" not in preview.text
    assert await Session.all().count() == 0
    dates = re.search(r'name="dates" value="([^"]*)"', preview.text)
    assert dates
    answer = await admin_client.post(
        "/staff/series/new",
        data={
            **fields,
            "action": "create",
            "dates": dates.group(1),
            "csrf_token": csrf_from(preview.text),
        },
    )
    assert answer.status_code == 303
    sessions = await Session.filter(title_en="Monthly SOGIE").order_by("starts_at")
    days = [s.starts_at.astimezone(PHNOM_PENH) for s in sessions]
    assert [(d.month, d.day, d.hour) for d in days] == [(1, 2, 9), (2, 6, 9), (3, 6, 9), (4, 3, 9)]
    assert all(d.weekday() == 5 for d in days)  # Saturdays
    assert len({s.series_id for s in sessions}) == 1  # type: ignore[attr-defined]

    # Each one is its own: cancelling the second leaves the others.
    second = sessions[1]
    await post_form(
        admin_client,
        f"/staff/sessions/{second.id}",
        {},
        action=f"/staff/sessions/{second.id}/cancel",
    )
    statuses = [
        s.status for s in await Session.filter(title_en="Monthly SOGIE").order_by("starts_at")
    ]
    assert statuses == ["published", "cancelled", "published", "published"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rrule": "EVERY FULL MOON"}, "This is not a valid repeat rule"),
        ({"rrule": "FREQ=MONTHLY;BYDAY=9XX"}, "This is not a valid repeat rule"),
        ({"rrule": "FREQ=SECONDLY"}, "Use a weekly or monthly rule"),
        ({"rrule": "FREQ=WEEKLY", "months": "12"}, "more than 36 sessions"),
        ({"rrule": "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30"}, "makes no session"),
        ({"months": "37"}, "Enter a number in the allowed range."),
        ({"rrule": ""}, "This field is required."),
    ],
)
async def test_bad_series_is_refused_and_nothing_saved(
    admin_client: httpx.AsyncClient, overrides: dict[str, Any], message: str
) -> None:
    fields = session_fields(**{"rrule": "FREQ=MONTHLY;BYDAY=1SA", "months": "6", **overrides})
    answer = await post_form(admin_client, "/staff/series/new", fields)
    assert answer.status_code == 422
    assert message in answer.text
    assert await Session.all().count() == 0


async def test_admin_renames_and_hides_a_topic(admin_client: httpx.AsyncClient) -> None:
    topic = await Topic.get(code="problem_solving")
    answer = await post_form(
        admin_client,
        f"/staff/topics/{topic.id}",
        {"name_en": "Solving problems together", "name_km": "ការដោះស្រាយបញ្ហារួមគ្នា"},
    )
    assert answer.status_code == 303
    await topic.refresh_from_db()
    assert topic.name_en == "Solving problems together" and not topic.is_active
    empty = await post_form(
        admin_client, f"/staff/topics/{topic.id}", {"name_en": "", "name_km": ""}
    )
    assert empty.status_code == 422
    await topic.refresh_from_db()
    assert topic.name_en == "Solving problems together"
