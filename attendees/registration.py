"""Taking a seat: register, waitlist, cancel, promote. Every rule about capacity lives here.

Each function that changes seats runs in one transaction that first locks the session row
(``sala.db.lock_row``), so decisions about the last seats are made one at a time, in every
process, on SQLite and on PostgreSQL. ``Session.confirmed_count`` is changed only here, by
conditional updates in that transaction; a session can therefore never be oversold.

The waitlist is ordered by ``waitlisted_at`` then id. A seat that frees up goes to the first
person waiting, in the same transaction, so a free seat and a waiting person never coexist.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from attendees.errors import (
    InvitationInvalid,
    InvitationRequired,
    InvitationUsedUp,
    InvitationWithdrawn,
    RegistrationClosed,
    RegistrationNotFound,
    RegistrationNotOpen,
    SessionNotOpenForRegistration,
)
from attendees.forms import RegistrationInput
from attendees.models import (
    Invitation,
    InvitationKind,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)
from checkin.tickets import new_ticket_id
from events.errors import SessionNotFound
from events.models import Audience, Session, SessionStatus
from sala import audit, db, mail
from sala.config import Settings
from sala.models import OutboxMessage, OutboxStatus, StaffUser

CONFIRMED_MAIL = "registration_confirmed_to_registrant"
WAITLISTED_MAIL = "registration_waitlisted_to_registrant"
PROMOTED_MAIL = "registration_promoted_to_registrant"
CANCELLED_MAIL = "registration_cancelled_to_registrant"
SESSION_CANCELLED_MAIL = "session_cancelled_to_registrant"
CLAIM_MAIL = "registration_claim_to_registrant"
SESSION_CHANGED_MAIL = "session_changed_to_registrant"
WITHDRAWN_MAIL = "registration_withdrawn_to_registrant"


@dataclass(frozen=True)
class RegistrationOutcome:
    registration: Registration
    waitlist_position: int | None


@dataclass(frozen=True)
class CancellationOutcome:
    registration: Registration
    promoted: list[Registration]


def _new_secret() -> tuple[str, int]:
    return secrets.token_urlsafe(12), secrets.randbits(32)


@dataclass(frozen=True)
class RegistrationWindow:
    """Whether the public form is shown, and if not, why."""

    state: str  # open, not_yet, closed, unavailable
    invite_only: bool

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def registration_window(session: Session, now: datetime | None = None) -> RegistrationWindow:
    now = now or datetime.now(UTC)
    invite_only = session.audience == Audience.INVITE_ONLY
    if session.status != SessionStatus.PUBLISHED:
        return RegistrationWindow("unavailable", invite_only)
    if session.registration_opens_at and now < session.registration_opens_at:
        return RegistrationWindow("not_yet", invite_only)
    if now >= (session.registration_closes_at or session.starts_at):
        return RegistrationWindow("closed", invite_only)
    return RegistrationWindow("open", invite_only)


def _check_open(session: Session, now: datetime, *, by_staff: bool) -> None:
    """Staff may add people outside the registration window, never to a closed session."""
    state = registration_window(session, now).state
    if state == "unavailable":
        raise SessionNotOpenForRegistration()
    if by_staff:
        return
    if state == "not_yet":
        raise RegistrationNotOpen()
    if state == "closed":
        raise RegistrationClosed()


# The two rules every path shares: registering (as steps), promotion, the roster, the API
# and the CSV.
#
# Taking a seat: one conditional update, exact under any concurrency, in the transaction
# that holds the session's lock.
TAKE_SEAT = (
    'UPDATE "session" SET confirmed_count = confirmed_count + 1 '
    "WHERE id = ? AND confirmed_count < capacity"
)
# The waitlist's order: first decided, first served (``waitlisted_at`` is taken under the
# session's lock); ties by id.
WAITLIST_ORDER = ("waitlisted_at", "id")


async def _take_seat(session_id: int) -> bool:
    """One seat, if one is left."""
    return bool(await db.execute(connections.get("default"), TAKE_SEAT, [session_id]))


async def waitlist_position(registration: Registration) -> int | None:
    """Where a waitlisted registration stands (1 is next), by :data:`WAITLIST_ORDER`."""
    if registration.status != RegistrationStatus.WAITLISTED or registration.waitlisted_at is None:
        return None
    ahead = await Registration.filter(
        session_id=registration.session_id,  # type: ignore[attr-defined]
        status=RegistrationStatus.WAITLISTED,
        waitlisted_at__lt=registration.waitlisted_at,
    ).count()
    same_moment = await Registration.filter(
        session_id=registration.session_id,  # type: ignore[attr-defined]
        status=RegistrationStatus.WAITLISTED,
        waitlisted_at=registration.waitlisted_at,
        id__lt=registration.id,
    ).count()
    return ahead + same_moment + 1


async def _enqueue_for(
    registration: Registration,
    kind: str,
    settings: Settings,
    *,
    staff_message: str = "",
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Mail about a registration goes to the email typed for it, never to another's."""
    if not registration.email:
        return
    params: dict[str, Any] = {"registration_id": registration.id, **(extra or {})}
    if staff_message:
        params["staff_message"] = staff_message
    await mail.enqueue(
        kind,
        to=registration.email,
        language=registration.language,
        params=params,
        domain=settings.domain,
    )


