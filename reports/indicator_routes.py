"""HTML routes of the indicators (admins only: an indicator counts across every session).

staff    /staff/reports/indicators                   the list, current then archived
         /staff/reports/indicators/new               define one (names, kind, topics or
                                                     curriculum, by sector or not)
         /staff/reports/indicators/{id}              actual vs target per period (and by
                                                     sector); its targets, each a form
         /staff/reports/indicators/{id}/edit         change the definition
         /staff/reports/indicators/{id}/targets      (POST) add, change or delete a period
         /staff/reports/indicators/{id}/archive      (POST) archive or bring back
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from curricula.services import list_curricula
from events.services import list_topics
from reports import indicators
from reports.indicators import IndicatorNotFound
from reports.models import Indicator, IndicatorKind
from sala.csrf import read_form
from sala.errors import ValidationFailed
from sala.forms import parse_id
from sala.models import Role
from sala.permissions import staff_page
from sala.responses import PRIVATE_HEADERS
from sala.templating import render

ADMINS = (Role.ADMIN,)
NEW = "new"  # the key of the form that adds a period


def _indicator_path(request: Request, indicator: Indicator) -> str:
    return str(request.url_for("staff:indicator", indicator_id=indicator.id).path)


@staff_page(*ADMINS)
async def indicator_list(request: Request) -> Response:
    found = await indicators.list_indicators()
    context = {
        "current": [i for i in found if i.archived_at is None],
        "archived": [i for i in found if i.archived_at is not None],
    }
    return render(request, "reports/indicators.html", context, headers=PRIVATE_HEADERS)


def _typed(form: FormData) -> dict[str, Any]:
    """What the form held, to show it again as typed."""
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    values["topics"] = [str(v) for v in form.getlist("topics")]
    values["by_sector"] = "1" if values.get("by_sector") else ""
    return values


def _stored(indicator: Indicator) -> dict[str, Any]:
    return {
        "name_km": indicator.name_km,
        "name_en": indicator.name_en,
        "description": indicator.description,
        "kind": indicator.kind.value,
        "topics": [topic.code for topic in indicator.topics],
        "curriculum": str(indicator.curriculum_id or ""),  # type: ignore[attr-defined]
        "by_sector": "1" if indicator.by_sector else "",
    }


async def _form_page(
    request: Request,
    *,
    indicator: Indicator | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "indicator": indicator,
        "values": values,
        "errors": errors or {},
        "kinds": list(IndicatorKind),
        "topics": await list_topics(),
        "curricula": await list_curricula(),
    }
    return render(
        request,
        "reports/indicator_form.html",
        context,
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


@staff_page(*ADMINS)
async def indicator_new(request: Request) -> Response:
    if request.method != "POST":
        values = {"kind": IndicatorKind.ATTENDED_TOPICS.value, "topics": []}
        return await _form_page(request, indicator=None, values=values)
    form = await read_form(request)
    values = _typed(form)
    try:
        data = await indicators.indicator_input(values)
    except ValidationFailed as exc:
        return await _form_page(
            request, indicator=None, values=values, errors=exc.translated_errors(), status=422
        )
    created = await indicators.create_indicator(data, staff=request.state.user)
    return RedirectResponse(_indicator_path(request, created) + "?done=created", status_code=303)


@staff_page(*ADMINS)
async def indicator_edit(request: Request) -> Response:
    found = await indicators.get_indicator(request.path_params["indicator_id"])
    if request.method != "POST":
        return await _form_page(request, indicator=found, values=_stored(found))
    form = await read_form(request)
    values = _typed(form)
    try:
        data = await indicators.indicator_input(values)
    except ValidationFailed as exc:
        return await _form_page(
            request, indicator=found, values=values, errors=exc.translated_errors(), status=422
        )
    await indicators.update_indicator(found, data, staff=request.state.user)
    return RedirectResponse(_indicator_path(request, found) + "?done=saved", status_code=303)


async def _indicator_page(
    request: Request,
    indicator: Indicator,
    *,
    status: int = 200,
    form_key: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The figures and the targets' forms; after a refused change, that form as typed with
    its messages (``form_key``: a target's id, or ``NEW``)."""
    settings = request.app.state.settings
    report = await indicators.indicator_report(indicator, tz=settings.tz)
    context = {
        "indicator": indicator,
        "report": report,
        "form_key": form_key,
        "values": values or {},
        "errors": errors or {},
        "new_key": NEW,
        "period_hint": indicators.PERIOD_HINT,
        "done": request.query_params.get("done"),
    }
    return render(
        request, "reports/indicator.html", context, status_code=status, headers=PRIVATE_HEADERS
    )


@staff_page(*ADMINS)
async def indicator_page(request: Request) -> Response:
    found = await indicators.get_indicator(request.path_params["indicator_id"])
    return await _indicator_page(request, found)


@staff_page(*ADMINS)
async def indicator_targets(request: Request) -> Response:
    """One form per period, and one for a new period: plain POSTs, no JavaScript."""
    staff = request.state.user
    found = await indicators.get_indicator(request.path_params["indicator_id"])
    form = await read_form(request)
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    raw_id = values.get("target_id", "")
    target_id = parse_id(raw_id) if raw_id else None
    if raw_id and target_id is None:
        raise IndicatorNotFound()
    if values.get("action") == "delete":
        if target_id is None:
            raise IndicatorNotFound()
        await indicators.delete_target(found, target_id, staff=staff)
        return RedirectResponse(_indicator_path(request, found) + "?done=deleted", status_code=303)
    try:
        data = indicators.target_input(values)
        await indicators.save_target(found, data, staff=staff, target_id=target_id)
    except ValidationFailed as exc:
        return await _indicator_page(
            request,
            found,
            status=422,
            form_key=str(target_id) if target_id is not None else NEW,
            values=values,
            errors=exc.translated_errors(),
        )
    return RedirectResponse(_indicator_path(request, found) + "?done=target", status_code=303)


@staff_page(*ADMINS)
async def indicator_archive(request: Request) -> Response:
    found = await indicators.get_indicator(request.path_params["indicator_id"])
    form = await read_form(request)
    archived = form.get("action") != "restore"
    await indicators.set_archived(found, archived, staff=request.state.user)
    done = "archived" if archived else "restored"
    return RedirectResponse(_indicator_path(request, found) + f"?done={done}", status_code=303)


routes = [
    Route("/staff/reports/indicators", indicator_list, name="staff:indicators"),
    Route(
        "/staff/reports/indicators/new",
        indicator_new,
        methods=["GET", "POST"],
        name="staff:indicator_new",
    ),
    Route(
        "/staff/reports/indicators/{indicator_id:int}",
        indicator_page,
        name="staff:indicator",
    ),
    Route(
        "/staff/reports/indicators/{indicator_id:int}/edit",
        indicator_edit,
        methods=["GET", "POST"],
        name="staff:indicator_edit",
    ),
    Route(
        "/staff/reports/indicators/{indicator_id:int}/targets",
        indicator_targets,
        methods=["POST"],
        name="staff:indicator_targets",
    ),
    Route(
        "/staff/reports/indicators/{indicator_id:int}/archive",
        indicator_archive,
        methods=["POST"],
        name="staff:indicator_archive",
    ),
]
