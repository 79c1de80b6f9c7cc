"""The personal manage link and what a person can do with it: see, rename, cancel,
download and delete their data."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from tortoise.fields.relational import BackwardFKRelation
from tortoise.transactions import in_transaction

from attendees.errors import RegistrationNotFound
from attendees.forms import read_reach_answers
from attendees.models import Invitation, Person, Registration, RegistrationStatus
from attendees.registration import cancel_registration, notify_own_cancellation
from certificates.models import Certificate
from certificates.services import forget_pdf, revoke_certificates
from checkin.models import CheckinScan
from events.models import Session
from learning.bank import pre_test_open, pre_test_open_anywhere
from learning.models import Attempt, AttemptAnswer, Choice, Phase, SessionEvaluation, TestQuestion
from sala import db, links
from sala.config import Settings
from sala.errors import ValidationFailed
from sala.forms import FieldReader
from sala.i18n import N_, gettext
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
    return links.absolute_url(settings, "registration", token=manage_token(registration, settings))


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


async def answer_for_reports(registration: Registration, raw: Mapping[str, Any]) -> Registration:
    """Change or clear the optional answers for the reports (province, age band, gender
    identity), for this registration only, as ``rename`` does for the name."""
    reader = FieldReader(raw)
    answers = read_reach_answers(reader)
    if reader.errors:
        raise ValidationFailed(reader.errors)
    # Only while the link is live: a deletion that ran meanwhile must not get the words back.
    await Registration.filter(
        id=registration.id, manage_key=registration.manage_key, anonymised_at=None
    ).update(**answers, updated_at=datetime.now(UTC))
    registration.update_from_dict(dict(answers))
    return registration


async def cancel_own(registration: Registration, settings: Settings) -> Registration:
    """The person cancels their seat or leaves the waiting list, and is told so by email."""
    session_id: int = registration.session_id  # type: ignore[attr-defined]
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session_id)
        current = await Registration.get(id=registration.id)
        if current.status == RegistrationStatus.CANCELLED:  # the form posted twice
            return current
        was = current.status
        outcome = await cancel_registration(current.id, settings=settings, actor=None)
        await notify_own_cancellation(outcome.registration, was=was, settings=settings)
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
        "province": registration.province or None,
        "age_band": registration.age_band or None,
        "gender_identity": registration.gender_identity or None,
        "gender_identity_text": registration.gender_identity_text or None,
        "status": registration.status.value,
        "registered_at": registration.created_at.isoformat(),
        "consent_at": registration.consent_at.isoformat() if registration.consent_at else None,
        "feedback": gettext(FEEDBACK_NOTE),
    }


FEEDBACK_NOTE = N_(
    "Feedback is anonymous: Sala keeps no link between your feedback and you, so it cannot "
    "be part of your data."
)


async def export_tests(registration: Registration, now: datetime) -> list[dict[str, Any]]:
    """The registration's test attempts, each question with the choices chosen.

    Whether an answer was right stays ``null`` while it could give a pre-test away — the
    rule of the review after the post-test (``learning.attempts``): once this registration
    took its post-test, or its session has none, and no pre-test holding one of those
    questions is open at any session."""
    attempts = (
        await Attempt.filter(registration_id=registration.id)
        .select_related("test", "session")
        .order_by("submitted_at", "id")
    )
    if not attempts:
        return []
    answers = (
        await AttemptAnswer.filter(attempt_id__in=[a.id for a in attempts])
        .select_related("question")
        .order_by("id")
    )
    question_ids = {answer.question_id for answer in answers}
    choices = {c.id: c for c in await Choice.filter(question_id__in=sorted(question_ids))}
    session: Session = attempts[0].session
    has_post = any(a.phase == Phase.POST for a in attempts) or not await _has_post_test(session)
    shown = (
        has_post
        and not pre_test_open(session, now)
        and not await pre_test_open_anywhere(question_ids, now)
    )
    exported = []
    for attempt in attempts:
        questions = []
        for answer in (a for a in answers if a.attempt_id == attempt.id):
            chosen = [int(part) for part in answer.chosen.split(",") if part]
            questions.append(
                {
                    "question_en": answer.question.text_en,
                    "question_km": answer.question.text_km,
                    "chosen": [
                        {"text_en": choices[i].text_en, "text_km": choices[i].text_km}
                        for i in chosen
                        if i in choices
                    ],
                    "right": answer.correct if shown else None,
                }
            )
        exported.append(
            {
                "phase": attempt.phase.value,
                "test_name_en": attempt.test.name_en,
                "test_name_km": attempt.test.name_km,
                "score": attempt.score,
                "max_score": attempt.max_score,
                "submitted_at": attempt.submitted_at.isoformat(),
                "questions": questions,
            }
        )
    return exported


async def _has_post_test(session: Session) -> bool:
    evaluation = await SessionEvaluation.get_or_none(session_id=session.id)
    return (
        evaluation is not None
        and evaluation.post_test_id is not None
        and await TestQuestion.filter(test_id=evaluation.post_test_id).exists()
    )


async def export_registrations(
    registrations: Sequence[Registration], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Registrations as their holder reads them (sessions loaded), with their tests."""
    when = now or datetime.now(UTC)
    return [{**export_registration(r), "tests": await export_tests(r, when)} for r in registrations]


