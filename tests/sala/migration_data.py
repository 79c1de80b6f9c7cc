"""An installation as it was before the privacy work (issue 11), with years of data in it.

``OLD_STATE`` is where each app's migrations stood then. ``insert_old_installation`` fills a
database migrated to exactly that state with rows written as that version of Sala wrote
them: raw SQL for that schema (no ``registration.email``, no ``session.slug``, team members
without consent), never the current models. ``snapshot`` reads every row of every table, so
a test can check after the upgrade that no row went missing and no old value changed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from tortoise.backends.base.client import BaseDBAsyncClient

from certificates.services import new_code
from sala import db

# The last migration of each app before issue 11. Nothing here depends on a later one:
# events 0003 (slugs), attendees 0006 (a registration's own contact, ticket ids) and
# curricula 0003 (membership by consent, which depends on attendees 0006) all came with it.
OLD_STATE: dict[str, str] = {
    "sala": "0002_outbox",
    "events": "0002_seed_topics",
    "attendees": "0005_curriculum_certificates",
    "curricula": "0002_seed_team_building",
}

OLD_PASSWORD = "the admin's password since 2023"
# As cheap as the tests' own hasher: any argon2 hash verifies with any PasswordHasher.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass(frozen=True)
class OldRegistration:
    id: int
    session_id: int
    person_id: int | None
    status: str
    ticket_seed: int
    # What attendees 0006 copies into the registration: its person's contact, '' for none.
    email: str
    phone: str
    checked_in: bool


@dataclass
class OldInstallation:
    """The ids (and the secrets a user holds) of what ``insert_old_installation`` wrote."""

    admin_id: int = 0
    admin_email: str = "sophea@clgbt.example"
    facilitator_id: int = 0
    facilitator_name: str = "Dara"
    leader_id: int = 0
    admin_token: str = ""  # bearer tokens made before the upgrade
    facilitator_token: str = ""
    past_session_id: int = 0  # team building, two months ago: check-ins, certificates
    full_session_id: int = 0  # human rights, next week: full, one person waiting
    invited_session_id: int = 0  # invite-only SOGIE
    draft_session_id: int = 0
    series_session_ids: list[int] = field(default_factory=list)  # a year of monthly sessions
    people: dict[str, int] = field(default_factory=dict)  # by chosen name
    person_names: dict[int, str] = field(default_factory=dict)
    registrations: dict[str, OldRegistration] = field(default_factory=dict)
    personal_invitation_id: int = 0
    certificate_codes: dict[str, str] = field(default_factory=dict)  # sokha, chenda(_typo)
    certificate_registrations: dict[int, int] = field(default_factory=dict)  # id: registration
    team_id: int = 0
    team_members: dict[str, int] = field(default_factory=dict)  # member id by chosen name
    pending_confirmation_mail_id: int = 0  # to Sokha, for her seat next week
    pending_invitation_mail_id: int = 0

    @property
    def session_ids(self) -> list[int]:
        return [
            self.past_session_id, self.full_session_id, self.invited_session_id,
            self.draft_session_id, *self.series_session_ids,
        ]  # fmt: skip


async def _insert(connection: BaseDBAsyncClient, table: str, row: dict[str, Any]) -> int:
    """One row; its id. ``?`` placeholders: sala.db turns them into ``$n`` for PostgreSQL."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    statement = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id"
    inserted = await db.fetch_one(connection, statement, list(row.values()))
    assert inserted is not None
    return int(inserted["id"])


async def _link(connection: BaseDBAsyncClient, table: str, row: dict[str, Any]) -> None:
    """A row of a many-to-many table (no id)."""
    statement = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"
    await db.execute(connection, statement, list(row.values()))


async def _topic(connection: BaseDBAsyncClient, code: str) -> int:
    row = await db.fetch_one(connection, "SELECT id FROM topic WHERE code = ?", [code])
    assert row is not None, f"events 0002 seeds the topic {code!r}"
    return int(row["id"])


