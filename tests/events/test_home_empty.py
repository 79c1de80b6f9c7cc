"""The home page before the first training (issue 13): it says there are none yet and how to
hear of the next one; "no trainings match" is kept for a filter that finds nothing."""

from __future__ import annotations

import httpx

from events.models import SessionStatus
from tests.factories import make_session


async def test_an_empty_site_says_there_are_no_trainings_yet(client: httpx.AsyncClient) -> None:
    await make_session(title_en="Not announced", status=SessionStatus.DRAFT)
    page = await client.get("/")
    assert page.status_code == 200
    assert "There are no trainings planned yet." in page.text
    assert "No trainings match" not in page.text
    main = page.text.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    assert 'href="/calendar.ics"' in main  # how to hear of the next one


async def test_a_filter_that_finds_nothing_still_says_no_trainings_match(
    client: httpx.AsyncClient,
) -> None:
    await make_session(title_en="SOGIE basics", topic="sogie")
    page = await client.get("/?topic=human_rights")
    assert "No trainings match. Try another topic or month." in page.text
    assert "There are no trainings planned yet." not in page.text
    assert "SOGIE basics" in (await client.get("/")).text
