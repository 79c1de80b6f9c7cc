"""The reach report's files, read back the way a partner's spreadsheet would read them.

Every XLSX is opened with openpyxl and every CSV with the csv module, and each cell is
compared with the JSON report of the same parameters (the history of test_reach.py), on
both databases.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from reports.services import Dimension
from sala.config import Settings
from sala.i18n import gettext, in_language
from sala.models import AuditEntry, Role, StaffUser
from tests.factories import (
    log_in,
    make_session,
    make_staff,
    move_session,
    register_person,
    token_for,
)
from tests.reports.test_reach import PERIOD, History

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA = '=HYPERLINK("http://evil.example/","Open me")'
NOTE = (
    "People do not add up: a person who came to several sessions counts once in each row "
    "and once in the total."
)
HEADER = ("Registrations", "Attendances", "People")


# ----------------------------------------------------------------------------- helpers


async def _json(
    client: httpx.AsyncClient, user: StaffUser, lang: str = "en", **params: str
) -> dict[str, Any]:
    answer = await client.get(
        "/api/v1/reports/reach",
        params={**params, "lang": lang},
        headers=await token_for(user),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _api_xlsx(
    client: httpx.AsyncClient,
    user: StaffUser,
    *,
    headers: dict[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    return await client.get(
        "/api/v1/reports/reach.xlsx",
        params=params,
        headers={**await token_for(user), **(headers or {})},
    )


def _workbook(answer: httpx.Response) -> Workbook:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    return load_workbook(io.BytesIO(answer.content))


async def _workbook_of_api(client: httpx.AsyncClient, user: StaffUser, **params: str) -> Workbook:
    return _workbook(await _api_xlsx(client, user, **params))


def _values(sheet: Worksheet) -> list[list[Any]]:
    """The sheet's rows as a spreadsheet shows them, without trailing empty cells."""
    rows = []
    for row in sheet.iter_rows(values_only=True):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        rows.append(cells)
    return rows


def _expected(
    report: dict[str, Any],
    *,
    label: str,
    header: tuple[str, ...] = HEADER,
    total: str = "Total",
    fewer: str = "Fewer than 5",
    note: str = NOTE,
) -> list[list[Any]]:
    """The table the JSON report says a sheet or a CSV must hold (English by default)."""
    rows: list[list[Any]] = []
    for row in report["rows"]:
        if row.get("suppressed"):
            rows.append([row["label"], fewer, fewer, fewer])
        else:
            rows.append([row["label"], row["registrations"], row["attendances"], row["people"]])
    figures = report["total"]
    return [
        [label, *header],
        *rows,
        [total, figures["registrations"], figures["attendances"], figures["people"]],
        [note],
    ]


def _csv_rows(answer: httpx.Response) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _as_text(table: list[list[Any]]) -> list[list[str]]:
    return [[str(cell) for cell in row] for row in table]


async def _exports_of(user: StaffUser) -> list[dict[str, Any]]:
    entries = await AuditEntry.filter(action="report.export", actor_id=user.id).order_by("id")
    return [entry.details for entry in entries]


# ----------------------------------------------------------------------------- XLSX, API


async def test_api_xlsx_matches_the_json_report_cell_by_cell(
    client: httpx.AsyncClient, history: History
) -> None:
    answer = await _api_xlsx(client, history.admin, by="sector", **PERIOD)
    assert answer.headers["content-disposition"] == (
        'attachment; filename="reach-sector-2025-01-2025-03.xlsx"'
    )
    book = _workbook(answer)
    assert book.sheetnames == ["Sector", "Definitions"]
    report = await _json(client, history.admin, by="sector", **PERIOD)
    assert _values(book["Sector"]) == _expected(report, label="Sector")
    # The hand-made history, as a partner reads it: numbers are numbers.
    assert _values(book["Sector"])[1] == ["Student", 2, 2, 1]
    assert _values(book["Sector"])[-2] == ["Total", 6, 4, 3]
    assert all(isinstance(cell, int) for cell in _values(book["Sector"])[-2][1:])


async def test_a_suppressed_row_shows_fewer_than_and_no_number(
    client: httpx.AsyncClient, history: History
) -> None:
    report = await _json(client, history.admin, by="province", **PERIOD)
    assert [row.get("suppressed") for row in report["rows"]] == [True, True]
    book = _workbook(await _api_xlsx(client, history.admin, by="province", **PERIOD))
    table = _values(book["Province"])
    assert table == _expected(report, label="Province")
    hidden = table[1:3]
    assert [row[0] for row in hidden] == ["Kandal", "Not given"]
    for row in hidden:
        assert row[1:] == ["Fewer than 5"] * 3
        assert not any(isinstance(cell, int | float) for cell in row)
    assert table[3] == ["Total", 6, 4, 3]


