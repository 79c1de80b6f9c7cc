"""Staff pages of the question bank, the tests and a session's test settings.

admin (facilitators of a session of the topic may look)
         /staff/topics/{id}/questions        the topic's bank; POST adds a question
         /staff/questions/{id}               a question: edit, copy, archive or delete, restore
         /staff/topics/{id}/tests            the topic's tests; POST adds one
         /staff/learning-tests/{id}          a test: its name, its questions in order
admin and the session's facilitators
         /staff/sessions/{id}/tests          the pre-test and post-test; open the post-test now
admin    /staff/feedback-questions           the questions of every feedback form
anyone   /learning/images/{name}             a question's picture (random names, no personal data)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from events.services import get_session_for_staff
from learning import bank
from learning.forms import (
    CHOICE_ROWS,
    parse_feedback_question,
    parse_names,
    parse_question,
    question_values,
)
from learning.models import Question, QuestionKind
from sala.csrf import read_form
from sala.errors import NotFound, SalaError, ValidationFailed
from sala.forms import FieldReader, parse_id
from sala.i18n import N_, gettext
from sala.models import Role
from sala.permissions import public, staff_page
from sala.responses import PRIVATE_HEADERS
from sala.templating import render

VIEWERS = (Role.ADMIN, Role.FACILITATOR)
UNREADABLE = N_("The form could not be read.")


def _texts(form: FormData) -> dict[str, Any]:
    raw: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    raw["correct"] = [v for v in form.getlist("correct") if isinstance(v, str)]
    raw["question_ids"] = [v for v in form.getlist("question_ids") if isinstance(v, str)]
    return raw


async def _upload(form: FormData) -> bytes | None:
    upload = form.get("image")
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read(bank.MAX_IMAGE_BYTES + 1)
    return None


def _action(form: FormData) -> tuple[str, int | None]:
    """A button's ``action`` value: ``save``, or ``up:12`` (a verb and the id it acts on)."""
    raw = str(form.get("action", ""))
    verb, _, target = raw.partition(":")
    return verb, parse_id(target) if target else None


def _page(request: Request, template: str, context: dict[str, Any], status: int) -> Response:
    return render(request, template, context, status_code=status, headers=PRIVATE_HEADERS)


def _values_of(question: Question) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": question.kind.value,
        "text_km": question.text_km,
        "text_en": question.text_en,
        "correct": set(),
    }
    for row, choice in enumerate(question.choices, start=1):
        values[f"choice_km_{row}"] = choice.text_km
        values[f"choice_en_{row}"] = choice.text_en
        if choice.correct:
            values["correct"].add(str(row))
    return values


def _question_context(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "values": values,
        "rows": CHOICE_ROWS,
        "kinds": [(kind.value, kind.label) for kind in QuestionKind],
        "max_image_mb": bank.MAX_IMAGE_BYTES // 1_000_000,
    }


# ----------------------------------------------------------------------------- the bank


@staff_page(*VIEWERS)
async def question_bank(request: Request) -> Response:
    staff = request.state.user
    topic_id = request.path_params["topic_id"]
    topic = await bank.topic_for_staff(staff, topic_id, edit=request.method == "POST")
    values: dict[str, Any] = {"kind": QuestionKind.SINGLE.value, "correct": set()}
    errors: dict[str, str] = {}
    form_error: str | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request, max_files=1)
        raw = _texts(form)
        values = question_values(raw)
        data, errors = parse_question(raw)
        try:
            if data is None:
                raise ValidationFailed(errors)
            question = await bank.create_question(
                topic,
                data,
                image=await _upload(form),
                settings=request.app.state.settings,
                staff=staff,
            )
        except ValidationFailed as exc:
            errors, form_error, status = exc.translated_errors(), exc.translated(), 422
        else:
            path = request.url_for("learning:bank", topic_id=topic.id).path
            return RedirectResponse(f"{path}?saved={question.id}", status_code=303)
    context = {
        "topic": topic,
        "questions": await bank.bank_of(topic.id),
        "in_use": await bank.questions_in_use(topic.id),
        "can_edit": staff.is_admin,
        "errors": errors,
        "form_error": form_error,
        "saved": parse_id(request.query_params.get("saved", "")),
        **_question_context(values),
    }
    return _page(request, "learning/staff_bank.html", context, status)


