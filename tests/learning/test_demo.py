"""``sala demo``'s learning part (``learning/demo.py``), on both databases: the question banks,
tests and feedback questions of the plain demo, and with ``--months`` the tests people took
and their feedback, consistent with what the taking page and the feedback form would store,
anonymous, loaded once, and giving the reach report's learning figures at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx

from attendees.models import Registration, RegistrationStatus
from events.demo import load_demo_data
from events.models import Session, Topic
from learning.demo import BANKS
from learning.emails import enqueue_due_feedback_requests
from learning.evaluation import feedback_details, session_evaluation
from learning.feedback import closes_at, session_day
from learning.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    FeedbackQuestion,
    FeedbackReceipt,
    FeedbackResponse,
    LearningTest,
    Phase,
    Question,
    QuestionKind,
    SessionEvaluation,
    TestQuestion,
)
from reports.learning import learning_report
from reports.services import Dimension, ReachQuery
from sala.config import Settings
from sala.i18n import in_language
from sala.models import Role
from tests.factories import make_staff

ZONE = ZoneInfo("Asia/Phnom_Penh")
LEARNING_TABLES = (
    Question,
    Choice,
    LearningTest,
    TestQuestion,
    SessionEvaluation,
    Attempt,
    AttemptAnswer,
    FeedbackQuestion,
    FeedbackReceipt,
    FeedbackResponse,
)


async def _counts() -> dict[str, int]:
    return {model.__name__: await model.all().count() for model in LEARNING_TABLES}


async def test_the_plain_demo_gives_every_topic_a_bilingual_bank_and_its_sessions_tests(
    client: httpx.AsyncClient,
) -> None:
    said = await load_demo_data()
    assert "question banks of 5 topics" in said

    kinds: Counter[QuestionKind] = Counter()
    tests: dict[int, int] = {}
    for topic in await Topic.all():
        assert topic.code in BANKS, topic.code
        questions = await Question.filter(topic_id=topic.id).prefetch_related("choices")
        assert 4 <= len(questions) <= 5, topic.code
        for question in questions:
            assert question.text_km and question.text_en, question.id
            choices = list(question.choices)
            assert len(choices) >= 3
            assert all(choice.text_km and choice.text_en for choice in choices), question.id
            right = [choice for choice in choices if choice.correct]
            assert 0 < len(right) < len(choices), question.text_en
            if question.kind == QuestionKind.SINGLE:
                assert len(right) == 1, question.text_en
            kinds[question.kind] += 1
        [test] = await LearningTest.filter(topic_id=topic.id)
        assert test.name_km and test.name_en
        entries = await TestQuestion.filter(test_id=test.id).values_list("question_id", flat=True)
        assert sorted(entries) == sorted(q.id for q in questions)  # type: ignore[type-var]
        tests[topic.id] = test.id
    assert kinds[QuestionKind.SINGLE] and kinds[QuestionKind.MULTIPLE]

    upcoming = await Session.filter(starts_at__gt=datetime.now(UTC))
    assert len(upcoming) == 9
    for session in upcoming:
        evaluation = await SessionEvaluation.get(session_id=session.id)
        assert evaluation.pre_test_id == evaluation.post_test_id == tests[session.topic_id]
        assert evaluation.post_opened_at is None

    feedback = await FeedbackQuestion.filter(archived_at__isnull=True)
    assert 2 <= len(feedback) <= 3
    assert all(q.text_km and q.text_en for q in feedback)
    assert not await Attempt.exists() and not await FeedbackResponse.exists()

    before = await _counts()
    assert (await load_demo_data()) == "Demo data is already loaded."
    assert await _counts() == before


async def test_a_bank_already_there_and_full_feedback_questions_are_kept(
    client: httpx.AsyncClient,
) -> None:
    """A topic with its demo test (an earlier run, say) gets no second bank, and the demo
    adds no feedback question beyond the five an admin may have active."""
    sogie = await Topic.get(code="sogie")
    await LearningTest.create(topic_id=sogie.id, name_en=BANKS["sogie"].test_en)
    for n in range(5):
        await FeedbackQuestion.create(text_en=f"Asked by the admin {n}", position=n + 1)

    await load_demo_data()

    assert not await Question.filter(topic_id=sogie.id).exists()
    assert await LearningTest.filter(topic_id=sogie.id).count() == 1
    assert await FeedbackQuestion.all().count() == 5
    assert await Question.filter(topic__code="human_rights").exists()


async def test_the_history_holds_scored_tests_and_anonymous_feedback_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    said = await load_demo_data(months=3)
    assert "tests taken" in said and "feedback answers" in said
    now = datetime.now(UTC)
    past = {s.id: s for s in await Session.filter(ends_at__lt=now)}
    assert past
    for session in past.values():
        evaluation = await SessionEvaluation.get(session_id=session.id)
        assert evaluation.pre_test_id == evaluation.post_test_id is not None

    # Scores follow the answers; the answers are real choices, scored as the page scores.
    choices: dict[int, dict[int, bool]] = {}
    for choice in await Choice.all():
        choices.setdefault(choice.question_id, {})[choice.id] = choice.correct
    test_questions: dict[int, set[int]] = {}
    for entry in await TestQuestion.all():
        test_questions.setdefault(entry.test_id, set()).add(entry.question_id)
    registrations = {r.id: r for r in await Registration.filter(session_id__in=list(past))}
    attempts = await Attempt.all().prefetch_related("answers")
    assert len(attempts) > 50
    phases: dict[int, set[Phase]] = {}
    fractions: dict[Phase, list[float]] = {Phase.PRE: [], Phase.POST: []}
    by_registration: dict[tuple[int, Phase], float] = {}
    for attempt in attempts:
        session = past[attempt.session_id]
        registration = registrations[attempt.registration_id]
        assert registration.session_id == session.id  # type: ignore[attr-defined]
        assert registration.status == RegistrationStatus.CONFIRMED
        answers = list(attempt.answers)
        assert {a.question_id for a in answers} == test_questions[attempt.test_id]
        assert attempt.max_score == len(answers)
        for answer in answers:
            chosen = {int(i) for i in answer.chosen.split(",")}
            assert answer.chosen == ",".join(str(i) for i in sorted(chosen))
            assert chosen <= set(choices[answer.question_id]), answer.chosen
            right = {i for i, correct in choices[answer.question_id].items() if correct}
            assert answer.correct == (chosen == right)
        assert attempt.score == sum(answer.correct for answer in answers)
        if attempt.phase == Phase.PRE:
            assert registration.created_at <= attempt.submitted_at < session.starts_at
        else:
            assert session.ends_at <= attempt.submitted_at <= now
            assert registration.checked_in_at is not None
        phases.setdefault(attempt.registration_id, set()).add(attempt.phase)
        by_registration[(attempt.registration_id, attempt.phase)] = (
            attempt.score / attempt.max_score
        )
    both = [r for r, taken in phases.items() if taken == {Phase.PRE, Phase.POST}]
    assert len(both) > 30
    assert any(taken == {Phase.PRE} for taken in phases.values())
    assert any(taken == {Phase.POST} for taken in phases.values())
    for registration_id in both:
        for phase in Phase:
            fractions[phase].append(by_registration[(registration_id, phase)])
    pre = sum(fractions[Phase.PRE]) / len(both)
    post = sum(fractions[Phase.POST]) / len(both)
    assert pre + 0.15 < post < 1, (pre, post)
    gains = [(await session_evaluation(s)).normalised_gain for s in past]
    assert sum(1 for g in gains if g is not None and g > 0) > len(gains) * 0.8

    # Feedback: from people who came, once each, with no link to anyone.
    responses = await FeedbackResponse.all()
    receipts = await FeedbackReceipt.all()
    assert len(responses) == len(receipts) > 30
    for receipt in receipts:
        registration = registrations[receipt.registration_id]
        assert registration.checked_in_at is not None
    per_session = Counter(r.session_id for r in responses)
    came = Counter(
        r.session_id  # type: ignore[attr-defined]
        for r in registrations.values()
        if r.id in {receipt.registration_id for receipt in receipts}
    )
    assert per_session == came
    assert set(FeedbackResponse._meta.fields_map) == {
        "id", "session", "session_id", "day", "rating", "answers",
    }  # fmt: skip
    active = {str(q.id) for q in await FeedbackQuestion.all()}
    ratings = Counter(r.rating for r in responses)
    assert set(ratings) <= {1, 2, 3, 4, 5}
    assert ratings[4] + ratings[5] > 0.7 * len(responses) and ratings[3] > 0
    words = [text for r in responses for key, text in r.answers.items() if key in active]
    assert all(set(r.answers) <= active for r in responses)
    assert any("ខ" <= text[0] <= "ៗ" for text in words)  # some in Khmer
    assert any(text[0].isascii() for text in words)  # some in English
    for response in responses:
        assert response.day == session_day(past[response.session_id])

    # A closed session shows its ratings; the worker has nobody left to ask.
    closed = [s for s in past.values() if closes_at(s) < now and per_session[s.id] >= 5]
    assert closed
    shown = await feedback_details(closed[0], min_cell=5, now=now)
    assert shown.mean_rating is not None and shown.mean_rating > 3
    assert await enqueue_due_feedback_requests(settings) == 0

    before = await _counts()
    again = await load_demo_data(months=3)
    assert again.splitlines() == [
        "Demo data is already loaded.",
        "Demo history is already loaded; nothing added.",
    ]
    assert await _counts() == before


async def test_the_reach_report_shows_what_the_history_learned(
    client: httpx.AsyncClient,
) -> None:
    await load_demo_data(months=3)
    admin = await make_staff(Role.ADMIN)
    this_month = datetime.now(ZONE).date().replace(day=1)
    start = date(this_month.year - 1, this_month.month, 1)
    for by in (Dimension.TOPIC, Dimension.MONTH):
        with in_language("en"):
            report = await learning_report(
                ReachQuery(start=start, end=this_month, by=by), viewer=admin, tz=ZONE, min_cell=5
            )
        shown = [row for row in report.rows if row.tests is not None]
        assert shown, by
        assert report.total.tests is not None and report.total.tests.pairs > 30
        gain = report.total.tests.normalised_gain
        assert gain is not None and gain > 0
        assert report.total.ratings is not None and report.total.ratings.responses > 0
        mean = report.total.ratings.mean_rating
        assert mean is not None and 3.5 < mean < 5
