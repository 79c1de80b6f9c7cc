"""Rate limits on registering, generous per address: Cambodian carriers put many phones
behind one IP, and a whole class may register from one school network."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from attendees.forms import normalise_phone
from sala.ratelimit import RateLimiter, client_ip

PER_IP = (200, 600.0)  # registrations per 10 minutes from one address
PER_CONTACT = (10, 600.0)  # tries per 10 minutes for one email or phone


def registration_limiters(*, enabled: bool) -> tuple[RateLimiter, RateLimiter]:
    return (
        RateLimiter(limit=PER_IP[0], window_seconds=PER_IP[1], enabled=enabled),
        RateLimiter(limit=PER_CONTACT[0], window_seconds=PER_CONTACT[1], enabled=enabled),
    )


def _contact_key(name: str, raw: object) -> str:
    """One key per contact however it is typed: "012 345 678" and "+85512345678" are one
    phone, so spacing a number differently gives no fresh tries."""
    text = str(raw).strip().lower()[:254]
    if name == "phone":
        with contextlib.suppress(ValueError):
            text = normalise_phone(text) or text
    return f"{name}:{text}"


def registration_allowed(request: Request, values: Mapping[str, Any]) -> bool:
    by_ip, by_contact = request.app.state.registration_limiters
    contacts = [_contact_key(name, values[name]) for name in ("email", "phone") if values.get(name)]
    ip_ok = by_ip.hit(client_ip(request))
    contact_ok = by_contact.hit(*contacts) if contacts else True
    return ip_ok and contact_ok
