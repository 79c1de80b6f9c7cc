"""The hand-written SQL names the tables and columns the Tortoise models have.

A few hot paths (registering, the door, the outbox, the audit log, retention) write SQL by
hand instead of going through the ORM. Nothing ties those column lists to the models: a
renamed field, or a new NOT NULL one, breaks them only when the statement runs. Here every
such statement is checked against the models:

- every table it names is a model's table (``_meta.db_table``) or a many-to-many table;
- every column it names (``alias.column`` or bare) is one of that table's columns
  (``_meta.fields_db_projection``);
- an INSERT gives every NOT NULL column that has no database default. A model's Python
  ``default=`` (or ``auto_now``) does not apply to hand-written SQL, so it does not count;
  and it gives as many values as it names columns.

A common table expression (``WITH name [(columns)] AS (…)``) or a derived table (``(SELECT …)
alias``) is a table of its statement, with the columns its column list or its SELECT list
names; its inner statement is checked as a statement of its own.

The statements come from the modules themselves: the module-level constants, the functions
that build a ``db.Query`` (called with dummy arguments), the steps (driven with made-up
results), the functions that run their SQL (on a fake connection that keeps it) and every SQL
literal in the code (a piece of a statement built above is checked as part of it). A last
test checks that every SQL-looking string or f-string in the code is among the statements
checked, so new SQL cannot slip past; and one more prepares each statement (``EXPLAIN``) on
the migrated database of each backend.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.fields.base import Field
from tortoise.fields.relational import ManyToManyFieldInstance

import attendees.registration as registration
import checkin.services as checkin
import events.demo as demo
import reports.cache as cache
import reports.indicators as indicators
import reports.learning as reports_learning
import reports.services as reports
from attendees.forms import RegistrationInput
from attendees.models import RegistrationSource, Sector
from checkin.tickets import LegacyTicketClaims
from events.services import session_access_steps
from reports.models import Indicator, IndicatorKind
from sala import audit, db, mail
from sala.models import Role, StaffUser
from tests.packages import PACKAGES

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------ the models


@dataclass(frozen=True)
class Table:
    columns: frozenset[str]
    required: frozenset[str]  # what an INSERT must give: NOT NULL, no database default
    model: str


def _required(field_: Field) -> bool:
    generated = field_.pk and field_.generated
    return not (field_.null or generated or field_.has_db_default())


@pytest.fixture(scope="module")
def tables() -> dict[str, Table]:
    """Every table of the models, initialised in a Tortoise context of our own (no database;
    left before the tests, so that the app's own context is not disturbed)."""
    found: dict[str, Table] = {}
    with TortoiseContext():
        for label, modules in db.APPS.items():
            models = Tortoise.init_app(label, list(modules))
            for model in models.values():
                meta = model._meta
                by_column = {
                    column: meta.fields_map[name]
                    for name, column in meta.fields_db_projection.items()
                }
                found[meta.db_table] = Table(
                    columns=frozenset(by_column),
                    required=frozenset(c for c, f in by_column.items() if _required(f)),
                    model=f"{model.__module__}.{model.__name__}",
                )
                for relation in meta.fields_map.values():
                    if isinstance(relation, ManyToManyFieldInstance):
                        keys = frozenset({relation.forward_key, relation.backward_key})
                        found.setdefault(relation.through, Table(keys, keys, "many-to-many"))
    return found


# ------------------------------------------------------------------------ the statements


DIALECTS = frozenset({"sqlite", "postgres"})


@dataclass
class Statement:
    origins: list[str] = field(default_factory=list)
    dialects: set[str] = field(default_factory=set)  # the databases it is written for


@dataclass
class Statements:
    """Each statement checked (whitespace tidied), with where it came from."""

    by_sql: dict[str, Statement] = field(default_factory=dict)

    def add(self, origin: str, sql: str, dialect: str | None = None) -> None:
        statement = self.by_sql.setdefault(" ".join(sql.split()), Statement())
        statement.origins.append(origin)
        statement.dialects |= {dialect} if dialect else DIALECTS

    def add_literal(self, origin: str, sql: str) -> None:
        """A literal of the code: a statement of its own, or a piece of statements built
        already (``_KEY_SQL`` of the reach report, say), then checked as part of them."""
        wholes = [s for built, s in self.by_sql.items() if " ".join(sql.split()) in built]
        for whole in wholes:
            whole.origins.append(origin)
        if not wholes:
            self.add(origin, sql)

    def add_steps(
        self,
        origin: str,
        steps: db.Steps[Any],
        answer: Callable[[db.Query], Any],
        dialect: str | None = None,
    ) -> None:
        """Drive the steps to their end, answering each query with ``answer``."""
        with contextlib.suppress(StopIteration):
            query = next(steps)
            while True:
                if query is db.GROUP_STATE:  # not a statement: a group's shared state
                    query = steps.send({})
                    continue
                self.add(origin, query.sql, dialect)
                query = steps.send(answer(query))


_SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b", re.S
)
_HOLE = "\x00"  # stands for an f-string's {expression}


