"""The staff report page, its SVG charts and the printable donor annex, on both databases,
on the hand-made history of ``test_reach.py`` (January–February 2025)."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from sala.models import AuditEntry, Role
from tests.factories import log_in, make_staff
from tests.reports.test_reach import History  # the fixture ``history``: conftest.py

PERIOD = "from=2025-01&to=2025-03"
SVG = "{http://www.w3.org/2000/svg}"


async def _page(client: httpx.AsyncClient, query: str, *, status: int = 200) -> str:
    answer = await client.get(f"/staff/reports?{query}")
    assert answer.status_code == status, answer.text
    assert not re.search(r"\sstyle=", answer.text)  # the CSP forbids inline styles
    return answer.text


def _between(page: str, start: str, end: str) -> str:
    found = re.search(re.escape(start) + r"(.*?)" + re.escape(end), page, re.DOTALL)
    assert found, f"no {start!r} on the page"
    return found.group(1)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _table(page: str, table_id: str) -> tuple[list[list[str]], list[str]]:
    """The body's rows (label and cells, as read on screen) and the total row."""
    table = _between(page, f'<table class="reach" id="{table_id}"', "</table>")
    body = _between(table, "<tbody>", "</tbody>")
    rows = [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]
    total = re.findall(r"<td[^>]*>(.*?)</td>", _between(table, "<tfoot>", "</tfoot>"))
    return rows, total


def _charts(page: str) -> dict[str, ET.Element]:
    """Every chart of the page, parsed as XML (so each one is well-formed), by its id."""
    charts = {}
    for svg in re.findall(r"<svg\b.*?</svg>", page, re.DOTALL):
        element = ET.fromstring(svg)  # noqa: S314 - our own page, under test
        assert element.tag == f"{SVG}svg" and element.get("role") == "img"
        title = element.find(f"{SVG}title")
        assert title is not None and title.text
        assert element.get("aria-labelledby") == title.get("id")
        charts[element.get("id", "")] = element
    return charts


def _bars(chart: ET.Element) -> list[tuple[str, str, bool]]:
    """Each row of a chart: its label, the value written, whether a bar is drawn."""
    found = []
    for group in chart.iter(f"{SVG}g"):
        texts = [text.text or "" for text in group.iter(f"{SVG}text")]
        found.append((" ".join(texts[:-1]), texts[-1], group.find(f"{SVG}rect") is not None))
    return found


