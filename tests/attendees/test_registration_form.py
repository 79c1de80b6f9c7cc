"""The public registration form, as a visitor fills it in, and the manage page behind it."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from attendees.manage import anonymise
from attendees.models import Person, Registration
from events.models import Audience, SessionStatus, Topic
from learning.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    FeedbackReceipt,
    FeedbackResponse,
    LearningTest,
    Question,
    SessionEvaluation,
    TestQuestion,
)
from sala.config import Settings
from sala.models import OutboxMessage
from tests.factories import csrf_from, make_session, move_session


def _form(**overrides: Any) -> dict[str, Any]:
    fields = {
        "chosen_name": "Vicheka",
        "pronouns": "they/them",
        "email": "vicheka@example.org",
        "phone": "",
        "sector": "ngo",
        "organisation": "Youth NGO",
        "language": "en",
        "accessibility_needs": "",
        "consent": "on",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


async def _submit(
    client: httpx.AsyncClient, session_id: int, *, path: str | None = None, **overrides: Any
) -> httpx.Response:
    path = path or f"/sessions/{session_id}"
    page = await client.get(path)
    assert page.status_code == 200
    data = {**_form(**overrides), "csrf_token": csrf_from(page.text)}
    return await client.post(path, data=data)


async def test_register_with_the_form_then_see_the_ticket(client: httpx.AsyncClient) -> None:
    session = await make_session(capacity="10")
    page = await client.get(f"/sessions/{session.id}")
    assert 'name="chosen_name"' in page.text and 'name="consent"' in page.text
    assert "<script" not in page.text  # works without JavaScript

    answer = await _submit(client, session.id)
    assert answer.status_code == 303
    manage_path = answer.headers["location"]
    assert manage_path.startswith("/registrations/")
    assert "vicheka" not in manage_path.lower()

    manage = await client.get(manage_path)
    assert manage.status_code == 200
    assert "Your seat is confirmed, Vicheka." in manage.text
    assert manage.headers["cache-control"] == "no-store"
    ticket = await client.get(manage_path + "/ticket.png")
    assert ticket.status_code == 200 and ticket.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(ticket.content))
    assert image.width >= 300  # big enough to scan from a phone screen
    assert len(zxingcpp.read_barcodes(image)) == 1

    registration = await Registration.get().select_related("person")
    assert registration.person.email == "vicheka@example.org"
    assert registration.status == "confirmed" and registration.consent_at is not None
    assert await OutboxMessage.filter(to_address="vicheka@example.org").count() == 1


async def test_phone_only_registration(client: httpx.AsyncClient) -> None:
    session = await make_session()
    answer = await _submit(client, session.id, email="", phone="097 123 4567")
    assert answer.status_code == 303
    person = await Person.get()
    assert (person.email, person.phone) == (None, "+855971234567")
    assert await OutboxMessage.all().count() == 0  # no email to send to


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": "", "phone": "12"}, "phone", "Enter a valid phone number"),
        ({"email": "", "phone": ""}, "email", "Give an email address or a phone number"),
        ({"consent": None}, "consent", "Please agree to how we use your information."),
        ({"chosen_name": ""}, "chosen_name", "This field is required."),
        ({"chosen_name": "x" * 121}, "chosen_name", "This is too long."),
        ({"organisation": "o" * 201}, "organisation", "This is too long."),
        ({"sector": "astronaut"}, "sector", "Choose one of the options."),
        ({"chosen_name": "Evil\r\nBcc: all@example.org"}, "chosen_name", "not allowed"),
    ],
)
async def test_bad_input_shows_the_form_again_and_saves_nothing(
    client: httpx.AsyncClient, overrides: dict[str, Any], field: str, message: str
) -> None:
    session = await make_session()
    answer = await _submit(client, session.id, **overrides)
    assert answer.status_code == 422
    assert message in answer.text
    assert f'id="{field}-error"' in answer.text
    assert f'{field}-error"' in answer.text.split(f'id="{field}-error"')[0]  # referenced first
    if field != "chosen_name":
        assert 'value="Vicheka"' in answer.text  # what was typed is kept
    assert await Registration.all().count() == 0
    assert await Person.all().count() == 0


async def test_errors_are_in_khmer_for_khmer_visitors(client: httpx.AsyncClient) -> None:
    session = await make_session()
    client.headers["accept-language"] = "km"
    answer = await _submit(client, session.id, email="bad", language="km")
    assert answer.status_code == 422
    assert '<html lang="km">' in answer.text
    assert "Enter a valid email address." not in answer.text


@pytest.mark.parametrize("state", ["not_yet", "closed", "cancelled", "started"])
async def test_closed_registration_is_refused(client: httpx.AsyncClient, state: str) -> None:
    now = datetime.now(UTC)
    overrides: dict[str, Any] = {}
    if state == "not_yet":
        overrides["registration_opens_at"] = (now + timedelta(days=2)).isoformat()
    elif state == "closed":
        overrides["registration_closes_at"] = (now - timedelta(hours=1)).isoformat()
    elif state == "started":
        overrides["starts_at"] = (now - timedelta(minutes=30)).isoformat()
        overrides["ends_at"] = (now + timedelta(hours=2)).isoformat()
    session = await make_session(**overrides)
    csrf = csrf_from((await client.get("/staff/login")).text)  # the browser's CSRF token
    page = await client.get(f"/sessions/{session.id}")
    assert ('name="chosen_name"' in page.text) is (state == "cancelled")
    if state == "cancelled":
        session.status = SessionStatus.CANCELLED
        await session.save()
    answer = await client.post(f"/sessions/{session.id}", data={**_form(), "csrf_token": csrf})
    assert answer.status_code == 409
    assert await Registration.all().count() == 0
    api = await client.post(
        f"/api/v1/sessions/{session.id}/registrations", json={**_form(), "consent": True}
    )
    assert api.status_code == 409
    assert api.json()["error"]["code"] in {
        "registration_not_open",
        "registration_closed",
        "session_not_open",
    }


async def test_honeypot_saves_nothing(client: httpx.AsyncClient) -> None:
    session = await make_session()
    answer = await _submit(client, session.id, website="http://spam.example")
    assert answer.status_code == 200
    assert "Thank you" in answer.text
    assert await Registration.all().count() == 0


async def test_rate_limit_answers_kindly(client: httpx.AsyncClient) -> None:
    session = await make_session(capacity="100")
    statuses = []
    for index in range(12):
        answer = await _submit(
            client, session.id, email="same@example.org", chosen_name=f"N{index}"
        )
        statuses.append(answer.status_code)
    assert statuses[0] == 303
    assert statuses[-1] == 429
    last = await _submit(client, session.id, email="same@example.org")
    assert "Too many attempts" in last.text


async def test_a_phone_typed_another_way_is_the_same_phone_to_the_limit(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session(capacity="100")
    spellings = ["012 345 678", "012-345-678", "+855 12 345 678", "(012) 345678", "85512345678"]
    statuses = []
    for index in range(12):
        answer = await _submit(
            client, session.id, email="", phone=spellings[index % len(spellings)],
            chosen_name=f"N{index}",
        )  # fmt: skip
        statuses.append(answer.status_code)
    assert statuses[0] == 303
    assert statuses[-1] == 429


async def test_registrant_text_is_escaped(client: httpx.AsyncClient) -> None:
    session = await make_session()
    answer = await _submit(client, session.id, chosen_name="<script>alert(1)</script>")
    manage = await client.get(answer.headers["location"])
    assert "<script>alert(1)</script>" not in manage.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in manage.text


async def test_invite_only_needs_a_valid_code(client: httpx.AsyncClient) -> None:
    session = await make_session(audience=Audience.INVITE_ONLY.value)
    page = await client.get(session.public_path)
    assert 'name="invitation_code"' in page.text
    none = await _submit(client, session.id, path=session.public_path)
    assert none.status_code == 422 and "by invitation only" in none.text
    wrong = await _submit(client, session.id, path=session.public_path, invitation_code="NOPE")
    assert wrong.status_code == 422 and "not valid for this training" in wrong.text
    assert await Registration.all().count() == 0


async def test_manage_page_cancel_with_confirmation(client: httpx.AsyncClient) -> None:
    session = await make_session(capacity="1")
    manage_path = (await _submit(client, session.id)).headers["location"]
    confirm = await client.get(manage_path + "/cancel")
    assert confirm.status_code == 200 and "Yes, cancel my registration" in confirm.text
    assert (await Registration.get()).status == "confirmed"  # GET changes nothing
    done = await client.post(manage_path + "/cancel", data={"csrf_token": csrf_from(confirm.text)})
    assert done.status_code == 303
    assert (await Registration.get()).status == "cancelled"
    assert "Your registration is cancelled." in (await client.get(manage_path)).text


async def test_manage_page_rename_download_and_delete(client: httpx.AsyncClient) -> None:
    session = await make_session()
    manage_path = (await _submit(client, session.id)).headers["location"]
    page = await client.get(manage_path)
    renamed = await client.post(
        manage_path + "/name", data={"chosen_name": "Vi", "csrf_token": csrf_from(page.text)}
    )
    assert renamed.status_code == 303
    assert (await Registration.get()).chosen_name == "Vi"
    empty = await client.post(
        manage_path + "/name", data={"chosen_name": " ", "csrf_token": csrf_from(page.text)}
    )
    assert empty.status_code == 422
    assert (await Registration.get()).chosen_name == "Vi"

    data = await client.get(manage_path + "/data.json")
    exported = json.loads(data.text)
    assert "person" not in exported  # a manage link opens its one registration only
    assert exported["registrations"][0]["email"] == "vicheka@example.org"
    assert exported["registrations"][0]["chosen_name"] == "Vi"
    assert "attachment" in data.headers["content-disposition"]

    confirm = await client.get(manage_path + "/delete")
    deleted = await client.post(
        manage_path + "/delete", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert deleted.status_code == 200 and "Your data has been deleted" in deleted.text
    assert await Person.all().count() == 0
    registration = await Registration.get()
    assert registration.person_id is None and registration.chosen_name == ""  # type: ignore[attr-defined]
    assert registration.sector == "ngo"  # the anonymous count stays
    assert registration.status == "cancelled"
    assert (await client.get(manage_path)).status_code == 404
    assert await OutboxMessage.filter(to_address="vicheka@example.org").count() == 0


async def _tests_for(session_id: int) -> tuple[Question, Choice, Choice]:
    """The session's pre-test and post-test: one question, "Yes" right and "No" wrong."""
    topic = await Topic.get(code="sogie")
    question = await Question.create(topic=topic, text_en="Is SOGIE about everyone?")
    yes = await Choice.create(question=question, text_en="Yes", text_km="បាទ/ចាស", correct=True)
    no = await Choice.create(question=question, text_en="No", correct=False, position=1)
    test = await LearningTest.create(topic=topic, name_en="SOGIE basics")
    await TestQuestion.create(test=test, question=question, position=1)
    await SessionEvaluation.create(session_id=session_id, pre_test=test, post_test=test)
    return question, yes, no


