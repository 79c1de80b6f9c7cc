"""The report page's downloads, with the page's query string (``from``, ``to``, ``by``, the
filters) and in the page's language.

GET /staff/reports/reach.xlsx   admin, facilitators (their sessions): the chosen breakdown
                                first, then every other breakdown of the same period and
                                filters, then the definitions (a donor annex in one file)
GET /staff/reports/reach.csv    the same: the chosen breakdown only

Each download is written to the audit log. Parameters a page could not have made (a link
edited by hand) get a 422 error page.
"""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reports import exports, services
from reports.api import REPORT_READERS, report_for
from reports.learning import every_learning_report
from reports.services import Dimension, ReachReport
from sala.errors import ValidationFailed
from sala.i18n import N_
from sala.permissions import staff_page

BAD_LINK = N_(
    "This report cannot be downloaded: its period or a filter is not valid. Go back to the "
    "report and choose them again."
)


async def _chosen(request: Request) -> ReachReport:
    try:
        return await report_for(request)
    except ValidationFailed as error:
        raise ValidationFailed(error.errors, BAD_LINK) from error


async def _every_breakdown(request: Request, chosen: ReachReport) -> list[ReachReport]:
    """The chosen report, then the same period and filters by every other dimension."""
    settings = request.app.state.settings
    reports = [chosen]
    for by in Dimension:
        if by != chosen.query.by:
            report = await services.reach(
                replace(chosen.query, by=by),
                viewer=request.state.user,
                tz=settings.tz,
                min_cell=settings.report_min_cell,
            )
            reports.append(report)
    return reports


@staff_page(*REPORT_READERS)
async def reach_xlsx(request: Request) -> Response:
    chosen = await _chosen(request)
    reports = await _every_breakdown(request, chosen)
    filters = await exports.describe_filters(chosen.query, viewer=request.state.user)
    settings = request.app.state.settings
    learned = await every_learning_report(
        chosen.query, viewer=request.state.user, tz=settings.tz, min_cell=settings.report_min_cell
    )
    data = exports.reach_xlsx(reports, settings=settings, filters=filters, learned=learned)
    await exports.record_export(request.state.user, chosen.query, file_format="xlsx")
    return exports.xlsx_response(data, filename=exports.export_filename(chosen.query, "xlsx"))


@staff_page(*REPORT_READERS)
async def reach_csv(request: Request) -> Response:
    chosen = await _chosen(request)
    response = exports.reach_csv(chosen)
    await exports.record_export(request.state.user, chosen.query, file_format="csv")
    return response


routes = [
    Route("/staff/reports/reach.xlsx", reach_xlsx, name="reports:reach_xlsx"),
    Route("/staff/reports/reach.csv", reach_csv, name="reports:reach_csv"),
]
