"""The question bank of each topic, its tests, a session's test settings and the feedback
questions: the staff side of learning.

Who: admins change all of it. A facilitator may *look at* the bank and the tests of a topic
they run a session of (to know what they choose for it), and set the tests of their own
sessions (:func:`events.services.get_session_for_staff`); a team leader sees none of it.

What answers mean never changes behind them:

- A question is **in use** once someone answered it, or once a test holding it was taken.
  Its words, choices and picture are then refused to edits; staff make a copy (a new question,
  the same content) and change that. Removing a question in use, or one in a test, archives it
  (kept in the tests that hold it, offered for no new one); one nobody used is deleted.
- A test is **in use** once an attempt took it: its questions and their order are refused to
  changes (its name may still change), and it can be copied. Removing it archives it when
  taken or chosen by a session, else deletes it.
- A session's pre-test (post-test) is fixed once someone took it for that session.

Every change writes an audit entry in its own transaction. Question pictures are files under
``<data dir>/learning/images`` with random names, re-encoded on upload (metadata such as a
phone's GPS position dropped); they carry nothing personal and are served publicly.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageOps
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events.errors import TopicNotFound
from events.models import Session, SessionStatus, Topic
from learning.errors import (
    LearningTestInUse,
    LearningTestNotFound,
    PhaseAlreadyTaken,
    PostTestBeforeStart,
    PostTestOpenAtEnd,
    QuestionInUse,
    QuestionNotFound,
)
from learning.forms import MAX_CHOICES, NamesInput, QuestionInput
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
from sala import audit, db
from sala.config import Settings
from sala.csrf import MAX_FORM_FIELDS
from sala.errors import PermissionDenied, ValidationFailed
from sala.i18n import N_
from sala.models import Role, StaffUser

MAX_IMAGE_BYTES = 1_000_000
MAX_IMAGE_SIDE = 4000
MAX_FEEDBACK_QUESTIONS = 5
# A test's form sends a field per chosen choice and the CSRF token; ``read_form`` refuses a
# form of more than MAX_FORM_FIELDS fields. Every choice of every question ticked must still
# fit: (200 - 1) // 8 = 24 questions.
MAX_TEST_QUESTIONS = (MAX_FORM_FIELDS - 1) // MAX_CHOICES
TOO_MANY_QUESTIONS = N_(
    "A test can hold at most 24 questions, so that its form can always be sent. "
    "Make a second test for more."
)


# ----------------------------------------------------------------------------- who may see


async def _runs_a_session_of(user: StaffUser, topic_id: int) -> bool:
    return await Session.filter(topic_id=topic_id, facilitators__id=user.id).exists()


async def _check_topic_access(user: StaffUser, topic_id: int, *, edit: bool) -> None:
    if user.is_admin:
        return
    if edit or user.role != Role.FACILITATOR or not await _runs_a_session_of(user, topic_id):
        raise PermissionDenied()


async def topic_for_staff(user: StaffUser, topic_id: int, *, edit: bool) -> Topic:
    """The topic whose bank is asked for: admins; to look at it, its sessions' facilitators."""
    topic = await Topic.get_or_none(id=topic_id)
    if topic is None:
        raise TopicNotFound()
    await _check_topic_access(user, topic_id, edit=edit)
    return topic


async def question_for_staff(user: StaffUser, question_id: int, *, edit: bool) -> Question:
    """A question with its topic and choices, under the rule of :func:`topic_for_staff`."""
    question = await Question.filter(id=question_id).select_related("topic").first()
    if question is None:
        raise QuestionNotFound()
    await _check_topic_access(user, question.topic_id, edit=edit)
    await question.fetch_related("choices")
    return question


async def test_for_staff(user: StaffUser, test_id: int, *, edit: bool) -> LearningTest:
    test = await LearningTest.filter(id=test_id).select_related("topic").first()
    if test is None:
        raise LearningTestNotFound()
    await _check_topic_access(user, test.topic_id, edit=edit)
    return test


