"""How the reach report grows with the data: 1,000 and 100,000 registrations, both databases.

    .venv/bin/python bench/reports.py [--database sqlite|postgres|both] [--runs 9]

For each size, a fresh database (SQLite: a file in a temporary data dir; PostgreSQL: a new
database, as ``_server.bench_database`` makes, dropped after) is migrated and seeded directly
with hand-written bulk SQL: sessions of every topic spread over three years, registrations
over every sector and province, about a third of them by people who came before, 92 %
confirmed (80 % of them checked in), 3 % waitlisted, 5 % cancelled. Then
``reports.services.reach`` is called in-process (the figure is the query's time, not HTTP's)
for all time, by sector, by month and by first-time/returning: warmed up, then the median of
``--runs`` calls, each figure twice: "kept", as staff and partners open the report while the
data stands (``reports/cache.py`` gives the rows it counted), and "changed", with a door scan
written before each call so every call counts afresh (the cost of the first look after a
change). The issue's goal: the larger takes at most 10x the smaller, for sector, kept.
PostgreSQL is ANALYZEd after the load, as autovacuum would soon do; SQLite is not, as Sala
never runs ANALYZE there. Exit status 0 whatever the figures, 2 if it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import BenchError, bench_database, temp_dir
from tortoise import connections

from attendees.models import Province, Sector
from reports.services import Dimension, ReachQuery, reach
from sala import accounts, db
from sala.config import load_settings
from sala.models import Role, StaffUser

SIZES = (1_000, 100_000)
DIMENSIONS = (Dimension.SECTOR, Dimension.MONTH, Dimension.RETURNING)
GOAL_RATIO = 10.0
ZONE = ZoneInfo("Asia/Phnom_Penh")
PER_SESSION = 40
RETURNING_SHARE = 0.35
BATCH = 10_000
# A change the report reads (its trigger fires), as a door scan writes: the next look counts.
_TOUCH_SQL = "UPDATE registration SET checked_in_at = checked_in_at WHERE id = 1"

PERSON_SQL = (
    "INSERT INTO person (id, email, phone, reach_key, chosen_name, pronouns, language, "
    "created_at, updated_at) VALUES (?, ?, NULL, ?, ?, '', 'km', ?, ?)"
)
SESSION_SQL = (
    'INSERT INTO "session" (id, topic_id, title_en, title_km, description_en, description_km, '
    "starts_at, ends_at, timezone, venue_name, venue_address, venue_map_url, online_url, "
    "capacity, confirmed_count, audience, status, registration_opens_at, "
    "registration_closes_at, slug, sequence, created_at, updated_at) VALUES (?, ?, ?, '', '', "
    "'', ?, ?, 'Asia/Phnom_Penh', 'Bench room', '', '', '', ?, ?, 'public', 'published', NULL, "
    "NULL, ?, 0, ?, ?)"
)
REGISTRATION_SQL = (
    "INSERT INTO registration (id, session_id, person_id, chosen_name, pronouns, sector, "
    "organisation, language, accessibility_needs, status, source, manage_key, ticket_seed, "
    "consent_at, created_at, updated_at, waitlisted_at, cancelled_at, checked_in_at, "
    "checked_in_device, email, phone, ticket_id, age_band, gender_identity, "
    "gender_identity_text, province, reach_key) VALUES (?, ?, ?, ?, '', ?, '', 'km', '', ?, "
    "'form', ?, ?, ?, ?, ?, ?, ?, ?, '', ?, '', ?, '', '', '', ?, ?)"
)


def _dialect(statement: str, dialect: str) -> str:
    """``?`` placeholders as the database wants them (PostgreSQL: ``$1, $2, …``)."""
    if dialect == "sqlite":
        return statement
    parts = statement.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def _batches(rows: Sequence[list[Any]]) -> Iterator[Sequence[list[Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


class _Seed:
    """The rows of ``size`` registrations, drawn from a seeded generator."""

    def __init__(self, size: int, topic_ids: list[int]) -> None:
        rng = random.Random(size)
        now = datetime.now(UTC).replace(microsecond=0)
        sessions = max(1, size // PER_SESSION)
        span = timedelta(days=3 * 365)
        self.sessions: list[list[Any]] = []
        starts_of: list[datetime] = []
        for number in range(1, sessions + 1):
            starts = now - span + span * (number / sessions)
            starts_of.append(starts)
            self.sessions.append(
                [number, rng.choice(topic_ids), f"Bench session {number}", starts,
                 starts + timedelta(hours=3), PER_SESSION + 5, 0, secrets.token_urlsafe(16),
                 starts - timedelta(days=30), now]
            )  # fmt: skip
        self.people: list[list[Any]] = []
        self.registrations: list[list[Any]] = []
        keys: list[str] = []
        confirmed = [0] * sessions
        in_session: set[tuple[int, int]] = set()
        sectors, provinces = [s.value for s in Sector], [p.value for p in Province] + [""]
        for number in range(1, size + 1):
            session = min((number - 1) // PER_SESSION, sessions - 1)
            starts = starts_of[session]
            person = 0
            if self.people and rng.random() < RETURNING_SHARE:
                person = rng.randint(1, len(self.people))
                if (session, person) in in_session:
                    person = 0
            if not person:
                person = len(self.people) + 1
                keys.append(secrets.token_hex(16))
                self.people.append(
                    [person, f"p{person}@bench.example", keys[-1], f"Person {person}",
                     starts - timedelta(days=10), now]
                )  # fmt: skip
            in_session.add((session, person))
            draw = rng.random()
            status = "confirmed" if draw < 0.92 else "waitlisted" if draw < 0.95 else "cancelled"
            confirmed[session] += status == "confirmed"
            created = starts - timedelta(days=rng.randint(1, 20))
            came = status == "confirmed" and rng.random() < 0.8
            self.registrations.append(
                [number, session + 1, person, f"Person {person}", rng.choice(sectors), status,
                 secrets.token_urlsafe(12), secrets.randbits(32), created, created, now,
                 created if status == "waitlisted" else None,
                 starts - timedelta(days=1) if status == "cancelled" else None,
                 starts + timedelta(minutes=10) if came else None,
                 f"p{person}@bench.example", secrets.token_hex(12), rng.choice(provinces),
                 keys[person - 1]]
            )  # fmt: skip
        for row, count in zip(self.sessions, confirmed, strict=True):
            row[6] = count


async def _seed(size: int) -> None:
    from tortoise import connections

    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    topic_ids = [int(r["id"]) for r in await db.fetch_all(connection, "SELECT id FROM topic", [])]
    seed = _Seed(size, topic_ids)
    for statement, rows in (
        (SESSION_SQL, seed.sessions),
        (PERSON_SQL, seed.people),
        (REGISTRATION_SQL, seed.registrations),
    ):
        for batch in _batches(rows):
            await connection.execute_many(_dialect(statement, dialect), list(batch))
    if dialect == "postgres":
        await connection.execute_script('ANALYZE registration, "session", person, topic')


async def _time(query: ReachQuery, viewer: StaffUser, runs: int, *, changed: bool) -> float:
    """The median of ``runs`` calls, in milliseconds, after three to warm up. ``changed``:
    before each call (untimed) one registration's check-in is written again, as the door
    does, so the report counts afresh; otherwise it gives what it kept."""
    connection = connections.get("default")
    times = []
    for n in range(3 + runs):
        if changed:
            await connection.execute_query(_TOUCH_SQL)
        started = time.perf_counter()
        await reach(query, viewer=viewer, tz=ZONE, min_cell=5)
        if n >= 3:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _measure(database_url: str, data_dir: Path, size: int, runs: int) -> dict[str, float]:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    settings = load_settings(
        {
            "SALA_DATA_DIR": str(data_dir),
            "SALA_DATABASE_URL": database_url,
            "SALA_SECRET_KEY": secrets.token_hex(32),
        }
    )
    EXECUTOR_CACHE.clear()  # model SQL is cached per connection name, whatever the database
    await db.migrate(settings)
    context = await db.open_database(settings)
    try:
        started = time.perf_counter()
        await _seed(size)
        print(f"  seeded {size:,} registrations in {time.perf_counter() - started:.1f} s")
        admin = await accounts.create_staff(
            email="bench@example.org",
            name="Bench",
            role=Role.ADMIN,
            password=secrets.token_urlsafe(16),
            actor=None,
        )
        figures = {}
        for by in DIMENSIONS:
            for changed, name in ((False, "kept"), (True, "changed")):
                figure = await _time(ReachQuery(None, None, by), admin, runs, changed=changed)
                figures[f"{by.value}_{name}"] = figure
                print(f"  by {by.value}, {name}: {figure:.2f} ms")
        return figures
    finally:
        await db.close_database(context)


def _run(kind: str, size: int, runs: int) -> dict[str, float]:
    print(f"{kind}, {size:,} registrations")
    with temp_dir("sala-bench-reports-") as data_dir, bench_database(kind) as url:
        database_url = url or f"sqlite://{data_dir / 'sala.sqlite3'}"
        return asyncio.run(_measure(database_url, data_dir, size, runs))


def _report(kind: str, small: dict[str, float], large: dict[str, float]) -> None:
    print(f"\n{kind}: {'by':<18} {SIZES[0]:>10,} {SIZES[1]:>10,}  ratio  goal <= {GOAL_RATIO:g}x")
    fields = [f"database={kind}"]
    for name in small:
        ratio = large[name] / small[name]
        verdict = "PASS" if ratio <= GOAL_RATIO else "FAIL"
        goal = verdict if name.endswith("_kept") else "(no goal)"
        print(
            f"{'':<{len(kind) + 1}} {name:<18} {small[name]:>8.2f}ms "
            f"{large[name]:>8.2f}ms {ratio:>6.1f}  {goal}"
        )
        fields += [
            f"{name}_small_ms={small[name]:.2f}",
            f"{name}_large_ms={large[name]:.2f}",
            f"{name}_ratio={ratio:.1f}",
        ]
        if name.endswith("_kept"):
            fields.append(f"{name}={verdict}")
    print("SUMMARY " + " ".join(fields))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--runs", type=int, default=9, help="timed calls per figure (median)")
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    try:
        results = {kind: [_run(kind, size, args.runs) for size in SIZES] for kind in kinds}
    except BenchError as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    for kind, (small, large) in results.items():
        _report(kind, small, large)
    return 0


if __name__ == "__main__":
    sys.exit(main())
