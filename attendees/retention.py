"""The retention purge: personal data of people who have had no session for
``SALA_RETENTION_DAYS`` (three years by default) is anonymised, keeping anonymous counts.

A person is kept while another package still needs them: a *keeper* is an async function
returning the ids of people to keep, as ``curricula.membership.confirmed_members`` does for
the members of a team, whose progress is derived from their registrations. ``sala/app.py``
lists the keepers (``RETENTION_KEEPERS``) and hands them to the purge: a keeper that only
registered itself on import would be forgotten by any process that did not import it. Issued
certificates are kept as the register of what was awarded (see ``manage.anonymise``).

The job runs with the worker's periodic jobs, at most once an hour per process, a bounded
batch at a time; running it twice at once only anonymises the same people twice.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from tortoise import connections

from attendees.manage import anonymise
from attendees.models import Person, Registration
from sala import db
from sala.config import Settings

Keeper = Callable[[], Awaitable[set[int]]]

BATCH = 200
EVERY_SECONDS = 3600.0
_last_run = {"at": float("-inf")}


async def people_past_retention(
    settings: Settings, now: datetime, keepers: Sequence[Keeper]
) -> list[int]:
    """People none of whose sessions ended within the retention period (at most BATCH),
    leaving out those a keeper keeps — page by page, so kept people never block the rest."""
    cutoff = now - timedelta(days=settings.retention_days)
    kept: set[int] = set()
    for keep in keepers:
        kept |= await keep()
    found: list[int] = []
    after = 0
    while len(found) < BATCH:
        rows = await db.fetch_all(
            connections.get("default"),
            "SELECT p.id FROM person p WHERE p.id > ? AND p.created_at < ? AND NOT EXISTS ("
            " SELECT 1 FROM registration r JOIN session s ON s.id = r.session_id"
            " WHERE r.person_id = p.id AND s.ends_at >= ?) ORDER BY p.id LIMIT ?",
            [after, cutoff, cutoff, BATCH * 5],
        )
        if not rows:
            break
        found += [row["id"] for row in rows if row["id"] not in kept]
        after = rows[-1]["id"]
    return found[:BATCH]


async def purge_personal_data(
    settings: Settings, keepers: Sequence[Keeper], *, now: datetime | None = None
) -> int:
    """Anonymise the people past retention; how many."""
    now = now or datetime.now(UTC)
    purged = 0
    for person_id in await people_past_retention(settings, now, keepers):
        person = await Person.get_or_none(id=person_id)
        if person is None:
            continue
        ids = [r.id for r in await Registration.filter(person_id=person_id).only("id")]
        await anonymise(ids, person, settings, certificates_too=False, reason="retention")
        purged += 1
    return purged


async def hourly_purge(settings: Settings, keepers: Sequence[Keeper]) -> int:
    if time.monotonic() - _last_run["at"] < EVERY_SECONDS:
        return 0
    _last_run["at"] = time.monotonic()
    return await purge_personal_data(settings, keepers)
