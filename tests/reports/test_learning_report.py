"""What people learned, on the reach report: every cell of the learning figures for hand-made
tests and feedback, their suppression and scoping, and the page's section, on both databases.

The history (January–February 2025, moved into the past after it was made):

- January, SOGIE (run by an admin): a 4-question test before and after. Dara (student) 1
  then 3 right, Sophea (NGO) 2 then 4, Vanna (NGO) took only the test before (0). Feedback
  ratings 5, 4 and 3.
- February, human rights, run by the facilitator: parallel forms, 5 questions before and 4
  after. Kosal (private company) 2 then 3, Thida (student) 1 then 4, Bopha (student) only the
  test after (4). Feedback ratings 2 and 4.
- Never counted: a draft session with both tests and feedback, and Chenda (NGO), who took both
  tests in January and then cancelled.

The test's page runs with ``SALA_REPORT_MIN_CELL`` = 2.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from tortoise import connections

from attendees.registration import cancel_registration
from events.models import Session, SessionStatus, Topic
from learning.models import Attempt, FeedbackResponse, LearningTest, Phase
from reports import exports, services
from reports import learning as learning_module
from reports.learning import (
    Hidden,
    LearningReport,
    LearningRow,
    Ratings,
    Tests,
    hidden_rows,
    learning_report,
    statements,
)
from reports.services import Dimension, ReachQuery
from sala import db
from sala.config import Settings
from sala.i18n import gettext, in_language
from sala.models import Role, StaffUser
from tests.conftest import make_settings
from tests.factories import log_in, make_session, make_staff, move_session, register_person
from tests.sala.test_hand_written_sql import Table, problems, tables  # noqa: F401 - a fixture

ZONE = ZoneInfo("Asia/Phnom_Penh")
PERIOD = ReachQuery(start=date(2025, 1, 1), end=date(2025, 4, 1), by=Dimension.TOPIC)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(tmp_path, database_url, SALA_REPORT_MIN_CELL="2")


class History:
    def __init__(self, admin: StaffUser, facilitator: StaffUser, other: StaffUser) -> None:
        self.admin = admin
        self.facilitator = facilitator
        self.other = other  # a facilitator of none of these sessions


async def _attempt(outcome: Any, test: LearningTest, phase: Phase, score: int, most: int) -> None:
    registration = outcome.registration
    await Attempt.create(
        registration_id=registration.id,
        session_id=registration.session_id,
        phase=phase,
        test=test,
        score=score,
        max_score=most,
        submitted_at=datetime.now(UTC),
    )


@pytest.fixture
async def history(client: httpx.AsyncClient, settings: Settings) -> History:
    admin = await make_staff(Role.ADMIN)
    facilitator = await make_staff(Role.FACILITATOR)
    other = await make_staff(Role.FACILITATOR)
    january = await make_session(topic="sogie", capacity="10")
    february = await make_session(topic="human_rights", capacity="10", facilitators=(facilitator,))
    draft = await make_session(topic="sogie", capacity="10")
    sogie = await LearningTest.create(topic=await Topic.get(code="sogie"), name_en="SOGIE")
    rights = await Topic.get(code="human_rights")
    before = await LearningTest.create(topic=rights, name_en="Rights, before")
    after = await LearningTest.create(topic=rights, name_en="Rights, after")

    async def person(session: Session, name: str, sector: str) -> Any:
        return await register_person(session, settings, email=f"{name}@example.org", sector=sector)

    dara = await person(january, "dara", "student")
    sophea = await person(january, "sophea", "ngo")
    vanna = await person(january, "vanna", "ngo")
    chenda = await person(january, "chenda", "ngo")
    for outcome, pre, post in [(dara, 1, 3), (sophea, 2, 4), (vanna, 0, None), (chenda, 0, 4)]:
        await _attempt(outcome, sogie, Phase.PRE, pre, 4)
        if post is not None:
            await _attempt(outcome, sogie, Phase.POST, post, 4)
    await cancel_registration(chenda.registration.id, settings=settings, actor=None)
    kosal = await person(february, "kosal", "private")
    thida = await person(february, "thida", "student")
    bopha = await person(february, "bopha", "student")
    for outcome, pre, post in [(kosal, 2, 3), (thida, 1, 4), (bopha, None, 4)]:
        if pre is not None:
            await _attempt(outcome, before, Phase.PRE, pre, 5)
        await _attempt(outcome, after, Phase.POST, post, 4)
    for session, ratings in [(january, (5, 4, 3)), (february, (2, 4)), (draft, (1, 1, 1))]:
        for rating in ratings:
            await FeedbackResponse.create(session=session, day=date(2025, 1, 15), rating=rating)
    for name in ("d1", "d2"):
        hidden = await person(draft, name, "student")
        await _attempt(hidden, sogie, Phase.PRE, 0, 4)
        await _attempt(hidden, sogie, Phase.POST, 0, 4)
    await Session.filter(id=draft.id).update(status=SessionStatus.DRAFT)

    await move_session(january, datetime(2025, 1, 15, 9, tzinfo=ZONE))
    await move_session(february, datetime(2025, 2, 10, 9, tzinfo=ZONE))
    await move_session(draft, datetime(2025, 1, 20, 9, tzinfo=ZONE))
    return History(admin, facilitator, other)


Cells = tuple[Any, ...]


def _tests(tests: Tests | None) -> Cells | None:
    if tests is None:
        return None
    figures = (tests.pre_mean, tests.post_mean, tests.normalised_gain)
    return (tests.pairs, *(None if value is None else round(value, 6) for value in figures))


def _ratings(ratings: Ratings | None) -> Cells | None:
    return None if ratings is None else (ratings.responses, ratings.mean_rating)


def _cells(report: LearningReport) -> dict[str, tuple[Cells | None, Cells | None]]:
    rows = [*report.rows, report.total]
    return {row.key or "total": (_tests(row.tests), _ratings(row.ratings)) for row in rows}


async def _report(
    viewer: StaffUser, by: Dimension, *, min_cell: int = 1, **filters: Any
) -> LearningReport:
    query = replace(PERIOD, by=by, **filters)
    with in_language("en"):
        return await learning_report(query, viewer=viewer, tz=ZONE, min_cell=min_cell)


def g(pre: float, post: float) -> float:
    return round((post - pre) / (1 - pre), 6)


# Fractions: Dara .25 → .75, Sophea .5 → 1, Kosal .4 → .75, Thida .2 → 1.
TOTAL_TESTS = (4, 0.3375, 0.875, g(0.3375, 0.875))


async def test_by_topic_every_cell(client: httpx.AsyncClient, history: History) -> None:
    report = await _report(history.admin, Dimension.TOPIC)
    assert report.ratings_offered
    assert _cells(report) == {
        "sogie": ((2, 0.375, 0.875, 0.8), (3, 4.0)),  # Vanna (one test) and Chenda left out
        "human_rights": ((2, 0.3, 0.875, g(0.3, 0.875)), (2, 3.0)),  # Bopha left out
        "total": (TOTAL_TESTS, (5, 3.6)),
    }
    assert [row.label for row in report.rows] == ["Human rights", "SOGIE"]
    assert [row.label for row in report.rows] == sorted(row.label for row in report.rows)


async def test_by_month_every_cell(client: httpx.AsyncClient, history: History) -> None:
    report = await _report(history.admin, Dimension.MONTH)
    assert _cells(report) == {
        "2025-01": ((2, 0.375, 0.875, 0.8), (3, 4.0)),
        "2025-02": ((2, 0.3, 0.875, g(0.3, 0.875)), (2, 3.0)),
        "total": (TOTAL_TESTS, (5, 3.6)),
    }
    assert [row.label for row in report.rows] == ["January 2025", "February 2025"]
    only_january = await _report(history.admin, Dimension.MONTH, end=date(2025, 2, 1))
    assert set(_cells(only_january)) == {"2025-01", "total"}


async def test_by_sector_every_cell_and_no_ratings(
    client: httpx.AsyncClient, history: History
) -> None:
    report = await _report(history.admin, Dimension.SECTOR)
    assert not report.ratings_offered
    assert _cells(report) == {
        "student": ((2, 0.225, 0.875, g(0.225, 0.875)), None),  # Dara and Thida
        "ngo": ((1, 0.5, 1.0, 1.0), None),  # Sophea
        "private": ((1, 0.4, 0.75, g(0.4, 0.75)), None),  # Kosal
        "total": (TOTAL_TESTS, None),
    }
    assert [row.key for row in report.rows] == ["student", "ngo", "private"]
    assert all(row.ratings is None and row.ratings_hidden is None for row in report.rows)
    # Not even asked: the feedback has no registration to take a sector from.
    sqls = statements(report.query, viewer=history.admin, tz=ZONE, dialect="sqlite").all()
    assert len(sqls) == 3 and not any("learning_feedback" in sql for sql, _ in sqls)


async def test_filters_narrow_the_figures(client: httpx.AsyncClient, history: History) -> None:
    sogie = await _report(history.admin, Dimension.MONTH, topic="sogie")
    assert _cells(sogie) == {
        "2025-01": ((2, 0.375, 0.875, 0.8), (3, 4.0)),
        "total": ((2, 0.375, 0.875, 0.8), (3, 4.0)),
    }
    run_by = await _report(history.admin, Dimension.TOPIC, facilitator_id=history.facilitator.id)
    assert set(_cells(run_by)) == {"human_rights", "total"}


async def test_a_facilitator_sees_only_their_sessions(
    client: httpx.AsyncClient, history: History
) -> None:
    theirs = await _report(history.facilitator, Dimension.TOPIC)
    february = ((2, 0.3, 0.875, g(0.3, 0.875)), (2, 3.0))
    assert _cells(theirs) == {"human_rights": february, "total": february}
    # Asking for another facilitator's sessions does not widen it: both conditions hold.
    asked = await _report(history.facilitator, Dimension.SECTOR, facilitator_id=history.admin.id)
    assert asked.rows == [] and asked.total.tests == Tests(0, 0, None, None, None)
    nobody = await _report(history.other, Dimension.MONTH)
    assert nobody.rows == []
    assert nobody.total.tests is not None and nobody.total.tests.pairs == 0
    assert nobody.total.ratings == Ratings(0, None)


async def test_small_cells_read_fewer_than_and_the_total_gives_none_back(
    client: httpx.AsyncClient, history: History
) -> None:
    # By sector, 2 people at least: the NGO and the private company (one each) are hidden;
    # together they are 2, so the total minus the student row gives back no small group.
    by_sector = await _report(history.admin, Dimension.SECTOR, min_cell=2)
    assert {row.key: row.tests_hidden for row in by_sector.rows} == {
        "student": None, "ngo": Hidden.SMALL, "private": Hidden.SMALL,
    }  # fmt: skip
    assert _tests(by_sector.rows[0].tests) == (2, 0.225, 0.875, g(0.225, 0.875))
    assert _tests(by_sector.total.tests) == TOTAL_TESTS
    # By month, 3 at least: both months' tests are small (2 people each), the total is not.
    # February's 2 responses are small; alone, the total (5) minus January (3) would give
    # them back, so January's feedback is hidden too.
    by_month = await _report(history.admin, Dimension.MONTH, min_cell=3)
    # February's 2 responses are fewer than 3: its session's own results page does not show
    # them, so they count nowhere (a row minus the others would give them back); January's 3
    # do, and the total is January's alone.
    assert [(row.tests_hidden, row.ratings_hidden) for row in by_month.rows] == [
        (Hidden.SMALL, None),
        (Hidden.SMALL, None),
    ]
    assert [_ratings(row.ratings) for row in by_month.rows] == [(3, 4.0), (0, None)]
    assert all(row.tests is None for row in by_month.rows)
    assert _cells(by_month)["total"] == (TOTAL_TESTS, (3, 4.0))
    # 5 at least: the total's tests (4 people) are hidden too; no session has 5 responses,
    # so no rating counts.
    by_topic = await _report(history.admin, Dimension.TOPIC, min_cell=5)
    assert by_topic.total.tests is None and by_topic.total.tests_hidden == Hidden.SMALL
    assert _ratings(by_topic.total.ratings) == (0, None)
    assert [_ratings(row.ratings) for row in by_topic.rows] == [(0, None), (0, None)]
    # 6: every figure is hidden.
    none = await _report(history.admin, Dimension.TOPIC, min_cell=6)
    assert none.total.tests is None and _ratings(none.total.ratings) == (0, None)


def test_hidden_rows_keep_hiding_until_the_hidden_ones_are_big_enough_together() -> None:
    # One small row: the smallest other row goes too.
    assert hidden_rows([10, 1, 6], [False, True, False], total_shown=True, min_cell=5) == {
        1: Hidden.SMALL, 2: Hidden.PROTECTS,
    }  # fmt: skip
    # Two small rows of 1 and 2: their pooled mean (3 people) would be given back.
    assert hidden_rows([1, 2, 9, 7], [True, True, False, False], total_shown=True, min_cell=5) == {
        0: Hidden.SMALL, 1: Hidden.SMALL, 3: Hidden.PROTECTS,
    }  # fmt: skip
    # Small rows that are enough together: nothing more.
    assert hidden_rows([3, 4, 9], [True, True, False], total_shown=True, min_cell=5) == {
        0: Hidden.SMALL, 1: Hidden.SMALL,
    }  # fmt: skip
    # A total that is hidden itself gives nothing back; rows of nobody are never taken.
    assert hidden_rows([1, 9], [True, False], total_shown=False, min_cell=5) == {0: Hidden.SMALL}
    assert hidden_rows([1, 0], [True, False], total_shown=True, min_cell=5) == {0: Hidden.SMALL}


def test_a_row_is_small_by_its_different_people_not_its_pairs() -> None:
    """One person with both tests at three sessions is three pairs, and still one person."""
    one = LearningRow("2025-01", "January", Tests(3, 1, 0.5, 1.0, 1.0), None)
    many = LearningRow("2025-02", "February", Tests(6, 6, 0.5, 1.0, 1.0), None)
    total = LearningRow("", "Total", Tests(9, 7, 0.5, 1.0, 1.0), None)
    rows, _total = learning_module._suppress_tests([one, many], total, min_cell=2)
    assert [row.tests_hidden for row in rows] == [Hidden.SMALL, Hidden.PROTECTS]


async def test_another_breakdown_is_refused(client: httpx.AsyncClient, history: History) -> None:
    assert learning_module.breakdown_for(Dimension.ORGANISATION) == Dimension.TOPIC
    assert learning_module.breakdown_for(Dimension.SECTOR) == Dimension.SECTOR
    with pytest.raises(ValueError):
        await _report(history.admin, Dimension.PROVINCE)


# ----------------------------------------------------------------------------- the SQL


def _every_statement(dialect: str) -> list[str]:
    facilitator = StaffUser(id=2, name="Facilitator", role=Role.FACILITATOR)
    every_filter = ReachQuery(
        date(2026, 1, 1), date(2026, 4, 1), Dimension.SECTOR,
        topic="t", series_id=1, facilitator_id=1, audience="public",
    )  # fmt: skip
    found = []
    for by in learning_module.BREAKDOWNS:
        query = replace(every_filter, by=by)
        made = statements(query, viewer=facilitator, tz=ZONE, dialect=dialect)
        for sql, params in made.all():
            assert sql.count("?") == len(params), sql
            found.append(sql)
    return found


def test_the_statements_match_the_models(tables: dict[str, Table]) -> None:  # noqa: F811
    """The checker of tests/sala/test_hand_written_sql.py, on this module's statements."""
    report = [
        f"{problem}\n    {sql}"
        for dialect in ("sqlite", "postgres")
        for sql in _every_statement(dialect)
        for problem in problems(sql, tables)
    ]
    assert not report, "\n".join(report)


