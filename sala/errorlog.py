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


class WithoutWords(logging.Filter):
    """Rewrites a record carrying an exception as :func:`log_error` would: the type and the
    frames, not the message. For loggers of libraries that log exceptions themselves —
    uvicorn logs every error a request raises ("Exception in ASGI application"), which
    Starlette re-raises after our handler has answered and logged it without its words."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            where = "".join(traceback.format_tb(exc.__traceback__))
            record.msg = f"{record.getMessage().rstrip()} ({type(exc).__name__})\n{where}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


WITHOUT_WORDS = WithoutWords()


def keep_words_out_of_server_logs() -> None:
    """Install :class:`WithoutWords` on uvicorn's error log (once, however often called)."""
    logging.getLogger("uvicorn.error").addFilter(WITHOUT_WORDS)
