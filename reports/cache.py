"""The reach report's rows, counted once and reused until the data they come from changes.

Counting distinct people reads every registration of the period, so a report over all time
grows with the data (about 0.3 s for 100,000 registrations on SQLite). But the data changes
far less often than staff, partners and the indicators page look at it: the answer of each
statement is kept, with the number of changes the database had seen when it was counted, and
given again while that number stands.

The number is ``SUM(weight)`` of ``reach_change``, which triggers in the database raise with
every change of a column the report reads (``reports/migrations/0002_reach_changes.py``). It
is read *before* the statements run, so a kept answer is never older than the number it is
kept under: a change that commits while a report is being counted raises the number, and the
next look counts again. Each process keeps its own answers (for the database it has open: a
new connection starts empty), so several app processes need nothing shared but the database.

Only the statements' rows are kept; labels (in the viewer's language), order and suppression
are applied to them afresh every time (``reports/services.py``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from tortoise.backends.base.client import BaseDBAsyncClient

from sala import db

# Answers kept per process: a report is two statements, each breakdown and filter its own.
KEPT = 256
# PostgreSQL's triggers add a row per changing statement; past this many they are folded
# into one (the sum, and so the cache, stays the same).
FOLD_AFTER = 1000

_CHANGES_SQL = "SELECT COALESCE(SUM(weight), 0) AS changes, COUNT(*) AS entries FROM reach_change"
# One statement, so it is atomic on its own; rows added meanwhile are left for the next fold.
_FOLD_SQL = (
    "WITH folded AS (DELETE FROM reach_change RETURNING weight) "
    "INSERT INTO reach_change (weight) SELECT SUM(weight) FROM folded HAVING COUNT(*) > 0"
)

Statement = tuple[str, list[Any]]
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class _Answer:
    changes: int
    rows: Rows


_kept: WeakKeyDictionary[BaseDBAsyncClient, OrderedDict[tuple[Any, ...], _Answer]] = (
    WeakKeyDictionary()
)


async def changes(connection: BaseDBAsyncClient) -> int:
    """How many changes the report's data has seen; folds PostgreSQL's rows when many."""
    row = await db.fetch_one(connection, _CHANGES_SQL, [])
    assert row is not None  # an aggregate always gives a row
    if connection.capabilities.dialect != "sqlite" and int(row["entries"] or 0) > FOLD_AFTER:
        await fold(connection)
    return int(row["changes"] or 0)


async def fold(connection: BaseDBAsyncClient) -> None:
    """PostgreSQL: the rows of ``reach_change`` become one, of the same sum."""
    await db.execute(connection, _FOLD_SQL, [])


async def fetch_all(connection: BaseDBAsyncClient, statements: Sequence[Statement]) -> list[Rows]:
    """The rows of each statement, as :func:`sala.db.fetch_all` gives them, counted afresh
    only when the data changed since they were last counted. The rows are shared: read them,
    do not change them."""
    now = await changes(connection)
    kept = _kept.setdefault(connection, OrderedDict())
    answers: list[Rows] = []
    for statement, params in statements:
        key = (statement, *params)
        answer = kept.get(key)
        if answer is None or answer.changes != now:
            answer = _Answer(changes=now, rows=await db.fetch_all(connection, statement, params))
            kept[key] = answer
        kept.move_to_end(key)
        answers.append(answer.rows)
    while len(kept) > KEPT:
        kept.popitem(last=False)
    return answers
