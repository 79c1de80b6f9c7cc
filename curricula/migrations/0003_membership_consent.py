"""Membership by consent (issue 11): a team member is a request until the person confirms.

Rows made before this change were added without the person's consent: they become pending
(``confirmed_at`` stays empty), so their progress disappears from the team until the person
says yes. No email is sent from here (a migration runs offline, perhaps long before the mail
server is set): the team page's "Ask pending people again" emails each pending person with
an email on file a link to say yes or no. Each old row is labelled with the name the leader
saw when adding it.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint


class RemoveUniqueOutsideSqlite(ops.RemoveConstraint):
    """SQLite keeps a unique_together inside CREATE TABLE and cannot drop it alone: there the
    table is remade by the AlterField below, without it. Elsewhere it is dropped here."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):  # type: ignore[no-untyped-def]
        if state_editor is not None and state_editor.DIALECT == "sqlite":
            return
        await super().database_forward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("attendees", "0006_privacy"),
        ("curricula", "0002_seed_team_building"),
        ("events", "0001_initial"),
        ("events", "0002_seed_topics"),
        ("sala", "0001_initial"),
        ("sala", "0002_outbox"),
    ]

    initial = False

    operations = [
        RemoveUniqueOutsideSqlite(
            model_name="TeamMember",
            name=None,
            fields=["team", "person"],
        ),
        ops.AlterModelOptions(
            name="TeamMember",
            options={
                "table": "team_member",
                "app": "curricula",
                "unique_together": (("team", "invited_contact"),),
                "pk_attr": "id",
                "table_description": (
                    "A request to join a team and, once the person says yes, their membership."
                ),
            },
        ),
        ops.AlterField(
            model_name="TeamMember",
            name="person",
            field=fields.ForeignKeyField(
                "attendees.Person",
                source_field="person_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="team_memberships",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="TeamMember",
            name="confirmed_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="TeamMember",
            name="declined_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Nullable first, filled below, then NOT NULL: existing rows need a value.
        ops.AddField(
            model_name="TeamMember",
            name="invited_as",
            field=fields.CharField(null=True, default="", max_length=254),
        ),
        ops.AddField(
            model_name="TeamMember",
            name="invited_contact",
            field=fields.CharField(null=True, max_length=254),
        ),
        ops.AddField(
            model_name="TeamMember",
            name="join_key",
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name="TeamMember",
            name="requested_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL(
            [
                "UPDATE team_member SET invited_as = COALESCE((SELECT p.chosen_name "
                "FROM person p WHERE p.id = team_member.person_id), '')"
            ],
            reverse_sql=[],
        ),
        ops.AlterField(
            model_name="TeamMember",
            name="invited_as",
            field=fields.CharField(default="", max_length=254),
        ),
        # Last: on SQLite every AlterField above remakes the table, dropping its indexes.
        ops.AddConstraint(
            model_name="TeamMember",
            constraint=UniqueConstraint(fields=("team", "invited_contact"), name=None),
        ),
    ]
