"""Backups: one file with a consistent snapshot of the database and the data dir's files.

::

    sala-20250131-020000.tar.gz     (.tar.gz.enc when sealed with a passphrase)
      manifest.json       format and version, created_at (UTC), the database kind, Sala's
                          version, and every member after it with its size and SHA-256
      database.sqlite3    SQLite's online backup, all pages in one step: one snapshot while
                          the app writes (in WAL mode writers go on meanwhile)
      database.pgdump     or ``pg_dump --format=custom``: one snapshot too (a repeatable read)
      files/...           the data dir's files (:func:`data_files`): secret_key, ticket_keys/,
                          certificates/ (PDFs and prints), anything else put there

The database is copied first and the files after, so the files hold at least every key the
database's tickets were signed with. The manifest comes first, so a restore knows what it is
reading (and refuses the wrong kind of database) before it reads the rest. A passphrase seals
the whole gzip'd tar (:mod:`sala.backup_encryption`).

A restore unpacks everything into a folder of its own and checks every size and digest (and,
sealed, every chunk up to the last) before it touches the data dir or the database. It
refuses a data dir or database that holds something unless ``force``; a data dir that only
``load_settings`` has made (the data dir and a generated ``secret_key``) and a database that
only migrations have filled count as empty. Migrations run afterwards, so a backup of an
older Sala comes back upgraded.

The worker's daily backup (``SALA_BACKUP_DAYS``) is :mod:`sala.backup_schedule`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import BaseORMException, OperationalError

from sala import db
from sala.backup_encryption import MAGIC as SEAL_MAGIC
from sala.backup_encryption import Broken, SealedReader, SealedWriter, WrongKey, is_sealed
from sala.config import Settings
from sala.errors import SalaError
from sala.i18n import N_

log = logging.getLogger("sala.backup")

FORMAT = "sala-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgres": "database.pgdump"}
FILES = "files"
BACKUPS = "backups"
# Everything this module writes for a while is named so; backups and restores skip it.
TEMPORARY = ".sala-tmp"
SQLITE_SUFFIXES = (".sqlite3", ".sqlite3-wal", ".sqlite3-shm", ".sqlite3-journal")
GZIP_MAGIC = b"\x1f\x8b"
COPY_CHUNK = 1024 * 1024
MAX_MANIFEST = 64 * 1024 * 1024
# Tables the migrations fill themselves: rows there do not make a database "in use".
# (``reach_change`` is the reach report's change count, kept by triggers: see reports/cache.py.)
MIGRATIONS_TABLE = "tortoise_migrations"
SEEDED_TABLES = frozenset({"topic", "curriculum", "module", "reach_change"})


class BackupError(SalaError):
    """A backup could not be made, or a restore could not be done."""

    code = "backup_failed"
    message = N_("The backup or restore failed: %(detail)s")


class RestoreRefused(BackupError):
    """The restore would replace something (a data dir or database in use, another kind of
    database): refused unless forced, or at all."""

    code = "restore_refused"


class BackupDamaged(BackupError):
    """The file is not a Sala backup, or it was damaged, cut short or changed."""

    code = "backup_damaged"
    message = N_(
        "This file is not a Sala backup, or it is damaged, cut short or was changed (%(detail)s)."
    )


class PassphraseRequired(BackupError):
    """The backup is encrypted and no passphrase was given."""

    code = "passphrase_required"
    message = N_("This backup is encrypted: set SALA_BACKUP_PASSPHRASE to its passphrase.")


class WrongPassphrase(BackupError):
    """The passphrase given does not open the encrypted backup."""

    code = "wrong_passphrase"
    message = N_("The passphrase in SALA_BACKUP_PASSPHRASE does not open this backup.")


NOT_EMPTY = N_(
    "The data dir %(path)s is not empty. Restore into an empty data dir, or add --force "
    "to replace what is there."
)
DATABASE_IN_USE = N_(
    "The database of SALA_DATABASE_URL already holds data. Restore into an empty database, "
    "or add --force to replace it."
)
OTHER_DATABASE = N_(
    "This backup holds a %(backup)s database, but SALA_DATABASE_URL is %(target)s. Restore "
    "it with a database of the same kind."
)
NEWER_FORMAT = N_(
    "This backup was made by a newer Sala (backup format %(version)s). Upgrade Sala, then "
    "restore it."
)
TOOL_FAILED = N_("%(tool)s failed: %(detail)s")
TOOL_MISSING = N_("%(tool)s was not found: install PostgreSQL's client programs.")
NO_DATABASE = N_("There is no database file at %(path)s.")
NO_FOLDER = N_("There is no folder %(path)s.")


# ----------------------------------------------------------------------------- what is kept


@dataclass(frozen=True)
class Member:
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: datetime
    database: str  # "sqlite" or "postgres"
    sala_version: str
    # False: the installation took its secret key from SALA_SECRET_KEY, not from the file.
    secret_key_in_backup: bool
    members: dict[str, Member]  # every member after the manifest, by name

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
                "database": self.database,
                "sala_version": self.sala_version,
                "secret_key_in_backup": self.secret_key_in_backup,
                "files": [
                    {"name": name, "size": member.size, "sha256": member.sha256}
                    for name, member in self.members.items()
                ],
            },
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupDamaged(detail="no Sala manifest")
        version = data.get("version")
        if isinstance(version, int) and version > VERSION:
            raise RestoreRefused(NEWER_FORMAT, version=version)
        if version != VERSION:
            raise BackupDamaged(detail="no manifest version")
        members = {}
        for entry in data["files"]:
            name = _safe_member_name(entry["name"])
            members[name] = Member(int(entry["size"]), str(entry["sha256"]))
        database = data["database"]
        if database not in DATABASE_MEMBER or DATABASE_MEMBER[database] not in members:
            raise BackupDamaged(detail="no database in the manifest")
        return cls(
            created_at=datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")),
            database=database,
            sala_version=str(data.get("sala_version", "")),
            secret_key_in_backup=bool(data.get("secret_key_in_backup", True)),
            members=members,
        )


def _safe_member_name(name: object) -> str:
    """A member's name, if it can only land inside the restore's own folder."""
    path = PurePosixPath(str(name))
    parts = path.parts
    inside_files = len(parts) >= 2 and parts[0] == FILES
    if (
        not isinstance(name, str)
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in parts)
        or "\\" in name
        or not (inside_files or name in DATABASE_MEMBER.values())
    ):
        raise BackupDamaged(detail=f"a member named {str(name)[:80]!r}")
    return name


def database_kind(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgres"


def sqlite_path(settings: Settings) -> Path:
    """The SQLite database file of the settings (the default one, or SALA_DATABASE_URL's)."""
    path = expand_db_url(settings.database_url)["credentials"].get("file_path", "")
    if not path or path == ":memory:":
        raise BackupError(NO_DATABASE, path=path or ":memory:")
    return Path(path).resolve()


def _live_database(settings: Settings) -> set[Path]:
    if not settings.is_sqlite:
        return set()
    path = sqlite_path(settings)
    return {path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))}


