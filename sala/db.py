"""The database: Tortoise configuration, start-up and migrations.

Each feature package is one Tortoise app with its own migration history
(``<package>/migrations``). ``sala`` is the shell's own app (staff, tokens, audit log).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sqlite3
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import aiosqlite
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations
from tortoise.transactions import in_transaction

from sala.config import Settings

# A package joins here with its first model. A Tortoise app is a migration history:
# check-in's and certificates' models were first written in the attendees package, whose
# migrations made their tables, so they stay in its app (no migration was needed to move them).
APPS: dict[str, tuple[str, ...]] = {
    "sala": ("sala.models",),
    "events": ("events.models",),
    "attendees": ("attendees.models", "checkin.models", "certificates.models"),
    "curricula": ("curricula.models",),
    "reports": ("reports.models",),
    "learning": ("learning.models",),
}

T = TypeVar("T")


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return config_for_url(settings.database_url)


def config_for_url(database_url: str) -> dict[str, Any]:
    connection = expand_db_url(database_url)
    if connection["engine"] == "tortoise.backends.sqlite":
        # Tortoise opens SQLite in WAL mode. There, NORMAL syncs the WAL at checkpoints only,
        # not at every COMMIT: the database cannot be corrupted, but a power cut (not a
        # crash of Sala) may lose the last commits. A URL may still ask for another value.
        connection["credentials"].setdefault("synchronous", "NORMAL")
    else:
        # PostgreSQL's JIT compiles any plan estimated above jit_above_cost: for Sala that is
        # only the reports' aggregations over every registration, where compiling took about
        # 0.5 s of a 1.1 s report and gained nothing (bench/reports.py). Sala's queries are
        # short; JIT is off for its connections.
        connection["credentials"].setdefault("server_settings", {}).setdefault("jit", "off")
    return {
        "connections": {"default": connection},
        "apps": {
            label: {
                "models": list(modules),
                "default_connection": "default",
                "migrations": f"{label}.migrations",
            }
            for label, modules in APPS.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def private_sqlite_file(database_url: str) -> None:
    """Create a SQLite database file readable by its owner only (0600) before SQLite does;
    SQLite gives its -wal and -shm files the database file's mode."""
    connection = expand_db_url(database_url)
    path = connection["credentials"].get("file_path", "")
    if connection["engine"] != "tortoise.backends.sqlite" or not path or path == ":memory:":
        return
    # Already there: nothing to do. No folder: SQLite says so itself, in its own words.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


async def migrate(settings: Settings) -> None:
    """Apply every pending migration of every app."""
    private_sqlite_file(settings.database_url)
    await run_migrations(config=tortoise_config(settings))
    await Tortoise.close_connections()


async def open_database(settings: Settings) -> TortoiseContext:
    """Connect; the context is global so that every request task of the app sees it."""
    private_sqlite_file(settings.database_url)
    return await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database(context: TortoiseContext) -> None:
    await context.close_connections()


async def ping() -> bool:
    """True when the database answers a trivial query."""
    await connections.get("default").execute_query("SELECT 1")
    return True


# For ``tortoise -c sala.db.MIGRATIONS_CONFIG makemigrations``: the autodetector reads the
# committed migration files, not a database, so an in-memory one will do.
MIGRATIONS_CONFIG = config_for_url("sqlite://:memory:")


async def lock_row(
    connection: BaseDBAsyncClient, table: str, row_id: int, columns: tuple[str, ...] = ("id",)
) -> dict[str, Any] | None:
    """Make the current transaction the only writer of one row until it ends, and read it.

    PostgreSQL: ``SELECT … FOR UPDATE``. SQLite: a no-op ``UPDATE … RETURNING``, which takes
    the database's write lock at once — BEGIN is deferred there, and a transaction that reads
    first and writes later can fail with "database is locked" when another process got there
    first. Returns the given columns, or None when there is no such row.
    """
    names = ", ".join(f'"{column}"' for column in columns)
    if connection.capabilities.dialect == "sqlite":
        statement = f'UPDATE "{table}" SET id = id WHERE id = ? RETURNING {names}'  # noqa: S608
    else:
        statement = f'SELECT {names} FROM "{table}" WHERE id = ? FOR UPDATE'  # noqa: S608
    return await fetch_one(connection, statement, [row_id])


