"""What people learned, for the reach report: the pre/post test figures and the feedback
ratings of a period, by month, topic or sector, in SQL.

The sessions are the reach report's (:func:`reports.services.reach`): published, starting in
the period, the same filters, and for a facilitator only the sessions they run; the tests are
those of registrations that were not cancelled.

- **Both tests** (pairs): registrations whose person took the test before and the test after
  the session. Means and the gain are over the pairs only, as a session's own figures are
  (:mod:`learning.evaluation`): the mean score before and after as a fraction of each test's
  maximum, and Hake's normalised gain of the two means
  (:func:`learning.evaluation.normalised_gain`). A person who took both tests at two sessions
  is two pairs.
- **Feedback**: the anonymous responses of those sessions and their mean rating (1–5). A
  response names its session and its day, never a person nor a registration, so ratings have
  no sector: by sector there are no rating figures at all (``ratings_offered`` is False).

Suppression. A mean of two people's scores tells each of them the other's score, and tells
anyone who knows one of them a lot; so, unlike the reach report's counts (suppressed only in
the protected breakdowns), every breakdown here is protected. The test figures of a row are
hidden when they come from fewer than ``SALA_REPORT_MIN_CELL`` different people (the
``people`` of a row, by ``reach_key``; the pairs are never fewer), its feedback figures when
there are fewer responses; the two parts are hidden apart.

Hiding one row is not enough when the total is shown: pairs (and responses) add up to the
total, and so do the sums of the scores (``pairs × mean``), so the total minus the rows shown
gives back the hidden rows' pairs and their mean taken together, whatever the number of rows
(this is not only the case of two groups). Several hidden rows give away only their pooled
mean, but a pool of fewer than ``min_cell`` people is as telling as a single small row. So
(secondary suppression) while the rows hidden count fewer than ``min_cell`` together, the
smallest row shown is hidden too; if no row is left to hide, the total itself was small and
is hidden. This is stricter than :func:`reports.suppression.suppress` (one more row only when
exactly one is hidden), which suits counts but not means, so it is not reused. The pool is
measured by adding up the rows' different people for tests (so one person with both tests in
two hidden months counts twice there, the one approximation: rare, and each row on its own
counts people exactly) and their responses for feedback.

Not cached: :mod:`reports.cache` watches only the reach report's tables, and the learning
tables are small (one row per test taken, one per response); every look counts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from learning.evaluation import normalised_gain
from learning.feedback import OPEN_DAYS
from learning.models import Phase
from reports import services
from reports.services import Dimension, ReachQuery
from sala import db
from sala.i18n import N_, gettext
from sala.models import StaffUser

# The breakdowns the learning figures come in; any other breakdown of the page shows topics.
BREAKDOWNS = (Dimension.MONTH, Dimension.TOPIC, Dimension.SECTOR)
DEFAULT_BREAKDOWN = Dimension.TOPIC
# Feedback is anonymous: it has no registration, hence no sector.
RATINGS_BY = frozenset({Dimension.MONTH, Dimension.TOPIC})

NO_RATINGS_BY_SECTOR = N_(
    "Ratings are not given by sector: feedback is anonymous and is not linked to anyone's "
    "registration, so it has no sector."
)

# What each figure means, for the page and the XLSX's definitions sheet.
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        N_("Both tests"),
        N_(
            "Registrations (not cancelled) whose person took the test before and the test "
            "after the session. A person who did so at two sessions counts twice. People who "
            "took only one of the tests are left out of every figure of the tests."
        ),
    ),
    (
        N_("Mean before, mean after"),
        N_(
            "The mean score of those people before and after the session, as a share of "
            "each test's full marks."
        ),
    ),
    (
        N_("Normalised gain"),
        N_(
            "How much of what was left to learn was learned: (mean after − mean before) ÷ "
            "(1 − mean before), from 1 (everything) to below 0 (people did worse); not given "
            "when the mean before was already full marks."
        ),
    ),
    (
        N_("Feedback responses, mean rating"),
        N_(
            "The anonymous feedback given for those sessions, and its mean rating from 1 to 5. "
            "Feedback is linked to no one, so it cannot be given by sector."
        ),
    ),
    (
        N_("Fewer than %(count)s"),
        N_(
            "The figures of the tests of a row with fewer than %(count)s people, and the "
            "feedback of a row with fewer than %(count)s responses, are hidden: a mean of a "
            "few people's scores tells about each of them. More rows are hidden while the "
            "hidden ones together are fewer than %(count)s, since the total would give them "
            "back."
        ),
    ),
)


class Hidden(StrEnum):
    """Why figures are not shown."""

    SMALL = "small"  # fewer than min_cell
    PROTECTS = "protects"  # shown, the total minus the other rows would give a small one back


@dataclass(frozen=True)
class Tests:
    __test__ = False  # not a pytest class

    pairs: int  # registrations with both tests
    people: int  # different people among them (reach_key)
    pre_mean: float | None  # fractions of the maximum, over the pairs
    post_mean: float | None
    normalised_gain: float | None


@dataclass(frozen=True)
class Ratings:
    responses: int
    mean_rating: float | None


@dataclass(frozen=True)
class LearningRow:
    """One group's figures; a part that is hidden is None, with the reason in ``*_hidden``.
    ``ratings`` is also None where ratings are not offered (by sector)."""

    key: str
    label: str
    tests: Tests | None
    ratings: Ratings | None
    tests_hidden: Hidden | None = None
    ratings_hidden: Hidden | None = None


@dataclass(frozen=True)
class LearningReport:
    query: ReachQuery  # ``by`` is the learning figures' breakdown
    rows: list[LearningRow]
    total: LearningRow
    min_cell: int

    @property
    def by(self) -> Dimension:
        return self.query.by

    @property
    def ratings_offered(self) -> bool:
        return self.query.by in RATINGS_BY


# ----------------------------------------------------------------------------- SQL

# Only integers are summed and counted in SQL: the means are made in Python from the sums of
# the scores of each pair of test maxima, so both databases give the same figures (no
# integer division, no decimal type of one of them).
_PAIRS_SQL = "COUNT(*) AS pairs, SUM(a.score) AS pre_points, SUM(b.score) AS post_points"
_PEOPLE_SQL = "COUNT(DISTINCT x.reach_key) AS people"
# ``a`` the test before, ``b`` the test after, of one registration; ``x`` the registrations of
# the report's sessions (the reach report's own conditions, in a derived table).
_PAIRS_FROM = (
    " FROM learning_attempt a"
    " JOIN learning_attempt b ON b.registration_id = a.registration_id"
    " JOIN ("
)
_PAIRS_WHERE = ") x ON x.registration_id = a.registration_id WHERE a.phase = ? AND b.phase = ?"
_RATINGS_SQL = "COUNT(*) AS responses, SUM(f.rating) AS rating_points"
_FEEDBACK_FROM = " FROM learning_feedback f JOIN ("
_FEEDBACK_WHERE = ") x ON x.session_id = f.session_id"
# Only sessions whose own results page shows their ratings (learning.evaluation
# .feedback_shown): closed, and at least the smallest group. Otherwise a session's hidden
# ratings come back as a row minus the others (a month of two sessions, one shown on its page).
_FEEDBACK_SHOWN = (
    " AND s.ends_at <= ?"
    " AND (SELECT COUNT(*) FROM learning_feedback g WHERE g.session_id = s.id) >= ?"
)


def _key(by: Dimension, dialect: str, tz: ZoneInfo) -> tuple[str, list[Any]]:
    """The SQL of a row's key (over the reach report's ``r``, ``s``, ``t``) and its
    parameters: the reach report's own expressions."""
    if by == Dimension.MONTH:
        minutes = int((datetime.now(tz).utcoffset() or timedelta()).total_seconds()) // 60
        return services._MONTH_SQL[dialect], [f"{minutes:+d}" if dialect == "sqlite" else minutes]
    return services._KEY_SQL[by], []


