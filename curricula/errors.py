"""Errors of the curricula package (see ``sala.errors`` for the whole tree)."""

from __future__ import annotations

from sala.errors import Conflict, NotFound, ValidationFailed
from sala.i18n import N_


class TeamNotFound(NotFound):
    code = "team_not_found"
    message = N_("There is no such team or member.")


class CurriculumNotFound(NotFound):
    code = "curriculum_not_found"
    message = N_("There is no such curriculum or module.")


class CyclicPrerequisites(ValidationFailed):
    """Module A requires B which (through others) requires A: nobody could ever start."""

    code = "cyclic_prerequisites"

    def __init__(self) -> None:
        super().__init__(
            {
                "prerequisites": N_(
                    "These prerequisites go round in a circle: a module would require itself."
                )
            },
            N_("These prerequisites go round in a circle: a module would require itself."),
        )


class ModuleHasProgress(Conflict):
    code = "module_has_progress"
    message = N_(
        "Members completed this module through the topic you are removing. Keep the topic, "
        "or archive the module and make a new one: recorded progress is never deleted."
    )


class PersonUnknown(ValidationFailed):
    """No registration ever used this email or phone: the page offers to invite them."""

    code = "person_unknown"

    def __init__(self, contact: str) -> None:
        super().__init__(
            {
                "contact": N_(
                    "Nobody with this email or phone has registered for a training yet. "
                    "Invite them to a session instead."
                )
            }
        )
        self.contact = contact


class CurriculumNotComplete(Conflict):
    code = "curriculum_not_complete"
    message = N_("Not every module is done yet: the curriculum certificate comes at the end.")
