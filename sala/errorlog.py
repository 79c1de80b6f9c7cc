"""Logging an unexpected error without the personal data its words may hold.

An exception's message often quotes what it was given: a refused address, a database row
("Key (email)=(…) already exists"), a path with a manage token. Log lines get the type and
where it happened (the traceback's frames), never the message; what an admin needs to read
is stored where only admins see it (the outbox's ``last_error``).
"""

from __future__ import annotations

import logging
import traceback


def log_error(log: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """``log.error(message % args)``, then the exception's type and frames, not its words."""
    where = "".join(traceback.format_tb(exc.__traceback__))
    log.error(message + " (%s)\n%s", *args, type(exc).__name__, where)
