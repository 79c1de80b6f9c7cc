"""The models and the committed migrations agree, and the migrations upgrade real data.

``tortoise -c sala.db.MIGRATIONS_CONFIG makemigrations`` compares the state the migration files
build with the models, and writes a migration for the difference. Here the same autodetector
runs without writing anything: a model changed without its migration (a field added, renamed,
made nullable…) fails this test, naming the operations the missing migration would hold.

Then an installation from before the privacy work, with years of data, is upgraded to the
latest migrations on SQLite and on PostgreSQL, and used (see "upgrading with data" below).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.transactions import in_transaction

from attendees.models import Registration
from checkin.tickets import issue_v1_token, load_keys, ticket_for
from curricula import membership
from curricula.models import Team
from sala import db
from sala.app import MAIL_COMPOSERS, create_app
from sala.config import Settings
from sala.mail import compose
from sala.models import OutboxMessage, StaffUser
from tests.conftest import (
    POSTGRES_URL,
    _drop_database,
    _postgres_admin,
    _run_outside_any_loop,
    _with_database,
    make_settings,
)
from tests.curricula.joining import answer, join_link_from_outbox
from tests.factories import log_in
from tests.sala.migration_data import (
    OLD_PASSWORD,
    OLD_STATE,
    OldInstallation,
    Rows,
    insert_old_installation,
    lost_or_changed,
    snapshot,
)

MAKE_THEM = "make them with: .venv/bin/tortoise -c sala.db.MIGRATIONS_CONFIG makemigrations"


@pytest.fixture
async def autodetector() -> AsyncIterator[MigrationAutodetector]:
    """The autodetector of ``makemigrations``, in a Tortoise context of its own (the in-memory
    SQLite database of MIGRATIONS_CONFIG: it reads the migration files, not a database)."""
    async with TortoiseContext() as context:
        await context.init(config=db.MIGRATIONS_CONFIG)
        assert context.apps is not None
        yield MigrationAutodetector(context.apps, db.MIGRATIONS_CONFIG["apps"])


async def test_every_model_change_has_its_migration(autodetector: MigrationAutodetector) -> None:
    writers = await autodetector.changes()  # computes the migrations; writes none
    missing = [
        f"{writer.app_label}: {writer.name} — "
        + "; ".join(operation.describe() for operation in writer.operations)
        for writer in writers
    ]
    assert not missing, (
        "models changed without a migration (" + MAKE_THEM + "):\n" + "\n".join(missing)
    )


async def test_each_app_has_one_migration_head(autodetector: MigrationAutodetector) -> None:
    """Two migrations made in parallel on the same parent leave two heads; the next
    ``makemigrations`` or ``migrate`` would have to guess their order."""
    await autodetector.loader.build_graph()
    nodes = autodetector.loader.graph.node_map.values()
    for label in db.APPS:
        # A head: no later migration of the same app (other apps' may depend on it).
        heads = sorted(
            node.key.name
            for node in nodes
            if node.key.app_label == label
            and not any(child.key.app_label == label for child in node.children)
        )
        assert len(heads) == 1, (
            f"app {label!r} has migration heads {heads}: make one depend on the other"
        )


# ------------------------------------------------------------------ upgrading with data
#
# Real installations upgrade with years of registrations in them. A migration that adds a
# NOT NULL column without filling it, or a data migration that breaks on real rows, passes
# on an empty database and fails in production. So: migrate an empty database to the state
# before the privacy work (each app to its migration in ``OLD_STATE``, through the executor's
# per-app targets), fill it as that version of Sala did (``tests/sala/migration_data.py``),
# run every later migration — whichever exist by then — and check what people would notice.

# On SQLite, attendees 0006's AlterFields remake the registration table (new table, copy,
# DROP TABLE, rename). With foreign keys on, the DROP deletes every registration first as
# far as other tables can tell: certificate.registration_id is ON DELETE SET NULL, so every
# old certificate loses its registration. The new table is made without the unique
# (session, person) and the registration indexes, too.


@dataclass
class Upgraded:
    old: OldInstallation
    before: Rows  # every row of every table, in the old state with its data
    after: Rows  # the same tables after the upgrade
    ran: list[str]  # the migrations the upgrade applied


@dataclass
class Installation:
    """This test's copy of the upgraded installation, and what the upgrade found."""

    backend: str
    url: str
    result: Upgraded | AssertionError

    def upgraded(self) -> Upgraded:
        """What the upgrade found; its failure, raised in the test that asks."""
        if isinstance(self.result, AssertionError):
            raise self.result
        return self.result


