"""Errors of the events package (see ``sala.errors`` for the whole tree)."""

from __future__ import annotations

from sala.errors import Conflict, NotFound
from sala.i18n import N_


class SessionNotFound(NotFound):
    """No session with this id is visible to this user."""

    code = "session_not_found"
    message = N_("We could not find this training.")


class SessionCancelled(Conflict):
    """A cancelled session cannot be published or edited back to life."""

    code = "session_cancelled"
    message = N_("This training has been cancelled.")


class TopicNotFound(NotFound):
    """No topic with this id."""

    code = "topic_not_found"
    message = N_("We could not find this topic.")


class SessionNotDeletable(Conflict):
    """Only a draft that nobody ever registered for can be deleted; others are cancelled, so
    the people on them are told and the record of who came stays."""

    code = "session_not_deletable"
    message = N_("Only a draft without registrations can be deleted. Cancel this training instead.")
