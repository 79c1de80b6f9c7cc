"""The reach report's kept answers (``reports/cache.py``) are never older than the data.

The cache is only right if every change of what the report reads raises ``reach_change``:
the triggers must exist on every table, watch every column the report's SQL reads, and fire
for writes the app makes by hand (the door, registering, cancelling) and for writes by
another process. Each test first has a report kept, then changes something, then looks.
"""

from __future__ import annotations

import ast
import importlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tortoise import connections

import reports.cache as cache
from attendees.models import Registration
from attendees.registration import cancel_registration
from sala.config import Settings
from sala.models import Role
from tests.factories import check_in, make_session, make_staff, register_person, token_for
from tests.reports.test_reach import History

ROOT = Path(__file__).resolve().parents[2]
WATCHED: dict[str, tuple[str, ...] | None] = importlib.import_module(
    "reports.migrations.0002_reach_changes"
).WATCHED
ALIASES = {
    "r": "registration",
    "r2": "registration",
    "s": "session",
    "s2": "session",
    "t": "topic",
    "sf": "session_facilitator",
}


async def _by_sector(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get("/api/v1/reports/reach", params={"by": "sector"}, headers=headers)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    report["cells"] = {
        row["key"]: (row["registrations"], row["attendances"], row["people"])
        for row in report["rows"]
    }
    return report


async def _write_elsewhere(settings: Settings, statement: str) -> None:
    """Run ``statement`` on a connection of its own, as another app process would."""
    url = settings.database_url
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as other:
            other.execute(statement)
        return
    other = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await other.execute(statement)
    finally:
        await other.close()


def test_the_triggers_watch_every_column_the_report_reads() -> None:
    tree = ast.parse((ROOT / "reports" / "services.py").read_text(encoding="utf-8"))
    sql = " ".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )
    read = re.findall(r"\b(r2|s2|sf|r|s|t)\.([a-z_]+)\b", sql)
    assert read, "the report's SQL names no column: the pattern above is out of date"
    missed = sorted(
        f"{ALIASES[alias]}.{column}"
        for alias, column in set(read)
        if (watched := WATCHED[ALIASES[alias]]) is not None and column not in watched
    )
    assert not missed, f"a change of these would leave the report's cache stale: {missed}"


async def test_every_table_the_report_reads_has_its_triggers(client: httpx.AsyncClient) -> None:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        rows = await connection.execute_query_dict(
            "SELECT tbl_name AS tab, name FROM sqlite_master WHERE type = 'trigger'"
        )
        found = {(row["tab"], row["name"]) for row in rows}
        expected = {
            (table, f"reach_change_{table}_{event}")
            for table in WATCHED
            for event in ("insert", "update", "delete")
        }
    else:
        rows = await connection.execute_query_dict(
            "SELECT c.relname AS tab, t.tgname AS name FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
        )
        found = {(row["tab"], row["name"]) for row in rows}
        expected = {(table, "reach_change") for table in WATCHED}
    assert expected <= found, f"missing (a table rebuilt without them?): {expected - found}"


async def test_a_kept_report_is_given_again_without_counting(
    client: httpx.AsyncClient, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await token_for(history.admin)
    first = await _by_sector(client, headers)
    counted: list[str] = []
    real = cache.db.fetch_all

    async def counting(connection: Any, statement: str, params: list[Any]) -> Any:
        counted.append(statement)
        return await real(connection, statement, params)

    monkeypatch.setattr(cache.db, "fetch_all", counting)
    again = await _by_sector(client, headers)
    assert again == first and counted == []
    # In another language the labels change, not the counting.
    khmer = await client.get(
        "/api/v1/reports/reach", params={"by": "sector", "lang": "km"}, headers=headers
    )
    assert khmer.status_code == 200 and counted == []


async def test_registering_checking_in_and_cancelling_show_at_once(
    client: httpx.AsyncClient, settings: Settings, history: History
) -> None:
    headers = await token_for(history.admin)
    before = await _by_sector(client, headers)
    total = before["total"]
    session = await make_session(topic="sogie", capacity="10")

    outcome = await register_person(session, settings, email="new@example.org", sector="ngo")
    registered = await _by_sector(client, headers)
    assert registered["total"]["registrations"] == total["registrations"] + 1
    assert registered["cells"]["ngo"][0] == before["cells"]["ngo"][0] + 1

    await check_in(client, headers, outcome)
    came = await _by_sector(client, headers)
    assert came["total"]["attendances"] == total["attendances"] + 1
    assert came["total"]["people"] == total["people"] + 1

    await cancel_registration(outcome.registration.id, settings=settings, actor=None)
    assert (await _by_sector(client, headers))["total"] == total


async def test_a_change_by_another_process_shows(
    client: httpx.AsyncClient, settings: Settings, history: History
) -> None:
    headers = await token_for(history.admin)
    before = await _by_sector(client, headers)
    assert before["cells"]["private"] == (1, 1, 1)  # Kosal
    await _write_elsewhere(
        settings, "UPDATE registration SET sector = 'government' WHERE sector = 'private'"
    )
    after = await _by_sector(client, headers)
    assert "private" not in after["cells"]
    assert after["cells"]["government"][1] == before["cells"]["government"][1] + 1


async def test_a_facilitator_gets_their_own_answer_not_the_admins(
    client: httpx.AsyncClient, history: History
) -> None:
    admin = await _by_sector(client, await token_for(history.admin))
    facilitator = await _by_sector(client, await token_for(history.facilitator))
    assert facilitator["total"] != admin["total"]
    assert facilitator["total"] == {"registrations": 2, "attendances": 2, "people": 2}
    leader = await make_staff(Role.TEAM_LEADER)
    refused = await client.get(
        "/api/v1/reports/reach", params={"by": "sector"}, headers=await token_for(leader)
    )
    assert refused.status_code == 403


async def test_a_change_the_report_does_not_read_keeps_the_answers(
    client: httpx.AsyncClient, history: History
) -> None:
    connection = connections.get("default")
    before = await cache.changes(connection)
    await Registration.all().update(chosen_name="Renamed", accessibility_needs="ramp")
    assert await cache.changes(connection) == before
    await Registration.filter(sector="ngo").update(sector="student")
    assert await cache.changes(connection) > before


async def test_postgresql_folds_its_change_rows_into_one_of_the_same_sum(
    client: httpx.AsyncClient, history: History
) -> None:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        pytest.skip("SQLite counts in one row")
    for _ in range(cache.FOLD_AFTER + 1):
        await connection.execute_query("INSERT INTO reach_change (weight) VALUES (1)")
    [row] = await connection.execute_query_dict("SELECT SUM(weight) AS s FROM reach_change")
    before = int(row["s"])
    assert await cache.changes(connection) == before  # counted, then folded
    [row] = await connection.execute_query_dict(
        "SELECT SUM(weight) AS s, COUNT(*) AS n FROM reach_change"
    )
    assert (int(row["s"]), int(row["n"])) == (before, 1)