def _upgrade_once(url: str) -> Upgraded | AssertionError:
    try:
        result: Upgraded = _run_outside_any_loop(upgrade_with_data(url))
    except AssertionError as failure:  # reported by each test, as its own failure
        return failure
    return result


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def upgraded_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Upgraded | AssertionError]]:
    """An old installation with data, upgraded once per backend (the upgrade is most of
    the time these tests take): (backend, template file or database, upgrade result)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("installation") / "installed-in-2023.sqlite3"
        yield "sqlite", str(path), _upgrade_once(f"sqlite://{path}")
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL run skipped: SALA_TEST_POSTGRES_URL is not set")
    name = f"sala_upgraded_{uuid.uuid4().hex[:10]}"
    _run_outside_any_loop(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield "postgres", name, _upgrade_once(_with_database(POSTGRES_URL, name))
    finally:
        _run_outside_any_loop(_drop_database(name))


@pytest.fixture
async def installation(
    upgraded_template: tuple[str, str, Upgraded | AssertionError], tmp_path: Path
) -> AsyncIterator[Installation]:
    """A copy of the upgraded installation, this test's alone (as ``database_url`` is)."""
    backend, template, result = upgraded_template
    if backend == "sqlite":
        path = tmp_path / "sala.sqlite3"
        shutil.copy(template, path)
        yield Installation(backend, f"sqlite://{path}", result)
        return
    name = f"sala_test_{uuid.uuid4().hex[:12]}"
    await _postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield Installation(backend, _with_database(POSTGRES_URL, name), result)
    finally:
        await _drop_database(name)


async def _migrate(
    connection: BaseDBAsyncClient,
    apps: dict[str, Any],
    targets: dict[str, str] | None,
    *,
    database: str,
) -> list[str]:
    """Apply migrations forward only: to each app's target, or (None) every one there is.
    The migrations applied, in order; a failure names the migration that failed."""
    executor = MigrationExecutor(connection, apps)
    chosen = None
    if targets is not None:
        chosen = [MigrationTarget(app_label=label, name=name) for label, name in targets.items()]
    ran: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_start":
            ran.append(f"{app_label}.{name}")

    try:
        await executor.migrate(chosen, direction="forward", progress=progress)
    except Exception as error:
        failed = ran[-1] if ran else "(before any migration)"
        raise AssertionError(
            f"migration {failed} failed on {database}: {type(error).__name__}: {error}"
        ) from error
    return ran


