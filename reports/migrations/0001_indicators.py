from tortoise import migrations
from tortoise.migrations import operations as ops
from reports.models import IndicatorKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('curricula', '0003_membership_consent'), ('events', '0001_initial'), ('events', '0002_seed_topics'), ('events', '0003_session_slug'), ('events', '0004_session_times_in_utc'), ('events', '0005_session_sequence'), ('sala', '0001_initial'), ('sala', '0002_outbox'), ('sala', '0003_staff_security')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Indicator',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name_km', fields.CharField(default='', max_length=200)),
                ('name_en', fields.CharField(default='', max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('kind', fields.CharEnumField(description='ATTENDED_TOPICS: attended_topics\nCOMPLETED_CURRICULUM: completed_curriculum', enum_type=IndicatorKind, max_length=30)),
                ('topics', fields.ManyToManyField('events.Topic', unique=True, db_constraint=True, through='indicator_topic', forward_key='topic_id', backward_key='indicator_id', related_name='indicators', on_delete=OnDelete.CASCADE)),
                ('curriculum', fields.ForeignKeyField('curricula.Curriculum', source_field='curriculum_id', null=True, db_constraint=True, to_field='id', related_name='indicators', on_delete=OnDelete.RESTRICT)),
                ('by_sector', fields.BooleanField(default=False)),
                ('created_by', fields.ForeignKeyField('sala.StaffUser', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='indicators', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'indicator', 'app': 'reports', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IndicatorTarget',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('indicator', fields.ForeignKeyField('reports.Indicator', source_field='indicator_id', db_constraint=True, to_field='id', related_name='targets', on_delete=OnDelete.CASCADE)),
                ('period', fields.CharField(max_length=7)),
                ('baseline', fields.IntField(default=0)),
                ('target', fields.IntField()),
            ],
            options={'table': 'indicator_target', 'app': 'reports', 'unique_together': (('indicator', 'period'),), 'pk_attr': 'id', 'table_description': 'The baseline and the target of one period: a year ("2026") or a quarter ("2026-Q1").'},
            bases=['Model'],
        ),
    ]
