"""Two app processes on one database (``sala serve --workers 2``): still never oversold.

The in-process concurrency tests share one connection pool; this one starts the real server
with two worker processes and fires simultaneous registrations at it over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    POSTGRES_URL,
    _drop_database,
    _postgres_admin,
    _run_outside_any_loop,
    _with_database,
)
from tests.mail_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SALA = Path(sys.executable).parent / "sala"


def _run(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(SALA), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(params=["sqlite", "postgres"])
def two_process_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALA_")}
    env.update(
        SALA_DATA_DIR=str(tmp_path),
        SALA_RATE_LIMITS="off",
        SALA_BASE_URL=f"http://127.0.0.1:{port}",
    )
    database = None
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL run skipped: SALA_TEST_POSTGRES_URL is not set")
        database = f"sala_procs_{uuid.uuid4().hex[:10]}"
        _run_outside_any_loop(_postgres_admin(f'CREATE DATABASE "{database}"'))
        env["SALA_DATABASE_URL"] = _with_database(POSTGRES_URL, database)
    _run(env, "create-admin", "--email", "a@example.org", "--name", "A", "--password", "x" * 12)
    token = _run(env, "create-token", "--email", "a@example.org").splitlines()[-1]
    server = subprocess.Popen(
        [str(SALA), "serve", "--port", str(port), "--workers", "2", "--no-worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if database:
            _run_outside_any_loop(_drop_database(database))


async def test_two_processes_never_oversell(two_process_server: tuple[str, str]) -> None:
    base, token = two_process_server
    admin = {"authorization": f"Bearer {token}"}
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
