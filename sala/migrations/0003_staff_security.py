from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('sala', '0001_initial'), ('sala', '0002_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('sala.StaffUser', source_field='user_id', db_constraint=True, to_field='id', related_name='recovery_codes', on_delete=OnDelete.CASCADE)),
                ('code_hash', fields.CharField(max_length=64)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_recovery_code', 'app': 'sala', 'pk_attr': 'id', 'table_description': 'A one-time code that signs in instead of the authenticator app (a lost phone).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SecurityPolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('admins_need_two_factor', fields.BooleanField(default=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'security_policy', 'app': 'sala', 'pk_attr': 'id', 'table_description': "The installation's staff security rules, set by admins: one row (id 1)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffLogin',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('sala.StaffUser', source_field='user_id', db_constraint=True, to_field='id', related_name='logins', on_delete=OnDelete.CASCADE)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('device', fields.CharField(default='', max_length=60)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_login', 'app': 'sala', 'pk_attr': 'id', 'table_description': "One browser's login (sala/logins.py). The cookie holds its id and a key whose SHA-256 is"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='StaffUser',
            name='totp_enabled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='StaffUser',
            name='totp_last_step',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='StaffUser',
            name='totp_secret',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
