"""iCalendar (RFC 5545) files: one session, or the feed of every published session.

Every file names a session by the same UID and carries its ``SEQUENCE`` and ``LAST-MODIFIED``,
so a calendar that holds it already updates the event when the time or place changes.

Public files (the feed, a session page's file) never carry the online meeting link: with it
anyone could join and see who attends. A confirmed registrant's file (attached to their
confirmation, or from their manage page) does: :func:`registrant_calendar_bytes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from events.models import Session, SessionStatus
from sala.i18n import gettext

PRODUCT_ID = "-//CLGBT//Sala//EN"
ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"


def _event(session: Session, *, base_url: str, domain: str, online_link: bool) -> Event:
    zone = ZoneInfo(session.timezone)
    event = Event()
    event.add("uid", f"session-{session.id}@{domain}")
    event.add("dtstamp", session.updated_at.astimezone(UTC))
    event.add("sequence", session.sequence)
    event.add("last-modified", session.updated_at.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    event.add("summary", session.title)
    location = ", ".join(p for p in (session.venue_name, session.venue_address) if p)
    if not location and session.online_url:
        location = session.online_url if online_link else gettext("Online")
    if location:
        event.add("location", location)
    url = f"{base_url}{session.public_path}"
    event.add("url", url)
    lines = [session.description, url]
    if online_link and session.online_url:
        lines.append(f"{gettext('Online')}: {session.online_url}")
    event.add("description", "\n\n".join(line for line in lines if line).strip())
    if session.status == SessionStatus.CANCELLED:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    return event


def _calendar(sessions: Iterable[Session], *, base_url: str, name: str, online_link: bool) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    domain = urlsplit(base_url).hostname or "sala"
    for session in sessions:
        event = _event(session, base_url=base_url, domain=domain, online_link=online_link)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def calendar_bytes(sessions: Iterable[Session], *, base_url: str, name: str) -> bytes:
    """A public calendar file: anyone may have it, so no online link."""
    return _calendar(sessions, base_url=base_url, name=name, online_link=False)


def registrant_calendar_bytes(session: Session, *, base_url: str) -> bytes:
    """The calendar file of a confirmed registrant: with the online link, if there is one."""
    return _calendar([session], base_url=base_url, name=session.title, online_link=True)