async def insert_old_installation(connection: BaseDBAsyncClient) -> OldInstallation:
    """Staff, sessions, people, registrations in every state, invitations, check-ins,
    certificates, a team and mail, as the version before issue 11 left them."""
    old = OldInstallation()
    now = datetime.now(UTC).replace(microsecond=0)
    long_ago = now - timedelta(days=700)

    async def staff(email: str, name: str, role: str) -> int:
        return await _insert(connection, "staff_user", {
            "email": email, "name": name, "role": role,
            "password_hash": _HASHER.hash(OLD_PASSWORD), "is_active": True,
            "auth_version": 1, "language": "km", "created_at": long_ago,
            "last_login_at": now - timedelta(days=3),
        })  # fmt: skip

    old.admin_id = await staff(old.admin_email, "Sophea", "admin")
    old.facilitator_id = await staff("dara@clgbt.example", old.facilitator_name, "facilitator")
    old.leader_id = await staff("vannak@clgbt.example", "Vannak", "team_leader")
    await staff("gone@clgbt.example", "Left in 2024", "facilitator")  # deactivated below
    await db.execute(
        connection, "UPDATE staff_user SET is_active = ? WHERE email = ?",
        [False, "gone@clgbt.example"],
    )  # fmt: skip

    async def token(user_id: int) -> str:
        made = "sala_" + secrets.token_urlsafe(32)
        await _insert(connection, "api_token", {
            "user_id": user_id, "token_hash": hashlib.sha256(made.encode()).hexdigest(),
            "label": "door phone", "created_at": long_ago, "last_used_at": now,
            "revoked_at": None,
        })  # fmt: skip
        return made

    old.admin_token = await token(old.admin_id)
    old.facilitator_token = await token(old.facilitator_id)

    # ---------------------------------------------------------------- sessions
    async def session(topic: str, title: str, starts: datetime, **extra: Any) -> int:
        row: dict[str, Any] = {
            "topic_id": await _topic(connection, topic), "series_id": None,
            "title_en": title, "title_km": f"{title} (km)", "description_en": "Bring a pen.",
            "description_km": "", "starts_at": starts, "ends_at": starts + timedelta(hours=3),
            "timezone": "Asia/Phnom_Penh", "venue_name": "CLGBT office",
            "venue_address": "Phnom Penh", "venue_map_url": "", "online_url": "",
            "capacity": 20, "confirmed_count": 0, "audience": "public",
            "status": "published", "registration_opens_at": None,
            "registration_closes_at": None, "created_at": starts - timedelta(days=30),
            "updated_at": starts - timedelta(days=30),
        }  # fmt: skip
        row.update(extra)
        session_id = await _insert(connection, "session", row)
        await _link(connection, "session_facilitator", {
            "session_id": session_id, "staffuser_id": old.facilitator_id,
        })  # fmt: skip
        return session_id

    series_id = await _insert(connection, "series", {
        "topic_id": await _topic(connection, "problem_analysis"), "title_en": "Monthly analysis",
        "title_km": "", "rrule": "FREQ=MONTHLY;BYDAY=1SA", "first_start": long_ago,
        "duration_minutes": 180, "months": 12, "created_at": long_ago,
    })  # fmt: skip
    for month in range(12):
        old.series_session_ids.append(await session(
            "problem_analysis", "Monthly analysis", long_ago + timedelta(days=30 * month),
            series_id=series_id, status="cancelled" if month == 5 else "published",
        ))  # fmt: skip
    past_start = now - timedelta(days=60)
    old.past_session_id = await session(
        "team_building", "Team building", past_start, confirmed_count=3
    )
    old.full_session_id = await session(
        "human_rights", "Human rights", now + timedelta(days=7), capacity=2, confirmed_count=2
    )
    old.invited_session_id = await session(
        "sogie", "SOGIE for partners", now + timedelta(days=14), audience="invite_only",
        confirmed_count=1,
    )  # fmt: skip
    old.draft_session_id = await session(
        "problem_solving", "Problem solving", now + timedelta(days=40), status="draft"
    )

    # ---------------------------------------------------------------- people
    async def person(name: str, email: str | None, phone: str | None) -> int:
        person_id = await _insert(connection, "person", {
            "email": email, "phone": phone, "chosen_name": name, "pronouns": "",
            "language": "en" if name == "Chenda" else "km",
            "created_at": long_ago, "updated_at": long_ago,
        })  # fmt: skip
        old.people[name] = person_id
        old.person_names[person_id] = name
        return person_id

    contacts = {
        "Sokha": ("sokha@example.org", "+85512345678"),  # email and phone
        "Vanna": (None, "+85598765432"),  # a phone only
        "Chenda": ("chenda@example.org", None),
        "Rithy": ("rithy@example.org", None),
        "Mony": ("mony@example.org", None),
        "Bopha": ("bopha@partner.example", None),
    }
    for name, (email, phone) in contacts.items():
        await person(name, email, phone)

    # ---------------------------------------------------------------- invitations
    old.personal_invitation_id = await _insert(connection, "invitation", {
        "session_id": old.invited_session_id, "kind": "personal", "code": secrets.token_hex(8),
        "email": "bopha@partner.example", "organisation": "", "seats": 1, "used": 1,
        "created_by_id": old.admin_id, "created_at": now - timedelta(days=10),
        "revoked_at": None,
    })  # fmt: skip
    await _insert(connection, "invitation", {
        "session_id": old.invited_session_id, "kind": "organisation",
        "code": secrets.token_hex(8), "email": "", "organisation": "Partner NGO", "seats": 5,
        "used": 0, "created_by_id": old.admin_id, "created_at": now - timedelta(days=10),
        "revoked_at": None,
    })  # fmt: skip

    # ---------------------------------------------------------------- registrations
    async def registration(
        key: str, session_id: int, name: str | None, status: str, **extra: Any
    ) -> OldRegistration:
        person_id = old.people[name] if name else None
        email, phone = contacts[name] if name else (None, None)
        created = now - timedelta(days=70)
        seed = secrets.randbits(32)
        row: dict[str, Any] = {
            "session_id": session_id, "person_id": person_id, "chosen_name": name or "",
            "pronouns": "", "sector": "ngo", "organisation": "", "language": "km",
            "accessibility_needs": "", "status": status, "source": "form",
            "invitation_id": None, "manage_key": secrets.token_urlsafe(12) if name else "",
            "ticket_seed": seed, "consent_at": created, "created_at": created,
            "updated_at": created, "waitlisted_at": None, "cancelled_at": None,
            "cancelled_by_id": None, "reminder_sent_at": None, "anonymised_at": None,
            "checked_in_at": None, "checked_in_by_id": None, "checked_in_device": "",
        }  # fmt: skip
        row.update(extra)
        registration_id = await _insert(connection, "registration", row)
        made = OldRegistration(
            registration_id, session_id, person_id, status, seed, email or "", phone or "",
            row["checked_in_at"] is not None,
        )  # fmt: skip
        old.registrations[key] = made
        return made

    past = old.past_session_id
    door = past_start + timedelta(minutes=5)
    checked_in = {
        "checked_in_at": door, "checked_in_by_id": old.facilitator_id,
        "checked_in_device": "phone-1",
    }  # fmt: skip
    await registration("sokha_past", past, "Sokha", "confirmed", **checked_in)
    await registration("chenda_past", past, "Chenda", "confirmed", **checked_in)
    await registration(
        "rithy_past", past, "Rithy", "cancelled", cancelled_at=door - timedelta(days=2),
        cancelled_by_id=old.facilitator_id,
    )  # fmt: skip
    # Attended, then deleted their data: the person is gone, the row stays as a count.
    await registration(
        "gone_past", past, None, "confirmed", anonymised_at=door + timedelta(days=20),
        **checked_in,
    )  # fmt: skip
    full = old.full_session_id
    await registration("sokha_full", full, "Sokha", "confirmed")  # her second registration
    await registration("vanna_full", full, "Vanna", "confirmed", source="walk_in")
    await registration("mony_full", full, "Mony", "waitlisted", waitlisted_at=now)
    await registration(
        "bopha_invited", old.invited_session_id, "Bopha", "confirmed",
        invitation_id=old.personal_invitation_id, organisation="Partner NGO",
    )  # fmt: skip
    for key in ("sokha_past", "chenda_past", "gone_past"):
        made = old.registrations[key]
        answer = {"scan_id": f"scan-{key}", "result": "checked_in", "registration_id": made.id}
        await _insert(connection, "checkin_scan", {
            "scan_id": f"scan-{key}", "session_id": past, "registration_id": made.id,
            "staff_id": old.facilitator_id, "device_id": "phone-1", "scanned_at": door,
            "received_at": door, "result": "checked_in",
            "answer": "" if key == "gone_past" else json.dumps(answer),
        })  # fmt: skip

    # ---------------------------------------------------------------- certificates
    run_id = await _insert(connection, "certificate_run", {
        "session_id": past, "requested_by_id": old.facilitator_id, "total": 2, "done": 2,
        "created_at": door + timedelta(days=1), "finished_at": door + timedelta(days=1),
    })  # fmt: skip

    async def certificate(label: str, registration_key: str, **extra: Any) -> int:
        made = old.registrations[registration_key]
        code = new_code()
        old.certificate_codes[label] = code
        row: dict[str, Any] = {
            "code": code, "registration_id": made.id, "session_id": past,
            "valid_for_registration": made.id, "run_id": run_id,
            "holder_name": old.person_names[made.person_id] if made.person_id else "",
            "language": "km", "title_km": "Team building (km)", "title_en": "Team building",
            "topic_code": "team_building", "starts_at": past_start,
            "ends_at": past_start + timedelta(hours=3), "timezone": "Asia/Phnom_Penh",
            "place": "CLGBT office", "status": "valid", "issued_at": door + timedelta(days=1),
            "issued_by_id": old.facilitator_id, "rendered_at": door + timedelta(days=1),
            "revoked_at": None, "revoked_reason": "", "revoked_by_id": None,
            "replaced_by_id": None, "kind": "attendance", "person_id": made.person_id,
            "valid_for_curriculum": None,
        }  # fmt: skip
        row.update(extra)
        certificate_id = await _insert(connection, "certificate", row)
        old.certificate_registrations[certificate_id] = made.id
        return certificate_id

    await certificate("sokha", "sokha_past")
    # Chenda's first one had a typo: revoked (which frees valid_for_registration), replaced.
    typo = await certificate(
        "chenda_typo", "chenda_past", holder_name="Chnda", status="revoked",
        valid_for_registration=None, revoked_at=door + timedelta(days=2),
        revoked_reason="typo in the name", revoked_by_id=old.admin_id,
    )  # fmt: skip
    reissued = await certificate("chenda", "chenda_past", issued_at=door + timedelta(days=2))
    await db.execute(
        connection, "UPDATE certificate SET replaced_by_id = ? WHERE id = ?", [reissued, typo]
    )

    # ---------------------------------------------------------------- a team
    curriculum = await db.fetch_one(
        connection, "SELECT id FROM curriculum WHERE code = ?", ["team_building"]
    )
    assert curriculum is not None, "curricula 0002 seeds the team-building curriculum"
    old.team_id = await _insert(connection, "team", {
        "name": "Core volunteers", "curriculum_id": curriculum["id"], "created_at": long_ago,
    })  # fmt: skip
    await _link(connection, "team_leader", {"team_id": old.team_id, "staffuser_id": old.leader_id})
    for name in ("Sokha", "Vanna"):  # added by the leader, without asking them
        old.team_members[name] = await _insert(connection, "team_member", {
            "team_id": old.team_id, "person_id": old.people[name], "added_at": long_ago,
            "added_by_id": old.leader_id,
        })  # fmt: skip
    sogie_module = await db.fetch_one(
        connection, "SELECT id FROM module WHERE curriculum_id = ? AND position = 2",
        [curriculum["id"]],
    )  # fmt: skip
    assert sogie_module is not None
    await _insert(connection, "manual_completion", {
        "person_id": old.people["Sokha"], "module_id": sogie_module["id"],
        "completed_on": date(2024, 3, 1), "note": "Done at a partner NGO",
        "marked_by_id": old.leader_id, "created_at": long_ago,
    })  # fmt: skip

    # ---------------------------------------------------------------- mail and audit
    async def outbox(kind: str, to: str, params: dict[str, Any], status: str, **extra: Any) -> int:
        row: dict[str, Any] = {
            "message_id": f"<{secrets.token_hex(16)}@clgbt.example>", "kind": kind,
            "to_address": to, "language": "km", "params": json.dumps(params), "status": status,
            "attempts": 1, "next_attempt_at": now, "lease_until": None, "last_error": "",
            "created_at": now - timedelta(hours=1),
            "sent_at": now if status == "sent" else None,
        }  # fmt: skip
        row.update(extra)
        return await _insert(connection, "outbox_message", row)

    await outbox(
        "registration_confirmed_to_registrant", "sokha@example.org",
        {"registration_id": old.registrations["sokha_past"].id}, "sent",
    )  # fmt: skip
    # Queued before the upgrade while the mail server was down: it goes out after it.
    old.pending_confirmation_mail_id = await outbox(
        "registration_confirmed_to_registrant", "sokha@example.org",
        {"registration_id": old.registrations["sokha_full"].id}, "pending", attempts=2,
        last_error="connection refused",
    )  # fmt: skip
    old.pending_invitation_mail_id = await outbox(
        "invitation_to_invitee", "bopha@partner.example",
        {"invitation_id": old.personal_invitation_id}, "pending",
    )  # fmt: skip
    await outbox(
        "registration_waitlisted_to_registrant", "mony@example.org",
        {"registration_id": old.registrations["mony_full"].id}, "failed", attempts=8,
        last_error="550 mailbox unavailable",
    )  # fmt: skip
    for action, object_type, object_id in (
        ("session.create", "Session", old.past_session_id),
        ("certificates.issue", "Session", old.past_session_id),
        ("team.member_add", "TeamMember", old.team_members["Sokha"]),
    ):
        await _insert(connection, "audit_entry", {
            "actor_id": old.admin_id, "action": action, "object_type": object_type,
            "object_id": str(object_id), "details": json.dumps({"count": 1}),
            "created_at": long_ago,
        })  # fmt: skip
    return old


