"""The reach report: registrations, attendances and unique people across sessions, in SQL.

What is counted (the XLSX's "Definitions" sheet says the same in words, from
:data:`DEFINITIONS`):

- sessions: published ones (not drafts, not cancelled) starting in the period, in the
  organisation's time zone, narrowed by topic, series, facilitator and audience; for a
  facilitator only the sessions they run;
- **registrations**: those not cancelled (confirmed, or still on the waitlist) — the demand;
- **attendances**: registrations checked in at the door — who came;
- **people**: distinct persons among the attendances, by ``Registration.reach_key`` (a random
  key per person, kept by the retention purge, so past figures do not change). A person is
  counted once in every row they appear in and once in the total, so rows do not add up to
  the total.

A breakdown by organisation, province, gender identity or age band goes through
:mod:`reports.suppression` before anyone sees it. Every figure is one ``GROUP BY`` query (and
one for the total): the database does the counting, whatever the number of rows, and
:mod:`reports.cache` keeps the answers until the data changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from attendees.models import AgeBand, GenderIdentity, Province, RegistrationStatus, Sector
from events.models import SessionStatus, Topic
from reports import cache
from reports.suppression import suppress
from sala.i18n import N_, format_month, gettext, pick
from sala.models import Role, StaffUser


class Dimension(StrEnum):
    SECTOR = "sector"
    ORGANISATION = "organisation"
    PROVINCE = "province"
    MONTH = "month"
    TOPIC = "topic"
    RETURNING = "returning"
    GENDER_IDENTITY = "gender_identity"
    AGE_BAND = "age_band"

    @property
    def label(self) -> str:
        return gettext(DIMENSION_LABELS[self])

    @property
    def protected(self) -> bool:
        """Small counts of this breakdown could point at a person: they are suppressed."""
        return self in PROTECTED


DIMENSION_LABELS = {
    Dimension.SECTOR: N_("Sector"),
    Dimension.ORGANISATION: N_("Organisation"),
    Dimension.PROVINCE: N_("Province"),
    Dimension.MONTH: N_("Month"),
    Dimension.TOPIC: N_("Topic"),
    Dimension.RETURNING: N_("First time or returning"),
    Dimension.GENDER_IDENTITY: N_("Gender identity"),
    Dimension.AGE_BAND: N_("Age band"),
}
PROTECTED = frozenset(
    {Dimension.ORGANISATION, Dimension.PROVINCE, Dimension.GENDER_IDENTITY, Dimension.AGE_BAND}
)
NOT_GIVEN = N_("Not given")
OTHER_ORGANISATIONS = N_("Other organisations (each fewer than the smallest group shown)")
HIDDEN_ORGANISATIONS = "hidden"
FIRST_TIME = N_("First time")
RETURNING = N_("Returning")

# What each figure means, for the exports' definitions sheet and the page's footnote.
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        N_("Sessions"),
        N_(
            "Published sessions (not drafts, not cancelled) that start in the period, in the "
            "organisation's time zone."
        ),
    ),
    (
        N_("Registrations"),
        N_("Registrations for those sessions that were not cancelled: confirmed or waitlisted."),
    ),
    (N_("Attendances"), N_("Registrations checked in at the door.")),
    (
        N_("People"),
        N_(
            "Different people among the attendances. A person who came to several sessions "
            "counts once in each row and once in the total, so the rows do not add up to the "
            "total."
        ),
    ),
    (
        N_("First time or returning"),
        N_("Returning: the person had attended an earlier session. First time: they had not."),
    ),
    (
        N_("Fewer than %(count)s"),
        N_(
            "Where a breakdown by organisation, province, gender identity or age band would "
            "show fewer than %(count)s people, the row's figures are hidden, and one more "
            "row when the total would give the hidden one away."
        ),
    ),
)


@dataclass(frozen=True)
class Figures:
    registrations: int
    attendances: int
    people: int


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    figures: Figures | None  # None: suppressed

    @property
    def suppressed(self) -> bool:
        return self.figures is None


@dataclass(frozen=True)
class ReachQuery:
    """A period of whole months (``start`` … ``end``, both first days of a month, ``end``
    excluded; None for all time) and the filters."""

    start: date | None
    end: date | None
    by: Dimension
    topic: str | None = None
    series_id: int | None = None
    facilitator_id: int | None = None
    audience: str | None = None


@dataclass(frozen=True)
class ReachReport:
    query: ReachQuery
    total: Figures
    rows: list[Row]
    min_cell: int


# ----------------------------------------------------------------------------- SQL

_KEY_SQL: dict[Dimension, str] = {
    Dimension.SECTOR: "r.sector",
    Dimension.ORGANISATION: "LOWER(TRIM(r.organisation))",
    Dimension.PROVINCE: "r.province",
    Dimension.TOPIC: "t.code",
    Dimension.GENDER_IDENTITY: "r.gender_identity",
    Dimension.AGE_BAND: "r.age_band",
    Dimension.RETURNING: (
        "CASE WHEN EXISTS (SELECT 1 FROM registration r2 JOIN session s2 ON s2.id = r2.session_id"
        " WHERE r2.reach_key = r.reach_key AND r2.checked_in_at IS NOT NULL"
        " AND r2.status <> 'cancelled' AND s2.status = 'published'"
        " AND s2.starts_at < s.starts_at) THEN 'returning' ELSE 'first_time' END"
    ),
}
# The month of the session's start in the organisation's zone, at its offset from UTC now
# (Cambodia has no daylight saving time).
_MONTH_SQL = {
    "sqlite": "strftime('%Y-%m', s.starts_at, ? || ' minutes')",
    "postgres": "to_char(s.starts_at + make_interval(mins => ?), 'YYYY-MM')",
}
_FIGURES_SQL = (
    "COUNT(*) AS registrations, "
    "SUM(CASE WHEN r.checked_in_at IS NOT NULL THEN 1 ELSE 0 END) AS attendances, "
    "COUNT(DISTINCT CASE WHEN r.checked_in_at IS NOT NULL THEN r.reach_key END) AS people"
)
_FROM_SQL = (
    " FROM registration r JOIN session s ON s.id = r.session_id"
    " JOIN topic t ON t.id = s.topic_id"
    " WHERE s.status = ? AND r.status <> ?"
)


def _utc_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _where(query: ReachQuery, viewer: StaffUser, tz: ZoneInfo) -> tuple[str, list[Any]]:
    sql = _FROM_SQL
    params: list[Any] = [SessionStatus.PUBLISHED.value, RegistrationStatus.CANCELLED.value]
    if query.start is not None:
        sql += " AND s.starts_at >= ?"
        params.append(_utc_start(query.start, tz))
    if query.end is not None:
        sql += " AND s.starts_at < ?"
        params.append(_utc_start(query.end, tz))
    if query.topic:
        sql += " AND t.code = ?"
        params.append(query.topic)
    if query.series_id is not None:
        sql += " AND s.series_id = ?"
        params.append(query.series_id)
    if query.audience:
        sql += " AND s.audience = ?"
        params.append(query.audience)
    runs = (
        " AND EXISTS (SELECT 1 FROM session_facilitator sf"
        " WHERE sf.session_id = s.id AND sf.staffuser_id = ?)"
    )
    if query.facilitator_id is not None:
        sql += runs
        params.append(query.facilitator_id)
    if viewer.role != Role.ADMIN:  # a facilitator: their own sessions only
        sql += runs
        params.append(viewer.id)
    return sql, params


def _figures(row: dict[str, Any]) -> Figures:
    return Figures(
        registrations=int(row["registrations"] or 0),
        attendances=int(row["attendances"] or 0),
        people=int(row["people"] or 0),
    )


async def reach(
    query: ReachQuery, *, viewer: StaffUser, tz: ZoneInfo, min_cell: int
) -> ReachReport:
    """The report as ``viewer`` may see it (see the module's docstring)."""
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    where, params = _where(query, viewer, tz)
    key_sql, key_params = _KEY_SQL.get(query.by, ""), []
    if query.by == Dimension.MONTH:
        minutes = int((datetime.now(tz).utcoffset() or timedelta()).total_seconds()) // 60
        key_sql = _MONTH_SQL[dialect]
        key_params = [f"{minutes:+d}" if dialect == "sqlite" else minutes]
    label_sql = ", MIN(r.organisation) AS label" if query.by == Dimension.ORGANISATION else ""
    statement = f"SELECT {key_sql} AS key{label_sql}, {_FIGURES_SQL}{where} GROUP BY 1"
    totals, grouped = await cache.fetch_all(
        connection,
        [(f"SELECT {_FIGURES_SQL}{where}", params), (statement, [*key_params, *params])],
    )
    total = _figures(totals[0]) if totals else Figures(0, 0, 0)
    labels = await _labeller(query.by)
    rows = [
        Row(key=str(row["key"] or ""), label=labels(row), figures=_figures(row)) for row in grouped
    ]
    rows = _ordered(query.by, rows)
    if query.by.protected:
        rows = suppress(rows, min_cell=min_cell)
    if query.by == Dimension.ORGANISATION:
        rows = _hidden_organisations_together(rows)
    return ReachReport(query=query, total=total, rows=rows, min_cell=min_cell)


def _hidden_organisations_together(rows: list[Row]) -> list[Row]:
    """An organisation's name is the person's own words: a hidden row that still named it
    would tell a donor someone from there came. Hidden organisations become one row."""
    hidden = [row for row in rows if row.suppressed and row.key]
    if not hidden:
        return rows
    shown = [row for row in rows if not (row.suppressed and row.key)]
    together = Row(key=HIDDEN_ORGANISATIONS, label=gettext(OTHER_ORGANISATIONS), figures=None)
    not_given = [row for row in shown if not row.key]
    return [row for row in shown if row.key] + [together] + not_given


# ----------------------------------------------------------------------------- labels, order


async def _labeller(by: Dimension) -> Callable[[dict[str, Any]], str]:
    choices: dict[str, Callable[[str], str]] = {
        Dimension.SECTOR.value: lambda key: Sector(key).label,
        Dimension.PROVINCE.value: lambda key: Province(key).label,
        Dimension.GENDER_IDENTITY.value: lambda key: GenderIdentity(key).label,
        Dimension.AGE_BAND.value: lambda key: AgeBand(key).label,
    }
    topics = (
        {t.code: pick(t.name_km, t.name_en) for t in await Topic.all()}
        if by == Dimension.TOPIC
        else {}
    )

    def label(row: dict[str, Any]) -> str:
        key = str(row["key"] or "")
        if not key:
            return gettext(NOT_GIVEN)
        if by == Dimension.ORGANISATION:
            return str(row.get("label") or key).strip()
        if by == Dimension.MONTH:
            year, month = key.split("-")
            return format_month(date(int(year), int(month), 1))
        if by == Dimension.TOPIC:
            return topics.get(key, key)
        if by == Dimension.RETURNING:
            return gettext(RETURNING if key == "returning" else FIRST_TIME)
        try:
            return choices[by.value](key)
        except ValueError:  # a value from before a choice was retired
            return key

    return label


_ORDER: dict[Dimension, Sequence[str]] = {
    Dimension.SECTOR: [s.value for s in Sector],
    Dimension.PROVINCE: [p.value for p in Province],
    Dimension.GENDER_IDENTITY: [g.value for g in GenderIdentity],
    Dimension.AGE_BAND: [a.value for a in AgeBand],
    Dimension.RETURNING: ["first_time", "returning"],
}


def _ordered(by: Dimension, rows: list[Row]) -> list[Row]:
    """Fixed lists in their own order, months by time, the rest by registrations; the row of
    people who did not say comes last."""
    given = [row for row in rows if row.key]
    not_given = [row for row in rows if not row.key]
    order = _ORDER.get(by)
    if order is not None:
        position = {key: n for n, key in enumerate(order)}
        given.sort(key=lambda row: position.get(row.key, len(position)))
    elif by == Dimension.MONTH:
        given.sort(key=lambda row: row.key)
    else:
        given.sort(key=lambda row: (-(row.figures.registrations if row.figures else 0), row.label))
    return given + not_given
