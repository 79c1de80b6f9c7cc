"""Names and emails with direction overrides or invisible characters are refused (issue 11).

"Dara\u202eSok" shows as another name on the door list; an address with a right-to-left
override reads as someone else's. Khmer's zero-width space and the joiners stay allowed.
"""

from __future__ import annotations

import httpx
import pytest

from attendees.models import Registration
from tests.factories import make_session

REFUSED = [
    "\u202e",  # right-to-left override
    "\u202d",  # left-to-right override
    "\u2067",  # right-to-left isolate
    "\u200f",  # right-to-left mark
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u3164",  # Hangul filler: looks like a space, is a letter
    "\u17b4",  # Khmer inherent vowel aq: deprecated, draws nothing
    "\u17b5",  # Khmer inherent vowel aa: the same
    "\u034f",  # combining grapheme joiner
    "\U000e0041",  # tag letter A: invisible text riding along
]


@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
async def test_a_name_with_an_invisible_character_is_refused(
    client: httpx.AsyncClient, character: str
) -> None:
    session = await make_session()
    answer = await client.post(
        f"/api/v1/sessions/{session.id}/registrations",
        json={
            "chosen_name": f"Dara{character}Sok",
            "email": "dara@example.org",
            "sector": "ngo",
            "consent": True,
        },
        headers={"accept-language": "en"},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert "invisible characters" in error["fields"]["chosen_name"]
    assert await Registration.all().count() == 0


async def test_an_email_with_a_direction_override_is_refused_in_khmer(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    answer = await client.post(
        f"/api/v1/sessions/{session.id}/registrations?lang=km",
        json={
            "chosen_name": "Dara",
            "email": "gro.elpmaxe@\u202eevil.example",
            "sector": "ngo",
            "consent": True,
        },
    )
    assert answer.status_code == 422
    message = answer.json()["error"]["fields"]["email"]
    assert "invisible" not in message and any("\u1780" <= ch <= "\u17ff" for ch in message)


async def test_khmer_zero_width_space_and_joiners_stay_allowed(
    client: httpx.AsyncClient,
) -> None:
    session = await make_session()
    for name in ("សុខ\u200bដារា", "Dara 👩\u200d💻", "ក\u200cខ"):
        answer = await client.post(
            f"/api/v1/sessions/{session.id}/registrations",
            json={"chosen_name": name, "phone": "012 345 678", "sector": "ngo", "consent": True},
        )
        assert answer.status_code == 201, name
    assert {r.chosen_name for r in await Registration.all()} == {
        "សុខ\u200bដារា",
        "Dara 👩\u200d💻",
        "ក\u200cខ",
    }


@pytest.mark.parametrize(
    "email",
    [
        "da\u200bra@example.org",
        "dara@exam\u200bple.org",
        "dаra@example.org",
        "dara@example.o\u200d",
    ],
    ids=["zero-width space", "zero-width in domain", "Cyrillic a", "joiner in domain"],
)
async def test_an_email_with_an_invisible_or_look_alike_character_is_refused(
    client: httpx.AsyncClient, email: str
) -> None:
    """The zero-width space and the joiners, allowed in Khmer names, have no place in an
    address; nor has a Cyrillic "а" that makes another's address look like Dara's."""
    session = await make_session()
    answer = await client.post(
        f"/api/v1/sessions/{session.id}/registrations",
        json={"chosen_name": "Dara", "email": email, "sector": "ngo", "consent": True},
    )
    assert answer.status_code == 422
    assert "email" in answer.json()["error"]["fields"]
    assert await Registration.all().count() == 0


async def test_ordinary_addresses_still_register(client: httpx.AsyncClient) -> None:
    session = await make_session(capacity="10")
    for email in ("Dara.Sok+sala@Example.org", "o'neil@mail.gov.kh", "x_y@sub-domain.xn--p1ai"):
        answer = await client.post(
            f"/api/v1/sessions/{session.id}/registrations",
            json={"chosen_name": "Dara", "email": email, "sector": "ngo", "consent": True},
        )
        assert answer.status_code == 201, (email, answer.text)
