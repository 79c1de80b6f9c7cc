"""Privacy (issue 11): each registration keeps the contact typed for it, tickets carry a
random id, the neutral certificate copy has a code of its own."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [
        ("attendees", "0005_curriculum_certificates"),
        ("events", "0001_initial"),
        ("events", "0002_seed_topics"),
        ("sala", "0001_initial"),
        ("sala", "0002_outbox"),
    ]

    initial = False

    operations = [
        ops.AddField(
            model_name="Certificate",
            name="neutral_code",
            field=fields.CharField(null=True, unique=True, max_length=20),
        ),
        ops.AddField(
            model_name="Registration",
            name="email",
            field=fields.CharField(null=True, default="", max_length=254),
        ),
        ops.AddField(
            model_name="Registration",
            name="phone",
            field=fields.CharField(null=True, default="", max_length=20),
        ),
        ops.AddField(
            model_name="Registration",
            name="ticket_id",
            field=fields.CharField(null=True, unique=True, max_length=32),
        ),
        # Until now a registration's contact was its person's: copy it, so staff keep seeing it.
        ops.RunSQL(
            [
                "UPDATE registration SET "
                "email = COALESCE((SELECT p.email FROM person p "
                "WHERE p.id = registration.person_id), ''), "
                "phone = COALESCE((SELECT p.phone FROM person p "
                "WHERE p.id = registration.person_id), '')"
            ],
            reverse_sql=[],
        ),
        # Added nullable, filled, then made NOT NULL: rows from before have no value to add.
        ops.AlterField(
            model_name="Registration",
            name="email",
            field=fields.CharField(default="", max_length=254),
        ),
        ops.AlterField(
            model_name="Registration",
            name="phone",
            field=fields.CharField(default="", max_length=20),
        ),
    ]