@staff_page(*VIEWERS)
async def question_page(request: Request) -> Response:
    staff = request.state.user
    settings = request.app.state.settings
    editing = request.method == "POST"
    question = await bank.question_for_staff(
        staff, request.path_params["question_id"], edit=editing
    )
    values = _values_of(question)
    errors: dict[str, str] = {}
    form_error: str | None = None
    status = 200
    bank_path = request.url_for("learning:bank", topic_id=question.topic_id).path
    if editing:
        form = await read_form(request, max_files=1)
        verb, _ = _action(form)
        raw = _texts(form)
        try:
            if verb == "copy":
                copy = await bank.copy_question(question, settings=settings, staff=staff)
                path = request.url_for("learning:question", question_id=copy.id).path
                return RedirectResponse(f"{path}?copied=1", status_code=303)
            if verb == "remove":
                deleted = await bank.remove_question(question, settings=settings, staff=staff)
                done = "deleted" if deleted else "archived"
                return RedirectResponse(f"{bank_path}?{done}=1", status_code=303)
            if verb == "restore":
                await bank.restore_question(question, staff=staff)
            else:
                values = question_values(raw)
                data, errors = parse_question(raw)
                if data is None:
                    raise ValidationFailed(errors)
                await bank.update_question(
                    question,
                    data,
                    image=await _upload(form),
                    remove_image=bool(form.get("remove_image")),
                    settings=settings,
                    staff=staff,
                )
        except ValidationFailed as exc:
            errors, form_error, status = exc.translated_errors(), exc.translated(), 422
        except SalaError as exc:
            form_error, status = exc.translated(), exc.status_code
        else:
            path = request.url_for("learning:question", question_id=question.id).path
            return RedirectResponse(f"{path}?saved=1", status_code=303)
    context = {
        "question": question,
        "topic": question.topic,
        "in_use": await bank.question_in_use(question.id),
        "can_edit": staff.is_admin,
        "errors": errors,
        "form_error": form_error,
        "saved": request.query_params.get("saved"),
        "copied": request.query_params.get("copied"),
        **_question_context(values),
    }
    return _page(request, "learning/staff_question.html", context, status)


@public
async def question_image(request: Request) -> Response:
    found = await bank.read_image(request.app.state.settings, request.path_params["name"])
    if found is None:
        raise NotFound()
    # A name is never reused for other content: it can be kept for good.
    headers = {"cache-control": "public, max-age=31536000, immutable"}
    return Response(found.data, media_type=found.content_type, headers=headers)


# ----------------------------------------------------------------------------- tests


@staff_page(*VIEWERS)
async def tests_page(request: Request) -> Response:
    staff = request.state.user
    topic = await bank.topic_for_staff(
        staff, request.path_params["topic_id"], edit=request.method == "POST"
    )
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        names, errors = parse_names(values)
        if names is not None:
            test = await bank.create_test(topic, names, staff=staff)
            path = request.url_for("learning:test_edit", test_id=test.id).path
            return RedirectResponse(path, status_code=303)
        status = 422
    context = {
        "topic": topic,
        "tests": await bank.tests_of(topic.id),
        "counts": await bank.question_counts(topic.id),
        "can_edit": staff.is_admin,
        "values": values,
        "errors": {k: gettext(v) for k, v in errors.items()},
    }
    return _page(request, "learning/staff_tests.html", context, status)


_STEPS = {"up": -1, "down": 1}


