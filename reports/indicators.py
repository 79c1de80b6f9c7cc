"""Indicators: defining them, their targets per period, and their actual figures, in SQL.

An indicator counts **different people**, by ``Registration.reach_key`` as the reach report
does (``reports/services.py``), so a figure stays the same after the retention purge. Its
kinds (the page shows the same in words, from :func:`definition`):

- **attended_topics**: people checked in (registration not cancelled) at a published session
  of one of the indicator's topics that *starts* in the period, in the organisation's time
  zone. A person who came to several such sessions counts once. This is the reach report's
  "people" with the same sessions.
- **completed_curriculum**: people who completed every current (not archived) module of the
  curriculum, by the rules of the team's progress page (``curricula/progress.py``): a module is
  done when the person was checked in with a confirmed registration at a session of one of
  its topics, or a team leader marked it, on the earliest of those dates; the curriculum is
  completed on the day its *last* module was done, and the person counts in the period that
  holds that moment. Anyone who completed counts, not only team members (attendance is the
  person's own), one person per reach key.

With ``by_sector`` each period is also broken down by sector: a person counts in every sector
they gave at a registration that counts (attended_topics: their check-ins at those sessions in
the period; completed_curriculum: their check-ins at the curriculum's topics, any time), so the
sectors may add up to more than the total, which counts each person once. People who
completed a curriculum by leaders' marks alone gave no sector: "Not given". Sector is not a
protected breakdown: no cell is hidden.

Periods are years (``2026``) or quarters (``2026-Q1``), :func:`parse_period`. All periods of an
indicator are counted by one ``GROUP BY`` query (and one more by sector), whatever the number
of people.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from attendees.models import RegistrationStatus, Sector
from curricula.models import Curriculum
from events.models import TOPIC_CODE_MAX, SessionStatus, Topic
from reports.forms import EARLIEST_YEAR, LATEST_YEAR
from reports.models import (
    DESCRIPTION_MAX,
    NAME_MAX,
    Indicator,
    IndicatorKind,
    IndicatorTarget,
)
from reports.services import NOT_GIVEN, _utc_start
from sala import audit, db
from sala.errors import NotFound, ValidationFailed
from sala.forms import FieldReader
from sala.i18n import N_, gettext
from sala.models import StaffUser

MAX_COUNT = 10_000_000  # far above any training's reach, far below the database's integer
MAX_TOPICS = 50


class IndicatorNotFound(NotFound):
    """No indicator (or target) with this id."""

    code = "indicator_not_found"
    message = N_("There is no such indicator.")


# ----------------------------------------------------------------------------- periods

_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4]))?$")
PERIOD_HINT = N_("A year (2026) or a quarter (2026-Q1).")


@dataclass(frozen=True)
class Period:
    """A year or a quarter; ``start`` … ``end`` (first days of months, ``end`` excluded) are
    local dates in the organisation's time zone. Their texts sort in time, a year before its
    quarters."""

    text: str
    start: date
    end: date

    @property
    def quarter(self) -> int | None:
        return int(self.text[-1]) if "-Q" in self.text else None

    @property
    def label(self) -> str:
        quarter = self.quarter
        if quarter is None:
            return self.text
        return gettext(N_("Q%(quarter)s %(year)s"), quarter=quarter, year=self.start.year)


def parse_period(raw: str) -> Period | None:
    """``2026`` or ``2026-Q1`` (``2026-q1`` too), years 2000–2100; None if it is not one."""
    found = _PERIOD.match(raw.strip().upper())
    if found is None:
        return None
    year = int(found.group(1))
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return None
    if found.group(2) is None:
        return Period(f"{year}", date(year, 1, 1), date(year + 1, 1, 1))
    quarter = int(found.group(2))
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(f"{year}-Q{quarter}", start, end)


def period_of(target: IndicatorTarget) -> Period:
    found = parse_period(target.period)
    if found is None:  # only what parse_period made is ever stored
        raise ValueError(target.period)
    return found


# ----------------------------------------------------------------------------- definitions


def definition(indicator: Indicator) -> str:
    """What the actual figure counts, in words, for the page (and any export)."""
    if indicator.kind == IndicatorKind.COMPLETED_CURRICULUM:
        curriculum = indicator.curriculum
        text = gettext(
            N_(
                "Different people who completed every current module of “%(curriculum)s”: "
                "a module is done by being checked in at a session of one of its topics or by "
                "a team leader's mark, as on a team's progress page. A person counts in the "
                "period in which their last module was done, whether or not they are in a team; "
                "registrations with the same email or phone count as one person."
            ),
            curriculum=curriculum.name if curriculum else "",
        )
        if indicator.by_sector:
            text += " " + gettext(
                N_(
                    "By sector: a person counts in each sector they gave when checked in at "
                    "the curriculum's sessions; people who completed by team leaders' marks "
                    "alone are under “Not given”. The sectors may add up to more than the "
                    "total."
                )
            )
        return text
    names = ", ".join(f"“{topic.name}”" for topic in indicator.topics)
    text = gettext(
        N_(
            "Different people checked in at a published session of %(topics)s that started "
            "in the period (in the organisation's time zone). Cancelled registrations, people "
            "who did not come and draft or cancelled sessions do not count; a person who came "
            "several times counts once."
        ),
        topics=names,
    )
    if indicator.by_sector:
        text += " " + gettext(
            N_(
                "By sector: a person counts in each sector they gave at those check-ins in the "
                "period, so the sectors may add up to more than the total."
            )
        )
    return text


# ----------------------------------------------------------------------------- defining


@dataclass(frozen=True)
class IndicatorInput:
    name_km: str
    name_en: str
    description: str
    kind: IndicatorKind
    topics: tuple[Topic, ...]
    curriculum: Curriculum | None
    by_sector: bool

    def audit_details(self) -> dict[str, Any]:
        return {
            "name_km": self.name_km,
            "name_en": self.name_en,
            "kind": self.kind.value,
            "topics": sorted(t.code for t in self.topics),
            "curriculum": self.curriculum.code if self.curriculum else None,
            "by_sector": self.by_sector,
        }


async def indicator_input(raw: Mapping[str, Any]) -> IndicatorInput:
    """The form's (or a body's) fields: ``name_km``, ``name_en``, ``description``, ``kind``,
    ``topics`` (codes, a list), ``curriculum`` (an id), ``by_sector``. Every mistake at once."""
    reader = FieldReader(raw)
    name_km = reader.text("name_km", max_length=NAME_MAX)
    name_en = reader.text("name_en", max_length=NAME_MAX)
    if not name_km and not name_en and not reader.errors:
        reader.fail("name_km", N_("Give the indicator a name in Khmer or English."))
        reader.fail("name_en", N_("Give the indicator a name in Khmer or English."))
    description = reader.text("description", max_length=DESCRIPTION_MAX, multiline=True)
    kind = IndicatorKind(reader.choice("kind", tuple(IndicatorKind)))
    topics: list[Topic] = []
    curriculum: Curriculum | None = None
    if "kind" not in reader.errors and kind == IndicatorKind.ATTENDED_TOPICS:
        topics = await _topics(raw.get("topics"), reader)
    elif "kind" not in reader.errors:
        curriculum_id = reader.id("curriculum")
        if curriculum_id is not None:
            curriculum = await Curriculum.get_or_none(id=curriculum_id)
            if curriculum is None:
                reader.fail("curriculum", N_("Choose one of the options."))
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return IndicatorInput(
        name_km=name_km,
        name_en=name_en,
        description=description,
        kind=kind,
        topics=tuple(topics),
        curriculum=curriculum,
        by_sector=reader.flag("by_sector"),
    )


async def _topics(raw: object, reader: FieldReader) -> list[Topic]:
    items = raw if isinstance(raw, list | tuple) else [] if raw in (None, "") else [raw]
    codes = {item for item in items if isinstance(item, str)}
    if not items:
        reader.fail("topics", N_("Pick at least one topic."))
        return []
    wanted = sorted(code for code in codes if len(code) <= TOPIC_CODE_MAX)
    topics = await Topic.filter(code__in=wanted) if len(codes) <= MAX_TOPICS else []
    if any(not isinstance(item, str) for item in items) or len(topics) != len(codes):
        reader.fail("topics", N_("Choose from the list."))
    return list(topics)


async def create_indicator(values: IndicatorInput, *, staff: StaffUser) -> Indicator:
    async with in_transaction():
        indicator = await Indicator.create(
            name_km=values.name_km,
            name_en=values.name_en,
            description=values.description,
            kind=values.kind,
            curriculum=values.curriculum,
            by_sector=values.by_sector,
            created_by=staff,
        )
        if values.topics:
            await indicator.topics.add(*values.topics)
        await audit.record(staff, "indicator.create", indicator, values.audit_details())
    return indicator


async def update_indicator(
    indicator: Indicator, values: IndicatorInput, *, staff: StaffUser
) -> Indicator:
    async with in_transaction():
        indicator.name_km = values.name_km
        indicator.name_en = values.name_en
        indicator.description = values.description
        indicator.kind = values.kind
        indicator.curriculum_id = values.curriculum.id if values.curriculum else None
        indicator.by_sector = values.by_sector
        await indicator.save()
        await indicator.topics.clear()
        if values.topics:
            await indicator.topics.add(*values.topics)
        await audit.record(staff, "indicator.update", indicator, values.audit_details())
    return indicator


async def set_archived(indicator: Indicator, archived: bool, *, staff: StaffUser) -> None:
    """Archive (out of the list, figures kept) or bring back an indicator."""
    async with in_transaction():
        indicator.archived_at = datetime.now(UTC) if archived else None
        await indicator.save(update_fields=["archived_at"])
        action = "indicator.archive" if archived else "indicator.restore"
        await audit.record(staff, action, indicator)


async def list_indicators() -> list[Indicator]:
    """Every indicator, current ones first, with what :func:`definition` needs."""
    return (
        await Indicator.all()
        .prefetch_related("topics", "curriculum", "targets")
        .order_by("archived_at", "id")
    )


async def get_indicator(indicator_id: int) -> Indicator:
    indicator = (
        await Indicator.get_or_none(id=indicator_id)
        .prefetch_related("topics", "curriculum")
        .select_related("created_by")
    )
    if indicator is None:
        raise IndicatorNotFound()
    return indicator


# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class TargetInput:
    period: Period
    baseline: int
    target: int


def target_input(raw: Mapping[str, Any]) -> TargetInput:
    """``period`` (a year or a quarter), ``baseline`` (empty: 0) and ``target``: whole
    numbers, 0 or more."""
    reader = FieldReader(raw)
    text = reader.text("period", max_length=20, required=True)
    period = parse_period(text) if text else None
    if text and period is None:
        reader.fail("period", PERIOD_HINT)
    baseline = _count(reader, "baseline", required=False)
    target = _count(reader, "target", required=True)
    if reader.errors or period is None:
        raise ValidationFailed(reader.errors)
    return TargetInput(period=period, baseline=baseline, target=target)


def _count(reader: FieldReader, name: str, *, required: bool) -> int:
    raw = reader.raw.get(name)
    if raw in (None, "") or (isinstance(raw, str) and not raw.strip()):
        if required:
            reader.fail(name, N_("This field is required."))
        return 0
    if isinstance(raw, str) and re.fullmatch(r"\s*-\s*[0-9]+\s*", raw):
        reader.fail(name, N_("Enter a whole number, 0 or more."))
        return 0
    return reader.integer(name, minimum=0, maximum=MAX_COUNT)


async def save_target(
    indicator: Indicator,
    values: TargetInput,
    *,
    staff: StaffUser,
    target_id: int | None = None,
) -> IndicatorTarget:
    """Add a period's baseline and target, or change one (its period too). One row per
    period: a second one for the same period is refused at the field."""
    duplicate = ValidationFailed({"period": N_("This period already has a target.")})
    try:
        async with in_transaction() as connection:
            # One editor of an indicator's targets at a time: the duplicate check reads what
            # it saves.
            await db.lock_row(connection, "indicator", indicator.id)
            same = IndicatorTarget.filter(indicator_id=indicator.id, period=values.period.text)
            if target_id is not None:
                same = same.exclude(id=target_id)
            if await same.exists():
                raise duplicate
            if target_id is None:
                row = await IndicatorTarget.create(
                    indicator=indicator,
                    period=values.period.text,
                    baseline=values.baseline,
                    target=values.target,
                )
                action = "indicator.target_add"
            else:
                found = await IndicatorTarget.get_or_none(id=target_id, indicator_id=indicator.id)
                if found is None:
                    raise IndicatorNotFound()
                row = found
                row.period = values.period.text
                row.baseline = values.baseline
                row.target = values.target
                await row.save()
                action = "indicator.target_change"
            await audit.record(
                staff,
                action,
                indicator,
                {"period": row.period, "baseline": row.baseline, "target": row.target},
            )
    except IntegrityError as error:  # the unique (indicator, period), should a lock miss it
        raise duplicate from error
    return row


async def delete_target(indicator: Indicator, target_id: int, *, staff: StaffUser) -> None:
    async with in_transaction():
        found = await IndicatorTarget.get_or_none(id=target_id, indicator_id=indicator.id)
        if found is None:
            raise IndicatorNotFound()
        await audit.record(
            staff,
            "indicator.target_delete",
            indicator,
            {"period": found.period, "baseline": found.baseline, "target": found.target},
        )
        await found.delete()


# ----------------------------------------------------------------------------- actuals


@dataclass(frozen=True)
class SectorCell:
    key: str  # a Sector value, or "" (not given)
    label: str
    people: int


@dataclass(frozen=True)
class PeriodRow:
    target: IndicatorTarget
    period: Period
    actual: int
    sectors: list[SectorCell]

    @property
    def percent(self) -> int | None:
        """The actual as a share of the target, in whole percent; None for a target of 0."""
        return round(100 * self.actual / self.target.target) if self.target.target else None


@dataclass(frozen=True)
class IndicatorReport:
    indicator: Indicator
    rows: list[PeriodRow]
    definition: str


async def indicator_report(indicator: Indicator, *, tz: ZoneInfo) -> IndicatorReport:
    """Every period with a target, its baseline, target and actual (and sectors)."""
    targets = sorted(
        await IndicatorTarget.filter(indicator_id=indicator.id), key=lambda t: t.period
    )
    periods = [period_of(target) for target in targets]
    totals, by_sector = await actuals(indicator, periods, tz=tz)
    rows = [
        PeriodRow(
            target=target,
            period=period,
            actual=totals.get(period.text, 0),
            sectors=_sector_cells(by_sector.get(period.text, {})) if indicator.by_sector else [],
        )
        for target, period in zip(targets, periods, strict=True)
    ]
    return IndicatorReport(indicator=indicator, rows=rows, definition=definition(indicator))


async def actuals(
    indicator: Indicator, periods: Sequence[Period], *, tz: ZoneInfo
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """People per period (by its text) and, with ``by_sector``, per period and sector."""
    if not periods:
        return {}, {}
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    periods_sql, params = _periods_cte(periods, tz, dialect)
    if indicator.kind == IndicatorKind.COMPLETED_CURRICULUM:
        body, body_params = _completed_sql(dialect, by_sector=False)
        sector_body, _same = _completed_sql(dialect, by_sector=True)
        body_params = [indicator.curriculum_id, *body_params]  # type: ignore[attr-defined]
    else:
        body, body_params = _attended_sql(by_sector=False)
        sector_body, _same = _attended_sql(by_sector=True)
        body_params = [*body_params, indicator.id]
    rows = await db.fetch_all(connection, periods_sql + body, [*params, *body_params])
    totals = {str(row["period"]): int(row["people"] or 0) for row in rows}
    by_sector: dict[str, dict[str, int]] = {}
    if indicator.by_sector:
        rows = await db.fetch_all(connection, periods_sql + sector_body, [*params, *body_params])
        for row in rows:
            cells = by_sector.setdefault(str(row["period"]), {})
            cells[str(row["sector"] or "")] = int(row["people"] or 0)
    return totals, by_sector


def _periods_cte(periods: Sequence[Period], tz: ZoneInfo, dialect: str) -> tuple[str, list[Any]]:
    """``WITH periods (period, start_at, end_at) AS (VALUES …)``: each period's bounds in UTC.
    PostgreSQL needs the types of a VALUES list's parameters; SQLite compares the text."""
    row = "(?, ?, ?)" if dialect == "sqlite" else "(?::text, ?::timestamptz, ?::timestamptz)"
    params: list[Any] = []
    for period in periods:
        params += [period.text, _utc_start(period.start, tz), _utc_start(period.end, tz)]
    values = ", ".join([row] * len(periods))
    return f"WITH periods (period, start_at, end_at) AS (VALUES {values})", params


