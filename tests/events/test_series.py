"""A series shows its dates before they are created, warns when the rule does not fall on the
typed start, and each of its sessions says it belongs to one (issue 13)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from events import services as events
from events.forms import session_values
from events.models import Audience, Session, SessionStatus
from sala.config import Settings
from sala.models import Role
from tests.factories import (
    PHNOM_PENH,
    csrf_from,
    log_in,
    make_staff,
    post_form,
    register_person,
    session_fields,
    token_for,
)

MONTHLY = {
    "title_en": "Monthly SOGIE",
    "starts_at": "2027-01-02T09:00",  # the first Saturday of January 2027
    "ends_at": "2027-01-02T12:00",
    "rrule": "FREQ=MONTHLY;BYDAY=1SA",
    "months": "3",
    "status": "published",
}


@pytest.fixture
async def admin_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await log_in(client, await make_staff(Role.ADMIN))
    return client


def _dates(html: str) -> str:
    found = re.search(r'name="dates" value="([^"]*)"', html)
    assert found, "the page shows no dates to create"
    return found.group(1)


async def test_the_dates_are_shown_and_only_the_dates_shown_are_created(
    admin_client: httpx.AsyncClient,
) -> None:
    fields = session_fields(**MONTHLY)
    preview = await post_form(
        admin_client, "/staff/series/new?lang=en", {**fields, "action": "preview"}
    )
    assert preview.status_code == 200
    listed = re.findall(r'<li><time datetime="([^"]+)">([^<]+)</time></li>', preview.text)
    assert [stamp for stamp, _ in listed] == [
        "2027-01-02T09:00:00+07:00",
        "2027-02-06T09:00:00+07:00",
        "2027-03-06T09:00:00+07:00",
    ]
    assert listed[1][1].startswith("Saturday, February 6, 2027")
    assert "Create these 3 sessions" in preview.text
    assert await Session.all().count() == 0

    # The admin changes the months after looking: the new dates are shown, nothing is made.
    stale = await admin_client.post(
        "/staff/series/new?lang=en",
        data={
            **fields,
            "months": "4",
            "action": "create",
            "dates": _dates(preview.text),
            "csrf_token": csrf_from(preview.text),
        },
    )
    assert stale.status_code == 200
    assert "The form changed since the dates were shown." in stale.text
    assert "Create these 4 sessions" in stale.text
    assert await Session.all().count() == 0

    created = await admin_client.post(
        "/staff/series/new",
        data={
            **fields,
            "months": "4",
            "action": "create",
            "dates": _dates(stale.text),
            "csrf_token": csrf_from(stale.text),
        },
    )
    assert created.status_code == 303 and created.headers["location"].endswith("?created=4")
    assert await Session.all().count() == 4


async def test_a_rule_that_misses_the_typed_start_says_so(admin_client: httpx.AsyncClient) -> None:
    # Tuesday 5 January: "the first Saturday" of January has passed, so it starts in February.
    fields = session_fields(
        **{**MONTHLY, "starts_at": "2027-01-05T09:00", "ends_at": "2027-01-05T12:00"}
    )
    preview = await post_form(
        admin_client, "/staff/series/new?lang=en", {**fields, "action": "preview"}
    )
    warning = re.search(r'<p class="notice" role="alert">([^<]+)</p>', preview.text)
    assert warning, preview.text
    assert "The rule does not fall on the start you typed (Jan 5, 2027" in warning.group(1)
    assert "the first session is on Feb 6, 2027" in warning.group(1)


async def test_a_bad_rule_in_the_preview_is_shown_at_its_field(
    admin_client: httpx.AsyncClient,
) -> None:
    fields = session_fields(**{**MONTHLY, "rrule": "EVERY FULL MOON"})
    answer = await post_form(
        admin_client, "/staff/series/new?lang=en", {**fields, "action": "preview"}
    )
    assert answer.status_code == 422
    assert "This is not a valid repeat rule" in answer.text
    assert 'value="EVERY FULL MOON"' in answer.text
    assert 'name="dates"' not in answer.text


async def test_the_api_previews_without_creating(client: httpx.AsyncClient) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    body: dict[str, Any] = {
        **session_fields(
            **{**MONTHLY, "starts_at": "2027-01-05T09:00", "ends_at": "2027-01-05T12:00"}
        ),
        "preview": True,
    }
    answer = await client.post("/api/v1/series", json=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {
        "starts": ["2027-02-06T09:00:00+07:00", "2027-03-06T09:00:00+07:00"],
        "first_start_differs": True,
    }
    assert await Session.all().count() == 0


async def test_each_session_says_it_belongs_to_a_series(
    admin_client: httpx.AsyncClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    data = await events.series_input(session_fields(**MONTHLY), default_timezone="Asia/Phnom_Penh")
    _series, sessions = await events.create_series(data, actor=None)
    staff_page = await admin_client.get(f"/staff/sessions/{sessions[1].id}?lang=en")
    assert "Session 2 of 3 of a series." in staff_page.text
    for other in (sessions[0], sessions[2]):
        assert f'href="/staff/sessions/{other.id}"' in staff_page.text

    public = await client.get(f"/sessions/{sessions[1].id}?lang=en")
    assert "This training is one of a series." in public.text
    assert f'href="/sessions/{sessions[0].id}"' in public.text
    assert f'href="/sessions/{sessions[2].id}"' in public.text

    # A draft or an invite-only sibling is never listed on a public page.
    admin = await make_staff(Role.ADMIN)
    await events.unpublish_session(sessions[0], actor=admin, settings=settings)
    await Session.filter(id=sessions[2].id).update(audience=Audience.INVITE_ONLY)
    public = await client.get(f"/sessions/{sessions[1].id}?lang=en")
    assert "This training is one of a series." in public.text
    assert f'href="/sessions/{sessions[0].id}"' not in public.text
    assert str(sessions[2].slug) not in public.text
    assert "Other dates:" not in public.text
    assert (await Session.get(id=sessions[0].id)).status == SessionStatus.DRAFT


async def _monthly(months: int = 4, capacity: str = "30") -> list[Session]:
    data = await events.series_input(
        session_fields(**{**MONTHLY, "months": str(months), "capacity": capacity}),
        default_timezone="Asia/Phnom_Penh",
    )
    _series, sessions = await events.create_series(data, actor=None)
    return sessions


def _local(session: Session) -> tuple[int, int, int, int]:
    moment = session.starts_at.astimezone(PHNOM_PENH)
    return (moment.month, moment.day, moment.hour, moment.minute)


async def test_this_and_later_sessions_take_the_change_and_keep_their_own_details(
    admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    first, second, _third, fourth = await _monthly()
    admin = await make_staff(Role.ADMIN)
    await fourth.fetch_related("topic", "facilitators")
    own = await events.session_input(
        {**session_values(fourth), "venue_name": "Siem Reap office"},
        default_timezone="Asia/Phnom_Penh",
    )
    await events.update_session(fourth, own, actor=admin, settings=settings)

    form = await admin_client.get(f"/staff/sessions/{second.id}/edit?lang=en")
    assert "This and the later sessions of the series (3 in all)" in form.text
    last = await admin_client.get(f"/staff/sessions/{fourth.id}/edit?lang=en")
    assert "This session belongs to a series" not in last.text

    await second.fetch_related("topic", "facilitators")
    answer = await admin_client.post(
        f"/staff/sessions/{second.id}/edit",
        data={
            **session_values(second),
            "title_en": "Monthly SOGIE, now on Sundays",
            "starts_at": "2027-02-07T10:00",
            "ends_at": "2027-02-07T13:30",
            "scope": "later",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert answer.status_code == 303
    after = await Session.filter(series_id=first.series_id)
    assert [_local(s) for s in after] == [
        (1, 2, 9, 0),  # earlier: untouched
        (2, 7, 10, 0),
        (3, 7, 10, 0),
        (4, 4, 10, 0),
    ]
    assert [s.title_en for s in after] == ["Monthly SOGIE"] + ["Monthly SOGIE, now on Sundays"] * 3
    assert all(s.ends_at - s.starts_at == timedelta(hours=3, minutes=30) for s in after[1:])
    assert [s.venue_name for s in after] == ["CLGBT office"] * 3 + ["Siem Reap office"]


async def test_a_change_one_later_session_cannot_take_changes_none(
    admin_client: httpx.AsyncClient, settings: Settings
) -> None:
    _first, second, third, fourth = await _monthly()
    for _ in range(3):
        await register_person(fourth, settings)
    await second.fetch_related("topic", "facilitators")
    form = await admin_client.get(f"/staff/sessions/{second.id}/edit?lang=en")
    answer = await admin_client.post(
        f"/staff/sessions/{second.id}/edit",
        data={
            **session_values(second),
            "capacity": "2",
            "title_en": "Smaller",
            "scope": "later",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert answer.status_code == 422
    assert "More people are already confirmed than this capacity." in answer.text
    for session in (second, third, fourth):
        stored = await Session.get(id=session.id)
        assert (stored.capacity, stored.title_en) == (30, "Monthly SOGIE")


async def test_the_api_changes_this_and_later_sessions(client: httpx.AsyncClient) -> None:
    headers = await token_for(await make_staff(Role.ADMIN))
    first, second, third = await _monthly(months=3)
    answer = await client.patch(
        f"/api/v1/sessions/{second.id}",
        json={"venue": "Battambang hall", "scope": "later"},
        headers=headers,
    )
    assert answer.status_code == 200 and answer.json()["id"] == second.id
    venues = [s.venue_name for s in await Session.filter(series_id=first.series_id)]
    assert venues == ["CLGBT office", "Battambang hall", "Battambang hall"]
    bad = await client.patch(f"/api/v1/sessions/{third.id}", json={"scope": "all"}, headers=headers)
    assert bad.status_code == 422
