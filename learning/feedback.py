"""The anonymous feedback form of a session: who may answer, when, and how it is stored.

The form (a 1–5 rating and the admin's active :class:`FeedbackQuestion` rows, answered in
words) opens for a registration that was **checked in** (confirmed, not anonymised, at a
session that is not cancelled) when the session ends, or earlier when staff opened the
session's post-test early (they are in the room, at the end of the last part), and closes
:data:`OPEN_DAYS` days after the end. One answer per registration.

Anonymous by design (``learning/models.py``): :func:`give_feedback` writes, in one
transaction, a :class:`FeedbackReceipt` (that this registration answered: nothing more) and a
:class:`FeedbackResponse` (the session, the session's own local date, the rating, the words;
no person, no registration, no time). Nothing joins the two:

- both keys are random (uuid4), and the response's ``day`` is the date of the session, the
  same for every answer to it, so it does not tell *when* someone answered either;
- the receipt's unique registration is what refuses a second answer; when two arrive at once
  the second one's whole transaction rolls back, so no second response is stored;
- insertion order would pair them (SQLite's ``rowid``, PostgreSQL's ``ctid``: the n-th
  receipt of a session with the n-th response), so each answer re-writes the session's
  responses in a random order, under the session's lock (:func:`_store`);
- nothing is logged or audited, the answer is never in a URL, the response's id is never
  shown or returned, and the feedback email's outbox row is not touched when one answers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from attendees.models import Registration, RegistrationStatus
from events.models import Session, SessionStatus
from learning.errors import (
    FeedbackAlreadyGiven,
    FeedbackClosed,
    FeedbackNotYet,
    FeedbackOnlyForAttendees,
    FeedbackOver,
)
from learning.models import (
    FeedbackQuestion,
    FeedbackReceipt,
    FeedbackResponse,
    SessionEvaluation,
)
from sala import db
from sala.errors import ValidationFailed
from sala.forms import FieldReader
from sala.i18n import N_, gettext

OPEN_DAYS = 14  # the form closes this many days after the session ends; its figures show then
ANSWER_MAX = 1000  # characters per answer in words
RATINGS = (1, 2, 3, 4, 5)
RATING_WORDS = {
    1: N_("Poor"),
    2: N_("Fair"),
    3: N_("Good"),
    4: N_("Very good"),
    5: N_("Excellent"),
}

_shuffle = random.SystemRandom().shuffle


# ----------------------------------------------------------------------------- errors


# ----------------------------------------------------------------------------- who, when


@dataclass(frozen=True)
class FeedbackForm:
    """What the form shows: the questions in words, and until when it is open."""

    questions: list[FeedbackQuestion]
    closes_at: datetime


def came(registration: Registration) -> bool:
    """Checked in at a session that was not cancelled (the session must be loaded)."""
    session: Session = registration.session
    return (
        registration.status == RegistrationStatus.CONFIRMED
        and registration.checked_in_at is not None
        and registration.anonymised_at is None
        and session.status != SessionStatus.CANCELLED
    )


async def opens_at(session: Session) -> datetime:
    """The end of the session, or the moment staff opened its post-test, if earlier."""
    evaluation = await SessionEvaluation.get_or_none(session_id=session.id)
    opened = evaluation.post_opened_at if evaluation else None
    return min(session.ends_at, opened) if opened else session.ends_at


def closes_at(session: Session) -> datetime:
    return session.ends_at + timedelta(days=OPEN_DAYS)


async def has_answered(registration: Registration) -> bool:
    return await FeedbackReceipt.filter(registration_id=registration.id).exists()


async def _check_open(registration: Registration, now: datetime) -> None:
    """Raise the reason the form is closed to this registration, if it is."""
    session: Session = registration.session
    if not came(registration):
        raise FeedbackOnlyForAttendees()
    if now < await opens_at(session):
        raise FeedbackNotYet()
    if now >= closes_at(session):
        raise FeedbackOver()


async def active_questions() -> list[FeedbackQuestion]:
    return await FeedbackQuestion.filter(archived_at=None).order_by("position", "id")


async def feedback_form(registration: Registration, now: datetime) -> FeedbackForm:
    """The form for this registration (its session loaded), or the reason there is none:
    :class:`FeedbackAlreadyGiven` once answered, a :class:`FeedbackClosed` otherwise."""
    if await has_answered(registration):
        raise FeedbackAlreadyGiven()
    await _check_open(registration, now)
    return FeedbackForm(await active_questions(), closes_at(registration.session))


async def feedback_for_manage_page(registration: Registration, now: datetime) -> dict[str, Any]:
    """``{"state": "open", "closes_at": …}`` while the form waits for an answer,
    ``{"state": "given"}`` once answered, ``{}`` otherwise (nothing to show)."""
    if not came(registration):
        return {}
    if await has_answered(registration):
        return {"state": "given"}
    try:
        await _check_open(registration, now)
    except FeedbackClosed:
        return {}
    return {"state": "open", "closes_at": closes_at(registration.session)}


def rating_choices() -> list[tuple[int, str]]:
    """The five ratings with their words, in the current language."""
    return [(value, gettext(RATING_WORDS[value])) for value in RATINGS]


def answer_field(question: FeedbackQuestion) -> str:
    return f"answer_{question.id}"


# ----------------------------------------------------------------------------- answering


def read_answers(
    raw: Mapping[str, Any], questions: list[FeedbackQuestion]
) -> tuple[int, dict[str, str]]:
    """The rating and the words given (``{"<question id>": text}``, empty ones left out);
    :class:`ValidationFailed` with a message per wrong field."""
    reader = FieldReader(raw)
    rating_raw = raw.get("rating")
    rating = 0
    if isinstance(rating_raw, str) and rating_raw.strip() in {str(r) for r in RATINGS}:
        rating = int(rating_raw.strip())
    else:
        reader.fail("rating", N_("Choose a rating from 1 to 5."))
    answers: dict[str, str] = {}
    for question in questions:
        text = reader.text(answer_field(question), max_length=ANSWER_MAX, multiline=True)
        if text:
            answers[str(question.id)] = text
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return rating, answers


def session_day(session: Session) -> date:
    """The day every answer to this session carries: the session's own local date."""
    return session.starts_at.astimezone(ZoneInfo(session.timezone)).date()


