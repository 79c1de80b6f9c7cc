"""Calendar files, parsed with the icalendar package as a calendar app would read them."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar

from events.models import SessionStatus
from tests.factories import in_days, make_session

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")


def _events(body: bytes) -> list:  # type: ignore[type-arg]
    calendar = Calendar.from_ical(body)
    return list(calendar.walk("VEVENT"))


async def test_session_ics_has_the_right_times_and_time_zone(client: httpx.AsyncClient) -> None:
    starts = in_days(12, hour=9)
    session = await make_session(
        title_en="Human rights 101",
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=3)).isoformat(),
        venue_name="CLGBT office",
    )
    answer = await client.get(f"/sessions/{session.id}/calendar.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(answer.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Phnom_Penh"]
    (event,) = _events(answer.content)
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND")
    assert start == starts and end == starts + timedelta(hours=3)
    assert start.utcoffset() == timedelta(hours=7)
    assert (start.hour, start.minute) == (9, 0)
    assert str(event["SUMMARY"]) == "Human rights 101"
    assert "CLGBT office" in str(event["LOCATION"])
    assert str(event["URL"]) == f"http://testserver/sessions/{session.id}"
    assert str(event["UID"]) == f"session-{session.id}@testserver"


async def test_feed_lists_every_published_session(client: httpx.AsyncClient) -> None:
    first = await make_session(title_en="One")
    second = await make_session(title_en="Two", topic="human_rights")
    await make_session(title_en="Draft", status=SessionStatus.DRAFT)
    answer = await client.get("/calendar.ics")
    assert answer.status_code == 200
    events = _events(answer.content)
    assert sorted(str(e["SUMMARY"]) for e in events) == ["One", "Two"]
    uids = {str(e["UID"]) for e in events}
    assert uids == {f"session-{first.id}@testserver", f"session-{second.id}@testserver"}
    for event in events:
        assert event.decoded("DTSTART").tzinfo is not None


async def test_khmer_title_survives_line_folding(client: httpx.AsyncClient) -> None:
    title = "វគ្គបណ្តុះបណ្តាលស្តីពីសិទ្ធិមនុស្ស និងការវិភាគបញ្ហា LGBT សម្រាប់និស្សិត"
    session = await make_session(title_km=title)
    answer = await client.get(f"/sessions/{session.id}/calendar.ics?lang=km")
    assert max(len(line) for line in answer.content.split(b"\r\n")) <= 75
    (event,) = _events(answer.content)
    assert str(event["SUMMARY"]) == title
