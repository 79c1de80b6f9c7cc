"""The question bank, tests, a session's test settings and the feedback questions, through
the staff pages as a browser uses them, on both databases: who may do what, every wrong form
a 4xx that keeps what was typed, and what people answered never changing meaning."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from events.models import Session, SessionStatus, Topic
from learning import bank
from learning.errors import PostTestBeforeStart
from learning.forms import MAX_CHOICES
from learning.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    FeedbackQuestion,
    LearningTest,
    Phase,
    Question,
    SessionEvaluation,
    TestQuestion,
)
from sala.config import Settings
from sala.csrf import MAX_FORM_FIELDS
from sala.models import AuditEntry, Role, StaffUser
from tests.factories import csrf_from, log_in, make_session, make_staff, register_person

QUESTION = {
    "kind": "single",
    "text_km": "SOGIE មានន័យថាអ្វី?",
    "text_en": "What does SOGIE stand for?",
    "choice_km_1": "ទំនោរផ្លូវភេទ អត្តសញ្ញាណយេនឌ័រ និងការបញ្ចេញ",
    "choice_en_1": "Sexual orientation, gender identity and expression",
    "choice_en_2": "A kind of food",
    "correct": "1",
}


def png(size: tuple[int, int] = (20, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


async def _topic(code: str = "sogie") -> Topic:
    return await Topic.get(code=code)


async def _form(
    client: httpx.AsyncClient, url: str, data: dict[str, Any], **kw: Any
) -> httpx.Response:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return await client.post(url, data={**data, "csrf_token": csrf_from(page.text)}, **kw)


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> StaffUser:
    user = await make_staff(Role.ADMIN, email="admin@example.org")
    await log_in(client, user)
    return user


async def _question(topic: Topic, **overrides: Any) -> Question:
    question = await Question.create(topic=topic, text_en=overrides.pop("text_en", "Is it?"))
    await Choice.create(question=question, text_en="Yes", correct=True, position=1)
    await Choice.create(question=question, text_en="No", correct=False, position=2)
    return question


async def _test_of(topic: Topic, *questions: Question, name: str = "Basics") -> LearningTest:
    test = await LearningTest.create(topic=topic, name_en=name)
    for position, question in enumerate(questions, start=1):
        await TestQuestion.create(test=test, question=question, position=position)
    return test


async def _answered(session: Session, test: LearningTest, settings: Settings) -> None:
    """Someone took ``test`` before ``session``, answering each of its questions."""
    outcome = await register_person(session, settings)
    attempt = await Attempt.create(
        registration_id=outcome.registration.id,
        session_id=session.id,
        phase=Phase.PRE,
        test=test,
        score=0,
        max_score=1,
        submitted_at=datetime.now(UTC),
    )
    for entry in await TestQuestion.filter(test=test):
        await AttemptAnswer.create(attempt=attempt, question_id=entry.question_id, correct=False)


# ----------------------------------------------------------------------------- who may


async def test_strangers_team_leaders_and_other_facilitators_are_refused(
    client: httpx.AsyncClient, new_client: Any
) -> None:
    topic = await _topic()
    question = await _question(topic)
    test = await _test_of(topic, question)
    ours = await make_staff(Role.FACILITATOR, email="ours@example.org")
    other = await make_staff(Role.FACILITATOR, email="other@example.org")
    session = await make_session(topic="sogie", facilitators=(ours,))
    await make_session(topic="human_rights", facilitators=(other,))
    pages = [
        f"/staff/topics/{topic.id}/questions",
        f"/staff/questions/{question.id}",
        f"/staff/topics/{topic.id}/tests",
        f"/staff/learning-tests/{test.id}",
        f"/staff/sessions/{session.id}/tests",
        "/staff/feedback-questions",
    ]
    for page in pages:
        answer = await client.get(page)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/staff/login")
        assert (await client.post(page, data={})).status_code in (303, 403)

    leader = new_client()
    await log_in(leader, await make_staff(Role.TEAM_LEADER))
    for page in pages:
        assert (await leader.get(page)).status_code == 403, page

    # A facilitator of another topic's session sees none of it.
    stranger = new_client()
    await log_in(stranger, other)
    for page in pages:
        assert (await stranger.get(page)).status_code == 403, page

    # This session's facilitator: its settings, and the bank and tests of its topic to read.
    facilitator = new_client()
    await log_in(facilitator, ours)
    for page in pages[:5]:
        assert (await facilitator.get(page)).status_code == 200, page
    assert (await facilitator.get(pages[5])).status_code == 403
    bank_page = await facilitator.get(pages[0])
    assert "Add the question" not in bank_page.text
    refused = await facilitator.post(
        pages[0], data={**QUESTION, "csrf_token": csrf_from(bank_page.text)}
    )
    assert refused.status_code == 403
    assert await Question.all().count() == 1
    refused = await facilitator.post(
        pages[1], data={"action": "remove", "csrf_token": csrf_from(bank_page.text)}
    )
    assert refused.status_code == 403 and await Question.exists(id=question.id)

    # Not even the tests of a topic whose session they do not run.
    human_rights = await _topic("human_rights")
    assert (await facilitator.get(f"/staff/topics/{human_rights.id}/tests")).status_code == 403


async def test_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    topic = await _topic()
    answer = await client.post(f"/staff/topics/{topic.id}/questions", data=QUESTION)
    assert answer.status_code == 403
    assert await Question.all().count() == 0


# ----------------------------------------------------------------------------- round trip


async def test_a_question_and_a_test_round_trip_in_both_languages(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    topic = await _topic()
    url = f"/staff/topics/{topic.id}/questions"
    created = await _form(client, url, QUESTION)
    assert created.status_code == 303, created.text
    question = await Question.get(topic=topic).prefetch_related("choices")
    assert (question.kind, question.text_en) == ("single", QUESTION["text_en"])
    assert [(c.text_en, c.correct) for c in question.choices] == [
        (QUESTION["choice_en_1"], True),
        ("A kind of food", False),
    ]
    # A choice in English only is shown in English on the Khmer page.
    khmer = await client.get(f"{url}?lang=km")
    assert QUESTION["text_km"] in khmer.text and QUESTION["choice_km_1"] in khmer.text
    assert "A kind of food" in khmer.text
    english = await client.get(f"{url}?lang=en")
    assert QUESTION["text_en"] in english.text and QUESTION["text_km"] not in english.text

    tests_url = f"/staff/topics/{topic.id}/tests"
    made = await _form(client, tests_url, {"name_km": "តេស្តមូលដ្ឋាន", "name_en": ""})
    assert made.status_code == 303
    test = await LearningTest.get(topic=topic)
    assert made.headers["location"] == f"/staff/learning-tests/{test.id}"
    second = await _question(topic, text_en="Second question")
    test_url = f"/staff/learning-tests/{test.id}"
    added = await _form(
        client, test_url, {"action": "add", "question_ids": [str(second.id), str(question.id)]}
    )
    assert added.status_code == 303, added.text
    order = await TestQuestion.filter(test=test).values_list("question_id", flat=True)
    assert list(order) == sorted([second.id, question.id])
    moved = await _form(client, test_url, {"action": f"up:{second.id}"})
    assert moved.status_code == 303
    order = (
        await TestQuestion.filter(test=test)
        .order_by("position")
        .values_list("question_id", flat=True)
    )
    assert list(order) == [second.id, question.id]
    dropped = await _form(client, test_url, {"action": f"drop:{question.id}"})
    assert dropped.status_code == 303
    assert await TestQuestion.filter(test=test).count() == 1
    # The test's name in Khmer only shows on the English page too.
    listing = await client.get(f"{tests_url}?lang=en")
    assert "តេស្តមូលដ្ឋាន" in listing.text and "1 question" in listing.text
    assert "Second question" in (await client.get(test_url)).text
    actions = set(await AuditEntry.all().values_list("action", flat=True))
    assert {"learning.question_create", "learning.test_create", "learning.test_add"} <= actions


async def test_a_picture_is_cleaned_stored_by_a_random_name_and_served(
    client: httpx.AsyncClient, admin: StaffUser, settings: Settings
) -> None:
    topic = await _topic()
    url = f"/staff/topics/{topic.id}/questions"
    files = {"image": ("photo.png", png(), "image/png")}
    created = await _form(client, url, QUESTION, files=files)
    assert created.status_code == 303, created.text
    question = await Question.get(topic=topic)
    assert question.image_name.endswith(".png") and len(question.image_name) == 36
    assert (bank.images_dir(settings) / question.image_name).is_file()
    anonymous = await client.get(f"/learning/images/{question.image_name}")
    assert anonymous.status_code == 200 and anonymous.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(anonymous.content)).size == (20, 10)
    for name in ("../secret_key", "x.png", question.image_name.replace(".png", ".jpg")):
        assert (await client.get(f"/learning/images/{name}")).status_code == 404

    # Removing the picture removes its file.
    page_url = f"/staff/questions/{question.id}"
    edited = await _form(client, page_url, {**QUESTION, "action": "save", "remove_image": "1"})
    assert edited.status_code == 303
    await question.refresh_from_db()
    assert question.image_name == "" and not list(bank.images_dir(settings).iterdir())


@pytest.mark.parametrize("kind", ["JPEG", "WEBP"])
async def test_jpeg_and_webp_pictures_lose_their_metadata(
    client: httpx.AsyncClient, admin: StaffUser, settings: Settings, kind: str
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"  # Make
    exif[0x8825] = {2: (11.0, 33.0, 0.0)}  # GPS: where the photo was taken
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (10, 120, 60)).save(out, format=kind, exif=exif)
    assert b"Phone maker" in out.getvalue()
    topic = await _topic()
    files = {"image": ("photo", out.getvalue(), "application/octet-stream")}
    created = await _form(client, f"/staff/topics/{topic.id}/questions", QUESTION, files=files)
    assert created.status_code == 303, created.text
    question = await Question.get(topic=topic)
    served = await client.get(f"/learning/images/{question.image_name}")
    assert served.headers["content-type"] == f"image/{kind.lower()}"
    assert b"Phone maker" not in served.content
    assert not Image.open(io.BytesIO(served.content)).getexif()


# ----------------------------------------------------------------------------- bad forms


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"text_km": " ", "text_en": ""}, "text_km", "Write it in Khmer, in English or in both."),
        ({"choice_en_2": ""}, "choices", "Give at least two choices."),
        ({"correct": []}, "choices", "Mark exactly one choice as correct"),
        ({"correct": ["1", "2"]}, "choices", "Mark exactly one choice as correct"),
        ({"kind": "multiple", "correct": []}, "choices", "Mark at least one choice as correct."),
        ({"correct": ["1", "5"]}, "choice_km_5", "A choice marked correct needs its words."),
        ({"correct": ["9"]}, "choices", "Choose from the list."),
        ({"kind": "essay"}, "kind", "Choose one of the options."),
        ({"text_en": "x" * 2001}, "text_en", "This is too long."),
    ],
)
async def test_a_wrong_question_is_a_422_that_keeps_what_was_typed(
    client: httpx.AsyncClient, admin: StaffUser, changes: dict[str, Any], field: str, message: str
) -> None:
    topic = await _topic()
    answer = await _form(
        client, f"/staff/topics/{topic.id}/questions?lang=en", {**QUESTION, **changes}
    )
    assert answer.status_code == 422
    assert message in answer.text and f'id="{field}-error"' in answer.text
    assert QUESTION["choice_en_1"] in answer.text  # what was typed is kept
    assert await Question.all().count() == 0


async def test_errors_are_in_the_users_language(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    topic = await _topic()
    url = f"/staff/topics/{topic.id}/questions?lang=km"
    answer = await _form(client, url, {**QUESTION, "correct": []})
    assert answer.status_code == 422 and '<html lang="km">' in answer.text
    assert "Please correct the fields marked below." not in answer.text


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (("notes.png", b"%PDF-1.4 not a picture", "image/png"), "Upload a PNG, JPEG or WebP"),
        (("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 1_000_001, "image/png"), "at most 1 MB"),
        (("broken.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png"), "Upload a PNG, JPEG"),
        (("wide.png", png((4001, 1)), "image/png"), "4000 pixels"),
    ],
)
async def test_a_wrong_picture_is_refused_and_the_words_kept(
    client: httpx.AsyncClient,
    admin: StaffUser,
    settings: Settings,
    upload: tuple[str, bytes, str],
    message: str,
) -> None:
    topic = await _topic()
    url = f"/staff/topics/{topic.id}/questions?lang=en"
    answer = await _form(client, url, QUESTION, files={"image": upload})
    assert answer.status_code == 422 and message in answer.text
    assert QUESTION["text_en"] in answer.text
    assert await Question.all().count() == 0
    folder = bank.images_dir(settings)
    assert not folder.exists() or not list(folder.iterdir())


async def test_ids_of_another_topic_or_of_nothing_are_refused(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    sogie, rights = await _topic(), await _topic("human_rights")
    ours = await _question(sogie)
    theirs = await _question(rights)
    test = await _test_of(sogie)
    old = await _question(sogie)
    await Question.filter(id=old.id).update(archived_at=datetime.now(UTC))
    url = f"/staff/learning-tests/{test.id}?lang=en"
    for ids in (
        [str(theirs.id)],
        [str(old.id)],
        ["999999"],
        ["abc"],
        [str(ours.id), "99999999999"],
        [],
    ):
        answer = await _form(client, url, {"action": "add", "question_ids": ids})
        assert answer.status_code == 422, ids
    assert await TestQuestion.filter(test=test).count() == 0
    for action in (f"drop:{theirs.id}", f"up:{theirs.id}", "drop:999999"):
        answer = await _form(client, url, {"action": action})
        assert answer.status_code == 404, action
    assert (await _form(client, url, {"action": "dance"})).status_code == 422
    for missing in (
        "/staff/questions/999999",
        "/staff/learning-tests/999999",
        "/staff/topics/999999/questions",
        "/staff/topics/999999/tests",
        "/staff/sessions/999999/tests",
    ):
        assert (await client.get(missing)).status_code == 404, missing


# ----------------------------------------------------------------------------- in use


async def test_an_answered_question_is_not_changed_but_copied_and_archived(
    client: httpx.AsyncClient, admin: StaffUser, settings: Settings
) -> None:
    topic = await _topic()
    question = await _question(topic, text_en="Original words")
    test = await _test_of(topic, question)
    session = await make_session(topic="sogie")
    await _answered(session, test, settings)
    url = f"/staff/questions/{question.id}?lang=en"

    page = await client.get(url)
    assert "Someone has already answered this question" in page.text
    refused = await _form(client, url, {**QUESTION, "action": "save"})
    assert refused.status_code == 409
    assert "Someone has already answered this question" in refused.text
    await question.refresh_from_db()
    assert question.text_en == "Original words"
    assert [c.text_en for c in await Choice.filter(question=question)] == ["Yes", "No"]

    copied = await _form(client, url, {"action": "copy"})
    assert copied.status_code == 303
    copy = await Question.filter(topic=topic).order_by("-id").first()
    assert copy is not None and copy.id != question.id and copy.text_en == "Original words"
    assert await Choice.filter(question=copy).count() == 2
    changed = await _form(client, f"/staff/questions/{copy.id}", {**QUESTION, "action": "save"})
    assert changed.status_code == 303
    await copy.refresh_from_db()
    assert copy.text_en == QUESTION["text_en"]

    removed = await _form(client, url, {"action": "remove"})
    assert removed.status_code == 303 and "archived=1" in removed.headers["location"]
    await question.refresh_from_db()
    assert question.archived_at is not None
    # An unused copy, in no test, is deleted.
    removed = await _form(client, f"/staff/questions/{copy.id}", {"action": "remove"})
    assert "deleted=1" in removed.headers["location"]
    assert not await Question.exists(id=copy.id)


async def test_a_taken_test_keeps_its_questions(
    client: httpx.AsyncClient, admin: StaffUser, settings: Settings
) -> None:
    topic = await _topic()
    first, second = await _question(topic), await _question(topic, text_en="Two")
    test = await _test_of(topic, first, second)
    extra = await _question(topic, text_en="Three")
    await _answered(await make_session(topic="sogie"), test, settings)
    url = f"/staff/learning-tests/{test.id}?lang=en"
    for data in (
        {"action": "add", "question_ids": [str(extra.id)]},
        {"action": f"drop:{first.id}"},
        {"action": f"down:{first.id}"},
    ):
        answer = await _form(client, url, data)
        assert answer.status_code == 409, data
        assert "Someone has already taken this test" in answer.text
    entries = await TestQuestion.filter(test=test).order_by("position")
    assert [e.question_id for e in entries] == [first.id, second.id]
    # Its name may change; a copy may change its questions.
    renamed = await _form(client, url, {"action": "rename", "name_en": "Basics, 2026"})
    assert renamed.status_code == 303
    copied = await _form(client, url, {"action": "copy"})
    copy = await LearningTest.filter(topic=topic).order_by("-id").first()
    assert copy is not None and copied.headers["location"].startswith(
        f"/staff/learning-tests/{copy.id}"
    )
    dropped = await _form(
        client, f"/staff/learning-tests/{copy.id}", {"action": f"drop:{first.id}"}
    )
    assert dropped.status_code == 303
    assert await TestQuestion.filter(test=copy).count() == 1
    removed = await _form(client, url, {"action": "remove"})
    assert "archived=1" in removed.headers["location"]


async def test_a_test_holds_at_most_as_many_questions_as_its_form_can_send(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    # Every choice of every question ticked, and the CSRF token: still under the field cap.
    assert bank.MAX_TEST_QUESTIONS * MAX_CHOICES + 1 <= MAX_FORM_FIELDS
    assert str(bank.MAX_TEST_QUESTIONS) in bank.TOO_MANY_QUESTIONS
    topic = await _topic()
    questions = [await _question(topic, text_en=f"Q{n}") for n in range(bank.MAX_TEST_QUESTIONS)]
    test = await _test_of(topic, *questions[:-2])
    extra = [await _question(topic, text_en=f"Extra {n}") for n in range(3)]
    url = f"/staff/learning-tests/{test.id}?lang=en"
    # Three more than the cap allows: refused whole, the page says why.
    answer = await _form(client, url, {"action": "add", "question_ids": [str(q.id) for q in extra]})
    assert answer.status_code == 422
    assert "A test can hold at most 24 questions" in answer.text
    assert await TestQuestion.filter(test=test).count() == bank.MAX_TEST_QUESTIONS - 2
    fits = await _form(
        client, url, {"action": "add", "question_ids": [str(q.id) for q in questions[-2:]]}
    )
    assert fits.status_code == 303
    assert await TestQuestion.filter(test=test).count() == bank.MAX_TEST_QUESTIONS
    answer = await _form(client, url, {"action": "add", "question_ids": [str(extra[0].id)]})
    assert answer.status_code == 422


# ----------------------------------------------------------------------------- a session's


async def test_session_settings_are_saved_audited_and_the_post_test_opened_now(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR, email="fac@example.org")
    session = await make_session(topic="sogie", facilitators=(facilitator,))
    topic = await _topic()
    pre = await _test_of(topic, await _question(topic), name="Form A")
    post = await _test_of(topic, await _question(topic), name="Form B")
    elsewhere = await _test_of(await _topic("human_rights"), name="Rights")
    archived = await LearningTest.create(topic=topic, name_en="Old", archived_at=datetime.now(UTC))
    await log_in(client, facilitator)
    url = f"/staff/sessions/{session.id}/tests?lang=en"

    page = await client.get(url)
    assert "Form A" in page.text and "Rights" not in page.text and "Old" not in page.text
    for data in (
        {"pre_test": str(elsewhere.id), "post_test": ""},
        {"pre_test": str(archived.id)},
        {"pre_test": "999999"},
        {"post_test": "1e3"},
    ):
        answer = await _form(client, url, data)
        assert answer.status_code == 422, data
    assert not await SessionEvaluation.exists(session_id=session.id)

    saved = await _form(client, url, {"pre_test": str(pre.id), "post_test": str(post.id)})
    assert saved.status_code == 303
    evaluation = await SessionEvaluation.get(session_id=session.id)
    assert (evaluation.pre_test_id, evaluation.post_test_id) == (pre.id, post.id)
    entry = await AuditEntry.get(action="learning.session_tests")
    assert entry.actor_id == facilitator.id  # type: ignore[attr-defined]
    assert entry.details == {"pre_test": pre.id, "post_test": post.id}
    page = await client.get(url)
    assert "The post-test opens when the training ends" in page.text

    now = datetime.now(UTC)
    assert not bank.post_test_open(evaluation, session, now)
    assert bank.pre_test_open(session, now)
    # Before the start the pre-test is open: the post-test cannot open with it.
    early = await _form(client, url, {"action": "open"})
    assert early.status_code == 409
    assert "The post-test can be opened once the training has started." in early.text
    await evaluation.refresh_from_db()
    assert evaluation.post_opened_at is None
    with pytest.raises(PostTestBeforeStart):
        await bank.open_post_test(
            session, now=session.starts_at - timedelta(seconds=1), staff=facilitator
        )
    planned = (session.starts_at, session.ends_at)
    started = datetime.now(UTC) - timedelta(hours=1)
    await Session.filter(id=session.id).update(
        starts_at=started, ends_at=started + timedelta(hours=3)
    )
    await session.refresh_from_db()
    opened = await _form(client, url, {"action": "open"})
    assert opened.status_code == 303
    await evaluation.refresh_from_db()
    assert evaluation.post_opened_at is not None
    assert bank.post_test_open(evaluation, session, datetime.now(UTC))
    assert "The post-test is open." in (await client.get(url)).text
    closed = await _form(client, url, {"action": "close"})
    assert closed.status_code == 303
    await evaluation.refresh_from_db()
    assert evaluation.post_opened_at is None
    actions = (
        await AuditEntry.filter(object_type="SessionEvaluation")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert list(actions) == [
        "learning.session_tests",
        "learning.post_test_open",
        "learning.post_test_close",
    ]

    # Once someone took the pre-test here, it stays; the post-test may still change.
    await Session.filter(id=session.id).update(starts_at=planned[0], ends_at=planned[1])
    await _answered(session, pre, settings)
    answer = await _form(client, url, {"pre_test": str(post.id), "post_test": str(post.id)})
    assert answer.status_code == 409
    answer = await _form(client, url, {"pre_test": str(pre.id), "post_test": str(pre.id)})
    assert answer.status_code == 303


async def test_the_post_test_cannot_be_opened_without_one_nor_closed_after_the_end(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    session = await make_session(topic="sogie")
    url = f"/staff/sessions/{session.id}/tests?lang=en"
    answer = await _form(client, url, {"action": "open"})
    assert answer.status_code == 422 and "Choose a post-test first." in answer.text
    topic = await _topic()
    test = await _test_of(topic, await _question(topic))
    assert (await _form(client, url, {"post_test": str(test.id)})).status_code == 303
    past = datetime.now(UTC) - timedelta(days=2)
    await Session.filter(id=session.id).update(starts_at=past, ends_at=past + timedelta(hours=3))
    page = await client.get(url)
    assert "The post-test is open." in page.text and "Open the post-test now" not in page.text
    assert (await _form(client, url, {"action": "close"})).status_code == 409


async def test_open_and_close_rules_of_the_pure_functions(client: httpx.AsyncClient) -> None:
    session = await make_session(topic="sogie")
    start, end = session.starts_at, session.ends_at
    evaluation = SessionEvaluation(session_id=session.id, post_test_id=None)
    assert not bank.post_test_open(None, session, end)
    assert not bank.post_test_open(evaluation, session, end)
    evaluation.post_test_id = 1
    assert not bank.post_test_open(evaluation, session, end - timedelta(seconds=1))
    assert bank.post_test_open(evaluation, session, end)
    evaluation.post_opened_at = start
    assert bank.post_test_open(evaluation, session, start + timedelta(minutes=1))
    assert bank.pre_test_open(session, start - timedelta(seconds=1))
    assert not bank.pre_test_open(session, start)
    session.status = SessionStatus.CANCELLED
    assert not bank.pre_test_open(session, start - timedelta(days=1))
    assert not bank.post_test_open(evaluation, session, end)


# ----------------------------------------------------------------------------- feedback


async def test_feedback_questions_up_to_five_edited_reordered_archived(
    client: httpx.AsyncClient, admin: StaffUser
) -> None:
    url = "/staff/feedback-questions?lang=en"
    answer = await _form(client, url, {"action": "add", "text_km": "", "text_en": " "})
    assert answer.status_code == 422 and "Write it in Khmer, in English or in both." in answer.text
    for n in range(1, 6):
        added = await _form(client, url, {"action": "add", "text_en": f"Question {n}"})
        assert added.status_code == 303
    refused = await _form(client, url, {"action": "add", "text_en": "Sixth"})
    assert refused.status_code == 422 and "At most five questions" in refused.text
    assert await FeedbackQuestion.all().count() == 5
    first, second = await FeedbackQuestion.all().order_by("position").limit(2)
    edited = await _form(
        client, url, {"action": f"save:{first.id}", "text_km": "", "text_en": "x" * 501}
    )
    assert edited.status_code == 422 and "x" * 501 in edited.text
    edited = await _form(
        client, url, {"action": f"save:{first.id}", "text_km": "តើ?", "text_en": "Useful?"}
    )
    assert edited.status_code == 303
    assert (await _form(client, url, {"action": f"down:{first.id}"})).status_code == 303
    order = await FeedbackQuestion.all().order_by("position").values_list("id", flat=True)
    assert list(order)[:2] == [second.id, first.id]
    assert (await _form(client, url, {"action": f"archive:{second.id}"})).status_code == 303
    assert (await _form(client, url, {"action": "add", "text_en": "Sixth"})).status_code == 303
    refused = await _form(client, url, {"action": f"restore:{second.id}"})
    assert refused.status_code == 422
    assert (await _form(client, url, {"action": "save:999999"})).status_code == 404
    page = await client.get("/staff/feedback-questions?lang=km")
    assert 'lang="km" maxlength="500" value="តើ?"' in page.text
    assert await AuditEntry.filter(action__startswith="learning.feedback_question").count() == 9
