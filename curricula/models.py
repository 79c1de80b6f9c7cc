"""Curricula (ordered modules), teams (leaders and members) and manual completion marks.

Progress is not stored: it is derived from check-ins and manual marks whenever it is shown
(``curricula/progress.py``), so attending a session counts by itself and nothing can drift.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from attendees.models import Person
from sala.i18n import pick
from sala.models import StaffUser

CURRICULUM_CODE_MAX = 40


class Curriculum(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=CURRICULUM_CODE_MAX, unique=True)
    name_km = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    modules: fields.ReverseRelation[Module]

    class Meta:
        table = "curriculum"
        ordering = ["id"]

    @property
    def name(self) -> str:
        return pick(self.name_km, self.name_en)


class Module(Model):
    """One step of a curriculum, completed by attending a session of one of its topics or
    by a team leader's manual mark.

    A module with recorded progress is archived rather than deleted, so nothing recorded is
    ever lost; an archived module no longer counts towards completion.
    """

    id = fields.IntField(primary_key=True)
    curriculum: fields.ForeignKeyRelation[Curriculum] = fields.ForeignKeyField(
        "curricula.Curriculum", related_name="modules", on_delete=fields.CASCADE
    )
    position = fields.IntField(default=0)
    name_km = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    topics: fields.ManyToManyRelation = fields.ManyToManyField(
        "events.Topic", related_name="modules", through="module_topic"
    )
    prerequisites: fields.ManyToManyRelation[Module] = fields.ManyToManyField(
        "curricula.Module",
        related_name="required_by",
        through="module_prerequisite",
        forward_key="prerequisite_id",
        backward_key="module_id",
    )
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "module"
        ordering = ["position", "id"]

    @property
    def name(self) -> str:
        return pick(self.name_km, self.name_en)


class Team(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120)
    curriculum: fields.ForeignKeyRelation[Curriculum] = fields.ForeignKeyField(
        "curricula.Curriculum", related_name="teams", on_delete=fields.RESTRICT
    )
    leaders: fields.ManyToManyRelation[StaffUser] = fields.ManyToManyField(
        "sala.StaffUser", related_name="led_teams", through="team_leader"
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    members: fields.ReverseRelation[TeamMember]

    class Meta:
        table = "team"
        ordering = ["name", "id"]


class TeamMember(Model):
    """A request to join a team and, once the person says yes, their membership.

    A team leader asks for someone by the email or phone they know, or by picking a name
    among the people checked in at their own sessions. The row stays a request (pending)
    until the person confirms through the single-use link emailed to the address on file, or
    an admin confirms after asking them in person (people without an email): only then does
    the team see their progress (``curricula/membership.py``).

    A request whose contact nobody holds, that the person declined, or that ended in another
    row's membership has no ``person``: to the leader it looks like any unanswered request,
    labelled with what they typed themselves (``invited_as``) and nothing else. When the
    person deletes their data, their rows go too.
    """

    id = fields.IntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "curricula.Team", related_name="members", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "attendees.Person", related_name="team_memberships", null=True, on_delete=fields.CASCADE
    )
    # What the leader typed (the contact, normalised) or picked (the name shown to them): all
    # that a pending row shows.
    invited_as = fields.CharField(max_length=254, default="")
    # The typed contact, normalised, so the same contact is asked once per team; null when
    # the person was picked from a list (or added before requests existed).
    invited_contact = fields.CharField(max_length=254, null=True)
    # The secret part of the single-use confirmation link; cleared once it is used.
    join_key = fields.CharField(max_length=32, null=True)
    requested_at = fields.DatetimeField(null=True)  # the last confirmation email queued
    confirmed_at = fields.DatetimeField(null=True)
    declined_at = fields.DatetimeField(null=True)
    added_at = fields.DatetimeField(auto_now_add=True)
    added_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="added_members", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "team_member"
        unique_together = (("team", "invited_contact"),)
        ordering = ["id"]

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class ManualCompletion(Model):
    """A module done elsewhere ("done at a partner NGO"), marked by a team leader."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "attendees.Person", related_name="manual_completions", on_delete=fields.CASCADE
    )
    module: fields.ForeignKeyRelation[Module] = fields.ForeignKeyField(
        "curricula.Module", related_name="manual_completions", on_delete=fields.RESTRICT
    )
    completed_on = fields.DateField()
    note = fields.CharField(max_length=300, default="")
    marked_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="manual_marks", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "manual_completion"
        unique_together = (("person", "module"),)