def _source_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            ids.add(id(body[0].value))
    return ids


def sql_in_code() -> Iterator[tuple[str, str, bool]]:
    """(where, text, complete) for every SQL-looking literal in the code; an f-string's
    expressions are ``_HOLE``s in its text and it is not complete."""
    for path in _source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        inside_fstrings = {
            id(part)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for part in ast.walk(node)
            if part is not node
        }
        for node in ast.walk(tree):
            if id(node) in docstrings or id(node) in inside_fstrings:
                continue
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _SQL.search(node.value):
                    yield where, node.value, True
            elif isinstance(node, ast.JoinedStr):
                text = "".join(
                    part.value if isinstance(part, ast.Constant) else _HOLE for part in node.values
                )
                if _SQL.search(text.replace(_HOLE, "x")):
                    yield where, text, False


class _NullRow(dict[str, Any]):
    """A row found, with NULL in every column asked for."""

    def __missing__(self, _column: str) -> None:
        return None

    def __bool__(self) -> bool:
        return True


class _FakeConnection:
    """Enough of a Tortoise client for ``db.fetch_one``, ``db.lock_row`` and the like: it keeps
    the statements it is given (with ``?`` placeholders again) and finds one row, all NULL."""

    def __init__(self, dialect: str) -> None:
        self.capabilities = SimpleNamespace(dialect=dialect)
        self.statements: list[str] = []

    async def execute_query_dict(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        self.statements.append(re.sub(r"\$\d+", "?", sql))
        return [_NullRow()]

    async def execute_query(self, sql: str, params: list[Any]) -> tuple[int, list[Any]]:
        return len(await self.execute_query_dict(sql, params)), []


def _run_unsuspended(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (it awaits only the fake connection): no loop needed."""
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    coroutine.close()
    raise AssertionError("the coroutine waited for something")


def _statements_run(dialect: str, call: Callable[[], Coroutine[Any, Any, Any]]) -> list[str]:
    """What ``call()`` runs, on a fake connection that ``connections.get`` gives in the modules
    that run hand-written SQL."""
    connection = _FakeConnection(dialect)
    with pytest.MonkeyPatch.context() as patch:
        for module in (reports, indicators, reports_learning, demo):
            patch.setattr(module, "connections", SimpleNamespace(get=lambda _name: connection))
        patch.setattr(reports, "_labeller", _no_labels)  # it reads the topics through the ORM
        _run_unsuspended(call())
    return connection.statements


async def _no_labels(_by: reports.Dimension) -> Callable[[dict[str, Any]], str]:
    return lambda _row: ""


def _lock_row_calls() -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(where, table, columns) of every ``lock_row(connection, "table", ...)`` in the code."""
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "lock_row"):
                continue
            table = node.args[1]
            assert isinstance(table, ast.Constant), f"{path}:{node.lineno}: lock_row's table"
            columns: tuple[str, ...] = ("id",)
            for keyword in node.keywords:
                if keyword.arg == "columns":
                    columns = ast.literal_eval(keyword.value)
            yield f"{path.relative_to(ROOT)}:{node.lineno}", table.value, columns


def _session_row(dialect: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 1,
        "status": "published",
        "audience": "public",
        "capacity": 10,
        "confirmed_count": 0,
        "starts_at": datetime.now(UTC) + timedelta(days=7),
        "registration_opens_at": None,
        "registration_closes_at": None,
    }
    if dialect == "sqlite":
        row["waiting"] = 0
    return row


def _registration_answer(dialect: str) -> Callable[[db.Query], Any]:
    """Answers that take ``_registration_steps`` down its longest path: an invitation, every
    person insert a conflict (then the holder looked up), a seat, an email, a staff actor."""

    def answer(query: db.Query) -> Any:
        sql = query.sql
        if not query.returns_row:
            return 1
        if 'FROM "session"' in sql or 'UPDATE "session" SET id = id' in sql:
            return _session_row(dialect)
        if sql.startswith("SELECT COUNT(*) AS waiting"):
            return {"waiting": 0}
        if "FROM invitation" in sql:
            return {"id": 2, "kind": "public", "email": None, "revoked_at": None}
        if "ON CONFLICT DO NOTHING" in sql or sql.startswith("SELECT id FROM person"):
            return None
        return {"id": 3}

    return answer


def _scan_answer(recorded: bool) -> Callable[[db.Query], Any]:
    def answer(query: db.Query) -> Any:
        sql = query.sql
        if not query.returns_row:
            return 1
        if sql.startswith("INSERT INTO checkin_scan"):
            return {"id": 4} if recorded else None
        if "FROM checkin_scan" in sql:
            return {"session_id": 1, "result": "invalid", "answer": ""}
        if sql.startswith("SELECT session_id, ticket_seed FROM registration"):
            return {"session_id": 1, "ticket_seed": 5}
        if sql.startswith("UPDATE registration"):
            return None
        return {
            "id": 6, "status": "confirmed", "session_id": 1, "ticket_seed": 5,
            "chosen_name": "A", "checked_in_at": None, "anonymised_at": None,
            "checked_in_by": None,
        }  # fmt: skip

    return answer


@pytest.fixture(scope="module")
def statements(tables: dict[str, Table]) -> Statements:
    """Every hand-written statement, by the ways listed in the module's docstring."""
    found = Statements()
    # Module-level constants.
    for dialect, sql in registration._LOCK_SESSION.items():
        found.add(f"attendees/registration.py _LOCK_SESSION[{dialect!r}]", sql, dialect)
    for name in ("_COUNT_WAITING", "_PERSON_INSERT", "_PERSON_INSERT_NEW"):
        found.add(f"attendees/registration.py {name}", getattr(registration, name))
    for name in (
        "_CHECK_IN_BY_TICKET_ID",
        "_CHECK_IN_BY_ID_AND_SEED",
        "_WHY_NOT_BY_TICKET_ID",
        "_WHY_NOT_BY_ID",
    ):
        found.add(f"checkin/services.py {name}", getattr(checkin, name))
    # Functions that build a query.
    found.add(
        "sala/mail.py outbox_insert",
        mail.outbox_insert("k", to="a@example.org", language="en", params={}, domain="x").sql,
    )
    found.add("sala/audit.py entry_insert", audit.entry_insert(1, "a", "T", 1, {}).sql)
    # Steps, driven.
    staff = StaffUser(id=1, name="Staff", role=Role.ADMIN)
    found.add_steps(
        "events/services.py session_access_steps",
        session_access_steps(staff, 1),
        lambda _query: {"assigned": True},
    )
    data = RegistrationInput(
        chosen_name="A", pronouns="", email="a@example.org", phone="+85512345678",
        sector=Sector.NGO, organisation="", language="en", accessibility_needs="",
        consent=True, invitation_code="code",
    )  # fmt: skip
    for dialect in ("sqlite", "postgres"):
        found.add_steps(
            f"attendees/registration.py _registration_steps ({dialect})",
            registration._registration_steps(
                dialect,
                1,
                data,
                source=RegistrationSource.FORM,
                actor_id=1,
                now=datetime.now(UTC),
                domain="example.org",
            ),
            _registration_answer(dialect),
            dialect,
        )
    scan = checkin.Scan("", 1, "scan-0001", None, "door", registration_id=6)
    for recorded in (False, True):
        found.add_steps(
            "checkin/services.py _scan_steps",
            checkin._scan_steps(scan, None, staff, datetime.now(UTC)),
            _scan_answer(recorded),
        )
    found.add_steps(
        "checkin/services.py _decide",
        checkin._decide(scan, LegacyTicketClaims(6, 1, 5, 0), staff, datetime.now(UTC)),
        _scan_answer(True),
    )
    # db.lock_row, for every table it is called with.
    for where, table, columns in _lock_row_calls():
        for dialect in ("sqlite", "postgres"):
            connection = _FakeConnection(dialect)
            _run_unsuspended(db.lock_row(connection, table, 1, columns))  # type: ignore[arg-type]
            for sql in connection.statements:
                found.add(f"{where} lock_row", sql, dialect)
    connection = _FakeConnection("postgres")
    _run_unsuspended(cache.fold(connection))  # type: ignore[arg-type]
    for sql in connection.statements:
        found.add("reports/cache.py fold", sql, "postgres")
    # Functions that run their SQL: every path through them, on a fake connection.
    facilitator = StaffUser(id=2, name="Facilitator", role=Role.FACILITATOR)
    tz = ZoneInfo("Asia/Phnom_Penh")
    every_filter = reports.ReachQuery(
        date(2026, 1, 1), date(2026, 4, 1), reports.Dimension.SECTOR,
        topic="t", series_id=1, facilitator_id=1, audience="public",
    )  # fmt: skip
    periods = [indicators.Period("2026", date(2026, 1, 1), date(2027, 1, 1))] * 2  # rows joined
    held = [SimpleNamespace(session=SimpleNamespace(id=1), invitation_id=2)]
    for dialect in sorted(DIALECTS):
        runs = {
            f"reports/services.py reach by {by}": lambda by=by: reports.reach(
                replace(every_filter, by=by), viewer=facilitator, tz=tz, min_cell=5
            )
            for by in reports.Dimension
        }
        for kind in IndicatorKind:
            indicator = Indicator(id=1, kind=kind, curriculum_id=1, by_sector=True)
            runs[f"reports/indicators.py actuals of {kind}"] = lambda indicator=indicator: (
                indicators.actuals(indicator, periods, tz=tz)
            )
        for by in reports_learning.BREAKDOWNS:
            runs[f"reports/learning.py learning_report by {by}"] = lambda by=by: (
                reports_learning.learning_report(
                    replace(every_filter, by=by), viewer=facilitator, tz=tz, min_cell=5
                )
            )
        runs["events/demo.py _recount"] = lambda: demo._recount(held)  # type: ignore[arg-type]
        for origin, call in runs.items():
            for sql in _statements_run(dialect, call):
                found.add(f"{origin} ({dialect})", sql, dialect)
    # Every complete SQL literal of the code (inline in a function, say).
    for where, text, complete in sql_in_code():
        if complete:
            found.add_literal(where, text)
    return found


# ------------------------------------------------------------------------ the checker

_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "NULL", "IS", "IN", "EXISTS", "AS",
    "ON", "LEFT", "INNER", "JOIN", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "RETURNING",
    "CONFLICT", "DO", "NOTHING", "FOR", "ORDER", "BY", "LIMIT", "OFFSET", "ASC", "DESC",
    "COUNT", "DELETE", "SKIP", "LOCKED", "DISTINCT", "GROUP", "HAVING", "COALESCE",
    "CASE", "WHEN", "THEN", "ELSE", "END", "SUM", "MIN", "MAX", "LOWER", "TRIM", "CAST",
    "VARCHAR", "UNION", "ALL", "AT", "TIME", "ZONE",
}  # fmt: skip
# Functions, types and argument names of one database that the SQL writes in lowercase.
_LOWERCASE_WORDS = {"strftime", "to_char", "make_interval", "mins", "text", "timestamptz"}
_STRING = re.compile(r"'(?:[^']|'')*'")
_TOKEN = re.compile(r'"?[A-Za-z_]\w*"?(?:\."?[A-Za-z_]\w*"?)?|\$\d+|\d+|\S')
_TABLE_REF = re.compile(
    r'\b(?:FROM|JOIN|UPDATE|INSERT\s+INTO)\s+"?(\w+)"?(?:\s+(?:AS\s+)?(?!(?:[A-Z]+)\b)(\w+))?'
)
_OUTPUT_NAME = re.compile(r"\bAS\s+(\w+)")
_INSERT = re.compile(r'^INSERT\s+INTO\s+"?(\w+)"?\s*\(([^)]*)\)\s*VALUES\s*\(')
_UPDATE_SET = re.compile(r'^UPDATE\s+"?(\w+)"?\s+SET\s+(.*?)\s+WHERE\b')
_RETURNING = re.compile(r"\bRETURNING\s+(.*)$")
_CTE = re.compile(r'\s*(?:WITH|,)\s*"?(\w+)"?\s*(?:\(([^()]*)\))?\s*AS\s*\(')
_DERIVED = re.compile(r"\b(?:FROM|JOIN)\s*(\()\s*SELECT\b")
_ALIAS = re.compile(r'\s*(?:AS\s+)?(?!(?:[A-Z]+)\b)"?(\w+)"?')