# ----------------------------------------------------------------------------- registering
#
# ``register`` is the busiest write of a registration rush. Its rules are written once, as
# steps that yield queries (``_registration_steps``). Registrations for one session that
# arrive together are decided in one transaction (``_desk``, a ``sala.db.GroupCommit``): in
# arrival order, each in a savepoint of its own (a refused one rolls back only itself), the
# session locked by the first of them until the one commit; then each is answered with what
# it holds. SQLite: one trip to the database thread per group; PostgreSQL: one transaction
# per group, one awaited query at a time. See docs/ARCHITECTURE.md, "Seats".

_SESSION_COLUMNS = (
    "id, status, audience, capacity, confirmed_count, starts_at, registration_opens_at, "
    "registration_closes_at"
)
_LOCK_SESSION = {
    # SQLite: a no-op write takes the write lock (see sala.db.lock_row), and as the only
    # writer it can count the waitlist in the same statement.
    "sqlite": f'UPDATE "session" SET id = id WHERE id = ? RETURNING {_SESSION_COLUMNS}, '  # noqa: S608
    "(SELECT COUNT(*) FROM registration r WHERE r.session_id = session.id "
    "AND r.status = 'waitlisted') AS waiting",
    # PostgreSQL: a subquery here would count with the snapshot taken *before* the lock was
    # granted, so the count is a statement of its own, after it.
    "postgres": f'SELECT {_SESSION_COLUMNS} FROM "session" WHERE id = ? FOR UPDATE',  # noqa: S608
}
_COUNT_WAITING = (
    "SELECT COUNT(*) AS waiting FROM registration WHERE session_id = ? AND status = 'waitlisted'"
)
_PERSON_INSERT = (
    "INSERT INTO person (email, phone, reach_key, chosen_name, pronouns, language, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# Nothing when the email or the phone is already someone's (no conflict target: either).
_PERSON_INSERT_NEW = _PERSON_INSERT + " ON CONFLICT DO NOTHING RETURNING id"


# Grouped per session (``key``): a group locks one session row, and two processes' groups
# for it take turns (a deadlock between groups of two sessions is tried again: see
# GroupCommit). At most 100 a group: another process waits for the lock no longer. On
# PostgreSQL grouping doubles a rush's rate (bench/registration.py, two workers: 0.022-0.026
# of bare Starlette one transaction per registration, 0.043-0.070 grouped).
_desk = db.GroupCommit(max_callers=100, postgres_together=True)


@dataclass(frozen=True)
class _Decision:
    """What the steps decided; ``register`` turns it into the answer."""

    registration_id: int
    confirmed: bool
    waitlist_position: int | None
    fields: dict[str, Any]


def _person_steps(data: RegistrationInput, now: datetime) -> db.Steps[tuple[int, int | None, str]]:
    """The person this registration belongs to, the person it may later join, and the key
    the reports count it by (``Person.reach_key``).

    A contact nobody registered with makes a new person who holds it. A contact someone
    already holds never attaches this registration to them: knowing an email or a phone must
    open nothing. The registration gets a person of its own, with no contact on file, and
    the holder of the email is returned so that they can be asked (at that address) whether
    it is theirs. A phone cannot be asked, so a known phone gives no such person. Either way
    the new person is counted as the holder (their key), which no answer reveals.
    """
    key = secrets.token_hex(16)
    fields = [data.chosen_name, data.pronouns, data.language, now, now]
    holder = None
    if data.email:
        row = yield db.Query(_PERSON_INSERT_NEW, [data.email, data.phone, key, *fields])
        if row is not None:
            return int(row["id"]), None, key
        holder = yield db.Query("SELECT id, reach_key FROM person WHERE email = ?", [data.email])
        if holder is None:  # the phone is someone else's: this person holds the email only
            row = yield db.Query(_PERSON_INSERT_NEW, [data.email, None, key, *fields])
            if row is not None:
                return int(row["id"]), None, key
            holder = yield db.Query(
                "SELECT id, reach_key FROM person WHERE email = ?", [data.email]
            )
        claimable = int(holder["id"]) if holder is not None else None
    else:
        row = yield db.Query(_PERSON_INSERT_NEW, [None, data.phone, key, *fields])
        if row is not None:
            return int(row["id"]), None, key
        holder = yield db.Query("SELECT id, reach_key FROM person WHERE phone = ?", [data.phone])
        claimable = None
    if holder is not None and holder.get("reach_key"):
        key = str(holder["reach_key"])
    alone = yield db.Query(_PERSON_INSERT + " RETURNING id", [None, None, key, *fields])
    return int(alone["id"]), claimable, key


def _invitation_steps(
    session: Session, code: str, email: str | None, *, by_staff: bool
) -> db.Steps[int | None]:
    """The invitation this registration uses, one of its seats taken; None if not needed.

    Staff adding someone by hand need no invitation. A personal invitation is bound to the
    email it was sent to: another email cannot use it.
    """
    invite_only = session.audience == Audience.INVITE_ONLY
    if not code:
        if invite_only and not by_staff:
            raise InvitationRequired()
        return None
    row = yield db.Query(
        "SELECT id, kind, email, revoked_at FROM invitation WHERE code = ? AND session_id = ?",
        [code, session.id],
    )
    if row is not None and row["kind"] == InvitationKind.PERSONAL and row["email"] != email:
        row = None
    if row is not None and row["revoked_at"] is not None:
        if invite_only and not by_staff:
            raise InvitationWithdrawn()
        row = None
    if row is None:
        if invite_only and not by_staff:
            raise InvitationInvalid()
        return None  # a stale code on a public session does no harm
    taken = yield db.Query(
        "UPDATE invitation SET used = used + 1 WHERE id = ? AND used < seats",
        [row["id"]],
        returns_row=False,
    )
    if not taken:
        raise InvitationUsedUp()
    return int(row["id"])


def _locked_session_steps(
    dialect: str, session_id: int
) -> db.Steps[tuple[Session, int, dict[Any, Any]]]:
    """The session, locked for this transaction, how many people wait for a seat, and the
    group's shared state (see :func:`_held_session`)."""
    shared = yield db.GROUP_STATE
    held = shared.get(("session", session_id))
    if held is None:
        row = yield db.Query(_LOCK_SESSION[dialect], [session_id])
        if row is None or row["status"] == SessionStatus.DRAFT:
            raise SessionNotFound()
        if "waiting" not in row:
            counted = yield db.Query(_COUNT_WAITING, [session_id])
            row["waiting"] = counted["waiting"]
        waiting = int(row.pop("waiting"))
        for name in ("starts_at", "registration_opens_at", "registration_closes_at"):
            row[name] = db.as_datetime(row[name])
        held = (tuple(row.items()), waiting)
    fields, waiting = held
    return Session(**dict(fields)), waiting, shared


def _held_session(
    shared: dict[Any, Any], session: Session, *, waiting: int, confirmed: bool
) -> None:
    """What the next registration of this group finds without asking the database: the
    session is locked until the group commits, and nothing but this group changes its
    seats or its waitlist meanwhile. A registration whose steps fail takes its change back
    with its savepoint (``sala.db.GROUP_STATE``)."""
    row = {
        "id": session.id,
        "status": session.status,
        "audience": session.audience,
        "capacity": session.capacity,
        "confirmed_count": session.confirmed_count + (1 if confirmed else 0),
        "starts_at": session.starts_at,
        "registration_opens_at": session.registration_opens_at,
        "registration_closes_at": session.registration_closes_at,
    }
    shared[("session", session.id)] = (tuple(row.items()), waiting + (0 if confirmed else 1))


def _registration_steps(
    dialect: str,
    session_id: int,
    data: RegistrationInput,
    *,
    source: RegistrationSource,
    actor_id: int | None,
    now: datetime,
    domain: str,
) -> db.Steps[_Decision]:
    """Every registration is a new row, whether or not its contact is known, so that the
    answer tells nothing about anyone else (see ``_person_steps``)."""
    by_staff = actor_id is not None
    session, waiting, shared = yield from _locked_session_steps(dialect, session_id)
    # On an invite-only session nothing else is decided, or told, without an invitation.
    invitation_id = yield from _invitation_steps(
        session, data.invitation_code, data.email, by_staff=by_staff
    )
    _check_open(session, now, by_staff=by_staff)
    person_id, claimable_person_id, reach_key = yield from _person_steps(data, now)
    # Under the lock the count just read is the truth; the update stays conditional anyway.
    confirmed = False
    if session.confirmed_count < session.capacity:
        taken = yield db.Query(TAKE_SEAT, [session_id], returns_row=False)
        confirmed = bool(taken)
    _held_session(shared, session, waiting=waiting, confirmed=confirmed)
    manage_key, ticket_seed = _new_secret()
    status = RegistrationStatus.CONFIRMED if confirmed else RegistrationStatus.WAITLISTED
    fields: dict[str, Any] = {
        "chosen_name": data.chosen_name,
        "pronouns": data.pronouns,
        "email": data.email or "",
        "phone": data.phone or "",
        "sector": data.sector.value,
        "organisation": data.organisation,
        "language": data.language,
        "accessibility_needs": data.accessibility_needs,
        "province": data.province,
        "age_band": data.age_band,
        "gender_identity": data.gender_identity,
        "gender_identity_text": data.gender_identity_text,
        "reach_key": reach_key,
        "status": status.value,
        "source": source.value,
        "invitation_id": invitation_id,
        "manage_key": manage_key,
        "ticket_seed": ticket_seed,
        "ticket_id": new_ticket_id(),
        "consent_at": now if data.consent else None,
        # Taken under the lock: the waitlist order is the order the seats were decided in.
        "waitlisted_at": None if confirmed else datetime.now(UTC),
        "cancelled_at": None,
        "cancelled_by_id": None,
        "checked_in_at": None,
        "checked_in_by_id": None,
        "checked_in_device": "",
        "updated_at": now,
    }
    columns = ["session_id", "person_id", *fields, "created_at"]
    inserted = yield db.Query(
        f"INSERT INTO registration ({', '.join(columns)}) "  # noqa: S608 - our columns
        f"VALUES ({', '.join('?' for _ in columns)}) RETURNING id",
        [session_id, person_id, *fields.values(), now],
    )
    registration_id = int(inserted["id"])
    if data.email:
        yield mail.outbox_insert(
            CONFIRMED_MAIL if confirmed else WAITLISTED_MAIL,
            to=data.email,
            language=data.language,
            params={"registration_id": registration_id},
            domain=domain,
        )
    if data.email and claimable_person_id is not None:
        # The holder of this email is asked, at that address, whether it was them.
        yield mail.outbox_insert(
            CLAIM_MAIL,
            to=data.email,
            language=data.language,
            params={"registration_id": registration_id, "person_id": claimable_person_id},
            domain=domain,
        )
    if actor_id is not None:
        yield audit.entry_insert(
            actor_id, "registration.create", "Registration", registration_id,
            {"status": status.value},
        )  # fmt: skip
    # A new waitlisted registration is the last in line.
    fields.update(session_id=session_id, person_id=person_id, created_at=now)
    return _Decision(registration_id, confirmed, None if confirmed else waiting + 1, fields)


async def register(
    session_id: int,
    data: RegistrationInput,
    *,
    source: RegistrationSource,
    settings: Settings,
    actor: StaffUser | None = None,
    now: datetime | None = None,
) -> RegistrationOutcome:
    """Register a person for a session: confirmed while seats remain, else waitlisted.

    Always a new registration with a manage link of its own, even for a contact already
    registered (see ``_person_steps``): the answer never depends on who else registered.
    """
    moment = now or datetime.now(UTC)
    decision = await _desk.run(
        lambda dialect: _registration_steps(
            dialect,
            session_id,
            data,
            source=source,
            actor_id=actor.id if actor else None,
            now=moment,
            domain=settings.domain,
        ),
        key=session_id,
    )
    registration = Registration(id=decision.registration_id, **decision.fields)
    registration._saved_in_db = True
    return RegistrationOutcome(registration, decision.waitlist_position)


async def promote_from_waitlist(session_id: int, *, settings: Settings) -> list[Registration]:
    """Fill free seats from the head of the waitlist. Call inside a transaction that holds
    the session lock."""
    promoted: list[Registration] = []
    while True:
        head = (
            await Registration.filter(session_id=session_id, status=RegistrationStatus.WAITLISTED)
            .order_by(*WAITLIST_ORDER)
            .first()
        )
        if head is None or not await _take_seat(session_id):
            return promoted
        head.status = RegistrationStatus.CONFIRMED
        head.waitlisted_at = None
        await head.save(update_fields=["status", "waitlisted_at", "updated_at"])
        await _enqueue_for(head, PROMOTED_MAIL, settings)
        promoted.append(head)


async def cancel_registration(
    registration_id: int, *, settings: Settings, actor: StaffUser | None
) -> CancellationOutcome:
    """Cancel a registration (by the person, or by staff: then they are told by email).

    A confirmed seat goes at once to the first person waiting, in the same transaction.
    """
    registration = await Registration.get_or_none(id=registration_id)
    if registration is None:
        raise RegistrationNotFound()
    session_id: int = registration.session_id  # type: ignore[attr-defined]
    async with in_transaction() as connection:
        await db.lock_row(connection, "session", session_id)
        registration = await Registration.get(id=registration_id)
        if registration.status == RegistrationStatus.CANCELLED:
            return CancellationOutcome(registration, [])
        was_confirmed = registration.status == RegistrationStatus.CONFIRMED
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = datetime.now(UTC)
        registration.cancelled_by = actor
        registration.waitlisted_at = None
        await registration.save()
        if registration.invitation_id is not None:  # type: ignore[attr-defined]
            await Invitation.filter(id=registration.invitation_id, used__gt=0).update(  # type: ignore[attr-defined]
                used=F("used") - 1
            )
        promoted: list[Registration] = []
        if was_confirmed:
            await Session.filter(id=session_id, confirmed_count__gt=0).update(
                confirmed_count=F("confirmed_count") - 1
            )
            promoted = await promote_from_waitlist(session_id, settings=settings)
        if actor is not None:
            await _enqueue_for(registration, CANCELLED_MAIL, settings)
            await audit.record(actor, "registration.cancel", registration)
    return CancellationOutcome(registration, promoted)


async def notify_session_cancelled(
    session_id: int, *, settings: Settings, message: str = ""
) -> int:
    """Tell everyone confirmed or waiting that the session is cancelled, with the staff's
    ``message`` if any; the number of people. Call inside the transaction that cancels it."""
    registrations = await Registration.filter(
        session_id=session_id,
        status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED],
    )
    for registration in registrations:
        await _enqueue_for(registration, SESSION_CANCELLED_MAIL, settings, staff_message=message)
    return len(registrations)