@staff_page(*VIEWERS)
async def test_page(request: Request) -> Response:
    staff = request.state.user
    editing = request.method == "POST"
    test = await bank.test_for_staff(staff, request.path_params["test_id"], edit=editing)
    values = {"name_km": test.name_km, "name_en": test.name_en}
    errors: dict[str, str] = {}
    form_error: str | None = None
    status = 200
    here = request.url_for("learning:test_edit", test_id=test.id).path
    if editing:
        form = await read_form(request)
        verb, target = _action(form)
        raw = _texts(form)
        try:
            if verb == "rename":
                values = {"name_km": raw.get("name_km", ""), "name_en": raw.get("name_en", "")}
                names, errors = parse_names(raw)
                if names is None:
                    raise ValidationFailed(errors)
                await bank.rename_test(test, names, staff=staff)
            elif verb == "add":
                reader = FieldReader(raw)
                ids = reader.ids("question_ids")
                if reader.errors:
                    raise ValidationFailed(reader.errors)
                await bank.add_to_test(test, ids, staff=staff)
            elif verb in _STEPS and target is not None:
                await bank.move_in_test(test, target, _STEPS[verb], staff=staff)
            elif verb == "drop" and target is not None:
                await bank.remove_from_test(test, target, staff=staff)
            elif verb == "copy":
                copy = await bank.copy_test(test, staff=staff)
                path = request.url_for("learning:test_edit", test_id=copy.id).path
                return RedirectResponse(f"{path}?copied=1", status_code=303)
            elif verb == "remove":
                deleted = await bank.remove_test(test, staff=staff)
                tests = request.url_for("learning:tests", topic_id=test.topic_id).path
                done = "deleted" if deleted else "archived"
                return RedirectResponse(f"{tests}?{done}=1", status_code=303)
            elif verb == "restore":
                await bank.restore_test(test, staff=staff)
            else:
                raise ValidationFailed({}, UNREADABLE)
        except ValidationFailed as exc:
            errors, form_error, status = exc.translated_errors(), exc.translated(), 422
        except SalaError as exc:
            form_error, status = exc.translated(), exc.status_code
        else:
            return RedirectResponse(f"{here}?saved=1", status_code=303)
    entries = await bank.test_entries(test.id)
    there = {entry.question_id for entry in entries}
    context = {
        "test": test,
        "topic": test.topic,
        "entries": entries,
        "addable": [
            q
            for q in await bank.bank_of(test.topic_id)
            if q.archived_at is None and q.id not in there
        ],
        "in_use": await bank.test_in_use(test.id),
        "can_edit": staff.is_admin,
        "values": values,
        "errors": errors,
        "form_error": form_error,
        "saved": request.query_params.get("saved"),
        "copied": request.query_params.get("copied"),
    }
    return _page(request, "learning/staff_test.html", context, status)


# ----------------------------------------------------------------------------- a session's


@staff_page(*VIEWERS)
async def session_tests(request: Request) -> Response:
    staff = request.state.user
    session = await get_session_for_staff(staff, request.path_params["session_id"])
    now = datetime.now(UTC)
    evaluation = await bank.evaluation_of(session.id)
    values = {
        "pre_test": str(evaluation.pre_test_id or "") if evaluation else "",
        "post_test": str(evaluation.post_test_id or "") if evaluation else "",
    }
    errors: dict[str, str] = {}
    form_error: str | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        verb, _target = _action(form)
        try:
            if verb == "open":
                await bank.open_post_test(session, now=now, staff=staff)
            elif verb == "close":
                await bank.close_post_test(session, now=now, staff=staff)
            else:
                values = {k: str(form.get(k, "")) for k in ("pre_test", "post_test")}
                reader = FieldReader(values)
                pre = reader.id("pre_test", required=False)
                post = reader.id("post_test", required=False)
                if reader.errors:
                    raise ValidationFailed(reader.errors)
                await bank.choose_tests(session, pre_test_id=pre, post_test_id=post, staff=staff)
        except ValidationFailed as exc:
            errors, form_error, status = exc.translated_errors(), exc.translated(), 422
        except SalaError as exc:
            form_error, status = exc.translated(), exc.status_code
        else:
            path = request.url_for("learning:session_tests", session_id=session.id).path
            return RedirectResponse(f"{path}?saved={verb or 'tests'}", status_code=303)
        evaluation = await bank.evaluation_of(session.id)
    context = {
        "session": session,
        "evaluation": evaluation,
        "tests": await bank.choosable_tests(session),
        "post_open": bank.post_test_open(evaluation, session, now),
        "pre_open": bank.pre_test_open(session, now),
        "ended": now >= session.ends_at,
        "values": values,
        "errors": errors,
        "form_error": form_error,
        "saved": request.query_params.get("saved"),
    }
    return _page(request, "learning/staff_session_tests.html", context, status)


