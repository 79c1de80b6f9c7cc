from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from sala.models import OutboxStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('sala', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_id', fields.CharField(unique=True, max_length=200)),
                ('kind', fields.CharField(max_length=80)),
                ('to_address', fields.CharField(max_length=254)),
                ('language', fields.CharField(default='km', max_length=2)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed', enum_type=OutboxStatus, max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_message', 'app': 'sala', 'pk_attr': 'id', 'table_description': 'An email to send. Written in the transaction of the change that caused it.'},
            bases=['Model'],
        ),
    ]
