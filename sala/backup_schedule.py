"""The worker's daily backup: with ``SALA_BACKUP_DAYS`` = N, one backup a day (UTC) into
``<data dir>/backups/``, the newest N kept (:func:`daily_backup`, a periodic job of
``sala/app.py:BACKGROUND``). Making and restoring a backup is :mod:`sala.backup`."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sala.backup import TEMPORARY, backup_name, backups_folder, make_backup
from sala.config import Settings
from sala.errorlog import log_error

log = logging.getLogger("sala.backup")

BACKUP_NAME = re.compile(r"^sala-(\d{8})-(\d{6})\.tar\.gz(\.enc)?$")
RETRY_AFTER = timedelta(hours=1)

_retry_at: dict[Path, datetime] = {}


async def daily_backup(settings: Settings, *, now: datetime | None = None) -> Path | None:
    """The worker's periodic job: with ``SALA_BACKUP_DAYS`` = N, one backup a day (UTC)
    into ``<data dir>/backups/``, keeping the newest N there.

    Cheap when nothing is due (one listing of the folder, no database work). Two workers at
    once: an exclusive lock on ``backups/.lock``, not waited for; the one that does not get
    it leaves the backup to the other. The oldest go only after a new one was written. A
    failure is logged without its words (``sala.errorlog``) and tried again an hour later.
    """
    if settings.backup_days is None:
        return None
    now = now or datetime.now(UTC)
    folder = backups_folder(settings)
    retry_at = _retry_at.get(settings.data_dir)
    if (retry_at is not None and now < retry_at) or not _due(folder, now):
        return None
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        with _exclusive(folder / ".lock") as locked:
            if not locked or not _due(folder, now):
                return None
            encrypted = bool(settings.backup_passphrase)
            target = folder / backup_name(now, encrypted=encrypted)
            made = await make_backup(settings, target, settings.backup_passphrase)
            _keep_newest(folder, settings.backup_days)
    except Exception as exc:  # the worker goes on; the next try is in an hour
        _retry_at[settings.data_dir] = now + RETRY_AFTER
        log_error(log, exc, "the daily backup failed (`sala backup` says why); next try in an hour")
        return None
    _retry_at.pop(settings.data_dir, None)
    log.info("daily backup written: %s", made.name)
    return made


def _backups(folder: Path) -> list[str]:
    """The backups in the folder, oldest first (their names sort by time)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if BACKUP_NAME.match(name))


def _due(folder: Path, now: datetime) -> bool:
    """No backup of this day (UTC) yet."""
    backups = _backups(folder)
    newest = BACKUP_NAME.match(backups[-1]) if backups else None
    return newest is None or newest.group(1) < f"{now.astimezone(UTC):%Y%m%d}"


def _keep_newest(folder: Path, keep: int) -> None:
    """Delete the oldest backups beyond ``keep``, and work left a day ago by a backup that
    was stopped half-way."""
    backups = _backups(folder)
    for name in backups[: max(len(backups) - keep, 0)]:
        (folder / name).unlink(missing_ok=True)
    day_ago = time.time() - 24 * 3600
    for left in folder.glob(f"{TEMPORARY}*"):
        if left.is_dir() and left.stat().st_mtime < day_ago:
            shutil.rmtree(left, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path``, if free now: yields whether it was taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            yield False
            return
        yield True
    finally:
        os.close(fd)
