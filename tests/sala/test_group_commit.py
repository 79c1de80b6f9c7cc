"""db.GroupCommit: transactions written as steps, committed together, each with its own outcome."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tortoise import connections

from sala import audit, db
from sala.models import AuditEntry, Role
from tests.factories import make_staff


class Refused(Exception):
    pass


def _steps(actor_id: int, n: int) -> db.Steps[int]:
    """Writes two audit entries for caller ``n``; caller 3 then changes its mind."""
    yield audit.entry_insert(actor_id, "test.first", "Caller", n, {})
    yield audit.entry_insert(actor_id, "test.second", "Caller", n, {})
    if n == 3:
        raise Refused(n)
    counted = yield db.Query(
        "SELECT COUNT(*) AS entries FROM audit_entry WHERE object_type = 'Caller' "
        "AND object_id = ?",
        [str(n)],
    )
    return int(counted["entries"])


async def test_callers_together_keep_their_own_outcome(client: httpx.AsyncClient) -> None:
    actor = await make_staff(Role.ADMIN)
    group = db.GroupCommit(max_callers=4)

    async def call(n: int) -> int:
        return await group.run(lambda _dialect: _steps(actor.id, n))

    outcomes = await asyncio.gather(*(call(n) for n in range(10)), return_exceptions=True)
    assert isinstance(outcomes[3], Refused)
    assert [o for i, o in enumerate(outcomes) if i != 3] == [2] * 9
    written = await AuditEntry.filter(action__startswith="test.").values_list(
        "object_id", flat=True
    )
    assert sorted(written) == sorted(str(n) for n in range(10) if n != 3 for _ in range(2))

    # The group is ready for the next callers once everybody has been answered.
    assert await call(11) == 2


async def test_a_caller_alone_gets_its_exception(client: httpx.AsyncClient) -> None:
    actor = await make_staff(Role.ADMIN)
    with pytest.raises(Refused):
        await db.GroupCommit().run(lambda _dialect: _steps(actor.id, 3))
    assert not await AuditEntry.filter(action__startswith="test.").exists()


def _crossing(first: str, second: str) -> db.Steps[str]:
    """Writes ``first``, waits, then ``second``: against the same steps crossed, a deadlock."""
    insert = "INSERT INTO group_commit_key (k) VALUES (?) ON CONFLICT DO NOTHING"
    yield db.Query(insert, [first], returns_row=False)
    yield db.Query("SELECT pg_sleep(0.3) AS slept", [])
    yield db.Query(insert, [second], returns_row=False)
    return f"{first}{second}"


async def test_two_groups_deadlocked_on_postgresql_both_stand(client: httpx.AsyncClient) -> None:
    """Two processes' groups (two desks here), each holding the row the other wants: PostgreSQL
    fails one caller, who is tried again; neither is told of a deadlock."""
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        pytest.skip("SQLite has one writer at a time: no deadlock")
    await connection.execute_script("CREATE TABLE group_commit_key (k TEXT PRIMARY KEY)")
    east = db.GroupCommit(postgres_together=True)
    west = db.GroupCommit(postgres_together=True)
    answers = await asyncio.gather(
        east.run(lambda _dialect: _crossing("x", "y"), key=1),
        west.run(lambda _dialect: _crossing("y", "x"), key=2),
    )
    assert answers == ["xy", "yx"]
    rows = await connection.execute_query_dict("SELECT k FROM group_commit_key ORDER BY k")
    assert [row["k"] for row in rows] == ["x", "y"]


def _slow(seconds: float) -> db.Steps[float]:
    yield db.Query("SELECT pg_sleep(?) AS slept", [seconds])
    return seconds


async def test_one_sessions_group_does_not_hold_up_anothers_on_postgresql(
    client: httpx.AsyncClient,
) -> None:
    """Each key has its own line: a long group for one session, a short one for another
    finishes first."""
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("SQLite's one connection takes the groups one at a time anyway")
    desk = db.GroupCommit(postgres_together=True)
    finished: list[float] = []

    async def call(seconds: float, key: int) -> None:
        finished.append(await desk.run(lambda _dialect: _slow(seconds), key=key))

    await asyncio.gather(call(1.0, key=1), call(0.01, key=2))
    assert finished == [0.01, 1.0]
    assert desk._lines == {}  # lines go once nobody waits in them
