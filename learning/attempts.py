"""Taking a session's pre-test and post-test: who may, when, the scoring, the one result.

- **Who**: the holder of a registration's manage link (``attendees.manage``), with a confirmed
  seat in a session that is not cancelled. The post-test is for the people who came: once a
  session has any check-in, only the checked-in may take it; a session nobody was checked in
  to (an online session, a door without the scanner) leaves it to every confirmed seat, as
  nobody there can tell who came.
- **When**: the pre-test until the session starts, the post-test from its end, or from when
  staff opened it (``learning.bank.pre_test_open`` and ``post_test_open``).
- **Scoring**: a point per question whose chosen set of choices is exactly its correct set
  (a part of the right answers to a multiple-choice question is wrong); the maximum is the
  number of questions. Every question must be answered: the form comes back showing which.
- **One result**: an :class:`Attempt` per registration and phase (a unique constraint).
  Taking a test again, even two submits at the same moment, answers the first result.
- The correct answers are shown after the post-test only, and only once no pre-test holding
  any of its questions is open, at this session or another (``bank.pre_test_open_anywhere``):
  with the same questions before and after, they would otherwise give a pre-test away.
- **Submitting** locks the session's row and its :class:`SessionEvaluation` row (in the order
  ``bank.choose_tests`` does), then the test's row and its questions' rows (in id order),
  and reads the test, its questions and the answers again under those locks. Staff switching
  the session's tests (``bank.choose_tests`` locks the same rows) or editing the test or a
  question (``bank`` locks those rows) is therefore wholly before or wholly after a first
  attempt: never an attempt of a test that is no longer the
  session's, nor an edit of a question landing with its first answer. On SQLite the first
  lock takes the database's write lock, which serialises the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.query_utils import Prefetch
from tortoise.transactions import in_transaction

from attendees.manage import manage_token
from attendees.models import Registration, RegistrationStatus
from events.models import Session, SessionStatus
from learning.bank import post_test_open, pre_test_open, pre_test_open_anywhere
from learning.errors import InvalidChoice, NotYourTest, TestClosed, TestNotFound, Unanswered
from learning.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    Phase,
    Question,
    QuestionKind,
    SessionEvaluation,
    TestQuestion,
)
from sala import db, links
from sala.config import Settings
from sala.i18n import N_

_CHOICE_ID_DIGITS = 12  # longer is not an id of ours (and ``int()`` of a huge one is slow)

# ----------------------------------------------------------------------------- errors


CLOSED = {  # why a test is closed, by phase
    Phase.PRE: N_("The pre-test closed when the session started."),
    Phase.POST: N_("The post-test opens when the session ends."),
}
_NOT_CAME = N_("The post-test is for the people who came to the session.")
_SESSION_CANCELLED = N_("This training has been cancelled.")

ANSWER_ALL = N_("Please answer every question. The ones still to answer are marked below.")
NOT_A_CHOICE = N_("This answer is not one of the choices. Please choose again.")
PLEASE_ANSWER = N_("Please answer this question.")
ONLY_ONE = N_("Choose only one answer.")

# ----------------------------------------------------------------------------- the questions


async def questions_of(test_id: int) -> list[Question]:
    """The questions of a test in the test's order, each with its choices (in their order)."""
    entries = await TestQuestion.filter(test_id=test_id).order_by("position", "id")
    order = [entry.question_id for entry in entries]
    if not order:
        return []
    found = await Question.filter(id__in=order).prefetch_related(
        Prefetch("choices", queryset=Choice.all().order_by("position", "id"))
    )
    by_id = {question.id: question for question in found}
    return [by_id[question_id] for question_id in order if question_id in by_id]


def _correct_ids(question: Question) -> frozenset[int]:
    return frozenset(choice.id for choice in question.choices if choice.correct)


