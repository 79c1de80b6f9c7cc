"""``sala demo --months N``: a history the reach report has figures for at once, on both
databases, that keeps the registration service's invariants and can be loaded twice."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from attendees.models import Registration, RegistrationStatus
from events.demo import load_demo_data
from events.models import Session
from reports.forms import month_text, previous_month
from sala.models import Role, StaffUser
from tests.factories import make_staff, token_for

ROOT = Path(__file__).resolve().parents[2]


def _sala_demo(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SALA_")}
    return subprocess.run(
        [sys.executable, "-m", "sala", "demo", *args],
        capture_output=True,
        text=True,
        env={**inherited, "SALA_DATA_DIR": str(data_dir), "SALA_DATABASE_URL": database_url},
        cwd=ROOT,
        timeout=300,
    )


async def _reach(client: httpx.AsyncClient, admin: StaffUser, by: str) -> dict[str, Any]:
    answer = await client.get(
        "/api/v1/reports/reach", params={"by": by}, headers=await token_for(admin)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _shown(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The rows whose figures are not hidden, by key."""
    return {row["key"]: row for row in report["rows"] if not row.get("suppressed")}


async def _reports(client: httpx.AsyncClient, admin: StaffUser) -> dict[str, dict[str, Any]]:
    return {
        by: await _reach(client, admin, by) for by in ("month", "sector", "province", "returning")
    }


async def test_three_months_of_history_fill_the_reach_report(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    loaded = _sala_demo(tmp_path / "cli", database_url, "--months", "3")
    assert loaded.returncode == 0, loaded.stderr
    assert "Loaded 3 months of history" in loaded.stdout

    admin = await make_staff(Role.ADMIN)
    reports = await _reports(client, admin)
    month = datetime.now(ZoneInfo("Asia/Phnom_Penh")).date().replace(day=1)
    past = []
    for _ in range(3):
        month = previous_month(month)
        past.append(month_text(month))
    by_month = _shown(reports["month"])
    assert sorted(by_month) == sorted(past)  # the upcoming demo trainings have no one yet
    for key in past:
        row = by_month[key]
        assert row["registrations"] > row["attendances"] > 0 and row["people"] > 0, row
    sectors = [row for row in _shown(reports["sector"]).values() if row["people"] > 0]
    assert len(sectors) >= 5
    provinces = _shown(reports["province"])
    assert len([key for key in provinces if key]) >= 3  # more rows are there, hidden as small
    assert len(reports["province"]["rows"]) >= 10
    returning = _shown(reports["returning"])
    assert returning["returning"]["people"] > 0 and returning["first_time"]["people"] > 0

    for session in await Session.all():
        confirmed = await Registration.filter(
            session_id=session.id, status=RegistrationStatus.CONFIRMED
        ).count()
        assert session.confirmed_count == confirmed <= session.capacity, session.title_en

    again = await load_demo_data(months=3)
    assert again.splitlines() == [
        "Demo data is already loaded.",
        "Demo history is already loaded; nothing added.",
    ]
    assert await _reports(client, admin) == reports
