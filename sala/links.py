"""Links built from the app's route table, so a link can never disagree with the route that
answers it: :func:`path_for` for paths on the site, :func:`absolute_url` for links that leave
it (emails, calendar files, the API's ``url``, QR codes), which start with ``SALA_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

from starlette.routing import BaseRoute

from sala.config import Settings


@cache
def _routes_by_name() -> dict[str, BaseRoute]:
    # The table is sala.app's. It is read when the first link is made: the packages that make
    # links are themselves imported by sala.app.
    from sala.app import ROUTES

    named: dict[str, BaseRoute] = {}
    for route in ROUTES:
        name = getattr(route, "name", None)
        if name:
            named.setdefault(name, route)  # as Starlette's router: the first one wins
    return named


def path_for(name: str, /, **params: Any) -> str:
    """The path of the named route with these parameters (``NoMatchFound`` if none fits)."""
    return str(_routes_by_name()[name].url_path_for(name, **params))


def absolute_url(
    settings: Settings, name: str, /, *, query: Mapping[str, str] | None = None, **params: Any
) -> str:
    """The full address of the named route, for a link read outside the site."""
    url = settings.base_url + path_for(name, **params)
    return f"{url}?{urlencode(query)}" if query else url
