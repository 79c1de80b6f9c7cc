"""The table of "print every certificate of a session" orders (issue 13)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [
        ("attendees", "0008_repair_sqlite_registration"),
        ("events", "0004_session_times_in_utc"),
        ("sala", "0001_initial"),
        ("sala", "0002_outbox"),
    ]

    initial = False

    operations = [
        ops.CreateModel(
            name="CertificatePrint",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "session",
                    fields.ForeignKeyField(
                        "events.Session",
                        source_field="session_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="certificate_prints",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "requested_by",
                    fields.ForeignKeyField(
                        "sala.StaffUser",
                        source_field="requested_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="certificate_prints",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("file_key", fields.CharField(unique=True, max_length=64)),
                ("total", fields.IntField(default=0)),
                ("done", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("claimed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("failed", fields.BooleanField(default=False)),
            ],
            options={
                "table": "certificate_print",
                "app": "attendees",
                "pk_attr": "id",
                "table_description": 'One "print every certificate" order for a session.',
            },
            bases=["Model"],
        ),
    ]
