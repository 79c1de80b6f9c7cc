"""Issue 15: the reach report's cache learns from the database itself when its data changed.

Triggers on the four tables the report reads count every change to the columns it reads
into ``reach_change`` (see ``reports/models.py`` and ``reports/cache.py``). They are in the
database, not in Python, so the hand-written writes (the door, the reminders, the retention
purge) cannot forget to say so.

- SQLite: one row, counted up by a row trigger. Writers hold the database's one write lock
  already, so the counter costs them nothing more.
- PostgreSQL: a statement trigger adds a row, so concurrent writers never queue on one
  counter row (nor deadlock over it); the reader folds the rows into one now and then.

A SQLite table rebuild drops its triggers: tests/reports/test_cache.py fails if any is missing.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# The columns the report's SQL reads, per table; None: any change of a row.
WATCHED: dict[str, tuple[str, ...] | None] = {
    "registration": (
        "id",
        "session_id",
        "status",
        "checked_in_at",
        "reach_key",
        "sector",
        "organisation",
        "province",
        "gender_identity",
        "age_band",
    ),
    "session": ("id", "status", "starts_at", "topic_id", "series_id", "audience"),
    "topic": ("id", "code"),
    "session_facilitator": None,
}

_SQLITE_COUNT = "UPDATE reach_change SET weight = weight + 1 WHERE id = 1"
_POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION reach_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN INSERT INTO reach_change (weight) VALUES (1); RETURN NULL; END $$"
)


def _sqlite_statements() -> list[str]:
    statements = ["INSERT INTO reach_change (id, weight) VALUES (1, 0)"]
    for table, columns in WATCHED.items():
        update = "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"
        for event, name in (("INSERT", "insert"), (update, "update"), ("DELETE", "delete")):
            statements.append(
                f'CREATE TRIGGER reach_change_{table}_{name} AFTER {event} ON "{table}" '
                f"FOR EACH ROW BEGIN {_SQLITE_COUNT}; END"
            )
    return statements


def _postgres_statements() -> list[str]:
    statements = [_POSTGRES_FUNCTION]
    for table, columns in WATCHED.items():
        update = "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"
        statements.append(
            f'CREATE TRIGGER reach_change AFTER INSERT OR {update} OR DELETE OR TRUNCATE '
            f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION reach_changed()'
        )
    return statements


async def _count_changes(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    for statement in _sqlite_statements() if sqlite else _postgres_statements():
        await client.execute_script(statement)


async def _stop_counting(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        for table in WATCHED:
            for name in ("insert", "update", "delete"):
                await client.execute_script(f"DROP TRIGGER IF EXISTS reach_change_{table}_{name}")
        return
    for table in WATCHED:
        await client.execute_script(f'DROP TRIGGER IF EXISTS reach_change ON "{table}"')
    await client.execute_script("DROP FUNCTION IF EXISTS reach_changed()")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_indicators"),
        ("attendees", "0011_reach_key_indexes"),
        ("events", "0005_session_sequence"),
    ]

    initial = False

    operations = [
        ops.CreateModel(
            name="ReachChange",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("weight", fields.BigIntField(default=1, db_default=1)),
            ],
            options={
                "table": "reach_change",
                "app": "reports",
                "pk_attr": "id",
                "table_description": "How many times the data the reach report reads has "
                "changed, for its cache.",
            },
            bases=["Model"],
        ),
        ops.RunPython(_count_changes, reverse_code=_stop_counting),
    ]
