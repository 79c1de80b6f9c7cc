from tortoise import migrations
from tortoise.migrations import operations as ops
from attendees.models import InvitationKind, RegistrationSource, RegistrationStatus, Sector
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0002_seed_topics'), ('sala', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('events.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='PERSONAL: personal\nORGANISATION: organisation', enum_type=InvitationKind, max_length=20)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('email', fields.CharField(default='', max_length=254)),
                ('organisation', fields.CharField(default='', max_length=200)),
                ('seats', fields.IntField()),
                ('used', fields.IntField(default=0)),
                ('created_by', fields.ForeignKeyField('sala.StaffUser', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invitation', 'app': 'attendees', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(null=True, unique=True, max_length=254)),
                ('phone', fields.CharField(null=True, unique=True, max_length=20)),
                ('chosen_name', fields.CharField(max_length=120)),
                ('pronouns', fields.CharField(default='', max_length=40)),
                ('language', fields.CharField(default='km', max_length=2)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'person', 'app': 'attendees', 'pk_attr': 'id', 'table_description': 'One human across sessions, matched on normalised email, else phone.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('events.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('attendees.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.SET_NULL)),
                ('chosen_name', fields.CharField(max_length=120)),
                ('pronouns', fields.CharField(default='', max_length=40)),
                ('sector', fields.CharEnumField(description='STUDENT: student\nNGO: ngo\nGOVERNMENT: government\nPRIVATE: private\nMEDIA: media\nCOMMUNITY: community\nOTHER: other', enum_type=Sector, max_length=20)),
                ('organisation', fields.CharField(default='', max_length=200)),
                ('language', fields.CharField(default='km', max_length=2)),
                ('accessibility_needs', fields.CharField(default='', max_length=500)),
                ('status', fields.CharEnumField(db_index=True, description='CONFIRMED: confirmed\nWAITLISTED: waitlisted\nCANCELLED: cancelled', enum_type=RegistrationStatus, max_length=20)),
                ('source', fields.CharEnumField(default=RegistrationSource.FORM, description='FORM: form\nAPI: api\nSTAFF: staff\nWALK_IN: walk_in', enum_type=RegistrationSource, max_length=20)),
                ('invitation', fields.ForeignKeyField('attendees.Invitation', source_field='invitation_id', null=True, db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.SET_NULL)),
                ('manage_key', fields.CharField(max_length=32)),
                ('ticket_seed', fields.BigIntField()),
                ('consent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('waitlisted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_by', fields.ForeignKeyField('sala.StaffUser', source_field='cancelled_by_id', null=True, db_constraint=True, to_field='id', related_name='cancelled_registrations', on_delete=OnDelete.SET_NULL)),
                ('reminder_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('anonymised_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registration', 'app': 'attendees', 'unique_together': (('session', 'person'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