async def export_data(registration: Registration) -> dict[str, Any]:
    """What Sala holds about this one registration. A manage link opens nothing else: all
    of a person's registrations are only ever sent to their email (``attendees.people``)."""
    return {"registrations": await export_registrations([registration])}


async def delete_personal_data(registration: Registration, settings: Settings) -> int:
    """Delete my data, through a manage link: this one registration, nothing else.

    It is cancelled first (its seat going to the waitlist), then loses every personal field,
    its own mail and its own certificate, in one transaction that holds the session's lock;
    the row stays with sector and status, so counts remain true. What spans the person —
    the invitations and mail of the address, team memberships, curriculum certificates —
    belongs to whoever holds the email, who is not necessarily whoever holds this link
    (``attendees.people``): it goes only from the holder's page. The person itself goes
    only when nothing else refers to them. Returns how many registrations were deleted.
    """
    session_id: int = registration.session_id  # type: ignore[attr-defined]
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session_id)
        current = await Registration.get_or_none(
            id=registration.id, manage_key=registration.manage_key, anonymised_at=None
        )
        if current is None:  # deleted meanwhile (the form posted twice)
            return 0
        person_id: int | None = current.person_id  # type: ignore[attr-defined]
        if person_id is not None:  # nothing joins them meanwhile (``people.join``)
            await db.lock_row(connection, "person", person_id)
        if await seat_still_matters(current):
            await cancel_registration(current.id, settings=settings, actor=None)
        certificates = await forget_registrations(
            [current.id], certificates_too=True, reason="deleted by the holder"
        )
        if person_id is not None:
            await delete_person_if_nothing_left(person_id)
    forget_pdfs(certificates, settings)
    return 1


async def seat_still_matters(registration: Registration) -> bool:
    """A deletion cancels a seat or a waitlist place only while the session has not ended:
    that frees it for the next person. A past registration stays as it was, anonymous, so the
    reports' counts of who registered and who came do not change (reports/services.py)."""
    if registration.status == RegistrationStatus.CANCELLED:
        return False
    session = await Session.get(id=registration.session_id)  # type: ignore[attr-defined]
    return session.ends_at > datetime.now(UTC)


async def anonymise(
    registration_ids: list[int],
    person: Person | None,
    settings: Settings,
    *,
    certificates_too: bool,
    reason: str,
) -> None:
    """Blank every personal field of these registrations and, with ``person``, everything
    of that person (``forget_person``): for the holder's own deletion and the retention
    purge, never for one manage link. The rows stay with sector and status, so the
    organisation's counts remain true.

    With ``certificates_too`` their certificates are revoked and lose the name (the holder
    asked); the retention purge keeps them, as the register of what was awarded.
    """
    async with in_transaction():
        certificates = await forget_registrations(
            registration_ids, certificates_too=certificates_too, reason=reason
        )
        if person is not None:
            certificates += await forget_person(
                person, certificates_too=certificates_too, reason=reason
            )
    forget_pdfs(certificates, settings)


