"""The public listing and training pages, as a visitor sees them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from events.models import Audience, SessionStatus
from sala.static_files import static_path
from tests.factories import in_days, make_session


async def test_home_lists_only_upcoming_published_public_trainings(
    client: httpx.AsyncClient,
) -> None:
    await make_session(title_en="Published soon")
    await make_session(title_en="Still a draft", status=SessionStatus.DRAFT)
    await make_session(title_en="Called off", status=SessionStatus.CANCELLED)
    await make_session(title_en="For a ministry", audience=Audience.INVITE_ONLY.value)
    past = in_days(-10)
    await make_session(
        title_en="Last month",
        starts_at=past.isoformat(),
        ends_at=past.replace(hour=12).isoformat(),
    )
    page = await client.get("/")
    assert page.status_code == 200
    assert "Published soon" in page.text
    for hidden in ("Still a draft", "Called off", "For a ministry", "Last month"):
        assert hidden not in page.text


async def test_a_training_under_way_is_listed_as_closed_not_with_seats_to_take(
    client: httpx.AsyncClient,
) -> None:
    """A training that started an hour ago is still on the home page (it runs until its end),
    but its card must not offer seats the form no longer takes."""
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await make_session(
        title_en="Under way",
        capacity="30",
        starts_at=started.isoformat(),
        ends_at=(started + timedelta(hours=3)).isoformat(),
    )
    await make_session(title_en="Next week", capacity="30")
    page = (await client.get("/")).text
    cards = re.findall(r'<li class="session-card" data-registration="(\w+)">(.*?)</li>', page, re.S)
    by_title = {
        ("Under way" if "Under way" in body else "Next week"): (state, body)
        for state, body in cards
    }
    state, body = by_title["Under way"]
    assert state == "closed"
    assert "Registration for this training is closed." in body and "seats left" not in body
    state, body = by_title["Next week"]
    assert state == "open" and "30 seats left" in body


async def test_home_filters_by_topic_and_month(client: httpx.AsyncClient) -> None:
    soon, later = in_days(3), in_days(40)
    await make_session(
        title_en="SOGIE soon", starts_at=soon.isoformat(), ends_at=soon.replace(hour=12).isoformat()
    )
    await make_session(
        title_en="Rights later",
        topic="human_rights",
        starts_at=later.isoformat(),
        ends_at=later.replace(hour=12).isoformat(),
    )
    by_topic = (await client.get("/?topic=human_rights")).text
    assert "Rights later" in by_topic and "SOGIE soon" not in by_topic
    by_month = (await client.get(f"/?month={later.strftime('%Y-%m')}")).text
    assert "Rights later" in by_month
    if later.month != soon.month:
        assert "SOGIE soon" not in by_month
    # A bad filter value is ignored, not an error.
    assert (await client.get("/?topic=nope&month=20xx-99")).status_code == 200


async def test_training_page_shows_date_time_venue_and_seats(client: httpx.AsyncClient) -> None:
    starts = in_days(10, hour=9)
    session = await make_session(
        capacity="25",
        starts_at=starts.isoformat(),
        ends_at=starts.replace(hour=12).isoformat(),
        venue_name="Meeting room 2",
    )
    page = await client.get(f"/sessions/{session.id}")
    assert page.status_code == 200
    assert "SOGIE basics" in page.text
    assert "Meeting room 2" in page.text
    assert "25 / 25" in page.text
    assert "9:00" in page.text and "12:00" in page.text
    assert str(starts.year) in page.text

    khmer = await client.get(f"/sessions/{session.id}?lang=km")
    assert "មូលដ្ឋានគ្រឹះ SOGIE" in khmer.text
    khmer_months = ["មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា",
                    "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"]  # fmt: skip
    assert khmer_months[starts.month - 1] in khmer.text


async def test_english_title_is_used_when_khmer_is_empty(client: httpx.AsyncClient) -> None:
    session = await make_session(title_km="", title_en="Only in English")
    page = await client.get(f"/sessions/{session.id}?lang=km")
    assert "Only in English" in page.text


async def test_pages_carry_open_graph_and_twitter_tags(client: httpx.AsyncClient) -> None:
    session = await make_session(title_en="Shared on Telegram")
    page = (await client.get(f"/sessions/{session.id}")).text
    assert '<meta property="og:title" content="Shared on Telegram">' in page
    assert re.search(r'<meta property="og:description" content="[^"]*\d{4}', page)
    og_image = f'content="http://testserver{static_path("img/og-image.png")}">'
    assert f'<meta property="og:image" {og_image}' in page
    assert f'content="http://testserver/sessions/{session.id}"' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    image = await client.get(static_path("img/og-image.png"))
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


async def test_description_markdown_is_rendered_and_sanitised(client: httpx.AsyncClient) -> None:
    session = await make_session(
        description_en=(
            "**Bring a pen**\n\n<script>alert(1)</script>\n\n"
            "[click](javascript:alert(2)) [map](https://maps.example.org/x)"
        )
    )
    page = (await client.get(f"/sessions/{session.id}")).text
    assert "<strong>Bring a pen</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    assert 'href="https://maps.example.org/x"' in page


async def test_title_is_escaped(client: httpx.AsyncClient) -> None:
    session = await make_session(title_en='<img src=x onerror="alert(1)">')
    page = (await client.get(f"/sessions/{session.id}")).text
    assert "<img src=x" not in page
    assert "&lt;img src=x" in page


async def test_unknown_or_draft_session_is_a_404_in_the_users_language(
    client: httpx.AsyncClient,
) -> None:
    draft = await make_session(status=SessionStatus.DRAFT)
    for path in ("/sessions/424242", f"/sessions/{draft.id}"):
        english = await client.get(path + "?lang=en")
        assert english.status_code == 404
        assert "We could not find this training." in english.text
        khmer = await client.get(path + "?lang=km")
        assert khmer.status_code == 404
        assert '<html lang="km">' in khmer.text
        assert "We could not find this training." not in khmer.text
    unknown_page = await client.get("/no/such/page?lang=km")
    assert unknown_page.status_code == 404 and '<html lang="km">' in unknown_page.text


async def test_cancelled_session_page_says_so(client: httpx.AsyncClient) -> None:
    session = await make_session(status=SessionStatus.CANCELLED)
    page = await client.get(f"/sessions/{session.id}")
    assert page.status_code == 200
    assert "This training has been cancelled." in page.text
