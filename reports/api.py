"""JSON API of the reports package (``/api/v1``).

GET /api/v1/reports/reach?from=YYYY-MM&to=YYYY-MM&by=DIMENSION[&topic=CODE]
                                            admin: every session; facilitators: their own
GET /api/v1/reports/reach.xlsx?…            the same report as an XLSX file (audited)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reports import exports, services
from reports.forms import parse_reach_query
from reports.learning import every_learning_report
from reports.schemas import reach_json
from reports.services import Dimension
from sala.models import Role
from sala.openapi import operation, query_parameter, ref
from sala.permissions import staff_api

REPORT_READERS = (Role.ADMIN, Role.FACILITATOR)


async def report_for(request: Request) -> services.ReachReport:
    """The report the query string asks for, as the caller may see it (page, API, exports)."""
    settings = request.app.state.settings
    query = parse_reach_query(request.query_params)
    return await services.reach(
        query, viewer=request.state.user, tz=settings.tz, min_cell=settings.report_min_cell
    )


@staff_api(*REPORT_READERS)
async def reach(request: Request) -> Response:
    report = await report_for(request)
    return JSONResponse(reach_json(report), headers={"cache-control": "no-store"})


@staff_api(*REPORT_READERS)
async def reach_xlsx(request: Request) -> Response:
    report = await report_for(request)
    filters = await exports.describe_filters(report.query, viewer=request.state.user)
    settings = request.app.state.settings
    learned = await every_learning_report(
        report.query, viewer=request.state.user, tz=settings.tz, min_cell=settings.report_min_cell
    )
    data = exports.reach_xlsx([report], settings=settings, filters=filters, learned=learned)
    await exports.record_export(request.state.user, report.query, file_format="xlsx")
    return exports.xlsx_response(data, filename=exports.export_filename(report.query, "xlsx"))


routes = [
    Route("/api/v1/reports/reach", reach, name="api:reports_reach"),
    Route("/api/v1/reports/reach.xlsx", reach_xlsx, name="api:reports_reach_xlsx"),
]

REACH_PARAMETERS = [
    query_parameter("from", "first month, YYYY-MM (left out: from the start)", {"type": "string"}),
    query_parameter("to", "last month, YYYY-MM, included (left out: to now)", {"type": "string"}),
    query_parameter(
        "by", "the breakdown", {"type": "string", "enum": [d.value for d in Dimension]}
    ),
    query_parameter("topic", "only sessions of this topic (its code)", {"type": "string"}),
    query_parameter("series", "only sessions of this series (its id)", {"type": "integer"}),
    query_parameter("facilitator", "only sessions this staff member runs", {"type": "integer"}),
    query_parameter("audience", "only public or invite-only sessions", {"type": "string"}),
]

openapi_paths = {
    "/api/v1/reports/reach": {
        "get": operation(
            "Reach: registrations, attendances and unique people, broken down by one dimension",
            response=ref("ReachReport"),
            staff=True,
            errors=(422,),
            parameters=REACH_PARAMETERS,
        )
    },
    "/api/v1/reports/reach.xlsx": {
        "get": operation(
            "The same reach report as an XLSX file (" + exports.XLSX_MEDIA_TYPE + "): a sheet "
            "for the breakdown and one that defines every figure, in the request's language",
            response={"type": "string", "format": "binary"},
            staff=True,
            errors=(422,),
            parameters=REACH_PARAMETERS,
        )
    },
}