def _top_level_items(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses."""
    items, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    items.append(current.strip())
    return items


def _closing(sql: str, start: int) -> int:
    """Where the parenthesis opened just before ``start`` closes (the index after it)."""
    depth, end = 1, start
    while depth:
        depth += (sql[end] == "(") - (sql[end] == ")")
        end += 1
    return end


def _values(sql: str, start: int) -> list[str]:
    return _top_level_items(sql[start : _closing(sql, start) - 1])


def _select_names(select: str) -> list[str]:
    """The names of a SELECT's columns (its first one's, for a UNION): an item's ``AS name``,
    or the column it is."""
    head = re.match(r"\s*SELECT\s+(?:DISTINCT\s+)?", select)
    if not head:
        return []
    ends = (m.start() for m in re.finditer(r"\bFROM\b", select) if m.start() > head.end())
    end = next((e for e in ends if select.count("(", 0, e) == select.count(")", 0, e)), None)
    names = (
        re.search(r"(\w+)$", item.replace('"', ""))
        for item in _top_level_items(select[head.end() : end])
    )
    return [name.group(1) for name in names if name]


def _named_subqueries(
    text: str, tables: dict[str, Table], found: list[str]
) -> tuple[str, dict[str, Table]]:
    """The statement without its common table expressions, and with each derived table's
    ``(SELECT …) alias`` made ``alias``; and the tables with those added. Their inner
    statements are checked, into ``found``."""
    tables, position = dict(tables), 0

    def add(name: str, body: str, columns: list[str], what: str) -> None:
        found.extend(f"in {what}: {problem}" for problem in problems(body, tables))
        tables[name] = Table(frozenset(columns), frozenset(), what)

    while cte := _CTE.match(text, position):
        name, column_list = cte.groups()
        position = _closing(text, cte.end())
        body = text[cte.end() : position - 1]
        columns = column_list.replace('"', "").split(",") if column_list else []
        add(name, body, [c.strip() for c in columns] or _select_names(body), f"WITH {name}")
    text = text[position:]
    while derived := _DERIVED.search(text):
        end = _closing(text, derived.end(1))
        alias = _ALIAS.match(text, end)
        if not alias:
            found.append("a derived table without an alias")
            break
        body = text[derived.end(1) : end - 1]
        add(alias.group(1), body, _select_names(body), f"subquery {alias.group(1)}")
        text = f"{text[: derived.start(1)]}{alias.group(1)}{text[alias.end() :]}"
    return text, tables


def problems(sql: str, tables: dict[str, Table]) -> list[str]:
    """What is wrong with one statement (none: an empty list)."""
    found: list[str] = []
    text, tables = _named_subqueries(_STRING.sub("''", sql), tables, found)
    aliases: dict[str, str] = {}
    for table, alias in _TABLE_REF.findall(text):
        if table not in tables:
            found.append(f"table {table!r} is no model's table")
            continue
        aliases[table] = table
        if alias:
            aliases[alias] = table
    named = set(_OUTPUT_NAME.findall(text))
    in_statement = {table for table in aliases.values()}

    def check_column(column: str, table: str, what: str) -> None:
        if table in tables and column not in tables[table].columns:
            found.append(f"{what} {column!r} is not a column of {table} ({tables[table].model})")

    for token in _TOKEN.findall(text):
        token = token.replace('"', "")
        if "." in token:
            qualifier, column = token.split(".")
            if qualifier not in aliases:
                found.append(f"{qualifier!r} in {token!r} is no table or alias of the statement")
            else:
                check_column(column, aliases[qualifier], "column")
        elif token.isupper() and token.isidentifier():
            if token not in _KEYWORDS:
                found.append(f"unknown keyword {token!r} (add it to _KEYWORDS if it is one)")
        elif (
            token.isidentifier()
            and token not in aliases
            and token not in named
            and token not in _LOWERCASE_WORDS
            and not any(token in tables[t].columns for t in in_statement if t in tables)
        ):
            found.append(f"column {token!r} is in none of the tables {sorted(in_statement)}")

    insert = _INSERT.match(text)
    if insert:
        table, column_list = insert.groups()
        columns = [c.strip().replace('"', "") for c in column_list.split(",")]
        for column in columns:
            check_column(column, table, "inserted column")
        if table in tables:
            missing = sorted(tables[table].required - set(columns))
            if missing:
                found.append(
                    f"INSERT INTO {table} leaves out NOT NULL columns without a database "
                    f"default: {missing} ({tables[table].model}; a Python default does not "
                    "apply to hand-written SQL)"
                )
        if len(values := _values(text, insert.end())) != len(columns):
            found.append(f"INSERT INTO {table}: {len(columns)} columns, {len(values)} values")
    update = _UPDATE_SET.match(text)
    if update:
        table, assignments = update.groups()
        for assignment in _top_level_items(assignments):
            check_column(assignment.split("=")[0].strip().replace('"', ""), table, "updated column")
    returning = _RETURNING.search(text)
    target = (insert or update).group(1) if (insert or update) else None
    if returning and target:
        for item in _top_level_items(returning.group(1)):
            if re.fullmatch(r'"?\w+"?', item):
                check_column(item.replace('"', ""), target, "returned column")
    return found


# ------------------------------------------------------------------------ the tests


def test_every_hand_written_statement_matches_the_models(
    statements: Statements, tables: dict[str, Table]
) -> None:
    report = [
        f"{statement.origins[0]}: {problem}\n    {sql}"
        for sql, statement in statements.by_sql.items()
        for problem in problems(sql, tables)
    ]
    assert not report, "hand-written SQL that the models do not match:\n" + "\n".join(report)


def test_the_statements_include_the_known_hand_written_ones(statements: Statements) -> None:
    """The sources named in the module's docstring were all reached."""
    origins = " ".join(o for statement in statements.by_sql.values() for o in statement.origins)
    for origin in (
        "_registration_steps (sqlite)", "_registration_steps (postgres)", "_scan_steps",
        "_decide", "session_access_steps", "outbox_insert", "entry_insert", "lock_row",
        "attendees/retention.py", "certificates/services.py", "reach by month (sqlite)",
        "reach by month (postgres)", "actuals of completed_curriculum",
        "actuals of attended_topics", "_recount",
    ):  # fmt: skip
        assert origin in origins, f"no statement checked from {origin}"
    sql = " ".join(statements.by_sql)
    assert "INSERT INTO registration (session_id, person_id, chosen_name" in sql
    assert "SELECT id, reach_key FROM person WHERE email = ?" in sql


