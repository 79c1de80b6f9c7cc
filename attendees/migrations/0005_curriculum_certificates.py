from tortoise import migrations
from tortoise.migrations import operations as ops
from certificates.models import CertificateKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('attendees', '0001_initial'), ('attendees', '0002_registration_status_index'), ('attendees', '0003_checkin'), ('attendees', '0004_certificates'), ('events', '0001_initial'), ('events', '0002_seed_topics'), ('sala', '0001_initial'), ('sala', '0002_outbox')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='Certificate',
            options={'table': 'certificate', 'app': 'attendees', 'pk_attr': 'id', 'table_description': 'A certificate of attendance: one valid certificate per registration at most (and one'},
        ),
        ops.AddField(
            model_name='Certificate',
            name='kind',
            field=fields.CharEnumField(default=CertificateKind.ATTENDANCE, description='ATTENDANCE: attendance\nCURRICULUM: curriculum', enum_type=CertificateKind, max_length=12),
        ),
        ops.AddField(
            model_name='Certificate',
            name='person',
            field=fields.ForeignKeyField('attendees.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='certificates', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Certificate',
            name='valid_for_curriculum',
            field=fields.CharField(null=True, unique=True, max_length=80),
        ),
    ]