_POSTGRES_STATEMENTS: dict[str, str] = {}


def _dialect_statement(connection: BaseDBAsyncClient, statement: str) -> str:
    """Statements are written with ``?`` placeholders; PostgreSQL wants ``$1, $2, …``."""
    if connection.capabilities.dialect == "sqlite":
        return statement
    converted = _POSTGRES_STATEMENTS.get(statement)
    if converted is None:
        parts = statement.split("?")
        converted = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        _POSTGRES_STATEMENTS[statement] = converted
    return converted


async def fetch_one(
    connection: BaseDBAsyncClient, statement: str, params: list[Any]
) -> dict[str, Any] | None:
    """One row of a hand-written statement, for the few hot paths where the ORM's per-query
    cost matters (``attendees/registration.py``)."""
    rows = await connection.execute_query_dict(_dialect_statement(connection, statement), params)
    return rows[0] if rows else None


async def fetch_all(
    connection: BaseDBAsyncClient, statement: str, params: list[Any]
) -> list[dict[str, Any]]:
    """Every row of a hand-written statement (``?`` placeholders), as dicts."""
    return list(
        await connection.execute_query_dict(_dialect_statement(connection, statement), params)
    )


async def execute(connection: BaseDBAsyncClient, statement: str, params: list[Any]) -> int:
    count, _rows = await connection.execute_query(_dialect_statement(connection, statement), params)
    return count


def as_datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp read by hand: SQLite gives text, PostgreSQL a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


# ------------------------------------------------------------------ transactions as steps


@dataclass(frozen=True)
class Query:
    """One statement of a transaction written as steps (see :func:`run_steps`).

    ``?`` placeholders. The step receives the first row as a dict (or None), or the number
    of rows changed when ``returns_row`` is false.
    """

    sql: str
    params: list[Any]
    returns_row: bool = True


Steps = Generator[Query, Any, T]

# Not a statement: yielded by steps, it receives a dict shared by the callers of one group
# (one transaction, see GroupCommit), where steps may keep what they read under a lock for
# the next caller (e.g. the locked session row). A caller whose steps fail leaves it as it
# was before them (its savepoint is rolled back, and so are its changes here); keep only
# immutable values in it. Alone (run_steps), the steps get a dict of their own.
GROUP_STATE = Query("-- the group's shared state", [])


async def run_steps(make_steps: Callable[[str], Steps[T]]) -> T:
    """Run one transaction whose logic is a generator that yields queries and receives results.

    The rules are written once, without I/O; this function does the I/O:

    - SQLite: the whole transaction runs in a single call on the connection's own thread,
      ``BEGIN IMMEDIATE`` to ``COMMIT``. The write lock is then held only while SQLite works,
      not across a round trip between threads per statement while other requests run — on a
      registration rush that is the difference between the lock and the queue being the limit.
    - PostgreSQL: an ordinary transaction, one awaited statement per step.

    ``make_steps`` gets the dialect (``"sqlite"`` or ``"postgres"``). What the steps compute
    before their first query (checking a signature, say) runs before the transaction begins:
    on SQLite on the connection's thread, off the event loop and without the write lock. An
    exception raised by the steps rolls the transaction back and reaches the caller unchanged.
    Call it outside any other transaction: on SQLite it takes the connection itself.

    The steps see the caller's context variables (the current language, say) on both: they
    run in a copy of the caller's context, so what they set stays there.
    """
    client = connections.get("default")
    dialect = client.capabilities.dialect
    steps = make_steps(dialect)
    context = contextvars.copy_context()
    if dialect == "sqlite":
        async with client.acquire_connection() as connection:
            return await _on_sqlite_thread(
                connection, context.run, _run_sqlite_steps, connection._conn, steps
            )
    query, value = context.run(_first_query, steps)
    if query is None:
        return value
    async with in_transaction() as transaction:
        return await _drive_async(transaction, context, steps, query, {})


