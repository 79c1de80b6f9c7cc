"""Settings, read once from the environment and checked at start-up.

Every ``SALA_`` variable of DESIGN.md is parsed here and nowhere else; a bad value stops the
app with a message naming the variable, rather than failing at the first request.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("km", "en")
SMTP_TLS_MODES = ("none", "starttls", "tls")


class ConfigError(Exception):
    """A SALA_ variable has a value the app cannot run with."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    base_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Phnom_Penh"
    default_language: str = "km"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: str = "none"
    mail_from: str = "Sala <sala@localhost>"
    rate_limits: bool = True
    discreet_mail: bool = True
    mail_worker: bool = True
    reminder_hours: int = 24
    # Personal data of people with no session in this many days is anonymised (counts stay).
    retention_days: int = 1095
    organisation_name: str = "CLGBT"
    # Reports hide a breakdown's cell counting fewer people than this (reports/suppression.py).
    report_min_cell: int = 5
    # None: no automatic backups; N: the worker makes one a day and keeps the newest N.
    backup_days: int | None = None
    # Seals backups (sala/backup_encryption.py); never printed with the settings.
    backup_passphrase: str | None = field(default=None, repr=False)
    # The largest file staff may attach to a session as a material (learning/materials.py).
    material_max_mb: int = 20

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def domain(self) -> str:
        """The host name of the base URL, for Message-IDs and calendar UIDs."""
        return urlsplit(self.base_url).hostname or "localhost"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    data_dir = private_data_dir(Path(env.get("SALA_DATA_DIR") or "./var").resolve())

    database_url = env.get("SALA_DATABASE_URL") or f"sqlite://{data_dir / 'sala.sqlite3'}"
    if not database_url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise ConfigError("SALA_DATABASE_URL must start with sqlite:// or postgres://")
    if database_url.startswith("postgresql://"):
        database_url = "postgres://" + database_url.removeprefix("postgresql://")

    timezone = env.get("SALA_TIMEZONE") or "Asia/Phnom_Penh"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"SALA_TIMEZONE={timezone!r} is not a known time zone") from exc

    language = env.get("SALA_DEFAULT_LANGUAGE") or "km"
    if language not in LANGUAGES:
        raise ConfigError("SALA_DEFAULT_LANGUAGE must be km or en")

    smtp_tls = (env.get("SALA_SMTP_TLS") or "none").lower()
    if smtp_tls not in SMTP_TLS_MODES:
        raise ConfigError("SALA_SMTP_TLS must be none, starttls or tls")

    base_url = (env.get("SALA_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("SALA_BASE_URL must start with http:// or https://")

    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=env.get("SALA_SECRET_KEY") or _stored_secret_key(data_dir),
        base_url=base_url,
        host=env.get("SALA_HOST") or "127.0.0.1",
        port=_int(env, "SALA_PORT", 8000),
        timezone=timezone,
        default_language=language,
        smtp_host=env.get("SALA_SMTP_HOST") or None,
        smtp_port=_int(env, "SALA_SMTP_PORT", 465 if smtp_tls == "tls" else 25),
        smtp_user=env.get("SALA_SMTP_USER") or None,
        smtp_password=env.get("SALA_SMTP_PASSWORD") or None,
        smtp_tls=smtp_tls,
        mail_from=env.get("SALA_MAIL_FROM") or "Sala <sala@localhost>",
        rate_limits=_switch(env, "SALA_RATE_LIMITS", default=True),
        discreet_mail=_switch(env, "SALA_DISCREET_MAIL", default=True),
        mail_worker=_switch(env, "SALA_MAIL_WORKER", default=True),
        reminder_hours=_int(env, "SALA_REMINDER_HOURS", 24, maximum=24 * 14),
        retention_days=_int(env, "SALA_RETENTION_DAYS", 1095, maximum=36500),
        report_min_cell=_int(env, "SALA_REPORT_MIN_CELL", 5, maximum=1000),
        backup_days=_int(env, "SALA_BACKUP_DAYS", 0, maximum=3650) or None,  # unset: None
        backup_passphrase=_backup_passphrase(env),
        material_max_mb=_int(env, "SALA_MATERIAL_MAX_MB", 20, maximum=1000),
    )


# A sealed backup is only as strong as its passphrase, and it may leave the server.
MIN_PASSPHRASE = 12


def _backup_passphrase(env: Mapping[str, str]) -> str | None:
    passphrase = env.get("SALA_BACKUP_PASSPHRASE") or None
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
        raise ConfigError(f"SALA_BACKUP_PASSPHRASE must be at least {MIN_PASSPHRASE} characters")
    return passphrase


def _int(env: Mapping[str, str], name: str, default: int, *, maximum: int = 65535) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc
    if not 0 < value <= maximum:
        raise ConfigError(f"{name} must be between 1 and {maximum}")
    return value


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = (env.get(name) or ("on" if default else "off")).lower()
    if raw not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off")
    return raw == "on"


# Everything Sala writes (database, keys, certificates, backups) is its owner's alone.
PRIVATE_UMASK = 0o077


def private_data_dir(path: Path) -> Path:
    """Make the data dir readable by its owner only (0700), and every file this process
    creates from now on too (umask 077): the database, its -wal/-shm, the keys, the PDFs."""
    os.umask(PRIVATE_UMASK)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = path.stat()
    # A data dir from before this rule (or made by hand) is closed too, when it is ours.
    if status.st_mode & 0o077 and status.st_uid == os.getuid():
        path.chmod(0o700)
    return path


def _stored_secret_key(data_dir: Path) -> str:
    """The installation's secret, generated on first start and kept (mode 600) in the data dir."""
    path = data_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
LOCALES_DIR = PROJECT_ROOT / "locales"
