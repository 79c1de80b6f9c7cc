"""The facilitator's start page and the door's session list show today's sessions first
(issue 13): a "Today" section at the top, then upcoming (soonest first), then past (latest
first); "today" is the organisation's day, not the server's or UTC's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from events.models import Session, SessionStatus
from events.services import agenda
from sala.models import Role
from tests.factories import in_days, log_in, make_session, make_staff

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")


def _at(days: int, hour: int, length: int = 2) -> dict[str, str]:
    starts = in_days(days, hour)
    return {
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=length)).strftime("%Y-%m-%dT%H:%M"),
    }


def _order(text: str, *needles: str) -> list[int]:
    positions = [text.find(needle) for needle in needles]
    assert all(p >= 0 for p in positions), dict(zip(needles, positions, strict=True))
    return positions


async def test_the_staff_list_puts_today_first_then_upcoming_then_past(
    client: httpx.AsyncClient,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    mine = (facilitator,)
    # Made in an order unlike the one shown: the soonest upcoming first, today's last.
    await make_session(title_en="In three days", facilitators=mine, **_at(3, 9))
    await make_session(title_en="Next week", facilitators=mine, **_at(8, 9))
    await make_session(title_en="Last month", facilitators=mine, **_at(-30, 9))
    await make_session(title_en="Last week", facilitators=mine, **_at(-7, 9))
    await make_session(title_en="Tonight", facilitators=mine, **_at(0, 21))
    await make_session(title_en="Before dawn", facilitators=mine, **_at(0, 0, length=1))
    await log_in(client, facilitator)

    page = (await client.get("/staff/sessions")).text
    order = _order(
        page, ">Today<", "Before dawn", "Tonight", ">Upcoming<", "In three days", "Next week"
    )
    assert order == sorted(order)
    assert "Last week" not in page and ">Past<" not in page

    everything = (await client.get("/staff/sessions?past=1")).text
    order = _order(
        everything, ">Today<", "Before dawn", "Tonight", ">Upcoming<", "In three days",
        "Next week", ">Past<", "Last week", "Last month",
    )  # fmt: skip
    assert order == sorted(order)


async def test_no_today_heading_when_nothing_is_on_today(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await make_session(title_en="Later", **_at(2, 9))
    await log_in(client, admin)
    page = (await client.get("/staff/sessions")).text
    assert ">Today<" not in page and ">Upcoming<" in page and "Later" in page


async def test_the_door_list_puts_today_first(client: httpx.AsyncClient) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    mine = (facilitator,)
    await make_session(title_en="Tomorrow morning", facilitators=mine, **_at(1, 8))
    await make_session(title_en="This afternoon", facilitators=mine, **_at(0, 14))
    await make_session(
        title_en="Draft today", facilitators=mine, status=SessionStatus.DRAFT, **_at(0, 10)
    )
    await log_in(client, facilitator)
    page = (await client.get("/staff/checkin/")).text
    order = _order(page, ">Today<", "This afternoon", ">Upcoming<", "Tomorrow morning")
    assert order == sorted(order)
    assert "Draft today" not in page  # the door lists published sessions only


def _session(title: str, starts: datetime, hours: int = 2) -> Session:
    return Session(title_en=title, starts_at=starts, ends_at=starts + timedelta(hours=hours))


def test_today_is_the_organisations_day() -> None:
    # 20:00 UTC on 10 March is 03:00 on 11 March in Phnom Penh.
    now = datetime(2027, 3, 10, 20, 0, tzinfo=UTC)
    morning = _session("Morning, 11 March", datetime(2027, 3, 11, 9, 0, tzinfo=PHNOM_PENH))
    evening_before = _session("Evening, 10 March", datetime(2027, 3, 10, 18, 0, tzinfo=PHNOM_PENH))
    overnight = _session("Overnight", datetime(2027, 3, 10, 22, 0, tzinfo=PHNOM_PENH), hours=8)
    next_day = _session("12 March", datetime(2027, 3, 12, 0, 0, tzinfo=PHNOM_PENH))
    sessions = [evening_before, overnight, morning, next_day]

    split = agenda(sessions, zone=PHNOM_PENH, now=now)
    assert [s.title_en for s in split.today] == ["Overnight", "Morning, 11 March"]
    assert [s.title_en for s in split.upcoming] == ["12 March"]
    assert [s.title_en for s in split.past] == ["Evening, 10 March"]

    # The same moment in UTC's day would be 10 March: the zone decides.
    in_utc = agenda(sessions, zone=ZoneInfo("UTC"), now=now)
    assert [s.title_en for s in in_utc.today] == ["Evening, 10 March", "Overnight"]