# ------------------------------------------------------------------------- snapshots

Rows = dict[str, list[dict[str, Any]]]


async def table_names(connection: BaseDBAsyncClient) -> list[str]:
    if connection.capabilities.dialect == "sqlite":
        statement = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        statement = (
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    rows = await db.fetch_all(connection, statement, [])
    return sorted(str(row["name"]) for row in rows if row["name"] != "tortoise_migrations")


async def snapshot(connection: BaseDBAsyncClient, tables: Sequence[str] | None = None) -> Rows:
    """Every row of every table (but the migrations' own), as the database gives it."""
    found: Rows = {}
    for table in tables if tables is not None else await table_names(connection):
        found[table] = await db.fetch_all(connection, f'SELECT * FROM "{table}"', [])
    return found


def lost_or_changed(before: Rows, after: Rows, *, ignore: Sequence[str] = ()) -> list[str]:
    """What the upgrade lost: tables, rows (by id; by value for tables without one) or old
    columns' values. New tables, rows and columns are fine. ``ignore``: ``table.column``."""
    problems: list[str] = []
    for table, rows in before.items():
        if table not in after:
            problems.append(f"table {table} is gone")
            continue
        if not rows:
            continue
        columns = [c for c in rows[0] if f"{table}.{c}" not in ignore]
        if "id" in columns:
            now_by_id = {row["id"]: row for row in after[table]}
            for row in rows:
                current = now_by_id.get(row["id"])
                if current is None:
                    problems.append(f"{table} {row['id']} is gone")
                    continue
                problems += [
                    f"{table} {row['id']}: {column} was {row[column]!r}, is {current.get(column)!r}"
                    for column in columns
                    if current.get(column) != row[column]
                ]
        else:
            remaining = [tuple(row.get(c) for c in columns) for row in after[table]]
            problems += [
                f"{table}: row {dict(row)} is gone"
                for row in rows
                if tuple(row[c] for c in columns) not in remaining
            ]
    return problems
