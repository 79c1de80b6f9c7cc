from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('attendees', '0004_certificates'), ('events', '0001_initial'), ('events', '0002_seed_topics'), ('sala', '0001_initial'), ('sala', '0002_outbox')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Curriculum',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=40)),
                ('name_km', fields.CharField(max_length=200)),
                ('name_en', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'curriculum', 'app': 'curricula', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Module',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('curriculum', fields.ForeignKeyField('curricula.Curriculum', source_field='curriculum_id', db_constraint=True, to_field='id', related_name='modules', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField(default=0)),
                ('name_km', fields.CharField(max_length=200)),
                ('name_en', fields.CharField(max_length=200)),
                ('topics', fields.ManyToManyField('events.Topic', unique=True, db_constraint=True, through='module_topic', forward_key='topic_id', backward_key='module_id', related_name='modules', on_delete=OnDelete.CASCADE)),
                ('prerequisites', fields.ManyToManyField('curricula.Module', unique=True, db_constraint=True, through='module_prerequisite', forward_key='prerequisite_id', backward_key='module_id', related_name='required_by', on_delete=OnDelete.CASCADE)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'module', 'app': 'curricula', 'pk_attr': 'id', 'table_description': 'One step of a curriculum, completed by attending a session of one of its topics or'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ManualCompletion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('attendees.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='manual_completions', on_delete=OnDelete.CASCADE)),
                ('module', fields.ForeignKeyField('curricula.Module', source_field='module_id', db_constraint=True, to_field='id', related_name='manual_completions', on_delete=OnDelete.RESTRICT)),
                ('completed_on', fields.DateField()),
                ('note', fields.CharField(default='', max_length=300)),
                ('marked_by', fields.ForeignKeyField('sala.StaffUser', source_field='marked_by_id', null=True, db_constraint=True, to_field='id', related_name='manual_marks', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'manual_completion', 'app': 'curricula', 'unique_together': (('person', 'module'),), 'pk_attr': 'id', 'table_description': 'A module done elsewhere ("done at a partner NGO"), marked by a team leader.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Team',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=120)),
                ('curriculum', fields.ForeignKeyField('curricula.Curriculum', source_field='curriculum_id', db_constraint=True, to_field='id', related_name='teams', on_delete=OnDelete.RESTRICT)),
                ('leaders', fields.ManyToManyField('sala.StaffUser', unique=True, db_constraint=True, through='team_leader', forward_key='staffuser_id', backward_key='team_id', related_name='led_teams', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'team', 'app': 'curricula', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TeamMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('team', fields.ForeignKeyField('curricula.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('attendees.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='team_memberships', on_delete=OnDelete.CASCADE)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('added_by', fields.ForeignKeyField('sala.StaffUser', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name='added_members', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'team_member', 'app': 'curricula', 'unique_together': (('team', 'person'),), 'pk_attr': 'id', 'table_description': 'A person in a team. When the person deletes their data, the membership goes too.'},
            bases=['Model'],
        ),
    ]