def read_answers(
    questions: Sequence[Question], form: Mapping[str, Sequence[str]]
) -> dict[int, frozenset[int]]:
    """The chosen choice ids per question from the form (field ``q<question id>``).

    Raises :class:`InvalidChoice` if an answer is not one of its question's choices (nothing
    is then saved), :class:`Unanswered` if a question has no answer or a one-answer question
    several; ``errors`` maps the field of each such question to what is wrong."""
    chosen: dict[int, frozenset[int]] = {}
    invalid: dict[str, str] = {}
    missing: dict[str, str] = {}
    for question in questions:
        field = f"q{question.id}"
        allowed = {choice.id for choice in question.choices}
        picked: set[int] = set()
        for raw in form.get(field, ()):
            value = raw.strip()
            if not (value.isdecimal() and len(value) <= _CHOICE_ID_DIGITS) or (
                int(value) not in allowed
            ):
                invalid[field] = NOT_A_CHOICE
                break
            picked.add(int(value))
        if field in invalid:
            continue
        if not picked:
            missing[field] = PLEASE_ANSWER
        elif question.kind == QuestionKind.SINGLE and len(picked) > 1:
            missing[field] = ONLY_ONE
        chosen[question.id] = frozenset(picked)
    if invalid:
        raise InvalidChoice({**missing, **invalid})
    if missing:
        raise Unanswered(missing, ANSWER_ALL)
    return chosen


def score(questions: Sequence[Question], chosen: Mapping[int, frozenset[int]]) -> int:
    """A point per question answered with exactly its correct choices."""
    return sum(1 for q in questions if chosen.get(q.id, frozenset()) == _correct_ids(q))


# ----------------------------------------------------------------------------- who, which test


@dataclass(frozen=True)
class Sitting:
    """One registration before one test of its session: the result if taken, else whether
    it is open now. Made only for someone who may take it, or who took it."""

    registration: Registration
    session: Session
    evaluation: SessionEvaluation
    phase: Phase
    test_id: int
    attempt: Attempt | None
    is_open: bool
    # A pre-test holding a question of the attempt is still open, here or at another session.
    pre_test_still_open: bool

    @property
    def shows_answers(self) -> bool:
        """The correct answers may be shown after this test (see the module's docstring)."""
        return self.phase == Phase.POST and not self.pre_test_still_open


async def answers_would_give_away(attempt: Attempt, session: Session, now: datetime) -> bool:
    """Showing which answers of this attempt are right could give a pre-test away: this
    session's pre-test is still open, or another session's pre-test holding one of the
    attempt's questions is (:func:`learning.bank.pre_test_open_anywhere`)."""
    if pre_test_open(session, now):
        return True
    answered = await AttemptAnswer.filter(attempt_id=attempt.id).values_list(
        "question_id", flat=True
    )
    return await pre_test_open_anywhere({int(i) for i in answered}, now)  # type: ignore[call-overload]


def _phase(name: str) -> Phase:
    try:
        return Phase(name)
    except ValueError as exc:
        raise TestNotFound() from exc


def _test_id(evaluation: SessionEvaluation | None, phase: Phase) -> int | None:
    if evaluation is None:
        return None
    return evaluation.pre_test_id if phase == Phase.PRE else evaluation.post_test_id


async def _has_questions(test_id: int | None) -> bool:
    return test_id is not None and await TestQuestion.filter(test_id=test_id).exists()


async def _came(registration: Registration) -> bool:
    """Checked in, or nobody was checked in to the session at all (see the docstring)."""
    if registration.checked_in_at is not None:
        return True
    return not await Registration.filter(
        session_id=registration.session_id,  # type: ignore[attr-defined]
        checked_in_at__isnull=False,
    ).exists()


async def _refusal(registration: Registration, session: Session, phase: Phase) -> str | None:
    """Why this registration may not take this test, or None if it may."""
    if session.status == SessionStatus.CANCELLED:
        return _SESSION_CANCELLED
    if registration.status != RegistrationStatus.CONFIRMED or registration.anonymised_at:
        return NotYourTest.message
    if phase == Phase.POST and not await _came(registration):
        return _NOT_CAME
    return None