# ----------------------------------------------------------------------------- reading


async def bank_of(topic_id: int) -> list[Question]:
    """The topic's questions with their choices, the archived ones last."""
    questions = await Question.filter(topic_id=topic_id).prefetch_related("choices")
    return sorted(questions, key=lambda q: (q.archived_at is not None, q.id))


async def tests_of(topic_id: int) -> list[LearningTest]:
    """The topic's tests, the archived ones last."""
    tests = await LearningTest.filter(topic_id=topic_id)
    return sorted(tests, key=lambda t: (t.archived_at is not None, t.id))


async def test_entries(test_id: int) -> list[TestQuestion]:
    """A test's entries in order, each with its question and the question's choices (for the
    staff pages; taking a test has its own reading in :mod:`learning.attempts`)."""
    return await TestQuestion.filter(test_id=test_id).prefetch_related("question__choices")


async def question_counts(topic_id: int) -> dict[int, int]:
    """How many questions each test of the topic has, by test id."""
    rows = await TestQuestion.filter(test__topic_id=topic_id).values_list("test_id", flat=True)
    counts: dict[int, int] = {}
    for test_id in rows:
        counts[int(test_id)] = counts.get(int(test_id), 0) + 1  # type: ignore[call-overload]
    return counts


async def question_in_use(question_id: int) -> bool:
    """Answered by someone, or in a test someone took."""
    if await AttemptAnswer.filter(question_id=question_id).exists():
        return True
    tests = await TestQuestion.filter(question_id=question_id).values_list("test_id", flat=True)
    return bool(tests) and await Attempt.filter(test_id__in=list(tests)).exists()


async def test_in_use(test_id: int) -> bool:
    return await Attempt.filter(test_id=test_id).exists()


async def questions_in_use(topic_id: int) -> set[int]:
    """The ids of the topic's questions in use (:func:`question_in_use`), in two queries."""
    answered = await AttemptAnswer.filter(question__topic_id=topic_id).values_list(
        "question_id", flat=True
    )
    taken = await TestQuestion.filter(
        test__topic_id=topic_id, test__attempts__id__isnull=False
    ).values_list("question_id", flat=True)
    return {int(i) for i in [*answered, *taken]}  # type: ignore[call-overload]


# ----------------------------------------------------------------------------- pictures


_PNG, _JPEG, _WEBP = "png", "jpg", "webp"
_CONTENT_TYPES = {_PNG: "image/png", _JPEG: "image/jpeg", _WEBP: "image/webp"}
_PILLOW_FORMATS = {_PNG: "PNG", _JPEG: "JPEG", _WEBP: "WEBP"}
_IMAGE_NAME = re.compile(r"[0-9a-f]{32}\.(png|jpg|webp)")
NOT_AN_IMAGE = N_("Upload a PNG, JPEG or WebP image.")


def images_dir(settings: Settings) -> Path:
    return settings.data_dir / "learning" / "images"


def sniff_image(head: bytes) -> str | None:
    """The kind of picture the first bytes announce (``png``, ``jpg``, ``webp``), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if head.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _WEBP
    return None


def clean_image(data: bytes) -> tuple[bytes, str]:
    """An uploaded picture re-encoded in its own format, without its metadata; its kind.

    Checked by its first bytes, then opened: at most ``MAX_IMAGE_BYTES`` and
    ``MAX_IMAGE_SIDE`` pixels a side. Anything else is a 422 on the ``image`` field."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed({"image": N_("The image is too large: at most 1 MB.")})
    kind = sniff_image(data[:16])
    if kind is None:
        raise ValidationFailed({"image": NOT_AN_IMAGE})
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format != _PILLOW_FORMATS[kind]:
                raise ValidationFailed({"image": NOT_AN_IMAGE})
            if max(opened.size) > MAX_IMAGE_SIDE:
                raise ValidationFailed(
                    {"image": N_("The image is too large: at most 4000 pixels a side.")}
                )
            opened.load()
            image = ImageOps.exif_transpose(opened) or opened
            if kind == _JPEG:
                image = image.convert("RGB")
            elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                image = image.convert("RGBA")
            out = io.BytesIO()
            options = {"optimize": True} if kind == _PNG else {"quality": 85}
            image.save(out, format=_PILLOW_FORMATS[kind], **options)
    except ValidationFailed:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise ValidationFailed({"image": NOT_AN_IMAGE}) from exc
    return out.getvalue(), kind


