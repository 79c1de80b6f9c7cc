"""HTML routes of the reports package.

staff    /staff/reports          the reach report: period, filters and breakdown (a GET form),
                                 its table, what people learned (reports/learning.py),
                                 charts by month, by sector and by the breakdown,
                                 links to its XLSX, CSV and printable page
                                 (admins: every session; facilitators: their own)
         /staff/reports/print    every breakdown of the period on A4, for a donor annex,
                                 written to the audit log like an export
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from events.models import Audience, Series
from events.services import list_topics
from reports import exports, services
from reports import learning as learning_figures
from reports.api import REPORT_READERS
from reports.charts import attendance_bars, bar_chart
from reports.forms import month_text, parse_reach_query, previous_month
from reports.services import DEFINITIONS, Dimension, ReachQuery, ReachReport
from sala.config import Settings
from sala.errors import ValidationFailed
from sala.i18n import N_, format_date, format_month, gettext, pick
from sala.links import path_for
from sala.models import Role, StaffUser
from sala.permissions import staff_page
from sala.responses import PRIVATE_HEADERS
from sala.templating import render

DEFAULT_BY = Dimension.SECTOR.value
PERIODS: tuple[tuple[str, str], ...] = (
    ("this_month", N_("This month")),
    ("previous_month", N_("Previous month")),
    ("this_quarter", N_("This quarter")),
    ("previous_quarter", N_("Previous quarter")),
    ("this_year", N_("This year")),
    ("previous_year", N_("Previous year")),
)
AUDIENCE_LABELS = {Audience.PUBLIC: N_("Public"), Audience.INVITE_ONLY: N_("Invite only")}
DOWNLOADS = {"xlsx": "reports:reach_xlsx", "csv": "reports:reach_csv"}  # reports/downloads.py


# ----------------------------------------------------------------------------- periods


def period_months(choice: str, today: date) -> tuple[date, date]:
    """The first and the last month (both included) of a quick choice of ``PERIODS``."""
    month = date(today.year, today.month, 1)
    quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    if choice == "this_month":
        return month, month
    if choice == "previous_month":
        return previous_month(month), previous_month(month)
    if choice == "this_quarter":
        return quarter, _months_later(quarter, 2)
    if choice == "previous_quarter":
        first = _months_later(quarter, -3)
        return first, _months_later(first, 2)
    if choice == "this_year":
        return date(today.year, 1, 1), date(today.year, 12, 1)
    if choice == "previous_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 1)
    raise ValueError(choice)


def _months_later(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


# ----------------------------------------------------------------------------- the query


def _today(settings: Settings) -> date:
    return datetime.now(settings.tz).date()


def _read_query(request: Request, user: StaffUser) -> tuple[dict[str, str], ReachQuery]:
    """The form's values and the query they ask for (``ValidationFailed`` on mistakes).
    Without a period in the address the page opens on this year; a facilitator's report
    is of their own sessions, so the facilitator filter is an admin's only."""
    values = {name: value.strip() for name, value in request.query_params.items()}
    if "from" not in values and "to" not in values:
        first, last = period_months("this_year", _today(request.app.state.settings))
        values.update({"from": month_text(first), "to": month_text(last)})
    values.setdefault("by", DEFAULT_BY)
    if user.role != Role.ADMIN:
        values.pop("facilitator", None)
    return values, parse_reach_query(values, default_by=DEFAULT_BY)


def query_values(query: ReachQuery) -> dict[str, str]:
    """The query as a query string's values: what the exports, the print page and the quick
    periods are linked with (an empty ``from`` and ``to``: all time)."""
    values = {
        "from": month_text(query.start) if query.start else "",
        "to": month_text(previous_month(query.end)) if query.end else "",
        "by": query.by.value,
        "topic": query.topic or "",
        "series": str(query.series_id) if query.series_id is not None else "",
        "facilitator": str(query.facilitator_id) if query.facilitator_id is not None else "",
        "audience": query.audience or "",
    }
    return {name: value for name, value in values.items() if value or name in ("from", "to", "by")}


def _link(name: str, values: Mapping[str, str]) -> str:
    return f"{path_for(name)}?{urlencode(values)}"


async def _report(
    query: ReachQuery, by: Dimension, *, user: StaffUser, settings: Settings
) -> ReachReport:
    return await services.reach(
        replace(query, by=by), viewer=user, tz=settings.tz, min_cell=settings.report_min_cell
    )


async def _learning(
    query: ReachQuery, by: Dimension, user: StaffUser, settings: Settings
) -> learning_figures.LearningReport:
    """What people learned, in the same period and filters (by month, topic or sector)."""
    return await learning_figures.learning_report(
        replace(query, by=by), viewer=user, tz=settings.tz, min_cell=settings.report_min_cell
    )


# ----------------------------------------------------------------------------- choices


@dataclass(frozen=True)
class Choices:
    """The options of the form's filters, as (value, label), the "all" option first."""

    topics: list[tuple[str, str]]
    series: list[tuple[str, str]]
    facilitators: list[tuple[str, str]]
    audiences: list[tuple[str, str]]
    breakdowns: list[tuple[str, str]]


