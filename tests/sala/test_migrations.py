"""The models and the committed migrations agree.

``tortoise -c sala.db.MIGRATIONS_CONFIG makemigrations`` compares the state the migration files
build with the models, and writes a migration for the difference. Here the same autodetector
runs without writing anything: a model changed without its migration (a field added, renamed,
made nullable…) fails this test, naming the operations the missing migration would hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from sala import db

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
