"""The API speaks English to a program that names no language (issue 13); pages keep the
site's default (Khmer), and a client asking for Khmer still gets it."""

from __future__ import annotations

import httpx

KHMER = range(0x1780, 0x1800)


def _is_khmer(text: str) -> bool:
    return any(ord(ch) in KHMER for ch in text)


async def test_api_errors_without_accept_language_are_in_english(new_client) -> None:
    async with new_client(**{"accept-language": ""}) as program:
        missing = await program.get("/api/v1/sessions/999")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "We could not find this training."
        refused = await program.get("/api/v1/me")
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "Please log in first."
        # A page for a person without Accept-Language stays in the site's language.
        page = await program.get("/")
        assert '<html lang="km">' in page.text


async def test_api_errors_follow_accept_language_and_lang(new_client) -> None:
    async with new_client(**{"accept-language": "km"}) as khmer_phone:
        answer = await khmer_phone.get("/api/v1/sessions/999")
        assert answer.status_code == 404 and _is_khmer(answer.json()["error"]["message"])
    async with new_client(**{"accept-language": ""}) as program:
        answer = await program.get("/api/v1/sessions/999?lang=km")
        assert _is_khmer(answer.json()["error"]["message"])
    async with new_client(**{"accept-language": "fr-FR, de;q=0.8"}) as other:
        answer = await other.get("/api/v1/sessions/999")
        assert answer.json()["error"]["message"] == "We could not find this training."


async def test_an_unknown_api_path_answers_in_english_too(new_client) -> None:
    async with new_client(**{"accept-language": ""}) as program:
        answer = await program.get("/api/v1/nothing-here")
        assert answer.status_code == 404
        assert answer.json()["error"]["message"] == "We could not find this page."


def test_the_middleware_refuses_an_unknown_api_language() -> None:
    import pytest

    from sala.i18n import LanguageMiddleware

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        raise AssertionError

    with pytest.raises(ValueError, match="api_language"):
        LanguageMiddleware(app, default_language="km", secure_cookie=False, api_language="fr")


async def test_client_fixture_is_unaffected(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/sessions/999")
    assert answer.json()["error"]["message"] == "We could not find this training."
