"""The reach report on a hand-made history: every cell of every breakdown, on both databases.

The history (January–February 2025, moved into the past after it was made):

- January, SOGIE, 3 seats: Dara (student, Kandal) and Sophea (NGO) come; Vanna (NGO) does
  not; Bopha (government) stays on the waitlist.
- February, human rights, run by the facilitator: Dara again (a new registration with the
  same email: the same person), Kosal (private company, by phone only) comes; Thida
  (student) cancels.
- A draft session and a cancelled one, with people who came: never counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from attendees.models import Person
from attendees.people import delete_person
from attendees.registration import cancel_registration
from events.models import Session, SessionStatus
from sala.config import Settings
from sala.models import Role, StaffUser
from tests.factories import (
    check_in,
    log_in,
    make_session,
    make_staff,
    move_session,
    register_person,
    token_for,
)

ZONE = ZoneInfo("Asia/Phnom_Penh")


class History:
    def __init__(self, admin: StaffUser, facilitator: StaffUser) -> None:
        self.admin = admin
        self.facilitator = facilitator


@pytest.fixture
async def history(client: httpx.AsyncClient, settings: Settings) -> History:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    headers = await token_for(admin)
    january = await make_session(topic="sogie", capacity="3")
    february = await make_session(topic="human_rights", capacity="10", facilitators=(facilitator,))
    draft = await make_session(topic="sogie")
    cancelled = await make_session(topic="sogie")

    dara = await register_person(january, settings, email="dara@example.org", province="kandal")
    sophea = await register_person(january, settings, email="sophea@example.org", sector="ngo")
    await register_person(january, settings, email="vanna@example.org", sector="ngo")
    bopha = await register_person(january, settings, email="bopha@example.org", sector="government")
    assert bopha.registration.status == "waitlisted"
    await check_in(client, headers, dara)
    await check_in(client, headers, sophea)

    dara_again = await register_person(february, settings, email="dara@example.org")
    kosal = await register_person(
        february, settings, email="", phone="012 345 678", sector="private"
    )
    thida = await register_person(february, settings, email="thida@example.org")
    await cancel_registration(thida.registration.id, settings=settings, actor=None)
    await check_in(client, headers, dara_again)
    await check_in(client, headers, kosal)

    for ignored in (draft, cancelled):
        came = await register_person(ignored, settings)
        await check_in(client, headers, came)
    await Session.filter(id=draft.id).update(status=SessionStatus.DRAFT)
    await Session.filter(id=cancelled.id).update(status=SessionStatus.CANCELLED)

    await move_session(january, datetime(2025, 1, 15, 9, tzinfo=ZONE))
    await move_session(february, datetime(2025, 2, 10, 9, tzinfo=ZONE))
    await move_session(draft, datetime(2025, 1, 20, 9, tzinfo=ZONE))
    await move_session(cancelled, datetime(2025, 2, 20, 9, tzinfo=ZONE))
    return History(admin, facilitator)


async def _reach(client: httpx.AsyncClient, user: StaffUser, **params: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/reports/reach", params=params, headers=await token_for(user))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _cells(report: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    return {
        row["key"]: (row["registrations"], row["attendances"], row["people"])
        for row in report["rows"]
    }


def _total(report: dict[str, Any]) -> tuple[int, int, int]:
    total = report["total"]
    return (total["registrations"], total["attendances"], total["people"])


PERIOD = {"from": "2025-01", "to": "2025-03"}


async def test_by_sector_every_cell(client: httpx.AsyncClient, history: History) -> None:
    report = await _reach(client, history.admin, by="sector", **PERIOD)
    assert (report["from"], report["to"], report["by"]) == ("2025-01", "2025-03", "sector")
    assert _total(report) == (6, 4, 3)
    assert _cells(report) == {
        "student": (2, 2, 1),  # Dara twice (Thida cancelled)
        "ngo": (2, 1, 1),  # Sophea came, Vanna did not
        "government": (1, 0, 0),  # Bopha waited
        "private": (1, 1, 1),  # Kosal
    }
    assert [row["label"] for row in report["rows"]] == [
        "Student", "NGO", "Government", "Private company"
    ]  # fmt: skip


async def test_by_month_topic_and_returning(client: httpx.AsyncClient, history: History) -> None:
    by_month = await _reach(client, history.admin, by="month", **PERIOD)
    assert _cells(by_month) == {"2025-01": (4, 2, 2), "2025-02": (2, 2, 2)}
    assert [row["label"] for row in by_month["rows"]] == ["January 2025", "February 2025"]
    by_topic = await _reach(client, history.admin, by="topic", **PERIOD)
    assert _cells(by_topic) == {"sogie": (4, 2, 2), "human_rights": (2, 2, 2)}
    returning = await _reach(client, history.admin, by="returning", **PERIOD)
    # Dara came in January, so her February visit is a return; the rows' people (3 + 1)
    # do not add up to the total (3): she is in both.
    assert _cells(returning) == {"first_time": (5, 3, 3), "returning": (1, 1, 1)}
    assert _total(returning) == (6, 4, 3)
    assert returning["people_add_up"] is False


async def test_optional_fields_not_given_is_a_row_of_its_own(
    client: httpx.AsyncClient, history: History, settings: Settings
) -> None:
    report = await _reach(client, history.admin, by="province", **PERIOD)
    # Dara gave Kandal once (1 registration): fewer than 5 people, hidden — and so is the
    # only other row, or the total would give it away.
    assert [(row["key"], row.get("suppressed", False)) for row in report["rows"]] == [
        ("kandal", True),
        ("", True),
    ]
    assert all(row["registrations"] is None for row in report["rows"])
    assert report["rows"][-1]["label"] == "Not given"
    assert _total(report) == (6, 4, 3)


async def test_filters_and_periods(client: httpx.AsyncClient, history: History) -> None:
    assert _total(await _reach(client, history.admin, by="sector", topic="sogie", **PERIOD)) == (
        4, 2, 2
    )  # fmt: skip
    one_month = {"from": "2025-01", "to": "2025-01"}
    january = await _reach(client, history.admin, by="sector", **one_month)
    assert _total(january) == (4, 2, 2)
    everything = await _reach(client, history.admin, by="sector")
    assert _total(everything) == (6, 4, 3)
    assert (everything["from"], everything["to"]) == (None, None)
    year_before = {"from": "2024-01", "to": "2024-12"}
    nothing = await _reach(client, history.admin, by="sector", **year_before)
    assert _total(nothing) == (0, 0, 0) and nothing["rows"] == []
    mine = await _reach(
        client, history.admin, by="sector", facilitator=str(history.facilitator.id), **PERIOD
    )
    assert _total(mine) == (2, 2, 2)


async def test_a_facilitator_sees_only_their_sessions_and_team_leaders_nothing(
    client: httpx.AsyncClient, history: History
) -> None:
    report = await _reach(client, history.facilitator, by="sector", **PERIOD)
    assert _total(report) == (2, 2, 2)
    assert _cells(report) == {"student": (1, 1, 1), "private": (1, 1, 1)}
    leader = await make_staff(Role.TEAM_LEADER)
    refused = await client.get(
        "/api/v1/reports/reach", params={"by": "sector"}, headers=await token_for(leader)
    )
    assert refused.status_code == 403
    anonymous = await client.get("/api/v1/reports/reach", params={"by": "sector"})
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "shoe_size"}, "by"),
        ({"by": "sector", "from": "2025-13"}, "from"),
        ({"by": "sector", "from": "January"}, "from"),
        ({"by": "sector", "from": "2025-05", "to": "2025-01"}, "to"),
        ({"by": "sector", "topic": "no such topic!"}, "topic"),
        ({"by": "sector", "series": "99999999999999999999"}, "series"),
        ({"by": "sector", "audience": "everyone"}, "audience"),
    ],
)
async def test_bad_parameters_are_422_with_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    admin = await make_staff(Role.ADMIN)
    answer = await client.get(
        "/api/v1/reports/reach", params=params, headers=await token_for(admin)
    )
    assert answer.status_code == 422
    assert field in answer.json()["error"]["fields"]


async def test_deleting_ones_data_keeps_the_past_figures(
    client: httpx.AsyncClient, history: History, settings: Settings
) -> None:
    """Sophea deletes her data: her past registration stays as an anonymous count, not
    cancelled (only a seat at a session still to come is given up)."""
    before = {
        by: await _reach(client, history.admin, by=by, **PERIOD)
        for by in ("sector", "month", "topic", "returning")
    }
    holder = await Person.get(email="sophea@example.org")
    await delete_person(holder, settings)
    for by, report in before.items():
        assert await _reach(client, history.admin, by=by, **PERIOD) == report, by


async def test_an_organisation_typed_as_html_is_text_on_the_page_and_in_the_chart(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session(topic="sogie")
    for _ in range(5):
        await register_person(session, settings, organisation='<script>alert("x")</script>')
    await log_in(client, admin)
    month = session.starts_at.astimezone(ZONE).strftime("%Y-%m")
    page = await client.get(
        "/staff/reports", params={"by": "organisation", "from": month, "to": month, "lang": "en"}
    )
    assert page.status_code == 200
    assert '<script>alert("x")' not in page.text
    assert "&lt;script&gt;" in page.text