async def test_the_statements_prepare_on_the_migrated_database(client: httpx.AsyncClient) -> None:
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    for sql in _every_statement(dialect):
        params = [None] * sql.count("?")
        await connection.execute_query(db._dialect_statement(connection, f"EXPLAIN {sql}"), params)


# ----------------------------------------------------------------------------- the page


def _section(page: str) -> str:
    found = re.search(r'<section class="learning-figures".*?</section>', page, re.DOTALL)
    assert found, "no learning section on the page"
    return found.group(0)


def _rows(section: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.DOTALL)
    assert body
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.DOTALL)
    ]


async def test_the_page_shows_what_people_learned(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    answer = await client.get("/staff/reports?by=topic&from=2025-01&to=2025-03")
    assert answer.status_code == 200
    section = _section(answer.text)
    assert "What people learned" in section
    assert _rows(section) == [
        ["Human rights", "2", "30%", "88%", "0.82", "2", "3"],
        ["SOGIE", "2", "38%", "88%", "0.8", "3", "4"],
    ]
    footer = re.search(r"<tfoot>(.*?)</tfoot>", section, re.DOTALL)
    assert footer and "3.6" in footer.group(1) and "0.81" in footer.group(1)
    # By sector (min cell 2 here): the two people alone are "fewer than 2", and no ratings.
    by_sector = _section(
        (await client.get("/staff/reports?by=sector&from=2025-01&to=2025-03")).text
    )
    assert _rows(by_sector) == [
        ["Student", "2", "22%", "88%", "0.84"],  # 22.5%, in binary a hair less
        ["NGO (figures hidden to protect small groups)", "Fewer than 2"],
        ["Private company (figures hidden to protect small groups)", "Fewer than 2"],
    ]
    for own in ("50%", "100%", "40%", "75%", "0.58"):  # Sophea's and Kosal's own figures
        assert own not in by_sector
    assert "Ratings are not given by sector: feedback is anonymous" in by_sector
    assert "Mean rating" not in by_sector
    # Another breakdown of the page: the learning figures by topic.
    by_province = (await client.get("/staff/reports?by=province&from=2025-01&to=2025-03")).text
    assert [row[0] for row in _rows(_section(by_province))] == ["Human rights", "SOGIE"]
    # The printable annex has them by month, topic and sector.
    annex = await client.get("/staff/reports/print?by=sector&from=2025-01&to=2025-03")
    assert annex.status_code == 200
    for table in ("learning-month", "learning-topic", "learning-sector"):
        assert f'id="{table}"' in annex.text


async def test_the_section_in_khmer_and_for_a_facilitator(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.facilitator)
    answer = await client.get("/staff/reports?by=month&from=2025-01&to=2025-03&lang=km")
    assert answer.status_code == 200 and '<html lang="km"' in answer.text
    section = _section(answer.text)
    with in_language("km"):
        assert gettext("What people learned") in section  # Khmer once the catalog has it
        assert gettext("Both tests") in section
    # Their February only, its month in Khmer.
    assert _rows(section) == [["កុម្ភៈ 2025", "2", "30%", "88%", "0.82", "2", "3"]]
    english = _section((await client.get("/staff/reports?by=month&lang=en")).text)
    assert "What people learned" in english and "No tests or feedback for this period." in english


# ----------------------------------------------------------------------------- the XLSX


async def test_the_xlsx_sheets_show_no_more_than_the_page(
    client: httpx.AsyncClient, history: History, settings: Settings
) -> None:
    with in_language("en"):
        reach = await services.reach(PERIOD, viewer=history.admin, tz=ZONE, min_cell=2)
        learned = [
            await _report(history.admin, by, min_cell=2) for by in learning_module.BREAKDOWNS
        ]
        data = exports.reach_xlsx([reach], settings=settings, learned=learned)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        "Topic", "Learning — Month", "Learning — Topic", "Learning — Sector", "Definitions"
    ]  # fmt: skip
    sector = [[cell.value for cell in row] for row in book["Learning — Sector"].iter_rows()]
    assert sector == [
        ["Sector", "Both tests", "Mean before", "Mean after", "Normalised gain"],
        ["Student", 2, 0.225, 0.875, round(g(0.225, 0.875), 3)],
        ["NGO", *["Fewer than 2"] * 4],  # Sophea's own scores are nowhere
        ["Private company", *["Fewer than 2"] * 4],
        ["Total", 4, pytest.approx(0.3375, abs=0.001), 0.875, round(g(0.3375, 0.875), 3)],
        [learning_module.NO_RATINGS_BY_SECTOR, None, None, None, None],
    ]
    topic = [[cell.value for cell in row] for row in book["Learning — Topic"].iter_rows()]
    assert topic[0][-2:] == ["Feedback responses", "Mean rating (1–5)"]
    assert topic[-1] == ["Total", 4, pytest.approx(0.3375, abs=0.001), 0.875, 0.811, 5, 3.6]
    terms = [row[0].value for row in book["Definitions"].iter_rows()]
    assert "Normalised gain" in terms and "Both tests" in terms
