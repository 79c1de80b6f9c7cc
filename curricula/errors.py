"""Errors of the curricula package (see ``sala.errors`` for the whole tree)."""

from __future__ import annotations

from sala.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from sala.i18n import N_


class TeamNotFound(NotFound):
    """No such team, or no such member of it."""

    code = "team_not_found"
    message = N_("There is no such team or member.")


class CurriculumNotFound(NotFound):
    """No such curriculum, or no such module of it."""

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
    """Removing a module that members have already booked or done."""

    code = "module_has_progress"
    message = N_(
        "Members completed this module through the topic you are removing. Keep the topic, "
        "or archive the module and make a new one: recorded progress is never deleted."
    )


class AlreadyAsked(ValidationFailed):
    """The leader typed a contact they already added to this team (whoever holds it)."""

    code = "already_asked"

    def __init__(self) -> None:
        super().__init__({"contact": N_("You have already added this contact to the team.")})


class MemberPending(Conflict):
    """Marks, invitations and certificates wait until the person has said yes."""

    code = "member_pending"
    message = N_(
        "This person has not confirmed yet: nothing about them is shown or recorded in the "
        "team until they do."
    )


class NobodyToConfirm(Conflict):
    """An admin confirming a request that no registered person holds (admins only)."""

    code = "nobody_to_confirm"
    message = N_(
        "Nobody who registered holds this contact (or they declined), so there is nobody to "
        "confirm. Ask them to register first, then ask them again."
    )


class JoinLinkInvalid(NotFound):
    """A confirmation link that is forged, too old, already used, or whose request is gone."""

    code = "join_link_invalid"
    message = N_(
        "This link is no longer valid: it was already used, the request was withdrawn, or it "
        "is too old. Ask the team leader to send you a new one."
    )


class CertificateByAdminsOnly(PermissionDenied):
    """Team leaders follow progress; a curriculum certificate is an admin's decision."""

    code = "certificate_by_admins_only"
    message = N_("Only an admin can issue a curriculum certificate.")


class CurriculumNotComplete(Conflict):
    """A curriculum certificate asked for before every module is done."""

    code = "curriculum_not_complete"
    message = N_("Not every module is done yet: the curriculum certificate comes at the end.")
