"""Issue 13: a session's iCalendar SEQUENCE, raised each time its time, end, venue or online
link changes, so calendars update the event they hold instead of adding a second one."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("events", "0004_session_times_in_utc")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Session", name="sequence", field=fields.IntField(default=0, db_default=0)
        ),
    ]
