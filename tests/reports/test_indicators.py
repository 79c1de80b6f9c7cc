"""Indicators on a hand-made history: actual against target per period and per sector,
exactly, on both databases; a curriculum indicator; bad input; who may see them.

The history (made now, then moved into the past, in Phnom Penh time):

- 2024-03-10, SOGIE: Dara (student) and Sophea (NGO) come; Vanna (NGO) does not; Thida
  (student) cancels.
- 2024-05-01, SOGIE, a draft: Chenda came. Never counted.
- 2024-06-01, problem analysis (not an indicator topic): Bopha (government) comes.
- 2024-11-05, human rights: Dara again (student), Kosal (private company, phone only).
- 2025-01-20, SOGIE: Dara, now at an NGO, and Sophea.
- 2025-12-31 20:00, human rights: Kosal, and Dara as a student again.
- 2026-01-01 06:00 (still 2025 in UTC), SOGIE: Vanna comes at last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from attendees.registration import cancel_registration
from curricula.models import Curriculum, Module
from curricula.services import remove_module
from events.models import Session, SessionStatus
from reports.models import Indicator, IndicatorTarget
from sala.config import Settings
from sala.models import AuditEntry, Role, StaffUser
from tests.curricula.joining import answer, join_link_from_outbox
from tests.factories import (
    check_in,
    csrf_from,
    log_in,
    make_session,
    make_staff,
    move_session,
    post_form,
    register_person,
    token_for,
)

ZONE = ZoneInfo("Asia/Phnom_Penh")
INDICATORS = "/staff/reports/indicators"


# ----------------------------------------------------------------------------- reading pages


class _Tables(HTMLParser):
    """The cells' text of every table with an id, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._in_caption:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def body_rows(table: list[list[str]]) -> list[list[str]]:
    return table[1:]  # the first row is the header