async def test_the_definitions_sheet_says_what_was_asked_and_what_every_figure_means(
    client: httpx.AsyncClient, history: History
) -> None:
    book = _workbook(
        await _api_xlsx(
            client, history.admin, by="sector", topic="sogie", audience="public", **PERIOD
        )
    )
    table = _values(book["Definitions"])
    about = {row[0]: row[1] for row in table[: table.index([])]}
    assert about["Period"] == "January 2025 – March 2025"
    assert about["Topic"] == "SOGIE"
    assert about["Audience"] == "Public"
    assert about["Smallest group shown by organisation, province, gender identity or age band"] == 5
    assert str(datetime.now(ZoneInfo("Asia/Phnom_Penh")).year) in about["Made on"]
    meanings = table[table.index([]) + 1 :]
    assert meanings[0] == ["Figure", "Meaning"]
    figures = {row[0]: row[1] for row in meanings[1:]}
    assert list(figures) == [
        "Sessions", "Registrations", "Attendances", "People", "First time or returning",
        "Fewer than 5",
    ]  # fmt: skip
    assert "do not add up to the total" in figures["People"]
    assert "fewer than 5 people" in figures["Fewer than 5"]
    assert "%(" not in str(table)
    every_time = _values(
        _workbook(await _api_xlsx(client, history.admin, by="sector"))["Definitions"]
    )
    assert every_time[0] == ["Period", "All time"]


async def test_the_xlsx_is_in_khmer_when_the_request_is(
    client: httpx.AsyncClient, history: History
) -> None:
    answer = await _api_xlsx(client, history.admin, headers={"accept-language": "km"}, by="sector")
    book = _workbook(answer)
    with in_language("km"):  # (some of these wait for the lead's merge of translations)
        header = tuple(gettext(name) for name in HEADER)
        note, definitions = gettext(NOTE), gettext("Definitions")
    assert book.sheetnames == ["វិស័យ", definitions]
    report = await _json(client, history.admin, lang="km", by="sector")
    assert report["rows"][0]["label"] != "Student"  # the labels are Khmer too
    table = _values(book["វិស័យ"])
    assert table == _expected(report, label="វិស័យ", header=header, total="សរុប", note=note)
    assert table[0][1] == "ការចុះឈ្មោះ"


# ----------------------------------------------------------------------------- the pages' files


async def test_the_page_xlsx_holds_every_breakdown_chosen_first(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    answer = await client.get(
        "/staff/reports/reach.xlsx", params={"by": "topic", "lang": "en", **PERIOD}
    )
    book = _workbook(answer)
    others = [d for d in Dimension if d != Dimension.TOPIC]
    with in_language("en"):
        names = [Dimension.TOPIC.label, *(d.label for d in others)]
    assert book.sheetnames == [*names, "Definitions"]
    for dimension, name in zip([Dimension.TOPIC, *others], names, strict=True):
        report = await _json(client, history.admin, by=dimension.value, **PERIOD)
        assert _values(book[name]) == _expected(report, label=name), dimension
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in book.sheetnames)


async def test_the_page_xlsx_in_khmer_names_its_sheets_within_excel_rules(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    answer = await client.get("/staff/reports/reach.xlsx", params={"by": "age_band", "lang": "km"})
    book = _workbook(answer)
    with in_language("km"):
        first = Dimension.AGE_BAND.label  # ក្រុមអាយុ, once the lead's translations are merged
    assert len(book.sheetnames) == len(Dimension) + 1
    assert book.sheetnames[0] == first and "វិស័យ" in book.sheetnames
    assert len(set(book.sheetnames)) == len(book.sheetnames)
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in book.sheetnames)
    report = await _json(client, history.admin, lang="km", by="age_band")
    assert [row[0] for row in _values(book[first])[1:-2]] == [
        row["label"] for row in report["rows"]
    ]


async def test_the_page_csv_matches_the_json_report(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    for by in ("returning", "province"):
        answer = await client.get(
            "/staff/reports/reach.csv", params={"by": by, "lang": "en", **PERIOD}
        )
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="reach-{by}-2025-01-2025-03.csv"'
        )
        report = await _json(client, history.admin, by=by, **PERIOD)
        label = "First time or returning" if by == "returning" else "Province"
        assert _csv_rows(answer) == _as_text(_expected(report, label=label))
    khmer = await client.get("/staff/reports/reach.csv", params={"by": "sector", "lang": "km"})
    assert _csv_rows(khmer)[0][:2] == ["វិស័យ", "ការចុះឈ្មោះ"]


# ----------------------------------------------------------------------------- access and audit


async def test_who_may_export(client: httpx.AsyncClient, history: History) -> None:
    leader = await make_staff(Role.TEAM_LEADER)
    assert (await _api_xlsx(client, leader, by="sector")).status_code == 403
    anonymous = await client.get("/api/v1/reports/reach.xlsx", params={"by": "sector"})
    assert anonymous.status_code == 401
    for path in ("/staff/reports/reach.xlsx", "/staff/reports/reach.csv"):
        redirected = await client.get(path, params={"by": "sector"})
        assert redirected.status_code == 303
        assert redirected.headers["location"].startswith("/staff/login")
    await log_in(client, leader)
    for path in ("/staff/reports/reach.xlsx", "/staff/reports/reach.csv"):
        assert (await client.get(path, params={"by": "sector"})).status_code == 403
    assert await AuditEntry.filter(action="report.export").count() == 0


