"""Browsers on the app with a real mail server (``smtp_app`` of ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette


@pytest.fixture
def web(smtp_app: Starlette) -> Callable[[], httpx.AsyncClient]:
    """A new browser (its own cookies) on ``smtp_app``: the leader's, the member's…"""

    def browser() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=smtp_app),
            base_url="http://testserver",
            headers={"accept-language": "en"},
        )

    return browser
