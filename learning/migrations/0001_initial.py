from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from learning.models import MaterialAudience, Phase, QuestionKind
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('attendees', '0001_initial'), ('attendees', '0002_registration_status_index'), ('attendees', '0003_checkin'), ('attendees', '0004_certificates'), ('attendees', '0005_curriculum_certificates'), ('attendees', '0006_privacy'), ('attendees', '0007_person_description'), ('attendees', '0008_repair_sqlite_registration'), ('attendees', '0009_certificate_print'), ('attendees', '0010_reach'), ('attendees', '0011_reach_key_indexes'), ('events', '0001_initial'), ('events', '0002_seed_topics'), ('events', '0003_session_slug'), ('events', '0004_session_times_in_utc'), ('events', '0005_session_sequence'), ('sala', '0001_initial'), ('sala', '0002_outbox'), ('sala', '0003_staff_security')]

    initial = True

    operations = [
        ops.CreateModel(
            name='FeedbackQuestion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('text_km', fields.CharField(default='', max_length=500)),
                ('text_en', fields.CharField(default='', max_length=500)),
                ('position', fields.SmallIntField(default=0)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'learning_feedback_question', 'app': 'learning', 'pk_attr': 'id', 'table_description': 'A question an admin adds to the feedback form of every session.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FeedbackReceipt',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('registration', fields.OneToOneField('attendees.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='feedback_receipt', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'learning_feedback_receipt', 'app': 'learning', 'pk_attr': 'id', 'table_description': 'That a registration has given its feedback: nothing more (no time, no answer).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FeedbackResponse',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('events.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='feedback', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('rating', fields.SmallIntField()),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'learning_feedback', 'app': 'learning', 'pk_attr': 'id', 'table_description': 'One anonymous answer: no person, no registration, the day only, a random key.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LearningTest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('events.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name='learning_tests', on_delete=OnDelete.RESTRICT)),
                ('name_km', fields.CharField(default='', max_length=200)),
                ('name_en', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'learning_test', 'app': 'learning', 'pk_attr': 'id', 'table_description': 'A test: questions of the bank of one topic, in order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Attempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('registration', fields.ForeignKeyField('attendees.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='attempts', on_delete=OnDelete.CASCADE)),
                ('session', fields.ForeignKeyField('events.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='attempts', on_delete=OnDelete.CASCADE)),
                ('phase', fields.CharEnumField(description='PRE: pre\nPOST: post', enum_type=Phase, max_length=4)),
                ('test', fields.ForeignKeyField('learning.LearningTest', source_field='test_id', db_constraint=True, to_field='id', related_name='attempts', on_delete=OnDelete.RESTRICT)),
                ('score', fields.SmallIntField()),
                ('max_score', fields.SmallIntField()),
                ('submitted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'learning_attempt', 'app': 'learning', 'unique_together': (('registration', 'phase'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Material',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('events.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='materials', on_delete=OnDelete.CASCADE)),
                ('title_km', fields.CharField(default='', max_length=200)),
                ('title_en', fields.CharField(default='', max_length=200)),
                ('link_url', fields.CharField(default='', max_length=1000)),
                ('file_name', fields.CharField(default='', max_length=200)),
                ('stored_name', fields.CharField(default='', max_length=64)),
                ('content_type', fields.CharField(default='', max_length=100)),
                ('size', fields.IntField(default=0)),
                ('audience', fields.CharEnumField(description='CONFIRMED: confirmed\nCHECKED_IN: checked_in\nPUBLIC: public', enum_type=MaterialAudience, max_length=12)),
                ('public_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('position', fields.SmallIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('created_by', fields.ForeignKeyField('sala.StaffUser', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='materials', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'learning_material', 'app': 'learning', 'pk_attr': 'id', 'table_description': 'A file (stored under <data dir>/learning/materials by a random name) or a link.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Question',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('events.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(default=QuestionKind.SINGLE, description='SINGLE: single\nMULTIPLE: multiple', enum_type=QuestionKind, max_length=10)),
                ('text_km', fields.TextField(default='', unique=False)),
                ('text_en', fields.TextField(default='', unique=False)),
                ('image_name', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'learning_question', 'app': 'learning', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AttemptAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('attempt', fields.ForeignKeyField('learning.Attempt', source_field='attempt_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('question', fields.ForeignKeyField('learning.Question', source_field='question_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.RESTRICT)),
                ('chosen', fields.CharField(default='', max_length=200)),
                ('correct', fields.BooleanField()),
            ],
            options={'table': 'learning_answer', 'app': 'learning', 'unique_together': (('attempt', 'question'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Choice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('question', fields.ForeignKeyField('learning.Question', source_field='question_id', db_constraint=True, to_field='id', related_name='choices', on_delete=OnDelete.CASCADE)),
                ('text_km', fields.CharField(default='', max_length=500)),
                ('text_en', fields.CharField(default='', max_length=500)),
                ('correct', fields.BooleanField(default=False)),
                ('position', fields.SmallIntField(default=0)),
            ],
            options={'table': 'learning_choice', 'app': 'learning', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SessionEvaluation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.OneToOneField('events.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='evaluation', on_delete=OnDelete.CASCADE)),
                ('pre_test', fields.ForeignKeyField('learning.LearningTest', source_field='pre_test_id', null=True, db_constraint=True, to_field='id', related_name='pre_of', on_delete=OnDelete.RESTRICT)),
                ('post_test', fields.ForeignKeyField('learning.LearningTest', source_field='post_test_id', null=True, db_constraint=True, to_field='id', related_name='post_of', on_delete=OnDelete.RESTRICT)),
                ('post_opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'learning_session', 'app': 'learning', 'pk_attr': 'id', 'table_description': 'The tests of a session: the post-test opens when the session ends, or when staff open it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TestQuestion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('test', fields.ForeignKeyField('learning.LearningTest', source_field='test_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.CASCADE)),
                ('question', fields.ForeignKeyField('learning.Question', source_field='question_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('position', fields.SmallIntField(default=0)),
            ],
            options={'table': 'learning_test_question', 'app': 'learning', 'unique_together': (('test', 'question'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