def data_files(settings: Settings) -> list[PurePosixPath]:
    """The data dir's files a backup takes, relative to it: everything but the live SQLite
    database (``*.sqlite3``, its -wal, -shm and journal), ``backups/`` and temporary files
    (``*.tmp``, this module's ``.sala-tmp*``). Regular files only; links are not followed."""
    root = settings.data_dir
    live = _live_database(settings)
    found = []
    for folder, folders, names in os.walk(root):
        here = Path(folder)
        folders[:] = sorted(
            name
            for name in folders
            if not name.startswith(TEMPORARY) and not (here == root and name == BACKUPS)
        )
        for name in sorted(names):
            path = here / name
            if (
                name.startswith(TEMPORARY)
                or name.endswith(".tmp")
                or name.endswith(SQLITE_SUFFIXES)
                or path in live
                or path.is_symlink()
                or not path.is_file()
            ):
                continue
            found.append(PurePosixPath(path.relative_to(root).as_posix()))
    return found


def _copy_hashing(source: IO[bytes], destination: Path) -> Member:
    digest = hashlib.sha256()
    size = 0
    with destination.open("xb") as sink:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
    return Member(size, digest.hexdigest())


def _sala_version() -> str:
    try:
        return metadata.version("sala")
    except metadata.PackageNotFoundError:
        return "unknown"


