"""Where staff land (issue 13): a team leader on their team, not on an empty session list; a
staff member refused a page (403) is pointed back to their own start page."""

from __future__ import annotations

import httpx

from curricula.models import Team
from curricula.services import create_team
from sala.models import Role, StaffUser
from tests.factories import PASSWORD, csrf_from, make_staff


async def _log_in_and_follow(client: httpx.AsyncClient, user: StaffUser, next_url: str = "") -> str:
    """Log in through the form as a browser does, following every redirect; the final path."""
    page = await client.get(f"/staff/login?next={next_url}" if next_url else "/staff/login")
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    if next_url:
        data["next"] = next_url
    landed = await client.post("/staff/login", data=data, follow_redirects=True)
    assert landed.status_code == 200, landed.text
    return landed.url.path


async def _team(name: str, *leaders: StaffUser) -> Team:
    admin = await make_staff(Role.ADMIN)
    return await create_team(
        name=name, leader_emails=[u.email for u in leaders], curriculum_code=None, staff=admin
    )


async def test_a_leader_of_one_team_lands_on_that_team(client: httpx.AsyncClient) -> None:
    leader = await make_staff(Role.TEAM_LEADER, name="Bopha")
    team = await _team("Battambang youth", leader)
    assert await _log_in_and_follow(client, leader) == f"/staff/teams/{team.id}"
    page = await client.get("/staff/")
    assert page.headers["location"] == f"/staff/teams/{team.id}"
    landed = await client.get(page.headers["location"])
    assert "Battambang youth" in landed.text


async def test_a_leader_of_several_teams_or_none_lands_on_the_teams_list(
    client: httpx.AsyncClient, new_client
) -> None:
    leader = await make_staff(Role.TEAM_LEADER)
    await _team("Kampot", leader)
    await _team("Siem Reap", leader)
    assert await _log_in_and_follow(client, leader) == "/staff/teams"
    listing = await client.get("/staff/teams")
    assert "Kampot" in listing.text and "Siem Reap" in listing.text

    async with new_client() as other:
        newcomer = await make_staff(Role.TEAM_LEADER)
        assert await _log_in_and_follow(other, newcomer) == "/staff/teams"


async def test_facilitators_and_admins_still_land_on_their_sessions(new_client) -> None:
    for role in (Role.FACILITATOR, Role.ADMIN):
        async with new_client() as browser:
            assert await _log_in_and_follow(browser, await make_staff(role)) == "/staff/sessions"


async def test_a_next_link_is_still_followed_and_stays_on_the_site(
    client: httpx.AsyncClient,
) -> None:
    leader = await make_staff(Role.TEAM_LEADER)
    team = await _team("Kep", leader)
    assert await _log_in_and_follow(client, leader, "/staff/account") == "/staff/account"
    await client.post(
        "/staff/logout", data={"csrf_token": csrf_from((await client.get("/staff/account")).text)}
    )
    assert await _log_in_and_follow(client, leader, "//evil.example/") == f"/staff/teams/{team.id}"


async def test_the_403_page_links_a_staff_member_to_their_start_page(
    client: httpx.AsyncClient,
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    await _log_in_and_follow(client, facilitator)
    refused = await client.get("/staff/users")
    assert refused.status_code == 403
    assert 'href="/staff/"' in refused.text
    assert "Back to the staff pages" in refused.text


async def test_the_403_page_of_a_visitor_links_to_the_trainings(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.post("/staff/login", data={"email": "a@b.example", "password": "x"})
    assert refused.status_code == 403  # no CSRF token
    assert 'href="/staff/"' not in refused.text
    assert "Back to the trainings" in refused.text