@dataclass(frozen=True)
class Statements:
    """The statements of a report (each with its parameters): the pairs' sums by key and by
    the tests' maxima, the different people by key, the different people in all, and
    (where ratings are offered) the feedback by key. Totals of sums are the rows' sums."""

    pairs: tuple[str, list[Any]]
    people: tuple[str, list[Any]]
    all_people: tuple[str, list[Any]]
    feedback: tuple[str, list[Any]] | None

    def all(self) -> list[tuple[str, list[Any]]]:
        found = [self.pairs, self.people, self.all_people]
        return found + ([self.feedback] if self.feedback else [])


def statements(
    query: ReachQuery,
    *,
    viewer: StaffUser,
    tz: ZoneInfo,
    dialect: str,
    min_cell: int = 5,
    now: datetime | None = None,
) -> Statements:
    """The report's statements, ``?`` placeholders, for ``dialect`` (also what the tests check
    against the models). Ratings count only from sessions whose feedback has closed by
    ``now`` with at least ``min_cell`` responses."""
    where, where_params = services._where(query, viewer, tz)
    key_sql, key_params = _key(query.by, dialect, tz)
    phases = [Phase.PRE.value, Phase.POST.value]
    registrations = "r.id AS registration_id, r.reach_key AS reach_key"
    keyed = [*key_params, *where_params, *phases]
    keyed_pairs = f"SELECT {registrations}, {key_sql} AS key{where}{_PAIRS_WHERE}"
    feedback = None
    closed_before = (now or datetime.now(UTC)) - timedelta(days=OPEN_DAYS)
    if query.by in RATINGS_BY:
        # The report's sessions once each (the derived table's rows are per registration).
        feedback = (
            f"SELECT x.key AS key, {_RATINGS_SQL}{_FEEDBACK_FROM}SELECT DISTINCT"
            f" s.id AS session_id, {key_sql} AS key{where}{_FEEDBACK_SHOWN}{_FEEDBACK_WHERE}"
            " GROUP BY x.key",
            [*key_params, *where_params, closed_before, min_cell],
        )
    return Statements(
        pairs=(
            f"SELECT x.key AS key, a.max_score AS pre_most, b.max_score AS post_most,"
            f" {_PAIRS_SQL}{_PAIRS_FROM}{keyed_pairs} GROUP BY x.key, a.max_score, b.max_score",
            keyed,
        ),
        people=(
            f"SELECT x.key AS key, {_PEOPLE_SQL}{_PAIRS_FROM}{keyed_pairs} GROUP BY x.key",
            keyed,
        ),
        all_people=(
            f"SELECT {_PEOPLE_SQL}{_PAIRS_FROM}SELECT {registrations}{where}{_PAIRS_WHERE}",
            [*where_params, *phases],
        ),
        feedback=feedback,
    )