def _write_image(settings: Settings, data: bytes, kind: str) -> str:
    folder = images_dir(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{kind}"
    temporary = folder / f"{name}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, folder / name)
    return name


async def _store_image(settings: Settings, data: bytes) -> str:
    """Check, clean and write an upload; its new random name."""
    cleaned, kind = await asyncio.to_thread(clean_image, data)
    return await asyncio.to_thread(_write_image, settings, cleaned, kind)


def _forget_image(settings: Settings, name: str) -> None:
    if name and _IMAGE_NAME.fullmatch(name):
        (images_dir(settings) / name).unlink(missing_ok=True)


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    content_type: str


async def read_image(settings: Settings, name: str) -> StoredImage | None:
    """A question's picture by its name; None for any name we would not have made."""
    if not _IMAGE_NAME.fullmatch(name):
        return None
    path = images_dir(settings) / name
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError:
        return None
    return StoredImage(data, _CONTENT_TYPES[name.rsplit(".", 1)[1]])


# ----------------------------------------------------------------------------- questions


async def _write_choices(question: Question, data: QuestionInput) -> None:
    await Choice.filter(question_id=question.id).delete()
    for position, choice in enumerate(data.choices, start=1):
        await Choice.create(
            question_id=question.id,
            text_km=choice.text_km,
            text_en=choice.text_en,
            correct=choice.correct,
            position=position,
        )


async def create_question(
    topic: Topic,
    data: QuestionInput,
    *,
    image: bytes | None,
    settings: Settings,
    staff: StaffUser,
) -> Question:
    """A new question of the topic's bank, with its choices and an optional picture."""
    image_name = await _store_image(settings, image) if image else ""
    try:
        async with in_transaction():
            question = await Question.create(
                topic_id=topic.id,
                kind=data.kind,
                text_km=data.text_km,
                text_en=data.text_en,
                image_name=image_name,
            )
            await _write_choices(question, data)
            await audit.record(staff, "learning.question_create", question, {"topic": topic.id})
    except BaseException:
        _forget_image(settings, image_name)
        raise
    return question


async def update_question(
    question: Question,
    data: QuestionInput,
    *,
    image: bytes | None,
    remove_image: bool,
    settings: Settings,
    staff: StaffUser,
) -> Question:
    """Change a question nobody has used yet (:class:`QuestionInUse` otherwise)."""
    if await question_in_use(question.id):
        raise QuestionInUse()
    new_image = await _store_image(settings, image) if image else ""
    old_image = question.image_name
    try:
        async with in_transaction() as connection:
            await db.lock_row(connection, "learning_question", question.id)
            if await question_in_use(question.id):
                raise QuestionInUse()
            question.kind = data.kind
            question.text_km = data.text_km
            question.text_en = data.text_en
            if new_image or remove_image:
                question.image_name = new_image
            await question.save()
            await _write_choices(question, data)
            await audit.record(
                staff,
                "learning.question_update",
                question,
                {"image": "new" if new_image else "removed" if remove_image else "kept"},
            )
    except BaseException:
        _forget_image(settings, new_image)
        raise
    if old_image and old_image != question.image_name:
        _forget_image(settings, old_image)
    return question


async def copy_question(question: Question, *, settings: Settings, staff: StaffUser) -> Question:
    """A new question with the same words, choices and picture (its own copy of the file),
    to change where the original, in use, cannot."""
    await question.fetch_related("choices")
    image_name = ""
    if question.image_name:
        stored = await read_image(settings, question.image_name)
        if stored is not None:
            kind = question.image_name.rsplit(".", 1)[1]
            image_name = await asyncio.to_thread(_write_image, settings, stored.data, kind)
    try:
        async with in_transaction():
            copy = await Question.create(
                topic_id=question.topic_id,
                kind=question.kind,
                text_km=question.text_km,
                text_en=question.text_en,
                image_name=image_name,
            )
            for choice in question.choices:
                await Choice.create(
                    question_id=copy.id,
                    text_km=choice.text_km,
                    text_en=choice.text_en,
                    correct=choice.correct,
                    position=choice.position,
                )
            await audit.record(staff, "learning.question_copy", copy, {"from": question.id})
    except BaseException:
        _forget_image(settings, image_name)
        raise
    return copy


async def remove_question(question: Question, *, settings: Settings, staff: StaffUser) -> bool:
    """Delete a question nobody used and no test holds; archive any other. True if deleted."""
    async with in_transaction() as connection:
        await db.lock_row(connection, "learning_question", question.id)
        kept = (
            await question_in_use(question.id)
            or await TestQuestion.filter(question_id=question.id).exists()
        )
        if kept:
            if question.archived_at is None:
                question.archived_at = datetime.now(UTC)
                await question.save(update_fields=["archived_at"])
            await audit.record(staff, "learning.question_archive", question)
        else:
            await audit.record(staff, "learning.question_delete", question)
            await question.delete()
    if not kept:
        _forget_image(settings, question.image_name)
    return not kept


async def restore_question(question: Question, *, staff: StaffUser) -> None:
    async with in_transaction():
        question.archived_at = None
        await question.save(update_fields=["archived_at"])
        await audit.record(staff, "learning.question_restore", question)


# ----------------------------------------------------------------------------- tests


async def create_test(topic: Topic, names: NamesInput, *, staff: StaffUser) -> LearningTest:
    async with in_transaction():
        test = await LearningTest.create(topic_id=topic.id, name_km=names.km, name_en=names.en)
        await audit.record(staff, "learning.test_create", test, {"topic": topic.id})
    return test


async def rename_test(test: LearningTest, names: NamesInput, *, staff: StaffUser) -> None:
    """A test's name may change even once taken: its questions are what answers answered."""
    async with in_transaction():
        test.name_km, test.name_en = names.km, names.en
        await test.save(update_fields=["name_km", "name_en"])
        await audit.record(staff, "learning.test_rename", test)


async def _locked_test(connection: BaseDBAsyncClient, test: LearningTest) -> list[TestQuestion]:
    """Lock the test for the change, refuse it if taken, and its entries in order."""
    await db.lock_row(connection, "learning_test", test.id)
    if await test_in_use(test.id):
        raise LearningTestInUse()
    return await TestQuestion.filter(test_id=test.id).order_by("position", "id")


async def _renumber(entries: Sequence[TestQuestion]) -> None:
    for position, entry in enumerate(entries, start=1):
        if entry.position != position:
            entry.position = position
            await entry.save(update_fields=["position"])


async def add_to_test(test: LearningTest, question_ids: Sequence[int], *, staff: StaffUser) -> None:
    """Add questions of the test's topic (not archived, not there yet) at its end."""
    if not question_ids:
        raise ValidationFailed({"question_ids": N_("Choose at least one question to add.")})
    async with in_transaction() as connection:
        entries = await _locked_test(connection, test)
        found = await Question.filter(
            id__in=list(question_ids), topic_id=test.topic_id, archived_at__isnull=True
        ).values_list("id", flat=True)
        there = {entry.question_id for entry in entries}
        if len(set(found)) != len(set(question_ids)) or there & set(question_ids):
            raise ValidationFailed({"question_ids": N_("Choose from the list.")})
        if len(entries) + len(set(question_ids)) > MAX_TEST_QUESTIONS:
            raise ValidationFailed({"question_ids": TOO_MANY_QUESTIONS}, TOO_MANY_QUESTIONS)
        position = len(entries)
        for question_id in question_ids:
            position += 1
            await TestQuestion.create(test_id=test.id, question_id=question_id, position=position)
        await audit.record(staff, "learning.test_add", test, {"questions": list(question_ids)})


async def remove_from_test(test: LearningTest, question_id: int, *, staff: StaffUser) -> None:
    async with in_transaction() as connection:
        entries = await _locked_test(connection, test)
        gone = [e for e in entries if e.question_id == question_id]
        if not gone:
            raise QuestionNotFound()
        await gone[0].delete()
        await _renumber([e for e in entries if e.question_id != question_id])
        await audit.record(staff, "learning.test_remove", test, {"question": question_id})


async def move_in_test(
    test: LearningTest, question_id: int, step: int, *, staff: StaffUser
) -> None:
    """Move a question one place up (``step`` −1) or down (+1); at an end it stays."""
    async with in_transaction() as connection:
        entries = await _locked_test(connection, test)
        where = next((i for i, e in enumerate(entries) if e.question_id == question_id), None)
        if where is None:
            raise QuestionNotFound()
        other = where + (1 if step > 0 else -1)
        if 0 <= other < len(entries):
            entries[where], entries[other] = entries[other], entries[where]
        await _renumber(entries)
        await audit.record(staff, "learning.test_move", test, {"question": question_id})


async def copy_test(test: LearningTest, *, staff: StaffUser) -> LearningTest:
    """A new test of the same questions in the same order, to change where the original,
    taken, cannot. Its name says it is a copy only by its id: staff rename it."""
    async with in_transaction():
        copy = await LearningTest.create(
            topic_id=test.topic_id, name_km=test.name_km, name_en=test.name_en
        )
        for entry in await TestQuestion.filter(test_id=test.id).order_by("position", "id"):
            await TestQuestion.create(
                test_id=copy.id, question_id=entry.question_id, position=entry.position
            )
        await audit.record(staff, "learning.test_copy", copy, {"from": test.id})
    return copy


async def _test_chosen(test_id: int) -> bool:
    return await SessionEvaluation.filter(pre_test_id=test_id).exists() or (
        await SessionEvaluation.filter(post_test_id=test_id).exists()
    )


async def remove_test(test: LearningTest, *, staff: StaffUser) -> bool:
    """Delete a test never taken nor chosen by a session; archive any other. True if deleted."""
    async with in_transaction() as connection:
        await db.lock_row(connection, "learning_test", test.id)
        kept = await test_in_use(test.id) or await _test_chosen(test.id)
        if kept:
            if test.archived_at is None:
                test.archived_at = datetime.now(UTC)
                await test.save(update_fields=["archived_at"])
            await audit.record(staff, "learning.test_archive", test)
        else:
            await audit.record(staff, "learning.test_delete", test)
            await TestQuestion.filter(test_id=test.id).delete()
            await test.delete()
    return not kept


async def restore_test(test: LearningTest, *, staff: StaffUser) -> None:
    async with in_transaction():
        test.archived_at = None
        await test.save(update_fields=["archived_at"])
        await audit.record(staff, "learning.test_restore", test)


# ----------------------------------------------------------------------------- a session's


def pre_test_open(session: Session, now: datetime) -> bool:
    """The pre-test can be taken: before the session starts (and it is not cancelled)."""
    return session.status != SessionStatus.CANCELLED and now < session.starts_at


def post_test_open(evaluation: SessionEvaluation | None, session: Session, now: datetime) -> bool:
    """The post-test can be taken: the session has a post-test, is not cancelled, and has
    ended or staff opened the post-test early. It stays open after that."""
    if evaluation is None or evaluation.post_test_id is None:
        return False
    if session.status == SessionStatus.CANCELLED:
        return False
    opened = evaluation.post_opened_at
    return now >= session.ends_at or (opened is not None and opened <= now)


async def pre_test_open_anywhere(question_ids: Collection[int], now: datetime) -> bool:
    """A session not cancelled and not started yet has a pre-test holding one of these
    questions. Until none has, which answers are right is shown to nobody: a session of the
    topic may use the very test (or some of its questions) as its pre-test."""
    if not question_ids:
        return False
    return (
        await SessionEvaluation.filter(
            pre_test__entries__question_id__in=sorted(question_ids), session__starts_at__gt=now
        )
        .exclude(session__status=SessionStatus.CANCELLED)
        .exists()
    )


async def evaluation_of(session_id: int) -> SessionEvaluation | None:
    """The session's test settings, with its two tests; None if never set."""
    return (
        await SessionEvaluation.filter(session_id=session_id)
        .select_related("pre_test", "post_test")
        .first()
    )


async def choosable_tests(session: Session) -> list[LearningTest]:
    """The tests a session may choose: its topic's, not archived (and whichever it has)."""
    current = await evaluation_of(session.id)
    chosen = {current.pre_test_id, current.post_test_id} if current else set()
    tests = await LearningTest.filter(topic__sessions__id=session.id).order_by("id")
    return sorted(
        (test for test in tests if test.archived_at is None or test.id in chosen),
        key=lambda t: (t.archived_at is not None, t.id),
    )


async def _locked_evaluation(connection: BaseDBAsyncClient, session: Session) -> SessionEvaluation:
    """The session's settings row, made if needed, with the session row locked: two staff
    saving at once make one row."""
    await db.lock_row(connection, "session", session.id)
    found = await SessionEvaluation.get_or_none(session_id=session.id)
    return found or await SessionEvaluation.create(session_id=session.id)


async def choose_tests(
    session: Session, *, pre_test_id: int | None, post_test_id: int | None, staff: StaffUser
) -> SessionEvaluation:
    """Set the session's pre-test and post-test (None: none), among :func:`choosable_tests`.

    A phase's test stays once someone took it for this session (:class:`PhaseAlreadyTaken`)."""
    allowed = {test.id for test in await choosable_tests(session)}
    errors = {
        field: N_("Choose a test of this training's topic.")
        for field, value in (("pre_test", pre_test_id), ("post_test", post_test_id))
        if value is not None and value not in allowed
    }
    if errors:
        raise ValidationFailed(errors)
    async with in_transaction() as connection:
        evaluation = await _locked_evaluation(connection, session)
        # The row an attempt being submitted locks (``attempts.submit_test``): a change of
        # tests and a first attempt are one after the other, never at the same moment.
        await db.lock_row(connection, "learning_session", evaluation.id)
        changed = {}
        for phase, old, new in (
            (Phase.PRE, evaluation.pre_test_id, pre_test_id),
            (Phase.POST, evaluation.post_test_id, post_test_id),
        ):
            if old == new:
                continue
            if await Attempt.filter(session_id=session.id, phase=phase).exists():
                raise PhaseAlreadyTaken()
            changed[f"{phase.value}_test"] = new
        evaluation.pre_test_id = pre_test_id
        evaluation.post_test_id = post_test_id
        await evaluation.save(update_fields=["pre_test_id", "post_test_id"])
        if changed:
            await audit.record(staff, "learning.session_tests", evaluation, changed)
    return evaluation


async def open_post_test(session: Session, *, now: datetime, staff: StaffUser) -> None:
    """Open the post-test now, before the session's end (it opens by itself at the end), but
    not before its start (:class:`PostTestBeforeStart`): the pre-test is open until then."""
    async with in_transaction() as connection:
        evaluation = await _locked_evaluation(connection, session)
        if evaluation.post_test_id is None:
            raise ValidationFailed({"post_test": N_("Choose a post-test first.")})
        if now < session.starts_at:
            raise PostTestBeforeStart()
        if evaluation.post_opened_at is None:
            evaluation.post_opened_at = now
            await evaluation.save(update_fields=["post_opened_at"])
            await audit.record(staff, "learning.post_test_open", evaluation)


async def close_post_test(session: Session, *, now: datetime, staff: StaffUser) -> None:
    """Undo an early opening: the post-test waits for the session's end again. After the end
    it is open whatever is set, so closing it then is refused."""
    if now >= session.ends_at:
        raise PostTestOpenAtEnd()
    async with in_transaction() as connection:
        evaluation = await _locked_evaluation(connection, session)
        if evaluation.post_opened_at is not None:
            evaluation.post_opened_at = None
            await evaluation.save(update_fields=["post_opened_at"])
            await audit.record(staff, "learning.post_test_close", evaluation)


# ----------------------------------------------------------------------------- feedback


async def feedback_questions() -> list[FeedbackQuestion]:
    """Every feedback question, the active ones first in their order."""
    found = await FeedbackQuestion.all()
    return sorted(found, key=lambda q: (q.archived_at is not None, q.position, q.id))


async def _active_feedback() -> list[FeedbackQuestion]:
    return await FeedbackQuestion.filter(archived_at__isnull=True).order_by("position", "id")


TOO_MANY_FEEDBACK = N_("At most five questions can be asked. Archive one first.")


async def add_feedback_question(names: NamesInput, *, staff: StaffUser) -> FeedbackQuestion:
    async with in_transaction():
        active = await _active_feedback()
        if len(active) >= MAX_FEEDBACK_QUESTIONS:
            raise ValidationFailed({}, TOO_MANY_FEEDBACK)
        question = await FeedbackQuestion.create(
            text_km=names.km, text_en=names.en, position=len(active) + 1
        )
        await audit.record(staff, "learning.feedback_question_create", question)
    return question


async def get_feedback_question(question_id: int) -> FeedbackQuestion:
    found = await FeedbackQuestion.get_or_none(id=question_id)
    if found is None:
        raise QuestionNotFound()
    return found


async def update_feedback_question(
    question: FeedbackQuestion, names: NamesInput, *, staff: StaffUser
) -> None:
    async with in_transaction():
        question.text_km, question.text_en = names.km, names.en
        await question.save(update_fields=["text_km", "text_en"])
        await audit.record(staff, "learning.feedback_question_update", question)


async def archive_feedback_question(question: FeedbackQuestion, *, staff: StaffUser) -> None:
    """Archived, never deleted: past answers name the question by its id."""
    async with in_transaction():
        question.archived_at = datetime.now(UTC)
        await question.save(update_fields=["archived_at"])
        await _renumber_feedback(await _active_feedback())
        await audit.record(staff, "learning.feedback_question_archive", question)


async def restore_feedback_question(question: FeedbackQuestion, *, staff: StaffUser) -> None:
    async with in_transaction():
        active = await _active_feedback()
        if len(active) >= MAX_FEEDBACK_QUESTIONS:
            raise ValidationFailed({}, TOO_MANY_FEEDBACK)
        question.archived_at = None
        question.position = len(active) + 1
        await question.save(update_fields=["archived_at", "position"])
        await audit.record(staff, "learning.feedback_question_restore", question)


async def _renumber_feedback(questions: Sequence[FeedbackQuestion]) -> None:
    for position, question in enumerate(questions, start=1):
        if question.position != position:
            question.position = position
            await question.save(update_fields=["position"])


async def move_feedback_question(
    question: FeedbackQuestion, step: int, *, staff: StaffUser
) -> None:
    """One place up (``step`` −1) or down (+1) among the active questions."""
    async with in_transaction():
        active = await _active_feedback()
        where = next((i for i, q in enumerate(active) if q.id == question.id), None)
        if where is None:
            raise QuestionNotFound()
        other = where + (1 if step > 0 else -1)
        if 0 <= other < len(active):
            active[where], active[other] = active[other], active[where]
        await _renumber_feedback(active)
        await audit.record(staff, "learning.feedback_question_move", question)
