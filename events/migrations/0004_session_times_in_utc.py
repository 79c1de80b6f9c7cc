"""Issue 13: on SQLite an edited session's times were stored with their offset ("+07:00")
while every other time is UTC; as text they sorted and compared wrongly (a 09:00 session
listed after a 12:00 one, reminders came 7 h late). Rewrite such values in UTC. PostgreSQL
stores times as timestamptz and needs nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_COLUMNS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")


async def _times_in_utc(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        return
    names = ", ".join(_COLUMNS)
    _count, rows = await client.execute_query(f'SELECT id, {names} FROM "session"')  # noqa: S608
    for row in rows:
        for column in _COLUMNS:
            text = row[column]
            if not isinstance(text, str):
                continue
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None or moment.utcoffset() == timedelta(0):
                continue
            await client.execute_query(
                f'UPDATE "session" SET {column} = ? WHERE id = ?',  # noqa: S608
                [str(moment.astimezone(UTC)), row["id"]],
            )


class Migration(migrations.Migration):
    dependencies = [("events", "0003_session_slug")]

    initial = False

    operations = [ops.RunPython(_times_in_utc)]
