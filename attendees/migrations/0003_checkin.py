from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('attendees', '0002_registration_status_index'), ('events', '0001_initial'), ('events', '0002_seed_topics'), ('sala', '0001_initial'), ('sala', '0002_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CheckinScan',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scan_id', fields.CharField(unique=True, max_length=64)),
                ('session_id', fields.IntField(db_index=True)),
                ('registration_id', fields.IntField(null=True)),
                ('staff', fields.ForeignKeyField('sala.StaffUser', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name='scans', on_delete=OnDelete.SET_NULL)),
                ('device_id', fields.CharField(default='', max_length=64)),
                ('scanned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('result', fields.CharField(max_length=20)),
                ('answer', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'checkin_scan', 'app': 'attendees', 'pk_attr': 'id', 'table_description': "Every scan a facilitator's device sent, once per ``scan_id`` (made by the device)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Registration',
            name='checked_in_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Registration',
            name='checked_in_by',
            field=fields.ForeignKeyField('sala.StaffUser', source_field='checked_in_by_id', null=True, db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Registration',
            name='checked_in_device',
            field=fields.CharField(default='', max_length=64),
        ),
    ]
