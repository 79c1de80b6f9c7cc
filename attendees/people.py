"""A person's registrations together, only for whoever holds the person's email.

Knowing an email or a phone opens nothing. A manage link opens its one registration. What
spans registrations — the list of every training a person registered for, the download and
the deletion of all of it — is reached only through a link emailed to the address on file:

- **Joining.** A registration made with an email someone already registered with stands
  alone (a person of its own, with no contact on file). The holder of the email is asked at
  that address whether it was them (``registration_claim_to_registrant``); the link joins it
  to their other registrations. If they already had a seat at that session, one of the two
  seats stays — the one checked in, else the confirmed one, else the older — and the other
  is cancelled (its seat goes to the waitlist) and anonymised; the link opens the one kept.
- **My registrations.** Anyone may ask for the links of an email (``/registrations/lost``);
  the answer is the same whether or not the email is known, and the links go to that email
  only (``registration_links_to_registrant``). Phone-only people get nothing this way.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from functools import cache
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from tortoise.transactions import in_transaction

from attendees.errors import LinkExpired
from attendees.manage import (
    anonymise,
    export_registrations,
    forget_pdfs,
    forget_person,
    forget_registrations,
    seat_still_matters,
)
from attendees.models import Person, Registration, RegistrationStatus
from attendees.registration import cancel_registration
from certificates.models import Certificate
from sala import db, links, mail
from sala.config import Settings
from sala.forms import normalise_email

CLAIM_LINK_DAYS = 30
PERSON_LINK_HOURS = 24
LINKS_MAIL = "registration_links_to_registrant"


@cache
def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def _claims(settings: Settings) -> URLSafeTimedSerializer:
    return _serializer(settings.secret_key, "sala.registration.claim")


def _people(settings: Settings) -> URLSafeTimedSerializer:
    return _serializer(settings.secret_key, "sala.person")


# ----------------------------------------------------------------------------- joining


def claim_url(registration: Registration, person_id: int, settings: Settings) -> str:
    token = _claims(settings).dumps([registration.id, registration.manage_key, person_id])
    return links.absolute_url(settings, "registration_join", token=token)


async def claim_for_token(token: str, settings: Settings) -> tuple[Registration, Person]:
    """The registration and the person of a joining link; ``LinkExpired`` otherwise (also
    once used: the registration then belongs to the person already)."""
    if len(token) > 300:
        raise LinkExpired()
    try:
        registration_id, key, person_id = _claims(settings).loads(
            token, max_age=CLAIM_LINK_DAYS * 24 * 3600
        )
    except (BadSignature, ValueError, TypeError) as exc:
        raise LinkExpired() from exc
    if not all(isinstance(value, int) for value in (registration_id, person_id)) or not (
        isinstance(key, str) and key
    ):
        raise LinkExpired()
    registration = await Registration.get_or_none(
        id=registration_id, manage_key=key, anonymised_at=None
    ).select_related("person", "session")
    person = await Person.get_or_none(id=person_id)
    if (
        registration is None
        or person is None
        or registration.person is None
        or registration.person.id == person.id
        or registration.person.email is not None  # it already holds a contact of its own
        or person.email != registration.email
    ):
        raise LinkExpired()
    return registration, person


async def join(registration: Registration, person: Person, settings: Settings) -> Registration:
    """Join a registration that stood alone to the person who proved they hold its email.

    Returns the registration to show. One transaction that holds the session's lock (then
    the person's), so joins posted at once — the same link twice, or two links for one
    session — are decided one after the other, each on what the one before left. When the
    person already has another row at that session, one of the two stays with them:

    - their other row is cancelled: it was history only; it is anonymised, this one joins;
    - both hold a seat (confirmed or waiting): the one checked in, else the confirmed one,
      else the older stays; the other is cancelled (its seat goes to the waitlist) and
      anonymised — this one together with its person of its own, if it is the one to go;
    - this one is cancelled: it is a duplicate, and goes.
    """
    session_id: int = registration.session_id  # type: ignore[attr-defined]
    certificates: list[Certificate] = []
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session_id)
        holder = await db.lock_row(connection, "person", person.id, ("id", "email"))
        current = await Registration.get_or_none(
            id=registration.id, manage_key=registration.manage_key, anonymised_at=None
        ).select_related("person")
        if holder is None or holder["email"] is None:
            raise LinkExpired()
        if current is None or current.person is None or current.person.id == person.id:
            # Decided meanwhile, by the same link posted twice: what that join showed.
            shown = await _row_at(session_id, person.id)
            if shown is None or holder["email"] != registration.email:
                raise LinkExpired()
            return shown
        alone = current.person
        if alone.email is not None or holder["email"] != current.email:
            raise LinkExpired()
        other = await (
            Registration.filter(session_id=session_id, person_id=person.id)
            .exclude(id=current.id)
            .first()
        )
        keep, drop = _kept_and_dropped(current, other)
        if drop is not None and drop.status != RegistrationStatus.CANCELLED:
            await cancel_registration(drop.id, settings=settings, actor=None)
        if drop is current:
            certificates = await forget_registrations(
                [current.id], certificates_too=True, reason=_DUPLICATE
            )
            certificates += await forget_person(alone, certificates_too=True, reason=_DUPLICATE)
        else:
            if drop is not None:
                certificates = await forget_registrations(
                    [drop.id],
                    certificates_too=drop.status != RegistrationStatus.CANCELLED,
                    reason="replaced by the registration joined to it",
                )
            await Registration.filter(id=current.id).update(person_id=person.id)
            await Certificate.filter(person_id=alone.id).update(person_id=person.id)
            await Person.filter(id=alone.id).delete()
            current.person = person
    forget_pdfs(certificates, settings)
    return keep


_DUPLICATE = "a duplicate, joined to the holder's earlier registration"


def _kept_and_dropped(
    current: Registration, other: Registration | None
) -> tuple[Registration, Registration | None]:
    """Which of two rows of one person at one session stays (see ``join``)."""
    if other is None or other.status == RegistrationStatus.CANCELLED:
        return current, other
    if current.status == RegistrationStatus.CANCELLED:
        return other, current

    def rank(item: Registration) -> tuple[bool, bool, datetime, int]:
        return (
            item.checked_in_at is None,
            item.status != RegistrationStatus.CONFIRMED,
            item.created_at,
            item.id,
        )

    keep, drop = sorted((current, other), key=rank)
    return keep, drop


async def _row_at(session_id: int, person_id: int) -> Registration | None:
    """The person's registration at a session (one at most, once joins are decided)."""
    return (
        await Registration.filter(session_id=session_id, person_id=person_id, anonymised_at=None)
        .order_by("id")
        .first()
    )


