"""The ``sala`` command (also ``python -m sala``)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sala import db
from sala.config import ConfigError, Settings, load_settings
from sala.errors import SalaError
from sala.i18n import current_language


def _run(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        context = await db.open_database(settings)
        try:
            return await work()
        finally:
            await db.close_database(context)

    return asyncio.run(main())


def _migrate(settings: Settings) -> None:
    asyncio.run(db.migrate(settings))


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    _migrate(settings)
    print("Migrations applied.")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    _migrate(settings)
    if args.no_worker:
        os.environ["SALA_MAIL_WORKER"] = "off"  # read by every app process uvicorn starts
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"Sala is running at http://{host}:{port}  (data in {settings.data_dir})")
    uvicorn.run(
        "sala.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=True,
        log_level="info",
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Only the background worker: mail and reminders, for set-ups with several app servers."""
    import signal

    from sala.app import BACKGROUND
    from sala.worker import run_forever

    _migrate(settings)
    if not settings.smtp_host:
        print("SALA_SMTP_HOST is not set: mail stays in the outbox; reminders are still queued.")

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print("Sala worker running. Ctrl+C stops it.")
        await run_forever(settings, BACKGROUND, stop)

    _run(settings, work)
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from sala import accounts

    password = args.password or os.environ.get("SALA_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("Give --password or set SALA_ADMIN_PASSWORD.", file=sys.stderr)
            return 2
        password = getpass.getpass("Password for the admin: ")
    _migrate(settings)

    async def work() -> tuple[Any, bool]:
        return await accounts.ensure_admin(email=args.email, name=args.name, password=password)

    user, created = _run(settings, work)
    print(f"{'Created' if created else 'Updated'} admin {user.email}.")
    return 0


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    from sala import accounts
    from sala.forms import fold_email
    from sala.models import StaffUser

    _migrate(settings)

    async def work() -> str | None:
        user = await StaffUser.get_or_none(email=fold_email(args.email))
        if user is None:
            return None
        return await accounts.create_api_token(user, label=args.label or "")

    token = _run(settings, work)
    if token is None:
        print(f"No staff account with the email {args.email}.", file=sys.stderr)
        return 1
    print(token)
    return 0


def cmd_tokens(settings: Settings, args: argparse.Namespace) -> int:
    """The account's API tokens: id, label, made, last used, revoked."""
    from sala import accounts
    from sala.models import ApiToken

    _migrate(settings)

    async def work() -> list[ApiToken] | None:
        user = await _staff_by_email(args.email)
        return None if user is None else await accounts.list_api_tokens(user)

    tokens = _run(settings, work)
    if tokens is None:
        print(f"No staff account with the email {args.email}.", file=sys.stderr)
        return 1
    if not tokens:
        print("No tokens.")
    for token in tokens:
        state = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active"
        print(
            f"{token.id}\t{token.label or '-'}\tmade {_when(token.created_at)}"
            f"\tlast used {_when(token.last_used_at)}\t{state}"
        )
    return 0


def cmd_revoke_token(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke one token (``--id``) or every token of the account."""
    from sala import accounts
    from sala.errors import NotFound

    _migrate(settings)

    async def work() -> int | None:
        from sala.forms import parse_id

        user = await _staff_by_email(args.email)
        if user is None:
            return None
        if args.id is not None and parse_id(args.id) is None:
            return -1
        try:
            return await accounts.revoke_api_tokens(user, actor=None, token_id=args.id)
        except NotFound:
            return -1

    revoked = _run(settings, work)
    if revoked is None:
        print(f"No staff account with the email {args.email}.", file=sys.stderr)
        return 1
    if revoked < 0:
        print(f"{args.email} has no active token with the id {args.id}.", file=sys.stderr)
        return 1
    print(f"Revoked {revoked} token{'s' if revoked != 1 else ''} of {args.email}.")
    return 0


async def _staff_by_email(email: str) -> Any:
    from sala.forms import fold_email
    from sala.models import StaffUser

    return await StaffUser.get_or_none(email=fold_email(email))


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from events.demo import MAX_HISTORY_MONTHS, load_demo_data

    if args.months is not None and not 1 <= args.months <= MAX_HISTORY_MONTHS:
        print(f"--months must be between 1 and {MAX_HISTORY_MONTHS}.", file=sys.stderr)
        return 2
    _migrate(settings)
    summary = _run(settings, lambda: load_demo_data(months=args.months or 0))
    print(summary)
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from sala.backup import default_target, make_backup

    passphrase = settings.backup_passphrase
    target = Path(args.to) if args.to else default_target(settings, encrypted=bool(passphrase))
    print(asyncio.run(make_backup(settings, target, passphrase)))
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from sala.backup import restore_backup, restore_notes

    restored = asyncio.run(
        restore_backup(
            settings, Path(args.file), force=args.force, passphrase=settings.backup_passphrase
        )
    )
    print(
        f"Restored the backup of {restored.created_at:%Y-%m-%d %H:%M} UTC into {settings.data_dir}."
    )
    environment = bool(os.environ.get("SALA_SECRET_KEY"))
    for note in restore_notes(restored, secret_key_in_environment=environment):
        print(note)
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "create-admin": cmd_create_admin,
    "create-token": cmd_create_token,
    "tokens": cmd_tokens,
    "revoke-token": cmd_revoke_token,
    "demo": cmd_demo,
    "worker": cmd_worker,
    "backup": cmd_backup,
    "restore": cmd_restore,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sala", description="Sala: trainings of CLGBT.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations and serve the app")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-worker", action="store_true", help="do not run the mail worker in this process"
    )
    sub.add_parser("migrate", help="apply migrations")
    admin = sub.add_parser("create-admin", help="create or reset an admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--password", help="or SALA_ADMIN_PASSWORD; asked for if neither")
    token = sub.add_parser("create-token", help="print a new API token for a staff member")
    token.add_argument("--email", required=True)
    token.add_argument("--label")
    tokens = sub.add_parser("tokens", help="list a staff member's API tokens")
    tokens.add_argument("--email", required=True)
    revoke = sub.add_parser("revoke-token", help="revoke one API token (--id) or all of them")
    revoke.add_argument("--email", required=True)
    revoke.add_argument("--id", type=int, help="the token's id, from `sala tokens`")
    demo = sub.add_parser("demo", help="load demo trainings to try the system")
    demo.add_argument(
        "--months", type=int, metavar="N", help="also N past months of history (1-36), for reports"
    )
    sub.add_parser("worker", help="run only the mail and reminder worker")
    backup = sub.add_parser("backup", help="write a backup of the database and the data dir")
    backup.add_argument("--to", help="file (or folder) to write; default: <data dir>/backups/")
    restore = sub.add_parser("restore", help="restore a backup into an empty data dir")
    restore.add_argument("file")
    restore.add_argument("--force", action="store_true", help="replace what is there")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    current_language.set("en")  # messages for the operator's terminal
    try:
        settings = load_settings()
        return COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except SalaError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "errors", {}).items())
        print(f"Error: {exc.translated()} {detail}".strip(), file=sys.stderr)
        return 1


def main() -> None:
    sys.exit(run())
