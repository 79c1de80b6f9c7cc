"""Session materials: files and links staff attach to a session, and who may see them.

- Staff of a session (an admin or its facilitators) attach **files** (PDF, PNG, JPEG, WebP,
  recognised by their first bytes, never by their name or the browser's word, at most
  ``SALA_MATERIAL_MAX_MB``) and **links** (http and https only), each for an audience
  (:class:`~learning.models.MaterialAudience`). Files are stored under
  ``<data dir>/learning/materials/`` by a random name, never under ``static/``.
- An attendee sees them on their manage page (:func:`visible_materials`): a confirmed
  registration of a session that goes ahead sees the materials for confirmed people, those
  for people who came once checked in, and the public ones from their date; anyone else
  (waitlisted, cancelled) only the public ones.
- A file is reached through a **short-lived signed link** (:func:`material_token`, an hour)
  naming the material, the registration and a digest of its manage key; the download checks
  again, then, that this registration may see it, so a link copied before a cancellation, or
  before the manage link was reset (a new key), stops working.
- The ZIP of all of them (:func:`materials_zip`) is streamed as it is made, file by file in
  small chunks, never written whole anywhere: nothing to fill the disk, nothing to clean up.
- Only a public material past its date answers at an address anyone can type
  (:func:`public_material`).
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import time
import unicodedata
import zipfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from tortoise.transactions import in_transaction

from attendees.models import Registration, RegistrationStatus
from events.models import Session, SessionStatus
from events.services import get_session_for_staff
from learning.errors import (
    MaterialLinkExpired,
    MaterialNotFound,
)
from learning.models import FILE_NAME_MAX, NAME_MAX, Material, MaterialAudience
from sala import audit, links
from sala.config import Settings
from sala.errors import ValidationFailed
from sala.forms import FieldReader, parse_id
from sala.i18n import N_, format_number, gettext
from sala.models import StaffUser

MB = 1024 * 1024
LINK_MAX_AGE = 3600  # seconds a signed link to a file works
LINK_URL_MAX = 1000
_SALT = "sala.learning.material"
_CHUNK = 256 * 1024
NO_FILE = N_("Choose a file to upload.")

# The only types served, each with the first bytes that prove it.
PDF, PNG, JPEG, WEBP = "application/pdf", "image/png", "image/jpeg", "image/webp"
ALLOWED_TYPES = (PDF, PNG, JPEG, WEBP)
_EXTENSIONS_OF = {
    PDF: (".pdf",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg"),
    WEBP: (".webp",),
}


# ----------------------------------------------------------------------------- reading input


@dataclass(frozen=True)
class MaterialInput:
    """What staff typed about a material, file or link alike."""

    title_km: str
    title_en: str
    audience: MaterialAudience
    public_from: datetime | None


def read_material_input(raw: Any, *, tz: ZoneInfo, prefix: str = "") -> MaterialInput:
    """The titles and audience of a form, its fields named ``<prefix>title_km`` and so on;
    ``ValidationFailed`` names every wrong field. A public material needs its date."""
    reader = FieldReader(raw)
    title_km = reader.text(f"{prefix}title_km", max_length=NAME_MAX)
    title_en = reader.text(f"{prefix}title_en", max_length=NAME_MAX)
    audience = MaterialAudience(
        reader.choice(
            f"{prefix}audience", tuple(MaterialAudience), default=MaterialAudience.CONFIRMED
        )
    )
    public_from = None
    if audience is MaterialAudience.PUBLIC:  # the date is read (and needed) only then
        public_from = reader.moment(f"{prefix}public_from", tz=tz)
        if public_from is None:
            reader.fail(f"{prefix}public_from", N_("Give the date from which everyone may see it."))
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return MaterialInput(title_km, title_en, audience, public_from)


def read_link_input(raw: Any, *, tz: ZoneInfo) -> tuple[MaterialInput, str]:
    """A link's form (fields ``link_url``, ``link_title_km``…), every wrong field at once.

    The address must be http or https with a host: ``javascript:``, ``data:`` and the like
    are refused, whatever their case or the spaces around them."""
    errors: dict[str, str] = {}
    try:
        data = read_material_input(raw, tz=tz, prefix="link_")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    reader = FieldReader(raw)
    url = reader.url("link_url", max_length=LINK_URL_MAX)
    if not url:
        reader.fail("link_url", N_("Enter a full web address starting with https://."))
    errors = {**reader.errors, **errors}
    if errors:
        raise ValidationFailed(errors)
    return data, url


def sniff_type(head: bytes) -> str | None:
    """The allowed type these first bytes begin, or None (an .exe renamed .pdf is None)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def tidy_file_name(raw: str, content_type: str) -> str:
    """The uploaded name as shown: no folders (either slash), no control or invisible
    characters, at most ``FILE_NAME_MAX`` characters, ending in an extension of its type
    (``photo.pdf`` holding a PNG becomes ``photo.pdf.png``)."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    name = unicodedata.normalize("NFC", " ".join(name.split())).strip(" .")
    stem, _, extension = name.rpartition(".")
    if not stem or f".{extension.lower()}" not in _EXTENSIONS_OF[content_type]:
        stem, extension = name, _EXTENSIONS_OF[content_type][0].lstrip(".")
    stem = stem[: FILE_NAME_MAX - len(extension) - 1].strip(" .") or "material"
    return f"{stem}.{extension}"


# ----------------------------------------------------------------------------- storing


def materials_dir(settings: Settings) -> Path:
    return settings.data_dir / "learning" / "materials"


def file_path(material: Material, settings: Settings) -> Path:
    # The stored name is ours (hex), never typed by anyone: no path can be made of it.
    return materials_dir(settings) / material.stored_name


def _store(source: IO[bytes], target: Path, limit: int) -> int:
    """Copy an upload to its place, refusing it past ``limit`` bytes; its size."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ValueError("too large")
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return size


