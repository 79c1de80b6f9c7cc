"""Backups and restores (issue 14), on SQLite and PostgreSQL, the way an operator does them.

``sala backup`` and ``sala restore`` run as real commands (real pg_dump and pg_restore), and
the restored installation is checked through a real ``sala serve``: a ticket issued before
the backup checks in, its manage link opens. The main test takes a backup while
registrations pour in and finds, in the restored copy, every registration answered before
the backup began, no session over capacity, and each registration's mail in the outbox.
The worker's daily job runs in-process with an injected clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import gzip
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.transactions import in_transaction

from attendees.models import Registration
from checkin.tickets import issue_token, load_keys
from events.models import Session
from sala import backup, backup_encryption, db
from sala.backup_schedule import daily_backup
from sala.config import ConfigError, Settings, load_settings
from sala.models import OutboxMessage
from tests.conftest import (
    POSTGRES_URL,
    _drop_database,
    _postgres_admin,
    _run_outside_any_loop,
    _with_database,
)
from tests.sala.migration_data import (
    OLD_STATE,
    Rows,
    insert_old_installation,
    lost_or_changed,
    snapshot,
)
from tests.server import ROOT, SALA, free_port, run_sala, running_server, sala_env

PASSPHRASE = "seven long words nobody guesses"
EMAIL = "sophea.backup@example.org"
ADMIN = ["--email", "admin@example.org", "--name", "Admin", "--password", "admin password 1"]


# ----------------------------------------------------------------------------- set-up


@dataclass
class Place:
    """A data dir and its database (a PostgreSQL one of its own, or SQLite inside)."""

    backend: str
    data_dir: Path
    database: str | None = None  # PostgreSQL database name

    def env(self, base_url: str | None = None, **settings: str) -> dict[str, str]:
        env = sala_env(self.data_dir, base_url, **settings)
        if self.database:
            env["SALA_DATABASE_URL"] = _with_database(POSTGRES_URL, self.database)
        return env

    def settings(self, **settings: str) -> Settings:
        return load_settings(self.env(**settings))


@pytest.fixture
def places(tmp_path: Path) -> Iterator[Callable[[str], Place]]:
    """Makes fresh places (an empty data dir; for PostgreSQL a new, empty database), and
    drops their databases at the end."""
    made: list[Place] = []

    def make(backend: str) -> Place:
        if backend == "postgres" and not POSTGRES_URL:
            pytest.skip("PostgreSQL run skipped: SALA_TEST_POSTGRES_URL is not set")
        place = Place(backend, tmp_path / f"place-{len(made)}" / "var")
        if backend == "postgres":
            place.database = f"sala_backup_{uuid.uuid4().hex[:10]}"
            _run_outside_any_loop(_postgres_admin(f'CREATE DATABASE "{place.database}"'))
        made.append(place)
        return place

    yield make
    for place in made:
        if place.database:
            _run_outside_any_loop(_drop_database(place.database))


def _sala(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A ``sala`` command that may fail: its exit code and output, for the test to check."""
    return subprocess.run(
        [str(SALA), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _refused(done: subprocess.CompletedProcess[str], words: str) -> None:
    """Exit code 1, one line on stderr saying ``words``, no traceback."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _admin_token(env: dict[str, str]) -> str:
    run_sala(["create-admin", *ADMIN], env)
    return run_sala(["create-token", "--email", "admin@example.org"], env).splitlines()[-1]


def _new_session(http: httpx.Client, token: str, *, capacity: int) -> int:
    answer = http.post(
        "/api/v1/sessions",
        headers={"authorization": f"Bearer {token}"},
        json={
            "topic": "sogie",
            "title_en": "Backups",
            "starts_at": "2030-03-05T09:00",
            "ends_at": "2030-03-05T12:00",
            "venue": "Hall",
            "capacity": capacity,
            "status": "published",
        },
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _register(http: httpx.Client, session_id: int, email: str, name: str) -> httpx.Response:
    return http.post(
        f"/api/v1/sessions/{session_id}/registrations",
        json={"chosen_name": name, "email": email, "sector": "ngo", "consent": True},
    )


@dataclass
class Installation:
    """A Sala in use: a session, a registration with its ticket seen, and a backup of it."""

    place: Place
    token: str
    session_id: int
    manage_path: str
    ticket: str  # the token in the attendee's QR code
    backup: Path


@pytest.fixture(params=["sqlite", "postgres"])
def installation(request: pytest.FixtureRequest, places: Callable[[str], Place]) -> Installation:
    place = places(request.param)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = place.env(base)
    token = _admin_token(env)
    backup = place.data_dir.parent / "backup.tar.gz"
    with running_server(env, port=port), httpx.Client(base_url=base, timeout=30) as http:
        session_id = _new_session(http, token, capacity=5)
        registered = _register(http, session_id, EMAIL, "Sophea")
        assert registered.status_code == 201, registered.text
        manage = registered.json()["manage_url"].removeprefix(base)
        assert http.get(f"{manage}/ticket.png").status_code == 200  # the ticket is issued
        listing = http.get(
            f"/api/v1/sessions/{session_id}/checkin-list",
            headers={"authorization": f"Bearer {token}"},
        ).json()
        ticket_id = listing["tickets"][0]["ticket_id"]
        # Ed25519 signatures are deterministic: the very token of the attendee's QR code.
        ticket = issue_token(load_keys(place.data_dir), ticket_id=ticket_id)
        # Taken while the server runs, as an operator would.
        assert run_sala(["backup", "--to", str(backup)], env).strip() == str(backup)
    return Installation(place, token, session_id, manage, ticket, backup)


# ----------------------------------------------------------------------------- round trip


def test_a_restored_installation_checks_in_old_tickets_and_opens_old_manage_links(
    installation: Installation, places: Callable[[str], Place]
) -> None:
    source = installation.place
    # The backup alone must be enough: the old data dir and database are gone.
    _wipe(source)
    target = places(source.backend)
    done = run_sala(["restore", str(installation.backup)], target.env())
    assert "Restored the backup of" in done
    assert {"secret_key", "ticket_keys"} <= {p.name for p in target.data_dir.iterdir()}

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin = {"authorization": f"Bearer {installation.token}"}  # the old token works too
    with running_server(target.env(base), port=port), httpx.Client(base_url=base) as http:
        scan = {
            "token": installation.ticket,
            "session_id": installation.session_id,
            "scan_id": uuid.uuid4().hex,
        }
        checked = http.post("/api/v1/checkins", json=scan, headers=admin)
        assert checked.status_code == 200, checked.text
        assert checked.json()["result"] == "checked_in"
        assert checked.json()["chosen_name"] == "Sophea"
        page = http.get(installation.manage_path, headers={"accept-language": "en"})
        assert page.status_code == 200
        assert "Sophea" in page.text


def _wipe(place: Place) -> None:
    shutil.rmtree(place.data_dir)
    load_keys.cache_clear()
    if place.database:
        _run_outside_any_loop(_drop_database(place.database))
        place.database = None


def test_restore_refuses_a_data_dir_or_database_in_use_unless_forced_and_another_kind(
    installation: Installation, places: Callable[[str], Place]
) -> None:
    backup = str(installation.backup)
    # Its own, still there: the data dir and the database hold the installation.
    own = installation.place.env()
    _refused(_sala(["restore", backup], own), "is not empty")
    assert run_sala(["restore", backup, "--force"], own).startswith("Restored")

    # A data dir with a file of its own in it.
    cluttered = places(installation.place.backend)
    cluttered.data_dir.mkdir(parents=True)
    (cluttered.data_dir / "notes.txt").write_text("mine")
    _refused(_sala(["restore", backup], cluttered.env()), f"{cluttered.data_dir} is not empty")

    # Only what load_settings and migrations make (a generated secret_key, seeded tables)
    # counts as empty: that is what `sala migrate` or a first `sala serve` leaves.
    migrated = places(installation.place.backend)
    run_sala(["migrate"], migrated.env())
    assert run_sala(["restore", backup], migrated.env()).startswith("Restored")

    # A database in use behind an otherwise empty data dir.
    in_use = places(installation.place.backend)
    run_sala(["create-admin", *ADMIN], in_use.env())
    _refused(_sala(["restore", backup], in_use.env()), "already holds data")
    assert run_sala(["restore", backup, "--force"], in_use.env()).startswith("Restored")

    # The other kind of database: refused, even forced, and nothing is left behind.
    other = places("postgres" if installation.place.backend == "sqlite" else "sqlite")
    done = _sala(["restore", backup, "--force"], other.env())
    _refused(done, "Restore it with a database of the same kind")
    assert [p.name for p in other.data_dir.iterdir()] == ["secret_key"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_backup_of_an_older_sala_comes_back_upgraded(
    backend: str, places: Callable[[str], Place]
) -> None:
    """Years of data as the Sala before issue 11 kept them, backed up, restored by this Sala
    into a database it had already migrated once (its newer tables there): every row is
    back, and every migration since has run."""
    source = places(backend)
    before = _run_outside_any_loop(_fill_as_an_older_sala(source.settings()))
    backup = source.data_dir.parent / "older.tar.gz"
    run_sala(["backup", "--to", str(backup)], source.env())

    target = places(backend)
    run_sala(["migrate"], target.env())
    assert run_sala(["restore", str(backup)], target.env()).startswith("Restored")
    left, after = _run_outside_any_loop(_upgraded(target.settings(), list(before)))
    assert not left, f"migrations not applied after the restore: {left}"
    lost = lost_or_changed(before, after)
    assert not lost, "the restore lost or changed data:\n" + "\n".join(lost)
    assert after["registration"] and after["person"]


async def _fill_as_an_older_sala(settings: Settings) -> Rows:
    config = db.config_for_url(settings.database_url)
    EXECUTOR_CACHE.clear()
    async with TortoiseContext() as context:
        await context.init(config=config)
        connection = context.db()
        targets = [MigrationTarget(app_label=app, name=name) for app, name in OLD_STATE.items()]
        await MigrationExecutor(connection, config["apps"]).migrate(targets, direction="forward")
        async with in_transaction() as transaction:
            await insert_old_installation(transaction)
        rows = await snapshot(connection)
    EXECUTOR_CACHE.clear()
    return rows


async def _upgraded(settings: Settings, tables: list[str]) -> tuple[list[Any], Rows]:
    config = db.config_for_url(settings.database_url)
    EXECUTOR_CACHE.clear()
    async with TortoiseContext() as context:
        await context.init(config=config)
        connection = context.db()
        left = await MigrationExecutor(connection, config["apps"]).plan()
        rows = await snapshot(connection, tables)
    EXECUTOR_CACHE.clear()
    return list(left), rows


async def test_a_restore_into_postgresql_knows_the_tables_of_the_dump(
    settings: Settings, tmp_path: Path
) -> None:
    """Before pg_restore, only the tables the dump lacks are dropped (those of a newer
    Sala's migrations); the dump's own are replaced inside pg_restore's transaction."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    dump = tmp_path / "database.pgdump"
    await backup._dump_postgres(settings.database_url, dump)
    _options, env = backup._libpq(settings.database_url)
    listing = await backup._run_tool(["pg_restore", "--list", str(dump)], env)
    tables = backup._tables_listed(listing)
    assert {"staff_user", "registration", "outbox_message", "tortoise_migrations"} <= tables
    assert "public" not in tables and "DATA" not in tables


def test_restore_says_what_is_wrong_with_a_file_that_is_no_backup(
    places: Callable[[str], Place],
) -> None:
    target = places("sqlite")
    folder = target.data_dir.parent
    folder.mkdir()
    not_a_backup = {
        "missing.tar.gz": None,
        "notes.txt": b"hello",
        "random.tar.gz": gzip.compress(os.urandom(2000)),
        "no-manifest.tar.gz": _tar_gz({"database.sqlite3": b"x"}),
        "escaping.tar.gz": _tar_gz(
            {"manifest.json": json.dumps({"format": "sala-backup", "version": 1, "files": [
                {"name": "files/../../outside", "size": 1, "sha256": "0"}]}).encode()}
        ),
        "newer.tar.gz": _tar_gz({"manifest.json": b'{"format": "sala-backup", "version": 9}'}),
    }  # fmt: skip
    for name, content in not_a_backup.items():
        if content is not None:
            (folder / name).write_bytes(content)
    words = {
        "missing.tar.gz": "No such file",
        "escaping.tar.gz": "a member named",
        "newer.tar.gz": "made by a newer Sala",
    }
    for name in not_a_backup:
        done = _sala(["restore", str(folder / name)], target.env())
        _refused(done, words.get(name, "is not a Sala backup"))
    assert [p.name for p in target.data_dir.iterdir()] == ["secret_key"]
    assert not (folder.parent / "outside").exists()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    sink = io.BytesIO()
    with tarfile.open(fileobj=sink, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return sink.getvalue()


# ----------------------------------------------------------------------------- encryption


@pytest.mark.parametrize("installation", ["sqlite"], indirect=True)
def test_an_encrypted_backup_opens_only_with_its_passphrase_and_only_whole(
    installation: Installation, places: Callable[[str], Place]
) -> None:
    source = installation.place
    # Any file put in the data dir goes along; this one makes the backup several chunks long.
    upload = os.urandom(300_000)
    (source.data_dir / "uploads").mkdir()
    (source.data_dir / "uploads" / "poster.bin").write_bytes(upload)
    made = run_sala(["backup"], source.env(SALA_BACKUP_PASSPHRASE=PASSPHRASE)).strip()
    sealed = Path(made)
    assert sealed.parent == source.data_dir / "backups" and sealed.name.endswith(".tar.gz.enc")
    data = sealed.read_bytes()
    assert len(data) > 4 * backup_encryption.SEALED_CHUNK

    # The plain backup has the registrant in it, once unzipped; the sealed one never does.
    assert EMAIL.encode() in gzip.decompress(installation.backup.read_bytes())
    assert EMAIL.encode() not in data and b"Sophea" not in data
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(data)

    target = places("sqlite")
    _refused(_sala(["restore", made], target.env()), "This backup is encrypted")
    wrong = target.env(SALA_BACKUP_PASSPHRASE="not the passphrase at all")
    _refused(_sala(["restore", made], wrong), "does not open this backup")
    right = target.env(SALA_BACKUP_PASSPHRASE=PASSPHRASE)
    middle = len(data) // 2
    damaged = {
        "a byte changed": data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :],
        "cut short": data[:-100],
        "cut at a chunk": data[: len(backup_encryption.MAGIC) + 3 + 16 + 32 + 65536 + 16],
        "something appended": data + data[-200:],
    }
    for what, content in damaged.items():
        broken = target.data_dir.parent / f"{what}.enc"
        broken.write_bytes(content)
        _refused(_sala(["restore", str(broken)], right), "damaged, cut short or was changed")
        # Nothing of it was restored.
        assert [p.name for p in target.data_dir.iterdir()] == ["secret_key"], what
    assert run_sala(["restore", made], right).startswith("Restored")
    assert (target.data_dir / "uploads" / "poster.bin").read_bytes() == upload


def test_the_sealed_stream_finds_every_change() -> None:
    """The format itself (sala/backup_encryption.py), at its edges: empty, one byte, one
    full chunk, and more; a chunk moved, dropped or repeated; the header changed."""

    def seal(plain: bytes, passphrase: str = PASSPHRASE) -> bytes:
        sink = io.BytesIO()
        writer = backup_encryption.SealedWriter(sink, passphrase, work_factor=10)
        for start in range(0, len(plain), 10_000):  # written in pieces, as gzip does
            writer.write(plain[start : start + 10_000])
        writer.close()
        return sink.getvalue()

    def opened(sealed: bytes, passphrase: str = PASSPHRASE) -> bytes:
        reader = backup_encryption.SealedReader(io.BytesIO(sealed), passphrase)
        plain = reader.read(7) + reader.read()
        reader.finish()
        return plain

    chunk = backup_encryption.CHUNK
    for size in (0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk):
        plain = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        assert opened(seal(plain)) == plain, size

    plain = b"attendee list " * 20_000  # five chunks
    sealed = seal(plain)
    head = len(backup_encryption.MAGIC) + 3 + 16 + 32
    body = sealed[head:]
    size = backup_encryption.SEALED_CHUNK
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    changed = {
        "swapped": sealed[:head] + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "dropped": sealed[:head] + b"".join(chunks[:1] + chunks[2:]),
        "repeated": sealed[:head] + chunks[0] + b"".join(chunks),
        "without its last": sealed[:head] + b"".join(chunks[:-1]),
        "extended": sealed + chunks[1],
    }
    for what, content in changed.items():
        with pytest.raises(backup_encryption.Broken):
            opened(content)
            pytest.fail(what)
    with pytest.raises(backup_encryption.WrongKey):
        opened(sealed, "another passphrase here")
    salt_changed = sealed[: head - 33] + bytes([sealed[head - 33] ^ 1]) + sealed[head - 32 :]
    with pytest.raises(backup_encryption.WrongKey):
        opened(salt_changed)


# ----------------------------------------------------------------------------- the daily job


def _day(n: int) -> datetime:
    return datetime(2031, 1, 1, 2, 0, tzinfo=UTC) + timedelta(days=n)


def _backups(settings: Settings) -> list[str]:
    folder = settings.data_dir / "backups"
    return sorted(p.name for p in folder.glob("sala-*")) if folder.exists() else []


async def test_the_daily_backup_keeps_the_newest_n(settings: Settings) -> None:
    settings = dataclasses.replace(settings, backup_days=2)
    for n in range(3):
        made = await daily_backup(settings, now=_day(n))
        assert made is not None and made.name == f"sala-{_day(n):%Y%m%d-%H%M%S}.tar.gz"
        # Later the same day: nothing is due.
        assert await daily_backup(settings, now=_day(n) + timedelta(hours=20)) is None
    assert _backups(settings) == [f"sala-{_day(n):%Y%m%d-%H%M%S}.tar.gz" for n in (1, 2)]


async def test_without_sala_backup_days_the_worker_makes_none(settings: Settings) -> None:
    assert settings.backup_days is None
    assert await daily_backup(settings, now=_day(0)) is None
    assert _backups(settings) == []


async def test_the_daily_backup_is_encrypted_with_the_passphrase(settings: Settings) -> None:
    settings = dataclasses.replace(settings, backup_days=3, backup_passphrase=PASSPHRASE)
    made = await daily_backup(settings, now=_day(0))
    assert made is not None and made.name.endswith(".tar.gz.enc")
    assert made.read_bytes().startswith(backup_encryption.MAGIC)
    assert made.stat().st_mode & 0o777 == 0o600


async def test_two_workers_at_once_make_one_backup(settings: Settings) -> None:
    settings = dataclasses.replace(settings, backup_days=5)
    made = await asyncio.gather(*(daily_backup(settings, now=_day(0)) for _ in range(2)))
    assert len([path for path in made if path is not None]) == 1
    assert len(_backups(settings)) == 1

    # Another process holding the lock: this one leaves the backup to it, and waits for nothing.
    lock = (settings.data_dir / "backups" / ".lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        assert await daily_backup(settings, now=_day(1)) is None
        assert time.monotonic() - started < 1
    finally:
        lock.close()
    assert await daily_backup(settings, now=_day(1)) is not None
    assert len(_backups(settings)) == 2


async def test_when_nothing_is_due_the_job_does_no_database_work(settings: Settings) -> None:
    settings = dataclasses.replace(settings, backup_days=5)
    assert await daily_backup(settings, now=_day(0)) is not None
    nowhere = dataclasses.replace(settings, database_url="postgres://nobody:x@127.0.0.1:9/none")
    started = time.monotonic()
    for _ in range(100):  # the worker calls it every 2 s
        assert await daily_backup(nowhere, now=_day(0) + timedelta(hours=3)) is None
    assert time.monotonic() - started < 0.5


async def test_a_failed_daily_backup_is_logged_without_words_and_tried_an_hour_later(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = dataclasses.replace(settings, backup_days=1)
    assert await daily_backup(settings, now=_day(0)) is not None
    kept = _backups(settings)
    # A database that is not there, in a folder named after a person.
    missing = tmp_path / "sophea@example.org" / "gone.sqlite3"
    broken = dataclasses.replace(settings, database_url=f"sqlite://{missing}")
    if not settings.is_sqlite:
        broken = dataclasses.replace(
            settings, database_url=_with_database(POSTGRES_URL, "sophea_example_org")
        )
    with caplog.at_level(logging.INFO, logger="sala.backup"):
        assert await daily_backup(broken, now=_day(1)) is None
        assert await daily_backup(broken, now=_day(1) + timedelta(minutes=50)) is None
    failures = [r for r in caplog.records if "daily backup failed" in r.getMessage()]
    assert len(failures) == 1  # not tried again every round
    assert "sophea" not in caplog.text
    assert _backups(settings) == kept  # the old one stays until a new one is written

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sala.backup"):
        assert await daily_backup(broken, now=_day(1) + timedelta(minutes=61)) is None
        assert "daily backup failed" in caplog.text  # tried again after the hour
        made = await daily_backup(settings, now=_day(1) + timedelta(minutes=122))
    assert made is not None
    assert _backups(settings) == [made.name]


def test_the_backup_settings_are_checked_at_start(tmp_path: Path) -> None:
    env = {"SALA_DATA_DIR": str(tmp_path), "SALA_SECRET_KEY": "k" * 40}
    assert load_settings(env).backup_days is None
    assert load_settings({**env, "SALA_BACKUP_DAYS": "14"}).backup_days == 14
    for bad in ("0", "two weeks", "-1"):
        with pytest.raises(ConfigError, match="SALA_BACKUP_DAYS"):
            load_settings({**env, "SALA_BACKUP_DAYS": bad})
    with pytest.raises(ConfigError, match="SALA_BACKUP_PASSPHRASE"):
        load_settings({**env, "SALA_BACKUP_PASSPHRASE": "short"})
    settings = load_settings({**env, "SALA_BACKUP_PASSPHRASE": PASSPHRASE})
    assert settings.backup_passphrase == PASSPHRASE
    assert PASSPHRASE not in repr(settings)


# ----------------------------------------------------------------------------- under load


@dataclass
class Rush:
    """Registrations sent by a few threads until stopped; each answer with when it came."""

    base: str
    session_id: int
    answers: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)

    def run(self, worker: int) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                email = f"rush-{worker}-{n}@example.org"
                answer = _register(http, self.session_id, email, f"Rush {worker}-{n}")
                if answer.status_code != 201:
                    self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                self.answers.append((time.monotonic(), {**answer.json(), "email": email}))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_backup_taken_while_registrations_arrive_has_every_one_answered_before_it(
    backend: str, places: Callable[[str], Place]
) -> None:
    source = places(backend)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = source.env(base, SALA_BACKUP_DAYS="3")  # and the worker's daily backup meanwhile
    token = _admin_token(env)
    capacity = 20
    backup = source.data_dir.parent / "during-the-rush.tar.gz"
    with running_server(env, port=port), httpx.Client(base_url=base, timeout=30) as http:
        rush = Rush(base, _new_session(http, token, capacity=capacity))
        threads = [threading.Thread(target=rush.run, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        try:
            _wait_for(lambda: len(rush.answers) >= capacity + 80, "the first answers")
            began = time.monotonic()
            run_sala(["backup", "--to", str(backup)], env)
            ended = time.monotonic()
            time.sleep(0.3)
            daily = source.data_dir / "backups"
            _wait_for(lambda: any(daily.glob("sala-*.tar.gz")), "the worker's daily backup")
        finally:
            rush.stop.set()
            for thread in threads:
                thread.join()
    assert not rush.failures, rush.failures[:3]
    before = {a["id"]: a for at, a in rush.answers if at < began}
    during = [a for at, a in rush.answers if began <= at <= ended]
    assert during, "no registration arrived while the backup was made"
    answered = {a["id"]: a for _, a in rush.answers}

    target = places(backend)
    run_sala(["restore", str(backup)], target.env())
    restored, mails, confirmed_count = _run_outside_any_loop(
        _read_restored(target.settings(), rush.session_id)
    )

    assert set(before) <= set(restored), "a registration answered before the backup is missing"
    assert set(restored) <= set(answered), "the restored copy has a registration nobody made"
    for registration_id, answer in before.items():
        assert restored[registration_id]["status"] == answer["status"]
    confirmed = [r for r in restored.values() if r["status"] == "confirmed"]
    assert len(confirmed) <= capacity
    assert confirmed_count == len(confirmed)
    for registration_id, row in restored.items():
        kinds = mails.get(registration_id, [])
        assert len(kinds) == 1, (registration_id, kinds)
        kind, to = kinds[0]
        assert kind == f"registration_{row['status']}_to_registrant"
        assert to == row["email"]


async def _read_restored(
    settings: Settings, session_id: int
) -> tuple[dict[int, dict[str, Any]], dict[int, list[tuple[str, str]]], int]:
    """The restored registrations of the session, their mails, and the session's count."""
    EXECUTOR_CACHE.clear()  # Tortoise caches SQL per connection name (tests/conftest.py)
    context = await db.open_database(settings)
    try:
        rows = await Registration.filter(session_id=session_id).values("id", "status", "email")
        mails: dict[int, list[tuple[str, str]]] = {}
        for mail in await OutboxMessage.all().values("kind", "to_address", "params"):
            registration_id = mail["params"].get("registration_id")
            mails.setdefault(registration_id, []).append((mail["kind"], mail["to_address"]))
        session = await Session.get(id=session_id)
        registrations = {row["id"]: {**row, "status": str(row["status"])} for row in rows}
        return registrations, mails, session.confirmed_count
    finally:
        await db.close_database(context)
        EXECUTOR_CACHE.clear()


def _wait_for(done: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
