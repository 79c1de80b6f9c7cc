"""The personal manage link and what a person can do with it: see, rename, cancel,
download and delete their data."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from attendees.errors import RegistrationNotFound
from attendees.models import Invitation, Person, Registration, RegistrationStatus
from attendees.registration import cancel_registration
from certificates.models import Certificate, CertificateStatus
from certificates.services import forget_pdf
from checkin.models import CheckinScan
from sala.config import Settings
from sala.errors import ValidationFailed
from sala.forms import FieldReader
from sala.models import OutboxMessage, OutboxStatus

MANAGE_LINK_DAYS = 400
_SALT = "sala.registration.manage"


@cache
def _serializer_for(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return _serializer_for(settings.secret_key)


def manage_token(registration: Registration, settings: Settings) -> str:
    return str(_serializer(settings).dumps([registration.id, registration.manage_key]))


def manage_url(registration: Registration, settings: Settings) -> str:
    return f"{settings.base_url}/registrations/{manage_token(registration, settings)}"


async def registration_for_token(token: str, settings: Settings) -> Registration:
    """The registration behind a manage link; 404 for a forged, expired or revoked one."""
    if len(token) > 200:
        raise RegistrationNotFound()
    try:
        registration_id, key = _serializer(settings).loads(
            token, max_age=MANAGE_LINK_DAYS * 24 * 3600
        )
    except (BadSignature, ValueError, TypeError) as exc:
        raise RegistrationNotFound() from exc
    if not isinstance(registration_id, int) or not isinstance(key, str):
        raise RegistrationNotFound()
    registration = (
        await Registration.filter(id=registration_id, manage_key=key, anonymised_at=None)
        .select_related("session", "session__topic", "person")
        .first()
    )
    if registration is None:
        raise RegistrationNotFound()
    return registration


async def rename(registration: Registration, chosen_name: str, settings: Settings) -> Registration:
    """Correct the chosen name; a valid certificate carries the new name from now on.

    The person's name (what a team's page shows) follows only when this is the person's one
    registration: a manage link speaks for its registration, not for the email's holder.
    """
    reader = FieldReader({"chosen_name": chosen_name})
    name = reader.text("chosen_name", max_length=120, required=True)
    if reader.errors:
        raise ValidationFailed(reader.errors)
    async with in_transaction():
        registration.chosen_name = name
        await registration.save(update_fields=["chosen_name", "updated_at"])
        person = registration.person
        if (
            person is not None
            and not await Registration.filter(person_id=person.id)
            .exclude(id=registration.id)
            .exists()
        ):
            person.chosen_name = name
            await person.save(update_fields=["chosen_name", "updated_at"])
        await Certificate.filter(valid_for_registration=registration.id).update(holder_name=name)
    for certificate in await Certificate.filter(registration_id=registration.id):
        forget_pdf(certificate, settings)
    return registration


async def cancel_own(registration: Registration, settings: Settings) -> Registration:
    outcome = await cancel_registration(registration.id, settings=settings, actor=None)
    return outcome.registration


def export_registration(registration: Registration) -> dict[str, Any]:
    """One registration as its holder would read it (the session must be loaded)."""
    session = registration.session
    return {
        "session_id": session.id,
        "session_title_en": session.title_en,
        "session_title_km": session.title_km,
        "starts_at": session.starts_at.isoformat(),
        "chosen_name": registration.chosen_name,
        "pronouns": registration.pronouns,
        "email": registration.email or None,
        "phone": registration.phone or None,
        "sector": registration.sector.value,
        "organisation": registration.organisation,
        "language": registration.language,
        "accessibility_needs": registration.accessibility_needs,
        "status": registration.status.value,
        "registered_at": registration.created_at.isoformat(),
        "consent_at": registration.consent_at.isoformat() if registration.consent_at else None,
    }


async def export_data(registration: Registration) -> dict[str, Any]:
    """What Sala holds about this one registration. A manage link opens nothing else: all
    of a person's registrations are only ever sent to their email (``attendees.people``)."""
    return {"registrations": [export_registration(registration)]}


async def delete_personal_data(registration: Registration, settings: Settings) -> int:
    """Remove every personal field of this registration (cancelled first, its seat going
    to the waitlist); the row stays with sector and status, so counts remain true. Its
    person goes too when nothing else of theirs is left."""
    if registration.status != RegistrationStatus.CANCELLED:
        await cancel_registration(registration.id, settings=settings, actor=None)
    person = registration.person
    if (
        person is not None
        and await Registration.filter(person_id=person.id, anonymised_at=None)
        .exclude(id=registration.id)
        .exists()
    ):
        person = None
    await anonymise(
        [registration.id],
        person,
        settings,
        certificates_too=True,
        reason="deleted by the holder",
    )
    return 1


async def anonymise(
    registration_ids: list[int],
    person: Person | None,
    settings: Settings,
    *,
    certificates_too: bool,
    reason: str,
) -> None:
    """Blank every personal field of these registrations and delete the person; the rows
    stay with sector and status, so the organisation's counts remain true.

    With ``certificates_too`` their certificates are revoked and lose the name (the holder
    asked); the retention purge keeps them, as the register of what was awarded.
    """
    ids = registration_ids
    certificates: list[Certificate] = []
    async with in_transaction():
        registrations = await Registration.filter(id__in=ids).only("id", "email", "invitation_id")
        emails = {r.email for r in registrations if r.email}
        invitation_ids = [r.invitation_id for r in registrations if r.invitation_id]  # type: ignore[attr-defined]
        await Registration.filter(id__in=ids).update(
            person_id=None,
            chosen_name="",
            pronouns="",
            email="",
            phone="",
            organisation="",
            accessibility_needs="",
            manage_key="",
            anonymised_at=datetime.now(UTC),
        )
        # The door's log keeps what happened, not who: the stored answers named the person.
        await CheckinScan.filter(registration_id__in=ids).update(answer="")
        if person is not None and person.email:
            emails.add(person.email)
        await Invitation.filter(id__in=invitation_ids).exclude(email="").update(email="")
        if person is not None and person.email:
            await Invitation.filter(email=person.email).update(email="")
        if certificates_too:
            theirs = Q(registration_id__in=ids)
            if person is not None:
                theirs |= Q(person_id=person.id)
            certificates = await Certificate.filter(theirs)
            await Certificate.filter(id__in=[c.id for c in certificates]).update(
                holder_name="",
                status=CertificateStatus.REVOKED,
                valid_for_registration=None,
                valid_for_curriculum=None,
                revoked_at=datetime.now(UTC),
                revoked_reason=reason,
            )
        certificate_ids = {c.id for c in certificates}
        for message in await OutboxMessage.filter(status=OutboxStatus.PENDING):
            if (
                message.params.get("registration_id") in ids
                or message.params.get("certificate_id") in certificate_ids
            ):
                await message.delete()
        # Sent mail forgets its address: all of it for a person who goes, else only this
        # registration's (the address may be someone else's, who keeps theirs).
        sent = OutboxMessage.filter(to_address__in=emails).exclude(status=OutboxStatus.PENDING)
        for message in await sent:
            if message.params.get("registration_id") in ids or (
                person is not None and person.email and message.to_address == person.email
            ):
                await OutboxMessage.filter(id=message.id).update(to_address="")
        if person is not None:
            await Person.filter(id=person.id).delete()
    for certificate in certificates:
        forget_pdf(certificate, settings)