# ----------------------------------------------------------------------------- making one


def backups_folder(settings: Settings) -> Path:
    return settings.data_dir / BACKUPS


def backup_name(moment: datetime, *, encrypted: bool) -> str:
    return f"sala-{moment.astimezone(UTC):%Y%m%d-%H%M%S}.tar.gz{'.enc' if encrypted else ''}"


def default_target(settings: Settings, *, encrypted: bool) -> Path:
    """``<data dir>/backups/sala-YYYYMMDD-HHMMSS.tar.gz[.enc]`` (UTC), the folder made."""
    folder = backups_folder(settings)
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / backup_name(datetime.now(UTC), encrypted=encrypted)


async def make_backup(settings: Settings, target: Path, passphrase: str | None) -> Path:
    """Write a backup to ``target`` (a folder: a default name in it), sealed when a
    passphrase is given; returns its path. Runs off the event loop (files, SQLite and the
    archive in a thread, pg_dump as a subprocess), so the app goes on serving meanwhile."""
    try:
        target, staging = await asyncio.to_thread(_prepare, target, bool(passphrase))
    except OSError as exc:
        raise BackupError(detail=_oserror(exc)) from exc
    try:
        snapshot = staging / DATABASE_MEMBER[database_kind(settings)]
        if settings.is_sqlite:
            await asyncio.to_thread(_snapshot_sqlite, sqlite_path(settings), snapshot)
        else:
            await _dump_postgres(settings.database_url, snapshot)
        await asyncio.to_thread(_write_archive, settings, staging, snapshot, target, passphrase)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(detail=_oserror(exc)) from exc
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)
    return target


def _prepare(target: Path, encrypted: bool) -> tuple[Path, Path]:
    """The file to write, and a private folder next to it for the work in progress."""
    if target.is_dir():
        target = target / backup_name(datetime.now(UTC), encrypted=encrypted)
    target = target.absolute()
    if not target.parent.is_dir():
        raise BackupError(NO_FOLDER, path=str(target.parent))
    return target, Path(tempfile.mkdtemp(prefix=f"{TEMPORARY}-", dir=target.parent))


def _snapshot_sqlite(source_path: Path, destination: Path) -> None:
    if not source_path.is_file():
        raise BackupError(NO_DATABASE, path=str(source_path))
    with (
        contextlib.closing(sqlite3.connect(source_path, timeout=60)) as source,
        contextlib.closing(sqlite3.connect(destination)) as copy,
    ):
        # pages=-1: every page in one step, under one read transaction: one snapshot.
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal


def _libpq(database_url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump's and pg_restore's connection options, and their environment: the password
    goes in PGPASSWORD, never on a command line (which every user of the machine can read)."""
    credentials = expand_db_url(database_url)["credentials"]
    options = ["--no-password"]
    for option, key in (("--host", "host"), ("--port", "port"), ("--username", "user")):
        if credentials.get(key):
            options.append(f"{option}={credentials[key]}")
    options.append(f"--dbname={credentials['database']}")
    env = dict(os.environ)
    if credentials.get("password"):
        env["PGPASSWORD"] = str(credentials["password"])
    return options, env


async def _run_tool(command: list[str], env: dict[str, str]) -> str:
    """Run pg_dump or pg_restore (an asyncio subprocess: the event loop goes on); its output."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise BackupError(TOOL_MISSING, tool=command[0]) from exc
    output, errors = await process.communicate()
    if process.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines() or ["no message"]
        # The first error says why; the lines after it quote the statement, or repeat.
        first = next((line for line in lines if "error:" in line.lower()), lines[-1])
        raise BackupError(TOOL_FAILED, tool=command[0], detail=first[:300])
    return output.decode(errors="replace")


async def _dump_postgres(database_url: str, destination: Path) -> None:
    options, env = _libpq(database_url)
    await _run_tool(["pg_dump", "--format=custom", f"--file={destination}", *options], env)


def _secret_key_in_file(settings: Settings) -> bool:
    """Whether the secret key in use is the data dir's ``secret_key`` (not SALA_SECRET_KEY)."""
    try:
        return (settings.data_dir / "secret_key").read_text().strip() == settings.secret_key
    except FileNotFoundError:
        return False


def _write_archive(
    settings: Settings, staging: Path, snapshot: Path, target: Path, passphrase: str | None
) -> None:
    """Copy the data files into ``staging`` (the app replaces a file rather than rewrite it,
    so each copy is one version of it), then write manifest, database and files into a
    temporary file next to ``target``, and rename it to ``target``."""
    members = {snapshot.name: _digest(snapshot)}
    sources = {snapshot.name: snapshot}
    for relative in data_files(settings):
        original = settings.data_dir / relative
        if original.resolve() == target.resolve():  # an earlier backup of the same name
            continue
        name = f"{FILES}/{relative}"
        copy = staging / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        try:
            with original.open("rb") as source:
                members[name] = _copy_hashing(source, copy)
        except FileNotFoundError:  # removed since it was listed: not there any more
            continue
        sources[name] = copy
    manifest = Manifest(
        created_at=datetime.now(UTC).replace(microsecond=0),
        database=database_kind(settings),
        sala_version=_sala_version(),
        secret_key_in_backup=_secret_key_in_file(settings),
        members=members,
    )
    partial = staging / f"{TEMPORARY}-{secrets.token_hex(4)}"
    with partial.open("xb") as raw:
        os.fchmod(raw.fileno(), 0o600)
        sealed = SealedWriter(raw, passphrase) if passphrase else None
        sink: Any = sealed or raw
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=sink, compresslevel=6, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as archive,
        ):
            listing = manifest.to_json()
            _add(archive, MANIFEST, len(listing), io.BytesIO(listing))
            for name, path in sources.items():
                with path.open("rb") as source:
                    _add(archive, name, members[name].size, source)
        if sealed is not None:
            sealed.close()
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, target)


def _digest(path: Path) -> Member:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Member(size, digest.hexdigest())


def _add(archive: tarfile.TarFile, name: str, size: int, source: IO[bytes]) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, source)