def _on_sqlite_thread(
    connection: aiosqlite.Connection, function: Callable[..., T], *args: Any
) -> Awaitable[T]:
    """``function(*args)`` on the thread of an aiosqlite connection, awaited on the loop.

    aiosqlite's own private "run this on the connection's thread" (its every query goes
    through it), as is ``connection._conn``: ``tests/sala/test_private_apis.py`` checks both
    still exist, and pyproject.toml pins aiosqlite's minor version. The thread runs with its
    own, empty context: pass ``context.run`` as the function to run in another.
    """
    result: Awaitable[T] = connection._execute(function, *args)
    return result


def _first_query(steps: Steps[Any]) -> tuple[Query | None, Any]:
    """Run the steps up to their first query: (query, None), or (None, value) if they need none."""
    try:
        return next(steps), None
    except StopIteration as finished:
        return None, finished.value


def _run_sqlite_steps(connection: sqlite3.Connection, steps: Steps[T]) -> T:
    query, value = _first_query(steps)
    if query is None:
        return value
    connection.execute("BEGIN IMMEDIATE")
    try:
        value = _drive_sqlite(connection, steps, query, {})
        connection.execute("COMMIT")
    except BaseException:
        _roll_back(connection)
        raise
    return value


def _drive_sqlite(
    connection: sqlite3.Connection, steps: Steps[T], query: Query, shared: dict[Any, Any]
) -> T:
    """Run ``query`` and feed each result to the steps until they return their value."""
    try:
        while True:
            if query is GROUP_STATE:
                query = steps.send(shared)
                continue
            cursor = connection.execute(query.sql, query.params)
            if query.returns_row:
                rows = cursor.fetchall()
                result: Any = dict(rows[0]) if rows else None
            else:
                result = cursor.rowcount
            query = steps.send(result)
    except StopIteration as finished:
        return finished.value


def _roll_back(connection: sqlite3.Connection) -> None:
    # Some errors (a full disk) end the transaction themselves; ROLLBACK would then fail
    # and hide the error that matters.
    if connection.in_transaction:
        connection.execute("ROLLBACK")


# ------------------------------------------------------------------ group commit


@dataclass(frozen=True)
class _Caller:
    client: BaseDBAsyncClient
    make_steps: Callable[[str], Steps[Any]]
    steps: Steps[Any]
    answer: asyncio.Future[Any]
    # The caller's own, captured in the caller's task: the committer's task is another's.
    context: contextvars.Context
    attempt: int = 1


# PostgreSQL's "try again": a deadlock (two processes' groups, each holding a row the other
# wants, e.g. the same new email registering for two sessions) or a serialization failure.
_TRY_AGAIN = frozenset({"40P01", "40001"})
GROUP_ATTEMPTS = 3


def _worth_another_try(error: BaseException) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if getattr(cause, "sqlstate", None) in _TRY_AGAIN:
            return True
        cause = cause.__cause__
    return False


