"""Check-in at the door: one function decides every scan, from the scanner page, its offline
queue and the API alike.

A ticket names its registration by a random ticket id (version 2) or, for tickets issued
before ticket ids, by registration id, session id and seed (version 1; see
``checkin.tickets``); a scan by name (the scanner's search) names the registration itself.

A scan is idempotent on its ``scan_id`` (made by the device): the first time it is decided
and the answer stored; the same scan again gets the stored answer and changes nothing. Two
devices scanning one ticket: the first check-in stands, the second is answered
``already_checked_in`` with who and when. The decision for a batch runs as steps, the
permission check first: on SQLite in one trip to the database thread, and scans that arrive
together (many doors, one server) in one transaction (``sala.db.GroupCommit``).
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from attendees.errors import RegistrationNotFound
from attendees.forms import RegistrationInput
from attendees.models import Registration, RegistrationSource, RegistrationStatus
from attendees.registration import register
from checkin.models import ScanResult
from checkin.tickets import (
    InvalidTicket,
    LegacyTicketClaims,
    TicketClaims,
    TicketKeys,
    load_keys,
    verify_token,
)
from events.models import Session
from events.services import get_session_for_staff, session_access_steps
from sala import audit, db
from sala.config import Settings
from sala.errors import ValidationFailed
from sala.forms import FieldReader
from sala.i18n import N_
from sala.models import StaffUser

MAX_SCANS_PER_BATCH = 500
_SCAN_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
# A door phone keeps a session's check-in list (names) offline until this long after the
# session ends; then it deletes the list by itself.
OFFLINE_LIST_KEPT = timedelta(hours=12)


@dataclass(frozen=True)
class Scan:
    """A ticket read at the door — or, with ``registration_id`` instead of a token, a
    facilitator checking someone in by name (the scanner's search)."""

    token: str
    session_id: int
    scan_id: str
    scanned_at: datetime | None
    device_id: str
    registration_id: int | None = None


@dataclass(frozen=True)
class ScanAnswer:
    scan_id: str
    result: str
    registration_id: int | None = None
    chosen_name: str | None = None
    checked_in_at: str | None = None
    checked_in_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every field, once per scan on the hot path.
        return {
            "scan_id": self.scan_id,
            "result": self.result,
            "registration_id": self.registration_id,
            "chosen_name": self.chosen_name,
            "checked_in_at": self.checked_in_at,
            "checked_in_by": self.checked_in_by,
        }


def parse_scans(payload: Mapping[str, Any]) -> list[Scan]:
    """One scan object, or ``{"scans": [...]}`` — the scanner's offline queue."""
    raw = payload.get("scans", [payload]) if isinstance(payload, Mapping) else None
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed({"scans": N_("Send one scan or a list of scans.")})
    if len(raw) > MAX_SCANS_PER_BATCH:
        raise ValidationFailed({"scans": N_("At most 500 scans at a time.")})
    scans: list[Scan] = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise ValidationFailed({"scans": N_("Send one scan or a list of scans.")})
        reader = FieldReader(item)
        by_name = item.get("registration_id") is not None and not item.get("token")
        token = reader.text("token", max_length=200, required=not by_name)
        registration_id = reader.id("registration_id") if by_name else None
        scan_id = reader.text("scan_id", max_length=64, required=True)
        if scan_id and not _SCAN_ID.match(scan_id):
            reader.fail("scan_id", N_("This is not a valid scan id."))
        session_id = reader.id("session_id") or 0
        scanned_at = reader.moment("scanned_at", tz=ZoneInfo("UTC"))
        device_id = reader.text("device_id", max_length=64)
        if reader.errors:
            raise ValidationFailed(reader.errors)
        scans.append(Scan(token, session_id, scan_id, scanned_at, device_id, registration_id))
    return scans


# What a search by name ignores: case, the accents of Latin letters ("nguyen" finds
# "Nguyễn", typed precomposed or not), spaces, and the invisible characters Khmer text carries
# (zero-width space and joiners, word joiner, byte order mark, the inherent vowels U+17B4/5).
# Khmer's own vowel signs and coeng are kept: they tell names apart. The scanner folds what
# is typed with static/js/checkin/names.js, which must agree character for character
# (tests/e2e/test_scanner_refresh.py runs both on the same names).
_SEARCH_IGNORED = re.compile(
    "[\t\n\v\f\r \u0085\u00a0\u00ad\u1680\u17b4\u17b5\u180e\u2000-\u200f"
    "\u2028\u2029\u202f\u205f\u2060-\u2064\u3000\ufeff]"
)
_LATIN_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_PLAIN_LETTERS = str.maketrans(
    {"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "ς": "σ"}
)


def name_search_key(name: str) -> str:
    """A name as the scanner's search compares it: a typed query, folded the same way, is
    found when it is part of this key."""
    text = unicodedata.normalize("NFKD", name).lower()
    text = _SEARCH_IGNORED.sub("", _LATIN_MARKS.sub("", text)).translate(_PLAIN_LETTERS)
    return unicodedata.normalize("NFC", text)


def offline_list_expiry(session: Session) -> datetime:
    """When the phones delete this session's check-in list."""
    return session.ends_at + OFFLINE_LIST_KEPT


WALK_IN_DEVICE = "walk-in"

# Single scans arriving together (many doors, one server) are decided in one transaction.
_door = db.GroupCommit()


async def check_in(scans: list[Scan], *, staff: StaffUser, settings: Settings) -> list[ScanAnswer]:
    """Decide each scan. Only the session's facilitators (and admins) may check people in."""
    keys = load_keys(settings.data_dir)
    now = datetime.now(UTC)
    return await _door.run(lambda _dialect: _batch_steps(scans, keys, staff, now))


def _batch_steps(
    scans: list[Scan], keys: TicketKeys, staff: StaffUser, now: datetime
) -> db.Steps[list[ScanAnswer]]:
    # The signatures are checked before the first query: on SQLite that work runs on the
    # database thread, beside the event loop, and outside the transaction (db.run_steps).
    claims = [_verified(keys, scan.token) if scan.token else None for scan in scans]
    # May this staff member check people in here? Before anything is written. Asked once per
    # staff member and session in a group: its transaction holds SQLite's write lock, so an
    # assignment cannot change meanwhile (a refusal raises, and is never remembered).
    shared = yield db.GROUP_STATE
    for session_id in dict.fromkeys(scan.session_id for scan in scans):
        if ("runs", staff.id, session_id) not in shared:
            yield from session_access_steps(staff, session_id)
            shared["runs", staff.id, session_id] = True
    answers = []
    for scan, claim in zip(scans, claims, strict=True):
        answer = yield from _scan_steps(scan, claim, staff, now)
        answers.append(answer)
    return answers


# What a scan says about whom it is for: a ticket of either version, or (by name) the
# registration's own row, read as its version-1 ticket would say it.
Claims = TicketClaims | LegacyTicketClaims


def _verified(keys: TicketKeys, token: str) -> Claims | None:
    try:
        return verify_token(keys, token)
    except InvalidTicket:
        return None


def _scan_steps(
    scan: Scan, claims: Claims | None, staff: StaffUser, now: datetime
) -> db.Steps[ScanAnswer]:
    recorded = yield db.Query(
        "INSERT INTO checkin_scan (scan_id, session_id, staff_id, device_id, scanned_at, "
        "received_at, result, answer) VALUES (?, ?, ?, ?, ?, ?, '', '') "
        "ON CONFLICT (scan_id) DO NOTHING RETURNING id",
        [scan.scan_id, scan.session_id, staff.id, scan.device_id, scan.scanned_at, now],
    )
    if recorded is None:  # this scan was decided before: the same answer again
        stored = yield db.Query(
            "SELECT session_id, result, answer FROM checkin_scan WHERE scan_id = ?", [scan.scan_id]
        )
        if stored["session_id"] != scan.session_id:  # a scan_id can't change sessions
            return ScanAnswer(scan.scan_id, ScanResult.INVALID)
        if not stored["answer"]:  # the person has since deleted their data
            return ScanAnswer(scan.scan_id, stored["result"])
        return ScanAnswer(**json.loads(stored["answer"]))
    if scan.registration_id is not None:
        claims = yield from _claims_by_name(scan)
    answer = yield from _decide(scan, claims, staff, _arrival(scan, now))
    yield db.Query(
        "UPDATE checkin_scan SET result = ?, registration_id = ?, answer = ? WHERE id = ?",
        [answer.result, answer.registration_id, json.dumps(answer.as_json()), recorded["id"]],
        returns_row=False,
    )
    return answer


def _claims_by_name(scan: Scan) -> db.Steps[Claims | None]:
    """What the ticket of a registration picked by name would have said."""
    row = yield db.Query(
        "SELECT session_id, ticket_seed FROM registration WHERE id = ?", [scan.registration_id]
    )
    if row is None or scan.registration_id is None:
        return None
    return LegacyTicketClaims(scan.registration_id, row["session_id"], int(row["ticket_seed"]), 0)


# A phone may queue scans for a while offline; its clock is trusted within these bounds.
_OFFLINE_PAST = timedelta(days=2)
_CLOCK_SKEW = timedelta(minutes=5)


def _arrival(scan: Scan, now: datetime) -> datetime:
    """When the person came in: the phone's scan time for a scan queued offline (within
    reason), else the moment the server hears of it."""
    scanned = scan.scanned_at
    if scanned is not None and now - _OFFLINE_PAST <= scanned <= now + _CLOCK_SKEW:
        return min(scanned, now)
    return now


# The common case in one statement: a confirmed ticket of this session, not yet used. A
# version-2 ticket names its registration by ticket id (all it carries), a version-1 ticket
# by registration id and seed.
_CHECK_IN_BY_TICKET_ID = (
    "UPDATE registration SET checked_in_at = ?, checked_in_by_id = ?, checked_in_device = ? "
    "WHERE ticket_id = ? AND session_id = ? AND status = 'confirmed' "
    "AND checked_in_at IS NULL AND anonymised_at IS NULL RETURNING id, chosen_name"
)
_CHECK_IN_BY_ID_AND_SEED = (
    "UPDATE registration SET checked_in_at = ?, checked_in_by_id = ?, checked_in_device = ? "
    "WHERE id = ? AND ticket_seed = ? AND session_id = ? AND status = 'confirmed' "
    "AND checked_in_at IS NULL AND anonymised_at IS NULL RETURNING id, chosen_name"
)
# When that matched nothing: the row, to say why.
_WHY_NOT_BY_TICKET_ID = (
    "SELECT r.id, r.status, r.session_id, r.ticket_seed, r.chosen_name, r.checked_in_at, "
    "r.anonymised_at, s.name AS checked_in_by FROM registration r "
    "LEFT JOIN staff_user s ON s.id = r.checked_in_by_id WHERE r.ticket_id = ?"
)
_WHY_NOT_BY_ID = (
    "SELECT r.id, r.status, r.session_id, r.ticket_seed, r.chosen_name, r.checked_in_at, "
    "r.anonymised_at, s.name AS checked_in_by FROM registration r "
    "LEFT JOIN staff_user s ON s.id = r.checked_in_by_id WHERE r.id = ?"
)


def _decide(
    scan: Scan, claims: Claims | None, staff: StaffUser, now: datetime
) -> db.Steps[ScanAnswer]:
    if claims is None:
        return ScanAnswer(scan.scan_id, ScanResult.INVALID)
    by_whom = [now, staff.id, scan.device_id]
    if isinstance(claims, TicketClaims):
        checked_in = yield db.Query(
            _CHECK_IN_BY_TICKET_ID, [*by_whom, claims.ticket_id, scan.session_id]
        )
    elif claims.session_id != scan.session_id:
        return ScanAnswer(scan.scan_id, ScanResult.WRONG_SESSION)
    else:
        checked_in = yield db.Query(
            _CHECK_IN_BY_ID_AND_SEED,
            [*by_whom, claims.registration_id, claims.seed, scan.session_id],
        )
    if checked_in is not None:
        return ScanAnswer(
            scan.scan_id, ScanResult.CHECKED_IN, int(checked_in["id"]),
            checked_in["chosen_name"], now.isoformat(), staff.name,
        )  # fmt: skip
    if isinstance(claims, TicketClaims):
        row = yield db.Query(_WHY_NOT_BY_TICKET_ID, [claims.ticket_id])
    else:
        row = yield db.Query(_WHY_NOT_BY_ID, [claims.registration_id])
    return _why_not(scan, claims, row)


def _why_not(scan: Scan, claims: Claims, row: dict[str, Any] | None) -> ScanAnswer:
    """The answer for a genuine ticket that did not check anyone in."""
    if isinstance(claims, TicketClaims):
        if row is None:  # genuine, so once issued: its ticket id has since been replaced
            return ScanAnswer(scan.scan_id, ScanResult.REVOKED)
        if row["session_id"] != scan.session_id:  # said without naming the person
            return ScanAnswer(scan.scan_id, ScanResult.WRONG_SESSION)
    elif row is None or row["session_id"] != claims.session_id:
        return ScanAnswer(scan.scan_id, ScanResult.INVALID)
    registration_id = int(row["id"])
    if row["anonymised_at"] is not None:
        return ScanAnswer(scan.scan_id, ScanResult.CANCELLED, registration_id)
    name = row["chosen_name"]
    if isinstance(claims, LegacyTicketClaims) and int(row["ticket_seed"]) != claims.seed:
        return ScanAnswer(scan.scan_id, ScanResult.REVOKED, registration_id, name)
    if row["status"] == RegistrationStatus.CANCELLED:
        return ScanAnswer(scan.scan_id, ScanResult.CANCELLED, registration_id, name)
    if row["status"] == RegistrationStatus.WAITLISTED:
        return ScanAnswer(scan.scan_id, ScanResult.WAITLISTED, registration_id, name)
    checked_in_at = db.as_datetime(row["checked_in_at"])
    return ScanAnswer(
        scan.scan_id,
        ScanResult.ALREADY_CHECKED_IN,
        registration_id,
        name,
        checked_in_at.isoformat() if checked_in_at else None,
        row["checked_in_by"],
    )


async def undo_check_in(registration_id: int, *, staff: StaffUser) -> Registration:
    """Take back a check-in made by mistake (the scan log keeps what happened)."""
    registration = await Registration.get_or_none(id=registration_id)
    if registration is None:
        raise RegistrationNotFound()
    await get_session_for_staff(staff, registration.session_id)  # type: ignore[attr-defined]
    async with in_transaction():
        await Registration.filter(id=registration_id).update(
            checked_in_at=None, checked_in_by_id=None, checked_in_device=""
        )
        await audit.record(staff, "checkin.undo", registration)
    await registration.refresh_from_db()
    return registration


@dataclass(frozen=True)
class WalkIn:
    registration: Registration
    checked_in: bool
    waitlist_position: int | None


async def walk_in(
    session_id: int, data: RegistrationInput, *, staff: StaffUser, settings: Settings
) -> WalkIn:
    """Register someone at the door, and check them in at once if a seat is left."""
    await get_session_for_staff(staff, session_id)
    outcome = await register(
        session_id, data, source=RegistrationSource.WALK_IN, settings=settings, actor=staff
    )
    registration = outcome.registration
    if registration.status != RegistrationStatus.CONFIRMED:
        return WalkIn(registration, False, outcome.waitlist_position)
    # Checked in as the scanner's search by name does: the same steps, and a scan on record.
    door = Scan(
        token="",
        session_id=session_id,
        scan_id=f"walk-in-{secrets.token_hex(12)}",
        scanned_at=None,
        device_id=WALK_IN_DEVICE,
        registration_id=registration.id,
    )
    await check_in([door], staff=staff, settings=settings)
    await registration.refresh_from_db()
    return WalkIn(registration, registration.checked_in_at is not None, None)
