"""The database: Tortoise configuration, start-up and migrations.

Each feature package is one Tortoise app with its own migration history
(``<package>/migrations``). ``sala`` is the shell's own app (staff, tokens, audit log).
"""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations

from sala.config import Settings

# A package joins here with its first model (attendees, curricula: next issues).
APPS = ("sala", "events")


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
