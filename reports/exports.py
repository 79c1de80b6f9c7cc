"""The reach report as files for partners: XLSX (a sheet per table and one of definitions)
and CSV, in the current language.

They only render what a :class:`~reports.services.ReachReport` holds: a suppressed row shows
"fewer than N" in place of each of its figures and nothing is recomputed here, so a file
can never show more than the page or the API. Both files are made of the same table
(:func:`reach_table`). CSV goes through :mod:`sala.spreadsheets`, the one place that makes
CSV (formulas neutralised, BOM); in the XLSX every text cell is stored as text, never as a
formula, so an organisation typed as ``=HYPERLINK(…)`` stays words.

Every export is written to the audit log (:func:`record_export`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from starlette.responses import Response

from events.models import Audience, Series, Topic
from reports import learning as learning_figures
from reports.forms import month_text, previous_month
from reports.services import DEFINITIONS, Figures, ReachQuery, ReachReport
from sala import audit
from sala.config import Settings
from sala.i18n import N_, format_datetime, format_month, gettext, pick
from sala.models import Role, StaffUser
from sala.responses import PRIVATE_HEADERS
from sala.spreadsheets import csv_response

if TYPE_CHECKING:  # a private module of openpyxl, for the type only
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FEWER_THAN = N_("Fewer than %(count)s")
TOTAL = N_("Total")
PEOPLE_NOTE = N_(
    "People do not add up: a person who came to several sessions counts once in each row "
    "and once in the total."
)
DEFINITIONS_SHEET = N_("Definitions")
SMALLEST_GROUP = N_("Smallest group shown by organisation, province, gender identity or age band")

Value = str | int | float
Table = list[list[Value]]

# ----------------------------------------------------------------------------- the table


def _figures(figures: Figures) -> list[Value]:
    return [figures.registrations, figures.attendances, figures.people]


def reach_table(report: ReachReport) -> Table:
    """The header, a row per group, the total, and the note that people do not add up."""
    hidden = gettext(FEWER_THAN, count=report.min_cell)
    table: Table = [
        [
            report.query.by.label,
            gettext(N_("Registrations")),
            gettext(N_("Attendances")),
            gettext(N_("People")),
        ]
    ]
    for row in report.rows:
        figures = _figures(row.figures) if row.figures is not None else [hidden] * 3
        table.append([row.label, *figures])
    table.append([gettext(TOTAL), *_figures(report.total)])
    table.append([gettext(PEOPLE_NOTE)])
    return table


LEARNING_SHEET = N_("Learning — %(breakdown)s")
HIDDEN_TO_PROTECT = N_("Hidden: with the total it would give a small group away")


def _share(value: float | None) -> Value:
    """A mean or a gain, to three decimals ("" where it is not defined)."""
    return "" if value is None else round(value, 3)


def learning_table(report: learning_figures.LearningReport) -> Table:
    """What people learned (:mod:`reports.learning`): the header, a row per group, the total;
    hidden figures in words. Without ratings (by sector), the note that says why."""
    offered = report.ratings_offered
    header: list[Value] = [
        report.by.label,
        gettext(N_("Both tests")),
        gettext(N_("Mean before")),
        gettext(N_("Mean after")),
        gettext(N_("Normalised gain")),
    ]
    if offered:
        header += [gettext(N_("Feedback responses")), gettext(N_("Mean rating (1–5)"))]
    table: Table = [header]
    for row in [*report.rows, report.total]:
        cells: list[Value] = [row.label]
        if row.tests is not None:
            tests = row.tests
            cells += [tests.pairs, _share(tests.pre_mean), _share(tests.post_mean)]
            cells.append(_share(tests.normalised_gain))
        else:
            cells += [_hidden(row.tests_hidden, report.min_cell)] * 4
        if offered and row.ratings is not None:
            cells += [row.ratings.responses, _share(row.ratings.mean_rating)]
        elif offered:
            cells += [_hidden(row.ratings_hidden, report.min_cell)] * 2
        table.append(cells)
    if not offered:
        table.append([gettext(learning_figures.NO_RATINGS_BY_SECTOR)])
    return table


def _hidden(reason: learning_figures.Hidden | None, min_cell: int) -> str:
    if reason == learning_figures.Hidden.PROTECTS:
        return gettext(HIDDEN_TO_PROTECT)
    return gettext(FEWER_THAN, count=min_cell)


def reach_csv(report: ReachReport) -> Response:
    """The table as a CSV attachment, through :func:`sala.spreadsheets.csv_response`."""
    return csv_response(reach_table(report), filename=export_filename(report.query, "csv"))


# ----------------------------------------------------------------------------- what was asked


def period_text(query: ReachQuery) -> str:
    """The period in words: "January 2025 – March 2025", one month, "From …", "Until …" or
    "All time" (the same words as the report page's heading)."""
    if query.start is None and query.end is None:
        return gettext(N_("All time"))
    if query.end is None:
        assert query.start is not None
        return gettext(N_("From %(month)s"), month=format_month(query.start))
    last = previous_month(query.end)
    if query.start is None:
        return gettext(N_("Until %(month)s"), month=format_month(last))
    if query.start == last:
        return format_month(last)
    return f"{format_month(query.start)} – {format_month(last)}"


_AUDIENCES = {Audience.PUBLIC.value: N_("Public"), Audience.INVITE_ONLY.value: N_("Invite only")}


async def describe_filters(query: ReachQuery, *, viewer: StaffUser) -> list[tuple[str, str]]:
    """The filters of a query in words (label, value), for the definitions sheet. Staff
    names are an admin's to read: a facilitator sees only their own."""
    lines: list[tuple[str, str]] = []
    if query.topic:
        topic = await Topic.get_or_none(code=query.topic)
        lines.append((gettext(N_("Topic")), topic.name if topic else query.topic))
    if query.series_id is not None:
        series = await Series.get_or_none(id=query.series_id)
        title = pick(series.title_km, series.title_en) if series else ""
        lines.append((gettext(N_("Series")), title or f"#{query.series_id}"))
    if query.facilitator_id is not None:
        staff = None
        if viewer.role == Role.ADMIN or viewer.id == query.facilitator_id:
            staff = await StaffUser.get_or_none(id=query.facilitator_id)
        lines.append(
            (gettext(N_("Facilitator")), staff.name if staff else f"#{query.facilitator_id}")
        )
    if query.audience:
        lines.append((gettext(N_("Audience")), gettext(_AUDIENCES[query.audience])))
    return lines


def _about(report: ReachReport, filters: Sequence[tuple[str, str]], made_at: str) -> Table:
    """What the tables are of: the period, the filters, the smallest group, when made."""
    table: Table = [[gettext(N_("Period")), period_text(report.query)]]
    table += [[label, value] for label, value in filters]
    table.append([gettext(SMALLEST_GROUP), report.min_cell])
    table.append([gettext(N_("Made on")), made_at])
    return table


def _meanings(min_cell: int) -> Table:
    """What every figure means (:data:`reports.services.DEFINITIONS`), under a heading."""
    table: Table = [[gettext(N_("Figure")), gettext(N_("Meaning"))]]
    for name, meaning in DEFINITIONS:
        table.append([_with_count(name, min_cell), _with_count(meaning, min_cell)])
    return table


def _with_count(message: str, count: int) -> str:
    return gettext(message, count=count) if "%(count)" in message else gettext(message)


# ----------------------------------------------------------------------------- XLSX

_FORBIDDEN_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31  # Excel's limit


def sheet_name(text: str, taken: set[str]) -> str:
    """A name Excel accepts: no ``[]:*?/\\``, at most 31 characters, unique (whatever the case)
    in the workbook."""
    base = _FORBIDDEN_IN_SHEET_NAMES.sub(" ", text).strip().strip("'") or "Sheet"
    name, n = base[:SHEET_NAME_MAX], 1
    while name.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def _cell(sheet: WriteOnlyWorksheet, value: Value, *, bold: bool = False) -> Cell:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # text, even when it starts with "=": never a formula
    else:
        cell = WriteOnlyCell(sheet, value)
    if bold:
        cell.font = Font(bold=True)
    return cell


def _write(
    sheet: WriteOnlyWorksheet,
    table: Table,
    *,
    bold_rows: set[int],
    widths: Sequence[float],
    wrap: bool = False,
) -> None:
    # A write-only sheet has column_dimensions (from Worksheet._setup); the stubs omit it.
    columns = sheet.column_dimensions  # type: ignore[attr-defined]
    for column, width in zip("ABCDEFG", widths, strict=False):
        columns[column].width = width
    for number, row in enumerate(table):
        cells = [_cell(sheet, value, bold=number in bold_rows) for value in row]
        if wrap:
            for cell in cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.append(cells)


def reach_xlsx(
    reports: Sequence[ReachReport],
    *,
    settings: Settings,
    filters: Sequence[tuple[str, str]] = (),
    learned: Sequence[learning_figures.LearningReport] = (),
) -> bytes:
    """One sheet per report (named after its breakdown), one per ``learned`` with rows (what
    people learned: :func:`learning_table`), then "Definitions": the period, ``filters`` (from
    :func:`describe_filters`), the smallest group shown, when it was made, and what every
    figure means. The reports share one period and one set of filters."""
    if not reports:
        raise ValueError("an export needs at least one report")
    learned = [figures for figures in learned if figures.rows]  # as the annex: no empty sheets
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "Sala"
    taken: set[str] = set()
    for report in reports:
        sheet = workbook.create_sheet(sheet_name(report.query.by.label, taken))
        table = reach_table(report)
        total_row = len(table) - 2
        _write(sheet, table, bold_rows={0, total_row}, widths=(40, 16, 16, 16))
        sheet.freeze_panes = "A2"
        sheet.print_title_rows = "1:1"
    for figures in learned:
        name = gettext(LEARNING_SHEET, breakdown=figures.by.label)
        sheet = workbook.create_sheet(sheet_name(name, taken))
        table = learning_table(figures)
        total_row = len(table) - (1 if figures.ratings_offered else 2)
        _write(sheet, table, bold_rows={0, total_row}, widths=(40, 14, 14, 14, 14, 14, 14))
        sheet.freeze_panes = "A2"
        sheet.print_title_rows = "1:1"
    when = format_datetime(datetime.now(settings.tz), settings.tz)
    about = _about(reports[0], filters, when)
    sheet = workbook.create_sheet(sheet_name(gettext(DEFINITIONS_SHEET), taken))
    table = [*about, [], *_meanings(reports[0].min_cell)]
    if learned:
        meanings = learning_figures.definitions(reports[0].min_cell)
        table += [[term, meaning] for term, meaning in meanings]
    _write(sheet, table, bold_rows={len(about) + 1}, widths=(32, 90), wrap=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(data: bytes, *, filename: str) -> Response:
    """An XLSX attachment, never stored by a cache."""
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={**PRIVATE_HEADERS, "content-disposition": f'attachment; filename="{filename}"'},
    )


def export_filename(query: ReachQuery, extension: str) -> str:
    """``reach-sector-2025-01-2025-03.xlsx``: ASCII only, the period as asked."""
    start = month_text(query.start) if query.start is not None else "start"
    end = month_text(previous_month(query.end)) if query.end is not None else "now"
    return f"reach-{query.by.value}-{start}-{end}.{extension}"


# ----------------------------------------------------------------------------- audit


async def record_export(viewer: StaffUser, query: ReachQuery, *, file_format: str) -> None:
    """The audit entry every export writes: the format, the period (``""``: open), the
    breakdown and the filters in use, as the report's query string has them."""
    details = {
        "format": file_format,
        "from": month_text(query.start) if query.start is not None else "",
        "to": month_text(previous_month(query.end)) if query.end is not None else "",
        "by": query.by.value,
    }
    filters = {
        "topic": query.topic,
        "series": query.series_id,
        "facilitator": query.facilitator_id,
        "audience": query.audience,
    }
    details.update({name: str(value) for name, value in filters.items() if value is not None})
    await audit.record(viewer, "report.export", viewer, details)
