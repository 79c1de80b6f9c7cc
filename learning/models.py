"""What people learned and thought of a session: pre/post tests, feedback and materials.

- A topic has a **question bank** (:class:`Question`, its :class:`Choice` rows, the correct
  ones marked). A **test** (:class:`LearningTest`) is an ordered set of questions of one
  topic's bank; a session's :class:`SessionEvaluation` names its pre-test and its post-test
  (the same test, or two parallel forms).
- An :class:`Attempt` is one registration's answers to one of the two (one per phase: taking
  a test twice gives the first result), scored when submitted: a point per question whose
  chosen set of choices is exactly the correct set.
- **Feedback** is anonymous by design: a :class:`FeedbackResponse` carries the session, the
  day and the answers, never a person, a registration or a time of day, and its key is random
  (ids tell no order). That a registration answered is a :class:`FeedbackReceipt` apart,
  without a time, so one answer per registration can be enforced and nothing links the two.
- A :class:`Material` is a file or a link attached to a session, with who may see it.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from sala.i18n import N_, gettext, pick
from sala.models import StaffUser

TEXT_MAX = 2000
CHOICE_MAX = 500
NAME_MAX = 200
FILE_NAME_MAX = 200


class QuestionKind(StrEnum):
    SINGLE = "single"  # exactly one choice is correct and one may be chosen
    MULTIPLE = "multiple"  # any number are correct; every correct one, and only those

    @property
    def label(self) -> str:
        return gettext(_KIND_LABELS[self])


_KIND_LABELS = {
    QuestionKind.SINGLE: N_("One answer"),
    QuestionKind.MULTIPLE: N_("Several answers"),
}


class Phase(StrEnum):
    PRE = "pre"
    POST = "post"

    @property
    def label(self) -> str:
        return gettext(_PHASE_LABELS[self])


_PHASE_LABELS = {Phase.PRE: N_("Before the session"), Phase.POST: N_("After the session")}


class Question(Model):
    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Topic", related_name="questions", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(QuestionKind, max_length=10, default=QuestionKind.SINGLE)
    text_km = fields.TextField(default="")
    text_en = fields.TextField(default="")
    # A picture shown with the question: a random file name under <data dir>/learning/images.
    image_name = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    archived_at = fields.DatetimeField(null=True)

    choices: fields.ReverseRelation[Choice]
    topic_id: int

    class Meta:
        table = "learning_question"
        ordering = ["id"]

    @property
    def text(self) -> str:
        return pick(self.text_km, self.text_en)


class Choice(Model):
    id = fields.IntField(primary_key=True)
    question: fields.ForeignKeyRelation[Question] = fields.ForeignKeyField(
        "learning.Question", related_name="choices", on_delete=fields.CASCADE
    )
    text_km = fields.CharField(max_length=CHOICE_MAX, default="")
    text_en = fields.CharField(max_length=CHOICE_MAX, default="")
    correct = fields.BooleanField(default=False)
    position = fields.SmallIntField(default=0)

    question_id: int

    class Meta:
        table = "learning_choice"
        ordering = ["position", "id"]

    @property
    def text(self) -> str:
        return pick(self.text_km, self.text_en)


class LearningTest(Model):
    """A test: questions of the bank of one topic, in order.

    Questions in use are never deleted (archived instead): past attempts keep what they
    answered."""

    id = fields.IntField(primary_key=True)
    topic: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Topic", related_name="learning_tests", on_delete=fields.RESTRICT
    )
    name_km = fields.CharField(max_length=NAME_MAX, default="")
    name_en = fields.CharField(max_length=NAME_MAX, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    archived_at = fields.DatetimeField(null=True)

    entries: fields.ReverseRelation[TestQuestion]
    topic_id: int

    class Meta:
        table = "learning_test"
        ordering = ["id"]

    @property
    def name(self) -> str:
        return pick(self.name_km, self.name_en)


class TestQuestion(Model):
    __test__ = False  # not a pytest class

    id = fields.IntField(primary_key=True)
    test: fields.ForeignKeyRelation[LearningTest] = fields.ForeignKeyField(
        "learning.LearningTest", related_name="entries", on_delete=fields.CASCADE
    )
    question: fields.ForeignKeyRelation[Question] = fields.ForeignKeyField(
        "learning.Question", related_name="entries", on_delete=fields.RESTRICT
    )
    position = fields.SmallIntField(default=0)

    test_id: int
    question_id: int

    class Meta:
        table = "learning_test_question"
        unique_together = (("test", "question"),)
        ordering = ["position", "id"]


class SessionEvaluation(Model):
    """The tests of a session: the post-test opens when the session ends, or when staff open it."""

    id = fields.IntField(primary_key=True)
    session: fields.OneToOneRelation = fields.OneToOneField(
        "events.Session", related_name="evaluation", on_delete=fields.CASCADE
    )
    pre_test: fields.ForeignKeyNullableRelation[LearningTest] = fields.ForeignKeyField(
        "learning.LearningTest", related_name="pre_of", null=True, on_delete=fields.RESTRICT
    )
    post_test: fields.ForeignKeyNullableRelation[LearningTest] = fields.ForeignKeyField(
        "learning.LearningTest", related_name="post_of", null=True, on_delete=fields.RESTRICT
    )
    post_opened_at = fields.DatetimeField(null=True)

    session_id: int
    pre_test_id: int | None
    post_test_id: int | None

    class Meta:
        table = "learning_session"


class Attempt(Model):
    id = fields.IntField(primary_key=True)
    registration: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "attendees.Registration", related_name="attempts", on_delete=fields.CASCADE
    )
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Session", related_name="attempts", on_delete=fields.CASCADE
    )
    phase = fields.CharEnumField(Phase, max_length=4)
    test: fields.ForeignKeyRelation[LearningTest] = fields.ForeignKeyField(
        "learning.LearningTest", related_name="attempts", on_delete=fields.RESTRICT
    )
    score = fields.SmallIntField()
    max_score = fields.SmallIntField()
    submitted_at = fields.DatetimeField()

    answers: fields.ReverseRelation[AttemptAnswer]
    registration_id: int
    session_id: int
    test_id: int

    class Meta:
        table = "learning_attempt"
        unique_together = (("registration", "phase"),)


class AttemptAnswer(Model):
    id = fields.IntField(primary_key=True)
    attempt: fields.ForeignKeyRelation[Attempt] = fields.ForeignKeyField(
        "learning.Attempt", related_name="answers", on_delete=fields.CASCADE
    )
    question: fields.ForeignKeyRelation[Question] = fields.ForeignKeyField(
        "learning.Question", related_name="answers", on_delete=fields.RESTRICT
    )
    # The ids of the choices chosen, comma-separated in ascending order ("" for none).
    chosen = fields.CharField(max_length=200, default="")
    correct = fields.BooleanField()

    attempt_id: int
    question_id: int

    class Meta:
        table = "learning_answer"
        unique_together = (("attempt", "question"),)


class FeedbackQuestion(Model):
    """A question an admin adds to the feedback form of every session.

    Answered in words; the 1–5 rating is always asked."""

    id = fields.IntField(primary_key=True)
    text_km = fields.CharField(max_length=CHOICE_MAX, default="")
    text_en = fields.CharField(max_length=CHOICE_MAX, default="")
    position = fields.SmallIntField(default=0)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "learning_feedback_question"
        ordering = ["position", "id"]

    @property
    def text(self) -> str:
        return pick(self.text_km, self.text_en)


class FeedbackResponse(Model):
    """One anonymous answer: no person, no registration, the day only, a random key."""

    id = fields.UUIDField(primary_key=True)
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Session", related_name="feedback", on_delete=fields.CASCADE
    )
    day = fields.DateField()
    rating = fields.SmallIntField()
    # {"<feedback question id>": "the words given"}; questions left empty are left out.
    answers: dict[str, str] = fields.JSONField(default=dict)

    session_id: int

    class Meta:
        table = "learning_feedback"


class FeedbackReceipt(Model):
    """That a registration has given its feedback: nothing more (no time, no answer)."""

    id = fields.UUIDField(primary_key=True)  # random: the rows tell no order either
    registration: fields.OneToOneRelation = fields.OneToOneField(
        "attendees.Registration", related_name="feedback_receipt", on_delete=fields.CASCADE
    )

    registration_id: int

    class Meta:
        table = "learning_feedback_receipt"


class MaterialAudience(StrEnum):
    CONFIRMED = "confirmed"  # before (and after) the session, for confirmed registrations
    CHECKED_IN = "checked_in"  # after check-in, for those who came
    PUBLIC = "public"  # anyone, from ``public_from`` on

    @property
    def label(self) -> str:
        return gettext(_AUDIENCE_LABELS[self])


_AUDIENCE_LABELS = {
    MaterialAudience.CONFIRMED: N_("Before the session, for confirmed people"),
    MaterialAudience.CHECKED_IN: N_("After check-in, for those who came"),
    MaterialAudience.PUBLIC: N_("Public after a date"),
}


class Material(Model):
    """A file (stored under <data dir>/learning/materials by a random name) or a link."""

    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Session", related_name="materials", on_delete=fields.CASCADE
    )
    title_km = fields.CharField(max_length=NAME_MAX, default="")
    title_en = fields.CharField(max_length=NAME_MAX, default="")
    link_url = fields.CharField(max_length=1000, default="")  # a link; "" for a file
    file_name = fields.CharField(max_length=FILE_NAME_MAX, default="")  # as uploaded, tidied
    stored_name = fields.CharField(max_length=64, default="")
    content_type = fields.CharField(max_length=100, default="")
    size = fields.IntField(default=0)  # bytes
    audience = fields.CharEnumField(MaterialAudience, max_length=12)
    public_from = fields.DatetimeField(null=True)
    position = fields.SmallIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="materials", null=True, on_delete=fields.SET_NULL
    )

    session_id: int

    class Meta:
        table = "learning_material"
        ordering = ["position", "id"]

    @property
    def title(self) -> str:
        return pick(self.title_km, self.title_en) or self.file_name

    @property
    def is_link(self) -> bool:
        return bool(self.link_url)