class GroupCommit:
    """Concurrent transactions written as steps, committed together on SQLite.

    ``await group.run(make_steps)`` means the same as ``await run_steps(make_steps)``: the
    steps run as one all-or-nothing unit, in arrival order, and the caller gets their value
    or their exception. On SQLite the callers that arrive while a group is being committed
    (or within the same turn of the event loop as the first) are decided in **one**
    ``BEGIN IMMEDIATE`` … ``COMMIT`` on the connection's thread, each in a savepoint of its
    own: an exception raised by one caller's steps rolls back that caller's statements only,
    and reaches that caller only. Each caller's steps run in (a copy of) that caller's context,
    as with :func:`run_steps`. Each commit costs a write of the WAL and a trip between
    threads, so at the door it is one per group instead of one per scan.

    On PostgreSQL it is :func:`run_steps` by default: the server commits concurrent
    transactions together by itself, and a pool of connections already works in parallel.
    With ``postgres_together``, PostgreSQL groups as well (one transaction, a savepoint per
    caller, awaited statement by statement): for steps that all wait for one row's lock
    anyway (registrations for one session), where one transaction per caller means one
    lock hand-over and one commit per caller.

    Only callers of one ``key`` (``run(..., key=session_id)``) are grouped, and each key has
    a line of its own: a group then locks one row, groups of one key take it in turn, and
    groups of other keys do not wait behind them (on PostgreSQL they run side by side on the
    pool; on SQLite the one connection's thread takes them one at a time anyway). Groups of
    two keys can still deadlock on rows they both write (the same new email registering for
    two sessions: each group holds one uncommitted row the other waits for); PostgreSQL then
    fails one caller's statement, and that caller alone (its savepoint rolled back) is tried
    again with fresh steps at the head of its line, up to ``GROUP_ATTEMPTS`` times in all.

    One group holds the write lock for at most ``max_callers`` callers, so other writers
    (other processes) wait no longer than that.
    """

    def __init__(self, *, max_callers: int = 100, postgres_together: bool = False) -> None:
        self.max_callers = max_callers
        self.postgres_together = postgres_together
        self._lines: dict[object, _Line] = {}

    async def run(self, make_steps: Callable[[str], Steps[T]], *, key: object = None) -> T:
        client = connections.get("default")
        dialect = client.capabilities.dialect
        if dialect != "sqlite" and not self.postgres_together:
            return await run_steps(make_steps)
        answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        steps = make_steps(dialect)
        caller = _Caller(client, make_steps, steps, answer, contextvars.copy_context())
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line()
        line.waiting.append(caller)
        if line.committer is None:
            line.committer = asyncio.create_task(self._commit_while_waiting(key, line))
        return await answer

    async def _commit_while_waiting(self, key: object, line: _Line) -> None:
        """Commit the line's callers, group after group, until nobody waits; then the line
        goes (a line per session would otherwise stay for every session ever registered for)."""
        group: list[_Caller] = []
        try:
            while group := line.next_group(self.max_callers):
                steps = [(c.context, c.steps) for c in group]
                try:
                    if group[0].client.capabilities.dialect != "sqlite":
                        outcomes = await _run_async_group(steps)
                    else:
                        async with group[0].client.acquire_connection() as connection:
                            outcomes = await _on_sqlite_thread(
                                connection, _run_sqlite_group, connection._conn, steps
                            )
                except Exception as error:  # the transaction failed: nobody's steps stand
                    outcomes = [(False, error)] * len(group)
                again: list[_Caller] = []
                for caller, (succeeded, value) in zip(group, outcomes, strict=True):
                    if caller.answer.done():  # the caller has gone
                        continue
                    if succeeded:
                        caller.answer.set_result(value)
                    elif _worth_another_try(value) and caller.attempt < GROUP_ATTEMPTS:
                        again.append(_again(caller))
                    else:
                        caller.answer.set_exception(value)
                line.waiting[:0] = again  # first in line, in their order
        finally:
            line.committer = None
            if self._lines.get(key) is line:
                del self._lines[key]
            # Only when this task itself is cancelled (shutdown) is anyone still waiting.
            for caller in [*group, *line.waiting]:
                if not caller.answer.done():
                    caller.answer.cancel()
            line.waiting = []


@dataclass
class _Line:
    """The callers of one key waiting for their group, and the task committing them."""

    waiting: list[_Caller] = field(default_factory=list)
    committer: asyncio.Task[None] | None = None

    def next_group(self, max_callers: int) -> list[_Caller]:
        """The first callers in line on one database (tests switch databases); callers that
        have gone are dropped."""
        waiting = [caller for caller in self.waiting if not caller.answer.done()]
        if not waiting:
            self.waiting = []
            return []
        client = waiting[0].client
        group = [caller for caller in waiting if caller.client is client][:max_callers]
        chosen = {id(caller) for caller in group}
        self.waiting = [caller for caller in waiting if id(caller) not in chosen]
        return group


