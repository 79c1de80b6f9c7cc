"""Khmer and English: message catalogs, the current language, and Babel formatting.

The language of a request is chosen by :class:`LanguageMiddleware` (``?lang=``, then the
``lang`` cookie, then ``Accept-Language``, then ``SALA_DEFAULT_LANGUAGE`` for pages and
English for the API: a program that names no language reads the answers of a programmer)
and kept in a
context variable, so templates, error messages and services all translate the same way
without passing the language around.

Catalogs are the ``.po`` files under ``locales/``; they are compiled in memory at start-up,
so a stale ``.mo`` can never be served.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sala.config import LANGUAGES, LOCALES_DIR

current_language: ContextVar[str] = ContextVar("current_language", default="km")

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"km": "ខ្មែរ", "en": "English"}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for extraction; it is translated later, where it is shown."""
    return message


@cache
def translations(language: str) -> NullTranslations:
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@contextlib.contextmanager
def in_language(language: str) -> Iterator[None]:
    """Messages, dates and numbers in ``language`` inside the block (an email, a PDF)."""
    token = current_language.set(language)
    try:
        yield
    finally:
        current_language.reset(token)


def gettext(message: str, **params: object) -> str:
    text = translations(current_language.get()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(current_language.get()).ngettext(singular, plural, n)
    return text % {"num": n, **params}


_ = gettext


def pick(km: str | None, en: str | None) -> str:
    """Staff-written content in the current language, falling back to the other one."""
    if current_language.get() == "km":
        return km or en or ""
    return en or km or ""


def format_datetime(value: datetime, tz: ZoneInfo, *, fmt: str = "medium") -> str:
    return babel_dates.format_datetime(value, fmt, tzinfo=tz, locale=current_language.get())


def format_date(value: date | datetime, *, fmt: str = "full", tz: ZoneInfo | None = None) -> str:
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    return babel_dates.format_date(value, fmt, locale=current_language.get())


def format_time(value: datetime, tz: ZoneInfo) -> str:
    return babel_dates.format_time(value, "short", tzinfo=tz, locale=current_language.get())


def format_month(value: date) -> str:
    return babel_dates.format_skeleton("yMMMM", value, locale=current_language.get())


def format_number(value: int | float) -> str:
    return babel_numbers.format_decimal(value, locale=current_language.get())


def month_names() -> dict[int, str]:
    names = Locale.parse(current_language.get()).months["stand-alone"]["wide"]
    return dict(names)


def choose_language(
    query_lang: str | None, cookie_lang: str | None, accept_language: str | None, default: str
) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return default


class LanguageMiddleware:
    """Sets :data:`current_language` for each request and remembers ``?lang=`` in a cookie.

    Pages default to ``default_language``; paths under ``api_prefix`` to ``api_language``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_language: str,
        secure_cookie: bool,
        api_prefix: str = "/api/",
        api_language: str = "en",
    ) -> None:
        for name, value in (("default_language", default_language), ("api_language", api_language)):
            if value not in LANGUAGES:
                raise ValueError(f"{name} must be one of {LANGUAGES}")
        self.app = app
        self.default_language = default_language
        self.secure_cookie = secure_cookie
        self.api_prefix = api_prefix
        self.api_language = api_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query_lang = _query_param(scope.get("query_string", b""), b"lang")
        headers = dict(scope["headers"])
        cookie_lang = _cookie(headers.get(b"cookie", b""), LANGUAGE_COOKIE)
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        is_api = scope.get("path", "").startswith(self.api_prefix)
        default = self.api_language if is_api else self.default_language
        language = choose_language(query_lang, cookie_lang, accept, default)
        token = current_language.set(language)
        scope.setdefault("state", {})["language"] = language
        remember = query_lang in LANGUAGES and query_lang != cookie_lang

        async def send_with_cookie(message: Message) -> None:
            if remember and message["type"] == "http.response.start":
                cookie = f"{LANGUAGE_COOKIE}={language}; Path=/; Max-Age=31536000; SameSite=Lax"
                if self.secure_cookie:
                    cookie += "; Secure"
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie if remember else send)
        finally:
            current_language.reset(token)


def _query_param(query_string: bytes, name: bytes) -> str | None:
    for pair in query_string.split(b"&"):
        key, _sep, value = pair.partition(b"=")
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(header: bytes, name: str) -> str | None:
    for part in header.decode("latin-1").split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value
    return None