def test_every_sql_literal_of_the_code_is_checked(statements: Statements) -> None:
    """An f-string (or a string) that looks like SQL must be among the statements checked:
    if it is not, build it in the ``statements`` fixture (call its function, drive its steps)."""
    unchecked = []
    for where, text, _complete in sql_in_code():
        pieces = [re.escape(" ".join(piece.split())) for piece in text.split(_HOLE)]
        pattern = re.compile(r"\s*.+?\s*".join(pieces).replace(r"\ ", r"\s*"))
        if not any(pattern.search(sql) for sql in statements.by_sql):
            unchecked.append(f"{where}: {text!r}")
    assert not unchecked, "SQL in the code that this test does not check:\n" + "\n".join(unchecked)


def test_the_checker_catches_mistakes(tables: dict[str, Table]) -> None:
    """The checker itself: each kind of mistake is reported."""
    assert problems("SELECT id, no_such_column FROM person WHERE email = ?", tables)
    assert problems("SELECT r.id FROM registration r JOIN nowhere n ON n.id = r.id", tables)
    assert problems("SELECT r.shoe_size FROM registration r", tables)
    assert problems("UPDATE registration SET shoe_size = ? WHERE id = ?", tables)
    assert problems("INSERT INTO audit_entry (action) VALUES (?)", tables)  # NOT NULL left out
    assert problems(
        "INSERT INTO audit_entry (actor_id, action, object_type, object_id, details, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        tables,
    )  # a value short
    assert not problems(audit.entry_insert(1, "a", "T", 1, {}).sql, tables)
    # Common table expressions and derived tables: their columns, and their own statements.
    with_list = "WITH w (a, b) AS (VALUES (?, ?)) SELECT x.a FROM w x"
    assert not problems(with_list, tables)
    assert problems(with_list.replace("x.a", "x.c"), tables) == [
        "column 'c' is not a column of w (WITH w)"
    ]
    with_select = "WITH w AS (SELECT p.id AS who, email FROM person p) SELECT who, x.email FROM w x"
    assert not problems(with_select, tables)
    assert problems(with_select.replace("x.email", "x.id"), tables)
    assert problems(with_select.replace("email FROM", "shoe_size FROM"), tables)[0] == (
        "in WITH w: column 'shoe_size' is in none of the tables ['person']"
    )
    derived = (
        "SELECT d.email FROM registration r JOIN (SELECT id, email FROM person) d ON d.id = r.id"
    )
    assert not problems(derived, tables)
    assert problems(derived.replace("d.email", "d.reach_key"), tables)
    assert problems(derived.replace("id, email", "id, email, shoe_size"), tables)


async def test_every_statement_prepares_on_the_migrated_database(
    app: Starlette, statements: Statements
) -> None:
    """``EXPLAIN`` makes the database parse and plan each statement without running it: the
    migrated schema (not only the models) has what the statements name."""
    client = connections.get("default")
    dialect = client.capabilities.dialect
    failures = []
    for sql, statement in statements.by_sql.items():
        if dialect not in statement.dialects:
            continue  # written for the other database
        params = [None] * sql.count("?")
        try:
            await client.execute_query(db._dialect_statement(client, f"EXPLAIN {sql}"), params)
        except Exception as error:
            failures.append(f"{statement.origins[0]}: {error}\n    {sql}")
    assert not failures, f"statements {dialect} refuses:\n" + "\n".join(failures)
