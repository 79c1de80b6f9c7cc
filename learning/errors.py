"""The learning package's errors, each with its translatable message and stable code."""

from __future__ import annotations

from sala.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    SalaError,
    ValidationFailed,
)
from sala.i18n import N_

# ----------------------------------------------------------- taking a test (attempts.py, routes.py)


class TestNotFound(NotFound):
    """No such phase, or the session has no test for it."""

    __test__ = False  # not a pytest class
    code = "test_not_found"
    message = N_("This session has no such test.")


class NotYourTest(PermissionDenied):
    """This registration may not take this test (not confirmed, did not come, cancelled)."""

    code = "test_not_for_you"
    message = N_("Only people with a confirmed seat can take this test.")


class TestClosed(Conflict):
    """The test is not open now: the pre-test after the start, the post-test before the end."""

    __test__ = False
    code = "test_closed"
    message = N_("This test is not open now.")


class InvalidChoice(ValidationFailed):
    """An answer names a choice that is not one of its question's."""

    code = "invalid_choice"


class Unanswered(ValidationFailed):
    """Some questions have no answer (or a one-answer question has several)."""

    code = "unanswered"


# ------------------------------ the bank, tests and a session's settings (bank.py, staff_routes.py)


class QuestionNotFound(NotFound):
    """No question with this id (or not one this staff member may see)."""

    code = "question_not_found"
    message = N_("We could not find this question.")


class LearningTestNotFound(NotFound):
    """No test with this id (or not one this staff member may see)."""

    code = "learning_test_not_found"
    message = N_("We could not find this test.")


class QuestionInUse(Conflict):
    """A question someone answered keeps its meaning: copy it to change it."""

    code = "question_in_use"
    message = N_(
        "Someone has already answered this question, so it cannot change: their answers "
        "would then mean something else. Make a copy and change the copy."
    )


class LearningTestInUse(Conflict):
    """A test someone took keeps its questions: copy it to change them."""

    code = "test_in_use"
    message = N_(
        "Someone has already taken this test, so its questions stay as they are. "
        "Make a copy of the test and change the copy."
    )


class PhaseAlreadyTaken(Conflict):
    """A session's pre-test (post-test) stays the same once someone took it there."""

    code = "phase_already_taken"
    message = N_("Someone has already taken this test for this training, so it stays chosen.")


class PostTestBeforeStart(Conflict):
    """Staff may open the post-test early only once the session has started: before it, the
    pre-test is still open, and the two would be open at once."""

    code = "post_test_before_start"
    message = N_("The post-test can be opened once the training has started.")


class PostTestOpenAtEnd(Conflict):
    """After the session's end its post-test is open: there is no closing it then."""

    code = "post_test_after_end"
    message = N_("This training has ended, so its post-test is open.")


# ------------------------------------------------------- feedback (feedback.py, feedback_routes.py)


class FeedbackClosed(PermissionDenied):
    """The form is not open for this registration (not checked in, too early, too late)."""

    code = "feedback_closed"
    message = N_("The feedback form is not open for this registration.")


class FeedbackNotYet(FeedbackClosed):
    """The session has not ended yet."""

    code = "feedback_not_yet"
    message = N_("The feedback form opens when the training ends.")


class FeedbackOver(FeedbackClosed):
    """More than :data:`OPEN_DAYS` days after the end."""

    code = "feedback_over"
    message = N_("The feedback form of this training is closed.")


class FeedbackOnlyForAttendees(FeedbackClosed):
    """Not checked in, waitlisted, cancelled, or the session was cancelled."""

    code = "feedback_attendees_only"
    message = N_("Only people who came to the training can give feedback.")


class FeedbackAlreadyGiven(Conflict):
    """This registration has answered already: one answer each."""

    code = "feedback_already_given"
    message = N_("You already gave your feedback, thank you.")


# ----------------------------------------------------- materials (materials.py, material_routes.py)


class MaterialNotFound(NotFound):
    """No such material, or not one this person may see."""

    code = "material_not_found"
    message = N_("We could not find this material.")


class MaterialLinkExpired(SalaError):
    """A signed link to a material is older than an hour."""

    status_code = 410
    code = "material_link_expired"
    message = N_(
        "This download link has expired. Open your registration page again to get a new one."
    )


class MaterialTooLarge(SalaError):
    """An upload larger than ``SALA_MATERIAL_MAX_MB``, refused before it is read whole."""

    status_code = 413
    code = "material_too_large"
    message = N_("The file is too large: at most %(mb)s MB.")


class MaterialsZipBusy(SalaError):
    """As many ZIPs as a process makes at once are being sent: try again shortly."""

    status_code = 503
    code = "materials_zip_busy"
    message = N_("Many people are downloading materials right now. Please try again in a minute.")


class MaterialsZipTooOften(RateLimited):
    """This registration (or this address) asked for the ZIP too many times lately."""

    code = "materials_zip_rate_limited"
    message = N_(
        "You have downloaded the materials several times in a short while. "
        "Please wait a few minutes and try again."
    )
