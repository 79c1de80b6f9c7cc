from tortoise import migrations
from tortoise.migrations import operations as ops
from events.models import Audience, SessionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True
    dependencies = [("sala", "0001_initial")]

    operations = [
        ops.CreateModel(
            name='Topic',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=40)),
                ('name_en', fields.CharField(max_length=120)),
                ('name_km', fields.CharField(max_length=120)),
                ('position', fields.IntField(default=0)),
                ('is_active', fields.BooleanField(default=True)),
            ],
            options={'table': 'topic', 'app': 'events', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Series',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('events.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name='series', on_delete=OnDelete.RESTRICT)),
                ('title_en', fields.CharField(default='', max_length=200)),
                ('title_km', fields.CharField(default='', max_length=200)),
                ('rrule', fields.CharField(max_length=500)),
                ('first_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('duration_minutes', fields.IntField()),
                ('months', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'series', 'app': 'events', 'pk_attr': 'id', 'table_description': 'A monthly rule (RFC 5545 RRULE) that generated a set of sessions.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('events.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.RESTRICT)),
                ('series', fields.ForeignKeyField('events.Series', source_field='series_id', null=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.SET_NULL)),
                ('title_en', fields.CharField(default='', max_length=200)),
                ('title_km', fields.CharField(default='', max_length=200)),
                ('description_en', fields.TextField(default='', unique=False)),
                ('description_km', fields.TextField(default='', unique=False)),
                ('starts_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('timezone', fields.CharField(default='Asia/Phnom_Penh', max_length=64)),
                ('venue_name', fields.CharField(default='', max_length=200)),
                ('venue_address', fields.CharField(default='', max_length=500)),
                ('venue_map_url', fields.CharField(default='', max_length=500)),
                ('online_url', fields.CharField(default='', max_length=500)),
                ('capacity', fields.IntField()),
                ('confirmed_count', fields.IntField(default=0)),
                ('audience', fields.CharEnumField(default=Audience.PUBLIC, description='PUBLIC: public\nINVITE_ONLY: invite_only', enum_type=Audience, max_length=20)),
                ('status', fields.CharEnumField(default=SessionStatus.DRAFT, description='DRAFT: draft\nPUBLISHED: published\nCANCELLED: cancelled', enum_type=SessionStatus, max_length=20)),
                ('registration_opens_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('registration_closes_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('facilitators', fields.ManyToManyField('sala.StaffUser', unique=True, db_constraint=True, through='session_facilitator', forward_key='staffuser_id', backward_key='session_id', related_name='facilitated_sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'session', 'app': 'events', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