def _again(caller: _Caller) -> _Caller:
    """The caller with fresh steps: its savepoint (or the transaction) was rolled back,
    nothing of its first try stands."""
    steps = caller.make_steps(caller.client.capabilities.dialect)
    return replace(caller, steps=steps, attempt=caller.attempt + 1)


_Started = list[tuple[int, contextvars.Context, Steps[Any], Query]]


def _start_group(
    group: list[tuple[contextvars.Context, Steps[Any]]],
) -> tuple[dict[int, tuple[bool, Any]], _Started]:
    """Each caller's steps up to their first query, in that caller's context: the outcomes of
    those already done (no query needed, or failed), and the rest with their first query."""
    outcomes: dict[int, tuple[bool, Any]] = {}
    started: _Started = []
    for index, (context, steps) in enumerate(group):
        try:
            query, value = context.run(_first_query, steps)
        except Exception as error:
            outcomes[index] = (False, error)
            continue
        if query is None:
            outcomes[index] = (True, value)
        else:
            started.append((index, context, steps, query))
    return outcomes, started


def _run_sqlite_group(
    connection: sqlite3.Connection, group: list[tuple[contextvars.Context, Steps[Any]]]
) -> list[tuple[bool, Any]]:
    """One transaction, each caller's steps in a savepoint and in that caller's context:
    (True, value) or (False, error) for each. As in :func:`run_steps`, the steps' work up to
    their first query comes first, before the transaction."""
    outcomes, started = _start_group(group)
    if started:
        shared: dict[Any, Any] = {}
        connection.execute("BEGIN IMMEDIATE")
        try:
            for index, context, steps, query in started:
                before = dict(shared)
                connection.execute("SAVEPOINT caller")
                try:
                    value = context.run(_drive_sqlite, connection, steps, query, shared)
                    outcomes[index] = (True, value)
                except Exception as error:
                    connection.execute("ROLLBACK TO caller")
                    shared.clear()
                    shared.update(before)
                    outcomes[index] = (False, error)
                connection.execute("RELEASE caller")
            connection.execute("COMMIT")
        except BaseException:
            _roll_back(connection)
            raise
    return [outcomes[index] for index in range(len(group))]


async def _run_async_group(
    group: list[tuple[contextvars.Context, Steps[Any]]],
) -> list[tuple[bool, Any]]:
    """:func:`_run_sqlite_group` on PostgreSQL: one transaction, each caller's steps in a
    savepoint and in that caller's context, one awaited statement at a time."""
    outcomes, started = _start_group(group)
    if started:
        shared: dict[Any, Any] = {}
        async with in_transaction() as transaction:
            release = ""  # the previous caller's savepoint, released with the next one's start
            for index, context, steps, query in started:
                before = dict(shared)
                await transaction.execute_script(f"{release}SAVEPOINT caller")
                try:
                    value = await _drive_async(transaction, context, steps, query, shared)
                    outcomes[index] = (True, value)
                except Exception as error:
                    await transaction.execute_script("ROLLBACK TO SAVEPOINT caller")
                    shared.clear()
                    shared.update(before)
                    outcomes[index] = (False, error)
                release = "RELEASE SAVEPOINT caller; "
    return [outcomes[index] for index in range(len(group))]


async def _drive_async(
    connection: BaseDBAsyncClient,
    context: contextvars.Context,
    steps: Steps[T],
    query: Query,
    shared: dict[Any, Any],
) -> T:
    """Run ``query`` and feed each result to the steps, each step run in ``context``, until
    they return their value: :func:`_drive_sqlite`, one awaited statement at a time."""
    try:
        while True:
            if query is GROUP_STATE:
                result: Any = shared
            elif query.returns_row:
                result = await fetch_one(connection, query.sql, query.params)
            else:
                result = await execute(connection, query.sql, query.params)
            query = context.run(steps.send, result)
    except StopIteration as finished:
        return finished.value