# ----------------------------------------------------------------------------- my registrations


def _address_digest(email: str, settings: Settings) -> str:
    """Stands for the address in the link: the link must die with the address, yet the
    address itself must not be in a URL (a signed token is readable, not encrypted)."""
    key = f"sala.people.address:{settings.secret_key}".encode()
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:32]


def person_url(person: Person, settings: Settings) -> str:
    token = _people(settings).dumps([person.id, _address_digest(person.email or "", settings)])
    return links.absolute_url(settings, "person", token=token)


async def person_for_token(token: str, settings: Settings) -> Person:
    if len(token) > 400:
        raise LinkExpired()
    try:
        person_id, digest = _people(settings).loads(token, max_age=PERSON_LINK_HOURS * 3600)
    except (BadSignature, ValueError, TypeError) as exc:
        raise LinkExpired() from exc
    if not isinstance(person_id, int) or not isinstance(digest, str):
        raise LinkExpired()
    person = await Person.get_or_none(id=person_id)
    if person is None or not person.email:
        raise LinkExpired()
    if not hmac.compare_digest(digest, _address_digest(person.email, settings)):
        raise LinkExpired()
    return person


async def send_my_links(raw_email: str, *, language: str, settings: Settings) -> None:
    """Email the holder of this address a link to all their registrations; nothing else
    happens, and nothing is told, when nobody holds it."""
    try:
        email = normalise_email(raw_email)
    except ValueError:
        return
    person = await Person.get_or_none(email=email) if email else None
    if person is None or person.email is None:
        return
    await mail.enqueue(
        LINKS_MAIL,
        to=person.email,
        language=language,
        params={"person_id": person.id},
        domain=settings.domain,
    )


async def registrations_of(person: Person) -> list[Registration]:
    return (
        await Registration.filter(person_id=person.id, anonymised_at=None)
        .select_related("session", "session__topic")
        .order_by("-session__starts_at")
    )


async def export_person(person: Person) -> dict[str, Any]:
    """Everything Sala holds about the holder of this email, as they would read it."""
    return {
        "person": {
            "chosen_name": person.chosen_name,
            "pronouns": person.pronouns,
            "email": person.email,
            "phone": person.phone,
            "language": person.language,
            "created_at": person.created_at.isoformat(),
        },
        "registrations": await export_registrations(await registrations_of(person)),
        "exported_at": datetime.now(UTC).isoformat(),
    }


async def delete_person(person: Person, settings: Settings) -> int:
    """Cancel and anonymise every registration of the person, and delete them."""
    registrations = await Registration.filter(person_id=person.id)
    for item in registrations:
        if await seat_still_matters(item):
            await cancel_registration(item.id, settings=settings, actor=None)
    await anonymise(
        [item.id for item in registrations],
        person,
        settings,
        certificates_too=True,
        reason="deleted by the holder",
    )
    return len(registrations)