async def _next_position(session_id: int) -> int:
    last = await Material.filter(session_id=session_id).order_by("-position").first()
    return last.position + 1 if last else 0


async def add_file(
    session: Session,
    data: MaterialInput,
    *,
    source: IO[bytes],
    file_name: str,
    settings: Settings,
    staff: StaffUser,
) -> Material:
    """Attach an uploaded file: checked by its first bytes and its size, then stored."""
    too_large = ValidationFailed({"file": N_("This file is larger than the limit shown.")})
    limit = settings.material_max_mb * MB
    head = source.read(16)
    source.seek(0)
    if not head:
        raise ValidationFailed({"file": NO_FILE})
    content_type = sniff_type(head)
    if content_type is None:
        raise ValidationFailed({"file": N_("Upload a PDF, PNG, JPEG or WebP file.")})
    stored_name = secrets.token_hex(16)
    target = materials_dir(settings) / stored_name
    try:
        size = await asyncio.to_thread(_store, source, target, limit)
    except ValueError as exc:
        raise too_large from exc
    try:
        async with in_transaction():
            material = await Material.create(
                session_id=session.id,
                title_km=data.title_km,
                title_en=data.title_en,
                file_name=tidy_file_name(file_name, content_type),
                stored_name=stored_name,
                content_type=content_type,
                size=size,
                audience=data.audience,
                public_from=data.public_from,
                position=await _next_position(session.id),
                created_by=staff,
            )
            await audit.record(staff, "material.add", material, _described(material))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return material


async def add_link(
    session: Session, data: MaterialInput, *, url: str, staff: StaffUser
) -> Material:
    async with in_transaction():
        material = await Material.create(
            session_id=session.id,
            title_km=data.title_km,
            title_en=data.title_en,
            link_url=url,
            audience=data.audience,
            public_from=data.public_from,
            position=await _next_position(session.id),
            created_by=staff,
        )
        await audit.record(staff, "material.add", material, _described(material))
    return material


def _described(material: Material) -> dict[str, Any]:
    kind = {"link": urlsplit(material.link_url).hostname} if material.is_link else {}
    return {
        "session_id": material.session_id,
        "title": material.title,
        "audience": str(material.audience),
        "size": material.size,
        **kind,
    }


async def move_material(session: Session, material_id: int, *, up: bool, staff: StaffUser) -> None:
    """Swap a material with the one before (``up``) or after it; the order is renumbered."""
    async with in_transaction():
        ordered = await Material.filter(session_id=session.id).order_by("position", "id")
        index = next((i for i, m in enumerate(ordered) if m.id == material_id), None)
        if index is None:
            raise MaterialNotFound()
        other = index - 1 if up else index + 1
        if not 0 <= other < len(ordered):
            return
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, material in enumerate(ordered):
            if material.position != position:
                material.position = position
                await material.save(update_fields=["position"])
        await audit.record(staff, "material.move", ordered[other], {"position": other})


async def delete_material(
    session: Session, material_id: int, *, settings: Settings, staff: StaffUser
) -> None:
    """Remove a material, and its file from the disk once the row is gone."""
    async with in_transaction():
        material = await Material.filter(id=material_id, session_id=session.id).first()
        if material is None:
            raise MaterialNotFound()
        details = _described(material)
        await material.delete()
        await audit.record(staff, "material.delete", material, details)
    if material.stored_name:
        file_path(material, settings).unlink(missing_ok=True)


