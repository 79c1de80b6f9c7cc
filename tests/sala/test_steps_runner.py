"""db.run_steps and db.GroupCommit run the steps in the caller's context.

On PostgreSQL the steps run on the event loop, in the calling task; on SQLite they run on
aiosqlite's connection thread. Either way, code inside the steps must see the caller's
context variables — the current language (``sala.i18n.current_language``) above all, so a
message a step words is in the caller's language on both databases.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

import pytest
from starlette.applications import Starlette

from sala import db
from sala.i18n import current_language, in_language

# A variable of the test's own, with no default: a step run outside the caller's context
# cannot read it at all.
marker: ContextVar[str] = ContextVar("test_steps_runner_marker")

Seen = tuple[str, str, str, str]


def _steps() -> db.Steps[Seen]:
    """What the steps see before their first query (outside the transaction) and after one."""
    before = (current_language.get(), marker.get("<unset>"))
    row = yield db.Query("SELECT 1 AS one", [])
    assert row == {"one": 1}
    return (*before, current_language.get(), marker.get("<unset>"))


@pytest.mark.parametrize("language", ["en", "km"])
async def test_run_steps_sees_the_callers_language(app: Starlette, language: str) -> None:
    token = marker.set(f"caller-{language}")
    try:
        with in_language(language):
            seen = await db.run_steps(lambda _dialect: _steps())
    finally:
        marker.reset(token)
    expected = (language, f"caller-{language}")
    assert seen == (*expected, *expected)


@pytest.mark.parametrize("max_callers", [1, 100])
async def test_group_commit_runs_each_callers_steps_in_that_callers_context(
    app: Starlette, max_callers: int
) -> None:
    """Callers decided together, in one transaction, each still see their own language —
    not the first caller's (whose task started the committer), nor the thread's."""
    group = db.GroupCommit(max_callers=max_callers)

    async def call(n: int, language: str) -> Seen:
        marker.set(f"caller-{n}")  # in this caller's task only
        with in_language(language):
            return await group.run(lambda _dialect: _steps())

    languages = ["en", "km", "en", "en", "km"]
    seen = await asyncio.gather(*(call(n, lang) for n, lang in enumerate(languages)))
    assert seen == [(lang, f"caller-{n}") * 2 for n, lang in enumerate(languages)]


async def test_group_commit_alone_sees_the_callers_language(app: Starlette) -> None:
    with in_language("en"):
        seen = await db.GroupCommit().run(lambda _dialect: _steps())
    assert seen == ("en", "<unset>", "en", "<unset>")
