"""The database: Tortoise configuration, start-up and migrations.

Each feature package is one Tortoise app with its own migration history
(``<package>/migrations``). ``sala`` is the shell's own app (staff, tokens, audit log).
"""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations

from sala.config import Settings

# A package joins here with its first model (curricula: a later issue).
APPS = ("sala", "events", "attendees")


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return config_for_url(settings.database_url)


def config_for_url(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            label: {
                "models": [f"{label}.models"],
                "default_connection": "default",
                "migrations": f"{label}.migrations",
            }
            for label in APPS
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(settings: Settings) -> None:
    """Apply every pending migration of every app."""
    await run_migrations(config=tortoise_config(settings))
    await Tortoise.close_connections()


async def open_database(settings: Settings) -> TortoiseContext:
    """Connect; the context is global so that every request task of the app sees it."""
    return await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database(context: TortoiseContext) -> None:
    await context.close_connections()


async def ping() -> bool:
    """True when the database answers a trivial query."""
    await connections.get("default").execute_query("SELECT 1")
    return True


# For ``tortoise -c sala.db.MIGRATIONS_CONFIG makemigrations``: the autodetector reads the
# committed migration files, not a database, so an in-memory one will do.
MIGRATIONS_CONFIG = config_for_url("sqlite://:memory:")


async def lock_row(connection: BaseDBAsyncClient, table: str, row_id: int) -> None:
    """Make the current transaction the only writer of one row until it ends.

    PostgreSQL: ``SELECT … FOR UPDATE``. SQLite: a no-op write, which takes the database's
    write lock at once — BEGIN is deferred there, and a transaction that reads first and
    writes later can fail with "database is locked" when another process got there first.
    """
    if connection.capabilities.dialect == "sqlite":
        statement = f'UPDATE "{table}" SET id = id WHERE id = ?'  # noqa: S608 - our table names
    else:
        statement = f'SELECT id FROM "{table}" WHERE id = $1 FOR UPDATE'  # noqa: S608
    await connection.execute_query(statement, [row_id])