async def session_materials(session_id: int) -> list[Material]:
    return await Material.filter(session_id=session_id).order_by("position", "id")


async def material_for_staff(user: StaffUser, material_id: int) -> Material:
    """A material for staff of its session (``get_session_for_staff``: others get a 403)."""
    material = await Material.filter(id=material_id).first() if parse_id(material_id) else None
    if material is None:
        raise MaterialNotFound()
    await get_session_for_staff(user, material.session_id)
    return material


# ----------------------------------------------------------------------------- who sees what


def _is_public(material: Material, now: datetime) -> bool:
    return (
        material.audience is MaterialAudience.PUBLIC
        and material.public_from is not None
        and material.public_from <= now
    )


def _may_see(
    material: Material, registration: Registration, session_status: str, now: datetime
) -> bool:
    """**The** rule of :func:`visible_materials`, for one material."""
    if _is_public(material, now):
        return True
    taking_part = (
        registration.status == RegistrationStatus.CONFIRMED
        and registration.anonymised_at is None
        and session_status != SessionStatus.CANCELLED
    )
    if not taking_part:
        return False
    if material.audience is MaterialAudience.CONFIRMED:
        return True
    return (
        material.audience is MaterialAudience.CHECKED_IN and registration.checked_in_at is not None
    )


def _session_id(registration: Registration) -> int:
    return int(registration.session_id)  # type: ignore[attr-defined]


async def _session_status(registration: Registration) -> str:
    statuses = await Session.filter(id=_session_id(registration)).values_list("status", flat=True)
    return str(statuses[0]) if statuses else SessionStatus.CANCELLED


async def visible_materials(registration: Registration, now: datetime) -> list[Material]:
    """What this registration may see now, in the order staff gave."""
    status = await _session_status(registration)
    materials = await session_materials(_session_id(registration))
    return [m for m in materials if _may_see(m, registration, status, now)]


async def public_materials(session: Session, now: datetime) -> list[Material]:
    """The public materials past their date, for the session's public page."""
    if session.status == SessionStatus.DRAFT:
        return []
    return [m for m in await session_materials(session.id) if _is_public(m, now)]


async def public_material(session_id: int, material_id: int, now: datetime) -> Material:
    """A public material past its date; any other (or before its date) is not found, the
    same as one that does not exist, so ids tried one after another tell nothing."""
    if parse_id(material_id) is None or parse_id(session_id) is None:
        raise MaterialNotFound()
    material = (
        await Material.filter(id=material_id, session_id=session_id)
        .select_related("session")
        .first()
    )
    if material is None or material.session.status == SessionStatus.DRAFT:
        raise MaterialNotFound()
    if not _is_public(material, now):
        raise MaterialNotFound()
    return material


# ----------------------------------------------------------------------------- signed links


