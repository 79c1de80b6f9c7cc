"""Indicators: what an admin promised partners to reach, with a baseline and a target per period.

An indicator counts people, by one of two definitions (:class:`IndicatorKind`); its actual
figure per period is computed from what happened whenever it is shown
(``reports/indicators.py``), so nothing stored can drift from the registrations.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from sala.i18n import N_, gettext, pick
from sala.models import StaffUser

NAME_MAX = 200
DESCRIPTION_MAX = 2000
# "2026" (a year) or "2026-Q1" (a quarter): see reports.indicators.parse_period.
PERIOD_MAX = 7


class IndicatorKind(StrEnum):
    ATTENDED_TOPICS = "attended_topics"
    COMPLETED_CURRICULUM = "completed_curriculum"

    @property
    def label(self) -> str:
        return gettext(_KIND_LABELS[self])


_KIND_LABELS = {
    IndicatorKind.ATTENDED_TOPICS: N_("Attended at least one session of these topics"),
    IndicatorKind.COMPLETED_CURRICULUM: N_("Completed the curriculum"),
}


class Indicator(Model):
    id = fields.IntField(primary_key=True)
    name_km = fields.CharField(max_length=NAME_MAX, default="")
    name_en = fields.CharField(max_length=NAME_MAX, default="")
    description = fields.TextField(default="")
    kind = fields.CharEnumField(IndicatorKind, max_length=30)
    # For ATTENDED_TOPICS: the topics a session must be of.
    topics: fields.ManyToManyRelation = fields.ManyToManyField(
        "events.Topic", related_name="indicators", through="indicator_topic"
    )
    # For COMPLETED_CURRICULUM: the curriculum to complete.
    curriculum: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "curricula.Curriculum", related_name="indicators", null=True, on_delete=fields.RESTRICT
    )
    by_sector = fields.BooleanField(default=False)
    created_by: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "sala.StaffUser", related_name="indicators", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    archived_at = fields.DatetimeField(null=True)

    targets: fields.ReverseRelation[IndicatorTarget]

    class Meta:
        table = "indicator"
        ordering = ["id"]

    @property
    def name(self) -> str:
        return pick(self.name_km, self.name_en)


class IndicatorTarget(Model):
    """The baseline and the target of one period: a year ("2026") or a quarter ("2026-Q1")."""

    id = fields.IntField(primary_key=True)
    indicator: fields.ForeignKeyRelation[Indicator] = fields.ForeignKeyField(
        "reports.Indicator", related_name="targets", on_delete=fields.CASCADE
    )
    period = fields.CharField(max_length=PERIOD_MAX)
    baseline = fields.IntField(default=0)
    target = fields.IntField()

    class Meta:
        table = "indicator_target"
        unique_together = (("indicator", "period"),)
        ordering = ["period", "id"]


class ReachChange(Model):
    """How many times the data the reach report reads has changed, for its cache.

    Nothing in Python writes here: triggers on ``registration``, ``session``, ``topic`` and
    ``session_facilitator`` do (``reports/migrations/0002_reach_changes.py``), so no write
    path, ORM or hand-written, can be forgotten. The sum of ``weight`` grows with every
    committed change. On SQLite one row counts; on PostgreSQL every changing statement adds
    a row (no row lock for writers to queue on) and :mod:`reports.cache` folds them together.
    """

    id = fields.IntField(primary_key=True)
    weight = fields.BigIntField(default=1, db_default=1)

    class Meta:
        table = "reach_change"