def _attended_sql(*, by_sector: bool) -> tuple[str, list[Any]]:
    sector = ", r.sector AS sector" if by_sector else ""
    group = "1, 2" if by_sector else "1"
    sql = (
        f" SELECT p.period AS period{sector}, COUNT(DISTINCT r.reach_key) AS people"  # noqa: S608 (constants only)
        " FROM periods p"
        " JOIN session s ON s.starts_at >= p.start_at AND s.starts_at < p.end_at"
        " JOIN registration r ON r.session_id = s.id"
        " WHERE s.status = ? AND r.status <> ? AND r.checked_in_at IS NOT NULL"
        " AND s.topic_id IN (SELECT it.topic_id FROM indicator_topic it"
        " WHERE it.indicator_id = ?)"
        f" GROUP BY {group}"
    )
    return sql, [SessionStatus.PUBLISHED.value, RegistrationStatus.CANCELLED.value]


# A team leader's mark says a day: the module counts as done at its start in UTC, as on the
# progress page (curricula/progress.py).
_MARK_MOMENT = {
    "sqlite": "mc.completed_on || ' 00:00:00+00:00'",
    "postgres": "CAST(mc.completed_on AS timestamp) AT TIME ZONE 'UTC'",
}


def _completed_sql(dialect: str, *, by_sector: bool) -> tuple[str, list[Any]]:
    """Who completed the curriculum when: the progress page's rules, for everyone at once.
    The first parameter (added by the caller) is the curriculum's id."""
    sql = (
        ", current_modules AS (SELECT m.id FROM module m"  # noqa: S608 (constants only)
        " WHERE m.curriculum_id = ? AND m.archived_at IS NULL),"
        " done AS ("
        " SELECT r.reach_key AS who, mt.module_id AS module_id, r.checked_in_at AS done_at,"
        " r.sector AS sector"
        " FROM registration r JOIN session s ON s.id = r.session_id"
        " JOIN module_topic mt ON mt.topic_id = s.topic_id"
        " WHERE mt.module_id IN (SELECT id FROM current_modules)"
        " AND r.status = ? AND r.checked_in_at IS NOT NULL"
        " UNION ALL"
        f" SELECT pe.reach_key, mc.module_id, {_MARK_MOMENT[dialect]}, CAST(NULL AS VARCHAR)"
        " FROM manual_completion mc JOIN person pe ON pe.id = mc.person_id"
        " WHERE mc.module_id IN (SELECT id FROM current_modules)),"
        " firsts AS (SELECT who, module_id, MIN(done_at) AS done_at FROM done"
        " GROUP BY who, module_id),"
        " completed AS (SELECT who, MAX(done_at) AS done_at FROM firsts GROUP BY who"
        " HAVING COUNT(*) = (SELECT COUNT(*) FROM current_modules))"
    )
    if by_sector:
        sql += (
            " SELECT p.period AS period, COALESCE(d.sector, '') AS sector,"
            " COUNT(DISTINCT c.who) AS people"
            " FROM completed c JOIN periods p ON c.done_at >= p.start_at AND c.done_at < p.end_at"
            " LEFT JOIN (SELECT DISTINCT who, sector FROM done WHERE sector IS NOT NULL) d"
            " ON d.who = c.who GROUP BY 1, 2"
        )
    else:
        sql += (
            " SELECT p.period AS period, COUNT(DISTINCT c.who) AS people"
            " FROM completed c JOIN periods p ON c.done_at >= p.start_at AND c.done_at < p.end_at"
            " GROUP BY 1"
        )
    return sql, [RegistrationStatus.CONFIRMED.value]


def _sector_cells(counts: Mapping[str, int]) -> list[SectorCell]:
    """The sectors anyone is counted in, in their fixed order, then "Not given"."""
    cells = [SectorCell(s.value, s.label, counts[s.value]) for s in Sector if s.value in counts]
    known = {s.value for s in Sector}
    for key, people in sorted(counts.items()):
        if key not in known:  # not given, or a sector since retired
            cells.append(SectorCell(key, key or gettext(NOT_GIVEN), people))
    return cells