async def _form(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    """Submit a form of the indicators' pages like a browser: the targets' and the archive's
    forms are on the indicator's page."""
    path, _, query = url.partition("?")
    page = re.sub(r"/(targets|archive)$", "", path)
    return await post_form(client, page, data, action=url if query else path)


# ----------------------------------------------------------------------------- the history


@dataclass
class History:
    admin: StaffUser


@pytest.fixture
async def history(client: httpx.AsyncClient, settings: Settings) -> History:
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    sogie_2024 = await make_session(topic="sogie")
    draft = await make_session(topic="sogie")
    analysis = await make_session(topic="problem_analysis")
    rights_2024 = await make_session(topic="human_rights")
    sogie_2025 = await make_session(topic="sogie")
    rights_2025 = await make_session(topic="human_rights")
    sogie_2026 = await make_session(topic="sogie")

    async def came(session: Session, email: str, **fields: Any) -> None:
        await check_in(
            client, headers, await register_person(session, settings, email=email, **fields)
        )

    await came(sogie_2024, "dara@example.org")
    await came(sogie_2024, "sophea@example.org", sector="ngo")
    await register_person(sogie_2024, settings, email="vanna@example.org", sector="ngo")
    thida = await register_person(sogie_2024, settings, email="thida@example.org")
    await cancel_registration(thida.registration.id, settings=settings, actor=None)
    await came(draft, "chenda@example.org")
    await came(analysis, "bopha@example.org", sector="government")
    await came(rights_2024, "dara@example.org")
    await came(rights_2024, "", phone="012 345 678", sector="private")
    await came(sogie_2025, "dara@example.org", sector="ngo")
    await came(sogie_2025, "sophea@example.org", sector="ngo")
    await came(rights_2025, "", phone="012 345 678", sector="private")
    await came(rights_2025, "dara@example.org")
    await came(sogie_2026, "vanna@example.org", sector="ngo")
    await Session.filter(id=draft.id).update(status=SessionStatus.DRAFT)

    await move_session(sogie_2024, datetime(2024, 3, 10, 9, tzinfo=ZONE))
    await move_session(draft, datetime(2024, 5, 1, 9, tzinfo=ZONE))
    await move_session(analysis, datetime(2024, 6, 1, 9, tzinfo=ZONE))
    await move_session(rights_2024, datetime(2024, 11, 5, 9, tzinfo=ZONE))
    await move_session(sogie_2025, datetime(2025, 1, 20, 9, tzinfo=ZONE))
    await move_session(rights_2025, datetime(2025, 12, 31, 20, tzinfo=ZONE))
    await move_session(sogie_2026, datetime(2026, 1, 1, 6, tzinfo=ZONE))
    return History(admin)


async def _create(client: httpx.AsyncClient, **fields: Any) -> int:
    answer_ = await _form(client, f"{INDICATORS}/new", fields)
    assert answer_.status_code == 303, answer_.text
    found = re.search(r"/indicators/(\d+)\?done=created$", answer_.headers["location"])
    assert found, answer_.headers["location"]
    return int(found.group(1))


async def _add_target(
    client: httpx.AsyncClient, indicator_id: int, period: str, baseline: str, target: str
) -> httpx.Response:
    return await _form(
        client,
        f"{INDICATORS}/{indicator_id}/targets",
        {"period": period, "baseline": baseline, "target": target},
    )


SOGIE = {
    "name_en": "People trained on SOGIE or human rights",
    "name_km": "",
    "description": "For the annual report to our partners.",
    "kind": "attended_topics",
    "topics": ["sogie", "human_rights"],
    "by_sector": "1",
}


async def test_people_trained_on_sogie_per_period_and_sector(
    client: httpx.AsyncClient, history: History
) -> None:
    await log_in(client, history.admin)
    indicator_id = await _create(client, **SOGIE)
    for period, baseline, target in (
        ("2025", "3", "6"),
        ("2024", "0", "4"),
        ("2025-q1", "0", "2"),  # read as 2025-Q1
        ("2026", "3", "5"),
    ):
        added = await _add_target(client, indicator_id, period, baseline, target)
        assert added.status_code == 303, added.text

    page = await client.get(f"{INDICATORS}/{indicator_id}?lang=en")
    assert page.status_code == 200
    tables = tables_of(page.text)
    assert body_rows(tables["indicator-table"]) == [
        # period, baseline, target, actual, share of the target
        ["2024", "0", "4", "3", "75% 75%"],  # Dara (twice), Sophea, Kosal
        ["2025", "3", "6", "3", "50% 50%"],  # Dara, Sophea, Kosal; Vanna's is 2026 here
        ["Q1 2025", "0", "2", "2", "100% 100%"],  # Dara, Sophea
        ["2026", "3", "5", "1", "20% 20%"],  # Vanna
    ]
    assert body_rows(tables["sectors-2024"]) == [
        ["Student", "1", ""],
        ["NGO", "1", ""],
        ["Private company", "1", ""],
    ]
    # Dara came as an NGO worker in January and as a student in December: in both sectors,
    # once in the total.
    assert body_rows(tables["sectors-2025"]) == [
        ["Student", "1", ""],
        ["NGO", "2", ""],
        ["Private company", "1", ""],
    ]
    assert body_rows(tables["sectors-2025-Q1"]) == [["NGO", "2", ""]]
    assert body_rows(tables["sectors-2026"]) == [["NGO", "1", ""]]
    assert 'max="4" value="3"' in page.text  # the 2024 bar: 3 of 4
    assert "style=" not in page.text  # the CSP allows no inline style
    assert "For the annual report to our partners." in page.text
    assert "People trained on SOGIE or human rights" in page.text

    # In Khmer the page has the same figures; the empty Khmer name shows the English one.
    khmer = await client.get(f"{INDICATORS}/{indicator_id}?lang=km")
    assert '<html lang="km">' in khmer.text
    assert [row[3] for row in body_rows(tables_of(khmer.text)["indicator-table"])] == [
        "3", "3", "2", "1"
    ]  # fmt: skip
    assert "People trained on SOGIE or human rights" in khmer.text

    actions = (
        await AuditEntry.filter(object_type="Indicator")
        .order_by("id")
        .values_list("action", "actor_id", "details")
    )
    assert [(action, actor) for action, actor, _details in actions] == [
        ("indicator.create", history.admin.id)
    ] + [("indicator.target_add", history.admin.id)] * 4
    assert actions[0][2]["topics"] == ["human_rights", "sogie"]
    assert actions[3][2] == {"period": "2025-Q1", "baseline": 0, "target": 2}


async def test_the_same_people_through_the_reach_report(
    client: httpx.AsyncClient, history: History
) -> None:
    """The indicator's actual for a year is the reach report's people for those topics."""
    await log_in(client, history.admin)
    indicator_id = await _create(client, **{**SOGIE, "topics": ["sogie"], "by_sector": ""})
    await _add_target(client, indicator_id, "2024", "0", "10")
    page = await client.get(f"{INDICATORS}/{indicator_id}?lang=en")
    assert body_rows(tables_of(page.text)["indicator-table"]) == [
        ["2024", "0", "10", "2", "20% 20%"]
    ]
    assert "sectors-2024" not in tables_of(page.text)
    reach = await client.get(
        "/api/v1/reports/reach",
        params={"from": "2024-01", "to": "2024-12", "by": "sector", "topic": "sogie"},
        headers=await token_for(history.admin),
    )
    assert reach.json()["total"]["people"] == 2


async def test_changing_archiving_and_deleting(client: httpx.AsyncClient, history: History) -> None:
    await log_in(client, history.admin)
    indicator_id = await _create(client, **SOGIE)
    await _add_target(client, indicator_id, "2024", "0", "4")
    await _add_target(client, indicator_id, "2025", "0", "4")
    first, second = await IndicatorTarget.filter(indicator_id=indicator_id).order_by("period")

    # A period's row changed: its period too.
    changed = await _form(
        client,
        f"{INDICATORS}/{indicator_id}/targets",
        {"target_id": str(first.id), "period": "2024-Q4", "baseline": "1", "target": "2"},
    )
    assert changed.status_code == 303
    deleted = await _form(
        client,
        f"{INDICATORS}/{indicator_id}/targets",
        {"target_id": str(second.id), "action": "delete", "period": "2025", "target": "4"},
    )
    assert deleted.status_code == 303
    page = await client.get(f"{INDICATORS}/{indicator_id}?lang=en")
    # Q4 2024: Dara and Kosal, at the human rights session of November.
    assert body_rows(tables_of(page.text)["indicator-table"]) == [
        ["Q4 2024", "1", "2", "2", "100% 100%"]
    ]

    # Its definition changed: SOGIE only, no sectors, a Khmer name.
    edit = f"{INDICATORS}/{indicator_id}/edit"
    form = await client.get(edit)
    assert 'value="People trained on SOGIE or human rights"' in form.text
    saved = await _form(
        client,
        edit,
        {**SOGIE, "name_km": "មនុស្សបានបណ្តុះបណ្តាល SOGIE", "topics": ["sogie"], "by_sector": ""},
    )
    assert saved.status_code == 303
    indicator = await Indicator.get(id=indicator_id).prefetch_related("topics")
    assert [t.code for t in indicator.topics] == ["sogie"] and indicator.by_sector is False
    page = await client.get(f"{INDICATORS}/{indicator_id}?lang=en")
    assert body_rows(tables_of(page.text)["indicator-table"]) == [
        ["Q4 2024", "1", "2", "0", "0% 0%"]
    ]
    khmer = await client.get(f"{INDICATORS}/{indicator_id}?lang=km")
    assert "មនុស្សបានបណ្តុះបណ្តាល SOGIE" in khmer.text

    archived = await _form(client, f"{INDICATORS}/{indicator_id}/archive", {"action": "archive"})
    assert archived.status_code == 303
    listing = await client.get(INDICATORS + "?lang=en")
    assert "Archived" in listing.text and "No indicator yet." in listing.text
    restored = await _form(client, f"{INDICATORS}/{indicator_id}/archive", {"action": "restore"})
    assert restored.status_code == 303
    listing = await client.get(INDICATORS + "?lang=en")
    assert "Archived" not in listing.text and "Targets for 2024-Q4" in listing.text

    # Switched to a curriculum: its topics go; the page says what now counts.
    curriculum = await Curriculum.get(code="team_building")
    switched = await _form(
        client,
        edit,
        {**SOGIE, "kind": "completed_curriculum", "curriculum": str(curriculum.id), "topics": []},
    )
    assert switched.status_code == 303
    indicator = await Indicator.get(id=indicator_id).prefetch_related("topics")
    assert indicator.curriculum_id == curriculum.id  # type: ignore[attr-defined]
    assert list(indicator.topics) == []
    page = await client.get(f"{INDICATORS}/{indicator_id}?lang=en")
    assert "completed every current module of “Team-building curriculum”" in page.text

    actions = (
        await AuditEntry.filter(object_type="Indicator")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "indicator.create",
        "indicator.target_add",
        "indicator.target_add",
        "indicator.target_change",
        "indicator.target_delete",
        "indicator.update",
        "indicator.archive",
        "indicator.restore",
        "indicator.update",
    ]


# ----------------------------------------------------------------------------- a curriculum


async def _team_member(
    client: httpx.AsyncClient,
    settings: Settings,
    new_client: Any,
    team_id: int,
    leader: dict[str, str],
    email: str,
) -> int:
    added = await client.post(
        f"/api/v1/teams/{team_id}/members", json={"email": email}, headers=leader
    )
    assert added.status_code == 201, added.text
    async with new_client() as phone:
        said_yes = await answer(phone, await join_link_from_outbox(settings, email))
    assert said_yes.status_code == 200
    return int(added.json()["id"])


async def test_people_who_completed_the_curriculum(
    client: httpx.AsyncClient, settings: Settings, new_client: Any
) -> None:
    """The team-building curriculum's five modules, one topic each. Sokha came to all five in
    2024; Mony to four, and her leader marked the fifth done in February 2025; Pisey did all
    five elsewhere (marks in 2025, no check-in); Rith came to four only."""
    admin = await make_staff(Role.ADMIN)
    headers = await token_for(admin)
    leader = await make_staff(Role.TEAM_LEADER, email="leakhena@example.org")
    leader_headers = await token_for(leader)
    topics = ["team_building", "sogie", "human_rights", "problem_analysis", "problem_solving"]
    sessions = {topic: await make_session(topic=topic) for topic in topics}

    for topic in topics:
        outcome = await register_person(sessions[topic], settings, email="sokha@example.org")
        await check_in(client, headers, outcome)
    for topic in topics[:4]:
        mony = await register_person(
            sessions[topic], settings, email="mony@example.org", sector="ngo"
        )
        await check_in(client, headers, mony)
        rith = await register_person(sessions[topic], settings, email="rith@example.org")
        await check_in(client, headers, rith)
    await register_person(
        sessions["problem_solving"], settings, email="pisey@example.org"
    )  # no-show
    for month, topic in enumerate(topics, start=2):
        await move_session(sessions[topic], datetime(2024, month, 10, 9, tzinfo=ZONE))

    team = await client.post(
        "/api/v1/teams",
        json={"name": "Youth team", "leader_emails": [leader.email]},
        headers=headers,
    )
    team_id = team.json()["id"]
    mony_id = await _team_member(
        client, settings, new_client, team_id, leader_headers, "mony@example.org"
    )
    pisey_id = await _team_member(
        client, settings, new_client, team_id, leader_headers, "pisey@example.org"
    )
    modules = {
        m.topics[0].code: m.id
        for m in await Module.filter(curriculum__code="team_building").prefetch_related("topics")
    }

    async def mark(member_id: int, topic: str, day: str) -> None:
        marked = await client.post(
            f"/api/v1/teams/{team_id}/members/{member_id}/marks",
            json={"module_id": modules[topic], "completed_on": day, "note": "at a partner NGO"},
            headers=leader_headers,
        )
        assert marked.status_code in (200, 201), marked.text

    await mark(mony_id, "problem_solving", "2025-02-03")
    for day, topic in enumerate(topics, start=1):
        await mark(pisey_id, topic, f"2025-05-{day:02d}")

    # Pisey's team page agrees. (Mony's shows only her first check-in until she proves the
    # email of her later registrations is hers; the indicator, like every report, counts
    # registrations with the same email as one person, by their reach key, at once.)
    progress = await client.get(f"/api/v1/teams/{team_id}/progress", headers=leader_headers)
    percent = {m["member_id"]: m["percent_done"] for m in progress.json()["members"]}
    assert percent[pisey_id] == 100

    await log_in(client, admin)
    curriculum_id = (await Module.get(id=modules["sogie"])).curriculum_id  # type: ignore[attr-defined]
    indicator_id = await _create(
        client,
        name_km="សមាជិកបានបញ្ចប់កម្មវិធីសិក្សា",
        name_en="",
        kind="completed_curriculum",
        curriculum=str(curriculum_id),
        by_sector="1",
    )
    for period in ("2024", "2025", "2025-Q1", "2025-Q2"):
        await _add_target(client, indicator_id, period, "0", "2")
    page = await client.get(f"{INDICATORS}/{indicator_id}?lang=en")
    tables = tables_of(page.text)
    assert body_rows(tables["indicator-table"]) == [
        ["2024", "0", "2", "1", "50% 50%"],  # Sokha, on the day of her fifth session
        ["2025", "0", "2", "2", "100% 100%"],  # Mony, Pisey
        ["Q1 2025", "0", "2", "1", "50% 50%"],  # Mony
        ["Q2 2025", "0", "2", "1", "50% 50%"],  # Pisey
    ]
    assert body_rows(tables["sectors-2024"]) == [["Student", "1", ""]]
    assert body_rows(tables["sectors-2025"]) == [["NGO", "1", ""], ["Not given", "1", ""]]
    assert "សមាជិកបានបញ្ចប់កម្មវិធីសិក្សា" in page.text  # the only name, shown in English too

    # An archived module no longer counts: without problem solving, Rith completed in 2024.
    archived = await remove_module(await Module.get(id=modules["problem_solving"]), staff=admin)
    assert archived is False  # kept, as archived: it has progress
    page = await client.get(f"{INDICATORS}/{indicator_id}?lang=en")
    assert [row[3] for row in body_rows(tables_of(page.text)["indicator-table"])] == [
        "3", "1", "0", "1"
    ]  # fmt: skip  # 2024: Sokha, Mony, Rith; 2025 and its Q2: Pisey (her 4th mark, 4 May)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"name_en": "", "name_km": ""},
            "name_en",
            "Give the indicator a name in Khmer or English.",
        ),
        ({"topics": []}, "topics", "Pick at least one topic."),
        ({"topics": ["sogie", "no_such_topic"]}, "topics", "Choose from the list."),
        ({"kind": "completed_curriculum", "topics": []}, "curriculum", "This field is required."),
        ({"kind": "attended_somewhere"}, "kind", "Choose one of the options."),
        ({"name_en": "x" * 201}, "name_en", "This is too long."),
    ],
)
async def test_a_wrong_definition_is_422_at_its_field_keeping_what_was_typed(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str, message: str
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    typed = {**SOGIE, "description": "Typed & kept", **fields}
    refused = await _form(client, f"{INDICATORS}/new?lang=en", typed)
    assert refused.status_code == 422
    assert f'id="{field}-error">{message}</p>' in refused.text
    assert "Typed &amp; kept</textarea>" in refused.text
    assert await Indicator.all().count() == 0
    assert await AuditEntry.filter(object_type="Indicator").count() == 0


@pytest.mark.parametrize(
    ("period", "baseline", "target", "field", "message"),
    [
        ("2026", "0", "-1", "target", "Enter a whole number, 0 or more."),
        ("2026", "-3", "10", "baseline", "Enter a whole number, 0 or more."),
        ("2026", "0", "", "target", "This field is required."),
        ("2026", "0", "ten", "target", "Enter a whole number."),
        ("2026-Q5", "0", "10", "period", "A year (2026) or a quarter (2026-Q1)."),
        ("2026-03", "0", "10", "period", "A year (2026) or a quarter (2026-Q1)."),
        ("26", "0", "10", "period", "A year (2026) or a quarter (2026-Q1)."),
        ("1999", "0", "10", "period", "A year (2026) or a quarter (2026-Q1)."),
        ("", "0", "10", "period", "This field is required."),
        ("2025", "0", "10", "period", "This period already has a target."),
    ],
)
async def test_a_wrong_target_is_422_at_its_field_keeping_what_was_typed(
    client: httpx.AsyncClient,
    period: str,
    baseline: str,
    target: str,
    field: str,
    message: str,
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    indicator_id = await _create(client, **SOGIE)
    assert (await _add_target(client, indicator_id, "2025", "1", "5")).status_code == 303
    refused = await _form(
        client,
        f"{INDICATORS}/{indicator_id}/targets?lang=en",
        {"period": period, "baseline": baseline, "target": target},
    )
    assert refused.status_code == 422
    assert f'id="{field}-new-error">{message}</p>' in refused.text
    assert f'name="target" type="text" value="{target}"' in refused.text
    assert [(t.period, t.target) for t in await IndicatorTarget.all()] == [("2025", 5)]

    # Changing the existing row into a wrong one is refused at that row's field.
    first = await IndicatorTarget.get(period="2025")
    if period != "2025":
        again = await _form(
            client,
            f"{INDICATORS}/{indicator_id}/targets?lang=en",
            {"target_id": str(first.id), "period": period, "baseline": baseline, "target": target},
        )
        assert again.status_code == 422
        assert f'id="{field}-{first.id}-error">{message}</p>' in again.text


async def test_an_unknown_indicator_or_target_is_404(client: httpx.AsyncClient) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    assert (await client.get(f"{INDICATORS}/999999")).status_code == 404
    indicator_id = await _create(client, **SOGIE)
    gone = await _form(
        client,
        f"{INDICATORS}/{indicator_id}/targets",
        {"target_id": "999999", "action": "delete"},
    )
    assert gone.status_code == 404


# ----------------------------------------------------------------------------- access


@pytest.mark.parametrize("role", [Role.FACILITATOR, Role.TEAM_LEADER])
async def test_only_admins_see_indicators(client: httpx.AsyncClient, role: Role) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    indicator_id = await _create(client, **SOGIE)
    page = await client.get(f"{INDICATORS}/{indicator_id}")
    token = csrf_from(page.text)
    await client.post("/staff/logout", data={"csrf_token": token})

    other = await make_staff(role)
    await log_in(client, other)
    for url in (
        INDICATORS,
        f"{INDICATORS}/new",
        f"{INDICATORS}/{indicator_id}",
        f"{INDICATORS}/{indicator_id}/edit",
    ):
        assert (await client.get(url)).status_code == 403, url
    token = csrf_from((await client.get("/staff/account")).text)
    posted = await client.post(
        f"{INDICATORS}/{indicator_id}/targets",
        data={"period": "2026", "target": "1", "csrf_token": token},
    )
    assert posted.status_code == 403
    assert await IndicatorTarget.all().count() == 0


async def test_anonymous_visitors_are_sent_to_log_in(client: httpx.AsyncClient) -> None:
    for url in (INDICATORS, f"{INDICATORS}/new", f"{INDICATORS}/1"):
        answer_ = await client.get(url)
        assert answer_.status_code == 303
        assert answer_.headers["location"].startswith("/staff/login")