async def sitting_for(registration: Registration, phase_name: str, now: datetime) -> Sitting:
    """The test of ``phase_name`` (``pre`` or ``post``) for this registration (its session
    loaded): :class:`TestNotFound` if the session has none, :class:`NotYourTest` if this
    registration may not take it and has not taken it."""
    phase = _phase(phase_name)
    session: Session = registration.session
    evaluation = await SessionEvaluation.get_or_none(session_id=session.id)
    test_id = _test_id(evaluation, phase)
    if evaluation is None or test_id is None or not await _has_questions(test_id):
        raise TestNotFound()
    attempt = await Attempt.get_or_none(registration_id=registration.id, phase=phase)
    if attempt is None and (why := await _refusal(registration, session, phase)):
        raise NotYourTest(why)
    is_open = _is_open(evaluation, session, phase, now)
    if attempt is not None and phase == Phase.POST:
        still_open = await answers_would_give_away(attempt, session, now)
    else:
        still_open = pre_test_open(session, now)
    return Sitting(
        registration, session, evaluation, phase, test_id, attempt, is_open,
        pre_test_still_open=still_open,
    )  # fmt: skip


def _is_open(evaluation: SessionEvaluation, session: Session, phase: Phase, now: datetime) -> bool:
    if phase == Phase.PRE:
        return pre_test_open(session, now)
    return post_test_open(evaluation, session, now)


# ----------------------------------------------------------------------------- taking it


@dataclass(frozen=True)
class Submitted:
    attempt: Attempt
    already: bool  # the test had been taken before: this is the first result


async def submit_test(
    registration: Registration,
    phase_name: str,
    form: Mapping[str, Sequence[str]],
    *,
    now: datetime,
) -> Submitted:
    """Score and keep one registration's answers to one test, once.

    Taken before (or by a submit at the same moment): the first result, ``already`` set.
    Raises :class:`TestClosed`, :class:`InvalidChoice` or :class:`Unanswered` (nothing saved),
    and what :func:`sitting_for` raises. The test, its questions and the answers are read
    again under the locks of the module's docstring, so a form sent just as staff changed the
    test comes back (422) with the test as it now is."""
    sitting = await sitting_for(registration, phase_name, now)
    if sitting.attempt is not None:
        return Submitted(sitting.attempt, already=True)
    if not sitting.is_open:
        raise TestClosed(CLOSED[sitting.phase])
    try:
        async with in_transaction() as connection:
            return await _record(connection, sitting, form, now)
    except IntegrityError:  # the same test submitted twice at the same moment: that one
        first = await Attempt.get_or_none(registration_id=registration.id, phase=sitting.phase)
        if first is None:
            raise
        return Submitted(first, already=True)


async def _record(
    connection: BaseDBAsyncClient,
    sitting: Sitting,
    form: Mapping[str, Sequence[str]],
    now: datetime,
) -> Submitted:
    """Inside the transaction: lock, read again, score, write (see the module's docstring)."""
    phase, session = sitting.phase, sitting.session
    # The session's row first, as ``bank.choose_tests`` takes them: the attempt's foreign key
    # to the session waits for that row anyway, so the other order could deadlock.
    await db.lock_row(connection, "session", session.id)
    await db.lock_row(connection, "learning_session", sitting.evaluation.id)
    first = await Attempt.get_or_none(registration_id=sitting.registration.id, phase=phase)
    if first is not None:
        return Submitted(first, already=True)
    evaluation = await SessionEvaluation.get(id=sitting.evaluation.id)
    test_id = _test_id(evaluation, phase)
    if test_id is None:
        raise TestNotFound()
    if not _is_open(evaluation, session, phase, now):
        raise TestClosed(CLOSED[phase])
    await db.lock_row(connection, "learning_test", test_id)
    entries = await TestQuestion.filter(test_id=test_id).values_list("question_id", flat=True)
    for question_id in sorted({int(i) for i in entries}):  # type: ignore[call-overload]
        await db.lock_row(connection, "learning_question", question_id)
    questions = await questions_of(test_id)
    if not questions:
        raise TestNotFound()
    chosen = read_answers(questions, form)
    attempt = await Attempt.create(
        registration_id=sitting.registration.id,
        session_id=session.id,
        phase=phase,
        test_id=test_id,
        score=score(questions, chosen),
        max_score=len(questions),
        submitted_at=now,
    )
    for question in questions:  # one by one, in order: the ids keep the test's order
        picked = chosen[question.id]
        await AttemptAnswer.create(
            attempt=attempt,
            question=question,
            chosen=",".join(str(choice_id) for choice_id in sorted(picked)),
            correct=picked == _correct_ids(question),
        )
    return Submitted(attempt, already=False)


