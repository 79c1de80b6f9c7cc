"""iCalendar (RFC 5545) files: one session, or the feed of every published session."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from events.models import Session, SessionStatus

PRODUCT_ID = "-//CLGBT//Sala//EN"


def _event(session: Session, *, base_url: str, domain: str) -> Event:
    zone = ZoneInfo(session.timezone)
    event = Event()
    event.add("uid", f"session-{session.id}@{domain}")
    event.add("dtstamp", session.updated_at.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    event.add("summary", session.title)
    location = ", ".join(p for p in (session.venue_name, session.venue_address) if p)
    if location or session.online_url:
        event.add("location", location or session.online_url)
    url = f"{base_url}/sessions/{session.id}"
    event.add("url", url)
    event.add("description", f"{session.description}\n\n{url}".strip())
    if session.status == SessionStatus.CANCELLED:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    return event


def calendar_bytes(sessions: Iterable[Session], *, base_url: str, name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    domain = urlsplit(base_url).hostname or "sala"
    for session in sessions:
        calendar.add_component(_event(session, base_url=base_url, domain=domain))
    calendar.add_missing_timezones()
    return calendar.to_ical()
