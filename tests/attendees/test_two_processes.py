"""Two app processes on one database (``sala serve --workers 2``): still never oversold.

The in-process concurrency tests share one connection pool; this one starts the real server
with two worker processes and fires simultaneous registrations at it over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from sala import db
from sala.config import Settings
from tests.factories import make_staff, token_for
from tests.server import free_port, running_server, sala_env


@pytest.fixture
async def admin_token(settings: Settings) -> str:
    """An admin's API token, made in this process on the test's copy of the migrated database
    before the server starts (``sala create-admin`` and ``create-token`` have their own tests
    in tests/sala/test_cli.py)."""
    EXECUTOR_CACHE.clear()  # as the ``app`` fixture does
    context = await db.open_database(settings)
    try:
        return (await token_for(await make_staff()))["authorization"]
    finally:
        await db.close_database(context)


@pytest.fixture
def two_process_server(
    database_url: str, admin_token: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = sala_env(tmp_path, base, SALA_DATABASE_URL=database_url)
    with running_server(env, port=port, workers=2, mail_worker=False) as server:
        yield server.url, {"authorization": admin_token}


async def test_two_processes_never_oversell(
    two_process_server: tuple[str, dict[str, str]],
) -> None:
    base, admin = two_process_server
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        session = (
            await http.post(
                "/api/v1/sessions",
                headers=admin,
                json={
                    "topic": "sogie",
                    "title_en": "Two processes",
                    "starts_at": "2030-01-05T09:00",
                    "ends_at": "2030-01-05T12:00",
                    "venue": "Hall",
                    "capacity": 25,
                },
            )
        ).json()
        await http.post(f"/api/v1/sessions/{session['id']}/publish", headers=admin)

        async def one(index: int) -> httpx.Response:
            return await http.post(
                f"/api/v1/sessions/{session['id']}/registrations",
                json={
                    "chosen_name": f"P{index}",
                    "email": f"p{index}@example.org",
                    "sector": "student",
                    "consent": True,
                },
            )

        answers = await asyncio.gather(*(one(i) for i in range(150)))
        assert sorted({a.status_code for a in answers}) == [201]
        statuses = [a.json()["status"] for a in answers]
        assert statuses.count("confirmed") == 25
        assert statuses.count("waitlisted") == 125
        listed = (
            await http.get(f"/api/v1/sessions/{session['id']}/registrations", headers=admin)
        ).json()
        positions = sorted(r["waitlist_position"] for r in listed if r["status"] == "waitlisted")
        assert positions == list(range(1, 126))
        # What each person was told is what they hold: no two were told the same place.
        held = {r["id"]: (r["status"], r["waitlist_position"]) for r in listed}
        told = {
            a.json()["id"]: (a.json()["status"], a.json()["waitlist_position"]) for a in answers
        }
        assert told == held
        detail = (await http.get(f"/api/v1/sessions/{session['id']}")).json()
        assert detail["seats_left"] == 0