async def test_the_page_shows_every_figure_of_the_history(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    page = await _page(client, f"by=sector&{PERIOD}")
    rows, total = _table(page, "reach-table")
    assert rows == [
        ["Student", "2", "2", "1"],
        ["NGO", "2", "1", "1"],
        ["Government", "1", "0", "0"],
        ["Private company", "1", "1", "1"],
    ]
    assert total == ["6", "4", "3"]
    assert "People do not add up: a person who came to several sessions" in page
    assert "January 2025 – March 2025" in page
    for term in ("Registrations", "Attendances", "People", "Fewer than 5"):
        assert f"<dt>{term}</dt>" in page  # the definitions
    # The downloads and the printable page have the report's own query.
    links = dict(
        re.findall(r'href="(/staff/reports/(?:reach\.xlsx|reach\.csv|print))\?([^"]+)"', page)
    )
    assert set(links) == {
        "/staff/reports/reach.xlsx",
        "/staff/reports/reach.csv",
        "/staff/reports/print",
    }
    for query in links.values():
        assert parse_qs(html.unescape(query)) == {
            "from": ["2025-01"],
            "to": ["2025-03"],
            "by": ["sector"],
        }
    csv = await client.get(
        "/staff/reports/reach.csv?" + html.unescape(links["/staff/reports/reach.csv"])
    )
    assert csv.status_code == 200 and "Private company" in csv.text
    # The staff navigation leads here.
    assert '<a href="/staff/reports">Reports</a>' in page


async def test_filters_and_quick_periods(client: httpx.AsyncClient, history: History) -> None:
    await log_in(client, history.admin)
    sogie = await _page(client, f"by=month&topic=sogie&{PERIOD}")
    assert _table(sogie, "reach-table") == ([["January 2025", "4", "2", "2"]], ["4", "2", "2"])
    theirs = await _page(client, f"by=topic&facilitator={history.facilitator.id}&{PERIOD}")
    assert _table(theirs, "reach-table")[1] == ["2", "2", "2"]
    everything = await _page(client, "by=sector&from=&to=")
    assert _table(everything, "reach-table")[1] == ["6", "4", "3"]
    assert "All time" in everything
    # Without a period the page opens on this year: nothing happened in it.
    this_year = await _page(client, "")
    assert _table(this_year, "reach-table")[1] == ["0", "0", "0"]
    assert 'class="current">This year</a>' in this_year
    quick = dict(
        (text, html.unescape(link))
        for link, text in re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a></li>', theirs)
    )
    assert set(quick) == {
        "This month", "Previous month", "This quarter", "Previous quarter", "This year",
        "Previous year", "All time",
    }  # fmt: skip
    kept = parse_qs(urlsplit(quick["Previous year"]).query)
    assert kept["facilitator"] == [str(history.facilitator.id)] and kept["by"] == ["topic"]


async def test_a_small_group_reads_fewer_than_5_and_no_hidden_figure_is_anywhere(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    page = await _page(client, f"by=province&{PERIOD}")
    rows, total = _table(page, "reach-table")
    fewer = "Fewer than 5"
    assert rows == [
        ["Kandal (figures hidden to protect small groups)", fewer],  # one cell for the three
        ["Not given (figures hidden to protect small groups)", fewer],
    ]
    assert total == ["6", "4", "3"]
    breakdown = _charts(page)["chart-breakdown"]
    assert _bars(breakdown) == [("Kandal", fewer, False), ("Not given", fewer, False)]
    # The hidden rows held 1, 1, 1 and 5, 3, 3. The results (below the form), without the
    # charts by month and by sector and the total, whose figures are meant to be seen, carry
    # no number in words or attributes but the period's year and the 5 of "fewer than 5".
    results = page[page.index('<section class="report-figures"') : page.index("</main>")]
    results = re.sub(r'<svg[^>]*id="chart-(month|sector)".*?</svg>', "", results, flags=re.DOTALL)
    results = re.sub(r"<tfoot>.*?</tfoot>", "", results, flags=re.DOTALL)
    results = re.sub(r'<svg[^>]*id="chart-breakdown"[^>]*>', "<svg>", results)  # its size
    results = re.sub(r'<text x="0" y="\d+" fill="#\w+"', "<text", results)  # place, colour
    results = re.sub(fewer, "", results, flags=re.IGNORECASE)
    attributes = re.findall(r'(?<!tabindex)(?<!colspan)="([^"]*)"', results)
    words = _text(results) + " " + " ".join(attributes)
    assert set(re.findall(r"\d+", words)) == {"2025", "01", "03"}


async def test_the_charts_are_well_formed_svg_with_a_bar_per_row(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    page = await _page(client, f"by=topic&{PERIOD}")
    charts = _charts(page)
    assert set(charts) == {"chart-month", "chart-sector", "chart-breakdown"}
    assert _bars(charts["chart-month"]) == [
        ("January 2025", "2", True),
        ("February 2025", "2", True),
        ("March 2025", "0", False),  # every month of the period, none left out
    ]
    assert _bars(charts["chart-sector"]) == [
        ("Student", "2", True),
        ("NGO", "1", True),
        ("Government", "0", False),
        ("Private company", "1", True),
    ]
    rows, _total = _table(page, "reach-table")
    assert [bar[0] for bar in _bars(charts["chart-breakdown"])] == [row[0] for row in rows]
    widths = [float(rect.get("width", "0")) for rect in charts["chart-sector"].iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1] == 2 * widths[2]  # the bars' lengths follow the figures
    desc = charts["chart-sector"].find(f"{SVG}desc")
    assert desc is not None and desc.text == "Student: 2; NGO: 1; Government: 0; Private company: 1"
    # By sector (or month) the breakdown's chart is that one, not drawn twice.
    assert set(_charts(await _page(client, f"by=sector&{PERIOD}"))) == {
        "chart-month",
        "chart-sector",
    }


async def test_bad_parameters_show_the_form_again_with_messages(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    page = await _page(client, "by=shoe_size&from=2025-13&to=2025-02&audience=all", status=422)
    for field in ("by", "from", "audience"):
        assert f'id="{field}-error"' in page
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page)
    assert "Give a month as YYYY-MM, e.g. 2026-01." in page
    assert 'value="2025-13"' in page  # what was typed stays
    assert 'id="reach-table"' not in page and "<svg" not in page
    backwards = await _page(client, "by=sector&from=2025-05&to=2025-01", status=422)
    assert "The last month must not come before the first." in backwards


async def test_who_may_see_the_reports(
    client: httpx.AsyncClient, history: History, new_client: Callable[[], httpx.AsyncClient]
) -> None:
    anonymous = await client.get(f"/staff/reports?by=sector&{PERIOD}")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/staff/login?next=")
    assert (await client.get("/staff/reports/print")).status_code == 303
    leader = await make_staff(Role.TEAM_LEADER)
    async with new_client() as other:
        await log_in(other, leader)
        assert (await other.get("/staff/reports")).status_code == 403
        assert (await other.get("/staff/reports/print")).status_code == 403
        assert 'href="/staff/reports"' not in (await other.get("/staff/sessions")).text


async def test_a_facilitator_sees_only_their_sessions(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.facilitator)
    page = await _page(client, f"by=sector&{PERIOD}&facilitator={history.admin.id}")
    assert _table(page, "reach-table") == (
        [["Student", "1", "1", "1"], ["Private company", "1", "1", "1"]],
        ["2", "2", "2"],
    )
    assert 'name="facilitator"' not in page and "facilitator=" not in page
    assert "across the sessions you run" in page
    annex = await client.get(f"/staff/reports/print?{PERIOD}")
    assert annex.status_code == 200
    assert _table(annex.text, "table-month") == (
        [["February 2025", "2", "2", "2"]],
        ["2", "2", "2"],
    )


async def test_the_page_in_khmer(client: httpx.AsyncClient, history: History) -> None:
    await log_in(client, history.admin)
    page = await _page(client, f"by=month&{PERIOD}&lang=km")
    assert '<html lang="km">' in page
    assert "ការចុះឈ្មោះ" in page  # "Registrations"
    rows, _total = _table(page, "reach-table")
    assert [row[0] for row in rows] == ["មករា 2025", "កុម្ភៈ 2025"]
    assert [bar[0] for bar in _bars(_charts(page)["chart-month"])] == [
        "មករា 2025", "កុម្ភៈ 2025", "មីនា 2025"
    ]  # fmt: skip


async def test_the_print_page_has_every_breakdown_and_is_audited(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    answer = await client.get(f"/staff/reports/print?{PERIOD}&topic=sogie")
    assert answer.status_code == 200
    page = answer.text
    assert not re.search(r"\sstyle=", page)
    for by in (
        "sector", "organisation", "province", "month", "topic", "returning",
        "gender_identity", "age_band",
    ):  # fmt: skip
        _table(page, f"table-{by}")
    assert _table(page, "table-sector")[1] == ["4", "2", "2"]
    assert set(_charts(page)) == {"chart-month", "chart-sector"}
    assert "CLGBT" in page and "January 2025 – March 2025" in page and "SOGIE" in page
    assert "Made on" in page and "<dt>People</dt>" in page
    assert page.count('class="annex-section"') == 9  # a page each: 8 tables, the definitions
    entry = await AuditEntry.get(action="report.export", actor_id=history.admin.id)
    assert entry.details["format"] == "print"
    assert (entry.details["from"], entry.details["to"], entry.details["topic"]) == (
        "2025-01", "2025-03", "sogie"
    )  # fmt: skip
    bad = await client.get("/staff/reports/print?from=2025-13")
    assert bad.status_code == 422
    assert await AuditEntry.filter(action="report.export").count() == 1