@cache
def _serializer_for(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def _manage_key_digest(registration: Registration, settings: Settings) -> str:
    """A short keyed digest of the registration's manage key, for the signed link: a reset
    manage link (a new key) no longer matches, and the link never carries the key itself."""
    message = f"{_SALT}:{registration.id}:{registration.manage_key}".encode()
    return hmac.new(settings.secret_key.encode(), message, "sha256").hexdigest()[:16]


def material_token(material: Material, registration: Registration, settings: Settings) -> str:
    payload = [material.id, registration.id, _manage_key_digest(registration, settings)]
    return str(_serializer_for(settings.secret_key).dumps(payload))


async def material_for_token(
    token: str, settings: Settings, now: datetime
) -> tuple[Material, Registration]:
    """The material of a signed link, if the registration it names may still see it.

    An expired link is a 410 (get a new one from the manage page); a forged one, one of a
    registration that may no longer see it or whose manage link was reset since, or of a
    material since deleted, a 404."""
    if len(token) > 200:
        raise MaterialNotFound()
    try:
        material_id, registration_id, digest = _serializer_for(settings.secret_key).loads(
            token, max_age=LINK_MAX_AGE
        )
    except SignatureExpired as exc:
        raise MaterialLinkExpired() from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise MaterialNotFound() from exc
    if (
        not isinstance(material_id, int)
        or not isinstance(registration_id, int)
        or not isinstance(digest, str)
    ):
        raise MaterialNotFound()
    registration = await Registration.filter(id=registration_id).first()
    material = await Material.filter(id=material_id).first()
    if (
        registration is None
        or not hmac.compare_digest(digest, _manage_key_digest(registration, settings))
        or material is None
        or material.is_link
        or material.session_id != _session_id(registration)
        or not _may_see(material, registration, await _session_status(registration), now)
    ):
        raise MaterialNotFound()
    return material, registration


# ----------------------------------------------------------------------------- showing


def size_label(size: int) -> str:
    """A file's size for a person on 3G: "340 KB", "2.5 MB", in the page's numbers."""
    if size < MB:
        return gettext("%(size)s KB", size=format_number(max(1, -(-size // 1024))))
    return gettext("%(size)s MB", size=format_number(round(size / MB, 1)))


def content_disposition(file_name: str, *, kind: str = "attachment") -> str:
    """An attachment header any browser reads: an ASCII name, and the real one (Khmer too)
    as RFC 5987 ``filename*``."""
    ascii_name = (
        "".join(
            c if c.isascii() and (c.isalnum() or c in " .-_()") else "_" for c in file_name
        ).strip()
        or "material"
    )
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def served_type(material: Material) -> str:
    return (
        material.content_type
        if material.content_type in ALLOWED_TYPES
        else "application/octet-stream"
    )


async def materials_for_manage_page(
    registration: Registration, settings: Settings, now: datetime
) -> dict[str, Any]:
    """The manage page's list: each visible material with its (signed) link and size;
    ``{}`` when there is none."""
    materials = await visible_materials(registration, now)
    if not materials:
        return {}
    entries = [
        {
            "material": m,
            "url": m.link_url
            if m.is_link
            else links.path_for(
                "learning:material", signed=material_token(m, registration, settings)
            ),
            "size": None if m.is_link else size_label(m.size),
        }
        for m in materials
    ]
    return {"entries": entries, "has_files": any(not m.is_link for m in materials)}


async def materials_for_session_page(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The public session page's list: its public materials past their date, each with its
    address and size."""
    return [
        {
            "material": m,
            "url": m.link_url
            if m.is_link
            else links.path_for(
                "learning:public_material", session_id=session.id, material_id=m.id
            ),
            "size": None if m.is_link else size_label(m.size),
        }
        for m in await public_materials(session, now)
    ]


# ----------------------------------------------------------------------------- the ZIP


def _zip_names(materials: Iterable[Material]) -> list[tuple[str, Material]]:
    """Each file's name inside the ZIP: its place in the list first, so the order stays
    and two files of the same name do not collide."""
    files = [m for m in materials if not m.is_link]
    width = max(2, len(str(len(files))))
    return [(f"{n:0{width}d} {m.file_name}", m) for n, m in enumerate(files, start=1)]


def _links_text(materials: Iterable[Material]) -> str:
    lines = [f"{m.title or m.link_url}\n{m.link_url}\n" for m in materials if m.is_link]
    return "\n".join(lines)


class _Chunks:
    """Where the ZIP is written: a stream that only keeps what was written until taken.

    It cannot seek or tell, so ``zipfile`` writes each entry's sizes and CRC after its
    data (a data descriptor) and the central directory at the end, as streamed ZIPs do."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _open_stored(path: Path) -> tuple[IO[bytes], int] | None:
    """A stored file open for reading, and its size; None if it was deleted meanwhile."""
    try:
        source = path.open("rb")
    except FileNotFoundError:
        return None
    return source, os.fstat(source.fileno()).st_size


async def _zip_chunks(materials: list[Material], settings: Settings) -> AsyncIterator[bytes]:
    """The ZIP, piece by piece (stored, not compressed: PDFs and pictures already are).

    At most one chunk of one file is in memory; the disk is read in a thread, a chunk at a
    time, only as fast as the answer is sent. Closed early (the person went away), it
    closes the file it was reading and stops there."""
    out = _Chunks()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for entry_name, material in _zip_names(materials):
            opened = await asyncio.to_thread(_open_stored, file_path(material, settings))
            if opened is None:
                continue
            source, size = opened
            try:
                info = zipfile.ZipInfo(entry_name, date_time=time.localtime()[:6])
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                info.file_size = size  # decides whether the entry needs ZIP64
                with archive.open(info, "w") as entry:
                    while chunk := await asyncio.to_thread(source.read, _CHUNK):
                        entry.write(chunk)
                        yield out.take()
            finally:
                source.close()
        if text := _links_text(materials):
            archive.writestr("links.txt", text)
    if rest := out.take():
        yield rest


async def materials_zip(
    registration: Registration, settings: Settings, now: datetime
) -> AsyncIterator[bytes]:
    """A ZIP of every material this registration may see (links in ``links.txt``), as the
    chunks to send, made only as they are asked for. Not found when there is nothing to
    put in it (checked now, before any answer starts)."""
    materials = await visible_materials(registration, now)
    if not materials:
        raise MaterialNotFound()
    return _zip_chunks(materials, settings)