async def _choices(user: StaffUser, settings: Settings) -> Choices:
    topics = [(topic.code, topic.name) for topic in await list_topics()]
    found = Series.all().prefetch_related("topic").order_by("-first_start")
    if user.role != Role.ADMIN:
        found = found.filter(sessions__facilitators__id=user.id).distinct()
    series = [
        (
            str(item.id),
            f"{pick(item.title_km, item.title_en) or item.topic.name}"
            f" ({format_month(item.first_start.astimezone(settings.tz).date())})",
        )
        for item in await found
    ]
    facilitators: list[tuple[str, str]] = []
    if user.role == Role.ADMIN:
        staff = StaffUser.filter(role__in=[Role.ADMIN, Role.FACILITATOR]).order_by("name", "id")
        facilitators = [(str(person.id), person.name) for person in await staff]
    return Choices(
        topics=[("", gettext(N_("All topics"))), *topics],
        series=[("", gettext(N_("All series"))), *series],
        facilitators=[("", gettext(N_("All facilitators"))), *facilitators],
        audiences=[
            ("", gettext(N_("Every audience"))),
            *((audience.value, gettext(label)) for audience, label in AUDIENCE_LABELS.items()),
        ],
        breakdowns=[(dimension.value, dimension.label) for dimension in Dimension],
    )


def _definitions(min_cell: int) -> list[tuple[str, str]]:
    return [
        (gettext(term, count=min_cell), gettext(meaning, count=min_cell))
        for term, meaning in DEFINITIONS
    ]


Chart = tuple[str, Markup]  # its title, shown above it, and the SVG


def _chart(report: ReachReport, *, title: str, chart_id: str, today: date) -> Chart:
    bars = attendance_bars(report, today=today)
    return title, bar_chart(bars, title=title, chart_id=chart_id, min_cell=report.min_cell)


# The two charts every report shows, whatever its breakdown.
CHARTS = (
    (Dimension.MONTH, N_("Attendances per month"), "chart-month"),
    (Dimension.SECTOR, N_("Attendances per sector"), "chart-sector"),
)


async def _time_and_sector_charts(
    query: ReachQuery,
    *,
    user: StaffUser,
    settings: Settings,
    known: Mapping[Dimension, ReachReport],
) -> list[Chart]:
    charts = []
    for by, title, chart_id in CHARTS:
        report = known.get(by) or await _report(query, by, user=user, settings=settings)
        charts.append(
            _chart(report, title=gettext(title), chart_id=chart_id, today=_today(settings))
        )
    return charts


# ----------------------------------------------------------------------------- pages


@staff_page(*REPORT_READERS)
async def reach(request: Request) -> Response:
    user: StaffUser = request.state.user
    settings: Settings = request.app.state.settings
    choices = await _choices(user, settings)
    context: dict[str, object] = {"choices": choices, "min_cell": settings.report_min_cell}
    try:
        values, query = _read_query(request, user)
    except ValidationFailed as exc:
        context.update(
            values={name: value for name, value in request.query_params.items()},
            errors=exc.translated_errors(),
            report=None,
            quick_periods=[],
        )
        return render(
            request, "reports/reach.html", context, status_code=422, headers=PRIVATE_HEADERS
        )
    report = await _report(query, query.by, user=user, settings=settings)
    charts = await _time_and_sector_charts(
        query, user=user, settings=settings, known={query.by: report}
    )
    if query.by not in (Dimension.MONTH, Dimension.SECTOR):
        title = gettext(N_("Attendances — %(breakdown)s"), breakdown=query.by.label)
        charts.append(
            _chart(report, title=title, chart_id="chart-breakdown", today=_today(settings))
        )
    learning = await _learning(query, learning_figures.breakdown_for(query.by), user, settings)
    linked = query_values(query)
    context.update(
        values={**values, **linked},
        errors={},
        report=report,
        learning=learning,
        learning_definitions=learning_figures.definitions(settings.report_min_cell),
        charts=charts,
        period=exports.period_text(query),
        quick_periods=_quick_periods(query, linked, _today(settings)),
        downloads={kind: _link(name, linked) for kind, name in DOWNLOADS.items()},
        print_link=_link("reports:print", linked),
        definitions=_definitions(settings.report_min_cell),
    )
    return render(request, "reports/reach.html", context, headers=PRIVATE_HEADERS)


def _quick_periods(
    query: ReachQuery, linked: Mapping[str, str], today: date
) -> list[tuple[str, str, bool]]:
    """(text, link, is the period shown) for every quick choice, and all time."""
    found = []
    for choice, text in PERIODS:
        first, last = period_months(choice, today)
        months = {"from": month_text(first), "to": month_text(last)}
        current = (linked["from"], linked["to"]) == (months["from"], months["to"])
        found.append((gettext(text), _link("reports:reach", {**linked, **months}), current))
    every = {"from": "", "to": ""}
    current = query.start is None and query.end is None
    found.append((gettext(N_("All time")), _link("reports:reach", {**linked, **every}), current))
    return found


@staff_page(*REPORT_READERS)
async def print_annex(request: Request) -> Response:
    user: StaffUser = request.state.user
    settings: Settings = request.app.state.settings
    _values, query = _read_query(request, user)
    reports = {
        dimension: await _report(query, dimension, user=user, settings=settings)
        for dimension in Dimension
    }
    charts = await _time_and_sector_charts(query, user=user, settings=settings, known=reports)
    learning = await learning_figures.every_learning_report(
        query, viewer=user, tz=settings.tz, min_cell=settings.report_min_cell
    )
    linked = query_values(query)
    await exports.record_export(user, query, file_format="print")
    context = {
        "reports": list(reports.values()),
        "learning": learning,
        "learning_definitions": learning_figures.definitions(settings.report_min_cell),
        "charts": charts,
        "period": exports.period_text(query),
        "filters": await exports.describe_filters(query, viewer=user),
        "made_on": format_date(datetime.now(settings.tz), fmt="long"),
        "back_link": _link("reports:reach", linked),
        "definitions": _definitions(settings.report_min_cell),
        "min_cell": settings.report_min_cell,
    }
    return render(request, "reports/print.html", context, headers=PRIVATE_HEADERS)


routes = [
    Route("/staff/reports", reach, name="reports:reach"),
    Route("/staff/reports/print", print_annex, name="reports:print"),
]
