"""The retention purge: personal data of people who have had no session for
``SALA_RETENTION_DAYS`` (three years by default) is anonymised, keeping anonymous counts —
and the figures of the reach report (``reports/``) as they were.

**One human, one reach group.** A registration made with a contact someone already holds gets
a person of its own, with no contact, and the holder's ``reach_key`` (``_person_steps`` in
``attendees.registration``): the reports count it as the holder. One human can so be several
``Person`` rows sharing one key — their *reach group*. The purge decides and acts on the group:

- a group is past retention only when none of its registrations (by person, or by the key) is
  at a session that ended within the period, and none of its persons was made within it;
- a keeper that keeps one of its persons keeps the whole group;
- the group is anonymised in one transaction, all its registrations getting one new random
  key: the reports still count them as one person, and since the key is new, no live
  registration shares it (the old key leads to nothing that was purged). Anonymising the
  persons one by one would give them a key each and count one human as several.

Only the organisation changes in a report for a past year (the purge blanks it, as it names
where someone works); every other figure by every breakdown stays the same
(tests/reports/test_purge_keeps_figures.py).

**"Delete my data" by the holder is not the purge.** ``people.delete_person`` anonymises the
holder's own person only, not the contactless persons sharing their key: those registrations
were made by someone who typed the holder's email and never proved they hold it — maybe the
holder, maybe not — so the holder's page neither lists them nor deletes them (their own
manage links do, and the purge later does, as a group of their own). The holder's rows get a
new key, the contactless ones keep the old one, so nothing leads from one to the other; the
cost is that, if they were the same human, the reports now count two.

A person is kept while another package still needs them: a *keeper* is an async function
returning the ids of people to keep, as ``curricula.membership.confirmed_members`` does for
the members of a team, whose progress is derived from their registrations. ``sala/app.py``
lists the keepers (``RETENTION_KEEPERS``) and hands them to the purge: a keeper that only
registered itself on import would be forgotten by any process that did not import it. Issued
certificates are kept as the register of what was awarded (see ``manage.anonymise``).

The job runs with the worker's periodic jobs, at most once an hour per process, a bounded
batch of groups at a time. Each group is re-read under its persons' locks before it is
anonymised: a registration that reached the group meanwhile keeps it, a join waits and then
finds the holder gone, and running the job twice at once anonymises each group once. A
contactless person still being written at that very moment keeps the old key while the group
gets a new one: two people in the reports, never a link between them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from attendees.manage import forget_pdfs, forget_person, forget_registrations
from attendees.models import Person, Registration
from sala import db
from sala.config import Settings

Keeper = Callable[[], Awaitable[set[int]]]
# The ids of one reach group's persons, in order (one id for a person with no key).
Group = tuple[int, ...]

BATCH = 200
EVERY_SECONDS = 3600.0
_last_run = {"at": float("-inf")}

_RECENT_SESSION = (
    "SELECT 1 FROM registration r JOIN session s ON s.id = r.session_id WHERE s.ends_at >= ?"
)
# Persons past retention whose whole group is: none of its registrations, by person or by the
# key, at a session that ended since the cutoff; none of its persons made since. A person
# without a key (made before keys, by hand) is a group of one.
_PAST_SQL = (
    "SELECT p.id, p.reach_key FROM person p WHERE p.id > ? AND p.created_at < ?"
    " AND NOT EXISTS (SELECT 1 FROM registration r JOIN session s ON s.id = r.session_id"
    " WHERE s.ends_at >= ? AND r.person_id = p.id)"
    " AND NOT EXISTS (SELECT 1 FROM registration r JOIN session s ON s.id = r.session_id"
    " WHERE s.ends_at >= ? AND p.reach_key <> '' AND r.reach_key = p.reach_key)"
    " AND NOT EXISTS (SELECT 1 FROM person q WHERE p.reach_key <> ''"
    " AND q.reach_key = p.reach_key AND q.id <> p.id AND (q.created_at >= ?"
    " OR EXISTS (SELECT 1 FROM registration r JOIN session s ON s.id = r.session_id"
    " WHERE s.ends_at >= ? AND r.person_id = q.id)))"
    " ORDER BY p.id LIMIT ?"
)


def _cutoff(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.retention_days)


async def _kept(keepers: Sequence[Keeper]) -> set[int]:
    kept: set[int] = set()
    for keep in keepers:
        kept |= await keep()
    return kept


async def _members(key: str, person_id: int) -> Group:
    """The persons of a person's reach group, by id."""
    if not key:
        return (person_id,)
    return tuple(p.id for p in await Person.filter(reach_key=key).order_by("id").only("id"))


