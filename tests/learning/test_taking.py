"""Taking the pre-test and the post-test through the pages, on both databases: who may, when,
the scoring, the one result, what is never shown, the manage page, the email, the poster.

Every session here has two questions: a one-answer question (A right, B and C wrong) and a
several-answers question (D and E right, F wrong), in one test used before and after.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import zxingcpp
from PIL import Image
from starlette.applications import Starlette

from attendees.manage import manage_token, registration_for_token
from attendees.models import Registration, RegistrationStatus
from attendees.registration import cancel_registration
from events.models import Session, SessionStatus, Topic
from learning import attempts
from learning import bank as learning_bank
from learning.bank import post_test_open, pre_test_open
from learning.errors import PhaseAlreadyTaken
from learning.forms import parse_question
from learning.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    LearningTest,
    Question,
    QuestionKind,
    SessionEvaluation,
    TestQuestion,
)
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.errors import ValidationFailed
from sala.mail import SmtpTransport, deliver_due
from sala.models import Role
from tests.factories import (
    csrf_from,
    log_in,
    make_session,
    make_staff,
    move_session,
    register_person,
)
from tests.mail_server import MailServer

# ----------------------------------------------------------------------------- set-up


@dataclass
class Bank:
    test: LearningTest
    single: Question
    several: Question
    choices: dict[str, Choice]  # "A" … "F"

    def ids(self, *letters: str) -> list[str]:
        return [str(self.choices[letter].id) for letter in letters]

    def form(self, single: str = "A", several: str = "DE") -> dict[str, Any]:
        return {f"q{self.single.id}": self.ids(*single), f"q{self.several.id}": self.ids(*several)}


async def _bank() -> Bank:
    topic = await Topic.get(code="sogie")
    test = await LearningTest.create(topic=topic, name_en="SOGIE basics", name_km="មូលដ្ឋាន")
    single = await Question.create(
        topic=topic, kind=QuestionKind.SINGLE,
        text_en="What does the G in SOGIE stand for?", text_km="តើ G ក្នុង SOGIE មានន័យអ្វី?",
    )  # fmt: skip
    several = await Question.create(
        topic=topic, kind=QuestionKind.MULTIPLE, text_en="Which are gender identities?"
    )
    choices: dict[str, Choice] = {}
    for question, letters in ((single, "ABC"), (several, "DEF")):
        for position, letter in enumerate(letters):
            choices[letter] = await Choice.create(
                question=question, text_en=f"Choice {letter}", position=position,
                correct=letter in "ADE",
            )  # fmt: skip
    # The several-answers question first in the bank, second in the test: the test's order.
    await TestQuestion.create(test=test, question=several, position=2)
    await TestQuestion.create(test=test, question=single, position=1)
    return Bank(test, single, several, choices)


async def _session_with_tests(*, pre: bool = True, post: bool = True, **fields: Any) -> Any:
    session = await make_session(**fields)
    bank = await _bank()
    await SessionEvaluation.create(
        session=session, pre_test=bank.test if pre else None, post_test=bank.test if post else None
    )
    return session, bank


def _manage(registration: Registration, settings: Settings) -> str:
    return f"/registrations/{manage_token(registration, settings)}"


def _test_url(registration: Registration, settings: Settings, phase: str) -> str:
    return f"{_manage(registration, settings)}/tests/{phase}"


async def _take(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return await client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


async def _end(session: Session) -> None:
    """The session ended an hour ago."""
    await move_session(session, datetime.now(UTC) - timedelta(hours=4))


async def _check_in(registration: Registration) -> None:
    await Registration.filter(id=registration.id).update(checked_in_at=datetime.now(UTC))


# ----------------------------------------------------------------------------- who


async def test_strangers_and_forged_tokens_get_404(client: httpx.AsyncClient, settings: Settings):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "pre")
    token = manage_token(registration, settings)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for path in (
        "/registrations/forged/tests/pre",
        f"/registrations/{forged}/tests/pre",
        f"/registrations/{'x' * 300}/tests/post",
        url.replace("/pre", "/middle"),
    ):
        assert (await client.get(path)).status_code == 404, path
        assert (await client.post(path, data=bank.form())).status_code == 404, path
    # A session without tests has none to take; the page still answers the right person.
    bare = await make_session()
    other = (await register_person(bare, settings)).registration
    assert (await client.get(_test_url(other, settings, "pre"))).status_code == 404
    # A deleted registration's link is dead.
    await Registration.filter(id=registration.id).update(anonymised_at=datetime.now(UTC))
    assert (await client.get(url)).status_code == 404
    assert await Attempt.all().count() == 0


async def test_only_confirmed_seats_of_a_live_session_take_a_test(
    client: httpx.AsyncClient, settings: Settings
):
    session, _bank = await _session_with_tests(capacity="1")
    first = (await register_person(session, settings)).registration
    waiting = (await register_person(session, settings)).registration
    assert waiting.status == RegistrationStatus.WAITLISTED

    answer = await client.get(_test_url(waiting, settings, "pre"))
    assert answer.status_code == 403
    assert "Only people with a confirmed seat can take this test." in answer.text
    manage = await client.get(_manage(waiting, settings))
    assert "Take the pre-test" not in manage.text and 'id="tests-title"' not in manage.text

    await cancel_registration(first.id, settings=settings, actor=None)  # the waiting one moves up
    assert (await client.get(_test_url(first, settings, "pre"))).status_code == 403
    assert (await client.get(_test_url(waiting, settings, "pre"))).status_code == 200

    await Session.filter(id=session.id).update(status=SessionStatus.CANCELLED)
    refused = await client.get(_test_url(waiting, settings, "pre"))
    assert refused.status_code == 403 and "This training has been cancelled." in refused.text
    assert "Take the pre-test" not in (await client.get(_manage(waiting, settings))).text
    assert await Attempt.all().count() == 0


async def test_the_post_test_is_for_those_who_came(client: httpx.AsyncClient, settings: Settings):
    session, bank = await _session_with_tests()
    came = (await register_person(session, settings)).registration
    stayed_home = (await register_person(session, settings)).registration
    await _end(session)
    # Nobody checked in (no scanner at the door): every confirmed seat may take it.
    assert (await client.get(_test_url(stayed_home, settings, "post"))).status_code == 200
    await _check_in(came)
    refused = await client.get(_test_url(stayed_home, settings, "post"))
    assert refused.status_code == 403
    assert "The post-test is for the people who came to the session." in refused.text
    assert "Take the post-test" not in (await client.get(_manage(stayed_home, settings))).text
    answer = await _take(client, _test_url(came, settings, "post"), bank.form())
    assert answer.status_code == 303


# ----------------------------------------------------------------------------- when


async def test_the_pre_test_closes_when_the_session_starts(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "pre")
    page = await client.get(url)
    assert page.status_code == 200
    await move_session(session, datetime.now(UTC) - timedelta(minutes=5))  # just started

    closed = await client.get(url)
    assert closed.status_code == 409
    assert "The pre-test closed when the session started." in closed.text
    late = await client.post(url, data={**bank.form(), "csrf_token": csrf_from(page.text)})
    assert late.status_code == 409
    assert await Attempt.all().count() == 0
    assert "Take the pre-test" not in (await client.get(_manage(registration, settings))).text


async def test_the_post_test_opens_at_the_end_or_when_staff_open_it(
    client: httpx.AsyncClient, settings: Settings
):
    session, _bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "post")
    await move_session(session, datetime.now(UTC) - timedelta(hours=1))  # under way

    closed = await client.get(url)
    assert closed.status_code == 409
    assert "The post-test opens when the session ends." in closed.text
    manage = await client.get(_manage(registration, settings))
    assert "After the session, a short post-test opens here." in manage.text
    assert "Take the post-test" not in manage.text

    # Opened early by staff (a time in the future opens nothing yet).
    soon = datetime.now(UTC) + timedelta(minutes=10)
    await SessionEvaluation.filter(session_id=session.id).update(post_opened_at=soon)
    assert (await client.get(url)).status_code == 409
    await SessionEvaluation.filter(session_id=session.id).update(
        post_opened_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    assert (await client.get(url)).status_code == 200
    assert "Take the post-test" in (await client.get(_manage(registration, settings))).text

    await SessionEvaluation.filter(session_id=session.id).update(post_opened_at=None)
    assert (await client.get(url)).status_code == 409
    await _end(session)
    assert (await client.get(url)).status_code == 200


def test_the_opening_rules() -> None:
    now = datetime(2026, 12, 3, 9, tzinfo=UTC)
    session = Session(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=4))
    evaluation = SessionEvaluation(post_opened_at=None, post_test_id=1)
    assert pre_test_open(session, now)
    assert not pre_test_open(session, session.starts_at)
    assert not post_test_open(evaluation, session, now)
    assert post_test_open(evaluation, session, session.ends_at)
    evaluation.post_opened_at = now
    assert post_test_open(evaluation, session, now)
    assert not post_test_open(evaluation, session, now - timedelta(seconds=1))


# ----------------------------------------------------------------------------- scoring


async def test_scoring_single_and_multiple_choice(client: httpx.AsyncClient, settings: Settings):
    session, bank = await _session_with_tests()
    people = [(await register_person(session, settings)).registration for _ in range(4)]
    answers = [("A", "DE"), ("A", "D"), ("B", "DE"), ("C", "DEF")]  # 2, 1 (partial), 1, 0
    for registration, (single, several) in zip(people, answers, strict=True):
        url = _test_url(registration, settings, "pre")
        answer = await _take(client, url, bank.form(single, several))
        assert answer.status_code == 303 and answer.headers["location"].endswith("?taken=1")
    scores = [
        (await Attempt.get(registration_id=r.id)).score for r in people
    ]  # fmt: skip
    assert scores == [2, 1, 1, 0]
    attempt = await Attempt.get(registration_id=people[3].id)
    assert (attempt.max_score, attempt.phase, attempt.test_id) == (2, "pre", bank.test.id)
    stored = await AttemptAnswer.filter(attempt_id=attempt.id).order_by("id")
    assert [row.question_id for row in stored] == [bank.single.id, bank.several.id]  # test order
    assert stored[0].chosen == bank.ids("C")[0] and stored[0].correct is False
    assert stored[1].chosen == ",".join(sorted(bank.ids(*"DEF"), key=int))
    partial = await AttemptAnswer.get(
        attempt__registration_id=people[1].id, question_id=bank.several.id
    )
    assert partial.correct is False

    result = await client.get(_test_url(people[1], settings, "pre") + "?taken=1")
    assert "Thank you: your answers are saved." in result.text and "1 of 2" in result.text


async def test_taking_a_test_twice_answers_the_first_result(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "pre")
    page = await client.get(url)
    first = await client.post(url, data={**bank.form("A", "D"), "csrf_token": csrf_from(page.text)})
    assert first.status_code == 303
    # The same form sent again, with better answers: the first result.
    again = await client.post(
        url, data={**bank.form("A", "DE"), "csrf_token": csrf_from(page.text)}
    )
    assert again.status_code == 200
    assert "You already took this test: your score was 1 of 2." in again.text
    shown = await client.get(url)
    assert shown.status_code == 200 and "your score was 1 of 2" in shown.text
    assert 'type="radio"' not in shown.text
    assert await Attempt.filter(registration_id=registration.id).count() == 1
    assert await AttemptAnswer.all().count() == 2
    # The result stays after the test closed.
    await move_session(session, datetime.now(UTC) - timedelta(hours=1))
    assert "your score was 1 of 2" in (await client.get(url)).text


async def test_two_submits_at_the_same_moment_keep_one_attempt(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    loaded = await registration_for_token(manage_token(registration, settings), settings)
    now = datetime.now(UTC)
    one, two = await asyncio.gather(
        attempts.submit_test(loaded, "pre", bank.form("A", "DE"), now=now),
        attempts.submit_test(loaded, "pre", bank.form("B", "F"), now=now),
    )
    assert one.attempt.id == two.attempt.id
    assert sorted([one.already, two.already]) == [False, True]
    assert await Attempt.all().count() == 1
    assert await AttemptAnswer.all().count() == 2


async def test_choices_of_other_questions_are_refused_and_nothing_saved(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "pre")
    for wrong in (bank.ids("D"), ["abc"], ["9" * 5000], ["-1"], [str(10**9)]):
        answer = await _take(client, url, {**bank.form(), f"q{bank.single.id}": wrong})
        assert answer.status_code == 422, wrong
        assert "This answer is not one of the choices. Please choose again." in answer.text
        # What was typed is kept: the several-answers question still shows D and E chosen.
        for choice_id in bank.ids("D", "E"):
            assert re.search(rf'value="{choice_id}" checked', answer.text)
    two_for_one = await _take(
        client, url, {**bank.form(), f"q{bank.single.id}": bank.ids("A", "B")}
    )
    assert two_for_one.status_code == 422 and "Choose only one answer." in two_for_one.text
    assert await Attempt.all().count() == 0 and await AttemptAnswer.all().count() == 0


async def test_unanswered_questions_are_asked_again(client: httpx.AsyncClient, settings: Settings):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "pre")
    answer = await _take(client, url, {f"q{bank.single.id}": bank.ids("B")})
    assert answer.status_code == 422
    assert "Please answer every question." in answer.text
    assert "Question 2: Please answer this question." in answer.text
    assert f'href="#q{bank.several.id}"' in answer.text
    assert re.search(rf'value="{bank.ids("B")[0]}" checked', answer.text)
    assert await Attempt.all().count() == 0
    # In Khmer, the question and the message too.
    khmer = await _take(client, url + "?lang=km", {})
    assert khmer.status_code == 422 and '<html lang="km">' in khmer.text
    assert "តើ G ក្នុង SOGIE មានន័យអ្វី?" in khmer.text


# ----------------------------------------------------------------------------- what is shown


async def test_the_correct_answers_are_shown_after_the_post_test_only(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    page = await client.get(_test_url(registration, settings, "pre"))
    assert "fieldset" in page.text and "<legend>" in page.text
    assert 'type="radio"' in page.text and 'type="checkbox"' in page.text
    assert "correct" not in page.text.lower()  # nothing in the form gives the answers away

    await _take(client, _test_url(registration, settings, "pre"), bank.form("B", "D"))
    before = await client.get(_test_url(registration, settings, "pre"))
    assert "your score was 0 of 2" in before.text
    assert "a correct answer" not in before.text and "Wrong" not in before.text
    assert "Choice A" not in before.text

    # The post-test opened early, while the pre-test is still open to others: no answers yet.
    await SessionEvaluation.filter(session_id=session.id).update(
        post_opened_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    other = (await register_person(session, settings)).registration
    await _take(client, _test_url(other, settings, "post"), bank.form("A", "DE"))
    early = await client.get(_test_url(other, settings, "post"))
    assert "your score was 2 of 2" in early.text and "a correct answer" not in early.text

    await _end(session)
    await _take(client, _test_url(registration, settings, "post"), bank.form("A", "D"))
    after = await client.get(_test_url(registration, settings, "post") + "?taken=1")
    assert "1 of 2" in after.text
    assert after.text.count("(a correct answer)") == 3  # A, D and E
    assert (
        after.text.count("(your answer)") == 2 and "Right" in after.text and "Wrong" in after.text
    )


async def test_no_review_while_another_session_still_has_those_questions_as_its_pre_test(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    # Another session of the topic, not started yet, with a test holding one of the same
    # questions as its pre-test (a test of its own: not the same test, the same question).
    later = await make_session(topic="sogie")
    other_test = await LearningTest.create(topic_id=bank.test.topic_id, name_en="Form B")  # type: ignore[attr-defined]
    await TestQuestion.create(test=other_test, question=bank.single, position=1)
    await SessionEvaluation.create(session=later, pre_test=other_test)
    await _end(session)
    url = _test_url(registration, settings, "post")
    await _take(client, url, bank.form("A", "D"))
    hidden = await client.get(url)
    assert "1 of 2" in hidden.text and "(a correct answer)" not in hidden.text
    assert "Choice A" not in hidden.text
    # Cancelled, the other session's pre-test opens to nobody: the review shows.
    await Session.filter(id=later.id).update(status=SessionStatus.CANCELLED)
    assert "(a correct answer)" in (await client.get(url)).text
    # Live again but started: the same.
    await Session.filter(id=later.id).update(status=SessionStatus.PUBLISHED)
    assert "(a correct answer)" not in (await client.get(url)).text
    await move_session(later, datetime.now(UTC) - timedelta(minutes=5))
    assert (await client.get(url)).text.count("(a correct answer)") == 3
    # The same test as another session's pre-test holds the review back too.
    third = await make_session(topic="sogie")
    await SessionEvaluation.create(session=third, pre_test=bank.test)
    assert "(a correct answer)" not in (await client.get(url)).text


async def test_a_form_sent_as_staff_change_the_test_comes_back_with_it(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "pre")
    page = await client.get(url)
    # Staff switch the pre-test while the form is open: the answers were to the old one.
    topic = await Topic.get(code="sogie")
    new_question = await Question.create(topic=topic, text_en="Which year is it now?")
    await Choice.create(question=new_question, text_en="This one", correct=True)
    new_test = await LearningTest.create(topic=topic, name_en="Form B")
    await TestQuestion.create(test=new_test, question=new_question, position=1)
    staff = await make_staff(Role.ADMIN, email="admin@example.org")
    await learning_bank.choose_tests(
        session, pre_test_id=new_test.id, post_test_id=bank.test.id, staff=staff
    )
    sent = await client.post(url, data={**bank.form(), "csrf_token": csrf_from(page.text)})
    assert sent.status_code == 422
    assert "Which year is it now?" in sent.text
    assert "What does the G in SOGIE stand for?" not in sent.text
    assert await Attempt.all().count() == 0
    # A question edited while the form was open has new choices: chosen again, not scored.
    await learning_bank.choose_tests(
        session, pre_test_id=bank.test.id, post_test_id=bank.test.id, staff=staff
    )
    page = await client.get(url)
    edited, problems = parse_question(
        {"kind": "single", "text_en": "What does G stand for?", "choice_en_1": "Gender",
         "choice_en_2": "Green", "correct": "1"}
    )  # fmt: skip
    assert edited is not None, problems
    await learning_bank.update_question(
        bank.single, edited, image=None, remove_image=False, settings=settings, staff=staff
    )
    sent = await client.post(url, data={**bank.form(), "csrf_token": csrf_from(page.text)})
    assert sent.status_code == 422 and "What does G stand for?" in sent.text
    assert "This answer is not one of the choices." in sent.text
    assert await Attempt.all().count() == 0


async def test_a_first_attempt_and_a_change_of_tests_at_once_never_mix(
    client: httpx.AsyncClient, settings: Settings
):
    """Under the session's settings row lock: either the attempt is of the test the session
    still has (and the change is refused), or the change came first (and the form comes back)."""
    staff = await make_staff(Role.ADMIN, email="admin@example.org")
    topic = await Topic.get(code="sogie")
    for _ in range(3):
        session, bank = await _session_with_tests()
        other = await LearningTest.create(topic=topic, name_en="Form B")
        await TestQuestion.create(test=other, question=bank.single, position=1)
        registration = (await register_person(session, settings)).registration
        loaded = await registration_for_token(manage_token(registration, settings), settings)
        submitted, changed = await asyncio.gather(
            attempts.submit_test(loaded, "pre", bank.form(), now=datetime.now(UTC)),
            learning_bank.choose_tests(
                session, pre_test_id=other.id, post_test_id=bank.test.id, staff=staff
            ),
            return_exceptions=True,
        )
        evaluation = await SessionEvaluation.get(session_id=session.id)
        taken = await Attempt.filter(session_id=session.id)
        if isinstance(changed, PhaseAlreadyTaken):
            assert len(taken) == 1 and taken[0].test_id == evaluation.pre_test_id == bank.test.id
        else:
            assert not isinstance(changed, BaseException), changed
            assert evaluation.pre_test_id == other.id
            if isinstance(submitted, ValidationFailed):
                assert taken == []
            else:  # the attempt came first and the change did not see it: never
                assert not isinstance(submitted, BaseException), submitted
                assert taken == [] or taken[0].test_id == other.id


async def test_a_form_too_large_to_read_comes_back(client: httpx.AsyncClient, settings: Settings):
    session, _bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    url = _test_url(registration, settings, "pre")
    page = await client.get(url)
    data = {f"x{n}": "1" for n in range(250)}
    answer = await client.post(url, data={**data, "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 422
    assert "The form could not be read." in answer.text and 'type="radio"' in answer.text
    assert await Attempt.all().count() == 0


async def test_the_manage_page_shows_the_right_link_or_result(
    client: httpx.AsyncClient, settings: Settings
):
    session, bank = await _session_with_tests()
    registration = (await register_person(session, settings)).registration
    manage = _manage(registration, settings)
    page = await client.get(manage)
    assert f'href="{manage}/tests/pre"' in page.text and "Take the pre-test" in page.text
    assert "Take the post-test" not in page.text
    assert "After the session, a short post-test opens here." in page.text

    await _take(client, f"{manage}/tests/pre", bank.form("A", "DE"))
    page = await client.get(manage)
    assert "Your pre-test score: 2 of 2" in page.text and "Take the pre-test" not in page.text

    await _end(session)
    page = await client.get(manage)
    assert "Your pre-test score: 2 of 2" in page.text
    assert f'href="{manage}/tests/post"' in page.text and "Take the post-test" in page.text
    await _take(client, f"{manage}/tests/post", bank.form("A", "D"))
    assert "Your post-test score: 1 of 2" in (await client.get(manage)).text

    # Only a post-test: no pre-test line; no tests at all: nothing.
    only_post, _bank = await _session_with_tests(pre=False)
    someone = (await register_person(only_post, settings)).registration
    page = await client.get(_manage(someone, settings))
    assert "pre-test" not in page.text and "After the session, a short post-test" in page.text
    assert (await client.get(_test_url(someone, settings, "pre"))).status_code == 404
    bare = await make_session()
    nobody = (await register_person(bare, settings)).registration
    page = await client.get(_manage(nobody, settings))
    assert page.status_code == 200 and 'id="tests-title"' not in page.text


# ----------------------------------------------------------------------------- the email


def _text(message: EmailMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_content())  # type: ignore[attr-defined]
    raise AssertionError("no text part")


async def test_the_confirmation_email_carries_the_pre_test_link(
    smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer, smtp_client: Any
):
    session, _bank = await _session_with_tests()
    with_test = (await register_person(session, smtp_settings, email="a@example.org")).registration
    only_post, _bank = await _session_with_tests(pre=False)
    await register_person(only_post, smtp_settings, email="b@example.org")
    bare = await make_session()
    await register_person(bare, smtp_settings, email="c@example.org")
    assert await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings) == 3

    by_address = {message["To"]: message for message in mail_server.inbox.messages}
    text = _text(by_address["a@example.org"])
    assert "take a short pre-test" in text, text
    found = re.search(r"http://testserver(/registrations/([^/\s]+)/tests/pre)\b", text)
    assert found, text
    expected, token = found.group(1), found.group(2)
    assert (await registration_for_token(token, smtp_settings)).id == with_test.id
    html = next(
        part.get_content() for part in by_address["a@example.org"].walk()
        if part.get_content_type() == "text/html"
    )  # fmt: skip
    assert re.search(r'href="http://testserver/registrations/[^/"]+/tests/pre"', html)
    for address in ("b@example.org", "c@example.org"):
        assert "pre-test" not in _text(by_address[address])
        assert "/tests/" not in _text(by_address[address])
    # The link opens the test.
    opened = await smtp_client.get(expected)
    assert opened.status_code == 200 and "Send my answers" in opened.text


# ----------------------------------------------------------------------------- the wall


def _qr_text(html: str) -> str:
    found = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert found, "no QR image on the page"
    png = base64.b64decode(found.group(1))
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(codes) == 1
    return str(codes[0].text)


async def test_the_poster_is_for_the_sessions_staff_and_its_qr_opens_the_wall(
    client: httpx.AsyncClient, settings: Settings, new_client: Any
):
    facilitator = await make_staff(Role.FACILITATOR)
    session, _bank = await _session_with_tests(facilitators=(facilitator,))
    path = f"/staff/sessions/{session.id}/post-test-poster"

    anonymous = await client.get(path)
    assert anonymous.status_code == 303 and "/staff/login" in anonymous.headers["location"]
    for role in (Role.TEAM_LEADER, Role.FACILITATOR):
        async with new_client() as other:
            await log_in(other, await make_staff(role))
            assert (await other.get(path)).status_code == 403, role
    async with new_client() as missing:
        await log_in(missing, await make_staff(Role.ADMIN))
        assert (
            await missing.get(f"/staff/sessions/{session.id + 999}/post-test-poster")
        ).status_code == 404

    await log_in(client, facilitator)
    poster = await client.get(path)
    assert poster.status_code == 200
    assert session.title_en in poster.text and session.title_km in poster.text
    wall_url = f"http://testserver/sessions/{session.id}/post-test"
    assert _qr_text(poster.text) == wall_url
    # The scanner leads there.
    scanner = await client.get(f"/staff/checkin/{session.id}")
    assert f'href="{path}"' in scanner.text

    async with new_client() as person:
        wall = await person.get(wall_url.removeprefix("http://testserver"))
    assert wall.status_code == 200
    assert 'href="/registrations/lost?lang=' in wall.text
    assert "The post-test is on your own registration page." in wall.text
    assert 'lang="km"' in wall.text  # both languages at once
    assert session.title_en in wall.text  # a public session's title


async def test_the_wall_page_tells_nothing_of_an_invite_only_session(
    client: httpx.AsyncClient, settings: Settings
):
    session, _bank = await _session_with_tests(audience="invite_only", title_en="Quiet circle")
    wall = await client.get(f"/sessions/{session.id}/post-test")
    assert wall.status_code == 200
    assert "Quiet circle" not in wall.text and 'class="topic"' not in wall.text
    assert (await client.get("/sessions/999999/post-test")).status_code == 200
