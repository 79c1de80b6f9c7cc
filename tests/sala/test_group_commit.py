"""db.GroupCommit: transactions written as steps, committed together, each with its own outcome."""

from __future__ import annotations

import asyncio

import httpx
import pytest

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
