from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('attendees', '0001_initial'), ('attendees', '0002_registration_status_index'), ('attendees', '0003_checkin'), ('attendees', '0004_certificates'), ('attendees', '0005_curriculum_certificates'), ('attendees', '0006_privacy'), ('events', '0003_session_slug'), ('sala', '0001_initial'), ('sala', '0002_outbox')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='Person',
            options={'table': 'person', 'app': 'attendees', 'pk_attr': 'id', 'table_description': 'One human across sessions: the holder of an email (or, without one, a phone).'},
        ),
    ]