@dataclass
class _Sums:
    """A group's pairs and the sums of their fractions, before and after."""

    pairs: int = 0
    pre: float = 0.0
    post: float = 0.0

    def add(self, row: dict[str, Any]) -> None:
        self.pairs += int(row["pairs"] or 0)
        self.pre += _fraction(row["pre_points"], row["pre_most"])
        self.post += _fraction(row["post_points"], row["post_most"])

    def tests(self, people: int) -> Tests:
        if not self.pairs:
            return Tests(pairs=0, people=0, pre_mean=None, post_mean=None, normalised_gain=None)
        pre, post = self.pre / self.pairs, self.post / self.pairs
        return Tests(
            pairs=self.pairs,
            people=people,
            pre_mean=pre,
            post_mean=post,
            normalised_gain=normalised_gain(pre, post),
        )


def _fraction(points: Any, most: Any) -> float:
    """The sum of the fractions of a group's scores of one test's maximum (0 for a test of no
    question, as :mod:`learning.evaluation` does)."""
    return int(points or 0) / int(most) if most else 0.0


def _ratings(responses: int, points: int) -> Ratings:
    return Ratings(responses=responses, mean_rating=points / responses if responses else None)


# ----------------------------------------------------------------------------- the report


def breakdown_for(by: Dimension) -> Dimension:
    """The learning figures' breakdown for a page shown ``by`` a dimension."""
    return by if by in BREAKDOWNS else DEFAULT_BREAKDOWN


async def learning_report(
    query: ReachQuery, *, viewer: StaffUser, tz: ZoneInfo, min_cell: int
) -> LearningReport:
    """The learning figures of the reach report's period and filters, by ``query.by`` (month,
    topic or sector; another breakdown is refused), as ``viewer`` may see them, suppressed
    (see the module's docstring)."""
    if query.by not in BREAKDOWNS:
        raise ValueError(f"no learning figures by {query.by}")
    connection = connections.get("default")
    found = statements(
        query, viewer=viewer, tz=tz, dialect=connection.capabilities.dialect, min_cell=min_cell
    )

    sums: dict[str, _Sums] = {}
    total = _Sums()
    for row in await db.fetch_all(connection, *found.pairs):
        sums.setdefault(str(row["key"] or ""), _Sums()).add(row)
        total.add(row)
    people = {
        str(row["key"] or ""): int(row["people"] or 0)
        for row in await db.fetch_all(connection, *found.people)
    }
    everyone = await db.fetch_all(connection, *found.all_people)
    all_people = int(everyone[0]["people"] or 0) if everyone else 0
    answers: dict[str, tuple[int, int]] = {}  # key: (responses, the sum of their ratings)
    if found.feedback is not None:
        for row in await db.fetch_all(connection, *found.feedback):
            answers[str(row["key"] or "")] = (
                int(row["responses"] or 0),
                int(row["rating_points"] or 0),
            )
    ratings = {key: _ratings(*figures) for key, figures in answers.items()}
    offered = found.feedback is not None

    labels = await services._labeller(query.by)
    rows = [
        LearningRow(
            key=key,
            label=labels({"key": key}),
            tests=sums.get(key, _Sums()).tests(people.get(key, 0)),
            ratings=(ratings.get(key) or _ratings(0, 0)) if offered else None,
        )
        for key in sums.keys() | ratings.keys()
    ]
    rows = _ordered(query.by, rows)
    all_ratings = _ratings(
        sum(responses for responses, _ in answers.values()),
        sum(points for _, points in answers.values()),
    )
    whole = LearningRow(
        key="",
        label=gettext(N_("Total")),
        tests=total.tests(all_people),
        ratings=all_ratings if offered else None,
    )
    rows, whole = _suppress_tests(rows, whole, min_cell)
    if offered:
        rows, whole = _suppress_ratings(rows, whole, min_cell)
    return LearningReport(query=query, rows=rows, total=whole, min_cell=min_cell)