def _oserror(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# ----------------------------------------------------------------------------- restoring


async def restore_backup(
    settings: Settings, source: Path, *, force: bool, passphrase: str | None
) -> Manifest:
    """Restore the backup ``source`` into the settings' data dir and database, then migrate.

    Refuses (:class:`RestoreRefused`) a data dir or database in use unless ``force``; then
    what is there is replaced: the database, and the data files (those not in the backup go).
    Stop every Sala process of this data dir and database first.
    """
    kind = database_kind(settings)
    try:
        if not force:
            await _refuse_unless_empty(settings)
        staging = Path(tempfile.mkdtemp(prefix=f"{TEMPORARY}-", dir=settings.data_dir))
        try:
            manifest = await asyncio.to_thread(_unpack, source, passphrase, staging, kind)
            await _put_database_in_place(settings, staging / DATABASE_MEMBER[kind])
            _put_files_in_place(settings, staging / FILES, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        await db.migrate(settings)
    except (OSError, sqlite3.Error, BaseORMException) as exc:
        raise BackupError(detail=_oserror(exc)) from exc
    return manifest


def restore_notes(manifest: Manifest, *, secret_key_in_environment: bool) -> list[str]:
    """What the operator must know after a restore (English, for the terminal)."""
    if not manifest.secret_key_in_backup:
        return [
            "The backed-up Sala took its secret key from SALA_SECRET_KEY: run this one with "
            "the same value, or manage links and logins made before the backup stop working."
        ]
    if secret_key_in_environment:
        return [
            "SALA_SECRET_KEY is set, so Sala uses it and not the restored secret_key file: "
            "manage links made before the backup work only if it is the same key."
        ]
    return []


async def _refuse_unless_empty(settings: Settings) -> None:
    # load_settings itself makes the data dir and, without SALA_SECRET_KEY, a secret_key:
    # a data dir with only that in it is one nobody used yet.
    if any(path.as_posix() != "secret_key" for path in data_files(settings)):
        raise RestoreRefused(NOT_EMPTY, path=str(settings.data_dir))
    if await _holds_data(settings):
        raise RestoreRefused(DATABASE_IN_USE)


def _models() -> list[Any]:
    return [model for models in Tortoise.apps.values() for model in models.values()]


async def _holds_data(settings: Settings) -> bool:
    """Whether any table besides those the migrations fill has a row."""
    if settings.is_sqlite:
        path = sqlite_path(settings)
        if not path.exists() or path.stat().st_size == 0:
            return False
    context = await db.open_database(settings)
    try:
        for model in _models():
            if model._meta.db_table in SEEDED_TABLES:
                continue
            try:
                if await model.exists():
                    return True
            except OperationalError:  # no such table: no Sala there yet, or an older one
                continue
        return False
    finally:
        await db.close_database(context)


def _unpack(source: Path, passphrase: str | None, staging: Path, kind: str) -> Manifest:
    """Every member into ``staging``, each checked against the manifest; the stream read to
    its end (gzip's CRC, the sealed stream's last chunk) before anything is used."""
    with source.open("rb") as raw:
        prefix = raw.read(len(SEAL_MAGIC))
        raw.seek(0)
        try:
            if is_sealed(prefix):
                if not passphrase:
                    raise PassphraseRequired()
                reader = SealedReader(raw, passphrase)
                manifest = _read_archive(reader, staging, kind)
                reader.finish()
                return manifest
            if not prefix.startswith(GZIP_MAGIC):
                raise BackupDamaged(detail="neither a gzip'd tar nor an encrypted backup")
            return _read_archive(raw, staging, kind)
        except WrongKey as exc:
            raise WrongPassphrase() from exc
        except Broken as exc:
            raise BackupDamaged(detail=str(exc)) from exc
        except (tarfile.TarError, zlib.error, gzip.BadGzipFile, EOFError) as exc:
            raise BackupDamaged(detail=_oserror(exc)) from exc
        except (ValueError, KeyError, TypeError) as exc:  # a manifest that does not parse
            raise BackupDamaged(detail=f"the manifest ({type(exc).__name__})") from exc


def _read_archive(stream: BinaryIO | SealedReader, staging: Path, kind: str) -> Manifest:
    with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:  # type: ignore[arg-type]
        with tarfile.open(fileobj=unzipped, mode="r|") as archive:
            first = archive.next()
            if first is None or first.name != MANIFEST or not first.isreg():
                raise BackupDamaged(detail="no manifest first")
            listing = archive.extractfile(first)
            if first.size > MAX_MANIFEST or listing is None:
                raise BackupDamaged(detail="the manifest")
            manifest = Manifest.from_json(listing.read())
            if manifest.database != kind:
                raise RestoreRefused(
                    OTHER_DATABASE, backup=_KIND_NAMES[manifest.database], target=_KIND_NAMES[kind]
                )
            _extract_members(archive, manifest, staging)
        while unzipped.read(COPY_CHUNK):  # to its end: gzip checks the length and the CRC
            pass
    return manifest


_KIND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def _extract_members(archive: tarfile.TarFile, manifest: Manifest, staging: Path) -> None:
    seen: set[str] = set()
    # next(), not iteration: iterating a TarFile starts again from its first member.
    while (member := archive.next()) is not None:
        expected = manifest.members.get(member.name)
        content = archive.extractfile(member) if member.isreg() else None
        if expected is None or member.name in seen or content is None:
            raise BackupDamaged(detail=f"a member not in the manifest: {member.name[:80]!r}")
        destination = staging / member.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if _copy_hashing(content, destination) != expected:
            raise BackupDamaged(detail=f"{member.name} does not match the manifest")
        seen.add(member.name)
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise BackupDamaged(detail=f"{missing[0]} is missing")


async def _put_database_in_place(settings: Settings, staged: Path) -> None:
    if settings.is_sqlite:
        _replace_sqlite(staged, sqlite_path(settings))
        return
    options, env = _libpq(settings.database_url)
    # Tables a newer Sala's migrations made are not in an older dump, and --clean leaves
    # them: the migrations after the restore would fail to make them again. Those go first;
    # the dump's own tables are replaced in pg_restore's one transaction, so a restore that
    # fails leaves them as they were.
    listing = await _run_tool(["pg_restore", "--list", str(staged)], env)
    await _drop_sala_tables(settings, keep=_tables_listed(listing))
    command = [
        "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl",
        "--single-transaction", "--exit-on-error", *options, str(staged),
    ]  # fmt: skip
    await _run_tool(command, env)


def _replace_sqlite(staged: Path, path: Path) -> None:
    if staged.stat().st_dev != path.parent.stat().st_dev:  # another file system
        moved = path.with_name(f"{TEMPORARY}-{secrets.token_hex(4)}-{path.name}")
        shutil.copyfile(staged, moved)
        staged = moved
    os.replace(staged, path)
    # The old database's write-ahead log would otherwise be replayed into the new file.
    for end in ("-wal", "-shm", "-journal"):
        path.with_name(path.name + end).unlink(missing_ok=True)


def _tables_listed(listing: str) -> set[str]:
    """The tables of a ``pg_restore --list``: lines such as
    ``218; 1259 16412 TABLE public staff_user sala``."""
    tables = set()
    for line in listing.splitlines():
        words = line.split()
        # Not "TABLE DATA public staff_user sala": that is the same table's rows.
        if len(words) >= 6 and words[3] == "TABLE" and words[4] != "DATA":
            tables.add(words[5])
    return tables


async def _drop_sala_tables(settings: Settings, *, keep: set[str]) -> None:
    """Drop the tables of this Sala's models (and their many-to-many tables) not in ``keep``."""
    names = set()
    context = await db.open_database(settings)
    try:
        for model in _models():
            names.add(model._meta.db_table)
            for field in model._meta.m2m_fields:
                names.add(model._meta.fields_map[field].through)
        names -= keep
        if names:
            quoted = ", ".join(f'"{name}"' for name in sorted(names))
            await connections.get("default").execute_script(
                f"DROP TABLE IF EXISTS {quoted} CASCADE"
            )
    finally:
        await db.close_database(context)


def _put_files_in_place(settings: Settings, staged: Path, manifest: Manifest) -> None:
    """The backup's files replace the data dir's; a data file the backup does not have goes
    (a ticket key made since would otherwise sign the restored installation's tickets)."""
    prefix = f"{FILES}/"
    incoming = {
        PurePosixPath(name.removeprefix(prefix))
        for name in manifest.members
        if name.startswith(prefix)
    }
    for stale in set(data_files(settings)) - incoming:
        (settings.data_dir / stale).unlink(missing_ok=True)
    for relative in sorted(incoming):
        destination = settings.data_dir / relative
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(staged / relative, destination)
