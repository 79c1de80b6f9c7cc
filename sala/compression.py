"""Compressed answers (brotli or gzip) for the browsers that ask, by a small pure-ASGI layer.

A Khmer page is mostly multi-byte UTF-8 and markup that repeats: brotli makes it about a fifth
of its size, which on 3G is most of the wait. Compressed: HTML, CSS, JavaScript, JSON, SVG and
calendars of 1 KB or more, sent whole (one body message). Left alone: images, PDFs, ZIPs and
spreadsheets (by type; already compressed), streamed answers (downloads made as they are sent),
answers that are already encoded (static files carry their own, made once), and **every answer
marked ``Cache-Control: private`` or ``no-store``**.

That last rule is the BREACH defence. An attacker who can make a browser ask for a page many
times, put text of their choosing in it, and watch the length of the encrypted answers, can
guess a secret in the page a character at a time. Our pages with secrets are exactly the
private ones: every page a logged-in staff member sees (``render`` marks it ``no-store``), the
manage page (links holding the manage key), the ticket page (its QR token), downloads of
personal data (``PRIVATE_HEADERS``). Public pages hold one secret, the CSRF token, and it is
masked afresh in every answer (``sala/csrf.py``), so there is nothing to converge on. Staff JSON
needs a bearer token or the ``X-CSRF-Token`` header, neither of which another site can make a
browser send.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE_TYPES = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
        "text/calendar",
    }
)
_ENCODINGS = ("br", "gzip")  # in the order preferred


def preferred_encoding(accept_encoding: str, available: Mapping[str, object] | None = None) -> str:
    """``br``, ``gzip`` or ``identity``: the best the client accepts (and ``available`` has)."""
    accepted: set[str] = set()
    for item in accept_encoding.lower().split(","):
        name, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            accepted.add(name.strip())
    for encoding in _ENCODINGS:
        if (encoding in accepted or "*" in accepted) and (
            available is None or encoding in available
        ):
            return encoding
    return "identity"


def compressible(headers: Headers) -> bool:
    """Whether an answer with these headers may be compressed (type, not private, not yet)."""
    if "content-encoding" in headers:
        return False
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in COMPRESSIBLE_TYPES:
        return False
    return compressible_cache(headers.get("cache-control", ""))


def compressible_cache(cache_control: str) -> bool:
    """Whether an answer with this ``Cache-Control`` may be compressed: not private (BREACH)."""
    cache_control = cache_control.lower()
    return "no-store" not in cache_control and "private" not in cache_control


class CompressionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        minimum_size: int = 1024,
        brotli_quality: int = 5,
        gzip_level: int = 6,
    ) -> None:
        if minimum_size < 0 or not 0 <= brotli_quality <= 11 or not 1 <= gzip_level <= 9:
            raise ValueError("minimum_size >= 0, brotli_quality 0-11, gzip_level 1-9")
        self.app = app
        self.minimum_size = minimum_size
        self.brotli_quality = brotli_quality
        self.gzip_level = gzip_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = preferred_encoding(Headers(scope=scope).get("accept-encoding", ""))
        held: Message | None = None  # the start of an answer that may yet be compressed

        async def send_compressed(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not compressible(headers):
                    await send(message)
                    return
                headers.add_vary_header("Accept-Encoding")
                if encoding == "identity":
                    await send(message)
                else:
                    held = message
                return
            if held is None:
                await send(message)
                return
            start, held = held, None
            body = message.get("body", b"")
            if (
                message["type"] != "http.response.body"
                or message.get("more_body", False)  # streamed: sent as it comes
                or len(body) < self.minimum_size
            ):
                await send(start)
                await send(message)
                return
            if encoding == "br":
                body = brotli.compress(body, quality=self.brotli_quality)
            else:
                body = gzip.compress(body, compresslevel=self.gzip_level, mtime=0)
            headers = MutableHeaders(scope=start)
            headers["content-encoding"] = encoding
            headers["content-length"] = str(len(body))
            if (etag := headers.get("etag")) and not etag.startswith("W/"):
                headers["etag"] = f"W/{etag}"  # the same resource, other bytes
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_compressed)