# ----------------------------------------------------------------------------- feedback


@staff_page(Role.ADMIN)
async def feedback_questions(request: Request) -> Response:
    staff = request.state.user
    errors: dict[str, str] = {}
    form_error: str | None = None
    status = 200
    values: dict[str, str] = {}
    failed_id: int | None = None
    if request.method == "POST":
        form = await read_form(request)
        verb, target = _action(form)
        raw = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            if verb == "add":
                values = raw
                names, errors = parse_feedback_question(raw)
                if names is None:
                    raise ValidationFailed(errors)
                await bank.add_feedback_question(names, staff=staff)
            elif target is not None:
                question = await bank.get_feedback_question(target)
                if verb == "save":
                    failed_id, values = question.id, raw
                    names, errors = parse_feedback_question(raw)
                    if names is None:
                        raise ValidationFailed(errors)
                    await bank.update_feedback_question(question, names, staff=staff)
                elif verb == "archive":
                    await bank.archive_feedback_question(question, staff=staff)
                elif verb == "restore":
                    await bank.restore_feedback_question(question, staff=staff)
                elif verb in _STEPS:
                    await bank.move_feedback_question(question, _STEPS[verb], staff=staff)
                else:
                    raise ValidationFailed({}, UNREADABLE)
            else:
                raise ValidationFailed({}, UNREADABLE)
        except ValidationFailed as exc:
            errors, form_error, status = exc.translated_errors(), exc.translated(), 422
        else:
            path = request.url_for("learning:feedback_questions").path
            return RedirectResponse(f"{path}?saved=1", status_code=303)
    questions = await bank.feedback_questions()
    context = {
        "questions": questions,
        "active": sum(q.archived_at is None for q in questions),
        "most": bank.MAX_FEEDBACK_QUESTIONS,
        "values": values,
        "failed_id": failed_id,
        "errors": errors,
        "form_error": form_error,
        "saved": request.query_params.get("saved"),
    }
    return _page(request, "learning/staff_feedback_questions.html", context, status)


routes: list[BaseRoute] = [
    Route(
        "/staff/topics/{topic_id:int}/questions",
        question_bank,
        methods=["GET", "POST"],
        name="learning:bank",
    ),
    Route(
        "/staff/questions/{question_id:int}",
        question_page,
        methods=["GET", "POST"],
        name="learning:question",
    ),
    Route("/learning/images/{name}", question_image, name="learning:question_image"),
    Route(
        "/staff/topics/{topic_id:int}/tests",
        tests_page,
        methods=["GET", "POST"],
        name="learning:tests",
    ),
    Route(
        "/staff/learning-tests/{test_id:int}",
        test_page,
        methods=["GET", "POST"],
        name="learning:test_edit",
    ),
    Route(
        "/staff/sessions/{session_id:int}/tests",
        session_tests,
        methods=["GET", "POST"],
        name="learning:session_tests",
    ),
    Route(
        "/staff/feedback-questions",
        feedback_questions,
        methods=["GET", "POST"],
        name="learning:feedback_questions",
    ),
]