async def every_learning_report(
    query: ReachQuery, *, viewer: StaffUser, tz: ZoneInfo, min_cell: int
) -> list[LearningReport]:
    """The learning figures of the period and filters by each of :data:`BREAKDOWNS` (the
    annex, the XLSX)."""
    return [
        await learning_report(replace(query, by=by), viewer=viewer, tz=tz, min_cell=min_cell)
        for by in BREAKDOWNS
    ]


def _ordered(by: Dimension, rows: list[LearningRow]) -> list[LearningRow]:
    """As the reach report orders its rows: sectors in their list's order, months by time,
    topics by name; the row of people who did not say last."""
    given = [row for row in rows if row.key]
    not_given = [row for row in rows if not row.key]
    if by == Dimension.SECTOR:
        position = {key: n for n, key in enumerate(services._ORDER[Dimension.SECTOR])}
        given.sort(key=lambda row: (position.get(row.key, len(position)), row.key))
    elif by == Dimension.MONTH:
        given.sort(key=lambda row: row.key)
    else:
        given.sort(key=lambda row: (row.label, row.key))
    return given + not_given


# ----------------------------------------------------------------------------- suppression


def hidden_rows(
    sizes: list[int], small: list[bool], *, total_shown: bool, min_cell: int
) -> dict[int, Hidden]:
    """Which rows to hide, and why: ``small[n]`` says row ``n`` is under ``min_cell`` itself;
    ``sizes`` are the rows' people (or responses). While the total is shown and the hidden
    rows count fewer than ``min_cell`` together, the smallest row shown (of a size above 0)
    is hidden too."""
    hidden = {n: Hidden.SMALL for n, is_small in enumerate(small) if is_small}
    while total_shown and hidden and sum(sizes[n] for n in hidden) < min_cell:
        shown = [n for n in range(len(sizes)) if n not in hidden and sizes[n] > 0]
        if not shown:
            break
        hidden[min(shown, key=lambda n: (sizes[n], n))] = Hidden.PROTECTS
    return hidden


def _suppress_tests(
    rows: list[LearningRow], total: LearningRow, min_cell: int
) -> tuple[list[LearningRow], LearningRow]:
    figures = [row.tests for row in rows]
    sizes = [f.people if f else 0 for f in figures]
    small = [0 < size < min_cell for size in sizes]
    assert total.tests is not None
    total_small = 0 < total.tests.people < min_cell
    hidden = hidden_rows(sizes, small, total_shown=not total_small, min_cell=min_cell)
    rows = [
        replace(row, tests=None, tests_hidden=hidden[n]) if n in hidden else row
        for n, row in enumerate(rows)
    ]
    if total_small:
        total = replace(total, tests=None, tests_hidden=Hidden.SMALL)
    return rows, total


def _suppress_ratings(
    rows: list[LearningRow], total: LearningRow, min_cell: int
) -> tuple[list[LearningRow], LearningRow]:
    figures = [row.ratings for row in rows]
    sizes = [f.responses if f else 0 for f in figures]
    small = [0 < size < min_cell for size in sizes]
    assert total.ratings is not None
    total_small = 0 < total.ratings.responses < min_cell
    hidden = hidden_rows(sizes, small, total_shown=not total_small, min_cell=min_cell)
    rows = [
        replace(row, ratings=None, ratings_hidden=hidden[n]) if n in hidden else row
        for n, row in enumerate(rows)
    ]
    if total_small:
        total = replace(total, ratings=None, ratings_hidden=Hidden.SMALL)
    return rows, total


def definitions(min_cell: int) -> list[tuple[str, str]]:
    """:data:`DEFINITIONS` in the current language."""
    return [
        (gettext(term, count=min_cell), gettext(meaning, count=min_cell))
        for term, meaning in DEFINITIONS
    ]
