from tortoise import migrations
from tortoise.migrations import operations as ops
from certificates.models import CertificateStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('attendees', '0003_checkin'), ('events', '0001_initial'), ('events', '0002_seed_topics'), ('sala', '0001_initial'), ('sala', '0002_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CertificateImage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=20)),
                ('content_type', fields.CharField(max_length=20)),
                ('data', fields.BinaryField()),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'certificate_image', 'app': 'attendees', 'pk_attr': 'id', 'table_description': "The organisation's logo (``logo``) and signature images (``signature-1`` … ``-3``),"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CertificateRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('events.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='certificate_runs', on_delete=OnDelete.CASCADE)),
                ('requested_by', fields.ForeignKeyField('sala.StaffUser', source_field='requested_by_id', null=True, db_constraint=True, to_field='id', related_name='certificate_runs', on_delete=OnDelete.SET_NULL)),
                ('total', fields.IntField(default=0)),
                ('done', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'certificate_run', 'app': 'attendees', 'pk_attr': 'id', 'table_description': 'One "issue certificates" order for a session.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Certificate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=20)),
                ('registration', fields.ForeignKeyField('attendees.Registration', source_field='registration_id', null=True, db_constraint=True, to_field='id', related_name='certificates', on_delete=OnDelete.SET_NULL)),
                ('session', fields.ForeignKeyField('events.Session', source_field='session_id', null=True, db_constraint=True, to_field='id', related_name='certificates', on_delete=OnDelete.SET_NULL)),
                ('valid_for_registration', fields.IntField(null=True, unique=True)),
                ('run', fields.ForeignKeyField('attendees.CertificateRun', source_field='run_id', null=True, db_constraint=True, to_field='id', related_name='certificates', on_delete=OnDelete.SET_NULL)),
                ('holder_name', fields.CharField(max_length=120)),
                ('language', fields.CharField(default='km', max_length=2)),
                ('title_km', fields.CharField(default='', max_length=200)),
                ('title_en', fields.CharField(default='', max_length=200)),
                ('topic_code', fields.CharField(default='', max_length=40)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('timezone', fields.CharField(default='Asia/Phnom_Penh', max_length=64)),
                ('place', fields.CharField(default='', max_length=200)),
                ('status', fields.CharEnumField(default=CertificateStatus.VALID, description='VALID: valid\nREVOKED: revoked', enum_type=CertificateStatus, max_length=10)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('issued_by', fields.ForeignKeyField('sala.StaffUser', source_field='issued_by_id', null=True, db_constraint=True, to_field='id', related_name='issued_certificates', on_delete=OnDelete.SET_NULL)),
                ('rendered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.CharField(default='', max_length=300)),
                ('revoked_by', fields.ForeignKeyField('sala.StaffUser', source_field='revoked_by_id', null=True, db_constraint=True, to_field='id', related_name='revoked_certificates', on_delete=OnDelete.SET_NULL)),
                ('replaced_by', fields.ForeignKeyField('attendees.Certificate', source_field='replaced_by_id', null=True, db_constraint=True, to_field='id', related_name='replaces', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'certificate', 'app': 'attendees', 'pk_attr': 'id', 'table_description': 'A certificate of attendance: one valid certificate per registration at most.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CertificateSignatory',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('position', fields.IntField(unique=True)),
                ('name', fields.CharField(max_length=120)),
                ('role', fields.CharField(max_length=120)),
            ],
            options={'table': 'certificate_signatory', 'app': 'attendees', 'pk_attr': 'id', 'table_description': 'Up to three people who sign every certificate (positions 1 to 3).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CertificateWording',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('events.Topic', source_field='topic_id', null=True, unique=True, db_constraint=True, to_field='id', related_name='certificate_wording', on_delete=OnDelete.CASCADE)),
                ('body_km', fields.CharField(max_length=500)),
                ('body_en', fields.CharField(max_length=500)),
                ('neutral_title_km', fields.CharField(max_length=200)),
                ('neutral_title_en', fields.CharField(max_length=200)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'certificate_wording', 'app': 'attendees', 'pk_attr': 'id', 'table_description': 'The words of certificates of one topic (or, with no topic, of every other topic).'},
            bases=['Model'],
        ),
    ]
