"""Field parsers shared by HTML forms and JSON bodies.

Each takes the raw value (a form string or a JSON value) and either returns the clean value
or records a message id in ``errors`` under the field's name, so one pass reports every
wrong field at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sala.i18n import N_

Errors = dict[str, str]

# The years a moment may have: far from datetime's own bounds (1 and 9999), where turning
# it into UTC or adding a day, a month or a series would overflow.
MIN_YEAR, MAX_YEAR = 1900, 2999
_WHOLE_NUMBER = re.compile(r"^-?[0-9]{1,11}$")  # ASCII digits: "²".isdigit() is True
MAX_ID = 2**31 - 1


def parse_id(raw: object) -> int | None:
    """**The** reading of a database id from a form field or a JSON value: 1 to ``MAX_ID``
    (PostgreSQL's ``integer``); None for anything else, so a forged ``"²"``, a 30-digit
    number, ``true`` or ``1.0`` is a 4xx, not a crash in the database driver."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= MAX_ID else None
    if isinstance(raw, str) and re.fullmatch(r"[0-9]{1,10}", raw.strip()):
        value = int(raw)
        return value if 1 <= value <= MAX_ID else None
    return None


# What no text of ours can hold, whatever the field: NUL, which PostgreSQL's text refuses,
# and lone surrogates (a JSON "\ud800", or a form sent as UTF-7), which are not Unicode at
# all: no UTF-8 encoder, the database driver's or the JSON answer's, can write one.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NOT_UNICODE = N_("This is not valid Unicode text: it holds a lone surrogate (such as \\ud800).")
NOT_ALLOWED = N_("This contains characters that are not allowed.")


def unstorable(value: str) -> str | None:
    """The message id for text no field can store (a lone surrogate, NUL), else None.

    Applied to every string of a JSON body (:mod:`sala.jsonapi`) and of a form
    (:func:`sala.csrf.read_form`) before any route sees it."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return NOT_ALLOWED if found.group() == "\x00" else NOT_UNICODE


# C0 and C1 controls, DEL and the Unicode line and paragraph separators; the second set
# lets tab, LF and CR through, for multi-line fields.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


# Characters that change the order text is shown in (bidirectional embeddings, overrides,
# isolates and marks) or show nothing at all (word joiner, invisible operators, BOM, soft
# hyphen, fillers, the combining grapheme joiner, Khmer's deprecated inherent vowels U+17B4
# and U+17B5, tag characters): they let "Dara" and "Dara\u202e" be two people, or an address read
# as another. Khmer's zero-width space and the joiners (U+200B-U+200D) stay allowed: Khmer
# writes them between words and inside clusters, and emoji sequences need the joiner.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)


def _has_control_characters(value: str, *, allow_newlines: bool) -> bool:
    """Control characters (CR and LF among them) never belong in a one-line field: in an
    email header they would let someone add headers of their own."""
    return (_CONTROL_BUT_NEWLINES if allow_newlines else _CONTROL).search(value) is not None


# Visible ASCII only: an address with invisible or look-alike characters reads as another's.
_EMAIL = re.compile(
    r"^[\x21-\x3f\x41-\x7e]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$"
)


def fold_email(raw: str) -> str:
    """An address as it is stored and compared: trimmed, in lower case."""
    return raw.strip().lower()


def normalise_email(raw: str) -> str | None:
    """**The** reading of a typed address (registrations, invitations, team members, staff
    accounts): folded; None when empty; ``ValueError`` when it is not an address we accept."""
    email = fold_email(raw)
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError(email)
    return email


class FieldReader:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.errors: Errors = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(
        self, name: str, *, max_length: int, required: bool = False, multiline: bool = False
    ) -> str:
        value = self.raw.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.fail(name, N_("This must be text."))
            return ""
        value = value.strip()
        if _has_control_characters(value, allow_newlines=multiline):
            self.fail(name, NOT_ALLOWED)
            return ""
        if _INVISIBLE.search(value):
            self.fail(
                name,
                N_(
                    "This contains invisible characters, or characters that change the "
                    "direction of the text. Please type it again without them."
                ),
            )
            return ""
        if required and not value:
            self.fail(name, N_("This field is required."))
        elif len(value) > max_length:
            self.fail(name, N_("This is too long."))
        return value

    def integer(self, name: str, *, minimum: int, maximum: int) -> int:
        value = self.raw.get(name)
        if isinstance(value, str):
            value = value.strip()
            if _WHOLE_NUMBER.match(value):
                value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, N_("Enter a whole number."))
            return minimum
        if not minimum <= value <= maximum:
            self.fail(name, N_("Enter a number in the allowed range."))
        return value

    def id(self, name: str, *, required: bool = True) -> int | None:
        """A database id (:func:`parse_id`); None when missing or wrong."""
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, N_("This field is required."))
            return None
        found = parse_id(value)
        if found is None:
            self.fail(name, N_("This is not a valid id."))
        return found

    def ids(self, name: str) -> tuple[int, ...]:
        """Database ids (:func:`parse_id`) from a JSON list or a form's repeated field, sorted,
        each once; one wrong item fails the field."""
        value = self.raw.get(name)
        if value is None or value == "":
            return ()
        items = value if isinstance(value, list | tuple) else [value]
        found = [parse_id(item) for item in items]
        if None in found:
            self.fail(name, N_("Choose from the list."))
            return ()
        return tuple(sorted({i for i in found if i is not None}))

    def choice(self, name: str, choices: tuple[str, ...], *, default: str | None = None) -> str:
        value = self.raw.get(name)
        if value in (None, "") and default is not None:
            return default
        if not isinstance(value, str) or value not in choices:
            self.fail(name, N_("Choose one of the options."))
            return default or choices[0]
        return value

    def url(self, name: str, *, max_length: int = 500) -> str:
        value = self.text(name, max_length=max_length)
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.fail(name, N_("Enter a full web address starting with https://."))
        return value

    def moment(self, name: str, *, tz: ZoneInfo, required: bool = False) -> datetime | None:
        """A date and time; without an offset it is read in ``tz``. Returned aware."""
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                self.fail(name, N_("This field is required."))
            return None
        if not isinstance(value, str) or len(value) > 40:
            self.fail(name, N_("Enter a date and time."))
            return None
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(name, N_("Enter a date and time."))
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            self.fail(name, N_("Enter a year between 1900 and 2999."))
            return None
        return parsed

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        return value in (True, "1", "on", "true", "yes")
