"""The anonymous feedback form and its email, on both databases, through HTTP and real SMTP.

Who may not answer comes first (not checked in, waitlisted, cancelled, a cancelled session,
before the end, after the close, a forged link); then bad input, one answer per registration
(also two at once), what the database holds (no column and no value that leads to a person)
and the email (once, to those who came, after the end, in their language).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from tortoise import connections

from attendees.manage import manage_token
from attendees.models import Registration, RegistrationStatus
from events.models import Session, SessionStatus
from learning import feedback as service
from learning.emails import FEEDBACK_MAIL, enqueue_due_feedback_requests
from learning.models import FeedbackQuestion, FeedbackReceipt, FeedbackResponse, SessionEvaluation
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.mail import SmtpTransport, deliver_due
from sala.models import OutboxMessage
from tests.factories import csrf_from, make_session, move_session, register_person
from tests.mail_server import MailServer


async def _ended_session(**overrides: Any) -> Session:
    """A session made in the future (people can register), moved later with ``_move``."""
    return await make_session(**overrides)


async def _move(session: Session, *, ended_hours_ago: float) -> None:
    """Move the session so that it ended that long ago (it lasts three hours)."""
    await move_session(
        session, datetime.now(UTC) - timedelta(hours=ended_hours_ago) - timedelta(hours=3)
    )


async def _came(outcome: Any) -> Registration:
    """Checked in (the door's own service is tested elsewhere; here only the result)."""
    registration: Registration = outcome.registration
    session = await Session.get(id=registration.session_id)  # type: ignore[attr-defined]
    await Registration.filter(id=registration.id).update(
        checked_in_at=session.starts_at + timedelta(hours=1)
    )
    return registration


def _url(registration: Registration, settings: Settings) -> str:
    return f"/registrations/{manage_token(registration, settings)}/feedback"


async def _send(client: httpx.AsyncClient, url: str, data: dict[str, str]) -> httpx.Response:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return await client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


async def _questions() -> tuple[FeedbackQuestion, FeedbackQuestion]:
    liked = await FeedbackQuestion.create(
        text_en="What did you like?", text_km="តើអ្នកចូលចិត្តអ្វី?", position=1
    )
    better = await FeedbackQuestion.create(text_en="What could be better?", position=2)
    await FeedbackQuestion.create(
        text_en="An old question", position=3, archived_at=datetime.now(UTC)
    )
    return liked, better


# ----------------------------------------------------------------------------- who may not


async def test_only_people_who_came_get_the_form_after_the_end(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await _ended_session(capacity="3")
    came = await _came(await register_person(session, settings))
    absent = (await register_person(session, settings)).registration
    cancelled = (await register_person(session, settings)).registration
    waiting = (await register_person(session, settings)).registration
    assert waiting.status == RegistrationStatus.WAITLISTED
    await Registration.filter(id=cancelled.id).update(
        status=RegistrationStatus.CANCELLED, checked_in_at=datetime.now(UTC)
    )
    await Registration.filter(id=waiting.id).update(checked_in_at=datetime.now(UTC))

    # During the session: not yet, for anyone.
    await _move(session, ended_hours_ago=-1)
    page = await client.get(_url(came, settings))
    assert page.status_code == 403
    assert "The feedback form opens when the training ends." in page.text
    manage = await client.get(f"/registrations/{manage_token(came, settings)}")
    assert "Give your feedback" not in manage.text

    await _move(session, ended_hours_ago=2)
    for nobody in (absent, cancelled, waiting):
        page = await client.get(_url(nobody, settings))
        assert page.status_code == 403, page.text
        assert "Only people who came to the training can give feedback." in page.text
        manage = await client.get(f"/registrations/{manage_token(nobody, settings)}")
        assert manage.status_code == 200
        assert "Give your feedback" not in manage.text
        assert "Thank you for your feedback" not in manage.text
    # They cannot post either (the CSRF token is taken from the open form of the one who came).
    form = await client.get(_url(came, settings))
    assert form.status_code == 200 and 'name="rating"' in form.text
    for nobody in (absent, cancelled, waiting):
        answer = await client.post(
            _url(nobody, settings), data={"rating": "5", "csrf_token": csrf_from(form.text)}
        )
        assert answer.status_code == 403
    assert await FeedbackResponse.all().count() == 0
    assert await FeedbackReceipt.all().count() == 0

    # A forged or mangled link is a 404 page.
    forged = await client.get("/registrations/not-a-real-token/feedback")
    assert forged.status_code == 404
    mangled = _url(came, settings).replace("/feedback", "x/feedback")
    assert (await client.get(mangled)).status_code == 404

    # A cancelled session asks nobody.
    await Session.filter(id=session.id).update(status=SessionStatus.CANCELLED)
    page = await client.get(_url(came, settings))
    assert page.status_code == 403


async def test_the_form_closes_open_days_after_the_end(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await _ended_session()
    came = await _came(await register_person(session, settings))
    await _move(session, ended_hours_ago=24 * service.OPEN_DAYS + 1)
    page = await client.get(_url(came, settings))
    assert page.status_code == 403
    assert "The feedback form of this training is closed." in page.text
    manage = await client.get(f"/registrations/{manage_token(came, settings)}")
    assert "Give your feedback" not in manage.text


async def test_the_form_opens_with_a_post_test_opened_early(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await _ended_session()
    came = await _came(await register_person(session, settings))
    await _move(session, ended_hours_ago=-1)  # still going on
    assert (await client.get(_url(came, settings))).status_code == 403
    await SessionEvaluation.create(session=session, post_opened_at=datetime.now(UTC))
    assert (await client.get(_url(came, settings))).status_code == 200


# ----------------------------------------------------------------------------- answering


async def test_bad_answers_are_refused_and_what_was_typed_is_kept(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    liked, better = await _questions()
    session = await _ended_session()
    came = await _came(await register_person(session, settings))
    await _move(session, ended_hours_ago=2)
    url = _url(came, settings)
    words = "The role plays & the <stories>"
    for rating in (None, "0", "6", "abc", "4.5", ""):
        data = {f"answer_{liked.id}": words}
        if rating is not None:
            data["rating"] = rating
        answer = await _send(client, url, data)
        assert answer.status_code == 422, rating
        assert "Choose a rating from 1 to 5." in answer.text
        assert "The role plays &amp; the &lt;stories&gt;" in answer.text
    too_long = await _send(
        client, url, {"rating": "4", f"answer_{better.id}": "x" * (service.ANSWER_MAX + 1)}
    )
    assert too_long.status_code == 422
    assert "This is too long." in too_long.text
    assert 'id="rating-4" name="rating" value="4" checked' in too_long.text
    assert "x" * (service.ANSWER_MAX + 1) in too_long.text
    assert await FeedbackResponse.all().count() == 0
    assert await FeedbackReceipt.all().count() == 0


async def test_one_answer_per_registration(client: httpx.AsyncClient, settings: Settings) -> None:
    liked, better = await _questions()
    session = await _ended_session()
    came = await _came(await register_person(session, settings))
    other = await _came(await register_person(session, settings))
    await _move(session, ended_hours_ago=2)
    url = _url(came, settings)

    manage = await client.get(f"/registrations/{manage_token(came, settings)}")
    assert "Give your feedback" in manage.text
    assert url in manage.text
    form = await client.get(url)
    assert "1 – Poor" in form.text and "5 – Excellent" in form.text
    assert "What did you like?" in form.text and "An old question" not in form.text

    sent = await client.post(
        url,
        data={
            "rating": "5",
            f"answer_{liked.id}": "  The games  ",
            f"answer_{better.id}": "",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == url  # no id, no answer in the address
    thanks = await client.get(url)
    assert thanks.status_code == 200 and "Thank you for your feedback." in thanks.text
    assert 'name="rating"' not in thanks.text
    manage = await client.get(f"/registrations/{manage_token(came, settings)}")
    assert "Thank you for your feedback." in manage.text
    assert "Give your feedback" not in manage.text

    (response,) = await FeedbackResponse.all()
    assert response.rating == 5
    assert response.answers == {str(liked.id): "The games"}
    assert response.session_id == session.id  # type: ignore[attr-defined]

    again = await client.post(url, data={"rating": "1", "csrf_token": csrf_from(form.text)})
    assert again.status_code == 409
    assert "You already gave your feedback, thank you." in again.text
    assert await FeedbackResponse.all().count() == 1
    assert await FeedbackReceipt.filter(registration_id=came.id).count() == 1

    # Two answers at the same moment (a double tap on two phones): one is stored.
    registration = await Registration.get(id=other.id).select_related("session")
    results = await asyncio.gather(
        service.give_feedback(registration, {"rating": "2"}),
        service.give_feedback(registration, {"rating": "3"}),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["FeedbackAlreadyGiven", "NoneType"]
    assert await FeedbackResponse.all().count() == 2
    assert await FeedbackReceipt.all().count() == 2
    ratings = sorted(r.rating for r in await FeedbackResponse.all())
    assert ratings in ([2, 5], [3, 5])


async def test_a_second_receipt_rolls_back_the_whole_answer(
    settings: Settings, client: object
) -> None:
    """Even past the service's own check: the receipt's unique registration refuses it and
    the response written in the same transaction goes with it."""
    session = await _ended_session()
    came = await _came(await register_person(session, settings))
    await _move(session, ended_hours_ago=2)
    registration = await Registration.get(id=came.id).select_related("session")
    await service._store(registration, 4, {})
    with pytest.raises(service.IntegrityError):
        await service._store(registration, 1, {"1": "again"})
    assert [r.rating for r in await FeedbackResponse.all()] == [4]


# ----------------------------------------------------------------------------- no person link


async def _columns(table: str) -> dict[str, str]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        rows = await connection.execute_query_dict(f"PRAGMA table_info('{table}')")
        return {row["name"]: row["type"].lower() for row in rows}
    rows = await connection.execute_query_dict(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1",
        [table],
    )
    return {row["column_name"]: row["data_type"].lower() for row in rows}


async def _foreign_tables(table: str) -> set[str]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        rows = await connection.execute_query_dict(f"PRAGMA foreign_key_list('{table}')")
        return {row["table"] for row in rows}
    rows = await connection.execute_query_dict(
        "SELECT ccu.table_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.constraint_column_usage ccu "
        "ON tc.constraint_name = ccu.constraint_name "
        "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = $1",
        [table],
    )
    return {row["table_name"] for row in rows}


async def test_feedback_rows_carry_no_person_link(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    liked, _better = await _questions()
    session = await _ended_session()
    outcome = await register_person(
        session, settings, chosen_name="Sokunthea", email="sokunthea@example.org"
    )
    came = await _came(outcome)
    await _move(session, ended_hours_ago=2)
    token = manage_token(came, settings)
    answer = await _send(
        client, _url(came, settings), {"rating": "4", f"answer_{liked.id}": "Useful"}
    )
    assert answer.status_code == 303

    # The answer's table: the session, a day, the rating, the words. Nothing else.
    columns = await _columns("learning_feedback")
    assert set(columns) == {"id", "session_id", "day", "rating", "answers"}
    assert columns["day"] == "date"
    assert await _foreign_tables("learning_feedback") == {"session"}
    for name in columns:
        assert not any(word in name for word in ("registration", "person", "staff", "user"))
    # The receipt's: that a registration answered, without a time or the answer.
    assert set(await _columns("learning_feedback_receipt")) == {"id", "registration_id"}
    assert await _foreign_tables("learning_feedback_receipt") == {"registration"}

    connection = connections.get("default")
    (row,) = await connection.execute_query_dict("SELECT * FROM learning_feedback")
    assert set(row) == set(columns)
    values = {name: str(value) for name, value in row.items()}
    for personal in ("Sokunthea", "sokunthea@example.org", came.manage_key, token):
        assert not any(personal in value for value in values.values()), personal
    assert values["session_id"] == str(session.id)
    assert str(came.id) not in (values["id"], values["day"], values["rating"])
    assert set(json.loads(values["answers"])) == {str(liked.id)}  # question ids only
    moved = await Session.get(id=session.id)
    assert values["day"] == service.session_day(moved).isoformat()  # a date, no time
    (receipt,) = await connection.execute_query_dict("SELECT * FROM learning_feedback_receipt")
    assert receipt["registration_id"] == came.id
    assert str(receipt["id"]) != str(row["id"])


async def test_answers_are_rewritten_in_another_order(client: object, settings: Settings) -> None:
    """The n-th receipt and the n-th response must not pair up: every answer re-writes the
    session's responses in a random order, keeping each one as it was."""
    session = await _ended_session(capacity="30")
    people = [await _came(await register_person(session, settings)) for _ in range(8)]
    await _move(session, ended_hours_ago=2)
    for number, registration in enumerate(people):
        loaded = await Registration.get(id=registration.id).select_related("session")
        await service.give_feedback(loaded, {"rating": str(number % 5 + 1)})
    responses = await FeedbackResponse.filter(session_id=session.id)
    assert sorted(r.rating for r in responses) == sorted(n % 5 + 1 for n in range(8))
    assert len({r.id for r in responses}) == 8


# ----------------------------------------------------------------------------- the email


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


async def test_the_email_goes_once_to_those_who_came_after_the_end(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    settings = smtp_settings
    session = await _ended_session(capacity="3", title_en="Human rights basics")
    english = await _came(
        await register_person(session, settings, email="dara@example.org", language="en")
    )
    khmer = await _came(
        await register_person(
            session, settings, email="sophea@example.org", language="km", chosen_name="សុភា"
        )
    )
    await register_person(session, settings, email="absent@example.org")
    waiting = (await register_person(session, settings, email="waiting@example.org")).registration
    await Registration.filter(id=waiting.id).update(checked_in_at=datetime.now(UTC))
    cancelled_session = await _ended_session()
    await _came(await register_person(cancelled_session, settings, email="gone@example.org"))
    old = await _ended_session()
    await _came(await register_person(old, settings, email="old@example.org"))
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings)  # the confirmations
    mail_server.inbox.messages.clear()

    # Before the end: nobody is asked.
    await _move(session, ended_hours_ago=-1)
    assert await enqueue_due_feedback_requests(settings) == 0

    await _move(session, ended_hours_ago=2)
    await _move(cancelled_session, ended_hours_ago=2)
    await Session.filter(id=cancelled_session.id).update(status=SessionStatus.CANCELLED)
    await _move(old, ended_hours_ago=24 * 8)
    counts = await asyncio.gather(
        enqueue_due_feedback_requests(settings), enqueue_due_feedback_requests(settings)
    )
    assert sum(counts) == 2
    assert await enqueue_due_feedback_requests(settings) == 0
    queued = await OutboxMessage.filter(kind=FEEDBACK_MAIL).order_by("id")
    assert sorted(m.to_address for m in queued) == ["dara@example.org", "sophea@example.org"]
    assert {m.to_address: m.language for m in queued} == {
        "dara@example.org": "en",
        "sophea@example.org": "km",
    }

    # Answering before the email goes changes nothing of its outbox row.
    before = [(m.id, m.status, m.params, m.attempts, m.next_attempt_at) for m in queued]
    answer = await _send(smtp_client, _url(english, settings), {"rating": "5"})
    assert answer.status_code == 303
    after = await OutboxMessage.filter(kind=FEEDBACK_MAIL).order_by("id")
    assert [(m.id, m.status, m.params, m.attempts, m.next_attempt_at) for m in after] == before

    assert await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings) == 2
    messages = {m["To"]: m for m in mail_server.inbox.messages}
    assert set(messages) == {"dara@example.org", "sophea@example.org"}
    dara = messages["dara@example.org"]
    assert dara["Subject"] == "How was your training?"  # discreet by default
    text = _text(dara)
    assert "Give my feedback" in text
    feedback_url = f"http://testserver{_url(english, settings)}"
    assert feedback_url in text
    assert "Rating" not in text and "5 – Excellent" not in text
    sophea = _text(messages["sophea@example.org"])
    assert "ជម្រាបសួរ សុភា," in sophea  # Hello, in Khmer
    khmer_url = f"http://testserver{_url(khmer, settings)}"
    assert khmer_url in sophea
    page = await smtp_client.get(khmer_url.removeprefix("http://testserver"))
    assert page.status_code == 200 and 'name="rating"' in page.text

    assert await enqueue_due_feedback_requests(settings) == 0
    assert await OutboxMessage.filter(kind=FEEDBACK_MAIL).count() == 2


async def test_the_staff_outbox_names_the_kind() -> None:
    from sala.app import MAIL_KIND_NAMES

    assert MAIL_KIND_NAMES[FEEDBACK_MAIL] == "Feedback request after the training"
    assert FEEDBACK_MAIL in MAIL_COMPOSERS
