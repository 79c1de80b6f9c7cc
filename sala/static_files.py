"""Static files under a versioned address, kept for a year by every browser.

``static_path("css/sala.css")`` is **the one way** to link a static file (templates call it as
``static_path(...)``): it gives ``/static/<version>/css/sala.css``, where the version is a
digest of every file under ``static/`` and of the Khmer web font's recipe. Such an answer
carries ``Cache-Control: public, max-age=31536000, immutable``: a repeat visit asks for
nothing. Change any file and every address changes, so nothing stale is ever kept.

One version for the whole folder rather than one digest per file, because files refer to each
other by relative address: the scanner's ``import "./tickets.js"`` and the stylesheet's
``url("../fonts/noto-sans-khmer.woff2")`` resolve under the same version, so a page always
gets one consistent set, and the stylesheet needs no rewriting.

The same files at their plain address (``/static/css/sala.css``), or under a version that is
not the current one (a page kept from before a deploy), are served with a short cache and an
ETag. Every file is read once per process and kept in memory with its gzip and brotli forms
made once (the folder is about 400 KB); only files found at start-up are served, so no path
from a URL ever reaches the file system.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote

import brotli
from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sala import fonts
from sala.compression import COMPRESSIBLE_TYPES, preferred_encoding
from sala.config import STATIC_DIR
from sala.permissions import public

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
WEB_FONT = "fonts/noto-sans-khmer.woff2"  # made by sala.fonts, not a file in static/
_VERSION = re.compile(r"[0-9a-f]{12}")
_TYPES = {
    ".js": "text/javascript",
    ".woff2": "font/woff2",
    ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True)
class _File:
    """One static file as served: its body in each encoding, its type and ETag."""

    media_type: str
    etag: str
    bodies: dict[str, bytes]  # "identity", and "br", "gzip" for text types


@cache
def _files_on_disk() -> dict[str, bytes]:
    """Every file under ``static/`` but hidden ones (``.gitkeep``); a hidden folder above
    ``static/`` (an install under ``~/.local``) hides nothing."""
    files = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        name = path.relative_to(STATIC_DIR)
        if path.is_file() and not any(part.startswith(".") for part in name.parts):
            files[name.as_posix()] = path.read_bytes()
    return files


@cache
def static_version() -> str:
    """The digest of every static file and of the web font's recipe (12 hex digits)."""
    digest = hashlib.sha256()
    for name, body in _files_on_disk().items():
        digest.update(f"{name}\0{len(body)}\0".encode())
        digest.update(body)
    digest.update(f"{WEB_FONT}\0{fonts.khmer_web_font_identity()}".encode())
    return digest.hexdigest()[:12]


def static_path(path: str) -> str:
    """The versioned address of the static file ``path`` (``"css/sala.css"``)."""
    if path != WEB_FONT and path not in _files_on_disk():
        raise LookupError(f"no static file {path!r}")
    return f"/static/{static_version()}/{path}"


@cache
def inline_stylesheet() -> Markup:
    """``css/sala.css`` for a ``<style>`` element in a public page's ``<head>``.

    On 3G every round trip costs ~0.56 s, and a linked stylesheet is one between the page and
    its font. Public pages are compressed (sala/compression.py), so the stylesheet inside costs
    them ~3 KB; pages that are never compressed (staff, private) link the cached file instead
    (``render`` decides). Comments and indentation are dropped; the font's relative address is
    made absolute under the current version. The CSP allows exactly this text by its hash
    (:func:`inline_stylesheet_hash`), not inline styles in general.
    """
    css = _files_on_disk()["css/sala.css"].decode()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\n\s*", "\n", css).strip()
    css = css.replace('url("../', f'url("/static/{static_version()}/')
    if "</" in css or "../" in css:
        raise ValueError("sala.css cannot be inlined: it holds '</' or a relative address")
    return Markup(css)  # noqa: S704 - our own file, checked for "</" above


def inline_stylesheet_hash() -> str:
    """The CSP source that allows :func:`inline_stylesheet` and nothing else inline."""
    digest = hashlib.sha256(str(inline_stylesheet()).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@cache
def icon_data_url() -> str:
    """The site icon as a ``data:`` address: one request fewer on a first visit (221 bytes)."""
    svg = _files_on_disk()["img/icon.svg"].decode().strip()
    return "data:image/svg+xml," + quote(svg, safe=" =:/\"'<>#")


_served: dict[str, _File] = {}


def _prepare(path: str, body: bytes) -> _File:
    suffix = path[path.rfind(".") :]
    media_type = _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    bodies = {"identity": body}
    if media_type in COMPRESSIBLE_TYPES and len(body) > 1024:
        bodies["br"] = brotli.compress(body, quality=11)
        bodies["gzip"] = gzip.compress(body, compresslevel=9, mtime=0)
    if media_type.startswith("text/") or media_type == "application/manifest+json":
        media_type += "; charset=utf-8"
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return _File(media_type=media_type, etag=etag, bodies=bodies)


async def _file(path: str) -> _File | None:
    if (served := _served.get(path)) is not None:
        return served
    if path == WEB_FONT:
        body = (await fonts.khmer_web_font()).read_bytes()
    elif (on_disk := _files_on_disk().get(path)) is not None:
        body = on_disk
    else:
        return None
    # Brotli at quality 11 takes ~0.3 s for the QR library: once per process, off the loop.
    served = await asyncio.to_thread(_prepare, path, body)
    _served[path] = served
    return served


@public
async def static_file(request: Request) -> Response:
    path: str = request.path_params["path"]
    first, _, rest = path.partition("/")
    cache_control = SHORT
    if _VERSION.fullmatch(first) and rest:
        path = rest
        if first == static_version():
            cache_control = IMMUTABLE
    served = await _file(path)
    if served is None:
        raise HTTPException(status_code=404)
    encoding = preferred_encoding(request.headers.get("accept-encoding", ""), served.bodies)
    etag = served.etag if encoding == "identity" else f'{served.etag[:-1]}-{encoding}"'
    headers = {"cache-control": cache_control, "etag": etag}
    if len(served.bodies) > 1:
        headers["vary"] = "Accept-Encoding"
    if encoding != "identity":
        headers["content-encoding"] = encoding
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(served.bodies[encoding], media_type=served.media_type, headers=headers)