async def people_past_retention(
    settings: Settings, now: datetime, keepers: Sequence[Keeper]
) -> list[Group]:
    """The reach groups past retention (at most BATCH), leaving out those of which a keeper
    keeps anyone — page by page, so kept people never block the rest."""
    cutoff = _cutoff(settings, now)
    kept = await _kept(keepers)
    groups: list[Group] = []
    seen: set[str] = set()
    after = 0
    while len(groups) < BATCH:
        rows = await db.fetch_all(
            connections.get("default"),
            _PAST_SQL,
            [after, cutoff, cutoff, cutoff, cutoff, cutoff, BATCH * 5],
        )
        if not rows:
            break
        for row in rows:
            key = str(row["reach_key"] or "")
            if key in seen:  # a group met through a person before
                continue
            if key:
                seen.add(key)
            group = await _members(key, int(row["id"]))
            if not kept.intersection(group):
                groups.append(group)
        after = rows[-1]["id"]
    return groups[:BATCH]


async def _still_past(
    connection: BaseDBAsyncClient, group: Group, key: str, cutoff: datetime
) -> list[Person] | None:
    """The group's persons if it is as it was chosen and still past retention (call it
    under the persons' locks); None otherwise."""
    people = await Person.filter(id__in=group).order_by("id")
    if tuple(p.id for p in people) != group or await _members(key, group[0]) != group:
        return None  # purged, joined or grown meanwhile
    if await Person.filter(id__in=group, created_at__gte=cutoff).exists():
        return None
    condition = "r.person_id IN (" + ", ".join("?" for _ in group) + ")"
    params: list[object] = [cutoff, *group]
    if key:
        condition += " OR r.reach_key = ?"
        params.append(key)
    recent = await db.fetch_one(connection, f"{_RECENT_SESSION} AND ({condition}) LIMIT 1", params)
    return None if recent is not None else people


async def anonymise_group(group: Group, settings: Settings, *, now: datetime) -> int:
    """Anonymise one reach group, in one transaction, all its registrations under one new
    key (``manage.forget_registrations``), unless it changed since it was chosen; how many
    persons went."""
    first = await Person.get_or_none(id=group[0])
    if first is None:  # purged meanwhile
        return 0
    key = first.reach_key
    async with in_transaction() as connection:
        for person_id in group:  # in order of id: two purges at once never deadlock
            await db.lock_row(connection, "person", person_id)
        people = await _still_past(connection, group, key, _cutoff(settings, now))
        if people is None:
            return 0
        registrations = await Registration.filter(person_id__in=group).only("id")
        certificates = await forget_registrations(
            [r.id for r in registrations], certificates_too=False, reason="retention"
        )
        for person in people:
            certificates += await forget_person(person, certificates_too=False, reason="retention")
    forget_pdfs(certificates, settings)
    return len(people)


async def purge_personal_data(
    settings: Settings, keepers: Sequence[Keeper], *, now: datetime | None = None
) -> int:
    """Anonymise the reach groups past retention; how many persons went."""
    now = now or datetime.now(UTC)
    purged = 0
    for group in await people_past_retention(settings, now, keepers):
        purged += await anonymise_group(group, settings, now=now)
    return purged


async def hourly_purge(settings: Settings, keepers: Sequence[Keeper]) -> int:
    if time.monotonic() - _last_run["at"] < EVERY_SECONDS:
        return 0
    _last_run["at"] = time.monotonic()
    return await purge_personal_data(settings, keepers)