# ----------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class ReviewedAnswer:
    """One answered question, for the review after the post-test."""

    question: Question
    chosen: frozenset[int]
    correct: bool


async def review_of(attempt: Attempt) -> list[ReviewedAnswer]:
    """What was answered to each question of an attempt, in the order it was asked."""
    answers = await AttemptAnswer.filter(attempt_id=attempt.id).order_by("id")
    questions = await Question.filter(
        id__in=[answer.question_id for answer in answers]
    ).prefetch_related(Prefetch("choices", queryset=Choice.all().order_by("position", "id")))
    by_id = {question.id: question for question in questions}
    return [
        ReviewedAnswer(
            by_id[answer.question_id],
            frozenset(int(part) for part in answer.chosen.split(",") if part),
            answer.correct,
        )
        for answer in answers
    ]


# ----------------------------------------------------------------------------- elsewhere


@dataclass(frozen=True)
class TestOnPage:
    """One line of the manage page's tests: take it, its result, or when it opens."""

    __test__ = False
    phase: Phase
    state: str  # "take", "result" or "later"
    attempt: Attempt | None = None


async def tests_for_manage_page(registration: Registration, now: datetime) -> dict[str, Any]:
    """What the manage page shows of the tests: ``{"items": [TestOnPage, ...]}``, or ``{}``
    when there is nothing to show (no tests, or none this registration may take)."""
    session: Session = registration.session
    evaluation = await SessionEvaluation.get_or_none(session_id=session.id)
    if evaluation is None:
        return {}
    taken = {
        attempt.phase: attempt for attempt in await Attempt.filter(registration_id=registration.id)
    }
    items: list[TestOnPage] = []
    for phase in (Phase.PRE, Phase.POST):
        if not await _has_questions(_test_id(evaluation, phase)):
            continue
        if phase in taken:
            items.append(TestOnPage(phase, "result", taken[phase]))
            continue
        if await _refusal(registration, session, phase):
            continue
        if phase == Phase.PRE:
            if pre_test_open(session, now):
                items.append(TestOnPage(phase, "take"))
        elif post_test_open(evaluation, session, now):
            items.append(TestOnPage(phase, "take"))
        else:
            items.append(TestOnPage(phase, "later"))
    return {"items": items} if items else {}


async def pre_test_url(registration: Registration, settings: Settings, now: datetime) -> str:
    """The link to the pre-test for an email (its session loaded), while this registration
    may take it and has not; "" otherwise."""
    session: Session = registration.session
    evaluation = await SessionEvaluation.get_or_none(session_id=session.id)
    if (
        evaluation is None
        or not pre_test_open(session, now)
        or not await _has_questions(evaluation.pre_test_id)
        or await _refusal(registration, session, Phase.PRE)
        or await Attempt.filter(registration_id=registration.id, phase=Phase.PRE).exists()
    ):
        return ""
    token = manage_token(registration, settings)
    return links.absolute_url(settings, "learning:test", token=token, phase=Phase.PRE.value)


async def has_post_test(session_id: int) -> bool:
    """The session has a post-test (for the link to its wall poster)."""
    evaluation = await SessionEvaluation.get_or_none(session_id=session_id)
    return evaluation is not None and await _has_questions(evaluation.post_test_id)