async def notify_own_cancellation(
    registration: Registration, *, was: RegistrationStatus, settings: Settings
) -> None:
    """Tell a person who cancelled their own seat, or left the waiting list, that it is done
    (whoever holds a forwarded link cannot cancel unseen). Call inside the transaction that
    cancels it."""
    await _enqueue_for(registration, WITHDRAWN_MAIL, settings, extra={"was": was.value})


async def notify_session_changed(
    session_id: int, *, was: Mapping[str, Any], settings: Settings
) -> int:
    """Tell everyone confirmed or waiting that the session's time, venue or online link
    changed; ``was`` holds the old values of what changed, as JSON (the composer shows them
    beside the new ones). The number of people. Call inside the transaction that changes it.

    An earlier change email not sent yet is replaced by one from its older values, so a
    quick correction makes one email, and a change undone before it went makes none.
    """
    registrations = await Registration.filter(
        session_id=session_id,
        status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED],
    )
    unsent = {
        message.params.get("registration_id"): message
        for message in await OutboxMessage.filter(
            kind=SESSION_CHANGED_MAIL, status=OutboxStatus.PENDING
        )
    }
    for registration in registrations:
        older = unsent.get(registration.id)
        since = was
        if older is not None and await _unsend(older):
            since = {**was, **older.params.get("was", {})}
        await _enqueue_for(registration, SESSION_CHANGED_MAIL, settings, extra={"was": since})
    return len(registrations)


async def _unsend(message: OutboxMessage) -> bool:
    """Drop a queued email before a worker takes it; False when one has."""
    return bool(await OutboxMessage.filter(id=message.id, status=OutboxStatus.PENDING).delete())


async def remind_again(session_id: int) -> None:
    """The session starts at another time: the reminder goes again before the new start
    (``attendees.emails.enqueue_due_reminders``)."""
    await Registration.filter(session_id=session_id, reminder_sent_at__not_isnull=True).update(
        reminder_sent_at=None
    )
