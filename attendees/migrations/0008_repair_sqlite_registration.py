"""Repair what 0006 did to SQLite databases (found in issue 12).

On SQLite, 0006's field changes made Tortoise rebuild the ``registration`` table (a new
table, copy, drop the old, rename). With foreign keys on, dropping the old table set every
``certificate.registration_id`` to NULL, and the new table lacked the unique rule (one
registration per person and session) and the indexes on ``status`` and
``(session_id, status)``. PostgreSQL altered the table in place and lost nothing; there the
relinking below finds nothing to do.

Certificates get their registration back from what they still hold: a valid certificate
names it in ``valid_for_registration``; a revoked one that was reissued shares it with its
replacement; any other revoked one, from the one registration of its session with the name
printed on it (left unlinked when none or several match). The unique rule is made only when
no person holds two registrations for one session (none should; the indexes are made anyway).
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_RELINK = (
    # A valid certificate still names its registration.
    "UPDATE certificate SET registration_id = valid_for_registration "
    "WHERE registration_id IS NULL AND valid_for_registration IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM registration r WHERE r.id = certificate.valid_for_registration)",
)
# A reissued one: its replacement's registration (repeated, for chains of reissues).
_BY_REPLACEMENT = (
    "UPDATE certificate SET registration_id = (SELECT n.registration_id FROM certificate n "
    "WHERE n.id = certificate.replaced_by_id) "
    "WHERE registration_id IS NULL AND kind = 'attendance' AND replaced_by_id IS NOT NULL "
    "AND (SELECT n.registration_id FROM certificate n "
    "WHERE n.id = certificate.replaced_by_id) IS NOT NULL"
)
# Any other: the one registration of its session with the name it carries.
_BY_NAME = (
    "UPDATE certificate SET registration_id = (SELECT r.id FROM registration r "
    "WHERE r.session_id = certificate.session_id AND r.chosen_name = certificate.holder_name) "
    "WHERE registration_id IS NULL AND kind = 'attendance' AND session_id IS NOT NULL "
    "AND holder_name <> '' AND (SELECT COUNT(*) FROM registration r "
    "WHERE r.session_id = certificate.session_id AND r.chosen_name = certificate.holder_name) = 1"
)
_DUPLICATES = (
    "SELECT 1 FROM registration WHERE person_id IS NOT NULL "
    "GROUP BY session_id, person_id HAVING COUNT(*) > 1 LIMIT 1"
)
_INDEXES = (
    'CREATE INDEX IF NOT EXISTS "idx_registratio_status_sala08" ON "registration" ("status")',
    'CREATE INDEX IF NOT EXISTS "idx_registratio_session_sala08" '
    'ON "registration" ("session_id", "status")',
)
_UNIQUE = (
    'CREATE UNIQUE INDEX IF NOT EXISTS "uid_registratio_session_person_sala08" '
    'ON "registration" ("session_id", "person_id")'
)


async def _repair(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    for statement in _RELINK:
        await client.execute_query(statement)
    for _ in range(10):
        changed, _rows = await client.execute_query(_BY_REPLACEMENT)
        if not changed:
            break
    await client.execute_query(_BY_NAME)
    if client.capabilities.dialect != "sqlite":
        return
    for statement in _INDEXES:
        await client.execute_query(statement)
    _count, duplicates = await client.execute_query(_DUPLICATES)
    if not duplicates:
        await client.execute_query(_UNIQUE)


class Migration(migrations.Migration):
    dependencies = [("attendees", "0007_person_description")]

    initial = False

    operations = [ops.RunPython(_repair)]
