"""The indexes on ``reach_key`` that the models declare (``db_index=True``) and 0010 did not
make: Tortoise's ``AddField`` ignores ``db_index`` on both databases.

Without the one on ``registration`` the reach report's first-time/returning breakdown, a
correlated subquery by ``reach_key`` per registration, read the whole table once per row:
with 100,000 registrations it had not finished after 13 minutes on SQLite; with the index it
takes about half a second (bench/reports.py). The names are the ones Tortoise gives such an
index, so a later rebuild of either table makes the same one. No state change: the state
already has ``db_index=True``.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("attendees", "0010_reach")]

    initial = False

    operations = [
        ops.RunSQL(
            [
                'CREATE INDEX IF NOT EXISTS "idx_registratio_reach_k_087597" '
                'ON "registration" ("reach_key")',
                'CREATE INDEX IF NOT EXISTS "idx_person_reach_k_d007f5" ON "person" ("reach_key")',
            ],
            reverse_sql=[
                'DROP INDEX IF EXISTS "idx_registratio_reach_k_087597"',
                'DROP INDEX IF EXISTS "idx_person_reach_k_d007f5"',
            ],
        ),
    ]
