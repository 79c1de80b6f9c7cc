"""Privacy (issue 11): every session gets a random slug; an invite-only session's page lives
at /sessions/i/{slug}, so it cannot be found by walking ids."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from events.models import new_slug


async def _give_every_session_a_slug(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        update = 'UPDATE "session" SET slug = ? WHERE id = ?'
    else:
        update = 'UPDATE "session" SET slug = $1 WHERE id = $2'
    _count, rows = await client.execute_query('SELECT id FROM "session" WHERE slug IS NULL')
    for row in rows:
        await client.execute_query(update, [new_slug(), row["id"]])


class Migration(migrations.Migration):
    dependencies = [("events", "0002_seed_topics"), ("sala", "0002_outbox")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Session",
            name="slug",
            field=fields.CharField(null=True, default=new_slug, unique=True, max_length=32),
        ),
        ops.RunPython(_give_every_session_a_slug),
    ]