async def _answer(client: httpx.AsyncClient, url: str, field: str, choice: Choice) -> None:
    page = await client.get(url)
    sent = await client.post(url, data={field: str(choice.id), "csrf_token": csrf_from(page.text)})
    assert sent.status_code == 303, sent.text


async def test_the_data_download_holds_the_tests_not_the_feedback_and_deletion_keeps_the_scores(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    session = await make_session(topic="sogie")
    question, yes, no = await _tests_for(session.id)
    manage_path = (await _submit(client, session.id)).headers["location"]
    field = f"q{question.id}"
    await _answer(client, manage_path + "/tests/pre", field, no)

    mine = (await client.get(manage_path + "/data.json")).json()["registrations"][0]
    [pre] = mine["tests"]
    assert (pre["phase"], pre["test_name_en"], pre["score"], pre["max_score"]) == (
        "pre", "SOGIE basics", 0, 1
    )  # fmt: skip
    assert pre["submitted_at"]
    # Which answers were right would give the post-test away: not before it is taken.
    assert pre["questions"] == [
        {
            "question_en": "Is SOGIE about everyone?",
            "question_km": "",
            "chosen": [{"text_en": "No", "text_km": ""}],
            "right": None,
        }
    ]

    # Feedback is anonymous: never in the download, which says so.
    registration = await Registration.get()
    await FeedbackReceipt.create(id=uuid.uuid4(), registration=registration)
    await FeedbackResponse.create(
        id=uuid.uuid4(), session=session, day=session.starts_at.date(), rating=5,
        answers={"1": "Orchid words only I wrote"},
    )  # fmt: skip
    await move_session(session, datetime.now(UTC) - timedelta(hours=4))
    await _answer(client, manage_path + "/tests/post", field, yes)
    data = await client.get(manage_path + "/data.json")
    assert "Orchid" not in data.text and "rating" not in data.text
    mine = data.json()["registrations"][0]
    assert "anonymous" in mine["feedback"]
    assert [t["phase"] for t in mine["tests"]] == ["pre", "post"]
    assert [t["questions"][0]["right"] for t in mine["tests"]] == [False, True]
    assert mine["tests"][1]["questions"][0]["chosen"] == [{"text_en": "Yes", "text_km": "បាទ/ចាស"}]

    # Deleting one's data keeps the scores and right or wrong (the session's figures and the
    # reach report count them), and forgets what was chosen.
    confirm = await client.get(manage_path + "/delete")
    deleted = await client.post(
        manage_path + "/delete", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert deleted.status_code == 200
    kept = await Attempt.filter(registration_id=registration.id).order_by("phase")
    assert [(a.phase, a.score, a.max_score) for a in kept] == [("post", 1, 1), ("pre", 0, 1)]
    answers = await AttemptAnswer.filter(attempt__registration_id=registration.id)
    assert sorted((a.correct, a.chosen) for a in answers) == [(False, ""), (True, "")]
    assert (await client.get(manage_path + "/data.json")).status_code == 404

    # The retention purge forgets the same way (``anonymise``, as ``retention`` calls it).
    other = (await _submit(client, (s := await make_session(topic="sogie")).id)).headers["location"]
    await SessionEvaluation.create(session=s, pre_test_id=(await LearningTest.get()).id)
    await _answer(client, other + "/tests/pre", field, yes)
    theirs = await Registration.filter(session_id=s.id).first()
    assert theirs is not None
    await anonymise([theirs.id], None, settings, certificates_too=False, reason="retention")
    attempt = await Attempt.get(registration_id=theirs.id)
    assert (attempt.score, attempt.max_score) == (1, 1)
    answer = await AttemptAnswer.get(attempt_id=attempt.id)
    assert (answer.correct, answer.chosen) == (True, "")


async def test_forged_and_expired_links_are_404(client: httpx.AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    session = await make_session()
    manage_path = (await _submit(client, session.id)).headers["location"]
    token = manage_path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await client.get(f"/registrations/{forged}")).status_code == 404
    registration = await Registration.get()

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(datetime.now(UTC).timestamp()) - 401 * 24 * 3600

    old = URLSafeTimedSerializer(
        settings.secret_key, salt="sala.registration.manage", signer=LongAgo
    )
    expired = old.dumps([registration.id, registration.manage_key])
    assert (await client.get(f"/registrations/{expired}")).status_code == 404
    other_key = URLSafeTimedSerializer("another installation", salt="sala.registration.manage")
    foreign = other_key.dumps([registration.id, registration.manage_key])
    assert (await client.get(f"/registrations/{foreign}")).status_code == 404
