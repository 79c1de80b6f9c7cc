"""Links built from the app's route table, so a link can never disagree with the route that
answers it: :func:`path_for` for paths on the site, :func:`absolute_url` for links that leave
it (emails, calendar files, the API's ``url``, QR codes), which start with ``SALA_BASE_URL``.
:func:`mask_links` hides the keys in the links of a text (an email shown in the outbox).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

from starlette.convertors import IntegerConvertor
from starlette.routing import BaseRoute, Route

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


MASK = "•••"
_LINK = re.compile(r"https?://[^\s<>\"']+")
_QUERY_VALUE = re.compile(r"=[^&#]*")
# A path segment of a link no route answers that looks like a key, not a word.
_KEYLIKE = re.compile(r"(?<=/)[A-Za-z0-9_.~-]{16,}")


def mask_links(text: str, base_url: str) -> str:
    """``text`` with the keys in its links hidden: on the site's own links every text part of
    the route (a manage or join token, an invite-only slug, a certificate code), on every link
    every query value (an invitation code, a meeting's password). Numbers (ids) stay."""

    def masked(match: re.Match[str]) -> str:
        link = match.group(0)
        rest, hash_, fragment = link.partition("#")
        address, question, query = rest.partition("?")
        if question:
            query = _QUERY_VALUE.sub("=" + MASK, query)
        if address.startswith(base_url + "/"):
            address = base_url + _masked_path(address[len(base_url) :])
        return f"{address}{question}{query}{hash_}{fragment}"

    return _LINK.sub(masked, text)


def _masked_path(path: str) -> str:
    for route in _routes_by_name().values():
        if not isinstance(route, Route):
            continue
        found = route.path_regex.match(path)
        if found is None:
            continue
        for name, convertor in sorted(
            route.param_convertors.items(), key=lambda item: -found.start(item[0])
        ):
            if not isinstance(convertor, IntegerConvertor):
                start, end = found.span(name)
                path = path[:start] + MASK + path[end:]
        return path
    return _KEYLIKE.sub(MASK, path)
