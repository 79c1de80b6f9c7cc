"""Building test data through the services, the way the app itself does."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from attendees.forms import parse_registration
from attendees.models import Registration, RegistrationSource
from attendees.registration import register
from events import services as events
from events.models import Session, SessionStatus
from sala import accounts
from sala.config import Settings
from sala.models import Role, StaffUser

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")
PASSWORD = "a long enough password"


async def make_staff(
    role: Role = Role.ADMIN, *, email: str | None = None, name: str = "Dara"
) -> StaffUser:
    count = await StaffUser.all().count()
    return await accounts.create_staff(
        email=email or f"{role.value}{count}@example.org",
        name=name,
        role=role,
        password=PASSWORD,
        actor=None,
    )


async def token_for(user: StaffUser) -> dict[str, str]:
    token = await accounts.create_api_token(user, label="tests")
    return {"authorization": f"Bearer {token}"}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def log_in(client: httpx.AsyncClient, user: StaffUser, password: str = PASSWORD) -> None:
    page = await client.get("/staff/login")
    answer = await client.post(
        "/staff/login",
        data={"email": user.email, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert answer.status_code == 303, answer.text


async def post_form(
    client: httpx.AsyncClient, page_url: str, data: dict[str, Any], action: str | None = None
) -> httpx.Response:
    """Open the page like a browser, then submit its form with the page's CSRF token."""
    page = await client.get(page_url)
    assert page.status_code == 200, page.text
    return await client.post(action or page_url, data={**data, "csrf_token": csrf_from(page.text)})


def in_days(days: int, hour: int = 9) -> datetime:
    today = datetime.now(PHNOM_PENH).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days, hours=hour)


def session_fields(**overrides: Any) -> dict[str, Any]:
    starts = in_days(7)
    fields: dict[str, Any] = {
        "topic": "sogie",
        "title_en": "SOGIE basics",
        "title_km": "មូលដ្ឋានគ្រឹះ SOGIE",
        "description_en": "An introduction.",
        "description_km": "សេចក្តីផ្តើម។",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "venue_name": "CLGBT office",
        "venue_address": "Phnom Penh",
        "capacity": "30",
        "audience": "public",
    }
    fields.update(overrides)
    return fields


async def make_session(
    *,
    actor: StaffUser | None = None,
    status: SessionStatus = SessionStatus.PUBLISHED,
    facilitators: tuple[StaffUser, ...] = (),
    **overrides: Any,
) -> Session:
    fields = session_fields(**overrides)
    fields["facilitator_ids"] = [f.id for f in facilitators]
    data = await events.session_input(fields, default_timezone="Asia/Phnom_Penh")
    return await events.create_session(data, actor=actor, status=status)


def person_fields(**overrides: Any) -> dict[str, Any]:
    count = next(_people)
    fields: dict[str, Any] = {
        "chosen_name": f"Sreyneang {count}",
        "email": f"person{count}@example.org",
        "sector": "student",
        "language": "en",
        "consent": True,
    }
    fields.update(overrides)
    return fields


_people = itertools.count(1)


async def register_person(session: Session, settings: Settings, **overrides: Any):  # type: ignore[no-untyped-def]
    """Register through the service, as the form and the API do."""
    data = parse_registration(person_fields(**overrides), default_language="en")
    return await register(session.id, data, source=RegistrationSource.FORM, settings=settings)


async def check_in(client: httpx.AsyncClient, headers: dict[str, str], outcome: Any) -> None:
    """Check a registration (a ``register_person`` outcome) in by name, as the door does."""
    registration = outcome.registration
    answer = await client.post(
        "/api/v1/checkins",
        json={
            "registration_id": registration.id,
            "session_id": registration.session_id,
            "scan_id": f"test-scan-{registration.id}",
        },
        headers=headers,
    )
    assert answer.status_code == 200 and answer.json()["result"] == "checked_in", answer.text


async def move_session(session: Session, when: datetime) -> None:
    """Move a session (made in the future, where people can register) to ``when``, with its
    check-ins an hour after the start. Stored in UTC, as the services store times: an ORM
    update stores an aware time as given, and SQLite compares times as text."""
    start = when.astimezone(UTC)
    await Session.filter(id=session.id).update(starts_at=start, ends_at=start + timedelta(hours=3))
    await Registration.filter(session_id=session.id, checked_in_at__isnull=False).update(
        checked_in_at=start + timedelta(hours=1)
    )