async def give_feedback(
    registration: Registration, raw: Mapping[str, Any], *, now: datetime | None = None
) -> None:
    """Store one anonymous answer for this registration (its session loaded).

    :class:`FeedbackClosed` when the form is not open to it, :class:`ValidationFailed` for a
    missing rating or words too long, :class:`FeedbackAlreadyGiven` for a second answer —
    also when two arrive at the same moment: then nothing of the second is stored."""
    now = now or datetime.now(UTC)
    if await has_answered(registration):
        raise FeedbackAlreadyGiven()
    await _check_open(registration, now)
    rating, answers = read_answers(raw, await active_questions())
    try:
        await _store(registration, rating, answers)
    except IntegrityError as exc:  # the receipt's unique registration: answered meanwhile
        raise FeedbackAlreadyGiven() from exc


async def _store(registration: Registration, rating: int, answers: dict[str, str]) -> None:
    """The receipt and the response in one transaction, under the session's lock.

    The session's responses are written again in a random order with the new one among
    them, so no row order (``rowid``, ``ctid``) pairs a response with a receipt. The lock
    keeps two answers to one session from re-writing the same rows at once."""
    session: Session = registration.session
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session.id)
        await FeedbackReceipt.create(id=uuid4(), registration_id=registration.id)
        new = FeedbackResponse(
            id=uuid4(), session_id=session.id, day=session_day(session), rating=rating,
            answers=answers,
        )  # fmt: skip
        kept = await FeedbackResponse.filter(session_id=session.id)
        rows = [
            FeedbackResponse(
                id=row.id,
                session_id=session.id,
                day=row.day,
                rating=row.rating,
                answers=row.answers,
            )
            for row in kept
        ]
        rows.append(new)
        _shuffle(rows)
        await FeedbackResponse.filter(session_id=session.id).delete()
        await FeedbackResponse.bulk_create(rows)