async def test_a_facilitators_export_holds_only_their_sessions(
    client: httpx.AsyncClient, history: History
) -> None:
    mine = _workbook(await _api_xlsx(client, history.facilitator, by="sector", **PERIOD))
    assert _values(mine["Sector"]) == [
        ["Sector", *HEADER],
        ["Student", 1, 1, 1],
        ["Private company", 1, 1, 1],
        ["Total", 2, 2, 2],
        [NOTE],
    ]
    # Another staff member's name is an admin's to read, even in the definitions.
    other = str(history.admin.id)
    filtered = _workbook(
        await _api_xlsx(client, history.facilitator, by="sector", facilitator=other)
    )
    assert ["Facilitator", f"#{other}"] in _values(filtered["Definitions"])
    await log_in(client, history.facilitator)
    page = _workbook(
        await client.get("/staff/reports/reach.xlsx", params={"by": "month", "lang": "en"})
    )
    assert _values(page["Month"])[1:-1] == [["February 2025", 2, 2, 2], ["Total", 2, 2, 2]]
    csv_rows = _csv_rows(
        await client.get("/staff/reports/reach.csv", params={"by": "topic", "lang": "en"})
    )
    assert csv_rows[-2] == ["Total", "2", "2", "2"]


async def test_every_export_is_written_to_the_audit_log(
    client: httpx.AsyncClient, history: History
) -> None:
    await _workbook_of_api(client, history.admin, by="sector", topic="sogie", **PERIOD)
    await log_in(client, history.admin)
    await client.get("/staff/reports/reach.xlsx", params={"by": "province", "from": "2025-02"})
    await client.get("/staff/reports/reach.csv", params={"by": "month"})
    assert await _exports_of(history.admin) == [
        {"format": "xlsx", "from": "2025-01", "to": "2025-03", "by": "sector", "topic": "sogie"},
        {"format": "xlsx", "from": "2025-02", "to": "", "by": "province"},
        {"format": "csv", "from": "", "to": "", "by": "month"},
    ]
    entry = await AuditEntry.filter(action="report.export").first()
    assert entry is not None and entry.object_type == "StaffUser"


async def test_bad_parameters_are_a_clear_422_and_no_export(
    client: httpx.AsyncClient, history: History
) -> None:
    answer = await _api_xlsx(client, history.admin, by="shoe_size", **{"from": "2025-13"})
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) == {"by", "from"}
    await log_in(client, history.admin)
    for path in ("/staff/reports/reach.xlsx", "/staff/reports/reach.csv"):
        page = await client.get(path, params={"by": "sector", "from": "2025-05", "to": "2025-01"})
        assert page.status_code == 422
        assert page.headers["content-type"].startswith("text/html")
        assert "This report cannot be downloaded" in page.text
    assert await AuditEntry.filter(action="report.export").count() == 0


# ----------------------------------------------------------------------------- formulas


@pytest.fixture
async def formula_organisation(history: History, settings: Settings) -> History:
    """Six people typed a spreadsheet formula as their organisation, in March 2025, and five
    named another. The history's "not given" row is small (3 people), so one more row is
    hidden with it: the smaller one. A hidden organisation loses its name."""
    march = await make_session(topic="sogie")
    for _ in range(6):
        await register_person(march, settings, organisation=FORMULA, sector="ngo")
    for _ in range(5):
        await register_person(march, settings, organisation="Youth Network", sector="ngo")
    await move_session(march, datetime(2025, 3, 5, 9, tzinfo=ZoneInfo("Asia/Phnom_Penh")))
    return history


async def test_a_formula_typed_as_an_organisation_stays_text(
    client: httpx.AsyncClient, formula_organisation: History
) -> None:
    admin = formula_organisation.admin
    report = await _json(client, admin, by="organisation", **PERIOD)
    labels = [row["label"] for row in report["rows"]]
    assert FORMULA in labels and "Youth Network" not in labels
    answer = await _api_xlsx(client, admin, by="organisation", **PERIOD)
    book = _workbook(answer)
    sheet = book["Organisation"]
    cells = [row[0] for row in sheet.iter_rows() if row[0].value == FORMULA]
    assert len(cells) == 1 and cells[0].data_type == "s"  # a string, not a formula
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert not any(b"<f>" in archive.read(name) for name in sheets)
    await log_in(client, admin)
    rows = _csv_rows(
        await client.get(
            "/staff/reports/reach.csv", params={"by": "organisation", "lang": "en", **PERIOD}
        )
    )
    labels = [row[0] for row in rows]
    assert "'" + FORMULA in labels and FORMULA not in labels


async def test_the_xlsx_route_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/reports/reach.xlsx"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"from", "to", "by", "topic"} <= names
    assert operation["security"] == [{"bearer": []}]
    assert {"401", "403", "422"} <= set(operation["responses"])
