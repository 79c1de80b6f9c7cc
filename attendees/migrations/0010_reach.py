from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('attendees', '0009_certificate_print'), ('events', '0005_session_sequence'), ('sala', '0003_staff_security')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Person',
            name='reach_key',
            field=fields.CharField(default='', db_index=True, db_default='', max_length=32),
        ),
        ops.AddField(
            model_name='Registration',
            name='age_band',
            field=fields.CharField(default='', db_default='', max_length=10),
        ),
        ops.AddField(
            model_name='Registration',
            name='gender_identity',
            field=fields.CharField(default='', db_default='', max_length=20),
        ),
        ops.AddField(
            model_name='Registration',
            name='gender_identity_text',
            field=fields.CharField(default='', db_default='', max_length=60),
        ),
        ops.AddField(
            model_name='Registration',
            name='province',
            field=fields.CharField(default='', db_default='', max_length=20),
        ),
        ops.AddField(
            model_name='Registration',
            name='reach_key',
            field=fields.CharField(default='', db_index=True, db_default='', max_length=32),
        ),
        # Every person so far gets a key of their own, and every registration the key of the
        # person holding its contact (else its own person's; an anonymised one a key of its
        # own). New keys are random (attendees/registration.py); these only need be distinct.
        ops.RunSQL(
            [
                "UPDATE person SET reach_key = 'p' || CAST(id AS TEXT) WHERE reach_key = ''",
                "UPDATE registration SET reach_key = COALESCE("
                "(SELECT p.reach_key FROM person p WHERE registration.email <> '' "
                "AND p.email = registration.email), "
                "(SELECT p.reach_key FROM person p WHERE registration.phone <> '' "
                "AND p.phone = registration.phone), "
                "(SELECT p.reach_key FROM person p WHERE p.id = registration.person_id), "
                "'r' || CAST(registration.id AS TEXT)) WHERE reach_key = ''",
                "UPDATE person SET reach_key = (SELECT MIN(r.reach_key) FROM registration r "
                "WHERE r.person_id = person.id) WHERE email IS NULL AND phone IS NULL "
                "AND EXISTS (SELECT 1 FROM registration r WHERE r.person_id = person.id)",
            ],
            reverse_sql=[],
        ),
    ]