async def upgrade_with_data(url: str) -> Upgraded:
    """Migrate to ``OLD_STATE``, insert an old installation's rows, migrate to the head."""
    config = db.config_for_url(url)
    apps = config["apps"]
    async with TortoiseContext() as context:
        await context.init(config=config)
        connection = context.db()
        await _migrate(connection, apps, OLD_STATE, database="an empty database")
        applied = await MigrationExecutor(connection, apps).recorder.applied_migrations()
        for label, last in OLD_STATE.items():
            names = sorted(key.name for key in applied if key.app_label == label)
            # The old state is consistent: no dependency pulled in a later migration.
            assert names and names[-1] == last, f"{label} should stop at {last}, not {names}"
        async with in_transaction() as transaction:
            old = await insert_old_installation(transaction)
        before = await snapshot(connection)
        ran = await _migrate(connection, apps, None, database="a database with data")
        left = await MigrationExecutor(connection, apps).plan()
        assert not left, f"still to apply after the upgrade: {left}"
        after = await snapshot(connection, list(before))
    return Upgraded(old, before, after, ran)


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the upgraded database, as the ``client`` fixture has it on a new one."""
    EXECUTOR_CACHE.clear()  # see the ``app`` fixture
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"accept-language": "en"}
        ) as client:
            yield client


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _scan(token: str, session_id: int) -> dict[str, object]:
    return {
        "token": token,
        "session_id": session_id,
        "scan_id": uuid.uuid4().hex,
        "device_id": "phone-2",
        "scanned_at": datetime.now(UTC).isoformat(),
    }


async def test_an_installation_with_years_of_data_upgrades(
    installation: Installation, tmp_path: Path
) -> None:
    upgraded = installation.upgraded()
    old, after = upgraded.old, upgraded.after
    assert {"events.0003_session_slug", "attendees.0006_privacy"} <= set(upgraded.ran)

    # Nothing lost: every old row still there, every old column's value unchanged.
    lost = lost_or_changed(upgraded.before, after)
    assert not lost, "the upgrade lost or changed data:\n" + "\n".join(lost)

    # attendees 0006: each registration got its person's email and phone ('' where the
    # person has none, or is gone); ticket ids are minted later, when a ticket is shown.
    registrations = {row["id"]: row for row in after["registration"]}
    assert set(registrations) == {r.id for r in old.registrations.values()}
    for key, made in old.registrations.items():
        row = registrations[made.id]
        got = (row["status"], row["email"], row["phone"], row["ticket_id"])
        assert got == (made.status, made.email, made.phone, None), key
    assert all(row["neutral_code"] is None for row in after["certificate"])

    # events 0003: every session, of any state, has a slug of its own.
    slugs = [row["slug"] for row in after["session"]]
    assert len(slugs) == len(old.session_ids)
    assert all(isinstance(s, str) and re.fullmatch(r"[A-Za-z0-9_-]{22}", s) for s in slugs)
    assert len(set(slugs)) == len(slugs)
    slug_of = {row["id"]: row["slug"] for row in after["session"]}

    # curricula 0003: members added before consent existed are pending requests, labelled
    # with the name the leader saw; their progress is hidden until they say yes.
    members = {row["id"]: row for row in after["team_member"]}
    for name, member_id in old.team_members.items():
        row = members[member_id]
        assert row["person_id"] == old.people[name] and row["invited_as"] == name
        unset = ("confirmed_at", "declined_at", "invited_contact", "join_key", "requested_at")
        assert all(row[column] is None for column in unset), row

    settings = make_settings(tmp_path, installation.url, SALA_MAIL_WORKER="off")
    door = _bearer(old.facilitator_token)  # tokens made before the upgrade still work
    admin = _bearer(old.admin_token)
    full, past = old.full_session_id, old.past_session_id
    sokha_full, mony_full = old.registrations["sokha_full"], old.registrations["mony_full"]
    async with running_app(settings) as client:
        # The roster of an old session: the same people, Mony first in line.
        roster = await client.get(f"/api/v1/sessions/{full}/registrations", headers=door)
        assert roster.status_code == 200, roster.text
        assert {r["id"]: (r["status"], r["waitlist_position"]) for r in roster.json()} == {
            sokha_full.id: ("confirmed", None),
            old.registrations["vanna_full"].id: ("confirmed", None),
            mony_full.id: ("waitlisted", 1),
        }

        # Someone new registers for it: behind Mony, who waited since before the upgrade.
        new = await client.post(
            f"/api/v1/sessions/{full}/registrations",
            json={"chosen_name": "Kanha", "email": "kanha@example.org", "sector": "student",
                  "consent": True, "language": "en"},
        )  # fmt: skip
        assert new.status_code == 201, new.text
        assert (new.json()["status"], new.json()["waitlist_position"]) == ("waitlisted", 2)

        # The team: both old members pending; asking again emails the one with an email,
        # and once Sokha says yes the team sees her progress, old check-ins and marks too.
        team = (await client.get(f"/api/v1/teams/{old.team_id}", headers=admin)).json()
        assert [m["status"] for m in team["members"]] == ["pending", "pending"]
        leader = await StaffUser.get(id=old.leader_id)
        found = await Team.get(id=old.team_id)
        asked = await membership.request_confirmations(found, staff=leader, settings=settings)
        assert asked == 1  # Vanna has a phone only: an admin asks her in person
        link = await join_link_from_outbox(settings, "sokha@example.org")
        assert (await answer(client, link, "yes")).status_code == 200
        team = (await client.get(f"/api/v1/teams/{old.team_id}", headers=admin)).json()
        assert {m["id"]: (m["status"], m["chosen_name"]) for m in team["members"]} == {
            old.team_members["Sokha"]: ("confirmed", "Sokha"),
            old.team_members["Vanna"]: ("pending", None),
        }
        progress = (await client.get(f"/api/v1/teams/{old.team_id}/progress", headers=admin)).json()
        (sokha,) = progress["members"]
        cells = [(cell["status"], cell["how"]) for cell in sokha["modules"]][:3]
        # Team building: attended two months ago; SOGIE: marked; human rights: her seat.
        assert cells == [("done", "attended"), ("done", "manual"), ("booked", None)]

        # At the door: a ticket printed before the upgrade (version 1) still checks in;
        # one from the past session says who checked her in then.
        keys = load_keys(settings.data_dir)
        printed = issue_v1_token(
            keys, registration_id=sokha_full.id, session_id=full, seed=sokha_full.ticket_seed
        )
        scanned = await client.post("/api/v1/checkins", json=_scan(printed, full), headers=door)
        assert scanned.status_code == 200, scanned.text
        assert (scanned.json()["result"], scanned.json()["chosen_name"]) == ("checked_in", "Sokha")
        sokha_past = old.registrations["sokha_past"]
        earlier = issue_v1_token(
            keys, registration_id=sokha_past.id, session_id=past, seed=sokha_past.ticket_seed
        )
        again = await client.post("/api/v1/checkins", json=_scan(earlier, past), headers=door)
        assert again.json()["result"] == "already_checked_in"
        assert again.json()["checked_in_by"] == old.facilitator_name

        # Vanna cancels: Mony, not the newcomer, gets the seat; her new ticket checks in.
        cancelled = await client.post(
            f"/api/v1/registrations/{old.registrations['vanna_full'].id}/cancel", headers=door
        )
        assert cancelled.status_code == 200, cancelled.text
        assert [r["id"] for r in cancelled.json()["promoted"]] == [mony_full.id]
        ticket = await ticket_for(await Registration.get(id=mony_full.id), settings.data_dir)
        scanned = await client.post("/api/v1/checkins", json=_scan(ticket, full), headers=door)
        assert (scanned.json()["result"], scanned.json()["chosen_name"]) == ("checked_in", "Mony")

        # Mail queued before the upgrade goes out after it, to the same people.
        waiting = await OutboxMessage.get(id=old.pending_confirmation_mail_id)
        confirmation = await compose(MAIL_COMPOSERS, waiting, settings)
        assert waiting.to_address == "sokha@example.org"
        assert "ticket.png" in [attachment.filename for attachment in confirmation.attachments]
        invitation = await OutboxMessage.get(id=old.pending_invitation_mail_id)
        invited_page = f"/sessions/i/{slug_of[old.invited_session_id]}"
        assert invited_page in (await compose(MAIL_COMPOSERS, invitation, settings)).text
        # ... and the invite-only session's page is at its slug, not at its id.
        assert (await client.get(invited_page)).status_code == 200
        assert (await client.get(f"/sessions/{old.invited_session_id}")).status_code == 404

        # Certificates from before still verify; everyone who attended holds one.
        for label, status in (("sokha", "valid"), ("chenda", "valid"), ("chenda_typo", "revoked")):
            verified = await client.get(f"/api/v1/certificates/{old.certificate_codes[label]}")
            assert verified.json()["status"] == status, label
        issued = await client.post(f"/api/v1/sessions/{past}/certificates", headers=door)
        assert (issued.status_code, issued.json()) == (200, [])

        # Staff log in with the passwords they always had.
        await log_in(client, await StaffUser.get(id=old.admin_id), OLD_PASSWORD)


async def test_an_upgrade_keeps_the_registration_table_whole(
    installation: Installation,
) -> None:
    """Every certificate keeps its registration, and a person still cannot hold two
    registrations for one session. On SQLite, 0006 rebuilt the registration table, which
    nulled every certificate's link and dropped the unique rule; 0008 repairs both."""
    upgraded = installation.upgraded()
    lost = lost_or_changed(upgraded.before, upgraded.after)
    assert not lost, "the upgrade lost or changed data:\n" + "\n".join(lost)
    columns = [c for c in upgraded.after["registration"][0] if c not in ("id", "ticket_id")]
    names = ", ".join(columns)
    twice = f"INSERT INTO registration ({names}) SELECT {names} FROM registration WHERE id = ?"
    async with TortoiseContext() as context:
        await context.init(config=db.config_for_url(installation.url))
        with pytest.raises(IntegrityError):
            await db.execute(context.db(), twice, [upgraded.old.registrations["sokha_full"].id])
