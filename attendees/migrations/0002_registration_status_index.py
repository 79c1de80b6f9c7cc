from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('attendees', '0001_initial'), ('events', '0001_initial'), ('events', '0002_seed_topics'), ('sala', '0002_outbox')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['session_id', 'status']),
        ),
    ]