async def forget_registrations(
    ids: list[int], *, certificates_too: bool, reason: str
) -> list[Certificate]:
    """Blank these registrations' personal fields and their own rows only: the answers the
    door stored, the address of the personal invitation each used, their certificates (with
    ``certificates_too``), their pending mail and the address of their sent mail. Call it
    inside a transaction; returns the certificates whose PDFs are to be forgotten after it.
    """
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
        gender_identity_text="",
        manage_key="",
        # One new key for all of them: the reports still count them as one person, whom
        # no other registration's key leads back to (reports/services.py).
        reach_key=secrets.token_hex(16),
        anonymised_at=datetime.now(UTC),
    )
    # The door's log keeps what happened, not who: the stored answers named the person.
    await CheckinScan.filter(registration_id__in=ids).update(answer="")
    # Test attempts keep their scores and whether each question was right: all the session's
    # figures and the reach report count (so they stay as they were); which choices the
    # person picked is theirs and goes.
    attempt_ids = await Attempt.filter(registration_id__in=ids).values_list("id", flat=True)
    if attempt_ids:
        await AttemptAnswer.filter(attempt_id__in=list(attempt_ids)).update(chosen="")
    await Invitation.filter(id__in=invitation_ids).exclude(email="").update(email="")
    certificates: list[Certificate] = []
    if certificates_too:
        certificates = await Certificate.filter(registration_id__in=ids)
        await _revoke_and_blank(certificates, reason, person_id=None)
    certificate_ids = {c.id for c in certificates}

    def theirs(message: OutboxMessage) -> bool:
        return (
            message.params.get("registration_id") in ids
            or message.params.get("certificate_id") in certificate_ids
        )

    for message in await OutboxMessage.filter(status=OutboxStatus.PENDING):
        if theirs(message):
            await message.delete()
    # Sent mail forgets its address, for these registrations' mail only: the address may be
    # someone else's, who keeps theirs.
    sent = OutboxMessage.filter(to_address__in=emails).exclude(status=OutboxStatus.PENDING)
    for message in await sent:
        if theirs(message):
            await OutboxMessage.filter(id=message.id).update(to_address="")
    return certificates


async def forget_person(
    person: Person, *, certificates_too: bool, reason: str
) -> list[Certificate]:
    """What spans the person: the invitations and sent mail of their address, their own
    certificates (curriculum ones; with ``certificates_too``), then the person (their team
    memberships go with them). Only for the holder of the email (``people.delete_person``),
    the retention purge and a person of one registration (a joined duplicate). Call it
    inside a transaction, after ``forget_registrations``."""
    certificates: list[Certificate] = []
    if certificates_too:
        certificates = await Certificate.filter(person_id=person.id)
        await _revoke_and_blank(certificates, reason, person_id=person.id)
        certificate_ids = {c.id for c in certificates}
        for message in await OutboxMessage.filter(status=OutboxStatus.PENDING):
            if message.params.get("certificate_id") in certificate_ids:
                await message.delete()
    if person.email:
        await Invitation.filter(email=person.email).update(email="")
        await (
            OutboxMessage.filter(to_address=person.email)
            .exclude(status=OutboxStatus.PENDING)
            .update(to_address="")
        )
    await Person.filter(id=person.id).delete()
    return certificates


async def _revoke_and_blank(
    certificates: list[Certificate], reason: str, *, person_id: int | None
) -> None:
    await revoke_certificates(
        [c.id for c in certificates], reason=reason, staff=None, holder_name="", person_id=person_id
    )


async def delete_person_if_nothing_left(person_id: int) -> bool:
    """Delete the person when no row refers to them any more — no registration, team
    membership, certificate or anything a package adds later (every reverse relation of
    ``Person``); True if deleted. Call it inside a transaction that locks the person."""
    meta = Person._meta
    for name in sorted(meta.backward_fk_fields | meta.backward_o2o_fields):
        relation = meta.fields_map[name]
        assert isinstance(relation, BackwardFKRelation)
        model = relation.related_model
        if await model.filter(**{relation.relation_field: person_id}).exists():
            return False
    await Person.filter(id=person_id).delete()
    return True


def forget_pdfs(certificates: list[Certificate], settings: Settings) -> None:
    """Remove the PDFs made of these certificates (after the transaction that blanked them)."""
    for certificate in certificates:
        forget_pdf(certificate, settings)
